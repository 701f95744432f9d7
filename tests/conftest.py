"""Shared pytest fixtures.

LLM code paths are tested against a real OpenAI-compatible HTTP server on 127.0.0.1
(`tests/openai_server.py`), never against a patched client.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.openai_server import LoopbackServer


@pytest.fixture(scope="session", autouse=True)
def _private_reply_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests that do not name a reply cache get one of the session's own, never the user's
    ~/.cache/persona-arena: no reply from an earlier run (or a parallel test worker) replays."""
    saved = os.environ.get("PERSONA_ARENA_CACHE")
    os.environ["PERSONA_ARENA_CACHE"] = str(tmp_path_factory.mktemp("reply-cache"))
    yield
    if saved is None:
        os.environ.pop("PERSONA_ARENA_CACHE", None)
    else:
        os.environ["PERSONA_ARENA_CACHE"] = saved


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A started loopback OpenAI server with default options (no latency, no faults)."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def loopback_factory() -> Iterator[Callable[..., LoopbackServer]]:
    """Start loopback servers with options: `srv = loopback_factory(rate_429=0.2, seed=3)`.

    Every server started through the factory is stopped when the test ends.
    """
    started: list[LoopbackServer] = []

    def start(**options: Any) -> LoopbackServer:
        server = LoopbackServer(**options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def small_pool(tmp_path_factory: pytest.TempPathFactory):
    """A generated pool of 14 avatars over 7 levels (2 per level), made once per session."""
    from agents.personas.avatars import generate_pool

    pool = tmp_path_factory.mktemp("pool") / "pool"
    generate_pool(14, 7, pool, seed=3, size=64)
    return pool
