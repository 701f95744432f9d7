"""Offline matches on every core: worker processes play, this process stores (the one writer).

Surrogate, confederate, concession and random agents never wait, so a simulated tournament is
bound by the CPU: the engine (~150 us a match) and SQLite (~120 us a match, one transaction
each) on one core. Here worker processes play consecutive chunks of the running order while this
process commits the rows as they come back, chunk by chunk in that same order: the store gets
the same matches, in the same order, one transaction each, as a run in one process.

Workers are plain `python -m arena.executors.workers` children talking pickles over their stdin and
stdout (not multiprocessing, whose spawn would re-run an unguarded user script). They get the
config, the scenario and the personas once (no re-reading of the pool) and build their own agent
factory; every match's randomness comes from its spec's seed and the run seed, so where a match
is played changes nothing in its record. A worker whose parent dies reads end-of-file and exits,
or, however the parent died, is ended by its lifeline (see arena.lifeline).
"""
from __future__ import annotations

import math
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from arena.executors.base import Sink, usable_cpus
from arena.executors.child import end_child, start_child, worker_outbox
from arena.match import MatchSpec
from arena.store import MatchRow

if TYPE_CHECKING:
    from arena.run_plan import Plan

AUTO_MIN_MATCHES = 4000  # below this, starting processes costs more than it saves
MAX_AUTO_WORKERS = 8  # the writer saturates (SQLite, one transaction a match) beyond this
CHUNK_MIN, CHUNK_MAX = 64, 1024  # matches per task
CHUNKS_PER_WORKER = 8  # so the workers finish close together
AHEAD = 2  # chunks sent to a worker before its first result is read: it never waits for work

Rows = list[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]


def workers_for(plan: Plan, pending: int) -> int:
    """How many worker processes to play `pending` matches with; 0 means in this process."""
    configured = plan.config.execution.workers
    if not plan.factory.offline or pending == 0:
        return 0
    if configured is not None:
        return configured
    cpus = usable_cpus()
    if cpus < 2 or pending < AUTO_MIN_MATCHES:
        return 0
    return min(MAX_AUTO_WORKERS, cpus - 1)  # one core stays with the writer


def pool_size(plan: Plan, pending: int) -> int:
    """How many worker processes play `pending` matches (0: this process): for offline
    agents `workers_for`, for LLM agents one per IN_FLIGHT_PER_WORKER matches in flight."""
    if plan.factory.offline:
        return workers_for(plan, pending)
    if plan.budget is not None:  # kept here, match by match (arena.budget)
        return 0
    from arena.executors.llm_workers import llm_workers_for

    return llm_workers_for(plan, pending)


class WorkerExecutor:
    """Worker processes of this machine play; this process stores what they hand back."""

    def __init__(self, plan: Plan, workers: int) -> None:
        self.plan, self.workers = plan, workers

    def play(self, specs: list[MatchSpec], sink: Sink) -> None:
        if self.plan.factory.offline:
            play_in_processes(self.plan, specs, self.workers, sink)
        else:
            from arena.executors.llm_workers import play_llm_in_processes

            play_llm_in_processes(self.plan, specs, self.workers, sink)

    def close(self) -> None:
        llm = self.plan.factory.llm
        if llm is not None:  # this process's clients (the vision probe's)
            import asyncio

            asyncio.run(llm.aclose())


def chunks(specs: list[MatchSpec], workers: int) -> list[list[MatchSpec]]:
    size = min(CHUNK_MAX, max(CHUNK_MIN, math.ceil(len(specs) / (workers * CHUNKS_PER_WORKER))))
    return [specs[i:i + size] for i in range(0, len(specs), size)]


class _Worker:
    """One child process and its two pipes."""

    def __init__(self, setup: bytes) -> None:
        self.proc, self.stdin, self.stdout = start_child("arena.executors.workers")
        self.send_raw(setup)

    def send_raw(self, data: bytes) -> None:
        self.stdin.write(data)
        self.stdin.flush()

    def send(self, message: Any) -> None:
        self.send_raw(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))

    def receive(self) -> Any:
        try:
            kind, payload = pickle.load(self.stdout)
        except EOFError:
            code = self.proc.wait()
            raise RuntimeError(f"a match worker process ended unexpectedly (exit {code}); "
                               "finished matches are stored: rerun with --resume") from None
        if kind == "error":
            raise RuntimeError(f"a match worker process failed:\n{payload}")
        return payload

    def close(self, kill: bool = False) -> None:
        end_child(self.proc, self.stdin, kill, wait_s=10)
        self.stdout.close()


def play_in_processes(plan: Plan, specs: list[MatchSpec], workers: int,
                      on_row: Callable[[MatchRow], None]) -> None:
    """Play offline `specs` in `workers` processes; hand every row to `on_row` here, in order."""
    setup = pickle.dumps((plan.config, str(plan.base), plan.scenario, plan.personas,
                          plan.match_list_sha256), pickle.HIGHEST_PROTOCOL)
    pool: list[_Worker] = []
    finished = False
    try:
        pool.extend(_Worker(setup) for _ in range(workers))
        todo = deque(chunks(specs, workers))
        in_flight: deque[_Worker] = deque()  # whose result comes next, in running order
        sent = 0
        while todo or in_flight:
            while todo and len(in_flight) < AHEAD * workers:
                worker = pool[sent % workers]  # round robin: results come back in order
                worker.send(todo.popleft())
                in_flight.append(worker)
                sent += 1
            for match, turns in in_flight.popleft().receive():
                on_row(MatchRow(match, turns))
        finished = True
    finally:
        for worker in pool:
            worker.close(kill=not finished)


# -- the worker process ------------------------------------------------------------------------
def _serve(inbox: IO[bytes], outbox: IO[bytes]) -> None:
    """Read the setup, then chunks of specs until end of input; answer each chunk's rows."""
    import asyncio
    import traceback

    from arena.executors.local import play_specs
    from arena.factory import AgentFactory

    messages: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def read() -> None:  # drain stdin at once, so the parent never blocks writing to us
        while True:
            try:
                messages.put(pickle.load(inbox))
            except (EOFError, OSError):
                messages.put(None)
                return

    threading.Thread(target=read, daemon=True).start()
    setup = messages.get()
    if setup is None:
        return
    config, base, scenario, personas, digest = setup
    factory = AgentFactory(config, scenario, personas)
    while (specs := messages.get()) is not None:
        rows: Rows = []
        try:
            asyncio.run(play_specs(factory, config.condition, specs, 1,
                                   lambda row: rows.append((row.match, row.turns))))
            answer: tuple[str, Any] = ("rows", rows)
        except Exception:  # a bug in the engine: report it to the parent, which raises
            answer = ("error", traceback.format_exc())
        try:
            pickle.dump(answer, outbox, pickle.HIGHEST_PROTOCOL)
            outbox.flush()
        except OSError:  # the parent is gone
            return


def main() -> None:
    from arena.lifeline import bind_to_parent

    bind_to_parent()  # nothing bought here: an orphan simply ends
    _serve(sys.stdin.buffer, worker_outbox())


if __name__ == "__main__":
    main()
