"""The planted agent (issue 15, item 5): SIMULATED behaviour with effects of stated sizes, for
every game. analyze recovers a planted own-level and opponent-level effect and a planted
condition difference within their intervals; TOST calls identical planted behaviour equivalent
and a planted difference beyond the margin not; the anchoring coefficient of a planted anchor
is recovered; every built-in game (and the example plugin game) is played through the CLI and
labelled SIMULATED; bad planted tables end in one line naming the key."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from agents.negotiators.planted import PlantedNegotiator, PlantedParams, mean_demand
from agents.personas.persona import Persona
from tests.helpers import ROOT, cli, table

OWN, OPP = 2.0, -1.0  # planted: points (dollars of 100) per level


def _config(tmp: Path, pool: Path, name: str, planted: str, *, scenario: str = "ultimatum-4",
            condition: str = "both-images", design: str = 'kind = "factorial"\nlevels = 7\n'
            'per_level = 2', seed: int = 1) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(f'''seed = {seed}
scenario = "{scenario}"
condition = "{condition}"
[personas]
pool = "{pool}"
[design]
{design}
[agents.default]
kind = "planted"
planted = {{ {planted} }}
[execution]
progress = "none"
workers = 0
''')
    return path


def _run(tmp: Path, config: Path, name: str) -> Path:
    out = tmp / name
    result = cli("run", str(config), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "SIMULATED (planted:SIMULATED)" in result.stdout  # the run's own summary says so
    return out


def _analyze(run: Path, *more: str) -> dict:
    result = cli("analyze", str(run), *more, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _within(interval: list[float], value: float) -> bool:
    return interval[0] < value < interval[1]


@pytest.fixture(scope="module")
def level_run(tmp_path_factory: pytest.TempPathFactory, small_pool: Path) -> Path:
    tmp = tmp_path_factory.mktemp("planted")
    config = _config(tmp, small_pool, "levels", f"base = 55, own = {OWN}, opp = {OPP}, "
                     "persona_sd = 1, noise_sd = 3", design='kind = "factorial"\nlevels = 7\n'
                     'per_level = 2\nrepetitions = 2')
    return _run(tmp, config, "levels")


def test_planted_level_effects_are_recovered_within_their_intervals(level_run: Path) -> None:
    summary = _analyze(level_run)
    for model in ("ols", "mixed"):  # clustered OLS and the random-intercept model alike
        own, opp = (summary["headline"][k][model] for k in ("own", "opp"))
        assert own["status"] == "ok" and _within(own["ci"], OWN)
        assert _within(opp["ci"], OPP) and not _within(opp["ci"], 0.0)
    assert summary["simulated"].startswith("SIMULATED (planted:SIMULATED)")
    text = cli("analyze", str(level_run)).stdout
    assert "SIMULATED (planted:SIMULATED)" in text.splitlines()[1]  # right under the title


def test_the_store_and_the_report_label_the_run_simulated(level_run: Path,
                                                          tmp_path: Path) -> None:
    db = level_run / "arena.sqlite"
    assert {r[0] for r in table(db, "SELECT agent_a FROM matches")} == {"planted:SIMULATED"}
    meta = dict(table(db, "SELECT key, value FROM meta"))
    assert meta["simulated"].startswith("SIMULATED (planted:SIMULATED): planted agents")
    out = tmp_path / "r.html"
    assert cli("report", str(level_run), "--out", str(out)).returncode == 0
    assert 'class="note simulated"' in out.read_text()


@pytest.fixture(scope="module")
def condition_runs(tmp_path_factory: pytest.TempPathFactory, small_pool: Path) -> dict:
    tmp = tmp_path_factory.mktemp("planted-conditions")
    planted = "base = 55, persona_sd = 2, noise_sd = 3, condition = { both-images = 5 }"
    runs = {}
    for i, condition in enumerate(("text", "image+text", "both-images")):
        config = _config(tmp, small_pool, condition, planted, condition=condition, seed=i + 1)
        runs[condition] = _run(tmp, config, condition)
    return runs


def test_tost_and_the_condition_difference_of_planted_behaviour(condition_runs) -> None:
    runs = condition_runs
    same = _analyze(runs["text"], "--with", str(runs["image+text"]), "--equivalence",
                    "text:image+text", "--margin", "2")["equivalence"]
    # identical behaviour: equivalent, and the 95% interval holds the true difference 0
    assert same["paired"] and same["equivalent"] and _within(same["ci95"], 0.0)
    assert not same["different"]
    differ = _analyze(runs["text"], "--with", str(runs["both-images"]), "--equivalence",
                      "text:both-images", "--margin", "2")["equivalence"]
    assert not differ["equivalent"] and differ["different"]
    assert _within(differ["ci95"], 5.0)  # the planted difference, recovered


@pytest.mark.parametrize("scenario, design, extra", [
    ("ultimatum-4", 'kind = "factorial"\nlevels = 7\nper_level = 1', ""),
    ("price-bargain", 'kind = "factorial"\nlevels = 7\nper_level = 1', ", concede = 20"),
    ("item-division", 'kind = "factorial"\nlevels = 7\nper_level = 1', ", concede = 20"),
    ("job-offer", 'kind = "factorial"\nlevels = 7\nper_level = 1', ", concede = 20"),
    ("majority-division", 'kind = "groups"\nlevels = 7\nper_level = 1', ""),
    (str(ROOT / "examples" / "game-plugin" / "nash-demand.toml"),
     'kind = "round-robin"\nlevels = 7\nper_level = 1', ""),
])
def test_every_game_is_played_with_the_planted_levels(tmp_path: Path, small_pool: Path,
                                                      scenario: str, design: str,
                                                      extra: str) -> None:
    """Claims rise with the planted own level in every game (as a share of what there is
    to win), every move is legal, and the run is labelled SIMULATED."""
    config = _config(tmp_path, small_pool, "game", f"base = 50, own = 6{extra}",
                     scenario=scenario, design=design, condition="self-only")
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'examples' / 'game-plugin'}"}
    out = tmp_path / "run"
    result = cli("run", str(config), "--out", str(out), "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["results"]
    assert data["simulated"].startswith("SIMULATED (planted:SIMULATED)")
    assert data["ok"] > 0 and data["failed"] == 0 and data["invalid_turns"] == 0
    claims = data["by_agent"]["planted:SIMULATED"]["claim_by_level"]
    assert float(claims["7"]) > float(claims["1"])
    db = out / "arena.sqlite"
    assert table(db, "SELECT COUNT(*) FROM turns WHERE move_kind = 'invalid'") == [(0,)]
    assert "SIMULATED" in dict(table(db, "SELECT key, value FROM meta"))["simulated"]


def test_a_planted_anchor_is_recovered(tmp_path: Path, small_pool: Path) -> None:
    beta = -0.4
    design = ('kind = "confederate"\nlevels = 7\nper_level = 2\nrepetitions = 3\n'
              'factors = { first_offer = [30, 40, 50, 60, 70] }')
    config = _config(tmp_path, small_pool, "anchor", f"base = 55, own = 1, anchor = {beta}, "
                     "persona_sd = 2, noise_sd = 3", design=design, condition="self-only")
    run = _run(tmp_path, config, "anchor")
    found = _analyze(run)["outcomes"]["anchoring_by_condition"]["self-only"]["counter"]
    assert found["status"] == "ok" and _within(found["ci"], beta)
    assert not _within(found["ci"], 0.0)


def _ultimatum():
    from scenarios.loader import load_scenario

    return load_scenario("ultimatum-4")


def test_attribute_shifts_are_planted_exactly() -> None:
    """Known answer: without noise, a persona with skin = dark claims 3 less, for an opponent
    with it 1 more; an attribute value not in the table plants nothing."""
    params = PlantedParams(base=55.0, attribute={"skin": {"dark": -3.0}},
                           opp_attribute={"skin": {"dark": 1.0}})
    def demand(mine: dict, theirs: dict) -> float:
        return mean_demand(params, "both-images", 4.0, 4.0, [4.0], mine, [theirs], 0.0)
    assert demand({"skin": "dark"}, {"skin": "light"}) == 52.0
    assert demand({"skin": "light"}, {"skin": "dark"}) == 56.0
    assert demand({}, {}) == 55.0
    scenario = _ultimatum()
    state = scenario.rules.new_state(2)
    negotiator = PlantedNegotiator(scenario.rules, 2, demand({"skin": "dark"}, {}), params,
                                   random.Random(1))
    import asyncio

    reply = asyncio.run(negotiator.act(state.request()))
    assert reply.move.offer == 52.0


def test_variants_of_an_identity_share_their_persona_effect(small_pool: Path) -> None:
    """Counterfactual variants differ only in what is planted: one persona effect per identity,
    but noise of their own."""
    from arena.config import parse_config
    from arena.factory import AgentFactory

    config = parse_config({"personas": {"pool": "p"}, "condition": "self-only",
                           "agents": {"default": {"kind": "planted", "planted": {
                               "persona_sd": 5, "attribute": {"skin": {"dark": -3}}}}}}, "t")
    personas = {"x1": Persona("x1", level=4, identity="x", attributes={"skin": "dark"}),
                "x2": Persona("x2", level=4, identity="x", attributes={"skin": "light"})}
    factory = AgentFactory(config, _ultimatum(), personas)
    one, two = (factory.build("default", "a", p, "x2", 7) for p in ("x1", "x2"))
    assert one.demand - two.demand == pytest.approx(-3.0)
    assert one.rng.random() != two.rng.random()


@pytest.mark.parametrize("planted, field", [
    ("base = 150", "agents.default.planted.base"),
    ("own = { 9 = 2 }", "agents.default.planted.own"),  # beyond the design's 7 levels
    ("own = { x = 2 }", "agents.default.planted.own"),
    ("opp = 1e9", "agents.default.planted.opp"),
    ("noise_sd = -1", "agents.default.planted.noise_sd"),
    ("condition = { colour = 2 }", "agents.default.planted.condition"),
    ("attribute = { skin = { dark_brown = -3 } }", "agents.default.planted.attribute.skin"),
    ("wobble = 1", "agents.default.planted.wobble"),
    ("anchor = nan", "agents.default.planted.anchor"),
])
def test_bad_planted_tables_are_refused_in_one_line(tmp_path: Path, small_pool: Path,
                                                    planted: str, field: str) -> None:
    config = _config(tmp_path, small_pool, "bad", planted)
    result = cli("run", str(config), "--out", str(tmp_path / "bad"))
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], lines
    assert not (tmp_path / "bad").exists()


def test_planted_applies_to_the_planted_kind_only(tmp_path: Path, small_pool: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[personas]\npool = "{small_pool}"\n[agents.default]\nkind = "random"\n'
                    'planted = { base = 60 }\n')
    result = cli("run", str(path), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "planted" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["ultimatum-4", "price-bargain", "item-division", "job-offer",
                                  "majority-division"])
def test_the_offers_a_game_lists_are_legal_moves(name: str) -> None:
    """What the planted agent picks from (offer_space) is always a move the state accepts."""
    from scenarios.loader import load_scenario
    from scenarios.moves import COUNTER, PROPOSE, Move

    scenario = load_scenario(name)
    state = scenario.rules.new_state(scenario.seats)
    request = state.request()
    kind = PROPOSE if PROPOSE in request.legal else COUNTER
    offers = scenario.rules.offer_space(request)
    assert offers
    step = max(1, len(offers) // 200)  # a sample of big spaces (job offers)
    for offer in offers[::step] + offers[-1:]:
        assert state.check(Move(kind, offer), request) is None, offer
    values = [scenario.rules.offer_value(o, request.side, request.side, request) for o in offers]
    assert max(values) > scenario.rules.reservation_value(request.side, request)


def test_a_game_that_lists_no_offers_is_refused_in_one_line(tmp_path: Path,
                                                            small_pool: Path) -> None:
    source = (ROOT / "examples" / "game-plugin" / "nash-demand.toml").read_text()
    scenario = tmp_path / "listless.toml"
    scenario.write_text(source.replace('game = "demand_game:NashDemand"',
                                       'game = "tests.listless_game:Listless"'))
    config = _config(tmp_path, small_pool, "run", "base = 50", scenario=str(scenario))
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'examples' / 'game-plugin'}"}
    result = cli("run", str(config), "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "agents.default.kind" in lines[0] and "offer" in lines[0]
