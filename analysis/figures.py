"""The report's figures as PNG bytes (matplotlib Figure objects drawn by Agg, without pyplot:
no display needed, no global state, safe in threads of a server or a CI job): mean claim by own x opponent level, claim by level difference with 95%
intervals, acceptance by offer, and the distribution of every rater's scores.
"""
from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from analysis.effects import means_by

INK = "#1f2933"
ACCENT = "#c0392b"
BLUE = "#2e6f9e"
STYLE = {"font.size": 10, "axes.edgecolor": "#9aa5b1", "axes.labelcolor": INK,
         "xtick.color": INK, "ytick.color": INK, "axes.spines.top": False,
         "axes.spines.right": False, "figure.dpi": 100}


def _subplots(*args: Any, figsize: tuple[float, float], **kwargs: Any) -> tuple[Figure, Any]:
    """A figure without pyplot (no global figure registry, no GUI backend, ~1 s less import)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*args, **kwargs)


def styled(draw: Callable[..., bytes]) -> Callable[..., bytes]:
    """Draw under the report's style without touching the caller's matplotlib settings."""
    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> bytes:
        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    return wrapper


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


@styled
def _empty(title: str, message: str) -> bytes:
    fig, ax = _subplots(figsize=(5.2, 3.6))
    ax.set_title(title, loc="left", color=INK)
    ax.text(0.5, 0.5, message, ha="center", va="center", color="#7b8794", transform=ax.transAxes)
    ax.set_axis_off()
    return _png(fig)


@styled
def claim_heatmap(claims: pd.DataFrame) -> bytes:
    """Mean claim in each own x opponent level cell (claims: columns y, own, opp)."""
    title = "Mean claim by own and opponent level"
    table = means_by(claims, ["own", "opp"])
    if table.empty:
        return _empty(title, "no proposals with both levels")
    grid = table.pivot(index="own", columns="opp", values="mean").sort_index(ascending=False)
    fig, ax = _subplots(figsize=(5.6, 4.6))
    image = ax.imshow(grid.to_numpy(dtype=float), cmap="RdYlBu_r", aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [str(int(c)) for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [str(int(i)) for i in grid.index])
    ax.set_xlabel("opponent's aggressiveness level")
    ax.set_ylabel("own aggressiveness level")
    ax.set_title(title, loc="left", color=INK)
    values = grid.to_numpy(dtype=float)
    if values.size <= 100:
        lo, hi = np.nanmin(values), np.nanmax(values)
        for (i, j), v in np.ndenumerate(values):
            if not math.isnan(v):
                light = hi - lo > 0 and abs((v - lo) / (hi - lo) - 0.5) > 0.3
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=8,
                        color="white" if light else INK)
    fig.colorbar(image, ax=ax, label="mean claim", shrink=0.85)
    ax.spines[:].set_visible(False)
    return _png(fig)


@styled
def claim_by_difference(claims: pd.DataFrame) -> bytes:
    """Mean claim with 95% intervals at each level difference own - opponent."""
    title = "Claim by level difference (own - opponent)"
    table = means_by(claims, ["diff"])
    if table.empty:
        return _empty(title, "no proposals with both levels")
    fig, ax = _subplots(figsize=(5.8, 3.8))
    x = table["diff"].to_numpy()
    y = table["mean"].to_numpy()
    err = np.vstack([y - table["ci_low"].to_numpy(), table["ci_high"].to_numpy() - y])
    ax.axvline(0, color="#cbd2d9", lw=1, zorder=0)
    ax.errorbar(x, y, yerr=np.nan_to_num(err), fmt="o-", color=ACCENT, ecolor="#e3a39b",
                capsize=3, lw=1.6, ms=5)
    ax.set_xticks(x)
    ax.set_xlabel("own level - opponent level (kick down ->)")
    ax.set_ylabel("mean claim (95% CI)")
    ax.set_title(title, loc="left", color=INK)
    ax.grid(axis="y", color="#eef1f4")
    return _png(fig)


@styled
def acceptance_by_offer(responses: pd.DataFrame, bin_width: float = 5.0) -> bytes:
    """Share of proposals accepted by what they offered the responder (responses: y, offer)."""
    title = "Acceptance by offer to the responder"
    data = responses.dropna(subset=["y", "offer"]) if "offer" in responses else responses[:0]
    if data.empty:
        return _empty(title, "no responses to proposals")
    data = data.assign(bin=(np.round(data["offer"] / bin_width) * bin_width))
    table = means_by(data.assign(bin=data["bin"].astype(int)), ["bin"])
    fig, ax = _subplots(figsize=(5.8, 3.8))
    x = table["bin"].to_numpy()
    y = table["mean"].to_numpy()
    low = np.clip(table["ci_low"].to_numpy(), 0, 1)
    high = np.clip(table["ci_high"].to_numpy(), 0, 1)
    ax.fill_between(x, np.nan_to_num(low, nan=y), np.nan_to_num(high, nan=y), color="#c6dbef",
                    step=None, alpha=0.8, lw=0)
    ax.plot(x, y, "o-", color=BLUE, ms=4, lw=1.6)
    sizes = table["n"].to_numpy()
    for xi, yi, ni in zip(x, y, sizes):
        if ni < 10:
            ax.plot(xi, yi, "o", mfc="white", mec=BLUE, ms=4)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("offer to the responder (pie - claim)")
    ax.set_ylabel("share accepted (95% CI)")
    ax.set_title(title, loc="left", color=INK)
    ax.grid(axis="y", color="#eef1f4")
    return _png(fig)


@styled
def rating_distributions(ratings: pd.DataFrame) -> bytes:
    """Histogram of every rater's aggressiveness scores (ratings: persona_id, rater, score)."""
    title = "Aggressiveness ratings by rater"
    data = ratings.dropna(subset=["score"]) if not ratings.empty else ratings
    if data.empty:
        return _empty(title, "no ratings in this run")
    raters = sorted(data["rater"].astype(str).unique())[:6]
    fig, axes = _subplots(1, len(raters), figsize=(max(5.8, 2.6 * len(raters) + 1.2), 3.8),
                             sharey=True, squeeze=False)
    low, high = float(data["score"].min()), float(data["score"].max())
    edges = (np.arange(math.floor(low) - 0.5, math.ceil(high) + 1.0, 1.0)
             if high - low <= 20 else np.linspace(low, high, 21))
    for ax, rater in zip(axes[0], raters):
        scores = data.loc[data["rater"].astype(str) == rater, "score"].astype(float)
        ax.hist(scores, bins=edges, color=BLUE, edgecolor="white")
        ax.set_title(f"{rater} (n={len(scores)})", fontsize=9, color=INK)
        ax.set_xlabel("score")
    axes[0][0].set_ylabel("personas")
    axes[0][0].yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title, x=0.02, ha="left", color=INK)
    fig.tight_layout()
    return _png(fig)
