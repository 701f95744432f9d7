"""Scenarios: loading, refusing bad files, hand-computed payoffs, and a conformance run."""
from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from scenarios.errors import InputError
from scenarios.loader import builtin_names, load_scenario, load_scenario_file
from scenarios.moves import Move, MoveKind

from tests.helpers import cli


def test_builtins_are_listed_and_load() -> None:
    assert builtin_names() == ["item-division", "job-offer", "majority-division",
                               "price-bargain", "ultimatum-4"]
    for name in builtin_names():
        assert load_scenario(name).name == name


def test_ultimatum_carries_the_papers_texts_word_for_word() -> None:
    prompts = load_scenario("ultimatum-4").prompts
    assert prompts["system"] == ("In the following conversation, you are one of the two players "
                                 "participating in a negotiation game.")
    assert prompts["own_image"] == "You are the character in the following image:"
    assert prompts["opponent_image"] == "The next image is your opponent:"
    assert "You are the proposer in the first and third round." in prompts["instructions_first"]
    assert "You are the proposer in the second and fourth round." in prompts["instructions_second"]
    assert ("Do not declare '===round#===' on your own.\n\n" + " " * 36 +
            "The proposer should wait the '===round#===' notice and then start making the "
            "proposal.") in prompts["instructions_first"]
    # Study 2's second player got a slightly different rule text, kept as sent
    assert "The rules of the ultimatum game are as follows: \n" in prompts["instructions_second"]
    assert "proposing and accepting in each round" in prompts["instructions_second"]
    assert prompts["round_marker"].format(round=3) == "===round3==="
    assert prompts["confederate_propose_2"] == ("As the proposer, I suggest a division of $75 for "
                                                "me and $25 for you.")


def _play(name: str, moves: list[Move]):
    state = load_scenario(name).new_state()
    for move in moves:
        state.step(move)
    return state


P, A, R = MoveKind.PROPOSE, MoveKind.ACCEPT, MoveKind.REJECT


def test_ultimatum_payoffs_by_hand() -> None:
    # r1: a claims 70, b accepts; r2: b claims 60, a rejects; r3: a claims 55, b accepts;
    # r4: b claims 80, a accepts  ->  a = 70 + 0 + 55 + 20 = 145, b = 30 + 0 + 45 + 80 = 155
    state = _play("ultimatum-4", [Move(P, 70.0), Move(A), Move(P, 60.0), Move(R), Move(P, 55.0),
                                  Move(A), Move(P, 80.0), Move(A)])
    assert state.is_terminal
    o = state.outcome()
    assert (o.payoff_a, o.payoff_b, o.agreements, o.deal, o.n_turns) == (145.0, 155.0, 3, True, 8)
    assert o.share_a == pytest.approx(145 / 400)
    claims = [(t.side, t.role, t.round, t.claim) for t in state.turns if t.claim is not None]
    assert claims == [("a", "proposer", 1, 70.0), ("b", "proposer", 2, 60.0),
                      ("a", "proposer", 3, 55.0), ("b", "proposer", 4, 80.0)]


def test_ultimatum_illegal_moves_become_invalid_turns() -> None:
    state = _play("ultimatum-4", [Move(P, 130.0), Move(A), Move(P, 50.0), Move(A)])
    kinds = [t.move.kind for t in state.turns]
    assert kinds[0] is MoveKind.INVALID and "outside 0..100" in state.turns[0].move.reason
    # the void round 1 is skipped; round 2's proposer is b and a's accept is illegal for b there
    assert state.turns[1].round == 2 and state.turns[1].move.kind is MoveKind.INVALID
    o = _play("ultimatum-4", [Move(R)]).turns[0]
    assert o.move.kind is MoveKind.INVALID and "not legal" in o.move.reason


def test_price_bargain_payoffs_by_hand() -> None:
    # seller (a) asks 90, buyer (b) counters 30, seller counters 60, buyer accepts at 60
    state = _play("price-bargain", [Move(P, 90.0), Move(MoveKind.COUNTER, 30.0),
                                    Move(MoveKind.COUNTER, 60.0), Move(A)])
    o = state.outcome()
    assert (o.payoff_a, o.payoff_b, o.deal) == (40.0, 20.0, True)  # 60-20, 80-60
    assert o.share_a == pytest.approx(40 / 60) and o.share_b == pytest.approx(20 / 60)
    assert [t.claim for t in state.turns[:3]] == [70.0, 50.0, 40.0]
    walk = _play("price-bargain", [Move(P, 90.0), Move(MoveKind.WALK_AWAY)]).outcome()
    assert (walk.payoff_a, walk.payoff_b, walk.deal) == (0.0, 0.0, False)


def test_item_division_payoffs_by_hand() -> None:
    # a keeps (1 book, 2 hats, 1 ball): a = 1*1 + 2*2 + 1*3 = 8; b gets (2, 0, 0) = 2*2 = 4
    state = _play("item-division", [Move(P, (1, 2, 1)), Move(A)])
    o = state.outcome()
    assert (o.payoff_a, o.payoff_b, o.deal) == (8.0, 4.0, True)
    assert o.share_a == pytest.approx(8 / 10) and o.share_b == pytest.approx(4 / 10)
    # b counters keeping (3, 0, 1) -> b = 6 + 2 = 8, a gets (0, 2, 0) = 4; a accepts
    o2 = _play("item-division", [Move(P, (1, 2, 1)), Move(MoveKind.COUNTER, (3, 0, 1)),
                                 Move(A)]).outcome()
    assert (o2.payoff_a, o2.payoff_b) == (4.0, 8.0)
    o3 = _play("item-division", [Move(P, (3, 2, 1)), Move(R)]).outcome()
    assert (o3.payoff_a, o3.payoff_b, o3.deal) == (0.0, 0.0, False)
    bad = _play("item-division", [Move(P, (4, 0, 0))]).turns[0]
    assert bad.move.kind is MoveKind.INVALID and "outside 0..3" in bad.move.reason


def _random_record(name: str, seed: int):
    from agents.negotiators.random_agent import RandomNegotiator
    from arena.match import MatchSpec, play_match

    scenario = load_scenario(name)
    rng = random.Random(seed)
    a, b = RandomNegotiator(scenario, random.Random(rng.random())), \
        RandomNegotiator(scenario, random.Random(rng.random()))
    row = asyncio.run(play_match(MatchSpec("m", "t", 1, "x", "y", "a", "b"), scenario, [a, b],
                                 "none", ("random", "random")))
    return row


@pytest.mark.parametrize("name", ["item-division", "price-bargain", "ultimatum-4"])
def test_conformance_random_legal_play(name: str) -> None:
    """Every built-in scenario: random legal play ends, pays within range, and replays exactly."""
    scenario = load_scenario(name)
    spec = scenario.spec
    for seed in range(60):
        row = _random_record(name, seed)
        match = row.match._asdict()
        assert match["status"] == "ok"
        if spec.game == "ultimatum":
            top = spec.pie * spec.rounds
            assert 0 <= match["payoff_a"] <= top and 0 <= match["payoff_b"] <= top
            assert match["payoff_a"] + match["payoff_b"] in {spec.pie * k for k in range(spec.rounds + 1)}
        elif spec.game == "price-bargain":
            assert len(row.turns) <= spec.max_turns
            span = spec.price_max - spec.price_min
            assert -span <= match["payoff_a"] <= span
        else:
            assert len(row.turns) <= spec.max_turns
            assert 0 <= match["payoff_a"] <= sum(v * i.count for v, i in zip(spec.values_a, spec.items))
        assert all(t.parse_ok == 1 for t in row.turns)  # random *legal* play is never invalid
        assert _random_record(name, seed).turns == row.turns  # same seed, same record


BAD_SCENARIOS = {
    "unknown-key.toml": ('name = "x"\ngame = "ultimatum"\npie = 100\nrounds = 4\ncolour = "red"\n',
                         "unknown key 'colour'"),
    "missing.toml": ('name = "x"\ngame = "ultimatum"\npie = 100\n', "missing field 'rounds'"),
    "negative-pie.toml": ('name = "x"\ngame = "ultimatum"\npie = -5\nrounds = 4\n',
                          "field 'pie': Input should be greater than 0"),
    "zero-rounds.toml": ('name = "x"\ngame = "ultimatum"\npie = 100\nrounds = 0\n',
                         "field 'rounds': Input should be greater than or equal to 1"),
    "values.toml": ('name = "x"\ngame = "item-division"\nmax_turns = 4\nvalues_a = [1, 2]\n'
                    'values_b = [1, 1, 1]\n[[items]]\nname = "a"\ncount = 1\n[[items]]\nname = "b"\n'
                    'count = 1\n[[items]]\nname = "c"\ncount = 1\n',
                    "values_a must give one value per item type (3 items), got 2"),
    "syntax.toml": ('name = "x\n', "TOML syntax error"),
    "game.toml": ('name = "x"\ngame = "poker"\n', "field 'game' must be one of"),
    "reservation.toml": ('name = "x"\ngame = "price-bargain"\nprice_min = 0\nprice_max = 100\n'
                         'buyer_reservation = 150\nseller_reservation = 20\nmax_turns = 10\n',
                         "buyer_reservation must lie in price_min..price_max"),
}


@pytest.mark.parametrize("filename", sorted(BAD_SCENARIOS))
def test_bad_scenario_files_are_refused_in_one_line(tmp_path: Path, filename: str) -> None:
    text, expected = BAD_SCENARIOS[filename]
    path = tmp_path / filename
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_scenario_file(path)
    message = str(caught.value)
    assert expected in message and str(path) in message and "\n" not in message


def test_cli_validate_and_unknown_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_SCENARIOS["negative-pie.toml"][0])
    result = cli("scenarios", "validate", str(bad))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "bad.toml" in result.stderr and "pie" in result.stderr
    result = cli("scenarios", "show", "ultimatum-5")
    assert result.returncode == 2 and "unknown scenario 'ultimatum-5'" in result.stderr
    assert result.stderr.count("\n") == 1
    good = tmp_path / "good.toml"
    good.write_text('name = "split-10"\ngame = "ultimatum"\npie = 10\nrounds = 2\n')
    result = cli("scenarios", "validate", str(good))
    assert result.returncode == 0 and "ok (split-10, game ultimatum)" in result.stdout
    shown = cli("scenarios", "show", "ultimatum-4")
    assert shown.returncode == 0 and 'game = "ultimatum"' in shown.stdout


def test_a_prompt_override_replaces_the_scenarios_seat_and_condition_variants() -> None:
    from agents.prompts import lookup

    base = load_scenario("ultimatum-4")
    assert base.prompts["instructions_first"] != base.prompts["instructions_second"]
    over = base.with_prompts({"instructions": "Mine."})
    for seat in ("first", "second"):
        for condition in ("self-only", "both-images", "text", "none"):
            assert lookup(over.prompts, "instructions", seat, condition) == "Mine."
    # a more specific override survives; unrelated keys sharing a prefix are untouched
    both = base.with_prompts({"instructions": "Mine.", "instructions_second_none": "Theirs."})
    assert lookup(both.prompts, "instructions", "second", "none") == "Theirs."
    assert lookup(both.prompts, "instructions", "second", "text") == "Mine."
    marker = base.with_prompts({"round_marker": "[{round}]"})
    assert marker.prompts["round_marker_to"] == base.prompts["round_marker_to"]
    assert marker.prompts["round_marker_to_self_only"] == base.prompts["round_marker_to_self_only"]
    assert base.shadowed_by({"round_marker_to": "all"}) == ["round_marker_to_self_only"]
