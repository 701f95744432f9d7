"""The offline move reader against the paper's labels (issue 18), on the released Study 2 texts
of both models: agreement on the readings it is sure of, the share it abstains on, agreement
with abstentions counted as errors (against the pre-confidence reader's agreement, which read
every text and never abstained), and the share of readings an `extractor = "hybrid"` run would
send to its LLM extractor. Targets: confident agreement >= 99% and abstention <= 3% for claims
and for acceptances of each model, overall agreement no lower than the pre-confidence reader's.

Most of what is left is where the paper's own labels disagree with each other on texts of one
form, so the reader abstains: replies that accept and then run on into a next round proposing
more than half for themselves (GPT-4o's labels call about half of them rejections), and Claude
3 Haiku's proposer texts that read as responses ("I must decline your 70/30 offer ... I counter
with 60/40 in your favor"), labelled sometimes with the answered split, sometimes with the
counter. `read_threshold` moves the operating point (0.45 trades abstention for agreement).

The results folder is `../shared/reference/kiss-up-kick-down` (never copied into the project);
without it the benchmark is skipped.
"""
from __future__ import annotations

import time
from typing import Any

from benchmarks.support import ROOT, Log, load_average, skipped

NAME = "reader"
TITLE = "Offline move reader against the paper's labels (Study 2 texts, both models)"
RESULTS = ROOT.parent / "shared" / "reference" / "kiss-up-kick-down"
#: the pre-confidence reader's agreement (every text read, no abstention), issue 18
BEFORE = {"gpt-4o": {"claim": 0.9984, "acceptance": 0.9756},
          "claude-3-haiku": {"claim": 0.9682, "acceptance": 0.9741}}
CONFIDENT, ABSTENTION = 0.99, 0.03
#: a second operating point, where replies that accept and run on into a greedier proposal of
#: their own (confidence 0.475; the paper's GPT-4o labels split 304 / 334 on them) are trusted
LOWER = 0.45


def run(quick: bool, log: Log, ctx: dict[str, Any]) -> dict[str, Any]:
    from analysis.paper import MODELS
    from analysis.replicate import extractor_coverage, read_with_extractor

    if not RESULTS.is_dir():
        return skipped(f"the paper's released Study 2 files are not at {RESULTS}")
    load = load_average()
    out: dict[str, Any] = {"models": {}, "load_average": load}
    began = time.perf_counter()
    out["lower"] = {"threshold": LOWER, "models": {}}
    keep = ("n", "confident_agreement", "abstention", "overall_agreement", "llm_share")
    for model in MODELS:
        frame = read_with_extractor(RESULTS, model)
        cov = extractor_coverage(frame)
        out["models"][model] = {m: {k: cov[m][k] for k in keep} for m in ("claim", "acceptance")}
        out["models"][model]["llm_share"] = cov["llm_share"]
        out["threshold"] = cov["threshold"]
        low = extractor_coverage(frame, LOWER)
        out["lower"]["models"][model] = {m: {k: low[m][k] for k in keep}
                                         for m in ("claim", "acceptance")}
        out["lower"]["models"][model]["llm_share"] = low["llm_share"]
        for m in ("claim", "acceptance"):
            f = cov[m]
            log(f"  {model} {m}: confident {f['confident_agreement']:.2%}, abstained "
                f"{f['abstention']:.2%}, overall {f['overall_agreement']:.2%} (before "
                f"{BEFORE[model][m]:.2%})")
    out["seconds"] = round(time.perf_counter() - began, 1)
    return out


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def headline(r: dict[str, Any]) -> str:
    parts = []
    for model, res in r["models"].items():
        c, a = res["claim"], res["acceptance"]
        parts.append(f"{model} claims {c['confident_agreement']:.2%} / {c['abstention']:.1%} / "
                     f"{c['overall_agreement']:.2%}, acceptances {a['confident_agreement']:.2%} "
                     f"/ {a['abstention']:.1%} / {a['overall_agreement']:.2%}")
    return ("reader: confident agreement / abstention / overall: " + "; ".join(parts)
            + " (targets >= 99%, <= 3%, >= the pre-confidence reader's)")


def _table(models: dict[str, Any]) -> list[str]:
    lines = ["| model | measure | confident agreement (>= 99%) | abstained (<= 3%) | overall, "
             "abstentions as errors | pre-confidence reader | sent to the LLM (hybrid) |",
             "|---|---|---|---|---|---|---|"]
    for model, res in models.items():
        for measure, label in (("claim", "claims"), ("acceptance", "acceptances")):
            f, before = res[measure], BEFORE[model][measure]
            lines.append(
                f"| {model} | {label} | {f['confident_agreement']:.2%} "
                f"({_met(f['confident_agreement'] >= CONFIDENT)}) | {f['abstention']:.2%} "
                f"({_met(f['abstention'] <= ABSTENTION)}) | {f['overall_agreement']:.2%} "
                f"({_met(f['overall_agreement'] >= before - 5e-5)}) | {before:.2%} | "
                f"{f['llm_share']:.2%} |")
    return lines


def markdown(r: dict[str, Any]) -> list[str]:
    lines = _table(r["models"])
    lower = r.get("lower")
    if lower:
        lines += ["", f"The same readings trusted from `read_threshold = {lower['threshold']:g}` "
                  "(replies that accept, then run on into a greedier proposal of their own, "
                  "now read as acceptances: what the text says, though the paper's labels "
                  "split on them):", ""] + _table(lower["models"])
    shares = ", ".join(f"{m} {res['llm_share']:.1%}" for m, res in r["models"].items())
    return lines + ["", f"Default threshold {r['threshold']:g} (the scenario key `read_threshold`). "
                    f"A hybrid run would send {shares} of all its readings (claims and "
                    f"acceptances together) to the LLM extractor. Read in {r['seconds']:.0f} s."]
