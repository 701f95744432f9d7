"""Verdicts on a model fit, so a result a reader would misread is named for what it is.

A fit is `ok`, `singular` (a random-effect variance at its boundary of ~0: persona intercepts
cannot be told from noise, the curvature there is flat and statsmodels' intervals blow up),
`degenerate` (nothing to estimate: a constant outcome, a predictor without variation, collinear
predictors, an outcome that is an exact function of the predictors, a standard error of zero),
`not converged` (the optimiser stopped before the maximum) or `too few data`. Only an `ok` fit
can call an effect significant; a degenerate or unconverged fit carries no interval or p-value,
because any number there would be an artefact. Warnings raised while fitting are kept in the
result (`warnings`), never printed.
"""
from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

OK = "ok"
SINGULAR = "singular"
DEGENERATE = "degenerate"
NOT_CONVERGED = "not converged"
TOO_FEW = "too few data"
STATUSES = (OK, SINGULAR, DEGENERATE, NOT_CONVERGED, TOO_FEW)

SINGULAR_RATIO = 1e-3  # persona SD / residual SD below this: the variance sits at its boundary
EXACT_FIT = 1e-10  # residual / total sum of squares below this: an exact function
ZERO_SE = 1e-9  # a standard error below this x the outcome's scale is zero in all but rounding
ALPHA = 0.05
MAX_WARNINGS = 5


@contextlib.contextmanager
def captured_warnings(into: list[str]) -> Iterator[None]:
    """Collect every warning raised inside (category: message, each once) into `into`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="ignore"):
            yield
    for item in caught:
        text = f"{item.category.__name__}: {str(item.message).strip().splitlines()[0][:160]}"
        if text not in into and len(into) < MAX_WARNINGS:
            into.append(text)


def data_verdict(y: np.ndarray, X: np.ndarray, names: list[str],
                 groups: np.ndarray | None = None) -> tuple[str, str] | None:
    """(status, reason) when the data leave nothing to estimate, else None. X holds the
    intercept column first, then one column per term in `names`; `groups` (integer codes)
    adds the check that personas differ at all (a deterministic agent's outcomes do not)."""
    if len(y) <= X.shape[1]:
        return TOO_FEW, f"{len(y)} rows for {X.shape[1]} coefficients"
    if np.ptp(y) == 0:
        return DEGENERATE, f"no variation in the outcome (every value is {y[0]:g})"
    for j, name in enumerate(names, start=1):
        if np.ptp(X[:, j]) == 0:
            return DEGENERATE, f"no variation in {name}"
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return DEGENERATE, f"the predictors ({', '.join(names)}) are collinear"
    if groups is not None and len(groups):
        sums = np.bincount(groups, weights=y)
        means = sums / np.maximum(np.bincount(groups), 1)
        if np.ptp(means) <= EXACT_FIT * max(float(np.std(y)), 1e-300):
            return DEGENERATE, ("every persona has the same mean outcome (a deterministic "
                                "player?): nothing varies between personas")
    return None


def exact_fit(resid: np.ndarray, y: np.ndarray) -> bool:
    """True when the residuals vanish: the outcome is an exact function of the predictors."""
    total = float(((y - y.mean()) ** 2).sum())
    return total > 0 and float((resid ** 2).sum()) <= EXACT_FIT * total


def zero_se(se: dict[str, float], scale: float) -> list[str]:
    """Terms whose standard error is zero (or not a number) for an outcome of this scale."""
    floor = ZERO_SE * max(scale, 1e-300)
    return [t for t, s in se.items() if not (isinstance(s, float) and math.isfinite(s))
            or s <= floor]


def finish(result: dict[str, Any], status: str, reason: str = "",
           strip: bool = False) -> dict[str, Any]:
    """Set the verdict; strip intervals and p-values a non-ok fit cannot back (`strip` also
    for a singular fit whose curvature is unusable), and mark which terms are significant
    (only in an `ok` fit, never the intercept)."""
    result["status"] = status
    if reason:
        result["status_reason"] = reason
    result.setdefault("warnings", [])
    if (strip or status in (DEGENERATE, NOT_CONVERGED, TOO_FEW)) and "coef" in result:
        for key in ("se", "ci", "p"):
            result[key] = {t: (None if key != "ci" else [None, None]) for t in result["coef"]}
    p = result.get("p", {})
    result["significant"] = {t: bool(status == OK and t != "intercept" and v is not None
                                     and v < ALPHA) for t, v in p.items()}
    return result


def describe(fit: dict[str, Any]) -> str:
    """`status` and, when it is not ok, why: one phrase for text output."""
    status = fit.get("status", OK if "coef" in fit else TOO_FEW)
    reason = fit.get("status_reason") or fit.get("error") or ""
    return status if status == OK or not reason else f"{status}: {reason}"
