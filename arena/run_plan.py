"""What a run is: its scenario, personas, agents and matches, checked before anything is written.

A design yields its matches in rounds: a fixed design (factorial, confederate, delta ...) is one
round holding every match; a swiss round is paired from the stored results of the rounds before
it. Executors only ever see one round's pending specs, so every design runs on every executor.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.models.cache import resolve_cache_dir
from agents.personas.persona import Persona
from arena.config import RunConfig, check_scenario, design_seats, in_file
from arena.designs import Entrant, expand, select_per_level, shuffled
from arena.factory import AgentFactory
from arena.match import MatchSpec
from arena.personas import load_personas
from arena.swiss import swiss_round, swiss_rounds
from scenarios.loader import Scenario, load_scenario

# (persona_a, persona_b, share_a, share_b) of a round's ok matches, read from the store
Shares = Callable[[list[str]], Iterable[tuple[str, str, float | None, float | None]]]


@dataclass
class Plan:
    """Everything a run needs, checked before anything is written."""

    config: RunConfig
    base: Path
    scenario: Scenario
    personas: dict[str, Persona]
    specs: list[MatchSpec]
    factory: AgentFactory
    match_list_sha256: str
    entrants: list[Entrant] | None = None  # swiss: who is paired, round by round
    workers_used: int = 0  # the most worker processes that played this run's matches
    budget: Any = None  # arena.budget.Budget, when [execution] sets one (checked per match)

    @property
    def paired_by_results(self) -> bool:
        """True when rounds are paired from the results so far (swiss), not fixed in advance."""
        return self.config.design.kind == "swiss" and self.entrants is not None

    @property
    def planned(self) -> int:
        if not self.paired_by_results:
            return len(self.specs)
        assert self.entrants is not None
        n = len(self.entrants)
        rounds = swiss_rounds(n, self.config.design.rounds, self.config._source)
        return (n // 2) * rounds * self.config.design.repetitions

    def players(self) -> set[str]:
        """The personas that play in this run."""
        if self.paired_by_results:
            return {e.persona_id for e in self.entrants or []}
        return {pid for s in self.specs for pid in s.seat_personas if pid}

    def rounds(self, shares: Shares) -> Iterator[list[MatchSpec]]:
        """The run's matches round by round. The caller plays (and stores) each round before it
        asks for the next: a swiss round is paired from `shares` of the rounds before it."""
        if not self.paired_by_results:
            yield self.specs
            return
        assert self.entrants is not None
        design = self.config.design
        rounds = swiss_rounds(len(self.entrants), design.rounds, self.config._source)
        team = "a" if self.config.teams_differ else "default"
        for rep in range(1, design.repetitions + 1):
            scores: dict[str, float] = {}
            played: set[frozenset[str]] = set()
            seat_a: dict[str, int] = {}
            byes: set[str] = set()
            for t in range(1, rounds + 1):
                specs = swiss_round(self.entrants, scores, played, seat_a, byes, rep, t, team,
                                    self.config.seed)
                yield specs
                for pa, pb, sa, sb in shares([s.match_id for s in specs]):
                    scores[pa] = scores.get(pa, 0.0) + (sa or 0.0)
                    scores[pb] = scores.get(pb, 0.0) + (sb or 0.0)


def scenario_and_personas(config: RunConfig,
                          base: Path) -> tuple[Scenario, Path, dict[str, Persona]]:
    """The config's scenario (with its prompt overrides), pool folder and personas by id."""
    scenario = load_scenario(config.scenario, base)
    if config.prompts:
        scenario = scenario.with_prompts(config.prompts, config._source)
    check_scenario(config, scenario)
    pool = (base / config.personas.pool).resolve()
    ratings_file = (base / config.personas.ratings_file) if config.personas.ratings_file else None
    checks_dir = (resolve_cache_dir(config.cache.dir, base) if config.cache.enabled else None)
    personas = load_personas(pool, config.personas.rating, config.design.levels, ratings_file,
                             checks_dir, tuple(config.personas.scale))  # type: ignore[arg-type]
    return scenario, pool, {p.persona_id: p for p in personas}


def _check_descriptions(config: RunConfig, personas: list[Persona]) -> None:
    """A user's negotiator may read the descriptions a condition stands for: refuse a pool
    without them (LLM seats are checked with their context)."""
    from agents.conditions import NEEDS_DESCRIPTION, check_descriptions
    from arena.config import BUILTIN_AGENT_KINDS

    if config.condition in NEEDS_DESCRIPTION and any(
            a.kind not in BUILTIN_AGENT_KINDS for a in config.agents.values()):
        check_descriptions(config.condition, personas)


def plan_run(config: RunConfig, base: Path, llm: Any = None, check_models: bool = True,
             probe: bool = True) -> Plan:
    """Check everything and expand the design; with LLM agents, build their model context once
    (clients, reply cache, encoded images) and, when `check_models`, check each endpoint (and,
    with `probe`, that models sent images can see them). Errors name the config file."""
    with in_file(config._source):
        return _plan_run(config, base, llm, check_models, probe)


def _plan_run(config: RunConfig, base: Path, llm: Any, check_models: bool,
              probe: bool) -> Plan:
    scenario, _, by_id = scenario_and_personas(config, base)
    personas = list(by_id.values())
    if llm is None and any(a.kind == "llm" for a in config.agents.values()):
        from arena.llm_context import build_llm_context

        llm = build_llm_context(config, base, scenario, by_id, check=check_models, probe=probe)
    _check_descriptions(config, personas)
    entrants = [Entrant(p.persona_id, p.level, p.identity) for p in personas  # type: ignore[arg-type]
                if p.level is not None or (config.design.kind == "counterfactual" and p.identity)]
    factory = AgentFactory(config, scenario, by_id, llm, config_dir=base)
    swiss = config.design.kind == "swiss"
    if swiss:
        entrants = select_per_level(entrants, config.design.levels, config.design.per_level,
                                    config.seed)
        swiss_rounds(len(entrants), config.design.rounds, config._source)  # before any write
        specs = []  # planned round by round from the results so far (Plan.rounds)
    else:
        specs = expand(config.design, entrants, config.seed, config.teams_differ,
                       design_seats(config, scenario))
    digest = hashlib.sha256()
    digest.update(json.dumps([scenario.name, config.condition, config.seed,
                              [factory.label(t) for t in factory.teams()]]).encode())
    for spec in specs:
        digest.update(f"\n{spec.match_id}:{spec.seed}".encode())
    if swiss:
        rounds = swiss_rounds(len(entrants), config.design.rounds, config._source)
        digest.update(json.dumps(["swiss", rounds, config.design.repetitions,
                                  [e.persona_id for e in entrants]]).encode())
    return Plan(config, base, scenario, by_id, specs, factory, digest.hexdigest(), entrants)


def pending(plan: Plan, done: set[str], specs: list[MatchSpec]) -> list[MatchSpec]:
    """`specs` not yet stored as ok (`done`), in the run's seeded order (every executor's)."""
    return [s for s in shuffled(specs, plan.config.seed) if s.match_id not in done]
