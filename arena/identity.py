"""A run's request identity: everything that changes what a model is asked, or how its answers
become results, as canonical JSON stored in the run's meta at its first start.

`--resume` compares it with the resumed config's and refuses, naming the first difference,
when they differ: a resumed run must never mix matches of two settings (another model or
server, another temperature or prompt) under one config. What only changes how fast or how
safely a run goes (concurrency, workers, timeouts, retries, limits, prices, the cache folder)
is left out, so a run may be resumed with more workers or a larger budget.
"""
from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from scenarios.errors import InputError

if TYPE_CHECKING:
    from arena.run_plan import Plan

META_KEY = "request_identity"
# [models.X] keys that change what is sent or how an answer is read
MODEL_KEYS = ("model", "temperature", "max_tokens", "vision", "family", "detail",
              "max_image_side", "json_output", "send_seed")


def request_identity(plan: Plan) -> dict[str, Any]:
    """The identity of a planned run (see the module docstring)."""
    from agents.models.config import endpoint_identity

    config = plan.config
    used = sorted({name for agent in config.agents.values() if agent.kind == "llm"
                   for name in (agent.model, agent.extractor_model) if name})
    models = {}
    for name in used:
        model = config.models[name]
        models[name] = {"endpoint": endpoint_identity(model.base_url),
                        **{key: getattr(model, key) for key in MODEL_KEYS}}
    personas = hashlib.sha256(json.dumps(sorted(
        (p.persona_id, p.image_sha256, p.level, p.description,
         *((p.identity, p.attributes) if p.identity or p.attributes else ()))
        for p in plan.personas.values())).encode()).hexdigest()
    # fields added later count only when set: runs stored before them resume unchanged
    design = _set_only(config.design.model_dump(mode="json"), "seats", "factors")
    scenario = _set_only(plan.scenario.spec.model_dump(mode="json"), "read_threshold")
    identity = {"seed": config.seed, "condition": config.condition,
                "scenario": scenario,
                "agents": {team: _set_only(agent.model_dump(mode="json"), "planted")
                           for team, agent in sorted(config.agents.items())},
                "models": models, "design": design,
                "personas": {"rating": config.personas.rating, "pool_sha256": personas}}
    if config.style is not None:  # likewise: only a style set explicitly is part of it
        identity["style"] = config.style
    return identity


def _set_only(dump: dict[str, Any], *later: str) -> dict[str, Any]:
    """`dump` without the `later` keys left unset (None or empty), which older runs lack."""
    return {key: value for key, value in dump.items()
            if key not in later or value not in (None, {}, [])}


def canonical(identity: dict[str, Any]) -> str:
    return json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def first_difference(old: Any, new: Any, path: str = "") -> str | None:
    """`path was X, now Y` for the first (in sorted key order) value that differs, or None."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            where = f"{path}.{key}" if path else key
            if key not in old:
                return f"{where} was not set, now {_shown(new[key])}"
            if key not in new:
                return f"{where} was {_shown(old[key])}, now not set"
            found = first_difference(old[key], new[key], where)
            if found is not None:
                return found
        return None
    if old == new and type(old) is type(new):
        return None
    return f"{path} was {_shown(old)}, now {_shown(new)}"


def _shown(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= limit else text[:limit - 1] + "…\""


def check_resume(stored: str | None, plan: Plan, run_dir: object) -> None:
    """Refuse (one line naming the first difference) to resume a run of another identity.
    Stores written before identities were kept (None) are left to the match-list check."""
    if stored is None:
        return
    try:
        old = json.loads(stored)
    except ValueError:
        raise InputError(f"{run_dir}: the run store's {META_KEY} is damaged") from None
    difference = first_difference(old, json.loads(canonical(request_identity(plan))))
    if difference is not None:
        raise InputError(f"--resume: {difference} ({run_dir} holds a run of a different config; "
                         "finish it with its own config or choose another --out)")
