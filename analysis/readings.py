"""Our offline extractor over many texts at once: each distinct text read once, on all cores.

The paper's files hold ~25,000 proposals per model; reading them one by one takes tens of
seconds, so `replicate` and `import-paper` share this helper.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from scenarios.reading import Reading, read_acceptance, read_claim

PARALLEL_FROM = 4000  # fewer distinct texts than this: a process pool costs more than it saves


def _claims(chunk: Sequence[str], pie: float) -> list[Reading]:
    return [read_claim(t, pie) for t in chunk]


def _acceptances(chunk: Sequence[str]) -> list[Reading]:
    return [read_acceptance(t) for t in chunk]


def _map(fn: Callable[..., list[Any]], texts: Sequence[str], workers: int | None,
         *args: Any) -> list[Any]:
    unique = list(dict.fromkeys(t if isinstance(t, str) else "" for t in texts))
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    if workers <= 1 or len(unique) < PARALLEL_FROM:
        values = fn(unique, *args)
    else:
        size = -(-len(unique) // (workers * 4))
        chunks = [unique[i:i + size] for i in range(0, len(unique), size)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            values = [v for part in pool.map(fn, chunks, *([a] * len(chunks) for a in args))
                      for v in part]
    table = dict(zip(unique, values))
    return [table[t if isinstance(t, str) else ""] for t in texts]


def claim_readings(texts: Sequence[str], pie: float = 100.0,
                   workers: int | None = None) -> list[Reading]:
    """Each proposer text's claim reading, with its evidence and confidence."""
    return _map(_claims, texts, workers, float(pie))


def acceptance_readings(texts: Sequence[str], workers: int | None = None) -> list[Reading]:
    """Each responder text's acceptance reading, with its evidence and confidence."""
    return _map(_acceptances, texts, workers)


def read_claims(texts: Sequence[str], pie: float = 100.0,
                workers: int | None = None) -> list[float | None]:
    """What each proposer text claims for itself (None where the extractor finds no proposal),
    the best guess however unsure."""
    return [r.value for r in claim_readings(texts, pie, workers)]  # type: ignore[misc]


def read_acceptances(texts: Sequence[str], workers: int | None = None) -> list[bool | None]:
    """Whether each responder text accepts (None where it neither accepts nor rejects), the
    best guess however unsure."""
    return [r.value for r in acceptance_readings(texts, workers)]  # type: ignore[misc]
