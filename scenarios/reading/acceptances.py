"""Reading whether a responder accepts or rejects from free text, with how sure the reading is."""
from __future__ import annotations

import re

from scenarios.reading.acceptance_confidence import judge
from scenarios.reading.confidence import Reading, unreadable
from scenarios.reading.normalise import MAX_CHARS, drop_stage_directions, normalize
from scenarios.reading.acceptance_patterns import (ACCEPTABLE, ACCEPT_WORD, AFTER_ACCEPT_VOID,
    AGREEMENT, AND_ACCEPT, AND_REJECT, ASKS_BACK, CONCESSIVE_BEFORE, COUNTER_AMOUNT, DOUBT_BEFORE,
    ELLIPSIS, ELLIPSIS_INNER, FLAT_NO, HEDGE, HEDGE_REJECT, HOPE_BEFORE, IF_BEFORE, I_ACCEPT,
    I_AGREE, ONLY_BEFORE, QUESTION_LEAD,
    I_NOT_ACCEPT, I_NOT_AGREE, I_NOT_REJECT, I_REJECT, NOT_ACCEPTABLE, NOT_BEFORE,
    NOT_BEFORE_ACCEPTABLE, NOT_MORE_LESS, REJECT_WORD, TAKES_OFFER, THIRD_PERSON,
    WEAK_ACCEPT, WEAK_REJECT, WILLING, YOU_BEFORE)


def extract_acceptance(text: str) -> bool | None:
    """Whether a responder's reply accepts (True) or rejects (False) the proposal; None if the
    text does not say.

    Reads "I accept", "Deal!", "I gladly accept your offer", "I reject your proposal", "I cannot
    accept", "I'll have to decline", "Accepted, but next time ...", negations and mixed texts:
    the first decision stated counts; a conditional ("if you offer 50/50, I will accept") or a
    hedge ("I would accept") is no decision; role-play asides (*strokes beard*) are skipped.
    With no decision stated, softer cues decide ("Very well, let us proceed" accepts, a
    counter-proposal rejects). Never raises. The best guess, however unsure:
    :func:`read_acceptance` says how sure it is.
    """
    return read_acceptance(text).value  # type: ignore[return-value]


def read_acceptance(text: str, pie: float = 100.0) -> Reading:
    """:func:`extract_acceptance` with its evidence and confidence (see
    :mod:`.acceptance_confidence`); `pie` sizes a proposal the reply runs on into."""
    try:
        if not isinstance(text, str):
            return unreadable()
        return _read_acceptance(text, float(pie) if float(pie) > 0 else 100.0)
    except Exception:  # pragma: no cover - a parser must never take a match down
        return Reading(None, 0.0, "", "the reader failed on this text")


def _voided(norm: str, regex: re.Pattern[str], m: re.Match[str], verdict: bool) -> bool:
    start = m.start()
    if IF_BEFORE.search(norm, max(0, start - 80), start):
        return True
    if regex is AGREEMENT:
        return False
    if regex is not AND_ACCEPT and HEDGE.search(m.group(0)):
        return True
    if not verdict and HEDGE_REJECT.search(m.group(0)):
        return True
    if DOUBT_BEFORE.search(norm, max(0, start - 40), start):
        return True
    if verdict and regex is not ACCEPTABLE and AFTER_ACCEPT_VOID.match(norm, m.end()):
        return True
    if CONCESSIVE_BEFORE.search(norm, max(0, start - 40), start):
        return True
    if regex is I_ACCEPT and NOT_BEFORE.search(norm, max(0, start - 30), start):
        return True
    if regex is I_ACCEPT and (re.search(r"\bonly\b", m.group(0)) or (
            COUNTER_AMOUNT.match(norm, m.end()) and ASKS_BACK.search(norm, m.end()))):
        return True
    if regex is I_ACCEPT and WILLING.search(m.group(0)) and not TAKES_OFFER.match(
            norm, m.end()):
        return True
    if regex in (AND_ACCEPT, AND_REJECT) and YOU_BEFORE.search(norm, max(0, start - 60),
                                                                  start):
        return True
    # "and cannot accept it", "but would like to accept a fairer split": no decision
    if regex in (AND_ACCEPT, AND_REJECT) and (_AND_VOID.search(m.group(0)) or HOPE_BEFORE.search(
            norm, max(0, start - 60), start)):
        return True
    if regex in (I_ACCEPT, AND_ACCEPT) and ONLY_BEFORE.search(norm, max(0, start - 50), start):
        return True
    if regex is ACCEPTABLE and (NOT_MORE_LESS.search(m.group(0))
                                 or NOT_ACCEPTABLE.match(norm, max(0, start - 25))
                                 or NOT_BEFORE_ACCEPTABLE.search(norm, max(0, start - 25), start)):
        return True
    return False


_AND_VOID = re.compile(r"\b(?:not|never|cannot|unable|no|could|might|wish|want|like|should"
                       r"|if|whether|asks?|asked|urge\w*)\b")


# a clause can only state a decision if it contains one of these (a cheap pre-filter)
_TRIGGER = re.compile(
    r"accept|agree|reject|declin|refus|deal\b|\byes\b|\bno\b|settl|conced|acquiesc|consent"
    r"|approv|embrac|welcome|go along|\btake\b|acced|veto|spurn|rebuff|pass on|turn down"
    r"|accord|be it|shall be|be so|satisfied|content with|happy with|sounds|works for|count me"
    r"|shake|concur|\bit is\b|\bit be\b|honou?r|question|think not|no way|think so|a chance"
    r"|absolutely")
_CLAUSE = re.compile(r"[^.!?\n]*(?:[.!?\n]+|$)")
_UNCONDITIONAL = ((ACCEPT_WORD, True), (REJECT_WORD, False), (FLAT_NO, False),
                  (NOT_ACCEPTABLE, False), (I_NOT_AGREE, False), (I_AGREE, True))
_CHECKED = ((I_ACCEPT, True), (I_REJECT, False), (AND_ACCEPT, True), (ACCEPTABLE, True),
            (AND_REJECT, False), (AGREEMENT, True))


def _decisions(norm: str) -> list[tuple[int, int, bool]]:
    """(start, end, verdict) of every decision the text states, in order."""
    spans = [(max(0, m.start() - 3), m.end()) for m in _CLAUSE.finditer(norm)
             if m.end() > m.start() and _TRIGGER.search(norm, m.start(), m.end())]
    found: list[tuple[int, int, bool]] = []
    negated: list[tuple[int, int]] = []
    for a, b in spans:
        stated = _clause_decisions(norm, a, b, negated)
        asked = QUESTION_LEAD.search(norm, a, b) if norm[a:b].rstrip().endswith("?") else None
        if asked:
            # "do we have a deal?", "do you find this acceptable?" ask for a verdict: words of
            # acceptance in the question decide nothing ("I accept, but what now?" still does;
            # "do you think I would accept that?" still rejects)
            stated = [d for d in stated if not (d[2] and d[0] >= asked.start())]
        found.extend(stated)
    found.sort()
    return found


def _clause_decisions(norm: str, a: int, b: int,
                      negated: list[tuple[int, int]]) -> list[tuple[int, int, bool]]:
    """The decisions stated in the clause norm[a:b]; `negated` collects negated spans."""
    found: list[tuple[int, int, bool]] = []
    for regex, verdict in ((I_NOT_ACCEPT, False), (I_NOT_REJECT, True)):
        for m in regex.finditer(norm, a, b):
            if CONCESSIVE_BEFORE.search(norm, max(0, m.start() - 40), m.start()):
                negated.append(m.span())
            elif not IF_BEFORE.search(norm, max(0, m.start() - 80), m.start()):
                found.append((m.start(), m.end(), verdict))
                negated.append(m.span())
    for regex, verdict in _CHECKED:
        for m in regex.finditer(norm, a, b):
            if any(x <= m.start() < y for x, y in negated):
                continue
            if not _voided(norm, regex, m, verdict):
                found.append((m.start(), m.end(), verdict))
    for regex, verdict in _UNCONDITIONAL:
        for m in regex.finditer(norm, a, b):
            if CONCESSIVE_BEFORE.search(norm, max(0, m.start() - 40), m.start()):
                continue
            if regex is I_AGREE and ONLY_BEFORE.search(norm, max(0, m.start() - 50), m.start()):
                continue  # "the only terms on which I will agree."
            found.append((m.start(), m.end(), verdict))
    for m in THIRD_PERSON.finditer(norm, a, b):
        found.append((m.start(), m.end(), m.group("a") is not None))
    return found


def _read_acceptance(text: str, pie: float) -> Reading:
    if not text.strip():
        return Reading(None, 0.0, "", "empty text")
    text = drop_stage_directions(text[:MAX_CHARS])
    norm = normalize(ELLIPSIS_INNER.sub(" ", ELLIPSIS.sub(". ", text)))
    found = _decisions(norm)
    weak = [(m.start(), m.end(), True) for m in WEAK_ACCEPT.finditer(norm)]
    weak += [(m.start(), m.end(), False) for m in WEAK_REJECT.finditer(norm)]
    weak.sort()
    return judge(norm, found, weak, pie)
