"""Killing a run with SIGKILL at several points and resuming it gives the uninterrupted tables."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import ROOT, cli, match_table, table, turn_table
from tests.test_run_config import write_config

BIG = '''seed = 9
scenario = "ultimatum-4"
[design]
kind = "factorial"
levels = 7
per_level = 2
repetitions = 20
[agents.default]
kind = "surrogate"
'''


def _stored(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2)
        try:
            return conn.execute("SELECT COUNT(*) FROM matches").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _run_until(config: Path, out: Path, stop_after: int, resume: bool) -> None:
    """Start a run and SIGKILL it once at least `stop_after` matches are stored."""
    args = [sys.executable, "-m", "arena.cli", "run", str(config), "--out", str(out)]
    proc = subprocess.Popen(args + (["--resume"] if resume else []), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = out / "arena.sqlite"
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if _stored(db) >= stop_after:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=30)


def test_sigkill_and_resume_equal_an_uninterrupted_run(tmp_path: Path, small_pool: Path) -> None:
    config = write_config(tmp_path, small_pool, BIG)
    whole = cli("run", str(config), "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    total = 14 * 14 * 20
    out = tmp_path / "killed"
    first = True
    for stop_after in (1, 300, 1500, 2600, 3500):
        _run_until(config, out, stop_after, resume=not first)
        first = False
    stored_before = _stored(out / "arena.sqlite")
    assert stored_before < total  # it really was interrupted
    finish = cli("run", str(config), "--out", str(out), "--resume")
    assert finish.returncode == 0, finish.stderr
    db = out / "arena.sqlite"
    assert table(db, "PRAGMA integrity_check") == [("ok",)]
    assert table(db, "SELECT COUNT(*), COUNT(DISTINCT match_id) FROM matches") == [(total, total)]
    assert table(db, "SELECT COUNT(*) FROM turns t LEFT JOIN matches m USING (match_id) "
                     "WHERE m.match_id IS NULL") == [(0,)]  # no orphan turns
    assert match_table(db) == match_table(tmp_path / "whole" / "arena.sqlite")
    assert turn_table(db) == turn_table(tmp_path / "whole" / "arena.sqlite")


def test_a_second_run_into_the_same_folder_is_refused(tmp_path: Path, small_pool: Path) -> None:
    """Two runs must not write one store at once: the second gets one line and exit 2."""
    slow = BIG.replace("repetitions = 20", "repetitions = 60") + "[execution]\nworkers = 0\n"
    config = write_config(tmp_path, small_pool, slow)
    out = tmp_path / "shared"
    first = subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                              str(out)], cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while _stored(out / "arena.sqlite") < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert first.poll() is None, "the first run ended before the second could start"
        second = cli("run", str(config), "--out", str(out), "--resume")
        assert second.returncode == 2, second.stderr
        assert "another persona-arena run is writing" in second.stderr
        assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
    finally:
        first.wait(timeout=120)
    assert first.returncode == 0
    assert table(out / "arena.sqlite", "SELECT COUNT(*) FROM matches") == [(14 * 14 * 60,)]


# -- a resumed run never mixes evidence: what a model is asked must not change -----------------
SMALL = '''seed = 4
scenario = "ultimatum-4"
condition = "both-images"
[design]
kind = "factorial"
levels = 7
per_level = 1
[agents.default]
kind = "llm"
model = "local"
[models.local]
base_url = "{url}"
model = "loopback-vlm"
temperature = 1.0
max_tokens = 300
retry_base_s = 0.01
[execution]
progress = "none"
workers = 0
'''
# (what the resumed config changes, the first difference the refusal names)
CHANGES = {
    "model": (('model = "loopback-vlm"', 'model = "other-model"'),
              'models.local.model was "loopback-vlm", now "other-model"'),
    "temperature": (("temperature = 1.0", "temperature = 0.0"),
                    "models.local.temperature was 1.0, now 0.0"),
    "max_tokens": (("max_tokens = 300", "max_tokens = 200"),
                   "models.local.max_tokens was 300, now 200"),
    "seed sending": (("retry_base_s = 0.01", "retry_base_s = 0.01\nsend_seed = true"),
                     "models.local.send_seed was false, now true"),
    "system prompt": (("workers = 0", 'workers = 0\n[prompts]\nsystem = "You are a pirate."'),
                      'scenario.prompts.system was "In the following conversation'),
    "protocol": (('model = "local"', 'model = "local"\nprotocol = "json"'),
                 'agents.default.protocol was "free-text", now "json"'),
    "condition": (('condition = "both-images"', 'condition = "self-only"'),
                  'condition was "both-images", now "self-only"'),
    "server": (("{url}", "{other}"), "models.local.endpoint was \"http://127.0.0.1:"),
}


def _delete_matches(db: Path, n: int) -> None:
    conn = sqlite3.connect(db)
    with conn:
        ids = [r[0] for r in conn.execute("SELECT match_id FROM matches ORDER BY match_id LIMIT ?",
                                          (n,))]
        conn.executemany("DELETE FROM turns WHERE match_id = ?", [(i,) for i in ids])
        conn.executemany("DELETE FROM matches WHERE match_id = ?", [(i,) for i in ids])
    conn.close()


def test_resume_refuses_any_change_to_what_a_model_is_asked(tmp_path: Path, small_pool: Path,
                                                            loopback_factory) -> None:
    from tests.llm_helpers import cli_here

    first, other = loopback_factory(), loopback_factory()
    env = {"OPENAI_API_KEY": "sk-resume-test", "PERSONA_ARENA_CACHE": str(tmp_path / "cache")}
    body = SMALL.replace("{url}", first.base_url)
    config = write_config(tmp_path, small_pool, body)
    out = tmp_path / "out"
    done = cli_here("run", str(config), "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    _delete_matches(out / "arena.sqlite", 10)
    before = match_table(out / "arena.sqlite")
    sent = len(first.requests) + len(other.requests)
    for name, ((old, new), expected) in CHANGES.items():
        changed = SMALL.replace(old, new).replace("{url}", first.base_url).replace(
            "{other}", other.base_url)
        assert changed != body, name
        path = write_config(tmp_path, small_pool, changed, f"{name.replace(' ', '-')}.toml")
        refused = cli_here("run", str(path), "--out", str(out), "--resume", env=env)
        assert refused.returncode == 2, (name, refused.stderr)
        assert refused.stderr.count("\n") == 1, refused.stderr
        assert f"error: --resume: {expected}" in refused.stderr, refused.stderr
    assert len(first.requests) + len(other.requests) == sent  # not one request was sent
    assert match_table(out / "arena.sqlite") == before
    # what does not change what is asked may change: more concurrency, another timeout
    faster = body.replace("retry_base_s = 0.01", "retry_base_s = 0.01\ntimeout = 30\n"
                                                  "concurrency = 4")
    path = write_config(tmp_path, small_pool, faster, "faster.toml")
    resumed = cli_here("run", str(path), "--out", str(out), "--resume", env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert table(out / "arena.sqlite", "SELECT COUNT(*) FROM matches") == [(49,)]


def test_resume_refuses_changed_agent_and_scenario_parameters(tmp_path: Path,
                                                              small_pool: Path) -> None:
    body = BIG.replace("repetitions = 20", "repetitions = 1")
    config = write_config(tmp_path, small_pool, body)
    out = tmp_path / "out"
    assert cli("run", str(config), "--out", str(out)).returncode == 0
    scenario = tmp_path / "game.toml"
    scenario.write_text((ROOT / "scenarios" / "builtin" / "ultimatum-4.toml").read_text()
                        .replace("pie = 100", "pie = 10"))
    cases = {
        'fit = "claude-3-haiku"': ('kind = "surrogate"', 'kind = "surrogate"\nfit = "claude-3-haiku"',
                                   'agents.default.fit was "gpt-4o", now "claude-3-haiku"'),
        "scenario pie": ('scenario = "ultimatum-4"', f'scenario = "{scenario}"',
                         "scenario.pie was 100.0, now 10.0"),
        "design": ("levels = 7", "levels = 7\ninclude_self = false",
                   "design.include_self was true, now false"),
    }
    for name, (old, new, expected) in cases.items():
        path = write_config(tmp_path, small_pool, body.replace(old, new), "changed.toml")
        refused = cli("run", str(path), "--out", str(out), "--resume")
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert f"--resume: {expected}" in refused.stderr, (name, refused.stderr)
