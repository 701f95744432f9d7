"""An agent kind shipped as a package of its own and registered by entry point (see
../pyproject.toml): once installed, a config says `kind = "fair-split"`."""
from __future__ import annotations

from arena import Seat
from scenarios.moves import ACCEPT, PROPOSE, REJECT, Move, MoveRequest, Reply


class FairSplitNegotiator:
    """Ultimatum scenarios: proposes an even split and accepts any split that leaves it at
    least `floor` of the pie, whatever the avatars."""

    offline = True  # act() never waits on I/O: matches may be played one after another

    def __init__(self, seat: Seat, floor: float = 0.4) -> None:
        self.pie = seat.scenario.spec.pie
        self.floor = floor * self.pie
        self.name = "fair-split"

    async def act(self, request: MoveRequest) -> Reply:
        if request.role == "proposer":
            half = self.pie / 2
            return Reply(Move(PROPOSE, half), f"I propose ${half:g} for each of us.")
        if self.pie - float(request.offer_on_table or 0.0) >= self.floor:
            return Reply(Move(ACCEPT), "I accept.")
        return Reply(Move(REJECT), "I reject.")
