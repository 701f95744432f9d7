"""Building negotiators for a match: the one place that turns agent configs into objects.

Every kind, built-in or a user's, goes through the registry of arena.agent_kinds; the built-ins
are defined here because they share the factory's run-wide state (the surrogate's parameters and
persona effects, the LLM context)."""
from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.base import Negotiator
from agents.personas.persona import Persona
from arena.agent_kinds import AgentKind, builtin, resolve_kind
from arena.config import AgentConfig, RunConfig
from arena.planted_config import PlantedConfig
from arena.designs import CONFEDERATE, opening_of
from arena.match import MatchSpec
from arena.seeds import derive_seed, rng_for
from scenarios.errors import InputError
from scenarios.loader import Scenario
from scenarios.moves import SIDES

_DEFAULT_PLANTED = PlantedConfig()  # `kind = "planted"` without a table: the base alone


class AgentFactory:
    """Makes a fresh negotiator per seat per match; the runner passes in all randomness."""

    def __init__(self, config: RunConfig, scenario: Scenario, personas: dict[str, Persona],
                 llm: Any = None, config_dir: Path | None = None) -> None:
        self.config = config
        self.scenario = scenario
        self.personas = personas
        self.llm = llm  # the LLM context (clients, cache, images), built once by the runner
        self._persona_effects: dict[tuple[str, str], float] = {}
        self._surrogate_params: dict[str, Any] = {}
        self._planted: dict[str, Any] = {}
        self._confederate = AgentConfig(kind="confederate")  # built once, not per match
        self._labels: dict[str, str] = {}
        self._teams: dict[str, tuple[AgentKind, AgentConfig]] = {}  # kind and config, per team
        self._views: tuple[bool, bool] | None = None
        self._kinds: dict[str, AgentKind] = {CONFEDERATE: resolve_kind("confederate", CONFEDERATE)}
        for team in self.teams():
            agent = config.agent(team)
            kind = self._kinds[team] = resolve_kind(agent.kind, team, config_dir)
            if agent.options and not hasattr(kind, "cls"):
                raise InputError(f"agents.{team}.options: only a user's kind takes options "
                                 f"('{agent.kind}' has its own fields)")
            kind.check(self, team, agent)

    def teams(self) -> list[str]:
        return [t for t in ("default", "a", "b") if t in self.config.agents]

    def agent_config(self, team: str) -> AgentConfig:
        if team == CONFEDERATE:
            return self._confederate
        opening = opening_of(team)
        if opening is not None:  # design factor first_offer: the script opens with it
            rest = (self._confederate.claims or [50.0, 75.0])[1:]
            return AgentConfig(kind="confederate", claims=[opening, *rest])
        return self.config.agent(team)

    def kind(self, team: str) -> AgentKind:
        if opening_of(team) is not None:
            return self._kinds[CONFEDERATE]
        return self._kinds.get(team) or self._kinds.get("default") or self._kinds["a"]

    @property
    def offline(self) -> bool:
        return all(self.kind(t).offline for t in self.teams())

    @property
    def views(self) -> tuple[bool, bool]:
        """(a seat sees its own persona, it sees its opponent's): asked for every seat."""
        if self._views is None:
            self._views = (self.config.condition != "none", self.config.shows_opponent)
        return self._views

    def label(self, team: str) -> str:
        found = self._labels.get(team)
        if found is None:
            opening = opening_of(team)
            found = self._labels[team] = (
                self.kind(team).label(self.agent_config(team)) if opening is None
                else f"confederate(first_offer={opening:g})")  # the level, in the store
        return found

    def persona_effect(self, fit: str, persona_id: str) -> float:
        """A persona's lasting random intercept: the same in every match of the run."""
        key = (fit, persona_id)
        if key not in self._persona_effects:
            sd = self._surrogate_params[fit].sd_persona
            rng = rng_for(self.config.seed, "persona-effect", fit, persona_id)
            self._persona_effects[key] = rng.gauss(0.0, sd)
        return self._persona_effects[key]

    def planted_params(self, team: str, planted: PlantedConfig) -> Any:
        """A team's planted formula, converted once per run (not per seat)."""
        found = self._planted.get(team)
        if found is None:
            found = self._planted[team] = planted.params()
        return found

    @property
    def simulated(self) -> list[str]:
        """Labels of the run's SIMULATED agents (planted): every summary says so."""
        return sorted({self.label(t) for t in self.teams()
                       if getattr(self.kind(t), "simulated", False)})

    def build(self, team: str, side: str, persona_id: str | None, opponent_id: str | None,
              match_seed: int, others: Sequence[str | None] = ()) -> Negotiator:
        """A negotiator for one seat. `opponent_id` is the first other seat's persona (the
        next seat after this one); `others` every other seat's, that one first (N seats)."""
        personas = self.personas
        persona = personas.get(persona_id) if persona_id else None
        opponent = personas.get(opponent_id) if opponent_id else None
        more = tuple(personas.get(o) if o else None for o in others[1:]) if len(others) > 1 \
            else ()
        found = self._teams.get(team)  # the same for every match of the run
        if found is None:
            found = self._teams[team] = (self.kind(team), self.agent_config(team))
        kind, agent = found
        return kind.build(self, team, agent, side, persona, opponent, match_seed, more)

    def seats(self, spec: MatchSpec) -> tuple[list[Negotiator], list[str]]:
        """A fresh negotiator and the agent's label for each seat of `spec`. Each seat's
        opponents are the other seats in seat order (seat b's are a, c, ...: player 1, player 3
        as the game's prompts number them), so in two seats each sees the other as before."""
        personas, teams = spec.seat_personas, spec.seat_agents
        negotiators = []
        for i, team in enumerate(teams):
            others = [p for j, p in enumerate(personas) if j != i]
            negotiators.append(self.build(team, SIDES[i], personas[i], others[0], spec.seed,
                                          others))
        return negotiators, [self.label(team) for team in teams]


# -- the built-in kinds ---------------------------------------------------------------------
def _ultimatum_only(factory: AgentFactory, team: str, agent: AgentConfig) -> None:
    """The surrogate and the confederate play the paper's protocol: a game of that family."""
    if factory.scenario.rules.family != "ultimatum":
        raise InputError(f"agents.{team}.kind: '{agent.kind}' plays ultimatum scenarios only "
                         f"(scenario '{factory.scenario.name}' is {factory.scenario.game})")


@builtin("llm")
class LLMKind(AgentKind):
    offline = False

    def check(self, factory: AgentFactory, team: str, agent: AgentConfig) -> None:
        if factory.llm is None:
            raise InputError(f"agents.{team}.kind: 'llm' agents need a model context")

    def label(self, agent: AgentConfig) -> str:
        return f"llm:{agent.model}"

    def build(self, factory: AgentFactory, team: str, agent: AgentConfig, side: str,
              persona: Persona | None, opponent: Persona | None, match_seed: int,
              others: tuple[Persona | None, ...] = ()) -> Negotiator:
        return factory.llm.negotiator(team, agent, side, persona, opponent, match_seed,
                                     others)


@builtin("surrogate")
class SurrogateKind(AgentKind):
    def check(self, factory: AgentFactory, team: str, agent: AgentConfig) -> None:
        _ultimatum_only(factory, team, agent)
        from agents.negotiators.surrogate import load_params

        try:
            factory._surrogate_params[agent.fit] = load_params(agent.fit)
        except InputError as error:
            raise InputError(f"agents.{team}.fit: {error}") from None

    def label(self, agent: AgentConfig) -> str:
        return f"surrogate:{agent.fit}"

    def build(self, factory: AgentFactory, team: str, agent: AgentConfig, side: str,
              persona: Persona | None, opponent: Persona | None, match_seed: int,
              others: tuple[Persona | None, ...] = ()) -> Negotiator:
        from agents.negotiators.surrogate import SurrogateNegotiator

        shows_own, sees_opponent = factory.views  # `none`: no persona at all
        own = (float(persona.level) if shows_own and persona and persona.level is not None
               else None)
        opp = (float(opponent.level) if sees_opponent and opponent and
               opponent.level is not None else None)
        effect = (factory.persona_effect(agent.fit, persona.persona_id)
                  if persona and shows_own else 0.0)
        rng = random.Random(derive_seed(match_seed, side))
        return SurrogateNegotiator(factory._surrogate_params[agent.fit], rng, own, opp, effect,
                                   factory.scenario.spec.pie, factory.label(team))  # type: ignore[union-attr]


@builtin("confederate")
class ConfederateKind(AgentKind):
    def check(self, factory: AgentFactory, team: str, agent: AgentConfig) -> None:
        _ultimatum_only(factory, team, agent)

    def label(self, agent: AgentConfig) -> str:
        return "confederate"

    def build(self, factory: AgentFactory, team: str, agent: AgentConfig, side: str,
              persona: Persona | None, opponent: Persona | None, match_seed: int,
              others: tuple[Persona | None, ...] = ()) -> Negotiator:
        from agents.negotiators.confederate import Confederate

        claims = tuple(agent.claims) if agent.claims else (50.0, 75.0)
        return Confederate(factory.scenario.prompts, claims, factory.scenario.spec.pie)  # type: ignore[union-attr]


@builtin("concession")
class ConcessionKind(AgentKind):
    def label(self, agent: AgentConfig) -> str:
        return f"concession:{agent.tactic if agent.exponent is None else agent.exponent}"

    def build(self, factory: AgentFactory, team: str, agent: AgentConfig, side: str,
              persona: Persona | None, opponent: Persona | None, match_seed: int,
              others: tuple[Persona | None, ...] = ()) -> Negotiator:
        from agents.negotiators.concession import ConcessionNegotiator

        return ConcessionNegotiator(factory.scenario, agent.tactic, agent.exponent,
                                    agent.reservation_share, factory.label(team))


@builtin("random")
class RandomKind(AgentKind):
    def label(self, agent: AgentConfig) -> str:
        return "random"

    def build(self, factory: AgentFactory, team: str, agent: AgentConfig, side: str,
              persona: Persona | None, opponent: Persona | None, match_seed: int,
              others: tuple[Persona | None, ...] = ()) -> Negotiator:
        from agents.negotiators.random_agent import RandomNegotiator

        return RandomNegotiator(factory.scenario, random.Random(derive_seed(match_seed, side)))


@builtin("human")
class HumanKind(AgentKind):
    """A person at the keyboard: plays through `persona-arena play`, never in a tournament."""

    def check(self, factory: AgentFactory, team: str, agent: AgentConfig) -> None:
        raise InputError(f"agents.{team}.kind: 'human' agents play through "
                         "`persona-arena play`, not in tournaments")

    def label(self, agent: AgentConfig) -> str:
        return "human"


@builtin("planted")
class PlantedKind(AgentKind):
    """SIMULATED behaviour with planted effects (agents.negotiators.planted), for every game."""

    simulated = True

    def check(self, factory: AgentFactory, team: str, agent: AgentConfig) -> None:
        from arena.config import design_seats

        planted = agent.planted or _DEFAULT_PLANTED
        levels = factory.config.design.levels
        for key in ("own", "opp"):
            table = getattr(planted, key)
            if isinstance(table, dict):
                for level in table:
                    if int(level) > levels:
                        raise InputError(f"agents.{team}.planted.{key}.{level}: level {level} "
                                         f"is beyond the design's {levels} levels")
        for key in ("attribute", "opp_attribute"):
            for name, shifts in getattr(planted, key).items():
                seen = {p.attributes[name] for p in factory.personas.values()
                        if name in p.attributes}
                if not seen:
                    raise InputError(f"agents.{team}.planted.{key}.{name}: no persona of the "
                                     f"pool has attribute '{name}' (a manifest column; see "
                                     "`avatars generate --vary`)")
                for value in shifts:
                    if value not in seen:
                        raise InputError(f"agents.{team}.planted.{key}.{name}.{value}: no "
                                         f"persona has {name} = {value!r} (the pool has "
                                         f"{', '.join(sorted(seen))})")
        rules = factory.scenario.rules
        state = rules.new_state(design_seats(factory.config, factory.scenario))
        request = state.request()
        try:
            offers = rules.offer_space(request)
            if offers:
                rules.offer_value(offers[0], request.side, request.side, request)
        except (NotImplementedError, KeyError, TypeError) as error:
            offers, why = [], f" ({error})"
        else:
            why = ""
        if not offers:
            raise InputError(f"agents.{team}.kind: 'planted' needs a game that lists its offers "
                             f"(offer_space and offer_value of scenarios.game); "
                             f"{factory.scenario.game} lists none{why}")

    def label(self, agent: AgentConfig) -> str:
        name = agent.planted.name if agent.planted else None
        return "planted:SIMULATED" + (f":{name}" if name else "")

    def build(self, factory: AgentFactory, team: str, agent: AgentConfig, side: str,
              persona: Persona | None, opponent: Persona | None, match_seed: int,
              others: tuple[Persona | None, ...] = ()) -> Negotiator:
        from agents.negotiators.planted import PlantedNegotiator, mean_demand

        planted = agent.planted or _DEFAULT_PLANTED
        params = factory.planted_params(team, planted)
        condition = factory.config.condition
        shown = persona if condition != "none" else None
        seen = [o for o in (opponent, *others) if o is not None] \
            if factory.config.shows_opponent else []
        effect = 0.0
        if shown is not None and params.persona_sd:
            # a property of the persona (its image), as a model's reaction to it would be: the
            # same in every run, seed and condition, so paired comparisons of runs cancel it;
            # variants of one identity share it: they differ only in what is planted
            key = shown.identity or f"{shown.persona_id}#{shown.image_sha256}"
            effect = rng_for("planted-persona", agent.planted.name if agent.planted else "",
                             key).gauss(0.0, params.persona_sd)
        mid = (factory.config.design.levels + 1) / 2
        demand = mean_demand(params, condition, mid,
                             float(shown.level) if shown and shown.level is not None else None,
                             [float(o.level) for o in seen if o.level is not None],
                             shown.attributes if shown else None,
                             [o.attributes for o in seen], effect)
        # the noise of one persona is its own: variants of an identity never share draws
        rng = random.Random(derive_seed(match_seed, side, "planted",
                                        persona.persona_id if persona else "-"))
        return PlantedNegotiator(factory.scenario.rules, 2 + len(others), demand, params, rng,
                                 factory.label(team))
