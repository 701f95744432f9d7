"""Where built-in games register themselves (`@builtin` on the class), apart from the registry
that reads them, so that the games never import the registry that imports them."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scenarios.game import Game

BUILTINS: dict[str, type["Game"]] = {}


def builtin(cls: type["Game"]) -> type["Game"]:
    """Register a built-in game class under its `name`."""
    BUILTINS[cls.name] = cls
    return cls
