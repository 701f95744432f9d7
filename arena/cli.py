"""The `persona-arena` command line. Bad input: one line on stderr, exit status 2, no traceback.

This module is the composition root: it may reach every package (analysis commands are
imported lazily so that the engine itself never depends on analysis).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn, Sequence

from arena.bounds import SEED, bounded
from arena.cli_output import print_json  # noqa: F401  (the commands' --json output)
from scenarios.errors import InputError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


# -- commands ---------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from arena.demo import run_demo

    # with --json, stdout is the JSON alone: the step lines go to stderr
    results = run_demo(Path(args.out), args.seed, per_level=args.per_level,
                       repetitions=args.repetitions, stream=sys.stderr if args.json else None)
    if args.json:
        print_json(results)
    return 0


def _note_prompt_overrides(config: Any, base: Path) -> None:
    """Say which of the scenario's seat or condition texts a `[prompts]` override replaces, so
    nobody wonders where the paper's per-seat wording went."""
    if not config.prompts:
        return
    from scenarios.loader import is_variant, load_scenario

    scenario = load_scenario(config.scenario, base)
    scenario.with_prompts(config.prompts, config._source)  # refused before any note is given
    shadowed = scenario.shadowed_by(config.prompts)
    for key in sorted(config.prompts):
        gone = [name for name in shadowed if is_variant(name, key)]
        if gone:
            print(f"note: prompts.{key} also replaces the scenario's {', '.join(gone)} "
                  f"(override those keys to vary the text by seat or condition)", file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from arena.config import load_config
    from arena.tournament import plan_run, run

    config, base = load_config(Path(args.config))
    out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
    _note_prompt_overrides(config, base)
    if args.dry_run:
        from agents.conditions import SENDS_IMAGES
        from arena.estimate import estimate

        plan = plan_run(config, base, check_models=False)
        info = {"matches": plan.planned, "scenario": plan.scenario.name,
                "design": config.design.kind, "condition": config.condition,
                "agents": {t: plan.factory.label(t) for t in plan.factory.teams()},
                **estimate(plan)}
        from arena.budget import budget_of

        budget = budget_of(plan)
        if budget is not None:  # beside the estimate: how far the budget goes
            fits = min(int(limit // budget.per_match[what]) if budget.per_match[what] else
                       plan.planned for what, limit in budget.limits.items())
            info["budget"] = {**budget.as_dict(), "matches_within": min(fits, plan.planned)}
        if args.json:
            print_json(info)
        else:
            print(f"{info['matches']:,} matches of {info['scenario']} ({info['design']} design, "
                  f"{info['condition']}); agents: "
                  + ", ".join(f"{k}={v}" for k, v in info["agents"].items()))
            if info["llm_calls"]:
                bound = "" if info["calls_exact"] else "up to "
                images = " (images included)" if config.condition in SENDS_IMAGES else ""
                print(f"expected: {bound}{info['llm_calls']:,} LLM calls, about "
                      f"{info['prompt_tokens']:,} prompt tokens{images} and "
                      f"{info['completion_tokens']:,} completion tokens"
                      + (f"; cost about ${info['cost']:,.2f}" if info["cost"] is not None else
                         "; give price_prompt_per_1m and price_completion_per_1m for a cost"))
            if "budget" in info:
                b = info["budget"]
                limits = ", ".join(f"{k} = {v:,g}" for k, v in b["limits"].items())
                bound = ", ".join(f"{k.replace('max_', '').replace('_total', '')} {v:,.4g}"
                                  for k, v in b["per_match_bound"].items())
                print(f"budget: {limits}: at least {b['matches_within']:,} of "
                      f"{info['matches']:,} "
                      f"matches fit (a match could use up to {bound}); a run stops before "
                      "the match that could pass it")
        return 0
    summary = run(config, base, out, resume=args.resume, skip_probe=args.skip_probe)
    _note_model_concurrency(config)  # after the run: a refusal stays one line
    from arena.results import format_results, run_results

    results = run_results(out)
    if args.json:
        print_json({**summary.as_dict(), "results": results})
    else:
        print(f"{out}: {summary.ran:,} matches run ({summary.ok:,} ok, {summary.failed:,} failed), "
              f"{summary.already_done:,} already stored, {summary.planned:,} planned; "
              f"{summary.seconds:.1f} s")
        print(format_results(results, out))
        if summary.llm is not None:
            print(model_calls_line(summary.llm))
        for line in health_lines(summary):
            print(line)
    if summary.halted:
        print(f"persona-arena: run stopped: {summary.halted}", file=sys.stderr)
        return 2
    stopped = (summary.budget or {}).get("stopped")
    if stopped:
        left = summary.planned - summary.already_done - summary.ok
        print(f"persona-arena: run stopped by its budget before {left:,} matches: {stopped}; "
              "raise the limit and rerun with --resume to go on", file=sys.stderr)
        return 1
    if summary.verdict:
        print(f"persona-arena: untrustworthy run: {summary.verdict}", file=sys.stderr)
        return 1
    return 0 if summary.failed == 0 else 1


def health_lines(summary: Any) -> list[str]:
    """The run's health in a few lines: unusable turns first, then what the servers did."""
    health = summary.health or {}
    lines = []
    if health.get("turns"):
        reasons = "; ".join(f"{why} ({n})" for why, n in health["invalid_reasons"].items())
        lines.append(f"turns: {health['turns']:,} stored, {health['invalid_turns']:,} invalid "
                     f"({health['invalid_share']:.1%})" + (f": {reasons}" if reasons else ""))
    llm = summary.llm
    if llm:
        retries = sum(llm.get("retries", {}).values())
        lines.append(f"requests this run: {llm['requests']:,} sent, {llm['cache_hits']:,} from "
                     f"the cache, {retries:,} retried, {llm.get('empty_replies', 0):,} empty "
                     f"replies; delivery: {llm.get('delivery_failures', 0):,} of "
                     f"{llm.get('delivery_checked', 0):,} checked replies failed"
                     + (f", {llm['unchecked']:,} unchecked (the server reports no usage)"
                        if llm.get("unchecked") else ""))
    return lines


def model_calls_line(llm: dict[str, Any]) -> str:
    """Where a run's replies came from: the servers asked, and the reply cache."""
    servers = sorted({m["endpoint"] for m in llm["models"].values() if m.get("endpoint")})
    cache = f" ({llm['cache']})" if llm.get("cache") else " (cache off)"
    return (f"model replies: {llm['replies']:,} from {', '.join(servers) or 'no server'} "
            f"({llm['requests']:,} requests), {llm['cache_hits']:,} from the reply cache{cache}")


def _note_model_concurrency(config: Any) -> None:
    """Say so when a model's own `concurrency` caps the requests in flight below `[execution]
    concurrency`: the run is then slower than the config seems to ask for."""
    asked = config.execution.concurrency
    names = {n for a in config.agents.values() if a.kind == "llm"
             for n in (a.model, a.extractor_model) if n in config.models}
    for name in sorted(names):
        own = config.models[name].concurrency
        if own < asked:
            print(f"note: [models.{name}] concurrency = {own} holds this run to {own} requests "
                  f"in flight to that model, below [execution] concurrency = {asked}; raise "
                  f"[models.{name}] concurrency if its server allows more", file=sys.stderr)


def cmd_avatars_generate(args: argparse.Namespace) -> int:
    from agents.personas.avatars import generate_pool

    if args.n < 1 or args.levels < 1:
        raise InputError("--n and --levels must be at least 1")
    out = Path(args.out)
    if (out / "manifest.csv").exists():
        raise InputError(f"{out}: already holds a pool (manifest.csv); choose another --out")
    if args.vary:
        from agents.personas.avatar_variants import check_bound, parse_vary

        vary = parse_vary(args.vary)
        check_bound(args.n, vary, args.levels)  # before any work: one line past the bound
        entries = generate_pool(args.n, args.levels, out, args.seed, size=args.size, vary=vary)
        print(f"{out}: {len(entries):,} avatars: {args.n:,} identities, each with every value "
              f"of {', '.join(vary)}")
        return 0
    entries = generate_pool(args.n, args.levels, out, args.seed, size=args.size)
    print(f"{out}: {len(entries):,} avatars over {args.levels} levels")
    return 0


def cmd_avatars_import(args: argparse.Namespace) -> int:
    from agents.personas.image_files import IMAGE_SUFFIXES
    from agents.personas.pool_import import import_pool, skipped_files

    entries = import_pool(Path(args.src), Path(args.out))
    levels = sorted({e.level for e in entries if e.level is not None})
    print(f"{args.out}: {len(entries):,} images imported"
          + (f", levels {levels[0]}..{levels[-1]}" if levels else ", no levels"))
    skipped = skipped_files(Path(args.src))
    if skipped:
        names = ", ".join(repr(str(f.relative_to(args.src))) for f in skipped[:10])
        more = f" and {len(skipped) - 10:,} more" if len(skipped) > 10 else ""
        print(f"note: {len(skipped):,} files skipped, not {'/'.join(sorted(IMAGE_SUFFIXES))} "
              f"images (convert them to import them): {names}{more}", file=sys.stderr)
    return 0


def cmd_scenarios_list(args: argparse.Namespace) -> int:
    from scenarios.loader import builtin_names, load_scenario
    from scenarios.registry import registered

    for name in builtin_names():
        s = load_scenario(name)
        print(f"{name:<16} {s.game:<14} {s.spec.description}")
    print("\ngames (a scenario file's `game`):")
    for entry in registered():
        cls = entry.cls
        seats = "" if cls is None else (f"{cls.min_seats} seats" if cls.min_seats == cls.max_seats
                                        else f"{cls.min_seats}-{cls.max_seats} seats")
        status = f"  BROKEN: {entry.error}" if entry.error else ""
        print(f"{entry.name:<18} {seats:<10} {entry.origin}{status}")
    return 0


def cmd_scenarios_check(args: argparse.Namespace) -> int:
    from scenarios.conformance import check_scenario
    from scenarios.loader import load_scenario

    if args.seeds < 1:
        raise InputError(f"--seeds: at least 1 random match per seat count (got {args.seeds})")
    scenario = load_scenario(args.file, Path.cwd())
    problems = check_scenario(scenario, args.seeds)
    rules = scenario.rules
    if problems:
        print(f"{args.file}: check failed: {problems[0]}", file=sys.stderr)
        for more in problems[1:]:
            print(f"  also: {more}", file=sys.stderr)
        return 1
    print(f"{args.file}: ok (game {scenario.game}, {rules.min_seats}..{rules.max_seats} seats, "
          f"{args.seeds} seeds per seat count: random legal play ends and pays in range, "
          "replays exactly, JSON and free-text offers read back, prompts render)")
    return 0


def cmd_scenarios_show(args: argparse.Namespace) -> int:
    from scenarios.loader import BUILTIN_DIR, builtin_names, load_scenario

    scenario = load_scenario(args.name)
    if args.name in builtin_names():
        print((BUILTIN_DIR / f"{args.name}.toml").read_text(), end="")
    else:
        print(Path(args.name).read_text(), end="")
    return 0 if scenario else 1


def cmd_scenarios_validate(args: argparse.Namespace) -> int:
    from scenarios.loader import load_scenario_file

    scenario = load_scenario_file(Path(args.file))
    print(f"{args.file}: ok ({scenario.name}, game {scenario.game})")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from analysis.progress import Progress
    from analysis.summary import format_summary, summarize

    from analysis.cli import equivalence_args, run_equivalence

    test = equivalence_args(args)
    summary = summarize(Path(args.run_dir), progress=Progress("analyze"))
    if test is not None:
        from analysis.equivalence import format_equivalence

        summary["equivalence"] = run_equivalence(Path(args.run_dir), test)
    counterfactual = counterfactual_summary(Path(args.run_dir))
    if counterfactual is not None:
        summary["counterfactual"] = counterfactual
    if args.json:
        print_json(summary)
    else:
        text = format_summary(summary, str(args.run_dir))
        if test is not None:
            text += "\n" + "\n".join(format_equivalence(summary["equivalence"]))
        if counterfactual is not None:
            from analysis.counterfactual import format_counterfactual

            text += "\n" + "\n".join(format_counterfactual(counterfactual))
        print(text)
    return 0


def counterfactual_summary(run_dir: Path) -> dict | None:
    """The attribute contrasts of a run that holds identity sets (None for any other run)."""
    from analysis.counterfactual import (counterfactual_effects, has_identity_sets,
                                         store_has_identity_sets)
    from analysis.frames import load_run, store_path

    if not store_has_identity_sets(store_path(run_dir)):
        return None
    frames = load_run(run_dir, texts=False)
    return counterfactual_effects(frames) if has_identity_sets(frames) else None


def cmd_serve(args: argparse.Namespace) -> int:
    from arena.serve import serve

    return serve(Path(args.config), Path(args.out), args.port, args.host)


# -- parser -----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="persona-arena",
                     description="Persona-conditioned LLM negotiation tournaments.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("demo", help="offline paper-style run with the surrogate, no network")
    p.add_argument("--out", default="demo-out", help="folder for the pool, both studies' run "
                                                     "folders and reports (default demo-out)")
    p.add_argument("--seed", type=SEED, default=1, help="run seed: the same seed gives the same "
                                                       "avatars and matches (default 1)")
    p.add_argument("--per-level", type=bounded(int, 1, 100), default=5,
                   help="avatars per aggressiveness level "
                                                            "(default 5, 7 levels)")
    p.add_argument("--repetitions", type=bounded(int, 1, 100), default=2,
                   help="times each pairing is played (default 2)")
    p.add_argument("--json", action="store_true",
                   help="print the runs' counts and summaries as JSON (steps go to stderr)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="run a tournament from a config file")
    p.add_argument("config", help="the run configuration (TOML; see the README)")
    p.add_argument("--out", metavar="RUN_DIR",
                   help="run folder for the store and resolved config (default runs/CONFIG-NAME)")
    p.add_argument("--resume", action="store_true",
                   help="finish the run already in RUN_DIR: play only the matches not stored ok")
    p.add_argument("--dry-run", action="store_true",
                   help="check the config and print the matches, LLM calls, tokens and cost it "
                        "expects; plays nothing")
    p.add_argument("--skip-probe", action="store_true",
                   help="do not check that models sent images can see them (recorded in the run)")
    p.add_argument("--json", action="store_true", help="print the run's figures as JSON")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("avatars", help="make or import an avatar pool")
    avatars = p.add_subparsers(dest="avatars_command", required=True, parser_class=_Parser)
    g = avatars.add_parser("generate", help="draw cartoon avatars at aggressiveness levels")
    g.add_argument("--n", type=bounded(int, 1, 100_000), required=True,
                   help="how many avatars to draw")
    g.add_argument("--levels", type=bounded(int, 1, 100), default=7,
                   help="aggressiveness levels, spread evenly over the avatars (default 7)")
    g.add_argument("--out", required=True, metavar="POOL", help="new pool folder (images and "
                                                                "manifest.csv)")
    g.add_argument("--seed", type=SEED, default=1, help="the same seed draws the same avatars "
                                                       "(default 1)")
    g.add_argument("--size", type=bounded(int, 16, 4096), default=256,
                   help="image side in pixels (default 256)")
    g.add_argument("--vary", metavar="ATTR[,ATTR...]", default="",
                   help="counterfactual sets: --n identities, each rendered with every value of "
                        "these attributes (skin, hair, hair_color, facial_hair, glasses, "
                        "clothing_color, background, level), all else fixed")
    g.set_defaults(func=cmd_avatars_generate)
    i = avatars.add_parser("import", help="import images; subfolders named 1..7 become levels")
    i.add_argument("src", help="a folder of images (subfolders named 1..N give their level)")
    i.add_argument("--out", required=True, metavar="POOL", help="new pool folder")
    i.set_defaults(func=cmd_avatars_import)

    p = sub.add_parser("scenarios", help="list, show, validate or check scenarios and games")
    scen = p.add_subparsers(dest="scenarios_command", required=True, parser_class=_Parser)
    scen.add_parser("list", help="the built-in scenarios and every registered game").set_defaults(
        func=cmd_scenarios_list)
    s = scen.add_parser("show", help="print a scenario file (to copy and edit)")
    s.add_argument("name", help="a built-in scenario's name, or a scenario file")
    s.set_defaults(func=cmd_scenarios_show)
    v = scen.add_parser("validate", help="check a scenario file")
    v.add_argument("file", help="the scenario file (TOML)")
    v.set_defaults(func=cmd_scenarios_validate)
    c = scen.add_parser("check", help="conformance check of a scenario's game (exit 1 when it "
                                      "fails, with the reason)")
    c.add_argument("file", help="a scenario file (TOML), or a built-in scenario's name")
    c.add_argument("--seeds", type=bounded(int, 1, 10_000), default=20,
                   help="random matches per seat count (1..10,000; default 20)")
    c.set_defaults(func=cmd_scenarios_check)

    p = sub.add_parser("analyze", help="summarize a run")
    p.add_argument("run_dir", help="a run folder (made by run, demo or import-paper)")
    p.add_argument("--json", action="store_true",
                   help="print the summary and every model's estimates as JSON")
    from analysis.cli import add_equivalence_options

    add_equivalence_options(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("serve", help="participants rate avatars and negotiate in a browser")
    p.add_argument("config", help="the run config (its [serve] table: texts and counts)")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="the run folder for answers")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.set_defaults(func=cmd_serve)

    from arena import cli_llm  # `rate` and `play`: the commands that talk to models

    cli_llm.register(sub)
    from analysis import cli as analysis_cli
    analysis_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InputError as error:
        print(f"persona-arena: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("persona-arena: interrupted; finished matches are stored (rerun with --resume)",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
