"""A short summary of a run: matches, deal rate, mean claim by own and by opponent level, and
the own and opponent effects on the claim with 95% intervals (see analysis.effects)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.frames import RunFrames, load_run
from analysis.progress import quiet


def summarize(run_dir: Path, effects: bool = True,
              progress: Callable[[str], None] = quiet) -> dict[str, Any]:
    return summary_from_frames(load_run(run_dir, texts=False), run_dir, effects, progress)


def summary_from_frames(frames: RunFrames, run_dir: Path | str, effects: bool = True,
                        progress: Callable[[str], None] = quiet) -> dict[str, Any]:
    """The summary; with `effects`, also `headline` (own / opp effects on the claim, OLS and
    mixed model, with intervals), `effects` (every behaviour's models) and, when several
    agents played (their pooled fit mixes models), `effects_by_agent` and
    `headline_by_agent`."""
    m = frames.matches
    ok = m[m["status"] == "ok"]
    progress(f"{len(m):,} matches read; proposals")
    props = frames.proposals
    props = props[(props["status"] == "ok") & props["proposer"].notna()]  # personas, not scripts
    summary: dict[str, Any] = {
        "run_dir": str(run_dir),
        "scenario": frames.meta.get("scenario"),
        "condition": frames.meta.get("condition"),
        "design": frames.meta.get("design"),
        "matches": int(len(m)),
        "ok": int(len(ok)),
        "failed": int((m["status"] == "failed").sum()),
        "deal_rate": float(ok["deal"].mean()) if len(ok) else None,
        "proposals": int(len(props)),
        "acceptance_rate": (float(props["accepted"].mean()) if props["accepted"].notna().any()
                            else None),
        "response_acceptance_rate": _response_acceptance(frames),
        "mean_claim": float(props["claim"].mean()) if props["claim"].notna().any() else None,
        "units": {"stake": frames.units.stake, "units": frames.units.units,
                  "game": frames.units.game, "source": frames.units.source},
        "counting": COUNTING,
    }
    if frames.meta.get("simulated"):  # planted agents: no model played (arena.run_dir)
        summary["simulated"] = frames.meta["simulated"]
    for key, column in (("claim_by_own", "own"), ("claim_by_opp", "opp")):
        sub = props.dropna(subset=[column, "claim"])
        if len(sub):
            means = sub.groupby(sub[column].astype(int))["claim"].mean()
            summary[key] = {int(k): round(float(v), 2) for k, v in means.items()}
    if effects and len(props):
        from analysis.effects import agents_of, headline, pairing_effects

        progress("fitting the models")
        fitted = pairing_effects(frames)
        summary["headline"] = headline(fitted)
        summary["effects"] = fitted
        agents = agents_of(frames)
        if len(agents) > 1:  # the pooled fit mixes models: give each its own as well
            summary["effects_by_agent"] = {a: pairing_effects(frames, a) for a in agents}
            summary["headline_by_agent"] = {a: headline(e)
                                            for a, e in summary["effects_by_agent"].items()}
    from analysis.outcomes import outcome_summary

    progress("outcomes and the frontier")
    summary["outcomes"] = outcome_summary(frames)
    from analysis.anchoring import by_condition
    from analysis.outcomes import frame_outcomes

    # per condition and per opening (analysis.anchoring builds on analysis.outcomes)
    summary["outcomes"]["anchoring_by_condition"] = by_condition(frames, frame_outcomes(frames))
    from analysis.health import run_health

    summary["health"] = run_health(frames)
    if effects and frames.ratings["rater"].nunique() > 1:
        from analysis.agreement import rater_agreement

        summary["rater_agreement"] = rater_agreement(frames.ratings)
    return _json_safe(summary)


COUNTING = ("proposals, mean_claim and claim_by_*: proposals made by personas (a scripted "
            "confederate's are left out); acceptance_rate: the share of those proposals the "
            "other seat accepted; response_acceptance_rate: the share of responses BY personas "
            "that accept (what the acceptance model and figure use); deal_rate: matches")


def _response_acceptance(frames: RunFrames) -> float | None:
    """Share of responses given by personas that accept (the acceptance model's rows)."""
    from analysis.effects import behaviour_data

    rows = behaviour_data(frames)["acceptance"].frame
    return float(rows["y"].mean()) if len(rows) else None


def _json_safe(data: Any) -> Any:
    """NaN (an interval of a single observation) as None, so --json output is strict JSON."""
    if isinstance(data, dict):
        return {k: _json_safe(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_json_safe(v) for v in data]
    if isinstance(data, float) and data != data:
        return None
    return data


def format_summary(summary: dict[str, Any], title: str) -> str:
    lines = [f"{title}: {summary['scenario']}, {summary['condition']}, design {summary['design']}"]
    if summary.get("simulated"):
        lines.append(f"  {summary['simulated']}")
    deal = summary.get("deal_rate")
    acc = summary.get("acceptance_rate")
    lines.append(f"  matches {summary['matches']:,} (ok {summary['ok']:,}, failed "
                 f"{summary['failed']:,}); deal rate {deal:.1%}" if deal is not None else
                 f"  matches {summary['matches']:,}")
    if summary.get("mean_claim") is not None:
        units = summary.get("units") or {}
        of = (f" {units.get('units')} of {units['stake']:g}" if units.get("stake") is not None
              else "")
        responses = summary.get("response_acceptance_rate")
        lines.append(f"  proposals by personas {summary['proposals']:,}; mean claim "
                     f"{summary['mean_claim']:.2f}{of}"
                     + (f"; {acc:.1%} of them accepted" if acc is not None else "")
                     + (f"; personas accept {responses:.1%} of what they are offered"
                        if responses is not None else ""))
    for key, label in (("claim_by_own", "mean claim by own level"),
                       ("claim_by_opp", "mean claim by opponent level")):
        if key in summary:
            cells = "  ".join(f"{k}: {v:.1f}" for k, v in summary[key].items())
            lines.append(f"  {label:<29} {cells}")
    for term, label in (("own", "own level effect on claim"), ("opp", "opponent level effect")):
        fit = summary.get("headline", {}).get(term, {})
        if fit:
            cells = "; ".join(_effect_cell(model, f) for model, f in fit.items())
            lines.append(f"  {label:<29} {cells}")
    if "outcomes" in summary:
        from analysis.outcomes import format_outcomes

        from analysis.anchoring import format_by_condition

        lines.extend(format_outcomes(summary["outcomes"]))
        lines.extend(format_by_condition(summary["outcomes"].get("anchoring_by_condition") or {}))
    lines.extend(_model_lines(summary.get("effects", {})))
    if "health" in summary:
        from analysis.health import format_health

        lines.extend(format_health(summary["health"]))
    return "\n".join(lines)


def _effect_cell(model: str, fit: dict[str, Any]) -> str:
    """`ols +1.227 [+1.036, +1.417]`, with `*` when significant and the status when not ok."""
    if fit.get("ci", [None])[0] is None:
        return f"{model} {fit['estimate']:+.3f} ({fit['status']}: no interval)"
    lo, hi = fit["ci"]
    mark = "*" if fit.get("significant") else ""
    status = "" if fit.get("status", "ok") == "ok" else f" ({fit['status']})"
    return f"{model} {fit['estimate']:+.3f}{mark} [{lo:+.3f}, {hi:+.3f}] 95% CI{status}"


def _model_lines(effects: dict[str, Any]) -> list[str]:
    """One line per behaviour: what each model fitted on (rows, personas) and its status."""
    from analysis.fit_status import describe

    if not effects:
        return []
    lines = ["  models (rows / personas, status; * = significant at 5% in an ok fit):"]
    for name, result in effects.items():
        parts = []
        for model in ("ols", "mixed"):
            fit = result.get(model)
            if fit:
                groups = fit.get("clusters", fit.get("groups"))
                extra = (f", persona SD {fit['sd_persona']:.2f}, residual SD "
                         f"{fit['sd_resid']:.2f}" if fit.get("sd_persona") is not None else "")
                parts.append(f"{model} {fit['n']:,} / {groups}: {describe(fit)}{extra}")
        if not parts:
            parts.append(f"{result.get('n', 0):,} rows: {result.get('error', 'not fitted')}")
        lines.append(f"    {name:<11} " + "; ".join(parts))
    return lines


def claims_frame(run_dir: Path) -> pd.DataFrame:
    return load_run(run_dir).proposals
