"""Progress while a run goes: a bar on a terminal, a plain line every few seconds otherwise."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, mode: str = "auto", label: str = "matches",
                 stream: TextIO | None = None, every_s: float = 2.0) -> None:
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "plain"
        self.mode = mode
        self.total = total
        self.label = label
        self.done = self.failed = self.calls = self.tokens = 0
        self.turns = self.invalid = 0
        self.started = time.monotonic()
        self.every_s = every_s
        self._last = self.started
        self._bar = None
        if mode == "bar" and total:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress,
                                       TextColumn, TimeRemainingColumn)

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(),
                                     MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                                     TimeRemainingColumn(), transient=False)
            self._task = self._bar.add_task(label, total=total, info="")
            self._bar.start()

    def update(self, ok: bool, calls: int = 0, tokens: int = 0, turns: int = 0,
               invalid: int = 0) -> None:
        self.done += 1
        self.turns += turns
        self.invalid += invalid
        self.failed += 0 if ok else 1
        self.calls += calls
        self.tokens += tokens
        now = time.monotonic()
        if self._bar is not None:
            if now - self._last > 0.1 or self.done == self.total:
                self._bar.update(self._task, completed=self.done, info=self._info(now))
                self._last = now
        elif self.mode == "plain" and (now - self._last >= self.every_s):
            self._last = now
            print(f"{self.label}: {self.done}/{self.total} {self._info(now)}", file=self.stream,
                  flush=True)

    def _info(self, now: float) -> str:
        rate = self.done / max(now - self.started, 1e-9)
        shown = f"{rate:,.0f}/s" if rate >= 1 else f"{rate * 60:,.1f}/min"  # slow LLM runs
        parts = [f"failed {self.failed}", shown]
        if self.invalid:
            parts.insert(1, f"invalid turns {self.invalid / max(self.turns, 1):.0%}")
        if self.calls:
            parts[1:1] = [f"calls {self.calls:,}", f"tokens {self.tokens:,}"]
        return " | ".join(parts)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.mode == "plain" and self.total:
            print(f"{self.label}: {self.done}/{self.total} {self._info(time.monotonic())}",
                  file=self.stream, flush=True)


class Steps:
    """One line per step of a long command, stamped with the seconds since it began, so a
    person always sees what is going on (and how long each step took, from the stamps)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, text: str) -> None:
        print(f"[{self.elapsed:6.1f} s] {text}", file=self.stream, flush=True)
