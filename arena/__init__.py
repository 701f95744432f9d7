"""persona-arena's engine, and the Python API for notebooks and scripts:

    import arena
    result = arena.Tournament.from_toml("examples/study2-surrogate.toml", out="runs/s2").run()

The API's names are imported on first use, so `python -m arena.cli` and worker processes do not
pay for them.
"""
from __future__ import annotations

from typing import Any

_EXPORTS = {"Tournament": "arena.api", "Result": "arena.api", "open_run": "arena.api",
            "Seat": "arena.agent_kinds", "InputError": "scenarios.errors"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'arena' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
