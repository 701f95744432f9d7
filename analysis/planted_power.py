"""How many paid matches does an experiment need? Simulate it with its planted agent (SIMULATED).

The planted formula of a run config (`[agents.X] planted = {...}`, agents.negotiators.planted)
is simulated many times, vectorised (numpy, not the match engine), and each simulated study is
analysed as `analyze` analyses the real one:

- `equivalence`: two runs of the same pool in conditions A and B; TOST of the mean claim
  difference B - A against +-margin, paired by persona (each persona's mean claim in each
  condition), df = personas - 1, as analysis.equivalence does. Power: the share of studies
  that conclude equivalence. The true difference is the planted one (condition[B] -
  condition[A]) or `--effect`. A match is one of either run: the study plays N in each.
- `anchoring`: a confederate opens each match with each level of `design.factors.first_offer`;
  the persona's counter-claim share on the opening share, OLS clustered by persona, t with
  personas - 1 df (analysis.anchoring's `counter`). Power: the share that find the planted
  `anchor` slope at level alpha.
- `attribute`: a counterfactual study: identities rendered with attribute values A and B, both
  variants meeting the same opponents; each identity's difference of its variants' mean claims,
  t-test over identities. Power: the share that find the planted difference (attribute[B] -
  attribute[A]) at level alpha. Variants of one identity share their persona effect (as the
  planted agent has them) and draw their own noise.

Claims are points of the demand share (0..100; ultimatum-4: dollars of $100), rounded to whole
points and kept in 0..100 as the agent's offers are. A persona proposes `proposals` times a match
(the scenario's rounds / 2 for the ultimatum protocol). Cost: calls a match from arena.estimate
(both seats are models, or one against the confederate).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import sparse, stats

from agents.negotiators.planted import PlantedParams, level_shift
from scenarios.errors import InputError

STUDIES = ("equivalence", "anchoring", "attribute")
MAX_UNITS = 100_000  # repetitions of the study's block one search may try
MAX_CELLS = 2_000_000_000  # simulated proposals (sims x proposals) one table may ask for
BATCH_CELLS = 8_000_000  # proposals x runs simulated at once (memory bound)
CONFIRM_STEPS = 40


@dataclass(frozen=True)
class PlantedStudy:
    """One experiment's simulated shape. `effect`: equivalence, the true difference B - A;
    anchoring, the slope; attribute, the difference B - A (points)."""

    kind: str
    params: PlantedParams
    effect: float
    levels: int = 7
    per_level: int = 5
    proposals: int = 2
    margin: float | None = None
    openings: tuple[float, ...] = ()  # points of the demand share
    identities: int = 20
    calls_per_match: int = 8
    labels: tuple[str, str] = ("A", "B")
    # equivalence: what each condition shows (own persona, the other seat's): an unshown
    # persona plants no level, attribute or persona effect, as in the agent
    shown: tuple[tuple[bool, bool], tuple[bool, bool]] = ((True, True), (True, True))

    def __post_init__(self) -> None:
        if self.kind not in STUDIES:
            raise InputError(f"--study: {self.kind!r} (expected one of {', '.join(STUDIES)})")
        if self.kind == "equivalence" and not (self.margin and self.margin > 0):
            raise InputError("--margin: an equivalence study needs a positive margin (points)")
        if self.kind == "anchoring" and len(self.openings) < 2:
            raise InputError("--config: an anchoring study needs design.factors.first_offer "
                             "with 2 or more openings")
        if self.personas < 2 or (self.kind == "attribute" and self.identities < 2):
            raise InputError("--config: at least 2 personas (identities) are needed for a "
                             "clustered test")

    @property
    def personas(self) -> int:
        return self.levels * self.per_level

    @property
    def block(self) -> int:
        """Matches of one unit of the study: one in each condition; one of every persona at
        every opening; or one of each variant of every identity."""
        return {"equivalence": 2, "anchoring": self.personas * len(self.openings),
                "attribute": 2 * self.identities}[self.kind]

    @property
    def min_units(self) -> int:
        return self.personas if self.kind == "equivalence" else 1  # every persona plays


def _finish(y: np.ndarray) -> np.ndarray:
    """As the agent's offers are: whole points in 0..100."""
    return np.clip(np.round(y), 0.0, 100.0)


def _mid(study: PlantedStudy) -> float:
    return (study.levels + 1) / 2


def _shifts(effect: Any, levels: np.ndarray, mid: float) -> np.ndarray:
    return np.array([level_shift(effect, float(lv), mid) for lv in levels])


def _batches(n: int, sims: int) -> list[int]:
    size = max(1, BATCH_CELLS // max(n, 1))
    return [min(size, sims - i) for i in range(0, sims, size)]


def _equivalence(study: PlantedStudy, units: int, sims: int, alpha: float,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p, k, params = study.personas, study.proposals, study.params
    levels = np.arange(p) // study.per_level + 1
    own = _shifts(params.own, levels, _mid(study))
    opp = _shifts(params.opp, np.arange(1, study.levels + 1), _mid(study))
    # each match seats persona i % P first and a drawn persona second (a factorial's balance)
    a = np.arange(units) % p
    b = rng.integers(0, p, size=units)
    proposer = np.repeat(np.concatenate([a, b]), k)
    other = np.repeat(np.concatenate([b, a]), k)
    n = len(proposer)
    sums = sparse.csr_matrix((np.ones(n), (proposer, np.arange(n))), shape=(p, n))
    counts = np.asarray(sums.sum(axis=1)).ravel()
    own_part, opp_part = own[proposer], opp[levels[other] - 1]
    diffs, ses, hits = [], [], []
    crit = float(stats.t.ppf(1 - alpha, p - 1))
    for m in _batches(2 * n, sims):
        u = rng.normal(0.0, params.persona_sd, size=(p, m))
        means = []
        for shift, (mine, theirs) in zip((0.0, study.effect), study.shown):  # A, then B
            mean = params.base + shift + mine * own_part + theirs * opp_part
            y = _finish(mean[:, None] + mine * u[proposer]
                        + rng.normal(0.0, params.noise_sd, size=(n, m)))
            means.append((sums @ y) / counts[:, None])
        d = means[1] - means[0]
        diff, se = d.mean(axis=0), d.std(axis=0, ddof=1) / math.sqrt(p)
        diffs.append(diff)
        ses.append(se)
        with np.errstate(invalid="ignore"):
            hits.append((np.abs(diff) + crit * se < study.margin) & (se > 0))
    return np.concatenate(diffs), np.concatenate(ses), np.concatenate(hits)


def _anchoring(study: PlantedStudy, units: int, sims: int, alpha: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p, params = study.personas, study.params
    n = units * study.block
    persona = np.arange(n) % p
    opening = np.asarray(study.openings)[(np.arange(n) // p) % len(study.openings)]
    levels = persona // study.per_level + 1
    mean = (params.base + _shifts(params.own, np.arange(1, study.levels + 1),
                                  _mid(study))[levels - 1]
            + study.effect * (opening - 50.0))
    x = opening / 100.0
    xc = x - x.mean()
    sxx = float(xc @ xc)
    sums = sparse.csr_matrix((np.ones(n), (persona, np.arange(n))), shape=(p, n))
    correction = p / (p - 1) * (n - 1) / (n - 2)
    crit = float(stats.t.ppf(1 - alpha / 2, p - 1))
    slopes, ses, hits = [], [], []
    for m in _batches(n, sims):
        u = rng.normal(0.0, params.persona_sd, size=(p, m))
        y = _finish(mean[:, None] + u[persona] + rng.normal(0.0, params.noise_sd,
                                                            size=(n, m))) / 100.0
        slope = (xc @ y) / sxx
        resid = y - y.mean(axis=0) - np.outer(xc, slope)
        score = sums @ (xc[:, None] * resid)
        se = np.sqrt(correction * (score ** 2).sum(axis=0)) / sxx
        slopes.append(slope)
        ses.append(se)
        with np.errstate(divide="ignore", invalid="ignore"):
            hits.append(np.abs(slope / se) > crit)
    return np.concatenate(slopes), np.concatenate(ses), np.concatenate(hits)


def _attribute(study: PlantedStudy, units: int, sims: int, alpha: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    i, k, params = study.identities, study.proposals, study.params
    n = i * units * k  # one variant's proposals
    identity = np.repeat(np.arange(i), units * k)
    levels = identity % study.levels + 1
    sums = sparse.csr_matrix((np.ones(n), (identity, np.arange(n))), shape=(i, n))
    counts = float(units * k)
    own = _shifts(params.own, np.arange(1, study.levels + 1), _mid(study))[levels - 1]
    crit = float(stats.t.ppf(1 - alpha / 2, i - 1))
    diffs, ses, hits = [], [], []
    for m in _batches(2 * n, sims):
        u = rng.normal(0.0, params.persona_sd, size=(i, m))
        # the same opponents for both variants: their level shift is common to both
        opp = _shifts(params.opp, np.arange(1, study.levels + 1), _mid(study))[
            rng.integers(0, study.levels, size=n)]
        common = params.base + own[:, None] + opp[:, None] + u[identity]
        means = [(sums @ _finish(common + shift + rng.normal(0.0, params.noise_sd,
                                                                size=(n, m)))) / counts
                 for shift in (0.0, study.effect)]
        d = means[1] - means[0]
        diff, se = d.mean(axis=0), d.std(axis=0, ddof=1) / math.sqrt(i)
        diffs.append(diff)
        ses.append(se)
        with np.errstate(divide="ignore", invalid="ignore"):
            hits.append(np.abs(diff / se) > crit)
    return np.concatenate(diffs), np.concatenate(ses), np.concatenate(hits)


_SIMULATE = {"equivalence": _equivalence, "anchoring": _anchoring, "attribute": _attribute}


def simulate(study: PlantedStudy, units: int, sims: int = 200, alpha: float = 0.05,
             seed: int = 1) -> dict[str, Any]:
    """Power of the study with `units` blocks (`units * block` matches in all)."""
    if units < study.min_units:
        raise InputError(f"--matches: the {study.kind} study needs at least "
                         f"{study.min_units * study.block:,} matches (every persona plays)")
    rng = np.random.default_rng(np.random.SeedSequence([seed, units, STUDIES.index(study.kind)]))
    estimate, se, hit = _SIMULATE[study.kind](study, units, sims, alpha, rng)
    power = float(hit.mean())
    half = 1.96 * math.sqrt(max(power * (1 - power), 0.0) / sims)
    finite = se[np.isfinite(se)]
    return {"matches": int(units * study.block), "units": int(units), "power": power,
            "power_ci": [max(0.0, power - half), min(1.0, power + half)],
            "mean_estimate": float(estimate.mean()),
            "se": float(np.sqrt((finite ** 2).mean())) if finite.size else math.nan,
            "degenerate": bool(not finite.size or not (finite > 0).any()),
            "llm_calls": int(units * study.block * study.calls_per_match)}


def _se_for(study: PlantedStudy, target: float, alpha: float) -> float | None:
    """The standard error at which the test reaches `target` (normal approximation)."""
    effect = abs(study.effect)
    if study.kind == "equivalence":
        margin = float(study.margin or 0.0)
        if effect >= margin:
            return None  # equivalence is (rightly) not concluded however many matches
        z = stats.norm.ppf(1 - alpha)
        power = lambda s: (stats.norm.cdf((margin - effect) / s - z)  # noqa: E731
                           + stats.norm.cdf((margin + effect) / s - z) - 1)
        low, high = 1e-9, margin * 10
        for _ in range(100):
            mid = (low + high) / 2
            low, high = (mid, high) if power(mid) >= target else (low, mid)
        return low
    if effect == 0:
        return None  # nothing planted, nothing to find
    return effect / (stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(target))


def units_for_power(study: PlantedStudy, target: float = 0.8, sims: int = 200,
                    alpha: float = 0.05, seed: int = 1) -> int | None:
    """The fewest blocks whose simulated power, the figure the table prints, reaches `target`;
    None when none within MAX_UNITS does (or the effect makes it impossible). The search steps
    on the simulated standard error (smooth, ~1/sqrt(N)), then confirms upwards in 2% steps."""
    wanted = _se_for(study, target, alpha)
    if wanted is None:
        return None
    units = study.min_units
    for _ in range(12):
        row = simulate(study, units, sims, alpha, seed)
        if row["degenerate"] or not math.isfinite(row["se"]):
            return None
        new = max(study.min_units, math.ceil(units * (row["se"] / wanted) ** 2))
        if new > MAX_UNITS:
            return None
        if abs(new - units) <= max(1, 0.02 * units):
            units = new
            break
        units = new
    for _ in range(CONFIRM_STEPS):
        if units > MAX_UNITS:
            return None
        if simulate(study, units, sims, alpha, seed)["power"] >= target:
            return units
        units = max(units + 1, math.ceil(units * 1.02))
    return None


def planted_power(study: PlantedStudy, sims: int = 200, alpha: float = 0.05, seed: int = 1,
                  target: float = 0.8, matches: tuple[int, ...] = (),
                  source: str = "") -> dict[str, Any]:
    """The table `persona-arena power --study ...` prints."""
    if not 10 <= sims <= 10_000:
        raise InputError(f"--sims {sims}: between 10 and 10,000 simulated studies")
    needed = units_for_power(study, target, sims, alpha, seed)
    grid = sorted({max(study.min_units, -(-m // study.block)) for m in matches})
    if not grid:
        grid = sorted({max(study.min_units, needed // 2), needed, needed * 2} if needed
                      else {study.min_units, study.min_units * 4})
    if needed and needed not in grid:
        grid = sorted({*grid, needed})
    for units in grid:
        per = units * study.block * study.proposals * (1 if study.kind == "anchoring" else 2)
        if per * sims > MAX_CELLS:
            raise InputError(f"--matches {units * study.block:,} with --sims {sims:,}: too "
                             "many simulated proposals; lower either")
    rows = [simulate(study, u, sims, alpha, seed) for u in grid]
    p = study.params
    return {"study": study.kind, "simulated": "SIMULATED (planted agent)", "source": source,
            "effect": study.effect, "margin": study.margin, "labels": list(study.labels),
            "personas": study.personas, "identities": study.identities if study.kind ==
            "attribute" else None, "openings": list(study.openings) or None,
            "proposals_per_match": study.proposals, "block": study.block,
            "planted": {"base": p.base, "persona_sd": p.persona_sd, "noise_sd": p.noise_sd},
            "alpha": alpha, "sims": sims, "seed": seed, "target_power": target,
            "calls_per_match": study.calls_per_match, "power": rows,
            "matches_needed": needed * study.block if needed else None,
            "llm_calls_needed": (needed * study.block * study.calls_per_match
                                 if needed else None)}


_WHAT = {"equivalence": "conclude equivalence (TOST) of {b} and {a}, true difference {effect:+g}"
                        " points, margin +-{margin:g}",
         "anchoring": "find a planted anchoring slope of {effect:+g} (counter-claim share per "
                      "opening share)",
         "attribute": "find a planted attribute difference {b} - {a} of {effect:+g} points "
                      "within identities"}


def format_planted_power(result: dict[str, Any]) -> str:
    a, b = result["labels"]
    what = _WHAT[result["study"]].format(a=a, b=b, effect=result["effect"],
                                         margin=result["margin"] or 0)
    unit = {"equivalence": f"{result['personas']} personas, the same in both runs; matches "
                           "of both runs together, half in each",
            "anchoring": f"{result['personas']} personas x {len(result['openings'] or [])} "
                         f"openings: matches in blocks of {result['block']:,}",
            "attribute": f"{result['identities']} identities x 2 variants meeting the same "
                         f"opponents: matches in blocks of {result['block']:,}"
            }[result["study"]]
    lines = [f"SIMULATED power (planted agent; {result['source']}): to {what}",
             f"  ({unit}; alpha {result['alpha']:g}; {result['sims']} simulated studies)",
             f"  {'matches':>9} {'LLM calls':>10} {'power':>7}  95% MC interval"]
    for row in result["power"]:
        lo, hi = row["power_ci"]
        lines.append(f"  {row['matches']:>9,} {row['llm_calls']:>10,} {row['power']:>7.1%}  "
                     f"{lo:.1%}..{hi:.1%}")
    if result["matches_needed"]:
        at = next(r["power"] for r in result["power"]
                  if r["matches"] == result["matches_needed"])
        lines.append(f"  {result['target_power']:.0%} power needs {result['matches_needed']:,} "
                     f"matches ({result['llm_calls_needed']:,} LLM calls at "
                     f"{result['calls_per_match']} a match): {at:.1%} simulated there")
    else:
        lines.append(f"  {result['target_power']:.0%} power is not reached"
                     + (" (the true difference is not inside the margin)"
                        if result["study"] == "equivalence" and abs(result["effect"])
                        >= (result["margin"] or 0) else
                        " (no effect is planted)" if result["effect"] == 0 else
                        f" within {MAX_UNITS * result['block']:,} matches"))
    return "\n".join(lines)


def with_effect(study: PlantedStudy, effect: float | None) -> PlantedStudy:
    if effect is None:
        return study
    if not (math.isfinite(effect) and abs(effect) <= (5 if study.kind == "anchoring" else 100)):
        raise InputError(f"--effect {effect!r}: a finite effect, at most "
                         f"{5 if study.kind == 'anchoring' else 100} in size")
    return replace(study, effect=float(effect))
