"""The negotiator interface: told what happened, asked for its next move.

Persona, model and per-match randomness go in a negotiator's constructor; the interface is only
`act`. A negotiator is built fresh for each match by the arena, so it may keep state.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from scenarios.moves import MoveRequest, Reply


@runtime_checkable
class Negotiator(Protocol):
    name: str

    async def act(self, request: MoveRequest) -> Reply:
        """Return the next move (or free text the scenario will read a move from)."""
        ...
