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
                     concurrency: int, on_row: Sink, budget: Any = None) -> None:
    """Play `specs` (concurrently up to `concurrency`; in turn for offline agents) and hand each
    finished match to `on_row`; with a `budget` (arena.budget), start none that could pass it."""
    scenario = factory.scenario

    async def one(spec: MatchSpec) -> None:
        if budget is not None and not await budget.admit():
            return  # it could pass the budget: left for a resume with a larger one
        row = None
        try:
            negotiators, labels = factory.seats(spec)
            row = await play_match(spec, scenario, negotiators, condition, labels)
        finally:
            if budget is not None:
                await budget.settle(row)
        on_row(row)

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

        tasks = [asyncio.ensure_future(worker())
                 for _ in range(min(concurrency, len(specs)) or 1)]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            # one match could not be stored (a full disk) or we were cancelled: stop the others
            # now, inside this loop, so that the requests they already sent become orphans the
            # model context waits for and caches (`aclose`): a paid reply is never dropped
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise


class InProcessExecutor:
    """Plays in this process. One event loop serves every round of the run (async model clients
    stay bound to the loop they first ran on); Ctrl-C cancels the round, and the clients, closed
    inside that loop, first wait for the requests already sent (their replies are paid for)."""

    workers = 0

    def __init__(self, factory: AgentFactory, condition: str, concurrency: int,
                 budget: Any = None) -> None:
        self.factory, self.condition, self.concurrency = factory, condition, concurrency
        self.budget = budget
        self._runner: asyncio.Runner | None = None
        self._closed = False

    def play(self, specs: list[MatchSpec], sink: Sink) -> None:
        if self._runner is None:
            self._runner = asyncio.Runner()
        self._runner.run(self._round(specs, sink))

    async def _round(self, specs: list[MatchSpec], sink: Sink) -> None:
        try:
            await play_specs(self.factory, self.condition, specs, self.concurrency, sink,
                             self.budget)
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
