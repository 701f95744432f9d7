"""Bounded numbers for command-line options: every count, size and seed is checked up front, so
`--retries 1000000000`, `nan`, `inf` or `1e308` end in one line and exit 2, never in a run that
grows without end."""
from __future__ import annotations

import argparse
from typing import Any

MAX_SEED = 2 ** 63 - 1


def bounded(kind: type, low: float, high: float, *, open_low: bool = False,
            open_high: bool = False) -> Any:
    """An argparse type: a finite number of `kind` in low..high (an end excluded when open)."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        too_low = value <= low if open_low else value < low
        too_high = value >= high if open_high else value > high
        if value != value or too_low or too_high:
            raise argparse.ArgumentTypeError(
                f"{text}: expected {'an integer' if kind is int else 'a finite number'} "
                f"{'more than' if open_low else 'at least'} "
                f"{plain_number(low)} and {'less than' if open_high else 'at most'} "
                f"{plain_number(high)}")
        return value
    return parse


def plain_number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


SEED = bounded(int, 0, MAX_SEED)
