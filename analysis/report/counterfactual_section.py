"""The counterfactual section: each varied attribute's within-identity effect on each outcome
(analysis.counterfactual), for runs whose pool holds identity sets."""
from __future__ import annotations

from typing import Any

from analysis.counterfactual import counterfactual_effects, has_identity_sets
from analysis.fit_status import OK
from analysis.frames import RunFrames
from analysis.report.markup import esc, num


def counterfactual_section(frames: RunFrames) -> str:
    if not has_identity_sets(frames):
        return ""
    result = counterfactual_effects(frames)
    head = ("<tr><th>outcome</th><th>attribute</th><th>value vs reference</th>"
            "<th>identities</th><th>effect [95% CI]</th><th>p</th><th>Holm p</th></tr>")
    rows = []
    for r in result["rows"]:
        if r["status"] == OK:
            effect = f"{num(r['estimate'], 4)} [{num(r['ci_low'], 4)}, {num(r['ci_high'], 4)}]"
            p, holm = num(r["p"], 3), num(r["p_holm"], 3) + (" *" if r["significant"] else "")
        else:
            effect = f"{num(r['estimate'], 4)} ({esc(r['status'])}: {esc(r['reason'])})"
            p = holm = "–"
        rows.append(f"<tr><td>{esc(r['outcome'])}</td><td>{esc(r['attribute'])}</td>"
                    f"<td>{esc(r['value'])} vs {esc(r['reference'])}</td>"
                    f"<td>{r['n_identities']}</td><td>{effect}</td><td>{p}</td>"
                    f"<td>{holm}</td></tr>")
    note = f"<p>{esc(result['note'])}</p>" if result.get("note") else ""
    return ('<section id="counterfactual"><h2>Counterfactual attributes</h2>'
            f"<p>{result['identities']} identities, each rendered with every value of "
            f"{esc(', '.join(result['attributes']))}; every variant met the same opponents in "
            "the same seats with the same seeds. An effect is the mean over identities of the "
            "difference between the variants with the value and those with the reference, "
            f"with a t interval on identities; * marks Holm p &lt; {result['alpha']:g} "
            f"({esc(result['family'])}).</p>{note}"
            f"<table>{head}{''.join(rows)}</table></section>")
