"""SIGKILL an LLM run at random moments, inside a store transaction and inside a reply-cache
write, then `--resume`: the tables equal an uninterrupted run's, both SQLite files pass
`PRAGMA integrity_check`, and no reply that reached the cache is bought again.

`tests/test_resume.py` kills offline (surrogate) runs; here the run talks to a loopback model
server in another process, with latency so that there is time to kill it mid-match. Three kills
come at seeded random moments: one 0.2-1.5 s after the start (startup, preflight), two 0-0.6 s
after that segment's first new reply (mid-match). Two come mid-write: a test-only
`sitecustomize` (loaded through PYTHONPATH by the killed run alone; the product code is as
shipped) pauses the run inside its N-th write statement, a random N, to the store (a match's
turns INSERT, inside the match's transaction) or to the reply cache (a reply's INSERT); the test
checks from outside that the paused run holds the SQLite write lock, then sends SIGKILL.

Request accounting. Every call is identified by the per-call seed in its body (`send_seed`). In
each killed segment, every request the server saw either left a new row in the reply cache or
was lost in flight, and a lost request is sent again later (its match is replayed); so
"requests - new cache rows" must equal "requests sent again in a later segment", and the last
segment (not killed) must send exactly one request per new cache row. A reply bought and cached
before a kill and bought again after it would break the equality.
"""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, SURROGATE, match_table, table, turn_table
from tests.llm_helpers import cli_here
from tests.openai_server import start_server_process
from tests.test_llm import env_for, llm_config

SEED = 20240611  # the kill times; printed on failure
LATENCY_MS = 80
CONCURRENCY = 4
N = 25  # 5 x 5 ordered persona pairs
DESIGN = 'kind = "factorial"\nlevels = 5\nper_level = 1\nrepetitions = 1'
MODEL = "send_seed = true"


def _config(folder: Path, pool: Path, base_url: str) -> Path:
    path = llm_config(folder, pool, base_url, design=DESIGN, model=MODEL)
    text = path.read_text()
    assert "concurrency = 16\n" in text
    path.write_text(text.replace("concurrency = 16\n", f"concurrency = {CONCURRENCY}\n"))
    return path


def _state(pid: int) -> str:
    data = Path(f"/proc/{pid}/stat").read_text()
    return data[data.rindex(")") + 2]


def _write_locked(conn: sqlite3.Connection) -> bool:
    """Is another connection inside a write transaction (holding the WAL write lock)?"""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:  # database is locked
        return True
    conn.execute("ROLLBACK")
    return False


FAILPOINT = """
import os, sqlite3, time

_WHERE = os.environ.get("ARENA_TEST_FAILPOINT")  # "store" or "cache"
if _WHERE:
    _FILE = {"store": "arena.sqlite", "cache": "replies.sqlite"}[_WHERE]
    _SQL = {"store": "INSERT INTO turns", "cache": "INSERT OR IGNORE INTO replies"}[_WHERE]
    _NTH = int(os.environ["ARENA_TEST_FAILPOINT_NTH"])
    _MARKER = os.environ["ARENA_TEST_FAILPOINT_MARKER"]
    _connect = sqlite3.connect

    def connect(database, *args, **kwargs):
        conn = _connect(database, *args, **kwargs)
        if os.path.basename(str(database)) == _FILE:
            state = {"sql": "", "seen": 0}

            def trace(sql):
                state["sql"] = sql
                state["seen"] += sql.startswith(_SQL)

            def progress():  # inside the statement's execution, holding the write lock
                if state["sql"].startswith(_SQL) and state["seen"] == _NTH:
                    open(_MARKER, "w").close()
                    time.sleep(600)
                return 0

            conn.set_trace_callback(trace)
            conn.set_progress_handler(progress, 1)
        return conn

    sqlite3.connect = connect
"""


def _kill_inside_write(proc: subprocess.Popen[bytes], db: Path, marker: Path,
                       deadline: float) -> bool:
    """SIGKILL `proc` once it is paused inside its write to `db` and holds the write lock."""
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    conn = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        assert _write_locked(conn), f"paused in a write to {db} without its write lock"
    finally:
        conn.close()
    proc.send_signal(signal.SIGKILL)
    return True


def _rows(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:  # no table yet
        return 0
    finally:
        conn.close()


def _cached(cache: Path) -> int:
    """Replies of the matches in the cache (the vision probes' answers left out)."""
    return _rows(cache / "replies.sqlite",
                 "SELECT COUNT(*) FROM replies WHERE text NOT LIKE 'The shape is %'")


def _chat_seeds(records: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """(call seed, arrival time) of each chat request whose body the server could read."""
    return [(r["body"]["seed"], r["time"]) for r in records
            if r["path"].endswith("/chat/completions") and isinstance(r["body"], dict)
            and "seed" in r["body"]]  # the vision probes carry no seed


def test_sigkill_mid_write_and_at_random_then_resume(tmp_path: Path, small_pool: Path) -> None:
    rng = random.Random(SEED)
    with start_server_process(latency_ms=LATENCY_MS) as whole_server, \
            start_server_process(latency_ms=LATENCY_MS) as server:
        # the uninterrupted run, with its own server and cache, alongside the killed ones
        whole_dir = tmp_path / "whole"
        whole_dir.mkdir()
        whole_config = _config(whole_dir, small_pool, whole_server.base_url)
        whole = subprocess.Popen(
            [sys.executable, "-m", "arena.cli", "run", str(whole_config), "--out",
             str(whole_dir / "out")], cwd=ROOT, env={**os.environ, **env_for(whole_dir)},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        config = _config(tmp_path, small_pool, server.base_url)
        env = {**os.environ, **env_for(tmp_path)}
        out, cache = tmp_path / "out", tmp_path / "cache"
        db = out / "arena.sqlite"
        plan = ["early", "store transaction", "random", "cache write", "random"]
        hooks = tmp_path / "failpoint"
        hooks.mkdir()
        (hooks / "sitecustomize.py").write_text(FAILPOINT)
        segments: list[dict[str, Any]] = []
        seen = 0
        for i, how in enumerate(plan):
            before = _cached(cache)
            args = [sys.executable, "-m", "arena.cli", "run", str(config), "--out", str(out)]
            marker = tmp_path / f"paused-{i}"
            where = {"store transaction": "store", "cache write": "cache"}.get(how)
            failpoint = {} if where is None else {
                "PYTHONPATH": str(hooks), "ARENA_TEST_FAILPOINT": where,
                "ARENA_TEST_FAILPOINT_NTH": str(rng.randint(1, 4)),
                "ARENA_TEST_FAILPOINT_MARKER": str(marker)}
            proc = subprocess.Popen(args + (["--resume"] if i else []), cwd=ROOT,
                                    env={**env, **failpoint}, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            started = time.monotonic()
            deadline = started + 60
            if how == "early":  # startup, preflight or the first requests
                time.sleep(rng.uniform(0.2, 1.5))
                killed = proc.poll() is None
                if killed:
                    proc.send_signal(signal.SIGKILL)
            elif how == "random":  # some time after this segment's first new reply
                while _cached(cache) == before and proc.poll() is None:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, 0.6))
                killed = proc.poll() is None
                if killed:
                    proc.send_signal(signal.SIGKILL)
            else:
                target = db if where == "store" else cache / "replies.sqlite"
                killed = _kill_inside_write(proc, target, marker, deadline)
            kill_time = time.time()
            _, err = proc.communicate(timeout=60)
            assert killed and proc.returncode == -signal.SIGKILL, \
                f"segment {i} ({how}, seed {SEED}) was not killed: {err.decode()[-2000:]}"
            time.sleep(0.3)  # requests already on the wire reach the server's log
            records = server.requests()
            segments.append({"how": how, "kill": kill_time, "requests": _chat_seeds(records[seen:]),
                             "new_rows": _cached(cache) - before})
            seen = len(records)
            for path in (db, cache / "replies.sqlite"):
                if path.exists():
                    assert table(path, "PRAGMA integrity_check") == [("ok",)], (how, path)
        assert _rows(db, "SELECT COUNT(*) FROM matches WHERE status = 'ok'") < N  # interrupted

        before = _cached(cache)
        finish = cli_here("run", str(config), "--out", str(out), "--resume", env=env_for(tmp_path))
        assert finish.returncode == 0, finish.stderr
        segments.append({"how": "resume", "kill": None,
                         "requests": _chat_seeds(server.requests()[seen:]),
                         "new_rows": _cached(cache) - before})
        _, err = whole.communicate(timeout=120)
        assert whole.returncode == 0, err.decode()[-2000:]
        reference = _chat_seeds(whole_server.requests())

    # the tables equal the uninterrupted run's; the files are sound
    assert table(db, "PRAGMA integrity_check") == [("ok",)]
    assert table(cache / "replies.sqlite", "PRAGMA integrity_check") == [("ok",)]
    assert table(db, "SELECT COUNT(*), COUNT(DISTINCT match_id) FROM matches") == [(N, N)]
    assert table(db, "SELECT COUNT(*) FROM turns t LEFT JOIN matches m USING (match_id) "
                     "WHERE m.match_id IS NULL") == [(0,)]
    whole_db = tmp_path / "whole" / "out" / "arena.sqlite"
    assert match_table(db) == match_table(whole_db)
    assert turn_table(db) == turn_table(whole_db)

    # no reply that reached the cache was bought again
    calls = {seed for seed, _ in reference}
    assert len(calls) == len(reference) == N * 8  # one request per call, each call unique
    sent = [{seed for seed, _ in s["requests"]} for s in segments]
    assert set().union(*sent) == calls
    assert _cached(cache) == len(calls)
    report = [(s["how"], len(s["requests"]), s["new_rows"]) for s in segments]
    for i, segment in enumerate(segments):
        later = set().union(*sent[i + 1:])
        lost = [(seed, t) for seed, t in segment["requests"] if seed in later]
        assert len(segment["requests"]) - segment["new_rows"] == len(lost), (i, report)
        if segment["kill"] is not None:  # each lost request was still in flight at the kill
            assert all(t > segment["kill"] - LATENCY_MS / 1000 - 2.0 for _, t in lost), (i, report)
    assert len(segments[-1]["requests"]) == segments[-1]["new_rows"]  # the resume: exactly
    total = sum(len(s["requests"]) for s in segments)
    print("segments (how, requests, new cache rows):", report)
    assert len(calls) <= total <= len(calls) + CONCURRENCY * len(plan), report


# -- a kill while RUN_DIR is being created -------------------------------------------------------


def _leftovers(out: Path, state: str) -> None:
    """What SIGKILL leaves at each step of creating a run folder (see open_run_dir)."""
    from arena.store import Store

    out.mkdir()
    if state == "probe":
        (out / ".write-test").write_text("")
        return
    if state == "config half-written":
        (out / "config.json.tmp").write_text('{"seed": ')
        return
    (out / "config.json").write_text("{}")
    store = Store(out / "arena.sqlite")
    if state == "personas, no meta":
        store.write_personas([("p1", "0" * 64, "x.png", 1, "")])
    store.close()


@pytest.mark.parametrize("state", ["probe", "config half-written", "empty store",
                                   "personas, no meta"])
def test_a_run_killed_while_creating_its_folder_resumes(tmp_path: Path, small_pool: Path,
                                                        state: str) -> None:
    from tests.test_run_config import write_config

    config = write_config(tmp_path, small_pool, SURROGATE)
    whole = cli_here("run", str(config), "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "out"
    _leftovers(out, state)
    resumed = cli_here("run", str(config), "--out", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert match_table(out / "arena.sqlite") == match_table(tmp_path / "whole" / "arena.sqlite")
    assert table(out / "arena.sqlite", "SELECT COUNT(*) FROM personas") == [(14,)]
    assert (out / "config.json").read_text() == (tmp_path / "whole" / "config.json").read_text()
