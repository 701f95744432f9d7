"""The `groups` design (issue 13, item 5): groups of N by level, the level gaps (own level minus
the mean of the others) spread evenly, every persona in every seat about equally often; and a
round-robin over groups. Bounded and validated with one line naming the field."""
from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from arena.config import DesignConfig, RunConfig, parse_config
from arena.designs import Entrant, expand
from arena.groups import balanced_groups, gap_bin, level_gap
from arena.run_plan import plan_run
from scenarios.errors import InputError

from tests.helpers import cli

PEOPLE = [Entrant(f"p{i:02d}", 1 + i // 2) for i in range(14)]  # two per level 1..7


def _gaps(specs) -> Counter[int]:
    gaps: Counter[int] = Counter()
    for spec in specs:
        levels = spec.seat_levels
        gaps.update(gap_bin(level_gap(levels, k)) for k in range(len(levels)))
    return gaps


def _chi(gaps: Counter[int], span: int = 6) -> float:
    bins = range(-span, span + 1)
    expected = sum(gaps.values()) / len(bins)
    return sum((gaps[b] - expected) ** 2 / expected for b in bins)


def test_groups_spread_level_gaps_and_seat_everyone_equally() -> None:
    design = DesignConfig(kind="groups", seats=3, levels=7, matches=28)
    specs = expand(design, PEOPLE, 5, False, 3)
    assert len(specs) == 28 * 3  # each group in its three rotations
    assert len({s.match_id for s in specs}) == len(specs)
    assert all(s.n_seats == 3 and len(set(s.seat_personas)) == 3 for s in specs)
    seat_counts = Counter((p, k) for s in specs for k, p in enumerate(s.seat_personas))
    plays = Counter(p for s in specs for p in s.seat_personas)
    assert set(plays.values()) == {18}  # 28 groups x 3 players / 14, each in 3 rotations
    assert set(seat_counts.values()) == {6}  # every persona in every seat equally often
    # the gaps cover the range far more evenly than groups drawn at random
    rng = random.Random(1)
    drawn = [tuple(rng.sample(PEOPLE, 3)) for _ in range(28)]
    drawn_gaps: Counter[int] = Counter()
    for g in drawn:
        levels = [e.level for e in g]
        drawn_gaps.update(gap_bin(level_gap(levels, k)) for k in range(3))
    ours = _gaps(specs[::3])  # one seating per group: a group's gaps do not depend on seating
    assert _chi(ours) < _chi(drawn_gaps) / 2
    assert min(ours) <= -5 and max(ours) >= 5  # the extremes are reached
    assert expand(design, PEOPLE, 5, False, 3) == specs  # same seed, same plan


def test_groups_seated_once_balance_seats_within_one() -> None:
    design = DesignConfig(kind="groups", seats=3, levels=7, matches=42, counterbalance="never")
    specs = expand(design, PEOPLE, 2, False, 3)
    assert len(specs) == 42
    def spread(seated) -> list[int]:
        out = []
        for pid in {e.persona_id for e in PEOPLE}:
            counts = [sum(1 for order in seated if order[k] == pid) for k in range(3)]
            out.append(max(counts) - min(counts))
        return out

    ours = spread([s.seat_personas for s in specs])
    assert max(ours) <= 2  # about equally often: 9 plays a persona, 3 a seat give or take one
    rng = random.Random(3)
    drawn = spread([tuple(rng.sample(s.seat_personas, 3)) for s in specs])
    assert sum(ours) < sum(drawn) / 2  # far evener than seats drawn at random


def test_round_robin_over_groups_plays_every_group_in_every_rotation() -> None:
    design = DesignConfig(kind="round-robin", seats=3, levels=7, per_level=1)
    specs = expand(design, PEOPLE, 1, False, 3)
    assert len(specs) == 35 * 3  # C(7, 3) groups
    groups = Counter(frozenset(s.seat_personas) for s in specs)
    assert len(groups) == 35 and set(groups.values()) == {3}


def test_balanced_groups_need_enough_players() -> None:
    with pytest.raises(InputError, match="design.seats: 4 seats need at least 4 personas"):
        balanced_groups(PEOPLE[:3], 4, 2, random.Random(0))


def _config(pool: Path, design: dict, scenario: str = "majority-division",
            agents: dict | None = None) -> dict:
    return {"seed": 1, "scenario": scenario, "condition": "none",
            "personas": {"pool": str(pool)}, "design": design,
            "agents": agents or {"default": {"kind": "random"}},
            "execution": {"progress": "none"}}


@pytest.mark.parametrize("design, agents, scenario, message", [
    ({"kind": "groups", "seats": 1}, None, "majority-division", "design.seats"),
    ({"kind": "groups", "seats": 9}, None, "majority-division", "design.seats"),
    ({"kind": "factorial", "seats": 3}, None, "majority-division",
     "field 'design.seats': does not apply to kind 'factorial'"),
    ({"kind": "groups", "seats": 3, "per_level": 100, "matches": 5_000_000}, None,
     "majority-division", "plans up to"),
    ({"kind": "groups", "seats": 3}, {"a": {"kind": "random"}, "b": {"kind": "concession"}},
     "majority-division", "agents: design groups seats every player with [agents.default]"),
])
def test_bad_group_designs_are_refused_in_one_line(small_pool: Path, design: dict,
                                                   agents: dict | None, scenario: str,
                                                   message: str) -> None:
    with pytest.raises(InputError) as error:
        parse_config(_config(small_pool, design, scenario, agents), "run.toml")
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("design, scenario, message", [
    ({"kind": "groups", "seats": 3}, "ultimatum-4",
     "field 'design.seats': ultimatum-4 (ultimatum) takes 2..2 seats"),
    ({"kind": "factorial", "per_level": 1}, "majority-division",
     "field 'design.kind': majority-division (majority-division) takes 3..7 seats"),
    ({"kind": "groups", "seats": 8}, "majority-division", "takes 3..7 seats"),
    ({"kind": "groups", "seats": 7, "per_level": 0 + 1, "levels": 3}, "majority-division",
     "field 'design.seats': 7 seats need at least 7 personas (the design selects 3)"),
])
def test_the_game_must_take_the_designs_seats(small_pool: Path, tmp_path: Path, design: dict,
                                              scenario: str, message: str) -> None:
    config = parse_config(_config(small_pool, design, scenario), "run.toml")
    with pytest.raises(InputError) as error:
        plan_run(config, tmp_path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_dry_run_counts_groups(small_pool: Path, tmp_path: Path) -> None:
    config = tmp_path / "g.toml"
    config.write_text(f'''seed = 2
scenario = "majority-division"
condition = "none"
[personas]
pool = "{small_pool}"
[design]
kind = "groups"
seats = 3
matches = 10
repetitions = 2
[agents.default]
kind = "random"
[execution]
progress = "none"
''')
    done = cli("run", str(config), "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    assert '"matches": 60' in done.stdout  # 10 groups x 3 rotations x 2 repetitions
    bad = cli("run", str(config).replace("g.toml", "missing.toml"), "--dry-run")
    assert bad.returncode == 2
    config.write_text(config.read_text().replace("seats = 3", "seats = 3\nrounds = 2"))
    bad = cli("run", str(config), "--dry-run")
    assert bad.returncode == 2 and "design.rounds" in bad.stderr
    assert "Traceback" not in bad.stderr
