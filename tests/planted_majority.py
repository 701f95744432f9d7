"""A scripted majority-division player with planted pairing effects, for the analysis tests
(SIMULATED: no model). As proposer it keeps the share `base + own * its level + others * the
others' mean level + a persona effect + noise` of the pie (rounded to the step) and splits the
rest evenly; as voter it votes yes, so every match ends with its first proposal. The persona
effect is fixed per persona (clusters); the noise comes from the seat's seeded rng. It needs a
condition that shows the others (their levels are its input)."""
from __future__ import annotations

import hashlib
from typing import Any

from scenarios.moves import ACCEPT, PROPOSE, Move, MoveRequest, Reply


class PlantedMajority:
    def __init__(self, seat: Any, base: float = 0.4, own: float = 0.0, others: float = 0.0,
                 persona_sd: float = 0.0, noise_sd: float = 0.0) -> None:
        self.seat = seat
        self.name = "planted-majority"
        persona = seat.persona.persona_id if seat.persona else "-"
        u = int.from_bytes(hashlib.sha256(persona.encode()).digest()[:4], "big") / 2 ** 32
        opponents = [p for p in (seat.opponent, *seat.others) if p is not None]
        if seat.persona is None or not opponents:
            raise ValueError("PlantedMajority needs a condition that shows every player")
        mean_others = sum(p.level for p in opponents) / len(opponents)
        self.mean = (base + own * seat.persona.level + others * mean_others
                     + persona_sd * (2 * u - 1) * 1.7)
        self.noise_sd = noise_sd

    async def act(self, request: MoveRequest) -> Reply:
        if request.role != "proposer":
            return Reply(Move(ACCEPT), "yes")
        seats = int(request.private["seats"])
        me = "abcdefgh".index(request.side)
        pie = 100
        raw = self.mean + (self.seat.rng.gauss(0.0, self.noise_sd) if self.noise_sd else 0.0)
        keep = int(min(max(round(raw * pie), 0), pie))
        rest, n = pie - keep, seats - 1
        shares = [float(rest // n + (1 if i < rest % n else 0)) for i in range(n)]
        shares.insert(me, float(keep))
        text = ", ".join(f"player {i + 1} gets ${s:g}" for i, s in enumerate(shares))
        return Reply(Move(PROPOSE, tuple(shares)), text)
