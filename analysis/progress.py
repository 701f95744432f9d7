"""Step lines for a person waiting on `analyze` or `report`: once a command has run for more
than a second, each step it starts says so on stderr (a terminal only: never in pipes, logs or
--json output), with the seconds so far."""
from __future__ import annotations

import sys
import time
from typing import TextIO

AFTER_SECONDS = 1.0


class Progress:
    """Call with a step's name as it starts; quiet for the first `after` seconds."""

    def __init__(self, command: str, stream: TextIO | None = None,
                 after: float = AFTER_SECONDS) -> None:
        self.command = command
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = stream is not None or sys.stderr.isatty()
        self.after = after
        self.started = time.perf_counter()

    def __call__(self, step: str) -> None:
        elapsed = time.perf_counter() - self.started
        if self.enabled and elapsed >= self.after:
            print(f"{self.command}: {step} ({elapsed:.1f} s so far)", file=self.stream,
                  flush=True)


def quiet(step: str) -> None:
    """The progress of a caller that wants none (the Python API, tests)."""
