"""Counterfactual audits: each varied attribute's effect, as within-identity contrasts.

In a counterfactual run (arena.counterfactual) the variants of one identity meet the same
opponents in the same seats with the same seeds, so for each identity the difference between
the mean outcome of its variants with value v and those with the reference value is the
attribute's effect on that identity, everything else held fixed. The estimate is the mean of
these differences over identities; its interval and p-value come from their spread (a t on
identities - 1 degrees of freedom: clustered by identity, the unit that was drawn). The other
varied attributes are averaged over within the identity (every combination is present).

Outcomes: `claim_share` (the variant's claims as proposer over the stake), `share` (its share
of the match's payoff), and `rating:<rater>` for every rater whose scores the run holds. The
p-values of one outcome's contrasts are Holm-corrected together. A contrast left
with one identity is `too few data`; one whose differences are all equal is `degenerate` (a
zero spread is no interval), following analysis.fit_status.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from arena.store import StoreReader
from analysis.distributions import t_quantile, t_two_sided_p
from analysis.fit_status import ALPHA, DEGENERATE, OK, TOO_FEW, ZERO_SE

FAMILY = "Holm over the contrasts of each outcome"


def variant_table(personas: pd.DataFrame) -> pd.DataFrame:
    """persona_id, identity and one column per attribute, for personas of an identity set."""
    if personas.empty or "identity" not in personas.columns:
        return pd.DataFrame(columns=["persona_id", "identity"])
    rows = []
    for pid, identity, attrs in zip(personas["persona_id"], personas["identity"],
                                    personas.get("attributes", [None] * len(personas))):
        if not isinstance(identity, str) or not identity:
            continue
        values = json.loads(attrs) if isinstance(attrs, str) and attrs else {}
        rows.append({"persona_id": pid, "identity": identity, **values})
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["persona_id", "identity"])


def value_order(attribute: str, values: list[str]) -> list[str]:
    """The generator's order of an attribute's values (its first is the reference); numbers
    in numeric order; any other value set alphabetically."""
    from agents.personas.avatar_variants import ATTRIBUTES

    known = list(ATTRIBUTES.get(attribute, {}))
    if known and set(values) <= set(known):
        return [v for v in known if v in values]
    try:
        return sorted(values, key=float)
    except ValueError:
        return sorted(values)


def contrast(diffs: np.ndarray) -> dict[str, Any]:
    """Mean of per-identity differences with a t interval on their spread (see the module)."""
    n = int(len(diffs))
    out: dict[str, Any] = {"n_identities": n, "estimate": float(diffs.mean()) if n else None,
                           "se": None, "ci_low": None, "ci_high": None, "p": None,
                           "status": OK, "reason": ""}
    if n < 2:
        out.update(status=TOO_FEW, reason=f"{n} identity with both values (2 or more needed)")
        return out
    se = float(diffs.std(ddof=1) / math.sqrt(n))
    scale = max(1.0, float(np.abs(diffs).max()))
    if se <= ZERO_SE * scale:
        out.update(status=DEGENERATE, reason=f"every identity's difference is {diffs[0]:g}: "
                                             "no spread to make an interval from")
        return out
    t = t_quantile(1 - ALPHA / 2, n - 1)
    p = float(t_two_sided_p(np.asarray([out["estimate"] / se]), n - 1)[0])
    out.update(se=se, ci_low=out["estimate"] - t * se, ci_high=out["estimate"] + t * se, p=p)
    return out


def attribute_effects(outcome: pd.DataFrame, variants: pd.DataFrame,
                      name: str) -> list[dict[str, Any]]:
    """Contrasts of every attribute value with its reference for one outcome (`persona_id`,
    `y` rows, several per persona allowed), Holm-corrected together."""
    data = outcome.dropna(subset=["y"]).merge(variants, on="persona_id", how="inner")
    attributes = [c for c in variants.columns if c not in ("persona_id", "identity")]
    rows: list[dict[str, Any]] = []
    if data.empty:
        return rows
    means = data.groupby("persona_id", sort=True)["y"].mean()
    per = variants.set_index("persona_id").loc[means.index].assign(y=means.to_numpy())
    for attribute in attributes:
        present = [v for v in per[attribute].dropna().unique()]
        order = value_order(attribute, [str(v) for v in present])
        if len(order) < 2:
            continue
        cell = per.groupby(["identity", attribute])["y"].mean().unstack(attribute)
        reference = order[0]
        for value in order[1:]:
            both = cell[[reference, value]].dropna()
            diffs = (both[value] - both[reference]).to_numpy(dtype=float)
            rows.append({"outcome": name, "attribute": attribute, "value": value,
                         "reference": reference, **contrast(diffs)})
    tested = [r for r in rows if r["p"] is not None]
    if tested:
        for r, p in zip(tested, holm([r["p"] for r in tested])):
            r["p_holm"] = float(p)
    for r in rows:
        r.setdefault("p_holm", None)
        r["significant"] = r["p_holm"] is not None and r["p_holm"] < ALPHA
    return rows


def outcomes(frames: Any) -> dict[str, pd.DataFrame]:
    """(persona_id, y) rows of each outcome the run holds (see the module)."""
    out: dict[str, pd.DataFrame] = {}
    props = frames.proposals
    stake = frames.units.stake
    if not props.empty:
        claims = props[props["status"] == "ok"]
        scale = float(stake) if stake else 1.0
        per_match = claims.groupby(["match_id", "proposer"])["claim"].mean().reset_index()
        out["claim_share" if stake else "claim"] = pd.DataFrame(
            {"persona_id": per_match["proposer"], "y": per_match["claim"] / scale})
    players = frames.players
    if not players.empty:
        ok = players[players["status"] == "ok"]
        out["share"] = pd.DataFrame({"persona_id": ok["persona"], "y": ok["share"]})
    ratings = frames.ratings
    if ratings is not None and not ratings.empty:
        for rater, part in ratings.dropna(subset=["score"]).groupby("rater", sort=True):
            if rater == "design":
                continue  # the generator's level, not a judgement
            out[f"rating:{rater}"] = pd.DataFrame({"persona_id": part["persona_id"],
                                                   "y": part["score"].astype(float)})
    return out


def holm(pvalues: list[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (as statsmodels' multipletests(method="holm") gives
    them, which the tests check; its gc.collect() on every call costs a long-lived process
    half a second a call)."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def store_has_identity_sets(store: Path) -> bool:
    """The same question asked of the store itself, so a run of unrelated personas (nearly
    every run) is not loaded a second time to be told it has no identity sets."""
    with StoreReader(store) as reader:
        if "identity" not in reader.columns("personas"):
            return False
        row = reader.conn.execute("SELECT 1 FROM personas WHERE identity IS NOT NULL AND "
                                  "identity != '' LIMIT 1").fetchone()
    return row is not None


def has_identity_sets(frames: Any) -> bool:
    """Does the run hold personas of identity sets (a counterfactual pool)?"""
    p = frames.personas
    return "identity" in p.columns and bool(p["identity"].fillna("").astype(str).ne("").any())


def counterfactual_effects(frames: Any) -> dict[str, Any]:
    """Every attribute's effect on every outcome (see the module), or why there is none."""
    variants = variant_table(frames.personas)
    result: dict[str, Any] = {"identities": int(variants["identity"].nunique()),
                              "attributes": [c for c in variants.columns
                                             if c not in ("persona_id", "identity")],
                              "family": FAMILY, "alpha": ALPHA, "rows": []}
    if variants.empty:
        result["note"] = "no personas of an identity set (manifest column 'identity')"
        return result
    for name, table in outcomes(frames).items():
        result["rows"] += attribute_effects(table, variants, name)
    return result


def format_counterfactual(result: dict[str, Any]) -> list[str]:
    """Plain-text lines for `analyze`."""
    lines = [f"counterfactual attributes ({result['identities']} identities; {result['family']}):"]
    if result.get("note"):
        return lines + [f"  {result['note']}"]
    for r in result["rows"]:
        head = f"  {r['outcome']:<14} {r['attribute']}={r['value']} vs {r['reference']}:"
        if r["status"] != OK:
            lines.append(f"{head} {r['estimate'] if r['estimate'] is None else round(r['estimate'], 4)}"
                         f" ({r['status']}: {r['reason']})")
            continue
        flag = " *" if r["significant"] else ""
        lines.append(f"{head} {r['estimate']:+.4f} [{r['ci_low']:+.4f}, {r['ci_high']:+.4f}] "
                     f"p={r['p']:.3g} Holm p={r['p_holm']:.3g}{flag} (n={r['n_identities']})")
    return lines
