"""The rater agreement section (from analysis.agreement, computed once by the summary)."""
from __future__ import annotations

from typing import Any

from analysis.report.markup import esc, num


def agreement_section(result: dict[str, Any] | None) -> str:
    if not result or not result["pairs"]:
        return ""
    rows = "".join(
        f"<tr><td>{esc(p['rater_a'])} vs {esc(p['rater_b'])}</td><td>{num(p['n'])}</td>"
        f"<td>{num(p['spearman'], 3)}</td><td>{num(p['alpha_ordinal'], 3)}</td>"
        f"<td>{num(p['alpha_interval'], 3)}</td><td>{num(p['icc2_1'], 3)}</td>"
        f"<td>{num(p['icc3_1'], 3)}</td></tr>" for p in result["pairs"])
    return ('<section id="agreement"><h2>Rater agreement</h2><table><tr><th>raters</th>'
            "<th>personas</th><th>Spearman</th><th>alpha (ordinal)</th><th>alpha (interval)"
            f"</th><th>ICC(2,1)</th><th>ICC(3,1)</th></tr>{rows}</table></section>")
