"""A scripted majority-division player with one planted strongest persona, for the standings tests
(SIMULATED: no model). As proposer it splits the pie in steps of `step` by weights: 1 + noise for
every seat, plus `bonus` for the seat of persona `strong`; as voter it votes yes, so every match
ends with its first proposal and the strong persona, wherever it sits, usually takes the most.
Coarse steps make equal shares (shared places) common. The noise comes from the seat's seeded
rng; it needs a condition that shows the others (it must know who sits where)."""
from __future__ import annotations

from typing import Any

from scenarios.moves import ACCEPT, PROPOSE, Move, MoveRequest, Reply


class StrongestTakesMost:
    def __init__(self, seat: Any, strong: str = "", bonus: float = 1.0, noise_sd: float = 0.3,
                 step: int = 10) -> None:
        others = [seat.opponent, *seat.others]
        if seat.persona is None or any(p is None for p in others):
            raise ValueError("StrongestTakesMost needs a condition that shows every player")
        self.seat, self.name = seat, "strongest-takes-most"
        self.me = seat.persona.persona_id
        self.others = [p.persona_id for p in others]  # the other seats, in seat order
        self.strong, self.bonus, self.noise_sd, self.step = strong, bonus, noise_sd, step

    async def act(self, request: MoveRequest) -> Reply:
        if request.role != "proposer":
            return Reply(Move(ACCEPT), "yes")
        me = "abcdefgh".index(request.side)
        who = self.others[:me] + [self.me] + self.others[me:]  # every seat's persona
        rng = self.seat.rng
        weights = [max(1.0 + (self.bonus if p == self.strong else 0.0)
                       + rng.gauss(0.0, self.noise_sd), 0.05) for p in who]
        units = 100 // self.step
        raw = [units * w / sum(weights) for w in weights]
        got = [int(r) for r in raw]
        # the units rounding left over go to the largest remainders (the lower seat on a tie)
        for i in sorted(range(len(raw)), key=lambda i: (got[i] - raw[i], i))[:units - sum(got)]:
            got[i] += 1
        shares = tuple(float(g * self.step) for g in got)
        text = ", ".join(f"player {i + 1} gets ${s:g}" for i, s in enumerate(shares))
        return Reply(Move(PROPOSE, shares), text)
