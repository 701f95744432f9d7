"""What every game's match state offers the engine (OpenSpiel-style: rules apart from state)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from scenarios.moves import Move, MoveKind, MoveRequest, Turn


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a finished match scored, computed in code."""

    payoff_a: float
    payoff_b: float
    deal: bool  # at least one agreement was reached
    agreements: int  # agreements reached (rounds accepted in repeated games)
    share_a: float | None  # each side's payoff as a share of what was there to win
    share_b: float | None
    n_turns: int


@dataclass(frozen=True, slots=True)
class OutcomeSpace:
    """The payoffs (seat a, seat b) a two-seat game can end in, declared by the game, so the
    analysis can measure every deal against its frontier (Pareto, Nash, Kalai-Smorodinsky)
    without knowing the game. `convex`: every mixture of the points is a deal too (a divisible
    stake: a pie, a price); otherwise the points are all the deals there are (items)."""

    points: tuple[tuple[float, float], ...]
    convex: bool
    claim_scale: tuple[float, float]  # what one proposal's claim is out of, per seat
    offer: str = "offer"  # what an offer is called in this game ("price", "claim", "split")
    disagreement: tuple[float, float] = (0.0, 0.0)


class MatchState:
    """A mutable match in progress. Subclasses implement the game's rules."""

    scenario_name: str = ""

    def __init__(self) -> None:
        self.turns: list[Turn] = []

    # -- what the engine asks -------------------------------------------------------------
    @property
    def is_terminal(self) -> bool:
        raise NotImplementedError

    def request(self) -> MoveRequest:
        """The move request for whoever moves next."""
        raise NotImplementedError

    def check(self, move: Move, request: MoveRequest) -> str | None:
        """Game-specific legality beyond the move kind; a reason when illegal."""
        return request.validate(move)

    def apply(self, move: Move, text: str = "") -> Turn:
        """Apply a move (already checked, or `invalid`) and return its public record."""
        raise NotImplementedError

    def outcome(self) -> Outcome:
        raise NotImplementedError

    def outcome_space(self) -> OutcomeSpace | None:
        """The deals this game allows, as payoff pairs; None when the game has no known
        frontier (N seats, or too many deals to list)."""
        return None

    # -- helpers for agents and tests ---------------------------------------------------
    def read(self, text: str, request: MoveRequest) -> Move:
        """Turn free text into a move for `request`; `invalid` with a reason when unreadable."""
        raise NotImplementedError

    def random_move(self, rng: random.Random, request: MoveRequest) -> Move:
        """A uniformly chosen legal move (conformance tests, random baselines)."""
        raise NotImplementedError

    def describe_offer(self, offer: Any, side: str) -> str:
        """A short human text for an offer (scripted agents and transcripts)."""
        return str(offer)

    def step(self, move: Move, text: str = "") -> Turn:
        """Check `move` against the current request and apply it, recording illegal moves as invalid."""
        request = self.request()
        why = self.check(move, request)
        if why is not None:
            move = Move.invalid(why)
        return self.apply(move, text)
