"""How sure an acceptance reading is: which verdicts a reply states, and how they compete.

One verdict stated (however often) is read confidently, and so is a rejection followed by the
terms the responder would accept instead. Verdict words both ways otherwise ("I accept ... I
cannot accept"), soft cues both ways, a counter-split or a proposal of
the responder's own instead of a plain yes or no, or a deliberation that ends without a verdict
lower the score below the threshold.
"""
from __future__ import annotations

import re

from scenarios.reading.acceptance_patterns import FAR_TURN_BEFORE, TAKES_THEIRS, TURN_BEFORE
from scenarios.reading.claims import read_claim
from scenarios.reading.confidence import Reading, span

CLEAR = "one verdict stated"
TURNED = "a verdict turned around after words the other way"
BOTH_WAYS = "verdict words both ways; the first counts"
REJECT_THEN_TERMS = "a rejection, then the terms it would accept instead"
SOFT = "only soft cues"
SOFT_BOTH = "soft cues both ways"
COUNTER = "role contradicts seat: the responder answers with a counter-split"
PROPOSES = ("role contradicts seat: the reply accepts, then goes on to make a proposal of its "
            "own")
ACCEPTS_COUNTER = "role contradicts seat: the reply accepts but answers with a counter-split"
NO_VERDICT = "deliberation ending without a verdict"
RUNS_ON = ("the reply accepts, then runs on into a next round, proposing no more than an even "
           "share for itself")

_BASE = {CLEAR: 0.95, TURNED: 0.6, BOTH_WAYS: 0.45, REJECT_THEN_TERMS: 0.6, SOFT: 0.65,
         SOFT_BOTH: 0.4}
_FACTORS = {COUNTER: 0.9, PROPOSES: 0.5, ACCEPTS_COUNTER: 0.5, RUNS_ON: 0.6}

# "I propose $55 for me", "how about 60/40", "a 60/40 split instead": a proposal of its own
_COUNTER_SPLIT = re.compile(
    r"\b(?:i|we) (?:(?!your\b|the\b|this\b)\w+ ){0,3}?(?:propose|suggest|counter|offer)\w*\b"
    r"[^.!?\n]{0,60}?\$?\d"
    r"|\b(?:how about|what about|instead)\b[^.!?\n]{0,40}?\$?\d"
    r"|(?<![\d$])\$?\d{1,7}\s?%?\s?[-/:]\s?\$?\d{1,7}[^.!?\n]{0,30}\binstead\b"
    # "a more equitable 50/50 division would better serve us": terms of its own
    r"|\b(?:a|an) (?:\w+ )?(?:more |truly |fairer |an )?(?:equal|equitable|balanced|fair|even)\w*"
    r" \$?\d{1,7}\s?%?\s?[-/:]\s?\$?\d{1,7}\s?%?\s(?:split|division|distribution)\b"
    r"[^.!?\n]{0,40}?\b(?:would|is the|remains|seems)\b")
_OWN_COUNTER = re.compile(
    r"\b(?:this|my|that|these) (?:revised|new|adjusted|modified|updated|counter\S*|compromise"
    r"|alternative|amended)\b|\byou (?:\w+ )?(?:will|would|can|could|might) find\b")
_AMOUNT = re.compile(r"\$\d|\d\s?%|\d\s?[-/:]\s?\d")
# the acceptance names the other side's proposal ("I accept your 55/45 proposal")
_THEIRS = re.compile(r"\b(?:your|you (?:have )?(?:proposed|offered|suggested))\b")
# a reply that runs on into the next round ("I accept. ===round3=== I propose ...")
_ROUND_MARK = re.compile(r"=+\s*\[?\s*round|\bround\s?#?\s?\d\s?\]?\s?=+|\bmy turn to propose\b")

Found = list[tuple[int, int, bool]]


def _verdict(norm: str, found: Found, weak: Found) -> tuple[bool | None, str, tuple[int, int]]:
    """The reply's verdict, the kind of evidence for it, and where that evidence is."""
    if found:
        first = found[0]
        for cue in reversed(found[1:]):
            if cue[2] != first[2] and TURN_BEFORE.search(norm, max(0, cue[0] - 40), cue[0]):
                return cue[2], TURNED, (cue[0], cue[1])
            if cue[2] != first[2] and cue[2] and FAR_TURN_BEFORE.search(
                    norm, max(0, cue[0] - 110), cue[0]) and TAKES_THEIRS.match(norm, cue[0]):
                return cue[2], TURNED, (cue[0], cue[1])
        if all(cue[2] == first[2] for cue in found):
            return first[2], CLEAR, (first[0], first[1])
        if first[2] is False:
            # "I reject your 70/30 offer ... a 50/50 split, which I will gladly accept": with no
            # turn ("very well, ...") before them, later acceptance words are of other terms
            return False, REJECT_THEN_TERMS, (first[0], first[1])
        return first[2], BOTH_WAYS, (first[0], first[1])
    if weak:
        first = weak[0]
        kind = SOFT if all(cue[2] == first[2] for cue in weak) else SOFT_BOTH
        return first[2], kind, (first[0], first[1])
    return None, NO_VERDICT, (0, 0)


def judge(norm: str, found: Found, weak: Found, pie: float = 100.0) -> Reading:
    """The verdict of a reply from its stated decisions `found` and soft cues `weak`
    ((start, end, verdict) each, in order), scored by what competes with it; `pie` is what a
    proposal the reply runs on into is a share of."""
    value, kind, (start, end) = _verdict(norm, found, weak)
    counter = _COUNTER_SPLIT.search(norm)
    marked = _ROUND_MARK.search(norm)
    if value is True and counter is None and marked and _AMOUNT.search(norm, marked.end()):
        counter = marked  # "I accept. ===round3=== I'll take $60 ...": it proposes next round
    if value is None:
        if counter:
            return Reading(None, 0.0, span(norm, counter.start(), counter.end()), COUNTER)
        return Reading(None, 0.0, "", NO_VERDICT)
    score, reason = _BASE[kind], kind
    if kind == SOFT_BOTH and value is False and counter:
        score = _BASE[SOFT]  # soft cues both ways, but it answers with terms of its own: no
    if counter:
        # "I accept. ===round3=== I propose 70/30. Do you accept?" asks for a verdict itself:
        # whether it accepted is arguable; a rejection followed by a counter is consistent
        doubt = PROPOSES if value is True and marked else COUNTER
        if doubt == PROPOSES:
            # running on to propose next round no more than an even share for itself is no
            # counter-demand: the acceptance stands (a greedier proposal may be a counter)
            ahead = read_claim(norm[marked.end():], pie)
            if ahead.value is None or float(ahead.value) <= pie / 2:  # type: ignore[arg-type]
                doubt = RUNS_ON
        # "I am willing to accept this revised proposal", "I hope you will find this compromise
        # acceptable" after a counter-split: the acceptance may be of the responder's own counter
        if value is True and doubt == COUNTER and ((
                counter.start() < start and not _THEIRS.search(norm, start, end + 30))
                or _OWN_COUNTER.search(norm, max(0, start - 30), end + 30)):
            doubt = ACCEPTS_COUNTER  # or an acceptance after its own counter-split accepts that
        score *= _FACTORS[doubt]
        reason = doubt
    return Reading(value, round(score, 3), span(norm, start, end), reason)
