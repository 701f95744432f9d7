"""A persistent reply cache shared across runs: never pay twice, never lose a reply.

Keyed by the sha256 of the canonical full request (model, messages with images by hash,
parameters, sample key) and of the endpoint it went to (`for_endpoint`: the normalised base
URL), so a rerun of the same config, or a resumed one, replays exactly and sends nothing, while
another server serving a model of the same name is asked afresh. Each reply is written in its own transaction the moment it arrives: a match that
fails later, or a run killed mid-way, keeps every reply already paid for. SQLite in WAL mode
with a busy timeout lets several processes (parallel runs, `rate` next to `run`) share it.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
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
  prompt_tokens INTEGER, completion_tokens INTEGER, latency_ms REAL, created_at REAL NOT NULL,
  endpoint TEXT);
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
    """$PERSONA_ARENA_CACHE, else the platform's user cache folder as platformdirs has it
    ($XDG_CACHE_HOME/persona-arena or ~/.cache/persona-arena on Linux, ~/Library/Caches on
    macOS, %LOCALAPPDATA% on Windows)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_cache_path("persona-arena", appauthor=False)


def resolve_cache_dir(configured: str | None, base: Path) -> Path:
    """`[cache] dir` (relative to the config file) wins, then $PERSONA_ARENA_CACHE, then the
    user cache folder (see `default_cache_dir`)."""
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else (base / path)
    return default_cache_dir()


class ReplyCache:
    """One SQLite file of replies. Use from one event-loop thread per process.

    A reply that cannot be written (a full disk, a read-only or locked file) is not dropped: it
    stays in memory, answers `get` for the rest of the run, and every later `put` and `close`
    try to write it again; the first failure is reported on stderr, the rest counted."""

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
            columns = {row[1] for row in self.conn.execute("PRAGMA table_info(replies)")}
            if "endpoint" not in columns:  # a cache made before replies named their server
                self.conn.execute("ALTER TABLE replies ADD COLUMN endpoint TEXT")
        except (OSError, sqlite3.Error) as error:
            raise InputError(f"cache.dir: cannot open the reply cache {self.path} ({error})") from None
        self.hits = 0
        self.writes = 0
        self.errors = 0  # failed reads and writes (a write is retried later)
        self.last_error: str | None = None
        # key -> model, reply, when, endpoint
        self._unsaved: dict[str, tuple[str, CachedReply, float, str | None]] = {}

    @property
    def unsaved(self) -> int:
        """Replies held in memory because the file could not take them (yet)."""
        return len(self._unsaved)

    def get(self, key: str) -> CachedReply | None:
        held = self._unsaved.get(key)
        if held is not None:
            self.hits += 1
            return held[1]
        try:
            row = self.conn.execute(
                "SELECT text, finish_reason, prompt_tokens, completion_tokens, latency_ms "
                "FROM replies WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as error:  # an unreadable cache is a miss, never a failed match
            self._failed(error)
            return None
        if row is None:
            return None
        self.hits += 1
        return CachedReply(*row)

    def put(self, key: str, model: str, reply: CachedReply, endpoint: str | None = None) -> None:
        """Store at once (with any reply an earlier write could not store), in one transaction.
        The first reply stored under a key wins."""
        if key not in self._unsaved:
            self._unsaved[key] = (model, reply, time.time(), endpoint)
        self.flush()

    def for_endpoint(self, endpoint: str) -> "EndpointCache":
        """This cache as seen by the clients of one endpoint (see `EndpointCache`)."""
        return EndpointCache(self, endpoint)

    def flush(self) -> bool:
        """Write every reply held in memory; True when none is left."""
        if not self._unsaved:
            return True
        rows = [(key, model, r.text, r.finish_reason, r.prompt_tokens, r.completion_tokens,
                 r.latency_ms, when, endpoint)
                for key, (model, r, when, endpoint) in self._unsaved.items()]
        try:
            if len(rows) == 1:
                self.conn.execute(_INSERT, rows[0])
            else:
                with self.conn:  # commits, or rolls back when a row cannot be written
                    self.conn.execute("BEGIN IMMEDIATE")
                    self.conn.executemany(_INSERT, rows)
        except (sqlite3.Error, OSError) as error:
            self._failed(error)
            return False
        self.writes += len(rows)
        self._unsaved.clear()
        return True

    def _failed(self, error: Exception) -> None:
        self.errors += 1
        first = self.last_error is None
        self.last_error = str(error)
        if first:
            print(f"persona-arena: warning: reply cache {self.path}: {error}; replies are kept "
                  "in memory and written when it works again", file=sys.stderr)

    def count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        """Write what is held, then close; replies still unwritable are reported on stderr (a
        finished match's replies are in its RUN_DIR's turns table all the same)."""
        if not self.flush():
            print(f"persona-arena: warning: reply cache {self.path}: {self.unsaved} "
                  f"repl{'y' if self.unsaved == 1 else 'ies'} could not be written "
                  f"({self.last_error}); finished matches keep their texts in the run's store",
                  file=sys.stderr)
        self.conn.close()


class EndpointCache:
    """The reply cache of one endpoint: every key is made with the endpoint's identity (its
    normalised base URL), so that a config pointed at another server with the same `model`
    name never replays the first server's replies. Counts what it answered."""

    def __init__(self, cache: ReplyCache, endpoint: str) -> None:
        self.cache = cache
        self.endpoint = endpoint
        self.hits = 0

    def _key(self, key: str) -> str:
        return hashlib.sha256(f"{self.endpoint}\n{key}".encode("utf-8")).hexdigest()

    def get(self, key: str) -> CachedReply | None:
        found = self.cache.get(self._key(key))
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: str, model: str, reply: CachedReply) -> None:
        self.cache.put(self._key(key), model, reply, self.endpoint)

    @property
    def path(self) -> Path:
        return self.cache.path


_INSERT = ("INSERT OR IGNORE INTO replies(key, model, text, finish_reason, prompt_tokens, "
           "completion_tokens, latency_ms, created_at, endpoint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
