"""The figures section: the figures that fit the run. With both levels (Study 2): the own x
opponent heatmap and the claim by level difference; with the own level only (a self-only or
confederate run, Study 1): the claim by own level, which is that design's result. Then
acceptance by offer and the rating distributions."""
from __future__ import annotations

from typing import Any

from analysis.effects import BehaviourData
from analysis.frames import RunFrames
from analysis.report.markup import data_uri, esc


def _varies(frame: Any, column: str) -> bool:
    return column in frame and frame[column].nunique(dropna=True) > 1


def figure_list(data: dict[str, BehaviourData], frames: RunFrames) -> list[tuple[str, bytes]]:
    """(title, PNG) of every figure this run gets, in page order."""
    from analysis import figures

    units = frames.units
    claims = data["claim"].frame
    pngs: list[tuple[str, bytes]] = []
    many = frames.multi_seat  # `opp` is the others' mean level
    if _varies(claims, "opp") and _varies(claims, "own"):
        pngs += [("Mean claim by own and opponent level",
                  figures.claim_heatmap(claims, units.claim_label, others=many)),
                 ("Claim by level difference",
                  figures.claim_by_difference(claims, units.claim_label, others=many))]
    elif _varies(claims, "opp"):
        pngs.append(("Claim by level difference",
                     figures.claim_by_difference(claims, units.claim_label, others=many)))
    else:
        pngs.append(("Claim by own level", figures.claim_by_own(claims, units.claim_label)))
    responses = data["acceptance"].frame
    if len(responses) or not many:  # a game of more seats votes: no one responder's offer
        pngs.append(("Acceptance by offer", figures.acceptance_by_offer(
            responses, units.stake, units.offer_label)))
    pngs.append(("Rating distributions", figures.rating_distributions(frames.ratings)))
    return pngs


def figures_section(data: dict[str, BehaviourData], frames: RunFrames) -> str:
    items = "".join(f'<figure><img class="figure" alt="{esc(title)}" '
                    f'src="{data_uri(png, "image/png")}"></figure>'
                    for title, png in figure_list(data, frames))
    return ('<section id="figures"><h2>Figures</h2><p class="note">Claims are proposals made by '
            'personas, responses are responses given by personas (a scripted confederate\'s '
            'moves are left out); each title gives its count.</p>'
            f'<div class="figures">{items}</div></section>')
