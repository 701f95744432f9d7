"""Tournaments: plan a design's matches, run them concurrently, commit each, resume after a crash."""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agents.persona import Persona
from arena.config import RunConfig, resolved_json
from arena.designs import Entrant, expand, shuffled
from arena.factory import AgentFactory
from arena.match import MatchSpec, play_match
from arena.personas import load_personas
from arena.progress import Progress
from arena.store import Store
from scenarios.errors import InputError
from scenarios.loader import Scenario, load_scenario

STORE_NAME = "arena.sqlite"


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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    """Everything a run needs, checked before anything is written."""

    config: RunConfig
    base: Path
    scenario: Scenario
    personas: dict[str, Persona]
    specs: list[MatchSpec]
    factory: AgentFactory
    match_list_sha256: str


def plan_run(config: RunConfig, base: Path, llm: Any = None, check_models: bool = True) -> Plan:
    """Check everything and expand the design; with LLM agents, build their model context once
    (clients, reply cache, encoded images) and, when `check_models`, probe each endpoint."""
    scenario = load_scenario(config.scenario, base)
    if config.prompts:
        scenario = scenario.with_prompts(config.prompts)
    pool = (base / config.personas.pool).resolve()
    ratings_file = (base / config.personas.ratings_file) if config.personas.ratings_file else None
    personas = load_personas(pool, config.personas.rating, config.design.levels, ratings_file)
    by_id = {p.persona_id: p for p in personas}
    if llm is None and any(a.kind == "llm" for a in config.agents.values()):
        from arena.llm_context import build_llm_context

        llm = build_llm_context(config, base, scenario, by_id, check=check_models)
    entrants = [Entrant(p.persona_id, p.level) for p in personas if p.level is not None]
    factory = AgentFactory(config, scenario, by_id, llm)
    specs = expand(config.design, entrants, config.seed, config.teams_differ)
    digest = hashlib.sha256()
    digest.update(json.dumps([scenario.name, config.condition, config.seed,
                              [factory.label(t) for t in factory.teams()]]).encode())
    for spec in specs:
        digest.update(f"\n{spec.match_id}:{spec.seed}".encode())
    return Plan(config, base, scenario, by_id, specs, factory, digest.hexdigest())


def open_run_dir(plan: Plan, run_dir: Path, resume: bool) -> Store:
    """Create or reopen RUN_DIR; refuse to mix runs of different configs."""
    path = run_dir / STORE_NAME
    if path.exists():
        if not resume:
            raise InputError(f"{run_dir}: already holds a run; use --resume to finish it, "
                             "or choose another --out")
        store = Store(path)
        previous = store.get_meta("match_list_sha256")
        if previous != plan.match_list_sha256:
            store.close()
            raise InputError(f"{run_dir}: holds a run of a different config (its match list "
                             "differs); finish it with its own config or choose another --out")
        return store
    if resume and run_dir.exists() and any(run_dir.iterdir()):
        raise InputError(f"{run_dir}: no {STORE_NAME} to resume")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise InputError(f"{run_dir}: cannot write the run folder ({error.strerror})") from None
    _write_atomic(run_dir / "config.json", resolved_json(plan.config, plan.base))
    store = Store(path)
    store.write_personas((p.persona_id, p.image_sha256, str(p.image) if p.image else None,
                          p.level, p.description) for p in plan.personas.values())
    _write_ratings(store, plan.personas.values())
    store.set_meta({"match_list_sha256": plan.match_list_sha256,
                    "planned_matches": str(len(plan.specs)),
                    "scenario": plan.scenario.name, "condition": plan.config.condition,
                    "design": plan.config.design.kind, "seed": str(plan.config.seed),
                    "config": resolved_json(plan.config, plan.base)})
    return store


def _write_ratings(store: Store, personas: Any) -> None:
    rows = [(p.persona_id, rater, score, "", "", "", time.time())
            for p in personas for rater, score in p.ratings.items()]
    with store._transaction():
        store.conn.executemany(
            "INSERT OR REPLACE INTO ratings(persona_id, rater, score, raw, model, prompt_sha256, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


async def execute(plan: Plan, store: Store, concurrency: int, progress: Progress) -> tuple[int, int]:
    """Run every planned match not yet stored as ok; return (ok, failed) counts of this call."""
    done = store.match_ids("ok")
    todo = [s for s in shuffled(plan.specs, plan.config.seed) if s.match_id not in done]
    factory, scenario, condition = plan.factory, plan.scenario, plan.config.condition
    counts = {"ok": 0, "failed": 0}

    async def one(spec: MatchSpec) -> None:
        neg_a = factory.build(spec.agent_a, "a", spec.persona_a, spec.persona_b, spec.seed)
        neg_b = factory.build(spec.agent_b, "b", spec.persona_b, spec.persona_a, spec.seed)
        labels = (factory.label(spec.agent_a), factory.label(spec.agent_b))
        row = await play_match(spec, scenario, neg_a, neg_b, condition, labels)
        store.write_match(row)
        status = row.match[12]
        counts[status] += 1
        progress.update(status == "ok", row.match[21] or 0,
                        (row.match[22] or 0) + (row.match[23] or 0))

    if factory.offline or concurrency <= 1:
        for spec in todo:  # nothing here ever waits: skip the task machinery
            await one(spec)
    else:
        queue: asyncio.Queue[MatchSpec] = asyncio.Queue()
        for spec in todo:
            queue.put_nowait(spec)

        async def worker() -> None:
            while True:
                try:
                    spec = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await one(spec)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(todo)) or 1)))
    return counts["ok"], counts["failed"]


def run(config: RunConfig, base: Path, run_dir: Path, resume: bool = False,
        progress_mode: str | None = None, llm: Any = None) -> RunSummary:
    started = time.perf_counter()
    plan = plan_run(config, base, llm)
    store = open_run_dir(plan, run_dir, resume)
    try:
        already = len(store.match_ids("ok"))
        progress = Progress(len(plan.specs) - already, progress_mode or config.execution.progress)
        try:
            if config.execution.executor == "ray":
                from arena.ray_executor import execute_on_ray

                ok, failed = execute_on_ray(plan, store, progress)
            else:
                ok, failed = asyncio.run(execute(plan, store, config.execution.concurrency,
                                                 progress))
        finally:
            progress.close()
        row = store.conn.execute(
            "SELECT COALESCE(SUM(calls),0), COALESCE(SUM(prompt_tokens),0), "
            "COALESCE(SUM(completion_tokens),0) FROM matches").fetchone()
    finally:
        store.close()
    return RunSummary(str(run_dir), len(plan.specs), already, ok + failed, ok, failed,
                      row[0], row[1], row[2], time.perf_counter() - started)
