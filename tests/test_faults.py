"""A tournament against a misbehaving model server (a separate process) loses nothing.

The loopback server answers, at seeded rates, 429 with Retry-After, 500 and 503, dropped
connections, stalls past the client's timeout, malformed bodies, and empty, refusing or
moveless text. The run must finish (under a hard subprocess timeout), store every planned match
exactly once as `ok` or `failed` with its reason, count retries and failures by kind in its
summary in agreement with what the server did, and a `--resume` must rerun only the failed
matches without buying a stored reply again. `benchmarks/faults_soak.py` runs the same at 500
matches.
"""
from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agents.models.access import reply_allowance
from agents.negotiators.llm import CUT_REPLY
from tests.helpers import ROOT, cli, table
from tests.llm_helpers import cli_here
from tests.openai_server import GARBAGE_TEXT, REFUSAL_TEXT, start_server_process
from tests.test_llm import env_for, llm_config

# its module-scoped fixtures are built once: under pytest-xdist the file runs on one worker
pytestmark = pytest.mark.xdist_group("test_faults")

# the mix (10% 429, 5% 5xx, 2% stalls, 5% unusable text), plus a few dropped
# connections and malformed bodies so that every retry path is taken
FAULTS = dict(rate_429=0.10, retry_after=0.05, rate_500=0.025, rate_503=0.025, rate_stall=0.02,
              stall_s=3, rate_garbage=0.02, rate_refusal=0.015, rate_empty=0.015,
              rate_close=0.01, rate_malformed=0.01)
SEED = 5  # a seed whose run has both ok and failed matches (asserted below)
N = 49  # 7 x 7 ordered persona pairs, one repetition
MODEL = "timeout = 1.0\nmax_retries = 2"  # 3 attempts: a few calls give up at these rates
RETRY_KINDS = {"429": ("429",), "5xx": ("500", "503"), "timeout": ("stall",),
               "connection": ("close",), "malformed": ("malformed",)}


@pytest.fixture(scope="module")
def server():
    with start_server_process(seed=SEED, **FAULTS) as proc:
        yield proc


def _planned_ids(config: Path, env: dict[str, str]) -> set[str]:
    from arena.config import load_config
    from arena.tournament import plan_run

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        run_config, base = load_config(config)
        plan = plan_run(run_config, base, check_models=False)
        plan.factory.llm.close()
        return {s.match_id for s in plan.specs}
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def test_a_faulty_server_loses_no_match_and_the_summary_counts_by_kind(
        tmp_path: Path, small_pool: Path, server) -> None:
    config = llm_config(tmp_path, small_pool, server.base_url, model=MODEL)
    env = env_for(tmp_path)
    out = tmp_path / "out"
    # the probe would meet the faults too; this test counts the matches' requests alone
    result = cli("run", str(config), "--out", str(out), "--json", "--skip-probe", env=env,
                 timeout=150)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    llm = summary["llm"]

    # every planned match stored exactly once, ok or failed with its reason
    db = out / "arena.sqlite"
    planned = _planned_ids(config, env)
    assert len(planned) == N == summary["planned"] == summary["ran"]
    rows = table(db, "SELECT match_id, status, error, payoff_a, n_turns FROM matches")
    assert len(rows) == N and {r[0] for r in rows} == planned
    ok = [r for r in rows if r[1] == "ok"]
    failed = [r for r in rows if r[1] == "failed"]
    assert len(ok) == summary["ok"] > 0 and len(failed) == summary["failed"] > 0
    assert result.returncode == 1  # some matches failed: the run says so
    assert all(r[2] is None and r[3] is not None for r in ok)
    for _, _, error, payoff, _ in failed:
        assert payoff is None
        assert error.startswith("ModelError: models.local (loopback-vlm at ")
        assert "gave up after 3 attempts; last: " in error
    assert table(db, "SELECT COUNT(*) FROM turns") == table(db, "SELECT SUM(n_turns) FROM matches")

    # the summary's counts by kind agree with what the server did
    faults = server.stats()["by_fault"]
    assert llm["requests"] == server.stats()["requests"]
    retries, gave_up = llm["retries"], llm["failures_by_kind"]
    assert set(retries) == set(RETRY_KINDS), retries
    for kind, server_kinds in RETRY_KINDS.items():
        seen = retries.get(kind, 0) + gave_up.get(kind, 0)
        caused = sum(faults.get(k, 0) for k in server_kinds)
        if kind == "timeout":  # a timed-out request raises the timeout: later stalls are waited out
            assert 0 < seen <= caused, (kind, retries, gave_up, faults)
        else:
            assert seen == caused, (kind, retries, gave_up, faults)
    assert sum(gave_up.values()) == llm["failures"] == len(failed)  # a failed call ends its match
    assert llm["requests"] == llm["replies"] + sum(retries.values()) + llm["failures"]
    # unusable text became invalid turns with a reason; the tournament went on
    assert summary["invalid_turns"] == table(
        db, "SELECT COUNT(*) FROM turns WHERE move_kind = 'invalid'")[0][0] > 0
    invalid = table(db, "SELECT text, reason FROM turns WHERE move_kind = 'invalid'")
    assert all(reason for _, reason in invalid)
    assert {GARBAGE_TEXT, REFUSAL_TEXT, ""} <= {text for text, _ in invalid}
    unusable = sum(faults.get(k, 0) for k in ("garbage", "refusal", "empty"))
    assert sum(1 for text, _ in invalid if text in (GARBAGE_TEXT, REFUSAL_TEXT, "")) == unusable

    # --resume reruns just the failed matches; what was paid for comes from the cache
    with __import__("sqlite3").connect(tmp_path / "cache" / "replies.sqlite") as conn:
        cached_before = conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0]
    assert cached_before == llm["replies"]
    resumed = cli_here("run", str(config), "--out", str(out), "--resume", "--json",
                       "--skip-probe", env=env)
    again = json.loads(resumed.stdout)
    assert again["already_done"] == len(ok) and again["ran"] == len(failed)
    assert again["ok"] + again["failed"] == len(failed)
    assert again["llm"]["cache_hits"] > 0  # the failed matches' earlier turns
    with __import__("sqlite3").connect(tmp_path / "cache" / "replies.sqlite") as conn:
        cached_after = conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0]
    assert cached_after - cached_before == again["llm"]["replies"]  # nothing bought twice
    assert table(db, "SELECT COUNT(*), COUNT(DISTINCT match_id) FROM matches") == [(N, N)]
    assert {r[0] for r in table(db, "SELECT match_id FROM matches")} == planned


# -- a 200 without a usable choice (`choices: []` or `null`) -------------------------------------
def test_rate_against_a_server_without_choices_says_so_in_one_line(
        tmp_path: Path, small_pool: Path, loopback_factory) -> None:
    pool = tmp_path / "pool"  # a copy: the session's pool stays without ratings
    shutil.copytree(small_pool, pool)
    for fault in ("no_choices", "null_choices"):
        server = loopback_factory(**{f"rate_{fault}": 1.0})
        config = llm_config(tmp_path, pool, server.base_url, model="max_retries = 1",
                            name=f"{fault}.toml")
        result = cli("rate", str(pool), "--config", str(config), "--model", "local",
                     "--rater", fault, env=env_for(tmp_path / fault))
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert "gave up after 2 attempts; last: the server sent a reply without a usable " \
               "choice" in result.stderr
        assert "rerun rate to go on" in result.stderr


def test_a_run_retries_replies_without_choices_as_malformed(
        tmp_path: Path, small_pool: Path, loopback_factory) -> None:
    server = loopback_factory(rate_no_choices=0.15, rate_null_choices=0.1, seed=2)
    config = llm_config(tmp_path, small_pool, server.base_url, model="max_retries = 1")
    result = cli("run", str(config), "--out", str(tmp_path / "out"), "--json", "--skip-probe",
                 env=env_for(tmp_path))
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr
    llm = json.loads(result.stdout)["llm"]
    faults = server.stats()["by_fault"]
    sent = faults.get("no_choices", 0) + faults.get("null_choices", 0)
    assert sent > 0
    seen = llm["retries"].get("malformed", 0) + llm["failures_by_kind"].get("malformed", 0)
    assert seen == sent and set(llm["failures_by_kind"]) <= {"malformed"}
    errors = [e for (e,) in table(tmp_path / "out" / "arena.sqlite",
                                  "SELECT error FROM matches WHERE status = 'failed'")]
    assert all("without a usable choice" in e and "IndexError:" not in e for e in errors)


# -- a runaway server that ignores max_tokens (4 MB answers) --------------------------------------
def test_replies_far_beyond_max_tokens_are_cut_and_their_turns_marked(
        tmp_path: Path, small_pool: Path, loopback_factory) -> None:
    server = loopback_factory(rate_huge=0.2, seed=1)
    config = llm_config(tmp_path, small_pool, server.base_url)
    result = cli("run", str(config), "--out", str(tmp_path / "out"), "--json", "--skip-probe",
                 env=env_for(tmp_path))
    assert result.returncode in (0, 1), result.stderr
    huge = server.stats()["by_fault"]["huge"]
    llm = json.loads(result.stdout)["llm"]
    assert huge > 0 and llm["cut_replies"] == huge
    db = tmp_path / "out" / "arena.sqlite"
    cut = table(db, f"SELECT move_kind, length(text) FROM turns WHERE reason = '{CUT_REPLY}'")
    assert len(cut) == huge and all(kind == "invalid" for kind, _ in cut)
    assert max(n for _, n in cut) == reply_allowance(300)  # max_tokens = 300: cut, kept in part
    with sqlite3.connect(tmp_path / "cache" / "replies.sqlite") as conn:
        longest = conn.execute("SELECT MAX(length(text)) FROM replies").fetchone()[0]
    assert longest <= reply_allowance(300)
    assert db.stat().st_size < 4 * 1024 * 1024  # not a single whole answer was stored


def test_rate_cuts_a_runaway_answer_too(tmp_path: Path, small_pool: Path, loopback_factory) -> None:
    server = loopback_factory(rate_huge=1.0)
    pool = tmp_path / "pool"
    shutil.copytree(small_pool, pool)
    config = llm_config(tmp_path, pool, server.base_url)
    result = cli("rate", str(pool), "--config", str(config), "--model", "local", "--retries",
                 "1", "--json", env=env_for(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(json.loads(result.stdout)["unparseable"]) == 14
    raw = table(pool / "ratings.sqlite", "SELECT MAX(length(raw)) FROM ratings")[0][0]
    assert raw <= 2 * reply_allowance(1) + 3  # two cut answers joined by " | "


# -- the store's disk fills mid-run with LLM agents ---------------------------------------------
def _small_disk_available() -> bool:
    """A private mount namespace where a size-limited tmpfs can be mounted (unshare -rm)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs "
                            "/tmp && true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.parametrize("workers", [0, 2])
def test_a_store_disk_filling_mid_run_loses_no_paid_reply(
        tmp_path: Path, small_pool: Path, loopback_factory, workers: int) -> None:
    """The run folder lies on a 300 KB tmpfs (in a mount namespace of the run's own, so nothing
    outlives it); the reply cache on another disk. Every reply the server sent must be in the
    cache when the run stops, and the resume must buy none of them again."""
    if not _small_disk_available():
        pytest.skip("cannot mount a size-limited tmpfs here (unshare -rm not permitted)")
    server = loopback_factory(latency_ms=30, seed=1)
    config = llm_config(tmp_path, small_pool, server.base_url,
                        design='kind = "factorial"\nlevels = 7\nper_level = 2\nrepetitions = 1',
                        cache=f"workers = {workers}")
    disk, copy = tmp_path / "disk", tmp_path / "copy"
    disk.mkdir()
    run = [sys.executable, "-m", "arena.cli", "run", str(config), "--out", str(disk / "out"),
           "--skip-probe"]
    script = (f"mount -t tmpfs -o size=300k tmpfs {shlex.quote(str(disk))} || exit 99; "
              f"{shlex.join(run)}; rc=$?; cp -a {shlex.quote(str(disk / 'out'))} "
              f"{shlex.quote(str(copy))}; exit $rc")
    full = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **env_for(tmp_path)})
    assert full.returncode == 2 and "Traceback" not in full.stderr, full.stderr[-3000:]
    last = full.stderr.strip().splitlines()[-1]
    assert last.startswith("persona-arena: error: ") and "cannot write arena.sqlite" in last
    assert "every reply bought is in the reply cache" in last and "--resume" in last

    # no paid reply lost: each request the server answered is in the cache
    answered = server.stats()["requests"]
    cache_db = tmp_path / "cache" / "replies.sqlite"
    cached = table(cache_db, "SELECT COUNT(*) FROM replies")[0][0]
    db = copy / "arena.sqlite"
    stored = table(db, "SELECT COUNT(*) FROM matches")[0][0]
    assert 0 < stored < 196 and 0 < answered
    assert cached == answered, f"{answered - cached} paid replies were lost"

    # with room again, the resume finishes the run and buys nothing twice
    resumed = cli_here("run", str(config), "--out", str(copy), "--resume", "--skip-probe",
                       env=env_for(tmp_path))
    assert resumed.returncode == 0, resumed.stderr
    assert table(db, "SELECT COUNT(*), SUM(status = 'ok') FROM matches") == [(196, 196)]
    bodies = [hashlib.sha256(json.dumps(r["body"], sort_keys=True).encode()).hexdigest()
              for r in server.requests if r["path"].endswith("/chat/completions")]
    assert len(bodies) == len(set(bodies)), "a reply was bought twice"
    assert table(cache_db, "SELECT COUNT(*) FROM replies")[0][0] == len(bodies)


# -- a run's budget -------------------------------------------------------------------------------
PRICED = "price_prompt_per_1m = 2.5\nprice_completion_per_1m = 10.0"


def test_a_budget_stops_the_run_before_it_could_pass_and_a_resume_goes_on(
        tmp_path: Path, small_pool: Path, loopback_factory) -> None:
    server = loopback_factory(seed=1)
    env = env_for(tmp_path)
    config = llm_config(tmp_path, small_pool, server.base_url, model=PRICED,
                        cache="max_calls = 100")
    dry = cli("run", str(config), "--dry-run", "--json", env=env)
    assert dry.returncode == 0, dry.stderr
    budget = json.loads(dry.stdout)["budget"]
    assert budget["limits"] == {"max_calls": 100} and budget["per_match_bound"]["max_calls"] == 8
    assert budget["matches_within"] == 12
    text = cli_here("run", str(config), "--dry-run", env=env)
    assert "budget: max_calls = 100: at least 12 of 49 matches fit" in text.stdout

    out = tmp_path / "out"
    first = cli_here("run", str(config), "--out", str(out), "--skip-probe", env=env)
    assert first.returncode == 1 and "Traceback" not in first.stderr
    last = first.stderr.strip().splitlines()[-1]
    assert last.startswith("persona-arena: run stopped by its budget before ") and \
        "[execution] max_calls = 100: " in last and "rerun with --resume" in last
    db = out / "arena.sqlite"
    calls, matches = table(db, "SELECT SUM(calls), COUNT(*) FROM matches")[0]
    assert calls <= 100 and server.stats()["requests"] == calls and 0 < matches < 49
    assert table(db, "SELECT COUNT(*) FROM matches WHERE status != 'ok'") == [(0,)]

    # the same limit again: nothing more fits, nothing is sent
    again = cli_here("run", str(config), "--out", str(out), "--resume", "--skip-probe", env=env)
    assert again.returncode == 1 and server.stats()["requests"] == calls

    # a larger budget goes on (the resume guard does not count the budget as a change)
    config.write_text(config.read_text().replace("max_calls = 100", "max_calls = 10000"))
    done = cli_here("run", str(config), "--out", str(out), "--resume", "--skip-probe",
                    "--json", env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["already_done"] == matches and summary["budget"]["stopped"] is None
    assert table(db, "SELECT COUNT(*), SUM(status = 'ok') FROM matches") == [(49, 49)]
    assert summary["budget"]["spent"]["max_calls"] == table(db, "SELECT SUM(calls) FROM "
                                                                "matches")[0][0]


def test_a_token_or_cost_budget_too_small_for_one_match_plays_none(
        tmp_path: Path, small_pool: Path, loopback_factory) -> None:
    server = loopback_factory(seed=1)
    for name, limit in (("tokens", "max_tokens_total = 1000"), ("cost", "max_cost = 0.001")):
        config = llm_config(tmp_path, small_pool, server.base_url, model=PRICED, cache=limit,
                            name=f"{name}.toml")
        result = cli_here("run", str(config), "--out", str(tmp_path / name), "--skip-probe",
                          env=env_for(tmp_path))
        assert result.returncode == 1, result.stderr
        assert f"run stopped by its budget before 49 matches: [execution] {limit.split()[0]}" \
            in result.stderr
    assert server.stats()["requests"] == 0
