"""CLI commands that talk to models: `rate` and `play` (registered by arena.cli)."""
from __future__ import annotations

import argparse
from pathlib import Path

from arena.bounds import SEED, bounded
from arena.cli_output import print_json
from scenarios.errors import InputError
from scenarios.moves import SIDES


def _scale(text: str) -> tuple[float, float]:
    """`LO..HI` (finite, LO < HI), e.g. 1..7."""
    import math

    try:
        low, high = (float(part) for part in text.split(".."))
    except ValueError:
        raise InputError(f"--scale: expected LO..HI such as 1..7 (got {text!r})") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InputError(f"--scale: expected finite LO < HI such as 1..7 (got {text!r})")
    return low, high


def cmd_rate(args: argparse.Namespace) -> int:
    from arena.rate import import_ratings, rate_pool

    pool = Path(args.pool)
    if args.import_csv:
        if args.config or args.model or args.prompt_file:
            raise InputError("--import takes no --config, --model or --prompt-file")
        result = import_ratings(pool, Path(args.import_csv), args.rater, _scale(args.scale))
        if args.json:
            print_json(result)
        else:
            print(f"{pool}: {result['imported']:,} ratings imported by "
                  f"{', '.join(result['raters'])} ({result['rows']:,} rows)")
        return 0
    if not args.config or not args.model:
        raise InputError("rate needs --config CONFIG.toml and --model NAME (or --import CSV)")
    result = rate_pool(pool, Path(args.config), args.model,
                       Path(args.prompt_file) if args.prompt_file else None, args.rater,
                       args.retries, args.max_tokens)
    if args.json:
        print_json(result)
    else:
        failed = result["unparseable"]
        print(f"{pool}: rater {result['rater']}: {result['rated']:,} images rated, "
              f"{result['skipped']:,} already rated"
              + (f", {len(failed):,} without a usable answer ({', '.join(failed[:5])})"
                 if failed else "")
              + f"; {result['requests']:,} requests, {result['cache_hits']:,} from the cache")
    if result["unparseable"] and not args.json:
        print(f"sample answer: {result['sample_answer'][:200]!r}; likely cause: "
              f"{result['likely_cause']}")
    return 0 if not result["unparseable"] else 1


def cmd_play(args: argparse.Namespace) -> int:
    from arena.play import play

    match = play(Path(args.config), persona=args.persona, side=args.side, you=args.you,
                 seed=args.seed, out=Path(args.out) if args.out else None)
    return 0 if match["status"] == "ok" else 1


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add this module's subcommands to the main parser."""
    p = sub.add_parser("rate", help="rate every image of a pool with a vision model, or import "
                                    "ratings from a CSV")
    p.add_argument("pool", help="the POOL folder whose images to rate (or to import ratings for)")
    p.add_argument("--config", help="a config file with the [models.NAME] table")
    p.add_argument("--model", help="the [models.NAME] table to rate with")
    p.add_argument("--prompt-file", help="a rating prompt instead of the paper's")
    p.add_argument("--rater", help="the rater's name in the ratings table (default: the model "
                                   "table's name, plus the prompt's hash for other prompts)")
    p.add_argument("--retries", type=bounded(int, 0, 10), default=2,
                   help="asks again when an answer holds no score 1..7 (default 2)")
    p.add_argument("--max-tokens", type=bounded(int, 1, 4096), default=1,
                   help="the paper used 1")
    p.add_argument("--import", dest="import_csv", metavar="CSV",
                   help="import ratings from a CSV with persona_id, score (and rater)")
    p.add_argument("--scale", default="1..7",
                   help="--import: the range scores lie in; others are refused (default 1..7, "
                        "the paper's)")
    p.add_argument("--json", action="store_true", help="print the rating counts as JSON")
    p.set_defaults(func=cmd_rate)

    p = sub.add_parser("play", help="negotiate yourself against a persona in the terminal")
    p.add_argument("--config", required=True,
                   help="a run config: its scenario, condition, pool and opponent agent")
    p.add_argument("--persona", help="your opponent's persona (in a game of more than two "
                                     "seats, the next player's; default: drawn from the pool)")
    p.add_argument("--you", help="your own persona, which the opponent sees in both-images")
    p.add_argument("--side", choices=SIDES, help="your seat; a moves first (default a; a "
                                                 "game of N seats has seats a.. the Nth letter)")
    p.add_argument("--seed", type=SEED, help="seed of the opponent draw and the match (default: the config's)")
    p.add_argument("--out", metavar="RUN_DIR", help="store the match in this run folder "
                                                    "(created, or added to)")
    p.set_defaults(func=cmd_play)
