"""The games standings rate: each finished match, seen as a game between the entities of one kind
(persona, level or agent) at its seats, ranked by payoff.

A seat without a persona (a scripted confederate, say) stands as its agent, in brackets. An
entity holding several seats of one match (two seats of one level, say) plays that game once,
with its seats' mean payoff: a player cannot outrank itself. A match with fewer than two
different entities, or with a seat whose payoff is unknown, is no game of that kind.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.frames import RunFrames

KINDS = ("persona", "level", "agent")


@dataclass(frozen=True)
class Games:
    """(games, k) arrays, k the most players a game has: entity codes (-1: an empty slot of a
    game with fewer players), ranks (0 best; equal payoffs share a rank; k at an empty slot)
    and payoffs (NaN at an empty slot); `names[code]` is the entity's name."""

    players: np.ndarray
    ranks: np.ndarray
    payoffs: np.ndarray
    names: list[str]

    def __len__(self) -> int:
        return len(self.players)

    @property
    def k(self) -> int:
        return int(self.players.shape[1])


def _names(kind: str, persona: pd.Series, level: pd.Series, agent: pd.Series) -> np.ndarray:
    agent = agent.fillna("?").astype(str)
    if kind == "agent":
        name = agent
    elif kind == "persona":
        name = persona.astype("string").fillna("(" + agent + ")")
    else:
        level = pd.to_numeric(level, errors="coerce")
        name = ("level " + level.astype("Int64").astype("string")).fillna("(" + agent + ")")
    return name.astype(str).to_numpy()


def games(frames: RunFrames, kind: str) -> Games:
    """The run's games of `kind` (see the module docstring): from the matches table's two seats
    where every match has two (the quick path a paper-size run takes), else from the seats."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: expected one of {', '.join(KINDS)}")
    return _seat_games(frames, kind) if frames.multi_seat else _pair_games(frames, kind)


def _pair_games(frames: RunFrames, kind: str) -> Games:
    m = frames.matches
    m = m[m["status"] == "ok"]
    sides = {seat: _names(kind, m[f"persona_{seat}"], m[f"level_{seat}"], m[f"agent_{seat}"])
             for seat in ("a", "b")}
    pa = pd.to_numeric(m["payoff_a"], errors="coerce").to_numpy(dtype=float)
    pb = pd.to_numeric(m["payoff_b"], errors="coerce").to_numpy(dtype=float)
    keep = (sides["a"] != sides["b"]) & np.isfinite(pa) & np.isfinite(pb)
    a, b, pa, pb = sides["a"][keep], sides["b"][keep], pa[keep], pb[keep]
    names = sorted(set(a) | set(b))
    code = {n: i for i, n in enumerate(names)}
    players = np.array([[code[x] for x in a], [code[y] for y in b]], dtype=np.int32)
    players = players.reshape(2, len(a)).T
    ranks = np.stack((pa < pb, pb < pa), axis=1).astype(np.int8)
    return Games(players, ranks, np.stack((pa, pb), axis=1), names)


def _seat_games(frames: RunFrames, kind: str) -> Games:
    s = frames.seats
    s = s[s["status"] == "ok"]
    seats = pd.DataFrame({"match_id": s["match_id"].to_numpy(),
                          "name": _names(kind, s["persona_id"], s["level"], s["agent"]),
                          "payoff": pd.to_numeric(s["payoff"], errors="coerce").to_numpy()})
    unknown = seats.loc[~np.isfinite(seats["payoff"].to_numpy(dtype=float)), "match_id"]
    seats = seats[~seats["match_id"].isin(set(unknown))]
    # one row per match and entity: its seats' mean payoff
    table = seats.groupby(["match_id", "name"], sort=True)["payoff"].mean().reset_index()
    size = table.groupby("match_id")["name"].transform("size")
    table = table[size >= 2].reset_index(drop=True)
    names = sorted(set(table["name"]))
    if table.empty:
        empty = np.zeros((0, 2))
        return Games(empty.astype(np.int32), empty.astype(np.int8), empty, names)
    code = {n: i for i, n in enumerate(names)}
    game = table.groupby("match_id", sort=True).ngroup().to_numpy()
    slot = table.groupby("match_id", sort=True).cumcount().to_numpy()
    k = int(slot.max()) + 1
    rank = table.groupby("match_id")["payoff"].rank(method="min", ascending=False) - 1
    shape = (int(game.max()) + 1, k)
    players = np.full(shape, -1, dtype=np.int32)
    ranks = np.full(shape, k, dtype=np.int8 if k < 127 else np.int16)
    payoffs = np.full(shape, np.nan)
    players[game, slot] = [code[n] for n in table["name"]]
    ranks[game, slot] = rank.to_numpy(dtype=int)
    payoffs[game, slot] = table["payoff"].to_numpy(dtype=float)
    return Games(players, ranks, payoffs, names)


def record(g: Games) -> pd.DataFrame:
    """Games, wins (first alone), draws (first with others), losses (below first), mean payoff
    and mean place (1 best) of every entity: with two players, the usual W-D-L."""
    valid = g.players >= 0
    first = g.ranks == 0
    shared = (first & valid).sum(axis=1, keepdims=True) > 1
    flat = pd.DataFrame({"entity": g.players[valid], "payoff": g.payoffs[valid],
                         "win": (first & ~shared)[valid], "draw": (first & shared)[valid],
                         "loss": (~first)[valid], "place": g.ranks[valid] + 1.0})
    out = flat.groupby("entity").agg(matches=("payoff", "size"), wins=("win", "sum"),
                                     draws=("draw", "sum"), losses=("loss", "sum"),
                                     mean_payoff=("payoff", "mean"),
                                     mean_place=("place", "mean"))
    return out.reindex(range(len(g.names)))
