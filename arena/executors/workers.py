"""The worker-process executor: worker processes of this machine play, this process stores.

One executor for every agent kind, sized by one rule (`pool_size`):
- Offline agents (surrogate, confederate, concession, random) never wait, so a simulated
  tournament is bound by the CPU: the engine (~150 us a match) and SQLite (~120 us a match, one
  transaction each) on one core. Workers play consecutive chunks of the running order and this
  process commits them chunk by chunk in that same order: the store gets the same matches, in
  the same order, one transaction each, as a run in one process.
- LLM agents: one Python process drives at most about 150 LLM calls a second (the openai SDK
  spends some 6 ms of CPU on each request; see BENCHMARKS.md, `overhead`), so with many matches
  in flight the client, not the model, becomes the limit. Each worker has model access of its
  own (clients, its share of every model's `concurrency` and `rpm`, the one reply cache in WAL
  mode) and plays an interleaved share of the running order; each finished match streams back
  at once and is committed here, one transaction per match.

Workers (arena.executors.worker_main) start once per run and play every round of it. They
receive what they play with (executors.remote) and plan nothing. Ctrl-C: LLM workers are told
by the end of their input, cancel their matches and keep the replies of requests already sent.
A worker whose parent dies however it dies (SIGKILL too) is ended by its lifeline
(arena.lifeline: a death signal and a parent-id watchdog).
"""
from __future__ import annotations

import math
import pickle
import queue
import subprocess
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from arena.executors.base import Sink, usable_cpus
from arena.executors.child import end_child, start_child
from arena.executors.remote import add_stats, worker_setup
from arena.match import MatchSpec
from arena.store import MatchRow
from scenarios.errors import InputError

if TYPE_CHECKING:
    from arena.run_plan import Plan

WORKER_MODULE = "arena.executors.worker_main"
MAX_AUTO_WORKERS = 8  # offline: the writer saturates beyond this; LLM: see IN_FLIGHT_PER_WORKER
AUTO_MIN_MATCHES = 4000  # offline: below this, starting processes costs more than it saves
IN_FLIGHT_PER_WORKER = 64  # LLM, auto: a process per this many in flight (measured: 1 process
# is best at 64 in flight against a 500 ms server, 2 beat it from 128 on; see BENCHMARKS.md)
MIN_MATCHES_PER_WORKER = 8  # LLM: fewer pending matches than this per worker: one process
CHUNK_MIN, CHUNK_MAX = 64, 1024  # offline: matches per job
CHUNKS_PER_WORKER = 8  # so the workers finish close together
AHEAD = 2  # jobs sent to a worker before its first result is read: it never waits for work


def workers_for(plan: Plan, pending: int) -> int:
    """How many worker processes play `pending` offline matches; 0 means this process."""
    configured = plan.config.execution.workers
    if not plan.factory.offline or pending == 0:
        return 0
    if configured is not None:
        return configured
    cpus = usable_cpus()
    if cpus < 2 or pending < AUTO_MIN_MATCHES:
        return 0
    return min(MAX_AUTO_WORKERS, cpus - 1)  # one core stays with the writer


def llm_workers_for(plan: Plan, pending: int) -> int:
    """How many worker processes play `pending` LLM matches; 0 means this process.
    `[execution] workers` decides when set; otherwise one process per IN_FLIGHT_PER_WORKER
    matches in flight, up to the CPUs this process may use."""
    concurrency = plan.config.execution.concurrency
    workers = plan.config.execution.workers
    if workers is None:
        workers = min(usable_cpus(), MAX_AUTO_WORKERS,
                      math.ceil(concurrency / IN_FLIGHT_PER_WORKER))
    workers = min(workers, concurrency, pending // MIN_MATCHES_PER_WORKER)
    return workers if workers >= 2 else 0


def pool_size(plan: Plan, pending: int) -> int:
    """The one sizing rule of the pool: 0 means play in this process. A run with a budget
    plays its LLM matches here, where the budget is kept match by match (arena.budget)."""
    if plan.factory.offline:
        return workers_for(plan, pending)
    return 0 if plan.budget is not None else llm_workers_for(plan, pending)


def chunks(specs: list[MatchSpec], workers: int) -> list[list[MatchSpec]]:
    size = min(CHUNK_MAX, max(CHUNK_MIN, math.ceil(len(specs) / (workers * CHUNKS_PER_WORKER))))
    return [specs[i:i + size] for i in range(0, len(specs), size)]


class _Worker:
    """One child process, its pipes, and a thread that forwards what it says to `inbox`."""

    def __init__(self, index: int, setup: bytes, inbox: queue.SimpleQueue[Any]) -> None:
        self.index = index
        self.proc, self.stdin, self.stdout = start_child(WORKER_MODULE)
        self.send_raw(setup)  # stdin stays open: its end-of-file tells the worker to stop
        self.thread = threading.Thread(target=self._forward, args=(inbox,), daemon=True)
        self.thread.start()

    def send_raw(self, data: bytes) -> None:
        self.stdin.write(data)
        self.stdin.flush()

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


class WorkerExecutor:
    """Worker processes play; every finished match is handed to the sink here."""

    def __init__(self, plan: Plan, workers: int) -> None:
        self.plan, self.workers = plan, workers
        self.offline = plan.factory.offline
        self.pool: list[_Worker] = []
        self.inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def _start(self) -> None:
        concurrency = max(1, self.plan.config.execution.concurrency // self.workers)
        setup = pickle.dumps(worker_setup(self.plan, self.workers, concurrency),
                             pickle.HIGHEST_PROTOCOL)
        for i in range(self.workers):
            self.pool.append(_Worker(i, setup, self.inbox))

    def play(self, specs: list[MatchSpec], sink: Sink) -> None:
        finished = False
        try:
            if not self.pool:
                self._start()
            self._play(specs, sink)
            finished = True
        except BaseException:  # Ctrl-C, or a row the store could not take (a full disk): let
            # each LLM worker keep the replies it already asked for (they are paid) before it ends
            if not self.offline:
                self._stop_gently(max(m.timeout for m in self.plan.config.models.values()) + 10)
            raise
        finally:
            if not finished:
                self._close(kill=True)

    def _play(self, specs: list[MatchSpec], sink: Sink) -> None:
        n = self.workers
        # offline: consecutive chunks, committed in order; LLM: one interleaved share each
        jobs = chunks(specs, n) if self.offline else [s for i in range(n) if (s := specs[i::n])]
        owed: list[deque[int]] = [deque() for _ in range(n)]  # each worker's jobs, in order
        results: dict[int, list[Any]] = {}
        sent = committed = 0
        while committed < len(jobs):
            while sent < len(jobs) and sent - committed < AHEAD * n:
                worker = self.pool[sent % n]  # round robin: each answers its jobs in order
                worker.send_raw(pickle.dumps(jobs[sent], pickle.HIGHEST_PROTOCOL))
                owed[worker.index].append(sent)
                sent += 1
            index, (kind, payload) = self.inbox.get()
            if kind == "row":  # streamed (LLM): committed as it comes
                sink(MatchRow.from_wire(payload))
            elif kind == "done":
                rows, stats = payload
                add_stats(self.plan, stats)
                results[owed[index].popleft()] = rows
                while committed in results:  # in the running order (offline rows come here)
                    for row in results.pop(committed):
                        sink(MatchRow.from_wire(row))
                    committed += 1
            elif kind == "input":
                raise InputError(payload)
            elif kind == "error":
                raise RuntimeError(f"a match worker process failed:\n{payload}")
            else:  # "exit" while it still owed results
                raise RuntimeError(f"a match worker process ended unexpectedly (exit {payload}); "
                                   "finished matches are stored: rerun with --resume")

    def _stop_gently(self, timeout: float) -> None:
        """End of input tells a worker to stop: it cancels its matches, waits for the requests it
        already sent (their replies are paid for) and caches them. A second Ctrl-C ends the
        wait."""
        for worker in self.pool:
            try:
                worker.stdin.close()
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        try:
            for worker in self.pool:
                worker.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            pass

    def _close(self, kill: bool) -> None:
        pool, self.pool = self.pool, []
        for worker in pool:
            worker.close(kill=kill)

    def close(self) -> None:
        self._close(kill=False)
        llm = self.plan.factory.llm
        if llm is not None:  # this process's clients (the vision probe's)
            import asyncio

            asyncio.run(llm.aclose())
