"""openskill's Plackett-Luce update (Weng & Lin 2011, Algorithm 4), done in numpy lockstep: many
replicates of a sequence of games are rated at once, one game at a time across all of them.

The loop over games is sequential by nature (each update reads the last), so its cost is
numpy's per-call overhead times the games; the ratings live in flat arrays (mu and sigma
squared), read and written at precomputed flat indices. Two paths give the same numbers as
`PlackettLuce().rate` (the tests check both against openskill to 1e-9):

- `rate_pairs`: games of two single-player teams, some 30 small calls a game (a paper-size run
  of 51,850 matches rates in about a second);
- `rate_games`: games of k single-player teams ranked with ties (a game with fewer players
  padded to k), some 30 calls a game on (k, replicates) arrays, each game's slots sorted by
  rank once beforehand (two to three times the cost of a two-player game).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

RATE_CHUNK = 2048  # games whose flat indices are built at once (two-seat path)
RANK_CELLS = 1_000_000  # replicates x games x k of one block of the k-player path


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
    chunks = (sort_games(players[:, i:i + block], ranks[:, i:i + block])
              for i in range(0, steps, block))
    return rate_game_chunks(model, chunks, reps, entities)


def game_block(reps: int, k: int) -> int:
    """Games a block of the k-player path holds (its arrays stay a few tens of MB)."""
    return max(16, RANK_CELLS // max(1, reps * k))


def sort_games(players: np.ndarray, ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                np.ndarray]:
    """Games (..., k) with their slots sorted worst first, empty slots (-1) last: the players,
    and for each slot the first and the last position of its rank group (an empty slot is a
    group of its own), which is all the update needs of the ranks."""
    k = players.shape[-1]
    valid = players >= 0
    order = np.argsort(np.where(valid, -ranks.astype(np.int32), k + 1), axis=-1, kind="stable")
    players = np.take_along_axis(players, order, axis=-1)
    ranks = np.take_along_axis(ranks, order, axis=-1)
    valid = players >= 0
    same = valid[..., :, None] & valid[..., None, :] & (ranks[..., :, None] == ranks[..., None, :])
    same |= np.eye(k, dtype=bool)
    pos = np.arange(k, dtype=np.int16)
    first = np.where(same, pos, k).min(axis=-1).astype(np.int16)
    last = np.where(same, pos, -1).max(axis=-1).astype(np.int16)
    return players, first, last


def rate_game_chunks(model: SkillModel,
                     chunks: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]],
                     reps: int, entities: int) -> tuple[np.ndarray, np.ndarray]:
    """rate_games over consecutive blocks of games, sorted by sort_games (players, first,
    last: (replicates, block, k)), so a caller can sort each game once and gather blocks.

    Per game, with s2 = sigma^2 + tau^2, c^2 = sum(s2 + beta^2), e_i = exp(mu_i / c),
    S_q = the sum of e_i over the players ranked no better than q, A_q = the size of q's rank
    group and p_iq = e_i / S_q, openskill gives player i
        omega_i = sum over q ranked no worse than i of ([q = i] - p_iq) / A_q
        delta_i = sum over the same q of p_iq (1 - p_iq) / A_q
    and mu_i += s2_i omega_i / c, sigma_i^2 = s2_i max(1 - delta_i s2_i^1.5 / c^3, kappa)
    (gamma = sigma_i / c; its averaging of a tied group's changes is a no-op in 6.2, as in
    rate_pairs). With w_q = 1 / (A_q S_q) and v_q = w_q / S_q these are
        omega_i = 1 / A_i - e_i W_i,   delta_i = e_i W_i - e_i^2 V_i,
    W_i and V_i the sums of w and v over the q ranked no worse than i. So each game's slots
    are sorted worst first (empty slots last): S is a running sum of e read at the end of q's
    rank group, W and V running sums from the end read at the start of i's group. Arrays are
    (k, replicates), so every sum runs across rows: some 30 numpy calls a game. An empty slot
    reads and writes a sink past the ratings; its e, w and v are 0, so it counts nowhere."""
    sink = reps * entities
    mu = np.full(sink + 1, model.mu)
    var = np.full(sink + 1, model.sigma ** 2)
    base = (np.arange(reps) * entities)[:, None, None]
    beta2, tau2, kappa = model.beta ** 2, model.tau ** 2, model.kappa
    for players, first, last in chunks:
        flat, on, inv_a, at_end, at_start = _slots(players, first, last, base, sink)
        betas = beta2 * on.sum(axis=1)  # beta^2 for each player in play
        for idx, live, ia, end, start, b2 in zip(flat, on, inv_a, at_end, at_start, betas):
            mu_i = mu[idx]
            s2 = var[idx] + tau2
            c2 = (s2 * live).sum(axis=0) + b2
            c = np.sqrt(c2)
            e = np.exp(mu_i / c) * live
            s = np.cumsum(e, axis=0).ravel()[end]
            w = ia / s
            wv = np.cumsum(np.stack((w, w / s))[:, ::-1], axis=1)  # sums from the last slot
            big_w, big_v = wv[0].ravel()[start], wv[1].ravel()[start]
            ew = e * big_w
            mu[idx] = mu_i + s2 * (ia - ew) / c
            delta = (ew - e * e * big_v) * s2 * np.sqrt(s2) / (c2 * c)
            var[idx] = s2 * np.maximum(1.0 - delta, kappa)
    return mu[:sink].reshape(reps, entities), np.sqrt(var[:sink]).reshape(reps, entities)


def _slots(players: np.ndarray, first: np.ndarray, last: np.ndarray, base: np.ndarray,
           sink: int) -> tuple[np.ndarray, ...]:
    """Per game (games first, then slots, then replicates): flat rating indices, 1.0 for a slot
    in play, 1/A (0 at an empty slot), and where S is read (the running sum at the end of the
    slot's rank group) and W, V (the reversed running sums at its start), as flat indices
    into a (k, replicates) array."""
    reps, _, k = players.shape
    valid = players >= 0
    inv_a = np.where(valid, 1.0 / (last - first + 1), 0.0)
    rep = np.arange(reps)[:, None, None]
    flat = np.where(valid, players + base, sink)

    def arranged(a: np.ndarray) -> np.ndarray:  # (reps, games, k) -> (games, k, reps)
        return np.ascontiguousarray(a.transpose(1, 2, 0))

    return (arranged(flat), arranged(valid.astype(float)), arranged(inv_a),
            arranged(last * reps + rep), arranged((k - 1 - first) * reps + rep))
