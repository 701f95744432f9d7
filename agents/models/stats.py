"""What a model cost and how it behaved, counted per model and added up across processes."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


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

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "replies": self.replies, "cache_hits": self.cache_hits,
                "failures": self.failures, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "retries": dict(self.retries),
                "failures_by_kind": dict(self.failures_by_kind)}
