"""The report's figures as PNG bytes (matplotlib Figure objects drawn by Agg, without pyplot:
no display needed, no global state, safe in threads of a server or a CI job): mean claim by own
level (a self-only run's result), by own x opponent level and by level difference with 95%
intervals, acceptance by offer, and the distribution of every rater's scores. Axis labels carry
the run's units; each title says how many rows it draws on and whose they are.
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
BAND_FROM = 4  # fewer offer bins than this are drawn as points with intervals, not a band
OFFER_BINS = 20  # acceptance bins across the stake


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


def _finish(fig: Figure, ax: Any, title: str, grid: str = "y") -> bytes:
    """The house ending of a one-panel figure: its title on the left, a light grid, the PNG."""
    ax.set_title(title, loc="left", color=INK, fontsize=9.5)
    ax.grid(axis=grid, color="#eef1f4")
    return _png(fig)


@styled
def _empty(title: str, message: str) -> bytes:
    fig, ax = _subplots(figsize=(5.2, 3.6))
    ax.set_title(title, loc="left", color=INK)
    ax.text(0.5, 0.5, message, ha="center", va="center", color="#7b8794", transform=ax.transAxes)
    ax.set_axis_off()
    return _png(fig)


def _text_colour(rgba: tuple[float, ...]) -> str:
    """White on dark cells, ink on light ones (relative luminance of the cell's colour)."""
    r, g, b = rgba[:3]
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5 else INK


def cell_labels(values: np.ndarray) -> list[str]:
    """Cell texts that differ where the values do: one decimal when the cells span less than
    10 units (60.2 and 60.4 would both read "60"), none otherwise."""
    finite = values[np.isfinite(values)]
    spread = float(np.ptp(finite)) if finite.size else 0.0
    digits = 0 if spread >= 10 else 1
    return [f"{v:.{digits}f}" if math.isfinite(v) else "" for v in values.ravel()]


@styled
def claim_heatmap(claims: pd.DataFrame, claim_label: str = "claim",
                  others: bool = False) -> bytes:
    """Mean claim in each own x opponent level cell (claims: columns y, own, opp); `others`:
    a game of more seats, where `opp` is the others' mean level (rounded to a whole level)."""
    who = "the others' mean" if others else "opponent"
    title = f"Mean claim by own and {who} level (n = {len(claims):,} proposals)"
    table = means_by(claims, ["own", "opp"])
    if table.empty:
        return _empty(title, "no proposals with both levels")
    grid = table.pivot(index="own", columns="opp", values="mean").sort_index(ascending=False)
    values = grid.to_numpy(dtype=float)
    fig, ax = _subplots(figsize=(5.6, 4.6))
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if hi - lo < 1e-9:  # one colour for all: centre it, so the labels stay readable
        lo, hi = lo - 1, hi + 1
    image = ax.imshow(values, cmap="RdYlBu_r", aspect="auto", vmin=lo, vmax=hi)
    ax.set_xticks(range(grid.shape[1]), [str(int(c)) for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [str(int(i)) for i in grid.index])
    ax.set_xlabel("the others' mean aggressiveness level (rounded)" if others else
                  "opponent's aggressiveness level")
    ax.set_ylabel("own aggressiveness level")
    ax.set_title(title, loc="left", color=INK, fontsize=9.5)
    if values.size <= 100:
        labels = cell_labels(values)
        for (i, j), v in np.ndenumerate(values):
            if math.isfinite(v):
                ax.text(j, i, labels[i * values.shape[1] + j], ha="center", va="center",
                        fontsize=8, color=_text_colour(image.cmap(image.norm(v))))
    fig.colorbar(image, ax=ax, label=f"mean {claim_label}", shrink=0.85)
    ax.spines[:].set_visible(False)
    return _png(fig)


def _means_plot(table: pd.DataFrame, key: str, title: str, xlabel: str, ylabel: str,
                zero_line: bool) -> bytes:
    fig, ax = _subplots(figsize=(5.8, 3.8))
    x = table[key].to_numpy()
    y = table["mean"].to_numpy()
    err = np.vstack([y - table["ci_low"].to_numpy(), table["ci_high"].to_numpy() - y])
    if zero_line:
        ax.axvline(0, color="#cbd2d9", lw=1, zorder=0)
    ax.errorbar(x, y, yerr=np.nan_to_num(err), fmt="o-", color=ACCENT, ecolor="#e3a39b",
                capsize=3, lw=1.6, ms=5)
    ax.set_xticks(x)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _finish(fig, ax, title)


@styled
def claim_by_difference(claims: pd.DataFrame, claim_label: str = "claim",
                        others: bool = False) -> bytes:
    """Mean claim with 95% intervals at each level difference own - opponent (`others`: own
    - the others' mean, rounded)."""
    who = "the others' mean" if others else "opponent"
    title = f"Claim by level difference (own - {who}; n = {len(claims):,} proposals)"
    table = means_by(claims, ["diff"])
    if table.empty:
        return _empty(title, "no proposals with both levels")
    xlabel = ("own level - the others' mean level (rounded; kick down ->)" if others else
              "own level - opponent level (kick down ->)")
    return _means_plot(table, "diff", title, xlabel,
                       f"mean {claim_label} (95% CI)", zero_line=True)


@styled
def claim_by_own(claims: pd.DataFrame, claim_label: str = "claim") -> bytes:
    """Mean claim with 95% intervals at each of the player's own levels (the result of a
    self-only run, where only the own image is shown)."""
    title = f"Claim by own aggressiveness level (n = {len(claims):,} proposals)"
    table = means_by(claims, ["own"])
    if table.empty:
        return _empty(title, "no proposals by personas with a level")
    return _means_plot(table, "own", title, "own aggressiveness level",
                       f"mean {claim_label} (95% CI)", zero_line=False)


def acceptance_bins(responses: pd.DataFrame, stake: float | None) -> pd.DataFrame:
    """Share accepted (with 95% intervals) in offer bins a twentieth of the stake wide."""
    data = responses.dropna(subset=["y", "offer"])
    span = stake if stake and stake > 0 else float(np.ptp(data["offer"])) or 1.0
    width = span / OFFER_BINS
    bins = np.round(data["offer"].to_numpy(dtype=float) / width) * width
    return means_by(data.assign(bin=np.round(bins, 9)), ["bin"], integer_keys=False)


def draws_band(table: pd.DataFrame) -> bool:
    """A band and line only through enough bins to suggest a curve; else points."""
    return len(table) >= BAND_FROM


@styled
def acceptance_by_offer(responses: pd.DataFrame, stake: float | None = None,
                        offer_label: str = "offer to the responder") -> bytes:
    """Share of proposals accepted by what they offered the responder (responses: y, offer),
    in bins of a twentieth of the stake. A few distinct offers (a scripted confederate's two)
    are points with 95% intervals: a band between two points would invent the ones between."""
    title = f"Acceptance by offer (n = {len(responses):,} responses by personas)"
    data = responses.dropna(subset=["y", "offer"]) if "offer" in responses else responses[:0]
    if data.empty:
        return _empty(title, "no responses with a known offer"
                      + ("" if stake is not None else " (the run's scenario is not recorded)"))
    table = acceptance_bins(data, stake)
    fig, ax = _subplots(figsize=(5.8, 3.8))
    x = table["bin"].to_numpy(dtype=float)
    y = table["mean"].to_numpy()
    low = np.clip(table["ci_low"].to_numpy(), 0, 1)
    high = np.clip(table["ci_high"].to_numpy(), 0, 1)
    if draws_band(table):
        ax.fill_between(x, np.nan_to_num(low, nan=y), np.nan_to_num(high, nan=y),
                        color="#c6dbef", alpha=0.8, lw=0)
        ax.plot(x, y, "o-", color=BLUE, ms=4, lw=1.6)
    else:
        err = np.vstack([y - np.nan_to_num(low, nan=y), np.nan_to_num(high, nan=y) - y])
        ax.errorbar(x, y, yerr=err, fmt="o", color=BLUE, ecolor="#9ecae1", capsize=4, ms=6)
        ax.set_xticks(x)
        ax.margins(x=0.25)
    for xi, yi, ni in zip(x, y, table["n"].to_numpy()):
        if ni < 10:
            ax.plot(xi, yi, "o", mfc="white", mec=BLUE, ms=4)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(offer_label)
    ax.set_ylabel("share accepted (95% CI)")
    return _finish(fig, ax, title)


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
