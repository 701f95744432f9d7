"""The seats of a match with a person in one of them (`play`, `serve`), for games of 2..N seats.

The person takes one seat; every other seat plays the config's machine agent, each with its own
persona, and sees the others in seat order as a tournament's seats do (AgentFactory.seats).
Two seats are seated exactly as before N seats existed, so stored runs and seeds keep their
meaning: the first other seat's persona is drawn first, then the person's, then the rest.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from agents.base import Negotiator
from arena.factory import AgentFactory
from arena.match import MatchSpec
from scenarios.errors import InputError
from scenarios.moves import SIDES

MACHINE_TEAM = "default"  # the team every machine seat plays (play and serve copy it there)


def for_people(config: Any, seats: int) -> Any:
    """The config with its design seating the game's seats: a person's match is one match of
    the scenario's own seats, whatever pairing design the config names for tournaments (a
    two-seat config is returned as it is)."""
    if seats == 2 or config.design.seats == seats:
        return config
    return config.model_copy(update={"design": config.design.model_copy(
        update={"seats": seats})})


def check_side(side: str, seats: int, flag: str) -> str:
    """The person's seat letter, refused in one line when the game has no such seat."""
    sides = SIDES[:seats]
    if side not in sides:
        raise InputError(f"{flag} must be one of {', '.join(sides)} (got {side!r}): the game "
                         f"has {seats} seats")
    return side


def draw_personas(rng: random.Random, ids: Sequence[str], seats: int, side: str,
                  first_other: str | None = None, person: str | None = None) -> tuple[str, ...]:
    """Every seat's persona, in seat order: the first other seat's (the one after the person;
    given, or drawn), the person's (given, or drawn from the rest), then the other seats' from
    what is left (with repeats only when the pool is too small)."""
    ids = sorted(ids)
    first = first_other or rng.choice(ids)
    mine = person or rng.choice(sorted(set(ids) - {first}) or ids)
    rest_n = seats - 2
    left = sorted(set(ids) - {first, mine})
    rest = (rng.sample(left, rest_n) if len(left) >= rest_n else
            left + [rng.choice(ids) for _ in range(rest_n - len(left))]) if rest_n else []
    me = SIDES.index(side)
    others = [SIDES[(me + k) % seats] for k in range(1, seats)]  # from the next seat on
    by_side = {side: mine, others[0]: first, **dict(zip(others[1:], rest))}
    return tuple(by_side[s] for s in SIDES[:seats])


def pair(side: str, human_id: str, opponent_id: str) -> tuple[str, ...]:
    """The personas of a two-seat match in seat order (a match stored before seats were)."""
    return (human_id, opponent_id) if side == "a" else (opponent_id, human_id)


def first_other(side: str, seats: int) -> str:
    """The seat after the person's: the opponent of two seats, the next player of N."""
    return SIDES[(SIDES.index(side) + 1) % seats]


def seat_match(factory: AgentFactory, match_id: str, design: str, number: int, side: str,
               personas: Sequence[str], seed: int, person: Negotiator, levels: dict[str, Any],
               label: str) -> tuple[MatchSpec, list[Negotiator], list[str]]:
    """The match spec, a negotiator per seat (the person's own in `side`) and the agents'
    labels in the store ("human" for the person)."""
    n = len(personas)
    sides = SIDES[:n]
    negotiators: list[Negotiator] = []
    labels: list[str] = []
    for i, s in enumerate(sides):
        if s == side:
            negotiators.append(person)
            labels.append("human")
            continue
        others = [p for j, p in enumerate(personas) if j != i]
        negotiators.append(factory.build(MACHINE_TEAM, s, personas[i], others[0], seed,
                                         others if n > 2 else ()))
        labels.append(label)
    spec = MatchSpec.group(match_id, design, number, list(personas), list(sides),
                           [levels.get(p) for p in personas], seed)
    return spec, negotiators, labels
