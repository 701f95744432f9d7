"""The engine: confederate script, surrogate, concession tactics, store atomicity, determinism."""
from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

import pytest

from agents.negotiators.concession import ConcessionNegotiator
from agents.negotiators.confederate import Confederate
from agents.negotiators.surrogate import SurrogateNegotiator, load_params
from arena.match import MatchSpec, play_match
from arena.store import MatchRow, Store
from scenarios.loader import load_scenario
from scenarios.moves import Move, MoveKind, MoveRequest, Reply

from tests.helpers import cli, match_table, table, turn_table


class Scripted:
    """Plays fixed moves (a test double for the engine; no model involved)."""

    def __init__(self, moves: list[Move]) -> None:
        self.moves = list(moves)
        self.name = "scripted"
        self.requests: list[MoveRequest] = []

    async def act(self, request: MoveRequest) -> Reply:
        self.requests.append(request)
        return Reply(self.moves.pop(0), "scripted")


def _play(scenario_name: str, a, b) -> MatchRow:
    scenario = load_scenario(scenario_name)
    return asyncio.run(play_match(MatchSpec("m1", "test", 1, "pa", "pb", "a", "b"), scenario, [a, b],
                                  "none", ("A", "B")))


def test_confederate_follows_the_papers_script_as_second_player() -> None:
    prompts = load_scenario("ultimatum-4").prompts
    llm_side = Scripted([Move(MoveKind.PROPOSE, 70.0), Move(MoveKind.REJECT),
                         Move(MoveKind.PROPOSE, 65.0), Move(MoveKind.ACCEPT)])
    row = _play("ultimatum-4", llm_side, Confederate(prompts))
    turns = [(t.round, t.speaker, t.move_kind, t.claim, t.text) for t in row.turns]
    assert turns == [
        (1, "a", "propose", 70.0, "scripted"),
        (1, "b", "accept", None, "As the responder, I accept your proposal."),
        (2, "b", "propose", 50.0, "As the proposer, I suggest an even split, $50 for me and 50$ for you."),
        (2, "a", "reject", None, "scripted"),
        (3, "a", "propose", 65.0, "scripted"),
        (3, "b", "accept", None, "As the responder, I accept your proposal."),
        (4, "b", "propose", 75.0, "As the proposer, I suggest a division of $75 for me and $25 for you."),
        (4, "a", "accept", None, "scripted"),
    ]
    assert (row.match.payoff_a, row.match.payoff_b) == (70.0 + 0 + 65.0 + 25.0, 30.0 + 0 + 35.0 + 75.0)


def test_confederate_as_first_player() -> None:
    prompts = load_scenario("ultimatum-4").prompts
    other = Scripted([Move(MoveKind.ACCEPT), Move(MoveKind.PROPOSE, 60.0), Move(MoveKind.ACCEPT),
                      Move(MoveKind.PROPOSE, 60.0)])
    row = _play("ultimatum-4", Confederate(prompts), other)
    confederate_turns = [(t.round, t.move_kind, t.claim, t.text) for t in row.turns if t.speaker == "a"]
    assert confederate_turns == [
        (1, "propose", 50.0, "As the proposer, I suggest an even split, $50 for me and $50 for you."),
        (2, "accept", None, "As the responder, I accept your proposal."),
        (3, "propose", 75.0, "As the proposer, I suggest a division of $75 for me and $25 for you."),
        (4, "accept", None, "As the responder, I accept your proposal."),
    ]


def test_surrogate_claims_follow_its_fitted_coefficients() -> None:
    params = load_params("gpt-4o")
    low = SurrogateNegotiator(params, random.Random(1), own_level=1, opp_level=7)
    high = SurrogateNegotiator(params, random.Random(1), own_level=7, opp_level=1)
    n = 4000
    mean_low = sum(low.claim() for _ in range(n)) / n
    mean_high = sum(high.claim() for _ in range(n)) / n
    expected_gap = 6 * params.own - 6 * params.opp  # own +6, opp -6
    assert mean_high - mean_low == pytest.approx(expected_gap, abs=1.0)
    assert low.accept_probability(50) > low.accept_probability(20)


@pytest.mark.parametrize("tactic", ["boulware", "linear", "conceder"])
def test_concession_tactics_reach_deals_in_price_bargaining(tactic: str) -> None:
    scenario = load_scenario("price-bargain")
    row = _play("price-bargain", ConcessionNegotiator(scenario, tactic),
                ConcessionNegotiator(scenario, "conceder"))
    assert row.match.status == "ok" and row.match.deal == 1  # a deal
    prices = [t.claim for t in row.turns if t.move_kind in ("propose", "counter") and t.speaker == "a"]
    assert all(x >= y for x, y in zip(prices, prices[1:]))  # the seller's asks only fall


def test_boulware_concedes_later_than_conceder() -> None:
    scenario = load_scenario("price-bargain")
    boulware = ConcessionNegotiator(scenario, "boulware")
    conceder = ConcessionNegotiator(scenario, "conceder")
    request = MoveRequest("price-bargain", "a", "seller", 5, 5, frozenset({MoveKind.COUNTER,
                          MoveKind.ACCEPT, MoveKind.WALK_AWAY}), (), 10.0, {"reservation": 20.0}, 20)
    ask_b = asyncio.run(boulware.act(request)).move.offer
    ask_c = asyncio.run(conceder.act(request)).move.offer
    assert ask_b > ask_c > 20.0


def test_item_division_concession_agents_agree() -> None:
    scenario = load_scenario("item-division")
    row = _play("item-division", ConcessionNegotiator(scenario, "linear"),
                ConcessionNegotiator(scenario, "linear"))
    assert row.match.status == "ok" and row.match.deal == 1


def test_a_failing_negotiator_fails_the_match_not_the_run() -> None:
    class Broken:
        name = "broken"

        async def act(self, request: MoveRequest) -> Reply:
            raise ConnectionError("model unreachable")

    row = _play("ultimatum-4", Broken(), Broken())
    assert row.match.status == "failed" and "ConnectionError: model unreachable" in row.match.error


def test_store_writes_a_match_atomically(tmp_path: Path) -> None:
    store = Store(tmp_path / "arena.sqlite")
    a_moves = [Move(MoveKind.PROPOSE, 60.0), Move(MoveKind.ACCEPT)] * 2
    b_moves = [Move(MoveKind.ACCEPT), Move(MoveKind.PROPOSE, 60.0)] * 2
    good = _play("ultimatum-4", Scripted(a_moves), Scripted(b_moves))
    # a match whose third turn cannot be stored (an unsupported value) must leave no rows at all
    broken_turns = list(good.turns)
    broken_turns[2] = broken_turns[2]._replace(text=object())
    broken = MatchRow(good.match, broken_turns)
    with pytest.raises(sqlite3.Error):
        store.write_match(broken)
    assert store.count("matches") == 0 and store.count("turns") == 0
    store.write_match(good)
    assert store.count("matches") == 1 and store.count("turns") == 8
    store.close()


DEMO_ARGS = ("--per-level", "2", "--repetitions", "1")


def test_demo_is_deterministic_per_seed(tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("one", "7"), ("two", "7"), ("three", "8")):
        result = cli("demo", "--out", str(tmp_path / name), "--seed", seed, *DEMO_ARGS)
        assert result.returncode == 0, result.stderr
        assert "surrogate" in result.stdout and "not an LLM" in result.stdout
        assert "mean claim by own level" in result.stdout
        db = tmp_path / name / "study2" / "arena.sqlite"
        runs[name] = (match_table(db), turn_table(db))
        assert len(runs[name][0]) == 14 * 14  # 7 levels x 2 personas, all ordered pairs
        study1 = tmp_path / name / "study1" / "arena.sqlite"
        assert table(study1, "SELECT COUNT(*) FROM matches")[0][0] == 14 * 2
        assert table(study1, "SELECT COUNT(*) FROM turns")[0][0] == 14 * 2 * 8
    assert runs["one"] == runs["two"]
    assert runs["one"][1] != runs["three"][1]
