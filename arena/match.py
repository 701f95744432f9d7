"""One match: drive a scenario state with two negotiators, check every move, score in code."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from agents.base import Negotiator
from arena.store import MatchRecord, MatchRow, TurnRecord, encode_offer
from scenarios.loader import Scenario
from scenarios.moves import ACCEPT, INVALID, REJECT, MoveKind, Reply
from scenarios.reading.confidence import Reading

MAX_TURNS = 100_000  # a guard against a scenario that never ends; built-ins end far sooner
_KIND_TEXT = {kind: kind.value for kind in MoveKind}  # Enum.value is a slow descriptor in 3.11
# records are made with tuple.__new__: the same NamedTuple for a third of the cost of calling
# it (its __new__ parses every argument by name); the store checks each row's width
_record = tuple.__new__


@dataclass(frozen=True, slots=True)
class MatchSpec:
    """One planned match. Seat a moves first; `agent_*` name the [agents.X] table of each seat."""

    match_id: str
    design: str
    repetition: int
    persona_a: str | None
    persona_b: str | None
    agent_a: str
    agent_b: str
    seed: int = 0
    level_a: int | None = None
    level_b: int | None = None


class NegotiatorFailure(Exception):
    """A negotiator could not produce a reply at all (model unreachable after retries ...)."""


def _reading_columns(reading: Reading | None) -> tuple[float | None, str | None, str | None]:
    """read_confidence, read_evidence, read_note of a turn (None when no text was read)."""
    if reading is None:
        return None, None, None
    return reading.confidence, reading.evidence or None, reading.reason or None


def _unusable_seat(records: list[TurnRecord]) -> str | None:
    """Why a match is no evidence: a seat none of whose turns could be used, or None."""
    by_seat: dict[str, list[TurnRecord]] = {}
    for record in records:
        by_seat.setdefault(record.speaker, []).append(record)
    for seat, turns in by_seat.items():
        if all(t.parse_ok == 0 for t in turns):
            reason = Counter(t.reason for t in turns).most_common(1)[0][0]
            return (f"no usable turn from seat {seat}: all {len(turns)} invalid (most often: "
                    f"{reason})")
    return None


async def play_match(spec: MatchSpec, scenario: Scenario, neg_a: Negotiator, neg_b: Negotiator,
                     condition: str, labels: tuple[str, str]) -> MatchRow:
    """Play a match to its end and return its rows; never raises for what a negotiator does."""
    started = time.perf_counter()
    state = scenario.new_state(seed=spec.seed)  # a game's own draws (a drawn proposer) replay
    records: list[TurnRecord] = []
    personas = {"a": spec.persona_a, "b": spec.persona_b}
    calls = prompt_tokens = completion_tokens = 0
    error = None
    match_id, add = spec.match_id, records.append
    try:
        ask, step = state.request, state.step  # bound once: the hot loop
        act_a, act_b = neg_a.act, neg_b.act
        while not state.is_terminal:
            request = ask()
            reply: Reply = await (act_a if request.side == "a" else act_b)(request)
            turn = step(reply.move, reply.text, request)  # the game's rules, in one place
            played = turn.move
            reading = played.reading
            kind = played.kind
            accepted = 1 if kind is ACCEPT else 0 if kind is REJECT else None
            add(_record(TurnRecord, (
                match_id, turn.index, turn.round, turn.side, turn.role, personas[turn.side],
                _KIND_TEXT[kind], encode_offer(played.offer), turn.claim, accepted, turn.text,
                0 if kind is INVALID else 1, played.reason or None, reply.latency_ms,
                reply.prompt_tokens, reply.completion_tokens, reply.calls, int(reply.cached),
                reply.extracted, *_reading_columns(reading),
            )))
            calls += reply.calls
            prompt_tokens += reply.prompt_tokens or 0
            completion_tokens += reply.completion_tokens or 0
            if len(records) > MAX_TURNS:
                raise RuntimeError(f"scenario {scenario.name} did not end in {MAX_TURNS} turns")
    except Exception as failure:  # a negotiator's failure fails the match, never the tournament
        error = f"{type(failure).__name__}: {failure}"
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    if error is None:
        error = _unusable_seat(records)
    if error is None:
        o = state.outcome()
        scored = ("ok", o.payoff_a, o.payoff_b, int(o.deal), o.agreements, o.share_a, o.share_b)
    else:
        scored = ("failed", None, None, None, None, None, None)
    match = _record(MatchRecord, (
        spec.match_id, spec.design, spec.repetition, scenario.name, condition, spec.seed,
        spec.persona_a, spec.persona_b, spec.level_a, spec.level_b, labels[0], labels[1],
        *scored, len(records), error, calls, prompt_tokens, completion_tokens, elapsed_ms,
        time.time()))
    return MatchRow(match, records)
