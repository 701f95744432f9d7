"""Property tests (Hypothesis): loaders refuse with InputError or accept, and nothing else; the
move extractor reads any text without raising; any sequence of moves or texts, legal or not,
drives every built-in scenario to an end with payoffs in range.

Every scenario the loader accepts must also be playable: a random game of it ends, and scores.
"""
from __future__ import annotations

import math
import random
import time
import tomllib
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from arena.config import parse_config
from scenarios.errors import InputError
from scenarios.extract import extract_acceptance, extract_claim
from scenarios.loader import BUILTIN_DIR, builtin_names, load_scenario, parse_scenario
from scenarios.moves import INVALID, Move, MoveKind

FUZZ = settings(deadline=None, max_examples=150, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# -- TOML-ish values ---------------------------------------------------------------------------
scalars = st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8)

SCENARIO_KEYS = ["name", "description", "units", "prompts", "game", "pie", "rounds", "alternate",
                 "step", "price_min", "price_max", "buyer_reservation", "seller_reservation",
                 "max_turns", "first_mover", "items", "values_a", "values_b", "colour"]
BUILTIN_DATA = {name: tomllib.loads((BUILTIN_DIR / f"{name}.toml").read_text())
                for name in builtin_names()}
SPECIAL = [math.inf, 1e300, -math.inf, math.nan, 1e-300, 0, 0.5]
numbers = st.one_of(st.sampled_from(SPECIAL), st.integers(-5, 300),
                    st.floats(-1e3, 1e12, allow_nan=False))
plausible = {
    "pie": numbers, "rounds": numbers, "step": numbers, "price_min": numbers,
    "price_max": numbers, "buyer_reservation": numbers, "seller_reservation": numbers,
    "max_turns": numbers, "alternate": st.booleans(), "first_mover": st.sampled_from(
        ["buyer", "seller", "nobody"]), "game": st.sampled_from(
        ["ultimatum", "price-bargain", "item-division", "poker"]),
    "values_a": st.lists(st.integers(-2, 9), max_size=4),
    "values_b": st.lists(st.integers(-2, 9), max_size=4),
    "items": st.lists(st.fixed_dictionaries({"name": st.text(max_size=6),
                                             "count": st.integers(-1, 120)}), max_size=4),
    "name": st.one_of(st.text(max_size=10), st.just("fuzz")),
}


@st.composite
def scenario_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A built-in scenario's table with some of its values changed or dropped, and keys added."""
    data = dict(BUILTIN_DATA[draw(st.sampled_from(sorted(BUILTIN_DATA)))])
    for key in sorted(k for k in data if k in plausible):
        change = draw(st.integers(0, 9))
        if change == 0:
            data[key] = draw(plausible[key])
        elif change == 1:
            data[key] = draw(st.sampled_from(SPECIAL))
        elif change == 2 and draw(st.integers(0, 3)) == 0:
            del data[key]
    for key in draw(st.lists(st.sampled_from(SCENARIO_KEYS), max_size=2)):
        data[key] = draw(plausible.get(key, values))
    return data


def finish(state: Any, rng: random.Random, limit: int = 100_000) -> None:
    """Play random legal moves to the end (bounded: a state that never ends is a bug)."""
    for _ in range(limit):
        if state.is_terminal:
            return
        state.step(state.random_move(rng, state.request()))
    raise AssertionError("the match did not end")


def check_outcome(spec: Any, state: Any) -> None:
    o = state.outcome()
    assert o.n_turns == len(state.turns)
    assert all(math.isfinite(x) for x in (o.payoff_a, o.payoff_b))
    assert o.deal == (o.agreements > 0)
    if spec.game == "ultimatum":
        assert 0 <= o.agreements <= spec.rounds and len(state.turns) <= 2 * spec.rounds
        assert 0 <= o.payoff_a and 0 <= o.payoff_b
        assert math.isclose(o.payoff_a + o.payoff_b, spec.pie * o.agreements, rel_tol=1e-9,
                            abs_tol=1e-9)
        assert 0 <= o.share_a <= 1 and 0 <= o.share_b <= 1
    elif spec.game == "price-bargain":
        assert len(state.turns) <= spec.max_turns and o.agreements in (0, 1)
        if o.deal:
            price = state.deal_price
            assert spec.price_min - 0.005 <= price <= spec.price_max + 0.005
            assert math.isclose(o.payoff_a + o.payoff_b,
                                spec.buyer_reservation - spec.seller_reservation,
                                rel_tol=1e-9, abs_tol=1e-6)
        else:
            assert o.payoff_a == o.payoff_b == 0
    elif spec.game != "item-division":  # the other games: the bounds they declare
        rules, seats = state.game, len(o.payoffs)
        low, high = rules.payoff_range(seats)
        assert len(state.turns) <= rules.max_turns(seats)
        assert all(low - 1e-9 <= p <= high + 1e-9 for p in o.payoffs)
    else:
        assert len(state.turns) <= spec.max_turns and o.agreements in (0, 1)
        whole_a = sum(v * i.count for v, i in zip(spec.values_a, spec.items))
        whole_b = sum(v * i.count for v, i in zip(spec.values_b, spec.items))
        assert 0 <= o.payoff_a <= whole_a and 0 <= o.payoff_b <= whole_b
        assert 0 <= o.share_a <= 1 and 0 <= o.share_b <= 1


# -- the scenario loader -----------------------------------------------------------------------
@FUZZ
@given(st.one_of(scenario_dicts(), st.dictionaries(st.sampled_from(SCENARIO_KEYS), values,
                                                   max_size=6)),
       st.integers(0, 2**32))
@example({"name": "x", "game": "ultimatum", "pie": math.inf, "rounds": 2}, 1)
@example({"name": "x", "game": "ultimatum", "pie": 1e300, "rounds": 2, "step": 1e-300}, 1)
@example({"name": "x", "game": "price-bargain", "price_min": 0, "price_max": math.inf,
          "buyer_reservation": math.inf, "seller_reservation": 1, "max_turns": 4}, 1)
@example({"name": "x", "game": "item-division", "max_turns": 4, "values_a": [1],
          "values_b": [1], "items": [{"name": "", "count": 1}]}, 1)
def test_scenario_loader_accepts_or_refuses_in_one_line(data: dict[str, Any], seed: int) -> None:
    try:
        scenario = parse_scenario(data, "fuzz.toml")
    except InputError as error:
        message = str(error)
        assert message.startswith("fuzz.toml: ") and "\n" not in message
        return
    # what the loader accepts is playable: a random game ends and scores in range
    state = scenario.new_state()
    finish(state, random.Random(seed), limit=50_000)
    check_outcome(scenario.spec, state)


@FUZZ
@given(st.text(max_size=200))
def test_scenario_files_of_any_text_are_refused_in_one_line(tmp_path_factory: Any,
                                                            text: str) -> None:
    from scenarios.loader import load_scenario_file

    path = tmp_path_factory.getbasetemp() / "fuzz-scenario.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_scenario_file(path)
    except InputError as error:
        assert "\n" not in str(error)


# -- the config loader -------------------------------------------------------------------------
BASE_CONFIG: dict[str, Any] = {
    "seed": 1, "scenario": "ultimatum-4", "condition": "both-images",
    "personas": {"pool": "pool", "rating": "design"},
    "design": {"kind": "factorial", "levels": 7, "per_level": 5, "repetitions": 5},
    "agents": {"default": {"kind": "llm", "model": "local"}},
    "models": {"local": {"base_url": "http://127.0.0.1:8000/v1", "model": "m",
                         "api_key_env": "OPENAI_API_KEY", "temperature": 1.0,
                         "max_tokens": 300, "vision": True}},
    "execution": {"concurrency": 32, "executor": "local"},
}
CONFIG_PATHS = [("seed",), ("scenario",), ("condition",), ("colour",), ("personas",),
                ("personas", "pool"), ("personas", "rating"), ("design",), ("design", "kind"),
                ("design", "levels"), ("design", "per_level"), ("design", "repetitions"),
                ("design", "target"), ("agents",), ("agents", "default"),
                ("agents", "default", "kind"), ("agents", "default", "model"), ("agents", "x"),
                ("models",), ("models", "local", "temperature"), ("models", "local", "timeout"),
                ("models", "local", "max_retries"), ("models", "local", "base_url"),
                ("models", "local", "extra"), ("execution", "concurrency"),
                ("execution", "executor"), ("cache", "dir"), ("prompts",)]


@st.composite
def config_dicts(draw: st.DrawFn) -> dict[str, Any]:
    import copy

    data = copy.deepcopy(BASE_CONFIG)
    for path in draw(st.lists(st.sampled_from(CONFIG_PATHS), max_size=4)):
        node = data
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        if draw(st.booleans()):
            node.pop(path[-1], None)
        else:
            node[path[-1]] = draw(st.one_of(values, numbers))
    return data


def _with_model(**fields: Any) -> dict[str, Any]:
    return {**BASE_CONFIG, "models": {"local": {**BASE_CONFIG["models"]["local"], **fields}}}


@FUZZ
@given(st.one_of(config_dicts(), st.dictionaries(st.text(max_size=8), values, max_size=5)))
@example(_with_model(timeout=math.inf))
@example(_with_model(retry_base_s=math.nan))
@example({**BASE_CONFIG, "agents": {"x": {"kind": "llm"}}})
def test_config_loader_accepts_or_refuses_in_one_line(data: dict[str, Any]) -> None:
    try:
        config = parse_config(data, "fuzz.toml")
    except InputError as error:
        assert str(error).startswith("fuzz.toml: ") and "\n" not in str(error)
        return
    for number in (config.seed, config.design.levels, config.execution.concurrency,
                   *(m.timeout for m in config.models.values()),
                   *(m.temperature for m in config.models.values())):
        assert math.isfinite(number)  # what is accepted is a usable number
    assert config.agent("a").kind and config.agent("b").kind


# -- the move extractor ------------------------------------------------------------------------
FRAGMENTS = ["I propose", "I'll take", "$", "%", "70", "30", "50/50", "60-40", "sixty", "forty",
             "for me", "for you", "I accept", "I reject", "not", "deal", "no deal", "split",
             "===round2===", "*", "\n", ", ", ". ", "-", "1e309", "0.5", "100", "101", "you get",
             "I keep", "I can't accept", "fair", "offer", "counter", "?", "!", "…", "—", "٣"]
texts = st.one_of(st.text(max_size=300),
                  st.lists(st.sampled_from(FRAGMENTS), max_size=30).map(" ".join),
                  st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)),
                           max_size=20).map("".join))
pies = st.one_of(st.just(100.0), st.floats(1e-6, 1e9, allow_nan=False), st.just(10.0))


@FUZZ
@given(texts, pies)
def test_extractor_reads_any_text_without_raising(text: str, pie: float) -> None:
    claim = extract_claim(text, pie)
    assert claim is None or (isinstance(claim, float) and 0 <= claim <= pie), claim
    assert extract_acceptance(text) in (True, False, None)


ADVERSARIAL = ["9" * 20_000, "$" * 20_000, " 1" * 10_000, "50/" * 6_000,
               "I " * 10_000 + "propose", "a" * 30_000, "one hundred " * 2_000,
               "%" * 5_000 + "5" * 5_000, "\n" * 20_000, "I accept but " * 1_500 + "I reject"]


@pytest.mark.parametrize("text", [t[:2_000] for t in ADVERSARIAL])
def test_extractor_is_fast_on_degenerate_replies(text: str) -> None:
    """Replies of about 500 tokens that repeat one thing: no catastrophic backtracking."""
    started = time.perf_counter()
    claim = extract_claim(text, 100.0)
    extract_acceptance(text)
    assert time.perf_counter() - started < 2.0
    assert claim is None or 0 <= claim <= 100


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_extractor_is_fast_on_texts_of_the_longest_it_reads(text: str) -> None:
    started = time.perf_counter()
    extract_claim(text, 100.0)
    extract_acceptance(text)
    assert time.perf_counter() - started < 2.0


# -- any moves or texts through every built-in scenario -----------------------------------------
offers = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                   st.integers(-10**6, 10**6), st.booleans(), st.text(max_size=4),
                   st.tuples(st.integers(-3, 5), st.integers(-3, 5), st.integers(-3, 5)),
                   st.lists(st.integers(0, 3), max_size=4).map(tuple),
                   st.tuples(st.floats(0, 3), st.floats(0, 3), st.floats(0, 3)))


@st.composite
def moves(draw: st.DrawFn) -> Move:
    kind = draw(st.sampled_from(list(MoveKind)))
    offer = draw(offers)
    reason = draw(st.text(max_size=10))
    try:
        return Move(kind, offer, reason)
    except ValueError:  # Move refuses itself (an offer kind without an offer ...): not our case
        assume(False)
        raise


actions = st.lists(st.one_of(moves(), texts), max_size=40)


@pytest.mark.parametrize("name", builtin_names())
def test_any_moves_or_texts_end_every_builtin_scenario_in_range(name: str) -> None:
    scenario = load_scenario(name)

    @FUZZ
    @given(actions, st.integers(0, 2**32))
    def play(sequence: list[Move | str], seed: int) -> None:
        state = scenario.new_state()
        for action in sequence:
            if state.is_terminal:
                break
            request = state.request()
            if isinstance(action, str):  # what the engine does with free text
                move = state.read(action, request)
                assert isinstance(move, Move)
                turn = state.step(move, action)
            else:
                turn = state.step(action)
            assert turn.move.kind is INVALID or turn.move.kind in request.legal
            assert turn.move.kind is not INVALID or turn.move.reason
        finish(state, random.Random(seed))
        check_outcome(scenario.spec, state)

    play()
