"""Offline matches played in worker processes store exactly what one process would."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from arena.config import RunConfig
from arena.executors.workers import chunks, workers_for
from arena.tournament import plan_run, run

from tests.helpers import ROOT, live_processes, match_table, table, turn_table


def _config(pool: Path, workers: int | None, design: dict, condition: str) -> RunConfig:
    return RunConfig.model_validate({
        "seed": 5, "scenario": "ultimatum-4", "condition": condition,
        "personas": {"pool": str(pool)},
        "agents": {"default": {"kind": "surrogate", "fit": "gpt-4o"}},
        "design": design, "execution": {"progress": "none", "workers": workers}})


@pytest.mark.parametrize("design, condition", [
    ({"kind": "factorial", "levels": 7, "per_level": 2, "repetitions": 2}, "both-images"),
    ({"kind": "confederate", "levels": 7, "repetitions": 3}, "self-only"),
])
def test_worker_processes_store_the_same_tables_in_the_same_order(
        small_pool: Path, tmp_path: Path, design: dict, condition: str) -> None:
    runs = {}
    for workers in (0, 2):
        run_dir = tmp_path / f"w{workers}"
        summary = run(_config(small_pool, workers, design, condition), tmp_path, run_dir)
        assert summary.failed == 0 and summary.ran == summary.planned
        db = run_dir / "arena.sqlite"
        order = table(db, "SELECT match_id FROM matches ORDER BY rowid")
        runs[workers] = (match_table(db), turn_table(db), order)
    assert runs[0] == runs[2]


def test_workers_only_for_offline_agents_and_large_runs(small_pool: Path, tmp_path: Path) -> None:
    design = {"kind": "factorial", "levels": 7, "per_level": 2}
    plan = plan_run(_config(small_pool, None, design, "both-images"), tmp_path)
    assert workers_for(plan, 100) == 0  # auto: too few matches to pay for starting processes
    plan = plan_run(_config(small_pool, 0, design, "both-images"), tmp_path)
    assert workers_for(plan, 10**6) == 0
    plan = plan_run(_config(small_pool, 3, design, "both-images"), tmp_path)
    assert workers_for(plan, 10) == 3 and workers_for(plan, 0) == 0
    specs = plan.specs * 20
    parts = chunks(specs, 3)
    assert [s for part in parts for s in part] == specs  # consecutive, nothing lost


def test_a_script_without_a_main_guard_can_use_workers(small_pool: Path, tmp_path: Path) -> None:
    """Workers are `python -m arena.processes`, so a user's script is never re-imported."""
    script = tmp_path / "study.py"
    script.write_text(textwrap.dedent(f"""
        from pathlib import Path
        from arena.config import RunConfig
        from arena.tournament import run
        config = RunConfig.model_validate({{
            "scenario": "ultimatum-4", "condition": "both-images",
            "personas": {{"pool": {str(small_pool)!r}}},
            "agents": {{"default": {{"kind": "surrogate"}}}},
            "design": {{"kind": "factorial", "levels": 7, "per_level": 2}},
            "execution": {{"progress": "none", "workers": 1}}}})
        print(run(config, Path("."), Path({str(tmp_path / "out")!r})).ok)
        """))
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(14 * 14)


def _children(pid: int) -> list[int]:
    return [child for child, _, parent, _ in live_processes() if parent == pid]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigkill_with_workers_then_resume_equals_an_uninterrupted_run(
        small_pool: Path, tmp_path: Path) -> None:
    import os
    import signal
    import time

    from tests.helpers import cli
    from tests.test_resume import BIG, _stored
    from tests.test_run_config import write_config

    config = write_config(tmp_path, small_pool, BIG + "[execution]\nworkers = 1\n")
    whole = cli("run", str(config), "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    out, db = tmp_path / "killed", tmp_path / "killed" / "arena.sqlite"
    for stop_after, resume in ((500, False), (2000, True)):
        args = [sys.executable, "-m", "arena.cli", "run", str(config), "--out", str(out)]
        proc = subprocess.Popen(args + (["--resume"] if resume else []), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline, workers = time.monotonic() + 60, []
        while proc.poll() is None and time.monotonic() < deadline:
            if _stored(db) >= stop_after:
                workers = _children(proc.pid)
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
        proc.wait(timeout=30)
        assert workers, "the run had no worker process when it was killed"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
            time.sleep(0.05)
        for w in workers:  # an orphaned worker reads end of input and exits (or is a zombie)
            status = Path(f"/proc/{w}/stat")
            assert not status.exists() or status.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    assert 0 < _stored(db) < 14 * 14 * 20
    finish = cli("run", str(config), "--out", str(out), "--resume")
    assert finish.returncode == 0, finish.stderr
    assert table(db, "PRAGMA integrity_check") == [("ok",)]
    assert match_table(db) == match_table(tmp_path / "whole" / "arena.sqlite")
    assert turn_table(db) == turn_table(tmp_path / "whole" / "arena.sqlite")
