"""`python -m benchmarks.same_tables OLD_TREE [CASE ...]`: do small runs with another source tree
(a checkout of an earlier release, e.g. `git archive v | tar -x -C /tmp/old`) and with this one,
and compare what they store: every table and column but the wall-clock ones, the schema (tables
only the new tree has are listed, not compared: they add to a run), and
the order rows were stored in (for LLM and Ray runs, whose matches end in the order replies
come, the rows sorted). A refactoring of the engine must keep them equal. Exit 1 on a
difference. Not one of the benchmarks (it measures nothing); `WITH_RAY=1` adds a Ray run.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from arena.store import STORE_NAME
from benchmarks.support import ROOT

CLOCK = {"elapsed_ms", "finished_at", "latency_ms", "created_at"}
SKIP_META = {"run_health", "config"}  # the run's own folder paths; this invocation's health
RUN = '''seed = 5
scenario = "{scenario}"
condition = "both-images"
[personas]
pool = "{pool}"
[design]
{design}
[agents.default]
kind = "{kind}"
{agent}
[execution]
progress = "none"
{execution}
'''
MODEL = '''
[models.local]
base_url = "{url}"
model = "loopback-vlm"
temperature = 1.0
max_tokens = 300
retry_base_s = 0.01
retry_max_s = 0.05
'''
FACTORIAL = 'kind = "factorial"\nlevels = 7\nper_level = 2\nrepetitions = 2'
SMALL = 'kind = "factorial"\nlevels = 7\nper_level = 1\nrepetitions = 1'
SWISS = 'kind = "swiss"\nlevels = 7\nper_level = 2\nrounds = 3\nrepetitions = 2'
CONFEDERATE = 'kind = "confederate"\nlevels = 7\nrepetitions = 3'
LLM: dict[str, Any] = {"kind": "llm", "agent": 'model = "local"', "llm": True}
CASES: dict[str, dict[str, Any]] = {
    "factorial-surrogate": {"design": FACTORIAL},
    "factorial-surrogate-workers2": {"design": FACTORIAL, "execution": "workers = 2"},
    "confederate-surrogate": {"design": CONFEDERATE},
    "swiss-surrogate": {"design": SWISS},
    "swiss-surrogate-workers2": {"design": SWISS, "execution": "workers = 2"},
    "factorial-concession-division": {"design": SMALL, "kind": "concession",
                                      "scenario": "item-division"},
    "llm-in-process": {"design": SMALL, "execution": "concurrency = 8", **LLM},
    "llm-workers2": {"design": SMALL, "execution": "concurrency = 8\nworkers = 2", **LLM},
    "llm-swiss": {"design": SWISS, "execution": "concurrency = 8", **LLM},
    "llm-swiss-workers2": {"design": SWISS, "execution": "concurrency = 8\nworkers = 2", **LLM},
}
if os.environ.get("WITH_RAY"):
    CASES["factorial-surrogate-ray"] = {"design": FACTORIAL, "execution": 'executor = "ray"',
                                        "unordered": True}


def tables(db: Path, ordered: bool = True) -> dict[str, Any]:
    conn = sqlite3.connect(db)
    try:
        out: dict[str, Any] = {"schema": conn.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()}
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({name})") if r[1] not in CLOCK]
            rows = conn.execute(f"SELECT {', '.join(cols)} FROM {name} ORDER BY rowid").fetchall()
            if name == "meta":
                rows = [r for r in rows if r[0] not in SKIP_META]
            out[name] = (cols, rows if ordered else sorted(rows, key=repr))
        return out
    finally:
        conn.close()


def common(got: list[dict[str, Any]]) -> list[str]:
    """Drop the tables only the new tree stores (a new table adds to a run; it changes none of
    the old ones), from its tables and its schema; the names dropped."""
    old, new = got
    added = sorted(k for k in new if k not in old)
    for name in added:
        del new[name]
    new["schema"] = [row for row in new["schema"] if row[1] not in added
                     and not (row[0] == "index" and any(a in row[1] for a in added))]
    return added


def _run(tree: Path, config: Path, out: Path, cache: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree), "OPENAI_API_KEY": "sk-same-tables",
           "PERSONA_ARENA_CACHE": str(cache)}
    done = subprocess.run([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                           str(out)], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {config.name} exited {done.returncode}\n{done.stderr[-2000:]}")


def main(argv: list[str]) -> int:
    from tests.openai_server import LoopbackServer

    old, only = Path(argv[0]).resolve(), set(argv[1:])
    tmp = Path(tempfile.mkdtemp(prefix="same-tables-"))
    pool = tmp / "pool"
    subprocess.run([sys.executable, "-m", "arena.cli", "avatars", "generate", "--n", "14",
                    "--levels", "7", "--out", str(pool), "--seed", "3"], cwd=ROOT, check=True,
                   capture_output=True)
    differ = 0
    with LoopbackServer(seed=3) as server:
        for name, case in CASES.items():
            if only and name not in only:
                continue
            text = RUN.format(scenario=case.get("scenario", "ultimatum-4"), pool=pool,
                              design=case["design"], kind=case.get("kind", "surrogate"),
                              agent=case.get("agent", ""), execution=case.get("execution", ""))
            if case.get("llm"):
                text += MODEL.format(url=server.base_url)
            got = []
            for label, tree in (("old", old), ("new", ROOT)):
                config = tmp / f"{name}-{label}.toml"
                config.write_text(text)
                _run(tree, config, tmp / f"{name}-{label}", tmp / f"cache-{name}-{label}")
                ordered = not (case.get("llm") or case.get("unordered"))
                got.append(tables(tmp / f"{name}-{label}" / STORE_NAME, ordered))
            added = common(got)
            same = got[0] == got[1]
            differ += not same
            detail = "" if same else " in " + ", ".join(k for k in got[0] if got[0][k] != got[1].get(k))
            print(f"{name}: {'same' if same else 'DIFFERENT' + detail} "
                  f"({len(got[1]['matches'][1])} matches"
                  f"{'; new tables: ' + ', '.join(added) if added else ''})", flush=True)
    return 1 if differ else 0


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    raise SystemExit(main(sys.argv[1:]))
