"""A run from start to end: plan it, open RUN_DIR, play its rounds on one executor into the
store, and sum up. Which executor plays is decided once (arena.executors.choose)."""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from arena.config import RunConfig, in_file
from arena.executors.base import StoreSink
from arena.executors.choose import choose
from arena.progress import Progress
from arena.run_dir import lock_run_dir, open_run_dir, storage_error
from arena.run_health import halted, run_health, verdict
from arena.run_plan import Plan, pending, plan_run
from arena.store import STORE_NAME, Store
from scenarios.errors import InputError


@dataclass
class RunSummary:
    run_dir: str
    planned: int
    already_done: int
    ran: int
    ok: int
    failed: int
    calls: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    llm: dict[str, Any] | None = None  # model requests, cache hits, retries by kind
    invalid_turns: int = 0  # stored turns whose move was unusable (each has its reason)
    workers: int = 0  # worker processes that played (0: this process; see [execution] workers)
    health: dict[str, Any] | None = None  # see run_health
    halted: str | None = None  # why a model stopped taking requests (the run was stopped)
    verdict: str | None = None  # why the run's evidence is not to be trusted (non-zero exit)
    budget: dict[str, Any] | None = None  # limits, what was spent, why it stopped (arena.budget)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        llm = self.llm or {}
        # `calls` and the token counts are the store's totals (all parts of a resumed run);
        # `this_run` is what this invocation sent
        out["store_totals"] = {"matches": self.already_done + self.ok, "calls": self.calls,
                               "prompt_tokens": self.prompt_tokens,
                               "completion_tokens": self.completion_tokens}
        out["this_run"] = {"matches": self.ran, "requests": llm.get("requests", 0),
                           "cache_hits": llm.get("cache_hits", 0),
                           "prompt_tokens": llm.get("prompt_tokens", 0),
                           "completion_tokens": llm.get("completion_tokens", 0)}
        return out


def play_rounds(plan: Plan, store: Store, sink: StoreSink) -> None:
    """Play the plan's matches not yet stored as ok, round by round, on one executor."""
    done = store.match_ids("ok")
    executor = None
    try:
        for specs in plan.rounds(store.ok_shares):
            todo = pending(plan, done, specs)
            if executor is None:  # chosen once, for the whole run
                executor = choose(plan, plan.planned - len(done) if plan.paired_by_results
                                  else len(todo))
            if todo:
                executor.play(todo, sink)
                plan.workers_used = max(plan.workers_used, executor.workers)
            sink.flush()  # a round's results are stored before the next is paired
            done = store.match_ids("ok") if plan.paired_by_results else done
    finally:
        sink.flush()
        if executor is not None:
            executor.close()


def _before_first_match(plan: Plan, store: Store) -> None:
    """Record the vision probe, and run the manipulation checks not yet stored."""
    llm = plan.factory.llm
    if llm is None:
        return
    if llm.probes or llm.probe_skipped:
        record = {"skipped": True} if llm.probe_skipped else [p.as_dict() for p in llm.probes]
        store.set_meta({"vision_probe": json.dumps(record)})
    if not plan.config.execution.manipulation_check:
        return
    from arena.llm_context import manipulation_checks

    done = {row[0] for row in store.conn.execute("SELECT persona_id FROM manipulation_checks")}
    personas = [plan.personas[pid] for pid in sorted(plan.players() - done)
                if pid in plan.personas]
    checks = manipulation_checks(llm, personas)
    with store._transaction():
        store.conn.executemany(
            "INSERT OR REPLACE INTO manipulation_checks(persona_id, model, answer, score, "
            "created_at) VALUES (?, ?, ?, ?, ?)",
            [(c.persona_id, c.model, c.answer, c.score, time.time()) for c in checks])


def _replies_kept(plan: Plan) -> str:
    """Where the replies of the matches that could not be stored are (the resume replays them)."""
    llm = plan.factory.llm
    cache = getattr(llm, "cache", None)
    if llm is None:
        return ""
    if cache is None:
        return " (the reply cache is off: replies of unstored matches are bought again)"
    cache.flush()
    if cache.unsaved:
        return (f" ({cache.unsaved:,} replies could not be written to the reply cache "
                f"{cache.path} either: give [cache] dir on another disk)")
    return f" and every reply bought is in the reply cache {cache.path}, so a resume buys none again"


def run(config: RunConfig, base: Path, run_dir: Path, resume: bool = False,
        progress_mode: str | None = None, llm: Any = None,
        skip_probe: bool = False) -> RunSummary:
    started = time.perf_counter()
    plan = plan_run(config, base, llm, probe=False)  # probed below, once resume allows it
    if config.execution.executor == "ray":
        from arena.executors.ray import preflight

        preflight(config.execution.ray_address)  # before the run folder is made
    if plan.factory.llm is not None and llm is None:
        from arena.llm_context import image_models, probe_vision

        if resume and (run_dir / STORE_NAME).exists():  # a changed config: refused unprobed
            open_run_dir(plan, run_dir, resume).close()
        if skip_probe:
            plan.factory.llm.probe_skipped = bool(image_models(config))
        else:
            try:
                with in_file(config._source):
                    probe_vision(plan.factory.llm)
            except BaseException:
                plan.factory.llm.close()
                raise
    store = open_run_dir(plan, run_dir, resume)
    lock = lock_run_dir(run_dir, store)
    try:
        _before_first_match(plan, store)
        from arena.budget import start as start_budget

        plan.budget = start_budget(plan, store)
        already = len(store.match_ids("ok"))
        progress = Progress(plan.planned - already, progress_mode or config.execution.progress)
        sink = StoreSink(store, progress)
        try:
            play_rounds(plan, store, sink)
        finally:
            progress.close()
        row = store.conn.execute(
            "SELECT COALESCE(SUM(calls),0), COALESCE(SUM(prompt_tokens),0), "
            "COALESCE(SUM(completion_tokens),0), "
            "(SELECT COUNT(*) FROM turns WHERE move_kind = 'invalid') FROM matches").fetchone()
        llm_stats = plan.factory.llm.stats() if plan.factory.llm is not None else None
        health = run_health(store, llm_stats)
        store.set_meta({"run_health": json.dumps(health)})
    except sqlite3.OperationalError as error:
        if not storage_error(error):
            raise
        raise InputError(f"{run_dir}: cannot write {STORE_NAME} ({error}); the matches stored "
                         f"before are kept{_replies_kept(plan)}: make room and rerun with "
                         "--resume") from None
    finally:
        store.close()
        lock.close()
        if plan.factory.llm is not None:
            plan.factory.llm.close()
    return RunSummary(str(run_dir), plan.planned, already, sink.ok + sink.failed, sink.ok,
                      sink.failed, row[0], row[1], row[2], time.perf_counter() - started,
                      llm_stats, row[3], plan.workers_used, health, halted(llm_stats),
                      verdict(health, config.execution.max_invalid_share),
                      plan.budget.as_dict() if plan.budget is not None else None)
