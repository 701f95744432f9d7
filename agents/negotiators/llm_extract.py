"""Reading a move from an LLM's free text with another LLM call: the extractor.

Two ways, chosen by the scenario. A game of the paper's family whose scenario has the paper's
two extraction prompts (`extract_claim`, `extract_acceptance`) gets them word for word and a
number back (a claim, or 1/0 for a response), as in the paper. Every other game (a price, item
counts, every player's share, one option per issue, a plugin's offer) is asked through its own
interface: the extractor is told the legal moves, the offer on the table, the game's JSON move
instruction and schema, and answers with a JSON move that the game parses (`move_from_json`)
and its rules check, so a move it invents is refused like any illegal move. Nothing here
depends on a game's name. JSON moves of the players' JSON protocol are parsed here too.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from agents.models.access import ModelAccess
from agents.models.messages import ChatMessage, Completion
from agents.prompts import fill
from scenarios.loader import Scenario
from scenarios.reading.confidence import Reading, hint
from scenarios.moves import OFFER_KINDS, PROPOSE, SIDES, Move, MoveKind, MoveRequest

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_AMOUNT = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d])|(?<![\d.])\d+(?:\.\d+)?")
NO_MOVE = "none"  # what the game-generic extractor answers for a text that makes no move
PAPER_KEYS = ("extract_claim", "extract_acceptance")
GENERIC_SYSTEM = (
    "You read one turn of a negotiation and write down the move it makes, as JSON.\n"
    "The negotiation: {description}\n"
    "The speaker is the {role} (player {player} of {seats}). The moves the speaker may make "
    "now: {legal}.{table}\n"
    "The players answer in this form: {hint}\n"
    "The JSON schema of a move: {schema}\n"
    "Write down only what the text itself says, with the amounts it names. If the text makes "
    'none of these moves, answer {{"move": "' + NO_MOVE + '"}}. Answer with the JSON object '
    "only.")

Prompt = Callable[[str], "str | None"]  # a prompt key -> the seat's text of it, or None


class JsonMove(BaseModel):
    """A move in the JSON protocol; the amount may be called claim, price, offer or keep."""

    model_config = ConfigDict(extra="allow")

    move: str
    claim: float | None = None
    price: float | None = None
    offer: Any = None  # the game's own (Game.offer_from_json): a number, counts, options ...
    keep: list[int] | None = None
    message: str = ""

    def amount(self) -> float | list[int] | None:
        for value in (self.claim, self.price, self.offer, self.keep):
            if value is not None:
                return value
        return None


def parse_json_move(text: str) -> JsonMove | str:
    """The JSON move in a reply (bare, fenced, or inside prose), or why there is none."""
    stripped = text.strip()
    candidates = [stripped]
    fenced = _FENCE.search(stripped)
    if fenced:
        candidates.append(fenced.group(1).strip())
    start, end = stripped.find("{"), stripped.rfind("}")
    if 0 <= start < end:
        candidates.append(stripped[start:end + 1])
    error = "no JSON object found"
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError as problem:
            error = f"not valid JSON ({problem.msg} at character {problem.pos})"
            continue
        if not isinstance(data, dict):
            error = "the JSON is not an object"
            continue
        try:
            return JsonMove.model_validate(data)
        except ValidationError as problem:
            first = problem.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            return f'field "{where}": {first["msg"].lower()}'
    return error if stripped else "the answer was empty"


def in_text(claim: float, text: str, pie: float | None) -> bool:
    """Whether an extracted amount is a number of the reply, or the pie minus one (a reply that
    states only what the other side gets), or that share of the pie given as a percentage."""
    numbers = {float(n.replace(",", "")) for n in _AMOUNT.findall(text)}
    if any(abs(claim - n) < 1e-6 for n in numbers):
        return True
    if pie is None:
        return False
    return any(abs(claim - (pie - n)) < 1e-6 or abs(claim - pie * n / 100.0) < 1e-6
               or abs(claim - (pie - pie * n / 100.0)) < 1e-6 for n in numbers)


def uses_paper_prompts(scenario: Scenario, prompt: Prompt) -> bool:
    """The paper's two prompts apply: a game of its family whose scenario has both."""
    return scenario.rules.family == "ultimatum" and all(prompt(k) for k in PAPER_KEYS)


def read_json_move(scenario: Scenario, data: dict[str, Any], request: MoveRequest
                   ) -> tuple[Move | None, str]:
    """A JSON object as a move the game's rules allow for `request`, or (None, why not)."""
    try:
        move = scenario.rules.move_from_json(data)
    except ValueError as problem:
        return None, str(problem)
    if isinstance(move, str):
        return None, move
    why = scenario.new_state(scenario.rules.seats_of(request)).check(move, request)
    return (None, why) if why is not None else (move, "")


async def extract(access: ModelAccess, scenario: Scenario, request: MoveRequest, text: str,
                  prompt: Prompt, unsure: Reading | None = None
                  ) -> tuple[Move, Completion | None]:
    """The move in `text`, read by the extractor model; (move, its completion). `prompt` looks
    up the seat's prompt texts (seat, condition and style variants); in hybrid mode `unsure` is
    what the offline reader was unsure of, sent along with the paper's prompts."""
    user = prompt("extract_user") or "Dialogue:\n{text}"
    if uses_paper_prompts(scenario, prompt):
        return await _paper(access, scenario, request, text, prompt, user, unsure)
    return await _generic(access, scenario, request, text, user)


async def _paper(access: ModelAccess, scenario: Scenario, request: MoveRequest, text: str,
                 prompt: Prompt, user: str, unsure: Reading | None
                 ) -> tuple[Move, Completion | None]:
    """The paper's LLM extraction: a number for a proposal, 1/0 for a response; in hybrid mode
    a third message carries what the offline reader was `unsure` of (its evidence, best guess
    and reason), so the model settles that question rather than starting over."""
    proposing = request.role == "proposer"
    system = prompt("extract_claim" if proposing else "extract_acceptance")
    assert system is not None
    messages = [ChatMessage("system", system),
                ChatMessage("user", fill(user, "extract_user", {"text": text}))]
    if unsure is not None:
        messages.append(ChatMessage("user", hint(unsure, proposing)))
    completion = await access.complete(messages, sample="extract", temperature=0.0)
    if completion.delivery is not None:
        return Move.invalid(f"delivery failure (extractor): {completion.delivery}"), completion
    found = _NUMBER.search(completion.text)
    if proposing:
        if found is None:
            return Move.invalid(f"the LLM extractor found no claim "
                                f"(answered {completion.text.strip()[:40]!r})"), completion
        claim = float(found.group())
        if not in_text(claim, text, getattr(scenario.spec, "pie", None)):
            return Move.invalid(f"the LLM extractor's claim {found.group()} is not in the "
                                "reply, nor derivable from it"), completion
        return Move(MoveKind.PROPOSE, claim), completion
    if found is not None and found.group() in ("0", "1"):
        return Move(MoveKind.ACCEPT if found.group() == "1" else MoveKind.REJECT), completion
    return Move.invalid(f"the LLM extractor read neither acceptance nor rejection "
                        f"(answered {completion.text.strip()[:40]!r})"), completion


def generic_system(scenario: Scenario, request: MoveRequest) -> str:
    """The game-generic extraction prompt for `request`, from the game's own interface."""
    rules = scenario.rules
    seats = rules.seats_of(request)
    legal = ", ".join(f'"{k}"' for k in rules.moves if MoveKind(k) in request.legal) or \
        ", ".join(sorted(f'"{k.value}"' for k in request.legal))
    table = ""
    if request.offer_on_table is not None:
        offer = rules.move_to_json(Move(PROPOSE, request.offer_on_table)).get("offer")
        by = next((t.side for t in reversed(request.history) if t.move.kind in OFFER_KINDS),
                  None)
        terms = rules.offer_terms(request.offer_on_table)
        who = f" by player {SIDES.index(by) + 1}" if by is not None else ""
        table = (f"\nThe offer on the table{who}, as JSON: {json.dumps(offer)}"
                 + (f" ({terms})" if terms else "") + ".")
    return GENERIC_SYSTEM.format(
        description=scenario.spec.description.strip() or scenario.name, role=request.role,
        player=SIDES.index(request.side) + 1, seats=seats, legal=legal, table=table,
        hint=rules.json_hint(), schema=json.dumps(rules.json_schema(), sort_keys=True))


async def _generic(access: ModelAccess, scenario: Scenario, request: MoveRequest, text: str,
                   user: str) -> tuple[Move, Completion | None]:
    """Any game: the extractor answers with a JSON move that the game parses and checks."""
    messages = [ChatMessage("system", generic_system(scenario, request)),
                ChatMessage("user", fill(user, "extract_user", {"text": text}))]
    completion = await access.complete(messages, sample="extract", temperature=0.0,
                                       json_mode=True)
    if completion.delivery is not None:
        return Move.invalid(f"delivery failure (extractor): {completion.delivery}"), completion
    answered = completion.text.strip()[:60]
    parsed = parse_json_move(completion.text)
    if isinstance(parsed, str):
        return Move.invalid(f"the LLM extractor's answer is no JSON move ({parsed}; answered "
                            f"{answered!r})"), completion
    if parsed.move.strip().lower() == NO_MOVE:
        return Move.invalid("the LLM extractor found no move in the reply"), completion
    data = parsed.model_dump(exclude_none=True)
    data["move"] = parsed.move.strip().lower()
    move, why = read_json_move(scenario, data, request)
    if move is None:
        return Move.invalid(f"the LLM extractor's move is not usable: {why}"), completion
    if isinstance(move.offer, float) and scenario.rules.offer_range() is not None and \
            not in_text(move.offer, text, getattr(scenario.spec, "pie", None)):
        return Move.invalid(f"the LLM extractor's amount {move.offer:g} is not in the reply, "
                            "nor derivable from it"), completion
    return move, completion
