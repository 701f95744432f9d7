"""The pairing-effect model tables: every fit says what it fitted on (rows, personas) and its
status; only a significant term of an `ok` fit is bold; a fit that is not ok says why."""
from __future__ import annotations

import math
from typing import Any

from analysis.fit_status import describe
from analysis.report.markup import esc, num

BEHAVIOUR_TITLES = {"claim": "Claim (proposals by personas)",
                    "acceptance": "Acceptance (responses by personas)",
                    "deal": "Deal reached (one row per persona seat)",
                    "payoff": "Payoff (one row per persona seat)"}
HEADER = ("<table><tr><th>model</th><th>term</th><th>estimate</th><th>SE</th><th>95% CI</th>"
          "<th>p</th><th>rows</th><th>personas</th></tr>")


def decimals(fit: dict[str, Any]) -> int:
    """Decimals that show the smallest standard error to two significant digits (3 at least,
    8 at most): a share's effect of 0.0012 must not print as 0.001 with an SE of 0.000."""
    ses = [abs(v) for v in fit.get("se", {}).values() if isinstance(v, float) and v > 0
           and math.isfinite(v)]
    if not ses:
        return 3
    return int(min(max(3, 1 - math.floor(math.log10(min(ses)))), 8))


def model_rows(name: str, fit: dict[str, Any]) -> str:
    """One row per term, then a note row with the status, SDs and captured warnings."""
    groups = fit.get("clusters", fit.get("groups"))
    places = decimals(fit)
    if "coef" not in fit:
        return (f'<tr class="first"><td>{esc(name)}</td><td colspan="5" class="note">'
                f'<span class="error">{esc(describe(fit))}</span></td><td>{num(fit.get("n"))}'
                f"</td><td>{num(groups)}</td></tr>")
    rows = []
    for term in fit["coef"]:
        lo, hi = fit["ci"][term]
        p = fit["p"][term]
        sig = ' class="sig"' if fit.get("significant", {}).get(term) else ""
        first = ' class="first"' if name else ""
        p_text = "–" if p is None else ("<0.001" if p < 0.001 else num(p, 3))
        ci_text = "–" if lo is None else f"{num(lo, places)} to {num(hi, places)}"
        rows.append(f"<tr{first}><td>{esc(name)}</td><td>{esc(term)}</td>"
                    f"<td{sig}>{num(fit['coef'][term], places)}</td>"
                    f"<td>{num(fit['se'][term], places)}"
                    f"</td><td>{ci_text}</td><td>{p_text}</td><td>{num(fit['n'])}</td>"
                    f"<td>{num(groups)}</td></tr>")
        name = ""
    notes = []
    if fit.get("status", "ok") != "ok":
        notes.append(f'<span class="error">{esc(describe(fit))}</span>')
    if "sd_persona" in fit:
        notes.append(f"persona SD {num(fit['sd_persona'], places)}, residual SD "
                     f"{num(fit['sd_resid'], places)}")
    if fit.get("warnings"):
        notes.append("warnings: " + esc("; ".join(fit["warnings"])))
    if notes:
        rows.append('<tr><td></td><td colspan="7" class="note" style="text-align:left">'
                    + " · ".join(notes) + "</td></tr>")
    return "".join(rows)


def models_section(effects_by: dict[str, dict[str, Any]]) -> str:
    parts = ['<section id="models"><h2>Pairing-effect models</h2>'
             '<p class="note">Each behaviour from the acting player\'s side: own level, '
             'opponent level (with more than two seats: the others\' mean level) and their '
             'difference; the share is the behaviour the game declares (its claim read as a '
             'share of what the proposer could win). OLS with standard errors clustered by '
             'persona (t intervals with clusters - 1 df); mixed model with a random intercept '
             'per persona (REML, z intervals). Bold: significant at 5% in a fit whose status is '
             'ok; singular, degenerate or unconverged fits are named and never bold.</p>']
    for agent, effects in effects_by.items():
        if len(effects_by) > 1:
            parts.append(f"<h3>{esc(agent)}</h3>")
        for behaviour, result in effects.items():
            title = BEHAVIOUR_TITLES.get(behaviour) or result.get("label", behaviour)
            title = title[:1].upper() + title[1:]
            parts.append(_behaviour_table(title, result))
            for team, fit in result.get("by_team", {}).items():
                parts.append(_behaviour_table(f"{title}: team {team}", fit))
    parts.append("</section>")
    return "".join(parts)


def _behaviour_table(title: str, result: dict[str, Any]) -> str:
    head = (f"<h3>{esc(title)} <span class=\"note\">{num(result['n'])} rows, "
            f"{num(result.get('personas', 0))} personas</span></h3>")
    if "error" in result:
        return head + (f'<p class="note">{esc(result.get("status", ""))}: '
                       f'{esc(result["error"])}</p>')
    rows = (model_rows("OLS", result.get("ols", {}))
            + (model_rows("OLS on difference", result["ols_diff"])
               if "ols_diff" in result else "")
            + model_rows("Mixed", result.get("mixed", {}))
            + (model_rows("Mixed on difference", result["mixed_diff"])
               if "mixed_diff" in result else ""))
    return f"{head}{HEADER}{rows}</table>"
