"""Equivalence of two conditions' behaviour: TOST (two one-sided tests) with a stated margin.

"No significant difference" is no evidence of sameness; TOST asks the opposite question: is the
difference in mean claim inside (-margin, +margin)? It rejects both "the difference is at most
-margin" and "at least +margin" at level alpha, which is the same as the 1 - 2*alpha interval
lying inside the margin. Claims are clustered by persona (a persona's proposals are not
independent), so the unit is the persona: each persona's mean claim in each group. When the
two groups hold the same personas the test is paired (each persona's difference between the
conditions; persona effects cancel), otherwise Welch's unequal-variance test. Too few personas
or no variation at all is reported as `degenerate`, never as a verdict.

The groups: condition A and condition B among the matches of one run (or of several runs read
together); with two runs and A equal to B, the first run's matches of A against the second's.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from scenarios.errors import InputError

ALPHA = 0.05
MAX_MARGIN = 1e9


def parse_pair(text: str) -> tuple[str, str]:
    """`text:both-images` -> ("text", "both-images"); one line naming the option otherwise."""
    a, sep, b = text.partition(":")
    if not sep or not a.strip() or not b.strip() or ":" in b:
        raise InputError(f"--equivalence: expected two conditions as A:B (e.g. "
                         f"text:both-images), got {text!r}")
    return a.strip(), b.strip()


def check_margin(margin: float, stake: float | None) -> float:
    """A margin is positive, finite and (where the scenario has a stake) below it."""
    if not math.isfinite(margin) or margin <= 0:
        raise InputError(f"--margin: expected a positive number in the claim's units "
                         f"(got {margin:g})")
    top = stake if stake else MAX_MARGIN
    if margin >= top:
        raise InputError(f"--margin: {margin:g} is not below {top:g}"
                         + (" (the stake): every difference would be 'equivalent'"
                            if stake else ""))
    return margin


def check_alpha(alpha: float) -> float:
    if not 0 < alpha < 0.5:
        raise InputError(f"--alpha: expected a level between 0 and 0.5 (got {alpha:g})")
    return alpha


def claims_by_condition(frames: Any, run: int) -> pd.DataFrame:
    """The personas' claims of one run with their condition: run, condition, persona, claim."""
    props = frames.proposals
    props = props[(props["status"] == "ok") & props["proposer"].notna()
                  & props["claim"].notna()]
    cond = frames.matches.set_index("match_id")["condition"]
    persona = props["proposer"].astype(str)
    personas = frames.personas
    if "image_sha256" in personas.columns and len(personas):
        # a persona is its image: the same id with another image (another pool) is another
        # persona, so two runs pair only on the images they share
        sha = personas.set_index(personas["persona_id"].astype(str))["image_sha256"]
        persona = persona + "#" + persona.map(sha).fillna("").astype(str).str[:16]
    return pd.DataFrame({"run": run, "condition": props["match_id"].map(cond).astype(str),
                         "persona": persona, "claim": props["claim"].astype(float)})


def _t_sf(t: float, df: float) -> float:
    from scipy import stats

    return float(stats.t.sf(t, df))


def _t_ppf(q: float, df: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(q, df))


def tost(claims: pd.DataFrame, a: str, b: str, margin: float, alpha: float = ALPHA,
         runs: int = 1) -> dict[str, Any]:
    """TOST of mean claim(B) - mean claim(A) against +-margin (see the module docstring)."""
    present = sorted(claims["condition"].unique())
    for name in (a, b):
        if name not in present:
            raise InputError(f"--equivalence: no condition {name!r} among the matches "
                             f"(conditions: {', '.join(present) or 'none'})")
    if a == b:
        if runs < 2:
            raise InputError(f"--equivalence: {a}:{b} compares a condition with itself; give "
                             "a second run (--with RUN_DIR) to compare the runs")
        ga, gb = claims[(claims["run"] == 0) & (claims["condition"] == a)], \
            claims[(claims["run"] == 1) & (claims["condition"] == b)]
        labels = (f"{a} (run 1)", f"{b} (run 2)")
    else:
        ga, gb = claims[claims["condition"] == a], claims[claims["condition"] == b]
        labels = (a, b)
    ma = ga.groupby("persona")["claim"].mean()
    mb = gb.groupby("persona")["claim"].mean()
    out: dict[str, Any] = {"a": labels[0], "b": labels[1], "margin": margin, "alpha": alpha,
                           "measure": "claim", "unit": "persona", "n_a": int(len(ga)),
                           "n_b": int(len(gb)), "clusters_a": int(len(ma)),
                           "clusters_b": int(len(mb)),
                           "mean_a": float(ma.mean()) if len(ma) else None,
                           "mean_b": float(mb.mean()) if len(mb) else None}
    paired = len(ma) > 0 and set(ma.index) == set(mb.index)
    out["paired"] = paired
    if paired:
        d = (mb - ma.reindex(mb.index)).to_numpy(dtype=float)
        n = len(d)
        if n < 2:
            return _degenerate(out, f"{n} persona in both groups; at least 2 are needed")
        diff, se, df = float(d.mean()), float(d.std(ddof=1)) / math.sqrt(n), n - 1.0
    else:
        if len(ma) < 2 or len(mb) < 2:
            return _degenerate(out, f"{len(ma)} and {len(mb)} personas in the two groups; at "
                               "least 2 in each are needed")
        va, vb = float(ma.var(ddof=1)) / len(ma), float(mb.var(ddof=1)) / len(mb)
        diff, se = float(mb.mean() - ma.mean()), math.sqrt(va + vb)
        df = ((va + vb) ** 2 / (va ** 2 / (len(ma) - 1) + vb ** 2 / (len(mb) - 1))
              if va + vb > 0 else float("nan"))
    out.update({"diff": diff, "se": se, "df": df})
    if not se > 0 or not math.isfinite(se):
        return _degenerate(out, "no variation between personas' mean claims: no standard "
                           "error, so no test")
    lower_t, upper_t = (diff + margin) / se, (diff - margin) / se
    p_lower, p_upper = _t_sf(lower_t, df), _t_sf(-upper_t, df)
    half = _t_ppf(1 - alpha, df) * se
    half95 = _t_ppf(0.975, df) * se
    p = max(p_lower, p_upper)
    equivalent = p < alpha
    out.update({"status": "ok", "p_lower": p_lower, "p_upper": p_upper, "p": p,
                "ci": [diff - half, diff + half], "ci_level": 1 - 2 * alpha,
                "ci95": [diff - half95, diff + half95],
                "equivalent": bool(equivalent),
                "different": bool(diff - half95 > 0 or diff + half95 < 0),
                "verdict": ("equivalent" if equivalent else "not shown equivalent")})
    return out


def _degenerate(out: dict[str, Any], reason: str) -> dict[str, Any]:
    out.update({"status": "degenerate", "status_reason": reason, "equivalent": None,
                "verdict": "degenerate"})
    return out


def equivalence(frames_list: list[Any], a: str, b: str, margin: float,
                alpha: float = ALPHA) -> dict[str, Any]:
    """TOST over one or two runs' frames (the margin checked against the first run's stake)."""
    check_alpha(alpha)
    check_margin(margin, frames_list[0].units.stake)
    scenarios = [f.meta.get("scenario") for f in frames_list]
    if len(set(scenarios)) > 1:
        raise InputError(f"--with: the runs played different scenarios ({scenarios[0]} and "
                         f"{scenarios[1]}); their claims are not in the same units")
    claims = pd.concat([claims_by_condition(f, i) for i, f in enumerate(frames_list)],
                       ignore_index=True)
    return tost(claims, a, b, margin, alpha, runs=len(frames_list))


def format_equivalence(result: dict[str, Any]) -> list[str]:
    head = (f"  equivalence of mean claim, {result['b']} - {result['a']}, margin "
            f"+-{result['margin']:g} (TOST, clustered by persona, "
            f"{'paired' if result['paired'] else 'Welch'}; personas {result['clusters_a']} / "
            f"{result['clusters_b']}, claims {result['n_a']:,} / {result['n_b']:,})")
    if result["status"] != "ok":
        return [head, f"    degenerate: {result['status_reason']}"]
    lo, hi = result["ci"]
    return [head, f"    difference {result['diff']:+.3f} [{lo:+.3f}, {hi:+.3f}] "
                  f"{result['ci_level']:.0%} CI; TOST p = {result['p']:.4f}: "
                  f"{result['verdict']}"
                  + ("; the 95% CI excludes 0 (a difference)" if result["different"] else "")]
