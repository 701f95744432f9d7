"""The game registry: built-ins and users' games resolved the same way.

Built-in games register themselves with `@builtin` (scenarios/builtins.py, scenarios/games/). A user's game is named in
a scenario file as `game = "package.module:GameClass"` (importable, or a module beside the
scenario file) or installed by a distribution under the entry-point group `persona_arena.games`
(the entry point's name is the game's name):

    [project.entry-points."persona_arena.games"]
    coin-split = "coin_game:CoinSplit"

A class that is no usable game is refused with one line naming the module and what is missing.
"""
from __future__ import annotations

import importlib
import inspect
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from scenarios.builtins import BUILTINS
from scenarios.errors import InputError
from scenarios.game import Game, GameSpec
from scenarios.moves import MAX_SEATS

ENTRY_POINT_GROUP = "persona_arena.games"
_REFERENCE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_STATE_METHODS = ("is_terminal", "request", "apply", "outcome", "read", "random_move")


def builtin_games() -> dict[str, type[Game]]:
    import scenarios.games  # noqa: F401  (its modules register the built-ins)

    return dict(BUILTINS)


@dataclass(frozen=True)
class GameEntry:
    """One row of `persona-arena scenarios list`: a game and where it comes from."""

    name: str
    origin: str  # "built-in", "entry point of DIST (module:Class)", or "module:Class"
    cls: type[Game] | None
    error: str | None = None  # why an installed plugin cannot be used


def registered() -> list[GameEntry]:
    """Every built-in game and every installed plugin (a broken one with its reason)."""
    entries = [GameEntry(name, "built-in", cls) for name, cls in builtin_games().items()]
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "?"
        origin = f"entry point of {dist} ({ep.value})"
        try:
            cls = load_game_class(ep.value, f"entry point {ep.name!r} of {ENTRY_POINT_GROUP}")
        except InputError as error:
            entries.append(GameEntry(ep.name, origin, None, str(error)))
        else:
            entries.append(GameEntry(ep.name, origin, cls))
    return entries


def game_names() -> list[str]:
    from importlib.metadata import entry_points

    return [*builtin_games(), *sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))]


def resolve_game(tag: Any, source: str, folder: Path | None = None) -> type[Game]:
    """The game class a scenario file's `game` names; one line naming the culprit otherwise.
    A `module:Class` is imported from the Python path, then from the scenario file's folder."""
    known = builtin_games()
    if not isinstance(tag, str):
        raise InputError(f"{source}: field 'game' must be a game name (got {tag!r})")
    if tag in known:
        return known[tag]
    if ":" in tag:
        if not _REFERENCE.match(tag):
            raise InputError(f"{source}: field 'game': {tag!r} is not a 'package.module:Class' "
                             "reference")
        if folder is not None:
            _search_last(folder)
        return load_game_class(tag, f"{source}: field 'game'")
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == tag]
    if found:
        return load_game_class(found[0].value, f"{source}: field 'game' ({tag!r}, entry point "
                                               f"of {ENTRY_POINT_GROUP})")
    raise InputError(f"{source}: field 'game' must be one of {', '.join(game_names())}, or a "
                     f"'package.module:Class' reference (got {tag!r})")


def _search_last(folder: Path) -> None:
    """Put `folder` at the end of sys.path (never ahead of installed packages); worker
    processes inherit it (arena.processes passes on the folders this process added)."""
    path = str(Path(folder).resolve())
    if path not in sys.path:
        sys.path.append(path)


def load_game_class(reference: str, where: str) -> type[Game]:
    module_name, _, qualname = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(f"{where}: cannot import module '{module_name}' ({error}); is it "
                         "installed, on the Python path, or beside the scenario file?") from None
    except Exception as error:  # the module itself is broken: name it, keep it one line
        raise InputError(f"{where}: module '{module_name}' fails to import "
                         f"({type(error).__name__}: {error})") from None
    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise InputError(f"{where}: module '{module_name}' has no '{qualname}'")
    return check_game_class(target, f"{where}: '{reference}'")


def check_game_class(cls: Any, where: str) -> type[Game]:
    """Refuse, with one line, what cannot be a game: the first thing missing is named."""
    if not inspect.isclass(cls) or not issubclass(cls, Game):
        what = type(cls).__name__ if not inspect.isclass(cls) else "class"
        raise InputError(f"{where} is a {what}, not a game (subclass scenarios.game.Game)")
    if not cls.name:
        raise InputError(f"{where} is missing its name (set `name = \"my-game\"`)")
    spec = cls.Spec
    if not (inspect.isclass(spec) and issubclass(spec, BaseModel)):
        raise InputError(f"{where}: its Spec is not a pydantic model")
    if not issubclass(spec, GameSpec):
        raise InputError(f"{where}: its Spec must subclass scenarios.game.GameSpec")
    if cls.start is Game.start:
        raise InputError(f"{where} is missing start(self, seats, rng) -> MatchState")
    if not (isinstance(cls.min_seats, int) and isinstance(cls.max_seats, int)
            and 2 <= cls.min_seats <= cls.max_seats <= MAX_SEATS):
        raise InputError(f"{where}: seats must satisfy 2 <= min_seats <= max_seats <= "
                         f"{MAX_SEATS} (got {cls.min_seats!r}..{cls.max_seats!r})")
    if not cls.roles:
        raise InputError(f"{where} is missing its role names (roles = (...))")
    if cls.payoff_range is Game.payoff_range:
        raise InputError(f"{where} is missing payoff_range(self, seats) -> (low, high)")
    return cls


def check_state_class(state: Any, where: str) -> None:
    """The state a game made has what the engine calls (checked before the first match)."""
    from scenarios.state import MatchState

    if not isinstance(state, MatchState):
        raise InputError(f"{where}: start() returned a {type(state).__name__}, not a MatchState")
    for method in _STATE_METHODS:
        mine = getattr(type(state), method, None)
        if mine is None or mine is getattr(MatchState, method):
            raise InputError(f"{where}: its state {type(state).__name__} is missing {method}")
