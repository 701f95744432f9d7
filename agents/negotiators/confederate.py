"""The paper's Study 1 confederate: a scripted ultimatum player.

It accepts every proposal and, in its own proposing rounds, claims $50 and then $75, with the
exact lines the paper sent (taken from the scenario's prompts when it has them).
"""
from __future__ import annotations

from scenarios.moves import ACCEPT, PROPOSE, Move, MoveRequest, Reply, made_reply

_ACCEPT = Move(ACCEPT)  # immutable: one for every acceptance


class Confederate:
    def __init__(self, prompts: dict[str, str], claims: tuple[float, ...] = (50.0, 75.0),
                 pie: float = 100.0, name: str = "confederate") -> None:
        if not claims:
            raise ValueError("a confederate needs at least one claim")
        self.prompts = prompts
        self.claims = claims
        self.pie = pie
        self.name = name
        self._proposals = 0

    async def act(self, request: MoveRequest) -> Reply:
        if request.role != "proposer":
            text = self.prompts.get("confederate_accept", "As the responder, I accept your proposal.")
            return made_reply(_ACCEPT, text)
        k = self._proposals
        self._proposals += 1
        claim = self.claims[min(k, len(self.claims) - 1)]
        seat = "first" if request.side == "a" else "second"
        default = (f"As the proposer, I suggest a division of ${claim:g} for me and "
                   f"${self.pie - claim:g} for you.")
        text = default
        if self.claims[:2] == (50.0, 75.0):  # the paper's script: use its exact lines
            text = self.prompts.get(f"confederate_propose_{k + 1}_{seat}",
                                    self.prompts.get(f"confederate_propose_{k + 1}", default))
        return made_reply(Move(PROPOSE, claim), text)  # checked: a user's claims
