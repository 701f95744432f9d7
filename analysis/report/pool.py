"""The pool section: the avatars that played in this run, by aggressiveness level (a pool may
hold more personas than a design uses; those are counted, not shown)."""
from __future__ import annotations

import pandas as pd

from analysis.frames import RunFrames
from analysis.report.markup import esc, level_colour
from analysis.report.thumbnails import Thumbnails, avatar

POOL_PER_LEVEL = 24  # thumbnails shown per level; the rest are counted


def personas_that_played(frames: RunFrames) -> pd.DataFrame:
    """The personas table restricted to those seated in at least one match."""
    m = frames.matches
    seated = set(m["persona_a"].dropna().astype(str)) | set(m["persona_b"].dropna().astype(str))
    if frames.multi_seat:  # games of more seats keep who sat where in the seats table only
        seated |= set(frames.seats["persona_id"].dropna().astype(str))
    personas = frames.personas
    return personas[personas["persona_id"].astype(str).isin(seated)]


def pool_section(frames: RunFrames, thumbs: Thumbnails) -> str:
    everyone = frames.personas
    personas = personas_that_played(frames)
    if personas.empty:
        return ('<section id="pool"><h2>Avatar pool</h2><p class="note">No persona played in '
                'this run.</p></section>')
    groups = []
    levels = pd.to_numeric(personas["level"], errors="coerce")
    for level in sorted(levels.dropna().unique().tolist()) + ([None] if levels.isna().any()
                                                              else []):
        group = personas[levels.isna()] if level is None else personas[levels == level]
        shown = group.head(POOL_PER_LEVEL)
        tiles = "".join(avatar(thumbs, r["persona_id"], r["level"])
                        for r in shown.to_dict("records"))
        more = (f'<span class="note">and {len(group) - len(shown):,} more</span>'
                if len(group) > len(shown) else "")
        name = f"level {int(level)}" if level is not None else "no level"
        groups.append(f'<div class="level"><div class="level-tag"><i style="background:'
                      f'{level_colour(level)}"></i>{esc(name)} <span class="note">'
                      f'({len(group)})</span></div><div class="thumbs">{tiles}{more}</div></div>')
    # few levels: side by side, one column each (compact); many: one row each
    layout = (f' style="grid-template-columns:repeat({len(groups)}, minmax(0, 1fr))"'
              if len(groups) <= 10 else ' style="grid-template-columns:1fr"')
    unused = len(everyone) - len(personas)
    note = (f"{len(personas):,} personas played"
            + (f" ({unused:,} more in the pool did not and are not shown)" if unused else "")
            + "; level 1 looks least aggressive.")
    return ('<section id="pool"><h2>Personas that played, by aggressiveness level</h2>'
            f'<p class="note">{note}</p>'
            f'<div class="pool"{layout}>' + "".join(groups) + "</div></section>")
