"""A negotiator of your own, played by `persona-arena run` and by `arena.Tournament`.

Name it in a config as `kind = "my_agents:LevelAwareNegotiator"`: the module is found on the
Python path or, as here, beside the config file. Its constructor gets the match's `Seat` (the
scenario, its side, what the condition lets it see of its persona and its opponent, and its own
seeded `rng`) and the keyword arguments of the config's `[agents.X.options]` table; `act` is
asked for each move. It plays ultimatum scenarios (`ultimatum-4`).
"""
from __future__ import annotations

from arena import Seat
from scenarios.moves import ACCEPT, PROPOSE, REJECT, Move, MoveRequest, Reply


class LevelAwareNegotiator:
    """Kiss up, kick down, written by hand: it claims more the more aggressive its own avatar
    (`own_step` a level), and more again against a meeker opponent (`gap_step` a level of
    difference, where the condition shows the opponent); it accepts any split that leaves it
    at least `floor`."""

    def __init__(self, seat: Seat, base: float = 55.0, own_step: float = 2.0,
                 gap_step: float = 1.0, floor: float = 30.0) -> None:
        if seat.scenario.game != "ultimatum":
            raise ValueError(f"LevelAwareNegotiator plays ultimatum scenarios, not "
                             f"{seat.scenario.game}")
        own = seat.persona.level if seat.persona and seat.persona.level else 4
        opp = seat.opponent.level if seat.opponent and seat.opponent.level else own
        self.pie = seat.scenario.spec.pie
        self.claim = min(self.pie, max(0.0, base + own_step * (own - 4) + gap_step * (own - opp)))
        self.floor = floor
        self.rng = seat.rng  # the runner's: the same seed gives the same match
        self.name = "level-aware"

    async def act(self, request: MoveRequest) -> Reply:
        if request.role == "proposer":
            claim = float(round(self.claim + self.rng.uniform(-2.0, 2.0)))
            claim = min(self.pie, max(0.0, claim))
            return Reply(Move(PROPOSE, claim),
                         f"I propose ${claim:g} for me and ${self.pie - claim:g} for you.")
        left_for_me = self.pie - float(request.offer_on_table or 0.0)
        if left_for_me >= self.floor:
            return Reply(Move(ACCEPT), "I accept.")
        return Reply(Move(REJECT), "I reject.")
