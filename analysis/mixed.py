"""A linear mixed model with a random intercept per persona (REML), fitted exactly and fast.

`y = X b + u_persona + e`, `u ~ N(0, s_u^2)`, `e ~ N(0, s^2)`. With the variance ratio
`g = s_u^2 / s^2` fixed, b and s^2 have closed forms, so the REML likelihood profiles down to
one dimension, and every evaluation needs only per-persona sums (O(personas x terms^2), not
O(rows)): a grid over g and a golden-section search find the maximum in milliseconds, where
statsmodels' MixedLM spends seconds in a general optimiser (and flags a converged fit it could
not invert). The numbers are statsmodels' (REML, z intervals from (X' V^-1 X)^-1); the test
suite checks the agreement to 3 decimals.

A persona variance at ~0 is a singular (boundary) fit: flagged, its effects never called
significant. The fixed effects there are those of OLS with independent errors.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.distributions import z_quantile, z_two_sided_p
from analysis.fit_status import (DEGENERATE, NOT_CONVERGED, OK, SINGULAR, SINGULAR_RATIO,
                                 TOO_FEW, captured_warnings, data_verdict, exact_fit, finish)
from analysis.ols import design

GRID = np.concatenate([[0.0], np.logspace(-8, 4, 61)])  # variance ratios tried first
RATIO_TOL = 1e-9  # the search's tolerance on log(g)


@dataclass(frozen=True)
class RandomInterceptFit:
    """The REML estimates: fixed effects, their covariance, the two variances, and the
    maximised restricted log-likelihood (up to a constant)."""

    coef: np.ndarray
    cov: np.ndarray
    var_persona: float
    var_resid: float
    ratio: float
    loglik: float
    converged: bool


class _Profile:
    """The profiled REML criterion as a function of the variance ratio g, from sufficient
    statistics per persona."""

    def __init__(self, y: np.ndarray, X: np.ndarray, codes: np.ndarray) -> None:
        self.n, self.p = X.shape
        groups = int(codes.max()) + 1
        self.sizes = np.bincount(codes, minlength=groups).astype(float)
        self.sx = np.stack([np.bincount(codes, weights=X[:, j], minlength=groups)
                            for j in range(self.p)], axis=1)
        self.sy = np.bincount(codes, weights=y, minlength=groups)
        self.xtx = X.T @ X
        self.xty = X.T @ y
        self.yty = float(y @ y)

    def solve(self, g: float) -> tuple[np.ndarray, np.ndarray, float, float]:
        """(b, A^-1, r' H^-1 r, log det A) at ratio g, where H = I + g Z Z' per persona and
        A = X' H^-1 X."""
        w = g / (1.0 + self.sizes * g)
        A = self.xtx - (self.sx.T * w) @ self.sx
        rhs = self.xty - self.sx.T @ (w * self.sy)
        chol = np.linalg.cholesky(A)
        inv = np.linalg.inv(chol)
        a_inv = inv.T @ inv
        b = a_inv @ rhs
        quad = self.yty - float((w * self.sy) @ self.sy) - float(rhs @ b)
        return b, a_inv, max(quad, 0.0), 2.0 * float(np.log(np.diag(chol)).sum())

    def criterion(self, g: float) -> float:
        """-2 x the profiled restricted log-likelihood, without its constant."""
        _, _, quad, logdet = self.solve(g)
        dof = self.n - self.p
        if quad <= 0:
            return -math.inf
        return dof * math.log(quad / dof) + float(np.log1p(self.sizes * g).sum()) + logdet


def _golden(f: Any, lo: float, hi: float, tol: float) -> tuple[float, float]:
    """Golden-section search for the minimum of a unimodal `f` on [lo, hi]: (x, f(x))."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return (c, fc) if fc <= fd else (d, fd)


def fit_random_intercept(y: np.ndarray, X: np.ndarray, codes: np.ndarray) -> RandomInterceptFit:
    """REML fit of `y ~ X + (1 | codes)`; raises numpy's LinAlgError for collinear X."""
    profile = _Profile(y, X, codes)
    values = np.array([profile.criterion(g) for g in GRID])
    best = int(np.argmin(values))
    g, value, converged = float(GRID[best]), float(values[best]), True
    if best > 0:  # refine between the neighbours on log(g); the boundary g = 0 needs none
        lo = math.log(GRID[max(best - 1, 1)])
        hi = math.log(GRID[min(best + 1, len(GRID) - 1)])
        t, found = _golden(lambda t: profile.criterion(math.exp(t)), lo, hi, RATIO_TOL)
        converged = math.isfinite(found)
        if found <= value:
            g, value = math.exp(t), found
        if best == len(GRID) - 1:
            converged = False  # the ratio ran off the grid's top: persona effects only
        elif profile.criterion(0.0) <= value:
            g, value = 0.0, profile.criterion(0.0)
    b, a_inv, quad, _ = profile.solve(g)
    scale = quad / (profile.n - profile.p)
    return RandomInterceptFit(b, scale * a_inv, g * scale, scale, g, -0.5 * value, converged)


def mixed_model(frame: pd.DataFrame, y: str, terms: list[str], groups: str) -> dict[str, Any]:
    """`y ~ terms + (1 | groups)` by REML: 95% intervals, the persona and residual standard
    deviations, and `status`."""
    yv, X, codes, _ = design(frame, y, terms, groups)
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
            fit = fit_random_intercept(yv, X, codes)
        except np.linalg.LinAlgError as error:
            return finish(out, DEGENERATE, f"the fit failed ({error})")
        se = np.sqrt(np.clip(np.diag(fit.cov), 0, None))
        z = z_quantile(0.975)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = z_two_sided_p(fit.coef / se)
    keys = ["intercept", *terms]
    out.update({
        "converged": fit.converged, "sd_persona": math.sqrt(fit.var_persona),
        "sd_resid": math.sqrt(fit.var_resid), "loglik_reml": fit.loglik,
        "coef": {k: float(v) for k, v in zip(keys, fit.coef)},
        "se": {k: float(v) for k, v in zip(keys, se)},
        "ci": {k: [float(c - z * s), float(c + z * s)] for k, c, s in zip(keys, fit.coef, se)},
        "p": {k: float(v) for k, v in zip(keys, p)}})
    if not fit.converged:
        return finish(out, NOT_CONVERGED, "the persona variance ratio has no finite maximum")
    if exact_fit(yv - X @ fit.coef, yv):
        return finish(out, DEGENERATE, "the outcome is an exact function of the predictors")
    if fit.ratio == 0 or math.sqrt(fit.ratio) < SINGULAR_RATIO:
        return finish(out, SINGULAR, "persona variance ~0 (boundary fit): persona intercepts "
                                     "cannot be told from noise; the effects are OLS's with "
                                     "independent errors")
    return finish(out, OK)
