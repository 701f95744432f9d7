"""Standings of games of more than two seats (issue 14, item 4): the k-player lockstep update is
openskill's `PlackettLuce().rate(..., ranks=...)` with and without ties, each match is one game
of its distinct entities, a simulated majority-division run ranks its planted strongest persona
first (with its interval), and `persona-arena standings` and the report show the leaderboard."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.frames import RunFrames, load_run
from analysis.report.standings_section import standings_section
from analysis.skill_update import SkillModel, rate_games
from analysis.standings import _replicates, games, standings
from tests.helpers import cli, run_config

STRONG = "p0005"  # the persona the simulated runs make strongest (an input of the test)

CONFIG = '''seed = {seed}
scenario = "majority-division"
condition = "both-images"
[personas]
pool = "{pool}"
[design]
kind = "groups"
seats = {seats}
matches = {matches}
[agents.default]
kind = "tests.planted_standings:StrongestTakesMost"
options = {{ strong = "{strong}", bonus = {bonus}, noise_sd = 0.35 }}
[execution]
progress = "none"
workers = 0
'''


def _openskill_sequence(players: np.ndarray, ranks: np.ndarray, entities: int) -> list:
    """The same games rated one after another by openskill itself (empty slots left out)."""
    from openskill.models import PlackettLuce

    model = PlackettLuce()
    ratings = [model.rating() for _ in range(entities)]
    for row, rank in zip(players, ranks):
        keep = row >= 0
        new = model.rate([[ratings[p]] for p in row[keep]],
                         ranks=[float(r) for r in rank[keep]])
        for p, (rating,) in zip(row[keep], new):
            ratings[p] = rating
    return ratings


@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("ties", [False, True])
def test_the_k_player_update_is_openskills_plackett_luce(k: int, ties: bool) -> None:
    rng = np.random.default_rng(10 * k + ties)
    entities, steps = 9, 250
    players = np.stack([rng.choice(entities, k, replace=False) for _ in range(steps)])
    if ties:  # few distinct places: shared places in most games
        ranks = rng.integers(0, 2 if k == 3 else 3, (steps, k))
    else:
        ranks = np.stack([rng.permutation(k) for _ in range(steps)])
    if k == 5:  # some games with fewer players, padded with empty slots
        for t in range(0, steps, 3):
            players[t, rng.choice(k, rng.integers(1, k - 1), replace=False)] = -1
    ranks = np.where(players >= 0, ranks, k)
    truth = _openskill_sequence(players, ranks, entities)
    mu, sigma = rate_games(SkillModel.openskill(), np.tile(players, (3, 1, 1)),
                           np.tile(ranks, (3, 1, 1)), entities)
    assert ties == any(len(set(r[p >= 0])) < (p >= 0).sum() for p, r in zip(players, ranks))
    for row in range(3):  # three replicates of the same sequence: each must be openskill's
        assert mu[row] == pytest.approx([p.mu for p in truth], abs=1e-9)
        assert sigma[row] == pytest.approx([p.sigma for p in truth], abs=1e-9)


def _frames(seat_rows: list[tuple[str, str, str, float]]) -> RunFrames:
    """Frames of a store with a seats table: (match, seat, persona, payoff) rows."""
    seats = pd.DataFrame([{"match_id": m, "seat": s, "persona_id": p, "agent": "scripted",
                           "role": None, "level": int(p[1:]) % 3 + 1, "payoff": pay,
                           "share": None} for m, s, p, pay in seat_rows])
    matches = pd.DataFrame({"match_id": sorted(set(seats["match_id"])), "status": "ok",
                            "deal": 1, "agreements": 1})
    empty = pd.DataFrame()
    return RunFrames(matches, empty, empty, empty, {}, stored_seats=seats)


def test_a_match_is_one_game_of_its_distinct_entities_ranked_by_payoff() -> None:
    frames = _frames([("m1", "a", "p1", 50), ("m1", "b", "p2", 30), ("m1", "c", "p3", 30),
                      ("m2", "a", "p4", 10), ("m2", "b", "p4", 30), ("m2", "c", "p2", 15),
                      ("m3", "a", "p3", 20), ("m3", "b", "p3", 20), ("m3", "c", "p3", 20),
                      ("m4", "a", "p1", 5), ("m4", "b", "p2", 60)])
    g = games(frames, "persona")
    by_game = [{g.names[p]: (int(r), float(pay)) for p, r, pay in zip(row, rank, pays) if p >= 0}
               for row, rank, pays in zip(g.players, g.ranks, g.payoffs)]
    # m3 (one persona in every seat) is no game; p4's two seats in m2 play once, at their mean
    assert by_game == [{"p1": (0, 50.0), "p2": (1, 30.0), "p3": (1, 30.0)},
                       {"p2": (1, 15.0), "p4": (0, 20.0)},
                       {"p1": (1, 5.0), "p2": (0, 60.0)}]
    result = standings(frames, bootstrap=0, orders=3, seed=2)
    part = result["kinds"]["persona"]
    assert part["games"] == 3 and part["players"] == [2, 3]
    rows = {r["name"]: r for r in part["standings"]}
    assert (rows["p2"]["wins"], rows["p2"]["draws"], rows["p2"]["losses"]) == (1, 0, 2)
    assert rows["p3"]["mean_place"] == 2.0 and rows["p3"]["matches"] == 1
    assert result["kinds"]["agent"]["standings"] == []  # one agent: nobody to beat


def test_a_run_of_mixed_seat_counts_is_rated_in_one_order_as_openskill_would() -> None:
    """Two- and three-seat matches in one run, one order, no resample: the standings are
    openskill's ratings of the run's games in that order (the padding, the offsets of the
    three kinds and the sorting of each game's slots change nothing)."""
    rng = np.random.default_rng(4)
    rows = []
    for m in range(120):
        seats = 2 + m % 2
        for seat, persona in zip("abc", rng.choice(7, seats, replace=False)):
            rows.append((f"m{m:03d}", seat, f"p{persona}", float(rng.integers(0, 4) * 10)))
    frames = _frames(rows)
    result = standings(frames, bootstrap=0, orders=1, seed=7)
    for kind in ("persona", "level"):
        g = games(frames, kind)
        order = _replicates(len(g), 0, 1, 7)[0]
        truth = _openskill_sequence(g.players[order], g.ranks[order], len(g.names))
        got = {r["name"]: (r["mu"], r["sigma"]) for r in result["kinds"][kind]["standings"]}
        for name, rating in zip(g.names, truth):
            assert got[name] == pytest.approx((rating.mu, rating.sigma), abs=1e-9), (kind, name)


def _run(tmp: Path, pool: Path, name: str, seats: int, matches: int, bonus: float) -> Path:
    return run_config(tmp, name, CONFIG.format(seed=3, pool=pool, seats=seats, matches=matches,
                                               strong=STRONG, bonus=bonus))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, small_pool: Path) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("standings-nseat")
    return {"three": _run(tmp, small_pool, "three", 3, 40, 0.5),
            "five": _run(tmp, small_pool, "five", 5, 30, 0.6)}


def _check_leader(result: dict, frames: RunFrames, seats: int) -> None:
    personas = result["kinds"]["persona"]
    assert personas["players"] == [seats, seats] and personas["entities"] == 14
    rows = personas["standings"]
    assert rows[0]["name"] == STRONG and rows[0]["rank_ci"] == [1, 1]
    assert rows[0]["mu_ci"][0] > max(r["mu"] for r in rows[1:])
    assert all(r["wins"] + r["draws"] + r["losses"] == r["matches"] for r in rows)
    assert sum(r["draws"] for r in rows) > 0  # shared places: coarse shares tie
    assert rows[0]["mean_place"] < min(r["mean_place"] for r in rows[1:])
    level = frames.personas.set_index("persona_id").loc[STRONG, "level"]
    assert result["kinds"]["level"]["standings"][0]["name"] == f"level {int(level)}"
    assert result["kinds"]["agent"]["games"] == 0  # every seat the same agent


def test_a_planted_strongest_persona_ranks_first_in_three_seats(runs) -> None:
    frames = load_run(runs["three"], texts=False)
    assert frames.multi_seat
    result = standings(frames, bootstrap=100, orders=10, seed=1)
    _check_leader(result, frames, 3)


def test_standings_command_on_a_five_seat_run(runs) -> None:
    done = cli("standings", str(runs["five"]), "--json", "--bootstrap", "100", "--orders", "10")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    _check_leader(result, load_run(runs["five"], texts=False), 5)
    done = cli("standings", str(runs["five"]), "--bootstrap", "20")
    assert done.returncode == 0, done.stderr
    assert "5 a game" in done.stdout and "Nothing" not in done.stdout
    assert done.stdout.splitlines()[3].split()[1] == STRONG  # the persona table's first row


def test_the_report_shows_the_n_seat_leaderboard(runs, tmp_path: Path) -> None:
    frames = load_run(runs["three"], texts=False)
    section = standings_section(frames, runs["three"])
    assert "Nothing to rate" not in section
    assert "personas: 14 over" in section and "3 a game" in section
    assert "<th>mean place</th>" in section
    first = section.split("<th>mean place</th></tr>")[1]
    assert first.startswith(f"<tr><td>1</td><td>{STRONG}</td>")
    out = tmp_path / "page.html"
    done = cli("report", str(runs["three"]), "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    standings_part = page.split('<section id="standings">')[1].split("</section>")[0]
    assert f"<td>1</td><td>{STRONG}</td>" in standings_part
    assert "Nothing to rate" not in standings_part
