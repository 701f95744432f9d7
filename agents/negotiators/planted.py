"""A planted negotiator: SIMULATED behaviour with effects of stated sizes, for pilots and power.

It is NOT a model of anything. Its demand is a *share of what there is to win* (0 = the seat's
reservation value, 1 = the best offer the game lists for it), planted as

    demand = base + own-level shift + other seats' level shift + attribute shifts
             + condition shift + persona effect + anchor * (the other side's first demand - 50)
             - concession so far + noise                      (in points of 0..100)

and mapped to a legal offer through the game interface (`offer_space`, `offer_value`,
`reservation_value` of scenarios.game), so it plays every game that lists its offers, built-in
or plugin. It accepts an offer on the table worth at least its demand less `accept_within`
points: the same target decides both. Every design and analysis can so be checked end to end
against an effect whose size is known, before a model is paid for.
"""
from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scenarios.moves import (ACCEPT, COUNTER, OFFER_KINDS, PROPOSE, REJECT, WALK_AWAY, Move,
                             MoveRequest, Reply)

SIMULATED_NOTE = ("planted agents play by a stated formula (agents.negotiators.planted), not "
                  "a model; use their runs to check designs and size studies, never as "
                  "evidence about LLMs")
ANCHOR_AT = 50.0  # the other side's first demand (points) at which the anchor pulls nowhere


@dataclass(frozen=True, slots=True)
class PlantedParams:
    """The planted formula, in points of the demand share (0..100). Shifts by level are a slope
    per level away from `mid` (the scale's middle) or a table level -> shift."""

    base: float = 50.0
    own: float | Mapping[int, float] = 0.0
    opp: float | Mapping[int, float] = 0.0
    attribute: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    opp_attribute: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    condition: Mapping[str, float] = field(default_factory=dict)
    anchor: float = 0.0
    persona_sd: float = 0.0
    noise_sd: float = 0.0
    concede: float = 0.0
    accept_within: float = 10.0


def level_shift(effect: float | Mapping[int, float], level: float | None, mid: float) -> float:
    """A level's shift: slope x (level - mid), or the table's entry (0 for a level it lacks).
    No level (not shown, or unknown) is no shift."""
    if level is None:
        return 0.0
    if isinstance(effect, Mapping):
        return float(effect.get(int(round(level)), 0.0))
    return float(effect) * (level - mid)


def attribute_shift(table: Mapping[str, Mapping[str, float]],
                    attributes: Mapping[str, str] | None) -> float:
    if not attributes:
        return 0.0
    return sum(float(values.get(attributes.get(name, ""), 0.0)) for name, values in table.items())


def mean_demand(params: PlantedParams, condition: str, mid: float, own_level: float | None,
                other_levels: list[float], own_attributes: Mapping[str, str] | None,
                other_attributes: list[Mapping[str, str]], persona_effect: float) -> float:
    """The planted demand before the anchor, the concession and the noise (points). Other
    seats count by their mean: their levels' mean, each attribute shift averaged."""
    demand = params.base + params.condition.get(condition, 0.0) + persona_effect
    demand += level_shift(params.own, own_level, mid)
    if other_levels:
        demand += level_shift(params.opp, sum(other_levels) / len(other_levels), mid)
    demand += attribute_shift(params.attribute, own_attributes)
    if other_attributes:
        demand += sum(attribute_shift(params.opp_attribute, a)
                      for a in other_attributes) / len(other_attributes)
    return demand


class PlantedNegotiator:
    """Plays any game whose rules list offers; `rng` (per seat, per match) is the runner's."""

    simulated = True

    def __init__(self, rules: Any, seats: int, demand: float, params: PlantedParams,
                 rng: random.Random, name: str = "planted") -> None:
        self.rules = rules
        self.seats = seats
        self.demand = demand  # points, from mean_demand
        self.params = params
        self.rng = rng
        self.name = name
        self._space: list[tuple[float, int, object]] | None = None
        self._state: Any = None

    def _offers(self, request: MoveRequest) -> list[tuple[float, int, object]]:
        if self._space is None:
            side = request.side
            space = [(self.rules.offer_value(o, side, side, request), i, o)
                     for i, o in enumerate(self.rules.offer_space(request))]
            self._space = sorted(space, key=lambda v: (v[0], v[1]))
        return self._space

    def _first_demand_of_others(self, request: MoveRequest, floor: float,
                                best: float) -> float | None:
        """The other side's first offer as its demand (points): 100 less what it leaves me."""
        first = next((t for t in request.history
                      if t.side != request.side and t.move.kind in OFFER_KINDS
                      and t.move.offer is not None), None)
        if first is None or best <= floor:
            return None
        mine = self.rules.offer_value(first.move.offer, request.side, first.side, request)
        return 100.0 * (1.0 - (mine - floor) / (best - floor))

    def target(self, request: MoveRequest, floor: float, best: float) -> float:
        """This move's demand in points (0..100): noise drawn once a move."""
        p = self.params
        demand = self.demand - p.concede * self.rules.progress(request)
        if p.anchor:
            theirs = self._first_demand_of_others(request, floor, best)
            if theirs is not None:
                demand += p.anchor * (theirs - ANCHOR_AT)
        if p.noise_sd:
            demand += self.rng.gauss(0.0, p.noise_sd)
        return min(max(demand, 0.0), 100.0)

    async def act(self, request: MoveRequest) -> Reply:
        rules, side = self.rules, request.side
        floor = rules.reservation_value(side, request)
        space = self._offers(request)
        best = space[-1][0] if space else floor
        demand = self.target(request, floor, best)
        table = request.offer_on_table
        if table is not None and ACCEPT in request.legal:
            by = next((t.side for t in reversed(request.history) if t.move.kind in OFFER_KINDS),
                      side)
            least = floor + (best - floor) * max(demand - self.params.accept_within, 0.0) / 100
            if rules.offer_value(table, side, by, request) >= least - 1e-9:
                return Reply(Move(ACCEPT), "I accept.")
        kind = PROPOSE if PROPOSE in request.legal else COUNTER if COUNTER in request.legal \
            else None
        if kind is None or not space:
            for move, text in ((REJECT, "I reject."), (WALK_AWAY, "I walk away.")):
                if move in request.legal:
                    return Reply(Move(move), text)
            return Reply(Move(ACCEPT), "I accept.")
        goal = floor + (best - floor) * demand / 100
        # the offer nearest the goal (the lower on a tie): rounding adds no bias of its own
        _, _, choice = min(space, key=lambda v: (abs(v[0] - goal), v[0], v[1]))
        return Reply(Move(kind, choice), self._describe(choice, side))

    def _describe(self, offer: object, side: str) -> str:
        if self._state is None:
            self._state = self.rules.new_state(self.seats)
        return self._state.describe_offer(offer, side)
