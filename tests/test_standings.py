"""Standings: the lockstep rating update is openskill's Plackett-Luce exactly, a planted
stronger persona, level and agent rank first, the order of the stored matches hardly matters
(ratings are averaged over orders), and `persona-arena standings` bounds its options."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.frames import RunFrames
from analysis.standings import SkillModel, rate_pairs, standings
from tests.analysis_support import demo_dir, run_cli


def test_the_lockstep_update_is_openskills_plackett_luce() -> None:
    from openskill.models import PlackettLuce

    rng = np.random.default_rng(3)
    entities, steps = 6, 300
    a = rng.integers(0, entities, steps)
    b = (a + rng.integers(1, entities, steps)) % entities
    outcome = rng.choice([-1, 0, 1], steps, p=[0.4, 0.2, 0.4])
    model = PlackettLuce()
    players = [model.rating() for _ in range(entities)]
    for i, j, w in zip(a, b, outcome):
        scores = [1.0, 0.0] if w > 0 else [0.0, 1.0] if w < 0 else [0.5, 0.5]
        (pi,), (pj,) = model.rate([[players[i]], [players[j]]], scores=scores)
        players[i], players[j] = pi, pj
    # three replicates: the same sequence, so every row must equal openskill's sequence
    mu, sigma = rate_pairs(SkillModel.openskill(), np.tile(a, (3, 1)), np.tile(b, (3, 1)),
                           np.tile(outcome, (3, 1)), entities)
    for row in range(3):
        assert mu[row] == pytest.approx([p.mu for p in players], abs=1e-9)
        assert sigma[row] == pytest.approx([p.sigma for p in players], abs=1e-9)


def _planted(strength: dict[str, float], matches: int = 1500, seed: int = 2) -> RunFrames:
    """Round-robin-ish matches between personas (two agents, levels 1..3) whose payoff is
    strength + noise: the strongest persona, its level and its agent should lead."""
    rng = np.random.default_rng(seed)
    names = list(strength)
    level = {n: 1 + i % 3 for i, n in enumerate(names)}
    agent = {n: ("llm:good" if strength[n] > 0.5 else "llm:plain") for n in names}
    rows = []
    for k in range(matches):
        x, y = rng.choice(len(names), 2, replace=False)
        px, py = names[x], names[y]
        rows.append({"match_id": f"m{k:05d}", "status": "ok", "persona_a": px, "persona_b": py,
                     "level_a": level[px], "level_b": level[py], "agent_a": agent[px],
                     "agent_b": agent[py],
                     "payoff_a": round(strength[px] + rng.normal(0, 1), 1),
                     "payoff_b": round(strength[py] + rng.normal(0, 1), 1)})
    empty = pd.DataFrame()
    return RunFrames(pd.DataFrame(rows), empty, empty, empty, {})


def test_a_planted_stronger_persona_level_and_agent_rank_first() -> None:
    strength = {"p1": 0.0, "p2": 0.0, "p3": 0.1, "p4": 0.0, "p5": 0.0, "p6": 1.5}
    result = standings(_planted(strength), bootstrap=100, orders=10, seed=4)
    personas = result["kinds"]["persona"]["standings"]
    assert personas[0]["name"] == "p6" and personas[0]["rank_ci"] == [1, 1]
    assert personas[0]["mu_ci"][0] > max(r["mu"] for r in personas[1:])
    levels = result["kinds"]["level"]["standings"]
    assert levels[0]["name"] == "level 3"  # p6 is the third level's
    agents = result["kinds"]["agent"]["standings"]
    assert [r["name"] for r in agents] == ["llm:good", "llm:plain"]
    assert personas[0]["wins"] + personas[0]["draws"] + personas[0]["losses"] \
        == personas[0]["matches"]


def test_the_stored_order_of_matches_hardly_matters() -> None:
    strength = {f"p{i}": 0.3 * i for i in range(6)}
    frames = _planted(strength, matches=1200, seed=5)
    shuffled = RunFrames(frames.matches.sample(frac=1, random_state=1).reset_index(drop=True),
                         frames.turns, frames.personas, frames.ratings, {})
    first = {r["name"]: r["mu"] for r in standings(frames, 0, 30, 1)["kinds"]["persona"]
             ["standings"]}
    second = {r["name"]: r["mu"] for r in standings(shuffled, 0, 30, 1)["kinds"]["persona"]
              ["standings"]}
    assert max(abs(first[k] - second[k]) for k in first) < 0.6
    assert sorted(first, key=first.get) == [f"p{i}" for i in range(6)]  # truth's order


def test_standings_command_on_the_demo() -> None:
    code, out, err = run_cli("standings", str(demo_dir() / "study2"), "--json",
                             "--bootstrap", "30", "--orders", "5")
    assert code == 0, err
    result = json.loads(out)
    levels = result["kinds"]["level"]["standings"]
    # the surrogate claims 1.6 more per own level: the most aggressive level earns most
    assert levels[0]["name"] == "level 7" and levels[-1]["name"] == "level 1"
    assert result["kinds"]["persona"]["entities"] == 14
    assert all("mu_ci" in r for r in levels)
    code, text, _ = run_cli("standings", str(demo_dir() / "study1"), "--bootstrap", "0")
    assert code == 0 and "confederate" in text and "levels:" in text


@pytest.mark.parametrize("args", [["--bootstrap", "-1"], ["--bootstrap", "100000"],
                                  ["--bootstrap", "nan"], ["--orders", "0"],
                                  ["--orders", "1e9"], ["--seed", "-3"]])
def test_standings_options_are_bounded(args: list[str]) -> None:
    code, _, err = run_cli("standings", str(demo_dir() / "study2"), *args)
    assert code == 2 and args[0] in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_standings_of_a_missing_run_is_one_line(tmp_path) -> None:
    code, _, err = run_cli("standings", str(tmp_path / "nothing"))
    assert code == 2 and "no arena.sqlite" in err
