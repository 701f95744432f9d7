"""Paper scale, simulated: the paper's Study 1 and Study 2 with surrogate agents, stored in full.

Study 1: 5,185 personas x 2 orders x 5 repetitions = 51,850 matches against the scripted
confederate (`self-only`); Study 2: 35 x 35 x 5 = 6,125 matches, surrogate against surrogate
(`both-images`). Both go through `arena.tournament.run` into fresh RUN_DIRs, in a child process
measured with `wait4` (peak RSS, CPU). The pool is made beforehand and not counted: placeholder
PNGs, since the surrogate never looks at pixels. How long drawing 5,185 real avatars takes is
measured separately (a sample, extrapolated).

The storage floor, measured in the same run: the very rows the two runs stored (matches, turns
and seats), read back and written straight into a fresh SQLite file from Python (the store's
schema and pragmas, each match whole inside one transaction, 256 matches a commit,
`executemany`); the run's wall time over it is how far the engine is from only writing its
results. (The seats rows, one per seat of every match, joined the store while the floor was
being written and were left out of it until this was noticed; the time the floor spends on them
is given apart.) With `BEFORE_TREE=DIR` (a source
tree of an earlier release) the same runs are played with that tree too, alternating with this
one (this, before, this, before), so a busy moment of the machine hits both alike.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.support import (ROOT, Log, folder_bytes, load_average, placeholder_pool,
                                run_child, scratch)
from arena.store import STORE_NAME

NAME = "paper-scale"
TITLE = "Paper scale, simulated (Study 1 + Study 2, surrogate agents, stored in full)"
TARGETS = {"seconds": 20.0, "peak_mib": 1024.0, "store_mb": 300.0, "floor_ratio": 2.0}
FLOOR_BATCH = 256  # matches a commit in the storage floor
FULL = {"personas": 5185, "repetitions": 5, "per_level": 5, "avatar_sample": 200}
QUICK = {"personas": 70, "repetitions": 1, "per_level": 2, "avatar_sample": 7}
LEVELS = 7
PAPER_PERSONAS = 5185


def configs(pool: Path, size: dict[str, int]) -> dict[str, Any]:
    from arena.config import RunConfig

    common = {"seed": 1, "scenario": "ultimatum-4", "personas": {"pool": str(pool)},
              "agents": {"default": {"kind": "surrogate", "fit": "gpt-4o"}},
              "execution": {"progress": "none"}}
    return {
        "study1": RunConfig.model_validate({
            **common, "condition": "self-only",
            "design": {"kind": "confederate", "levels": LEVELS,
                       "repetitions": size["repetitions"]}}),
        "study2": RunConfig.model_validate({
            **common, "condition": "both-images",
            "design": {"kind": "factorial", "levels": LEVELS, "per_level": size["per_level"],
                       "repetitions": size["repetitions"]}}),
    }


def child(work: Path, pool: Path, quick: bool, workers: int | None) -> dict[str, Any]:
    """Runs in the measured process: both studies, one after the other, as a user would."""
    from arena.tournament import run

    studies: dict[str, Any] = {}
    for name, config in configs(pool, QUICK if quick else FULL).items():
        config.execution.workers = workers
        cpu, started = time.process_time(), time.perf_counter()
        summary = run(config, work, work / name, progress_mode="none")
        studies[name] = {"seconds": time.perf_counter() - started,
                         "cpu_s": time.process_time() - cpu, "matches": summary.ran,
                         "ok": summary.ok, "failed": summary.failed}
    return {"studies": studies, "vmhwm_mib": _vmhwm_mib()}


def _vmhwm_mib() -> float | None:
    """This process's own peak RSS (Linux VmHWM: counted from exec, unlike ru_maxrss)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def storage_floor(stores: list[Path], work: Path) -> dict[str, Any]:
    """Write the rows of `stores` straight into fresh SQLite files (the store's schema and
    pragmas, FLOOR_BATCH whole matches a transaction) and time the writing alone."""
    from arena.store import MATCH_COLUMNS, SCHEMA, SEAT_COLUMNS, TURN_COLUMNS

    work.mkdir(parents=True, exist_ok=True)
    seconds = seats_s = 0.0
    rows = 0
    for i, store in enumerate(stores):
        src = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        matches = src.execute(f"SELECT {', '.join(MATCH_COLUMNS)} FROM matches ORDER BY rowid"
                              ).fetchall()
        turns: dict[str, list[tuple[Any, ...]]] = {}
        for turn in src.execute(f"SELECT {', '.join(TURN_COLUMNS)} FROM turns ORDER BY rowid"):
            turns.setdefault(turn[0], []).append(turn)
        seats: dict[str, list[tuple[Any, ...]]] = {}
        if src.execute("SELECT 1 FROM sqlite_master WHERE name = 'seats'").fetchone():
            for seat in src.execute(f"SELECT {', '.join(SEAT_COLUMNS)} FROM seats "
                                    "ORDER BY rowid"):
                seats.setdefault(seat[0], []).append(seat)
        src.close()
        target = work / f"floor-{i}.sqlite"
        conn = sqlite3.connect(target, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        insert_match = (f"INSERT INTO matches({', '.join(MATCH_COLUMNS)}) VALUES "
                        f"({', '.join('?' * len(MATCH_COLUMNS))})")
        insert_turn = (f"INSERT INTO turns({', '.join(TURN_COLUMNS)}) VALUES "
                       f"({', '.join('?' * len(TURN_COLUMNS))})")
        insert_seat = (f"INSERT INTO seats({', '.join(SEAT_COLUMNS)}) VALUES "
                       f"({', '.join('?' * len(SEAT_COLUMNS))})")
        started = time.perf_counter()
        for start in range(0, len(matches), FLOOR_BATCH):
            batch = matches[start:start + FLOOR_BATCH]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert_match, batch)
            conn.executemany(insert_turn, [t for m in batch for t in turns.get(m[0], ())])
            if seats:
                seated = time.perf_counter()
                conn.executemany(insert_seat, [s for m in batch for s in seats.get(m[0], ())])
                seats_s += time.perf_counter() - seated
            conn.execute("COMMIT")
        conn.close()
        seconds += time.perf_counter() - started
        rows += len(matches)
        target.unlink()
    return {"seconds": round(seconds, 2), "matches": rows, "seats_seconds": round(seats_s, 2)}


def measure(pool: Path, work: Path, quick: bool, workers: int | None,
            tree: Path | None = None) -> dict[str, Any]:
    """Both studies in a fresh child process, into fresh RUN_DIRs under `work`; `tree`: play
    them with another source tree (an earlier release) instead of this one."""
    from tests.helpers import table

    work.mkdir(parents=True)
    load = load_average()
    env = None if tree is None else {"PYTHONPATH": str(tree)}
    result = run_child(["-m", "benchmarks.paper_scale", "--child", str(work), str(pool),
                        "auto" if workers is None else str(workers)]
                       + (["--quick"] if quick else []),
                       cwd=tree or ROOT, env=env)
    studies = result.output["studies"]
    stored = sum(folder_bytes(work / name) for name in studies)
    turns = sum(table(work / name / STORE_NAME, "SELECT COUNT(*) FROM turns")[0][0]
                for name in studies)
    matches = sum(s["matches"] for s in studies.values())
    seconds = sum(s["seconds"] for s in studies.values())
    rounded = {name: {k: round(v, 2) if isinstance(v, float) else v for k, v in s.items()}
               for name, s in studies.items()}
    return {
        "seconds": round(seconds, 2),
        "peak_mib": round(max(result.tree_peak_mib, result.output["vmhwm_mib"] or 0.0), 1),
        "store_mb": round(stored / 1e6, 1),
        "matches": matches, "turns": turns, "matches_per_s": round(matches / seconds),
        "cpu_s": round(sum(s["cpu_s"] for s in studies.values()), 2),
        "process_wall_s": round(result.wall_s, 2),
        "process_tree_cpu_s": round(result.cpu_s, 2),
        "run_process_peak_mib": result.output["vmhwm_mib"] and round(result.output["vmhwm_mib"], 1),
        "study1": rounded["study1"], "study2": rounded["study2"],
        "failed": sum(s["failed"] for s in studies.values()), "load_average": load,
    }


def time_avatars(n: int, log: Log) -> dict[str, Any]:
    """Draw and render `n` real avatars (all CPUs, as `avatars generate` does) and extrapolate
    to the paper's 5,185; also time the full check `run` makes of such a pool."""
    from agents.personas.avatars import generate_pool
    from agents.personas.manifest import read_manifest

    with scratch("avatars") as folder:
        started = time.perf_counter()
        generate_pool(n, LEVELS, folder / "pool", seed=1)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        read_manifest(folder / "pool")
        check = time.perf_counter() - started
    per = seconds / n
    estimate = per * PAPER_PERSONAS
    log(f"  {n} real avatars (256 px) in {seconds:.1f} s -> {PAPER_PERSONAS:,} in about "
        f"{estimate:.0f} s (extrapolated); checking such a pool: {check / n * 1000:.2f} ms/image")
    return {"avatars_measured": n, "avatars_seconds": round(seconds, 2),
            "avatars_5185_seconds": round(estimate, 1), "avatars_method": "extrapolated",
            "pool_check_ms_per_real_image": round(check / n * 1000, 3)}


def run(quick: bool, log: Log, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    size = QUICK if quick else FULL
    with scratch("paper-scale") as work:
        started = time.perf_counter()
        pool = placeholder_pool(work / "pool", size["personas"], LEVELS)
        log(f"  placeholder pool of {size['personas']:,} personas made in "
            f"{time.perf_counter() - started:.1f} s (not counted)")
        before = os.environ.get("BEFORE_TREE")
        figures = measure(pool, work / "default", quick, None)
        floor = storage_floor([work / "default" / n / STORE_NAME for n in ("study1", "study2")],
                              work / "floor")
        figures["floor"] = floor
        figures["floor_ratio"] = round(figures["seconds"] / floor["seconds"], 2)
        log(f"  {figures['matches']:,} matches ({figures['turns']:,} turns) in "
            f"{figures['seconds']:.1f} s ({figures['matches_per_s']:,}/s; run process CPU "
            f"{figures['cpu_s']:.1f} s, whole tree {figures['process_tree_cpu_s']:.1f} s; load "
            f"{figures['load_average']}); peak RSS {figures['peak_mib']:.0f} MiB; store "
            f"{figures['store_mb']:.0f} MB; storage floor {floor['seconds']:.1f} s: "
            f"{figures['floor_ratio']}x the floor")
        if before:
            rounds: dict[str, list[dict[str, Any]]] = {"this": [], "before": []}
            rounds["this"].append({k: figures[k] for k in ("seconds", "cpu_s", "load_average")}
                                  | {"floor_s": floor["seconds"]})
            for i, label in enumerate(("before", "this", "before")):
                tree = Path(before) if label == "before" else None
                r = measure(pool, work / f"{label}-{i}", quick, None, tree)
                fl = storage_floor([work / f"{label}-{i}" / n / STORE_NAME
                                    for n in ("study1", "study2")], work / "floor")
                shutil.rmtree(work / f"{label}-{i}", ignore_errors=True)
                rounds[label].append({"seconds": r["seconds"], "cpu_s": r["cpu_s"],
                                      "load_average": r["load_average"],
                                      "floor_s": fl["seconds"]})
                log(f"  {label}: {r['seconds']:.1f} s, floor {fl['seconds']:.1f} s "
                    f"({r['seconds'] / fl['seconds']:.2f}x; load {r['load_average']})")
            figures["before"] = {"tree": before, "rounds": rounds}
        if not quick and not before:  # the same in one process (workers = 0)
            one = measure(pool, work / "one-process", quick, 0)
            figures["one_process"] = {k: one[k] for k in (
                "seconds", "cpu_s", "peak_mib", "store_mb", "matches_per_s", "load_average")}
            log(f"  in one process (workers = 0): {one['seconds']:.1f} s "
                f"({one['matches_per_s']:,}/s, CPU {one['cpu_s']:.1f} s; load "
                f"{one['load_average']}); peak RSS {one['peak_mib']:.0f} MiB")
    figures["targets"] = TARGETS
    figures.update(time_avatars(size["avatar_sample"], log))
    return figures


def markdown(r: dict[str, Any]) -> list[str]:
    met = lambda key: "met" if r[key] < TARGETS[key] else "MISSED"  # noqa: E731
    lines = [
        "| figure | measured | target |", "|---|---|---|",
        f"| wall time, both studies (`run`: reading the pool, playing, storing) | "
        f"{r['seconds']:.1f} s ({r['matches_per_s']:,} matches/s) | "
        f"< {TARGETS['seconds']:.0f} s: {met('seconds')} |",
        f"| peak memory (RSS of the run process and its workers, summed) | "
        f"{r['peak_mib']:.0f} MiB | < 1 GiB: {met('peak_mib')} |",
        f"| store on disk (two RUN_DIRs) | {r['store_mb']:.1f} MB | "
        f"< {TARGETS['store_mb']:.0f} MB: {met('store_mb')} |",
        "",
        f"{r['matches']:,} matches ({r['study1']['matches']:,} + {r['study2']['matches']:,}), "
        f"{r['turns']:,} turns, {r['failed']} failed: Study 1 {r['study1']['seconds']:.1f} s, "
        f"Study 2 {r['study2']['seconds']:.1f} s. CPU: {r['cpu_s']:.1f} s in the run process "
        f"(plan, store), {r['process_tree_cpu_s']:.1f} s with its worker processes and "
        f"interpreter start; the child process took {r['process_wall_s']:.1f} s in all. Load "
        f"average at the start: {r['load_average']}.",
    ]
    if "floor" in r:
        ok = "met" if r["floor_ratio"] <= TARGETS["floor_ratio"] else "MISSED"
        seats_s = r["floor"].get("seats_seconds")
        apart = ("" if not seats_s else f"; {seats_s:.1f} s of it the seats rows, without which "
                 f"the run would be {r['seconds'] / (r['floor']['seconds'] - seats_s):.2f}x")
        lines += ["", f"Storage floor (the same {r['floor']['matches']:,} matches, their turns "
                  f"and seats written straight into SQLite from Python, {FLOOR_BATCH} whole "
                  f"matches a commit): {r['floor']['seconds']:.1f} s, so the run took "
                  f"**{r['floor_ratio']}x the floor** (target within "
                  f"{TARGETS['floor_ratio']:.0f}x: {ok}){apart}."]
    if "before" in r:
        rounds = r["before"]["rounds"]
        lines += ["", f"Side by side with the tree before (`BEFORE_TREE`), alternating this, "
                  f"before, this, before; each run with its own floor measured right after it:",
                  "", "| tree | wall time (both studies) | CPU (run process) | floor | "
                  "x floor | load average |", "|---|---|---|---|---|---|"]
        for i in range(max(len(rounds["this"]), len(rounds["before"]))):
            for label in ("this", "before"):
                if i < len(rounds[label]):
                    x = rounds[label][i]
                    lines.append(f"| {label} | {x['seconds']:.1f} s | {x['cpu_s']:.1f} s | "
                                 f"{x['floor_s']:.1f} s | {x['seconds'] / x['floor_s']:.2f}x | "
                                 f"{x['load_average']} |")
    if "one_process" in r:
        o = r["one_process"]
        lines += ["", f"The same in one process (`[execution] workers = 0`, how every run went "
                  f"before worker processes): {o['seconds']:.1f} s ({o['matches_per_s']:,} "
                  f"matches/s, CPU {o['cpu_s']:.1f} s), peak {o['peak_mib']:.0f} MiB (load "
                  f"{o['load_average']})."]
    lines += [
        "", f"Avatar pool (made beforehand, not counted above; these runs used placeholder PNGs, "
        f"since the surrogate never looks at pixels): {r['avatars_measured']} real 256-px avatars "
        f"took {r['avatars_seconds']:.1f} s on all CPUs, so {PAPER_PERSONAS:,} take about "
        f"{r['avatars_5185_seconds']:.0f} s ({r['avatars_method']} from the sample). A run checks "
        f"its pool first (decode + sha256 of every image): "
        f"{r['pool_check_ms_per_real_image']:.2f} ms per real avatar, about "
        f"{r['pool_check_ms_per_real_image'] * PAPER_PERSONAS / 1000:.1f} s per run at 5,185 "
        f"personas, which the placeholder pool does not show."]
    return lines


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--child":
        workers = None if sys.argv[4] == "auto" else int(sys.argv[4])
        print(json.dumps(child(Path(sys.argv[2]), Path(sys.argv[3]), "--quick" in sys.argv,
                               workers)))
    else:
        sys.exit("usage: python -m benchmarks paper-scale [--quick] [--json]")
