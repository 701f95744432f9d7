"""The equivalence section: a TOST of two conditions' mean claim (analysis.equivalence), when
`report --equivalence A:B --margin M` asked for one."""
from __future__ import annotations

from typing import Any

from analysis.report.markup import esc, num


def equivalence_section(result: dict[str, Any] | None) -> str:
    if result is None:
        return ""
    method = "paired by persona" if result["paired"] else "Welch, personas as units"
    rows = [("groups", f"{esc(result['a'])} → {esc(result['b'])}"),
            ("personas", f"{result['clusters_a']} / {result['clusters_b']}"),
            ("claims", f"{result['n_a']:,} / {result['n_b']:,}"),
            ("mean claim", f"{num(result['mean_a'])} / {num(result['mean_b'])}"),
            ("margin", f"±{result['margin']:g} (α = {result['alpha']:g}, {method})")]
    if result["status"] == "ok":
        lo, hi = result["ci"]
        rows += [("difference", f"{num(result['diff'], 3)} [{num(lo, 3)}, {num(hi, 3)}] "
                                f"{result['ci_level']:.0%} CI"),
                 ("TOST p", num(result["p"], 4)),
                 ("verdict", esc(result["verdict"]) + (" (the 95% CI excludes 0)"
                                                      if result["different"] else ""))]
    else:
        rows.append(("verdict", f"degenerate: {esc(result['status_reason'])}"))
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return ('<section id="equivalence"><h2>Equivalence of conditions (TOST)</h2>'
            "<p>Is the mean claim of the second group within the margin of the first's? "
            "Equivalent only when the interval lies inside ±margin; a difference that is not "
            "significant is no evidence of sameness.</p>"
            f"<table>{body}</table></section>")
