"""A persistent reply cache shared across runs: never pay twice, never lose a reply.

Keyed by the sha256 of the canonical full request (model, messages with images by hash,
parameters, sample key), so a rerun of the same config, or a resumed one, replays exactly and
sends nothing. Each reply is written in its own transaction the moment it arrives: a match that
fails later, or a run killed mid-way, keeps every reply already paid for. SQLite in WAL mode
with a busy timeout lets several processes (parallel runs, `rate` next to `run`) share it.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.errors import InputError

CACHE_FILE = "replies.sqlite"
ENV_VAR = "PERSONA_ARENA_CACHE"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replies(
  key TEXT PRIMARY KEY, model TEXT NOT NULL, text TEXT NOT NULL, finish_reason TEXT,
  prompt_tokens INTEGER, completion_tokens INTEGER, latency_ms REAL, created_at REAL NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class CachedReply:
    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float | None


def request_key(request: dict[str, Any]) -> str:
    """sha256 of a request in canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_cache_dir() -> Path:
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "persona-arena"


def resolve_cache_dir(configured: str | None, base: Path) -> Path:
    """`[cache] dir` (relative to the config file) wins, then $PERSONA_ARENA_CACHE, then ~/.cache."""
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else (base / path)
    return default_cache_dir()


class ReplyCache:
    """One SQLite file of replies. Use from one event-loop thread per process."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / CACHE_FILE
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=60,
                                        check_same_thread=False)
            self.conn.execute("PRAGMA busy_timeout=60000")
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise InputError(f"cache.dir: cannot open the reply cache {self.path} ({error})") from None
        self.hits = 0
        self.writes = 0

    def get(self, key: str) -> CachedReply | None:
        row = self.conn.execute(
            "SELECT text, finish_reason, prompt_tokens, completion_tokens, latency_ms "
            "FROM replies WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        self.hits += 1
        return CachedReply(*row)

    def put(self, key: str, model: str, reply: CachedReply) -> None:
        """Store at once, in its own transaction. The first reply stored under a key wins."""
        self.conn.execute(
            "INSERT OR IGNORE INTO replies(key, model, text, finish_reason, prompt_tokens, "
            "completion_tokens, latency_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (key, model, reply.text, reply.finish_reason, reply.prompt_tokens,
             reply.completion_tokens, reply.latency_ms, time.time()))
        self.writes += 1

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        self.conn.close()
