"""A persona: an identity with an avatar image and aggressiveness ratings."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Persona:
    """Who a negotiator is. `level` is the aggressiveness level used by pairing designs (1..L)."""

    persona_id: str
    image: Path | None = None
    image_sha256: str = ""
    level: int | None = None
    ratings: dict[str, float] = field(default_factory=dict)
    description: str = ""
    identity: str = ""  # counterfactual sets: every variant of one drawn identity shares it
    attributes: dict[str, str] = field(default_factory=dict)  # trait columns: skin, hair, ...

    def rating(self, rater: str) -> float | None:
        return self.ratings.get(rater)
