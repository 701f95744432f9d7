"""Moves and move requests: immutable, validated once, cheap to pass around.

They are NamedTuples, not frozen dataclasses: the engine makes four of them every turn (the
request, the negotiator's move and reply, the turn), and a frozen dataclass with a check in
`__post_init__` costs 1-2 us to make where a tuple costs a tenth (see BENCHMARKS.md, negmas).
Their constructors check what they checked as dataclasses; `_replace` stands for
`dataclasses.replace`. A game's hot path that builds them from its own constants may skip the
check with `tuple.__new__(Cls, fields)` (the built-in games do; the engine checks every move
a negotiator makes against its request anyway).
"""
from __future__ import annotations

from enum import Enum
from typing import Any, NamedTuple

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
_new = tuple.__new__


class _MoveFields(NamedTuple):
    kind: MoveKind
    offer: Any = None
    reason: str = ""
    reading: Reading | None = None


class Move(_MoveFields):
    """One player's move.

    `offer` is the game's own (its `Game.move_to_json`/`move_from_json` translate it): a number
    (ultimatum: dollars the proposer keeps; price-bargain: the price) or a tuple (item-division:
    the counts the proposer keeps; job-offer: an option per issue; majority-division: every
    seat's share). It stays hashable and JSON-encodable. `reason` explains an `invalid` move.
    `reading` says how the move was read from free text (evidence, confidence); it is not part
    of the move itself, so equality and hashing leave it out.
    """

    __slots__ = ()

    def __new__(cls, kind: MoveKind | str, offer: Any = None, reason: str = "",
                reading: Reading | None = None) -> "Move":
        if kind.__class__ is not MoveKind:
            kind = MoveKind(kind)
        if offer is None and kind in OFFER_KINDS:
            raise ValueError(f"a {kind.value} move needs an offer")
        if kind is INVALID and not reason:
            raise ValueError("an invalid move needs a reason")
        return _new(cls, (kind, offer, reason, reading))

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self[:3] == other[:3]  # type: ignore[index]

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self[:3])

    @staticmethod
    def invalid(reason: str, reading: Reading | None = None) -> "Move":
        return Move(INVALID, reason=reason, reading=reading)


class Turn(NamedTuple):
    """A public record of one turn, as both players (and the store) see it."""

    index: int
    round: int
    side: str  # "a", "b", ... (SIDES)
    role: str  # scenario role name, e.g. "proposer", "buyer"
    move: Move
    text: str
    claim: float | None = None  # what a proposal asks for the proposer, in scenario units


class _RequestFields(NamedTuple):
    scenario: str
    side: str
    role: str
    round: int
    turn_index: int
    legal: frozenset[MoveKind]
    history: tuple[Turn, ...]
    offer_on_table: Any = None
    private: dict[str, Any] = {}  # a fresh dict per request (see MoveRequest.__new__)
    rounds_total: int = 0


class MoveRequest(_RequestFields):
    """What a negotiator is asked: whose turn, which moves are legal, and what happened so far."""

    __slots__ = ()

    def __new__(cls, scenario: str, side: str, role: str, round: int, turn_index: int,
                legal: frozenset[MoveKind], history: tuple[Turn, ...],
                offer_on_table: Any = None, private: dict[str, Any] | None = None,
                rounds_total: int = 0) -> "MoveRequest":
        if side not in SIDES:
            raise ValueError(f"side must be one of {', '.join(SIDES)}, not {side!r}")
        if not legal:
            raise ValueError("a move request needs at least one legal move kind")
        return _new(cls, (scenario, side, role, round, turn_index, legal, history,
                          offer_on_table, {} if private is None else private, rounds_total))

    def validate(self, move: Move) -> str | None:
        """Return why `move` is not allowed here, or None when it is."""
        if move.kind is INVALID:
            return move.reason
        if move.kind not in self.legal:
            allowed = ", ".join(sorted(k.value for k in self.legal))
            return f"{move.kind.value} is not legal here (legal: {allowed})"
        return None


class Reply(NamedTuple):
    """A negotiator's answer: a structured move, or free text for the scenario to extract from."""

    move: Move | None = None
    text: str = ""
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    calls: int = 0
    cached: bool = False
    extracted: str | None = None  # an LLM extractor's answer, kept with the turn it produced


# -- the hot path's makers: the same values as the constructors, without their checks -----------
def made_move(kind: MoveKind, offer: Any = None) -> Move:
    """`Move(kind, offer)` for a caller whose kind is a MoveKind and whose offer kinds always
    carry an offer (a game's or scripted agent's own move): a third of the cost."""
    return _new(Move, (kind, offer, "", None))


def made_reply(move: Move, text: str) -> Reply:
    """`Reply(move, text)` without parsing keywords (a scripted agent's answer, every turn)."""
    return _new(Reply, (move, text, None, None, None, 0, False, None))
