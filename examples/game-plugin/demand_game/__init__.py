"""The Nash demand game, as a persona-arena plugin: every player names a demand on a pie; if
the demands fit in the pie each gets its own, otherwise nobody gets anything that round.

A walk-through of what a game defines (see the README's "Writing a new game"): a pydantic Spec
(the scenario file's keys), the Game (seats, roles, bounds) and its MatchState (whose turn,
what is legal, applying moves, scoring, reading free text)."""
from __future__ import annotations

import random
import re
from typing import Literal

from pydantic import Field

from scenarios.game import Game, GameSpec
from scenarios.moves import PROPOSE, SIDES, Move, MoveRequest, Turn
from scenarios.state import MatchState, Outcome

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


class DemandSpec(GameSpec):
    game: Literal["demand_game:NashDemand", "nash-demand"]  # the module path, or the entry point
    pie: int = Field(gt=0, le=10_000)
    rounds: int = Field(ge=1, le=100)
    seats: int = Field(default=2, ge=2, le=6)


class DemandState(MatchState):
    def __init__(self, spec: DemandSpec, seats: int) -> None:
        super().__init__()
        self.spec, self.n = spec, seats
        self.demands: list[int] = []  # this round's, in seat order
        self.pay = [0.0] * seats
        self.rounds_fitted = 0

    @property
    def is_terminal(self) -> bool:
        return len(self.turns) >= self.spec.rounds * self.n

    def request(self) -> MoveRequest:
        seat = len(self.turns) % self.n
        return MoveRequest(self.spec.name, SIDES[seat], "demander", len(self.turns) // self.n + 1,
                           len(self.turns), frozenset({PROPOSE}), tuple(self.turns), None,
                           {"seats": self.n}, self.spec.rounds)

    def check(self, move: Move, request: MoveRequest) -> str | None:
        why = request.validate(move)
        if why is None and not (isinstance(move.offer, (int, float)) and
                                0 <= move.offer <= self.spec.pie):
            return f"a demand must lie in 0..{self.spec.pie}, got {move.offer!r}"
        return why

    def apply(self, move: Move, text: str = "") -> Turn:
        seat, round_ = len(self.turns) % self.n, len(self.turns) // self.n + 1
        demand = round(move.offer) if move.kind is PROPOSE else self.spec.pie  # invalid: greedy
        self.demands.append(demand)
        if len(self.demands) == self.n:
            if sum(self.demands) <= self.spec.pie:
                self.pay = [p + d for p, d in zip(self.pay, self.demands)]
                self.rounds_fitted += 1
            self.demands = []
        move = Move(PROPOSE, float(demand)) if move.kind is PROPOSE else move
        turn = Turn(len(self.turns), round_, SIDES[seat], "demander", move, text,
                    float(demand) if move.kind is PROPOSE else None)
        self.turns.append(turn)
        return turn

    def outcome(self) -> Outcome:
        whole = self.spec.pie * self.spec.rounds
        return Outcome(tuple(self.pay), self.rounds_fitted > 0, self.rounds_fitted,
                       tuple(p / whole for p in self.pay), len(self.turns))

    def read(self, text: str, request: MoveRequest) -> Move:
        numbers = [float(n) for n in _NUMBER.findall(text) if float(n) <= self.spec.pie]
        return Move(PROPOSE, numbers[0]) if numbers else Move.invalid("no demand in the text")

    def random_move(self, rng: random.Random, request: MoveRequest) -> Move:
        return Move(PROPOSE, float(rng.randint(0, self.spec.pie)))

    def describe_offer(self, offer: object, side: str) -> str:
        return f"I demand {offer:g} {self.spec.units}."


class NashDemand(Game):
    name = "nash-demand"
    Spec = DemandSpec
    min_seats, max_seats = 2, 6
    roles = ("demander",)
    moves = ("propose",)
    hints = {"": "your demand, e.g. \"40\""}

    def start(self, seats: int, rng: random.Random) -> DemandState:
        return DemandState(self.spec, seats)

    def payoff_range(self, seats: int) -> tuple[float, float]:
        return 0.0, float(self.spec.pie * self.spec.rounds)

    def offer_range(self) -> tuple[float, float]:
        return 0.0, float(self.spec.pie)

    def offer_space(self, request: MoveRequest) -> list[float]:
        return [float(d) for d in range(self.spec.pie + 1)]

    def offer_value(self, offer: object, side: str, by: str, request: MoveRequest) -> float:
        return float(offer)  # type: ignore[arg-type]
