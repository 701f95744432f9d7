"""Small HTML helpers every section uses: escaping (model replies are untrusted input), number
formats, data URIs and the level colours."""
from __future__ import annotations

import base64
import html
import math
from typing import Any

LEVEL_COLOURS = ["#2e6f9e", "#3d8fb5", "#6aaed6", "#9aa5b1", "#e6a05a", "#d9653b", "#b23a2e"]
NO_LEVEL = "#9aa5b1"


def esc(value: Any) -> str:
    """Text for HTML: escaped, None/NaN as an empty string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def num(value: Any, digits: int = 2) -> str:
    """A number for a table cell: thousands separated, "–" for none, NaN or infinity."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def share(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def is_level(level: Any) -> bool:
    return level is not None and not (isinstance(level, float) and math.isnan(level))


def lv(level: Any) -> str:
    return str(int(level)) if is_level(level) else "?"


def level_colour(level: Any) -> str:
    return LEVEL_COLOURS[(int(level) - 1) % len(LEVEL_COLOURS)] if is_level(level) else NO_LEVEL
