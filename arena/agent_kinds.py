"""Agent kinds: what `[agents.X] kind` may name, the built-ins and users' own alike.

A kind is resolved once per run (when the plan is made) into an `AgentKind` that checks its
config, labels its players in the store and builds a fresh negotiator per seat per match. The
built-ins are registered below; a user's negotiator class is named in a config as
`kind = "package.module:Class"`, or registered by an installed distribution under the
entry-point group `persona_arena.agents` (the entry point's name is the kind):

    [project.entry-points."persona_arena.agents"]
    tough = "my_agents:ToughNegotiator"

The class is called as `Class(seat, **options)` with a `Seat` (scenario, side, what the condition
lets it see of its persona and its opponent, and its own seeded `rng`) and the config's
`[agents.X.options]` table; its instances need `name` and `async act(request) -> Reply`.
"""
from __future__ import annotations

import importlib
import inspect
import random
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.personas.persona import Persona
from arena.kind_syntax import REFERENCE as _REFERENCE
from scenarios.errors import InputError
from scenarios.loader import Scenario

if TYPE_CHECKING:
    from agents.base import Negotiator
    from arena.config import AgentConfig
    from arena.factory import AgentFactory

ENTRY_POINT_GROUP = "persona_arena.agents"
# conditions in which a player is shown its opponent by default (its image, description or both;
# a run's own answer is RunConfig.shows_opponent, which knows the style)
SHOWS_OPPONENT = frozenset({"both-images", "text", "image+text", "text-as-image"})


@dataclass(frozen=True)
class Seat:
    """What a user's negotiator is built with: one seat of one match. The runner owns all
    randomness, so `rng` (seeded by the match and the side) is the only one to use: then a
    rerun, a resumed run and every executor give the same record."""

    scenario: Scenario
    condition: str
    side: str  # "a" (moves first) or "b"
    persona: Persona | None  # None in the `none` condition
    opponent: Persona | None  # only where the condition shows the opponent (its style)
    rng: random.Random
    match_seed: int
    team: str  # "default", "a" or "b": the [agents.X] table
    options: Mapping[str, Any] = field(default_factory=dict)
    # games of more than two seats: the opponents after `opponent`, in turn order from this seat
    # (only where the condition shows opponents)
    others: tuple[Persona | None, ...] = ()


class AgentKind:
    """A registered kind. `offline` kinds never wait on I/O: their matches are played one after
    another (in worker processes for big runs) instead of concurrently."""

    offline = True
    simulated = False  # True: its players are no model at all (labelled SIMULATED everywhere)

    def check(self, factory: AgentFactory, team: str, agent: AgentConfig) -> None:
        """Refuse, with one line, a config this kind cannot play (before anything is written)."""

    def label(self, agent: AgentConfig) -> str:
        raise NotImplementedError

    def build(self, factory: AgentFactory, team: str, agent: AgentConfig, side: str,
              persona: Persona | None, opponent: Persona | None, match_seed: int,
              others: tuple[Persona | None, ...] = ()) -> Negotiator:
        raise NotImplementedError


class ClassKind(AgentKind):
    """A user's negotiator class (from `package.module:Class` or an entry point)."""

    def __init__(self, name: str, cls: type) -> None:
        self.name = name
        self.cls = cls
        self.offline = bool(getattr(cls, "offline", True))

    def check(self, factory: AgentFactory, team: str, agent: AgentConfig) -> None:
        try:
            inspect.signature(self.cls).bind(None, **agent.options)
        except TypeError as error:
            raise InputError(f"agents.{team}.options: {self.name} does not take these options "
                             f"({error})") from None
        except ValueError:  # no signature to inspect (a builtin type): let the call decide
            pass

    def label(self, agent: AgentConfig) -> str:
        if not agent.options:
            return self.name
        return f"{self.name}(" + ",".join(f"{k}={v!r}" for k, v in
                                         sorted(agent.options.items())) + ")"

    def build(self, factory: AgentFactory, team: str, agent: AgentConfig, side: str,
              persona: Persona | None, opponent: Persona | None, match_seed: int,
              others: tuple[Persona | None, ...] = ()) -> Negotiator:
        from arena.seeds import derive_seed

        condition = factory.config.condition
        seat = Seat(factory.scenario, condition, side,
                    None if condition == "none" else persona,
                    opponent if factory.config.shows_opponent else None,
                    random.Random(derive_seed(match_seed, side)), match_seed, team,
                    dict(agent.options), others if condition in SHOWS_OPPONENT else ())
        return self.cls(seat, **agent.options)


_BUILTINS: dict[str, Callable[[], AgentKind]] = {}


def builtin(name: str) -> Callable[[Callable[[], AgentKind]], Callable[[], AgentKind]]:
    """Register a built-in kind (see arena.factory, where they are defined)."""
    def register(make: Callable[[], AgentKind]) -> Callable[[], AgentKind]:
        _BUILTINS[name] = make
        return make
    return register


def builtin_names() -> list[str]:
    """The built-in kinds; arena.factory, where they are defined, registers them on import (kinds
    are resolved by the factory, so they are always there when a config's kind is)."""
    return list(_BUILTINS)


def plugin_names() -> list[str]:
    """Kinds installed distributions register under the entry-point group."""
    from importlib.metadata import entry_points

    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def resolve_kind(kind: str, team: str, config_dir: Path | None = None) -> AgentKind:
    """The kind a config names; one line naming the field when it cannot be found or used.
    A `module:Class` kind is imported from the Python path, then from the config's folder
    (`config_dir`), so a module beside the config file needs no installing."""
    builtin_names()
    if kind in _BUILTINS:
        return _BUILTINS[kind]()
    field_name = f"agents.{team}.kind"
    if ":" in kind:
        if not _REFERENCE.match(kind):
            raise InputError(f"{field_name}: {kind!r} is not a 'package.module:Class' reference")
        if config_dir is not None:
            _search_last(config_dir)
        return ClassKind(kind, _load_class(kind, field_name))
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == kind]
    if not found:
        plugins = plugin_names()
        raise InputError(f"{field_name}: unknown kind {kind!r} (expected one of "
                         f"{', '.join(_BUILTINS)}"
                         + (f", an installed plugin ({', '.join(plugins)})" if plugins else "")
                         + ", or 'package.module:Class')")
    return ClassKind(kind, _load_class(found[0].value, f"{field_name} ({kind!r}, entry point "
                                                       f"of {ENTRY_POINT_GROUP})"))


def _search_last(folder: Path) -> None:
    """Put `folder` at the end of sys.path (never ahead of installed packages). Worker
    processes inherit it (arena.executors.child passes on the folders this process added)."""
    path = str(Path(folder).resolve())
    if path not in sys.path:
        sys.path.append(path)


def _load_class(reference: str, field_name: str) -> type:
    module_name, _, qualname = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(f"{field_name}: cannot import module '{module_name}' ({error}); is it "
                         "installed, or on the Python path?") from None
    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise InputError(f"{field_name}: module '{module_name}' has no '{qualname}'")
    if not inspect.isclass(target):
        raise InputError(f"{field_name}: '{reference}' is a {type(target).__name__}, not a "
                         "negotiator class")
    act = getattr(target, "act", None)
    if act is None or not inspect.iscoroutinefunction(act):
        raise InputError(f"{field_name}: '{reference}' is not a negotiator (it needs "
                         "`async def act(self, request) -> Reply`)")
    return target
