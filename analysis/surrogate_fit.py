"""Fit the surrogate's parameters (agents/data/surrogate.json) from data: the paper's released
Study 2 files, or a user's own pilot run, so power analyses and offline demos rest on numbers
anyone can recompute.

claim: OLS `claim ~ own + opp` (claims in 0..pie) for the mean; a mixed model with a random
intercept per proposer persona (REML) for `sd_persona` and `sd_resid`; `step` is the coarsest
granularity (10, 5, 2, 1) that at least 95% of claims are multiples of.
accept: logit `accepted ~ offer + own + opp` with offer = pie - claim and own / opp the
RESPONDER's and the proposer's levels (the responder is the one deciding).
A pilot is fitted in its own run's units (its scenario's pie); the file stores dollars of 100,
the surrogate's scale, so a pilot on another pie is rescaled when written.

    python -m analysis.surrogate_fit RESULTS_DIR [--model gpt-4o] [--out FILE]
    python -m analysis.surrogate_fit --pilot RUN_DIR --name my-model [--out FILE]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from analysis.effects import agents_of, behaviour_data
from analysis.frames import load_run
from scenarios.errors import InputError

PIE = 100.0
STEPS = (10.0, 5.0, 2.0, 1.0)
STEP_SHARE = 0.95
PAPER_SOURCE = ("Kiss up, Kick down (EMNLP 2024) released Study 2 results, 5 repetitions x "
                "1,225 pairs x 4 rounds")


def estimate_step(claims: Sequence[float]) -> float:
    """The coarsest step most claims sit on (models answer in round numbers)."""
    values = np.asarray([c for c in claims if c == c], dtype=float)
    if not len(values):
        return 1.0
    for step in STEPS:
        if np.mean(np.isclose(np.mod(values, step), 0) | np.isclose(np.mod(values, step), step)) \
                >= STEP_SHARE:
            return step
    return 1.0


def fit_claims(frame: pd.DataFrame, pie: float = PIE) -> dict[str, Any]:
    """Claim parameters from a frame with columns y (claim), own, opp, persona."""
    import statsmodels.formula.api as smf

    data = frame.dropna(subset=["y", "own", "opp", "persona"])
    data = data[(data["y"] >= 0) & (data["y"] <= pie)]
    if len(data) < 10 or data["persona"].nunique() < 2:
        raise InputError(f"too few proposals to fit claims ({len(data)} with both levels; "
                         "a pilot needs personas at several levels meeting each other)")
    terms = [t for t in ("own", "opp") if data[t].nunique() > 1]
    formula = "y ~ " + (" + ".join(terms) if terms else "1")
    ols = smf.ols(formula, data).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mixed = smf.mixedlm(formula, data, groups=data["persona"]).fit(reml=True)
    return {"intercept": round(float(ols.params["Intercept"]), 2),
            "own": round(float(ols.params.get("own", 0.0)), 3),
            "opp": round(float(ols.params.get("opp", 0.0)), 3),
            "sd_persona": round(math.sqrt(max(float(mixed.cov_re.iloc[0, 0]), 0.0)), 3),
            "sd_resid": round(math.sqrt(float(mixed.scale)), 3),
            "step": estimate_step(data["y"].tolist()),
            "n": int(len(data))}


def fit_acceptance(frame: pd.DataFrame) -> dict[str, Any]:
    """Acceptance logit from a frame with columns y (0/1), offer, own (responder), opp."""
    import statsmodels.formula.api as smf

    data = frame.dropna(subset=["y", "offer", "own", "opp"])
    if len(data) < 10 or data["y"].nunique() < 2:
        raise InputError(f"cannot fit acceptance: {len(data)} responses"
                         + (" that all decide alike" if len(data) >= 10 else ""))
    terms = ["offer"] + [t for t in ("own", "opp") if data[t].nunique() > 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = smf.logit("y ~ " + " + ".join(terms), data).fit(disp=0)
        except (np.linalg.LinAlgError, ValueError) as error:
            raise InputError(f"cannot fit acceptance ({error})") from None
    params = fit.params
    return {"intercept": round(float(params["Intercept"]), 4),
            "offer": round(float(params["offer"]), 4),
            "own": round(float(params.get("own", 0.0)), 4),
            "opp": round(float(params.get("opp", 0.0)), 4),
            "n": int(len(data))}


def paper_frames(study2: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(claims, responses) frames from read_study2's proposals, on the paper's own labels."""
    data = study2[(study2["paper_claim"] >= 0) & (study2["paper_claim"] <= PIE)]
    own = data["own"].astype(float).to_numpy()
    opp = data["opp"].astype(float).to_numpy()
    claims = pd.DataFrame({"y": data["paper_claim"].to_numpy(dtype=float), "own": own,
                           "opp": opp, "persona": data["proposer_image"].astype(str).to_numpy()})
    responses = pd.DataFrame({"y": data["paper_accept"].to_numpy(dtype=float),
                              "offer": PIE - data["paper_claim"].to_numpy(dtype=float),
                              "own": opp, "opp": own})
    return claims, responses


def fit_paper(results_dir: Path | str, model: str = "gpt-4o") -> dict[str, Any]:
    """One surrogate.json entry fitted on the paper's Study 2 files of `model`."""
    from analysis.paper import read_study2

    claims, responses = paper_frames(read_study2(Path(results_dir), model))
    return {"source": PAPER_SOURCE, "claim": fit_claims(claims),
            "accept": fit_acceptance(responses)}


def fit_run(run_dir: Path | str, agent: str | None = None,
            require_acceptance: bool = True) -> dict[str, Any]:
    """One surrogate.json entry fitted on a pilot run's store (our extractor's readings), for
    power analyses of the model the pilot used (`agent`: one agent label of a run where several
    played). A power analysis needs only the claims: without `require_acceptance` a pilot whose
    responses cannot be fitted gets a zero acceptance model and a note saying so."""
    from agents.negotiators.surrogate import GAMES

    frames = load_run(Path(run_dir))
    units = frames.units
    if units.game not in GAMES or units.stake is None:
        what = (f"a {units.game} game" if units.game else
                "a run whose scenario is not recorded")
        raise InputError(f"{run_dir}: the surrogate models {' and '.join(sorted(GAMES))} games "
                         f"only; this is {what} (scenario {frames.meta.get('scenario', '?')})")
    known = agents_of(frames)
    if agent is not None and agent not in known:
        raise InputError(f"{run_dir}: no agent '{agent}' played here (known: "
                         f"{', '.join(known) or 'none'})")
    data = behaviour_data(frames, agent)
    pie = units.stake
    n = len(data["claim"].frame)
    claim = fit_claims(data["claim"].frame, pie)
    try:
        accept = fit_acceptance(data["acceptance"].frame)
    except InputError as error:
        if require_acceptance:
            raise
        accept = {"intercept": 0.0, "offer": 0.0, "own": 0.0, "opp": 0.0, "n": 0,
                  "note": str(error)}
    return {"source": f"pilot run {run_dir} ({n:,} proposals"
                      + (f" by {agent}" if agent else "") + ")",
            "pie": pie, "claim": claim, "accept": accept}


def rescale(entry: dict[str, Any], pie: float = PIE) -> dict[str, Any]:
    """An entry fitted on another pie as dollars of `pie` (the surrogate's own scale): claims,
    their SDs and step scale by pie / fitted pie, the acceptance slope by the inverse."""
    fitted = float(entry.get("pie", pie))
    if fitted == pie:
        return {k: v for k, v in entry.items() if k != "pie"}
    f = pie / fitted
    claim = {k: (round(v * f, 3) if k in ("intercept", "own", "opp", "sd_persona", "sd_resid",
                                          "step") else v) for k, v in entry["claim"].items()}
    accept = {**entry["accept"], "offer": round(entry["accept"]["offer"] / f, 4)}
    return {**{k: v for k, v in entry.items() if k != "pie"}, "claim": claim, "accept": accept,
            "source": f"{entry['source']}, rescaled from a pie of {fitted:g} to {pie:g}"}


def entry_params(entry: dict[str, Any]) -> Any:
    """A surrogate.json entry as the surrogate's parameter object."""
    from agents.negotiators.surrogate import SurrogateParams

    claim, accept = entry["claim"], entry["accept"]
    return SurrogateParams(claim["intercept"], claim["own"], claim["opp"], claim["sd_persona"],
                           claim["sd_resid"], claim.get("step", 1), accept["intercept"],
                           accept["offer"], accept["own"], accept["opp"])


def format_table(table: dict[str, Any]) -> str:
    """The layout of agents/data/surrogate.json: one line per parameter group."""
    blocks = []
    for name, entry in table.items():
        lines = [f"  {json.dumps(name)}: {{", f"    \"source\": {json.dumps(entry['source'])},",
                 f"    \"claim\": {json.dumps(entry['claim'])},",
                 f"    \"accept\": {json.dumps(entry['accept'])}", "  }"]
        blocks.append("\n".join(lines))
    return "{\n" + ",\n".join(blocks) + "\n}\n"


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _tidy(entry: dict[str, Any]) -> dict[str, Any]:
    """Whole numbers as ints (step 5, not 5.0), as the shipped file writes them."""
    for group in ("claim", "accept"):
        entry[group] = {k: _number(v) if isinstance(v, float) and k in ("step",) else v
                        for k, v in entry[group].items()}
    return entry


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.surrogate_fit",
                                     description="Fit surrogate parameters from data.")
    parser.add_argument("results_dir", nargs="?", help="the paper's Results folder")
    parser.add_argument("--model", action="append",
                        help="paper model(s) to fit (default: every model found)")
    parser.add_argument("--pilot", help="fit on a pilot run's RUN_DIR instead")
    parser.add_argument("--name", help="the entry's name for --pilot (default: pilot)")
    parser.add_argument("--out", help="JSON file to write or update (default: print)")
    args = parser.parse_args(argv)
    try:
        table: dict[str, Any] = {}
        if args.pilot:
            table[args.name or "pilot"] = _tidy(rescale(fit_run(Path(args.pilot))))
        elif args.results_dir:
            from analysis.paper import MODELS

            root = Path(args.results_dir)
            models = args.model or [m for m, (sub, _) in MODELS.items() if (root / sub).is_dir()]
            if not models:
                folders = ", ".join(sub for sub, _ in MODELS.values())
                raise InputError(f"{root}: no model folders ({folders})")
            for model in models:
                from analysis.paper import canonical_model

                table[canonical_model(model)] = _tidy(fit_paper(root, model))
        else:
            raise InputError("give RESULTS_DIR (the paper's Results folder) or --pilot RUN_DIR")
        if args.out:
            out = Path(args.out)
            merged = json.loads(out.read_text()) if out.exists() else {}
            merged.update(table)
            out.write_text(format_table(merged))
            print(f"{out}: {', '.join(table)} written")
        else:
            sys.stdout.write(format_table(table))
    except InputError as error:
        print(f"surrogate_fit: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
