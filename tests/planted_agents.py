"""A scripted ultimatum player with planted behaviour, for the analysis tests (SIMULATED: no
model). Its claim is `base + shift[condition] + persona effect + anchor * (opening - 50) +
noise`: `shift` plants a difference between conditions, `attribute_shift` ({attribute: {value:
shift}}) one between a counterfactual identity's variants, `anchor` (per condition) a response to the
other side's opening claim; the persona effect is fixed per persona (clusters), the noise comes from
the seat's seeded rng. It accepts every proposal, so a match's shares follow its claims."""
from __future__ import annotations

import hashlib
from typing import Any

from scenarios.moves import ACCEPT, PROPOSE, Move, MoveRequest, Reply


class Planted:
    def __init__(self, seat: Any, shift: dict[str, float] | None = None,
                 anchor: dict[str, float] | None = None,
                 base: float = 55.0, persona_sd: float = 3.0, noise_sd: float = 4.0,
                 attribute_shift: dict[str, dict[str, float]] | None = None) -> None:
        self.seat = seat
        self.name = "planted"
        # the persona effect belongs to the identity: its variants differ by the planted shift
        persona = (seat.persona.identity or seat.persona.persona_id) if seat.persona else "-"
        u = int.from_bytes(hashlib.sha256(persona.encode()).digest()[:4], "big") / 2 ** 32
        attrs = seat.persona.attributes if seat.persona else {}
        planted = sum(values.get(attrs.get(name, ""), 0.0)
                      for name, values in (attribute_shift or {}).items())
        self.mean = (base + (shift or {}).get(seat.condition, 0.0) + persona_sd * (2 * u - 1) * 1.7
                     + planted)
        self.anchor = (anchor or {}).get(seat.condition, 0.0)
        self.noise_sd = noise_sd

    async def act(self, request: MoveRequest) -> Reply:
        if request.role != "proposer":
            return Reply(Move(ACCEPT), "I accept.")
        theirs = [t.claim for t in request.history if t.side != request.side and t.claim is not None]
        opening = theirs[0] if theirs else 50.0
        raw = self.mean + self.anchor * (opening - 50.0) + self.seat.rng.gauss(0.0, self.noise_sd)
        claim = float(min(max(round(raw), 0), 100))
        return Reply(Move(PROPOSE, claim), f"I propose ${claim:g} for me and ${100 - claim:g} for you.")
