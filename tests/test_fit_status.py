"""Honest statistics: a fit with nothing to estimate says so (never p<0.001, never bold, no
interval), a boundary fit is flagged, warnings stay in the result, and a planted effect is
recovered with its sign and size."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from analysis.effects import fit_behaviour, BehaviourData
from analysis.mixed import mixed_model
from analysis.ols import ols_clustered
from tests.analysis_support import (concession_config, copy_run, demo_dir, planted_claims,
                                    run_cli)
from tests.helpers import cli

# its module-scoped fixtures are built once: under pytest-xdist the file runs on one worker
pytestmark = pytest.mark.xdist_group("test_fit_status")


@pytest.fixture(scope="module")
def concession_run(small_pool: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("concession")
    config = root / "run.toml"
    config.write_text(concession_config(small_pool))
    code, _, err = run_cli("run", str(config), "--out", str(root / "run"))
    assert code == 0, err
    return root / "run"


def test_a_constant_claim_is_degenerate_not_significant(tmp_path: Path) -> None:
    run = copy_run(demo_dir() / "study2", tmp_path / "run")
    with sqlite3.connect(run / "arena.sqlite") as conn:
        conn.execute("UPDATE turns SET claim = 60 WHERE claim IS NOT NULL")
    result = cli("analyze", str(run), "--json")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    claim = json.loads(result.stdout)["effects"]["claim"]
    for model in ("ols", "mixed"):
        fit = claim[model]
        assert fit["status"] == "degenerate", fit
        assert "no variation in the outcome" in fit["status_reason"]
        assert fit.get("p", {}).get("opp") is None
        assert fit.get("ci", {}).get("opp", [None, None]) == [None, None]
        assert not any(fit["significant"].values())
    text = cli("analyze", str(run))
    assert text.returncode == 0 and text.stderr == ""
    assert "p<0.001" not in text.stdout and "degenerate" in text.stdout


def test_a_deterministic_run_is_degenerate_everywhere_and_quiet(concession_run: Path) -> None:
    """Concession tactics claim by the clock alone: no persona differs from another. statsmodels
    used to print RuntimeWarnings here and report `SE 0.000, p<0.001`."""
    result = cli("analyze", str(concession_run), "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no warning spills
    effects = json.loads(result.stdout)["effects"]
    for behaviour in ("claim", "payoff", "deal"):
        for model in ("ols", "mixed"):
            fit = effects[behaviour][model]
            assert fit["status"] == "degenerate", (behaviour, model, fit)
            assert not any(fit["significant"].values())
    page = run_cli("report", str(concession_run))
    assert page[0] == 0, page[2]
    html = (concession_run / "report.html").read_text()
    assert 'class="sig"' not in html and "degenerate" in html and "<b>+0" not in html


def test_model_tables_say_what_they_fitted_on(concession_run: Path) -> None:
    text = cli("analyze", str(concession_run)).stdout
    assert "models (rows / personas" in text
    assert "claim       ols 784 / 14" in text  # 196 matches x 4 proposals, 14 personas


def test_ols_agrees_with_statsmodels_clustered_errors() -> None:
    import statsmodels.api as sm

    frame = planted_claims(per_level=3, repetitions=1, seed=5)
    ours = ols_clustered(frame, "y", ["own", "opp"], "persona")
    X = sm.add_constant(frame[["own", "opp"]])
    codes = frame["persona"].factorize()[0]
    theirs = sm.OLS(frame["y"], X).fit(cov_type="cluster", cov_kwds={"groups": codes},
                                       use_t=True)
    for ours_key, name in (("intercept", "const"), ("own", "own"), ("opp", "opp")):
        assert ours["coef"][ours_key] == pytest.approx(theirs.params[name], rel=1e-9)
        assert ours["se"][ours_key] == pytest.approx(theirs.bse[name], rel=1e-9)
        assert ours["p"][ours_key] == pytest.approx(theirs.pvalues[name], rel=1e-6, abs=1e-12)
        assert ours["ci"][ours_key][0] == pytest.approx(theirs.conf_int().loc[name, 0], rel=1e-9)
    assert ours["status"] == "ok" and ours["r2"] == pytest.approx(theirs.rsquared)


def test_a_planted_effect_is_recovered_with_its_sign_and_size() -> None:
    truth = {"own": 1.5, "opp": -0.8}
    frame = planted_claims(**truth, sd_persona=2.0, sd_resid=10.0, seed=3)
    for fit in (ols_clustered(frame, "y", ["own", "opp"], "persona"),
                mixed_model(frame, "y", ["own", "opp"], "persona")):
        assert fit["status"] == "ok", fit
        for term, value in truth.items():
            lo, hi = fit["ci"][term]
            assert lo < value < hi, (term, lo, hi)
            assert np.sign(fit["coef"][term]) == np.sign(value)
            assert fit["coef"][term] == pytest.approx(value, abs=0.4)
            assert fit["significant"][term]
    mixed = mixed_model(frame, "y", ["own", "opp"], "persona")
    assert mixed["sd_resid"] == pytest.approx(10.0, rel=0.05)
    assert mixed["sd_persona"] == pytest.approx(2.0, abs=1.2)


def test_no_effect_is_not_significant_and_a_boundary_fit_is_flagged() -> None:
    frame = planted_claims(own=0.0, opp=0.0, sd_persona=0.0, seed=8)
    # make every persona's mean the grand mean plus a whisker: the persona variance estimate
    # sits at its boundary of 0 (lme4: "boundary (singular) fit")
    means = frame.groupby("persona")["y"].transform("mean")
    frame["y"] = frame["y"] - means + frame["y"].mean()
    frame["y"] += frame["persona"].factorize()[0] * 1e-3
    fit = mixed_model(frame, "y", ["own", "opp"], "persona")
    assert fit["status"] == "singular", fit
    assert "persona variance" in fit["status_reason"]
    assert not any(fit["significant"].values())
    assert all(abs(v) < 50 for v in fit["se"].values() if v is not None)  # no absurd SEs


def test_fit_behaviour_of_levels_without_variation_says_degenerate() -> None:
    frame = planted_claims(seed=2)
    frame["own"] = 4.0
    frame["opp"] = 4.0
    result = fit_behaviour(BehaviourData("claim", frame, "claim"))
    assert result["status"] == "degenerate" and "no variation in levels" in result["error"]
