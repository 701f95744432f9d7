"""Building negotiators for a match: the one place that turns agent configs into objects."""
from __future__ import annotations

import random
from typing import Any

from agents.base import Negotiator
from agents.personas.persona import Persona
from arena.config import AgentConfig, RunConfig
from arena.designs import CONFEDERATE
from arena.seeds import derive_seed, rng_for
from scenarios.errors import InputError
from scenarios.loader import Scenario

OFFLINE_KINDS = frozenset({"surrogate", "confederate", "concession", "random"})


class AgentFactory:
    """Makes a fresh negotiator per seat per match; the runner passes in all randomness."""

    def __init__(self, config: RunConfig, scenario: Scenario, personas: dict[str, Persona],
                 llm: Any = None) -> None:
        self.config = config
        self.scenario = scenario
        self.personas = personas
        self.llm = llm  # the LLM context (clients, cache, images), built once by the runner
        self._persona_effects: dict[tuple[str, str], float] = {}
        self._surrogate_params: dict[str, Any] = {}
        self._confederate = AgentConfig(kind="confederate")  # built once, not per match
        self._labels: dict[str, str] = {}
        for team in self.teams():
            self._check(team, config.agent(team))

    def teams(self) -> list[str]:
        return [t for t in ("default", "a", "b") if t in self.config.agents]

    def agent_config(self, team: str) -> AgentConfig:
        if team == CONFEDERATE:
            return self._confederate
        return self.config.agent(team)

    @property
    def offline(self) -> bool:
        return all(self.config.agent(t).kind in OFFLINE_KINDS for t in self.teams())

    def _check(self, team: str, agent: AgentConfig) -> None:
        game = self.scenario.game
        if agent.kind in ("surrogate", "confederate") and game != "ultimatum":
            raise InputError(f"agents.{team}.kind: '{agent.kind}' plays ultimatum scenarios only "
                             f"(scenario '{self.scenario.name}' is {game})")
        if agent.kind == "human":
            raise InputError(f"agents.{team}.kind: 'human' agents play through "
                             "`persona-arena play`, not in tournaments")
        if agent.kind == "llm" and self.llm is None:
            raise InputError(f"agents.{team}.kind: 'llm' agents need a model context")
        if agent.kind == "surrogate":
            from agents.negotiators.surrogate import load_params

            self._surrogate_params[agent.fit] = load_params(agent.fit)

    def label(self, team: str) -> str:
        found = self._labels.get(team)
        if found is None:
            found = self._labels[team] = self._label(team)
        return found

    def _label(self, team: str) -> str:
        if team == CONFEDERATE:
            return "confederate"
        agent = self.config.agent(team)
        if agent.kind == "surrogate":
            return f"surrogate:{agent.fit}"
        if agent.kind == "concession":
            return f"concession:{agent.tactic if agent.exponent is None else agent.exponent}"
        if agent.kind == "llm":
            return f"llm:{agent.model}"
        return agent.kind

    def persona_effect(self, fit: str, persona_id: str) -> float:
        """A persona's lasting random intercept: the same in every match of the run."""
        key = (fit, persona_id)
        if key not in self._persona_effects:
            sd = self._surrogate_params[fit].sd_persona
            rng = rng_for(self.config.seed, "persona-effect", fit, persona_id)
            self._persona_effects[key] = rng.gauss(0.0, sd)
        return self._persona_effects[key]

    def build(self, team: str, side: str, persona_id: str | None, opponent_id: str | None,
              match_seed: int) -> Negotiator:
        agent = self.agent_config(team)
        persona = self.personas.get(persona_id) if persona_id else None
        opponent = self.personas.get(opponent_id) if opponent_id else None
        kind = agent.kind
        if kind == "confederate":
            from agents.negotiators.confederate import Confederate

            claims = tuple(agent.claims) if agent.claims else (50.0, 75.0)
            return Confederate(self.scenario.prompts, claims, self.scenario.spec.pie)  # type: ignore[union-attr]
        if kind == "surrogate":
            from agents.negotiators.surrogate import SurrogateNegotiator

            shows_own = self.config.condition != "none"  # `none`: no persona at all
            own = (float(persona.level) if shows_own and persona and persona.level is not None
                   else None)
            sees_opponent = self.config.condition in ("both-images", "text")
            opp = (float(opponent.level) if sees_opponent and opponent and
                   opponent.level is not None else None)
            effect = (self.persona_effect(agent.fit, persona.persona_id)
                      if persona and shows_own else 0.0)
            rng = random.Random(derive_seed(match_seed, side))
            return SurrogateNegotiator(self._surrogate_params[agent.fit], rng, own, opp, effect,
                                       self.scenario.spec.pie, self.label(team))  # type: ignore[union-attr]
        if kind == "concession":
            from agents.negotiators.concession import ConcessionNegotiator

            return ConcessionNegotiator(self.scenario, agent.tactic, agent.exponent,
                                        agent.reservation_share, self.label(team))
        if kind == "random":
            from agents.negotiators.random_agent import RandomNegotiator

            return RandomNegotiator(self.scenario, random.Random(derive_seed(match_seed, side)))
        if kind == "llm":
            return self.llm.negotiator(team, agent, side, persona, opponent, match_seed)
        raise InputError(f"agents.{team}.kind: '{kind}' cannot play in a tournament")
