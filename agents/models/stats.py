"""What a model cost and how it behaved, counted per model and added up across processes."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class CallStats:
    """What a model cost and how it behaved; reported in the run summary."""

    requests: int = 0  # HTTP attempts sent
    replies: int = 0  # successful answers received (and cached)
    cache_hits: int = 0
    failures: int = 0  # calls that gave up
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: Counter[str] = field(default_factory=Counter)  # by kind: 429, 5xx, timeout ...
    # calls that gave up, by the kind of their last error (as `retries`), or "fatal" (4xx ...)
    failures_by_kind: Counter[str] = field(default_factory=Counter)
    delivery_checked: int = 0  # replies whose reported prompt tokens were compared with ours
    delivery_failures: int = 0  # ... and were far below: the text did not arrive
    unchecked: int = 0  # replies without usage: delivery could not be checked
    empty_replies: int = 0
    cut_replies: int = 0  # replies far beyond max_tokens, cut to the allowance (see access)
    backoffs: int = 0  # times concurrency was lowered because queued requests timed out
    queued_timeouts: int = 0  # timeouts retried without using up an attempt (see access)
    halted: str | None = None  # why this model stopped taking requests (a sticky failure)

    COUNTERS: ClassVar[tuple[str, ...]] = ("requests", "replies", "cache_hits", "failures", "prompt_tokens",
                "completion_tokens", "delivery_checked", "delivery_failures", "unchecked",
                "empty_replies", "cut_replies", "backoffs", "queued_timeouts")

    def as_dict(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in self.COUNTERS},
                "retries": dict(self.retries), "failures_by_kind": dict(self.failures_by_kind),
                "halted": self.halted}

    def __add__(self, other: CallStats) -> CallStats:
        """Both processes' counters together (a worker's share folded into the driver's)."""
        return CallStats(**{name: getattr(self, name) + getattr(other, name)
                            for name in self.COUNTERS},
                         retries=self.retries + other.retries,
                         failures_by_kind=self.failures_by_kind + other.failures_by_kind,
                         halted=self.halted or other.halted)

    def __sub__(self, before: CallStats) -> CallStats:
        """What happened since `before` (an earlier copy of these counters, which only grow)."""
        return CallStats(**{name: getattr(self, name) - getattr(before, name)
                            for name in self.COUNTERS},
                         retries=self.retries - before.retries,
                         failures_by_kind=self.failures_by_kind - before.failures_by_kind,
                         halted=self.halted)

    def copy(self) -> CallStats:
        return self - CallStats()
