"""N seats end to end (issue 13, item 5): a match holds 2..N seats, and the store's `seats` table
holds every seat's persona, agent, role, level, payoff and share, written with the match."""
from __future__ import annotations

import asyncio
import random
import shutil
import sqlite3
import sys
from pathlib import Path

import pandas as pd

from agents.negotiators.random_agent import RandomNegotiator
from analysis.frames import load_run
from arena.config import RunConfig
from arena.match import MatchSpec, play_match
from arena.store import MatchRow, Store
from arena.tournament import run
from scenarios.loader import load_scenario

from tests.helpers import cli, table


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


GROUPS = '''seed = 4
scenario = "majority-division"
condition = "none"
[personas]
pool = "{pool}"
[design]
kind = "groups"
seats = 3
matches = 8
[agents.default]
kind = "{kind}"
[execution]
progress = "none"
{execution}
'''


def _groups_run(tmp_path: Path, pool: Path, kind: str, name: str, execution: str = "",
                *extra: str):
    config = tmp_path / f"{name}.toml"
    config.write_text(GROUPS.format(pool=pool, kind=kind, execution=execution))
    done = cli("run", str(config), "--out", str(tmp_path / name), *extra)
    assert done.returncode == 0, done.stderr
    return tmp_path / name / "arena.sqlite", done


SEATS_SQL = ("SELECT match_id, seat, persona_id, agent, role, level, payoff, share FROM seats "
             "ORDER BY match_id, seat")


def test_offline_agents_play_three_seat_groups_through_the_cli(small_pool: Path,
                                                              tmp_path: Path) -> None:
    for kind in ("random", "concession"):
        db, done = _groups_run(tmp_path, small_pool, kind, kind)
        # the run's summary reads each seat's level and payoff from the seats table
        assert "mean payoff by own level  1:" in done.stdout and "none:" not in done.stdout
        matches = table(db, "SELECT match_id, status, persona_a, payoff_a, n_turns FROM matches")
        assert len(matches) == 24 and all(m[1] == "ok" for m in matches)
        assert all(m[2] is None and m[3] is None for m in matches)  # no two-seat columns
        seats = table(db, SEATS_SQL)
        assert len(seats) == 72
        personas = dict(table(db, "SELECT persona_id, level FROM personas"))
        for match_id, *_ in matches:
            mine = [s for s in seats if s[0] == match_id]
            assert [s[1] for s in mine] == ["a", "b", "c"]
            # the ids name the seating: groups-r1-gNN-<a>-<b>-<c>
            assert [s[2] for s in mine] == match_id.split("-")[-3:]
            assert all(s[5] == personas[s[2]] for s in mine)  # each seat's level
            assert sum(s[6] for s in mine) in (0.0, 100.0)  # the pie, or nothing
            assert all(s[3] == (kind if kind == "random" else "concession:linear")
                       for s in mine)
            turns = table(db, f"SELECT speaker, persona_id FROM turns WHERE match_id = "
                              f"'{match_id}'")
            by_seat = {s[1]: s[2] for s in mine}
            assert turns and all(by_seat[speaker] == pid for speaker, pid in turns)
            assert {speaker for speaker, _ in turns} <= {"a", "b", "c"}
        assert len(table(db, "SELECT DISTINCT speaker FROM turns")) == 3


def test_three_seat_runs_resume_and_play_alike_in_worker_processes(small_pool: Path,
                                                                   tmp_path: Path) -> None:
    db0, _ = _groups_run(tmp_path, small_pool, "concession", "w0")
    db2, _ = _groups_run(tmp_path, small_pool, "concession", "w2", "workers = 2")
    turns = "SELECT match_id, turn_index, speaker, persona_id, text FROM turns ORDER BY 1, 2"
    assert table(db0, SEATS_SQL) == table(db2, SEATS_SQL)
    assert table(db0, turns) == table(db2, turns)
    conn = sqlite3.connect(db2)
    with conn:  # lose a third of the run, as a crash would
        lost = [r[0] for r in conn.execute("SELECT match_id FROM matches ORDER BY match_id "
                                           "LIMIT 8")]
        for mid in lost:
            for t in ("matches", "turns", "seats"):
                conn.execute(f"DELETE FROM {t} WHERE match_id = ?", (mid,))
    conn.close()
    _, done = _groups_run(tmp_path, small_pool, "concession", "w2", "workers = 2", "--resume")
    assert "8 matches run" in done.stdout and "16 already stored" in done.stdout
    assert table(db0, SEATS_SQL) == table(db2, SEATS_SQL)


def test_analysis_reads_the_seats_of_a_three_seat_run(small_pool: Path, tmp_path: Path) -> None:
    db, _ = _groups_run(tmp_path, small_pool, "concession", "three")
    frames = load_run(db.parent)
    seats = frames.seats
    assert len(seats) == 72 and set(seats["seats"]) == {3}
    stored = table(db, SEATS_SQL)
    assert [tuple(r) for r in seats[["match_id", "seat", "persona_id", "agent", "role"]]
            .itertuples(index=False)] == [r[:5] for r in stored]
    for _, group in seats.groupby("match_id"):
        levels = list(group["level"])
        for k, (_, row) in enumerate(group.iterrows()):
            others = [lv for j, lv in enumerate(levels) if j != k]
            assert row["others_level"] == sum(others) / 2
            assert row["level_gap"] == levels[k] - sum(others) / 2
        assert group["payoff"].sum() == 100.0 and set(group["status"]) == {"ok"}
    players = frames.players
    assert len(players) == 72 and players["opponent"].isna().all()
    assert list(players["opp"]) == list(seats["others_level"])
    assert list(players["payoff"]) == list(seats["payoff"])
    proposals = frames.proposals
    assert len(proposals) and proposals["own"].notna().all() and proposals["opp"].notna().all()
    first = proposals.iloc[0]
    seat = seats[(seats["match_id"] == first["match_id"]) & (seats["seat"] == first["speaker"])]
    assert first["own"] == seat["level"].iloc[0] and first["opp"] == seat["others_level"].iloc[0]
    done = cli("analyze", str(db.parent), "--json")
    assert done.returncode == 0, done.stderr
    done = cli("report", str(db.parent), "--out", str(tmp_path / "report.html"))
    assert done.returncode == 0, done.stderr  # the others' mean level is binned to whole levels


def test_two_seat_frames_do_not_depend_on_the_seats_table(small_pool: Path,
                                                          tmp_path: Path) -> None:
    """A two-seat run's frames are what they were before the seats table: the same with the
    table as without it (a store written before it), and its seats frame is seats a and b."""
    config = RunConfig.model_validate({
        "seed": 3, "scenario": "ultimatum-4", "condition": "both-images",
        "personas": {"pool": str(small_pool)}, "agents": {"default": {"kind": "surrogate"}},
        "design": {"kind": "factorial", "levels": 7, "per_level": 1},
        "execution": {"progress": "none"}})
    run(config, tmp_path, tmp_path / "run")
    shutil.copytree(tmp_path / "run", tmp_path / "old")
    conn = sqlite3.connect(tmp_path / "old" / "arena.sqlite")
    conn.execute("DROP TABLE seats")
    conn.commit()
    conn.close()
    new, old = load_run(tmp_path / "run"), load_run(tmp_path / "old")
    assert not new.multi_seat
    for name in ("matches", "turns", "proposals", "players"):
        pd.testing.assert_frame_equal(getattr(new, name), getattr(old, name))
    assert len(new.seats) == 98
    pd.testing.assert_frame_equal(new.seats.drop(columns="role"),
                                  old.seats.drop(columns="role"), check_dtype=False)
    assert new.seats["role"].notna().all() and old.seats["role"].isna().all()
    players = new.players.sort_values(["match_id", "seat"]).reset_index(drop=True)
    assert list(players["persona"]) == list(new.seats["persona_id"])
    assert list(players["payoff"]) == list(new.seats["payoff"])
    assert list(players["opp"]) == list(new.seats["others_level"])


def test_a_users_kind_sees_every_other_seat(small_pool: Path, tmp_path: Path) -> None:
    """A user's negotiator class is built with its opponent and, in games of more seats, the
    others after it (seat order), where the condition shows opponents."""
    (tmp_path / "seat_spy.py").write_text('''
import random
from agents.negotiators.random_agent import RandomNegotiator
SEEN = []

class Spy:
    name = "spy"

    def __init__(self, seat):
        SEEN.append((seat.side, seat.persona.persona_id, seat.opponent.persona_id,
                     tuple(o.persona_id for o in seat.others)))
        self.inner = RandomNegotiator(seat.scenario, seat.rng)

    async def act(self, request):
        return await self.inner.act(request)
''')
    config = RunConfig.model_validate({
        "seed": 3, "scenario": "majority-division", "condition": "text",
        "personas": {"pool": str(small_pool)}, "agents": {"default": {"kind": "seat_spy:Spy"}},
        "design": {"kind": "groups", "seats": 3, "matches": 2},
        "execution": {"progress": "none", "workers": 0}})
    try:
        summary = run(config, tmp_path, tmp_path / "run")
        seen = sys.modules["seat_spy"].SEEN
    finally:
        sys.modules.pop("seat_spy", None)
    assert summary.failed == 0 and len(seen) == 18
    seats = table(tmp_path / "run" / "arena.sqlite", "SELECT match_id, seat, persona_id FROM seats")
    groups: dict[str, list[str]] = {}
    for match_id, _, persona in sorted(seats):
        groups.setdefault(match_id, []).append(persona)
    expected = {(side, g[i], *(p for j, p in enumerate(g) if j != i))
                for g in groups.values() for i, side in enumerate("abc")}
    assert {(side, own, opp, *more) for side, own, opp, more in seen} == expected
