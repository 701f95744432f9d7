"""What the report shows for each kind of run: Study 1's claim by own level, acceptance points
for a script's few offers, tiles that say what they count, only the personas that played,
readable heatmap labels, the run health section, and the style sheet as package data."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from analysis import figures
from analysis.effects import behaviour_data
from analysis.frames import load_run
from analysis.report import render_report
from analysis.report.page import style_sheet
from analysis.report.plots import figure_list
from tests.analysis_support import copy_run, demo_dir, run_cli
from tests.helpers import ROOT


def test_a_study1_report_shows_the_claim_by_own_level() -> None:
    frames = load_run(demo_dir() / "study1")
    titles = [title for title, _ in figure_list(behaviour_data(frames), frames)]
    assert titles[0] == "Claim by own level"
    assert "Mean claim by own and opponent level" not in titles  # no opponent level to show
    page = render_report(frames, demo_dir() / "study1")
    assert "no proposals with both levels" not in page
    assert "changes the claim by <b>+" in page  # the headline: the own effect, significant
    assert "Only the own level varies" in page


def test_a_scripts_two_offers_are_points_not_a_band() -> None:
    frames = load_run(demo_dir() / "study1")
    responses = behaviour_data(frames)["acceptance"].frame
    table = figures.acceptance_bins(responses, frames.units.stake)
    assert sorted(table["bin"]) == [25.0, 50.0]  # the confederate offers $25 and $50
    assert not figures.draws_band(table)
    study2 = load_run(demo_dir() / "study2")
    table2 = figures.acceptance_bins(behaviour_data(study2)["acceptance"].frame, 100)
    assert figures.draws_band(table2)


def test_tiles_say_what_they_count() -> None:
    frames = load_run(demo_dir() / "study1")
    page = render_report(frames, demo_dir() / "study1")
    for label in ("proposals by personas", "of personas&#x27; proposals accepted",
                  "of responses by personas accept", "matches ending in a deal",
                  "a scripted confederate's moves are left out"):
        assert label in page, label
    data = behaviour_data(frames)
    n_claims = len(data["claim"].frame)
    assert f"<b>{n_claims:,}</b><span>proposals by personas" in page


def test_the_pool_section_shows_the_personas_that_played(tmp_path: Path) -> None:
    run = copy_run(demo_dir() / "study2", tmp_path / "run")
    with sqlite3.connect(run / "arena.sqlite") as conn:
        gone = [r[0] for r in conn.execute("SELECT persona_id FROM personas LIMIT 3")]
        marks = ",".join("?" * len(gone))
        ids = [r[0] for r in conn.execute(
            f"SELECT match_id FROM matches WHERE persona_a IN ({marks}) OR persona_b IN "
            f"({marks})", gone + gone)]
        conn.executemany("DELETE FROM turns WHERE match_id = ?", [(i,) for i in ids])
        conn.executemany("DELETE FROM matches WHERE match_id = ?", [(i,) for i in ids])
    frames = load_run(run)
    page = render_report(frames, run)
    pool = page[page.index('id="pool"'):page.index('id="figures"')]
    assert pool.count('<figure class="avatar">') == len(frames.personas) - 3
    assert "3 more in the pool did not" in pool
    for persona in gone:
        assert f">{persona}</figcaption>" not in pool


def test_heatmap_labels_stay_readable_and_distinct() -> None:
    close = np.array([[60.21, 60.48], [60.33, 60.12]])
    assert len(set(figures.cell_labels(close))) == 4  # "60" four times would say nothing
    assert figures.cell_labels(np.array([[10.0, 52.0]])) == ["10", "52"]
    assert figures._text_colour((0.05, 0.1, 0.4, 1)) == "white"  # dark blue cell
    assert figures._text_colour((1.0, 1.0, 0.75, 1)) == figures.INK  # pale yellow cell
    same = figures.claim_heatmap(load_run(demo_dir() / "study2").proposals.assign(y=55.0))
    assert same[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_health_in_analyze_and_the_report(tmp_path: Path) -> None:
    run = copy_run(demo_dir() / "study2", tmp_path / "run")
    counters = {"requests": 1234, "retries": 7, "delivery_failures": 1, "unchecked_delivery": 0,
                "timeouts": 2, "cache_hits": 50}
    with sqlite3.connect(run / "arena.sqlite") as conn:
        first = conn.execute("SELECT match_id FROM matches ORDER BY match_id LIMIT 2").fetchall()
        conn.execute("UPDATE turns SET move_kind = 'invalid', claim = NULL, reason = "
                     "'empty reply' WHERE match_id = ? AND turn_index IN (0, 2)", first[0])
        conn.execute("UPDATE turns SET move_kind = 'invalid', claim = NULL, reason = "
                     "'no claim found in the reply' WHERE match_id = ? AND turn_index = 0",
                     first[1])
        conn.execute("UPDATE matches SET status = 'failed', error = 'timeout after 3 retries' "
                     "WHERE match_id = ?", first[1])
        conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('run_health', ?)",
                     (json.dumps(counters),))
    code, out, err = run_cli("analyze", str(run), "--json")
    assert code == 0, err
    health = json.loads(out)["health"]
    assert health["invalid_turns"] == 3 and health["empty_replies"] == 2
    assert health["invalid_reasons"][0] == {"reason": "empty reply", "count": 2}
    assert health["failed_matches"] == 1
    assert health["failed_examples"] == [{"match_id": first[1][0],
                                          "error": "timeout after 3 retries"}]
    assert health["counters"] == counters
    code, text, _ = run_cli("analyze", str(run))
    assert "run health: 3 invalid turns" in text and "requests 1,234" in text
    page = render_report(load_run(run), run)
    section = page[page.index('id="health"'):]
    assert "no claim found in the reply" in section and "timeout after 3 retries" in section
    assert "runner: delivery failures" in section and "1,234" in section


def test_the_style_sheet_is_package_data() -> None:
    css = style_sheet()
    assert ".cards" in css and "details.match" in css
    assert (ROOT / "analysis" / "report" / "report.css").is_file()
    assert '"analysis.report" = ["*.css"]' in (ROOT / "pyproject.toml").read_text()
    page = render_report(load_run(demo_dir() / "study1"), demo_dir() / "study1")
    assert css in page
    for module in (ROOT / "analysis" / "report").glob("*.py"):
        assert len(module.read_text().splitlines()) < 200, module.name  # split by idea


@pytest.mark.parametrize("study", ["study1", "study2"])
def test_every_report_figure_is_a_png(study: str) -> None:
    frames = load_run(demo_dir() / study)
    for title, png in figure_list(behaviour_data(frames), frames):
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000, title
