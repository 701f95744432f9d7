"""Outcome metrics against hand-computed answers: Pareto frontier, Nash bargaining solution,
Kalai-Smorodinsky point and distances for small specs (discrete items, a convex polygon, the
built-in games' declared spaces), and on stored runs of deterministic concession tactics whose
every deal is known; the anchoring coefficient recovers a planted slope."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.frames import load_run
from analysis.frontier import frontier_of
from analysis.outcomes import anchoring, concession_curves, match_outcomes, outcome_space
from analysis.summary import format_summary, summary_from_frames
from scenarios.loader import load_scenario, parse_scenario
from tests.analysis_support import concession_config, run_cli


def _items(counts: list[int], values_a: list[int], values_b: list[int]) -> dict:
    return {"game": "item-division", "name": "tiny", "max_turns": 4, "values_a": values_a,
            "values_b": values_b, "items": [{"name": f"i{k}", "count": c}
                                            for k, c in enumerate(counts)]}


def test_a_small_item_division_by_hand() -> None:
    # 2 books (a values 1, b 2) and 1 hat (a 4, b 1); a keeps (books, hat):
    # (0,0) 0,5  (1,0) 1,3  (2,0) 2,1  (0,1) 4,4  (1,1) 5,2  (2,1) 6,0
    space = parse_scenario(_items([2, 1], [1, 4], [2, 1]), "test").new_state().outcome_space()
    assert sorted(space.points) == sorted([(0, 5), (1, 3), (2, 1), (4, 4), (5, 2), (6, 0)])
    assert space.claim_scale == (6, 5) and not space.convex
    f = frontier_of(space.points, space.convex)
    assert f.vertices.tolist() == [[0, 5], [4, 4], [5, 2], [6, 0]]
    assert f.nash.tolist() == [4, 4]  # products 0, 16, 10, 0
    assert f.ideal.tolist() == [6, 5]
    assert f.ks.tolist() == [4, 4]  # min(4/6, 4/5) = .67 beats min(5/6, 2/5) = .4
    assert f.max_welfare == 8
    a, b = np.array([1, 5, 0, 4]), np.array([3, 2, 0, 4])
    assert f.pareto_optimal(a, b).tolist() == [False, True, False, True]
    assert f.nash_product(a, b).tolist() == [3, 10, 0, 16]
    assert f.distance(a, b, f.nash) == pytest.approx([math.sqrt(10), math.sqrt(5), math.sqrt(32),
                                                      0])


def test_a_convex_polygon_where_nash_and_kalai_smorodinsky_differ() -> None:
    # hull of (0,10), (6,8), (10,0) and d = (0,0): on the first edge (6t, 10-2t) the product
    # 60t - 12t^2 peaks beyond t = 1, on the second it falls: Nash = (6, 8), product 48;
    # the ideal is (10, 10), so KS lies on a = b: 6 + 4t = 8 - 8t, t = 1/6: (20/3, 20/3)
    f = frontier_of([(0, 10), (6, 8), (10, 0), (2, 2)], convex=True)
    assert f.vertices.tolist() == [[0, 10], [6, 8], [10, 0]]
    assert f.nash.tolist() == pytest.approx([6, 8])
    assert f.ks.tolist() == pytest.approx([20 / 3, 20 / 3])
    assert f.as_dict()["nash_product"] == pytest.approx(48)
    # (3, 9) lies on the first edge, (8, 4) on the second, (5, 5) and (2, 2) inside
    a, b = np.array([3, 8, 5, 2]), np.array([9, 4, 5, 2])
    assert f.pareto_optimal(a, b).tolist() == [True, True, False, False]


def test_the_price_bargains_declared_space() -> None:
    spec = load_scenario("price-bargain").spec.model_dump(mode="json")
    space = outcome_space(spec)  # seller (a) opens; reservations 20 and 80; prices 0..100
    assert sorted(space.points) == [(-20, 80), (80, -20)] and space.convex
    assert space.claim_scale == (60, 60) and space.offer == "price"
    f = frontier_of(space.points, space.convex)
    assert f.ideal.tolist() == [60, 60] and f.nash.tolist() == [30, 30]
    assert f.ks.tolist() == [30, 30]
    # a deal at 50 (seller 30, buyer 30) and at 70 (50, 10) are on the frontier; no deal is not
    assert f.pareto_optimal(np.array([30, 50, 0]), np.array([30, 10, 0])).tolist() == \
        [True, True, False]


def test_the_built_in_item_division_and_ultimatum() -> None:
    # 3 books, 2 hats, 1 ball; a values 1, 2, 3, b 2, 1, 2. a keeps 2 hats and the ball: 7 for a,
    # 6 for b (the books), product 42; the next best are (5, 7) = 35 and (8, 4) = 32
    f = frontier_of(*_declared("item-division"))
    assert f.nash.tolist() == [7, 6] and f.ks.tolist() == [7, 6] and f.max_welfare == 13
    f = frontier_of(*_declared("ultimatum-4"))  # 4 rounds of $100
    assert f.nash.tolist() == [200, 200] and f.ks.tolist() == [200, 200]


def _declared(name: str) -> tuple:
    space = load_scenario(name).new_state().outcome_space()
    return space.points, space.convex


def test_no_gain_for_both_means_no_solution() -> None:
    f = frontier_of([(0, 0), (5, -1)], convex=False)
    assert f.nash is None and f.ks is None


def test_the_anchoring_coefficient_recovers_a_planted_slope() -> None:
    rng = np.random.default_rng(4)
    n = 600
    first = rng.uniform(0.4, 0.9, n)
    final = 0.1 + 0.6 * first + rng.normal(0, 0.03, n)
    frame = pd.DataFrame({"match_id": [f"m{i}" for i in range(n)], "deal": 1.0,
                          "first_seat": "a", "first_claim_share": first, "share_a": final,
                          "share_b": 1 - final, "first_persona": [f"p{i % 30}" for i in range(n)]})
    fit = anchoring(frame)
    assert fit["status"] == "ok" and fit["ci"][0] < 0.6 < fit["ci"][1]
    assert fit["significant"] and fit["clusters"] == 30


@pytest.fixture(scope="module")
def concession_runs(small_pool: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("outcomes")
    out = {}
    for name in ("price-bargain", "item-division"):
        config = tmp / f"{name}.toml"
        config.write_text(concession_config(small_pool, name))
        code, _, err = run_cli("run", str(config), "--out", str(tmp / name))
        assert code == 0, err
        out[name] = tmp / name
    return out


def test_deterministic_bargains_against_the_frontier(concession_runs: dict[str, Path]) -> None:
    """Linear concession from the extremes: the seller opens at 100 (a claim of 80 on a 60
    surplus), each side concedes every turn and the 14th turn accepts a price of 49.47:
    seller 29.47, buyer 30.53, on the frontier, 0.53 * sqrt(2) from Nash's (30, 30)."""
    frames = load_run(concession_runs["price-bargain"])
    out = match_outcomes(frames)
    assert out["payoff_a"].to_numpy() == pytest.approx(29.47) and out["pareto_optimal"].all()
    assert out["turns_to_agreement"].eq(14).all()
    assert out["nash_distance"].to_numpy() == pytest.approx(0.53 * math.sqrt(2), abs=1e-6)
    assert out["first_claim_share"].to_numpy() == pytest.approx(80 / 60)
    curves = concession_curves(frames)
    a = curves[curves["seat"] == "a"].set_index("turn")["mean"]
    assert a[1] == pytest.approx(80 / 60) and a.is_monotonic_decreasing
    summary = summary_from_frames(frames, "x")
    outcomes = summary["outcomes"]
    assert outcomes["seats"]["a"]["label"] == "seat a (seller)"
    assert outcomes["anchoring"]["status"] == "degenerate"  # every deal is the same
    text = format_summary(summary, "x")
    assert "seat a (seller) payoff 29.47" in text and "100.0% Pareto-optimal" in text


def test_a_deterministic_item_division_is_off_the_frontier(
        concession_runs: dict[str, Path]) -> None:
    out = match_outcomes(load_run(concession_runs["item-division"]))
    # every match ends with a at 4, b at 5: (5, 7) dominates it; Nash is (7, 6)
    assert out["payoff_a"].eq(4).all() and out["payoff_b"].eq(5).all()
    assert not out["pareto_optimal"].any()
    assert out["welfare"].eq(9).all() and out["nash_product"].eq(20).all()
    assert out["nash_distance"].to_numpy() == pytest.approx(math.sqrt(10))


def test_the_report_shows_the_figures_that_fit_the_game(concession_runs: dict[str, Path]) -> None:
    from analysis.report import render_report

    pages = {name: render_report(load_run(run), run) for name, run in concession_runs.items()}
    bargain, items = pages["price-bargain"], pages["item-division"]
    for page in pages.values():
        assert '<section id="outcomes">' in page and '<section id="standings">' in page
        assert 'alt="Concession curves"' in page and 'alt="Outcomes against the frontier"' in page
    assert 'alt="Agreed prices"' in bargain and "seat a (seller): mean payoff (dollars)" in bargain
    assert 'alt="Agreed splits"' not in items  # bundles are no numbers: the frontier instead
    assert "seat b (second): share of what it could win" in items
    assert "Nash bargaining solution" in items and "<td>7.00</td><td>6.00</td>" in items


def test_progress_speaks_only_after_its_first_second() -> None:
    import io

    from analysis.progress import Progress

    stream = io.StringIO()
    late, early = Progress("report", stream, after=0.0), Progress("report", io.StringIO())
    late("drawing the figures")
    early("fitting the models")
    assert stream.getvalue().startswith("report: drawing the figures (")
    assert early.stream.getvalue() == ""


def test_analyze_on_a_terminal_less_stream_prints_no_progress(
        concession_runs: dict[str, Path]) -> None:
    code, out, err = run_cli("analyze", str(concession_runs["price-bargain"]))
    assert code == 0 and err == "" and "Pareto-optimal" in out


def test_a_study1_run_gives_the_persona_against_its_script() -> None:
    from tests.analysis_support import demo_dir

    frames = load_run(demo_dir() / "study1")
    summary = summary_from_frames(frames, "study1")
    players = summary["outcomes"]["players"]
    assert "confederate" in players and len(players) == 2
    both = sum(p["seats"] for p in players.values())
    assert both == 2 * summary["outcomes"]["matches"]
    assert "outcomes by player          confederate payoff" in format_summary(summary, "s1")


def test_a_load_without_texts_reads_a_transcripts_texts_on_demand() -> None:
    from analysis.frames import turn_texts
    from tests.analysis_support import demo_dir

    full, lean = load_run(demo_dir() / "study2"), load_run(demo_dir() / "study2", texts=False)
    assert lean.turns["text"].isna().all() and full.turns["text"].notna().any()
    some = lean.turns[lean.turns["match_id"] == lean.turns["match_id"].iloc[0]]
    mine = full.turns.loc[some.index, "text"].tolist()
    assert turn_texts(lean, some)["text"].tolist() == mine
    assert turn_texts(full, some) is some


def test_a_large_run_names_the_standings_command(concession_runs: dict[str, Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.report import standings_section as section

    frames = load_run(concession_runs["price-bargain"])
    assert "<table>" in section.standings_section(frames, "RUN")
    monkeypatch.setattr(section, "MAX_MATCHES", 100)  # the run has 196
    html = section.standings_section(frames, "RUN")
    assert "<table>" not in html and "persona-arena standings RUN" in html


def test_a_run_without_a_finished_match_still_reports(concession_runs: dict[str, Path]) -> None:
    from analysis.frames import RunFrames
    from analysis.report import render_report

    f = load_run(concession_runs["item-division"])
    failed = RunFrames(f.matches.assign(status="failed"), f.turns, f.personas, f.ratings, f.meta,
                       f.run_dir)
    result = summary_from_frames(failed, "x")["outcomes"]
    assert result["matches"] == 0 and result["frontier"]["pareto_optimal_share"] is None
    assert result["anchoring"]["status"] == "too few data"
    assert '<section id="outcomes">' in render_report(failed, f.run_dir)
