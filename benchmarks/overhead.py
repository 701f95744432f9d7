"""Overhead per call: the client process's CPU time per LLM call through persona-arena (our code,
AutoGen, the HTTP client, the reply cache, the store) against a bare `openai.AsyncOpenAI` loop
sending the very same request bodies, against a loopback server that answers at once.

Each side runs in a child process of its own, at the same concurrency, in alternating rounds
(A B A B); the bodies the SDK sends are the ones the server recorded from persona-arena's first
round. A third child repeats the persona-arena run under cProfile to show where the time goes.
"""
from __future__ import annotations

import json
from typing import Any

from benchmarks import concurrency, llm_support
from benchmarks.support import Log, load_average

NAME = "overhead"
TITLE = "Overhead per LLM call (client CPU time), persona-arena against the bare SDK"
TARGET_RATIO = 1.5
FULL = {"matches": 200, "rounds": 2, "concurrency": 16, "profile": True}
QUICK = {"matches": 8, "rounds": 1, "concurrency": 8, "profile": False}


def run(quick: bool, log: Log, ctx: dict[str, Any]) -> dict[str, Any]:
    from tests.openai_server import start_server_process

    size = QUICK if quick else FULL
    sizes = concurrency.QUICK if quick else concurrency.FULL
    persona_pool = concurrency.pool(ctx, sizes)
    work = ctx["workdir"] / "overhead"
    work.mkdir(parents=True, exist_ok=True)
    bodies = work / "bodies.jsonl"
    c, n = size["concurrency"], size["matches"]
    load = load_average()
    arena_runs, sdk_runs = [], []
    profile = None
    with start_server_process(latency_ms=0, record=True, seed=1) as server:
        def arena_job(tag: str) -> dict[str, Any]:
            cfg = llm_support.config(persona_pool, server.base_url, c, work / f"cache-{tag}",
                                     per_level=sizes["per_level"])
            return {"config": cfg, "run_dir": str(work / f"run-{tag}"), "matches": n}

        for i in range(size["rounds"]):
            server.reset()
            arena_runs.append(llm_support.arena_in_child([arena_job(f"r{i}")])[0])
            if i == 0:
                chats = [r["body"] for r in server.requests()
                         if r["path"].endswith("/chat/completions") and r["body"] is not None]
                bodies.write_text("\n".join(json.dumps(b) for b in chats))
            server.reset()
            sdk_runs.append(llm_support.sdk_in_child(server.base_url, bodies, c))
            log(f"  round {i + 1}: persona-arena "
                f"{arena_runs[-1]['cpu_s'] / arena_runs[-1]['requests'] * 1000:.2f} ms CPU/call, "
                f"bare SDK {sdk_runs[-1]['cpu_s'] / sdk_runs[-1]['calls'] * 1000:.2f} ms CPU/call")
        if size["profile"]:
            server.reset()
            profile = llm_support.arena_in_child([arena_job("profile")], profile=True)[0]
    arena_ms = 1000 * sum(r["cpu_s"] for r in arena_runs) / sum(r["requests"] for r in arena_runs)
    sdk_ms = 1000 * sum(r["cpu_s"] for r in sdk_runs) / sum(r["calls"] for r in sdk_runs)
    out: dict[str, Any] = {
        "cpu_ms_per_call": round(arena_ms, 3), "sdk_cpu_ms_per_call": round(sdk_ms, 3),
        "ratio_vs_sdk": round(arena_ms / sdk_ms, 2), "calls_per_round": arena_runs[0]["requests"],
        "matches_per_round": n, "rounds": size["rounds"], "concurrency": c,
        "arena_rounds_ms": [round(1000 * r["cpu_s"] / r["requests"], 3) for r in arena_runs],
        "sdk_rounds_ms": [round(1000 * r["cpu_s"] / r["calls"], 3) for r in sdk_runs],
        "failed": sum(r["failed"] for r in arena_runs), "load_average": load,
        "target_ratio": TARGET_RATIO}
    if profile is not None:
        out["profile"] = profile["profile"]
        out["profile"]["cpu_ms_per_call_under_profiler"] = round(
            1000 * profile["cpu_s"] / profile["requests"], 3)
    log(f"  persona-arena {arena_ms:.2f} ms CPU per call, bare SDK {sdk_ms:.2f} ms: ratio "
        f"{out['ratio_vs_sdk']} (target <= {TARGET_RATIO}); load {load}")
    return out


def markdown(r: dict[str, Any]) -> list[str]:
    met = "met" if r["ratio_vs_sdk"] <= TARGET_RATIO else "MISSED"
    arena_rounds = ", ".join(f"{x:.2f}" for x in r["arena_rounds_ms"])
    sdk_rounds = ", ".join(f"{x:.2f}" for x in r["sdk_rounds_ms"])
    lines = ["| client | CPU per call | rounds (ms) |", "|---|---|---|",
             f"| persona-arena (negotiator, AutoGen client, httpx, reply cache, store) | "
             f"{r['cpu_ms_per_call']:.2f} ms | {arena_rounds} |",
             f"| bare `openai.AsyncOpenAI`, the same request bodies | "
             f"{r['sdk_cpu_ms_per_call']:.2f} ms | {sdk_rounds} |",
             "", f"**Ratio: {r['ratio_vs_sdk']}x** the bare SDK (target <= {TARGET_RATIO}: {met}). "
             f"{r['calls_per_round']:,} calls a round ({r['matches_per_round']} matches, "
             f"concurrency {r['concurrency']}), {r['rounds']} rounds alternating; load average "
             f"{r['load_average']}."]
    if "profile" in r:
        p = r["profile"]
        lines += ["", "Where persona-arena's client time goes (cProfile own time by package, "
                  f"{p['cpu_ms_per_call_under_profiler']:.2f} ms a call under the profiler):", "",
                  "| package | share |", "|---|---|"]
        lines += [f"| {k} | {v:.0%} |" for k, v in p["by_package"].items()]
        lines += ["", "Top functions by own time: " + "; ".join(
            f"`{name}` {t:.2f} s" for name, t in p["top"][:8]) + "."]
    return lines
