"""Soak: an LLM tournament against a misbehaving model server, checked and counted.

    python -m benchmarks.faults_soak [--matches 500] [--seed 5] [--json]

The loopback OpenAI server (tests/openai_server.py, a separate process) answers at seeded rates
429 with Retry-After, 500/503, stalls past the client's timeout, and unusable text (a moveless
sentence, a refusal, an empty answer): by default the issue's mix of 10% 429, 5% 5xx, 2% stalls
and 5% unusable text. A factorial tournament (10 personas over 5 levels, 100 ordered pairs a
repetition) runs through `persona-arena run` in a child process under a hard timeout. The script
then checks that every planned match is stored exactly once, as `ok` or `failed` with a reason,
and that the summary's retries and failures by kind agree with the faults the server injected,
and prints the figures: wall time, ok/failed, requests, retries and failures by kind, invalid
turns; then `--resume` reruns the failed matches against the same server. Exit status 0 when
every check holds.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.support import ROOT, placeholder_pool, scratch
from arena.store import STORE_NAME

PAIRS_PER_REPETITION = 100  # 10 personas, every ordered pair (self-pairs included)
RETRY_KINDS = {"429": ("429",), "5xx": ("500", "503"), "timeout": ("stall",),
               "connection": ("close",), "malformed": ("malformed",)}
UNUSABLE = ("garbage", "refusal", "empty")


def config_text(pool: Path, base_url: str, seed: int, repetitions: int, args: Any) -> str:
    return f'''seed = {seed}
scenario = "ultimatum-4"
condition = "both-images"

[personas]
pool = "{pool}"

[design]
kind = "factorial"
levels = 5
per_level = 2
repetitions = {repetitions}

[agents.default]
kind = "llm"
model = "faulty"

[models.faulty]
base_url = "{base_url}"
model = "loopback-vlm"
api_key_env = "FAULTS_SOAK_KEY"
timeout = {args.timeout}
max_retries = {args.max_retries}
retry_base_s = 0.02
retry_max_s = 0.2

[execution]
concurrency = {args.concurrency}
progress = "none"
'''


def soak(args: argparse.Namespace) -> dict[str, Any]:
    from tests.openai_server import start_server_process

    repetitions = max(1, math.ceil(args.matches / PAIRS_PER_REPETITION))
    faults = {"rate_429": args.rate_429, "retry_after": args.retry_after,
              "rate_500": args.rate_5xx / 2, "rate_503": args.rate_5xx / 2,
              "rate_stall": args.rate_stall, "stall_s": args.stall_s,
              "rate_garbage": args.rate_unusable * 0.4, "rate_refusal": args.rate_unusable * 0.3,
              "rate_empty": args.rate_unusable * 0.3, "rate_close": args.rate_close,
              "rate_malformed": args.rate_malformed}
    with scratch("faults") as tmp, start_server_process(seed=args.seed, record=False,
                                                        **faults) as server:
        pool = placeholder_pool(tmp / "pool", 10, levels=5, side=8)
        config = tmp / "soak.toml"
        config.write_text(config_text(pool, server.base_url, args.seed, repetitions, args))
        out = tmp / "run"
        env = {**os.environ, "FAULTS_SOAK_KEY": "sk-soak-not-a-real-key",
               "PERSONA_ARENA_CACHE": str(tmp / "cache")}
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                               str(out), "--json"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=args.hard_timeout)
        wall = time.perf_counter() - started
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            raise SystemExit(f"the run exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        summary = json.loads(proc.stdout)
        server_stats = server.stats()
        conn = sqlite3.connect(out / STORE_NAME)
        try:
            figures = collect(conn, summary, server_stats)
        finally:
            conn.close()
        figures["resume"] = resume(config, out, env, tmp / "cache" / "replies.sqlite", summary,
                                   args.hard_timeout)
    figures.update({"seconds": round(wall, 1), "exit_status": proc.returncode,
                    "traceback": "Traceback" in proc.stderr,
                    "fault_rates": {k: round(v, 4) for k, v in faults.items()},
                    "seed": args.seed, "repetitions": repetitions})
    figures["checks"]["run exits 0, or 1 when matches failed"] = \
        proc.returncode == (1 if figures["failed"] else 0) and not figures["traceback"]
    return figures


def _cached(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0]


def resume(config: Path, out: Path, env: dict[str, str], cache: Path, first: dict[str, Any],
           timeout: float) -> dict[str, Any]:
    """`run --resume` against the same faulty server: it reruns the failed matches only, and
    every reply it takes from the model is a new one (the cache grows by exactly that much)."""
    before = _cached(cache)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                           str(out), "--resume", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise SystemExit(f"the resume exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    again = json.loads(proc.stdout)
    with sqlite3.connect(out / STORE_NAME) as conn:
        rows, distinct, ok = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT match_id), SUM(status = 'ok') FROM matches").fetchone()
    return {"seconds": round(time.perf_counter() - started, 1), "reran": again["ran"],
            "ok": again["ok"], "failed": again["failed"], "requests": again["llm"]["requests"],
            "cache_hits": again["llm"]["cache_hits"], "ok_in_store": ok,
            "checks": {
                "resume reruns exactly the failed matches":
                    again["ran"] == first["failed"] and again["already_done"] == first["ok"],
                "still every match stored exactly once": rows == distinct == first["planned"],
                "nothing bought twice (new cache rows = replies)":
                    _cached(cache) - before == again["llm"]["replies"]}}


def collect(conn: sqlite3.Connection, summary: dict[str, Any],
            server: dict[str, Any]) -> dict[str, Any]:
    llm = summary["llm"]
    faults = server["by_fault"]
    rows, distinct = conn.execute(
        "SELECT COUNT(*), COUNT(DISTINCT match_id) FROM matches").fetchone()
    statuses = dict(conn.execute("SELECT status, COUNT(*) FROM matches GROUP BY status").fetchall())
    no_reason = conn.execute("SELECT COUNT(*) FROM matches WHERE status = 'failed' AND "
                             "(error IS NULL OR error = '')").fetchone()[0]
    errors = dict(conn.execute(
        "SELECT substr(error, instr(error, 'last: ') + 6), COUNT(*) FROM matches "
        "WHERE status = 'failed' GROUP BY 1").fetchall())
    invalid = dict(conn.execute("SELECT reason, COUNT(*) FROM turns WHERE move_kind = 'invalid' "
                                "GROUP BY reason ORDER BY 2 DESC").fetchall())
    turns, stored_turns = conn.execute(
        "SELECT (SELECT COUNT(*) FROM turns), SUM(n_turns) FROM matches").fetchone()
    retries, gave_up = llm["retries"], llm.get("failures_by_kind", {})
    by_kind = {kind: {"retried": retries.get(kind, 0), "gave_up": gave_up.get(kind, 0),
                      "injected": sum(faults.get(k, 0) for k in server_kinds)}
               for kind, server_kinds in RETRY_KINDS.items()}
    checks = {
        "every planned match stored exactly once": rows == distinct == summary["planned"],
        "each is ok or failed": set(statuses) <= {"ok", "failed"}
        and sum(statuses.values()) == rows,
        "every failed match has a reason": no_reason == 0,
        "every turn of every match stored": turns == stored_turns,
        "retries + give-ups by kind = faults injected": all(
            v["retried"] + v["gave_up"] == v["injected"] for v in by_kind.values()),
        "requests = replies + retries + give-ups":
            llm["requests"] == llm["replies"] + sum(retries.values()) + llm["failures"],
        "server saw every request the summary counts": llm["requests"] == server["requests"],
        "every unusable answer is an invalid turn":
            sum(invalid.values()) >= sum(faults.get(k, 0) for k in UNUSABLE),
    }
    return {"planned": summary["planned"], "stored": rows, "ok": statuses.get("ok", 0),
            "failed": statuses.get("failed", 0), "failed_because": errors,
            "requests": llm["requests"], "replies": llm["replies"],
            "retries": retries, "failures_by_kind": gave_up, "by_kind": by_kind,
            "invalid_turns": summary.get("invalid_turns", sum(invalid.values())),
            "invalid_by_reason": invalid, "turns": turns,
            "unusable_answers": {k: faults.get(k, 0) for k in UNUSABLE},
            "checks": checks}


def report(f: dict[str, Any]) -> str:
    lines = [
        f"faults soak: {f['planned']:,} matches (seed {f['seed']}), {f['seconds']:.1f} s wall",
        f"  stored {f['stored']:,}: {f['ok']:,} ok, {f['failed']:,} failed; exit status "
        f"{f['exit_status']}",
        f"  requests {f['requests']:,}, replies {f['replies']:,}, turns {f['turns']:,}",
        "  by kind (retried / gave up / injected by the server):",
    ]
    for kind, v in f["by_kind"].items():
        lines.append(f"    {kind:<10} {v['retried']:>5} / {v['gave_up']:>3} / {v['injected']:>5}")
    lines.append(f"  invalid turns {f['invalid_turns']:,} (unusable answers injected: "
                 + ", ".join(f"{k} {n}" for k, n in f["unusable_answers"].items()) + ")")
    for reason, n in list(f["invalid_by_reason"].items())[:5]:
        lines.append(f"    {n:>5}  {reason}")
    for reason, n in f["failed_because"].items():
        lines.append(f"  failed: {n} x {reason}")
    r = f["resume"]
    lines.append(f"  --resume: reran {r['reran']} ({r['ok']} ok, {r['failed']} failed) in "
                 f"{r['seconds']:.1f} s; {r['requests']} requests, {r['cache_hits']} from the "
                 f"cache; {r['ok_in_store']:,} of {f['planned']:,} now ok")
    lines.append("  checks:")
    for name, ok in {**f["checks"], **r["checks"]}.items():
        lines.append(f"    [{'ok' if ok else 'FAILED'}] {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults_soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--matches", type=int, default=500,
                        help="at least this many (rounded up to whole repetitions of 100)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--timeout", type=float, default=1.0, help="the client's, in seconds")
    parser.add_argument("--max-retries", type=int, default=3)
    parser.add_argument("--rate-429", type=float, default=0.10)
    parser.add_argument("--retry-after", type=float, default=0.05)
    parser.add_argument("--rate-5xx", type=float, default=0.05)
    parser.add_argument("--rate-stall", type=float, default=0.02)
    parser.add_argument("--stall-s", type=float, default=3.0)
    parser.add_argument("--rate-unusable", type=float, default=0.05)
    parser.add_argument("--rate-close", type=float, default=0.0)
    parser.add_argument("--rate-malformed", type=float, default=0.0)
    parser.add_argument("--hard-timeout", type=float, default=1800.0,
                        help="kill the run after this many seconds (a hang is a failure)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    figures = soak(args)
    print(json.dumps(figures, indent=2, sort_keys=True) if args.json else report(figures))
    return 0 if all({**figures["checks"], **figures["resume"]["checks"]}.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
