"""A linear mixed model with a random intercept per persona (REML), with a verdict on the fit.

It separates lasting persona differences from round-to-round noise and gives their standard
deviations (which the surrogate needs). A persona variance at ~0 is a singular fit: flagged, and
its effects are never called significant.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from analysis.fit_status import (DEGENERATE, NOT_CONVERGED, OK, SINGULAR, SINGULAR_RATIO,
                                 TOO_FEW, captured_warnings, data_verdict, exact_fit, finish)
from analysis.ols import design


def mixed_model(frame: pd.DataFrame, y: str, terms: list[str], groups: str) -> dict[str, Any]:
    """`y ~ terms + (1 | groups)` by REML: 95% intervals, the persona and residual standard
    deviations, and `status`."""
    import statsmodels.formula.api as smf

    yv, X, codes, data = design(frame, y, terms, groups)
    clusters = int(codes.max() + 1) if len(codes) else 0
    formula = f"{y} ~ {' + '.join(terms)}" if terms else f"{y} ~ 1"
    out: dict[str, Any] = {"n": int(len(yv)), "groups": clusters, "formula": formula,
                           "warnings": []}
    if clusters < 2:
        return finish(out, TOO_FEW, f"{clusters} persona(s): a random intercept needs 2 or more")
    verdict = data_verdict(yv, X, terms, codes)
    if verdict:
        return finish(out, *verdict)
    with captured_warnings(out["warnings"]):
        try:
            fit = smf.mixedlm(formula, data, groups=data[groups]).fit(reml=True)
        except (ValueError, np.linalg.LinAlgError) as error:
            return finish(out, DEGENERATE, f"the fit failed ({error})")
        names = ["Intercept", *terms]
        ci = fit.conf_int().loc[names]
        keys = ["intercept", *terms]
        out.update({
            "converged": bool(fit.converged),
            "sd_persona": float(math.sqrt(max(float(fit.cov_re.iloc[0, 0]), 0.0))),
            "sd_resid": float(math.sqrt(fit.scale)),
            "coef": {k: float(fit.fe_params[n]) for k, n in zip(keys, names)},
            "se": {k: float(fit.bse_fe[n]) for k, n in zip(keys, names)},
            "ci": {k: [float(ci.loc[n, 0]), float(ci.loc[n, 1])] for k, n in zip(keys, names)},
            "p": {k: float(fit.pvalues[n]) for k, n in zip(keys, names)}})
        resid = yv - X @ np.array([out["coef"][k] for k in keys])
    if not out["converged"]:
        return finish(out, NOT_CONVERGED, "the REML optimiser did not converge")
    if exact_fit(resid, yv):
        return finish(out, DEGENERATE, "the outcome is an exact function of the predictors")
    ratio = out["sd_persona"] / out["sd_resid"] if out["sd_resid"] > 0 else 0.0
    if ratio < SINGULAR_RATIO or not all(math.isfinite(s) for s in out["se"].values()):
        return finish(out, SINGULAR, "persona variance ~0 (boundary fit): persona intercepts "
                                     "cannot be told from noise; see the OLS row", strip=True)
    return finish(out, OK)
