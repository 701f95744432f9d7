"""The outcomes section: what the matches ended in, seat by seat (each tile names the seat and
its role), against the game's frontier when the game declares one, with the figures that fit
the game: concession curves, the agreed offers (prices, claims) and the deals against the
Pareto frontier."""
from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.frames import RunFrames
from analysis.report.markup import data_uri, esc, num, share


def _tiles(result: dict[str, Any], units: str) -> list[tuple[str, str]]:
    tiles = []
    for seat, info in result["seats"].items():
        tiles.append((f"{info['label']}: mean payoff ({units})", num(info["payoff"]["mean"])))
        tiles.append((f"{info['label']}: share of what it could win",
                      share(info["share"]["mean"])))
    players = result.get("players", {})
    if len(players) > 1:  # a persona against a script: who got what, whichever seat
        for agent, info in players.items():
            tiles.append((f"{agent} (either seat, {info['seats']:,} seats): share of what it "
                          "could win", share(info["share"]["mean"])))
    turns = result["turns_to_agreement"]
    tiles.append(("turns to the first agreement (median, matches with one)",
                  num(turns.get("median"), 0) if turns.get("median") is not None else "–"))
    front = result.get("frontier")
    if front:
        tiles.append(("matches ending Pareto-optimal", share(front["pareto_optimal_share"])))
        tiles.append(("welfare (a + b), share of the most possible",
                      share(front["welfare_share"])))
        tiles.append((f"mean distance to the Nash solution ({units})",
                      num(front["nash_distance"]["mean"])))
    slope = result["anchoring"].get("slope")
    if slope is not None and result["anchoring"].get("status") == "ok":
        tiles.append(("anchoring: final share per unit of first-offer share", f"{slope:+.2f}"))
    return tiles


def _point(p: Any) -> tuple[str, str]:
    if p is None:
        return ("–", "–")
    return tuple(num(None if v is None else float(v)) for v in p[:2])  # type: ignore[return-value]


def _frontier_table(result: dict[str, Any]) -> str:
    front = result.get("frontier")
    if not front:
        return ""
    seats = result["seats"]
    mean = [seats["a"]["payoff"]["mean"], seats["b"]["payoff"]["mean"]]
    rows = [("Nash bargaining solution (max product of gains)", front["nash"]),
            ("Kalai-Smorodinsky (gains in proportion to the best possible)",
             front["kalai_smorodinsky"]),
            ("ideal point (each seat's best, the other at no less than no deal)", front["ideal"]),
            ("no deal", front["disagreement"]), ("mean outcome of this run", mean)]
    body = "".join(f"<tr><td>{esc(name)}</td><td></td><td>{a}</td><td>{b}</td></tr>"
                   for name, p in rows for a, b in [_point(p)])
    return (f"<table><tr><th>point</th><th></th><th>{esc(seats['a']['label'])}</th>"
            f"<th>{esc(seats['b']['label'])}</th></tr>{body}</table>")


def _anchoring_note(result: dict[str, Any]) -> str:
    a = result["anchoring"]
    if len(result["seats"]) > 2:
        return ('<p class="note">Anchoring (the first mover\'s final share on its first '
                "offer's share) is measured in two-seat games.</p>")
    if a.get("slope") is None or a.get("ci", [None])[0] is None:
        why = a.get("status_reason") or a.get("status", "")
        return (f'<p class="note">Anchoring (the first mover\'s final share on its first '
                f"offer's share): no estimate ({esc(a.get('status'))}: {esc(why)}).</p>")
    lo, hi = a["ci"]
    return (f'<p class="note">Anchoring: the first mover\'s final share regressed on its first '
            f"offer's share over {a['n']:,} deals, standard errors clustered by the first "
            f"mover's persona: slope {a['slope']:+.3f} (95% CI {lo:+.3f} to {hi:+.3f}; "
            f"{esc(a['status'])}).</p>")


def _slope_cell(fit: dict[str, Any]) -> str:
    if fit.get("slope") is None or fit.get("ci", [None])[0] is None:
        return esc(fit.get("status", "not fitted"))
    lo, hi = fit["ci"]
    return f"{fit['slope']:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def _anchoring_by_condition(result: dict[str, Any]) -> str:
    """Per condition: the final-share and counter-claim slopes on the opening; per opening
    where it was a design factor (analysis.anchoring)."""
    by = result.get("anchoring_by_condition") or {}
    if not any("levels" in e for e in by.values()) and len(by) < 2:
        return ""  # one condition and no opening factor: the note above says it all
    rows = []
    for name, entry in by.items():
        rows.append(f"<tr><th>{esc(name)}</th><td>all openings</td>"
                    f"<td>{_slope_cell(entry['final'])}</td>"
                    f"<td>{_slope_cell(entry['counter'])}</td></tr>")
        for level, cell in entry.get("levels", {}).items():
            rows.append(f"<tr><td></td><td>opening {esc(level)} ({cell['matches']:,} "
                        f"matches)</td><td>{num(cell['final_share']['mean'], 3)}</td>"
                        f"<td>{num(cell['counter_share']['mean'], 3)}</td></tr>")
    return ('<table class="anchoring"><tr><th>condition</th><th>opening</th>'
            "<th>opener's final share (slope, 95% CI)</th>"
            "<th>counter-claim share (slope, 95% CI)</th></tr>" + "".join(rows) + "</table>")


def outcome_figures(frames: RunFrames, result: dict[str, Any]) -> list[tuple[str, bytes]]:
    """(title, PNG) of the figures that fit this run's game."""
    from analysis import outcome_figures as figs
    from analysis.outcomes import concession_curves, frame_outcomes, run_frontier

    labels = {s: info["label"] for s, info in result["seats"].items()}
    space, front = run_frontier(frames)
    units = frames.units.units
    pngs = []
    curves = concession_curves(frames)
    drawn = curves[curves["n"] >= figs.MIN_CURVE_N]
    if len(drawn) and drawn.groupby("seat")["turn"].nunique().max() > 1:  # a point is no curve
        pngs.append(("Concession curves", figs.concession_curves(
            curves, labels, scaled=bool(curves.attrs.get("scaled")))))
    props = frames.proposals
    accepted = props.loc[(props["response_kind"] == "accept") & (props["status"] == "ok"),
                         "offer"]
    numeric = pd.to_numeric(accepted, errors="coerce")
    if len(numeric) and numeric.notna().mean() > 0.5:
        what = result["offer"]
        pngs.append((f"Agreed {what}s", figs.agreed_offers(numeric, what, units)))
    if frames.multi_seat:
        seats = frames.seats
        done = seats[seats["status"] == "ok"]
        pngs += [("Share by seat", figs.seat_shares(done, labels)),
                 ("Share by level gap", figs.share_by_gap(done))]
    if front is not None:
        pngs.append(("Outcomes against the frontier", figs.deals_against_frontier(
            frame_outcomes(frames), front, space.points, labels, units)))
    return pngs


def outcomes_section(frames: RunFrames, result: dict[str, Any]) -> str:
    units = frames.units.units
    cards = "".join(f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>'
                    for k, v in _tiles(result, units))
    items = "".join(f'<figure><img class="figure" alt="{esc(title)}" '
                    f'src="{data_uri(png, "image/png")}"></figure>'
                    for title, png in outcome_figures(frames, result))
    return ('<section id="outcomes"><h2>Outcomes</h2>'
            f'<div class="cards">{cards}</div>'
            '<p class="note tiles-note">Seat a moves first. Payoffs and shares count every '
            'finished match, scripts included; a share is the payoff over what the seat could '
            "have won in the match.</p>"
            f"{_frontier_table(result)}{_anchoring_note(result)}"
            f"{_anchoring_by_condition(result)}"
            f'<div class="figures">{items}</div></section>')
