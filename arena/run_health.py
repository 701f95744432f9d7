"""What a reader of a run's results must know first, stored with the run and shown at its end."""
from __future__ import annotations

from typing import Any

from arena.store import Store


def run_health(store: Store, llm_stats: dict[str, Any] | None) -> dict[str, Any]:
    """How many turns could not be used and why, empty replies, failed matches, and what the
    models' servers did (delivery, retries)."""
    conn = store.conn
    turns, invalid = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(move_kind = 'invalid'), 0) FROM turns").fetchone()
    reasons = conn.execute(
        "SELECT CASE WHEN instr(reason, ':') > 0 THEN substr(reason, 1, instr(reason, ':') - 1) "
        "ELSE reason END AS why, COUNT(*) AS n FROM turns WHERE move_kind = 'invalid' "
        "GROUP BY why ORDER BY n DESC, why LIMIT 5").fetchall()
    failed = conn.execute("SELECT COUNT(*) FROM matches WHERE status = 'failed'").fetchone()[0]
    health: dict[str, Any] = {
        "turns": turns, "invalid_turns": invalid,
        "invalid_share": round(invalid / turns, 4) if turns else 0.0,
        "invalid_reasons": {why: n for why, n in reasons},
        "empty_replies": conn.execute("SELECT COUNT(*) FROM turns WHERE reason = ?",
                                      ("empty reply",)).fetchone()[0],
        "failed_matches": failed,
    }
    if llm_stats is not None:  # this run's requests (a resumed run's first part is not here)
        health.update({k: llm_stats.get(k, 0) for k in (
            "requests", "cache_hits", "delivery_checked", "delivery_failures", "unchecked",
            "backoffs")})
        health["retries"] = sum(llm_stats.get("retries", {}).values())
    return health


def verdict(health: dict[str, Any], limit: float) -> str | None:
    """Why the run's evidence is not to be trusted (too many invalid turns), or None."""
    share = health["invalid_share"]
    if health["turns"] and share > limit:
        top = ", ".join(f"{why} ({n})" for why, n in health["invalid_reasons"].items())
        return (f"{share:.0%} of the stored turns are invalid, more than [execution] "
                f"max_invalid_share = {limit:g}; most often: {top}")
    return None


def halted(llm_stats: dict[str, Any] | None) -> str | None:
    """Why a model stopped taking requests, or None."""
    if not llm_stats:
        return None
    return next((m["halted"] for m in llm_stats.get("models", {}).values() if m.get("halted")),
                None)
