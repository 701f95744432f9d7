"""Power analysis: the simulation against a case worked out by hand, the sample-size search,
and the `power` command."""
from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from scipy import stats

from agents.negotiators.surrogate import load_params
from analysis.power import Design, matches_for_power, simulate
from tests.analysis_support import demo_dir, run_cli

SIGMA = 10.0
EFFECT = -0.2


def _hand_case():
    """No persona effect, no rounding, Gaussian noise of known SD, mid-scale claims (so no
    clipping at 0 or 100): a plain linear model whose opp estimate has a known variance."""
    return replace(load_params("gpt-4o"), intercept=50.0, own=0.5, opp=EFFECT, sd_persona=0.0,
                   sd_resid=SIGMA, step=0)


def analytic_power(matches: int, design: Design, alpha: float = 0.05) -> float:
    """z-test power by hand. In a complete factorial block own and opp are uncorrelated and opp
    is uniform on 1..L, so Var(opp) = (L^2 - 1) / 12 and, with 4 proposals a match,
    SE(b_opp) = sigma / sqrt(4 N Var(opp)); power = Phi(|b|/SE - z) + Phi(-|b|/SE - z)."""
    var_opp = (design.levels ** 2 - 1) / 12
    se = SIGMA / math.sqrt(4 * matches * var_opp)
    z = stats.norm.ppf(1 - alpha / 2)
    shift = abs(EFFECT) / se
    return float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))


def analytic_matches(design: Design, target: float = 0.8, alpha: float = 0.05) -> float:
    var_opp = (design.levels ** 2 - 1) / 12
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(target)
    return (z * SIGMA / abs(EFFECT)) ** 2 / (4 * var_opp)


def test_simulated_power_matches_the_hand_computed_z_test() -> None:
    design = Design("factorial", levels=7, per_level=5)
    matches = 35 * 35  # one complete block: every ordered pair once
    expected = analytic_power(matches, design)
    assert expected == pytest.approx(0.80, abs=0.01)  # the case is set near 80% on purpose
    result = simulate(_hand_case(), design, matches, sims=2000, seed=7, test="z")
    # Monte Carlo SD of a rejection rate over 2000 runs is ~0.009
    assert result["power"] == pytest.approx(expected, abs=0.035)
    se_by_hand = SIGMA / math.sqrt(4 * matches * 4.0)
    assert result["sd_opp_estimate"] == pytest.approx(se_by_hand, rel=0.06)
    assert result["mean_opp_estimate"] == pytest.approx(EFFECT, abs=0.01)


def test_sample_size_search_matches_the_hand_computed_n() -> None:
    design = Design("factorial", levels=7, per_level=5)
    found = matches_for_power(_hand_case(), design, sims=400, seed=3, test="z")
    expected = analytic_matches(design)  # 1,226 matches
    assert found == pytest.approx(expected, rel=0.1)


def test_power_grows_with_matches_and_is_flat_without_an_effect() -> None:
    design = Design("delta", per_level=3)
    params = load_params("gpt-4o")
    small, large = (simulate(params, design, n, sims=200, seed=1)["power"] for n in (40, 400))
    assert small < large and large > 0.95
    null = simulate(replace(params, opp=0.0), design, 400, sims=400, seed=2)
    assert null["power"] < 0.1  # the false-positive rate stays near alpha


def test_power_command_json() -> None:
    code, out, err = run_cli("power", "--json", "--sims", "100", "--matches", "50", "200",
                             "--seed", "5")
    assert code == 0, err
    result = json.loads(out)
    assert result["effect"] == -0.614 and result["design"] == "factorial"
    needed = result["matches_needed"]
    assert 100 < needed < 300 and result["llm_calls_needed"] == 8 * needed
    rows = {row["matches"]: row for row in result["power"]}
    assert sorted(rows) == [50, needed, 200]  # the stated N is a row of its own table
    assert rows[50]["llm_calls"] == 400 and rows[200]["llm_calls"] == 1600
    assert rows[50]["power"] < rows[200]["power"]


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_the_stated_n_reaches_the_stated_power_in_the_table(seed: int) -> None:
    code, out, err = run_cli("power", "--sims", "100", "--seed", str(seed))
    assert code == 0, err
    stated = int(out.split("power needs ")[1].split(" matches")[0].replace(",", ""))
    row = next(line for line in out.splitlines() if line.split()[0].replace(",", "")
               == str(stated))
    assert float(row.split()[3].rstrip("%")) >= 80.0, out


def test_power_command_from_a_pilot_run_and_bad_input() -> None:
    code, out, err = run_cli("power", "--pilot", str(demo_dir() / "study2"), "--effect", "-0.3",
                             "--sims", "50", "--design", "delta")
    assert code == 0, err
    assert "80% power needs " in out and "fitted on" in out
    for args, culprit in ((["--design", "swiss"], "--design"), (["--fit", "gpt-5"], "gpt-5"),
                          (["--alpha", "2"], "--alpha"), (["--matches", "0"], "--matches"),
                          (["--sims", "3"], "--sims"), (["--effect", "nan"], "--effect"),
                          (["--effect", "inf"], "--effect"), (["--effect", "1e308"], "--effect"),
                          (["--effect", "-500"], "--effect"), (["--sims", "1e9"], "--sims"),
                          (["--matches", "99999999"], "--matches"), (["--levels", "1"], "--levels"),
                          (["--per-level", "100000"], "--per-level"),
                          (["--levels", "100", "--per-level", "1000"], "personas"),
                          (["--seed", "-1"], "--seed"), (["--power", "1"], "--power"),
                          (["--matches", "1000000", "--sims", "10000"], "lower either")):
        code, _, err = run_cli("power", *args)
        assert code == 2 and culprit in err and "Traceback" not in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
