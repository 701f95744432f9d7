"""Anchoring by condition: how far the opening offer pulls the end result and the answer to it.

Per condition of the run's matches: `final`, the first mover's final share on its opening share
(analysis.outcomes.anchoring: over deals, clustered by persona), and `counter`, the second
mover's first claim (as a share of what it could claim) on the same opening, clustered by the
second mover's persona: its slope is the answer's own pull (0: the answer ignores the opening;
negative: a higher opening is met by a lower counter-claim, the anchor at work). Where the
opening was a design factor (a confederate opening with `design.factors.first_offer`), `levels`
gives each opening's matches, mean final share of the opener and mean counter-claim share.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.frames import RunFrames

FACTOR_MARK = "first_offer="  # in the agent label of a confederate opening with a factor level


def _counters(frames: RunFrames, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per match: the second mover's first claim and its share, and its persona."""
    from analysis.outcomes import _claim_scale, _proposals, run_frontier

    space, _ = run_frontier(frames)
    props = _proposals(frames).sort_values(["match_id", "turn_index"], kind="stable")
    first_seat = outcomes.set_index("match_id")["first_seat"]
    props = props[props["speaker"] != props["match_id"].map(first_seat)]
    first = props.drop_duplicates("match_id")
    share = first["claim"].to_numpy(dtype=float) / _claim_scale(space, first["speaker"])
    return pd.DataFrame({"match_id": first["match_id"].to_numpy(), "counter_share": share,
                         "counter_persona": first["proposer"].to_numpy()})


def counter_anchoring(data: pd.DataFrame) -> dict[str, Any]:
    from analysis.ols import ols_clustered

    d = data.dropna(subset=["counter_share", "first_claim_share"])
    if d.empty:
        return {"n": 0, "status": "too few data", "status_reason": "no answers to an opening"}
    frame = pd.DataFrame({"y": d["counter_share"].to_numpy(dtype=float),
                          "first_offer": d["first_claim_share"].to_numpy(dtype=float),
                          "persona": d["counter_persona"].fillna(d["match_id"]).astype(str)})
    fit = ols_clustered(frame, "y", ["first_offer"], "persona")
    out = {k: fit[k] for k in ("n", "clusters", "status", "status_reason") if k in fit}
    if "coef" in fit:
        out.update({"slope": fit["coef"]["first_offer"], "se": fit["se"]["first_offer"],
                    "ci": fit["ci"]["first_offer"], "p": fit["p"]["first_offer"],
                    "intercept": fit["coef"]["intercept"]})
    return out


def _levels(data: pd.DataFrame) -> dict[str, Any]:
    from analysis.outcomes import _mean_ci

    factor = data[data["agent_a"].astype(str).str.contains(FACTOR_MARK, regex=False)
                  | data["agent_b"].astype(str).str.contains(FACTOR_MARK, regex=False)]
    if factor.empty:
        return {}
    final = np.where(factor["first_seat"] == "a", factor["share_a"], factor["share_b"])
    factor = factor.assign(final_share=final)
    out = {}
    for level, group in factor.groupby("first_claim", sort=True):
        out[f"{level:g}"] = {"matches": int(len(group)),
                             "final_share": _mean_ci(group.loc[group["deal"] > 0,
                                                               "final_share"]),
                             "counter_share": _mean_ci(group["counter_share"])}
    return out


def by_condition(frames: RunFrames, outcomes: pd.DataFrame) -> dict[str, Any]:
    from analysis.outcomes import anchoring

    if outcomes.empty or "first_seat" not in outcomes:
        return {}
    condition = frames.matches.set_index("match_id")["condition"].astype(str)
    data = outcomes.merge(_counters(frames, outcomes), on="match_id", how="left")
    data["condition"] = data["match_id"].map(condition)
    result = {}
    for name, group in data.groupby("condition", sort=True):
        entry = {"final": anchoring(group), "counter": counter_anchoring(group)}
        levels = _levels(group)
        if levels:
            entry["levels"] = levels
        result[str(name)] = entry
    return result


def _slope(fit: dict[str, Any]) -> str:
    if fit.get("slope") is None:
        return f"{fit.get('status', 'not fitted')}"
    lo, hi = fit["ci"]
    ci = f" [{lo:+.3f}, {hi:+.3f}]" if lo is not None else ""
    return f"{fit['slope']:+.3f}{ci} ({fit['n']:,}, {fit['status']})"


def format_by_condition(result: dict[str, Any]) -> list[str]:
    lines = []
    for name, entry in result.items():
        lines.append(f"  anchoring in {name}: final share on opening {_slope(entry['final'])}; "
                     f"counter-claim on opening {_slope(entry['counter'])}")
        for level, cell in entry.get("levels", {}).items():
            final, counter = cell["final_share"]["mean"], cell["counter_share"]["mean"]
            lines.append(f"    opening {level:>6}: {cell['matches']:,} matches; opener's final "
                         f"share {'-' if final is None else f'{final:.3f}'}; counter-claim share "
                         f"{'-' if counter is None else f'{counter:.3f}'}")
    return lines
