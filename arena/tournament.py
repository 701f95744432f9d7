"""Tournaments: plan a design's matches, run them concurrently, commit each, resume after a crash."""
from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agents.models.cache import resolve_cache_dir
from agents.personas.persona import Persona
from arena.config import RunConfig, check_scenario, in_file, resolved_json
from arena.designs import Entrant, expand, select_per_level, shuffled
from arena.factory import AgentFactory
from arena.identity import META_KEY as IDENTITY_KEY, canonical, check_resume, request_identity
from arena.llm_processes import llm_workers_for, play_llm_in_processes
from arena.match import MatchSpec, play_match
from arena.personas import load_personas
from arena.processes import play_in_processes, workers_for
from arena.progress import Progress
from arena.store import MatchRow, Store
from arena.swiss import swiss_round, swiss_rounds
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
    llm: dict[str, Any] | None = None  # model requests, cache hits, retries by kind
    invalid_turns: int = 0  # stored turns whose move was unusable (each has its reason)
    workers: int = 0  # worker processes that played (0: this process; see [execution] workers)
    health: dict[str, Any] | None = None  # see run_health
    halted: str | None = None  # why a model stopped taking requests (the run was stopped)
    budget: dict[str, Any] | None = None  # limits, what was spent, why it stopped (arena.budget)
    verdict: str | None = None  # why the run's evidence is not to be trusted (non-zero exit)

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
    entrants: list[Entrant] | None = None  # swiss: who is paired, round by round
    workers_used: int = 0  # the most worker processes that played this run's matches
    budget: Any = None  # arena.budget.Budget, when [execution] sets one (checked per match)

    @property
    def planned(self) -> int:
        if self.config.design.kind != "swiss" or self.entrants is None:
            return len(self.specs)
        n = len(self.entrants)
        rounds = swiss_rounds(n, self.config.design.rounds, self.config._source)
        return (n // 2) * rounds * self.config.design.repetitions


def scenario_and_personas(config: RunConfig,
                          base: Path) -> tuple[Scenario, Path, dict[str, Persona]]:
    """The config's scenario (with its prompt overrides), pool folder and personas by id."""
    scenario = load_scenario(config.scenario, base)
    if config.prompts:
        scenario = scenario.with_prompts(config.prompts, config._source)
    check_scenario(config, scenario)
    pool = (base / config.personas.pool).resolve()
    ratings_file = (base / config.personas.ratings_file) if config.personas.ratings_file else None
    checks_dir = (resolve_cache_dir(config.cache.dir, base) if config.cache.enabled else None)
    personas = load_personas(pool, config.personas.rating, config.design.levels, ratings_file,
                             checks_dir, tuple(config.personas.scale))  # type: ignore[arg-type]
    return scenario, pool, {p.persona_id: p for p in personas}


def plan_run(config: RunConfig, base: Path, llm: Any = None, check_models: bool = True,
             probe: bool = True) -> Plan:
    """Check everything and expand the design; with LLM agents, build their model context once
    (clients, reply cache, encoded images) and, when `check_models`, check each endpoint (and,
    with `probe`, that models sent images can see them). Errors name the config file."""
    with in_file(config._source):
        return _plan_run(config, base, llm, check_models, probe)


def _plan_run(config: RunConfig, base: Path, llm: Any, check_models: bool,
              probe: bool) -> Plan:
    scenario, _, by_id = scenario_and_personas(config, base)
    personas = list(by_id.values())
    if llm is None and any(a.kind == "llm" for a in config.agents.values()):
        from arena.llm_context import build_llm_context

        llm = build_llm_context(config, base, scenario, by_id, check=check_models, probe=probe)
    entrants = [Entrant(p.persona_id, p.level) for p in personas if p.level is not None]
    factory = AgentFactory(config, scenario, by_id, llm, config_dir=base)
    if config.design.kind == "swiss":
        entrants = select_per_level(entrants, config.design.levels, config.design.per_level,
                                    config.seed)
        swiss_rounds(len(entrants), config.design.rounds, config._source)  # before any write
        specs = []  # planned round by round from the results so far
    else:
        specs = expand(config.design, entrants, config.seed, config.teams_differ)
    digest = hashlib.sha256()
    digest.update(json.dumps([scenario.name, config.condition, config.seed,
                              [factory.label(t) for t in factory.teams()]]).encode())
    for spec in specs:
        digest.update(f"\n{spec.match_id}:{spec.seed}".encode())
    if config.design.kind == "swiss":
        rounds = swiss_rounds(len(entrants), config.design.rounds, config._source)
        digest.update(json.dumps(["swiss", rounds, config.design.repetitions,
                                  [e.persona_id for e in entrants]]).encode())
    return Plan(config, base, scenario, by_id, specs, factory, digest.hexdigest(), entrants)


# what a run writes into RUN_DIR before its store holds the run's identity (meta)
_CREATION_FILES = frozenset({"config.json", "config.json.tmp", ".write-test"})


def open_run_dir(plan: Plan, run_dir: Path, resume: bool) -> Store:
    """Create or reopen RUN_DIR; refuse to mix runs of different configs."""
    path = run_dir / STORE_NAME
    if path.exists():
        if not resume:
            raise InputError(f"{run_dir}: already holds a run; use --resume to finish it, "
                             "or choose another --out")
        try:
            store = Store(path)
            previous = store.get_meta("match_list_sha256")
            unfinished = previous is None and store.count("matches") == 0
        except sqlite3.DatabaseError as error:
            raise InputError(f"{path}: not a readable run store ({error})") from None
        if unfinished:  # killed while the run folder was being created: create it anew
            with store._transaction():
                store.conn.execute("DELETE FROM ratings")
                store.conn.execute("DELETE FROM personas")
            _write_atomic(run_dir / "config.json", resolved_json(plan.config, plan.base))
            _initialise(store, plan)
            return store
        try:  # the request identity first: it names what changed
            check_resume(store.get_meta(IDENTITY_KEY), plan, run_dir)
        except InputError:
            store.close()
            raise
        if previous != plan.match_list_sha256:
            store.close()
            raise InputError(f"{run_dir}: holds a run of a different config (its match list "
                             "differs); finish it with its own config or choose another --out")
        return store
    if resume and run_dir.exists() and any(p.name not in _CREATION_FILES
                                           for p in run_dir.iterdir()):
        raise InputError(f"{run_dir}: no {STORE_NAME} to resume")
    created = not run_dir.exists()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise InputError(f"{run_dir}: cannot write the run folder ({error.strerror})") from None
    store = None
    try:
        _write_atomic(run_dir / "config.json", resolved_json(plan.config, plan.base))
        store = Store(path)
        _initialise(store, plan)
    except (OSError, sqlite3.OperationalError) as error:
        if store is not None:
            store.close()
        if not storage_error(error):
            raise
        for name in (*_CREATION_FILES, STORE_NAME, f"{STORE_NAME}-wal", f"{STORE_NAME}-shm",
                     f"{STORE_NAME}-journal"):  # leave no half-made run folder behind
            (run_dir / name).unlink(missing_ok=True)
        if created:
            run_dir.rmdir()
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise InputError(f"{run_dir}: cannot write the run folder ({reason})") from None
    return store


def storage_error(error: BaseException) -> bool:
    """A write the disk refused (full, read-only, I/O error), as opposed to a bug of ours."""
    if isinstance(error, sqlite3.OperationalError):
        return (getattr(error, "sqlite_errorname", "") or "").startswith(
            ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN"))
    return isinstance(error, OSError) and error.errno in (
        errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def _initialise(store: Store, plan: Plan) -> None:
    """Personas, ratings, and last the meta that marks the store as this run's."""
    store.write_personas((p.persona_id, p.image_sha256, str(p.image) if p.image else None,
                          p.level, p.description) for p in plan.personas.values())
    _write_ratings(store, plan.personas.values())
    store.set_meta({"match_list_sha256": plan.match_list_sha256,
                    "planned_matches": str(plan.planned),
                    "scenario": plan.scenario.name, "condition": plan.config.condition,
                    "design": plan.config.design.kind, "seed": str(plan.config.seed),
                    "config": resolved_json(plan.config, plan.base),
                    # the rules' numbers (pie, prices, items) for the analysis, without prompts
                    "scenario_spec": plan.scenario.spec.model_dump_json(exclude={"prompts"}),
                    IDENTITY_KEY: canonical(request_identity(plan))})


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


def pending(plan: Plan, store: Store, specs: list[MatchSpec] | None = None) -> list[MatchSpec]:
    """The planned matches not yet stored as ok, in the run's seeded order (every executor's)."""
    done = store.match_ids("ok")
    specs = plan.specs if specs is None else specs
    return [s for s in shuffled(specs, plan.config.seed) if s.match_id not in done]


def record(store: Store, progress: Progress, row: MatchRow) -> bool:
    """Commit one finished match and count it; True when it is ok. Only the one writer calls it."""
    store.write_match(row)
    ok = row.match[12] == "ok"
    turns = row.turns
    progress.update(ok, row.match[21] or 0, (row.match[22] or 0) + (row.match[23] or 0),
                    len(turns), sum(1 for t in turns if t[11] == 0))
    return ok


async def play_specs(plan: Plan, specs: list[MatchSpec], concurrency: int,
                     on_row: Callable[[MatchRow], None]) -> None:
    """Play `specs` (concurrently up to `concurrency`; in turn for offline agents) and hand each
    finished match to `on_row`; the local executor stores it, a Ray worker collects it."""
    factory, scenario, condition = plan.factory, plan.scenario, plan.config.condition

    budget = plan.budget

    async def one(spec: MatchSpec) -> None:
        if budget is not None and not await budget.admit():
            return  # it could pass the budget: left for a resume with a larger one
        row = None
        try:
            neg_a = factory.build(spec.agent_a, "a", spec.persona_a, spec.persona_b, spec.seed)
            neg_b = factory.build(spec.agent_b, "b", spec.persona_b, spec.persona_a, spec.seed)
            labels = (factory.label(spec.agent_a), factory.label(spec.agent_b))
            row = await play_match(spec, scenario, neg_a, neg_b, condition, labels)
        finally:
            if budget is not None:
                await budget.settle(row)
        on_row(row)

    if factory.offline or concurrency <= 1:
        for spec in specs:  # nothing here ever waits: skip the task machinery
            await one(spec)
    else:
        queue: asyncio.Queue[MatchSpec] = asyncio.Queue()
        for spec in specs:
            queue.put_nowait(spec)

        async def worker() -> None:
            while True:
                try:
                    spec = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await one(spec)

        tasks = [asyncio.ensure_future(worker())
                 for _ in range(min(concurrency, len(specs)) or 1)]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            # one match could not be stored (a full disk) or we were cancelled: stop the others
            # now, inside this loop, so that the requests they already sent become orphans the
            # model context waits for and caches (`aclose`): a paid reply is never dropped
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise


async def execute(plan: Plan, store: Store, concurrency: int, progress: Progress,
                  specs: list[MatchSpec] | None = None) -> tuple[int, int]:
    """Run every planned match (or `specs`) not yet stored as ok; return (ok, failed) counts."""
    if specs is None and plan.config.design.kind == "swiss":
        return await execute_swiss(plan, store, concurrency, progress)
    todo = pending(plan, store, specs)
    played = execute_in_processes(plan, store, progress, todo)
    if played is not None:
        return played
    return await play_here(plan, store, concurrency, progress, todo)


async def play_here(plan: Plan, store: Store, concurrency: int, progress: Progress,
                    todo: list[MatchSpec]) -> tuple[int, int]:
    """Play `todo` (pending, in running order) in this process; store each; (ok, failed)."""
    counts = [0, 0]

    def on_row(row: MatchRow) -> None:
        counts[0 if record(store, progress, row) else 1] += 1

    await play_specs(plan, todo, concurrency, on_row)
    return counts[0], counts[1]


def execute_in_processes(plan: Plan, store: Store, progress: Progress,
                         todo: list[MatchSpec]) -> tuple[int, int] | None:
    """Play `todo` in worker processes when the run calls for them (see processes and
    llm_processes) and return (ok, failed); None when this process should play them itself.

    Blocking, not async: `run` calls it outside any event loop, so Ctrl-C arrives as
    KeyboardInterrupt at once (asyncio.run would only cancel a task that never awaits)."""
    counts = [0, 0]

    def on_row(row: MatchRow) -> None:
        counts[0 if record(store, progress, row) else 1] += 1

    workers = workers_for(plan, len(todo))
    if workers:  # offline agents: other processes play, this one stores
        plan.workers_used = max(plan.workers_used, workers)
        play_in_processes(plan, todo, workers, on_row)
    elif (plan.config.design.kind != "swiss" and plan.budget is None  # kept here, per match
          and (llm_workers := llm_workers_for(plan, len(todo)))):
        # many LLM matches in flight: each process has its own clients (see llm_processes)
        plan.workers_used = max(plan.workers_used, llm_workers)
        play_llm_in_processes(plan, todo, llm_workers, on_row)
    else:
        return None
    return counts[0], counts[1]


async def execute_swiss(plan: Plan, store: Store, concurrency: int, progress: Progress,
                        run_round: Callable[[list[MatchSpec]], Awaitable[tuple[int, int]]]
                        | None = None) -> tuple[int, int]:
    """Play a swiss design round by round, pairing each round from the stored results.

    `run_round` plays and stores one round (the Ray executor's); by default, `execute`."""
    assert plan.entrants is not None
    design = plan.config.design
    rounds = swiss_rounds(len(plan.entrants), design.rounds, plan.config._source)
    team = "a" if plan.config.teams_differ else "default"
    ok = failed = 0
    for rep in range(1, design.repetitions + 1):
        scores: dict[str, float] = {}
        played: set[frozenset[str]] = set()
        seat_a: dict[str, int] = {}
        byes: set[str] = set()
        for t in range(1, rounds + 1):
            specs = swiss_round(plan.entrants, scores, played, seat_a, byes, rep, t, team,
                                plan.config.seed)
            got = (await run_round(specs) if run_round is not None
                   else await execute(plan, store, concurrency, progress, specs))
            ok, failed = ok + got[0], failed + got[1]
            ids = [s.match_id for s in specs]
            marks = ",".join("?" * len(ids))
            for pa, pb, sa, sb in store.conn.execute(
                    f"SELECT persona_a, persona_b, share_a, share_b FROM matches "
                    f"WHERE match_id IN ({marks}) AND status = 'ok'", ids):
                scores[pa] = scores.get(pa, 0.0) + (sa or 0.0)
                scores[pb] = scores.get(pb, 0.0) + (sb or 0.0)
    return ok, failed


async def _then_close(plan: Plan, work: Awaitable[tuple[int, int]]) -> tuple[int, int]:
    """Run, then close the model clients inside the loop that opened their connections."""
    try:
        return await work
    finally:
        if plan.factory.llm is not None:
            await plan.factory.llm.aclose()


def _lock_run_dir(run_dir: Path, store: Store) -> Any:
    """Hold an exclusive lock on RUN_DIR for the run, so a second run into the same folder is
    refused with one line instead of fighting over the store (released when the process dies)."""
    import fcntl

    handle = (run_dir / STORE_NAME).open("rb")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        store.close()
        raise InputError(f"{run_dir}: another persona-arena run is writing this folder; wait "
                         "for it to end, or choose another --out") from None
    return handle


def run_health(store: Store, llm_stats: dict[str, Any] | None) -> dict[str, Any]:
    """What a reader of the results must know first: how many turns could not be used and why,
    empty replies, failed matches, and what the models' servers did (delivery, retries)."""
    conn = store.conn
    turns, invalid = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(move_kind = 'invalid'), 0) FROM turns").fetchone()
    reasons = conn.execute(
        "SELECT CASE WHEN instr(reason, ':') > 0 THEN substr(reason, 1, instr(reason, ':') - 1) "
        "ELSE reason END AS why, COUNT(*) AS n FROM turns WHERE move_kind = 'invalid' "
        "GROUP BY why ORDER BY n DESC, why LIMIT 5").fetchall()
    failed = conn.execute("SELECT COUNT(*) FROM matches WHERE status = 'failed'").fetchone()[0]
    health: dict[str, Any] = {
        "turns": turns, "invalid_turns": invalid,
        "invalid_share": round(invalid / turns, 4) if turns else 0.0,
        "invalid_reasons": {why: n for why, n in reasons},
        "empty_replies": conn.execute("SELECT COUNT(*) FROM turns WHERE reason = ?",
                                      ("empty reply",)).fetchone()[0],
        "failed_matches": failed,
    }
    if llm_stats is not None:  # this run's requests (a resumed run's first part is not here)
        health.update({k: llm_stats.get(k, 0) for k in (
            "requests", "cache_hits", "delivery_checked", "delivery_failures", "unchecked",
            "backoffs")})
        health["retries"] = sum(llm_stats.get("retries", {}).values())
    return health


def _verdict(health: dict[str, Any], limit: float) -> str | None:
    share = health["invalid_share"]
    if health["turns"] and share > limit:
        top = ", ".join(f"{why} ({n})" for why, n in health["invalid_reasons"].items())
        return (f"{share:.0%} of the stored turns are invalid, more than [execution] "
                f"max_invalid_share = {limit:g}; most often: {top}")
    return None


def _halted(llm_stats: dict[str, Any] | None) -> str | None:
    if not llm_stats:
        return None
    return next((m["halted"] for m in llm_stats.get("models", {}).values() if m.get("halted")),
                None)


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
    playing = {pid for s in plan.specs for pid in (s.persona_a, s.persona_b) if pid}
    playing |= {e.persona_id for e in plan.entrants or []} if not plan.specs else set()
    personas = [plan.personas[pid] for pid in sorted(playing - done) if pid in plan.personas]
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
        from arena.ray_executor import preflight

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
    lock = _lock_run_dir(run_dir, store)
    try:
        _before_first_match(plan, store)
        from arena.budget import start as start_budget

        plan.budget = start_budget(plan, store)
        already = len(store.match_ids("ok"))
        progress = Progress(plan.planned - already, progress_mode or config.execution.progress)
        try:
            if config.execution.executor == "ray":
                from arena.ray_executor import execute_on_ray

                ok, failed = execute_on_ray(plan, store, progress)
            else:
                concurrency = config.execution.concurrency
                todo = pending(plan, store) if config.design.kind != "swiss" else None
                played = (execute_in_processes(plan, store, progress, todo)
                          if todo is not None else None)
                if played is not None:
                    ok, failed = played
                    if plan.factory.llm is not None:
                        asyncio.run(plan.factory.llm.aclose())
                else:
                    ok, failed = asyncio.run(_then_close(plan, (
                        play_here(plan, store, concurrency, progress, todo) if todo is not None
                        else execute(plan, store, concurrency, progress))))
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
    return RunSummary(str(run_dir), plan.planned, already, ok + failed, ok, failed,
                      row[0], row[1], row[2], time.perf_counter() - started, llm_stats, row[3],
                      plan.workers_used, health, _halted(llm_stats),
                      verdict=_verdict(health, config.execution.max_invalid_share),
                      budget=plan.budget.as_dict() if plan.budget is not None else None)
