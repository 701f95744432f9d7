"""Agreement of our offline reader with the paper's labels, reported with its coverage.

A reader that may abstain is judged three ways: agreement on the readings it is sure of, the
share it abstains on (unsure, or nothing found), and agreement with abstentions counted as
errors (what a run that trusts only sure readings gets right). The share of non-empty texts it
is unsure of is what an `extractor = "hybrid"` run would send to its LLM extractor.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analysis.paper import PIE, classify_acceptance, classify_claim
from scenarios.reading import THRESHOLD, Reading


def _figures(readings: Sequence[Reading], agrees: Sequence[bool], texts: Sequence[str],
             threshold: float = THRESHOLD) -> dict[str, Any]:
    n = len(readings)
    sure = [r.value is not None and r.confidence >= threshold for r in readings]
    n_sure = sum(sure)
    right = sum(1 for s, ok in zip(sure, agrees) if s and ok)
    nonempty = [bool(t.strip()) for t in texts]
    unsure_text = sum(1 for s, e in zip(sure, nonempty) if e and not s)
    return {
        "n": n, "n_confident": n_sure,
        "confident_agreement": right / n_sure if n_sure else None,
        "abstention": (n - n_sure) / n if n else None,
        "overall_agreement": right / n if n else None,
        "llm_share": unsure_text / sum(nonempty) if any(nonempty) else None,
        "n_text": sum(nonempty), "n_sent": unsure_text,
    }


def claim_coverage(readings: Sequence[Reading], labels: Sequence[float],
                   texts: Sequence[str], pie: float = PIE,
                   threshold: float = THRESHOLD) -> dict[str, Any]:
    """The three figures for claims (labels: the paper's numbers, NaN where none), trusting
    readings scored at least `threshold` (a scenario's `read_threshold`)."""
    agrees = [classify_claim(r.value, float(label), pie, t) is None  # type: ignore[arg-type]
              for r, label, t in zip(readings, labels, texts)]
    return _figures(readings, agrees, texts, threshold)


def acceptance_coverage(readings: Sequence[Reading], labels: Sequence[float],
                        texts: Sequence[str], threshold: float = THRESHOLD) -> dict[str, Any]:
    """The three figures for acceptances (labels: the paper's 1/0, NaN where none)."""
    agrees = [classify_acceptance(r.value, float(label), t) is None  # type: ignore[arg-type]
              for r, label, t in zip(readings, labels, texts)]
    return _figures(readings, agrees, texts, threshold)


def coverage(claims: dict[str, Any], acceptances: dict[str, Any],
             threshold: float = THRESHOLD) -> dict[str, Any]:
    """Both measures, the threshold, and the share of all readings a hybrid run sends on."""
    texts = claims["n_text"] + acceptances["n_text"]
    sent = claims["n_sent"] + acceptances["n_sent"]
    return {"threshold": threshold, "claim": claims, "acceptance": acceptances,
            "llm_share": sent / texts if texts else None}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def format_coverage(figures: dict[str, Any], indent: str = "  ") -> list[str]:
    """Lines a person reads: per measure, sure-agreement, abstention and overall."""
    lines = []
    for measure, label in (("claim", "claims"), ("acceptance", "acceptances")):
        m = figures[measure]
        lines.append(f"{indent}{label:<12} agreement on confident readings "
                     f"{_pct(m['confident_agreement'])}, abstained {_pct(m['abstention'])}, "
                     f"overall (abstentions as errors) {_pct(m['overall_agreement'])}")
    lines.append(f"{indent}a hybrid run would send {_pct(figures['llm_share'])} of its readings "
                 f"to the LLM extractor (confidence below {figures['threshold']:g})")
    return lines
