"""Time-dependent concession tactics (Faratin, Sierra & Jennings 1998): Boulware, linear, Conceder.

The target utility falls from the best outcome to the reservation as the deadline nears,
`target(t) = best - (best - reservation) * t ** (1 / e)`; e < 1 concedes late (Boulware), e = 1
steadily (linear), e > 1 early (Conceder). An offer is accepted once it is worth at least what the
agent would ask next. The game-generic aspiration also answers the other seats: what one of them
already offered it is never asked away again, and of equally demanding offers it makes the one
nearest their last (in an integrative game this finds the deals that pay both more).
"""
from __future__ import annotations

from scenarios.moves import (ACCEPT, COUNTER, OFFER_KINDS, PROPOSE, REJECT, WALK_AWAY, Move,
                             MoveRequest, Reply)

TACTICS = {"boulware": 0.2, "linear": 1.0, "conceder": 5.0}


class ConcessionNegotiator:
    """Plays every game without any randomness: a game's own tactic where it has one (the
    ultimatum, price and item built-ins keep theirs), else the game-generic aspiration."""

    def __init__(self, scenario, tactic: str = "linear", exponent: float | None = None,
                 reservation_share: float = 0.0, name: str | None = None) -> None:
        if exponent is None:
            if tactic not in TACTICS:
                raise ValueError(f"unknown tactic {tactic!r} (known: {', '.join(TACTICS)})")
            exponent = TACTICS[tactic]
        if exponent <= 0:
            raise ValueError("the concession exponent must be positive")
        self.spec = scenario.spec
        self.rules = scenario.rules
        self.seats = scenario.seats
        self.e = exponent
        self.reservation_share = reservation_share
        self.name = name or f"concession-{tactic}"
        self._space: list[tuple[float, int, object]] | None = None
        self._state = None  # a state of the game, for describing offers only
        self._progress = self.rules.progress  # bound once: asked every turn
        self._own = self.rules.concession

    def _target_share(self, request: MoveRequest) -> float:
        """Share of the way from the reservation (0) to the best outcome (1) still demanded."""
        t = self._progress(request)
        return 1.0 - (1.0 - self.reservation_share) * t ** (1.0 / self.e)

    async def act(self, request: MoveRequest) -> Reply:
        t = self._progress(request)  # _target_share, inlined: the engine's hottest call
        share = 1.0 - (1.0 - self.reservation_share) * t ** (1.0 / self.e)
        own = self._own(request, share)  # a game's own tactic, if it has one
        return own if own is not None else self._aspire(request, share)

    def _aspire(self, request: MoveRequest, share: float) -> Reply:
        """The game-generic aspiration: demand `share` of the way from the reservation value
        to the best offer the game lists for this seat, but never less than the best that
        another seat has already offered it; accept an offer on the table worth that much;
        otherwise make the least demanding offer that still meets the target, and of those
        the one closest to what the others last offered (N seats alike: a voter accepts a
        proposal whose share for it meets the target)."""
        rules, side = self.rules, request.side
        floor = rules.reservation_value(side, request)
        if self._space is None:
            space = [(rules.offer_value(o, side, side, request), i, o)
                     for i, o in enumerate(rules.offer_space(request))]
            self._space = sorted(space, key=lambda v: (v[0], v[1]))
        best = self._space[-1][0] if self._space else floor
        offered = self._offered(request)
        target = floor + (best - floor) * share
        if offered:  # what another seat already gave is no concession to ask for again
            target = max(target, min(max(v for v, _ in offered), best))
        table = request.offer_on_table
        if table is not None and ACCEPT in request.legal:
            by = next((t.side for t in reversed(request.history) if t.move.kind in OFFER_KINDS),
                      side)
            if rules.offer_value(table, side, by, request) >= target - 1e-9:
                return Reply(Move(ACCEPT), "I accept.")
        kind = PROPOSE if PROPOSE in request.legal else COUNTER if COUNTER in request.legal \
            else None
        if kind is None or not self._space:
            if REJECT in request.legal:
                return Reply(Move(REJECT), "I reject.")
            if WALK_AWAY in request.legal:
                return Reply(Move(WALK_AWAY), "I walk away.")
            return Reply(Move(ACCEPT), "I accept.")
        choice = self._choose(target, offered[-1][1] if offered else None)
        return Reply(Move(kind, choice), self._describe(choice, side))

    def _offered(self, request: MoveRequest) -> list[tuple[float, object]]:
        """(value to this seat, offer) of every offer another seat made, in order."""
        side = request.side
        return [(self.rules.offer_value(t.move.offer, side, t.side, request), t.move.offer)
                for t in request.history
                if t.side != side and t.move.kind in OFFER_KINDS and t.move.offer is not None]

    def _choose(self, target: float, last: object) -> object:
        """The least demanding listed offer worth at least `target` (the best one when none
        is); among equally demanding ones, the one nearest the others' last offer."""
        assert self._space
        value = next((v for v, _, _ in self._space if v >= target - 1e-9), self._space[-1][0])
        ties = [o for v, _, o in self._space if abs(v - value) <= 1e-9]
        if last is None or len(ties) == 1:
            return ties[0]
        return min(ties, key=lambda o: _distance(o, last))  # min keeps the first of equals

    def _describe(self, offer: object, side: str) -> str:
        if self._state is None:
            self._state = self.rules.new_state(self.seats)
        return self._state.describe_offer(offer, side)


def _distance(offer: object, other: object) -> float:
    """How far apart two offers are: components that differ (tuples of options or counts),
    or the gap between two numbers; unlike offers are far apart."""
    if isinstance(offer, tuple) and isinstance(other, tuple) and len(offer) == len(other):
        return float(sum(1 for x, y in zip(offer, other) if x != y))
    if isinstance(offer, (int, float)) and isinstance(other, (int, float)):
        return abs(float(offer) - float(other))
    return float("inf")
