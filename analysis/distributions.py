"""The few t and normal quantities the models need, from scipy.special: scipy.stats costs more
than half a second to import, longer than the fits themselves."""
from __future__ import annotations

import numpy as np
from scipy import special


def t_quantile(q: float, df: float) -> float:
    return float(special.stdtrit(df, q))


def t_two_sided_p(t: np.ndarray, df: float) -> np.ndarray:
    """P(|T| >= |t|) for T ~ t(df); NaN where t is NaN."""
    return 2.0 * special.stdtr(df, -np.abs(t))


def z_quantile(q: float) -> float:
    return float(special.ndtri(q))


def z_two_sided_p(z: np.ndarray) -> np.ndarray:
    return 2.0 * special.ndtr(-np.abs(z))
