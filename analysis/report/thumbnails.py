"""Avatar thumbnails for the report, made once per persona, and only from the very image the
run recorded (a RUN_DIR may come from someone else: its `personas.image` can name any file)."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.report.markup import data_uri, esc, is_level, level_colour, lv

THUMB = 96  # px, the avatar thumbnails' longest side


def placeholder(persona_id: str, level: Any) -> str:
    """An inline SVG tile for a persona without an image file (e.g. imported paper games)."""
    colour = level_colour(level)
    label = esc(str(level) if is_level(level) else "?")
    svg = (f"<svg xmlns='http://www.w3.org/2000/svg' width='96' height='96'>"
           f"<rect width='96' height='96' rx='14' fill='{colour}'/>"
           f"<text x='48' y='60' font-family='Arial' font-size='40' fill='white' "
           f"text-anchor='middle'>{label}</text></svg>")
    return data_uri(svg.encode(), "image/svg+xml")


MAX_IMAGE_BYTES = 32 * 1024 * 1024  # larger files are no avatars: never read into a page


def pool_image_bytes(image: Any, sha256: Any) -> bytes | None:
    """The bytes of a persona's image when they are the very image the run recorded, else None.

    A RUN_DIR may come from someone else, and its `personas.image` can name any file on this
    machine: a report would then carry that file, thumbnailed, to wherever the page is sent.
    Only a file whose sha256 equals the one stored when the pool was checked is shown (whoever
    wrote that hash already had the image), and only a regular file of sensible size."""
    if not (image and isinstance(image, str) and isinstance(sha256, str) and len(sha256) == 64):
        return None
    path = Path(image)
    try:
        if not path.is_file() or path.stat().st_size > MAX_IMAGE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256.lower() else None


class Thumbnails:
    """Each persona's avatar as a small PNG data URI, made once per report."""

    def __init__(self, personas: pd.DataFrame) -> None:
        self.rows = {str(r["persona_id"]): r for r in personas.to_dict("records")}
        self.cache: dict[str, str] = {}
        self.classes: dict[str, str] = {}

    def __call__(self, persona_id: Any) -> str:
        key = str(persona_id)
        if key not in self.cache:
            row = self.rows.get(key, {})
            self.cache[key] = self._make(row.get("image"), row.get("image_sha256"), key,
                                         row.get("level"))
        return self.cache[key]

    def css_class(self, persona_id: Any) -> str:
        """The class that shows this persona's avatar (rules collected by `css`)."""
        key = str(persona_id)
        if key not in self.classes:
            self.classes[key] = f"av{len(self.classes)}"
        return self.classes[key]

    def css(self) -> str:
        return "".join(f".{name}{{background-image:url({self(key)})}}"
                       for key, name in self.classes.items())

    @staticmethod
    def _make(image: Any, sha256: Any, persona_id: str, level: Any) -> str:
        data = pool_image_bytes(image, sha256)
        if data is not None:
            try:
                from PIL import Image

                with Image.open(io.BytesIO(data)) as img:
                    img = img.convert("RGBA")
                    img.thumbnail((THUMB, THUMB))
                    buffer = io.BytesIO()
                    img.save(buffer, format="PNG")  # optimize=True: 10x slower, 10% smaller
                return data_uri(buffer.getvalue(), "image/png")
            except (OSError, ValueError, Image.DecompressionBombError):
                pass  # unreadable or hostile image: fall back to the level tile
        return placeholder(persona_id, level)


def chip(thumbs: Thumbnails, persona_id: Any, level: Any) -> str:
    """A transcript avatar: a span whose image comes from a per-persona CSS class, so a
    persona's picture is stored once in the page however often it speaks."""
    title = f"{persona_id} (level {lv(level)})"
    return (f'<span class="chip {thumbs.css_class(persona_id)}" role="img" '
            f'aria-label="{esc(title)}" title="{esc(title)}"></span>')


def avatar(thumbs: Thumbnails, persona_id: Any, level: Any, caption: bool = True) -> str:
    title = f"{persona_id} (level {level})" if is_level(level) else str(persona_id)
    img = f'<img src="{thumbs(persona_id)}" alt="{esc(title)}" title="{esc(title)}">'
    if not caption:
        return img
    return f'<figure class="avatar">{img}<figcaption>{esc(persona_id)}</figcaption></figure>'
