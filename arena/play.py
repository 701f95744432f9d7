"""`persona-arena play`: a person takes one seat against the config's agent, in the terminal.

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

from agents.negotiators.human import HumanNegotiator
from agents.prompts import fill, lookup, private_fields, seat_of
from arena.config import AgentConfig, load_config
from arena.factory import AgentFactory
from arena.match import MatchSpec, play_match
from arena.run_plan import scenario_and_personas
from arena.seeds import derive_seed
from scenarios.errors import InputError


def _machine_agent(config: Any, machine_side: str) -> AgentConfig:
    """The agent the person plays against: the config's agent for that seat (not a human)."""
    for team in (machine_side, "default", "a" if machine_side == "b" else "b"):
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
    if side is None:
        humans = [t for t, a in config.agents.items() if a.kind == "human" and t in ("a", "b")]
        side = humans[0] if humans else "a"
    if side not in ("a", "b"):
        raise InputError(f"--side must be a or b (got {side!r})")
    machine_side = "b" if side == "a" else "a"
    agent = _machine_agent(config, machine_side)
    config = config.model_copy(update={"agents": {"default": agent}})
    scenario, pool, by_id = scenario_and_personas(config, base)
    seed = config.seed if seed is None else seed
    rng = random.Random(derive_seed(seed, "play"))
    for given, flag in ((persona, "--persona"), (you, "--you")):
        if given is not None and given not in by_id:
            raise InputError(f"{flag}: no persona {given!r} in {pool}")
    machine_id = persona or rng.choice(sorted(by_id))
    human_id = you or rng.choice(sorted(set(by_id) - {machine_id}) or sorted(by_id))
    llm = None
    if agent.kind == "llm":
        from arena.llm_context import build_llm_context

        llm = build_llm_context(config, base, scenario, by_id, check=True)
    factory = AgentFactory(config, scenario, by_id, llm)
    store = lock = None
    match_id = "play"
    if out is not None:  # opened before the match: a bad folder stops before anyone plays
        from arena.human_runs import next_match_number, open_human_run

        try:
            store, lock = open_human_run(config, base, scenario, by_id, factory,
                                         factory.label("default"), out)
        except BaseException:
            if llm is not None:
                llm.close()
            raise
        match_id = f"play-{next_match_number(store, 'play')}"
    match_seed = derive_seed(seed, "play", machine_id, human_id, side)
    machine = factory.build("default", machine_side, machine_id, human_id, match_seed)
    human = HumanNegotiator(scenario, side, ask, show)
    seats = {side: (human, human_id, "human"), machine_side: (machine, machine_id,
                                                              factory.label("default"))}
    (neg_a, pa, label_a), (neg_b, pb, label_b) = seats["a"], seats["b"]
    spec = MatchSpec(match_id, "play", 1, pa, pb, "a", "b", match_seed,
                     by_id[pa].level, by_id[pb].level)

    other = by_id[machine_id]
    show(f"{scenario.name}: {scenario.spec.description}")
    show(f"You play seat {side} ({seat_of(side)} mover) as persona {human_id}; your opponent is "
         f"{factory.label('default')} as persona {other.persona_id} (level {other.level}, "
         f"image {other.image}), condition {config.condition}.")
    if other.description:
        show(f"Your opponent looks like this: {other.description}")
    instructions = lookup(scenario.prompts, "instructions", seat_of(side), "none")
    if instructions:
        request = _first_request_of(scenario, side)
        show(fill(instructions, "instructions", private_fields(request, scenario.rules)).strip())

    async def go() -> Any:
        try:
            return await play_match(spec, scenario, [neg_a, neg_b], config.condition,
                                    (label_a, label_b))
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
    for turn in row.turns[human.seen:]:  # the machine's last words, not yet shown
        if turn.speaker == machine_side:
            show(f"Opponent ({turn.role}, round {turn.round}): {turn.text}")
    if match["status"] != "ok":
        error = str(match["error"] or "")
        if error.startswith("EOFError"):
            show("Input ended: the match was abandoned.")
        else:
            show(f"The match failed: {error}")
        return match
    you_got = match["payoff_a"] if side == "a" else match["payoff_b"]
    they_got = match["payoff_b"] if side == "a" else match["payoff_a"]
    show(f"Result: you {you_got:g} {scenario.spec.units}, your opponent {they_got:g} "
         f"({match['agreements']} agreement{'s' if match['agreements'] != 1 else ''}).")
    return match


def _first_request_of(scenario: Any, side: str) -> Any:
    """The first request a seat gets, for its private facts (reservation, item values)."""
    state = scenario.new_state()
    request = state.request()
    guard = 0
    while request.side != side and not state.is_terminal and guard < 4:
        state.step(state.random_move(random.Random(0), request))
        request = state.request()
        guard += 1
    return request

