"""Replication of the paper's Study 2 regression from its released files (known answers from the
reference README), the surrogate refit that must give back the shipped parameters, and the
`replicate` command on a small synthetic results folder. Reference-data tests skip cleanly when
../shared/reference/kiss-up-kick-down is absent (a user's clone has no ../shared)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.replicate import replicate
from analysis.surrogate_fit import fit_acceptance, fit_claims, format_table, main, paper_frames
from tests.analysis_support import has_reference, reference_frame, run_cli, write_study2
from tests.helpers import REFERENCE, ROOT

needs_reference = pytest.mark.skipif(not has_reference(),
                                     reason=f"reference data not found at {REFERENCE}")

GPT4O_BY_DIFF = [51.8, 54.3, 56.2, 57.5, 57.8, 59.2, 60.6, 61.8, 62.5, 63.2, 64.1, 65.3, 68.9]


@needs_reference
def test_replicate_gpt4o_reproduces_the_paper() -> None:
    result = replicate(REFERENCE, "gpt-4o", frame=reference_frame("gpt-4o", extractor=True))
    assert result["n"] == 24499
    for term, value in {"intercept": 56.30, "own": 1.617, "opp": -0.614}.items():
        assert result["coef"][term] == pytest.approx(value, abs=0.01)
    for term, value in {"intercept": 0.674, "own": 0.160, "opp": 0.047}.items():
        assert result["se"][term] == pytest.approx(value, abs=0.001)
    means = [result["mean_claim_by_diff"][str(d)] for d in range(-6, 7)]
    assert means == pytest.approx(GPT4O_BY_DIFF, abs=0.051)
    assert result["matches_reference"] is True
    # our extractor, on the same texts, reaches the same conclusion
    assert result["extractor_agreement"]["claim"] > 0.99
    assert 0 <= result["extractor_agreement"]["acceptance"] <= 1
    for term in ("intercept", "own", "opp"):
        assert result["coef_extractor"][term] == pytest.approx(result["coef"][term], abs=0.05)


@needs_reference
def test_replicate_haiku_reproduces_the_paper() -> None:
    """The paper's labels only: our extractor on Haiku's ~25,000 longer texts takes half a
    minute, and the GPT-4o test already covers the extractor's side of `replicate`."""
    result = replicate(REFERENCE, "claude-3-haiku", frame=reference_frame("claude-3-haiku"),
                       extractor=False)
    assert result["n"] == 24500
    for term, value in {"intercept": 54.91, "own": 0.789, "opp": 0.030}.items():
        assert result["coef"][term] == pytest.approx(value, abs=0.01)
    assert result["matches_reference"] is True
    assert result["coef_extractor"] is None


@needs_reference
@pytest.mark.parametrize("model", ["gpt-4o", "claude-3-haiku"])
def test_surrogate_refit_gives_back_the_shipped_parameters(model: str) -> None:
    claims, responses = paper_frames(reference_frame(model, extractor=model == "gpt-4o"))
    claim = fit_claims(claims)
    if model == "gpt-4o":  # the reference README's regression
        assert claim["intercept"] == pytest.approx(56.30, abs=0.05)
        assert claim["own"] == pytest.approx(1.617, abs=0.05)
        assert claim["opp"] == pytest.approx(-0.614, abs=0.05)
    shipped = json.loads((ROOT / "agents" / "data" / "surrogate.json").read_text())[model]
    assert claim == shipped["claim"]  # computed exactly this way: every rounded number agrees
    assert fit_acceptance(responses) == shipped["accept"]


def test_surrogate_fit_module_on_a_pilot_run(tmp_path: Path) -> None:
    from analysis.frames import load_run
    from tests.analysis_support import demo_dir

    out = tmp_path / "fits.json"
    assert main(["--pilot", str(demo_dir() / "study2"), "--name", "demo", "--out", str(out)]) == 0
    table = json.loads(out.read_text())
    claim = table["demo"]["claim"]
    assert claim["step"] == 5 and claim["n"] == len(load_run(demo_dir() / "study2").proposals)
    assert claim["opp"] == pytest.approx(-0.614, abs=0.35)
    assert table["demo"]["accept"]["offer"] > 0.1  # more on offer, more accepted
    assert format_table(table) == out.read_text()
    assert main([]) == 2  # neither results nor pilot: one line, exit 2


def test_replicate_command_on_a_synthetic_results_folder(tmp_path: Path) -> None:
    """Claims follow 50 + 2 own - 1 opp exactly, so both fits must return exactly that."""
    write_study2(tmp_path)
    code, out, err = run_cli("replicate", str(tmp_path), "--model", "gpt-4o", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert {"model", "n", "coef", "se", "extractor_agreement", "coef_extractor"} <= set(result)
    assert result["model"] == "gpt-4o" and result["n"] == 36
    for fit in ("coef", "coef_extractor"):
        assert result[fit] == pytest.approx({"intercept": 50.0, "own": 2.0, "opp": -1.0})
    assert result["extractor_agreement"]["claim"] == 1.0
    assert set(result["extractor_agreement"]) >= {"claim", "acceptance"}
    code, out, _ = run_cli("replicate", str(tmp_path))
    assert code == 0 and "our extractor" in out and "intercept" in out
    code, _, err = run_cli("replicate", str(tmp_path), "--model", "claude-3-haiku")
    assert code == 2 and "claude-3-haiku" in err and "Traceback" not in err


def test_agreement_matches_paper_extractor_agreement(tmp_path: Path) -> None:
    """`replicate` scores agreement from readings it already made; the numbers must be those of
    analysis.paper.extractor_agreement, which reads the texts itself."""
    from analysis.paper import extractor_agreement
    from analysis.replicate import agreement, read_with_extractor

    write_study2(tmp_path)
    frame = read_with_extractor(tmp_path, "gpt-4o", workers=1)
    frame.loc[0, "paper_claim"] = 99.0  # one disagreement of each kind the data allows
    frame.loc[1, "paper_accept"] = 1.0 - frame.loc[1, "paper_accept"]
    assert agreement(frame) == extractor_agreement(frame.drop(columns=["our_claim", "our_accept"]))
