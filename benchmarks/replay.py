"""Replay: the LLM run of the concurrency benchmark (concurrency 64) rerun with its reply cache,
into a fresh run folder, against a fresh server: requests that reach the server (target 0) and
wall time. Run on its own, it first makes that run (same size and latency) to fill a cache.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks import concurrency, llm_support
from benchmarks.support import Log, load_average
from arena.store import STORE_NAME

NAME = "replay"
TITLE = "Replay from the reply cache"


def _first_run(quick: bool, log: Log, ctx: dict[str, Any]) -> dict[str, Any]:
    from tests.openai_server import start_server_process

    size = concurrency.QUICK if quick else concurrency.FULL
    persona_pool = concurrency.pool(ctx, size)
    work = ctx["workdir"] / "replay"
    c = concurrency.REPLAY_LEVEL
    with start_server_process(latency_ms=size["latency_ms"], record=False, seed=1) as server:
        cfg = llm_support.config(persona_pool, server.base_url, c, work / "cache",
                                 per_level=size["per_level"])
        job = {"config": cfg, "run_dir": str(work / "first"), "matches": size["matches"]}
        result = llm_support.arena_in_child([job])[0]
    log(f"  first run (fills the cache): {result['matches']:,} matches, "
        f"{result['requests']:,} requests, {result['seconds']:.1f} s")
    return {"job": job, "result": result, "latency_ms": size["latency_ms"]}


def run(quick: bool, log: Log, ctx: dict[str, Any]) -> dict[str, Any]:
    from tests.helpers import match_table, turn_table
    from tests.openai_server import start_server_process

    source = ctx.get("replay_source") or _first_run(quick, log, ctx)
    job, first = dict(source["job"]), source["result"]
    load = load_average()
    # the same endpoint as the first run (the reply cache is keyed by it): its port, again
    from urllib.parse import urlsplit

    port = urlsplit(job["config"]["models"]["local"]["base_url"]).port or 0
    with start_server_process(port=port, latency_ms=source["latency_ms"], record=False,
                              seed=1) as server:
        cfg = dict(job["config"])
        cfg["models"] = {"local": {**cfg["models"]["local"], "base_url": server.base_url}}
        rerun_dir = Path(job["run_dir"]).with_name(Path(job["run_dir"]).name + "-replay")
        replay_job = {"config": cfg, "run_dir": str(rerun_dir), "matches": job["matches"]}
        result = llm_support.arena_in_child([replay_job])[0]
        sent = server.stats()["requests"]
    db_first, db_again = Path(job["run_dir"]) / STORE_NAME, rerun_dir / STORE_NAME
    identical = (match_table(db_first) == match_table(db_again)
                 and turn_table(db_first) == turn_table(db_again))
    out = {"requests": sent, "client_requests": result["requests"],
           "cache_hits": result["cache_hits"], "matches": result["matches"],
           "failed": result["failed"], "seconds": round(result["seconds"], 2),
           "first_run_seconds": round(first["seconds"], 2),
           "first_run_requests": first["requests"], "identical_tables": identical,
           "speedup": round(first["seconds"] / result["seconds"], 1),
           "cpu_s": round(result["cpu_s"], 2), "load_average": load}
    log(f"  replay: {sent} requests reached the server (target 0); {result['matches']:,} "
        f"matches in {result['seconds']:.1f} s (first run {first['seconds']:.1f} s); "
        f"tables identical: {identical}")
    return out


def markdown(r: dict[str, Any]) -> list[str]:
    met = "met" if r["requests"] == 0 else "MISSED"
    return [f"| figure | first run | replay |", "|---|---|---|",
            f"| requests that reached the server | {r['first_run_requests']:,} | "
            f"**{r['requests']}** (target 0: {met}) |",
            f"| wall time, {r['matches']:,} matches | {r['first_run_seconds']:.1f} s | "
            f"{r['seconds']:.1f} s ({r['speedup']}x faster) |", "",
            f"The rerun answered all {r['cache_hits']:,} calls from the cache and stored tables "
            f"identical to the first run's (wall-clock columns aside): {r['identical_tables']}."]
