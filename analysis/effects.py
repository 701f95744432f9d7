"""Pairing effects: how own and opponent aggressiveness levels move behaviour.

Each behaviour (a proposal's claim, the share it demands as the game declares it, a response's
acceptance, a player's deal and payoff) is modelled on the acting player's own level, the
opponent's level (with more than two seats: the others' mean level) and their difference:
- OLS with standard errors clustered by the acting persona (a persona plays many matches, so
  its observations are not independent);
- a mixed model with a random intercept per persona (separates lasting persona differences from
  round-to-round noise, and gives their standard deviations, which the surrogate needs);
- cell means by own x opponent level and by difference, with 95% confidence intervals.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.declared import declared_shares
from analysis.distributions import t_quantile
from analysis.fit_status import DEGENERATE, TOO_FEW
from analysis.frames import RunFrames
from analysis.mixed import mixed_model
from analysis.ols import ols_clustered

__all__ = ["ols_clustered", "mixed_model", "pairing_effects", "headline", "fit_behaviour"]

BEHAVIOURS = ("claim", "share", "acceptance", "deal", "payoff")
TERMS = ("own", "opp")


@dataclass(frozen=True)
class BehaviourData:
    """What one behaviour is fitted on: outcome `y`, the levels, and the persona to cluster by."""

    name: str
    frame: pd.DataFrame  # columns y, own, opp, diff, persona (and team, in a game with teams)
    label: str


def _persona_rows(frame: pd.DataFrame, persona: str, agent: str | None) -> pd.DataFrame:
    """Rows acted by a persona (not by a script such as the confederate), of one agent if given."""
    keep = frame[persona].notna() & (frame["agent"].fillna("") != "confederate")
    if "status" in frame.columns:
        keep &= frame["status"] == "ok"
    if agent is not None:
        keep &= frame["agent"] == agent
    return frame[keep]


def behaviour_data(frames: RunFrames, agent: str | None = None) -> dict[str, BehaviourData]:
    """The four behaviours, each from the acting player's point of view (built once per
    frames and agent: the summary, its acceptance rate and the report's figures share them)."""
    cache = frames.__dict__.setdefault("_behaviours", {})
    if agent not in cache:
        cache[agent] = _behaviour_data(frames, agent)
    return cache[agent]


def _behaviour_data(frames: RunFrames, agent: str | None) -> dict[str, BehaviourData]:
    props = frames.proposals
    out: dict[str, BehaviourData] = {}
    p = _persona_rows(props, "proposer", agent)
    out["claim"] = BehaviourData("claim", _tidy(p["claim"], p["own"], p["opp"], p["proposer"]),
                                 "proposer's claim")
    out["share"] = _share_data(frames, p)
    # a response is acted by the responder: its own level is the proposal's `opp`
    r = props[props["responder"].notna() & props["accepted"].notna()].copy()
    r["agent"] = _responder_agent(frames, r)
    r = _persona_rows(r, "responder", agent)
    out["acceptance"] = BehaviourData(
        "acceptance", _tidy(r["accepted"], r["opp"], r["own"], r["responder"],
                            offer=_offer(frames, r)), "responder accepts (0/1)")
    pl = _persona_rows(frames.players, "persona", agent)
    out["deal"] = BehaviourData("deal", _tidy(pl["deal"], pl["own"], pl["opp"], pl["persona"]),
                                "any deal in the match (0/1)")
    out["payoff"] = BehaviourData("payoff", _tidy(pl["payoff"], pl["own"], pl["opp"],
                                                  pl["persona"]), "player's payoff")
    return out


def _share_data(frames: RunFrames, p: pd.DataFrame) -> BehaviourData:
    """The game's declared behaviour of each persona's proposal (analysis.declared)."""
    declared = declared_shares(frames, p)
    frame = _tidy(declared.share, p["own"], p["opp"], p["proposer"],
                  team=declared.team)
    others = "the others' mean level" if frames.multi_seat else "the opponent's level"
    return BehaviourData("share", frame, f"{declared.behaviour} demanded by the proposer "
                                         f"(0..1; own level, {others}; from "
                                         f"{declared.source})")


def _responder_agent(frames: RunFrames, responses: pd.DataFrame) -> np.ndarray:
    m = frames.matches.set_index("match_id")
    mids = responses["match_id"].to_numpy()
    a = m["agent_a"].reindex(mids).to_numpy(dtype=object)
    b = m["agent_b"].reindex(mids).to_numpy(dtype=object)
    return np.where(responses["speaker"].to_numpy() == "a", b, a)


def _offer(frames: RunFrames, responses: pd.DataFrame) -> pd.Series:
    """What each proposal left the responder, in the run's own units (analysis.units)."""
    return frames.units.offers(responses)


def _tidy(y: pd.Series, own: pd.Series, opp: pd.Series, persona: pd.Series,
          offer: pd.Series | None = None, team: pd.Series | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"y": pd.to_numeric(y, errors="coerce").to_numpy(dtype=float),
                          "own": pd.to_numeric(own, errors="coerce").to_numpy(dtype=float),
                          "opp": pd.to_numeric(opp, errors="coerce").to_numpy(dtype=float),
                          "persona": persona.astype(str).to_numpy()})
    if offer is not None:
        frame["offer"] = pd.to_numeric(offer, errors="coerce").to_numpy(dtype=float)
    if team is not None:
        frame["team"] = team.to_numpy(dtype=object)
    frame["diff"] = frame["own"] - frame["opp"]
    return frame[frame["y"].notna()].reset_index(drop=True)


def _usable_terms(frame: pd.DataFrame, terms: tuple[str, ...]) -> list[str]:
    """Terms with data and variation (a self-only run has no opponent level)."""
    return [t for t in terms if frame[t].notna().any() and frame[t].nunique(dropna=True) > 1]


def mean_ci(values: pd.Series, level: float = 0.95) -> dict[str, float]:
    """Mean with a t-based confidence interval (observations taken as independent)."""
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    n = len(v)
    mean = float(v.mean()) if n else math.nan
    if n < 2:
        return {"n": n, "mean": mean, "ci_low": math.nan, "ci_high": math.nan}
    se = float(v.std(ddof=1) / math.sqrt(n))
    half = t_quantile(0.5 + level / 2, n - 1) * se
    return {"n": n, "mean": mean, "ci_low": mean - half, "ci_high": mean + half}


def means_by(frame: pd.DataFrame, keys: list[str], y: str = "y",
             integer_keys: bool = True) -> pd.DataFrame:
    """Mean of `y` with 95% intervals for each combination of `keys` (levels as ints unless
    `integer_keys` is False)."""
    data = frame.dropna(subset=[y, *keys])
    if integer_keys:  # whole levels; a mean of others' levels (games of more seats) rounds to one
        data = data.assign(**{k: data[k].astype(float).round() for k in keys})
    rows = []
    cast = int if integer_keys else float
    for key, group in data.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**{k: cast(v) for k, v in zip(keys, key)}, **mean_ci(group[y])})
    return pd.DataFrame(rows, columns=[*keys, "n", "mean", "ci_low", "ci_high"])


def fit_behaviour(data: BehaviourData, teams: bool = True) -> dict[str, Any]:
    """All models of one behaviour. Keys: n, personas, ols (y ~ own + opp), ols_diff
    (y ~ diff), mixed (y ~ own + opp | persona), mixed_diff (y ~ diff | persona), by_diff
    (means by own - opp) and by_own_opp (means by own x opp level), means with 95% intervals;
    with a `team` column, by_team: the same per team."""
    frame = data.frame
    result: dict[str, Any] = {"label": data.label, "n": int(len(frame)),
                              "personas": int(frame["persona"].nunique())}
    terms = _usable_terms(frame, TERMS)
    if not len(frame) or not terms:
        result["error"] = "no variation in levels to model" if len(frame) else "no data"
        result["status"] = DEGENERATE if len(frame) else TOO_FEW
        return result
    result["ols"] = ols_clustered(frame, "y", terms, "persona")
    if "diff" in _usable_terms(frame, ("diff",)) and terms == list(TERMS):
        result["ols_diff"] = ols_clustered(frame, "y", ["diff"], "persona")
    result["mixed"] = mixed_model(frame, "y", terms, "persona")
    if "ols_diff" in result:
        result["mixed_diff"] = mixed_model(frame, "y", ["diff"], "persona")
    if terms == list(TERMS):
        result["by_diff"] = means_by(frame, ["diff"]).to_dict("records")
        result["by_own_opp"] = means_by(frame, ["own", "opp"]).to_dict("records")
    if "team" in frame.columns and teams:
        result["by_team"] = {str(team): fit_behaviour(BehaviourData(
            data.name, rows.drop(columns="team").reset_index(drop=True),
            f"{data.label}; team {team}"), teams=False)
            for team, rows in frame.dropna(subset=["team"]).groupby("team", sort=True)}
    return result


def pairing_effects(frames: RunFrames, agent: str | None = None,
                    behaviours: tuple[str, ...] = BEHAVIOURS) -> dict[str, Any]:
    """Models of every behaviour (see :func:`fit_behaviour`), for one agent label or all."""
    data = behaviour_data(frames, agent)
    return {name: fit_behaviour(data[name]) for name in behaviours}


def headline(effects: dict[str, Any], behaviour: str = "claim") -> dict[str, Any]:
    """The own and opponent effects on a behaviour with 95% intervals, from the clustered OLS
    and from the mixed model (the one that matches a random-intercept surrogate), each with its
    fit's status (a degenerate or unconverged fit has no interval)."""
    out: dict[str, Any] = {}
    for term in TERMS:
        for model in ("ols", "mixed"):
            fit = effects.get(behaviour, {}).get(model, {})
            if term in fit.get("coef", {}):
                out.setdefault(term, {})[model] = {
                    "estimate": fit["coef"][term], "se": fit["se"][term], "ci": fit["ci"][term],
                    "p": fit["p"][term], "status": fit["status"],
                    "significant": fit["significant"][term], "n": fit["n"],
                    "groups": fit.get("clusters", fit.get("groups"))}
                if fit.get("status_reason"):
                    out[term][model]["status_reason"] = fit["status_reason"]
    return out


def agents_of(frames: RunFrames) -> list[str]:
    """Agent labels that played as personas (not the confederate)."""
    m = frames.matches
    labels = set()
    for seat in ("a", "b"):
        rows = m[m[f"persona_{seat}"].notna()]
        labels.update(str(a) for a in rows[f"agent_{seat}"].dropna())
    if frames.multi_seat:  # games of more seats: who sat where is in the seats table
        s = frames.seats
        labels.update(str(a) for a in s.loc[s["persona_id"].notna(), "agent"].dropna())
    labels.discard("confederate")
    return sorted(labels)
