"""How sure a claim reading is: the candidates a proposal text offered and what they say.

A proposal is read confidently when the text makes one proposal in the proposer's own terms;
several different amounts proposed at once, an amount that is only the other side's (or a past)
proposal, or a proposer's text that reads as a response lower the score below the threshold.
"""
from __future__ import annotations

import re

from scenarios.reading.confidence import Reading, span

# kinds of evidence, strongest first
EXPLICIT, ORIENTED, PLAIN, EVEN_WORDS = 0, 1, 2, 3
# classes of candidates, preferred first: proposed now, neutral, the addressee's proposal,
# a past or foil amount, a conditional 0/100
FRESH, NEUTRAL, ANSWERED, RECALLED, CONDITIONAL = 0, 1, 2, 3, 4

CLEAR = "one unambiguous split in the proposer's terms"
AS_WRITTEN = "one split, read as written (first share the proposer's)"
EVEN_SPLIT = "an even split in words"
SEVERAL = "several candidates"
ANSWERED_ONLY = "role contradicts seat: the only amount named is the other side's or a past one"
READS_AS_REPLY = "role contradicts seat: the proposer's text reads as a response"
NO_AMOUNT = "no amount in the text"
NOT_UNDERSTOOD = "amounts named, but none the reader understands as a proposal"


class Cand:
    """One amount statement found in a sentence.

    `claim` is what it gives the proposer (the speaker), `other` what it gives the addressee;
    `kind` says how explicit it is, `klass` whether it is proposed now or only recalled, and
    `ctx` where its wording starts (the verb of "I will take $60")."""

    __slots__ = ("start", "end", "kind", "claim", "other", "sent", "klass", "ctx")

    def __init__(self, start: int, end: int, kind: int, claim: float, other: float,
                 ctx: int = -1) -> None:
        self.start, self.end, self.kind = start, end, kind
        self.ctx = start if ctx < 0 else ctx
        self.claim, self.other = claim, other
        self.sent = 0
        self.klass = NEUTRAL


# a proposer's text that answers a proposal instead of making one ("I must decline your
# proposal of a 75-25 split", "As the responder, I accept")
_REPLY = re.compile(
    r"\b(?:i|we)\b(?:\s(?!you\b)[\w,']+){0,4}?\s(?:accept|decline|reject|refuse)\w*\s"
    r"(?:[\w-]+\s){0,3}?(?:your|this|that|the)\s(?:[\w/:%$.-]+\s){0,4}?(?:proposal|offer|split"
    r"|division|terms|counter\w*)|\bas the responder\b")
_DIGIT = re.compile(r"\d")


def _values(cands: list[Cand]) -> list[float]:
    seen: list[float] = []
    for c in cands:
        if not any(abs(c.claim - v) < 1e-6 for v in seen):
            seen.append(c.claim)
    return seen


def judge(norm: str, sentences: list[str], chosen: Cand | None, pool: list[Cand],
          cands: list[Cand], pie: float, settled: bool = False) -> Reading:
    """The reading of `chosen` (None: nothing found) among `cands`, scored by what competes
    with it; `settled` says a later explicit statement fixed whose share a plain split is."""
    if chosen is None:
        if _DIGIT.search(norm):
            return Reading(None, 0.0, "", NOT_UNDERSTOOD)
        return Reading(None, 0.0, "", NO_AMOUNT)
    sentence = sentences[chosen.sent] if chosen.sent < len(sentences) else norm
    evidence = span(sentence, min(chosen.start, chosen.ctx), chosen.end)
    value = chosen.claim
    live = [c for c in pool if c.klass <= NEUTRAL and c.kind != EVEN_WORDS] or pool
    values = _values(live)
    if chosen.klass > NEUTRAL:
        return Reading(value, 0.3, evidence, ANSWERED_ONLY)
    if _REPLY.search(norm):
        return Reading(value, 0.35, evidence, READS_AS_REPLY)
    if len(values) > 1:
        listed = ", ".join(f"{v:g}" for v in values[:4])
        return Reading(value, 0.3, evidence, f"{SEVERAL} ({listed})")
    if chosen.kind == EVEN_WORDS:
        return Reading(value, 0.8, evidence, EVEN_SPLIT)
    if chosen.kind == PLAIN and not settled and abs(chosen.claim - chosen.other) > 1e-6:
        return Reading(value, 0.7, evidence, AS_WRITTEN)
    return Reading(value, 0.95, evidence, CLEAR)
