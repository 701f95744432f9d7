"""How many paid games does a design need? Simulate it with a surrogate many times.

Each simulated run draws a persona pool (`per_level` personas at each of `levels` levels), pairs
personas as the design does, and draws every proposal's claim from the surrogate's model
(`intercept + own*L_own + opp*L_opp + persona effect + noise`, snapped to its step and clipped
to 0..pie). Each run is analysed as a real one is: OLS `claim ~ own + opp` with standard errors
clustered by proposer persona. Power is the share of runs that find the opponent effect at level
`alpha`. The simulation is vectorised numpy (all runs of a design at once, not the match engine),
so a search over sample sizes takes seconds.

Cost: an ultimatum-4 match is 8 LLM calls when both players are LLMs (4 proposals, 4 replies),
4 against a scripted confederate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
from scipy import sparse, stats

from scenarios.errors import InputError

DESIGNS = ("factorial", "delta")
PROPOSALS_PER_MATCH = 4  # ultimatum-4: each seat proposes twice
CALLS_PER_MATCH = {"llm-vs-llm": 8, "confederate": 4}
MAX_MATCHES = 1_000_000
MAX_PERSONAS = 2_000  # a factorial block is personas^2 matches
MAX_SIMS = 10_000
MAX_CELLS = 4_000_000_000  # simulated proposals (sims x matches x 4) one table may ask for
BATCH_CELLS = 20_000_000  # proposals x runs simulated at once (memory bound)


@dataclass(frozen=True)
class Design:
    """What is simulated: the pairing design and the persona pool it draws from."""

    kind: str = "factorial"
    levels: int = 7
    per_level: int = 5
    pie: float = 100.0

    def __post_init__(self) -> None:
        if self.kind not in DESIGNS:
            raise InputError(f"--design: '{self.kind}' (expected {' or '.join(DESIGNS)})")
        if self.levels < 2:
            raise InputError("--levels: at least 2 levels are needed to see a level effect")
        if self.per_level < 1:
            raise InputError("--per-level: at least 1 persona per level")
        if self.levels * self.per_level > MAX_PERSONAS:
            raise InputError(f"--levels x --per-level: {self.levels * self.per_level:,} "
                             f"personas; at most {MAX_PERSONAS:,} are simulated")
        if not (math.isfinite(self.pie) and self.pie > 0):
            raise InputError(f"pie {self.pie!r}: expected a positive number")

    @property
    def personas(self) -> int:
        return self.levels * self.per_level

    def level(self, persona: np.ndarray) -> np.ndarray:
        return persona // self.per_level + 1


def pairings(design: Design, matches: int, rng: np.random.Generator) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    """(seat a, seat b) persona indices of `matches` matches.

    factorial: every ordered pair of the pool (an image may meet itself, as in the paper), in
    shuffled complete blocks, so any multiple of the block is exactly balanced.
    delta: the level difference is uniform over -(L-1)..(L-1), then the levels and personas
    uniform among those that give it (the `delta` design's default target).
    """
    p = design.personas
    if design.kind == "factorial":
        block = np.arange(p * p)
        reps = -(-matches // len(block))
        order = np.concatenate([rng.permutation(block) for _ in range(reps)])[:matches]
        return order // p, order % p
    span = design.levels - 1
    diff = rng.integers(-span, span + 1, size=matches)
    low = np.maximum(1, 1 + diff)  # own level range that keeps opp = own - diff in 1..L
    high = np.minimum(design.levels, design.levels + diff)
    own = low + np.floor(rng.random(matches) * (high - low + 1)).astype(int)
    opp = own - diff
    pick = lambda lv: (lv - 1) * design.per_level + rng.integers(0, design.per_level,  # noqa
                                                                 size=matches)
    return pick(own), pick(opp)


def design_matrix(design: Design, matches: int, seed: int,
                  replicate: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """X (1, own, opp) per proposal and the proposer persona of each, for one realisation of
    the design; 4 proposals a match, two by each seat."""
    rng = np.random.default_rng(np.random.SeedSequence(
        [seed, matches, DESIGNS.index(design.kind), replicate, 1]))
    a, b = pairings(design, matches, rng)
    proposer = np.concatenate([a, b, a, b])
    responder = np.concatenate([b, a, b, a])
    X = np.column_stack([np.ones(len(proposer)), design.level(proposer),
                         design.level(responder)]).astype(float)
    return X, proposer


DESIGN_REPLICATES = 10  # realisations of a random design averaged over (its luck is not power)


def simulate(params: Any, design: Design, matches: int, sims: int = 200, alpha: float = 0.05,
             seed: int = 1, test: str = "t") -> dict[str, Any]:
    """Power to detect the own and the opponent effect with `matches` matches.

    The runs are spread over several realisations of the design (which pairs meet when the
    design is not a complete block), so the answer is the design's expected power, not one
    draw's. `test`: "t" uses a t distribution with clusters - 1 degrees of freedom (what
    `analyze` reports); "z" the normal distribution (statsmodels' default for clustered errors).
    """
    if matches < 1:
        raise InputError("--matches: at least 1 match")
    replicates = max(1, min(DESIGN_REPLICATES, sims // 10))
    beta = np.array([params.intercept, params.own, params.opp])
    rng = np.random.default_rng(np.random.SeedSequence([seed, matches,
                                                        DESIGNS.index(design.kind), 2]))
    hits = {"own": 0, "opp": 0}
    estimates, variances, crits = [], [], []
    counted = 0
    n = 0
    for replicate in range(replicates):
        runs = sims // replicates + (1 if replicate < sims % replicates else 0)
        X, groups = design_matrix(design, matches, seed, replicate)
        n, k = X.shape
        clusters = int(np.unique(groups).size)
        if clusters < 2 or np.linalg.matrix_rank(X) < k:
            continue  # too few matches for the model: counts as not detected
        xtx_inv = np.linalg.inv(X.T @ X)
        mean = X @ beta
        indicator = sparse.csr_matrix((np.ones(n), (groups, np.arange(n))),
                                      shape=(design.personas, n))
        correction = clusters / (clusters - 1) * (n - 1) / (n - k)
        crit = float(stats.t.ppf(1 - alpha / 2, clusters - 1) if test == "t"
                     else stats.norm.ppf(1 - alpha / 2))
        crits.append(crit)
        weights = {1: X @ xtx_inv[1], 2: X @ xtx_inv[2]}
        done = 0
        batch = max(1, BATCH_CELLS // n)
        while done < runs:
            m = min(batch, runs - done)
            persona = rng.normal(0.0, params.sd_persona, size=(design.personas, m))
            y = mean[:, None] + persona[groups] + rng.normal(0.0, params.sd_resid, size=(n, m))
            if params.step and params.step > 0:
                y = np.round(y / params.step) * params.step
            np.clip(y, 0.0, design.pie, out=y)
            b = xtx_inv @ (X.T @ y)
            resid = y - X @ b
            for index, term in ((1, "own"), (2, "opp")):
                score = indicator @ (weights[index][:, None] * resid)
                se = np.sqrt(correction * (score ** 2).sum(axis=0))
                with np.errstate(divide="ignore", invalid="ignore"):
                    hits[term] += int((np.abs(b[index] / se) > crit).sum())
                if term == "opp":
                    variances.append(se ** 2)
            estimates.append(b[2])
            done += m
        counted += runs
    power = hits["opp"] / sims
    out: dict[str, Any] = {"matches": int(matches), "proposals": int(n),
                           "personas": design.personas, "power": power,
                           "power_ci": _binomial_ci(power, sims),
                           "power_own": hits["own"] / sims}
    if estimates:
        opp = np.concatenate(estimates)
        out.update({"mean_opp_estimate": float(opp.mean()),
                    "sd_opp_estimate": float(opp.std(ddof=1)) if len(opp) > 1 else math.nan,
                    "se_opp": float(math.sqrt(np.concatenate(variances).mean())),
                    "critical": float(np.mean(crits))})
    return out


def _binomial_ci(p: float, n: int) -> list[float]:
    half = 1.96 * math.sqrt(max(p * (1 - p), 0.0) / n) if n else math.nan
    return [max(0.0, p - half), min(1.0, p + half)]


def matches_for_power(params: Any, design: Design, target: float = 0.8, sims: int = 200,
                      alpha: float = 0.05, seed: int = 1, test: str = "t",
                      start: int | None = None) -> int | None:
    """The number of matches at which the simulated power reaches `target`; None when even
    MAX_MATCHES fall short (or there is no effect to find).

    Rejection rates from a few hundred runs are too noisy to bisect on, so the search steps on
    the simulated standard error instead, which is smooth in N: power(N) = Phi(|b| / se(N) -
    crit), se(N) ~ 1 / sqrt(N). Simulate at N, solve for the N that gives `target`, simulate
    there, and repeat until N settles (within 2%).
    """
    if params.opp == 0:
        return None
    z_target = stats.norm.ppf(target)
    n = start or design.personas ** 2 // 4 or 16
    for _ in range(12):
        row = simulate(params, design, n, sims, alpha, seed, test)
        se = row.get("se_opp")
        if not se or not math.isfinite(se):
            n *= 4
            if n > MAX_MATCHES:
                return None
            continue
        needed = (se * (row["critical"] + z_target) / abs(params.opp)) ** 2 * n
        new = max(2, math.ceil(needed))
        if new > MAX_MATCHES:
            return None
        if abs(new - n) <= max(1, 0.02 * n):
            n = new
            break
        n = new
    return _confirmed(params, design, n, target, sims, alpha, seed, test)


CONFIRM_STEPS = 40  # at most this many 2% steps up from the smooth estimate


def _confirmed(params: Any, design: Design, n: int, target: float, sims: int, alpha: float,
               seed: int, test: str) -> int | None:
    """The smallest N from the smooth estimate upwards (2% steps) whose simulated power, the
    very figure the table prints for that N, reaches `target`: the stated N never shows less
    than the stated power (the smooth estimate alone said 163 where the table showed 78.5%)."""
    for _ in range(CONFIRM_STEPS):
        if n > MAX_MATCHES:
            return None
        if simulate(params, design, n, sims, alpha, seed, test)["power"] >= target:
            return n
        n = max(n + 1, math.ceil(n * 1.02))
    return None


def power_analysis(params: Any, design: Design, matches: Sequence[int] = (),
                   effect: float | None = None, sims: int = 200, alpha: float = 0.05,
                   seed: int = 1, target: float = 0.8, test: str = "t",
                   source: str = "") -> dict[str, Any]:
    """The report `persona-arena power` prints: power at each N and the N for `target`."""
    if not 0 < alpha < 1:
        raise InputError("--alpha: a probability between 0 and 1")
    if not 10 <= sims <= MAX_SIMS:
        raise InputError(f"--sims {sims}: between 10 and {MAX_SIMS:,} simulated runs")
    if not 0 < target < 1:
        raise InputError(f"--power {target}: a probability between 0 and 1, e.g. 0.8")
    for n in matches:
        if not 1 <= n <= MAX_MATCHES:
            raise InputError(f"--matches {n}: between 1 and {MAX_MATCHES:,}")
        if sims * n * PROPOSALS_PER_MATCH > MAX_CELLS:
            raise InputError(f"--matches {n:,} with --sims {sims:,}: "
                             f"{sims * n * PROPOSALS_PER_MATCH:,} simulated proposals; lower "
                             "either")
    if effect is not None:
        if not (math.isfinite(effect) and abs(effect) <= design.pie):
            raise InputError(f"--effect {effect!r}: a finite effect per level, at most the pie "
                             f"({design.pie:g}) in size")
        params = replace(params, opp=float(effect))
    needed = matches_for_power(params, design, target, sims, alpha, seed, test)
    grid = list(matches) or ([max(1, needed // 2), needed * 2] if needed else [100, 1000])
    if needed and needed not in grid:  # the stated N is always a row of the table
        grid = sorted({*grid, needed})
    calls = CALLS_PER_MATCH["llm-vs-llm"]
    rows = []
    for n in grid:
        row = simulate(params, design, int(n), sims, alpha, seed, test)
        row["llm_calls"] = int(n) * calls
        rows.append(row)
    return {
        "source": source, "design": design.kind, "levels": design.levels,
        "per_level": design.per_level, "personas": design.personas,
        "effect": params.opp, "own": params.own, "intercept": params.intercept,
        "sd_persona": params.sd_persona, "sd_resid": params.sd_resid, "step": params.step,
        "alpha": alpha, "sims": sims, "seed": seed, "test": test, "target_power": target,
        "calls_per_match": calls, "power": rows,
        "matches_needed": needed, "llm_calls_needed": needed * calls if needed else None,
    }


def format_power(result: dict[str, Any]) -> str:
    lines = [f"Power to detect an opponent effect of {result['effect']:+.3f} per level "
             f"({result['design']} design, {result['personas']} personas over "
             f"{result['levels']} levels, alpha {result['alpha']:g}, {result['sims']} simulated "
             f"runs; surrogate {result['source']})",
             f"  {'matches':>9} {'proposals':>10} {'LLM calls':>10} {'power':>7}  95% MC interval"]
    for row in result["power"]:
        ci = row.get("power_ci", [math.nan, math.nan])
        lines.append(f"  {row['matches']:>9,} {row.get('proposals', 0):>10,} "
                     f"{row['llm_calls']:>10,} {row['power']:>7.1%}  {ci[0]:.1%}..{ci[1]:.1%}")
    if result["matches_needed"]:
        at = next((r["power"] for r in result["power"]
                   if r["matches"] == result["matches_needed"]), None)
        lines.append(f"  {result['target_power']:.0%} power needs "
                     f"{result['matches_needed']:,} matches ({result['llm_calls_needed']:,} LLM "
                     f"calls at {result['calls_per_match']} a match)"
                     + (f": {at:.1%} simulated there" if at is not None else ""))
    else:
        lines.append(f"  {result['target_power']:.0%} power is not reached within "
                     f"{MAX_MATCHES:,} matches")
    return "\n".join(lines)
