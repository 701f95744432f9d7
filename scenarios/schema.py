"""Scenario files: the immutable rules of a negotiation, checked once when loaded.

A scenario file is TOML. `game` picks the rules (scenarios.registry); the other keys are that game's
parameters; `[prompts]` holds the texts an LLM negotiator is shown. Unknown keys are errors.
"""
from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator

from scenarios.game import GameSpec, Strict

_Strict = Strict
_ScenarioBase = GameSpec  # every built-in spec: name, description, units, prompts (+ game)


MAX_STEPS = 1_000_000  # claims a pie holds; finer steps than this are no granularity at all
MAX_AMOUNT = 1e12  # pies and prices: beyond this, float cents are lost
MAX_READ_THRESHOLD = 0.95  # the surest reading scores 0.95: a higher threshold abstains on all


class UltimatumSpec(_ScenarioBase):
    """Repeated ultimatum game: one side proposes a split of `pie`, the other accepts or rejects."""

    game: Literal["ultimatum"]
    pie: float = Field(gt=0, le=MAX_AMOUNT)
    rounds: int = Field(ge=1, le=1000)
    alternate: bool = True  # the first player proposes in odd rounds, the second in even ones
    step: float = Field(default=1.0, gt=0)  # claims are rounded to this granularity
    # free-text replies read offline with a confidence below this are "ambiguous" (invalid, or
    # sent to the LLM extractor with extractor = "hybrid"); None: the reader's default
    # (scenarios.reading.THRESHOLD). 0 trusts every reading; higher abstains more often.
    read_threshold: float | None = Field(default=None, ge=0.0, le=MAX_READ_THRESHOLD)

    @model_validator(mode="after")
    def _check_step(self) -> "UltimatumSpec":
        steps = self.pie / self.step
        if not math.isfinite(steps) or steps > MAX_STEPS:
            raise ValueError(f"field 'step': {self.step:g} is too small for pie {self.pie:g} "
                             f"(at most {MAX_STEPS:,} steps)")
        if steps < 1 or abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
            raise ValueError(f"field 'step': {self.step:g} must divide pie {self.pie:g} into "
                             "whole steps (claims are rounded to multiples of it)")
        return self

    @property
    def roles(self) -> tuple[str, str]:
        return ("proposer", "responder")


class PriceBargainSpec(_ScenarioBase):
    """Buyer and seller alternate price offers until one accepts, one walks away, or time runs out."""

    game: Literal["price-bargain"]
    price_min: float = Field(ge=0, le=MAX_AMOUNT)
    price_max: float = Field(gt=0, le=MAX_AMOUNT)
    buyer_reservation: float = Field(ge=0, le=MAX_AMOUNT)  # the most the buyer will pay (private)
    seller_reservation: float = Field(ge=0, le=MAX_AMOUNT)  # the least the seller will take
    max_turns: int = Field(ge=1, le=10000)
    first_mover: Literal["buyer", "seller"] = "seller"

    @model_validator(mode="after")
    def _check_prices(self) -> "PriceBargainSpec":
        if self.price_max <= self.price_min:
            raise ValueError(
                f"price_max must be greater than price_min (got {self.price_max} <= {self.price_min})"
            )
        for field in ("buyer_reservation", "seller_reservation"):
            value = getattr(self, field)
            if not self.price_min <= value <= self.price_max:
                raise ValueError(
                    f"{field} must lie in price_min..price_max "
                    f"({self.price_min}..{self.price_max}), got {value}"
                )
        return self

    @property
    def roles(self) -> tuple[str, str]:
        other = "buyer" if self.first_mover == "seller" else "seller"
        return (self.first_mover, other)


class Item(_Strict):
    name: str = Field(min_length=1)
    count: int = Field(ge=1, le=100)


class ItemDivisionSpec(_ScenarioBase):
    """Deal or No Deal: split a pool of items; each side values item types privately."""

    game: Literal["item-division"]
    items: list[Item] = Field(min_length=1, max_length=50)
    values_a: list[int]  # per-unit values of each item type for the first player (private)
    values_b: list[int]
    max_turns: int = Field(ge=1, le=10000)

    @model_validator(mode="after")
    def _check_values(self) -> "ItemDivisionSpec":
        seen: set[str] = set()
        for i, item in enumerate(self.items):
            if item.name in seen:  # offers name counts per item type: two of a name are one
                raise ValueError(f"field 'items.{i}.name': duplicate item name {item.name!r}")
            seen.add(item.name)
        n = len(self.items)
        for field in ("values_a", "values_b"):
            values = getattr(self, field)
            if len(values) != n:
                raise ValueError(
                    f"{field} must give one value per item type ({n} items), got {len(values)}"
                )
            if any(v < 0 or v > 1_000_000 for v in values):
                raise ValueError(f"{field} must lie in 0..1000000, got {values}")
            if sum(v * item.count for v, item in zip(values, self.items)) <= 0:
                raise ValueError(f"{field} gives the whole pool no value")
        return self

    @property
    def roles(self) -> tuple[str, str]:
        return ("first", "second")
