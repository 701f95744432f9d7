"""OLS with standard errors clustered by persona, in numpy: the same numbers as statsmodels'
`OLS(...).fit(cov_type="cluster", use_t=True)` (small-sample factor G/(G-1) * (N-1)/(N-K), t
with G - 1 degrees of freedom), without its import or formula machinery, and with a verdict
(analysis.fit_status) on every fit.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.distributions import t_quantile, t_two_sided_p
from analysis.fit_status import (DEGENERATE, OK, TOO_FEW, captured_warnings, data_verdict,
                                 exact_fit, finish, zero_se)


def design(frame: pd.DataFrame, y: str, terms: list[str],
           groups: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DataFrame]:
    """(y, X with an intercept column, group codes, the rows used) after dropping gaps."""
    data = frame.dropna(subset=[y, *terms, groups])
    X = np.column_stack([np.ones(len(data))] + [data[t].to_numpy(dtype=float) for t in terms])
    codes = pd.factorize(data[groups])[0]
    return data[y].to_numpy(dtype=float), X.reshape(len(data), len(terms) + 1), codes, data


def _table(names: list[str], coef: np.ndarray, se: np.ndarray, low: np.ndarray,
           high: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    keys = ["intercept", *names]
    return {"coef": {k: float(v) for k, v in zip(keys, coef)},
            "se": {k: float(v) for k, v in zip(keys, se)},
            "ci": {k: [float(a), float(b)] for k, a, b in zip(keys, low, high)},
            "p": {k: float(v) for k, v in zip(keys, p)}}


def ols_clustered(frame: pd.DataFrame, y: str, terms: list[str], groups: str) -> dict[str, Any]:
    """OLS of `y` on `terms` with standard errors clustered by `groups` (95% t intervals with
    clusters - 1 df); `status` says whether the numbers can be read as an effect."""
    yv, X, codes, _ = design(frame, y, terms, groups)
    clusters = int(codes.max() + 1) if len(codes) else 0
    out: dict[str, Any] = {"n": int(len(yv)), "clusters": clusters,
                           "formula": f"{y} ~ {' + '.join(terms) or '1'}", "warnings": []}
    verdict = data_verdict(yv, X, terms, codes if clusters >= 2 else None)
    if verdict and verdict[0] == TOO_FEW:
        return finish(out, *verdict)
    n, k = X.shape
    with captured_warnings(out["warnings"]):
        xtx_inv = np.linalg.pinv(X.T @ X)
        coef = xtx_inv @ (X.T @ yv)
        resid = yv - X @ coef
        total = float(((yv - yv.mean()) ** 2).sum())
        out["r2"] = float(1 - (resid ** 2).sum() / total) if total > 0 else float("nan")
        if clusters >= 2:
            scores = np.zeros((clusters, k))
            np.add.at(scores, codes, X * resid[:, None])
            factor = clusters / (clusters - 1) * (n - 1) / (n - k)
            cov = factor * xtx_inv @ (scores.T @ scores) @ xtx_inv
            df = clusters - 1
            out["cov"] = "cluster"
        else:
            cov = xtx_inv * float((resid ** 2).sum() / (n - k))
            df = n - k
            out["cov"] = "nonrobust"
            out["warnings"].append("one persona only: standard errors are not clustered")
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
        crit = t_quantile(0.975, df)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = t_two_sided_p(coef / se, df)
    out.update(_table(terms, coef, se, coef - crit * se, coef + crit * se, p))
    if verdict:
        return finish(out, *verdict)
    if exact_fit(resid, yv):
        return finish(out, DEGENERATE, "the outcome is an exact function of the predictors "
                                       "(no residual variation)")
    zero = zero_se({t: out["se"][t] for t in terms}, float(np.std(yv)))
    if zero:
        return finish(out, DEGENERATE, f"zero standard error for {', '.join(zero)} (the "
                                       "outcome is the same for every persona)")
    return finish(out, OK)
