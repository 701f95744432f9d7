"""Analysis at paper scale: `analyze` and `report` of a Study 2-size run (6,125 matches) and of
the paper-size Study 1 (51,850 matches), against the previous release on the same stores.

Both stores are played first (surrogate agents, as in `paper-scale`; not counted). Each command
runs as a user runs it, in a fresh interpreter (imports counted), measured with `wait4`: this
tree, then the previous release (git ref `BEFORE_REF`, checked out into a scratch worktree and
run from there with the same virtualenv), command by command, so a busy moment of the machine
hits both alike. CPU time (user + system) is given beside wall time: on a shared machine it
moves less with the load.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from benchmarks.support import ROOT, Log, load_average, placeholder_pool, run_child, scratch

NAME = "analysis"
TITLE = "Analysis at paper scale (`analyze` and `report`, Study 2 and Study 1 size)"
BEFORE_REF = "957f1ff"  # the last main before issue 14's analysis work
TARGETS = {"study2": 5.0, "study1": 30.0}  # seconds: "a few", "well under a minute"
COMMANDS = ("analyze", "report")
CHILD = ("import contextlib, io, json, sys\n"
         "from arena.cli import main\n"
         "with contextlib.redirect_stdout(io.StringIO()):\n"
         "    code = main(sys.argv[1:])\n"
         "print(json.dumps({'code': code}))\n")


def make_stores(work: Path, quick: bool, log: Log) -> dict[str, Path]:
    """Study 1 and Study 2 stores played by the surrogate (paper-scale's configs)."""
    from benchmarks.paper_scale import FULL, QUICK, configs  # noqa: F401 (sizes)

    size = QUICK if quick else FULL
    pool = placeholder_pool(work / "pool", size["personas"], 7)
    started = time.perf_counter()
    run_child(["-m", "benchmarks.paper_scale", "--child", str(work), str(pool), "auto"]
              + (["--quick"] if quick else []))
    log(f"  stores played in {time.perf_counter() - started:.1f} s (not counted)")
    return {"study2": work / "study2", "study1": work / "study1"}


def checkout_before(work: Path) -> Path | str:
    """The previous release as a detached worktree, or why it cannot be had."""
    target = work / "before"
    done = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(target),
                           BEFORE_REF], capture_output=True, text=True)
    if done.returncode != 0:
        return f"git worktree add {BEFORE_REF} failed: {done.stderr.strip()[:200]}"
    return target


def remove_before(target: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(target)],
                   capture_output=True, text=True)


def time_command(tree: Path, command: str, run_dir: Path, out: Path) -> dict[str, float]:
    args = [command, str(run_dir)] + (["--json"] if command == "analyze" else
                                      ["--out", str(out)])
    result = run_child(["-c", CHILD, *args], cwd=tree, env={"PYTHONPATH": str(tree)},
                       timeout=1800)
    if result.output != {"code": 0}:
        raise RuntimeError(f"{command} {run_dir} in {tree} answered {result.output}")
    return {"seconds": round(result.wall_s, 2), "cpu_s": round(result.cpu_s, 2),
            "peak_mib": round(result.tree_peak_mib, 1)}


def run(quick: bool, log: Log, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    with scratch("analysis") as work:
        stores = make_stores(work, quick, log)
        before = None if quick else checkout_before(work)
        figures: dict[str, Any] = {"load_average": load_average(), "before_ref": BEFORE_REF,
                                   "targets": TARGETS, "studies": {}}
        if isinstance(before, str):
            figures["before_skipped"] = before
        elif before is None:
            figures["before_skipped"] = "--quick measures this tree only"
        try:
            for study, run_dir in stores.items():
                matches = _matches(run_dir)
                row: dict[str, Any] = {"matches": matches}
                for command in COMMANDS:
                    after = time_command(ROOT, command, run_dir, work / f"{study}-after.html")
                    entry: dict[str, Any] = {"after": after}
                    if isinstance(before, Path):
                        old = time_command(before, command, run_dir,
                                           work / f"{study}-before.html")
                        entry["before"] = old
                        entry["ratio"] = round(old["seconds"] / after["seconds"], 1)
                        entry["cpu_ratio"] = round(old["cpu_s"] / after["cpu_s"], 1)
                    row[command] = entry
                    log(f"  {study} ({matches:,} matches) {command}: {after['seconds']:.1f} s"
                        + (f" (before {entry['before']['seconds']:.1f} s, "
                           f"{entry['ratio']}x)" if "before" in entry else ""))
                figures["studies"][study] = row
        finally:
            if isinstance(before, Path):
                remove_before(before)
    return figures


def _matches(run_dir: Path) -> int:
    from tests.helpers import table

    return int(table(run_dir / "arena.sqlite", "SELECT COUNT(*) FROM matches")[0][0])


def headline(r: dict[str, Any]) -> str:
    s2, s1 = r["studies"]["study2"], r["studies"]["study1"]
    text = (f"analysis: analyze / report {s2['analyze']['after']['seconds']:.1f} / "
            f"{s2['report']['after']['seconds']:.1f} s at {s2['matches']:,} matches (target < "
            f"{TARGETS['study2']:g} s), {s1['analyze']['after']['seconds']:.1f} / "
            f"{s1['report']['after']['seconds']:.1f} s at {s1['matches']:,} (< "
            f"{TARGETS['study1']:g} s)")
    if "ratio" in s1["analyze"]:
        text += (f"; {s2['analyze']['ratio']}x / {s2['report']['ratio']}x and "
                 f"{s1['analyze']['ratio']}x / {s1['report']['ratio']}x faster than "
                 f"{r['before_ref']}")
    return text


def markdown(r: dict[str, Any]) -> list[str]:
    lines = ["| run | command | this tree: wall | CPU | peak | before "
             f"({r['before_ref']}): wall | CPU | speed-up (wall, CPU) | target |",
             "|---|---|---|---|---|---|---|---|---|"]
    for study, row in r["studies"].items():
        for command in COMMANDS:
            e = row[command]
            a, b = e["after"], e.get("before")
            met = "met" if a["seconds"] < TARGETS[study] else "MISSED"
            lines.append(
                f"| {study} ({row['matches']:,} matches) | `{command}` | {a['seconds']:.1f} s | "
                f"{a['cpu_s']:.1f} s | {a['peak_mib']:.0f} MiB | "
                + (f"{b['seconds']:.1f} s | {b['cpu_s']:.1f} s | {e['ratio']}x, "
                   f"{e['cpu_ratio']}x" if b else "– | – | –")
                + f" | < {TARGETS[study]:g} s: {met} |")
    lines += ["", f"Each command in a fresh interpreter (imports counted); `analyze --json`, "
              f"`report --out`. Load average at the start: {r['load_average']}."]
    if "before_skipped" in r:
        lines.append(f"The previous release was not measured: {r['before_skipped']}.")
    return lines
