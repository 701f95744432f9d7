"""What an `[agents.X] kind` may look like, checked when a config is read (before any kind is
resolved, so the config needs nothing of the agent-kind registry)."""
from __future__ import annotations

import re

REFERENCE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
_NAME = re.compile(r"^[A-Za-z][\w.-]*$")


def valid_kind_syntax(kind: str) -> bool:
    """A built-in or plugin name, or a `package.module:Class` reference (resolved later)."""
    return bool(REFERENCE.match(kind)) or bool(_NAME.match(kind))
