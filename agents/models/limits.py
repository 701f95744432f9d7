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
