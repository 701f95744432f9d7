"""Rater agreement on persona aggressiveness: do two raters (an LLM and people, two LLMs, a
rater and the design's levels) order and score the avatars alike?

From the store's `ratings` table (persona_id, rater, score): for every pair of raters, on the
personas both rated, Spearman's rho (same order?), Krippendorff's alpha at the ordinal and
interval level (agreement beyond chance, the standard for content coding), and the intraclass
correlations ICC(2,1) (absolute agreement, raters random) and ICC(3,1) (consistency, raters
fixed) of Shrout & Fleiss (1979).
"""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd


def rating_matrix(ratings: pd.DataFrame) -> pd.DataFrame:
    """persona_id x rater scores (NaN where a rater did not score a persona)."""
    if ratings.empty:
        return pd.DataFrame()
    data = ratings.dropna(subset=["score"])
    return data.pivot_table(index="persona_id", columns="rater", values="score", aggfunc="mean")


def icc(scores: np.ndarray) -> dict[str, float]:
    """ICC(1,1), ICC(2,1) and ICC(3,1) of an n subjects x k raters matrix without gaps."""
    x = np.asarray(scores, dtype=float)
    n, k = x.shape
    nan = {"icc1": math.nan, "icc2_1": math.nan, "icc3_1": math.nan}
    if n < 2 or k < 2:
        return nan
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_total = ((x - grand) ** 2).sum()
    ss_err = ss_total - ss_rows - ss_cols
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    msw = (ss_cols + ss_err) / (n * (k - 1))

    def ratio(num: float, den: float) -> float:
        return float(num / den) if den > 0 else math.nan

    return {"icc1": ratio(msr - msw, msr + (k - 1) * msw),
            "icc2_1": ratio(msr - mse, msr + (k - 1) * mse + k * (msc - mse) / n),
            "icc3_1": ratio(msr - mse, msr + (k - 1) * mse)}


def kripp_alpha(scores: np.ndarray, level: str) -> float:
    """Krippendorff's alpha of an n subjects x k raters matrix (NaN marks a missing score)."""
    import krippendorff

    data = np.asarray(scores, dtype=float).T  # raters x units
    if np.unique(data[~np.isnan(data)]).size < 2:
        return math.nan  # a single value: alpha is undefined
    try:
        return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
    except (ValueError, ZeroDivisionError):
        return math.nan


def pair_agreement(a: pd.Series, b: pd.Series) -> dict[str, Any]:
    """Every agreement statistic for two raters on the personas both scored."""
    both = pd.concat([a, b], axis=1).dropna()
    n = int(len(both))
    out: dict[str, Any] = {"n": n}
    if n < 3:
        return {**out, "spearman": math.nan, "alpha_ordinal": math.nan,
                "alpha_interval": math.nan, "icc2_1": math.nan, "icc3_1": math.nan}
    x = both.to_numpy(dtype=float)
    if np.ptp(x[:, 0]) == 0 or np.ptp(x[:, 1]) == 0:
        rho = math.nan  # a constant rater has no order
    else:
        from scipy import stats

        rho = float(stats.spearmanr(x[:, 0], x[:, 1]).statistic)
    coefficients = icc(x)
    return {**out, "spearman": rho, "alpha_ordinal": kripp_alpha(x, "ordinal"),
            "alpha_interval": kripp_alpha(x, "interval"), "icc2_1": coefficients["icc2_1"],
            "icc3_1": coefficients["icc3_1"]}


def rater_agreement(ratings: pd.DataFrame) -> dict[str, Any]:
    """Agreement between every pair of raters, and alpha over all raters together."""
    matrix = rating_matrix(ratings)
    raters = [str(r) for r in matrix.columns]
    pairs = []
    for r1, r2 in itertools.combinations(raters, 2):
        pairs.append({"rater_a": r1, "rater_b": r2, **pair_agreement(matrix[r1], matrix[r2])})
    overall: dict[str, Any] = {"raters": raters, "personas": int(len(matrix))}
    if len(raters) >= 2:
        x = matrix.to_numpy(dtype=float)
        complete = x[~np.isnan(x).any(axis=1)]
        overall.update({"alpha_ordinal": kripp_alpha(x, "ordinal"),
                        "alpha_interval": kripp_alpha(x, "interval"),
                        "complete_personas": int(len(complete)), **icc(complete)})
    return {"pairs": pairs, "overall": overall}
