"""Analysis: tidy frames and export, pairing-effect models on the demo's run (they must recover
the surrogate's parameters), rater agreement against published answers, and the importer of
the paper's xlsx files (Study 1 and Study 2 layouts, built here with openpyxl)."""
from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.agreement import icc, kripp_alpha, rater_agreement
from analysis.effects import pairing_effects
from analysis.frames import export, load_run
from analysis.importer import import_paper, llm_seat
from scenarios.extract import extract_acceptance
from tests.analysis_support import (ACCEPT, SYNTHETIC_LEVELS, demo_dir, run_cli,
                                    synthetic_claim, write_study1, write_study2)
from tests.helpers import cli

SURROGATE = {"own": 1.617, "opp": -0.614}  # agents/data/surrogate.json, gpt-4o
ACCEPTANCE_READY = extract_acceptance(ACCEPT) is True


# -- frames ------------------------------------------------------------------------------------
def test_proposals_and_players_frames_join_levels_and_ratings() -> None:
    frames = load_run(demo_dir() / "study2")
    props = frames.proposals
    assert len(props) == 4 * len(frames.matches)
    row = props.iloc[0]
    match = frames.matches.set_index("match_id").loc[row["match_id"]]
    seat = row["speaker"]
    other = "b" if seat == "a" else "a"
    assert row["own"] == match[f"level_{seat}"] and row["opp"] == match[f"level_{other}"]
    assert row["own_rating_design"] == row["own"]  # the design rater scores = levels
    players = frames.players
    assert len(players) == 2 * len(frames.matches)
    assert set(players["seat"]) == {"a", "b"}
    total = frames.matches["payoff_a"].sum() + frames.matches["payoff_b"].sum()
    assert players["payoff"].sum() == pytest.approx(total)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_round_trips(tmp_path: Path, fmt: str) -> None:
    frames = load_run(demo_dir() / "study2")
    paths = export(frames, tmp_path / fmt, fmt)
    assert {p.stem for p in paths} == {"matches", "turns", "proposals", "players", "seats",
                                       "personas", "ratings"}
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    back = read(tmp_path / fmt / f"proposals.{fmt}")
    assert len(back) == len(frames.proposals)
    assert back["claim"].sum() == pytest.approx(frames.proposals["claim"].sum())


def test_export_command_and_bad_format(tmp_path: Path) -> None:
    code, _, err = run_cli("export", str(demo_dir() / "study2"), "--out", str(tmp_path / "x"))
    assert code == 0, err
    assert (tmp_path / "x" / "matches.csv").is_file()
    code, _, err = run_cli("export", str(demo_dir() / "study2"), "--out", str(tmp_path / "y"),
                           "--format", "xls")
    assert code == 2 and "Traceback" not in err


# -- pairing effects ---------------------------------------------------------------------------
def test_analyze_json_recovers_the_surrogates_parameters() -> None:
    """The demo's players ARE the random-intercept model, so the mixed model's 95% intervals
    must cover the parameters it was drawn from; OLS estimates land nearby."""
    result = cli("analyze", str(demo_dir() / "study2"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["proposals"] == 4 * summary["matches"] > 0  # the old summary stays
    head = summary["headline"]
    for term, truth in SURROGATE.items():
        lo, hi = head[term]["mixed"]["ci"]
        assert lo < truth < hi, (term, lo, hi)
        assert abs(head[term]["ols"]["estimate"] - truth) < 0.6
        ols = head[term]["ols"]
        assert ols["ci"][0] < ols["estimate"] < ols["ci"][1]
    claim = summary["effects"]["claim"]
    assert claim["mixed"]["sd_resid"] == pytest.approx(10.551, abs=0.8)
    assert claim["mixed"]["sd_persona"] == pytest.approx(2.025, abs=1.5)
    assert {row["diff"] for row in claim["by_diff"]} == set(range(-6, 7))
    for behaviour in ("acceptance", "deal", "payoff"):
        assert "own" in summary["effects"][behaviour]["ols"]["coef"]


def test_effects_of_a_self_only_run_have_no_opponent_term() -> None:
    frames = load_run(demo_dir() / "study1")
    effects = pairing_effects(frames)
    assert set(effects["claim"]["ols"]["coef"]) == {"intercept", "own"}
    # the persona's two proposals a match, not the confederate's two
    assert effects["claim"]["n"] == 2 * len(frames.matches)


# -- rater agreement ---------------------------------------------------------------------------
def test_icc_reproduces_shrout_and_fleiss() -> None:
    """Shrout & Fleiss (1979), Table 2: 6 targets, 4 judges."""
    x = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9],
                  [6, 2, 4, 7]])
    got = icc(x)
    assert got["icc1"] == pytest.approx(0.17, abs=0.005)
    assert got["icc2_1"] == pytest.approx(0.29, abs=0.005)
    assert got["icc3_1"] == pytest.approx(0.71, abs=0.005)


def test_krippendorff_alpha_reproduces_the_published_example() -> None:
    """Krippendorff (2011), 'Computing Krippendorff's alpha-reliability', 4 coders x 12 units."""
    n = math.nan
    coders = np.array([[1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
                       [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
                       [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
                       [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n]])
    assert kripp_alpha(coders.T, "interval") == pytest.approx(0.849, abs=0.001)
    assert kripp_alpha(coders.T, "ordinal") == pytest.approx(0.815, abs=0.001)


def test_rater_agreement_from_the_ratings_table() -> None:
    rng = np.random.default_rng(3)
    truth = np.repeat(np.arange(1, 8), 4).astype(float)
    rows = [("p%02d" % i, "design", s) for i, s in enumerate(truth)]
    rows += [("p%02d" % i, "llm", float(np.clip(round(s + rng.normal(0, 0.7)), 1, 7)))
             for i, s in enumerate(truth)]
    rows += [("p%02d" % i, "shuffled", s) for i, s in enumerate(rng.permutation(truth))]
    ratings = pd.DataFrame(rows, columns=["persona_id", "rater", "score"])
    result = rater_agreement(ratings)
    pairs = {(p["rater_a"], p["rater_b"]): p for p in result["pairs"]}
    good, bad = pairs[("design", "llm")], pairs[("design", "shuffled")]
    assert good["n"] == 28 and good["spearman"] > 0.85 and good["alpha_ordinal"] > 0.8
    assert good["icc2_1"] > 0.8 and good["icc3_1"] >= good["icc2_1"] - 0.05
    assert abs(bad["spearman"]) < 0.5 and bad["alpha_interval"] < 0.5
    assert result["overall"]["raters"] == ["design", "llm", "shuffled"]


# -- importing the paper's files ---------------------------------------------------------------
def _turns(run: Path) -> pd.DataFrame:
    conn = sqlite3.connect(run / "arena.sqlite")
    try:
        return pd.read_sql_query("SELECT * FROM turns ORDER BY match_id, turn_index", conn)
    finally:
        conn.close()


def test_import_study2_file(tmp_path: Path) -> None:
    results = tmp_path / "Results"
    write_study2(results)
    summary = import_paper(results, tmp_path / "run")
    assert summary["matches"] == 9 and summary["turns"] == 72 and summary["studies"] == [2]
    assert summary["extractor_agreement"]["claim"] == 1.0
    frames = load_run(tmp_path / "run")
    m = frames.matches
    assert set(m["agent_a"]) == {"llm:gpt-4o"} and set(m["condition"]) == {"both-images"}
    assert sorted(frames.personas["level"]) == sorted(SYNTHETIC_LEVELS.values())
    props = frames.proposals
    assert len(props) == 36
    expected = [synthetic_claim(int(o), int(p), 1) for o, p in zip(props["own"], props["opp"])]
    assert props["claim"].tolist() == expected          # our extractor's readings ...
    assert props["paper_claim"].tolist() == expected    # ... beside the paper's labels
    turns = _turns(tmp_path / "run")
    assert turns["text"].str.len().min() > 0 and len(turns) == 72
    first = m.iloc[0]
    assert first["source_file"] == "study2_gpt4o/study2_gpt_1.xlsx" and first["study"] == 2


@pytest.mark.parametrize("name,seat", [("study1_gpt_1round_3.xlsx", "a"),
                                       ("study1_haiku_round1_2.xlsx", "a"),
                                       ("study1_gpt_2round_1.xlsx", "b"),
                                       ("study1_haiku_round2_5.xlsx", "b")])
def test_study1_seat_from_the_file_name(name: str, seat: str) -> None:
    assert llm_seat(Path(name)) == seat


def test_import_study1_files_counts_only_the_llms_texts(tmp_path: Path) -> None:
    results = tmp_path / "Results"
    write_study1(results, llm_first=True)
    write_study1(results, llm_first=False)
    levels = tmp_path / "levels.csv"
    levels.write_text("image_id,folder\n21,2\n22,6\n")
    result = cli("import-paper", str(results), "--out", str(tmp_path / "run"), "--levels",
                 str(levels), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["matches"] == 4 and summary["studies"] == [1]
    agree = summary["extractor_agreement"]
    # 2 files x 2 images x 2 LLM proposals / LLM responses: the confederate's deliberately
    # mislabelled lines are not counted
    assert agree["n_claim"] == 8 and agree["n_acceptance"] == 8
    assert agree["claim"] == 1.0
    if ACCEPTANCE_READY:
        assert agree["acceptance"] == 1.0
    frames = load_run(tmp_path / "run")
    m = frames.matches.set_index("source_file")
    first = m.loc["study1_GPT4o/study1_gpt_1round_1.xlsx"]
    second = m.loc["study1_GPT4o/study1_gpt_round2_1.xlsx"]
    assert set(first["agent_b"]) == {"confederate"} and first["persona_b"].isna().all()
    assert set(second["agent_a"]) == {"confederate"} and second["persona_a"].isna().all()
    assert set(first["level_a"]) == {2, 6} and set(second["level_b"]) == {2, 6}
    assert set(frames.matches["condition"]) == {"self-only"}
    effects = pairing_effects(frames, behaviours=("claim",))
    assert effects["claim"]["n"] == 8  # the LLM's own proposals


def test_import_paper_bad_input_is_one_line(tmp_path: Path) -> None:
    results = tmp_path / "Results"
    write_study1(results, llm_first=True, name="study1_gpt_3.xlsx")  # no round in the name
    bad = cli("import-paper", str(results), "--out", str(tmp_path / "run"))
    assert bad.returncode == 2 and "study1_gpt_3.xlsx" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli("import-paper", str(empty), "--out", str(tmp_path / "run2"))
    assert code == 2 and "no .xlsx" in err
    write_study2(tmp_path / "ok")
    assert run_cli("import-paper", str(tmp_path / "ok"), "--out", str(tmp_path / "run3"))[0] == 0
    code, _, err = run_cli("import-paper", str(tmp_path / "ok"), "--out", str(tmp_path / "run3"))
    assert code == 2 and "already holds a run" in err
    levels = tmp_path / "levels.csv"
    levels.write_text("image,size\n1,2\n")
    code, _, err = run_cli("import-paper", str(tmp_path / "ok"), "--out", str(tmp_path / "run4"),
                           "--levels", str(levels))
    assert code == 2 and "levels.csv" in err and "image_id" in err
