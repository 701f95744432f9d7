"""The conformance check a game's author runs (`persona-arena scenarios check FILE`, or
`assert_conforms` in pytest), in the spirit of PettingZoo's `api_test`.

For every seat count the game takes, random legal play (the state's own `random_move`) must end
within the game's declared turn bound, every random move must pass the state's own `check`,
every seat's payoff must lie in `payoff_range`, the same seed must give the same record, every
offer must survive the JSON protocol (`move_to_json` -> JSON text -> `move_from_json`), the
free-text reader must read the game's own offer descriptions back, and every prompt template
must render with the placeholders the game fills for each seat.
"""
from __future__ import annotations

import json
import math
import random
import string
from typing import Any

from scenarios.game import SEAT_WORDS
from scenarios.loader import Scenario
from scenarios.moves import OFFER_KINDS, SIDES, Move, MoveKind, MoveRequest
from scenarios.prompt_keys import GAME_TEMPLATES, PROMPT_CONDITIONS

GUARD = 10_000  # turns: past this a game that declared a smaller bound has long failed


class ConformanceError(AssertionError):
    """A game failed the check; the message says where and why, in one line."""


def _same_offer(x: Any, y: Any) -> bool:
    if isinstance(x, (int, float)) and isinstance(y, (int, float)):
        return math.isclose(float(x), float(y), rel_tol=1e-9, abs_tol=1e-6)
    if isinstance(x, (tuple, list)) and isinstance(y, (tuple, list)):
        return len(x) == len(y) and all(_same_offer(a, b) for a, b in zip(x, y))
    return x == y


def _record(state: Any) -> list[tuple]:
    return [(t.index, t.round, t.side, t.role, t.move.kind.value, repr(t.move.offer),
             t.move.reason, t.claim) for t in state.turns]


def _play(scenario: Scenario, seats: int, seed: int, where: str, problems: list[str],
          first_requests: dict[str, MoveRequest] | None = None) -> tuple | None:
    """One random legal match; its record, or None after adding what went wrong."""
    rules = scenario.rules
    state = scenario.new_state(seats, seed)
    rng = random.Random(seed)
    bound = rules.max_turns(seats)
    low, high = rules.payoff_range(seats)
    while not state.is_terminal:
        if len(state.turns) >= min(bound, GUARD):
            problems.append(f"{where}: random legal play did not end within the declared bound "
                            f"of {bound} turns (max_turns)")
            return None
        request = state.request()
        if request.side not in SIDES[:seats]:
            problems.append(f"{where}: request names side {request.side!r}, not one of the "
                            f"{seats} seats")
            return None
        if first_requests is not None:
            first_requests.setdefault(request.side, request)
        move = state.random_move(rng, request)
        why = state.check(move, request)
        if why is not None:
            problems.append(f"{where}, turn {len(state.turns)}: random_move gave a move its own "
                            f"check refuses ({move.kind.value} {move.offer!r}: {why})")
            return None
        if move.kind in OFFER_KINDS:
            bad = _offer_round_trips(scenario, state, move, request)
            if bad:
                problems.append(f"{where}, turn {len(state.turns)}: {bad}")
                return None
        state.apply(move, "")
    outcome = state.outcome()
    if len(outcome.payoffs) != seats or len(outcome.shares) != seats:
        problems.append(f"{where}: the outcome has {len(outcome.payoffs)} payoffs for {seats} "
                        "seats")
        return None
    for side, payoff in zip(SIDES, outcome.payoffs):
        if not (isinstance(payoff, (int, float)) and math.isfinite(payoff)
                and low - 1e-9 <= payoff <= high + 1e-9):
            problems.append(f"{where}: seat {side}'s payoff {payoff!r} is outside the declared "
                            f"payoff range {low:g}..{high:g}")
            return None
    for side, share in zip(SIDES, outcome.shares):
        if share is not None and not math.isfinite(share):
            problems.append(f"{where}: seat {side}'s share {share!r} is not a finite number")
            return None
    if outcome.n_turns != len(state.turns):
        problems.append(f"{where}: the outcome counts {outcome.n_turns} turns, the match had "
                        f"{len(state.turns)}")
        return None
    return (_record(state), outcome.payoffs, outcome.shares, outcome.deal, outcome.agreements)


def _offer_round_trips(scenario: Scenario, state: Any, move: Move,
                       request: MoveRequest) -> str | None:
    """Why an offer does not survive the JSON protocol or the free-text reader, or None."""
    rules = scenario.rules
    data = rules.move_to_json(move)
    kinds = rules.json_schema().get("properties", {}).get("move", {}).get("enum", rules.moves)
    if data.get("move") not in kinds:
        return (f"move_to_json gives move {data.get('move')!r}, which the game's JSON schema does "
                f"not list ({', '.join(kinds)})")
    try:
        back = rules.move_from_json(json.loads(json.dumps(data)))
    except Exception as error:  # noqa: BLE001  (a user's game: report, do not crash)
        return f"move_from_json fails on {data} ({type(error).__name__}: {error})"
    if isinstance(back, str) or back.kind is not move.kind or not _same_offer(back.offer,
                                                                             move.offer):
        return (f"the JSON move {json.dumps(data)} reads back as "
                f"{back if isinstance(back, str) else (back.kind.value, back.offer)!r}, not "
                f"{(move.kind.value, move.offer)!r}")
    text = state.describe_offer(move.offer, request.side)
    read = state.read(text, request)
    if read.kind not in OFFER_KINDS or not _same_offer(read.offer, move.offer):
        got = read.reason if read.kind is MoveKind.INVALID else (read.kind.value, read.offer)
        return (f"the free-text reader reads the game's own description {text!r} of offer "
                f"{move.offer!r} as {got!r}")
    return None


class _Strict(dict):
    def __missing__(self, name: str) -> Any:
        raise KeyError(name)


def _prompt_problems(scenario: Scenario, requests: dict[str, MoveRequest]) -> list[str]:
    """Every instructions/JSON template, for every seat and condition, filled with what the
    game gives that seat: a placeholder it declares but does not fill is found here."""
    rules, prompts = scenario.rules, scenario.prompts
    problems = []
    for side, request in sorted(requests.items()):
        seat = SEAT_WORDS[SIDES.index(side)]
        fields = _Strict(rules.prompt_fields(request))
        for key in GAME_TEMPLATES:
            for cond in PROMPT_CONDITIONS:
                name = next((n for n in (f"{key}_{seat}_{cond}", f"{key}_{seat}",
                                         f"{key}_{cond}", key) if n in prompts), None)
                if name is None:
                    continue
                try:
                    string.Formatter().vformat(prompts[name], (), fields)
                except KeyError as missing:
                    problems.append(f"prompts.{name} (seat {seat}): unknown placeholder "
                                    f"{{{missing.args[0]}}}: the game does not fill it")
                    break
                except (ValueError, IndexError) as error:
                    problems.append(f"prompts.{name} (seat {seat}): bad template ({error})")
                    break
    return problems


def check_scenario(scenario: Scenario, seeds: int = 20) -> list[str]:
    """Everything wrong with a scenario's game, as one-line problems (empty: it conforms)."""
    rules = scenario.rules
    problems: list[str] = []
    first_requests: dict[int, dict[str, MoveRequest]] = {}
    for seats in range(rules.min_seats, rules.max_seats + 1):
        for seed in range(seeds):
            where = f"{seats} seats, seed {seed}"
            try:
                record = _play(scenario, seats, seed, where, problems,
                               first_requests.setdefault(seats, {}))
                if record is None:
                    break
                again = _play(scenario, seats, seed, where, problems)
            except Exception as error:  # noqa: BLE001  (a user's game: report, do not crash)
                problems.append(f"{where}: {type(error).__name__}: {error}")
                break
            if again is not None and again != record:
                problems.append(f"{where}: the same seed gave a different record (the state "
                                "uses randomness other than the rng start() is given)")
                break
        if problems:
            break
    for requests in first_requests.values():  # every seat of every seat count
        problems += [p for p in _prompt_problems(scenario, requests) if p not in problems]
    return problems


def assert_conforms(scenario: Scenario, seeds: int = 20) -> None:
    """For pytest: raise ConformanceError with the first problem."""
    problems = check_scenario(scenario, seeds)
    if problems:
        raise ConformanceError(f"{scenario.source}: {problems[0]}")
