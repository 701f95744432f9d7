"""The transcripts section: a reproducible, varied sample of matches shown turn by turn, model
text exactly as written (escaped: it is untrusted input)."""
from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from analysis.frames import RunFrames
from analysis.report.markup import esc, is_level, lv, num
from analysis.report.thumbnails import Thumbnails, chip

TRANSCRIPTS = 24  # matches shown in full


def sample_matches(frames: RunFrames, k: int = TRANSCRIPTS) -> list[str]:
    """A reproducible, varied sample: spread over level differences, failures included."""
    m = frames.matches
    if m.empty:
        return []
    keyed = m.assign(
        _key=[hashlib.sha256(str(x).encode()).hexdigest() for x in m["match_id"]],
        _diff=(pd.to_numeric(m["level_a"], errors="coerce")
               - pd.to_numeric(m["level_b"], errors="coerce")).fillna(0))
    failed = keyed[keyed["status"] != "ok"].sort_values("_key").head(max(1, k // 6))
    rest = keyed.drop(failed.index).sort_values("_key")
    groups = [g for _, g in rest.groupby("_diff", sort=True)]
    picked: list[str] = list(failed["match_id"])
    depth = 0
    while len(picked) < k and any(depth < len(g) for g in groups):
        for g in groups:
            if depth < len(g) and len(picked) < k:
                picked.append(g.iloc[depth]["match_id"])
        depth += 1
    order = keyed.set_index("match_id").loc[picked].sort_values(["_diff", "_key"])
    return [str(x) for x in order.index]


def _turn_html(turn: dict[str, Any], thumbs: Thumbnails, levels: dict[str, Any]) -> str:
    side = "b" if turn["speaker"] == "b" else "a"
    persona = turn.get("persona_id")
    kind = str(turn.get("move_kind") or "")
    claim = turn.get("claim")
    detail = kind
    if kind in ("propose", "counter") and claim is not None and claim == claim:
        detail = f"{kind} {claim:g}"
    paper = ""
    if turn.get("paper_claim") is not None and turn.get("paper_claim") == turn.get("paper_claim"):
        paper = f'<span class="move">paper: {num(turn["paper_claim"], 0)}</span>'
    elif is_level(turn.get("paper_accepted")):  # a 0/1 label (present and not NaN)
        paper = (f'<span class="move">paper: '
                 f'{"accept" if turn["paper_accepted"] == 1 else "reject"}</span>')
    who = esc(persona) if persona is not None and persona == persona else "confederate"
    reason = (f'<div class="note">{esc(turn["reason"])}</div>'
              if kind == "invalid" and turn.get("reason") else "")
    answer = turn.get("extractor_answer")
    if isinstance(answer, str):
        reason += f'<div class="note">LLM extractor answered: {esc(answer)}</div>'
    avatar = (chip(thumbs, persona, levels.get(side))
              if persona is not None and persona == persona else '<span class="chip bot"></span>')
    return (f'<div class="turn {side}">{avatar}<div class="bubble"><div class="who">'
            f"round {esc(turn.get('round'))} · {esc(turn.get('role'))} · {who}"
            f'<span class="move {esc(kind)}">{esc(detail)}</span>{paper}</div>'
            f'<div class="text">{esc(turn.get("text"))}</div>{reason}</div></div>')


def transcripts_section(frames: RunFrames, thumbs: Thumbnails) -> str:
    chosen = sample_matches(frames)
    if not chosen:
        return ""
    matches = frames.matches.set_index("match_id")
    turns = frames.turns[frames.turns["match_id"].isin(chosen)]
    by_match = {mid: g for mid, g in turns.groupby("match_id", sort=False)}
    parts = ['<section id="transcripts"><h2>Transcripts</h2>'
             f'<p class="note">{len(chosen)} of {len(matches):,} matches, spread over level '
             "differences (click one to open it). Model text is shown exactly as written, "
             "as plain text.</p>"]
    for i, mid in enumerate(chosen):
        row = matches.loc[mid]
        levels = {"a": row.get("level_a"), "b": row.get("level_b")}
        heads = []
        for seat in ("a", "b"):
            pid = row.get(f"persona_{seat}")
            if pid is not None and pid == pid:
                heads.append(chip(thumbs, pid, levels[seat])
                             + f"<span>{esc(pid)} <span class=\"note\">level "
                               f"{esc(lv(levels[seat]))}</span></span>")
            else:
                heads.append(f"<span>{esc(row.get(f'agent_{seat}') or 'script')}</span>")
        status = row.get("status")
        meta = (f"payoffs {num(row.get('payoff_a'), 0)} / {num(row.get('payoff_b'), 0)}"
                if status == "ok" else '<span class="error">failed</span>')
        if is_level(levels["a"]) and is_level(levels["b"]):
            meta = f"level difference {int(levels['a']) - int(levels['b']):+d} · {meta}"
        body = "".join(_turn_html(t, thumbs, levels)
                       for t in by_match.get(mid, pd.DataFrame()).to_dict("records"))
        if status != "ok" and row.get("error"):
            body += f'<p class="error">{esc(row.get("error"))}</p>'
        parts.append(f'<details class="match"{" open" if i == 0 else ""}><summary>'
                     f'{heads[0]}<span class="vs">vs</span>{heads[1]}<span class="meta">'
                     f"{esc(mid)}<br>{meta}</span></summary><div class=\"turns\">{body}</div>"
                     "</details>")
    parts.append("</section>")
    return "".join(parts)
