"""A person as a negotiator: at the terminal (`persona-arena play`) or in a browser (`serve`).

People type shorthand that an LLM never would ("90", "90/10", "yes"), so their input is read
here first and only then by the scenario's own extractor, and refused with a one-line reason
when it is ambiguous ("13000" with $100 on the table) instead of being clamped in silence.
Every move is echoed in the person's terms ("you claim $90: $90 for you, $10 for them") before
it counts. The rules are read from the scenario's spec (a pie, a price range, items), never
from the game's name, and the negotiators themselves do no I/O: input and output are injected.
"""
from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from scenarios.loader import Scenario
from scenarios.moves import SIDES, MoveKind, MoveRequest, Reply, Turn
from scenarios.moves import ACCEPT, COUNTER, PROPOSE, REJECT, WALK_AWAY, Move

MAX_INPUT = 1000  # characters: a person's move is a sentence or two, never a document
_NUMBER = r"[-+]?\d+(?:[.,]\d+)?"
_BARE = re.compile(rf"^\$?\s*({_NUMBER})\s*(?:\$|dollars?|points?)?\s*$", re.I)
_SPLIT = re.compile(rf"^\$?\s*({_NUMBER})\s*\$?\s*(?:/|:|-|–|to)\s*\$?\s*({_NUMBER})\s*\$?$",
                    re.I)
_COUNTS = re.compile(r"^\s*(\d+)(?:\s*[,;/ ]\s*(\d+))+\s*$")
_ANY_NUMBER = re.compile(r"(?<![\w.])(-?\d[\d,]*(?:\.\d+)?)")
_YES = frozenset({"y", "yes", "ok", "okay", "deal", "accept", "accepted", "agree", "sure"})
_NO = frozenset({"n", "no", "nope", "reject", "rejected", "decline", "refuse"})
_WALK = frozenset({"walk", "walk away", "leave", "quit", "no deal"})

def money(scenario: Scenario, value: float) -> str:
    units = scenario.spec.units
    if units in ("dollars", "dollar", "$", "USD"):
        return f"${value:,.0f}" if value == int(value) else f"${value:,.2f}"
    return f"{value:g} {units}"


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "") if text.count(",") and "." not in text
                     else text.replace(",", "."))
    except ValueError:
        return None


def hint(scenario: Scenario, request: MoveRequest) -> str:
    """What to type here, for the person's screen."""
    found = scenario.rules.hint(request.role)  # the game's examples, per role
    if found:
        return found
    kinds = sorted(k.value.replace("_", " ") for k in request.legal)
    return "one of: " + ", ".join(kinds)


def _offer_range(scenario: Scenario) -> tuple[float, float] | None:
    """The numbers a one-number offer may take (a claim of the pie, or a price), as the game
    says; None when its offers are no single number."""
    return scenario.rules.offer_range()


def read_input(scenario: Scenario, text: str, request: MoveRequest) -> Move:
    """A person's text as a move for `request`, checked against the rules; `invalid` with a
    one-line reason when it cannot be used or could mean two things."""
    text = text.strip()
    if not text:
        return Move.invalid("nothing was typed")
    if len(text) > MAX_INPUT:
        return Move.invalid(f"the text is {len(text):,} characters long; keep it under "
                            f"{MAX_INPUT:,}")
    move = _read_shorthand(scenario, text, request)
    if move is None:
        too_big = _out_of_range(scenario, text, request)
        if too_big is not None:
            return Move.invalid(too_big)
        move = _state_for(scenario, request).read(text, request)
    if move.kind is MoveKind.INVALID:
        return move
    why = _state_for(scenario, request).check(move, request)  # the rules' ranges; the request's legality
    return Move.invalid(why) if why is not None else move


def _offer_kind(request: MoveRequest) -> MoveKind | None:
    if PROPOSE in request.legal:
        return PROPOSE
    if COUNTER in request.legal:
        return COUNTER
    return None


def _read_shorthand(scenario: Scenario, text: str, request: MoveRequest) -> Move | None:
    """Bare numbers, splits, item counts and one-word answers; None when the text is prose."""
    lowered = text.lower().strip(" .!")
    if lowered in _WALK and WALK_AWAY in request.legal:
        return Move(WALK_AWAY)
    if lowered in _YES and ACCEPT in request.legal:
        return Move(ACCEPT)
    if lowered in _NO:
        if REJECT in request.legal:
            return Move(REJECT)
        if WALK_AWAY in request.legal:
            return Move.invalid("\"no\" is not a move here: make a counter-offer, accept, or "
                                "walk away")
    kind = _offer_kind(request)
    spec = scenario.spec
    bounds = _offer_range(scenario)
    bare = _BARE.match(text)
    if bare and bounds is not None:
        value = _number(bare.group(1))
        if value is None:
            return None
        if kind is None:
            return Move.invalid(f"a number is an offer, but you cannot make one now; legal: "
                                + ", ".join(sorted(k.value for k in request.legal)))
        low, high = bounds
        if not low <= value <= high:
            return Move.invalid(_range_reason(scenario, value, bounds))
        return Move(kind, value)
    several = _SPLIT.match(text) or _COUNTS.match(text)
    if several and hasattr(spec, "price_min") and kind is not None:
        return Move.invalid(f"\"{text}\" names several numbers; give one price")
    split = _SPLIT.match(text)
    if split and _claims_a_pie(scenario) and kind is not None:
        mine, theirs = _number(split.group(1)), _number(split.group(2))
        if mine is None or theirs is None:
            return None
        pie = float(spec.pie)  # type: ignore[attr-defined]
        total = mine + theirs
        if mine < 0 or theirs < 0:
            return Move.invalid(f"{split.group(0)} has a negative share")
        if abs(total - pie) < 1e-9:
            return Move(kind, mine)
        if abs(total - 100.0) < 1e-9:  # percentages of a pie other than 100
            return Move(kind, pie * mine / 100.0)
        return Move.invalid(f"{mine:g}/{theirs:g} adds up to {total:g}, but "
                            f"{money(scenario, pie)} is to be split")
    counts = _COUNTS.match(text)
    if counts and hasattr(spec, "items") and kind is not None:
        numbers = [int(n) for n in re.findall(r"\d+", text)]
        items = spec.items  # type: ignore[attr-defined]
        if len(numbers) != len(items):
            return Move.invalid(f"give one count for each of the {len(items)} item types "
                                f"({', '.join(i.name for i in items)}), got {len(numbers)}")
        for n, item in zip(numbers, items):
            if n > item.count:
                return Move.invalid(f"{n} {item.name}, but there are only {item.count}")
        return Move(kind, tuple(numbers))
    return None


def _claims_a_pie(scenario: Scenario) -> bool:
    """An offer is the proposer's claim of a pie split between two (the paper's game family):
    only then is "90/10" a split and "$90" a claim with the rest for the other."""
    return scenario.rules.family == "ultimatum" and hasattr(scenario.spec, "pie")


def _state_for(scenario: Scenario, request: MoveRequest) -> Any:
    """A fresh state with the seats of `request`'s match, for its rules (read, check)."""
    return scenario.new_state(scenario.rules.seats_of(request))


def _out_of_range(scenario: Scenario, text: str, request: MoveRequest) -> str | None:
    """A number in prose larger than the pie (or a price outside the range) when an offer is
    due: an extractor would clamp or skip it, so say it could not be used."""
    bounds = _offer_range(scenario)
    if bounds is None or _offer_kind(request) is None:
        return None
    for found in _ANY_NUMBER.finditer(text):
        value = _number(found.group(1))
        if value is not None and (value > bounds[1] or value < 0):
            return _range_reason(scenario, value, bounds)
    return None


def _range_reason(scenario: Scenario, value: float, bounds: tuple[float, float]) -> str:
    low, high = bounds
    pie = _claims_a_pie(scenario)
    price = hasattr(scenario.spec, "price_min")
    top = "the whole pie" if pie else "the highest price" if price else "the most there is"
    where = (f"above {money(scenario, high)}, {top}" if value > high
             else f"below {money(scenario, low)}")
    what = "claim" if pie else "price" if price else "number"
    return (f"{value:g} is {where}: give a {what} from "
            f"{money(scenario, low)} to {money(scenario, high)}")


def describe_move(scenario: Scenario, move: Move, request: MoveRequest) -> str:
    """The move in the person's own terms, for the echo ("you claim $90: $90 for you, $10 for
    them"). It starts with "you" and has no final full stop."""
    spec = scenario.spec
    kind = move.kind
    table = request.offer_on_table
    if kind in (PROPOSE, COUNTER) and move.offer is not None:
        verb = "propose" if kind is PROPOSE else "counter with"
        if _claims_a_pie(scenario):
            mine = float(move.offer)  # type: ignore[arg-type]
            rest = float(spec.pie) - mine  # type: ignore[attr-defined]
            return (f"you claim {money(scenario, mine)}: {money(scenario, mine)} for you, "
                    f"{money(scenario, rest)} for them")
        if hasattr(spec, "price_min"):
            return f"you {verb} a price of {money(scenario, float(move.offer))}"  # type: ignore[arg-type]
        if hasattr(spec, "items"):
            kept = tuple(move.offer)  # type: ignore[arg-type]
            items = spec.items  # type: ignore[attr-defined]
            mine = ", ".join(f"{n} {i.name}" for n, i in zip(kept, items))
            theirs = ", ".join(f"{i.count - n} {i.name}" for n, i in zip(kept, items))
            return f"you {verb}: you keep {mine}; they get {theirs}"
        words = scenario.rules.offer_terms(move.offer)
        if words is None:
            words = _state_for(scenario, request).describe_offer(move.offer, request.side)
        return f"you {verb}: {words}" + _for_you(scenario, move.offer, request.side,
                                                 request.side, request)
    if kind is ACCEPT:
        return "you accept " + _their_offer(scenario, table, request)
    if kind is REJECT:
        extra = " (neither of you gets anything this round)" if _claims_a_pie(scenario) else ""
        return "you reject " + _their_offer(scenario, table, request) + extra
    if kind is WALK_AWAY:
        return "you walk away (no deal)"
    if kind is MoveKind.INVALID:
        return f"could not use that: {move.reason}"
    return f"you {kind.value.replace('_', ' ')}"


def _for_you(scenario: Scenario, offer: Any, side: str, by: str,
             request: MoveRequest) -> str:
    """", $30 for you" in a game of more than two seats, where an offer's terms name every
    player and the person should not have to find their own; "" in two seats or where the
    game cannot value an offer."""
    if scenario.rules.seats_of(request) <= 2:
        return ""
    try:
        value = scenario.rules.offer_value(offer, side, by, request)
    except (NotImplementedError, LookupError, TypeError, ValueError):
        return ""
    return f" ({money(scenario, float(value))} for you, player {SIDES.index(side) + 1})"


def _their_offer(scenario: Scenario, offer: Any, request: MoveRequest | None = None) -> str:
    """The offer on the table, seen from the person who answers it."""
    spec = scenario.spec
    if offer is None:
        return "their proposal"
    if request is not None and scenario.rules.seats_of(request) > 2:
        by = next((t.side for t in reversed(request.history) if t.move.offer is not None
                   and t.move.kind in (PROPOSE, COUNTER)), None)
        who = f"player {SIDES.index(by) + 1}'s" if by is not None else "the"
        words = scenario.rules.offer_terms(offer)
        if words is None:
            words = _state_for(scenario, request).describe_offer(offer, by or request.side)
        return (f"{who} proposal: {words}" +
                _for_you(scenario, offer, request.side, by or request.side, request))
    if _claims_a_pie(scenario):
        theirs = float(offer)
        mine = float(spec.pie) - theirs  # type: ignore[attr-defined]
        return (f"their proposal: {money(scenario, mine)} for you, "
                f"{money(scenario, theirs)} for them")
    if hasattr(spec, "price_min"):
        return f"their price of {money(scenario, float(offer))}"
    if hasattr(spec, "items"):
        items = spec.items  # type: ignore[attr-defined]
        mine = ", ".join(f"{i.count - n} {i.name}" for n, i in zip(offer, items))
        return f"their split: you get {mine}"
    words = scenario.rules.offer_terms(offer)
    return f"their offer ({words})" if words is not None else f"their offer {offer}"


def legal_words(request: MoveRequest) -> str:
    """What the person may do now, in words."""
    words = {PROPOSE: "propose", COUNTER: "counter-offer", ACCEPT: "accept", REJECT: "reject",
             WALK_AWAY: "walk away", MoveKind.MESSAGE: "talk"}
    kinds = sorted(request.legal, key=lambda k: list(words).index(k) if k in words else 99)
    return " / ".join(words.get(k, k.value) for k in kinds)


def speaker(side: str, seats: int) -> str:
    """Who spoke, as a person reads it: "Opponent" in two seats, else "Player 3"."""
    return "Opponent" if seats <= 2 else f"Player {SIDES.index(side) + 1}"


def opponent_lines(turns: Iterable[Turn], side: str, seats: int = 2) -> list[str]:
    return [f"{speaker(t.side, seats)} ({t.role}, round {t.round}): {t.text}" for t in turns
            if t.side != side]


class HumanNegotiator:
    """A person at the terminal. Text that cannot be used is asked again with its reason, so a
    typo never costs a round; every move is echoed as read before it is played."""

    def __init__(self, scenario: Scenario, side: str, ask: Callable[[str], str],
                 show: Callable[[str], None], name: str = "human") -> None:
        self.scenario = scenario
        self.side = side
        self.ask = ask
        self.show = show
        self.name = name
        self.seen = 0

    async def act(self, request: MoveRequest) -> Reply:
        seats = self.scenario.rules.seats_of(request)
        for line in opponent_lines(request.history[self.seen:], self.side, seats):
            self.show(line)
        self.seen = len(request.history)
        label = f"[round {request.round}, you are the {request.role}: {legal_words(request)}] > "
        while True:
            text = self.ask(label).strip()  # EOFError ends the match (the engine records it)
            if not text:
                continue
            move = read_input(self.scenario, text, request)
            if move.kind is not MoveKind.INVALID:
                self.show(f"Read as: {describe_move(self.scenario, move, request)}.")
                return Reply(move=move, text=text)
            self.show(f"Could not use that: {move.reason}. Try again "
                      f"({hint(self.scenario, request)}).")


class WebHuman:
    """A person in a browser: the match task waits in `act` until the web page hands in a text.

    Texts already stored (a match resumed after a restart) are replayed first, so the match
    comes back to where the person left it."""

    def __init__(self, scenario: Scenario, side: str, replay: Iterable[str] = (),
                 name: str = "human") -> None:
        self.scenario = scenario
        self.side = side
        self.name = name
        self.replay: deque[str] = deque(replay)
        self.request: MoveRequest | None = None  # what the person is asked now, if anything
        self.history: tuple[Turn, ...] = ()
        self.changed = asyncio.Event()  # set when the person is asked, or the match ends
        self._answer: asyncio.Future[str] | None = None

    async def act(self, request: MoveRequest) -> Reply:
        self.history = request.history
        if self.replay:
            text = self.replay.popleft()
            return Reply(move=read_input(self.scenario, text, request), text=text)
        self._answer = asyncio.get_running_loop().create_future()
        self.request = request
        self.changed.set()
        try:
            text = await self._answer
        finally:
            self.request = None
            self._answer = None
        return Reply(move=read_input(self.scenario, text, request), text=text)

    def answer(self, text: str) -> None:
        """Hand in the person's (already checked) text for the current request."""
        if self._answer is None or self._answer.done():
            raise RuntimeError("no move is being asked for")
        self.changed.clear()
        self._answer.set_result(text)
