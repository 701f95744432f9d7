"""Pairing designs: expand a config into a stable list of matches.

Every design counterbalances who moves first, repeats `repetitions` times and names each match
after what it is (design, repetition, personas, order), so the same config yields the same ids.
Seat a moves first. `agent_a`/`agent_b` name the agent team playing each seat.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from arena.config import DesignConfig
from arena.match import MatchSpec
from arena.seeds import derive_seed, rng_for
from scenarios.errors import InputError

CONFEDERATE = "confederate"


def opening_team(level: float) -> str:
    """The team name of a confederate that opens with `level` (design factor first_offer): the
    factory builds it, and its label carries the level into the store."""
    return f"{CONFEDERATE}@first_offer={level:g}"


def opening_of(team: str) -> float | None:
    """The opening claim an `opening_team` name carries, None for any other team."""
    prefix = f"{CONFEDERATE}@first_offer="
    return float(team[len(prefix):]) if team.startswith(prefix) else None


@dataclass(frozen=True, slots=True)
class Entrant:
    persona_id: str
    level: int
    identity: str = ""  # the counterfactual identity set it belongs to ("" for none)


def select_per_level(entrants: Sequence[Entrant], levels: int, per_level: int | None,
                     seed: int) -> list[Entrant]:
    """`per_level` personas drawn per level (all when None), in a stable order."""
    by_level: dict[int, list[Entrant]] = {}
    for entrant in sorted(entrants, key=lambda e: e.persona_id):
        by_level.setdefault(entrant.level, []).append(entrant)
    chosen: list[Entrant] = []
    for level in range(1, levels + 1):
        group = by_level.get(level, [])
        if per_level is not None:
            if len(group) < per_level:
                raise InputError(f"design.per_level: level {level} has {len(group)} personas in "
                                 f"the pool, {per_level} needed")
            group = sorted(rng_for(seed, "select", level).sample(group, per_level),
                           key=lambda e: e.persona_id)
        chosen.extend(group)
    if not chosen:
        raise InputError("personas: no persona has a level in 1..%d" % levels)
    return chosen


def _teams(teams_differ: bool, counterbalance: str) -> list[tuple[str, str, str]]:
    """(order tag, team in seat a, team in seat b) for each seating a pair is played in."""
    both = counterbalance == "always" or (counterbalance == "auto" and teams_differ)
    if teams_differ:
        seatings = [("", "a", "b")]
        if both:
            seatings.append(("-swap", "b", "a"))
        return seatings
    return [("", "default", "default")] + ([("-swap", "default", "default")] if both else [])


def expand(design: DesignConfig, entrants: Sequence[Entrant], seed: int,
           teams_differ: bool, seats: int = 2) -> list[MatchSpec]:
    """The full, ordered match list of a design; `seats` players a match (groups, and a
    round-robin over groups of more than two)."""
    kind = design.kind
    if kind == "counterfactual":
        from arena.config import MAX_PLANNED
        from arena.counterfactual import expand_counterfactual

        return expand_counterfactual(entrants, design.opponents, design.repetitions, seed,
                                     teams_differ, MAX_PLANNED, seats)
    if kind == "groups" or (kind == "round-robin" and seats > 2):
        return _expand_groups(design, entrants, seed, seats)
    if kind == "confederate":
        chosen = select_per_level(entrants, design.levels, design.per_level, seed)
        base = _confederate(chosen, teams_differ, design.factors.get("first_offer"))
    elif kind == "factorial":
        chosen = select_per_level(entrants, design.levels, design.per_level or 5, seed)
        pairs = [(x, y) for x in chosen for y in chosen if design.include_self or x != y]
        base = _seat(pairs, "factorial", teams_differ, design.counterbalance, ordered=True)
    elif kind == "round-robin":
        chosen = select_per_level(entrants, design.levels, design.per_level, seed)
        pairs = [(x, y) for i, x in enumerate(chosen) for y in chosen[i + 1:]]
        base = _seat(pairs, "round-robin", teams_differ, "always", ordered=False)
    elif kind == "delta":
        from arena.delta import delta_pairs

        chosen = select_per_level(entrants, design.levels, design.per_level, seed)
        pairs = delta_pairs(chosen, design, seed)
        base = _seat(pairs, "delta", teams_differ, design.counterbalance, ordered=True)
    else:
        raise ValueError(f"design kind {kind!r} is planned round by round (arena.swiss)")
    specs = []
    for rep in range(1, design.repetitions + 1):
        for s in base:  # built field by field: dataclasses.replace costs ~3x as much
            match_id = f"{s.design}-r{rep}-{s.match_id}"
            specs.append(MatchSpec(match_id, s.design, rep, s.persona_a, s.persona_b, s.agent_a,
                                   s.agent_b, seed=derive_seed(seed, match_id), level_a=s.level_a,
                                   level_b=s.level_b))
    return specs


def _expand_groups(design: DesignConfig, entrants: Sequence[Entrant], seed: int,
                   seats: int) -> list[MatchSpec]:
    """Groups of `seats` (arena.groups), every seat played by [agents.default]."""
    from arena.config import MAX_PLANNED
    from arena.groups import all_groups, balanced_groups, rotations, seat_once

    chosen = select_per_level(entrants, design.levels, design.per_level, seed)
    if design.kind == "round-robin":
        groups = all_groups(chosen, seats, MAX_PLANNED // design.repetitions)
        seated = [order for group in groups for order in rotations(group)]
    else:
        count = design.matches or len(chosen)
        rotate = design.counterbalance != "never"
        planned = count * (seats if rotate else 1) * design.repetitions
        if planned > MAX_PLANNED:
            raise InputError(f"design.matches: {count:,} groups of {seats} plan {planned:,} "
                             f"matches (at most {MAX_PLANNED:,}); split it into several runs")
        groups = balanced_groups(chosen, seats, count, rng_for(seed, "groups"))
        if rotate:
            seated = [order for group in groups for order in rotations(group)]
        else:
            seated = seat_once(groups, rng_for(seed, "groups-seating"))
    width = len(str(len(seated)))
    specs = []
    for rep in range(1, design.repetitions + 1):
        for k, order in enumerate(seated):
            names = "-".join(e.persona_id for e in order)
            # a balanced design may draw the same group twice: its seating's number tells them apart
            tag = names if design.kind == "round-robin" else f"g{k:0{width}d}-{names}"
            match_id = f"{design.kind}-r{rep}-{tag}"
            specs.append(MatchSpec.group(match_id, design.kind, rep,
                                         [e.persona_id for e in order], ["default"] * seats,
                                         [e.level for e in order],
                                         seed=derive_seed(seed, match_id)))
    return specs


def _confederate(chosen: Sequence[Entrant], teams_differ: bool,
                 openings: Sequence[float] | None = None) -> list[MatchSpec]:
    """Each persona against the script in both seats; with `openings` (design factor
    first_offer), the script opens every match (seat a) once with each opening claim, so the
    opening is the match's first offer."""
    team = "a" if teams_differ else "default"
    specs = []
    if openings:
        for e in chosen:
            for level in openings:
                specs.append(MatchSpec(f"{e.persona_id}-open{level:g}", "confederate", 0, None,
                                       e.persona_id, opening_team(level), team,
                                       level_b=e.level))
        return specs
    for e in chosen:
        specs.append(MatchSpec(f"{e.persona_id}-first", "confederate", 0, e.persona_id, None,
                               team, CONFEDERATE, level_a=e.level))
        specs.append(MatchSpec(f"{e.persona_id}-second", "confederate", 0, None, e.persona_id,
                               CONFEDERATE, team, level_b=e.level))
    return specs


def _seat(pairs: Sequence[tuple[Entrant, Entrant]], design: str, teams_differ: bool,
          counterbalance: str, ordered: bool) -> list[MatchSpec]:
    """Seat each pair. Ordered pairs already counterbalance personas; teams may need a swap too.

    For unordered pairs (round-robin) each pair is also played with the personas' seats swapped.
    """
    specs = []
    for tag, team_a, team_b in _teams(teams_differ, "never" if not teams_differ else counterbalance):
        for x, y in pairs:
            orders = [(x, y)] if ordered else [(x, y), (y, x)]
            for first, second in orders:
                specs.append(MatchSpec(f"{first.persona_id}-{second.persona_id}{tag}", design, 0,
                                       first.persona_id, second.persona_id, team_a, team_b,
                                       level_a=first.level, level_b=second.level))
    return specs


def level_difference_counts(specs: Sequence[MatchSpec]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for spec in specs:
        if spec.level_a is not None and spec.level_b is not None:
            d = spec.level_a - spec.level_b
            counts[d] = counts.get(d, 0) + 1
    return dict(sorted(counts.items()))


def shuffled(specs: list[MatchSpec], seed: int) -> list[MatchSpec]:
    """A seeded running order, so a partial run is not biased toward early designs cells."""
    order = list(specs)
    random.Random(derive_seed(seed, "order")).shuffle(order)
    return order
