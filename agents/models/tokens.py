"""The project's own count of the prompt tokens a request carries: text at about four characters a
token (no tokenizer download), images by OpenAI's published rule for its vision models.

One estimate serves both the dry run (what a run will cost) and the delivery check (did the
server read what was sent?), so the two never disagree.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

CHARS_PER_TOKEN = 4.0
MESSAGE_OVERHEAD = 4  # tokens of framing per chat message


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD


def image_tokens(width: int, height: int, detail: str | None) -> int:
    """85 at low detail; else the image is fitted into 2048 px, its short side scaled to 768 px,
    and each 512-px tile costs 170 more."""
    if detail == "low":
        return 85
    scale = min(1.0, 2048 / max(width, height))
    w, h = int(width * scale), int(height * scale)
    short = min(w, h)
    if short > 768:
        w, h = int(w * 768 / short), int(h * 768 / short)
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def text_tokens_of(messages: Sequence[Any]) -> int:
    """Estimated prompt tokens of the text of chat messages (`ChatMessage`s), images left out:
    image tokens differ too much between models to be a floor, so images have the vision
    probe instead."""
    total = 0
    for message in messages:
        content = message.content
        text = content if isinstance(content, str) else "\n".join(
            p for p in content if isinstance(p, str))
        total += text_tokens(text)
    return total
