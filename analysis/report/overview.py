"""The run summary section: tiles that each say what they count, and the headline sentence of
the result (the own and opponent effects on the claim, or why there is none)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.effects import agents_of
from analysis.frames import RunFrames, store_path
from analysis.report.markup import esc, num, share
from analysis.report.pool import personas_that_played

TERMS = (("own", "each level of the player's own aggressiveness"),
         ("opp", "each level of the opponent's aggressiveness"))


def _tiles(frames: RunFrames, summary: dict[str, Any]) -> list[tuple[str, str]]:
    m = frames.matches
    calls = int(pd.to_numeric(m.get("calls"), errors="coerce").fillna(0).sum()) if len(m) else 0
    tokens = sum(int(pd.to_numeric(m[c], errors="coerce").fillna(0).sum())
                 for c in ("prompt_tokens", "completion_tokens") if c in m)
    units = summary.get("units") or {}
    of = (f" ({units.get('units')} of {units['stake']:g})" if units.get("stake") is not None
          else "")
    played = len(personas_that_played(frames))
    health = summary.get("health", {})
    return [("matches", num(summary["matches"])),
            ("failed matches", num(summary["failed"])),
            ("matches ending in a deal", share(summary.get("deal_rate"))),
            ("proposals by personas", num(summary.get("proposals", 0))),
            (f"mean claim by personas{of}", num(summary.get("mean_claim"), 1)),
            ("of personas' proposals accepted", share(summary.get("acceptance_rate"))),
            ("of responses by personas accept", share(summary.get("response_acceptance_rate"))),
            (f"personas played (pool {len(frames.personas):,})", num(played)),
            ("invalid turns", num(health.get("invalid_turns"))),
            (f"LLM calls ({tokens:,} tokens)", num(calls))]


def _headline(agent: str, head: dict[str, Any], several: bool,
              others: bool = False) -> str | None:
    parts = []
    terms = TERMS if not others else (TERMS[0], ("opp", "each level of the others' mean "
                                                        "aggressiveness"))
    for term, words in terms:
        fit = head.get(term, {}).get("ols")
        if fit and fit.get("ci", [None])[0] is None:
            parts.append(f"{words}: no estimate (the fit is {esc(fit['status'])})")
        elif fit:
            lo, hi = fit["ci"]
            bold = "b" if fit.get("significant") else "span"
            flag = "" if fit["status"] == "ok" else f" ({esc(fit['status'])})"
            parts.append(f"{words} changes the claim by <{bold}>{fit['estimate']:+.2f}"
                         f"</{bold}> (95% CI {lo:+.2f} to {hi:+.2f}){flag}")
    if not parts:
        return None
    sentence = "; ".join(parts) + "."
    sentence = f"{esc(agent)}: {sentence}" if several else sentence[0].upper() + sentence[1:]
    reasons = {f.get("status_reason") for t, _ in TERMS
               for f in [head.get(t, {}).get("ols") or {}] if f.get("status") not in (None, "ok")}
    reasons.discard(None)
    why = "".join(f'<br><span class="note">{esc(r)}</span>' for r in sorted(reasons))
    return f'<p class="headline">{sentence}{why}</p>'


def summary_section(frames: RunFrames, summary: dict[str, Any], run_dir: Path) -> str:
    body = "".join(f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>'
                   for k, v in _tiles(frames, summary))
    agents = ", ".join(agents_of(frames)) or "–"
    lines = [f'<section id="summary"><h2>Run summary</h2><div class="cards">{body}</div>',
             '<p class="note tiles-note">Proposals, claims and responses count what personas '
             "did (a scripted confederate's moves are left out), as the figures and models do; "
             "deals count matches.</p>",
             f'<p class="note">Players: {esc(agents)}. Store: {esc(store_path(run_dir))}.</p>']
    heads = summary.get("headlines", {})
    for agent, head in heads.items():
        line = _headline(agent, head, len(heads) > 1, others=frames.multi_seat)
        if line:
            lines.append(line)
    if any(h.get("opp") for h in heads.values()):
        lines.append('<p class="note">OLS of the claim on both levels, standard errors '
                     'clustered by persona; the mixed model is in the tables below.</p>')
    elif heads:
        lines.append('<p class="note">Only the own level varies in this run (each persona '
                     'faces a script or no image): OLS of the claim on the own level, standard '
                     'errors clustered by persona.</p>')
    if any(a.startswith("surrogate") for a in agents_of(frames)):
        lines.append('<p class="note">These players are a <b>surrogate</b>: a statistical '
                     'model fitted to the paper\'s released data, not an LLM.</p>')
    if frames.meta.get("simulated"):
        lines.append(f'<p class="note simulated"><b>{esc(frames.meta["simulated"])}</b>.</p>')
    agreement = frames.meta.get("extractor_agreement")
    if agreement:
        data = json.loads(agreement)
        claim, accept = data.get("claim"), data.get("acceptance")
        if claim is not None and accept is not None:
            lines.append(
                '<p class="note">Imported from the paper\'s released files. Our extractor '
                f"agrees with the paper's GPT-4o labels on {claim:.1%} of claims and "
                f"{accept:.1%} of acceptances (the LLM's own texts).</p>")
    lines.append("</section>")
    return "\n".join(lines)
