"""Small helpers shared by tests: run the CLI in a subprocess, read tables."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference" / "kiss-up-kick-down"


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `persona-arena ARGS` as a user would (a fresh process)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "arena.cli", *args], cwd=cwd or ROOT,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


def run_config(folder: Path, name: str, text: str, *extra: str) -> Path:
    """Write `text` as folder/NAME.toml, `persona-arena run` it into folder/NAME (which must
    succeed) and return that run folder."""
    config = folder / f"{name}.toml"
    config.write_text(text)
    done = cli("run", str(config), "--out", str(folder / name), *extra)
    assert done.returncode == 0, done.stderr
    return folder / name


def table(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


MATCH_FIELDS = ("match_id, design, repetition, scenario, condition, seed, persona_a, persona_b, "
                "level_a, level_b, agent_a, agent_b, status, payoff_a, payoff_b, deal, agreements, "
                "share_a, share_b, n_turns, error")
TURN_FIELDS = ("match_id, turn_index, round, speaker, role, persona_id, move_kind, offer, claim, "
               "accepted, text, parse_ok, reason")


def match_table(db: Path) -> list[tuple]:
    """The matches table without wall-clock columns (which differ between identical runs)."""
    return table(db, f"SELECT {MATCH_FIELDS} FROM matches ORDER BY match_id")


def turn_table(db: Path) -> list[tuple]:
    return table(db, f"SELECT {TURN_FIELDS} FROM turns ORDER BY match_id, turn_index")


# A small surrogate tournament (7 levels x 1 persona, all ordered pairs) for input and crash tests.
SURROGATE = '''seed = 4
scenario = "ultimatum-4"
[design]
kind = "factorial"
levels = 7
per_level = 1
[agents.default]
kind = "surrogate"
[execution]
progress = "none"
'''


def live_processes() -> list[tuple[int, str, int, int]]:
    """(pid, state, parent pid, session id) of every process, from /proc (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        found.append((int(stat.parent.name), fields[0], int(fields[1]), int(fields[3])))
    return found
