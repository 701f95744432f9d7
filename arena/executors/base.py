"""The one executor interface, the sink every executor hands its finished matches to, and the
sizing of a pool of workers (one rule for every executor that has one)."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol

from arena.match import MatchSpec
from arena.progress import Progress
from arena.store import MatchRow, Store

Sink = Callable[[MatchRow], None]


class Executor(Protocol):
    """Plays match specs somewhere and hands each finished match to `sink`, here, in the one
    process that writes the store. `play` is called once per round of the design (a fixed design
    has one round), always with pending specs in the run's running order."""

    workers: int  # the most worker processes that played (0: this process)

    def play(self, specs: list[MatchSpec], sink: Sink) -> None: ...

    def close(self) -> None:
        """Release what `play` started (clients, processes, a cluster connection)."""


class StoreSink:
    """Commits each finished match (one transaction) and counts it: the run's one writer."""

    def __init__(self, store: Store, progress: Progress) -> None:
        self.store, self.progress = store, progress
        self.ok = self.failed = 0

    def __call__(self, row: MatchRow) -> None:
        self.store.write_match(row)
        match, turns = row.match, row.turns
        ok = match.status == "ok"
        self.progress.update(ok, match.calls or 0,
                             (match.prompt_tokens or 0) + (match.completion_tokens or 0),
                             len(turns), sum(1 for t in turns if t.parse_ok == 0))
        if ok:
            self.ok += 1
        else:
            self.failed += 1


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the platform tells)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1
