"""What every game's match state offers the engine (OpenSpiel-style: rules apart from state)."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from scenarios.moves import SIDES, Move, MoveKind, MoveRequest, Turn

EMPTY_REPLY = "empty reply"  # the reason of a turn whose reply had neither a move nor text


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a finished match scored, computed in code: one payoff and share per seat, in seat
    order (a, b, c, ...). Two-seat readers keep `payoff_a`/`payoff_b`/`share_a`/`share_b`."""

    payoffs: tuple[float, ...]
    deal: bool  # at least one agreement was reached
    agreements: int  # agreements reached (rounds accepted in repeated games)
    shares: tuple[float | None, ...]  # each seat's payoff as a share of what was there to win
    n_turns: int

    @staticmethod
    def pair(payoff_a: float, payoff_b: float, deal: bool, agreements: int,
             share_a: float | None, share_b: float | None, n_turns: int) -> "Outcome":
        """A two-seat outcome (the built-in two-player games)."""
        return Outcome((payoff_a, payoff_b), deal, agreements, (share_a, share_b), n_turns)

    @property
    def payoff_a(self) -> float:
        return self.payoffs[0]

    @property
    def payoff_b(self) -> float:
        return self.payoffs[1]

    @property
    def share_a(self) -> float | None:
        return self.shares[0]

    @property
    def share_b(self) -> float | None:
        return self.shares[1]

    def by_side(self) -> dict[str, tuple[float, float | None]]:
        """Payoff and share per side letter."""
        return {SIDES[i]: (p, s) for i, (p, s) in enumerate(zip(self.payoffs, self.shares))}


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
    """A mutable match in progress. Subclasses implement the game's rules.

    A state is made by its game (`Game.new_state`) and keeps a reference to it in `game`, so
    that an agent holding only a state (or a request's scenario) can ask the rules.
    """

    scenario_name: str = ""
    game: Any = None  # the Game that made this state (set by Game.new_state)

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
        """A short human text for an offer (scripted agents and transcripts); the game's own
        free-text reader must read it back (the conformance check tries)."""
        return str(offer)

    def step(self, move: Move | None, text: str = "",
             request: MoveRequest | None = None) -> Turn:
        """Play one turn by the rules, the one place the engine's match loop goes through: a
        reply without a move is read from its free `text` (an empty one is invalid), the move
        is checked against `request` (the current request, asked for when not given) and an
        illegal move is recorded as invalid with its reason."""
        if request is None:
            request = self.request()
        if move is None:
            move = self.read(text, request) if text.strip() else Move.invalid(EMPTY_REPLY)
        why = self.check(move, request)
        if why is not None:  # the reading stays with the turn: how the text was read, and why
            move = Move.invalid(why, reading=move.reading)
        turn = self.apply(move, text)
        if move.reading is not None and turn.move.reading is None:  # a game's apply may
            # normalise the move; the returned turn keeps how its text was read (for the store)
            turn = turn._replace(move=turn.move._replace(reading=move.reading))
        return turn


__all__ = ["EMPTY_REPLY", "MatchState", "Outcome", "MoveKind"]
