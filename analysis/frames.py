"""The store as tidy pandas frames: one row per match, per turn, per proposal.

Usable from a notebook (`frames = load_run("runs/x")`) as well as from the CLI.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from scenarios.errors import InputError

STORE_NAME = "arena.sqlite"


@dataclass
class RunFrames:
    matches: pd.DataFrame
    turns: pd.DataFrame
    personas: pd.DataFrame
    ratings: pd.DataFrame
    meta: dict[str, str]

    @property
    def proposals(self) -> pd.DataFrame:
        return proposals(self)


def store_path(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    path = run_dir / STORE_NAME if run_dir.is_dir() else run_dir
    if not path.exists():
        raise InputError(f"{run_dir}: no {STORE_NAME} here (expected a RUN_DIR made by "
                         "`persona-arena run`, `demo` or `import-paper`)")
    return path


def load_run(run_dir: Path) -> RunFrames:
    path = store_path(run_dir)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            read = lambda sql: pd.read_sql_query(sql, conn)  # noqa: E731
            frames = RunFrames(read("SELECT * FROM matches ORDER BY match_id"),
                               read("SELECT * FROM turns ORDER BY match_id, turn_index"),
                               read("SELECT * FROM personas ORDER BY persona_id"),
                               read("SELECT * FROM ratings ORDER BY persona_id, rater"),
                               dict(conn.execute("SELECT key, value FROM meta").fetchall()))
        finally:
            conn.close()
    except (sqlite3.DatabaseError, pd.errors.DatabaseError) as error:
        raise InputError(f"{path}: not a persona-arena store ({error})") from None
    return frames


def proposals(frames: RunFrames) -> pd.DataFrame:
    """One row per proposal with the proposer's and responder's personas and levels, the claim
    and whether the response accepted it."""
    turns = frames.turns
    if turns.empty:
        return pd.DataFrame(columns=["match_id", "round", "proposer", "responder", "own", "opp",
                                     "claim", "accepted", "speaker"])
    props = turns[turns["move_kind"].isin(["propose", "counter"])].copy()
    matches = frames.matches.set_index("match_id")
    other = {"a": "b", "b": "a"}
    props["responder"] = [
        matches.at[mid, f"persona_{other[side]}"] for mid, side in zip(props["match_id"], props["speaker"])
    ]
    props["own"] = [matches.at[mid, f"level_{side}"] for mid, side in zip(props["match_id"], props["speaker"])]
    props["opp"] = [matches.at[mid, f"level_{other[side]}"]
                    for mid, side in zip(props["match_id"], props["speaker"])]
    # the response is the next turn of the same match
    nxt = turns[["match_id", "turn_index", "accepted", "move_kind"]].copy()
    nxt["turn_index"] = nxt["turn_index"] - 1
    nxt = nxt.rename(columns={"accepted": "accepted", "move_kind": "response_kind"})
    props = props.drop(columns=["accepted"]).merge(nxt, on=["match_id", "turn_index"], how="left")
    props = props.rename(columns={"persona_id": "proposer"})
    props["status"] = [matches.at[mid, "status"] for mid in props["match_id"]]
    props["agent"] = [matches.at[mid, f"agent_{side}"] for mid, side in zip(props["match_id"], props["speaker"])]
    keep = ["match_id", "turn_index", "round", "speaker", "proposer", "responder", "own", "opp",
            "claim", "accepted", "response_kind", "agent", "status", "text"]
    out = props[keep].copy()
    out["own"] = pd.to_numeric(out["own"], errors="coerce")
    out["opp"] = pd.to_numeric(out["opp"], errors="coerce")
    return out
