"""A worker process (`python -m arena.executors.worker_main`), started by executors.workers.

It reads its setup once (executors.remote: config, scenario, personas; it plans nothing), then
jobs (lists of match specs) until the end of its input, which also means: stop. Offline matches
come back with their job; LLM matches stream back one by one as they finish, and each job ends
with what its calls added to the models' counters. A stop cancels the matches in play, waits
for the requests already sent and caches their replies (each is paid for). Ctrl-C is the
parent's to handle; a parent that dies closes our input, so we exit, and however it died our
lifeline (arena.lifeline) ends us: an LLM worker first caches the replies it already bought.
"""
from __future__ import annotations

import asyncio
import os
import pickle
import queue
import sys
import threading
import traceback
from typing import IO, Any

from arena.executors.child import worker_outbox
from arena.executors.local import play_specs
from arena.executors.remote import factory_stats, stats_delta, worker_factory
from arena.factory import AgentFactory
from arena.match import MatchSpec
from scenarios.errors import InputError


def serve(inbox: IO[bytes], outbox: IO[bytes]) -> None:
    messages: queue.SimpleQueue[Any] = queue.SimpleQueue()
    lock = threading.Lock()
    stop = threading.Event()
    running: dict[str, Any] = {}  # the event loop and the task playing, while one plays
    stopping = threading.Lock()  # taken once, never released: the first request_stop wins

    def request_stop() -> None:
        # once only: a second cancel would break off the wait for replies already paid for
        # (aclose); never blocking, as it may run in a signal handler or under `lock`
        if not stopping.acquire(blocking=False):
            return
        stop.set()
        loop, task = running.get("loop"), running.get("task")
        if loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop has ended already
                pass

    def send(kind: str, payload: Any) -> None:
        with lock:
            try:
                pickle.dump((kind, payload), outbox, pickle.HIGHEST_PROTOCOL)
                outbox.flush()
            except OSError:  # the parent is gone: stop, keeping what was bought
                request_stop()

    def read() -> None:  # drain our input at once, so the parent never blocks writing to us
        while True:
            try:
                messages.put(pickle.load(inbox))
            except (EOFError, OSError, pickle.UnpicklingError):
                messages.put(None)
                request_stop()
                return

    threading.Thread(target=read, daemon=True).start()
    known: dict[str, Any] = {}  # the setup, once read (the lifeline needs its models)
    _bind_to_parent(known, request_stop)
    setup = messages.get()
    if setup is None:
        return
    known["setup"] = setup
    runner = asyncio.Runner()
    factory: AgentFactory | None = None
    try:
        factory = worker_factory(setup)
        while not stop.is_set() and (specs := messages.get()) is not None:
            before = factory_stats(factory)
            rows = runner.run(_job(factory, specs, setup["concurrency"], send, running))
            send("done", (rows, stats_delta(before, factory_stats(factory))))
    except asyncio.CancelledError:  # stopped by the parent
        pass
    except InputError as error:
        send("input", str(error))
    except Exception:  # a bug: report it to the parent, which raises
        send("error", traceback.format_exc())
    finally:
        try:
            if factory is not None and factory.llm is not None:
                # after a stop too: waits for requests already sent, caches their replies
                runner.run(factory.llm.aclose())
        finally:
            runner.close()
            if factory is not None and factory.llm is not None:
                factory.llm.close()  # writes any reply the cache could not take before


def _bind_to_parent(known: dict[str, Any], request_stop: Any) -> None:
    """When the parent dies: an offline worker (or one not yet set up) simply ends; an LLM
    worker stops as at the end of its input (caching the replies of requests already sent),
    then ends for sure after its models' timeout."""
    from arena.lifeline import bind_to_parent

    def orphaned() -> None:
        config = (known.get("setup") or {}).get("config") or {}
        agents = (config.get("agents") or {}).values()
        if not any(a.get("kind") == "llm" for a in agents):
            os._exit(1)
        request_stop()
        models = (config.get("models") or {}).values()
        grace = max((float(m.get("timeout", 60.0)) for m in models), default=60.0)
        threading.Timer(grace + 10.0, lambda: os._exit(1)).start()

    bind_to_parent(orphaned)


async def _job(factory: AgentFactory, specs: list[MatchSpec], concurrency: int, send: Any,
               running: dict[str, Any]) -> list[Any]:
    """Play one job; offline rows are returned (and go back with the job), LLM rows streamed."""
    running["loop"], running["task"] = asyncio.get_running_loop(), asyncio.current_task()
    rows: list[Any] = []
    if factory.offline:
        on_row = lambda row: rows.append(row.wire())  # noqa: E731
    else:
        on_row = lambda row: send("row", row.wire())  # noqa: E731
    try:
        await play_specs(factory, factory.config.condition, specs, concurrency, on_row)
    finally:
        running.pop("task", None)
    return rows


def main() -> None:
    outbox = worker_outbox()
    try:
        serve(sys.stdin.buffer, outbox)
    finally:  # the input reader may still be reading: leave without interpreter teardown
        for stream in (outbox, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(0)


if __name__ == "__main__":
    main()
