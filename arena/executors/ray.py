"""Scale-out: run a tournament's matches on Ray, store them through the driver (the one writer).

Workers never receive the Plan: its factory may hold LLM clients, which do not pickle. Each
worker process rebuilds the plan once from the resolved config and the base folder, checks that
its match list is the driver's, and plays batches of match specs. Per-match seeds come from the
specs, so for the same seed and reply cache the tables equal the local executor's.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.models.stats import CallStats
from arena.executors.base import Sink
from arena.executors.remote import (add_stats, call_stats, key_variables, stats_delta,
                                    worker_config, worker_plan)
from arena.match import MatchSpec
from arena.store import MatchRow
from scenarios.errors import InputError

if TYPE_CHECKING:
    from arena.run_plan import Plan

MAX_BATCH = 256  # matches per Ray task: large enough that task overhead is small
MIN_BATCH = 16
WAVES = 4  # aim for this many batches per worker slot, so slots finish together
OBJECT_STORE_BYTES = 256 * 1024**2  # a local Ray needs little: results are small tuples
CPUS_ENV = "PERSONA_ARENA_RAY_CPUS"  # the CPUs of a Ray this command starts (default: all)

# -- worker side ------------------------------------------------------------------------------
# One plan and one event loop per worker process: rebuilding the plan per batch would reload the
# pool (and, with LLM agents, the reply cache and images), and async clients stay bound to the
# loop they first ran on.
_LOOP: asyncio.AbstractEventLoop | None = None


def play_batch(job: dict[str, Any], specs: list[MatchSpec],
               concurrency: int) -> tuple[list[MatchRow], dict[str, CallStats]]:
    """A Ray task's body: play `specs` with this process's plan; return their rows and what the
    batch added to each model's call counters (the driver reports the run's totals)."""
    global _LOOP
    from arena.executors.local import play_specs

    missing = [k for k in job["keys"] if not os.environ.get(k, "").strip()]
    if missing:  # keys are never shipped: a cluster's nodes must have them in their environment
        raise InputError(f"execution.executor: environment variable {missing[0]} is set here "
                         f"but not on the Ray worker on {socket.gethostname()}; set it where "
                         "the cluster's nodes are started")
    plan = worker_plan(job["config"], job["base"], job["digest"])
    if _LOOP is None or _LOOP.is_closed():
        _LOOP = asyncio.new_event_loop()
    before = call_stats(plan)
    rows: list[MatchRow] = []
    _LOOP.run_until_complete(play_specs(plan.factory, plan.config.condition, specs, concurrency,
                                        rows.append))
    return rows, stats_delta(before, call_stats(plan))


# -- driver side ------------------------------------------------------------------------------
def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise InputError("execution.executor: 'ray' needs Ray: pip install 'persona-arena[ray]'") \
            from None
    return ray


def preflight(address: str | None) -> None:
    """Fail fast, before a run folder is made: Ray must be installed and a given address must
    answer (Ray itself retries an unreachable address for minutes)."""
    _import_ray()
    if address is None or address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except (OSError, ValueError) as error:
        why = "expected HOST:PORT" if isinstance(error, ValueError) else error.strerror or error
        raise InputError(f"execution.ray_address: cannot reach Ray at '{address}' ({why})") \
            from None


def _start(ray: Any, address: str | None) -> bool:
    """Connect to `address`, or start a small local Ray; True when this call started Ray."""
    if ray.is_initialized():  # e.g. a notebook that called ray.init() itself: use it, keep it
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report from a CLI run
    quiet = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                 ignore_reinit_error=True)
    if address is None:
        cpus = int(os.environ.get(CPUS_ENV) or os.cpu_count() or 1)
        # our own Ray uses Ray's default token auth; its notice on every run is only noise
        logging.getLogger("ray._private.authentication.authentication_token_setup") \
            .setLevel(logging.ERROR)
        # "local": a Ray of our own, even when `ray start` left one running here
        ray.init(address="local", num_cpus=max(1, cpus), object_store_memory=OBJECT_STORE_BYTES,
                 **quiet)
    else:
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, RuntimeError, ValueError) as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise InputError(f"execution.ray_address: cannot connect to Ray at '{address}' "
                             f"({message}; a cluster with token authentication needs "
                             "RAY_AUTH_MODE=token here too)") from None
    return True


def _batches(todo: list[MatchSpec], slots: int, per_task: int, offline: bool) -> list[list[MatchSpec]]:
    """Cut the running order into consecutive batches, so Ray runs it in the local order.

    Offline matches take microseconds: a few large batches per slot. LLM matches take seconds:
    batches of a few rounds of the task's concurrency, so results (and progress) arrive steadily
    and a killed run loses little.
    """
    if offline:
        size = math.ceil(len(todo) / (slots * WAVES))
    else:
        size = 4 * per_task
    size = min(MAX_BATCH, max(MIN_BATCH, size))
    return [todo[i:i + size] for i in range(0, len(todo), size)]


class RayExecutor:
    """Sends batches of specs to Ray tasks; the driver hands their rows to the sink as they come
    back. Ray is started (or joined) on the first round, and shut down at the end if started."""

    workers = 0  # Ray's worker processes are the cluster's, not this run's

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.ray: Any = None
        self.started = False

    def play(self, specs: list[MatchSpec], sink: Sink) -> None:
        if self.ray is None:
            ray = _import_ray()
            self.started = _start(ray, self.plan.config.execution.ray_address)
            self.ray = ray
            self._connect()
        self._run(specs, sink)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
        self.ray, self.started = None, False
        llm = self.plan.factory.llm
        if llm is not None:  # the driver's clients (the vision probe's)
            asyncio.run(llm.aclose())

    def _connect(self) -> None:
        ray, plan = self.ray, self.plan
        self.slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
        # the config's concurrency is for the whole run: share it among the busy workers
        self.per_task = max(1, plan.config.execution.concurrency // self.slots)
        self.job = ray.put({"config": worker_config(plan.config, plan.base, self.slots),
                            "base": str(plan.base), "digest": plan.match_list_sha256,
                            "keys": key_variables(plan.config)})
        self.remote = ray.remote(num_cpus=1)(play_batch)

    def _run(self, todo: list[MatchSpec], sink: Sink) -> None:
        ray = self.ray
        queue = list(reversed(_batches(todo, self.slots, self.per_task, self.plan.factory.offline)))
        in_flight: dict[Any, int] = {}
        window = 2 * self.slots  # one batch running and one queued per slot
        try:
            while queue or in_flight:
                while queue and len(in_flight) < window:
                    batch = queue.pop()
                    in_flight[self.remote.remote(self.job, batch, self.per_task)] = len(batch)
                ready, _ = ray.wait(list(in_flight), num_returns=1)
                for ref in ready:
                    rows, stats = _get(ray, ref, in_flight.pop(ref))
                    for row in rows:
                        sink(row)
                    add_stats(self.plan, stats)
        finally:
            for ref in in_flight:  # interrupted or failed: stop what is still running
                ray.cancel(ref, force=True)


def _get(ray: Any, ref: Any, size: int) -> tuple[list[MatchRow], dict[str, CallStats]]:
    """A batch's rows; a worker's InputError stays an InputError (one line, exit 2)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as error:
        if isinstance(error.cause, InputError):
            raise InputError(str(error.cause)) from None
        raise
    except ray.exceptions.RayError as error:
        raise RuntimeError(f"Ray lost a batch of {size} matches ({type(error).__name__}); "
                           "finished matches are stored: rerun with --resume") from error
