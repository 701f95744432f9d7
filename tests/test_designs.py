"""Pairing designs: match counts, role and persona balance, target distributions, stable ids."""
from __future__ import annotations

from collections import Counter

import pytest

from arena.config import DesignConfig
from arena.designs import Entrant, expand, level_difference_counts
from scenarios.errors import InputError


def pool(per_level: int, levels: int = 7) -> list[Entrant]:
    return [Entrant(f"p{level}{i:03d}", level) for level in range(1, levels + 1)
            for i in range(per_level)]


def test_confederate_design_is_the_papers_study_1() -> None:
    specs = expand(DesignConfig(kind="confederate", repetitions=5), pool(3), 1, False)
    assert len(specs) == 21 * 2 * 5  # every persona, both role orders, 5 repetitions
    seats = Counter((s.persona_a is None, s.persona_b is None) for s in specs)
    assert seats == {(False, True): 105, (True, False): 105}
    assert {s.agent_a for s in specs if s.persona_a is None} == {"confederate"}
    assert len({s.match_id for s in specs}) == len(specs)


def test_factorial_design_is_the_papers_study_2() -> None:
    specs = expand(DesignConfig(kind="factorial", per_level=5, repetitions=5), pool(8), 1, False)
    assert len(specs) == 35 * 35 * 5 == 6125
    first = Counter(s.persona_a for s in specs)
    second = Counter(s.persona_b for s in specs)
    assert set(first.values()) == {35 * 5} and first == second  # each persona equally in each seat
    assert Counter(s.level_a - s.level_b for s in specs)[0] == 5 * 5 * 7 * 5
    without_self = expand(DesignConfig(kind="factorial", per_level=5, include_self=False),
                          pool(8), 1, False)
    assert len(without_self) == 35 * 34
    assert all(s.persona_a != s.persona_b for s in without_self)


def test_factorial_with_two_teams_swaps_seats() -> None:
    specs = expand(DesignConfig(kind="factorial", per_level=1), pool(1), 1, True)
    assert len(specs) == 49 * 2
    assert Counter((s.agent_a, s.agent_b) for s in specs) == {("a", "b"): 49, ("b", "a"): 49}


def test_round_robin_counts() -> None:
    specs = expand(DesignConfig(kind="round-robin", per_level=2, repetitions=2), pool(2), 1, False)
    assert len(specs) == 14 * 13 // 2 * 2 * 2  # unordered pairs x both orders x repetitions
    per_persona = Counter(s.persona_a for s in specs)
    assert set(per_persona.values()) == {13 * 2}


def test_same_config_same_match_ids_and_seeds() -> None:
    design = DesignConfig(kind="factorial", per_level=2, repetitions=2)
    one = expand(design, pool(6), 11, False)
    two = expand(design, pool(6), 11, False)
    assert [(s.match_id, s.seed) for s in one] == [(s.match_id, s.seed) for s in two]
    other = expand(design, pool(6), 12, False)
    assert {s.match_id for s in one} != {s.match_id for s in other}  # another draw of personas


def test_delta_design_follows_its_target() -> None:
    design = DesignConfig(kind="delta", per_level=10, repetitions=1)
    specs = expand(design, pool(10), 3, False)
    assert len(specs) == 70 * 13 // 2
    counts = level_difference_counts(specs)
    assert set(counts) == set(range(-6, 7))
    share = {d: c / len(specs) for d, c in counts.items()}
    total_variation = 0.5 * sum(abs(share[d] - 1 / 13) for d in share)
    assert total_variation < 0.05
    usage = Counter(s.persona_a for s in specs) + Counter(s.persona_b for s in specs)
    assert min(usage.values()) >= 10 and max(usage.values()) <= 15
    seat_a = Counter(s.persona_a for s in specs)
    assert min(seat_a.values()) >= 3  # every persona also moves first
    assert len({frozenset((s.persona_a, s.persona_b)) for s in specs}) == len(specs)  # distinct


def test_delta_design_with_a_skewed_target() -> None:
    weights = [0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]  # only differences -1 and +1
    design = DesignConfig(kind="delta", per_level=4, target=weights, matches=40)
    counts = level_difference_counts(expand(design, pool(4), 1, False))
    assert set(counts) <= {-1, 1} and sum(counts.values()) == 40
    with pytest.raises(InputError, match="give 13 weights"):
        expand(DesignConfig(kind="delta", per_level=4, target=[1, 2]), pool(4), 1, False)


def test_too_few_personas_per_level_is_refused() -> None:
    with pytest.raises(InputError, match="level 1 has 2 personas in the pool, 5 needed"):
        expand(DesignConfig(kind="factorial", per_level=5), pool(2), 1, False)
