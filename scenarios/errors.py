"""The one error type for bad user input.

Its message is a single line naming the file, field or value and what was expected; the CLI
prints it and exits with status 2. Anything else that escapes is a bug and keeps its traceback.
"""
from __future__ import annotations


class InputError(ValueError):
    """Bad input from a user: a file, a field or a value that is not what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(printable(" ".join(str(message).split())))


def printable(text: str) -> str:
    """`text` with every character a terminal would act on rather than show escaped: NUL and
    other controls, and the bidirectional overrides (U+202E) that make a name read backwards."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else
                   (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"
                    if ord(c) < 0x10000 else f"\\U{ord(c):08x}") for c in text)
