"""Every option and argument of every subcommand says what it is for in `--help`."""
from __future__ import annotations

import argparse
from collections.abc import Iterator

from arena.cli import build_parser


def _parsers(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The parser and all its subcommands' parsers, depth first, with their command lines."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def _undocumented(parser: argparse.ArgumentParser) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
            missing.append("/".join(action.option_strings) or action.dest)
    return missing


def test_every_option_has_a_help_text() -> None:
    parsers = list(_parsers(build_parser(), "persona-arena"))
    assert len(parsers) > 15  # the walk reached the subcommands (and their own subcommands)
    missing = {name: found for name, parser in parsers if (found := _undocumented(parser))}
    assert not missing, f"options without a help text: {missing}"


def test_every_subcommand_has_a_help_line() -> None:
    for name, parser in _parsers(build_parser(), "persona-arena"):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                listed = {choice.dest for choice in action._choices_actions}
                for sub in action.choices:
                    assert sub in listed, f"`{name} {sub}` has no help line in `{name} --help`"


def test_the_walk_finds_an_option_without_help() -> None:
    """The check can fail: an option added without help is reported by name."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    child = sub.add_parser("x", help="a command")
    child.add_argument("--documented", help="says what it does")
    child.add_argument("--bare")
    found = {n: _undocumented(p) for n, p in _parsers(parser, "prog")}
    assert found == {"prog": [], "prog x": ["--bare"]}
