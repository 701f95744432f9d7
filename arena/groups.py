"""Designs of more than two seats: groups of N personas formed by level, and round-robin over
groups.

The quantity a group design varies is each player's *level gap*: its own level minus the mean
level of the others at the table (two seats: own minus opponent, the delta design's
difference). `balanced_groups` forms groups greedily so that the gaps of all players fall evenly
over the whole range -(L-1)..(L-1) (rounded to whole levels), while every persona plays about
equally often and no group repeats while another is left. Seating: played in all N rotations, a
group puts each member in each seat once (`counterbalance` auto/always); played once, each
group's seats go to whoever has sat there least (`never`).
"""
from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from scenarios.errors import InputError

CANDIDATES = 48  # groups scored per group formed
EXACT_SEATING = 5  # up to this many seats every seating of a group is tried; above, a sample


class Player(Protocol):
    persona_id: str
    level: int


def level_gap(levels: Sequence[int], i: int) -> float:
    """Seat i's level minus the mean level of the other seats."""
    others = [lv for j, lv in enumerate(levels) if j != i]
    return levels[i] - sum(others) / len(others)


def gap_bin(gap: float) -> int:
    """A gap rounded to whole levels, halves away from zero (a stable, symmetric bin)."""
    return int(math.copysign(math.floor(abs(gap) + 0.5), gap))


def check_seats(players: Sequence[Player], seats: int) -> None:
    if len(players) < seats:
        raise InputError(f"design.seats: {seats} seats need at least {seats} personas (the "
                         f"design selects {len(players)})")


def all_groups(players: Sequence[Player], seats: int, limit: int) -> list[tuple[Player, ...]]:
    """Every group of `seats` players (round-robin), at most `limit` of them (else one line)."""
    check_seats(players, seats)
    people = sorted(players, key=lambda p: p.persona_id)
    count = math.comb(len(people), seats)
    if count * seats > limit:
        raise InputError(f"design.seats: a round-robin over groups of {seats} of {len(people)} "
                         f"personas plans {count * seats:,} matches a repetition (at most "
                         f"{limit:,}); set per_level, or use kind = \"groups\"")
    return list(itertools.combinations(people, seats))


def balanced_groups(players: Sequence[Player], seats: int, count: int,
                    rng: random.Random) -> list[tuple[Player, ...]]:
    """`count` groups of `seats` players whose level gaps spread evenly (see the module)."""
    check_seats(players, seats)
    people = sorted(players, key=lambda p: p.persona_id)
    n = len(people)
    uses = [0] * n
    gaps: Counter[int] = Counter()
    seen: set[tuple[int, ...]] = set()
    groups: list[tuple[Player, ...]] = []
    for _ in range(count):
        order = sorted(range(n), key=lambda i: (uses[i], rng.random()))
        anchor, rest = order[0], order[1:]
        # the least-used others first; widen the pool until it can fill a group
        pool: list[int] = []
        for level_of_use in sorted({uses[i] for i in rest}):
            pool += [i for i in rest if uses[i] == level_of_use]
            if len(pool) >= seats - 1:
                break
        best: tuple[float, tuple[int, ...]] | None = None
        for _ in range(CANDIDATES):
            members = tuple(sorted((anchor, *rng.sample(pool, seats - 1))))
            levels = [people[i].level for i in members]
            score = 0.0
            added: Counter[int] = Counter()
            for k in range(seats):
                b = gap_bin(level_gap(levels, k))
                score += gaps[b] + added[b]
                added[b] += 1
            score += sum(uses[i] for i in members) * 2.0
            if members in seen:
                score += 1000.0
            if best is None or score < best[0]:
                best = (score, members)
        assert best is not None
        members = best[1]
        seen.add(members)
        levels = [people[i].level for i in members]
        for k, i in enumerate(members):
            uses[i] += 1
            gaps[gap_bin(level_gap(levels, k))] += 1
        groups.append(tuple(people[i] for i in members))
    return groups


def rotations(group: Sequence[Player]) -> list[tuple[Player, ...]]:
    """The group's N cyclic seatings: each member sits in each seat once."""
    return [tuple(group[(start + k) % len(group)] for k in range(len(group)))
            for start in range(len(group))]


def seat_once(groups: Sequence[Sequence[Player]], rng: random.Random) -> list[tuple[Player, ...]]:
    """One seating per group, each seat given to whoever has sat in it least: seated greedily,
    then each group reseated while that evens the seat counts further (a local search that
    ends: the sum of squared counts falls with every change)."""
    sat: Counter[tuple[str, int]] = Counter()
    options_of = []
    for group in groups:
        if len(group) <= EXACT_SEATING:
            options = list(itertools.permutations(group))
        else:
            options = [tuple(rng.sample(list(group), len(group))) for _ in range(CANDIDATES)]
        rng.shuffle(options)
        options_of.append(options)

    def cost(order: Sequence[Player]) -> int:
        return sum(sat[(p.persona_id, k)] for k, p in enumerate(order))

    def place(order: Sequence[Player], step: int) -> None:
        for k, p in enumerate(order):
            sat[(p.persona_id, k)] += step

    seated = []
    for options in options_of:
        best = min(options, key=cost)
        place(best, 1)
        seated.append(tuple(best))
    for _ in range(20):
        changed = False
        for i, options in enumerate(options_of):
            place(seated[i], -1)
            now, best = cost(seated[i]), min(options, key=cost)
            if cost(best) < now:
                seated[i], changed = tuple(best), True
            place(seated[i], 1)
        if not changed:
            break
    return seated
