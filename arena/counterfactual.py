"""The counterfactual design: every variant of an identity meets the same opponents, in the same
seats, with the same match seeds, so that what differs between an identity's matches is the
varied attribute alone (a within-identity contrast; see analysis.counterfactual).

Opponents of an identity are `design.opponents` personas of other identities (or personas with
none), drawn once per identity from the run seed; each variant plays each of them once in each
seat. A match's seed comes from (repetition, identity, opponent, seat), never from the variant.

In a game of N > 2 seats `design.opponents` counts opponent *tables*: N - 1 personas of other
identities each, drawn once per identity; each variant takes each seat of each table in turn,
the table's members in the other seats in their drawn order, every seat played by
[agents.default]. The seed comes from (repetition, identity, table, seat).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from arena.match import MatchSpec
from arena.seeds import derive_seed, rng_for
from scenarios.errors import InputError

DESIGN = "counterfactual"


class Variant(Protocol):
    persona_id: str
    level: int | None
    identity: str


def identity_sets(entrants: Sequence[Variant]) -> dict[str, list[Variant]]:
    """Variants by identity (sorted), each identity needing two or more of them."""
    sets: dict[str, list[Variant]] = {}
    for e in sorted(entrants, key=lambda e: e.persona_id):
        if e.identity:
            sets.setdefault(e.identity, []).append(e)
    if not sets:
        raise InputError("design.kind: counterfactual needs a pool of identity sets (manifest "
                         "column 'identity'; make one with `persona-arena avatars generate "
                         "--vary ATTR`)")
    for identity, members in sets.items():
        if len(members) < 2:
            raise InputError(f"design.kind: counterfactual: identity {identity!r} has one "
                             f"variant ({members[0].persona_id}); every identity needs two or more")
    return sets


def expand_counterfactual(entrants: Sequence[Variant], opponents: int, repetitions: int,
                          seed: int, teams_differ: bool, limit: int,
                          seats: int = 2) -> list[MatchSpec]:
    """The design's matches (see the module); one line when they would pass `limit`."""
    if seats > 2:
        return _expand_tables(entrants, opponents, repetitions, seed, teams_differ, limit, seats)
    sets = identity_sets(entrants)
    everyone = sorted(entrants, key=lambda e: e.persona_id)
    plan = []
    for identity, members in sets.items():
        others = [e for e in everyone if e.identity != identity]
        if not others:
            raise InputError("design.kind: counterfactual needs opponents outside each identity "
                             "(a pool of two or more identities, or personas without one)")
        k = min(opponents, len(others))
        chosen = sorted(rng_for(seed, DESIGN, identity).sample(others, k),
                        key=lambda e: e.persona_id)
        plan.append((identity, members, chosen))
    planned = sum(len(m) * len(c) * 2 for _, m, c in plan) * repetitions
    if planned > limit:
        raise InputError(f"design.opponents: the counterfactual design plans {planned:,} matches "
                         f"(at most {limit:,}); use fewer opponents or identities")
    mine, theirs = ("a", "b") if teams_differ else ("default", "default")
    specs = []
    for rep in range(1, repetitions + 1):
        for identity, members, chosen in plan:
            for opp in chosen:
                for first in (True, False):
                    cell = f"{DESIGN}-r{rep}-{identity}-{opp.persona_id}-{'a' if first else 'b'}"
                    cell_seed = derive_seed(seed, cell)  # one seed for every variant
                    for v in members:
                        match_id = f"{DESIGN}-r{rep}-{identity}-" + (
                            f"{v.persona_id}-{opp.persona_id}" if first else
                            f"{opp.persona_id}-{v.persona_id}")
                        a, b = (v, opp) if first else (opp, v)
                        specs.append(MatchSpec(
                            match_id, DESIGN, rep, a.persona_id, b.persona_id,
                            mine if first else theirs, theirs if first else mine,
                            seed=cell_seed, level_a=a.level, level_b=b.level))
    return specs


def _expand_tables(entrants: Sequence[Variant], tables: int, repetitions: int, seed: int,
                   teams_differ: bool, limit: int, seats: int) -> list[MatchSpec]:
    """The N-seat form (see the module): every variant in every seat of the same tables."""
    if teams_differ:
        raise InputError(f"agents: the counterfactual design of a {seats}-seat game seats "
                         "[agents.default] in every seat; teams a and b play two-seat games")
    sets = identity_sets(entrants)
    everyone = sorted(entrants, key=lambda e: e.persona_id)
    plan = []
    for identity, members in sets.items():
        others = [e for e in everyone if e.identity != identity]
        if len(others) < seats - 1:
            raise InputError(f"design.kind: counterfactual in a {seats}-seat game needs "
                             f"{seats - 1} opponents outside each identity (identity "
                             f"{identity!r} has {len(others)})")
        rng = rng_for(seed, DESIGN, identity, seats)
        plan.append((identity, members, [rng.sample(others, seats - 1) for _ in range(tables)]))
    planned = sum(len(m) * len(t) * seats for _, m, t in plan) * repetitions
    if planned > limit:
        raise InputError(f"design.opponents: the counterfactual design plans {planned:,} matches "
                         f"(at most {limit:,}); use fewer tables or identities")
    width = len(str(tables))
    specs = []
    for rep in range(1, repetitions + 1):
        for identity, members, drawn in plan:
            for g, table in enumerate(drawn, 1):
                for seat in range(seats):
                    cell = f"{DESIGN}-r{rep}-{identity}-t{g:0{width}d}-s{seat + 1}"
                    cell_seed = derive_seed(seed, cell)  # one seed for every variant
                    for v in members:
                        order = [*table[:seat], v, *table[seat:]]
                        specs.append(MatchSpec.group(
                            f"{cell}-{v.persona_id}", DESIGN, rep,
                            [e.persona_id for e in order], ["default"] * seats,
                            [e.level for e in order], seed=cell_seed))
    return specs
