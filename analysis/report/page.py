"""A run as one self-contained HTML page a person would rather look at than read.

Everything is inlined (figures and avatar thumbnails as base64 data URIs, the style sheet
report.css, no script, no external request), so the file can be mailed, archived or opened
offline. Every string that comes from the store (model text, ids, errors, rater names) goes
through markup.esc: model replies are untrusted input.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from analysis.effects import agents_of, behaviour_data
from analysis.frames import RunFrames, load_run
from analysis.progress import quiet
from analysis.report.counterfactual_section import counterfactual_section
from analysis.report.equivalence_section import equivalence_section
from analysis.report.health_section import health_section
from analysis.report.markup import esc
from analysis.report.models import models_section
from analysis.report.outcomes_section import outcomes_section
from analysis.report.overview import summary_section
from analysis.report.plots import figures_section
from analysis.report.pool import pool_section
from analysis.report.raters import agreement_section
from analysis.report.standings_section import standings_section
from analysis.report.thumbnails import Thumbnails
from analysis.report.transcripts import transcripts_section
from analysis.summary import summary_from_frames
from scenarios.errors import InputError


@lru_cache(maxsize=1)
def style_sheet() -> str:
    return resources.files("analysis.report").joinpath("report.css").read_text("utf-8")


def _effects_by_agent(summary: dict[str, Any], frames: RunFrames) -> dict[str, Any]:
    """The summary's fits, per agent when several played (their pooled fit mixes models)."""
    if "effects_by_agent" in summary:
        return summary["effects_by_agent"]
    agents = agents_of(frames)
    return {agents[0] if agents else "all players": summary.get("effects", {})}


def render_report(frames: RunFrames, run_dir: Path,
                  progress: Callable[[str], None] = quiet,
                  equivalence: dict[str, Any] | None = None) -> str:
    """The page as a string. Every model is fitted once, by the summary."""
    summary = summary_from_frames(frames, run_dir, effects=True, progress=progress)
    effects_by = _effects_by_agent(summary, frames)
    from analysis.effects import headline

    summary["headlines"] = {agent: headline(e) for agent, e in effects_by.items()}
    thumbs = Thumbnails(frames.personas)
    title = f"persona-arena report: {Path(run_dir).resolve().name}"
    subtitle = " · ".join(esc(x) for x in (frames.meta.get("scenario"),
                                           frames.meta.get("condition"),
                                           f"design {frames.meta.get('design')}") if x)
    progress("drawing the figures and the page")
    body = "\n".join([
        summary_section(frames, summary, Path(run_dir)), pool_section(frames, thumbs),
        figures_section(behaviour_data(frames), frames), outcomes_section(frames,
                                                                          summary["outcomes"]),
        equivalence_section(equivalence), counterfactual_section(frames),
        standings_section(frames, run_dir), models_section(effects_by),
        health_section(summary["health"]), agreement_section(summary.get("rater_agreement")),
        transcripts_section(frames, thumbs)])
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "img-src data:; style-src 'unsafe-inline'\">"
            f"<title>{esc(title)}</title><style>{style_sheet()}{thumbs.css()}</style></head>"
            f"<body><header><h1>{esc(title)}</h1><p>{subtitle}</p></header><main>{body}</main>"
            f"<footer>made by persona-arena on {esc(stamp)} · self-contained page, no external "
            "resources</footer></body></html>\n")


def write_report(run_dir: Path | str, out: Path | str | None = None,
                 progress: Callable[[str], None] = quiet,
                 equivalence: dict[str, Any] | None = None) -> Path:
    """Render RUN_DIR's report to `out` (default RUN_DIR/report.html)."""
    run_dir = Path(run_dir)
    frames = load_run(run_dir, texts=False)  # transcripts read their few texts themselves
    target = Path(out) if out else (run_dir if run_dir.is_dir() else run_dir.parent) / "report.html"
    page = render_report(frames, run_dir, progress, equivalence)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(target)
    except OSError as error:
        raise InputError(f"{target}: cannot write the report ({error.strerror})") from None
    return target
