"""How well the offline move extractor reproduces the paper's GPT-4o labels.

Run from the repository root::

    python -m benchmarks.extractor_agreement [--json] [--results DIR] [--examples N]

For each model of "Kiss up, Kick down" Study 2 (gpt-4o, claude-3-haiku) it reads the released
xlsx files, runs :func:`scenarios.extract.extract_claim` on every proposal and
:func:`scenarios.extract.extract_acceptance` on every reply, and prints the agreement with the
paper's labels, the disagreement kinds with counts, the time per call and a few example
disagreements. The results folder defaults to ``../shared/reference/kiss-up-kick-down``
relative to the repository root; the data is never copied into the project.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from analysis.paper import (
    ACCEPTANCE_KINDS,
    CLAIM_KINDS,
    MODELS,
    disagreements,
    extractor_agreement,
    read_study2,
)
from scenarios.errors import InputError
from scenarios.extract import extract_acceptance, extract_claim

DEFAULT_RESULTS = Path(__file__).resolve().parents[2] / "shared/reference/kiss-up-kick-down"


def _per_call_us(func: Any, texts: list[str], sample: int = 5000) -> float:
    """Mean CPU microseconds per call over (an evenly spaced sample of) `texts`."""
    step = max(1, len(texts) // sample)
    texts = texts[::step]
    start = time.process_time()
    for text in texts:
        func(text)
    return (time.process_time() - start) / max(1, len(texts)) * 1e6


def _examples(found: Any, count: int) -> list[dict[str, Any]]:
    """Up to `count` example disagreements, spread over the kinds, deterministic."""
    if count <= 0 or found.empty:
        return []
    picked = []
    kinds = [k for k in (*CLAIM_KINDS, *ACCEPTANCE_KINDS) if (found["kind"] == k).any()]
    per_kind = max(1, count // max(1, len(kinds)))
    for kind in kinds:
        rows = found[found["kind"] == kind].sort_values(["file", "row", "round"])
        for rec in rows.head(per_kind).to_dict("records"):
            text = " ".join(str(rec["text"]).split())
            picked.append({
                "measure": rec["measure"], "kind": kind, "file": rec["file"],
                "row": int(rec["row"]), "round": int(rec["round"]),
                "extracted": rec["extracted"], "label": rec["label"],
                "ambiguous": bool(rec["ambiguous"]),
                "text": text if len(text) <= 300 else text[:297] + "...",
            })
    return picked[:count]


def run(results: Path, examples: int = 6) -> dict[str, Any]:
    report: dict[str, Any] = {"results_dir": str(results), "models": {}}
    for model in MODELS:
        frame = read_study2(results, model)
        found = disagreements(frame)
        agreement = extractor_agreement(frame, found=found, detail=True)
        agreement["us_per_call"] = {
            "claim": round(_per_call_us(extract_claim, list(frame["proposal_text"])), 1),
            "acceptance": round(_per_call_us(extract_acceptance, list(frame["response_text"])), 1),
        }
        agreement["examples"] = _examples(found, examples)
        report["models"][model] = agreement
    return report


def _print_text(report: dict[str, Any]) -> None:
    print(f"extractor agreement with the paper's GPT-4o labels ({report['results_dir']})")
    for model, res in report["models"].items():
        print(f"\n{model}: {res['n_claim']} proposals, {res['n_acceptance']} replies")
        print(f"  claim       {res['claim']:.4f}   (texts the labeller read inconsistently "
              f"excluded: {res['claim_unambiguous']:.4f})")
        print(f"  acceptance  {res['acceptance']:.4f}   (texts the labeller read inconsistently "
              f"excluded: {res['acceptance_unambiguous']:.4f})")
        print(f"  time per call: claim {res['us_per_call']['claim']:.0f} us, acceptance "
              f"{res['us_per_call']['acceptance']:.0f} us")
        print("  disagreements:")
        for kind, count in res["disagreements"].items():
            if count:
                meaning = CLAIM_KINDS.get(kind) or ACCEPTANCE_KINDS.get(kind, "")
                print(f"    {kind:<22} {count:>5}  {meaning}")
        print(f"    of which on ambiguous texts: claim {res['ambiguous']['claim']}, "
              f"acceptance {res['ambiguous']['acceptance']}")
        if res["examples"]:
            print("  examples:")
            for ex in res["examples"]:
                print(f"    [{ex['kind']}] {ex['file']} row {ex['row']} round {ex['round']}: "
                      f"extracted {ex['extracted']!r}, paper {ex['label']!r}")
                print(f"      {ex['text']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.extractor_agreement",
        description="Agreement of the offline move extractor with the paper's labels.")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS,
                        help="the paper's Results folder (default: %(default)s)")
    parser.add_argument("--examples", type=int, default=6,
                        help="example disagreements per model (default: %(default)s)")
    args = parser.parse_args(argv)
    if not args.results.is_dir():
        print(f"error: {args.results}: no such results folder (the paper's released Study 2 "
              f"files are needed)", file=sys.stderr)
        return 2
    try:
        report = run(args.results, args.examples)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
