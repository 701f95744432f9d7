"""The behaviour a game declares for the pairing-effect models, read for every proposal.

A proposal's `claim` is in the game's own units (dollars of a pie, surplus at a price, points of
a job offer), so claims of different games, seats or roles do not compare. The game says what a
claim means (`Game.behaviour`, e.g. "claim share" or "surplus share") and reads it
(`Game.claim_share(claim, side, seats)`): the proposer's demand as a share of what it could win.
The analysis asks the run's stored scenario and never tests a game's name; a run whose game no
longer loads (a plugin not installed, an imported paper run) falls back to the claim over the
run's stake, and to nothing when there is none.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from analysis.frames import RunFrames

FALLBACK = "claim share of the stake"


@dataclass(frozen=True)
class Declared:
    """One share per proposal (NaN where the game gives none), what it is called, and the
    proposer's team when the seats table records teams (else None)."""

    share: pd.Series
    behaviour: str
    source: str
    team: pd.Series | None = None


def run_game(frames: "RunFrames") -> Any | None:
    """The run's game rules, rebuilt from its stored scenario spec (None when they no longer
    load)."""
    from scenarios.errors import InputError
    from scenarios.loader import parse_scenario

    spec = frames.units.spec
    if not spec.get("game"):
        return None
    try:
        return parse_scenario(dict(spec), frames.units.source).rules
    except (InputError, ValueError, TypeError, KeyError, ImportError):
        return None


def declared_shares(frames: "RunFrames", props: pd.DataFrame) -> Declared:
    """Each proposal's declared behaviour: `claim_share` of its game, asked once per seat and
    seat count (the game reads an array of claims)."""
    claims = pd.to_numeric(props["claim"], errors="coerce").to_numpy(dtype=float)
    out = np.full(len(props), math.nan)
    seats = _seat_counts(frames, props)
    game = run_game(frames)
    team = _teams(frames, props)
    if game is None:
        stake = frames.units.stake
        if stake:
            out = claims / stake
        return Declared(pd.Series(out, index=props.index), FALLBACK if stake else "claim",
                        "the run's stake" if stake else "none", team)
    speakers = props["speaker"].astype(str).to_numpy()
    for side, n in set(zip(speakers, seats)):
        at = (speakers == side) & (seats == n)
        try:
            values = game.claim_share(claims[at], side, int(n))
        except (ValueError, IndexError, TypeError, AttributeError, NotImplementedError,
                ZeroDivisionError):  # a plugin game without a usable scale: no share
            values = None
        if values is not None:
            out[at] = np.asarray(values, dtype=float)
    return Declared(pd.Series(out, index=props.index), str(game.behaviour),
                    f"game {game.name or type(game).__name__}", team)


def _seat_counts(frames: "RunFrames", props: pd.DataFrame) -> np.ndarray:
    s = frames.seats
    if s.empty:
        return np.full(len(props), 2)
    counts = s.drop_duplicates("match_id").set_index("match_id")["seats"]
    return counts.reindex(props["match_id"].to_numpy()).fillna(2).astype(int).to_numpy()


def _teams(frames: "RunFrames", props: pd.DataFrame) -> pd.Series | None:
    """The proposer's team, when the seats table has a `team` column with two or more teams."""
    s = frames.seats
    if "team" not in s.columns or s["team"].dropna().nunique() < 2:
        return None
    teams = s.set_index(["match_id", "seat"])["team"]
    keys = pd.MultiIndex.from_arrays([props["match_id"].to_numpy(),
                                      props["speaker"].astype(str).to_numpy()])
    return pd.Series(teams.reindex(keys).to_numpy(dtype=object), index=props.index)
