"""A run's plan rebuilt in another process (a Ray worker, a local LLM worker process), and the
call counters those processes send back.

Workers never receive the driver's Plan: its factory may hold LLM clients, which do not pickle.
Each rebuilds the plan once from the resolved config and the base folder and checks that its
match list is the driver's; per-match seeds come from the specs, so where a match is played
changes nothing in its record.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.models.stats import CallStats
from scenarios.errors import InputError

if TYPE_CHECKING:
    from arena.config import RunConfig
    from arena.run_plan import Plan

_PLANS: dict[str, Plan] = {}


def worker_plan(config: dict[str, Any], base: str, digest: str) -> Plan:
    """This process's plan of the run, built on first use and checked against the driver's."""
    from arena.config import RunConfig
    from arena.run_plan import plan_run

    key = json.dumps([config, base], sort_keys=True, default=str)
    plan = _PLANS.get(key)
    if plan is None:
        plan = plan_run(RunConfig.model_validate(config), Path(base), check_models=False)
        if plan.match_list_sha256 != digest:
            raise InputError(f"execution: a worker process on {socket.gethostname()} built a "
                             "different match list than the driver (does every node see the "
                             "same persona pool and scenario files at the same paths?)")
        _PLANS.clear()  # one run at a time per process; do not keep old LLM contexts alive
        _PLANS[key] = plan
    return plan


def call_stats(plan: Plan) -> dict[str, CallStats]:
    """A copy of each model's call counters in this process."""
    llm = plan.factory.llm
    return {} if llm is None else {n: a.stats.copy() for n, a in llm.accesses.items()}


def stats_delta(before: dict[str, CallStats],
                after: dict[str, CallStats]) -> dict[str, CallStats]:
    """What each model's counters gained between two `call_stats`."""
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


