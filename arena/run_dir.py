"""RUN_DIR: create it, reopen it for --resume (refusing a different config), lock it.

A run folder holds the resolved config and the store; its identity (the match list's digest and
the request identity) is written last, so a folder killed while being made is made anew.
"""
from __future__ import annotations

import errno
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.negotiators.planted import SIMULATED_NOTE
from arena.config import resolved_json
from arena.identity import META_KEY as IDENTITY_KEY, canonical, check_resume, request_identity
from arena.store import STORE_NAME, Store
from scenarios.errors import InputError

if TYPE_CHECKING:
    from arena.run_plan import Plan

# what a run writes into RUN_DIR before its store holds the run's identity (meta)
CREATION_FILES = frozenset({"config.json", "config.json.tmp", ".write-test"})


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
            write_atomic(run_dir / "config.json", resolved_json(plan.config, plan.base))
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
    if resume and run_dir.exists() and any(p.name not in CREATION_FILES
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
        write_atomic(run_dir / "config.json", resolved_json(plan.config, plan.base))
        store = Store(path)
        _initialise(store, plan)
    except (OSError, sqlite3.OperationalError) as error:
        if store is not None:
            store.close()
        if not storage_error(error):
            raise
        for name in (*CREATION_FILES, STORE_NAME, f"{STORE_NAME}-wal", f"{STORE_NAME}-shm",
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
                          p.level, p.description, p.identity or None,
                          json.dumps(p.attributes, sort_keys=True) if p.attributes else None)
                         for p in plan.personas.values())
    _write_ratings(store, plan.personas.values())
    store.set_meta({"match_list_sha256": plan.match_list_sha256,
                    "planned_matches": str(plan.planned),
                    "scenario": plan.scenario.name, "condition": plan.config.condition,
                    "design": plan.config.design.kind, "seed": str(plan.config.seed),
                    "config": resolved_json(plan.config, plan.base),
                    # the rules' numbers (pie, prices, items) for the analysis, without prompts
                    "scenario_spec": plan.scenario.spec.model_dump_json(exclude={"prompts"}),
                    **_simulated(plan),
                    IDENTITY_KEY: canonical(request_identity(plan))})


def _simulated(plan: Plan) -> dict[str, str]:
    """A run of planted (SIMULATED) agents says so in its meta, which every summary reads."""
    labels = plan.factory.simulated
    return {"simulated": f"SIMULATED ({', '.join(labels)}): {SIMULATED_NOTE}"} if labels else {}


def _write_ratings(store: Store, personas: Any) -> None:
    rows = [(p.persona_id, rater, score, "", "", "", time.time())
            for p in personas for rater, score in p.ratings.items()]
    with store._transaction():
        store.conn.executemany(
            "INSERT OR REPLACE INTO ratings(persona_id, rater, score, raw, model, prompt_sha256, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def lock_run_dir(run_dir: Path, store: Store) -> Any:
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
