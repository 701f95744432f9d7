"""Run configuration (TOML): the keys of DESIGN.md, checked once, with one-line errors."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agents.models.config import ModelConfig
from scenarios.errors import InputError
from scenarios.loader import format_validation_error, read_toml

Condition = Literal["self-only", "both-images", "text", "none"]
DesignKind = Literal["confederate", "factorial", "delta", "round-robin", "swiss"]
# built-in agent kinds; a user's negotiator is `kind = "package.module:Class"` or the name of an
# entry point in the group `persona_arena.agents` (see arena.agent_kinds)
BUILTIN_AGENT_KINDS = ("llm", "surrogate", "confederate", "concession", "human", "random")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # TOML has inf and nan


class PersonasConfig(_Strict):
    pool: str
    rating: str = "design"  # "design" (the generator's level) or a rater name in the ratings
    ratings_file: str | None = None  # optional CSV persona_id,rater,score to import


class DesignConfig(_Strict):
    kind: DesignKind = "factorial"
    levels: int = Field(default=7, ge=1, le=100)
    per_level: int | None = Field(default=None, ge=1)  # None: all (confederate), 5 (others)
    repetitions: int = Field(default=1, ge=1, le=10000)
    include_self: bool = True  # factorial: may an image meet itself (the paper: yes)
    counterbalance: Literal["auto", "always", "never"] = "auto"
    matches: int | None = Field(default=None, ge=1)  # delta: how many pairs per repetition
    opponents: int = Field(default=13, ge=1)  # delta: opponents per persona by default
    target: list[float] | None = None  # delta: weights over level differences -(L-1)..(L-1)
    rounds: int | None = Field(default=None, ge=1)  # swiss: rounds


class AgentConfig(_Strict):
    kind: str = "surrogate"
    model: str | None = None  # llm: a [models.NAME] key
    fit: str = "gpt-4o"  # surrogate: which fitted parameters
    tactic: Literal["boulware", "linear", "conceder"] = "linear"  # concession
    exponent: float | None = Field(default=None, gt=0)
    reservation_share: float = Field(default=0.0, ge=0, le=1)
    claims: list[float] | None = None  # confederate: its claims in its proposing rounds
    protocol: Literal["free-text", "json"] = "free-text"  # llm
    repairs: int = Field(default=2, ge=0, le=10)  # llm, json protocol: repair requests
    extractor: Literal["offline", "llm"] = "offline"  # llm, free-text: who reads the move
    extractor_model: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)  # a user's kind: keyword arguments

    @field_validator("kind")
    @classmethod
    def _kind_syntax(cls, kind: str) -> str:
        from arena.agent_kinds import valid_kind_syntax

        if not valid_kind_syntax(kind):
            raise ValueError(f"{kind!r} is not an agent kind (expected one of "
                             f"{', '.join(BUILTIN_AGENT_KINDS)}, a plugin's name, or "
                             "'package.module:Class')")
        return kind


class ExecutionConfig(_Strict):
    concurrency: int = Field(default=32, ge=1, le=100000)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    progress: Literal["auto", "bar", "plain", "none"] = "auto"
    # local executor: processes that play while this one stores. None (auto): offline agents,
    # one per CPU but one for runs of 4,000+ matches; LLM agents, one per 64 matches in flight
    # (`concurrency`), up to the CPUs, each with its share of every model's limits.
    # 0: play in this process.
    workers: int | None = Field(default=None, ge=0, le=256)


class CacheConfig(_Strict):
    dir: str | None = None  # default: $PERSONA_ARENA_CACHE or ~/.cache/persona-arena
    enabled: bool = True


class RunConfig(_Strict):
    seed: int = 1
    scenario: str = "ultimatum-4"
    condition: Condition = "both-images"
    personas: PersonasConfig
    design: DesignConfig = DesignConfig()
    agents: dict[str, AgentConfig] = Field(default_factory=lambda: {"default": AgentConfig()})
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    execution: ExecutionConfig = ExecutionConfig()
    cache: CacheConfig = CacheConfig()
    prompts: dict[str, str] = Field(default_factory=dict)  # overrides of the scenario's prompts

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
            if agent.extractor == "llm" and (agent.extractor_model or agent.model) not in self.models:
                raise ValueError(f"agents.{name}.extractor_model: no such [models.X] table")
        return self

    def agent(self, team: str) -> AgentConfig:
        """The agent of a team ("a", "b" or "default"), falling back to default, then a."""
        return self.agents.get(team) or self.agents.get("default") or self.agents["a"]

    @property
    def teams_differ(self) -> bool:
        return "a" in self.agents and "b" in self.agents and self.agents["a"] != self.agents["b"]


def parse_config(data: dict[str, Any], source: str) -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as error:
        raise InputError(format_validation_error(source, error)) from None


def load_config(path: Path) -> tuple[RunConfig, Path]:
    """The config and the folder its relative paths are read against."""
    data = read_toml(path, "config file")
    return parse_config(data, str(path)), path.resolve().parent


def resolved_json(config: RunConfig, base: Path) -> str:
    """The config as stored in RUN_DIR: paths made absolute; keys are never in it (only names)."""
    data = config.model_dump(mode="json")
    data["personas"]["pool"] = str((base / config.personas.pool).resolve())
    return json.dumps(data, indent=2, sort_keys=True)
