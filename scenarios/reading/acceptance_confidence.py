"""How sure an acceptance reading is: which verdicts a reply states, and how they compete.

One verdict stated (however often) is read confidently. Verdict words both ways ("I cannot
accept ... very well, I reluctantly accept"), only soft cues, a counter-split instead of a yes
or no, or a deliberation that ends without a verdict lower the score below the threshold.
"""
from __future__ import annotations

import re

from scenarios.reading.acceptance_patterns import TURN_BEFORE
from scenarios.reading.confidence import Reading, span

CLEAR = "one verdict stated"
TURNED = "a verdict turned around after words the other way"
BOTH_WAYS = "verdict words both ways; the first counts"
SOFT = "only soft cues"
SOFT_BOTH = "soft cues both ways"
COUNTER = "role contradicts seat: the responder answers with a counter-split"
NO_VERDICT = "deliberation ending without a verdict"

# "a 60/40 split instead", "I propose $55 for me": a reply that makes a proposal of its own
_COUNTER_SPLIT = re.compile(
    r"\b(?:i|we) (?:\w+ ){0,3}?(?:propose|suggest|counter|offer)\w*\b[^.!?\n]{0,60}?\$?\d"
    r"|\b(?:how about|what about|instead)\b[^.!?\n]{0,40}?\$?\d|\$?\d+\s?%?\s?[-/:]\s?\$?\d+"
    r"[^.!?\n]{0,30}\binstead\b")
Found = list[tuple[int, int, bool]]


def judge(norm: str, found: Found, weak: Found) -> Reading:
    """The verdict of a reply from its stated decisions `found` and soft cues `weak`
    ((start, end, verdict) each, in order), scored by what competes with it."""
    if found:
        first = found[0]
        for cue in reversed(found[1:]):
            if cue[2] != first[2] and TURN_BEFORE.search(norm, max(0, cue[0] - 40), cue[0]):
                return Reading(cue[2], 0.6, span(norm, cue[0], cue[1]), TURNED)
        if all(cue[2] == first[2] for cue in found):
            return Reading(first[2], 0.95, span(norm, first[0], first[1]), CLEAR)
        return Reading(first[2], 0.4, span(norm, first[0], first[1]), BOTH_WAYS)
    counter = _COUNTER_SPLIT.search(norm)
    if weak:
        first = weak[0]
        evidence = span(norm, first[0], first[1])
        if counter:
            return Reading(first[2], 0.3, evidence, COUNTER)
        if all(cue[2] == first[2] for cue in weak):
            return Reading(first[2], 0.6, evidence, SOFT)
        return Reading(first[2], 0.3, evidence, SOFT_BOTH)
    if counter:
        return Reading(None, 0.0, span(norm, counter.start(), counter.end()), COUNTER)
    return Reading(None, 0.0, "", NO_VERDICT)
