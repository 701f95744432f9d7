"""Loading scenarios: built-in names or TOML files, refused with one line when malformed."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scenarios.errors import InputError
from scenarios.game import Game, GameSpec
from scenarios.prompt_keys import check_prompts, is_variant
from scenarios.registry import builtin_games, check_state_class, game_names, resolve_game
from scenarios.state import MatchState

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


def format_validation_error(source: str, error: Any) -> str:
    """One line naming the source, the field and what was expected (first error only)."""
    first = error.errors()[0]
    loc = ".".join(str(part) for part in first["loc"] if not str(part).startswith("function-"))
    kind = first["type"]
    value = first.get("input")
    if kind == "extra_forbidden":
        return f"{source}: unknown key '{loc}'"
    if kind == "missing":
        return f"{source}: missing field '{loc}'"
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    # a check of the whole table names no field, or names its own (`field 'design.matches'`)
    where = f" field '{loc}':" if loc and not message.startswith("field '") else ""
    shown = "" if isinstance(value, (dict, list)) or kind.startswith("value_error") else f" (got {value!r})"
    return f"{source}:{where} {message}{shown}"


@dataclass(frozen=True)
class Scenario:
    """Immutable rules (a game over one parsed spec); makes fresh match states."""

    spec: GameSpec
    source: str
    rules: Game

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def game(self) -> str:
        """The game's registered name (a plugin's `name`, not its module reference)."""
        return self.rules.name

    @property
    def prompts(self) -> dict[str, str]:
        return self.spec.prompts

    @property
    def roles(self) -> tuple[str, ...]:
        return self.rules.seat_roles()

    @property
    def seats(self) -> int:
        return self.rules.default_seats

    def new_state(self, seats: int | None = None, seed: int = 0) -> MatchState:
        return self.rules.new_state(seats, seed)

    def with_prompts(self, overrides: dict[str, str], source: str = "config") -> "Scenario":
        """The scenario with a config's `[prompts]` overrides. Overriding a key replaces it for
        every seat and condition: the scenario's own seat or condition variants of that key
        (`instructions_first`, `instructions_second_self_only`, ...) would otherwise shadow the
        override, so they go too, unless the config overrides them as well. The overrides are
        checked against this scenario's game (placeholders), errors naming `source`."""
        try:
            check_prompts(overrides, self.rules.placeholder_names())
        except ValueError as error:
            raise InputError(f"{source}: {error}") from None
        shadowing = set(self.shadowed_by(overrides))
        prompts = {k: v for k, v in self.spec.prompts.items() if k not in shadowing}
        prompts.update(overrides)
        spec = self.spec.model_copy(update={"prompts": prompts})
        return Scenario(spec, self.source, type(self.rules)(spec))

    def shadowed_by(self, overrides: dict[str, str]) -> list[str]:
        """The scenario's prompt keys an override set replaces without naming them."""
        return sorted(key for key in self.spec.prompts
                      if key not in overrides and any(is_variant(key, o) for o in overrides))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))


def parse_scenario(data: dict[str, Any], source: str, folder: Path | None = None) -> Scenario:
    """Check a scenario's table against its game (found in the registry; a `module:Class` game
    is also looked for in `folder`, the scenario file's own), its seats and its prompts."""
    if "game" not in data:
        raise InputError(f"{source}: missing field 'game' (expected one of "
                         f"{', '.join(game_names())}, or 'package.module:Class')")
    cls = resolve_game(data["game"], source, folder)
    try:
        spec = cls.Spec.model_validate(data)
    except ValidationError as error:
        raise InputError(format_validation_error(source, error)) from None
    rules = cls(spec)
    seats = rules.default_seats
    if not rules.min_seats <= seats <= rules.max_seats:
        raise InputError(f"{source}: field 'seats': game {cls.name} takes "
                         f"{rules.min_seats}..{rules.max_seats} seats (got {seats})")
    try:
        check_prompts(spec.prompts, rules.placeholder_names())
    except ValueError as error:
        raise InputError(f"{source}: {error}") from None
    if cls not in builtin_games().values():  # a user's game: its state must have what the
        # engine calls, found now rather than in every match
        try:
            state = rules.new_state()
        except InputError:
            raise
        except Exception as error:
            raise InputError(f"{source}: game {data['game']}: start() fails "
                             f"({type(error).__name__}: {error})") from None
        check_state_class(state, f"{source}: game {data['game']}")
    return Scenario(spec, source, rules)


def read_toml(path: Path, what: str = "file") -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a TOML {what}") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror})") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text, expected a TOML {what}") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: TOML syntax error: {error}") from None


def load_scenario_file(path: Path) -> Scenario:
    return parse_scenario(read_toml(path, "scenario file"), str(path), Path(path).parent)


@lru_cache(maxsize=64)
def _load_builtin(name: str) -> Scenario:
    return load_scenario_file(BUILTIN_DIR / f"{name}.toml")


def load_scenario(name_or_path: str | Path, base: Path | None = None) -> Scenario:
    """A built-in scenario by name, or a scenario file (relative paths against `base`)."""
    text = str(name_or_path)
    if text in builtin_names():
        return _load_builtin(text)
    looks_like_path = text.endswith(".toml") or "/" in text or "\\" in text
    if looks_like_path:
        path = Path(text)
        if base is not None and not path.is_absolute():
            path = base / path
        return load_scenario_file(path)
    raise InputError(f"unknown scenario '{text}' (built-in: {', '.join(builtin_names())}; "
                     "or give a path to a .toml file)")
