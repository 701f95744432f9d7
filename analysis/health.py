"""Run health: what went wrong on the way to the results, so nobody reads effects off a run
whose replies were mostly unusable.

From the store: invalid turns (count, share of all turns, the commonest reasons), empty replies,
failed matches with their errors, and the counters the runner keeps in meta `run_health` (a
JSON object of integers such as requests, retries, delivery_failures, unchecked_delivery,
timeouts, cache_hits), shown as they are.
"""
from __future__ import annotations

import json
from typing import Any

import pandas as pd

from analysis.frames import RunFrames
from scenarios.state import EMPTY_REPLY  # the engine's reason for a reply without text

TOP = 5
EXAMPLES = 10


def _counts(values: pd.Series, top: int = TOP) -> list[dict[str, Any]]:
    counted = values.fillna("(no reason given)").astype(str).str.strip().value_counts()
    return [{"reason": str(k), "count": int(v)} for k, v in counted.head(top).items()]


def stored_counters(meta: dict[str, str]) -> dict[str, int] | None:
    """meta `run_health` as {name: integer}; None when the run has none (or it is unreadable:
    then `{"unreadable": 1}`, rather than a silent nothing)."""
    text = meta.get("run_health")
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return {"unreadable": 1}
    if not isinstance(data, dict):
        return {"unreadable": 1}
    return {str(k): int(v) for k, v in data.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v}


def run_health(frames: RunFrames) -> dict[str, Any]:
    """Invalid turns, empty replies, failed matches and stored counters of one run."""
    turns, matches = frames.turns, frames.matches
    kinds = turns["move_kind"] if "move_kind" in turns else pd.Series(dtype=object)
    reasons = turns["reason"] if "reason" in turns else pd.Series(None, index=turns.index)
    invalid = turns[kinds == "invalid"]
    empty = int((reasons.fillna("").astype(str).str.strip().str.lower() == EMPTY_REPLY).sum())
    failed = matches[matches["status"] == "failed"] if len(matches) else matches
    errors = failed["error"] if "error" in failed else pd.Series(dtype=object)
    return {
        "turns": int(len(turns)),
        "invalid_turns": int(len(invalid)),
        "invalid_share": float(len(invalid) / len(turns)) if len(turns) else None,
        "invalid_reasons": _counts(reasons.loc[invalid.index]),
        "empty_replies": empty,
        "matches": int(len(matches)),
        "failed_matches": int(len(failed)),
        "failed_share": float(len(failed) / len(matches)) if len(matches) else None,
        "errors": [{"error": r["reason"], "count": r["count"]} for r in _counts(errors)],
        "failed_examples": [{"match_id": str(m), "error": None if e != e else str(e)}
                            for m, e in zip(failed["match_id"].head(EXAMPLES),
                                            errors.head(EXAMPLES))],
        "counters": stored_counters(frames.meta),
        "extractor": extractor_audit(turns),
    }


def extractor_audit(turns: pd.DataFrame) -> dict[str, Any] | None:
    """What the LLM extractor answered (`extractor = "llm"`): how many turns it read, how many
    of its answers were refused (not in the reply's text, or not a legal move) and examples of
    those, so a reader can audit the readings. None when no turn was read by it."""
    if "extractor_answer" not in turns:
        return None
    read = turns[turns["extractor_answer"].notna()]
    if read.empty:
        return None
    refused = read[read["move_kind"] == "invalid"]
    return {"read": int(len(read)), "refused": int(len(refused)),
            "refused_examples": [
                {"match_id": str(r["match_id"]), "turn_index": int(r["turn_index"]),
                 "answer": str(r["extractor_answer"])[:200],
                 "reason": None if r.get("reason") is None else str(r["reason"])}
                for r in refused.head(EXAMPLES).to_dict("records")]}


def format_health(health: dict[str, Any]) -> list[str]:
    """The lines `analyze` prints."""
    share = health["invalid_share"]
    lines = [f"  run health: {health['invalid_turns']:,} invalid turns"
             + (f" ({share:.1%} of {health['turns']:,})" if share is not None else "")
             + f", {health['empty_replies']:,} empty replies, {health['failed_matches']:,} "
               "failed matches"]
    if health["invalid_reasons"]:
        lines.append("    invalid turns: " + "; ".join(
            f"{r['reason'][:70]} x{r['count']:,}" for r in health["invalid_reasons"]))
    if health["errors"]:
        lines.append("    failed matches: " + "; ".join(
            f"{r['error'][:70]} x{r['count']:,}" for r in health["errors"]))
    if health.get("extractor"):
        ex = health["extractor"]
        lines.append(f"  LLM extractor: read {ex['read']:,} turns, {ex['refused']:,} of its "
                     "answers refused (not in the reply's text or not a legal move)")
    if health["counters"] is not None:
        lines.append("    runner counters: " + (", ".join(
            f"{k} {v:,}" for k, v in health["counters"].items()) or "none"))
    return lines
