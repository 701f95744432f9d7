"""The results store: one SQLite file per run, one transaction per match with all its turns.

A crash therefore never leaves half a match, and `--resume` skips whatever is committed.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS personas(
  persona_id TEXT PRIMARY KEY, image_sha256 TEXT, image TEXT, level INTEGER, description TEXT);
CREATE TABLE IF NOT EXISTS ratings(
  persona_id TEXT NOT NULL, rater TEXT NOT NULL, score REAL, raw TEXT, model TEXT,
  prompt_sha256 TEXT, created_at REAL, PRIMARY KEY(persona_id, rater));
CREATE TABLE IF NOT EXISTS manipulation_checks(
  persona_id TEXT NOT NULL, model TEXT NOT NULL, answer TEXT, score INTEGER, created_at REAL,
  PRIMARY KEY(persona_id, model));
CREATE TABLE IF NOT EXISTS matches(
  match_id TEXT PRIMARY KEY, design TEXT, repetition INTEGER, scenario TEXT, condition TEXT,
  seed INTEGER, persona_a TEXT, persona_b TEXT, level_a INTEGER, level_b INTEGER,
  agent_a TEXT, agent_b TEXT, status TEXT NOT NULL CHECK(status IN ('ok', 'failed')),
  payoff_a REAL, payoff_b REAL, deal INTEGER, agreements INTEGER, share_a REAL, share_b REAL,
  n_turns INTEGER, error TEXT, calls INTEGER, prompt_tokens INTEGER, completion_tokens INTEGER,
  elapsed_ms REAL, finished_at REAL);
CREATE TABLE IF NOT EXISTS turns(
  match_id TEXT NOT NULL, turn_index INTEGER NOT NULL, round INTEGER, speaker TEXT, role TEXT,
  persona_id TEXT, move_kind TEXT NOT NULL CHECK(move_kind IN
    ('propose','accept','reject','counter','walk_away','message','invalid')),
  offer TEXT, claim REAL, accepted INTEGER, text TEXT, parse_ok INTEGER, reason TEXT,
  latency_ms REAL, prompt_tokens INTEGER, completion_tokens INTEGER, calls INTEGER,
  cached INTEGER, extractor_answer TEXT, read_confidence REAL, read_evidence TEXT,
  read_note TEXT, PRIMARY KEY(match_id, turn_index));
"""

MATCH_COLUMNS = (
    "match_id", "design", "repetition", "scenario", "condition", "seed", "persona_a", "persona_b",
    "level_a", "level_b", "agent_a", "agent_b", "status", "payoff_a", "payoff_b", "deal",
    "agreements", "share_a", "share_b", "n_turns", "error", "calls", "prompt_tokens",
    "completion_tokens", "elapsed_ms", "finished_at",
)
TURN_COLUMNS = (
    "match_id", "turn_index", "round", "speaker", "role", "persona_id", "move_kind", "offer",
    "claim", "accepted", "text", "parse_ok", "reason", "latency_ms", "prompt_tokens",
    "completion_tokens", "calls", "cached", "extractor_answer", "read_confidence",
    "read_evidence", "read_note",
)
# columns added after the first release: a store made before gets them when it is opened
# (read_*: how a free-text move was read: confidence 0..1, the evidence span, the reason)
_ADDED = {"turns": (("extractor_answer", "TEXT"), ("read_confidence", "REAL"),
                    ("read_evidence", "TEXT"), ("read_note", "TEXT"))}
_INSERT_MATCH = (f"INSERT OR REPLACE INTO matches({', '.join(MATCH_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(MATCH_COLUMNS))})")
_TURN_VALUES = f"({', '.join('?' * len(TURN_COLUMNS))})"
TURNS_PER_INSERT = 32  # a match's turns go in multi-row INSERTs of up to this many rows


@lru_cache(maxsize=TURNS_PER_INSERT)
def _insert_turns(n: int) -> str:
    """One INSERT of `n` turn rows: a fraction of the CPU of `n` single-row statements."""
    return (f"INSERT INTO turns({', '.join(TURN_COLUMNS)}) VALUES "
            + ", ".join([_TURN_VALUES] * n))


@dataclass(frozen=True, slots=True)
class MatchRow:
    """A finished match ready to store: its row and its turn rows (tuples in column order)."""

    match: tuple[Any, ...]
    turns: Sequence[tuple[Any, ...]]

    @property
    def match_id(self) -> str:
        return self.match[0]


class Store:
    """The one writer of a run's SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.executescript(SCHEMA)
        self._add_columns()

    def _add_columns(self) -> None:
        for table, columns in _ADDED.items():
            have = {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns:
                if name not in have:
                    self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, values: dict[str, str]) -> None:
        with self._transaction():
            self.conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                                  list(values.items()))

    # -- personas and ratings ---------------------------------------------------------------
    def write_personas(self, rows: Iterable[tuple[str, str, str, int | None, str]]) -> None:
        with self._transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO personas(persona_id, image_sha256, image, level, "
                "description) VALUES (?, ?, ?, ?, ?)", list(rows))

    def write_rating(self, persona_id: str, rater: str, score: float | None, raw: str,
                     model: str = "", prompt_sha256: str = "") -> None:
        with self._transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO ratings(persona_id, rater, score, raw, model, "
                "prompt_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (persona_id, rater, score, raw, model, prompt_sha256, time.time()))

    def ratings(self, rater: str) -> dict[str, float]:
        rows = self.conn.execute(
            "SELECT persona_id, score FROM ratings WHERE rater = ? AND score IS NOT NULL", (rater,))
        return {pid: score for pid, score in rows}

    # -- matches ----------------------------------------------------------------------------
    def write_match(self, row: MatchRow) -> None:
        """Store a match and all its turns atomically (a rerun of a failed match replaces it)."""
        conn, turns = self.conn, row.turns
        width = len(TURN_COLUMNS)
        if any(len(turn) != width for turn in turns):  # flattened below: check each row's width
            raise sqlite3.ProgrammingError(f"match {row.match_id}: incorrect number of bindings "
                                           f"in a turn row (the turns table has {width} columns)")
        with self._transaction():
            conn.execute("DELETE FROM turns WHERE match_id = ?", (row.match_id,))
            conn.execute(_INSERT_MATCH, row.match)
            for start in range(0, len(turns), TURNS_PER_INSERT):
                chunk = turns[start:start + TURNS_PER_INSERT]
                conn.execute(_insert_turns(len(chunk)), tuple(chain.from_iterable(chunk)))

    def match_ids(self, status: str | None = "ok") -> set[str]:
        if status is None:
            rows = self.conn.execute("SELECT match_id FROM matches")
        else:
            rows = self.conn.execute("SELECT match_id FROM matches WHERE status = ?", (status,))
        return {r[0] for r in rows}

    def count(self, table: str) -> int:
        if table not in ("matches", "turns", "personas", "ratings"):
            raise ValueError(table)
        return self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def _transaction(self) -> "_Tx":
        return _Tx(self.conn)


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when anything inside raises."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def encode_offer(offer: Any) -> str | None:
    """An offer as JSON text. Floats (every ultimatum and price offer) take a fast path with the
    same text json.dumps gives: float.__repr__ for finite values."""
    if offer is None:
        return None
    if type(offer) is float and offer - offer == 0.0:  # finite: not nan, not +-inf
        return float.__repr__(offer)
    return json.dumps(list(offer) if isinstance(offer, tuple) else offer)
