"""The results store: one SQLite file per run; a match is written with all its turns in one
transaction (several whole matches may share one).

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
from typing import Any, NamedTuple

STORE_NAME = "arena.sqlite"  # RUN_DIR/STORE_NAME: every run's store (and analysis reads it)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS personas(
  persona_id TEXT PRIMARY KEY, image_sha256 TEXT, image TEXT, level INTEGER, description TEXT,
  identity TEXT, attributes TEXT);
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
CREATE TABLE IF NOT EXISTS seats(
  match_id TEXT NOT NULL, seat TEXT NOT NULL, persona_id TEXT, agent TEXT, role TEXT,
  level INTEGER, payoff REAL, share REAL, PRIMARY KEY(match_id, seat));
"""

class MatchRecord(NamedTuple):
    """One row of `matches`, its fields in column order. Immutable and typed; a NamedTuple, not
    a dataclass, because it is made once per match on the engine's hot path (a frozen
    dataclass of 26 fields costs ~4 us to make and as much to turn back into SQL parameters;
    this costs a tenth) and is its own row of parameters."""

    match_id: str
    design: str
    repetition: int
    scenario: str
    condition: str
    seed: int
    persona_a: str | None
    persona_b: str | None
    level_a: int | None
    level_b: int | None
    agent_a: str
    agent_b: str
    status: str  # "ok" or "failed"
    payoff_a: float | None
    payoff_b: float | None
    deal: int | None
    agreements: int | None
    share_a: float | None
    share_b: float | None
    n_turns: int
    error: str | None
    calls: int
    prompt_tokens: int
    completion_tokens: int
    elapsed_ms: float
    finished_at: float


class TurnRecord(NamedTuple):
    """One row of `turns`, its fields in column order (see MatchRecord on why a NamedTuple)."""

    match_id: str
    turn_index: int
    round: int
    speaker: str  # the side, "a" or "b"
    role: str
    persona_id: str | None
    move_kind: str
    offer: str | None  # JSON text (encode_offer)
    claim: float | None
    accepted: int | None
    text: str
    parse_ok: int  # 0: an invalid turn (see reason)
    reason: str | None
    latency_ms: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    calls: int
    cached: int
    extractor_answer: str | None
    read_confidence: float | None  # how sure the free-text reader was, 0..1 (None: not read)
    read_evidence: str | None  # the span of the reply it read the move from
    read_note: str | None  # why it was (un)sure


class SeatRecord(NamedTuple):
    """One row of `seats`: who sat in one seat of a match and what the seat was paid. Every
    match has one per seat, two-seat matches too, so an analysis of any game reads one table;
    `matches.persona_a/b` and `payoff_a/b` repeat seats a and b of two-seat matches only."""

    match_id: str
    seat: str  # the side, "a".."h"
    persona_id: str | None
    agent: str | None  # the agent's label, as matches.agent_a
    role: str | None  # the seat's role at the start of the match
    level: int | None
    payoff: float | None  # None: the match failed
    share: float | None


MATCH_COLUMNS = MatchRecord._fields
TURN_COLUMNS = TurnRecord._fields
SEAT_COLUMNS = SeatRecord._fields
_OK, _CALLS, _PROMPT, _COMPLETION = (MATCH_COLUMNS.index(c) for c in (
    "status", "calls", "prompt_tokens", "completion_tokens"))
_PARSE_OK = TURN_COLUMNS.index("parse_ok")
# columns added after the first release: a store made before gets them when it is opened
# (read_*: how a free-text move was read: confidence 0..1, the evidence span, the reason)
_ADDED = {"turns": (("extractor_answer", "TEXT"), ("read_confidence", "REAL"),
                    ("read_evidence", "TEXT"), ("read_note", "TEXT")),
          # counterfactual sets: the identity a persona is a variant of, its attributes (JSON)
          "personas": (("identity", "TEXT"), ("attributes", "TEXT"))}
_INSERT_MATCH = (f"INSERT OR REPLACE INTO matches({', '.join(MATCH_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(MATCH_COLUMNS))})")
_INSERT_SEATS = (f"INSERT INTO seats({', '.join(SEAT_COLUMNS)}) "
                 f"VALUES ({', '.join('?' * len(SEAT_COLUMNS))})")
_TURN_VALUES = f"({', '.join('?' * len(TURN_COLUMNS))})"
TURNS_PER_INSERT = 32  # a match's turns go in multi-row INSERTs of up to this many rows


@lru_cache(maxsize=TURNS_PER_INSERT)
def _insert_turns(n: int) -> str:
    """One INSERT of `n` turn rows: a fraction of the CPU of `n` single-row statements."""
    return (f"INSERT INTO turns({', '.join(TURN_COLUMNS)}) VALUES "
            + ", ".join([_TURN_VALUES] * n))


@dataclass(frozen=True, slots=True)
class MatchRow:
    """A finished match ready to store: its record and its turns' records.

    Between processes a row travels as plain tuples (`wire`), and the writer stores it as it
    comes (`from_wire`): re-typing every record would cost the one writer as much again as
    unpickling it. Read such a row through the methods here, never by position elsewhere."""

    match: MatchRecord
    turns: Sequence[TurnRecord]
    seats: Sequence[SeatRecord] = ()  # empty: a two-seat row made elsewhere (see seat_rows)

    @property
    def match_id(self) -> str:
        return self.match[0]

    def wire(self) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
        """The row as plain tuples in column order, for a pipe or a Ray task's result."""
        return tuple(self.match), [tuple(t) for t in self.turns], [tuple(s) for s in self.seats]

    @classmethod
    def from_wire(cls, data: tuple[Any, Any]) -> MatchRow:
        return cls(*data)

    def seat_rows(self) -> Sequence[SeatRecord]:
        """The match's seats: its own, or for a two-seat row made without them (a person's
        match, an import) seats a and b read from the match record."""
        if self.seats:
            return self.seats
        m = MatchRecord._make(self.match) if type(self.match) is tuple else self.match
        roles = {}
        for turn in self.turns:
            roles.setdefault(turn[3], turn[4])
        return [SeatRecord(m.match_id, side, persona, agent, roles.get(side), level, payoff,
                           share)
                for side, persona, agent, level, payoff, share in (
                    ("a", m.persona_a, m.agent_a, m.level_a, m.payoff_a, m.share_a),
                    ("b", m.persona_b, m.agent_b, m.level_b, m.payoff_b, m.share_b))]

    def progress(self) -> tuple[bool, int, int, int, int]:
        """(ok, model calls, tokens, turns, invalid turns): what the progress line counts."""
        m, turns = self.match, self.turns
        return (m[_OK] == "ok", m[_CALLS] or 0, (m[_PROMPT] or 0) + (m[_COMPLETION] or 0),
                len(turns), sum(1 for t in turns if t[_PARSE_OK] == 0))


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
            self.add_columns(table, columns)

    def close(self) -> None:
        # back to a rollback journal, so a finished run is one file: readers open it read-only
        # and could not remove a WAL's -wal/-shm files; busy (another reader) keeps WAL, harmless
        try:
            self.conn.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.Error:
            pass
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
    def write_personas(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows of (persona_id, image_sha256, image, level, description[, identity,
        attributes JSON]); the last two are empty for personas of no counterfactual set."""
        rows = [tuple(r) + (None,) * (7 - len(r)) for r in rows]
        with self._transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO personas(persona_id, image_sha256, image, level, "
                "description, identity, attributes) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

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
        self.write_matches([row])

    def write_matches(self, rows: Sequence[MatchRow]) -> None:
        """Store several whole matches in one transaction: each stays atomic (all its turns
        and seats or nothing), and a commit, the bulk of a small match's writing, is paid once."""
        conn, width = self.conn, len(TURN_COLUMNS)
        for row in rows:  # flattened below: check widths (map: no Python frame per turn)
            if any(map(width.__ne__, map(len, row.turns))):
                raise sqlite3.ProgrammingError(
                    f"match {row.match_id}: incorrect number of bindings in a turn row (the "
                    f"turns table has {width} columns)")
        seats = [seat for row in rows for seat in row.seat_rows()]
        with self._transaction():
            ids = [(r.match[0],) for r in rows]
            conn.executemany("DELETE FROM turns WHERE match_id = ?", ids)
            conn.executemany("DELETE FROM seats WHERE match_id = ?", ids)
            conn.executemany(_INSERT_MATCH, [r.match for r in rows])
            conn.executemany(_INSERT_SEATS, seats)
            chunk: list[Any] = []
            for row in rows:
                chunk.extend(row.turns)
                while len(chunk) >= TURNS_PER_INSERT:
                    conn.execute(_insert_turns(TURNS_PER_INSERT),
                                 tuple(chain.from_iterable(chunk[:TURNS_PER_INSERT])))
                    del chunk[:TURNS_PER_INSERT]
            if chunk:
                conn.execute(_insert_turns(len(chunk)), tuple(chain.from_iterable(chunk)))

    def match_ids(self, status: str | None = "ok") -> set[str]:
        if status is None:
            rows = self.conn.execute("SELECT match_id FROM matches")
        else:
            rows = self.conn.execute("SELECT match_id FROM matches WHERE status = ?", (status,))
        return {r[0] for r in rows}

    def ok_shares(self, match_ids: list[str]) -> list[tuple[str, str, float | None,
                                                             float | None]]:
        """(persona_a, persona_b, share_a, share_b) of those of `match_ids` stored as ok."""
        marks = ",".join("?" * len(match_ids))
        return self.conn.execute(
            f"SELECT persona_a, persona_b, share_a, share_b FROM matches "
            f"WHERE match_id IN ({marks}) AND status = 'ok'", match_ids).fetchall()

    def read_matches(self, status: str | None = None) -> list[MatchRecord]:
        """The stored matches (of one `status`), in the order they were stored."""
        sql = f"SELECT {', '.join(MATCH_COLUMNS)} FROM matches"
        rows = (self.conn.execute(sql + " ORDER BY rowid") if status is None else
                self.conn.execute(sql + " WHERE status = ? ORDER BY rowid", (status,)))
        return [MatchRecord._make(row) for row in rows]

    def read_turns(self, match_id: str) -> list[TurnRecord]:
        """A stored match's turns, in turn order."""
        rows = self.conn.execute(f"SELECT {', '.join(TURN_COLUMNS)} FROM turns WHERE match_id = ? "
                                 "ORDER BY turn_index", (match_id,))
        return [TurnRecord._make(row) for row in rows]

    def read_seats(self, match_id: str) -> list[SeatRecord]:
        """A stored match's seats, in seat order."""
        rows = self.conn.execute(f"SELECT {', '.join(SEAT_COLUMNS)} FROM seats WHERE match_id = ? "
                                 "ORDER BY seat", (match_id,))
        return [SeatRecord._make(row) for row in rows]

    # -- bulk rows (a run imported from elsewhere: the paper's results) ----------------------
    def add_columns(self, table: str, columns: Iterable[tuple[str, str]]) -> None:
        """Columns of an imported source beyond the schema (name, SQL type), when missing."""
        have = set(self.columns(table))
        for name, kind in columns:
            if name not in have:
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def columns(self, table: str) -> list[str]:
        return [row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")]

    def insert_rows(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        """Rows given as {column: value}, table by table, all in one transaction (a whole
        import is there or not at all); every row of a table has the first row's columns."""
        with self._transaction():
            for table, rows in tables.items():
                if not rows:
                    continue
                cols = list(rows[0])
                unknown = set(cols) - set(self.columns(table))
                if unknown:
                    raise ValueError(f"{table} has no column {sorted(unknown)[0]}")
                self.conn.executemany(
                    f"INSERT INTO {table}({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [tuple(r[c] for c in cols) for r in rows])

    def count(self, table: str) -> int:
        if table not in ("matches", "turns", "personas", "ratings", "seats"):
            raise ValueError(table)
        return self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def _transaction(self) -> "_Tx":
        return _Tx(self.conn)


StoreError = sqlite3.DatabaseError  # what reading a file that is no store raises
# each table's reading order: analysis frames come out the same for the same store
READ_ORDER = {"matches": "match_id", "turns": "match_id, turn_index", "personas": "persona_id",
              "ratings": "persona_id, rater", "seats": "match_id, seat"}


class StoreReader:
    """A run's store opened read-only, for the analysis: reading never changes a store (nor
    adds the columns a writer would), and a run still being written can be read."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "StoreReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def columns(self, table: str) -> list[str]:
        return [row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")]

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def has_table(self, table: str) -> bool:
        """Whether the store has `table` (a store written before the seats table has none)."""
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                 "name = ?", (table,)).fetchone() is not None

    def table_sql(self, table: str, leave_out: Iterable[str] = (),
                  blank: Iterable[str] = ()) -> str:
        """The query of a whole table in its reading order (for a data-frame reader given
        `conn`): columns in `leave_out` are not read, those in `blank` read as NULL."""
        if table not in READ_ORDER:
            raise ValueError(table)
        leave_out, blank = set(leave_out), set(blank)
        columns = "*"
        if leave_out or blank:
            columns = ", ".join(f"NULL AS {n}" if n in blank else f'"{n}"'
                                for n in self.columns(table) if n not in leave_out)
        return f"SELECT {columns} FROM {table} ORDER BY {READ_ORDER[table]}"

    def turn_texts(self, match_ids: list[str]) -> list[tuple[str, int, str | None]]:
        """(match_id, turn_index, text) of every turn of those matches."""
        marks = ", ".join("?" * len(match_ids))
        return self.conn.execute(f"SELECT match_id, turn_index, text FROM turns WHERE match_id "
                                 f"IN ({marks})", match_ids).fetchall()


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
