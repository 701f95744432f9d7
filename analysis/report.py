"""A run as one self-contained HTML page a person would rather look at than read.

Everything is inlined (figures and avatar thumbnails as base64 data URIs, CSS in the page, no
script, no external request), so the file can be mailed, archived or opened offline. Every
string that comes from the store (model text, ids, errors, rater names) goes through
html.escape: model replies are untrusted input.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import time
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.agreement import rater_agreement
from analysis.effects import agents_of, behaviour_data, fit_behaviour, headline
from analysis.frames import RunFrames, load_run, store_path
from analysis.summary import summary_from_frames
from scenarios.errors import InputError

THUMB = 96  # px, the avatar thumbnails' longest side
POOL_PER_LEVEL = 24  # thumbnails shown per level; the rest are counted
TRANSCRIPTS = 24  # matches shown in full
LEVEL_COLOURS = ["#2e6f9e", "#3d8fb5", "#6aaed6", "#9aa5b1", "#e6a05a", "#d9653b", "#b23a2e"]
BEHAVIOUR_TITLES = {"claim": "Claim (proposals)", "acceptance": "Acceptance (responses)",
                    "deal": "Deal reached (players)", "payoff": "Payoff (players)"}

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f7f8fa; --accent:#c0392b;
        --blue:#2e6f9e; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color:var(--ink); background:var(--bg); }
header { background:#1f2933; color:#fff; padding:28px 40px 22px; }
header h1 { margin:0 0 4px; font-size:26px; font-weight:650; letter-spacing:-.01em; }
header p { margin:0; color:#cbd2d9; }
main { max-width:1180px; margin:0 auto; padding:8px 32px 60px; }
section { background:#fff; border:1px solid var(--line); border-radius:10px; padding:18px 24px;
          margin:22px 0; }
h2 { font-size:19px; margin:0 0 12px; }
h3 { font-size:15px; margin:18px 0 8px; color:var(--muted); font-weight:600; }
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(112px, 1fr)); gap:10px; }
.card { background:var(--bg); border-radius:8px; padding:10px 14px; }
.card b { display:block; font-size:22px; white-space:nowrap; }
.card span { color:var(--muted); font-size:13px; }
.headline { font-size:16px; margin:14px 0 0; }
.headline b { color:var(--accent); }
.note { color:var(--muted); font-size:13px; }
.pool { display:grid; gap:10px; }
.level { background:var(--bg); border-radius:8px; padding:8px 6px 6px; min-width:0; }
.level-tag { font-weight:650; font-size:13.5px; margin:0 0 6px 4px; white-space:nowrap; }
.level-tag i { display:inline-block; width:11px; height:11px; border-radius:3px;
               margin-right:5px; vertical-align:-1px; }
.thumbs { display:flex; flex-wrap:wrap; gap:4px; justify-content:center; }
figure.avatar { margin:0; text-align:center; width:76px; }
figure.avatar img { width:72px; height:72px; border-radius:10px; object-fit:cover;
                    border:1px solid var(--line); background:#fff; }
figure.avatar figcaption { font-size:11px; color:var(--muted); overflow:hidden;
                           text-overflow:ellipsis; white-space:nowrap; }
.figures { display:grid; grid-template-columns:repeat(auto-fit, minmax(480px, 1fr)); gap:16px; }
.figures figure { margin:0; }
.figures img { width:100%; height:auto; border:1px solid var(--line); border-radius:6px; }
table { border-collapse:collapse; width:100%; font-size:13.5px; margin:4px 0 8px; }
th, td { text-align:right; padding:5px 10px; border-bottom:1px solid var(--line); }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align:left; }
#models td:first-child { font-weight:600; width:150px; }
#models tr.first td { border-top:2px solid var(--line); }
th { color:var(--muted); font-weight:600; background:var(--bg); }
td.sig { font-weight:650; }
details.match { border:1px solid var(--line); border-radius:8px; margin:10px 0;
                background:#fff; }
details.match > summary { cursor:pointer; list-style:none; padding:10px 14px;
                          display:flex; align-items:center; gap:12px; }
details.match > summary::-webkit-details-marker { display:none; }
details.match[open] > summary { border-bottom:1px solid var(--line); background:var(--bg); }
.chip { display:inline-block; flex:0 0 auto; width:40px; height:40px; border-radius:8px;
        border:1px solid var(--line); background-size:cover; background-position:center;
        background-color:#fff; }
summary .chip { width:48px; height:48px; }
.chip.bot { background:repeating-linear-gradient(45deg,#e4e7eb 0 6px,#f5f7fa 6px 12px); }
summary .vs { color:var(--muted); }
summary .meta { margin-left:auto; color:var(--muted); font-size:13px; text-align:right; }
.turns { padding:8px 14px 14px; }
.turn { display:flex; gap:10px; margin:10px 0; align-items:flex-start; }
.turn.b { flex-direction:row-reverse; }
.bubble { max-width:74%; background:#eef4fa; border-radius:12px; padding:8px 12px; }
.turn.b .bubble { background:#fbefe9; }
.bubble .who { font-size:12px; color:var(--muted); margin-bottom:2px; }
.bubble .text { white-space:pre-wrap; word-wrap:break-word; }
.move { display:inline-block; font-size:11.5px; padding:1px 7px; border-radius:9px;
        background:#fff; border:1px solid var(--line); margin-left:6px; }
.move.accept { color:#1e7b4a; border-color:#a8dcc0; }
.move.reject, .move.invalid { color:var(--accent); border-color:#f0b8b0; }
.error { color:var(--accent); }
footer { color:var(--muted); font-size:12px; text-align:center; padding:20px; }
"""


def esc(value: Any) -> str:
    """Text for HTML: escaped, None/NaN as an empty string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _placeholder(persona_id: str, level: Any) -> str:
    """An inline SVG tile for a persona without an image file (e.g. imported paper games)."""
    colour = LEVEL_COLOURS[(int(level) - 1) % len(LEVEL_COLOURS)] if _is_level(level) \
        else "#9aa5b1"
    label = esc(str(level) if _is_level(level) else "?")
    svg = (f"<svg xmlns='http://www.w3.org/2000/svg' width='96' height='96'>"
           f"<rect width='96' height='96' rx='14' fill='{colour}'/>"
           f"<text x='48' y='60' font-family='Arial' font-size='40' fill='white' "
           f"text-anchor='middle'>{label}</text></svg>")
    return _data_uri(svg.encode(), "image/svg+xml")


def _is_level(level: Any) -> bool:
    return level is not None and not (isinstance(level, float) and math.isnan(level))


MAX_IMAGE_BYTES = 32 * 1024 * 1024  # larger files are no avatars: never read into a page


def _pool_image_bytes(image: Any, sha256: Any) -> bytes | None:
    """The bytes of a persona's image when they are the very image the run recorded, else None.

    A RUN_DIR may come from someone else, and its `personas.image` can name any file on this
    machine: a report would then carry that file, thumbnailed, to wherever the page is sent.
    Only a file whose sha256 equals the one stored when the pool was checked is shown (whoever
    wrote that hash already had the image), and only a regular file of sensible size."""
    if not (image and isinstance(image, str) and isinstance(sha256, str) and len(sha256) == 64):
        return None
    path = Path(image)
    try:
        if not path.is_file() or path.stat().st_size > MAX_IMAGE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256.lower() else None


class Thumbnails:
    """Each persona's avatar as a small PNG data URI, made once per report."""

    def __init__(self, personas: pd.DataFrame) -> None:
        self.rows = {str(r["persona_id"]): r for r in personas.to_dict("records")}
        self.cache: dict[str, str] = {}
        self.classes: dict[str, str] = {}

    def __call__(self, persona_id: Any) -> str:
        key = str(persona_id)
        if key not in self.cache:
            row = self.rows.get(key, {})
            self.cache[key] = self._make(row.get("image"), row.get("image_sha256"), key,
                                         row.get("level"))
        return self.cache[key]

    def css_class(self, persona_id: Any) -> str:
        """The class that shows this persona's avatar (rules collected by `css`)."""
        key = str(persona_id)
        if key not in self.classes:
            self.classes[key] = f"av{len(self.classes)}"
        return self.classes[key]

    def css(self) -> str:
        return "".join(f".{name}{{background-image:url({self(key)})}}"
                       for key, name in self.classes.items())

    @staticmethod
    def _make(image: Any, sha256: Any, persona_id: str, level: Any) -> str:
        data = _pool_image_bytes(image, sha256)
        if data is not None:
            try:
                from PIL import Image

                with Image.open(io.BytesIO(data)) as img:
                    img = img.convert("RGBA")
                    img.thumbnail((THUMB, THUMB))
                    buffer = io.BytesIO()
                    img.save(buffer, format="PNG", optimize=True)
                return _data_uri(buffer.getvalue(), "image/png")
            except (OSError, ValueError, Image.DecompressionBombError):
                pass  # unreadable or hostile image: fall back to the level tile
        return _placeholder(persona_id, level)


def _chip(thumbs: Thumbnails, persona_id: Any, level: Any) -> str:
    """A transcript avatar: a span whose image comes from a per-persona CSS class, so a
    persona's picture is stored once in the page however often it speaks."""
    title = f"{persona_id} (level {_lv(level)})"
    return (f'<span class="chip {thumbs.css_class(persona_id)}" role="img" '
            f'aria-label="{esc(title)}" title="{esc(title)}"></span>')


def _avatar(thumbs: Thumbnails, persona_id: Any, level: Any, caption: bool = True) -> str:
    title = f"{persona_id} (level {level})" if _is_level(level) else str(persona_id)
    img = f'<img src="{thumbs(persona_id)}" alt="{esc(title)}" title="{esc(title)}">'
    if not caption:
        return img
    return f'<figure class="avatar">{img}<figcaption>{esc(persona_id)}</figcaption></figure>'


# -- sections --------------------------------------------------------------------------------
def _summary_section(frames: RunFrames, summary: dict[str, Any], run_dir: Path) -> str:
    m = frames.matches
    calls = int(pd.to_numeric(m.get("calls"), errors="coerce").fillna(0).sum()) if len(m) else 0
    tokens = 0
    for column in ("prompt_tokens", "completion_tokens"):
        if column in m:
            tokens += int(pd.to_numeric(m[column], errors="coerce").fillna(0).sum())
    cards = [("matches", _num(summary["matches"])), ("failed", _num(summary["failed"])),
             ("deal rate", f"{summary['deal_rate']:.1%}" if summary.get("deal_rate") is not None
              else "–"),
             ("proposals", _num(summary.get("proposals", 0))),
             ("mean claim", _num(summary.get("mean_claim"), 1)),
             ("accepted", f"{summary['acceptance_rate']:.1%}"
              if summary.get("acceptance_rate") is not None else "–"),
             ("personas", _num(len(frames.personas))),
             (f"LLM calls ({tokens:,} tokens)", _num(calls))]
    body = "".join(f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>'
                   for k, v in cards)
    agents = ", ".join(agents_of(frames)) or "–"
    lines = [f'<section id="summary"><h2>Run summary</h2><div class="cards">{body}</div>',
             f'<p class="note">Players: {esc(agents)}. Store: {esc(store_path(run_dir))}.</p>']
    heads = summary.get("headlines", {})
    for agent, head in heads.items():
        parts = []
        for term, words in (("own", "each level of the player's own aggressiveness"),
                            ("opp", "each level of the opponent's aggressiveness")):
            fit = head.get(term, {}).get("ols")
            if fit and fit.get("status") != "ok":
                parts.append(f"{words}: no estimate ({esc(fit['status'])}"
                             + (f": {esc(fit['status_reason'])}" if fit.get("status_reason")
                                else "") + ")")
            elif fit:
                lo, hi = fit["ci"]
                bold = "b" if fit.get("significant") else "span"
                parts.append(f"{words} changes the claim by <{bold}>{fit['estimate']:+.2f}"
                             f"</{bold}> (95% CI {lo:+.2f} to {hi:+.2f})")
        if parts:
            sentence = "; ".join(parts) + "."
            sentence = (f"{esc(agent)}: {sentence}" if len(heads) > 1
                        else sentence[0].upper() + sentence[1:])
            lines.append(f'<p class="headline">{sentence}</p>')
    if heads:
        lines.append('<p class="note">OLS of the claim on both levels, standard errors '
                     'clustered by persona; the mixed model is in the tables below.</p>')
    if "surrogate" in agents:
        lines.append('<p class="note">These players are a <b>surrogate</b>: a statistical '
                     'model fitted to the paper\'s released data, not an LLM.</p>')
    agreement = frames.meta.get("extractor_agreement")
    if agreement:
        data = json.loads(agreement)
        claim, accept = data.get("claim"), data.get("acceptance")
        lines.append(
            '<p class="note">Imported from the paper\'s released files. Our extractor agrees '
            f'with the paper\'s GPT-4o labels on {claim:.1%} of claims and '
            f'{accept:.1%} of acceptances (the LLM\'s own texts).</p>'
            if claim is not None and accept is not None else "")
    lines.append("</section>")
    return "\n".join(lines)


def _pool_section(frames: RunFrames, thumbs: Thumbnails) -> str:
    personas = frames.personas
    if personas.empty:
        return ('<section id="pool"><h2>Avatar pool</h2><p class="note">No personas in this '
                'run.</p></section>')
    groups = []
    levels = pd.to_numeric(personas["level"], errors="coerce")
    for level in sorted(levels.dropna().unique().tolist()) + ([None] if levels.isna().any()
                                                              else []):
        group = personas[levels.isna()] if level is None else personas[levels == level]
        shown = group.head(POOL_PER_LEVEL)
        tiles = "".join(_avatar(thumbs, r["persona_id"], r["level"])
                        for r in shown.to_dict("records"))
        more = (f'<span class="note">and {len(group) - len(shown):,} more</span>'
                if len(group) > len(shown) else "")
        colour = LEVEL_COLOURS[(int(level) - 1) % len(LEVEL_COLOURS)] if level else "#9aa5b1"
        name = f"level {int(level)}" if level is not None else "no level"
        groups.append(f'<div class="level"><div class="level-tag"><i style="background:'
                      f'{colour}"></i>{esc(name)} <span class="note">({len(group)})</span></div>'
                      f'<div class="thumbs">{tiles}{more}</div></div>')
    # few levels: side by side, one column each (compact); many: one row each
    layout = (f' style="grid-template-columns:repeat({len(groups)}, minmax(0, 1fr))"'
              if len(groups) <= 10 else ' style="grid-template-columns:1fr"')
    return ('<section id="pool"><h2>Avatar pool by aggressiveness level</h2>'
            f'<p class="note">{len(personas):,} personas; level 1 looks least aggressive.</p>'
            f'<div class="pool"{layout}>' + "".join(groups) + "</div></section>")


def _figures_section(data: dict[str, Any], frames: RunFrames) -> str:
    from analysis import figures

    claims = data["claim"].frame
    pngs = [("Mean claim by own and opponent level", figures.claim_heatmap(claims)),
            ("Claim by level difference", figures.claim_by_difference(claims)),
            ("Acceptance by offer", figures.acceptance_by_offer(data["acceptance"].frame)),
            ("Rating distributions", figures.rating_distributions(frames.ratings))]
    items = "".join(f'<figure><img class="figure" alt="{esc(title)}" '
                    f'src="{_data_uri(png, "image/png")}"></figure>' for title, png in pngs)
    return f'<section id="figures"><h2>Figures</h2><div class="figures">{items}</div></section>'


def _model_rows(name: str, fit: dict[str, Any]) -> str:
    """One row per term; bold only for a significant term of an `ok` fit; a fit that is not
    ok says so in its own row."""
    from analysis.fit_status import describe

    groups = fit.get("clusters", fit.get("groups"))
    if "coef" not in fit:
        return (f'<tr class="first"><td>{esc(name)}</td><td colspan="5" class="note">'
                f'{esc(describe(fit))}</td><td>{_num(fit.get("n"))}</td><td>{_num(groups)}'
                "</td></tr>")
    rows = []
    for term in fit["coef"]:
        lo, hi = fit["ci"][term]
        p = fit["p"][term]
        sig = ' class="sig"' if fit.get("significant", {}).get(term) else ""
        first = ' class="first"' if name else ""
        p_text = "–" if p is None else ("<0.001" if p < 0.001 else _num(p, 3))
        ci_text = "–" if lo is None else f"{_num(lo, 3)} to {_num(hi, 3)}"
        rows.append(f"<tr{first}><td>{esc(name)}</td><td>{esc(term)}</td>"
                    f"<td{sig}>{_num(fit['coef'][term], 3)}"
                    f"</td><td>{_num(fit['se'][term], 3)}</td><td>{ci_text}"
                    f"</td><td>{p_text}</td>"
                    f"<td>{_num(fit['n'])}</td><td>{_num(groups)}</td></tr>")
        name = ""
    notes = []
    if fit.get("status", "ok") != "ok":
        notes.append(f'<span class="error">{esc(describe(fit))}</span>')
    if "sd_persona" in fit:
        notes.append(f"persona SD {_num(fit['sd_persona'], 3)}, residual SD "
                     f"{_num(fit['sd_resid'], 3)}")
    if fit.get("warnings"):
        notes.append("warnings: " + esc("; ".join(fit["warnings"])))
    if notes:
        rows.append('<tr><td></td><td colspan="7" class="note" style="text-align:left">'
                    + " · ".join(notes) + "</td></tr>")
    return "".join(rows)


def _models_section(effects_by: dict[str, dict[str, Any]]) -> str:
    parts = ['<section id="models"><h2>Pairing-effect models</h2>'
             '<p class="note">Each behaviour from the acting player\'s side: own level, '
             'opponent level and their difference. OLS with standard errors clustered by '
             'persona (t intervals with clusters - 1 df); mixed model with a random intercept '
             'per persona (REML).</p>']
    for agent, effects in effects_by.items():
        if len(effects_by) > 1:
            parts.append(f"<h3>{esc(agent)}</h3>")
        for behaviour, result in effects.items():
            title = BEHAVIOUR_TITLES.get(behaviour, behaviour)
            parts.append(f"<h3>{esc(title)} <span class=\"note\">n = {_num(result['n'])}, "
                         f"{_num(result.get('personas', 0))} personas</span></h3>")
            if "error" in result:
                parts.append(f'<p class="note">{esc(result["error"])}</p>')
                continue
            rows = (_model_rows("OLS", result.get("ols", {}))
                    + (_model_rows("OLS on difference", result["ols_diff"])
                       if "ols_diff" in result else "")
                    + _model_rows("Mixed", result.get("mixed", {})))
            parts.append("<table><tr><th>model</th><th>term</th><th>estimate</th><th>SE</th>"
                         "<th>95% CI</th><th>p</th><th>n</th><th>personas</th></tr>"
                         f"{rows}</table>")
    parts.append("</section>")
    return "".join(parts)


def _agreement_section(frames: RunFrames) -> str:
    result = rater_agreement(frames.ratings)
    if not result["pairs"]:
        return ""
    rows = "".join(
        f"<tr><td>{esc(p['rater_a'])} vs {esc(p['rater_b'])}</td><td>{_num(p['n'])}</td>"
        f"<td>{_num(p['spearman'], 3)}</td><td>{_num(p['alpha_ordinal'], 3)}</td>"
        f"<td>{_num(p['alpha_interval'], 3)}</td><td>{_num(p['icc2_1'], 3)}</td>"
        f"<td>{_num(p['icc3_1'], 3)}</td></tr>" for p in result["pairs"])
    return ('<section id="agreement"><h2>Rater agreement</h2><table><tr><th>raters</th>'
            "<th>personas</th><th>Spearman</th><th>alpha (ordinal)</th><th>alpha (interval)"
            f"</th><th>ICC(2,1)</th><th>ICC(3,1)</th></tr>{rows}</table></section>")


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
        paper = f'<span class="move">paper: {_num(turn["paper_claim"], 0)}</span>'
    elif _is_level(turn.get("paper_accepted")):  # a 0/1 label (present and not NaN)
        paper = (f'<span class="move">paper: '
                 f'{"accept" if turn["paper_accepted"] == 1 else "reject"}</span>')
    who = esc(persona) if persona is not None and persona == persona else "confederate"
    reason = (f'<div class="note">{esc(turn["reason"])}</div>'
              if kind == "invalid" and turn.get("reason") else "")
    avatar = (_chip(thumbs, persona, levels.get(side))
              if persona is not None and persona == persona else '<span class="chip bot"></span>')
    return (f'<div class="turn {side}">{avatar}<div class="bubble"><div class="who">'
            f"round {esc(turn.get('round'))} · {esc(turn.get('role'))} · {who}"
            f'<span class="move {esc(kind)}">{esc(detail)}</span>{paper}</div>'
            f'<div class="text">{esc(turn.get("text"))}</div>{reason}</div></div>')


def _transcripts_section(frames: RunFrames, thumbs: Thumbnails) -> str:
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
                heads.append(_chip(thumbs, pid, levels[seat])
                             + f"<span>{esc(pid)} <span class=\"note\">level "
                               f"{esc(_lv(levels[seat]))}</span></span>")
            else:
                heads.append(f"<span>{esc(row.get(f'agent_{seat}') or 'script')}</span>")
        status = row.get("status")
        meta = (f"payoffs {_num(row.get('payoff_a'), 0)} / {_num(row.get('payoff_b'), 0)}"
                if status == "ok" else '<span class="error">failed</span>')
        if _is_level(levels["a"]) and _is_level(levels["b"]):
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


def _lv(level: Any) -> str:
    return str(int(level)) if _is_level(level) else "?"


def render_report(frames: RunFrames, run_dir: Path) -> str:
    """The page as a string."""
    summary = summary_from_frames(frames, run_dir, effects=False)
    agents = agents_of(frames)
    data = behaviour_data(frames)
    effects_by: dict[str, dict[str, Any]] = {}
    if len(agents) > 1:
        for agent in agents:
            part = behaviour_data(frames, agent)
            effects_by[agent] = {k: fit_behaviour(v) for k, v in part.items()}
    else:
        effects_by[agents[0] if agents else "all players"] = {k: fit_behaviour(v)
                                                              for k, v in data.items()}
    summary["headlines"] = {agent: headline(e) for agent, e in effects_by.items()}
    thumbs = Thumbnails(frames.personas)
    title = f"persona-arena report: {Path(run_dir).resolve().name}"
    subtitle = " · ".join(esc(x) for x in (frames.meta.get("scenario"),
                                           frames.meta.get("condition"),
                                           f"design {frames.meta.get('design')}") if x)
    body = "\n".join([
        _summary_section(frames, summary, Path(run_dir)), _pool_section(frames, thumbs),
        _figures_section(data, frames), _models_section(effects_by),
        _agreement_section(frames), _transcripts_section(frames, thumbs)])
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "img-src data:; style-src 'unsafe-inline'\">"
            f"<title>{esc(title)}</title><style>{CSS}{thumbs.css()}</style></head><body>"
            f"<header><h1>{esc(title)}</h1><p>{subtitle}</p></header><main>{body}</main>"
            f"<footer>made by persona-arena on {esc(stamp)} · self-contained page, no external "
            "resources</footer></body></html>\n")


def write_report(run_dir: Path | str, out: Path | str | None = None) -> Path:
    """Render RUN_DIR's report to `out` (default RUN_DIR/report.html)."""
    run_dir = Path(run_dir)
    frames = load_run(run_dir)
    target = Path(out) if out else (run_dir if run_dir.is_dir() else run_dir.parent) / "report.html"
    page = render_report(frames, run_dir)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(target)
    except OSError as error:
        raise InputError(f"{target}: cannot write the report ({error.strerror})") from None
    return target
