"""What each match ended in, for any two-seat game: each seat's payoff and share, the deal,
turns to agreement, where the deal stands against the game's frontier (Pareto optimality,
welfare, Nash product, distance to the Nash and Kalai-Smorodinsky points), and per turn the
concession curves (each seat's demand over time) and the first offer's pull on the end result
(the anchoring coefficient: final share regressed on the first offer's share).

The frontier is the one the game itself declares (MatchState.outcome_space) for the scenario
spec the run stored, so a plugin game gets the same metrics by declaring its deals; a game
without one (or an imported run without a full spec) gets payoffs, shares and curves only.
Games of more than two seats: each seat's payoff and share are in the `seats` frame
(analysis.frames); the metrics here read seats `a` and `b` of two-seat games.
"""
from __future__ import annotations

import functools
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from analysis.declared import declared_shares
from analysis.distributions import t_quantile
from analysis.frames import RunFrames
from analysis.frontier import Frontier, frontier_of

SEATS = ("a", "b")
SEAT_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
MAX_CURVE_TURNS = 40  # concession curves stop here (a 10,000-turn limit is no figure)


def outcome_space(spec: dict[str, Any]) -> Any:
    """The game's declared OutcomeSpace for a stored spec, or None (unknown game, an imported
    run's partial spec, a game with no frontier)."""
    if not spec:
        return None
    return _space_of(json.dumps(spec, sort_keys=True))


@functools.lru_cache(maxsize=16)
def _space_of(spec_json: str) -> Any:
    from scenarios.errors import InputError
    from scenarios.loader import parse_scenario

    try:
        state = parse_scenario(json.loads(spec_json), "the run's stored scenario").new_state()
        return state.outcome_space()
    except (InputError, ValueError, TypeError, KeyError, AttributeError, NotImplementedError):
        return None


def run_frontier(frames: RunFrames) -> tuple[Any, Frontier | None]:
    """(the declared outcome space, its frontier) of this run's game."""
    space = outcome_space(frames.units.spec)
    if space is None or not space.points:
        return space, None
    return space, frontier_of(space.points, space.convex, space.disagreement)


def seat_roles(frames: RunFrames) -> dict[str, str]:
    """Each seat's role when it keeps one (seller, buyer), else which seat moves first (every
    seat of the run: a, b, and c ... in games of more seats)."""
    t = frames.turns
    seats = list(SEATS)
    if frames.multi_seat:
        seats = sorted(set(frames.seats["seat"].dropna().astype(str)) | set(SEATS))
    out = {}
    for i, seat in enumerate(seats):
        roles = t.loc[t["speaker"] == seat, "role"].dropna().unique() if len(t) else []
        fallback = f"{SEAT_WORDS[i]} mover" if i < len(SEAT_WORDS) else f"seat {i + 1}"
        out[seat] = str(roles[0]) if len(roles) == 1 else fallback
    return out


def seat_label(seat: str, roles: dict[str, str]) -> str:
    return f"seat {seat} ({roles.get(seat, '?')})"


def match_outcomes(frames: RunFrames) -> pd.DataFrame:
    """One row per finished (ok) match: payoffs and shares, deal, turns to the first
    agreement, the first offer (seat, claim, its share of what that seat could claim) and, with
    a frontier, pareto_optimal, welfare, nash_product, nash_distance, ks_distance."""
    m = frames.matches
    m = m[m["status"] == "ok"]
    out = pd.DataFrame({"match_id": m["match_id"].to_numpy()})
    for seat in SEATS:
        out[f"persona_{seat}"] = m[f"persona_{seat}"].to_numpy()
        out[f"agent_{seat}"] = m[f"agent_{seat}"].to_numpy()
        for column in ("payoff", "share"):
            out[f"{column}_{seat}"] = pd.to_numeric(m[f"{column}_{seat}"],
                                                    errors="coerce").to_numpy(dtype=float)
    out["deal"] = pd.to_numeric(m["deal"], errors="coerce").to_numpy(dtype=float)
    out["n_turns"] = pd.to_numeric(m["n_turns"], errors="coerce").to_numpy(dtype=float)
    t = frames.turns
    accepts = t[t["move_kind"] == "accept"].groupby("match_id")["turn_index"].min() + 1
    out["turns_to_agreement"] = accepts.reindex(out["match_id"]).to_numpy(dtype=float)
    space, front = run_frontier(frames)
    first = _first_offers(frames, space)
    out = out.merge(first, on="match_id", how="left")
    if front is not None:
        a, b = out["payoff_a"].to_numpy(), out["payoff_b"].to_numpy()
        out["pareto_optimal"] = front.pareto_optimal(a, b)
        out["welfare"] = front.welfare(a, b)
        out["nash_product"] = front.nash_product(a, b)
        out["nash_distance"] = front.distance(a, b, front.nash)
        out["ks_distance"] = front.distance(a, b, front.ks)
    return out


def frame_outcomes(frames: RunFrames) -> pd.DataFrame:
    """match_outcomes, built once per frames (the summary and the report's figures share it)."""
    cache = frames.__dict__
    if "_outcomes" not in cache:
        cache["_outcomes"] = match_outcomes(frames)
    return cache["_outcomes"]


def _claim_scale(space: Any, seats: pd.Series) -> np.ndarray:
    if space is None:
        return np.full(len(seats), np.nan)
    scale = {s: (v if v and v > 0 else np.nan) for s, v in zip(SEATS, space.claim_scale)}
    return seats.map(scale).to_numpy(dtype=float)


def _proposals(frames: RunFrames) -> pd.DataFrame:
    props = frames.proposals
    return props[(props["status"] == "ok") & props["claim"].notna()]


def _first_offers(frames: RunFrames, space: Any) -> pd.DataFrame:
    props = _proposals(frames)
    first = props.sort_values(["match_id", "turn_index"], kind="stable")
    first = first.drop_duplicates("match_id")[["match_id", "speaker", "proposer", "claim"]]
    first = first.rename(columns={"speaker": "first_seat", "proposer": "first_persona",
                                  "claim": "first_claim"})
    first["first_claim_share"] = first["first_claim"].to_numpy(dtype=float) / _claim_scale(
        space, first["first_seat"])
    return first


def _mean_ci(values: Any) -> dict[str, Any]:
    v = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(dtype=float)
    n = len(v)
    if not n:
        return {"n": 0, "mean": None, "ci": [None, None]}
    mean = float(v.mean())
    if n < 2:
        return {"n": n, "mean": mean, "ci": [None, None]}
    half = t_quantile(0.975, n - 1) * float(v.std(ddof=1)) / math.sqrt(n)
    return {"n": n, "mean": mean, "ci": [mean - half, mean + half]}


def concession_curves(frames: RunFrames) -> pd.DataFrame:
    """Each seat's mean claim (as a share of what it could claim: the game's declared frontier
    scale, else its declared behaviour) by turn number, with 95% intervals: columns seat, turn,
    n, mean, ci_low, ci_high; `attrs["scaled"]` says whether they are shares."""
    space, _ = run_frontier(frames)
    props = _proposals(frames)
    cols = ["seat", "turn", "n", "mean", "ci_low", "ci_high"]
    if props.empty:
        return pd.DataFrame(columns=cols)
    share = props["claim"].to_numpy(dtype=float) / _claim_scale(space, props["speaker"])
    scaled = not np.isnan(share).all()
    if not scaled:  # no declared frontier (N seats ...): the game's declared behaviour
        share = declared_shares(frames, props).share.to_numpy(dtype=float)
        scaled = not np.isnan(share).all()
    if not scaled:  # nothing declared: the claim itself
        share = props["claim"].to_numpy(dtype=float)
    data = pd.DataFrame({"seat": props["speaker"].to_numpy(), "y": share,
                         "turn": props["turn_index"].to_numpy(dtype=int) + 1})
    data = data[data["turn"] <= MAX_CURVE_TURNS].dropna()
    g = data.groupby(["seat", "turn"])["y"].agg(["count", "mean", "std"]).reset_index()
    half = np.array([t_quantile(0.975, n - 1) if n > 1 else np.nan for n in g["count"]])
    half = half * g["std"].to_numpy() / np.sqrt(g["count"].to_numpy())
    out = pd.DataFrame({"seat": g["seat"], "turn": g["turn"], "n": g["count"],
                        "mean": g["mean"], "ci_low": g["mean"] - half,
                        "ci_high": g["mean"] + half})[cols]
    out.attrs["scaled"] = scaled  # True: shares of what each seat could claim
    return out


def anchoring(outcomes: pd.DataFrame) -> dict[str, Any]:
    """The first mover's final share regressed on its first offer's share, over deals, with
    standard errors clustered by the first mover's persona (by the other seat's persona when a
    script opened, each match alone when neither is a persona): a slope of 1 means the end
    result moves one for one with the opening demand."""
    from analysis.ols import ols_clustered

    if "first_seat" not in outcomes or outcomes["first_seat"].isna().all():
        return {"n": 0, "status": "too few data", "status_reason": "no first offers"}
    d = outcomes[(outcomes["deal"] > 0) & outcomes["first_seat"].notna()]
    final = np.where(d["first_seat"] == "a", d["share_a"], d["share_b"])
    none = pd.Series(None, index=d.index, dtype=object)
    other = pd.Series(np.where(d["first_seat"] == "a", d.get("persona_b", none),
                               d.get("persona_a", none)), index=d.index)
    persona = d["first_persona"].fillna(other).fillna(d["match_id"]).astype(str)
    frame = pd.DataFrame({"y": final, "first_offer": d["first_claim_share"].to_numpy(),
                          "persona": persona.to_numpy()})
    fit = ols_clustered(frame, "y", ["first_offer"], "persona")
    keep = ("n", "clusters", "status", "status_reason") + (("r2",) if fit["status"] == "ok"
                                                            else ())
    out = {k: fit[k] for k in keep if k in fit}
    if "coef" in fit:
        out.update({"slope": fit["coef"]["first_offer"], "se": fit["se"]["first_offer"],
                    "ci": fit["ci"]["first_offer"], "p": fit["p"]["first_offer"],
                    "intercept": fit["coef"]["intercept"],
                    "significant": fit["significant"].get("first_offer", False)})
    return out


def outcome_summary(frames: RunFrames) -> dict[str, Any]:
    """The run's outcomes in one dict (JSON-safe): seats, deals, turns, frontier, first offers,
    anchoring and the concession curves."""
    outcomes = frame_outcomes(frames)
    roles = seat_roles(frames)
    space, front = run_frontier(frames)
    deals = outcomes[outcomes["deal"] > 0]
    result: dict[str, Any] = {
        "matches": int(len(outcomes)),
        "deal_rate": float(outcomes["deal"].mean()) if len(outcomes) else None,
        "seats": (_seat_table(frames, roles) if frames.multi_seat else
                  {s: {"role": roles[s], "label": seat_label(s, roles),
                       "payoff": _mean_ci(outcomes[f"payoff_{s}"]),
                       "share": _mean_ci(outcomes[f"share_{s}"]),
                       "share_in_deals": _mean_ci(deals[f"share_{s}"])} for s in SEATS}),
        "players": _by_agent(outcomes) if not frames.multi_seat else _seat_agents(frames),
        "turns_to_agreement": {**_mean_ci(outcomes["turns_to_agreement"]),
                               "median": _median(outcomes["turns_to_agreement"])},
        "offer": space.offer if space is not None else "offer",
        "first_offer": {s: _mean_ci(outcomes.loc[outcomes["first_seat"] == s,
                                                 "first_claim_share"]) for s in SEATS},
        "anchoring": anchoring(outcomes),
        "concession": concession_curves(frames).to_dict("records"),
    }
    if front is not None:
        best = front.as_dict()
        nash_max = best["nash_product"]
        result["frontier"] = {
            **best,
            "pareto_optimal_share": float(outcomes["pareto_optimal"].mean()) if len(outcomes)
            else None,
            "pareto_optimal_share_of_deals": (float(deals["pareto_optimal"].mean())
                                              if len(deals) else None),
            "welfare": _mean_ci(outcomes["welfare"]),
            "welfare_share": (float(outcomes["welfare"].mean() / front.max_welfare)
                              if len(outcomes) and front.max_welfare > 0 else None),
            "nash_product": _mean_ci(outcomes["nash_product"]),
            "nash_product_ratio": (float(outcomes["nash_product"].mean() / nash_max)
                                   if nash_max and len(outcomes) else None),
            "nash_distance": _mean_ci(outcomes["nash_distance"]),
            "ks_distance": _mean_ci(outcomes["ks_distance"]),
        }
    return result


def _ok_seats(frames: RunFrames) -> pd.DataFrame:
    s = frames.seats
    return s[s["status"] == "ok"]


def _seat_table(frames: RunFrames, roles: dict[str, str]) -> dict[str, Any]:
    """Each seat's payoff and share from the seats frame (games of any seat count)."""
    s = _ok_seats(frames)
    out = {}
    for seat, rows in s.groupby("seat", sort=True):
        deals = rows[rows["deal"] > 0]
        out[str(seat)] = {"role": roles.get(str(seat), "?"), "label": seat_label(str(seat),
                                                                                   roles),
                          "matches": int(len(rows)), "payoff": _mean_ci(rows["payoff"]),
                          "share": _mean_ci(rows["share"]),
                          "share_in_deals": _mean_ci(deals["share"])}
    return out


def _seat_agents(frames: RunFrames) -> dict[str, Any]:
    s = _ok_seats(frames)
    return {str(agent): {"seats": int(len(g)), "payoff": _mean_ci(g["payoff"]),
                         "share": _mean_ci(g["share"])}
            for agent, g in s.assign(agent=s["agent"].fillna("?").astype(str)).groupby(
                "agent", sort=True)}


def _by_agent(outcomes: pd.DataFrame) -> dict[str, Any]:
    """Payoff and share by who sat in the seat (an LLM, a surrogate, a scripted confederate),
    over both seats: Study 1's persona against its script, seat by seat."""
    parts = [pd.DataFrame({"agent": outcomes[f"agent_{s}"].fillna("?").astype(str),
                           "payoff": outcomes[f"payoff_{s}"], "share": outcomes[f"share_{s}"]})
             for s in SEATS]
    both = pd.concat(parts, ignore_index=True)
    return {str(agent): {"seats": int(len(g)), "payoff": _mean_ci(g["payoff"]),
                         "share": _mean_ci(g["share"])}
            for agent, g in both.groupby("agent", sort=True)}


def _median(values: pd.Series) -> float | None:
    v = values.dropna()
    return float(v.median()) if len(v) else None


def format_outcomes(result: dict[str, Any]) -> list[str]:
    """Lines for `analyze`'s text output."""
    lines = []
    seats = result.get("seats", {})
    cells = []
    for s, info in seats.items():
        share = info["share"]["mean"]
        payoff = info["payoff"]["mean"]
        if payoff is not None:
            cells.append(f"{info['label']} payoff {payoff:.2f}"
                         + (f", share {share:.1%}" if share is not None else ""))
    if cells:
        lines.append("  outcomes by seat            " + "; ".join(cells))
    players = result.get("players", {})
    if len(players) > 1:
        lines.append("  outcomes by player          " + "; ".join(
            f"{agent} payoff {p['payoff']['mean']:.2f}"
            + (f", share {p['share']['mean']:.1%}" if p["share"]["mean"] is not None else "")
            for agent, p in players.items() if p["payoff"]["mean"] is not None))
    turns = result.get("turns_to_agreement", {})
    if turns.get("mean") is not None:
        lines.append(f"  turns to (first) agreement  mean {turns['mean']:.1f}, median "
                     f"{turns['median']:g} ({turns['n']:,} matches with an agreement)")
    f = result.get("frontier")
    if f:
        nash = f["nash"]
        ks = f["kalai_smorodinsky"]
        point = lambda p: "none" if p is None else f"({p[0]:g}, {p[1]:g})"  # noqa: E731
        pareto = f["pareto_optimal_share"]
        lines.append(f"  frontier (seat a, seat b)   Nash {point(nash)}, Kalai-Smorodinsky "
                     f"{point(ks)}, max welfare {f['max_welfare']:g}")
        if pareto is not None:
            dist = f["nash_distance"]["mean"]
            lines.append(f"  deals against the frontier  {pareto:.1%} Pareto-optimal; welfare "
                         f"{f['welfare_share']:.1%} of the maximum"
                         + (f"; mean distance to Nash {dist:.2f}" if dist is not None else ""))
    a = result.get("anchoring", {})
    if a.get("slope") is not None:
        lo, hi = a["ci"]
        ci = f" [{lo:+.3f}, {hi:+.3f}]" if lo is not None else ""
        lines.append(f"  anchoring (final share on first offer) slope {a['slope']:+.3f}{ci}, "
                     f"{a['n']:,} deals ({a['status']})")
    elif a.get("status"):
        lines.append(f"  anchoring: {a['status']}" + (f" ({a['status_reason']})"
                                                    if a.get("status_reason") else ""))
    return lines
