"""Loading scenarios: built-in names or TOML files, refused with one line when malformed."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from scenarios.errors import InputError
from scenarios.prompt_keys import check_prompts, is_variant
from scenarios.schema import (GAMES, ItemDivisionSpec, PriceBargainSpec, ScenarioSpec,
                              UltimatumSpec)
from scenarios.state import MatchState

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
_ADAPTER: TypeAdapter[Any] = TypeAdapter(ScenarioSpec)


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
    """Immutable rules; makes fresh match states."""

    spec: UltimatumSpec | PriceBargainSpec | ItemDivisionSpec
    source: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def game(self) -> str:
        return self.spec.game

    @property
    def prompts(self) -> dict[str, str]:
        return self.spec.prompts

    @property
    def roles(self) -> tuple[str, str]:
        return self.spec.roles

    def new_state(self) -> MatchState:
        spec = self.spec
        if isinstance(spec, UltimatumSpec):
            from scenarios.games.ultimatum import UltimatumState

            return UltimatumState(spec)
        if isinstance(spec, PriceBargainSpec):
            from scenarios.games.bargain import PriceBargainState

            return PriceBargainState(spec)
        from scenarios.games.division import ItemDivisionState

        return ItemDivisionState(spec)

    def with_prompts(self, overrides: dict[str, str], source: str = "config") -> "Scenario":
        """The scenario with a config's `[prompts]` overrides. Overriding a key replaces it for
        every seat and condition: the scenario's own seat or condition variants of that key
        (`instructions_first`, `instructions_second_self_only`, ...) would otherwise shadow the
        override, so they go too, unless the config overrides them as well. The overrides are
        checked against this scenario's game (placeholders), errors naming `source`."""
        try:
            check_prompts(overrides, self.game)
        except ValueError as error:
            raise InputError(f"{source}: {error}") from None
        shadowing = set(self.shadowed_by(overrides))
        prompts = {k: v for k, v in self.spec.prompts.items() if k not in shadowing}
        prompts.update(overrides)
        return Scenario(self.spec.model_copy(update={"prompts": prompts}), self.source)

    def shadowed_by(self, overrides: dict[str, str]) -> list[str]:
        """The scenario's prompt keys an override set replaces without naming them."""
        return sorted(key for key in self.spec.prompts
                      if key not in overrides and any(is_variant(key, o) for o in overrides))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))


def parse_scenario(data: dict[str, Any], source: str) -> Scenario:
    if "game" not in data:
        raise InputError(f"{source}: missing field 'game' (expected one of {', '.join(GAMES)})")
    if data["game"] not in GAMES:
        raise InputError(f"{source}: field 'game' must be one of {', '.join(GAMES)} "
                         f"(got {data['game']!r})")
    try:
        spec = _ADAPTER.validate_python(data)
    except ValidationError as error:
        raise InputError(format_validation_error(source, _strip_tag(error, data["game"]))) from None
    return Scenario(spec, source)


def _strip_tag(error: ValidationError, tag: str) -> ValidationError:
    """Pydantic prefixes union locations with the tag; rebuild without it for clean messages."""
    errors = []
    for item in error.errors():
        item = dict(item)
        loc = tuple(item["loc"])
        if loc and loc[0] == tag:
            item["loc"] = loc[1:]
        errors.append(item)
    return _ErrorList(errors)  # type: ignore[return-value]


class _ErrorList:
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self._errors = errors

    def errors(self) -> list[dict[str, Any]]:
        return self._errors


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
    return parse_scenario(read_toml(path, "scenario file"), str(path))


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
