"""Typed records at the store's edge: what the engine makes is what the store writes and reads
back, field by field, in the schema's column order; call counters add up across processes."""
from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from agents.models.stats import CallStats
from agents.negotiators.confederate import Confederate
from arena.store import MATCH_COLUMNS, TURN_COLUMNS, MatchRecord, MatchRow, Store, TurnRecord
from scenarios.loader import load_scenario
from scenarios.moves import Move, MoveKind
from tests.test_engine import Scripted, _play


def _row() -> MatchRow:
    prompts = load_scenario("ultimatum-4").prompts
    side = Scripted([Move(MoveKind.PROPOSE, 70.0), Move(MoveKind.REJECT),
                     Move(MoveKind.PROPOSE, 65.0), Move(MoveKind.ACCEPT)])
    return _play("ultimatum-4", side, Confederate(prompts))


def test_records_round_trip_through_the_store(tmp_path: Path) -> None:
    row = _row()
    assert isinstance(row.match, MatchRecord) and all(isinstance(t, TurnRecord) for t in row.turns)
    with Store(tmp_path / "s.sqlite") as store:
        store.write_match(row)
        assert store.read_matches() == [row.match] and store.read_matches("failed") == []
        assert store.read_turns(row.match_id) == list(row.turns)
        assert [t.turn_index for t in store.read_turns(row.match_id)] == list(range(8))


def test_record_fields_are_the_tables_columns_in_order(tmp_path: Path) -> None:
    Store(tmp_path / "s.sqlite").close()
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    for table, columns in (("matches", MATCH_COLUMNS), ("turns", TURN_COLUMNS)):
        assert tuple(r[1] for r in conn.execute(f"PRAGMA table_info({table})")) == columns
    conn.close()


def test_call_stats_add_and_subtract() -> None:
    before = CallStats(requests=3, replies=2, retries=Counter({"429": 1}))
    after = before.copy()
    after.requests += 4
    after.retries["timeout"] += 2
    after.halted = "stopped"
    gained = after - before
    assert (gained.requests, gained.replies, dict(gained.retries), gained.halted) == \
        (4, 0, {"timeout": 2}, "stopped")
    assert before.requests == 3 and before.retries == Counter({"429": 1})  # copies, not views
    total = CallStats(requests=10) + gained
    assert (total.requests, dict(total.retries), total.halted) == (14, {"timeout": 2}, "stopped")
    assert (before + gained).as_dict() == after.as_dict()


def test_a_closed_store_is_one_file_that_reads_leave_as_they_found_it(tmp_path: Path) -> None:
    from arena.store import StoreReader

    path = tmp_path / "arena.sqlite"
    with Store(path) as store:
        store.set_meta({"k": "v"})
        assert (tmp_path / "arena.sqlite-wal").exists()  # WAL while the run writes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arena.sqlite"]
    with StoreReader(path) as reader:
        assert reader.meta()["k"] == "v"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arena.sqlite"]
    with Store(path) as store:  # a resumed run writes in WAL again
        mode = store.conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal" and store.get_meta("k") == "v"
