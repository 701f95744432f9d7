"""Majority division (Baron & Ferejohn 1989): N players divide a pie by majority vote.

Each round a proposer (rotating through the seats, or drawn at random) proposes a share for
every player; every other player votes in seat order; the proposal passes when the proposer
and the yes votes reach the quota (a simple majority unless the spec says otherwise). A passed
proposal pays its shares, discounted by `discount` per round gone by; after the round limit
nobody gets anything. An unusable proposal voids its round; an unusable vote counts as no.
"""
from __future__ import annotations

import math
import random
import re
from typing import Any, Literal

from pydantic import Field, model_validator

from scenarios.game import Game, GameSpec
from scenarios.moves import ACCEPT, PROPOSE, REJECT, SIDES, Move, MoveKind, MoveRequest, Turn
from scenarios.builtins import builtin
from scenarios.state import MatchState, Outcome
from scenarios.text import looks_like_acceptance, looks_like_rejection

MIN_SEATS, MAX_SEATS = 3, 7
_PLAYER = re.compile(r"player\s*#?\s*(\d+)[^\d$]{0,20}?\$?\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])\$?(\d+(?:\.\d+)?)")


class MajoritySpec(GameSpec):
    game: Literal["majority-division"]
    pie: float = Field(gt=0, le=1e12)
    seats: int = Field(default=3, ge=MIN_SEATS, le=MAX_SEATS)
    rounds: int = Field(ge=1, le=1000)
    proposer: Literal["rotating", "drawn"] = "rotating"
    discount: float = Field(default=1.0, gt=0, le=1)  # what a share is worth a round later
    step: float = Field(default=1.0, gt=0)  # shares are multiples of it
    quota: int | None = Field(default=None, ge=1)  # votes (the proposer's included) to pass

    @model_validator(mode="after")
    def _check(self) -> "MajoritySpec":
        steps = self.pie / self.step
        if not math.isfinite(steps) or steps > 1_000_000 or abs(steps - round(steps)) > 1e-9 * \
                max(1.0, steps) or steps < 1:
            raise ValueError(f"field 'step': {self.step:g} must divide pie {self.pie:g} into "
                             "at most 1,000,000 whole steps")
        if self.quota is not None and self.quota > self.seats:
            raise ValueError(f"field 'quota': {self.quota} votes of {self.seats} seats")
        return self


def shares_text(spec: MajoritySpec, offer: tuple[float, ...]) -> str:
    def money(value: float) -> str:
        text = f"{value:.10g}"
        return f"${text}" if spec.units in ("dollars", "$", "USD") else f"{text} {spec.units}"

    return ", ".join(f"player {i + 1} gets {money(x)}" for i, x in enumerate(offer))


class MajorityState(MatchState):
    """Seats a, b, c, ... ; an offer is a tuple of every seat's share, in seat order."""

    def __init__(self, spec: MajoritySpec, seats: int, rng: random.Random) -> None:
        super().__init__()
        self.spec = spec
        self.scenario_name = spec.name
        self.n = seats
        self.rng = rng
        self.quota = spec.quota if spec.quota is not None else seats // 2 + 1
        self.round = 1
        self.proposer = self._draw()
        self.offer: tuple[float, ...] | None = None
        self.votes: list[bool] = []
        self.deal: tuple[float, ...] | None = None
        self.deal_round = 0

    def _draw(self) -> int:
        if self.spec.proposer == "drawn":
            return self.rng.randrange(self.n)
        return (self.round - 1) % self.n

    def _voter(self) -> int:
        return (self.proposer + 1 + len(self.votes)) % self.n

    @property
    def is_terminal(self) -> bool:
        return self.deal is not None or self.round > self.spec.rounds

    def request(self) -> MoveRequest:
        voting = self.offer is not None
        seat = self._voter() if voting else self.proposer
        private = {"seats": self.n, "seat": seat, "proposer": self.proposer,
                   "quota": self.quota}
        return MoveRequest(self.spec.name, SIDES[seat], "voter" if voting else "proposer",
                           self.round, len(self.turns),
                           frozenset({ACCEPT, REJECT}) if voting else frozenset({PROPOSE}),
                           tuple(self.turns), self.offer, private, self.spec.rounds)

    def check(self, move: Move, request: MoveRequest) -> str | None:
        why = request.validate(move)
        if why is None and move.kind is PROPOSE:
            offer = move.offer
            if not isinstance(offer, tuple) or len(offer) != self.n or not all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in offer):
                return f"a proposal must give a share to each of the {self.n} players"
            if any(x < 0 for x in offer):
                return "a proposal's shares may not be negative"
            if abs(sum(offer) - self.spec.pie) > 1e-6 * max(1.0, self.spec.pie):
                return f"the shares add up to {sum(offer):g}, not the pie of {self.spec.pie:g}"
            step = self.spec.step
            if any(abs(x / step - round(x / step)) > 1e-6 for x in offer):
                return f"shares must be multiples of {step:g}"
        return why

    def apply(self, move: Move, text: str = "") -> Turn:
        if self.is_terminal:
            raise RuntimeError("the match is over")
        round_, claim = self.round, None
        if self.offer is None:
            seat, role = self.proposer, "proposer"
            if move.kind is PROPOSE:
                self.offer = tuple(float(x) for x in move.offer)
                move = Move(PROPOSE, self.offer)
                claim = self.offer[seat]
            else:  # no usable proposal: the round is void
                self._next_round()
        else:
            seat, role = self._voter(), "voter"
            self.votes.append(move.kind is ACCEPT)
            if len(self.votes) == self.n - 1:
                if 1 + sum(self.votes) >= self.quota:
                    self.deal, self.deal_round = self.offer, self.round
                else:
                    self._next_round()
        turn = Turn(len(self.turns), round_, SIDES[seat], role, move, text, claim)
        self.turns.append(turn)
        return turn

    def _next_round(self) -> None:
        self.round += 1
        self.offer, self.votes = None, []
        if self.round <= self.spec.rounds:
            self.proposer = self._draw()

    def outcome(self) -> Outcome:
        if self.deal is None:
            pays = (0.0,) * self.n
        else:
            factor = self.spec.discount ** (self.deal_round - 1)
            pays = tuple(x * factor for x in self.deal)
        shares = tuple(p / self.spec.pie for p in pays)
        deal = self.deal is not None
        return Outcome(pays, deal, int(deal), shares, len(self.turns))

    def read(self, text: str, request: MoveRequest) -> Move:
        if request.role == "voter":
            if looks_like_acceptance(text):
                return Move(ACCEPT)
            if looks_like_rejection(text):
                return Move(REJECT)
            return Move.invalid("neither a yes nor a no vote found in the text")
        shares = self.read_shares(text)
        if isinstance(shares, str):
            return Move.invalid(shares)
        return Move(PROPOSE, shares)

    def read_shares(self, text: str) -> tuple[float, ...] | str:
        """"player 1 gets $40, player 2 gets $30, ..." (every player named), or exactly one
        number per player that adds up to the pie ("40/30/30")."""
        named: dict[int, float] = {}
        for m in _PLAYER.finditer(text):
            named.setdefault(int(m.group(1)), float(m.group(2)))
        if named:
            if sorted(named) != list(range(1, self.n + 1)):
                return f"the text names shares for players {sorted(named)}, not 1..{self.n}"
            return tuple(named[i] for i in range(1, self.n + 1))
        numbers = [float(n) for n in _NUMBER.findall(text)]
        if len(numbers) == self.n and abs(sum(numbers) - self.spec.pie) < 1e-6:
            return tuple(numbers)
        return f"no share for each of the {self.n} players found in the text"

    def random_move(self, rng: random.Random, request: MoveRequest) -> Move:
        if request.role == "voter":
            return Move(rng.choice((ACCEPT, REJECT)))
        steps = round(self.spec.pie / self.spec.step)
        cuts = sorted(rng.randint(0, steps) for _ in range(self.n - 1))
        bounds = [0, *cuts, steps]
        return Move(PROPOSE, tuple((bounds[i + 1] - bounds[i]) * self.spec.step
                                   for i in range(self.n)))

    def describe_offer(self, offer: Any, side: str) -> str:
        return "I propose: " + shares_text(self.spec, offer)


@builtin
class MajorityDivisionGame(Game):
    name = "majority-division"
    behaviour = "claim share"
    Spec = MajoritySpec
    min_seats, max_seats = MIN_SEATS, MAX_SEATS
    roles = ("proposer", "voter")
    moves = ("propose", "accept", "reject")
    placeholders = frozenset({"quota", "proposer_rule", "discount_rule"})
    hints = {"proposer": "a share for every player, e.g. \"player 1 gets 40, player 2 gets 30, "
                         "player 3 gets 30\" or \"40/30/30\"",
             "voter": "\"yes\" (accept) or \"no\" (reject)"}
    spec: MajoritySpec

    def start(self, seats: int, rng: random.Random) -> MajorityState:
        return MajorityState(self.spec, seats, rng)

    def max_turns(self, seats: int) -> int:
        return self.spec.rounds * seats

    def payoff_range(self, seats: int) -> tuple[float, float]:
        return 0.0, float(self.spec.pie)

    def calls_per_seat(self, seats: int) -> int:
        return self.spec.rounds

    def prompt_fields(self, request: MoveRequest) -> dict[str, Any]:
        fields = super().prompt_fields(request)
        seats = self.seats_of(request)
        fields["quota"] = request.private.get("quota", self.spec.quota or seats // 2 + 1)
        fields["proposer_rule"] = ("the proposer rotates through the players in order"
                                   if self.spec.proposer == "rotating"
                                   else "each round the proposer is drawn at random")
        fields["discount_rule"] = ("" if self.spec.discount == 1 else
                                   f" Each round without agreement shrinks what the pie is worth "
                                   f"to {self.spec.discount:g} of its value the round before.")
        return fields

    def offer_terms(self, offer: Any) -> str:
        return shares_text(self.spec, offer)

    def private_lines(self, request: MoveRequest) -> list[str]:
        """Where the person sits and what passes a proposal (a person has no prompt to read
        it in)."""
        seats = self.seats_of(request)
        quota = request.private.get("quota", self.spec.quota or seats // 2 + 1)
        return [f"You are player {SIDES.index(request.side) + 1} of {seats}. A proposal passes "
                f"with {quota} of {seats} votes, the proposer's included; "
                f"{self.prompt_fields(request)['proposer_rule']}."]

    def offer_from_json(self, amount: Any) -> Any:
        if isinstance(amount, list) and all(isinstance(x, (int, float)) and
                                            not isinstance(x, bool) for x in amount):
            return tuple(float(x) for x in amount)
        return "an offer must be a list of every player's share, in player order"

    def json_schema(self) -> dict[str, Any]:
        return {"type": "object", "required": ["move"], "properties": {
            "move": {"enum": list(self.moves)},
            "offer": {"type": "array", "items": {"type": "number", "minimum": 0}},
            "message": {"type": "string"}}}

    def json_hint(self) -> str:
        return ('Answer with a JSON object only: as the proposer {"move": "propose", "offer": '
                '[40, 30, 30], "message": "..."} (every player\'s share, in player order); as a '
                'voter {"move": "accept"} or {"move": "reject"}.')

    def progress(self, request: MoveRequest) -> float:
        return min((request.round - 1) / max(self.spec.rounds - 1, 1), 1.0)

    def offer_space(self, request: MoveRequest) -> list[Any]:
        """Keep `x`, split the rest evenly (in steps) over the fewest others that pass it."""
        n, me = self.seats_of(request), request.private.get("seat", 0)
        quota = request.private.get("quota", n // 2 + 1)
        partners = [(me + k) % n for k in range(1, quota)]
        steps, step = round(self.spec.pie / self.spec.step), self.spec.step
        offers = []
        for keep in range(steps + 1):
            shares = [0.0] * n
            shares[me] = keep * step
            rest = steps - keep
            for i, seat in enumerate(partners):
                shares[seat] = (rest // len(partners) + (1 if i < rest % len(partners) else 0)) \
                    * step if partners else 0.0
            if not partners:
                shares[me] = self.spec.pie
            offers.append(tuple(shares))
        return offers

    def offer_value(self, offer: Any, side: str, by: str, request: MoveRequest) -> float:
        return float(offer[SIDES.index(side)])
