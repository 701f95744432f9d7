"""Replicate the paper's Study 2 regression from its released files, twice: on the paper's own
GPT-4o labels (must reproduce the published coefficients) and on the claims our offline
extractor reads from the same texts (shows whether our pipeline would reach the same result).

claim = b0 + b_own * own + b_opp * opp, OLS over all 4 rounds of all 5 repetitions, claims in
0..100, standard errors clustered by proposer image (the reference README's specification).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.effects import means_by, ols_clustered
from analysis.paper import (ACCEPTANCE_KINDS, CLAIM_KINDS, PIE, canonical_model,
                            classify_acceptance, classify_claim, read_study2)
from analysis.coverage import acceptance_coverage, claim_coverage, coverage, format_coverage
from analysis.readings import acceptance_readings, claim_readings
from scenarios.reading import THRESHOLD

#: the reference README's figures (the paper's released data, its own labels)
REFERENCE: dict[str, dict[str, Any]] = {
    "gpt-4o": {"n": 24499, "coef": {"intercept": 56.30, "own": 1.617, "opp": -0.614},
               "se": {"intercept": 0.674, "own": 0.160, "opp": 0.047},
               "mean_claim_by_diff": [51.8, 54.3, 56.2, 57.5, 57.8, 59.2, 60.6, 61.8, 62.5, 63.2,
                                      64.1, 65.3, 68.9]},
    "claude-3-haiku": {"n": 24500, "coef": {"intercept": 54.91, "own": 0.789, "opp": 0.030}},
}
TOLERANCE = 0.01


def claim_regression(frame: pd.DataFrame, claim: str) -> dict[str, Any]:
    """The paper's specification on column `claim` of a read_study2 frame."""
    data = frame[(frame[claim] >= 0) & (frame[claim] <= PIE)].copy()
    data["y"] = data[claim].astype(float)
    data["own"] = data["own"].astype(float)
    data["opp"] = data["opp"].astype(float)
    data["diff"] = data["own"] - data["opp"]
    fit = ols_clustered(data, "y", ["own", "opp"], "proposer_image")
    by_diff = means_by(data, ["diff"])
    fit["mean_claim_by_diff"] = {str(int(r["diff"])): float(r["mean"])
                                 for r in by_diff.to_dict("records")}
    fit["mean_claim_by_diff_ci"] = {str(int(r["diff"])): [float(r["ci_low"]), float(r["ci_high"])]
                                    for r in by_diff.to_dict("records")}
    return fit


def agreement(frame: pd.DataFrame) -> dict[str, Any]:
    """Share of texts where our reading equals the paper's label, with the same definitions and
    disagreement kinds as analysis.paper.extractor_agreement, from readings already made."""
    from analysis.paper import (extractor_agreement, is_reply_like_proposal,
                                is_reply_with_own_proposal)

    rows = []
    for ours, label, text in zip(frame["our_claim"], frame["paper_claim"],
                                 frame["proposal_text"].fillna("")):
        kind = classify_claim(None if ours != ours else ours, float(label), pie=PIE, text=text)
        if kind:
            rows.append(("claim", kind, is_reply_like_proposal(text)))
    for ours, label, text in zip(frame["our_accept"], frame["paper_accept"],
                                 frame["response_text"].fillna("")):
        kind = classify_acceptance(None if ours != ours else ours, float(label), text=text)
        if kind:
            rows.append(("acceptance", kind, is_reply_with_own_proposal(text)))
    found = pd.DataFrame.from_records(rows, columns=["measure", "kind", "ambiguous"])
    return extractor_agreement(frame, PIE, found=found)


def read_with_extractor(results_dir: Path, model: str, workers: int | None = None,
                        extractor: bool = True) -> pd.DataFrame:
    """read_study2's frame plus our extractor's readings: the best guesses (`our_claim`,
    `our_accept`) and the readings with evidence and confidence (`claim_reading`,
    `accept_reading`)."""
    frame = read_study2(results_dir, model)
    if not extractor:
        return frame
    claims = claim_readings(frame["proposal_text"].fillna("").tolist(), PIE, workers)
    accepts = acceptance_readings(frame["response_text"].fillna("").tolist(), workers)
    frame["our_claim"] = [math.nan if c.value is None else float(c.value) for c in claims]
    frame["our_accept"] = [a.value for a in accepts]
    frame["claim_reading"] = claims
    frame["accept_reading"] = accepts
    return frame


def extractor_coverage(frame: pd.DataFrame, threshold: float = THRESHOLD) -> dict[str, Any]:
    """Agreement on confident readings, abstention share and agreement with abstentions as
    errors, for claims and acceptances (see analysis.coverage), at `threshold`."""
    proposals = frame["proposal_text"].fillna("").tolist()
    responses = frame["response_text"].fillna("").tolist()
    return coverage(
        claim_coverage(frame["claim_reading"].tolist(), frame["paper_claim"].tolist(), proposals,
                       threshold=threshold),
        acceptance_coverage(frame["accept_reading"].tolist(), frame["paper_accept"].tolist(),
                            responses, threshold), threshold)


def replicate(results_dir: Path | str, model: str = "gpt-4o",
              frame: pd.DataFrame | None = None, workers: int | None = None,
              extractor: bool = True) -> dict[str, Any]:
    """Both fits and the extractor's agreement; `frame` (from read_with_extractor) saves a read.
    Without `extractor` only the paper's labels are fitted (reading ~25,000 texts takes a
    while), and the extractor's fields are None."""
    name = canonical_model(model)
    if frame is None:
        frame = read_with_extractor(Path(results_dir), name, workers, extractor)
    extractor = extractor and "our_claim" in frame.columns
    paper = claim_regression(frame, "paper_claim")
    result: dict[str, Any] = {
        "model": name, "results_dir": str(results_dir),
        "n": paper["n"], "clusters": paper["clusters"], "status": paper["status"],
        "coef": paper["coef"], "se": paper["se"], "ci": paper["ci"],
        "mean_claim_by_diff": paper["mean_claim_by_diff"],
        "mean_claim_by_diff_ci": paper["mean_claim_by_diff_ci"],
        "n_extractor": None, "coef_extractor": None, "se_extractor": None,
        "ci_extractor": None, "mean_claim_by_diff_extractor": None,
        "extractor_agreement": {"claim": None, "acceptance": None},
        "extractor_coverage": None,
    }
    if extractor:
        ours = claim_regression(frame, "our_claim")
        result.update({
            "n_extractor": ours["n"], "status_extractor": ours["status"],
            "coef_extractor": ours["coef"], "se_extractor": ours["se"],
            "ci_extractor": ours["ci"], "mean_claim_by_diff_extractor": ours["mean_claim_by_diff"],
            "extractor_agreement": agreement(frame)})
        if "claim_reading" in frame.columns:
            result["extractor_coverage"] = extractor_coverage(frame)
    reference = REFERENCE.get(name)
    if reference:
        gaps = {k: abs(paper["coef"][k] - v) for k, v in reference["coef"].items()}
        result["reference"] = reference
        result["matches_reference"] = bool(max(gaps.values()) <= TOLERANCE
                                           and paper["n"] == reference["n"])
    return result


def _se(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def format_replication(result: dict[str, Any]) -> str:
    """A few lines a person can read: both fits side by side, and the agreement."""
    agree = result["extractor_agreement"]
    ours = result["coef_extractor"] is not None
    lines = [f"Study 2, {result['model']}: claim ~ own + opp, OLS, SE clustered by proposer "
             f"image ({result['clusters']} images)",
             f"  {'':<12}{'paper labels':>22}" + (f"{'our extractor':>22}" if ours else "")]
    for term in ("intercept", "own", "opp"):
        lines.append(f"  {term:<12}{result['coef'][term]:>12.3f} ({_se(result['se'][term])})"
                     + (f"{result['coef_extractor'][term]:>14.3f} "
                        f"({_se(result['se_extractor'][term])})" if ours else ""))
    for key, label in (("status", "paper labels"), ("status_extractor", "our extractor")):
        if result.get(key) not in (None, "ok"):
            lines.append(f"  fit on {label}: {result[key]} (no standard errors)")
    lines.append(f"  {'n':<12}{result['n']:>22,}"
                 + (f"{result['n_extractor']:>22,}" if ours else ""))
    if "reference" in result:
        ref = result["reference"]["coef"]
        lines.append(f"  paper's figures: {ref['intercept']:.2f} + {ref['own']:.3f} own "
                     f"{ref['opp']:+.3f} opp -> "
                     + ("reproduced" if result["matches_reference"] else "NOT reproduced"))
    means = "  ".join(f"{k}: {v:.1f}" for k, v in result["mean_claim_by_diff"].items())
    lines.append(f"  mean claim by own - opp   {means}")
    if ours:
        lines.append(f"  extractor agreement with the paper's labels: claims {agree['claim']:.1%}, "
                     f"acceptances {agree['acceptance']:.1%} (n = {agree['n_claim']:,}; every "
                     "reading, sure or not)")
    if result.get("extractor_coverage"):
        lines.append("  with abstention (the reader's confidence):")
        lines.extend(format_coverage(result["extractor_coverage"], "    "))
    return "\n".join(lines)
