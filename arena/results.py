"""What a run's store holds, in a few lines: the summary `run` ends with.

Plain SQL over RUN_DIR/arena.sqlite (no pandas, no model fits), so it costs milliseconds after
a run of any size; `persona-arena analyze` and `report` give the models and figures.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from arena.store import STORE_NAME

# proposals made by personas (a scripted confederate has none), by agent and proposer's level
_CLAIM_BY_LEVEL = """
SELECT CASE t.speaker WHEN 'a' THEN m.agent_a ELSE m.agent_b END AS agent,
       CASE t.speaker WHEN 'a' THEN m.level_a ELSE m.level_b END AS level, AVG(t.claim)
FROM turns t JOIN matches m ON m.match_id = t.match_id
WHERE m.status = 'ok' AND t.move_kind IN ('propose', 'counter') AND t.claim IS NOT NULL
  AND t.persona_id IS NOT NULL AND m.agent_a IS NOT NULL
GROUP BY agent, level ORDER BY agent, level"""
_PAYOFF_BY_LEVEL = """
SELECT agent, level, AVG(payoff) FROM (
  SELECT agent_a AS agent, level_a AS level, payoff_a AS payoff FROM matches
  WHERE status = 'ok' AND persona_a IS NOT NULL AND payoff_a IS NOT NULL
  UNION ALL
  SELECT agent_b, level_b, payoff_b FROM matches
  WHERE status = 'ok' AND persona_b IS NOT NULL AND payoff_b IS NOT NULL)
GROUP BY agent, level ORDER BY agent, level"""
_MEANS = (("claim_by_level", _CLAIM_BY_LEVEL), ("payoff_by_level", _PAYOFF_BY_LEVEL))
# matches of more than two seats (their two-seat columns are empty): the same from `seats`
_SEATS_CLAIM = """
SELECT s.agent, s.level, AVG(t.claim)
FROM turns t JOIN matches m ON m.match_id = t.match_id
JOIN seats s ON s.match_id = t.match_id AND s.seat = t.speaker
WHERE m.status = 'ok' AND m.agent_a IS NULL AND t.move_kind IN ('propose', 'counter')
  AND t.claim IS NOT NULL AND t.persona_id IS NOT NULL
GROUP BY s.agent, s.level ORDER BY s.agent, s.level"""
_SEATS_PAYOFF = """
SELECT s.agent, s.level, AVG(s.payoff) FROM seats s JOIN matches m ON m.match_id = s.match_id
WHERE m.status = 'ok' AND m.agent_a IS NULL AND s.persona_id IS NOT NULL
  AND s.payoff IS NOT NULL
GROUP BY s.agent, s.level ORDER BY s.agent, s.level"""
_SEAT_MEANS = (("claim_by_level", _SEATS_CLAIM), ("payoff_by_level", _SEATS_PAYOFF))


def run_results(run_dir: Path) -> dict[str, Any]:
    """Counts and per-level means of everything stored in RUN_DIR (all runs into it, resumed
    ones included): matches ok and failed, deals, invalid turns, and for each agent, by its
    persona's own level, the mean claim of its proposals and its mean payoff a match (in the
    scenario's units)."""
    path = Path(run_dir) / STORE_NAME
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ok, failed, deals = conn.execute(
            "SELECT COALESCE(SUM(status = 'ok'), 0), COALESCE(SUM(status = 'failed'), 0), "
            "COALESCE(SUM(status = 'ok' AND deal > 0), 0) FROM matches").fetchone()
        invalid = conn.execute(
            "SELECT COUNT(*) FROM turns WHERE move_kind = 'invalid'").fetchone()[0]
        by_agent: dict[str, dict[str, dict[str, float]]] = {}
        note = conn.execute("SELECT value FROM meta WHERE key = 'simulated'").fetchone()
        has_seats = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'seats'").fetchone() is not None
        for key, sql in _MEANS + (_SEAT_MEANS if has_seats else ()):
            for agent, level, mean in conn.execute(sql):
                table = by_agent.setdefault(str(agent), {k: {} for k, _ in _MEANS})[key]
                table["none" if level is None else str(level)] = round(mean, 2)
    finally:
        conn.close()
    found = {"store": str(path), "ok": ok, "failed": failed, "deals": deals,
             "invalid_turns": invalid, "by_agent": by_agent}
    if note:  # planted agents (arena.run_dir): no model played
        found["simulated"] = note[0]
    return found


def format_results(results: dict[str, Any], run_dir: Path) -> str:
    """The lines `run` prints after its own count of the matches it played."""
    ok = results["ok"]
    deal_rate = f" ({results['deals'] / ok:.1%} of ok matches)" if ok else ""
    lines = [f"  {results['simulated']}"] if results.get("simulated") else []
    lines += [f"  stored: {ok:,} ok, {results['failed']:,} failed; {results['deals']:,} deals"
             f"{deal_rate}; {results['invalid_turns']:,} invalid turns"]
    several = len(results["by_agent"]) > 1
    indent = "    " if several else "  "
    for agent, means in results["by_agent"].items():
        if several:
            lines.append(f"  {agent}:")
        for key, label in (("claim_by_level", "mean claim by own level"),
                           ("payoff_by_level", "mean payoff by own level")):
            if means[key]:
                cells = "  ".join(f"{k}: {v:.1f}" for k, v in means[key].items())
                lines.append(f"{indent}{label:<25} {cells}")
    if results["failed"]:
        lines.append("  failed matches keep their error (matches.error); --resume plays them "
                     "again")
    lines.append(f"  results in {results['store']}; next: persona-arena analyze {run_dir}, "
                 f"persona-arena report {run_dir}")
    return "\n".join(lines)
