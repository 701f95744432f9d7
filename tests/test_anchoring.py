"""Anchoring as a design factor (issue 15, item 4): a confederate opens each match with each
level of `design.factors.first_offer`; a planted response to the opening is recovered, per
condition, within its interval; bad factor levels are refused naming the field."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import cli

OPENINGS = [30, 40, 50, 60, 70]
BETA = -0.5  # planted: each claim moves -0.5 per unit of the opening, in self-only only


def _config(tmp: Path, pool: Path, name: str, condition: str, design_extra: str = "",
            seed: int = 1) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(f'''seed = {seed}
scenario = "ultimatum-4"
condition = "{condition}"
[personas]
pool = "{pool}"
[design]
kind = "confederate"
levels = 7
per_level = 2
repetitions = 4
factors = {{ first_offer = {OPENINGS} }}
{design_extra}
[agents.default]
kind = "tests.planted_agents:Planted"
options = {{ anchor = {{ "self-only" = {BETA} }} }}
[execution]
progress = "none"
workers = 0
''')
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, small_pool: Path) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("anchor")
    out = {}
    for name, condition in (("anchored", "self-only"), ("free", "text")):
        run = tmp / name
        result = cli("run", str(_config(tmp, small_pool, name, condition)), "--out", str(run))
        assert result.returncode == 0, result.stderr
        analyzed = cli("analyze", str(run), "--json")
        assert analyzed.returncode == 0, analyzed.stderr
        out[name] = {"dir": run, "summary": json.loads(analyzed.stdout)}
    return out


def _within(fit: dict, value: float) -> bool:
    return fit["status"] == "ok" and fit["ci"][0] < value < fit["ci"][1]


def test_the_factor_plans_every_opening_and_stores_it(runs) -> None:
    import sqlite3

    with sqlite3.connect(runs["anchored"]["dir"] / "arena.sqlite") as db:
        labels = dict(db.execute("SELECT agent_a, COUNT(*) FROM matches GROUP BY agent_a"))
        firsts = {row[0] for row in db.execute(
            "SELECT claim FROM turns WHERE turn_index = 0")}
    assert labels == {f"confederate(first_offer={o})": 14 * 4 for o in OPENINGS}
    assert firsts == {float(o) for o in OPENINGS}  # the script opens every match


def test_a_planted_anchor_is_recovered_per_condition(runs) -> None:
    anchored = runs["anchored"]["summary"]["outcomes"]["anchoring_by_condition"]
    free = runs["free"]["summary"]["outcomes"]["anchoring_by_condition"]
    assert set(anchored) == {"self-only"} and set(free) == {"text"}
    a, f = anchored["self-only"], free["text"]
    # the answer to the opening: the planted slope itself, clustered by the 14 personas
    assert _within(a["counter"], BETA) and a["counter"]["clusters"] == 14
    assert _within(f["counter"], 0.0) and not _within(f["counter"], BETA)
    # the opener's final share over 4 rounds, all accepted: (opening - 2 * answer) / 4 a unit
    assert _within(a["final"], (1 - 2 * BETA) / 4) and _within(f["final"], 0.25)
    assert not _within(f["final"], (1 - 2 * BETA) / 4)
    levels = a["levels"]
    assert list(levels) == [str(o) for o in OPENINGS]
    counters = [levels[str(o)]["counter_share"]["mean"] for o in OPENINGS]
    assert counters == sorted(counters, reverse=True)  # higher openings, lower answers


def test_the_text_summary_names_each_opening(runs) -> None:
    text = cli("analyze", str(runs["anchored"]["dir"]))
    assert text.returncode == 0, text.stderr
    assert "anchoring in self-only" in text.stdout and "opening     70" in text.stdout
    out = runs["anchored"]["dir"] / "r.html"
    report = cli("report", str(runs["anchored"]["dir"]), "--out", str(out))
    assert report.returncode == 0, report.stderr
    page = out.read_text()
    assert 'class="anchoring"' in page and "opening 70 (56 matches)" in page


@pytest.mark.parametrize("factors, field", [
    ("{ first_offer = [50] }", "design.factors.first_offer"),
    ("{ first_offer = [50, 50] }", "design.factors.first_offer"),
    ("{ first_offer = [50, 150] }", "design.factors.first_offer.1"),
    ("{ opening = [40, 60] }", "design.factors.opening"),
    ("{ first_offer = [40, true] }", "design.factors.first_offer"),
])
def test_bad_factor_levels_are_refused_naming_the_field(tmp_path: Path, small_pool: Path,
                                                        factors: str, field: str) -> None:
    config = _config(tmp_path, small_pool, "bad", "self-only")
    config.write_text(config.read_text().replace(f"factors = {{ first_offer = {OPENINGS} }}",
                                                 f"factors = {factors}"))
    result = cli("run", str(config), "--out", str(tmp_path / "out"), "--dry-run")
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0]


def test_a_factor_on_a_design_without_a_script_is_refused(tmp_path: Path,
                                                          small_pool: Path) -> None:
    config = _config(tmp_path, small_pool, "fact", "self-only")
    config.write_text(config.read_text().replace('kind = "confederate"', 'kind = "factorial"'))
    result = cli("run", str(config), "--dry-run")
    assert result.returncode == 2 and "design.factors.first_offer" in result.stderr
    assert "confederate" in result.stderr
