"""`power --study ... --config`: sizing an experiment by its planted (SIMULATED) agent. The
simulation against tests worked out by hand, the search, the table's own wording, and bad
options in one line."""
from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest
from scipy import stats

from agents.negotiators.planted import PlantedParams
from analysis.planted_power import PlantedStudy, planted_power, simulate, units_for_power
from tests.helpers import ROOT, cli

SIGMA = 10.0
QUIET = PlantedParams(base=50.0, persona_sd=3.0, noise_sd=SIGMA)  # far from 0 and 100


def _paired_t_power(effect: float, clusters: int, per_cluster: float, alpha: float = 0.05,
                    one_sided_margin: float | None = None) -> float:
    """By hand: each cluster's difference of two means of `per_cluster` draws has variance
    2 sigma^2 / per_cluster (+ 1/12 a draw for the rounding to whole points); the t-test over
    clusters has a noncentral t statistic."""
    sd = math.sqrt(2 * (SIGMA ** 2 + 1 / 12) / per_cluster)
    se = sd / math.sqrt(clusters)
    df = clusters - 1
    crit = stats.t.ppf(1 - alpha / 2, df)
    nc = effect / se
    return float(stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc))


def test_attribute_power_matches_the_paired_t_test_by_hand() -> None:
    study = PlantedStudy("attribute", QUIET, -2.0, identities=20, proposals=2)
    units = 6  # each variant plays 6 matches of 2 proposals
    expected = _paired_t_power(-2.0, 20, units * 2)
    assert 0.4 < expected < 0.9  # a case with room on both sides
    found = simulate(study, units, sims=1500, seed=4)
    assert found["power"] == pytest.approx(expected, abs=0.04)  # MC sd ~0.013
    assert found["mean_estimate"] == pytest.approx(-2.0, abs=0.1)
    assert found["matches"] == units * 2 * 20
    null = simulate(replace(study, effect=0.0), units, sims=1000, seed=5)
    assert null["power"] < 0.05 + 0.025  # nothing planted: flagged at about alpha only


def test_tost_power_rises_for_identical_behaviour_and_stays_at_alpha_at_the_margin() -> None:
    same = PlantedStudy("equivalence", QUIET, 0.0, margin=1.0, levels=7, per_level=2)
    small, large = (simulate(same, u, sims=300, seed=2)["power"] for u in (14, 1000))
    assert small < large and large > 0.9
    at_margin = simulate(replace(same, effect=1.0), 200, sims=600, seed=3)["power"]
    assert at_margin <= 0.05 + 0.03  # TOST's level: a difference at the margin is rarely
    beyond = replace(same, effect=1.5)  # "equivalent"; beyond it, never sized
    assert units_for_power(beyond, sims=100) is None


def test_anchoring_recovers_the_planted_slope_and_holds_its_level() -> None:
    openings = (30.0, 50.0, 70.0, 90.0)
    study = PlantedStudy("anchoring", replace(QUIET, own=1.5), -0.1, levels=7, per_level=2,
                         openings=openings)
    found = simulate(study, 3, sims=400, seed=5)
    assert found["mean_estimate"] == pytest.approx(-0.1, abs=0.01)
    null = simulate(replace(study, effect=0.0), 3, sims=600, seed=6)
    assert null["power"] < 0.1  # no anchor: found at about alpha only
    assert units_for_power(replace(study, effect=0.0), sims=50) is None


def test_the_search_lands_where_the_simulated_power_reaches_the_target() -> None:
    study = PlantedStudy("attribute", QUIET, -1.5, identities=20, proposals=2)
    units = units_for_power(study, 0.8, sims=300, seed=1)
    assert units is not None
    assert simulate(study, units, sims=300, seed=1)["power"] >= 0.8
    by_hand = _paired_t_power(-1.5, 20, units * 2)
    assert 0.7 < by_hand < 0.92  # near 80% by the hand formula too


def _power(*args: str) -> tuple[dict, str]:
    json_run = cli("power", *args, "--sims", "100", "--json")
    assert json_run.returncode == 0, json_run.stderr
    text_run = cli("power", *args, "--sims", "100")
    assert text_run.returncode == 0, text_run.stderr
    return json.loads(json_run.stdout), text_run.stdout


@pytest.mark.parametrize("args, calls", [
    (("--study", "equivalence", "--config", "examples/planted-pilot.toml", "--between",
      "text:both-images", "--margin", "1", "--effect", "0"), 8),
    (("--study", "anchoring", "--config", "examples/anchoring-planted.toml", "--effect",
      "-0.05"), 4),  # one model seat against the confederate
    (("--study", "attribute", "--config", "examples/planted-attribute.toml", "--attribute",
      "skin=light:dark_brown", "--effect", "-1"), 8),
])
def test_the_numbers_agree_with_the_tables_wording(args: tuple[str, ...], calls: int) -> None:
    result, text = _power(*args)
    assert result["simulated"].startswith("SIMULATED") and text.startswith("SIMULATED")
    assert result["calls_per_match"] == calls  # ultimatum-4: 4 calls a seat (arena.estimate)
    needed = result["matches_needed"]
    assert needed and result["llm_calls_needed"] == needed * calls
    row = next(r for r in result["power"] if r["matches"] == needed)  # the stated N is a row
    assert row["power"] >= result["target_power"] and row["llm_calls"] == needed * calls
    said = re.search(r"80% power needs ([\d,]+) matches \(([\d,]+) LLM calls at (\d+) a "
                     r"match\): ([\d.]+)% simulated there", text)
    assert said, text
    n, c, per, at = said.groups()
    assert int(n.replace(",", "")) == needed and int(c.replace(",", "")) == needed * calls
    assert int(per) == calls and float(at) == pytest.approx(100 * row["power"], abs=0.05)
    for line in text.splitlines()[3:-1]:  # every row: calls = matches x calls a match
        matches, llm_calls = (int(x.replace(",", "")) for x in line.split()[:2])
        assert llm_calls == matches * calls
    smaller = [r for r in result["power"] if r["matches"] < needed]
    assert all(r["power"] < result["target_power"] for r in smaller)


def test_a_difference_beyond_the_margin_is_never_sized() -> None:
    result, text = _power("--study", "equivalence", "--config", "examples/planted-pilot.toml",
                          "--between", "both-images:text", "--margin", "2")  # planted -3
    assert result["effect"] == -3.0 and result["matches_needed"] is None
    assert "not inside the margin" in text
    assert all(r["power"] < 0.05 for r in result["power"])


@pytest.mark.parametrize("args, field", [
    (["--study", "anchoring"], "--config"),
    (["--config", "examples/anchoring-planted.toml"], "--study"),
    (["--study", "anchoring", "--config", "examples/anchoring.toml"], "agents.default"),
    (["--study", "anchoring", "--config", "examples/nope.toml"], "--config"),
    (["--study", "equivalence", "--config", "examples/planted-pilot.toml", "--between",
      "text"], "--between"),
    (["--study", "equivalence", "--config", "examples/planted-pilot.toml", "--between",
      "text:colour", "--margin", "1"], "--between"),
    (["--study", "equivalence", "--config", "examples/planted-pilot.toml", "--between",
      "text:both-images"], "--margin"),
    (["--study", "attribute", "--config", "examples/planted-attribute.toml", "--attribute",
      "skin"], "--attribute"),
    (["--study", "attribute", "--config", "examples/planted-attribute.toml", "--attribute",
      "skin=light:dark_brown", "--margin", "1"], "--margin"),
    (["--study", "attribute", "--config", "examples/planted-attribute.toml", "--attribute",
      "skin=light:dark_brown", "--identities", "1"], "--identities"),
    (["--study", "anchoring", "--config", "examples/anchoring-planted.toml", "--effect",
      "9"], "--effect"),
    (["--margin", "1"], "--margin"),
])
def test_bad_study_options_are_refused_in_one_line(args: list[str], field: str) -> None:
    result = cli("power", *args, cwd=ROOT)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], lines

