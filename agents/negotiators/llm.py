"""The LLM negotiator: one model, one persona, its own message history, the paper's layout.

History: the system prompt, the first user message (persona image(s) or description, then the
rules), then the model's own replies as assistant messages and the other side's texts as user
messages, with the scenario's round marker (`===round{n}===`) added as a user message where the
paper added it: to the proposer before it proposes (Study 2), or to the player at the start of
every round (Study 1; `round_marker_to = "all"`).

Moves come back as free text (read by the scenario's extractor in the engine, by an LLM
extractor with the paper's two prompts, or hybrid: offline first and the LLM only where the
offline reading is unsure) or as JSON checked by pydantic, with a bounded number
of repair requests. A model that cannot answer at all raises, and the engine fails the match.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agents.personas.images import EncodedImage
from agents.models.access import CUT, ModelAccess
from agents.models.messages import ChatMessage, Completion
from agents.negotiators.llm_extract import (JsonMove, extract, parse_json_move,  # noqa: F401
                                          read_json_move)
from agents.personas.persona import Persona
from agents.prompts import fill, first_message, json_hints, lookup, seat_of
from scenarios.loader import Scenario
from scenarios.moves import SIDES, Move, MoveKind, MoveRequest, Reply
from scenarios.reading.confidence import Reading
from scenarios.state import EMPTY_REPLY  # a turn whose reply had no text (as the engine's)

# the reason of a turn whose reply ignored max_tokens and was cut (stored cut, never whole)
CUT_REPLY = "reply cut: far longer than max_tokens allows"

REPAIR = "Your answer was not valid: {reason}. Answer again with the JSON object only."


def _call_seed(match_seed: int, side: str, index: int) -> int:
    """A 31-bit API seed per call (sent only with send_seed = true); stable across platforms."""
    digest = hashlib.blake2b(f"{match_seed}:{side}:{index}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


@dataclass
class _Tally:
    """Calls, tokens and time of one turn (one or more model calls)."""

    calls: int = 0  # requests that reached the model (not the cache)
    replies: int = 0  # completions used, cached or not
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: float = 0.0
    has_usage: bool = False
    delivery: str | None = None  # the first delivery failure among the turn's calls
    cut: bool = False  # a reply was far beyond max_tokens and was cut (see access.CUT)
    extracted: str | None = None  # the LLM extractor's answer

    def add(self, completion: Completion) -> None:
        if completion.delivery is not None and self.delivery is None:
            self.delivery = completion.delivery
        self.cut = self.cut or completion.finish_reason == CUT
        self.replies += 1
        self.calls += 0 if completion.cached else 1
        self.latency_ms += completion.latency_ms
        if completion.prompt_tokens is not None or completion.completion_tokens is not None:
            self.has_usage = True
            self.prompt_tokens += completion.prompt_tokens or 0
            self.completion_tokens += completion.completion_tokens or 0

    def reply(self, move: Move | None, text: str) -> Reply:
        return Reply(move=move, text=text, latency_ms=self.latency_ms,
                     prompt_tokens=self.prompt_tokens if self.has_usage else None,
                     completion_tokens=self.completion_tokens if self.has_usage else None,
                     calls=self.calls, cached=self.replies > 0 and self.calls == 0,
                     extracted=self.extracted)


class LLMNegotiator:
    """A persona-conditioned negotiator backed by one model endpoint."""

    def __init__(self, access: ModelAccess, scenario: Scenario, condition: str, side: str,
                 persona: Persona | None, opponent: Persona | None,
                 own_image: EncodedImage | None, opponent_image: EncodedImage | None,
                 match_seed: int, protocol: Literal["free-text", "json"] = "free-text",
                 repairs: int = 2, extractor: ModelAccess | None = None,
                 name: str = "llm", hybrid: bool = False, style: str | None = None,
                 more: Sequence[tuple[Persona | None, EncodedImage | None, int]] = (),
                 seats: int = 2) -> None:
        self.access = access
        self.scenario = scenario
        self.prompts = scenario.prompts
        self.condition = condition
        self.style = style  # the prompts' fallback style (agents.conditions)
        self.side = side
        self.seat = seat_of(side)
        self.persona = persona
        self.opponent = opponent
        self.own_image = own_image
        self.opponent_image = opponent_image
        self.match_seed = match_seed
        self.protocol = protocol
        self.repairs = repairs
        self.extractor = extractor
        self.hybrid = hybrid  # with an extractor: read offline first, ask it only when unsure
        self.more = tuple(more)  # games of more than two seats: the further opponents
        self.seats = seats  # more than two: others' messages say which player spoke
        self.name = name
        self.history: list[ChatMessage] = []
        self._seen = 0  # turns of request.history already taken into the history
        self._marked = 0  # the last round whose marker is in the history
        self._calls = 0
        self._marker = self._prompt("round_marker")
        self._marker_to = self._prompt("round_marker_to") or "proposer"

    def _prompt(self, key: str) -> str | None:
        return lookup(self.prompts, key, self.seat, self.condition, self.style)

    # -- the history ------------------------------------------------------------------------
    def _start(self, request: MoveRequest) -> None:
        system = self._prompt("system")
        if system:
            self.history.append(ChatMessage("system", system))
        appendix = json_hints(self.prompts, self.scenario.rules, self.side, self.condition,
                              request, self.style) if self.protocol == "json" else ""
        parts = first_message(self.prompts, self.side, self.condition, request, self.persona,
                              self.opponent, self.own_image, self.opponent_image, appendix,
                              rules=self.scenario.rules, style=self.style, more=self.more)
        self.history.append(ChatMessage("user", parts))

    def _mark(self, round_: int) -> None:
        if self._marker and round_ > self._marked:
            self.history.append(ChatMessage("user", fill(self._marker, "round_marker",
                                                         {"round": round_})))
            self._marked = round_

    def _catch_up(self, request: MoveRequest) -> None:
        """Add what the other side said since our last turn (and the round markers due)."""
        every_round = self._marker_to == "all"
        for turn in request.history[self._seen:]:
            if turn.side == self.side:
                continue
            if every_round:
                for round_ in range(self._marked + 1, turn.round + 1):
                    self._mark(round_)
            if turn.text:
                said = (turn.text if self.seats == 2 else
                        f"Player {SIDES.index(turn.side) + 1}: {turn.text}")
                self.history.append(ChatMessage("user", said))
        self._seen = len(request.history)
        if every_round:
            for round_ in range(self._marked + 1, request.round + 1):
                self._mark(round_)
        elif request.role == "proposer" or MoveKind.PROPOSE in request.legal:
            self._mark(request.round)

    async def _ask(self, tally: _Tally, json_mode: bool = False) -> str:
        index = self._calls
        self._calls += 1
        completion = await self.access.complete(
            self.history, sample=f"{self.match_seed}:{self.side}:{index}", json_mode=json_mode,
            seed=_call_seed(self.match_seed, self.side, index))
        tally.add(completion)
        self.history.append(ChatMessage("assistant", completion.text))
        return completion.text

    # -- the interface ------------------------------------------------------------------------
    async def act(self, request: MoveRequest) -> Reply:
        if not self.history:
            self._start(request)
        self._catch_up(request)
        tally = _Tally()
        if self.protocol == "json":
            return await self._act_json(request, tally)
        text = await self._ask(tally)
        if tally.delivery is not None:  # the model did not see the prompt: its text is no move
            return tally.reply(Move.invalid(f"delivery failure: {tally.delivery}"), text)
        if tally.cut:
            return tally.reply(Move.invalid(CUT_REPLY), text)
        if not text.strip():
            return tally.reply(Move.invalid(EMPTY_REPLY), text)  # nothing for an extractor
        if self.extractor is None:
            return tally.reply(None, text)  # the engine reads the text offline
        if self.hybrid:
            return tally.reply(await self._hybrid(request, text, tally), text)
        return tally.reply(await self._extract(request, text, tally), text)

    async def _hybrid(self, request: MoveRequest, text: str, tally: _Tally) -> Move:
        """Offline first; only a reading the offline reader is unsure of (or finds nothing in)
        goes to the LLM extractor, and the turn keeps the offline evidence and its reason."""
        offline = self.scenario.new_state().read(text, request)
        reading = offline.reading
        if offline.kind is not MoveKind.INVALID:  # the game's own threshold said it is sure
            return offline
        move = await self._extract(request, text, tally, reading)
        note = reading.reason if reading is not None else offline.reason
        sent = Reading(reading.value if reading else None,
                       reading.confidence if reading else 0.0,
                       reading.evidence if reading else "",
                       f"unsure offline, read by the LLM extractor ({note})")
        return move._replace(reading=sent)

    async def _act_json(self, request: MoveRequest, tally: _Tally) -> Reply:
        text = await self._ask(tally, json_mode=True)
        for attempt in range(self.repairs + 1):
            if tally.delivery is not None:
                return tally.reply(Move.invalid(f"delivery failure: {tally.delivery}"), text)
            if tally.cut:
                return tally.reply(Move.invalid(CUT_REPLY), text)
            move, reason = self._read_json(text, request)
            if move is not None:
                return tally.reply(move, text)
            if attempt == self.repairs:
                break
            self.history.append(ChatMessage("user", REPAIR.format(reason=reason)))
            text = await self._ask(tally, json_mode=True)
        detail = f" after {self.repairs} repair request{'s' if self.repairs != 1 else ''}" \
            if self.repairs else ""
        return tally.reply(Move.invalid(f"unusable JSON answer{detail}: {reason}"), text)

    def _read_json(self, text: str, request: MoveRequest) -> tuple[Move | None, str]:
        parsed = parse_json_move(text)
        if isinstance(parsed, str):
            return None, parsed
        try:
            kind = MoveKind(parsed.move.strip().lower())
        except ValueError:
            legal = ", ".join(sorted(k.value for k in request.legal))
            return None, f'"move" must be one of {legal} (got {parsed.move!r})'
        data = parsed.model_dump(exclude_none=True)
        data["move"] = kind.value
        return read_json_move(self.scenario, data, request)

    async def _extract(self, request: MoveRequest, text: str, tally: _Tally,
                       unsure: Reading | None = None) -> Move:
        """The LLM extractor (agents/negotiators/llm_extract): the paper's prompts in its
        games, the game's own JSON move everywhere else; `unsure` is what the offline reader
        was unsure of, in hybrid mode."""
        assert self.extractor is not None
        move, completion = await extract(self.extractor, self.scenario, request, text,
                                         self._prompt, unsure)
        if completion is not None:
            tally.add(completion)
            tally.extracted = completion.text
        return move
