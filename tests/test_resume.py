"""Killing a run with SIGKILL at several points and resuming it gives the uninterrupted tables."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import ROOT, cli, match_table, table, turn_table
from tests.test_run_config import write_config

BIG = '''seed = 9
scenario = "ultimatum-4"
[design]
kind = "factorial"
levels = 7
per_level = 2
repetitions = 20
[agents.default]
kind = "surrogate"
'''


def _stored(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
        try:
            return conn.execute("SELECT COUNT(*) FROM matches").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _run_until(config: Path, out: Path, stop_after: int, resume: bool) -> None:
    """Start a run and SIGKILL it once at least `stop_after` matches are stored."""
    args = [sys.executable, "-m", "arena.cli", "run", str(config), "--out", str(out)]
    proc = subprocess.Popen(args + (["--resume"] if resume else []), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = out / "arena.sqlite"
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if _stored(db) >= stop_after:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=30)


def test_sigkill_and_resume_equal_an_uninterrupted_run(tmp_path: Path, small_pool: Path) -> None:
    config = write_config(tmp_path, small_pool, BIG)
    whole = cli("run", str(config), "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    total = 14 * 14 * 20
    out = tmp_path / "killed"
    first = True
    for stop_after in (1, 300, 1500, 2600, 3500):
        _run_until(config, out, stop_after, resume=not first)
        first = False
    stored_before = _stored(out / "arena.sqlite")
    assert stored_before < total  # it really was interrupted
    finish = cli("run", str(config), "--out", str(out), "--resume")
    assert finish.returncode == 0, finish.stderr
    db = out / "arena.sqlite"
    assert table(db, "PRAGMA integrity_check") == [("ok",)]
    assert table(db, "SELECT COUNT(*), COUNT(DISTINCT match_id) FROM matches") == [(total, total)]
    assert table(db, "SELECT COUNT(*) FROM turns t LEFT JOIN matches m USING (match_id) "
                     "WHERE m.match_id IS NULL") == [(0,)]  # no orphan turns
    assert match_table(db) == match_table(tmp_path / "whole" / "arena.sqlite")
    assert turn_table(db) == turn_table(tmp_path / "whole" / "arena.sqlite")


def test_a_second_run_into_the_same_folder_is_refused(tmp_path: Path, small_pool: Path) -> None:
    """Two runs must not write one store at once: the second gets one line and exit 2."""
    slow = BIG.replace("repetitions = 20", "repetitions = 60") + "[execution]\nworkers = 0\n"
    config = write_config(tmp_path, small_pool, slow)
    out = tmp_path / "shared"
    first = subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                              str(out)], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while _stored(out / "arena.sqlite") < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert first.poll() is None, "the first run ended before the second could start"
        second = cli("run", str(config), "--out", str(out), "--resume")
        assert second.returncode == 2, second.stderr
        assert "another persona-arena run is writing" in second.stderr
        assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0
    assert table(out / "arena.sqlite", "SELECT COUNT(*) FROM matches") == [(14 * 14 * 60,)]
