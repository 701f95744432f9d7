"""The counterfactual design: every variant of an identity meets the same opponents, in the same
seats, with the same match seeds, so that what differs between an identity's matches is the
varied attribute alone (a within-identity contrast; see analysis.counterfactual).

Opponents of an identity are `design.opponents` personas of other identities (or personas with
none), drawn once per identity from the run seed; each variant plays each of them once in each
seat. A match's seed comes from (repetition, identity, opponent, seat), never from the variant.
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
                          seed: int, teams_differ: bool, limit: int) -> list[MatchSpec]:
    """The design's matches (see the module); one line when they would pass `limit`."""
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
