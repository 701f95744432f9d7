"""Output helpers shared by the command-line modules (arena.cli and arena.cli_llm)."""
from __future__ import annotations

import json
from typing import Any


def print_json(data: Any) -> None:
    """A command's `--json` output."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str))
