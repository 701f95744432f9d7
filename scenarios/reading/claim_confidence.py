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
ANSWER_DIFFERS = "another amount is named as the other side's proposal"
CONTRADICTS = "the split's orientation cues contradict each other"
YOUR_TERMS = "the split is stated in the other side's terms"
EVEN_BESIDE = ("role contradicts seat: the text reads as a response and names an uneven split "
               "beside the even one it is read as")
NO_AMOUNT = "no amount in the text"
NOT_UNDERSTOOD = "amounts named, but none the reader understands as a proposal"

# base scores by kind of evidence, then factors for what competes with it
_BASE = {EXPLICIT: 0.95, ORIENTED: 0.92, PLAIN: 0.85, EVEN_WORDS: 0.8}
_NOT_PROPOSED = 0.85  # the amount is neutral, not introduced as a proposal ("a 60/40 split is")
_FACTORS = {ANSWERED_ONLY: 0.6, READS_AS_REPLY: 0.75, ANSWER_DIFFERS: 0.75, CONTRADICTS: 0.75,
            SEVERAL: 0.55, YOUR_TERMS: 0.85, EVEN_BESIDE: 0.5}


class Cand:
    """One amount statement found in a sentence.

    `claim` is what it gives the proposer (the speaker), `other` what it gives the addressee;
    `kind` says how explicit it is, `klass` whether it is proposed now or only recalled, and
    `ctx` where its wording starts (the verb of "I will take $60")."""

    __slots__ = ("start", "end", "kind", "claim", "other", "sent", "klass", "ctx", "side",
                 "conflict")

    def __init__(self, start: int, end: int, kind: int, claim: float, other: float,
                 ctx: int = -1) -> None:
        self.start, self.end, self.kind = start, end, kind
        self.ctx = start if ctx < 0 else ctx
        self.claim, self.other = claim, other
        self.sent = 0
        self.klass = NEUTRAL
        self.side = ""  # a split's orientation cue: "me", "you" or none
        self.conflict = False  # its orientation cues contradict each other


# a proposer's text that answers a proposal instead of making one ("I must decline your
# proposal of a 75-25 split", "As the responder, I accept", "*considers the offer carefully*")
_REPLY = re.compile(
    r"\b(?:i|we)\b(?:\s(?!you\b)[\w,']+){0,4}?\s(?:accept|decline|reject|refuse)\w*\s"
    r"(?:[\w-]+\s){0,3}?(?:your|this|that|the)\s(?:[\w/:%$.-]+\s){0,4}?(?:proposal|offer|split"
    r"|division|terms|counter\w*)|\bas the responder\b|\b(?:i|we) (?:cannot|can not|could not"
    r"|will not) (?:in good conscience )?(?:accept|agree)\b|\byou (?:proposed|suggested"
    r"|have proposed|propose\?)|\b(?:listen|consider|weigh|ponder|contemplat|mull)\w*"
    r" (?:[\w-]+ ){0,2}?(?:the|your|this|that) (?:[\w-]+ )?(?:proposal|offer|counter\w*)")
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
    with it; `settled` says a later explicit statement fixed whose share a plain split is.

    The score is the evidence's base score times a factor for each doubt; the reason names
    the strongest doubt (or the kind of evidence when there is none)."""
    if chosen is None:
        return Reading(None, 0.0, "", NOT_UNDERSTOOD if _DIGIT.search(norm) else NO_AMOUNT)
    sentence = sentences[chosen.sent] if chosen.sent < len(sentences) else norm
    evidence = span(sentence, min(chosen.start, chosen.ctx), chosen.end)
    value = chosen.claim
    kind = EXPLICIT if settled else chosen.kind
    uneven = abs(chosen.claim - chosen.other) > 1e-6
    score = _BASE[kind] * (_NOT_PROPOSED if chosen.klass == NEUTRAL and kind == PLAIN
                           and uneven else 1.0)
    doubts: list[str] = []
    # "I accept your proposal of a 50/50 split": when every amount named is one even split,
    # whose proposal it is does not change the claim
    even_only = all(abs(c.claim - c.other) < 1e-6 for c in cands if c.klass != CONDITIONAL)
    if chosen.klass > NEUTRAL and not even_only:
        doubts.append(ANSWERED_ONLY)
    replying = bool(_REPLY.search(norm))
    if replying and not even_only:
        doubts.append(READS_AS_REPLY)
    live = [c for c in pool if c.klass <= NEUTRAL and c.kind != EVEN_WORDS] or pool
    # "a 60/40 split, with 60% going to you and 40% to me": the shares say whose side of the
    # split as written is whose, so the two are one proposal, not two candidates
    stated = {(round(c.claim, 6), round(c.other, 6)) for c in live if c.kind == EXPLICIT}
    live = [c for c in live if not (c.kind == PLAIN and c.claim != c.other
                                    and (round(c.other, 6), round(c.claim, 6)) in stated)]
    values = _values(live)
    if len(values) > 1:
        doubts.append(SEVERAL)
    if chosen.klass <= NEUTRAL and any(c.klass == ANSWERED and abs(c.claim - value) > 1e-6
                                       for c in cands):
        doubts.append(ANSWER_DIFFERS)
    if chosen.conflict:
        doubts.append(CONTRADICTS)
    if replying and not even_only and not uneven and chosen.klass != FRESH:
        # "Your 70/30 offer is steep ... a 50/50 split is fairer. Very well, I accept": which of
        # the two does a proposer's text that answers a proposal propose? ("I propose 50/50"
        # proposes it)
        doubts.append(EVEN_BESIDE)
    if chosen.side == "you" and replying and not even_only:
        doubts.append(YOUR_TERMS)  # whose proposal is it, when the text reads as a reply?
    for doubt in doubts:
        score *= _FACTORS[doubt]
    if doubts:
        reason = min(doubts, key=lambda d: _FACTORS[d])
        if reason == SEVERAL:
            reason += " (" + ", ".join(f"{v:g}" for v in values[:4]) + ")"
    else:
        reason = {EXPLICIT: CLEAR, ORIENTED: CLEAR, EVEN_WORDS: EVEN_SPLIT}.get(
            kind, AS_WRITTEN if uneven else CLEAR)
    return Reading(value, round(score, 3), evidence, reason)
