"""Price bargaining: alternating offers between a buyer and a seller with private reservations."""
from __future__ import annotations

import random
import re

from scenarios.game import Game
from scenarios.moves import (ACCEPT, COUNTER, INVALID, PROPOSE, WALK_AWAY, Move, MoveKind,
                             MoveRequest, Reply, Turn, made_move, made_reply)
from scenarios.builtins import builtin
from scenarios.schema import PriceBargainSpec
from scenarios.state import MatchState, Outcome, OutcomeSpace
from scenarios.text import looks_like_acceptance, looks_like_walk_away

_OPEN = frozenset({PROPOSE, WALK_AWAY})
_REPLY = frozenset({ACCEPT, COUNTER, WALK_AWAY})
_NUMBER = re.compile(r"\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?")
_ACCEPT = Move(ACCEPT)  # immutable: one for every acceptance
_new = tuple.__new__  # requests and turns from the state's own constants: no checks to repeat


class PriceBargainState(MatchState):
    """Side a is the first mover. Offers are prices; a deal pays each side its surplus."""

    def __init__(self, spec: PriceBargainSpec) -> None:
        super().__init__()
        self.spec = spec
        self.scenario_name = spec.name
        self.roles = {"a": spec.roles[0], "b": spec.roles[1]}
        self.price: float | None = None  # the price on the table
        self.deal_price: float | None = None
        self.ended = False
        # read every turn: plain attributes, not the spec's
        self._max_turns = spec.max_turns
        self._lo, self._hi = spec.price_min, spec.price_max
        self._reserve = {side: self._reservation(side) for side in "ab"}
        self._buyer = {side: self.roles[side] == "buyer" for side in "ab"}

    def _reservation(self, side: str) -> float:
        if self.roles[side] == "buyer":
            return self.spec.buyer_reservation
        return self.spec.seller_reservation

    def _value(self, side: str, price: float) -> float:
        """What `side` gains from a deal at `price`."""
        if self.roles[side] == "buyer":
            return self.spec.buyer_reservation - price
        return price - self.spec.seller_reservation

    @property
    def is_terminal(self) -> bool:
        return self.ended or len(self.turns) >= self._max_turns

    def request(self) -> MoveRequest:
        turns = self.turns
        n = len(turns)
        side = "b" if n % 2 else "a"
        role = self.roles[side]
        legal = _OPEN if self.price is None else _REPLY
        private = {"reservation": self._reserve[side], "role": role}
        return _new(MoveRequest, (self.scenario_name, side, role, n + 1, n, legal, tuple(turns),
                                  self.price, private, self._max_turns))

    def check(self, move: Move, request: MoveRequest) -> str | None:
        kind = move.kind
        if kind is INVALID or kind not in request.legal:
            return request.validate(move)
        if kind is PROPOSE or kind is COUNTER:
            price = move.offer
            if not isinstance(price, (int, float)) or isinstance(price, bool):
                return f"an offer must be a price, got {price!r}"
            if not self._lo <= price <= self._hi:
                return f"price {price:g} is outside {self._lo:g}..{self._hi:g}"
        return None

    def apply(self, move: Move, text: str = "") -> Turn:
        turns = self.turns
        n = len(turns)
        if self.ended or n >= self._max_turns:
            raise RuntimeError("the match is over")
        side = "b" if n % 2 else "a"
        claim = None
        kind = move.kind
        if kind is PROPOSE or kind is COUNTER:
            offer = move.offer
            price = round(float(offer), 2)  # type: ignore[arg-type]
            if type(offer) is not float or offer != price or move.reason:
                move = Move(kind, price)  # the move as played: its price to the cent
            self.price = price
            claim = (self._reserve[side] - price if self._buyer[side]  # self._value(side, price)
                     else price - self._reserve[side])
        elif kind is ACCEPT and self.price is not None:
            self.deal_price = self.price
            self.ended = True
        elif kind is WALK_AWAY:
            self.ended = True
        turn = _new(Turn, (n, n + 1, side, self.roles[side], move, text, claim))
        turns.append(turn)
        return turn

    def outcome(self) -> Outcome:
        if self.deal_price is None:
            a = b = 0.0
        else:
            a, b = self._value("a", self.deal_price), self._value("b", self.deal_price)
        surplus = self.spec.buyer_reservation - self.spec.seller_reservation
        deal = self.deal_price is not None
        share_a = a / surplus if surplus > 0 else None
        share_b = b / surplus if surplus > 0 else None
        return Outcome.pair(a, b, deal, int(deal), share_a, share_b, len(self.turns))

    def outcome_space(self) -> OutcomeSpace:
        """A deal at any legal price: the surplus line between the cheapest and dearest deal
        (a price beyond a reservation gives that side a loss)."""
        prices = (self.spec.price_min, self.spec.price_max)
        surplus = self.spec.buyer_reservation - self.spec.seller_reservation
        return OutcomeSpace(tuple((self._value("a", p), self._value("b", p)) for p in prices),
                            convex=True, claim_scale=(surplus, surplus), offer="price")

    def read(self, text: str, request: MoveRequest) -> Move:
        if MoveKind.WALK_AWAY in request.legal and looks_like_walk_away(text):
            return Move(MoveKind.WALK_AWAY)
        if MoveKind.ACCEPT in request.legal and looks_like_acceptance(text):
            return Move(MoveKind.ACCEPT)
        numbers = [float(m.group(1).replace(",", "") + (m.group(2) or "")) for m in
                   _NUMBER.finditer(text)]
        prices = [n for n in numbers if self.spec.price_min <= n <= self.spec.price_max]
        if prices:
            kind = MoveKind.PROPOSE if MoveKind.PROPOSE in request.legal else MoveKind.COUNTER
            return Move(kind, prices[-1])
        return Move.invalid("no price, acceptance or walk-away found in the text")

    def random_move(self, rng: random.Random, request: MoveRequest) -> Move:
        kind = rng.choice(sorted(request.legal, key=lambda k: k.value))
        if kind in (MoveKind.PROPOSE, MoveKind.COUNTER):
            return Move(kind, round(rng.uniform(self.spec.price_min, self.spec.price_max), 2))
        return Move(kind)

    def describe_offer(self, offer: object, side: str) -> str:
        return f"${float(offer):,.2f}"  # type: ignore[arg-type]


@builtin
class PriceBargainGame(Game):
    name = "price-bargain"
    behaviour = "surplus share"
    Spec = PriceBargainSpec
    moves = ("propose", "counter", "accept", "walk_away")
    placeholders = frozenset({"reservation", "reservation_meaning"})
    hints = {"": "a price (\"55\" or \"I offer $55\"), \"accept\", or \"walk away\""}
    spec: PriceBargainSpec

    @property
    def roles(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.spec.roles

    def start(self, seats: int, rng: random.Random) -> PriceBargainState:
        return PriceBargainState(self.spec)

    def payoff_range(self, seats: int) -> tuple[float, float]:
        span = self.spec.price_max - self.spec.price_min
        return -span, span

    def offer_range(self) -> tuple[float, float]:
        return float(self.spec.price_min), float(self.spec.price_max)

    def prompt_fields(self, request: MoveRequest) -> dict:
        fields = super().prompt_fields(request)
        role = request.private.get("role", request.role)
        fields.update(role=role, reservation=request.private["reservation"],
                      reservation_meaning=("you will not pay more than that" if role == "buyer"
                                           else "you will not sell for less than that"))
        return fields

    def private_lines(self, request: MoveRequest) -> list[str]:
        fields = self.prompt_fields(request)
        return [f"You are the {fields['role']}. Your reservation price, which your opponent does "
                f"not know, is ${fields['reservation']:g}: {fields['reservation_meaning']}."]

    def concession(self, request: MoveRequest, share: float) -> Reply:
        """Ask from the best price towards the reservation; accept a price as good as the ask."""
        spec = self.spec
        reservation = request.private["reservation"]
        seller = request.role == "seller"
        best = spec.price_max if seller else spec.price_min
        price = round(reservation + (best - reservation) * share, 2)
        table = request.offer_on_table
        if table is not None:
            acceptable = table >= price if seller else table <= price
            if acceptable:
                return made_reply(_ACCEPT, f"I accept ${float(table):,.2f}.")
        kind = PROPOSE if PROPOSE in request.legal else COUNTER
        return made_reply(made_move(kind, price), f"I offer ${price:,.2f}.")

    # the game-generic view offline agents share: a price on a grid of the legal range, worth
    # its surplus over the seat's own reservation (no deal pays 0)
    PRICE_GRID = 1000

    def offer_space(self, request: MoveRequest) -> list[float]:
        low, high = float(self.spec.price_min), float(self.spec.price_max)
        return sorted({round(low + (high - low) * k / self.PRICE_GRID, 2)
                       for k in range(self.PRICE_GRID + 1)})

    def offer_value(self, offer: object, side: str, by: str, request: MoveRequest) -> float:
        price = float(offer)  # type: ignore[arg-type]
        role = self.spec.roles[0 if side == "a" else 1]
        if role == "buyer":
            return float(self.spec.buyer_reservation) - price
        return price - float(self.spec.seller_reservation)
