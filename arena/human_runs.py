"""A run folder for matches with a person in a seat (`play --out`, `serve`).

The same store as `run` (RUN_DIR/arena.sqlite: personas, ratings, matches, turns, one
transaction per match, agent "human" in the person's seat), plus what only people produce:
participants, their matches in progress and each move they sent, each committed at once, so a
closed tab or a killed server loses nothing and a restarted server replays a match to where
the person left it. `play` and `serve` of the same config may share a folder.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from arena.config import RunConfig
from arena.factory import AgentFactory
from arena.run_dir import lock_run_dir, open_run_dir
from arena.run_plan import Plan
from arena.store import STORE_NAME, Store
from agents.personas.persona import Persona
from scenarios.errors import InputError
from scenarios.loader import Scenario

HUMAN_SCHEMA = """
CREATE TABLE IF NOT EXISTS participants(
  participant_id TEXT PRIMARY KEY, token_sha256 TEXT UNIQUE NOT NULL, created_at REAL NOT NULL,
  consented_at REAL, finished_at REAL);
CREATE TABLE IF NOT EXISTS participant_matches(
  match_id TEXT PRIMARY KEY, participant_id TEXT NOT NULL, number INTEGER NOT NULL,
  side TEXT NOT NULL, persona_human TEXT, persona_opponent TEXT, seed INTEGER NOT NULL,
  started_at REAL NOT NULL, UNIQUE(participant_id, number));
CREATE TABLE IF NOT EXISTS participant_seats(
  match_id TEXT NOT NULL, seat TEXT NOT NULL, persona_id TEXT, PRIMARY KEY(match_id, seat));
CREATE TABLE IF NOT EXISTS participant_moves(
  match_id TEXT NOT NULL, turn_index INTEGER NOT NULL, text TEXT NOT NULL, read_as TEXT,
  sent_at REAL NOT NULL, PRIMARY KEY(match_id, turn_index));
"""


def human_run_id(config: RunConfig, scenario: Scenario, opponent_label: str) -> str:
    """What makes two sessions one study: scenario, condition, seed and the opponent agent
    (not the [serve] texts or counts, which a study may adjust between sessions)."""
    text = json.dumps(["human", scenario.name, config.condition, config.seed, opponent_label])
    return hashlib.sha256(text.encode()).hexdigest()


def open_human_run(config: RunConfig, base: Path, scenario: Scenario,
                   personas: dict[str, Persona], factory: AgentFactory, opponent_label: str,
                   run_dir: Path) -> tuple[Store, Any]:
    """Create or reopen RUN_DIR for human matches and lock it; (store, lock handle). Refuses
    a folder holding other files, or a run of another config."""
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError(f"{run_dir}: is a file, expected a run folder (--out)")
    if (run_dir.is_dir() and not (run_dir / STORE_NAME).exists()
            and any(p.name != "config.json" for p in run_dir.iterdir())):
        raise InputError(f"{run_dir}: holds other files but no {STORE_NAME}; choose a new or "
                         "empty --out")
    plan = Plan(config, base, scenario, personas, [], factory,
                human_run_id(config, scenario, opponent_label))
    store = open_run_dir(plan, run_dir, resume=True)
    lock = lock_run_dir(run_dir, store)
    try:
        store.conn.executescript(HUMAN_SCHEMA)
        store.set_meta({"design": "human", "human_opponent": opponent_label})
    except sqlite3.DatabaseError as error:
        store.close()
        lock.close()
        raise InputError(f"{run_dir / STORE_NAME}: cannot write the run store ({error})") from None
    return store, lock


def next_match_number(store: Store, prefix: str) -> int:
    """1 + the highest number of the stored matches called PREFIX-N."""
    rows = store.conn.execute("SELECT match_id FROM matches WHERE match_id LIKE ?",
                              (f"{prefix}-%",)).fetchall()
    numbers = [int(tail) for (mid,) in rows if (tail := mid[len(prefix) + 1:]).isdigit()]
    return max(numbers, default=0) + 1
