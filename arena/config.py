"""Run configuration (TOML): the keys of DESIGN.md, checked once, with one-line errors."""
from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError,
                      field_validator, model_validator)

from agents.conditions import STYLED, resolve_style, shows_opponent
from agents.models.config import ModelConfig
from arena.planted_config import PlantedConfig
from scenarios.errors import InputError
from scenarios.loader import format_validation_error, read_toml
from scenarios.prompt_keys import check_prompts

Condition = Literal["self-only", "both-images", "text", "image+text", "text-as-image", "none"]
Style = Literal["self-only", "both-images"]
DesignKind = Literal["confederate", "factorial", "delta", "round-robin", "swiss", "groups",
                     "counterfactual"]
# built-in agent kinds; a user's negotiator is `kind = "package.module:Class"` or the name of an
# entry point in the group `persona_arena.agents` (see arena.agent_kinds)
BUILTIN_AGENT_KINDS = ("llm", "surrogate", "confederate", "concession", "human", "random",
                       "planted")


MAX_PLANNED = 5_000_000  # matches a run may plan (the paper's Study 2: 2,450 per model)
# design factors a design may cross its matches with, and the kinds that take each
DESIGN_FACTORS = {"first_offer": ("confederate",)}  # the script's opening claim
MAX_FACTOR_LEVELS = 20


def round_robin_matches(players: int, seats: int) -> int:
    """Matches of a round-robin over groups: every group of `seats` players, in each of its
    `seats` rotations (two seats: every pair in both orders)."""
    import math

    return math.comb(players, seats) * seats


class _Strict(BaseModel):
    # TOML has inf and nan; strict: a bool is no count (`rounds = true`), a float no int
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    def _inapplicable(self, applies: dict[str, tuple[str, ...]], kind: str,
                      table: str) -> None:
        """Refuse a key set (to other than its default) that the chosen kind never reads, as
        `matches = 5` in a factorial design: silently ignored, it would bend nothing but trust."""
        for name, kinds in applies.items():
            if kind not in kinds and getattr(self, name) != type(self).model_fields[name].default:
                raise ValueError(f"field '{table}.{name}': does not apply to kind '{kind}' "
                                 f"(only to {', '.join(kinds)})")


class PersonasConfig(_Strict):
    pool: str
    rating: str = "design"  # "design" (the generator's level) or a rater name in the ratings
    ratings_file: str | None = None  # optional CSV persona_id,rater,score to import
    # ratings_file: the range its scores lie in (others are refused)
    scale: list[float] = Field(default=[1.0, 7.0], min_length=2, max_length=2)

    @model_validator(mode="after")
    def _check_scale(self) -> "PersonasConfig":
        if any(abs(x) > 1e6 for x in self.scale):  # finite already; 1e300 bins nothing
            raise ValueError(f"field 'personas.scale': expected values within -1e6..1e6 "
                             f"(got {self.scale})")
        if not self.scale[0] < self.scale[1]:
            raise ValueError(f"field 'personas.scale': expected [low, high] with low < high "
                             f"(got {self.scale})")
        if self.scale != [1.0, 7.0] and self.ratings_file is None:
            raise ValueError("field 'personas.scale': applies to a ratings_file only")
        return self


class DesignConfig(_Strict):
    kind: DesignKind = "factorial"
    levels: int = Field(default=7, ge=1, le=100)
    per_level: int | None = Field(default=None, ge=1, le=10000)  # None: all (confederate), 5
    repetitions: int = Field(default=1, ge=1, le=10000)
    include_self: bool = True  # factorial: may an image meet itself (the paper: yes)
    counterbalance: Literal["auto", "always", "never"] = "auto"
    matches: int | None = Field(default=None, ge=1, le=MAX_PLANNED)  # delta: pairs per repetition
    opponents: int = Field(default=13, ge=1, le=10000)  # delta: opponents per persona by default
    # delta: weights over level differences -(L-1)..(L-1)
    target: list[float] | None = Field(default=None, max_length=199)
    rounds: int | None = Field(default=None, ge=1, le=1000)  # swiss: rounds
    # groups, round-robin, counterfactual: players per match (None: the scenario's seats;
    # round-robin: 2)
    seats: int | None = Field(default=None, ge=2, le=8)
    # factors every planned match is crossed with: {first_offer = [30, 50, 70]} makes the
    # confederate open each match with each of these claims (checked against the pie later)
    factors: dict[str, list[float]] = Field(default_factory=dict)

    @field_validator("factors", mode="before")
    @classmethod
    def _levels_as_floats(cls, factors: Any) -> Any:
        if isinstance(factors, dict):  # TOML integers are levels too (strict mode: no coercion)
            return {k: [float(x) if isinstance(x, int) and not isinstance(x, bool) else x
                        for x in v] if isinstance(v, list) else v for k, v in factors.items()}
        return factors

    @model_validator(mode="after")
    def _check_factors(self) -> "DesignConfig":
        for name, levels in self.factors.items():
            if name not in DESIGN_FACTORS:
                raise ValueError(f"field 'design.factors.{name}': unknown factor (known: "
                                 f"{', '.join(DESIGN_FACTORS)})")
            if self.kind not in DESIGN_FACTORS[name]:
                raise ValueError(f"field 'design.factors.{name}': applies to design kind "
                                 f"{', '.join(DESIGN_FACTORS[name])} only (the scripted "
                                 f"opponent opens), not {self.kind}")
            if not 2 <= len(levels) <= MAX_FACTOR_LEVELS:
                raise ValueError(f"field 'design.factors.{name}': expected 2..{MAX_FACTOR_LEVELS}"
                                 f" levels (got {len(levels)})")
            if len(set(levels)) != len(levels):
                raise ValueError(f"field 'design.factors.{name}': levels repeat ({levels})")
        return self

    @model_validator(mode="after")
    def _check_kind(self) -> "DesignConfig":
        self._inapplicable({"include_self": ("factorial",),
                            "counterbalance": ("factorial", "delta", "groups"),
                            "matches": ("delta", "groups"),
                            "opponents": ("delta", "counterfactual"),
                            "target": ("delta",), "rounds": ("swiss",),
                            "seats": ("groups", "round-robin", "counterfactual")},
                           self.kind, "design")
        if self.kind == "counterfactual" and self.per_level is not None:
            raise ValueError("field 'design.per_level': does not apply to kind 'counterfactual' "
                             "(every identity set of the pool plays; see design.opponents)")
        if self.per_level is not None:  # the most matches the design can plan, known up front
            n = self.levels * self.per_level
            cross = 1
            for levels in self.factors.values():
                cross *= len(levels)
            most = {"factorial": n * n * 2, "round-robin": n * (n - 1) * 2,
                    "confederate": 2 * n * cross,
                    "delta": min(n * n, self.matches or n * self.opponents) * 2,
                    "swiss": (n // 2) * (self.rounds or 1),
                    "groups": (self.matches or n) * (self.seats or 8),
                    }[self.kind] if self.kind != "round-robin" or (self.seats or 2) == 2 else (
                        round_robin_matches(n, self.seats or 2))
            most *= self.repetitions
            if most > MAX_PLANNED:
                raise ValueError(f"field 'design': {self.kind} with levels {self.levels}, "
                                 f"per_level {self.per_level} and repetitions "
                                 f"{self.repetitions} plans up to {most:,} matches (at most "
                                 f"{MAX_PLANNED:,}); split it into several runs")
        return self


class AgentConfig(_Strict):
    kind: str = "surrogate"
    model: str | None = None  # llm: a [models.NAME] key
    fit: str = "gpt-4o"  # surrogate: which fitted parameters
    tactic: Literal["boulware", "linear", "conceder"] = "linear"  # concession
    exponent: float | None = Field(default=None, gt=0, le=100)
    reservation_share: float = Field(default=0.0, ge=0, le=1)
    # confederate: its claims in its proposing rounds (checked against the pie: check_scenario)
    claims: list[float] | None = Field(default=None, min_length=1, max_length=1000)
    protocol: Literal["free-text", "json"] = "free-text"  # llm
    repairs: int = Field(default=2, ge=0, le=10)  # llm, json protocol: repair requests
    # llm, free-text: who reads the move (hybrid: offline first, the LLM only for unsure ones)
    extractor: Literal["offline", "llm", "hybrid"] = "offline"
    extractor_model: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)  # a user's kind: keyword arguments
    planted: PlantedConfig | None = None  # planted (SIMULATED): its formula; None: the defaults

    @field_validator("kind")
    @classmethod
    def _kind_syntax(cls, kind: str) -> str:
        from arena.kind_syntax import valid_kind_syntax

        if not valid_kind_syntax(kind):
            raise ValueError(f"{kind!r} is not an agent kind (expected one of "
                             f"{', '.join(BUILTIN_AGENT_KINDS)}, a plugin's name, or "
                             "'package.module:Class')")
        return kind

    @model_validator(mode="after")
    def _check_kind(self) -> "AgentConfig":
        self._inapplicable({"model": ("llm",), "protocol": ("llm",), "repairs": ("llm",),
                            "extractor": ("llm",), "extractor_model": ("llm",),
                            "fit": ("surrogate",), "tactic": ("concession",),
                            "exponent": ("concession",), "reservation_share": ("concession",),
                            "claims": ("confederate",), "planted": ("planted",)}, self.kind,
                           "agents.<team>")
        return self


class ExecutionConfig(_Strict):
    concurrency: int = Field(default=32, ge=1, le=10000)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    progress: Literal["auto", "bar", "plain", "none"] = "auto"
    # local executor: processes that play while this one stores. None (auto): offline agents,
    # one per CPU but one for runs of 4,000+ matches; LLM agents, one per 64 matches in flight
    # (`concurrency`), up to the CPUs, each with its share of every model's limits.
    # 0: play in this process.
    workers: int | None = Field(default=None, ge=0, le=256)
    # before its first match, each model that is sent images rates every persona's own image
    manipulation_check: bool = False
    # a run whose stored turns are invalid more often than this ends with a non-zero exit
    max_invalid_share: float = Field(default=0.5, ge=0, le=1)
    # the run's budget (all parts of a resumed run together; see arena.budget): no match starts
    # that could carry the run past one; max_cost needs every used model's prices
    max_calls: int | None = Field(default=None, ge=1, le=10**10)
    max_tokens_total: int | None = Field(default=None, ge=1, le=10**13)
    max_cost: float | None = Field(default=None, gt=0, le=10**7)

    @model_validator(mode="after")
    def _check_workers(self) -> "ExecutionConfig":
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        most = 2 * (cpus or 1)
        budget = [k for k in ("max_calls", "max_tokens_total", "max_cost")
                  if getattr(self, k) is not None]
        if budget and self.executor == "ray":
            raise ValueError(f"field 'execution.{budget[0]}': a budget is kept by the local "
                             "executor only (use executor = \"local\")")
        if self.executor == "local" and self.workers is not None and self.workers > most:
            raise ValueError(f"field 'execution.workers': {self.workers} worker processes on "
                             f"{cpus} CPUs would only slow the run (at most {most} here; leave "
                             "it out to choose by the CPUs)")
        return self


class CacheConfig(_Strict):
    dir: str | None = None  # default: $PERSONA_ARENA_CACHE or ~/.cache/persona-arena
    enabled: bool = True


class ServeConfig(_Strict):
    """`persona-arena serve`: what each participant reads, rates and plays (see arena/serve)."""

    title: str = Field(default="A negotiation study", min_length=1, max_length=200)
    instructions: str | None = None  # the first page (blank lines part paragraphs); None: default
    consent: str | None = None  # what the participant agrees to before starting; None: default
    question: str | None = None  # the rating question; None: the paper's
    rate: int = Field(default=6, ge=0, le=1000)  # avatars each participant rates
    matches: int = Field(default=1, ge=0, le=100)  # matches each participant plays
    side: Literal["a", "b", "c", "d", "e", "f", "g", "random"] = "a"  # the participant's seat (a
    # moves first; c.. in games of more than two seats)
    max_participants: int = Field(default=10_000, ge=1, le=1_000_000)


class RunConfig(_Strict):
    seed: int = 1
    scenario: str = "ultimatum-4"
    condition: Condition = "both-images"
    # text, image+text, text-as-image: show the opponent's persona too (both-images) or not
    # (self-only); None: self-only against a confederate's script, both-images otherwise
    style: Style | None = None
    personas: PersonasConfig
    design: DesignConfig = DesignConfig()
    agents: dict[str, AgentConfig] = Field(default_factory=lambda: {"default": AgentConfig()})
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    execution: ExecutionConfig = ExecutionConfig()
    cache: CacheConfig = CacheConfig()
    prompts: dict[str, str] = Field(default_factory=dict)  # overrides of the scenario's prompts
    serve: ServeConfig = ServeConfig()
    _source: str = PrivateAttr(default="config")  # the file it was read from, for messages

    @field_validator("prompts")
    @classmethod
    def _check_prompts(cls, prompts: dict[str, str]) -> dict[str, str]:
        check_prompts(prompts, None)  # placeholders are checked against the game later
        return prompts

    @model_validator(mode="after")
    def _check_style(self) -> "RunConfig":
        if self.style is not None and self.condition not in STYLED:
            raise ValueError(f"field 'style': applies to conditions {', '.join(sorted(STYLED))} "
                             f"only (condition '{self.condition}' is its own style)")
        return self

    @property
    def resolved_style(self) -> str | None:
        """The style the condition is played in (agents.conditions); None in `none`."""
        return resolve_style(self.condition, self.style, self.design.kind == "confederate")

    @property
    def prompt_style(self) -> str | None:
        """The style prompts fall back to: `text` keeps its own texts unless a style is set."""
        return self.style if self.condition == "text" else self.resolved_style

    @property
    def shows_opponent(self) -> bool:
        return shows_opponent(self.condition, self.resolved_style)

    @model_validator(mode="after")
    def _check_agents(self) -> "RunConfig":
        unknown = set(self.agents) - {"default", "a", "b"}
        if unknown:
            raise ValueError(f"agents may be named default, a or b (got '{sorted(unknown)[0]}')")
        if "default" not in self.agents and not {"a", "b"} <= set(self.agents):
            raise ValueError("give [agents.default], or both [agents.a] and [agents.b]")
        for name, agent in self.agents.items():
            if agent.kind == "llm":
                if agent.model is None:
                    raise ValueError(f"agents.{name}: an llm agent needs model = \"NAME\" "
                                     "naming a [models.NAME] table")
                if agent.model not in self.models:
                    known = ", ".join(sorted(self.models)) or "none defined"
                    raise ValueError(f"agents.{name}.model: no [models.{agent.model}] table "
                                     f"(models: {known})")
            if agent.extractor in ("llm", "hybrid") and (
                    agent.extractor_model or agent.model) not in self.models:
                raise ValueError(f"agents.{name}.extractor_model: no such [models.X] table")
        design = self.design
        if self.teams_differ and (design.kind == "groups" or (design.seats or 2) > 2):
            raise ValueError(f"agents: design {design.kind} seats every player with "
                             "[agents.default]; teams a and b play two-seat designs")
        return self

    @model_validator(mode="after")
    def _check_budget(self) -> "RunConfig":
        if self.execution.max_cost is None:
            return self
        for name in sorted({n for a in self.agents.values() if a.kind == "llm"
                            for n in (a.model, a.extractor_model) if n in self.models}):
            model = self.models[name]
            if model.price_prompt_per_1m is None or model.price_completion_per_1m is None:
                raise ValueError(f"field 'execution.max_cost': needs prices of every model "
                                 f"used; give price_prompt_per_1m and price_completion_per_1m "
                                 f"in [models.{name}]")
        return self

    def agent(self, team: str) -> AgentConfig:
        """The agent of a team ("a", "b" or "default"), falling back to default, then a."""
        return self.agents.get(team) or self.agents.get("default") or self.agents["a"]

    @property
    def teams_differ(self) -> bool:
        return "a" in self.agents and "b" in self.agents and self.agents["a"] != self.agents["b"]


def parse_config(data: dict[str, Any], source: str) -> RunConfig:
    try:
        config = RunConfig.model_validate(data)
    except ValidationError as error:
        raise InputError(format_validation_error(source, _agent_loc(error))) from None
    config._source = source
    return config


def _agent_loc(error: ValidationError) -> Any:
    """Name the agent team in messages of an agent's own checks (`agents.<team>.claims`)."""
    class Errors:
        def errors(self) -> list[dict[str, Any]]:
            found = []
            for item in error.errors():
                loc = tuple(item["loc"])
                if len(loc) >= 2 and loc[0] == "agents" and "agents.<team>" in item["msg"]:
                    item = {**item, "msg": item["msg"].replace("agents.<team>",
                                                               f"agents.{loc[1]}")}
                found.append(item)
            return found
    return Errors()


def design_seats(config: RunConfig, scenario: Any) -> int:
    """Players a match of this run: `design.seats`, else the scenario's seats for groups and
    counterfactual sets, else two (the pairing designs)."""
    design = config.design
    if design.seats is not None:
        return design.seats
    return scenario.seats if design.kind in ("groups", "counterfactual") else 2


def check_scenario(config: RunConfig, scenario: Any) -> None:
    """What only the scenario can tell: the game must take the design's seat count; a
    confederate's claims must lie in 0..pie (every turn of a claim outside would be invalid)."""
    seats, rules = design_seats(config, scenario), scenario.rules
    if not rules.min_seats <= seats <= rules.max_seats:
        field = "design.seats" if config.design.seats is not None else "design.kind"
        hint = ("" if config.design.seats is not None else
                f"; set design.seats = {rules.min_seats} (kind = \"groups\" or "
                "\"round-robin\") to seat more" if seats < rules.min_seats else "")
        raise InputError(f"{config._source}: field '{field}': {scenario.name} ({scenario.game}) "
                         f"takes {rules.min_seats}..{rules.max_seats} seats, the "
                         f"{config.design.kind} design seats {seats}{hint}")
    pie = getattr(scenario.spec, "pie", None)
    for i, level in enumerate(config.design.factors.get("first_offer", [])):
        if pie is not None and not 0 <= level <= pie:
            raise InputError(f"{config._source}: field 'design.factors.first_offer.{i}': claim "
                             f"{level:g} is outside 0..{pie:g} (the pie of scenario "
                             f"{scenario.name})")
    for team, agent in sorted(config.agents.items()):
        if agent.claims and pie is not None:
            for i, claim in enumerate(agent.claims):
                if not 0 <= claim <= pie:
                    raise InputError(f"{config._source}: field 'agents.{team}.claims.{i}': "
                                     f"claim {claim:g} is outside 0..{pie:g} (the pie of "
                                     f"scenario {scenario.name})")


# a message that starts with a config field (`design.target: ...`) but not with the file
_FIELD = re.compile(r"(?:design|agents|prompts|personas|models|execution|cache|serve|condition"
                    r"|scenario)(?:\.[\w<>-]+)*(?=: )")


@contextlib.contextmanager
def in_file(source: str) -> Iterator[None]:
    """Name the config file in the one-line errors of the checks run inside: `design.target:
    ...` becomes `run.toml: field 'design.target': ...`, as the config's own checks say it."""
    try:
        yield
    except InputError as error:
        text = str(error)
        found = None if text.startswith(source) else _FIELD.match(text)
        if found is None:
            raise
        raise InputError(f"{source}: field '{found.group(0)}': "
                         f"{text[found.end() + 2:]}") from None


def load_config(path: Path) -> tuple[RunConfig, Path]:
    """The config and the folder its relative paths are read against."""
    data = read_toml(path, "config file")
    return parse_config(data, str(path)), path.resolve().parent


def resolved_json(config: RunConfig, base: Path) -> str:
    """The config as stored in RUN_DIR: paths made absolute; keys are never in it (only names)."""
    data = config.model_dump(mode="json")
    data["personas"]["pool"] = str((base / config.personas.pool).resolve())
    return json.dumps(data, indent=2, sort_keys=True)
