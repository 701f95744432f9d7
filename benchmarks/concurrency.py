"""Concurrency against an LLM server: 1,000 ultimatum-4 matches, LLM against LLM (8 calls each),
against the loopback OpenAI-compatible server in a separate process answering each request after
500 ms; wall time against the ideal (calls x 500 ms / concurrency) at concurrency 1, 16, 64, 128
and 256. One at a time (how the paper's notebooks ran) would take over an hour, so concurrency 1
plays a dozen matches and is scaled to 1,000 (said so in the figures).

The bare SDK side, in the same run against the same server: `openai.AsyncOpenAI` sending as many
requests as persona-arena's run at 64 sent, 64 at once, with request bodies persona-arena
sent (recorded beforehand from a few matches against a second loopback server that answers at
once, then cycled); its efficiency is the most a client on this machine gets, and persona-arena's
at 64 is given against it (target within 0.9 of it). `CONCURRENCY_LEVELS=64` (a comma list)
plays only those levels (with 1 and 64).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from benchmarks import llm_support
from benchmarks.support import Log, load_average, process_cpu_s

NAME = "concurrency"
TITLE = "Concurrency against an LLM server (500 ms a request)"
TARGETS = {"efficiency_at_64": 0.9, "speedup_at_64": 50.0, "vs_sdk_at_64": 0.9}
FULL = {"matches": 1000, "serial_matches": 12, "body_matches": 20, "levels": (16, 64, 128, 256), "latency_ms": 500,
        "personas": 35, "per_level": 5, "size": 256}
QUICK = {"matches": 8, "serial_matches": 1, "body_matches": 2, "levels": (16, 64, 256), "latency_ms": 50,
         "personas": 7, "per_level": 1, "size": 64}
REPLAY_LEVEL = 64  # the run the replay benchmark reruns from its cache
SDK_LEVEL = 64  # the concurrency the bare SDK is measured at


def pool(ctx: dict[str, Any], size: dict[str, Any]) -> Path:
    key = f"pool-{size['personas']}-{size['size']}"
    if key not in ctx:
        ctx[key] = llm_support.make_pool(ctx["workdir"] / key, size["personas"], size["size"])
    return ctx[key]


def record_bodies(persona_pool: Path, work: Path, matches: int, per_level: int) -> Path:
    """Request bodies persona-arena sends (its first `matches` matches, against a loopback
    server that answers at once and records them), one JSON object a line."""
    from tests.openai_server import start_server_process

    out = work / "bodies.jsonl"
    with start_server_process(latency_ms=0, record=True, seed=1) as server:
        cfg = llm_support.config(persona_pool, server.base_url, 16, work / "cache-bodies",
                                 per_level=per_level)
        llm_support.arena_in_child([{"config": cfg, "run_dir": str(work / "run-bodies"),
                                     "matches": matches}])
        chats = [r["body"] for r in server.requests()
                 if r["path"].endswith("/chat/completions") and r["body"] is not None]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(json.dumps(b) for b in chats))
    return out


def run(quick: bool, log: Log, ctx: dict[str, Any]) -> dict[str, Any]:
    from tests.openai_server import start_server_process

    size = QUICK if quick else FULL
    persona_pool = pool(ctx, size)
    work = ctx["workdir"] / "concurrency"
    load = load_average()
    jobs, levels = [], [1, *size["levels"]]
    if os.environ.get("CONCURRENCY_LEVELS"):  # a shorter run: some levels (64 always)
        wanted = {int(c) for c in os.environ["CONCURRENCY_LEVELS"].split(",")} | {1, SDK_LEVEL}
        levels = [c for c in levels if c in wanted]
    bodies = record_bodies(persona_pool, work, size["body_matches"], size["per_level"])
    with start_server_process(latency_ms=size["latency_ms"], record=False, seed=1) as server:
        for c in levels:
            cfg = llm_support.config(persona_pool, server.base_url, c, work / f"cache-c{c}",
                                     per_level=size["per_level"])
            matches = size["serial_matches"] if c == 1 else size["matches"]
            jobs.append({"config": cfg, "run_dir": str(work / f"run-c{c}"), "matches": matches})
        before = server.stats()["requests"]
        server_cpu = process_cpu_s(server.process.pid)
        results = llm_support.arena_in_child(jobs)
        sent = server.stats()["requests"] - before
        after = process_cpu_s(server.process.pid)
        at_64 = results[levels.index(SDK_LEVEL)]
        sdk = llm_support.sdk_in_child(server.base_url, bodies, SDK_LEVEL, int(at_64["requests"]))
    server_ms = (1000 * (after - server_cpu) / sent if server_cpu is not None
                 and after is not None and sent else None)
    latency_s = size["latency_ms"] / 1000.0
    per_level: dict[str, Any] = {}
    for c, job, r in zip(levels, jobs, results):
        calls_per_match = r["calls"] / max(1, r["matches"])
        scale = size["matches"] / r["matches"]
        seconds = r["seconds"] * scale  # c = 1 plays fewer matches: scaled to the full count
        calls = r["calls"] * scale
        ideal = calls * latency_s / c
        per_level[str(c)] = {
            "matches_played": r["matches"], "scaled_to": size["matches"] if scale != 1 else None,
            "seconds": round(seconds, 2), "ideal_s": round(ideal, 2),
            "efficiency": round(ideal / seconds, 3), "calls": int(calls),
            "calls_per_match": round(calls_per_match, 2), "failed": r["failed"],
            "client_cpu_s": round(r["cpu_s"] * scale, 2),
            "client_cpu_per_wall": round(r["cpu_s"] / r["seconds"], 2),
            "client_cpu_ms_per_call": round(1000 * r["cpu_s"] / max(1, r["calls"]), 2),
            "server_cpu_per_wall": (round(server_ms * r["calls"] / 1000 / r["seconds"], 2)
                                    if server_ms is not None else None),
            "retries": r["retries"], "client_processes": 1 + (r.get("workers") or 0)}
        log(f"  concurrency {c:>3}: {seconds:8.1f} s for {size['matches']:,} matches"
            f"{' (scaled from ' + str(r['matches']) + ')' if scale != 1 else ''}; ideal "
            f"{ideal:7.1f} s; efficiency {ideal / seconds:.2f}; client CPU "
            f"{r['cpu_s'] / r['seconds']:.2f} of a core "
            f"({1000 * r['cpu_s'] / max(1, r['calls']):.1f} ms a call); "
            f"{r.get('workers') or 0} LLM worker processes")
    serial = per_level["1"]["seconds"]
    efficiency = {c: v["efficiency"] for c, v in per_level.items()}
    speedup = {c: round(serial / v["seconds"], 1) for c, v in per_level.items()}
    good = [int(c) for c, e in efficiency.items() if e >= 0.9]
    ctx["replay_source"] = {"job": jobs[levels.index(REPLAY_LEVEL)],
                            "result": results[levels.index(REPLAY_LEVEL)],
                            "latency_ms": size["latency_ms"]}
    sdk_ideal = sdk["calls"] * latency_s / SDK_LEVEL
    sdk_out = {"calls": sdk["calls"], "seconds": round(sdk["seconds"], 2),
               "efficiency": round(sdk_ideal / sdk["seconds"], 3),
               "client_cpu_per_wall": round(sdk["cpu_s"] / sdk["seconds"], 2),
               "client_cpu_ms_per_call": round(1000 * sdk["cpu_s"] / max(1, sdk["calls"]), 2)}
    log(f"  bare SDK at {SDK_LEVEL}: {sdk['calls']:,} calls in {sdk['seconds']:.1f} s; efficiency "
        f"{sdk_out['efficiency']:.3f}; client CPU {sdk_out['client_cpu_per_wall']} of a core")
    out = {"latency_ms": size["latency_ms"], "matches": size["matches"],
           "sdk_at_64": sdk_out,
           "vs_sdk_at_64": round(efficiency[str(SDK_LEVEL)] / sdk_out["efficiency"], 3),
           "calls_per_match": per_level[str(REPLAY_LEVEL)]["calls_per_match"],
           "levels": per_level, "efficiency": efficiency,
           "efficiency_at_64": efficiency["64"], "speedup": speedup,
           "speedup_at_64": speedup["64"],
           "knee": max(good) if good else None, "requests_sent": sent,
           "server_cpu_ms_per_request": server_ms and round(server_ms, 2),
           "nproc": ctx["machine"]["nproc"], "load_average": load, "targets": TARGETS}
    log(f"  efficiency at 64: {out['efficiency_at_64']}; speed-up over one at a time at 64: "
        f"{out['speedup_at_64']}x; efficiency >= 0.9 up to concurrency {out['knee']}")
    return out


def markdown(r: dict[str, Any]) -> list[str]:
    lines = ["| concurrency | matches played | wall time | ideal (calls x latency / c) | "
             "efficiency | speed-up over 1 | LLM worker processes | client CPU (cores) | "
             "server CPU (cores) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for c, v in r["levels"].items():
        played = f"{v['matches_played']:,}" + (f" (scaled to {v['scaled_to']:,})"
                                                if v["scaled_to"] else "")
        lines.append(f"| {c} | {played} | {v['seconds']:.1f} s | {v['ideal_s']:.1f} s | "
                     f"{v['efficiency']:.2f} | {r['speedup'][c]}x | "
                     f"{v.get('client_processes', 1) - 1} | {v['client_cpu_per_wall']} | "
                     f"{v.get('server_cpu_per_wall')} |")
    if "sdk_at_64" in r:
        s = r["sdk_at_64"]
        lines.append(f"| 64, bare `openai.AsyncOpenAI` | {s['calls']:,} calls | "
                     f"{s['seconds']:.1f} s | {s['calls'] * r['latency_ms'] / 1000 / 64:.1f} s | "
                     f"{s['efficiency']:.2f} | | 0 | {s['client_cpu_per_wall']} | |")
        ok = "met" if r["vs_sdk_at_64"] >= TARGETS["vs_sdk_at_64"] else "MISSED"
        lines += ["", f"Against the bare SDK at 64 (same server, same run, as many requests, "
                  f"persona-arena's bodies): efficiency {r['efficiency_at_64']} against the "
                  f"SDK's {s['efficiency']}, **{r['vs_sdk_at_64']} of it** (target >= "
                  f"{TARGETS['vs_sdk_at_64']}: {ok})."]
    eff_ok = "met" if r["efficiency_at_64"] >= TARGETS["efficiency_at_64"] else "MISSED"
    sp_ok = "met" if r["speedup_at_64"] >= TARGETS["speedup_at_64"] else "MISSED"
    lines += ["", f"{r['matches']:,} matches of `ultimatum-4`, both images, LLM against LLM, "
              f"{r['calls_per_match']} calls a match, server latency {r['latency_ms']} ms. "
              f"Efficiency at 64: **{r['efficiency_at_64']}** (target >= 0.9: {eff_ok}); "
              f"speed-up over one at a time at 64: **{r['speedup_at_64']}x** (target >= 50: "
              f"{sp_ok}). The knee on this {r['nproc']}-CPU machine (the last concurrency with "
              f"efficiency >= 0.9): **{r['knee']}**. A run keeps more than 64 matches in "
              f"flight in LLM worker processes of their own (`[execution] workers`, one per 64 "
              f"up to the CPUs; client CPU counts them all), since one process's client tops out "
              f"near 150 calls a second; beyond the knee the client and the server "
              f"(same machine) run out of CPU: the client spends "
              f"{r['levels'].get('64', {}).get('client_cpu_ms_per_call')} "
              f"ms of CPU a call (see `overhead`: mostly the openai SDK) and the loopback server "
              f"{r.get('server_cpu_ms_per_request')} ms a request. Load average at the start: "
              f"{r['load_average']}."]
    return lines
