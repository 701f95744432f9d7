"""Rendering drawn traits: python-avatars' SVG made safe and square for resvg, then a PNG.
No text is drawn, so the pixels do not depend on the machine's fonts."""
from __future__ import annotations

from xml.etree import ElementTree as ET

import resvg_py

from agents.personas.avatar_traits import AvatarTraits

# Avataaars draw on a 264x280 canvas; we pad it to a square so any output size keeps proportions.
_CANVAS = 280
_PAD_X = (_CANVAS - 264) // 2


def clean_svg(svg: str, background: str) -> str:
    """Make a python-avatars SVG safe for resvg and square, on a full-bleed background.

    python-avatars leaves `fill=""` where a colour was not filled in (e.g. the shaggy hair's
    base shape). Browsers ignore an empty fill and inherit; resvg paints it black. We drop empty
    fills (= inherit, as browsers do), pad the 264x280 canvas to a 280x280 square and put a
    background rect under everything.
    """
    root = ET.fromstring(svg.encode("utf-8"))
    for el in root.iter():
        if el.get("fill") == "":
            del el.attrib["fill"]
    root.set("width", str(_CANVAS))
    root.set("height", str(_CANVAS))
    root.set("viewBox", f"{-_PAD_X} 0 {_CANVAS} {_CANVAS}")
    ns = root.tag.partition("}")[0] + "}" if root.tag.startswith("{") else ""
    bg = ET.Element(f"{ns}rect", {
        "id": "Persona-Background", "x": str(-_PAD_X), "y": "0",
        "width": str(_CANVAS), "height": str(_CANVAS), "fill": background,
    })
    root.insert(0, bg)
    return ET.tostring(root, encoding="unicode")


def render_svg(traits: AvatarTraits) -> str:
    """The cleaned, square SVG for the traits (see `clean_svg`)."""
    return clean_svg(traits.avatar().render(), traits.background)


def render_png(traits: AvatarTraits, size: int = 256) -> bytes:
    """Rasterise to a `size` x `size` PNG. No text is drawn, so system fonts are skipped
    (they would make output machine-dependent and slow the first call)."""
    svg = render_svg(traits)
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, width=size, height=size, skip_system_fonts=True))
