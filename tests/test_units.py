"""Outcomes in the run's own units: offers from the scenario the run stored (a pie of 1,000, a
price bargain's surplus, an item division's bundles), the surrogate on another pie and under
`none`, and `power` refusing what it cannot simulate."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from analysis.effects import behaviour_data
from analysis.frames import load_run
from analysis.units import RunUnits, run_units
from scenarios.loader import BUILTIN_DIR
from tests.analysis_support import concession_config, run_cli

# its module-scoped fixtures are built once: under pytest-xdist the file runs on one worker
pytestmark = pytest.mark.xdist_group("test_units")


def _surrogate_config(pool: Path, scenario: str, condition: str = "both-images") -> str:
    return (f'seed = 6\nscenario = "{scenario}"\ncondition = "{condition}"\n'
            f'[personas]\npool = "{pool}"\nrating = "design"\n'
            '[design]\nkind = "factorial"\nlevels = 7\nper_level = 2\nrepetitions = 4\n'
            '[agents.default]\nkind = "surrogate"\nfit = "gpt-4o"\n'
            '[execution]\nprogress = "none"\n')


def _run(tmp: Path, name: str, config: str) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(config)
    code, _, err = run_cli("run", str(path), "--out", str(tmp / name))
    assert code == 0, err
    return tmp / name


@pytest.fixture(scope="module")
def runs(small_pool: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("units")
    big = (BUILTIN_DIR / "ultimatum-4.toml").read_text().replace(
        'name = "ultimatum-4"', 'name = "ultimatum-1000"').replace("pie = 100", "pie = 1000")
    (tmp / "ultimatum-1000.toml").write_text(big)
    return {"pie1000": _run(tmp, "pie1000", _surrogate_config(small_pool, "ultimatum-1000.toml")),
            "none": _run(tmp, "none", _surrogate_config(small_pool, "ultimatum-4", "none")),
            "bargain": _run(tmp, "bargain", concession_config(small_pool, "price-bargain")),
            "items": _run(tmp, "items", concession_config(small_pool, "item-division"))}


def test_the_run_stores_its_scenario_and_offers_use_its_pie(runs: dict[str, Path]) -> None:
    frames = load_run(runs["pie1000"])
    assert json.loads(frames.meta["scenario_spec"])["pie"] == 1000
    assert frames.units.stake == 1000 and frames.units.source == "the run's stored scenario"
    claims = frames.proposals["claim"]
    # the surrogate scales with the pie: the gpt-4o fit claims ~60% of it, not 61 of 1,000
    assert 550 < claims.mean() < 650
    responses = behaviour_data(frames)["acceptance"].frame
    assert responses["offer"].to_numpy() == pytest.approx(
        1000 - frames.proposals.loc[frames.proposals["accepted"].notna(), "claim"].to_numpy())
    assert responses["offer"].between(0, 1000).all() and responses["offer"].max() > 100


def test_a_price_bargain_offers_the_surplus_left(runs: dict[str, Path]) -> None:
    frames = load_run(runs["bargain"])
    units = frames.units
    assert units.stake == 60  # buyer 80 - seller 20: what a price divides
    assert "surplus" in units.offer_label and "surplus" in units.claim_label
    offers = behaviour_data(frames)["acceptance"].frame["offer"]
    assert offers.notna().all()
    assert offers.between(-20, 80).all()  # prices 0..100: the responder gains -20..80


def test_an_item_division_offers_the_responders_value_of_what_is_left(
        runs: dict[str, Path]) -> None:
    frames = load_run(runs["items"])
    spec = frames.units.spec
    props = frames.proposals
    row = props[props["speaker"] == "a"].iloc[0]
    kept = json.loads(row["offer"])
    left = [item["count"] - k for item, k in zip(spec["items"], kept)]
    value = sum(v * n for v, n in zip(spec["values_b"], left))
    assert frames.units.offers(props.loc[[row.name]]).iloc[0] == value
    assert frames.units.stake is None and "items" in frames.units.offer_label


def test_units_of_older_and_imported_runs() -> None:
    assert run_units({"pie": "100"}).stake == 100
    assert run_units({"scenario": "ultimatum-4"}).stake == 100  # loaded by name
    unknown = run_units({"scenario": "gone.toml"})
    assert unknown.stake is None and unknown.source == "unknown"
    import pandas as pd

    assert unknown.offers(pd.DataFrame({"claim": [60.0]})).isna().all()  # no invented 100
    assert RunUnits({"pie": 10, "units": "dollars"}).claim_label == "claim (dollars of 10)"


def test_the_surrogate_without_a_persona_has_no_own_level_effect(runs: dict[str, Path]) -> None:
    code, out, err = run_cli("analyze", str(runs["none"]), "--json")
    assert code == 0, err
    own = json.loads(out)["effects"]["claim"]["ols"]
    lo, hi = own["ci"]["own"]
    assert lo < 0 < hi and abs(own["coef"]["own"]) < 0.6  # the fit's own effect is +1.6


def test_power_refuses_a_pilot_the_surrogate_cannot_play(runs: dict[str, Path]) -> None:
    code, _, err = run_cli("power", "--pilot", str(runs["bargain"]))
    assert code == 2 and "price-bargain" in err and "ultimatum" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_power_from_a_pilot_on_another_pie_works_in_its_units(runs: dict[str, Path]) -> None:
    code, out, err = run_cli("power", "--pilot", str(runs["pie1000"]), "--sims", "50", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert 500 < result["intercept"] < 650  # dollars of 1,000
    assert "pie 1000" in result["source"]
