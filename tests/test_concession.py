"""The game-generic concession tactic answers what the other seats offered: it accepts an
offer worth its current target, never asks for less than another seat already gave it, and
of equally demanding offers makes the one nearest the others' last (two and N seats alike)."""
from __future__ import annotations

import asyncio
import tomllib

from agents.negotiators.concession import ConcessionNegotiator
from scenarios.loader import load_scenario, parse_scenario
from scenarios.moves import ACCEPT, COUNTER, PROPOSE, REJECT, Move, MoveRequest, Reply
from tests.helpers import ROOT


def _majority(**changes: object):
    data = tomllib.loads((ROOT / "scenarios" / "builtin" / "majority-division.toml").read_text())
    data.update(changes)
    return parse_scenario(data, "majority.toml")


def act(agent: ConcessionNegotiator, request: MoveRequest) -> Reply:
    return asyncio.run(agent.act(request))


def test_a_proposer_never_asks_less_than_another_seat_already_gave_it() -> None:
    """Seat b (a Boulware voter-turned-proposer) was offered 60 by seat a in round 1; in round
    2, where its own aspiration alone would ask less than that late in the match, it keeps at
    least 60, and a conceder with the same history asks exactly that floor."""
    scenario = _majority(rounds=2)
    state = scenario.new_state()
    state.step(Move(PROPOSE, (20.0, 60.0, 20.0)))
    state.step(Move(REJECT))  # b says no to 60 ...
    state.step(Move(REJECT))  # ... and c too: the round fails
    request = state.request()
    assert request.side == "b" and PROPOSE in request.legal
    for tactic in ("conceder", "linear", "boulware"):
        reply = act(ConcessionNegotiator(scenario, tactic), request)
        assert reply.move.kind is PROPOSE and reply.move.offer[1] >= 60.0, (tactic, reply)
    fresh = scenario.new_state()  # without the 60 on record, the conceder asks far less
    fresh.step(Move(PROPOSE, (100.0, 0.0, 0.0)))
    fresh.step(Move(REJECT))
    fresh.step(Move(REJECT))
    alone = act(ConcessionNegotiator(scenario, "conceder"), fresh.request())
    assert alone.move.offer[1] < 60.0
    floor = act(ConcessionNegotiator(scenario, "conceder"), request)
    assert floor.move.offer[1] == 60.0


def test_a_voter_accepts_a_share_worth_its_target_and_only_that() -> None:
    scenario = _majority(rounds=4)
    agent = ConcessionNegotiator(scenario, "linear")
    rich, poor = scenario.new_state(), scenario.new_state()
    rich.step(Move(PROPOSE, (0.0, 100.0, 0.0)))
    poor.step(Move(PROPOSE, (100.0, 0.0, 0.0)))
    assert act(agent, rich.request()).move.kind is ACCEPT
    assert act(ConcessionNegotiator(scenario, "linear"), poor.request()).move.kind is REJECT


def test_job_offer_counters_near_the_other_sides_last_offer_and_finds_better_deals() -> None:
    scenario = load_scenario("job-offer")
    state = scenario.new_state()
    first = act(ConcessionNegotiator(scenario, "linear"), state.request())
    state.step(first.move, first.text)
    request = state.request()
    agent = ConcessionNegotiator(scenario, "conceder")
    reply = act(agent, request)
    rules = scenario.rules
    if reply.move.kind is COUNTER:
        mine = rules.offer_value(reply.move.offer, request.side, request.side, request)
        ties = [o for o in rules.offer_space(request)
                if abs(rules.offer_value(o, request.side, request.side, request) - mine) < 1e-9]
        near = lambda o: sum(x != y for x, y in zip(o, first.move.offer))  # noqa: E731
        assert near(reply.move.offer) == min(near(o) for o in ties)
    # two conceders end in a deal that pays both more than their reservation values
    state = scenario.new_state()
    agents = {s: ConcessionNegotiator(scenario, "conceder") for s in "ab"}
    while not state.is_terminal:
        r = state.request()
        answer = act(agents[r.side], r)
        state.step(answer.move, answer.text)
    outcome = state.outcome()
    assert outcome.deal
    reservations = [rules.reservation_value(s, scenario.new_state().request()) for s in "a"]
    assert outcome.payoffs[0] > reservations[0]
