"""The one executor interface, the sink every executor hands its finished matches to, and the
sizing of a pool of workers (one rule for every executor that has one)."""
from __future__ import annotations

import os
import sqlite3
import time
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
    """Commits finished matches and counts them: the run's one writer. Matches that come fast
    share a commit (each stays atomic): a row is written at once when the last commit is
    `window_s` old, else it waits for the next ones, at most `batch` rows; `flush` writes the
    rest (the runner calls it after every round)."""

    def __init__(self, store: Store, progress: Progress, batch: int = 256,
                 window_s: float = 0.02) -> None:
        self.store, self.progress = store, progress
        self.ok = self.failed = 0
        self.batch, self.window_s = batch, window_s
        self._rows: list[MatchRow] = []
        self._last = 0.0

    def __call__(self, row: MatchRow) -> None:
        self._rows.append(row)
        ok, calls, tokens, turns, invalid = row.progress()
        self.progress.update(ok, calls, tokens, turns, invalid)
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        if len(self._rows) >= self.batch or time.monotonic() - self._last >= self.window_s:
            self.flush()

    def flush(self) -> None:
        """Write the matches not yet committed; a batch that fails is written match by match,
        so the good ones are kept and the failing one raises."""
        rows, self._rows = self._rows, []
        if not rows:
            return
        try:
            self.store.write_matches(rows)
        except sqlite3.Error:
            if len(rows) == 1:
                raise
            for row in rows:
                self.store.write_match(row)
        self._last = time.monotonic()


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the platform tells)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1
