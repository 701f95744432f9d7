"""Request limits of one model: at most `rpm` requests in any minute."""
from __future__ import annotations

import asyncio
import time
from collections import deque


class RateLimiter:
    """At most `rpm` requests in any 60-second window (a sliding window, so bursts are fine)."""

    def __init__(self, rpm: int, window_s: float = 60.0) -> None:
        self.rpm = rpm
        self.window_s = window_s
        self._sent: deque[float] = deque()
        self._lock: asyncio.Lock | None = None

    async def wait(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._sent and now - self._sent[0] >= self.window_s:
                    self._sent.popleft()
                if len(self._sent) < self.rpm:
                    self._sent.append(now)
                    return
                await asyncio.sleep(self.window_s - (now - self._sent[0]) + 0.001)


class AdaptiveLimit:
    """At most `capacity` requests in flight; the capacity can be lowered while requests wait.

    A local server that answers one request at a time queues the rest, and the queued ones time
    out although nothing is wrong: lowering the capacity turns the queue into our own waiting,
    which has no timeout."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_use = 0
        self._condition: asyncio.Condition | None = None

    def _cond(self) -> asyncio.Condition:
        if self._condition is None:
            self._condition = asyncio.Condition()
        return self._condition

    async def __aenter__(self) -> "AdaptiveLimit":
        cond = self._cond()
        async with cond:
            await cond.wait_for(lambda: self.in_use < self.capacity)
            self.in_use += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        cond = self._cond()
        async with cond:
            self.in_use -= 1
            cond.notify(1)

    def shrink(self, in_flight: int) -> int:
        """Halve the capacity from what was in flight when a request timed out (at least 1)."""
        self.capacity = max(1, min(self.capacity, in_flight) // 2)
        return self.capacity
