"""Figures of what matches ended in (PNG bytes, drawn like analysis.figures): each seat's
concession curve, the distribution of agreed offers (prices in a bargain, claims in an
ultimatum), the deals against the game's frontier with its Nash and Kalai-Smorodinsky
points, and (games of more seats) each seat's share and the share by level gap. Titles say how many rows each draws and whose they are; axes carry seat and role."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.effects import mean_ci, means_by
from analysis.figures import ACCENT, BLUE, INK, _empty, _finish, _subplots, styled
from analysis.frontier import Frontier

SEAT_COLOURS = {"a": BLUE, "b": ACCENT, "c": "#3e8e5e", "d": "#8e6c3e", "e": "#6c3e8e",
                "f": "#3e7e8e", "g": "#8e3e6c", "h": "#5e5e5e"}
MAX_SCATTER = 4000  # distinct deals drawn (more: the commonest)
MIN_CURVE_N = 3  # a turn with fewer proposals is no point of a curve (its band is noise)


@styled
def concession_curves(curves: pd.DataFrame, labels: dict[str, str], scaled: bool) -> bytes:
    """Mean claim by turn for each seat, with 95% bands (curves: seat, turn, n, mean, ci_*)."""
    n = int(curves["n"].sum()) if len(curves) else 0
    thin = int(curves.loc[curves["n"] < MIN_CURVE_N, "n"].sum()) if len(curves) else 0
    title = f"Concession curves: each seat's demand by turn (n = {n - thin:,} proposals)"
    curves = curves[curves["n"] >= MIN_CURVE_N] if thin < n else curves
    if curves.empty:
        return _empty(title, "no proposals with a claim")
    fig, ax = _subplots(figsize=(5.8, 3.8))
    for seat, part in curves.groupby("seat"):
        x, y = part["turn"].to_numpy(), part["mean"].to_numpy()
        colour = SEAT_COLOURS.get(str(seat), INK)
        low, high = part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float)
        ax.fill_between(x, np.where(np.isnan(low), y, low), np.where(np.isnan(high), y, high),
                        color=colour, alpha=0.15, lw=0)  # one proposal at a turn: no band
        ax.plot(x, y, "o-", color=colour, ms=4, lw=1.6,
                label=labels.get(str(seat), f"seat {seat}"))
    if scaled:
        ax.axhline(0.5, color="#cbd2d9", lw=1, zorder=0)
    ax.set_xlabel("turn of the match" + (f" (turns with < {MIN_CURVE_N} proposals, {thin:,} "
                                           "in all, left out)" if thin and thin < n else ""))
    ax.set_ylabel("claim / what the seat could claim" if scaled else "claim")
    ax.legend(frameon=False, fontsize=8.5)
    return _finish(fig, ax, title)


@styled
def agreed_offers(values: pd.Series, what: str, units: str) -> bytes:
    """Histogram of the offers that were accepted."""
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    title = f"Agreed {what}s (n = {len(v):,} accepted offers)"
    if not len(v):
        return _empty(title, "no accepted offer")
    fig, ax = _subplots(figsize=(5.8, 3.8))
    distinct = np.unique(v)
    if len(distinct) <= 30:
        counts = np.array([(v == d).sum() for d in distinct])
        width = 0.8 * (float(np.min(np.diff(distinct))) if len(distinct) > 1 else 1.0)
        ax.bar(distinct, counts, width=width, color=BLUE)
    else:
        ax.hist(v, bins=30, color=BLUE, edgecolor="white")
    ax.axvline(float(np.median(v)), color=ACCENT, lw=1.4, ls="--",
               label=f"median {np.median(v):g}")
    ax.set_xlabel(f"agreed {what} ({units})")
    ax.set_ylabel("accepted offers")
    ax.legend(frameon=False, fontsize=8.5)
    return _finish(fig, ax, title)


@styled
def deals_against_frontier(outcomes: pd.DataFrame, front: Frontier, points: Any,
                           labels: dict[str, str], units: str) -> bytes:
    """Every match's payoffs (a against b; marker area by how many ended there) with the
    feasible deals, the Pareto frontier, and the Nash and Kalai-Smorodinsky points."""
    data = outcomes.dropna(subset=["payoff_a", "payoff_b"])
    title = f"Outcomes against the Pareto frontier (n = {len(data):,} matches)"
    if data.empty:
        return _empty(title, "no finished matches")
    fig, ax = _subplots(figsize=(5.8, 4.4))
    pts = np.asarray(points, float)
    if not front.convex and len(pts) <= 5000:
        ax.scatter(pts[:, 0], pts[:, 1], s=12, color="#cbd2d9", zorder=1,
                   label="possible deals")
    v = front.vertices
    ax.plot(v[:, 0], v[:, 1], "-" if front.convex else "--", color=INK, lw=1.2, zorder=2,
            label="Pareto frontier")
    counts = data.groupby(["payoff_a", "payoff_b"]).size().sort_values(ascending=False)
    counts = counts.iloc[:MAX_SCATTER]
    xy = np.array(counts.index.tolist(), dtype=float)
    size = 14 + 180 * np.sqrt(counts.to_numpy() / counts.max())
    ax.scatter(xy[:, 0], xy[:, 1], s=size, color=BLUE, alpha=0.45, lw=0, zorder=3,
               label="outcomes (area: matches)")
    if front.nash is not None:
        ax.scatter(*front.nash, marker="*", s=190, color=ACCENT, zorder=4,
                   label=f"Nash ({front.nash[0]:g}, {front.nash[1]:g})")
    if front.ks is not None:
        ax.scatter(*front.ks, marker="D", s=60, facecolor="none", edgecolor=INK, zorder=5,
                   label=f"Kalai-Smorodinsky ({front.ks[0]:.3g}, {front.ks[1]:.3g})")
    ax.set_xlabel(f"{labels.get('a', 'seat a')} payoff ({units})")
    ax.set_ylabel(f"{labels.get('b', 'seat b')} payoff ({units})")
    ax.legend(frameon=False, fontsize=8, loc="best")
    return _finish(fig, ax, title, grid="both")


@styled
def seat_shares(seats: pd.DataFrame, labels: dict[str, str]) -> bytes:
    """Games of any seat count: each seat's mean share of what it could win, with 95%
    intervals and an equal split drawn dashed. seats: the seats frame's finished rows."""
    data = seats.dropna(subset=["share"])
    title = f"Share of what each seat could win (n = {len(data):,} seats)"
    if data.empty:
        return _empty(title, "no finished match with a share")
    fig, ax = _subplots(figsize=(5.8, 3.8))
    table = _seat_means(data)
    x = np.arange(len(table))
    y = table["mean"].to_numpy(float)
    err = np.vstack([y - table["ci_low"].to_numpy(float), table["ci_high"].to_numpy(float) - y])
    ax.bar(x, y, color=[SEAT_COLOURS.get(str(s), "#7b8794") for s in table["seat"]], width=0.6)
    ax.errorbar(x, y, yerr=np.nan_to_num(err), fmt="none", ecolor=INK, capsize=4, lw=1.2)
    names = [labels.get(str(s), f"seat {s}").replace(" (", "\n(") for s in table["seat"]]
    ax.set_xticks(x, [f"{name}\nn = {n:,}" for name, n in zip(names, table["n"])],
                  fontsize=8.5)
    if len(table) > 1:
        ax.axhline(1.0 / len(table), color="#7b8794", lw=1, ls="--", zorder=0)
        title += f"; dashed: an equal split, 1/{len(table)}"
    ax.set_ylabel("mean share (95% CI)")
    return _finish(fig, ax, title)


@styled
def share_by_gap(seats: pd.DataFrame) -> bytes:
    """Every persona seat's share by its level gap (own level minus the others' mean,
    rounded: the gap the groups design spreads), with 95% intervals."""
    data = seats.dropna(subset=["share", "level_gap"])
    title = f"Share by level gap (n = {len(data):,} persona seats)"
    if data["level_gap"].nunique() < 2:
        return _empty(title, "no variation in the level gap")
    fig, ax = _subplots(figsize=(5.8, 3.8))
    table = means_by(data.rename(columns={"share": "y"}), ["level_gap"])
    x, y = table["level_gap"].to_numpy(), table["mean"].to_numpy(float)
    err = np.vstack([y - table["ci_low"].to_numpy(float), table["ci_high"].to_numpy(float) - y])
    ax.axvline(0, color="#cbd2d9", lw=1, zorder=0)
    ax.errorbar(x, y, yerr=np.nan_to_num(err), fmt="o-", color=ACCENT, ecolor="#e3a39b",
                capsize=3, lw=1.6, ms=5)
    ax.set_xticks(x)
    ax.set_xlabel("own level - the others' mean level (rounded; kick down ->)")
    ax.set_ylabel("mean share of what it could win (95% CI)")
    return _finish(fig, ax, title)


def _seat_means(data: pd.DataFrame) -> pd.DataFrame:
    rows = [{"seat": seat, **mean_ci(rows["share"])}
            for seat, rows in data.groupby("seat", sort=True)]
    return pd.DataFrame(rows)
