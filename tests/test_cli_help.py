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


def _unbounded(parser: argparse.ArgumentParser) -> list[str]:
    """Options read as a bare int or float: nothing stops 1000000000, nan or inf."""
    return ["/".join(a.option_strings) or a.dest for a in parser._actions
            if a.type in (int, float)]


# checked by the command itself, with its own message (arena.serve.PORTS)
OWN_CHECKS = {("persona-arena serve", "--port")}


def test_every_numeric_option_is_bounded_up_front() -> None:
    found = {(name, option) for name, parser in _parsers(build_parser(), "persona-arena")
             for option in _unbounded(parser)}
    assert found <= OWN_CHECKS, f"numeric options without a bound: {sorted(found - OWN_CHECKS)}"


def test_the_bound_walk_finds_a_bare_int() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, help="how many")
    assert _unbounded(parser) == ["--count"]


def test_out_of_bound_options_end_in_one_line_before_anything_runs() -> None:
    import pytest

    from arena.cli import main

    for argv, culprit in (
            (["rate", "pool", "--model", "m", "--config", "c", "--retries", "1000000000"],
             "argument --retries: 1000000000: expected an integer at least 0 and at most 10"),
            (["rate", "pool", "--max-tokens", "0"], "argument --max-tokens: 0"),
            (["demo", "--per-level", "100000"], "argument --per-level: 100000"),
            (["demo", "--repetitions", "-1"], "argument --repetitions: -1"),
            (["avatars", "generate", "--n", "1000000000", "--out", "x"], "argument --n"),
            (["avatars", "generate", "--n", "3", "--size", "100000", "--out", "x"],
             "argument --size"),
            (["play", "--config", "c", "--seed", "-1"], "argument --seed: -1"),
            (["power", "--effect", "nan"], "argument --effect: nan"),
            (["power", "--sims", "1e308"], "argument --sims: '1e308' is not an integer"),
            (["standings", "run", "--bootstrap", "100000000"], "argument --bootstrap")):
        with pytest.raises(SystemExit) as exit_, _captured() as err:
            main(argv)
        assert exit_.value.code == 2, argv
        assert culprit in err.getvalue() and err.getvalue().count("\n") == 1, err.getvalue()


def _captured():
    import contextlib
    import io

    err = io.StringIO()

    @contextlib.contextmanager
    def both():
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            yield err
    return both()
