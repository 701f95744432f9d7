"""What a worker (a local worker process, a Ray task) receives, and what it sends back.

A worker receives what it plays with, never the driver's Plan (its factory may hold LLM clients,
which do not pickle) and never a config to plan again: the resolved config (its reply cache
folder fixed as the driver sees it, each model's limits shared out), the scenario and the
personas. It builds its own agent factory, with model access of its own for LLM agents, once per
process; per-match seeds come from the specs, so where a match is played changes nothing in its
record. It sends back rows and what its calls added to each model's counters.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.models.stats import CallStats

if TYPE_CHECKING:
    from arena.config import RunConfig
    from arena.factory import AgentFactory
    from arena.run_plan import Plan

_FACTORIES: dict[str, AgentFactory] = {}


def worker_setup(plan: Plan, slots: int, concurrency: int) -> dict[str, Any]:
    """What each of `slots` workers of a run receives once."""
    return {"config": worker_config(plan.config, plan.base, slots), "base": str(plan.base),
            "scenario": plan.scenario, "personas": plan.personas, "concurrency": concurrency}


def worker_factory(setup: dict[str, Any]) -> AgentFactory:
    """This process's agent factory for a run (with its own model clients, reply cache and
    encoded images for LLM agents), built on first use."""
    from arena.config import RunConfig
    from arena.factory import AgentFactory

    key = json.dumps([setup["config"], setup["base"]], sort_keys=True, default=str)
    factory = _FACTORIES.get(key)
    if factory is None:
        config, base = RunConfig.model_validate(setup["config"]), Path(setup["base"])
        scenario, personas = setup["scenario"], setup["personas"]
        llm = None
        if any(a.kind == "llm" for a in config.agents.values()):
            from arena.llm_context import build_llm_context

            llm = build_llm_context(config, base, scenario, personas, check=False, probe=False)
        factory = AgentFactory(config, scenario, personas, llm, config_dir=base)
        _FACTORIES.clear()  # one run at a time per process; do not keep old LLM contexts alive
        _FACTORIES[key] = factory
    return factory


def factory_stats(factory: AgentFactory) -> dict[str, CallStats]:
    """A copy of each model's call counters in this process."""
    llm = factory.llm
    return {} if llm is None else {n: a.stats.copy() for n, a in llm.accesses.items()}


def stats_delta(before: dict[str, CallStats],
                after: dict[str, CallStats]) -> dict[str, CallStats]:
    """What each model's counters gained between two `factory_stats`."""
    return {name: now - before.get(name, CallStats()) for name, now in after.items()}


def add_stats(plan: Plan, delta: dict[str, CallStats]) -> None:
    """Fold a worker's counters into the driver's, so the run summary counts every call."""
    llm = plan.factory.llm
    for name, gained in delta.items():
        if llm is not None and name in llm.accesses:
            access = llm.accesses[name]
            access.stats = access.stats + gained


def worker_config(config: RunConfig, base: Path, slots: int) -> dict[str, Any]:
    """The config each worker plans with. The reply cache folder is fixed here, as the driver
    sees it ($PERSONA_ARENA_CACHE may differ on a cluster's nodes). A model's `concurrency` and
    `rpm` are limits of the whole run and every worker process enforces its own: each gets its
    share."""
    from agents.models.cache import resolve_cache_dir

    data = config.model_dump(mode="json")
    data["cache"]["dir"] = str(resolve_cache_dir(config.cache.dir, base).resolve())
    for model in data.get("models", {}).values():
        model["concurrency"] = max(1, model["concurrency"] // slots)
        if model.get("rpm"):
            model["rpm"] = max(1, model["rpm"] // slots)
    return data


def key_variables(config: RunConfig) -> list[str]:
    """Names (never values) of the API-key variables set here that the run's LLM agents use;
    workers need them as well."""
    used = {name for a in config.agents.values() if a.kind == "llm"
            for name in (a.model, a.extractor_model) if name in config.models}
    return sorted({config.models[n].api_key_env for n in used
                   if config.models[n].api_key_env
                   and os.environ.get(config.models[n].api_key_env, "").strip()})


