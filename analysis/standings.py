"""Standings: ratings of personas, levels and agents from who beat whom, so a tournament
between personas ends with a leaderboard.

Each finished match, of two seats or more, is a game between its seats' entities (a persona,
its level, its agent; a seat without a persona, such as the scripted confederate, stands as that
agent; see analysis.standings_games), ranked by payoff: the higher payoff places better, equal
payoffs share a place (with two seats: a win, a loss or a draw). Ratings are openskill's
Plackett-Luce (Weng & Lin 2011) with openskill's own constants, k single-player teams a game.
An online rating depends on the order of the matches, so the point estimate is the mean over
`orders` random orders of all matches, and the 95% intervals (of the rating and of the rank)
come from `bootstrap` resamples of the matches, each in a random order of its own. All
replicates are rated in lockstep with numpy, one match at a time across every replicate
(analysis.skill_update): the same update as `PlackettLuce().rate` (the tests check it against
openskill to 1e-9), thousands of times faster than calling it once per match and replicate.
A run whose games all have two players takes the two-player update, the quickest.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from analysis.frames import RunFrames
from analysis.skill_update import (RATE_CHUNK, SkillModel, game_block, rate_game_chunks,
                                   rate_pair_chunks, rate_pairs, sort_games)
from analysis.standings_games import KINDS, Games, games, record
from scenarios.errors import InputError

__all__ = ["KINDS", "SkillModel", "format_standings", "games", "rate_pairs", "standings"]

MAX_BOOTSTRAP = 5000
MAX_ORDERS = 1000
MAX_WORK = 2_000_000_000  # replicates x matches rated by one call


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


def _leaderboard(g: Games, idx: np.ndarray, mu: np.ndarray, sigma: np.ndarray,
                 orders: int) -> list[dict[str, Any]]:
    """Rows best first: the mean over the order replicates, intervals over the resamples."""
    entities = len(g.names)
    bootstrap = len(idx) - orders
    point_mu, point_sigma = mu[:orders].mean(axis=0), sigma[:orders].mean(axis=0)
    rec = record(g)
    boot_mu, ranks = mu[orders:], None
    if bootstrap:
        # an entity a resample left out keeps the prior: its rank there is not evidence
        seen = np.zeros((bootstrap, entities + 1), dtype=bool)  # the last: empty slots
        rows = np.arange(bootstrap)[:, None]
        for slot in range(g.k):
            seen[rows, g.players[:, slot][idx[orders:]]] = True
        seen = seen[:, :entities]
        ranks = np.where(seen, (-boot_mu).argsort(axis=1).argsort(axis=1) + 1.0, np.nan)
        boot_mu = np.where(seen, boot_mu, np.nan)
    # one array per column, and the percentiles of every entity at once: a paper-size run
    # has 5,185 personas, and a lookup or a percentile call each costs more than its arithmetic
    cols = {c: rec[c].to_numpy() for c in ("matches", "wins", "draws", "losses", "mean_payoff",
                                           "mean_place")}
    if ranks is not None:
        rated = np.isfinite(boot_mu).any(axis=0)
        mu_ci = np.full((2, entities), np.nan)
        rank_ci = np.full((2, entities), np.nan)
        mu_ci[:, rated] = np.nanpercentile(boot_mu[:, rated], [2.5, 97.5], axis=0)
        rank_ci[:, rated] = np.nanpercentile(ranks[:, rated], [2.5, 97.5], axis=0)
    out = []
    for place, e in enumerate(np.argsort(-point_mu, kind="stable"), start=1):
        row: dict[str, Any] = {
            "rank": place, "name": g.names[e], "mu": float(point_mu[e]),
            "sigma": float(point_sigma[e]),
            "ordinal": float(point_mu[e] - 3 * point_sigma[e]),
            **{c: int(cols[c][e]) for c in ("matches", "wins", "draws", "losses")},
            "mean_payoff": float(cols["mean_payoff"][e]),
            "mean_place": float(cols["mean_place"][e])}
        if ranks is not None and rated[e]:
            row["mu_ci"] = [float(v) for v in mu_ci[:, e]]
            row["rank_ci"] = [int(round(v)) for v in rank_ci[:, e]]
        out.append(row)
    return out


Parts = dict[str, tuple[np.ndarray, int]]  # kind -> (its replicates' match indices, offset)


def _pair_blocks(kinds: dict[str, Games], parts: Parts,
                 steps: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Blocks of steps of every kind's replicates, stacked, for the two-player update: a
    kind's entities are numbered from its offset; a kind with fewer games plays draws between
    its two spare entities."""
    codes = {}
    for kind, (_, first) in parts.items():
        g = kinds[kind]
        codes[kind] = ((g.players[:, 0] + first).astype(np.int32),
                       (g.players[:, 1] + first).astype(np.int32),
                       np.sign(g.ranks[:, 1].astype(np.int8) - g.ranks[:, 0]).astype(np.int8),
                       first + len(g.names))
    for start in range(0, steps, RATE_CHUNK):
        stop = min(start + RATE_CHUNK, steps)
        blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for kind, (idx, _) in parts.items():
            a, b, w, spare = codes[kind]
            part_a = np.full((len(idx), stop - start), spare, dtype=np.int32)
            part_b = np.full_like(part_a, spare + 1)
            part_w = np.zeros(part_a.shape, dtype=np.int8)
            if start < len(a):
                cols = idx[:, start:min(stop, len(a))]
                part_a[:, :cols.shape[1]] = a[cols]
                part_b[:, :cols.shape[1]] = b[cols]
                part_w[:, :cols.shape[1]] = w[cols]
            blocks.append((part_a, part_b, part_w))
        yield tuple(np.concatenate(col) for col in zip(*blocks))  # type: ignore[misc]


def _game_blocks(kinds: dict[str, Games], parts: Parts, steps: int,
                 k: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The same for the k-player update: every game padded to k slots (-1: empty) and sorted
    once (sort_games), and a kind with fewer games padded with draws between its two spare
    entities."""
    codes = {}
    for kind, (_, first) in parts.items():
        g = kinds[kind]
        players = np.full((len(g) + 1, k), -1, dtype=np.int32)
        players[:-1, :g.k] = np.where(g.players >= 0, g.players + first, -1)
        players[-1, :2] = first + len(g.names), first + len(g.names) + 1  # the spare draw
        ranks = np.full((len(g) + 1, k), k, dtype=np.int16)
        ranks[:-1, :g.k] = np.where(g.players >= 0, g.ranks, k)
        ranks[-1, :2] = 0
        codes[kind] = sort_games(players, ranks)
    reps = sum(len(idx) for idx, _ in parts.values())
    block = game_block(reps, k)
    for start in range(0, steps, block):
        stop = min(start + block, steps)
        blocks: list[tuple[np.ndarray, ...]] = []
        for kind, (idx, _) in parts.items():
            n = len(kinds[kind])
            cols = np.full((len(idx), stop - start), n, dtype=np.int64)  # n: the spare draw
            if start < n:
                cols[:, :min(stop, n) - start] = idx[:, start:min(stop, n)]
            blocks.append(tuple(column[cols] for column in codes[kind]))
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
    steps = max((len(g) for g in kinds.values()), default=0)
    parts: Parts = {}
    offset = 0
    for kind, g in kinds.items():
        if len(g):
            parts[kind] = (_replicates(len(g), bootstrap, orders, seed), offset)
            offset += len(g.names) + 2
    k = max((kinds[kind].k for kind in parts), default=2)
    result: dict[str, Any] = {
        "model": "openskill Plackett-Luce (Weng-Lin), each match one game of its seats ranked "
                 "by payoff (the higher places better, equal payoffs share a place)",
        "mu0": model.mu, "sigma0": model.sigma, "bootstrap": bootstrap, "orders": orders,
        "seed": seed, "kinds": {}}
    if parts:
        reps = sum(len(idx) for idx, _ in parts.values())
        if k == 2:
            mu, sigma = rate_pair_chunks(model, _pair_blocks(kinds, parts, steps), reps, offset)
        else:
            mu, sigma = rate_game_chunks(model, _game_blocks(kinds, parts, steps, k), reps,
                                         offset)
    start = 0
    for kind, g in kinds.items():
        rows: list[dict[str, Any]] = []
        players = (g.players >= 0).sum(axis=1)
        if kind in parts:
            idx, first = parts[kind]
            block = slice(start, start + len(idx))
            cols = slice(first, first + len(g.names))
            rows = _leaderboard(g, idx, mu[block, cols], sigma[block, cols], orders)
            start += len(idx)
        result["kinds"][kind] = {
            "games": int(len(g)), "entities": len(g.names),
            "players": [int(players.min()), int(players.max())] if len(g) else [],
            "standings": rows}
    return result


def format_standings(result: dict[str, Any], top: int = 10) -> str:
    lines = [f"Standings: {result['model']}; rating averaged over {result['orders']} match "
             f"orders, 95% intervals from {result['bootstrap']} bootstrap resamples"]
    for kind, part in result["kinds"].items():
        rows = part["standings"]
        many = bool(part.get("players")) and part["players"][1] > 2
        low, high = part["players"] if many else (2, 2)
        seats = (f"; {low if low == high else f'{low}..{high}'} a game, W-D-L: first alone, "
                 "first shared, below first" if many else "")
        lines.append(f"  {kind}s: {part['entities']} rated over {part['games']:,} games "
                     f"(matches between two or more different ones{seats})")
        if not rows:
            lines.append("    none: no match was between two different ones")
            continue
        lines.append(f"    {'rank':>4} {'name':<24} {'mu':>7} {'95% CI':>16} {'rank CI':>9} "
                     f"{'W-D-L':>15} {'payoff':>8}" + (f" {'place':>6}" if many else ""))
        for row in rows[:top]:
            ci = row.get("mu_ci")
            ci_text = f"{ci[0]:.2f}..{ci[1]:.2f}" if ci else "–"
            rank_ci = row.get("rank_ci")
            rank_text = f"{rank_ci[0]}..{rank_ci[1]}" if rank_ci else "–"
            wdl = f"{row['wins']}-{row['draws']}-{row['losses']}"
            lines.append(f"    {row['rank']:>4} {row['name'][:24]:<24} {row['mu']:>7.2f} "
                         f"{ci_text:>16} {rank_text:>9} {wdl:>15} {row['mean_payoff']:>8.2f}"
                         + (f" {row['mean_place']:>6.2f}" if many else ""))
        if len(rows) > top:
            lines.append(f"    ... {len(rows) - top} more (--json gives all)")
    return "\n".join(lines)
