"""LLM matches on every core: worker processes hold their own model clients, this one stores.

One Python process drives at most about 150 LLM calls a second: the openai SDK spends some 6 ms
of CPU on each request (mostly its request transform, which walks every message part against
every message type; see BENCHMARKS.md, `overhead`). With many matches in flight against a fast
server the client, not the model, becomes the limit. Here `workers` child processes each play an
interleaved share of the running order with their own event loop, AutoGen clients and share of
every model's `concurrency` and `rpm`, and all of them use the one reply cache (SQLite in WAL
mode). Each finished match streams back at once and is committed here, one transaction per
match, as in one process; each worker's call counters come back at its end for the summary.

A worker rebuilds the plan from the resolved config (as a Ray worker does) and checks its match
list against ours. API keys reach it only through the environment it inherits. If this process
dies, its workers read end-of-file on their input and exit; every reply they bought is cached.
"""
from __future__ import annotations

import math
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from arena.executors.base import usable_cpus
from arena.executors.remote import add_stats, call_stats, stats_delta, worker_config, worker_plan
from arena.executors.child import end_child, start_child, worker_outbox
from arena.match import MatchSpec
from arena.store import MatchRow
from scenarios.errors import InputError

if TYPE_CHECKING:
    from arena.run_plan import Plan

IN_FLIGHT_PER_WORKER = 64  # auto: a process per this many in flight (measured: 1 process is
# best at 64 in flight against a 500 ms server, 2 beat it from 128 on; see BENCHMARKS.md)
MAX_AUTO_WORKERS = 8
MIN_MATCHES_PER_WORKER = 8  # fewer pending matches than this per worker: play in one process


def llm_workers_for(plan: Plan, pending: int) -> int:
    """How many worker processes to play `pending` LLM matches with; 0 means in this process.

    `[execution] workers` decides when set; otherwise one process per IN_FLIGHT_PER_WORKER
    matches in flight, up to the CPUs this process may use."""
    configured = plan.config.execution.workers
    concurrency = plan.config.execution.concurrency
    if configured is not None:
        workers = configured
    else:
        workers = min(usable_cpus(), MAX_AUTO_WORKERS,
                      math.ceil(concurrency / IN_FLIGHT_PER_WORKER))
    workers = min(workers, concurrency, pending // MIN_MATCHES_PER_WORKER)
    return workers if workers >= 2 else 0


class _Worker:
    """One child process, its pipes, and a thread that forwards what it says to `inbox`."""

    def __init__(self, index: int, setup: bytes, inbox: queue.SimpleQueue[Any]) -> None:
        self.index = index
        self.proc, self.stdin, self.stdout = start_child("arena.executors.llm_workers")
        self.stdin.write(setup)
        self.stdin.flush()  # stdin stays open: its end-of-file tells the worker to stop
        self.thread = threading.Thread(target=self._forward, args=(inbox,), daemon=True)
        self.thread.start()

    def _forward(self, inbox: queue.SimpleQueue[Any]) -> None:
        while True:
            try:
                message = pickle.load(self.stdout)
            except (EOFError, OSError, pickle.UnpicklingError):
                inbox.put((self.index, ("exit", self.proc.wait())))
                return
            inbox.put((self.index, message))

    def close(self, kill: bool = False) -> None:
        end_child(self.proc, self.stdin, kill, wait_s=30)
        self.thread.join(timeout=5)  # it has read the end of the worker's output
        self.stdout.close()


def play_llm_in_processes(plan: Plan, specs: list[MatchSpec], workers: int,
                          on_row: Callable[[MatchRow], None]) -> None:
    """Play LLM `specs` in `workers` processes; hand every finished row to `on_row` here."""
    config = worker_config(plan.config, plan.base, workers)
    per_worker = max(1, plan.config.execution.concurrency // workers)
    inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()
    pool: list[_Worker] = []
    finished = False
    try:
        for i in range(workers):
            share = specs[i::workers]  # interleaved: every worker gets a slice of the whole order
            setup = pickle.dumps({"config": config, "base": str(plan.base),
                                  "digest": plan.match_list_sha256, "specs": share,
                                  "concurrency": per_worker}, pickle.HIGHEST_PROTOCOL)
            pool.append(_Worker(i, setup, inbox))
        running = set(range(workers))
        while running:
            index, (kind, payload) = inbox.get()
            if kind == "row":
                on_row(MatchRow(*payload))
            elif kind == "stats":
                add_stats(plan, payload)
            elif kind == "done":
                running.discard(index)
            elif kind == "exit" and index not in running:
                continue  # a worker that finished, leaving
            elif kind == "input":
                raise InputError(payload)
            elif kind == "error":
                raise RuntimeError(f"an LLM worker process failed:\n{payload}")
            else:  # "exit" before "done"
                raise RuntimeError(f"an LLM worker process ended unexpectedly (exit {payload}); "
                                   "finished matches are stored: rerun with --resume")
        finished = True
    except BaseException:  # Ctrl-C, or a row the store could not take (a full disk): let
        # each worker keep the replies it already asked for (they are paid) before it ends
        _stop_gently(pool, max(m.timeout for m in plan.config.models.values()) + 10.0)
        raise
    finally:
        for worker in pool:
            worker.close(kill=not finished)


def _stop_gently(pool: list[_Worker], timeout: float) -> None:
    """End of input tells a worker to stop: it cancels its matches, waits for the requests it
    already sent (their replies are paid for) and caches them. A second Ctrl-C ends the wait."""
    for worker in pool:
        try:
            worker.stdin.close()
        except OSError:
            pass
    deadline = time.monotonic() + timeout
    try:
        for worker in pool:
            worker.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        pass


# -- the worker process ------------------------------------------------------------------------
def _serve(inbox: IO[bytes], outbox: IO[bytes]) -> None:
    import asyncio
    import traceback

    from arena.executors.local import play_specs

    job = pickle.load(inbox)
    lock = threading.Lock()
    stop = threading.Event()
    running: dict[str, Any] = {}  # the event loop and the task playing, once started

    stopping = threading.Lock()  # taken once, never released: the first request_stop wins

    def request_stop() -> None:
        # once only: a second cancel would break off the wait for replies already paid for
        # (aclose); never blocking, as it may run in a signal handler or under `lock`
        if not stopping.acquire(blocking=False):
            return
        stop.set()
        loop, task = running.get("loop"), running.get("task")
        if loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop has ended already
                pass

    def send(kind: str, payload: Any) -> None:
        with lock:
            try:
                pickle.dump((kind, payload), outbox, pickle.HIGHEST_PROTOCOL)
                outbox.flush()
            except OSError:  # the parent is gone: stop, keeping what was bought
                request_stop()

    def watch_parent() -> None:  # end of input: the parent is gone or asks us to stop
        try:
            inbox.read()
        except OSError:
            pass
        if "task" not in running:
            os._exit(0)
        request_stop()

    threading.Thread(target=watch_parent, daemon=True).start()

    def orphaned() -> None:  # the parent died: stop as at end of input, then end for sure
        request_stop()
        models = job["config"].get("models", {}).values()
        grace = max((float(m["timeout"]) for m in models), default=60.0) + 10.0
        threading.Timer(grace, lambda: os._exit(1)).start()

    from arena.lifeline import bind_to_parent

    bind_to_parent(orphaned)
    plan = None
    try:
        plan = worker_plan(job["config"], job["base"], job["digest"])
        before = call_stats(plan)

        async def play() -> None:
            running["loop"], running["task"] = asyncio.get_running_loop(), asyncio.current_task()
            try:
                if not stop.is_set():
                    await play_specs(plan.factory, plan.config.condition, job["specs"],
                                     job["concurrency"],
                                     lambda row: send("row", (row.match, row.turns)))
            finally:  # after a stop too: waits for requests already sent, caches their replies
                if plan.factory.llm is not None:
                    await plan.factory.llm.aclose()

        asyncio.run(play())
        send("stats", stats_delta(before, call_stats(plan)))
        send("done", None)
    except asyncio.CancelledError:  # stopped by the parent
        pass
    except InputError as error:
        send("input", str(error))
    except Exception:  # a bug: report it to the parent, which raises
        send("error", traceback.format_exc())
    finally:
        if plan is not None and plan.factory.llm is not None:
            plan.factory.llm.close()  # writes any reply the cache could not take before


def main() -> None:
    outbox = worker_outbox()
    try:
        _serve(sys.stdin.buffer, outbox)
    finally:  # the stdin watcher may still be reading: leave without interpreter teardown
        for stream in (outbox, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(0)


if __name__ == "__main__":
    main()
