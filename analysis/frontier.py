"""The bargaining frontier of a two-seat game and where a deal stands against it.

From the payoff pairs a game declares (scenarios.state.OutcomeSpace) this computes the Pareto
frontier, the Nash bargaining solution (the deal maximising the product of gains over the
disagreement point), the Kalai-Smorodinsky point (gains proportional to each side's best
possible gain) and, for many deals at once (vectorised, a paper-size run has 50,000), whether
each is Pareto-optimal, its welfare, its Nash product and its distance to either point.

A convex space (a divisible pie, a price) is the convex hull of its points and the
disagreement point: its frontier is a polyline and Nash and KS are solved on its edges in
closed form. A discrete space (items) is its points: the frontier is the undominated points,
Nash the best of them, KS the point maximising the smaller of the two normalised gains (the
discrete analogue; ties to the larger welfare).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

TOL = 1e-9  # relative to the payoffs' scale


@dataclass(frozen=True)
class Frontier:
    """The frontier (vertices sorted by seat a's payoff, rising; b's falls), its disagreement
    point, the ideal point (each side's best payoff on the frontier that leaves the other at
    least its disagreement payoff) and the two solutions (None without a deal both prefer)."""

    vertices: np.ndarray  # (k, 2)
    convex: bool
    disagreement: np.ndarray  # (2,)
    ideal: np.ndarray | None
    nash: np.ndarray | None
    ks: np.ndarray | None
    max_welfare: float
    scale: float

    def as_dict(self) -> dict[str, Any]:
        point = lambda p: None if p is None else [float(p[0]), float(p[1])]  # noqa: E731
        return {"convex": self.convex, "vertices": [point(v) for v in self.vertices],
                "disagreement": point(self.disagreement), "ideal": point(self.ideal),
                "nash": point(self.nash), "kalai_smorodinsky": point(self.ks),
                "nash_product": (None if self.nash is None else
                                 float(np.prod(self.nash - self.disagreement))),
                "max_welfare": self.max_welfare}

    # -- many deals at once ---------------------------------------------------------------
    def pareto_optimal(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """True where no feasible deal gives one side more and the other no less."""
        a, b = np.asarray(a, float), np.asarray(b, float)
        tol = TOL * self.scale
        va, vb = self.vertices[:, 0], self.vertices[:, 1]
        if not self.convex:  # a feasible deal is undominated iff it is a frontier vertex
            i = np.clip(np.searchsorted(va, a - tol), 0, len(va) - 1)
            return (np.abs(va[i] - a) <= tol) & (np.abs(vb[i] - b) <= tol)
        inside = (a >= va[0] - tol) & (a <= va[-1] + tol)
        on_line = b >= np.interp(a, va, vb) - tol  # vb falls as va rises: interp on va
        return inside & on_line

    def welfare(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.asarray(a, float) + np.asarray(b, float)

    def nash_product(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(a - d_a)(b - d_b); NaN where a side gets less than its disagreement payoff."""
        ga = np.asarray(a, float) - self.disagreement[0]
        gb = np.asarray(b, float) - self.disagreement[1]
        return np.where((ga >= 0) & (gb >= 0), ga * gb, np.nan)

    def distance(self, a: np.ndarray, b: np.ndarray, point: np.ndarray | None) -> np.ndarray:
        """Euclidean distance in payoff units from each deal to `point` (NaN without one)."""
        if point is None:
            return np.full(np.shape(a), np.nan)
        return np.hypot(np.asarray(a, float) - point[0], np.asarray(b, float) - point[1])


def _undominated(points: np.ndarray, tol: float) -> np.ndarray:
    """The points no other point dominates, unique, sorted by a rising."""
    order = np.lexsort((-points[:, 1], -points[:, 0]))  # a falling, then b falling
    keep, best_b = [], -math.inf
    for i in order:
        if points[i, 1] > best_b + tol:
            keep.append(i)
            best_b = points[i, 1]
    return points[keep][::-1]


def _upper_chain(points: np.ndarray) -> np.ndarray:
    """The concave (upper-right) hull of undominated points sorted by a rising."""
    chain: list[np.ndarray] = []
    for p in points:
        while len(chain) >= 2:
            o, q = chain[-2], chain[-1]
            cross = (q[0] - o[0]) * (p[1] - o[1]) - (q[1] - o[1]) * (p[0] - o[0])
            if cross >= 0:  # q lies on or below the segment o-p: not a vertex
                chain.pop()
            else:
                break
        chain.append(p)
    return np.array(chain)


def _clip_rational(vertices: np.ndarray, d: np.ndarray) -> np.ndarray | None:
    """The part of the polyline where both sides get at least their disagreement payoff."""
    out: list[np.ndarray] = []
    for i in range(len(vertices)):
        p = vertices[i]
        if p[0] >= d[0] and p[1] >= d[1]:
            out.append(p)
        if i + 1 < len(vertices):
            q = vertices[i + 1]
            for axis in (0, 1):  # where the edge crosses a = d_a or b = d_b
                lo, hi = p[axis] - d[axis], q[axis] - d[axis]
                if lo * hi < 0:
                    t = lo / (lo - hi)
                    x = p + t * (q - p)
                    if x[0] >= d[0] - 1e-12 and x[1] >= d[1] - 1e-12:
                        out.append(x)
    if not out:
        return None
    pts = np.array(out)
    return pts[np.argsort(pts[:, 0], kind="stable")]


def _nash_on_polyline(chain: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Maximise (a - d_a)(b - d_b) on each edge (a quadratic in the edge's parameter)."""
    best, best_value = chain[0], -math.inf
    for i in range(len(chain)):
        candidates = [chain[i]]
        if i + 1 < len(chain):
            p, q = chain[i], chain[i + 1]
            u, v, du, dv = p[0] - d[0], p[1] - d[1], q[0] - p[0], q[1] - p[1]
            if du * dv != 0:
                t = -(du * v + dv * u) / (2 * du * dv)
                if 0 < t < 1:
                    candidates.append(p + t * (q - p))
        for c in candidates:
            value = (c[0] - d[0]) * (c[1] - d[1])
            if value > best_value:
                best, best_value = c, value
    return np.asarray(best, float)


def _ks_on_polyline(chain: np.ndarray, d: np.ndarray, ideal: np.ndarray) -> np.ndarray | None:
    """Where the line from d to the ideal point meets the frontier."""
    span = ideal - d
    if span[0] <= 0 or span[1] <= 0:
        return None
    g = (chain[:, 0] - d[0]) / span[0] - (chain[:, 1] - d[1]) / span[1]  # rises along a
    for i in range(len(chain)):
        if g[i] == 0:
            return chain[i].astype(float)
        if i + 1 < len(chain) and g[i] < 0 < g[i + 1]:
            t = -g[i] / (g[i + 1] - g[i])
            return chain[i] + t * (chain[i + 1] - chain[i])
    return None


def frontier_of(points: Any, convex: bool, disagreement: Any = (0.0, 0.0)) -> Frontier:
    """The frontier of the deals `points` (payoff pairs), with the two solutions."""
    pts = np.asarray(points, float).reshape(-1, 2)
    d = np.asarray(disagreement, float)
    scale = max(float(np.abs(pts).max()) if len(pts) else 0.0, float(np.abs(d).max()), 1.0)
    tol = TOL * scale
    if convex:
        pts = np.vstack([pts, d])
    front = _undominated(pts, tol)
    if convex and len(front) > 2:
        front = _upper_chain(front)
    rational = _clip_rational(front, d) if convex else \
        front[(front[:, 0] >= d[0] - tol) & (front[:, 1] >= d[1] - tol)]
    ideal = nash = ks = None
    if rational is not None and len(rational):
        ideal = np.array([rational[:, 0].max(), rational[:, 1].max()])
        if convex:
            nash = _nash_on_polyline(rational, d)
            ks = _ks_on_polyline(rational, d, ideal)
        else:
            gains = rational - d
            products = gains[:, 0] * gains[:, 1]
            welfare = rational.sum(axis=1)
            nash = rational[np.lexsort((welfare, products))[-1]]
            span = np.where(ideal - d > 0, ideal - d, 1.0)
            worst = np.min(gains / span, axis=1)
            ks = rational[np.lexsort((welfare, worst))[-1]]
        if nash is not None and np.prod(nash - d) <= tol * tol:
            nash = None  # no deal gives both sides a gain: no bargaining solution
            ks = None
    return Frontier(front, convex, d, ideal, nash, ks, float(front.sum(axis=1).max()), scale)
