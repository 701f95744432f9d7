"""The standings section: leaderboards of personas, levels and agents (analysis.standings)
with their 95% intervals, so a tournament between personas ends with a leaderboard; games of
any seat count (each match one game of its seats, ranked by payoff). Rating is one step per
match for all replicates at once (about 30 us with two seats: a paper-size Study 1 of 51,850
matches adds a second or two; two to three times that with more seats); a run beyond
MAX_MATCHES (a third of it for games of more seats) points to `persona-arena standings`
instead of slowing the page down."""
from __future__ import annotations

from typing import Any

from analysis.frames import RunFrames
from analysis.report.markup import esc, num

MAX_MATCHES = 120_000  # beyond this (~4 s of rating) the report names the command instead
BOOTSTRAP, ORDERS, TOP = 100, 10, 10


def _rows(rows: list[dict[str, Any]], many: bool) -> str:
    out = []
    for row in rows[:TOP]:
        ci, rank_ci = row.get("mu_ci"), row.get("rank_ci")
        out.append(f"<tr><td>{row['rank']}</td><td>{esc(row['name'])}</td>"
                   f"<td>{num(row['mu'])}</td>"
                   f"<td>{'–' if not ci else f'{ci[0]:.2f} to {ci[1]:.2f}'}</td>"
                   f"<td>{'–' if not rank_ci else f'{rank_ci[0]} to {rank_ci[1]}'}</td>"
                   f"<td>{row['wins']}-{row['draws']}-{row['losses']}</td>"
                   f"<td>{num(row['mean_payoff'])}</td>"
                   + (f"<td>{num(row['mean_place'])}</td>" if many else "") + "</tr>")
    return "".join(out)


def standings_section(frames: RunFrames, run_dir: Any) -> str:
    from analysis.standings import standings

    ok = int((frames.matches["status"] == "ok").sum())
    head = '<section id="standings"><h2>Standings</h2>'
    if ok > (MAX_MATCHES // 3 if frames.multi_seat else MAX_MATCHES):
        return (f'{head}<p class="note">{ok:,} matches: rate them with <code>persona-arena '
                f"standings {esc(run_dir)}</code> (one rating step per match; the page stays "
                "quick without it).</p></section>")
    result = standings(frames, BOOTSTRAP, ORDERS, seed=1)
    parts = [head, f'<p class="note">{esc(result["model"])}; mean over {ORDERS} match orders, '
                   f"95% intervals from {BOOTSTRAP} bootstrap resamples. A seat without a "
                   "persona (a script) stands as its agent, in brackets; one holding several "
                   "seats of a match plays it once, with their mean payoff.</p>"]
    for kind, part in result["kinds"].items():
        if not part["standings"]:
            continue
        low, high = part["players"]
        many = high > 2
        more = (f" (top {TOP} of {part['entities']})" if part["entities"] > TOP else "")
        seats = (f", {low if low == high else f'{low} to {high}'} a game" if many else "")
        wdl = ('<th title="first alone, first shared, below first">W-D-L (first alone-shared-'
               "below)</th>" if many else "<th>W-D-L</th>")
        parts.append(f"<h3>{esc(kind)}s: {part['entities']} over {part['games']:,} games"
                     f"{seats}{more}</h3><table><tr><th>rank</th><th>{esc(kind)}</th>"
                     f"<th>rating</th><th>95% CI</th><th>rank 95% CI</th>{wdl}"
                     "<th>mean payoff</th>" + ("<th>mean place</th>" if many else "")
                     + f"</tr>{_rows(part['standings'], many)}</table>")
    if not any(part["standings"] for part in result["kinds"].values()):
        parts.append('<p class="note">Nothing to rate: standings rate finished matches '
                     "between two or more different personas, levels or agents.</p>")
    parts.append("</section>")
    return "".join(parts)
