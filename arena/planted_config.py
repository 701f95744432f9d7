"""`[agents.X] planted = {...}`: the planted (SIMULATED) agent's formula, bounded and checked.

Every number is in points of the demand share (0..100 of what there is to win; in ultimatum-4
points are dollars of its $100 pie). Bounds keep a typo from planting an effect no game can
show (a shift beyond the whole scale) or a table nobody could read.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.negotiators.planted import PlantedParams

MAX_SHIFT = 100.0  # points: the whole scale
MAX_TABLE = 100  # entries of a level, attribute or condition table
LevelEffect = float | dict[str, float]


def _number(value: Any) -> Any:
    """TOML integers are numbers here too (strict mode would refuse `base = 55`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    return value


def _bounded(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name}: expected {low:g}..{high:g} (got {value:g})")


class PlantedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    base: float = Field(default=50.0, ge=0, le=100)  # the demand of a mid-level persona
    own: float | dict[str, float] = 0.0  # slope per own level, or {"1" = -6, "7" = 6}
    opp: float | dict[str, float] = 0.0  # the same for the other seats' (mean) level
    attribute: dict[str, dict[str, float]] = Field(default_factory=dict)  # {skin = {dark = -3}}
    opp_attribute: dict[str, dict[str, float]] = Field(default_factory=dict)
    condition: dict[Literal["self-only", "both-images", "text", "image+text", "text-as-image",
                            "none"], float] = Field(default_factory=dict)
    anchor: float = Field(default=0.0, ge=-5, le=5)  # per point of the other's first demand
    persona_sd: float = Field(default=0.0, ge=0, le=50)  # a persona's (an identity's) own shift
    noise_sd: float = Field(default=0.0, ge=0, le=50)  # fresh for every move
    concede: float = Field(default=0.0, ge=0, le=100)  # points given up by the last round
    accept_within: float = Field(default=10.0, ge=0, le=100)  # accepted below the demand
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,40}$")  # in the label

    @field_validator("base", "own", "opp", "attribute", "opp_attribute", "condition", "anchor",
                     "persona_sd", "noise_sd", "concede", "accept_within", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        return _number(value)

    @field_validator("own", "opp")
    @classmethod
    def _level_effect(cls, value: LevelEffect) -> LevelEffect:
        if isinstance(value, float):
            _bounded("slope per level", value, -MAX_SHIFT, MAX_SHIFT)
            return value
        if not 1 <= len(value) <= MAX_TABLE:
            raise ValueError(f"expected 1..{MAX_TABLE} levels in the table (got {len(value)})")
        for level, shift in value.items():
            if not level.isdigit() or not 1 <= int(level) <= 100:
                raise ValueError(f"level {level!r}: expected a whole level 1..100")
            _bounded(f"level {level}", shift, -MAX_SHIFT, MAX_SHIFT)
        return value

    @field_validator("attribute", "opp_attribute")
    @classmethod
    def _attributes(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        if len(value) > MAX_TABLE:
            raise ValueError(f"at most {MAX_TABLE} attributes (got {len(value)})")
        for name, shifts in value.items():
            if not shifts or len(shifts) > MAX_TABLE:
                raise ValueError(f"{name}: expected 1..{MAX_TABLE} values, e.g. "
                                 f"{{{name} = {{dark = -3}}}}")
            for option, shift in shifts.items():
                _bounded(f"{name}.{option}", shift, -MAX_SHIFT, MAX_SHIFT)
        return value

    @field_validator("condition")
    @classmethod
    def _conditions(cls, value: dict[str, float]) -> dict[str, float]:
        for name, shift in value.items():
            _bounded(name, shift, -MAX_SHIFT, MAX_SHIFT)
        return value

    def params(self) -> PlantedParams:
        def levels(effect: LevelEffect) -> float | dict[int, float]:
            return effect if isinstance(effect, float) else {int(k): v for k, v in effect.items()}

        return PlantedParams(self.base, levels(self.own), levels(self.opp), self.attribute,
                             self.opp_attribute, dict(self.condition), self.anchor,
                             self.persona_sd, self.noise_sd, self.concede, self.accept_within)
