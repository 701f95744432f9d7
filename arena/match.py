"""One match: drive a scenario state with a negotiator per seat, check every move, score in code."""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from agents.base import Negotiator
from arena.store import MatchRecord, MatchRow, SeatRecord, TurnRecord, encode_offer
from scenarios.loader import Scenario
from scenarios.moves import ACCEPT, INVALID, REJECT, SIDES, MoveKind, Reply
from scenarios.reading.confidence import Reading

MAX_TURNS = 100_000  # a guard against a scenario that never ends; built-ins end far sooner
_KIND_TEXT = {kind: kind.value for kind in MoveKind}  # Enum.value is a slow descriptor in 3.11
# records are made with tuple.__new__: the same NamedTuple for a third of the cost of calling
# it (its __new__ parses every argument by name); the store checks each row's width
_record = tuple.__new__


@dataclass(frozen=True, slots=True)
class MatchSpec:
    """One planned match. Seat a moves first; `agent_*` name the [agents.X] table of each seat.

    A match of more than two seats lists a persona, agent team and level per seat in seat order
    (`personas`, `agents`, `levels`) and leaves the two-seat fields None; a two-seat match may
    leave those empty (every design made before N seats does). Read seats through `seat_*`."""

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
    personas: tuple[str | None, ...] = ()
    agents: tuple[str, ...] = ()
    levels: tuple[int | None, ...] = ()

    def __reduce__(self) -> tuple:
        # pickled to every worker process by the thousand: a slots dataclass's own pickling
        # walks dataclasses.fields() for every spec, both ways (~10x the cost of this)
        return (MatchSpec, (self.match_id, self.design, self.repetition, self.persona_a,
                            self.persona_b, self.agent_a, self.agent_b, self.seed, self.level_a,
                            self.level_b, self.personas, self.agents, self.levels))

    @property
    def n_seats(self) -> int:
        return len(self.agents) if self.agents else 2

    @property
    def seat_personas(self) -> tuple[str | None, ...]:
        return self.personas if self.agents else (self.persona_a, self.persona_b)

    @property
    def seat_agents(self) -> tuple[str, ...]:
        return self.agents or (self.agent_a, self.agent_b)

    @property
    def seat_levels(self) -> tuple[int | None, ...]:
        return (self.levels or (None,) * len(self.agents)) if self.agents else (self.level_a,
                                                                                  self.level_b)

    @staticmethod
    def group(match_id: str, design: str, repetition: int, personas: Sequence[str | None],
              agents: Sequence[str], levels: Sequence[int | None], seed: int = 0) -> MatchSpec:
        """A match of any number of seats; two seats fill the two-seat fields as before."""
        if len(agents) == 2:
            return MatchSpec(match_id, design, repetition, personas[0], personas[1], agents[0],
                             agents[1], seed, levels[0], levels[1])
        return MatchSpec(match_id, design, repetition, None, None, agents[0], agents[1], seed,
                         None, None, tuple(personas), tuple(agents), tuple(levels))


class NegotiatorFailure(Exception):
    """A negotiator could not produce a reply at all (model unreachable after retries ...)."""


def _reading_columns(reading: Reading | None) -> tuple[float | None, str | None, str | None]:
    """read_confidence, read_evidence, read_note of a turn (None when no text was read)."""
    if reading is None:
        return None, None, None
    return reading.confidence, reading.evidence or None, reading.reason or None


def _unusable_seat(records: list[TurnRecord]) -> str | None:
    """Why a match is no evidence: a seat none of whose turns could be used, or None."""
    usable = {record.speaker for record in records if record.parse_ok != 0}
    if len(usable) == len({record.speaker for record in records}):
        return None  # every seat that moved has a usable turn: the common case, in two passes
    by_seat: dict[str, list[TurnRecord]] = {}
    for record in records:
        by_seat.setdefault(record.speaker, []).append(record)
    for seat, turns in by_seat.items():
        if all(t.parse_ok == 0 for t in turns):
            reason = Counter(t.reason for t in turns).most_common(1)[0][0]
            return (f"no usable turn from seat {seat}: all {len(turns)} invalid (most often: "
                    f"{reason})")
    return None


async def play_match(spec: MatchSpec, scenario: Scenario, negotiators: Sequence[Negotiator],
                     condition: str, labels: Sequence[str]) -> MatchRow:
    """Play a match to its end and return its rows; never raises for what a negotiator does.
    `negotiators` and `labels` (the agents' names in the store) go seat by seat, a first."""
    started = time.perf_counter()
    n = spec.n_seats
    if len(negotiators) != n or len(labels) != n:
        raise ValueError(f"match {spec.match_id} has {n} seats: {len(negotiators)} negotiators "
                         f"and {len(labels)} labels given")
    # a game's own draws (a drawn proposer) replay from the match's seed
    state = scenario.new_state(n, seed=spec.seed)
    records: list[TurnRecord] = []
    sides = SIDES[:n]
    personas = dict(zip(sides, spec.seat_personas))
    by_side = dict(zip(sides, negotiators))
    calls = prompt_tokens = completion_tokens = 0
    error = None
    match_id, add = spec.match_id, records.append
    try:
        ask, step = state.request, state.step  # bound once: the hot loop
        acts = {side: negotiator.act for side, negotiator in by_side.items()}
        while not state.is_terminal:
            request = ask()
            reply: Reply = await acts[request.side](request)
            turn = step(reply.move, reply.text, request)  # the game's rules, in one place
            # unpacked, not read field by field: a turn and its move are NamedTuples
            index, round_, side, role, played, text, claim = turn
            kind, offer, reason, reading = played
            accepted = 1 if kind is ACCEPT else 0 if kind is REJECT else None
            if reading is None:
                confidence = evidence = note = None
            else:
                confidence, evidence, note = _reading_columns(reading)
            add(_record(TurnRecord, (
                match_id, index, round_, side, role, personas[side], _KIND_TEXT[kind],
                None if offer is None else float.__repr__(offer)  # encode_offer's fast path
                if type(offer) is float and offer - offer == 0.0 else encode_offer(offer),
                claim, accepted, text, 0 if kind is INVALID else 1, reason or None,
                reply.latency_ms, reply.prompt_tokens, reply.completion_tokens, reply.calls,
                int(reply.cached), reply.extracted, confidence, evidence, note,
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
    payoffs: Sequence[float | None] = (None,) * n
    shares: Sequence[float | None] = (None,) * n
    if error is None:
        o = state.outcome()
        payoffs, shares = o.payoffs, o.shares
        scored: tuple = ("ok", int(o.deal), o.agreements)
    else:
        scored = ("failed", None, None)
    two = n == 2  # matches.*_a/_b hold seats a and b of two-seat matches only
    match = _record(MatchRecord, (
        spec.match_id, spec.design, spec.repetition, scenario.name, condition, spec.seed,
        spec.persona_a, spec.persona_b, spec.level_a, spec.level_b,
        labels[0] if two else None, labels[1] if two else None, scored[0],
        payoffs[0] if two else None, payoffs[1] if two else None, scored[1], scored[2],
        shares[0] if two else None, shares[1] if two else None,
        len(records), error, calls, prompt_tokens, completion_tokens, elapsed_ms,
        time.time()))
    roles, levels = scenario.rules.seat_roles(n), spec.seat_levels
    seats = [_record(SeatRecord, (spec.match_id, side, personas[side], labels[i], roles[i],
                                  levels[i], payoffs[i], shares[i]))
             for i, side in enumerate(sides)]
    return MatchRow(match, records, seats)
