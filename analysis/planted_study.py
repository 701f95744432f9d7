"""A planted study's shape from a run config: `power --study KIND --config CONFIG.toml`.

The config is the one the pilot (and later the paid study) runs: its planted agent gives the
formula, its design the personas (levels x per_level) and openings, its scenario the calls a
match (arena.estimate) and the proposals a persona makes in one.
"""
from __future__ import annotations

import math
from pathlib import Path

from analysis.planted_power import PlantedStudy
from scenarios.errors import InputError


def _pair(text: str | None, option: str, example: str) -> tuple[str, str]:
    a, sep, b = (text or "").partition(":")
    if not sep or not a.strip() or not b.strip():
        raise InputError(f"{option}: expected two values as A:B (e.g. {example}), got {text!r}")
    return a.strip(), b.strip()


def study_from_config(path: Path, kind: str, team: str | None = None,
                      between: str | None = None, margin: float | None = None,
                      attribute: str | None = None, identities: int = 20) -> PlantedStudy:
    from arena.config import load_config
    from arena.estimate import calls_per_side
    from arena.planted_config import PlantedConfig
    from scenarios.loader import load_scenario

    if not path.is_file():
        raise InputError(f"--config: no such file {path}")
    config, base = load_config(path)
    teams = [t for t in ("default", "a", "b") if t in config.agents]
    team = team or next((t for t in teams if config.agents[t].kind == "planted"), teams[0])
    if team not in config.agents:
        raise InputError(f"--agent: no [agents.{team}] in {path} (agents: {', '.join(teams)})")
    agent = config.agents[team]
    if agent.kind != "planted":
        raise InputError(f"--config: {path}: agents.{team} is kind '{agent.kind}', not "
                         "'planted' (power sizes a study by its planted agent)")
    params = (agent.planted or PlantedConfig()).params()
    scenario = load_scenario(config.scenario, base)
    per_side, _ = calls_per_side(scenario)
    rounds = getattr(scenario.spec, "rounds", None)
    proposals = max(1, math.ceil(rounds / 2)) if scenario.rules.family == "ultimatum" and \
        rounds else 1
    pie = float(getattr(scenario.spec, "pie", 100.0) or 100.0)
    design = config.design
    shape = {"levels": design.levels, "per_level": design.per_level or 5,
             "proposals": proposals, "identities": identities}
    if kind == "equivalence":
        a, b = _pair(between, "--between", "text:both-images")
        from agents.conditions import resolve_style, shows_opponent
        from arena.config import RunConfig

        conditions = RunConfig.model_fields["condition"].annotation.__args__  # type: ignore
        for name in (a, b):
            if name not in conditions:
                raise InputError(f"--between: unknown condition {name!r} (expected "
                                 f"{', '.join(conditions)})")
        shown = tuple((c != "none", shows_opponent(c, resolve_style(
            c, config.style, design.kind == "confederate"))) for c in (a, b))
        table = params.condition
        return PlantedStudy(kind, params, table.get(b, 0.0) - table.get(a, 0.0), margin=margin,
                            calls_per_match=2 * per_side, labels=(a, b),
                            shown=shown, **shape)  # type: ignore[arg-type]
    if kind == "anchoring":
        openings = design.factors.get("first_offer", [])
        if margin is not None or between or attribute:
            raise InputError("--margin, --between, --attribute: not for an anchoring study")
        return PlantedStudy(kind, params, params.anchor,
                            openings=tuple(100.0 * o / pie for o in openings),
                            calls_per_match=per_side, **shape)
    if kind == "attribute":
        name, sep, values = (attribute or "").partition("=")
        if not sep or not name.strip():
            raise InputError(f"--attribute: expected NAME=A:B (e.g. skin=light:dark), got "
                             f"{attribute!r}")
        a, b = _pair(values, "--attribute", "skin=light:dark")
        table = params.attribute.get(name.strip(), {})
        return PlantedStudy(kind, params, table.get(b, 0.0) - table.get(a, 0.0),
                            calls_per_match=2 * per_side, labels=(a, b), **shape)
    raise InputError(f"--study: {kind!r} (expected equivalence, anchoring or attribute)")
