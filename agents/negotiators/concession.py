"""Time-dependent concession tactics (Faratin, Sierra & Jennings 1998): Boulware, linear, Conceder.

The target utility falls from the best outcome to the reservation as the deadline nears,
`target(t) = best - (best - reservation) * t ** (1 / e)`; e < 1 concedes late (Boulware), e = 1
steadily (linear), e > 1 early (Conceder). An offer is accepted once it is worth at least what the
agent would ask next.
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
        to the best offer the game lists for this seat; accept an offer on the table worth as
        much; otherwise make the least demanding offer that still meets the target."""
        rules, side = self.rules, request.side
        floor = rules.reservation_value(side, request)
        if self._space is None:
            space = [(rules.offer_value(o, side, side, request), i, o)
                     for i, o in enumerate(rules.offer_space(request))]
            self._space = sorted(space, key=lambda v: (v[0], v[1]))
        best = self._space[-1][0] if self._space else floor
        target = floor + (best - floor) * share
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
        choice = next((o for v, _, o in self._space if v >= target - 1e-9), self._space[-1][2])
        return Reply(Move(kind, choice), self._describe(choice, side))

    def _describe(self, offer: object, side: str) -> str:
        if self._state is None:
            self._state = self.rules.new_state(self.seats)
        return self._state.describe_offer(offer, side)
