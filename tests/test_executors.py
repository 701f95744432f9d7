"""Every design runs on every executor: a swiss tournament (paired round by round from the
stored results) stores the same tables in this process and in worker processes, offline and
with LLM agents; the one executor is chosen once and its workers play every round."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from arena.config import RunConfig
from arena.executors.choose import choose
from arena.executors.local import InProcessExecutor
from arena.executors.workers import WorkerExecutor, pool_size
from arena.run_plan import plan_run
from arena.tournament import run

from tests.helpers import cli, match_table, table, turn_table
from tests.test_llm import env_for, llm_config, run_json

SWISS = {"kind": "swiss", "levels": 7, "per_level": 2, "rounds": 3, "repetitions": 2}


def _config(pool: Path, workers: int | None) -> RunConfig:
    return RunConfig.model_validate({
        "seed": 7, "scenario": "ultimatum-4", "condition": "both-images",
        "personas": {"pool": str(pool)}, "agents": {"default": {"kind": "surrogate"}},
        "design": SWISS, "execution": {"progress": "none", "workers": workers}})


def test_swiss_in_worker_processes_stores_what_one_process_stores(
        small_pool: Path, tmp_path: Path) -> None:
    runs = {}
    for workers in (0, 2):
        summary = run(_config(small_pool, workers), tmp_path, tmp_path / f"w{workers}")
        assert summary.ran == summary.planned == 7 * 3 * 2 and summary.failed == 0
        assert summary.workers == workers
        db = tmp_path / f"w{workers}" / "arena.sqlite"
        runs[workers] = (match_table(db), turn_table(db),
                         table(db, "SELECT match_id FROM matches ORDER BY rowid"))
    assert runs[0] == runs[2]
    rounds = {mid.split("-")[2] for (mid,) in runs[0][2]}
    assert rounds == {"t1", "t2", "t3"}  # later rounds were paired from stored results


def test_the_executor_is_chosen_once_by_one_sizing_rule(small_pool: Path, tmp_path: Path) -> None:
    plan = plan_run(_config(small_pool, None), tmp_path)
    assert pool_size(plan, plan.planned) == 0
    assert isinstance(choose(plan, plan.planned), InProcessExecutor)
    plan = plan_run(_config(small_pool, 3), tmp_path)
    executor = choose(plan, plan.planned)
    assert isinstance(executor, WorkerExecutor) and executor.workers == 3
    executor.close()  # never started: nothing to stop


def test_swiss_with_llm_agents_in_worker_processes(tmp_path: Path, small_pool: Path,
                                                   loopback: Any) -> None:
    design = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in SWISS.items())
    tables = {}
    for workers in (0, 2):
        config = llm_config(tmp_path, small_pool, loopback.base_url, design=design,
                            name=f"w{workers}.toml", cache=f"workers = {workers}")
        result = cli("run", str(config), "--out", str(tmp_path / f"out{workers}"), "--json",
                     env=env_for(tmp_path / f"c{workers}"))
        assert result.returncode == 0, result.stderr
        summary = run_json(result)
        assert summary["workers"] == workers and summary["ok"] == 42
        db = tmp_path / f"out{workers}" / "arena.sqlite"
        tables[workers] = (match_table(db), turn_table(db))
    assert tables[0] == tables[2]
