"""What the LLM benchmarks share: avatar pools, run configs against the loopback server, and the
child processes that do the measured work (one persona-arena run, a bare-SDK replay, a profile).

Every measured client runs in a child process of its own (`python -m benchmarks.llm_support
...`), so its CPU time is its own and nothing carries over between measurements; the loopback
server (tests/openai_server.py) is a separate process too. A child prints one JSON line.
"""
from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.support import run_child

MODEL = "loopback-vlm"


def make_pool(folder: Path, n: int, size: int) -> Path:
    """`n` real avatars (python-avatars + resvg) over 7 levels, `size` px square."""
    from agents.personas.avatars import generate_pool

    generate_pool(n, 7, folder, seed=1, size=size)
    return folder


def config(pool: Path, base_url: str, concurrency: int, cache_dir: Path, *, levels: int = 7,
           per_level: int = 5, repetitions: int = 1, **model: Any) -> dict[str, Any]:
    """A both-images ultimatum-4 run, LLM against LLM, as a RunConfig dict."""
    return {
        "seed": 1, "scenario": "ultimatum-4", "condition": "both-images",
        "personas": {"pool": str(pool)},
        "design": {"kind": "factorial", "levels": levels, "per_level": per_level,
                   "repetitions": repetitions},
        "agents": {"default": {"kind": "llm", "model": "local"}},
        "models": {"local": {"base_url": base_url, "model": MODEL, "api_key_env": "",
                             "concurrency": concurrency, "max_retries": 2, "timeout": 120,
                             **model}},
        "execution": {"concurrency": concurrency, "progress": "none"},
        "cache": {"dir": str(cache_dir), "enabled": True},
    }


# -- parent side -----------------------------------------------------------------------------------
def arena_in_child(jobs: list[dict[str, Any]], profile: bool = False) -> list[dict[str, Any]]:
    """Play each job (`config`, `run_dir`, `matches`: the first matches of the config's running
    order) one after the other in one fresh child process."""
    args = ["-m", "benchmarks.llm_support", "arena", json.dumps(jobs, default=str)]
    return run_child(args + (["--profile"] if profile else [])).output


def sdk_in_child(base_url: str, bodies: Path, concurrency: int,
                 count: int | None = None) -> dict[str, Any]:
    """The bare SDK sending `bodies` (each once, or cycled to `count` requests)."""
    return run_child(["-m", "benchmarks.llm_support", "sdk", base_url, str(bodies),
                      str(concurrency)] + ([str(count)] if count else [])).output


# -- child side ------------------------------------------------------------------------------------
def play(cfg: dict[str, Any], run_dir: Path, matches: int, profile: bool = False) -> dict[str, Any]:
    """One LLM run through the engine: plan (clients, cache, images) untimed, then the
    first `matches` of the running order, timed (wall and this process's CPU)."""
    from arena.config import RunConfig
    from arena.executors.base import StoreSink
    from arena.executors.choose import choose
    from arena.progress import Progress
    from arena.run_dir import open_run_dir
    from arena.run_plan import pending, plan_run

    config = RunConfig.model_validate(cfg)
    plan = plan_run(config, run_dir.parent)
    store = open_run_dir(plan, run_dir, resume=False)
    specs = pending(plan, store.match_ids("ok"), plan.specs)[:matches]
    sink = StoreSink(store, Progress(len(specs), "none"))

    def go() -> tuple[int, int]:
        executor = choose(plan, len(specs))
        try:
            executor.play(specs, sink)
            sink.flush()
            plan.workers_used = executor.workers
        finally:
            executor.close()
        return sink.ok, sink.failed

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    wall, cpu = time.perf_counter(), _cpu_with_children()
    if profiler is not None:
        profiler.enable()
    ok, failed = go()
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, _cpu_with_children() - cpu
    stats = plan.factory.llm.stats()
    calls, prompt, completion = store.conn.execute(
        "SELECT COALESCE(SUM(calls),0), COALESCE(SUM(prompt_tokens),0), "
        "COALESCE(SUM(completion_tokens),0) FROM matches").fetchone()
    turns = store.count("turns")
    store.close()
    plan.factory.llm.close()
    out = {"matches": len(specs), "ok": ok, "failed": failed, "turns": turns, "seconds": wall,
           "workers": plan.workers_used,
           "cpu_s": cpu, "requests": stats["requests"], "replies": stats["replies"],
           "cache_hits": stats["cache_hits"], "retries": stats["retries"], "calls": calls,
           "prompt_tokens": prompt, "completion_tokens": completion}
    if profiler is not None:
        out["profile"] = profile_buckets(profiler)
    return out


def _cpu_with_children() -> float:
    """This process's CPU time plus that of its finished children (LLM worker processes, when
    the run used them): the whole client's CPU."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def replay_bodies(base_url: str, bodies: Path, concurrency: int,
                  count: int | None = None) -> dict[str, Any]:
    """The bare SDK: send recorded request bodies with openai.AsyncOpenAI, `concurrency` at once
    (`count` requests: the bodies over and over)."""
    import openai

    requests = [json.loads(line) for line in bodies.read_text().splitlines() if line.strip()]
    if count:
        requests = [requests[i % len(requests)] for i in range(count)]

    async def go() -> tuple[float, float]:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="no-key-needed", max_retries=0)
        gate = asyncio.Semaphore(concurrency)

        async def one(body: dict[str, Any]) -> None:
            async with gate:
                reply = await client.chat.completions.create(**body)
                assert reply.choices[0].message.content is not None

        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(body) for body in requests))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        await client.close()
        return wall, cpu

    wall, cpu = asyncio.run(go())
    return {"calls": len(requests), "seconds": wall, "cpu_s": cpu}


BUCKETS = (  # (label, path fragments), first match wins
    ("persona-arena: engine, negotiator, prompts", ("/arena/", "/agents/", "/scenarios/")),
    ("AutoGen (autogen_core, autogen_ext)", ("autogen_core", "autogen_ext", "autogen_agentchat")),
    ("openai SDK", ("/openai/",)),
    ("HTTP client (httpx, httpcore, h11, anyio)", ("httpx", "httpcore", "/h11/", "/anyio/")),
    ("pydantic", ("pydantic",)),
    ("json", ("/json/", "_json")),
    ("SQLite (store and reply cache)", ("sqlite3",)),
    ("asyncio event loop and sockets", ("/asyncio/", "selectors", "socket", "_ssl", "select.")),
)


def profile_buckets(profiler: Any) -> dict[str, Any]:
    """Own time (cProfile tottime) by package, and the top functions."""
    import pstats

    stats = pstats.Stats(profiler)
    totals: dict[str, float] = {}
    rows = []
    grand = 0.0
    entries = stats.stats.items()  # type: ignore[attr-defined]
    for (path, line, name), (_, _, tottime, _, _) in entries:
        grand += tottime
        where = f"{path}:{name}"
        label = next((lab for lab, frags in BUCKETS if any(f in where for f in frags)),
                     "other (stdlib, builtins)")
        totals[label] = totals.get(label, 0.0) + tottime
        rows.append((tottime, f"{Path(path).name}:{line}({name})"))
    rows.sort(reverse=True)
    return {"total_s": round(grand, 3),
            "by_package": {k: round(v / grand, 3) for k, v in
                           sorted(totals.items(), key=lambda kv: -kv[1])},
            "top": [(name, round(t, 3)) for t, name in rows[:12]]}


def main(argv: list[str]) -> None:
    kind = argv[0]
    if kind == "arena":
        out: Any = [play(job["config"], Path(job["run_dir"]), int(job["matches"]),
                         "--profile" in argv) for job in json.loads(argv[1])]
    elif kind == "sdk":
        out = replay_bodies(argv[1], Path(argv[2]), int(argv[3]),
                            int(argv[4]) if len(argv) > 4 else None)
    else:
        raise SystemExit(f"unknown child kind {kind!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
