"""`python -m benchmarks [NAME ...] [--json] [--quick]`: run benchmarks, print their figures.

Without names every benchmark runs and BENCHMARKS.md is rewritten (figures, machine, date,
command); `--quick` runs a tiny version of each (seconds: a smoke test, not figures to quote,
and it never rewrites BENCHMARKS.md); `--write` with names replaces only those sections (and
their summary lines) in BENCHMARKS.md, each saying when it was measured; `--json` prints one
JSON object keyed by benchmark name on stdout (progress goes to stderr). Exit status: 0, 1 when a benchmark failed, 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import (analysis_speed, concurrency, negmas_bench, overhead, paper_scale, reader,
                        replay, report, tokens)
from benchmarks.support import ROOT, llm_status, log_to_stderr, machine, skipped

BENCHMARKS = {m.NAME: m for m in (negmas_bench, paper_scale, analysis_speed, reader, concurrency,
                                  replay, overhead, tokens)}  # in running order: replay reuses concurrency's run
NEEDS_LLM = {"concurrency", "replay", "overhead", "tokens"}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=(__doc__ or "").split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--json", action="store_true", help="print one JSON object of figures")
    parser.add_argument("--quick", action="store_true", help="a tiny version of each (seconds)")
    parser.add_argument("--write", action="store_true",
                        help="with NAMEs: replace those sections of BENCHMARKS.md (--out)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md",
                        help="where a full run of all benchmarks writes its report")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.exit(2, f"python -m benchmarks: unknown benchmark '{unknown[0]}' "
                       f"(known: {', '.join(BENCHMARKS)})\n")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    names = [n for n in BENCHMARKS if n in args.names] if args.names else list(BENCHMARKS)
    log = log_to_stderr if args.json else (lambda m: print(m, flush=True))
    started = time.time()
    workdir = Path(tempfile.mkdtemp(prefix="persona-arena-bench-"))
    ctx: dict[str, Any] = {"workdir": workdir, "machine": machine()}
    results: dict[str, Any] = {}
    failed = False
    llm_missing = llm_status()
    try:
        for name in names:
            module = BENCHMARKS[name]
            log(f"{name}: {module.TITLE}{' (quick)' if args.quick else ''}")
            if name in NEEDS_LLM and llm_missing:
                results[name] = skipped(llm_missing)
                log(f"  skipped: {llm_missing}")
                continue
            began = time.perf_counter()
            try:
                results[name] = module.run(args.quick, log, ctx)
            except Exception as error:  # report it and go on with the others
                failed = True
                results[name] = {"error": f"{type(error).__name__}: {error}"}
                log(traceback.format_exc())
            results[name]["benchmark_seconds"] = round(time.perf_counter() - began, 1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    command = "python -m benchmarks" + (" " + " ".join(sys.argv[1:]) if argv is None
                                        and sys.argv[1:] else "")
    if not args.names and not args.quick:
        report.write(args.out, results, ctx["machine"], command, started, time.time())
        log(f"wrote {args.out}")
    elif args.write and not args.quick and args.out.exists():
        report.update(args.out, results, command, started, time.time())
        log(f"updated {', '.join(results)} in {args.out}")
    if args.json:
        print(json.dumps(results, indent=1, default=str))
    else:
        print(report.headlines(results))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
