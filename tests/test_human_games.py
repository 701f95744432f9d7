"""A person can play every game, built-in or plugin, in every seat count: what a person would
type for each legal move (the game's own offer description, "yes", "no", "walk away") is read
back as that move, and the echo of it names it in the person's terms without failing."""
from __future__ import annotations

import asyncio
import random

import pytest

from agents.negotiators.human import HumanNegotiator, describe_move, hint, read_input
from scenarios.loader import builtin_names, load_scenario
from scenarios.moves import ACCEPT, REJECT, WALK_AWAY, SIDES, Move, MoveKind
from tests.helpers import ROOT

EXAMPLE = str(ROOT / "examples" / "game-plugin" / "nash-demand.toml")
WORDS = {ACCEPT: "yes", REJECT: "no", WALK_AWAY: "walk away"}


def _cases() -> list[tuple[str, int]]:
    cases = []
    for name in [*builtin_names(), EXAMPLE]:
        rules = load_scenario(name).rules
        for seats in sorted({rules.min_seats, min(rules.max_seats, rules.min_seats + 1)}):
            cases.append((name, seats))
    return cases


def typed(state, move: Move, side: str) -> str:
    if move.offer is not None:
        return state.describe_offer(move.offer, side)
    return WORDS.get(move.kind, move.kind.value)


@pytest.mark.parametrize(("name", "seats"), _cases())
def test_a_person_plays_every_game_in_every_seat(name: str, seats: int) -> None:
    scenario = load_scenario(name)
    for seed in range(3):
        rng = random.Random(seed)
        state = scenario.new_state(seats, seed=seed)
        person = SIDES[seed % seats]
        shown: list[str] = []
        while not state.is_terminal:
            request = state.request()
            intended = state.random_move(rng, request)
            text = typed(state, intended, request.side)
            if request.side != person:
                state.step(intended, text)
                continue
            assert hint(scenario, request)
            asked = [text]  # asked again only when unreadable: then the test fails

            def ask(_: str) -> str:
                if not asked:
                    raise EOFError
                return asked.pop()

            negotiator = HumanNegotiator(scenario, person, ask, shown.append)
            try:
                reply = asyncio.run(negotiator.act(request))
            except EOFError:
                pytest.fail(f"{text!r} could not be used: {shown[-1]}")
            move = reply.move
            assert move is not None and move.kind is intended.kind, (text, move)
            if intended.offer is not None:
                assert move.offer == pytest.approx(intended.offer), (text, move.offer)
            echo = describe_move(scenario, move, request)
            assert echo.startswith("you ") and "could not use" not in echo
            if scenario.rules.family != "ultimatum":  # no pie split between two is implied
                assert "for them" not in echo, echo
            if seats > 2 and move.kind is not MoveKind.PROPOSE:
                assert "player" in echo  # whose proposal, by number
            state.step(move, text)
        assert read_input(scenario, "", state.request() if not state.is_terminal else
                          request).kind is MoveKind.INVALID
