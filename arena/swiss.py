"""The `swiss` design: rounds in which personas of similar standing meet.

Each round pairs personas by their score so far (the sum of their payoff shares), never twice the
same pair in a repetition; the one that has moved first less often takes seat a. With an odd
number of personas the lowest-ranked one not yet given a bye sits the round out. Because a round
depends on the results before it, the runner plans and plays one round at a time; the pairing is
a pure function of the stored results, so a resumed run pairs exactly as an uninterrupted one.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from arena.match import MatchSpec
from arena.seeds import derive_seed
from scenarios.errors import InputError


def default_rounds(n: int) -> int:
    """About log2(n) + 1 rounds, never more than a round robin's n - 1."""
    return max(1, min(math.ceil(math.log2(max(n, 2))) + 1, n - 1))


def swiss_rounds(n: int, asked: int | None, source: str) -> int:
    """The rounds a swiss design of `n` personas plays, checked up front: past n - 1 rounds a
    pair would have to meet twice (and an odd field runs out of byes), so more are refused
    before anything is written, and the dry run's count is the count that is played."""
    if n < 2:
        raise InputError(f"{source}: field 'design.kind': a swiss design needs at least 2 "
                         f"personas with a level (got {n})")
    if asked is not None and asked > n - 1:
        raise InputError(f"{source}: field 'design.rounds': {asked} rounds for {n} personas; "
                         f"at most {n - 1} (one more would pair someone twice)")
    return asked if asked is not None else default_rounds(n)


def swiss_round(entrants: Sequence, scores: dict[str, float], played: set[frozenset[str]],
                seat_a: dict[str, int], byes: set[str], repetition: int, round_: int,
                team: str, seed: int) -> list[MatchSpec]:
    ranked = sorted(entrants, key=lambda e: (-scores.get(e.persona_id, 0.0), e.persona_id))
    if len(ranked) % 2 == 1:
        if all(e.persona_id in byes for e in ranked):  # everyone sat out once: start again
            byes.clear()
        for e in reversed(ranked):
            if e.persona_id not in byes:
                byes.add(e.persona_id)
                ranked = [x for x in ranked if x is not e]
                break
    pairing = _pair(ranked, played) or _pair(ranked, set())  # rematches only when unavoidable
    specs = []
    for x, partner in pairing:
        played.add(frozenset((x.persona_id, partner.persona_id)))
        if seat_a.get(partner.persona_id, 0) < seat_a.get(x.persona_id, 0):
            x, partner = partner, x
        seat_a[x.persona_id] = seat_a.get(x.persona_id, 0) + 1
        match_id = f"swiss-r{repetition}-t{round_}-{x.persona_id}-{partner.persona_id}"
        specs.append(MatchSpec(match_id, "swiss", repetition, x.persona_id, partner.persona_id,
                               team, team, derive_seed(seed, match_id), x.level, partner.level))
    return specs


def _pair(ranked: list, played: set[frozenset[str]], budget: list[int] | None = None) -> list | None:
    """Pair neighbours in rank order, backtracking to avoid rematches; None when impossible."""
    budget = budget if budget is not None else [20000]
    if not ranked:
        return []
    budget[0] -= 1
    if budget[0] < 0:
        return None
    x, rest = ranked[0], ranked[1:]
    for k, y in enumerate(rest):
        if frozenset((x.persona_id, y.persona_id)) in played:
            continue
        tail = _pair(rest[:k] + rest[k + 1:], played, budget)
        if tail is not None:
            return [(x, y), *tail]
    return None
