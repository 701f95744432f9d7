"""Pairing effects for N seats (issue 14, item 3): the behaviour the game declares (the share a
majority-division proposer keeps), on own level and the others' mean level, clustered by
persona and with the mixed model: planted effects are recovered within their intervals; a run
without variation says so; a `team` column in the seats table gives fits by team."""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from analysis.effects import pairing_effects
from analysis.frames import load_run
from tests.helpers import cli, run_config

OWN, OTHERS = 0.03, -0.02  # planted: share kept per own level and per level of the others' mean

CONFIG = '''seed = {seed}
scenario = "majority-division"
condition = "both-images"
[personas]
pool = "{pool}"
[design]
kind = "groups"
seats = 3
matches = {matches}
[agents.default]
kind = "tests.planted_majority:PlantedMajority"
options = {options}
[execution]
progress = "none"
workers = 0
'''


def _run(tmp: Path, pool: Path, name: str, options: str, matches: int = 70,
         seed: int = 2) -> Path:
    return run_config(tmp, name, CONFIG.format(seed=seed, pool=pool, matches=matches,
                                               options=options))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, small_pool: Path) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("seat-effects")
    return {"planted": _run(tmp, small_pool, "planted",
                            f"{{ own = {OWN}, others = {OTHERS}, persona_sd = 0.03, "
                            "noise_sd = 0.04 }"),
            "flat": _run(tmp, small_pool, "flat", "{ base = 0.5 }", matches=20)}


def _within(fit: dict, term: str, value: float) -> bool:
    low, high = fit["ci"][term]
    return fit["status"] == "ok" and low < value < high


def test_planted_own_and_others_effects_are_recovered_in_three_seats(runs) -> None:
    frames = load_run(runs["planted"], texts=False)
    share = pairing_effects(frames, behaviours=("share",))["share"]
    assert "claim share" in share["label"] and "others' mean level" in share["label"]
    assert share["personas"] == 14 and share["n"] == 70 * 3  # one proposal a match
    for model in ("ols", "mixed"):
        fit = share[model]
        assert _within(fit, "own", OWN) and _within(fit, "opp", OTHERS), (model, fit["ci"])
        assert fit["significant"]["own"] and fit["significant"]["opp"]
    assert share["ols"]["clusters"] == share["mixed"]["groups"] == 14
    assert share["mixed"]["sd_persona"] > 0.01  # the planted persona effects
    # own - others' mean: the gap the groups design spreads, in both models
    assert share["ols_diff"]["status"] == share["mixed_diff"]["status"] == "ok"
    assert not _within(share["ols"], "own", 0.0) and not _within(share["ols"], "opp", 0.0)


def test_the_declared_behaviour_is_in_analyze_and_the_report(runs) -> None:
    done = cli("analyze", str(runs["planted"]), "--json")
    assert done.returncode == 0, done.stderr
    share = json.loads(done.stdout)["effects"]["share"]
    assert _within(share["mixed"], "own", OWN)
    out = runs["planted"] / "r.html"
    assert cli("report", str(runs["planted"]), "--out", str(out)).returncode == 0
    page = out.read_text()
    assert "Claim share demanded by the proposer" in page and "Mixed on difference" in page
    # every seat has its tiles; the N-seat figures are there; the headline names the others
    assert re.search(r"seat c \((voter|third mover)\): mean payoff", page)
    assert 'alt="Share by seat"' in page and 'alt="Share by level gap"' in page
    assert "the others&#x27; mean aggressiveness" in page or \
        "the others' mean aggressiveness" in page
    assert 'alt="Acceptance by offer"' not in page  # votes: no one responder's offer
    assert "personas played (pool 14)" in page and ">0</b><span>personas played" not in page


def test_a_run_without_variation_reports_no_variation(runs) -> None:
    frames = load_run(runs["flat"], texts=False)
    share = pairing_effects(frames, behaviours=("share",))["share"]
    for model in ("ols", "mixed"):
        assert share[model]["status"] == "degenerate"
        assert "no variation" in share[model]["status_reason"]
        assert not any(share[model]["significant"].values())
        assert share[model].get("p", {}).get("own") is None  # no p-value to misread


def test_a_team_column_in_the_seats_table_gives_fits_by_team(runs, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "teams"
    shutil.copytree(runs["planted"], run)
    with sqlite3.connect(run / "arena.sqlite") as db:
        db.execute("ALTER TABLE seats ADD COLUMN team TEXT")
        # two teams: personas of odd levels and of even levels (a proposer is always seat a)
        db.execute("UPDATE seats SET team = CASE level % 2 WHEN 1 THEN 'odd' ELSE 'even' END")
        odd = db.execute("SELECT COUNT(*) FROM seats WHERE seat = 'a' AND level % 2 = 1"
                         ).fetchone()[0]
    share = pairing_effects(load_run(run, texts=False), behaviours=("share",))["share"]
    teams = share["by_team"]
    assert set(teams) == {"odd", "even"} and teams["odd"]["n"] == odd
    assert teams["odd"]["n"] + teams["even"]["n"] == share["n"]
    assert teams["odd"]["personas"] == 8 and teams["even"]["personas"] == 6
    assert all(_within(teams[t]["mixed"], "own", OWN) for t in teams)


def test_games_declare_their_behaviour_and_read_claims_as_shares() -> None:
    import numpy as np

    from scenarios.loader import load_scenario

    expected = {"ultimatum-4": "claim share", "item-division": "claim share",
                "majority-division": "claim share", "price-bargain": "surplus share",
                "job-offer": "surplus share"}
    for name, behaviour in expected.items():
        assert load_scenario(name).rules.behaviour == behaviour, name
    ultimatum = load_scenario("ultimatum-4").rules  # $ of the 100 pie
    assert ultimatum.claim_share(np.array([60.0]), "b", 2) == pytest.approx([0.6])
    majority = load_scenario("majority-division").rules  # the 100 pie, whatever the seat
    assert majority.claim_share(np.array([40.0]), "c", 3) == pytest.approx([0.4])
    bargain = load_scenario("price-bargain")  # the surplus between the reservations
    surplus = bargain.spec.buyer_reservation - bargain.spec.seller_reservation
    assert bargain.rules.claim_share(surplus / 4, "a", 2) == pytest.approx(0.25)
    job = load_scenario("job-offer")  # points above the seat's reservation, of the most
    spec, role = job.spec, job.spec.roles[0]
    reservation = getattr(spec, f"{role}_reservation")
    best = sum(max(getattr(i, role)) for i in spec.issues)
    assert job.rules.claim_share(float(reservation), "a", 2) == 0.0
    assert job.rules.claim_share(float(best), "a", 2) == pytest.approx(1.0)
    space = job.new_state().outcome_space()  # the multi-issue game's frontier
    assert space.disagreement == (reservation, getattr(spec, f"{spec.roles[1]}_reservation"))
    assert max(p[0] for p in space.points) == best


def test_model_tables_show_small_effects_with_enough_decimals() -> None:
    from analysis.report.models import decimals, model_rows

    fit = {"coef": {"intercept": 0.5, "own": 0.0123}, "se": {"intercept": 0.004,
                                                           "own": 0.00042},
           "ci": {"intercept": [0.49, 0.51], "own": [0.0115, 0.0131]},
           "p": {"intercept": 0.0, "own": 0.0}, "status": "ok", "n": 10, "clusters": 5}
    assert decimals(fit) == 5 and decimals({"se": {"own": 0.5}}) == 3
    assert "0.01230" in model_rows("OLS", fit) and "0.00042" in model_rows("OLS", fit)
