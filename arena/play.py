"""`persona-arena play`: a person takes one seat against the config's agent, in the terminal
(in a game of more than two seats, every other seat plays that agent, arena/human_seats).

The same engine, scenario and negotiator as a tournament (LLM with the config's model, prompts
and cache, or a surrogate), so it is the cheap way to try prompts and personas before paying
for a tournament. The person sees the opponent's description, image file and level; each input
is echoed as it was read, and ambiguous input is refused with its reason. With `out`, the match
is stored in that RUN_DIR as `run` stores matches (agent "human" in the person's seat).
"""
from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agents.negotiators.human import HumanNegotiator, speaker
from agents.prompts import fill, lookup, private_fields, seat_of
from arena.config import AgentConfig, load_config
from arena.factory import AgentFactory
from arena.human_seats import (MACHINE_TEAM, check_side, draw_personas, first_other,
                               for_people, seat_match)
from arena.match import play_match
from arena.run_plan import scenario_and_personas
from arena.seeds import derive_seed
from scenarios.errors import InputError
from scenarios.loader import load_scenario
from scenarios.moves import SIDES


def _machine_agent(config: Any, machine_side: str) -> AgentConfig:
    """The agent the person plays against (every other seat of a game of more than two): the
    config's agent for that seat, else the default, else any other seat's (not a human)."""
    for team in (machine_side, "default", "a" if machine_side == "b" else "b",
                 *sorted(config.agents)):
        agent = config.agents.get(team)
        if agent is not None and agent.kind != "human":
            return agent
    raise InputError("agents: play needs one non-human agent to play against "
                     "(llm, surrogate, concession or random)")


def play(config_path: Path, persona: str | None = None, side: str | None = None,
         you: str | None = None, seed: int | None = None,
         ask: Callable[[str], str] = input,
         show: Callable[[str], None] = print, out: Path | None = None) -> dict[str, Any]:
    config, base = load_config(config_path)
    scenario = load_scenario(config.scenario, base)
    seats = scenario.seats
    if side is None:
        humans = [t for t, a in config.agents.items() if a.kind == "human" and t in SIDES[:seats]]
        side = humans[0] if humans else "a"
    check_side(side, seats, "--side")
    agent = _machine_agent(config, first_other(side, seats))
    config = for_people(config.model_copy(update={"agents": {MACHINE_TEAM: agent}}), seats)
    scenario, pool, by_id = scenario_and_personas(config, base)
    seed = config.seed if seed is None else seed
    rng = random.Random(derive_seed(seed, "play"))
    for given, flag in ((persona, "--persona"), (you, "--you")):
        if given is not None and given not in by_id:
            raise InputError(f"{flag}: no persona {given!r} in {pool}")
    personas = draw_personas(rng, list(by_id), seats, side, persona, you)
    human_id = personas[SIDES.index(side)]
    machine_id = personas[SIDES.index(first_other(side, seats))]
    llm = None
    if agent.kind == "llm":
        from arena.llm_context import build_llm_context

        llm = build_llm_context(config, base, scenario, by_id, check=True)
    factory = AgentFactory(config, scenario, by_id, llm)
    label = factory.label(MACHINE_TEAM)
    store = lock = None
    match_id = "play"
    if out is not None:  # opened before the match: a bad folder stops before anyone plays
        from arena.human_runs import next_match_number, open_human_run

        try:
            store, lock = open_human_run(config, base, scenario, by_id, factory, label, out)
        except BaseException:
            if llm is not None:
                llm.close()
            raise
        match_id = f"play-{next_match_number(store, 'play')}"
    rest = [p for s, p in zip(SIDES, personas) if s not in (side, first_other(side, seats))]
    match_seed = derive_seed(seed, "play", machine_id, human_id, side, *rest)
    human = HumanNegotiator(scenario, side, ask, show)
    spec, negotiators, labels = seat_match(
        factory, match_id, "play", 1, side, personas, match_seed, human,
        {p: by_id[p].level for p in personas}, label)

    show(f"{scenario.name}: {scenario.spec.description}")
    if seats == 2:
        other = by_id[machine_id]
        show(f"You play seat {side} ({seat_of(side)} mover) as persona {human_id}; your "
             f"opponent is {label} as persona {other.persona_id} (level {other.level}, "
             f"image {other.image}), condition {config.condition}.")
        if other.description:
            show(f"Your opponent looks like this: {other.description}")
    else:
        show(f"You play seat {side} (player {SIDES.index(side) + 1} of {seats}) as persona "
             f"{human_id}, condition {config.condition}; every other player is {label}:")
        for i, pid in enumerate(personas):
            if SIDES[i] == side:
                continue
            other = by_id[pid]
            looks = f"; looks like this: {other.description}" if other.description else ""
            show(f"  player {i + 1} ({SIDES[i]}): persona {pid} (level {other.level}, "
                 f"image {other.image}){looks}")
    request = _first_request_of(scenario, side)
    instructions = lookup(scenario.prompts, "instructions", seat_of(side), "none")
    if instructions:
        show(fill(instructions, "instructions", private_fields(request, scenario.rules)).strip())
    if seats > 2:  # two-seat games say it all in their instructions
        for line in scenario.rules.private_lines(request):
            show(line)

    async def go() -> Any:
        try:
            return await play_match(spec, scenario, negotiators, config.condition, labels)
        finally:
            if llm is not None:
                await llm.aclose()

    try:
        row = asyncio.run(go())
        if store is not None:
            store.write_match(row)  # one transaction with all its turns, as `run` stores
            show(f"Stored as match {match_id} in {out}.")
    finally:
        if llm is not None:
            llm.close()
        if store is not None:
            store.close()
            lock.close()
    match = {name: getattr(row.match, name) for name in (
        "match_id", "design", "repetition", "scenario", "condition", "seed", "persona_a",
        "persona_b", "level_a", "level_b", "agent_a", "agent_b", "status", "payoff_a", "payoff_b",
        "deal", "agreements", "share_a", "share_b", "n_turns", "error")}
    match["seats"] = [{"seat": r.seat, "persona_id": r.persona_id, "agent": r.agent,
                       "payoff": r.payoff} for r in row.seats]
    for turn in row.turns[human.seen:]:  # the machines' last words, not yet shown
        if turn.speaker != side:
            show(f"{speaker(turn.speaker, seats)} ({turn.role}, round {turn.round}): "
                 f"{turn.text}")
    if match["status"] != "ok":
        error = str(match["error"] or "")
        if error.startswith("EOFError"):
            show("Input ended: the match was abandoned.")
        else:
            show(f"The match failed: {error}")
        return match
    pays = {r.seat: r.payoff for r in row.seats}
    agreements = f"({match['agreements']} agreement{'s' if match['agreements'] != 1 else ''})"
    if seats == 2:
        they = pays[first_other(side, seats)]
        show(f"Result: you {pays[side]:g} {scenario.spec.units}, your opponent {they:g} "
             f"{agreements}.")
    else:
        others = ", ".join(f"player {i + 1} {pays[s]:g}" for i, s in enumerate(SIDES[:seats])
                           if s != side)
        show(f"Result: you {pays[side]:g} {scenario.spec.units}; {others} {agreements}.")
    return match


def _first_request_of(scenario: Any, side: str) -> Any:
    """The first request a seat gets, for its private facts (reservation, item values)."""
    state = scenario.new_state()
    state_seats = scenario.seats
    request = state.request()
    guard = 0
    while request.side != side and not state.is_terminal and guard < 4 * state_seats:
        state.step(state.random_move(random.Random(0), request))
        request = state.request()
        guard += 1
    return request

