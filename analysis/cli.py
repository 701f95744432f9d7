"""CLI commands that analyse runs and the paper's data: `import-paper`, `replicate`, `power`,
`report`, `standings` and `export` (registered by arena.cli; heavy imports wait until a command runs)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from arena.bounds import SEED, bounded
from scenarios.errors import InputError

MAX_MATCHES = 1_000_000  # analysis.power's bounds, here so the parser needs no numpy
MAX_SIMS = 10_000
SHARE = bounded(float, 0, 1, open_low=True, open_high=True)  # a probability strictly in 0..1


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=_plain))  # insertion order: -6 .. 6 stays in order


def _plain(value: Any) -> Any:
    """numpy numbers and NaN as JSON can read them."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return None if number != number else number


def _clean(data: Any) -> Any:
    """NaN -> null everywhere (json.dumps would write the non-standard NaN)."""
    if isinstance(data, dict):
        return {str(k): _clean(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_clean(v) for v in data]
    if isinstance(data, float) and data != data:
        return None
    return data


def _note(message: str) -> None:
    """A progress line for a person at a terminal (never in pipes, logs or tests)."""
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


def cmd_import_paper(args: argparse.Namespace) -> int:
    from analysis.importer import import_paper
    from analysis.paper import canonical_model

    models = {canonical_model(m) for m in args.model} if args.model else None
    _note(f"reading {args.results_dir} and every text in it with our extractor "
          "(the paper's two models: a minute or two) ...")
    summary = import_paper(Path(args.results_dir), Path(args.out),
                           Path(args.levels) if args.levels else None, models)
    if args.json:
        _print_json(_clean(summary))
    else:
        agree = summary["extractor_agreement"]
        claim = f"{agree['claim']:.1%}" if agree["claim"] is not None else "–"
        accept = f"{agree['acceptance']:.1%}" if agree["acceptance"] is not None else "–"
        print(f"{args.out}: {summary['matches']:,} matches from {summary['files']} files "
              f"(study {', '.join(map(str, summary['studies']))}; {', '.join(summary['models'])})"
              f"; our extractor agrees with the paper's labels on {claim} of claims and "
              f"{accept} of acceptances")
        from analysis.coverage import format_coverage

        for model, figures in agree.get("by_model", {}).items():
            if figures.get("coverage"):
                print(f"  {model}, with abstention (the reader's confidence):")
                for line in format_coverage(figures["coverage"], "    "):
                    print(line)
        if summary["personas_without_level"]:
            print(f"  note: {summary['personas_without_level']} images have no level "
                  "(give --levels CSV with image_id,folder)", file=sys.stderr)
    return 0


def cmd_replicate(args: argparse.Namespace) -> int:
    from analysis.replicate import format_replication, replicate

    if not args.no_extractor:
        _note("reading the paper's files and ~25,000 texts with our extractor (under a minute; "
              "--no-extractor skips the texts) ...")
    result = replicate(Path(args.results_dir), args.model, extractor=not args.no_extractor)
    if args.json:
        _print_json(_clean(result))
    else:
        print(format_replication(result))
    return 0


def cmd_power(args: argparse.Namespace) -> int:
    from analysis.power import Design, format_power, power_analysis

    if args.study or args.config:
        return _planted_power(args)
    for flag, value in (("--between", args.between), ("--margin", args.margin),
                        ("--attribute", args.attribute), ("--identities", args.identities)):
        if value is not None:
            raise InputError(f"{flag}: applies to --study with --config only")
    if args.agent and not args.pilot:
        raise InputError("--agent: only with --pilot RUN_DIR or --config CONFIG.toml")
    pie = 100.0
    if args.pilot:
        from analysis.surrogate_fit import entry_params, fit_run

        entry = fit_run(Path(args.pilot), args.agent, require_acceptance=False)
        pie = float(entry["pie"])
        params, source = entry_params(entry), f"fitted on {args.pilot}" + (
            f" ({args.agent})" if args.agent else "") + f", pie {pie:g}"
    else:
        from agents.negotiators.surrogate import load_params

        params, source = load_params(args.fit), args.fit
    design = Design(args.design, args.levels, args.per_level, pie)
    result = power_analysis(params, design, args.matches or (), args.effect, args.sims,
                            args.alpha, args.seed, args.power, source=source)
    if args.json:
        _print_json(_clean(result))
    else:
        print(format_power(result))
    return 0


def _planted_power(args: argparse.Namespace) -> int:
    """`power --study KIND --config CONFIG.toml`: size an experiment by its planted agent."""
    from analysis.planted_power import format_planted_power, planted_power, with_effect
    from analysis.planted_study import study_from_config

    if not args.study or not args.config:
        raise InputError("--study and --config go together: --study equivalence|anchoring|"
                         "attribute --config CONFIG.toml (a config with a planted agent)")
    if args.study != "equivalence" and args.margin is not None:
        raise InputError("--margin: applies to --study equivalence only")
    if args.study != "attribute" and args.identities is not None:
        raise InputError("--identities: applies to --study attribute only")
    study = study_from_config(Path(args.config), args.study, args.agent, args.between,
                              args.margin, args.attribute, args.identities or 20)
    result = planted_power(with_effect(study, args.effect), args.sims, args.alpha, args.seed,
                           args.power, tuple(args.matches or ()), source=str(args.config))
    if args.json:
        _print_json(_clean(result))
    else:
        print(format_planted_power(result))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from analysis.progress import Progress
    from analysis.report import write_report

    test = equivalence_args(args)
    result = run_equivalence(Path(args.run_dir), test) if test is not None else None
    path = write_report(Path(args.run_dir), Path(args.out) if args.out else None,
                        Progress("report"), equivalence=result)
    print(f"{path}: report written (open it in a browser; it needs no network)")
    return 0


def cmd_standings(args: argparse.Namespace) -> int:
    from analysis.frames import load_run
    from analysis.standings import format_standings, standings

    frames = load_run(Path(args.run_dir))
    if len(frames.matches) * (args.bootstrap + args.orders) > 20_000_000:
        _note(f"rating {len(frames.matches):,} matches in {args.bootstrap + args.orders} "
              "orders and resamples ...")
    result = {"run_dir": str(args.run_dir),
              **standings(frames, args.bootstrap, args.orders, args.seed)}
    if args.json:
        _print_json(_clean(result))
    else:
        print(format_standings(result))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from analysis.frames import export, load_run

    paths = export(load_run(Path(args.run_dir)), Path(args.out), args.format)
    print(f"{args.out}: {', '.join(p.name for p in paths)}")
    return 0


def equivalence_args(args: argparse.Namespace) -> dict[str, Any] | None:
    """--equivalence A:B with --margin (and --alpha, --with): checked before any run is read."""
    from analysis.equivalence import check_alpha, check_margin, parse_pair

    if args.equivalence is None:
        for flag, value in (("--margin", args.margin), ("--with", args.with_run)):
            if value is not None:
                raise InputError(f"{flag}: applies to --equivalence A:B only")
        return None
    a, b = parse_pair(args.equivalence)
    if args.margin is None:
        raise InputError("--margin: --equivalence needs the margin of equivalence, in the "
                         "claim's units (e.g. --margin 2)")
    check_margin(args.margin, None)
    check_alpha(args.alpha)
    return {"a": a, "b": b, "margin": args.margin, "alpha": args.alpha,
            "with": Path(args.with_run) if args.with_run else None}


def run_equivalence(run_dir: Path, test: dict[str, Any]) -> dict[str, Any]:
    from analysis.equivalence import equivalence
    from analysis.frames import load_run

    frames = [load_run(run_dir, texts=False)]
    if test["with"] is not None:
        frames.append(load_run(test["with"], texts=False))
    return equivalence(frames, test["a"], test["b"], test["margin"], test["alpha"])


def add_equivalence_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--equivalence", metavar="A:B", help="TOST: is the mean claim of condition B "
                   "within --margin of condition A's (clustered by persona)?")
    p.add_argument("--margin", type=bounded(float, 0, 1e12, open_low=True),
                   help="the equivalence margin, in the claim's units (more than 0)")
    p.add_argument("--alpha", type=bounded(float, 0, 0.5, open_low=True, open_high=True),
                   default=0.05, help="TOST level, between 0 and 0.5 (default 0.05)")
    p.add_argument("--with", dest="with_run", metavar="RUN_DIR", help="a second run: its "
                   "matches join the comparison (A:A compares the two runs)")


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this module's subcommands to the main parser."""
    p = sub.add_parser("import-paper", help="read the paper's released xlsx files into a store")
    p.add_argument("results_dir", help="the paper's Results folder (xlsx files, any depth)")
    p.add_argument("--out", required=True, help="RUN_DIR to create")
    p.add_argument("--levels", help="CSV of image levels (image_id,folder[,model]); default: "
                                    "RESULTS_DIR/study2_image_folders.csv when present")
    p.add_argument("--model", action="append", help="import only this model (repeatable)")
    p.add_argument("--json", action="store_true", help="print the import's counts and the "
                                                       "extractor's agreement as JSON")
    p.set_defaults(func=cmd_import_paper)

    p = sub.add_parser("replicate", help="the paper's Study 2 regression from its released files")
    p.add_argument("results_dir", help="the paper's Results folder (a subfolder of xlsx files "
                                       "per model, study2_image_folders.csv)")
    p.add_argument("--model", default="gpt-4o", help="gpt-4o (default) or claude-3-haiku")
    p.add_argument("--no-extractor", action="store_true",
                   help="fit the paper's labels only (skips reading ~25,000 texts)")
    p.add_argument("--json", action="store_true", help="print the coefficients, standard "
                                                       "errors and agreement as JSON")
    p.set_defaults(func=cmd_replicate)

    p = sub.add_parser("power", help="matches needed to detect an opponent effect (simulated)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--fit", default="gpt-4o", help="surrogate fit (default gpt-4o)")
    source.add_argument("--pilot", help="fit the surrogate on this pilot RUN_DIR instead")
    source.add_argument("--config", help="with --study: a run config whose planted agent "
                                         "(SIMULATED) sizes the experiment")
    p.add_argument("--study", choices=("equivalence", "anchoring", "attribute"),
                   help="with --config: size an equivalence (TOST), anchoring or "
                        "attribute (counterfactual) study instead of the opponent effect")
    p.add_argument("--between", metavar="A:B", help="--study equivalence: the two conditions "
                                                    "(e.g. text:both-images)")
    p.add_argument("--margin", type=bounded(float, 0, 100, open_low=True),
                   help="--study equivalence: the margin, in points of the demand share")
    p.add_argument("--attribute", metavar="NAME=A:B", help="--study attribute: the attribute "
                                                           "and its two values (skin=light:dark)")
    p.add_argument("--identities", type=bounded(int, 2, 10_000),
                   help="--study attribute: identities in the counterfactual set (20)")
    p.add_argument("--agent", help="with --pilot: the agent label to fit when several played "
                                   "(e.g. llm:gpt-4o); with --config: the [agents.X] team")
    p.add_argument("--effect", type=bounded(float, -1e6, 1e6),
                   help="opponent effect per level to detect, in the pie's units (default: "
                        "the fit's own)")
    p.add_argument("--design", default="factorial", help="factorial (default) or delta")
    p.add_argument("--matches", type=bounded(int, 1, MAX_MATCHES), nargs="+",
                   help="numbers of matches to report")
    p.add_argument("--sims", type=bounded(int, 10, MAX_SIMS), default=200,
                   help="simulated runs per size (200)")
    p.add_argument("--alpha", type=SHARE, default=0.05, help="significance level (0.05)")
    p.add_argument("--power", type=SHARE,
                   default=0.8, help="target power (0.8)")
    p.add_argument("--levels", type=bounded(int, 2, 100), default=7,
                   help="aggressiveness levels (7)")
    p.add_argument("--per-level", type=bounded(int, 1, 1000), default=5,
                   help="personas per level (5)")
    p.add_argument("--seed", type=SEED, default=1,
                   help="seed of the simulations (1)")
    p.add_argument("--json", action="store_true", help="print the power curve as JSON")
    p.set_defaults(func=cmd_power)

    p = sub.add_parser("report", help="write a self-contained HTML report of a run")
    p.add_argument("run_dir", help="the run folder to report on")
    p.add_argument("--out", help="the HTML file (default RUN_DIR/report.html)")
    add_equivalence_options(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("standings", help="ratings of personas, levels and agents from matches of "
                       "two seats or more (openskill Plackett-Luce)",
                       description="Each finished match, of two seats or more, is one game of "
                       "its seats' personas (levels, agents) ranked by payoff: the higher "
                       "places better, equal payoffs share a place; a seat without a persona "
                       "stands as its agent. Ratings are the mean over random match orders, "
                       "with 95% intervals of rating and rank from bootstrap resamples.")
    p.add_argument("run_dir", help="the run folder to rate")
    p.add_argument("--bootstrap", type=bounded(int, 0, 5000), default=200,
                   help="resamples of the matches for the 95%% intervals (200; 0: none)")
    p.add_argument("--orders", type=bounded(int, 1, 1000), default=20,
                   help="random match orders the ratings are averaged over (20)")
    p.add_argument("--seed", type=SEED, default=1,
                   help="seed of the match orders and bootstrap resamples (1)")
    p.add_argument("--json", action="store_true", help="print the standings as JSON")
    p.set_defaults(func=cmd_standings)

    p = sub.add_parser("export", help="write a run's tidy tables as CSV or Parquet")
    p.add_argument("run_dir", help="the run folder to export")
    p.add_argument("--out", required=True, help="folder for the files")
    p.add_argument("--format", default="csv", choices=("csv", "parquet"),
                   help="csv (default) or parquet (needs pyarrow: the parquet extra)")
    p.set_defaults(func=cmd_export)
