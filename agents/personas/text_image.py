"""A persona's description drawn as an image (condition `text-as-image`).

It separates "it is an image" from "what is in the image": the model gets a picture where the
avatar would go, but the picture carries only the words of the description. Drawn with resvg
(as the avatars are) in DejaVu Sans from matplotlib's own font files, with system fonts skipped,
so the same text gives the same pixels on every machine.
"""
from __future__ import annotations

import textwrap
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from agents.personas.images import EncodedImage
from scenarios.errors import InputError

TEXT_IMAGE_SIDE = 512  # pixels, as a generated avatar
MAX_DESCRIPTION = 600  # characters a drawing can carry legibly at this size
_COLUMNS = 34  # characters per line at the font size below
_FONT_PX = 24
_LINE_PX = 30


@lru_cache(maxsize=1)
def font_file() -> str:
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    if not path.is_file():
        raise InputError(f"{path}: the font for condition text-as-image is missing "
                         "(reinstall matplotlib)")
    return str(path)


def description_svg(description: str, side: int = TEXT_IMAGE_SIDE) -> str:
    """Black text on white, wrapped, in a square of `side` pixels (drawn at 512, scaled)."""
    text = " ".join(description.split())
    if not text:
        raise InputError("condition text-as-image: a persona has an empty description")
    if len(text) > MAX_DESCRIPTION:
        raise InputError(f"condition text-as-image: a description of {len(text)} characters is "
                         f"too long to draw legibly (at most {MAX_DESCRIPTION})")
    lines = textwrap.wrap(text, _COLUMNS, break_long_words=True)
    top = max(_LINE_PX, (TEXT_IMAGE_SIDE - _LINE_PX * len(lines)) // 2 + _FONT_PX)
    rows = "".join(f'<text x="24" y="{top + i * _LINE_PX}">{escape(line)}</text>'
                   for i, line in enumerate(lines))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" '
            f'viewBox="0 0 {TEXT_IMAGE_SIDE} {TEXT_IMAGE_SIDE}">'
            f'<rect width="{TEXT_IMAGE_SIDE}" height="{TEXT_IMAGE_SIDE}" fill="#ffffff"/>'
            f'<g font-family="DejaVu Sans" font-size="{_FONT_PX}" fill="#000000">{rows}</g></svg>')


def render_description(description: str, side: int = TEXT_IMAGE_SIDE) -> bytes:
    """The description as PNG bytes, `side` pixels square."""
    import resvg_py

    if not 16 <= side <= 4096:
        raise InputError(f"condition text-as-image: image side {side} is outside 16..4096")
    svg = description_svg(description, side)
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, width=side, height=side,
                                       skip_system_fonts=True, font_files=[font_file()],
                                       font_family="DejaVu Sans"))


class TextImages:
    """Draws each (description, side, detail) once per run, as an image part."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, str | None], EncodedImage] = {}

    def encode(self, description: str, max_side: int | None = None,
               detail: str | None = None) -> EncodedImage:
        side = min(TEXT_IMAGE_SIDE, max_side) if max_side else TEXT_IMAGE_SIDE
        key = (description, side, detail)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = EncodedImage(render_description(description, side),
                                                    "image/png", detail)
        return found
