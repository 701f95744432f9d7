"""The run health section: invalid turns and their reasons, empty replies, failed matches
with their errors, and the runner's stored counters (analysis.health)."""
from __future__ import annotations

from typing import Any

from analysis.report.markup import esc, num, share


def health_section(health: dict[str, Any]) -> str:
    rows = [("turns", num(health["turns"])),
            ("invalid turns", f"{num(health['invalid_turns'])} ({share(health['invalid_share'])})"),
            ("empty replies", num(health["empty_replies"])),
            ("failed matches", f"{num(health['failed_matches'])} "
                               f"({share(health['failed_share'])})")]
    for name, value in (health.get("counters") or {}).items():
        rows.append((f"runner: {name.replace('_', ' ')}", num(value)))
    table = "".join(f"<tr><td>{esc(k)}</td><td>{v}</td></tr>" for k, v in rows)
    parts = ['<section id="health"><h2>Run health</h2>',
             f'<table class="health">{table}</table>']
    if health.get("counters") is None:
        parts.append('<p class="note">This run stored no runner counters (requests, retries, '
                     'delivery failures, timeouts, cache hits).</p>')
    if health["invalid_reasons"]:
        items = "".join(f"<tr><td>{esc(r['reason'])}</td><td>{num(r['count'])}</td></tr>"
                        for r in health["invalid_reasons"])
        parts.append("<h3>Commonest reasons for invalid turns</h3><table><tr><th>reason</th>"
                     f"<th>turns</th></tr>{items}</table>")
    extractor = health.get("extractor")
    if extractor:
        parts.append(f'<h3>LLM extractor</h3><p class="note">It read {num(extractor["read"])} '
                     f'turns; {num(extractor["refused"])} of its answers were refused (the '
                     "claim is not in the reply's text, or not a legal move). Every answer is "
                     "stored with its turn (turns.extractor_answer) and shown in the "
                     "transcripts.</p>")
        if extractor["refused_examples"]:
            items = "".join(f'<tr><td>{esc(r["match_id"])} #{r["turn_index"]}</td>'
                            f'<td>{esc(r["answer"])}</td><td>{esc(r["reason"])}</td></tr>'
                            for r in extractor["refused_examples"])
            parts.append("<table><tr><th>turn</th><th>extractor answer</th><th>why refused"
                         f"</th></tr>{items}</table>")
    if health["failed_examples"]:
        items = "".join(f'<tr><td>{esc(r["match_id"])}</td><td class="error">{esc(r["error"])}'
                        "</td></tr>" for r in health["failed_examples"])
        parts.append("<h3>Failed matches</h3><table><tr><th>match</th><th>error</th></tr>"
                     f"{items}</table>")
    parts.append("</section>")
    return "".join(parts)
