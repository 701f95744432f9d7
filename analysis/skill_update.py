"""openskill's Plackett-Luce update (Weng & Lin 2011, Algorithm 4), done in numpy lockstep: many
replicates of a sequence of games are rated at once, one game at a time across all of them.

The loop over games is sequential by nature (each update reads the last), so its cost is
numpy's per-call overhead times the games; the ratings live in flat arrays (mu and sigma
squared), read and written at precomputed flat indices. Two paths give the same numbers as
`PlackettLuce().rate` (the tests check both against openskill to 1e-9):

- `rate_pairs`: games of two single-player teams, some 30 small calls a game (a paper-size run
  of 51,850 matches rates in about a second);
- `rate_games`: games of k single-player teams ranked with ties (k up to any bound, a game with
  fewer players padded to it), some 30 calls a game on (replicates, k, k) arrays.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

RATE_CHUNK = 2048  # games whose flat indices are built at once (two-seat path)
RANK_CELLS = 4_000_000  # replicates x games x k x k of one block of the k-player path


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
        # the update below is the default model's: no margin, no balance, sigma free to grow
        if model.margin or model.balance or model.limit_sigma:
            raise RuntimeError("openskill's PlackettLuce defaults changed (margin, balance or "
                               "limit_sigma): analysis.skill_update no longer matches it")
        return cls(float(model.mu), float(model.sigma), float(model.beta), float(model.tau),
                   float(model.kappa))


def rate_pairs(model: SkillModel, a: np.ndarray, b: np.ndarray, outcome: np.ndarray,
               entities: int) -> tuple[np.ndarray, np.ndarray]:
    """Rate replicates in lockstep: `a`, `b`, `outcome` are (replicates, steps) arrays of the
    two entities and the result (+1 a won, -1 b won, 0 draw) of each replicate's t-th match.
    Returns mu and sigma, (replicates, entities)."""
    reps, steps = a.shape
    chunks = ((a[:, i:i + RATE_CHUNK], b[:, i:i + RATE_CHUNK], outcome[:, i:i + RATE_CHUNK])
              for i in range(0, steps, RATE_CHUNK))
    return rate_pair_chunks(model, chunks, reps, entities)


def rate_pair_chunks(model: SkillModel,
                     chunks: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]],
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


def rate_games(model: SkillModel, players: np.ndarray, ranks: np.ndarray,
               entities: int) -> tuple[np.ndarray, np.ndarray]:
    """Rate replicates of k-player games in lockstep: `players` and `ranks` are (replicates,
    steps, k) arrays of each replicate's t-th game: its entities (-1: an empty slot of a game
    with fewer players; every game needs two) and their ranks (lower is better, equal ties).
    Returns mu and sigma, (replicates, entities)."""
    reps, steps, k = players.shape
    block = game_block(reps, k)
    chunks = ((players[:, i:i + block], ranks[:, i:i + block]) for i in range(0, steps, block))
    return rate_game_chunks(model, chunks, reps, entities)


def game_block(reps: int, k: int) -> int:
    """Games a block of the k-player path holds, so its (replicates, games, k, k) comparison
    array stays a few tens of MB."""
    return max(16, RANK_CELLS // max(1, reps * k * k))


def rate_game_chunks(model: SkillModel, chunks: Iterator[tuple[np.ndarray, np.ndarray]],
                     reps: int, entities: int) -> tuple[np.ndarray, np.ndarray]:
    """rate_games over consecutive blocks of games (players, ranks: (replicates, block, k)).

    Per game, with s2 = sigma^2 + tau^2, c^2 = sum(s2 + beta^2), e_i = exp(mu_i / c),
    S_q = sum of e_i over the players ranked no better than q, A_q = the size of q's rank
    group and p_iq = e_i / S_q, openskill gives player i
        omega_i = sum over q ranked no worse than i of ([q = i] - p_iq) / A_q
        delta_i = sum over the same q of p_iq (1 - p_iq) / A_q
    and mu_i += s2_i omega_i / c, sigma_i^2 = s2_i max(1 - delta_i s2_i^1.5 / c^3, kappa)
    (gamma = sigma_i / c; its averaging of a tied group's changes is a no-op in 6.2, as in
    rate_pairs). As matrices, M[q, i] = 1 where i is ranked no better than q:
        S = M e, omega = 1/A - e (M^T w), delta = e (M^T w) - e^2 (M^T v),
    with w = 1 / (A S) and v = w / S. An empty slot reads and writes a sink past the
    ratings, and M and 1/A leave it out of every sum (its omega and delta are 0)."""
    sink = reps * entities
    mu = np.full(sink + 1, model.mu)
    var = np.full(sink + 1, model.sigma ** 2)
    base = (np.arange(reps) * entities)[:, None, None]
    beta2, tau2, kappa = model.beta ** 2, model.tau ** 2, model.kappa
    for players, ranks in chunks:
        valid = players >= 0
        flat = np.ascontiguousarray(np.where(valid, players + base, sink).transpose(1, 0, 2))
        matrix, inv_a, weight = _rank_terms(ranks, valid)
        betas = beta2 * weight.sum(axis=-1)  # beta^2 for each player in play
        for idx, m, ia, on, b2 in zip(flat, matrix, inv_a, weight, betas):
            mu_i = mu[idx]
            s2 = var[idx] + tau2
            c2 = (s2 * on).sum(axis=1) + b2
            c = np.sqrt(c2)[:, None]
            e = np.exp(mu_i / c)
            s = np.matmul(m, e[:, :, None])[:, :, 0]
            w = ia / s
            mw, mv = np.matmul(np.stack((w, w / s), axis=1), m).transpose(1, 0, 2)
            ew = e * mw
            mu[idx] = mu_i + s2 * (ia - ew) / c
            delta = (ew - e * e * mv) * s2 * np.sqrt(s2) / (c2[:, None] * c)
            var[idx] = s2 * np.maximum(1.0 - delta, kappa)
    return mu[:sink].reshape(reps, entities), np.sqrt(var[:sink]).reshape(reps, entities)


def _rank_terms(ranks: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per game (games first, then replicates): M (k x k; an empty slot q keeps M[q, q] = 1
    so that S_q > 0), 1/A (0 at an empty slot) and the slots in play (1.0 or 0.0)."""
    r = ranks.transpose(1, 0, 2)
    v = valid.transpose(1, 0, 2)
    both = v[..., :, None] & v[..., None, :]
    matrix = (both & (r[..., None, :] >= r[..., :, None])).astype(float)
    k = r.shape[-1]
    diag = np.arange(k)
    matrix[..., diag, diag] = 1.0
    groups = (both & (r[..., None, :] == r[..., :, None])).sum(axis=-1)
    inv_a = np.where(v, 1.0 / np.maximum(groups, 1), 0.0)
    return (np.ascontiguousarray(matrix), np.ascontiguousarray(inv_a),
            np.ascontiguousarray(v.astype(float)))
