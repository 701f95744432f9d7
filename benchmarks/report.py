"""BENCHMARKS.md: every figure of a full run, the machine it ran on, when, and the command."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from benchmarks import (analysis_speed, concurrency, negmas_bench, overhead, paper_scale, reader,
                        replay, tokens)

SECTIONS = (negmas_bench, concurrency, overhead, paper_scale, analysis_speed, replay,
            tokens, reader)  # the issues' order


def headline(name: str, r: dict[str, Any]) -> str:
    """One line per benchmark: its figure as measured, against its target."""
    if "skipped" in r:
        return f"{name}: skipped ({r['skipped']})"
    if "error" in r:
        return f"{name}: FAILED ({r['error']})"
    if name == "negmas":
        return (f"negmas: {r['ratio']}x NegMAS's offers/s ({r['arena']['offers_per_s']:,} vs "
                f"{r['negmas']['offers_per_s']:,}; target >= 10x, issue 12: >= 20x)")
    if name == "concurrency":
        sdk = (f", {r['vs_sdk_at_64']} of the bare SDK's {r['sdk_at_64']['efficiency']} (target "
               f">= 0.9)" if "sdk_at_64" in r else "")
        return (f"concurrency: efficiency {r['efficiency_at_64']} at 64 (target >= 0.9){sdk}, "
                f"{r['speedup_at_64']}x one at a time (target >= 50x), knee {r['knee']}")
    if name == "overhead":
        return (f"overhead: {r['cpu_ms_per_call']:.2f} ms CPU per call, {r['ratio_vs_sdk']}x the "
                f"bare SDK's {r['sdk_cpu_ms_per_call']:.2f} ms (target <= 1.5x)")
    if name == "paper-scale":
        floor = (f", {r['floor_ratio']}x the storage floor's {r['floor']['seconds']:.1f} s (target "
                 f"<= 2x)" if "floor" in r else "")
        return (f"paper-scale: {r['matches']:,} matches in {r['seconds']:.1f} s (target < 20 s){floor}, "
                f"peak {r['peak_mib']:.0f} MiB (< 1024), store {r['store_mb']:.0f} MB (< 300)")
    if name == "analysis":
        return analysis_speed.headline(r)
    if name == "reader":
        return reader.headline(r)
    if name == "replay":
        return (f"replay: {r['requests']} requests sent (target 0), {r['seconds']:.1f} s against "
                f"{r['first_run_seconds']:.1f} s")
    if name == "tokens":
        return (f"tokens: {r['prompt_tokens_full']:,.0f} prompt tokens per match full-size, "
                f"{r['prompt_tokens_low']:,.0f} downscaled low-detail (-{r['reduction']:.0%})")
    return f"{name}: {r}"


def headlines(results: dict[str, Any]) -> str:
    return "\n".join(headline(name, r) for name, r in results.items())


def machine_lines(m: dict[str, Any]) -> list[str]:
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    return [f"- CPU: {m['cpu']}, {m['nproc']} logical CPUs (`nproc`)",
            f"- RAM: {m['ram_gib']} GiB", f"- Python {m['python']} on {m['platform']}",
            f"- Packages: {packages}"]


def section(module: Any, r: dict[str, Any], note: str = "") -> list[str]:
    """One benchmark's section: its title, what it measures (its docstring) and its figures."""
    about = "\n\n".join(" ".join(part.split()) for part in
                        (module.__doc__ or "").strip().split("\n\n"))
    lines = [f"## {module.NAME}: {module.TITLE}", "", about, ""]
    if note:
        lines += [note, ""]
    if "skipped" in r:
        lines.append(f"Skipped: {r['skipped']}.")
    elif "error" in r:
        lines.append(f"Failed: `{r['error']}`.")
    else:
        lines += module.markdown(r)
    return lines


def update(path: Path, results: dict[str, Any], command: str, started: float,
           finished: float) -> None:
    """Replace the sections (and summary lines) of the benchmarks in `results` in an existing
    BENCHMARKS.md, each saying when and how it was measured; the others stay as they were."""
    text = path.read_text()
    knobs = " ".join(f"{k}={os.environ[k]}" for k in ("BEFORE_TREE", "CONCURRENCY_LEVELS")
                     if os.environ.get(k))
    command = f"{knobs} {command}" if knobs else command
    when = dt.datetime.fromtimestamp(started).astimezone()
    until = dt.datetime.fromtimestamp(finished).astimezone()
    for module in SECTIONS:
        if module.NAME not in results:
            continue
        r = results[module.NAME]
        load = r.get("load_average")
        note = (f"Measured {when:%Y-%m-%d %H:%M}-{until:%H:%M %Z} with `{command}` (the other "
                f"sections are from the runs their own notes name){'; load average at the start: ' + str(load) if load is not None else ''}.")
        new = "\n".join(section(module, r, note))
        head = f"## {module.NAME}: "
        start = text.find("\n" + head)
        if start < 0:
            text = text.rstrip("\n") + "\n\n" + new + "\n"
        else:
            end = text.find("\n## ", start + 1)
            text = text[:start + 1] + new + "\n" + ("" if end < 0 else text[end:])
        line = f"- {headline(module.NAME, r)}"
        summary = [i for i, l in enumerate(text.split("\n")) if l.startswith(f"- {module.NAME}: ")]
        if summary:
            lines = text.split("\n")
            lines[summary[0]] = line
            text = "\n".join(lines)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write(path: Path, results: dict[str, Any], machine: dict[str, Any], command: str,
          started: float, finished: float) -> None:
    when = dt.datetime.fromtimestamp(started).astimezone()
    lines = ["# Benchmarks", "",
             "Written by `python -m benchmarks` (also `make bench`); rerun it to refresh every "
             "figure on your machine. Each ratio compares two things measured in the same run.", "",
             f"- Command: `{command}` (from the repository root, in its virtualenv)",
             f"- Date: {when:%Y-%m-%d %H:%M %Z} ({(finished - started) / 60:.1f} minutes)",
             *machine_lines(machine), "",
             "Wall-clock figures depend on what else the machine runs: each section gives the "
             "1-minute load average when it started.", "", "## Summary", ""]
    lines += [f"- {headline(name, r)}" for name, r in results.items()]
    for module in SECTIONS:
        if module.NAME in results:
            lines += ["", *section(module, results[module.NAME])]
    text = "\n".join(lines) + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
