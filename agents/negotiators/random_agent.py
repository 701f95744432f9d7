"""A negotiator that plays uniformly random legal moves: a baseline and a conformance driver."""
from __future__ import annotations

import random

from scenarios.loader import Scenario
from scenarios.moves import MoveRequest, Reply


class RandomNegotiator:
    def __init__(self, scenario: Scenario, rng: random.Random, name: str = "random") -> None:
        self._rules = scenario.new_state()  # only its random_move is used: rules, not state
        self.rng = rng
        self.name = name

    async def act(self, request: MoveRequest) -> Reply:
        move = self._rules.random_move(self.rng, request)
        return Reply(move, "")
