"""Small readings of free text shared by the games (acceptance, rejection, walking away)."""
from __future__ import annotations

import re

_WALK = re.compile(
    r"\b(walk(?:ing)? away|no deal|i(?:'m| am) (?:leaving|out)|end (?:the|this) negotiation|"
    r"i quit|goodbye)\b",
    re.IGNORECASE,
)


def looks_like_acceptance(text: str) -> bool:
    from scenarios.extract import extract_acceptance

    return extract_acceptance(text) is True


def looks_like_rejection(text: str) -> bool:
    from scenarios.extract import extract_acceptance

    return extract_acceptance(text) is False


def looks_like_walk_away(text: str) -> bool:
    return bool(_WALK.search(text))
