"""N seats end to end (issue 13, item 5): a match holds 2..N seats, and the store's `seats` table
holds every seat's persona, agent, role, level, payoff and share, written with the match."""
from __future__ import annotations

import asyncio
import random
from pathlib import Path

from agents.negotiators.random_agent import RandomNegotiator
from arena.config import RunConfig
from arena.match import MatchSpec, play_match
from arena.store import MatchRow, Store
from arena.tournament import run
from scenarios.loader import load_scenario

from tests.helpers import table


def _three_seat_row(seed: int = 4) -> MatchRow:
    scenario = load_scenario("majority-division")
    spec = MatchSpec.group("m3", "test", 1, ("p1", "p2", "p3"), ("default",) * 3, (1, 4, 7),
                           seed=seed)
    negotiators = [RandomNegotiator(scenario, random.Random(seed + i)) for i in range(3)]
    return asyncio.run(play_match(spec, scenario, negotiators, "none", ("random",) * 3))


def test_a_three_seat_match_stores_every_seat(tmp_path: Path) -> None:
    row = _three_seat_row()
    assert row.match.status == "ok", row.match.error
    assert {t.speaker for t in row.turns} == {"a", "b", "c"}
    assert {t.persona_id for t in row.turns} == {"p1", "p2", "p3"}
    with Store(tmp_path / "s.sqlite") as store:
        store.write_match(MatchRow.from_wire(row.wire()))  # as a worker process sends it
        seats = store.read_seats("m3")
    assert [(s.seat, s.persona_id, s.level, s.agent) for s in seats] == [
        ("a", "p1", 1, "random"), ("b", "p2", 4, "random"), ("c", "p3", 7, "random")]
    assert all(s.payoff is not None for s in seats)
    # the pie is divided among the three (or nobody gets anything)
    assert sum(s.payoff for s in seats) in (0.0, 100.0)  # type: ignore[misc]
    # the two-seat columns hold two-seat matches only
    m = table(tmp_path / "s.sqlite", "SELECT persona_a, persona_b, payoff_a, agent_a FROM matches")
    assert m == [(None, None, None, None)]


def test_a_spec_needs_a_negotiator_per_seat() -> None:
    scenario = load_scenario("majority-division")
    spec = MatchSpec.group("m", "t", 1, ("p1", "p2", "p3"), ("default",) * 3, (1, 2, 3))
    try:
        asyncio.run(play_match(spec, scenario, [RandomNegotiator(scenario, random.Random(0))] * 2,
                               "none", ("random",) * 2))
    except ValueError as error:
        assert "3 seats" in str(error)
    else:
        raise AssertionError("two negotiators were taken for three seats")


def test_two_seat_runs_fill_seats_and_the_old_columns(small_pool: Path, tmp_path: Path) -> None:
    config = RunConfig.model_validate({
        "seed": 3, "scenario": "ultimatum-4", "condition": "both-images",
        "personas": {"pool": str(small_pool)}, "agents": {"default": {"kind": "surrogate"}},
        "design": {"kind": "factorial", "levels": 7, "per_level": 1},
        "execution": {"progress": "none", "workers": 2}})
    summary = run(config, tmp_path, tmp_path / "run")
    assert summary.failed == 0
    db = tmp_path / "run" / "arena.sqlite"
    joined = table(db, """
        SELECT m.match_id, m.persona_a, m.persona_b, m.payoff_a, m.payoff_b, m.share_a,
               m.share_b, m.level_a, m.level_b, m.agent_a, m.agent_b,
               a.persona_id, b.persona_id, a.payoff, b.payoff, a.share, b.share, a.level,
               b.level, a.agent, b.agent, a.role, b.role
        FROM matches m JOIN seats a ON a.match_id = m.match_id AND a.seat = 'a'
                       JOIN seats b ON b.match_id = m.match_id AND b.seat = 'b'""")
    assert len(joined) == summary.ran == 49
    assert table(db, "SELECT COUNT(*) FROM seats") == [(98,)]
    for r in joined:
        assert r[1:11] == r[11:21]
        assert r[21] and r[22]  # each seat's role at the start


def test_a_match_rerun_replaces_its_seats(tmp_path: Path) -> None:
    row = _three_seat_row()
    with Store(tmp_path / "s.sqlite") as store:
        store.write_match(row)
        store.write_match(row)
        assert store.count("seats") == 3
