"""The offline demo: a generated avatar pool, the paper's Study 1 and Study 2 with the surrogate."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from arena.config import RunConfig
from arena.runner import run
from arena.store import STORE_NAME

SURROGATE_NOTE = ("Note: these players are the GPT-4o *surrogate*, a statistical model fitted to the "
                  "paper's released Study 2 data, not an LLM. Use it to try designs, test the "
                  "pipeline and plan sample sizes; point [models.X] at a real model for evidence.")


def demo_configs(pool: Path, seed: int, levels: int, per_level: int,
                 repetitions: int) -> dict[str, RunConfig]:
    common = {"seed": seed, "scenario": "ultimatum-4",
              "personas": {"pool": str(pool), "rating": "design"},
              "agents": {"default": {"kind": "surrogate", "fit": "gpt-4o"}},
              "execution": {"progress": "auto"}}
    study1 = RunConfig.model_validate({
        **common, "condition": "self-only",
        "design": {"kind": "confederate", "levels": levels, "repetitions": repetitions}})
    study2 = RunConfig.model_validate({
        **common, "condition": "both-images",
        "design": {"kind": "factorial", "levels": levels, "per_level": per_level,
                   "repetitions": repetitions}})
    return {"study1": study1, "study2": study2}


TITLES = {"study1": "Study 1 (own image only, against the paper's scripted confederate)",
          "study2": "Study 2 (both images, surrogate against surrogate)"}


def run_demo(out: Path, seed: int = 1, levels: int = 7, per_level: int = 5,
             repetitions: int = 2, stream: TextIO | None = None) -> dict[str, Any]:
    """Both studies into `out`, one step line each (drawing, playing, analysing, reporting)."""
    from arena.progress import Steps

    stream = stream or sys.stdout
    step = Steps(stream)
    out = Path(out)
    pool = out / "pool"
    if not (pool / "manifest.csv").exists():
        step(f"drawing {levels * per_level} avatars at {levels} aggressiveness levels into {pool}")
        from agents.personas.avatars import generate_pool

        generate_pool(levels * per_level, levels, pool, seed)
    else:
        step(f"using the avatars already in {pool}")
    results: dict[str, Any] = {}
    for name, config in demo_configs(pool.resolve(), seed, levels, per_level, repetitions).items():
        run_dir = out / name
        resume = (run_dir / STORE_NAME).exists()
        step(f"{TITLES[name]}: playing into {run_dir}" + (" (resuming)" if resume else ""))
        summary = run(config, Path.cwd(), run_dir, resume=resume)
        step(f"{name}: {summary.ran:,} matches played in {summary.seconds:.1f} s; analysing "
             "(means, OLS and mixed models of the claim)")
        from analysis.summary import format_summary, summarize

        info = summarize(run_dir)
        print(format_summary(info, name), file=stream, flush=True)
        step(f"{name}: writing the report (figures, model tables, transcripts)")
        from analysis.report import write_report

        report = write_report(run_dir)
        results[name] = {"run": summary.as_dict(), "summary": info, "report": str(report)}
        step(f"{name}: report written to {report}")
    print(SURROGATE_NOTE, file=stream)
    step(f"demo done in {step.elapsed:.0f} s; open {out / 'study2' / 'report.html'} in a browser")
    return results
