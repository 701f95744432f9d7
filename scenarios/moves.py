"""Moves and move requests: frozen, validated once, cheap to pass around."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from scenarios.reading.confidence import Reading


class MoveKind(str, Enum):
    """The kinds of turn the store knows (DESIGN.md `turns.move_kind`)."""

    PROPOSE = "propose"
    ACCEPT = "accept"
    REJECT = "reject"
    COUNTER = "counter"
    WALK_AWAY = "walk_away"
    MESSAGE = "message"
    INVALID = "invalid"


# Plain module names for the kinds: under Python 3.11 every `MoveKind.X` lookup goes through the
# Enum metaclass (~0.3 us), and the engine's per-turn paths would pay that several times a turn.
PROPOSE, ACCEPT, REJECT = MoveKind.PROPOSE, MoveKind.ACCEPT, MoveKind.REJECT
COUNTER, WALK_AWAY, MESSAGE, INVALID = (MoveKind.COUNTER, MoveKind.WALK_AWAY, MoveKind.MESSAGE,
                                        MoveKind.INVALID)
OFFER_KINDS = frozenset({PROPOSE, COUNTER})
SIDES = ("a", "b", "c", "d", "e", "f", "g", "h")  # seat letters in seat order; a moves first
MAX_SEATS = len(SIDES)


@dataclass(frozen=True, slots=True)
class Move:
    """One player's move.

    `offer` is the game's own (its `Game.move_to_json`/`move_from_json` translate it): a number
    (ultimatum: dollars the proposer keeps; price-bargain: the price) or a tuple (item-division:
    the counts the proposer keeps; job-offer: an option per issue; majority-division: every
    seat's share). It stays hashable and JSON-encodable. `reason` explains an `invalid` move.
    """

    kind: MoveKind
    offer: Any = None
    reason: str = ""
    # how the move was read from free text (evidence, confidence); not part of the move itself
    reading: Reading | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, MoveKind):
            object.__setattr__(self, "kind", MoveKind(self.kind))
        if self.kind in OFFER_KINDS and self.offer is None:
            raise ValueError(f"a {self.kind.value} move needs an offer")
        if self.kind is INVALID and not self.reason:
            raise ValueError("an invalid move needs a reason")

    @staticmethod
    def invalid(reason: str, reading: Reading | None = None) -> "Move":
        return Move(INVALID, reason=reason, reading=reading)


@dataclass(frozen=True, slots=True)
class Turn:
    """A public record of one turn, as both players (and the store) see it."""

    index: int
    round: int
    side: str  # "a", "b", ... (SIDES)
    role: str  # scenario role name, e.g. "proposer", "buyer"
    move: Move
    text: str
    claim: float | None = None  # what a proposal asks for the proposer, in scenario units


@dataclass(frozen=True, slots=True)
class MoveRequest:
    """What a negotiator is asked: whose turn, which moves are legal, and what happened so far."""

    scenario: str
    side: str
    role: str
    round: int
    turn_index: int
    legal: frozenset[MoveKind]
    history: tuple[Turn, ...]
    offer_on_table: Any = None
    private: dict[str, Any] = field(default_factory=dict)
    rounds_total: int = 0

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ValueError(f"side must be one of {', '.join(SIDES)}, not {self.side!r}")
        if not self.legal:
            raise ValueError("a move request needs at least one legal move kind")

    def validate(self, move: Move) -> str | None:
        """Return why `move` is not allowed here, or None when it is."""
        if move.kind is INVALID:
            return move.reason
        if move.kind not in self.legal:
            allowed = ", ".join(sorted(k.value for k in self.legal))
            return f"{move.kind.value} is not legal here (legal: {allowed})"
        return None


@dataclass(frozen=True, slots=True)
class Reply:
    """A negotiator's answer: a structured move, or free text for the scenario to extract from."""

    move: Move | None = None
    text: str = ""
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    calls: int = 0
    cached: bool = False
    extracted: str | None = None  # an LLM extractor's answer, kept with the turn it produced
