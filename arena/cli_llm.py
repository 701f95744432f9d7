"""CLI commands that talk to models: `rate` and `play` (registered by arena.cli)."""
from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this module's subcommands to the main parser."""
