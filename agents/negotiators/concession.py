"""Time-dependent concession tactics (Faratin, Sierra & Jennings 1998): Boulware, linear, Conceder.

The target utility falls from the best outcome to the reservation as the deadline nears,
`target(t) = best - (best - reservation) * t ** (1 / e)`; e < 1 concedes late (Boulware), e = 1
steadily (linear), e > 1 early (Conceder). An offer is accepted once it is worth at least what the
agent would ask next.
"""
from __future__ import annotations

from scenarios.moves import ACCEPT, COUNTER, PROPOSE, Move, MoveKind, MoveRequest, Reply

TACTICS = {"boulware": 0.2, "linear": 1.0, "conceder": 5.0}


class ConcessionNegotiator:
    """Plays `price-bargain`, `item-division` and `ultimatum` scenarios without any randomness."""

    def __init__(self, scenario, tactic: str = "linear", exponent: float | None = None,
                 reservation_share: float = 0.0, name: str | None = None) -> None:
        if exponent is None:
            if tactic not in TACTICS:
                raise ValueError(f"unknown tactic {tactic!r} (known: {', '.join(TACTICS)})")
            exponent = TACTICS[tactic]
        if exponent <= 0:
            raise ValueError("the concession exponent must be positive")
        self.spec = scenario.spec
        self.game = scenario.game
        self.e = exponent
        self.reservation_share = reservation_share
        self.name = name or f"concession-{tactic}"
        self._bundles: list[tuple[float, tuple[int, ...]]] | None = None

    def _time(self, request: MoveRequest) -> float:
        total = max(request.rounds_total - 1, 1)
        return min(request.turn_index / total, 1.0)

    def _target_share(self, request: MoveRequest) -> float:
        """Share of the way from the reservation (0) to the best outcome (1) still demanded."""
        t = self._time(request)
        floor = self.reservation_share
        return 1.0 - (1.0 - floor) * t ** (1.0 / self.e)

    async def act(self, request: MoveRequest) -> Reply:
        if self.game == "price-bargain":
            return self._price(request)
        if self.game == "item-division":
            return self._items(request)
        return self._ultimatum(request)

    def _price(self, request: MoveRequest) -> Reply:
        spec = self.spec
        reservation = request.private["reservation"]
        seller = request.role == "seller"
        best = spec.price_max if seller else spec.price_min
        share = self._target_share(request)
        price = round(reservation + (best - reservation) * share, 2)
        table = request.offer_on_table
        if table is not None:
            acceptable = table >= price if seller else table <= price
            if acceptable:
                return Reply(Move(ACCEPT), f"I accept ${float(table):,.2f}.")
        kind = PROPOSE if PROPOSE in request.legal else COUNTER
        return Reply(Move(kind, price), f"I offer ${price:,.2f}.")

    def _items(self, request: MoveRequest) -> Reply:
        values = request.private["values"]
        counts = request.private["counts"]
        if self._bundles is None:
            import itertools

            bundles = []
            for bundle in itertools.product(*(range(c + 1) for c in counts)):
                worth = float(sum(v * n for v, n in zip(values, bundle)))
                # among equal worth, leave the opponent more items
                bundles.append((worth, tuple(bundle)))
            bundles.sort(key=lambda wb: (wb[0], -sum(wb[1])))
            self._bundles = bundles
        whole = self._bundles[-1][0]
        target = whole * self._target_share(request)
        table = request.offer_on_table
        if table is not None:
            # the table holds what the other side keeps; I would get the rest
            mine = tuple(c - n for c, n in zip(counts, table))
            worth = float(sum(v * n for v, n in zip(values, mine)))
            if worth >= target:
                return Reply(Move(MoveKind.ACCEPT), "I accept.")
        choice = next(b for w, b in self._bundles if w >= target - 1e-9)
        kind = MoveKind.PROPOSE if MoveKind.PROPOSE in request.legal else MoveKind.COUNTER
        items = request.private["items"]
        text = "I take " + ", ".join(f"{n} {name}" for n, name in zip(choice, items))
        return Reply(Move(kind, choice), text)

    def _ultimatum(self, request: MoveRequest) -> Reply:
        pie = self.spec.pie
        share = self._target_share(request)
        claim = round(pie / 2 + pie / 2 * share)
        if request.role == "proposer":
            return Reply(Move(MoveKind.PROPOSE, float(claim)), f"${claim} for me.")
        offer_to_me = pie - float(request.offer_on_table)  # type: ignore[arg-type]
        if offer_to_me >= pie - claim:
            return Reply(Move(MoveKind.ACCEPT), "I accept.")
        return Reply(Move(MoveKind.REJECT), "I reject.")
