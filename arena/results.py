"""What a run's store holds, in a few lines: the summary `run` ends with.

Plain SQL over RUN_DIR/arena.sqlite (no pandas, no model fits), so it costs milliseconds after
a run of any size; `persona-arena analyze` and `report` give the models and figures.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from arena.tournament import STORE_NAME

# proposals made by personas (a scripted confederate has no persona), at the proposer's level
_CLAIM_BY_LEVEL = """
SELECT CASE t.speaker WHEN 'a' THEN m.level_a ELSE m.level_b END AS level,
       AVG(t.claim), COUNT(*)
FROM turns t JOIN matches m ON m.match_id = t.match_id
WHERE m.status = 'ok' AND t.move_kind IN ('propose', 'counter') AND t.claim IS NOT NULL
  AND t.persona_id IS NOT NULL
GROUP BY level ORDER BY level"""
_PAYOFF_BY_LEVEL = """
SELECT level, AVG(payoff), COUNT(*) FROM (
  SELECT level_a AS level, payoff_a AS payoff FROM matches
  WHERE status = 'ok' AND persona_a IS NOT NULL AND payoff_a IS NOT NULL
  UNION ALL
  SELECT level_b, payoff_b FROM matches
  WHERE status = 'ok' AND persona_b IS NOT NULL AND payoff_b IS NOT NULL)
GROUP BY level ORDER BY level"""


def run_results(run_dir: Path) -> dict[str, Any]:
    """Counts and per-level means of everything stored in RUN_DIR (all runs into it, resumed
    ones included): matches ok and failed, deals, invalid turns, and by the persona's own
    level the mean claim of its proposals and its mean payoff a match (scenario units)."""
    path = Path(run_dir) / STORE_NAME
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ok, failed, deals = conn.execute(
            "SELECT COALESCE(SUM(status = 'ok'), 0), COALESCE(SUM(status = 'failed'), 0), "
            "COALESCE(SUM(status = 'ok' AND deal > 0), 0) FROM matches").fetchone()
        invalid = conn.execute(
            "SELECT COUNT(*) FROM turns WHERE move_kind = 'invalid'").fetchone()[0]
        claims = conn.execute(_CLAIM_BY_LEVEL).fetchall()
        payoffs = conn.execute(_PAYOFF_BY_LEVEL).fetchall()
    finally:
        conn.close()
    return {"store": str(path), "ok": ok, "failed": failed, "deals": deals,
            "invalid_turns": invalid,
            "claim_by_level": {_key(level): round(mean, 2) for level, mean, _ in claims},
            "payoff_by_level": {_key(level): round(mean, 2) for level, mean, _ in payoffs}}


def _key(level: Any) -> str:
    return "none" if level is None else str(level)


def format_results(results: dict[str, Any], run_dir: Path) -> str:
    """The lines `run` prints after its own count of the matches it played."""
    ok = results["ok"]
    deal_rate = f" ({results['deals'] / ok:.1%} of ok matches)" if ok else ""
    lines = [f"  stored: {ok:,} ok, {results['failed']:,} failed; {results['deals']:,} deals"
             f"{deal_rate}; {results['invalid_turns']:,} invalid turns"]
    for key, label, digits in (("claim_by_level", "mean claim by own level", 1),
                               ("payoff_by_level", "mean payoff by own level", 1)):
        if results[key]:
            cells = "  ".join(f"{k}: {v:.{digits}f}" for k, v in results[key].items())
            lines.append(f"  {label:<25} {cells}")
    if results["failed"]:
        lines.append(f"  failed matches keep their error (matches.error); rerun with --resume "
                     "to play them again")
    lines.append(f"  results in {results['store']}; next: persona-arena analyze {run_dir}, "
                 f"persona-arena report {run_dir}")
    return "\n".join(lines)
