"""Standings: ratings of personas, levels and agents from who beat whom, so a tournament
between personas ends with a leaderboard.

Each finished two-seat match is a game between its seats' entities (a persona, its level, its
agent; a seat without a persona, such as the scripted confederate, stands as that agent), ranked
by payoff: the higher payoff wins, equal payoffs draw. Ratings are openskill's Plackett-Luce
(Weng & Lin 2011) with openskill's own constants. An online rating depends on the order of the
matches, so the point estimate is the mean over `orders` random orders of all matches, and the
95% intervals (of the rating and of the rank) come from `bootstrap` resamples of the matches,
each in a random order of its own. All replicates are rated in lockstep with numpy, one match
at a time across every replicate: the same update as `PlackettLuce().rate` for two
single-player teams (the tests check it against openskill to 1e-9), thousands of times faster
than calling it once per match and replicate.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from analysis.frames import RunFrames
from scenarios.errors import InputError

KINDS = ("persona", "level", "agent")
MAX_BOOTSTRAP = 5000
MAX_ORDERS = 1000
MAX_WORK = 2_000_000_000  # replicates x matches rated by one call
RATE_CHUNK = 2048  # matches whose flat indices are built at once


@dataclass(frozen=True)
class SkillModel:
    """openskill's Plackett-Luce constants (read from the library, not copied)."""

    mu: float
    sigma: float
    beta: float
    tau: float
    kappa: float

    @classmethod
    def openskill(cls) -> "SkillModel":
        from openskill.models import PlackettLuce

        model = PlackettLuce()
        return cls(float(model.mu), float(model.sigma), float(model.beta), float(model.tau),
                   float(model.kappa))


def rate_pairs(model: SkillModel, a: np.ndarray, b: np.ndarray, outcome: np.ndarray,
               entities: int) -> tuple[np.ndarray, np.ndarray]:
    """Rate replicates in lockstep: `a`, `b`, `outcome` are (replicates, steps) arrays of the
    two entities and the result (+1 a won, -1 b won, 0 draw) of each replicate's t-th match.
    Returns mu and sigma, (replicates, entities).

    The loop over matches is sequential by nature (each update reads the last), so its cost
    is numpy's per-call overhead times the steps: the ratings live in flat arrays (mu and
    sigma squared), read and written at precomputed flat indices, some 30 small calls
    a step (a paper-size run of 51,850 matches rates in about a second)."""
    reps, steps = a.shape
    chunks = ((a[:, i:i + RATE_CHUNK], b[:, i:i + RATE_CHUNK], outcome[:, i:i + RATE_CHUNK])
              for i in range(0, steps, RATE_CHUNK))
    return _rate_chunks(model, chunks, reps, entities)


def _rate_chunks(model: SkillModel, chunks: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]],
                 reps: int, entities: int) -> tuple[np.ndarray, np.ndarray]:
    """rate_pairs over consecutive blocks of steps (a, b, outcome: (replicates, block)), so
    a caller can build each block when it is needed instead of all of them at once."""
    mu = np.full(reps * entities, model.mu)
    var = np.full(reps * entities, model.sigma ** 2)
    base = (np.arange(reps) * entities)[:, None]
    two_beta2, tau2, kappa = 2.0 * model.beta ** 2, model.tau ** 2, model.kappa
    for a, b, outcome in chunks:
        flat_a = np.ascontiguousarray((a + base).T)
        flat_b = np.ascontiguousarray((b + base).T)
        # a's score: 1 won, 0 lost, 0.5 drew; b's is 1 minus it
        score = np.ascontiguousarray(((np.sign(outcome) + 1) / 2.0).T)
        for ia, ib, won in zip(flat_a, flat_b, score):
            ma, mb = mu[ia], mu[ib]
            s2a = var[ia] + tau2
            s2b = var[ib] + tau2
            c2 = s2a + s2b + two_beta2
            c = np.sqrt(c2)
            pa = 1.0 / (1.0 + np.exp((mb - ma) / c))  # e^(mu_a/c) / (e^(mu_a/c) + e^(mu_b/c))
            # omega: a's share of the win it got (1 - p), minus the one it did not (-p); a
            # draw gives each (1 - 2p) / 2; b's is the negative. (openskill 6.2 also
            # "averages" a rank group's changes, but against the already updated ratings,
            # which leaves them as they are: so do we.)
            step = (won - pa) / c
            mu[ia] = ma + step * s2a
            mu[ib] = mb - step * s2b
            gamma = pa * (1.0 - pa) / (c2 * c)  # delta = gamma * s2 * sqrt(s2)
            var[ia] = s2a * np.maximum(1.0 - gamma * s2a * np.sqrt(s2a), kappa)
            var[ib] = s2b * np.maximum(1.0 - gamma * s2b * np.sqrt(s2b), kappa)
    return mu.reshape(reps, entities), np.sqrt(var).reshape(reps, entities)


def games(frames: RunFrames, kind: str) -> tuple[pd.DataFrame, list[str]]:
    """The matches that are games between two different entities of `kind`: columns a, b
    (entity codes), outcome (+1, -1, 0), payoff_a, payoff_b; and the entity names."""
    m = frames.matches
    m = m[m["status"] == "ok"]
    sides = {}
    for seat in ("a", "b"):
        agent = m[f"agent_{seat}"].fillna("?").astype(str)
        if kind == "agent":
            name = agent
        elif kind == "persona":
            name = m[f"persona_{seat}"].astype("string").fillna("(" + agent + ")")
        else:
            level = pd.to_numeric(m[f"level_{seat}"], errors="coerce")
            name = ("level " + level.astype("Int64").astype("string")).fillna("(" + agent + ")")
        sides[seat] = name.astype(str).to_numpy()
    pa = pd.to_numeric(m["payoff_a"], errors="coerce").to_numpy(dtype=float)
    pb = pd.to_numeric(m["payoff_b"], errors="coerce").to_numpy(dtype=float)
    keep = (sides["a"] != sides["b"]) & np.isfinite(pa) & np.isfinite(pb)
    names = sorted(set(sides["a"][keep]) | set(sides["b"][keep]))
    code = {n: i for i, n in enumerate(names)}
    table = pd.DataFrame({"a": [code[n] for n in sides["a"][keep]],
                          "b": [code[n] for n in sides["b"][keep]],
                          "outcome": np.sign(pa[keep] - pb[keep]).astype(int),
                          "payoff_a": pa[keep], "payoff_b": pb[keep]})
    return table, names


def _record(table: pd.DataFrame, entities: int) -> pd.DataFrame:
    """Matches, wins, draws, losses and mean payoff of every entity."""
    rows = []
    for seat, other, sign in (("a", "b", 1), ("b", "a", -1)):
        rows.append(pd.DataFrame({"entity": table[seat], "payoff": table[f"payoff_{seat}"],
                                  "win": table["outcome"] * sign > 0,
                                  "draw": table["outcome"] == 0,
                                  "loss": table["outcome"] * sign < 0}))
    both = pd.concat(rows, ignore_index=True)
    out = both.groupby("entity").agg(matches=("payoff", "size"), wins=("win", "sum"),
                                     draws=("draw", "sum"), losses=("loss", "sum"),
                                     mean_payoff=("payoff", "mean"))
    return out.reindex(range(entities))


def _replicates(n: int, bootstrap: int, orders: int, seed: int) -> np.ndarray:
    """Match indices of every replicate: `orders` permutations of all matches, then
    `bootstrap` resamples (with replacement), each in a random order (int32: a paper-size run
    holds 110 x 51,850 of them per kind)."""
    rng = np.random.default_rng(seed)
    out = np.empty((orders + bootstrap, n), dtype=np.int32)
    for row in range(orders):
        out[row] = rng.permutation(n)
    for row in range(orders, orders + bootstrap):
        out[row] = rng.permutation(rng.integers(0, n, n))
    return out


def _leaderboard(table: pd.DataFrame, names: list[str], idx: np.ndarray, mu: np.ndarray,
                 sigma: np.ndarray, orders: int) -> list[dict[str, Any]]:
    """Rows best first: the mean over the order replicates, intervals over the resamples."""
    entities = len(names)
    bootstrap = len(idx) - orders
    point_mu, point_sigma = mu[:orders].mean(axis=0), sigma[:orders].mean(axis=0)
    record = _record(table, entities)
    boot_mu, ranks = mu[orders:], None
    if bootstrap:
        # an entity a resample left out keeps the prior: its rank there is not evidence
        a, b = table["a"].to_numpy()[idx[orders:]], table["b"].to_numpy()[idx[orders:]]
        seen = np.zeros((bootstrap, entities), dtype=bool)
        rows = np.arange(bootstrap)[:, None]
        seen[rows, a] = True
        seen[rows, b] = True
        ranks = np.where(seen, (-boot_mu).argsort(axis=1).argsort(axis=1) + 1.0, np.nan)
        boot_mu = np.where(seen, boot_mu, np.nan)
    out = []
    for place, e in enumerate(np.argsort(-point_mu, kind="stable"), start=1):
        row: dict[str, Any] = {
            "rank": place, "name": names[e], "mu": float(point_mu[e]),
            "sigma": float(point_sigma[e]),
            "ordinal": float(point_mu[e] - 3 * point_sigma[e]),
            "matches": int(record.loc[e, "matches"]), "wins": int(record.loc[e, "wins"]),
            "draws": int(record.loc[e, "draws"]), "losses": int(record.loc[e, "losses"]),
            "mean_payoff": float(record.loc[e, "mean_payoff"])}
        if ranks is not None and np.isfinite(boot_mu[:, e]).any():
            row["mu_ci"] = [float(v) for v in np.nanpercentile(boot_mu[:, e], [2.5, 97.5])]
            row["rank_ci"] = [int(round(v)) for v in np.nanpercentile(ranks[:, e], [2.5, 97.5])]
        out.append(row)
    return out


def _lockstep_blocks(kinds: dict[str, tuple[pd.DataFrame, list[str]]],
                     parts: dict[str, tuple[np.ndarray, int]],
                     steps: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Blocks of steps of every kind's replicates, stacked: a kind's entities are numbered
    from its offset; a kind with fewer games plays draws between its two spare entities."""
    codes = {kind: ((kinds[kind][0]["a"].to_numpy() + first).astype(np.int32),
                    (kinds[kind][0]["b"].to_numpy() + first).astype(np.int32),
                    kinds[kind][0]["outcome"].to_numpy().astype(np.int8),
                    first + len(kinds[kind][1])) for kind, (_, first) in parts.items()}
    for start in range(0, steps, RATE_CHUNK):
        stop = min(start + RATE_CHUNK, steps)
        blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for kind, (idx, _) in parts.items():
            a, b, w, spare = codes[kind]
            games = len(a)
            part_a = np.full((len(idx), stop - start), spare, dtype=np.int32)
            part_b = np.full_like(part_a, spare + 1)
            part_w = np.zeros(part_a.shape, dtype=np.int8)
            if start < games:
                cols = idx[:, start:min(stop, games)]
                part_a[:, :cols.shape[1]] = a[cols]
                part_b[:, :cols.shape[1]] = b[cols]
                part_w[:, :cols.shape[1]] = w[cols]
            blocks.append((part_a, part_b, part_w))
        yield tuple(np.concatenate(col) for col in zip(*blocks))  # type: ignore[misc]


def standings(frames: RunFrames, bootstrap: int = 200, orders: int = 20,
              seed: int = 1) -> dict[str, Any]:
    """Leaderboards of personas, levels and agents (see the module docstring). The three
    kinds are rated in one lockstep pass: their entities are numbered apart, and a kind with
    fewer games is padded with draws between two spare entities that are then dropped."""
    if not 0 <= bootstrap <= MAX_BOOTSTRAP:
        raise InputError(f"--bootstrap {bootstrap}: between 0 and {MAX_BOOTSTRAP:,}")
    if not 1 <= orders <= MAX_ORDERS:
        raise InputError(f"--orders {orders}: between 1 and {MAX_ORDERS:,}")
    m = frames.matches
    if len(m) and (m["status"] == "ok").sum() * (bootstrap + orders) > MAX_WORK:
        raise InputError(f"--bootstrap {bootstrap} with {len(m):,} matches: too much to rate; "
                         "lower --bootstrap or --orders")
    model = SkillModel.openskill()
    kinds = {kind: games(frames, kind) for kind in KINDS}
    steps = max((len(t) for t, _ in kinds.values()), default=0)
    parts: dict[str, tuple[np.ndarray, int]] = {}
    offset = 0
    for kind, (table, names) in kinds.items():
        if len(table):
            parts[kind] = (_replicates(len(table), bootstrap, orders, seed), offset)
            offset += len(names) + 2
    result: dict[str, Any] = {
        "model": "openskill Plackett-Luce (Weng-Lin), ranked by payoff; higher payoff wins",
        "mu0": model.mu, "sigma0": model.sigma, "bootstrap": bootstrap, "orders": orders,
        "seed": seed, "kinds": {}}
    if parts:
        reps = sum(len(idx) for idx, _ in parts.values())
        mu, sigma = _rate_chunks(model, _lockstep_blocks(kinds, parts, steps), reps, offset)
    start = 0
    for kind, (table, names) in kinds.items():
        rows: list[dict[str, Any]] = []
        if kind in parts:
            idx, first = parts[kind]
            block = slice(start, start + len(idx))
            cols = slice(first, first + len(names))
            rows = _leaderboard(table, names, idx, mu[block, cols], sigma[block, cols], orders)
            start += len(idx)
        result["kinds"][kind] = {"games": int(len(table)), "entities": len(names),
                                 "standings": rows}
    return result


def format_standings(result: dict[str, Any], top: int = 10) -> str:
    lines = [f"Standings: {result['model']}; rating averaged over {result['orders']} match "
             f"orders, 95% intervals from {result['bootstrap']} bootstrap resamples"]
    for kind, part in result["kinds"].items():
        rows = part["standings"]
        lines.append(f"  {kind}s: {part['entities']} rated over {part['games']:,} games "
                     "(matches between two different ones)")
        if not rows:
            lines.append("    none: no match was between two different ones")
            continue
        lines.append(f"    {'rank':>4} {'name':<24} {'mu':>7} {'95% CI':>16} {'rank CI':>9} "
                     f"{'W-D-L':>15} {'payoff':>8}")
        for row in rows[:top]:
            ci = row.get("mu_ci")
            ci_text = f"{ci[0]:.2f}..{ci[1]:.2f}" if ci else "–"
            rank_ci = row.get("rank_ci")
            rank_text = f"{rank_ci[0]}..{rank_ci[1]}" if rank_ci else "–"
            wdl = f"{row['wins']}-{row['draws']}-{row['losses']}"
            lines.append(f"    {row['rank']:>4} {row['name'][:24]:<24} {row['mu']:>7.2f} "
                         f"{ci_text:>16} {rank_text:>9} {wdl:>15} {row['mean_payoff']:>8.2f}")
        if len(rows) > top:
            lines.append(f"    ... {len(rows) - top} more (--json gives all)")
    return "\n".join(lines)
