"""The in-process executor: this process plays the matches in one event loop.

`play_specs` is the engine's inner loop for a list of specs; worker processes and Ray tasks run
the same function, so where a match is played changes nothing in its record.
"""
from __future__ import annotations

import asyncio
from typing import Any

from arena.executors.base import Sink
from arena.factory import AgentFactory
from arena.match import MatchSpec, play_match


async def play_specs(factory: AgentFactory, condition: str, specs: list[MatchSpec],
                     concurrency: int, on_row: Sink) -> None:
    """Play `specs` (concurrently up to `concurrency`; in turn for offline agents) and hand each
    finished match to `on_row`."""
    scenario = factory.scenario

    async def one(spec: MatchSpec) -> None:
        negotiators, labels = factory.seats(spec)
        on_row(await play_match(spec, scenario, negotiators, condition, labels))

    if factory.offline or concurrency <= 1:
        for spec in specs:  # nothing here ever waits: skip the task machinery
            await one(spec)
    else:
        queue: asyncio.Queue[MatchSpec] = asyncio.Queue()
        for spec in specs:
            queue.put_nowait(spec)

        async def worker() -> None:
            while True:
                try:
                    spec = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await one(spec)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(specs)) or 1)))


class InProcessExecutor:
    """Plays in this process. One event loop serves every round of the run (async model clients
    stay bound to the loop they first ran on); Ctrl-C cancels the round, and the clients, closed
    inside that loop, first wait for the requests already sent (their replies are paid for)."""

    workers = 0

    def __init__(self, factory: AgentFactory, condition: str, concurrency: int) -> None:
        self.factory, self.condition, self.concurrency = factory, condition, concurrency
        self._runner: asyncio.Runner | None = None
        self._closed = False

    def play(self, specs: list[MatchSpec], sink: Sink) -> None:
        if self._runner is None:
            self._runner = asyncio.Runner()
        self._runner.run(self._round(specs, sink))

    async def _round(self, specs: list[MatchSpec], sink: Sink) -> None:
        try:
            await play_specs(self.factory, self.condition, specs, self.concurrency, sink)
        except BaseException:
            await self._aclose()
            raise

    async def _aclose(self) -> Any:
        if self.factory.llm is not None and not self._closed:
            self._closed = True
            await self.factory.llm.aclose()

    def close(self) -> None:
        """Close the model clients inside the loop that opened their connections."""
        runner, self._runner = self._runner, None
        if runner is None:
            if self.factory.llm is not None:
                asyncio.run(self._aclose())
            return
        try:
            runner.run(self._aclose())
        finally:
            runner.close()
