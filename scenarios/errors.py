"""The one error type for bad user input.

Its message is a single line naming the file, field or value and what was expected; the CLI
prints it and exits with status 2. Anything else that escapes is a bug and keeps its traceback.
"""
from __future__ import annotations


class InputError(ValueError):
    """Bad input from a user: a file, a field or a value that is not what was expected."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
