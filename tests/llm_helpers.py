"""Helpers shared by the LLM tests: the loopback's recorded chats, and the CLI run in-process.

`cli_here` runs `persona-arena ARGS` inside the test process (no interpreter start, no second
AutoGen import), for the second and later commands of a test; the first runs as a user would,
in a subprocess (`tests.helpers.cli`).
"""
from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.openai_server import LoopbackServer


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def cli_here(*args: str, env: dict[str, str] | None = None) -> Result:
    from arena.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _environment(env or {}), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    return Result(code, out.getvalue(), err.getvalue())


def chats(server: LoopbackServer, probes: bool = False) -> list[dict[str, Any]]:
    """The chat-completion request bodies the server received, in order; the vision probes
    sent before the first match only with `probes`."""
    return [r["body"] for r in server.requests
            if r["path"].endswith("/chat/completions") and r["body"] is not None
            and (probes or not is_probe(r["body"]))]


def is_probe(body: dict[str, Any]) -> bool:
    from tests.openai_server import PROBE_PHRASE, message_text

    return any(PROBE_PHRASE in message_text(m).lower() for m in body.get("messages") or []
               if isinstance(m, dict))
