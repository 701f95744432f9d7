"""Reading what a proposer claims for itself from free text, with how sure the reading is."""
from __future__ import annotations

import re
from bisect import bisect_right

from scenarios.reading.claim_confidence import ANSWERED as _YOURSK
from scenarios.reading.claim_confidence import CONDITIONAL as _CONDK
from scenarios.reading.claim_confidence import EVEN_WORDS as _EVENK
from scenarios.reading.claim_confidence import EXPLICIT as _EXPLICIT
from scenarios.reading.claim_confidence import FRESH as _FRESH
from scenarios.reading.claim_confidence import NEUTRAL as _NEUTRAL
from scenarios.reading.claim_confidence import ORIENTED as _ORIENTED
from scenarios.reading.claim_confidence import PLAIN as _PLAIN
from scenarios.reading.claim_confidence import RECALLED as _PASTK
from scenarios.reading.claim_confidence import Cand, judge
from scenarios.reading.confidence import Reading, unreadable
from scenarios.reading.normalise import normalize
from scenarios.reading.claim_patterns import (AFTER_PAST, AFTER_YOURS, AFTER_YOURS_STRONG,
    ALL_MINE, BOTH_GET, OTHER_BARE, SELF_BARE, COND, EACH, EVEN, FAVOR_ME, FAVOR_YOU, HAS_AMOUNT, HYPOTHETICAL, LATER,
    LATER_REACH, NUMBER_START, OTHER_AFTER, OTHER_GIVE, OTHER_LIST, OTHER_VERB, OUR_FAVOR, PAST,
    POT_BEFORE, PROP, SELF_AFTER, SELF_GIVE, SELF_LIST, SELF_MINE, SELF_VERB, SENT, SPLIT,
    SPLIT_AFTER, SPLIT_BEFORE, YOURS)


def _clean(value: float, pie: float) -> float:
    """Round away float noise (55.00000000000001 -> 55.0), within 0..pie."""
    return min(max(float(round(value, 6)), 0.0), pie) + 0.0


def _amount(m: re.Match[str], name: str, pie: float) -> float | None:
    try:
        value = float(m.group(name))
    except (TypeError, ValueError):
        return None
    if m.group(name + "_p"):
        value = value * pie / 100.0
    if not 0.0 <= value <= pie:
        return None
    return value


def _anchored(regex: re.Pattern[str], sentence: str, starts: list[int]):
    """Non-overlapping matches of an amount-led `regex` that start where an amount starts."""
    reached = -1
    for start in starts:
        if start < reached:
            continue
        m = regex.match(sentence, start)
        if m:
            reached = m.end()
            yield m


_AMOUNT_LED = ((SELF_AFTER, True), (SELF_MINE, True), (OTHER_AFTER, False), (SELF_BARE, True),
               (OTHER_BARE, False))
_WORD_LED = ((SELF_VERB, True), (SELF_LIST, True), (SELF_GIVE, True), (OTHER_VERB, False),
             (OTHER_GIVE, False), (OTHER_LIST, False))


def _explicit(sentence: str, starts: list[int], pie: float, found: list[Cand]) -> None:
    matches = [(m, mine) for regex, mine in _AMOUNT_LED for m in _anchored(regex, sentence, starts)]
    matches += [(m, mine) for regex, mine in _WORD_LED for m in regex.finditer(sentence)]
    for m, mine in matches:
        name = "x" if m.group("x") is not None else "y"
        value = _amount(m, name, pie)
        if value is None:
            continue
        start, end = m.start(name), m.end(name)
        if SPLIT_AFTER.match(sentence, end) or SPLIT_BEFORE.search(sentence, 0, start):
            continue
        if value == pie and POT_BEFORE.search(sentence, max(0, start - 12), start):
            continue
        claim = value if mine else pie - value
        found.append(Cand(start, end, _EXPLICIT, claim, pie - claim, m.start()))
    for m in ALL_MINE.finditer(sentence):
        if not HYPOTHETICAL.search(m.group(0)):  # "I could simply take it all by force"
            found.append(Cand(m.start(), m.end(), _EXPLICIT, pie, 0.0))


def _orientation(tail: str, following: str, uneven: bool) -> tuple[str, bool]:
    """Whose side a split favours: "me", "you" or "" (read it as written, first share first),
    and whether the text's cues contradict each other ("70/30 in my favor ... still granting
    you the greater portion").

    A later "this still gives you the majority" outweighs an "in my favor" (models get that
    phrase backwards), which outweighs a weaker "allowing you a larger share"."""
    later: set[str] = set()
    if uneven:
        text = tail + " " + following
        for m in LATER.finditer(text, 0, min(len(text), LATER_REACH + 200)):
            if m.start() <= LATER_REACH:
                later.add(m.lastgroup or "")
    favor = "me" if FAVOR_ME.search(tail) else "you" if FAVOR_YOU.search(tail) else ""
    weak = "you" if "you_weak" in later else "me" if "me_weak" in later else ""
    strong = "you" if "you" in later else "me" if "me" in later else ""
    sides = {s for s in (strong, favor, weak) if s}
    return (strong or favor or weak), len(sides) > 1


def _candidates(sentence: str, following: str, pie: float) -> list[Cand]:
    """Every amount-like statement in one sentence."""
    found: list[Cand] = []
    starts = [m.start() for m in NUMBER_START.finditer(sentence)]
    _explicit(sentence, starts, pie, found)
    for m in _anchored(SPLIT, sentence, starts):
        # "60/40" shares the pie in that ratio whatever its size; "$7-$3" of a $10 pie too
        raw_a, raw_b = float(m.group("a")), float(m.group("b"))
        total = raw_a + raw_b
        if abs(total - 100.0) > 1e-6 and abs(total - pie) > 1e-6:
            continue
        if " and " in m.group(0) and not (m.group("a_p") or m.group("a_c")):
            continue
        share_a, share_b = raw_a * pie / total, raw_b * pie / total
        high, low = max(share_a, share_b), min(share_a, share_b)
        side, conflict = _orientation(sentence[m.end():], following, share_a != share_b)
        if side == "me":
            cand = Cand(m.start(), m.end(), _ORIENTED, high, low)
        elif side == "you":
            cand = Cand(m.start(), m.end(), _ORIENTED, low, high)
        else:
            cand = Cand(m.start(), m.end(), _PLAIN, share_a, share_b)
        cand.side = side
        cand.conflict = conflict or bool(OUR_FAVOR.match(sentence, m.end()))
        found.append(cand)
    half = pie / 2.0
    each = [m for m in _anchored(EACH, sentence, starts)] + list(BOTH_GET.finditer(sentence))
    for m in each:
        value = _amount(m, "x", pie)
        # "$50 each"; "we each take $40, leaving $20 aside" claims 40 (more than half each: no)
        if value is not None and value <= half + 1e-6:
            kind = _EXPLICIT if abs(value - half) < 1e-6 else _PLAIN  # a share beats "$30 each"
            found.append(Cand(m.start(), m.end(), kind, value, value))
    for m in EVEN.finditer(sentence):
        found.append(Cand(m.start(), m.end(), _EVENK, half, half))
    return found


def _cue_ends(regex: re.Pattern[str], sentence: str) -> list[int]:
    return [m.end() for m in regex.finditer(sentence)]


def _last_before(ends: list[int], position: int) -> int:
    """The end of the last cue that ends at or before `position`, -1 if none."""
    index = bisect_right(ends, position)
    return ends[index - 1] if index else -1


def _classify(sentence: str, cands: list[Cand], pie: float) -> None:
    """Mark each amount as proposed now, neutral, the addressee's proposal, or a past/foil one:
    the nearest cue before it in its sentence decides."""
    yours_ends = _cue_ends(YOURS, sentence)
    past_ends = _cue_ends(PAST, sentence)
    prop_ends = _cue_ends(PROP, sentence)
    conditional = COND.search(sentence) is not None
    for cand in cands:
        if conditional and cand.claim in (0.0, pie):
            cand.klass = _CONDK
            continue
        if AFTER_YOURS_STRONG.match(sentence, cand.end):
            cand.klass = _YOURSK
            continue
        last_yours = _last_before(yours_ends, cand.ctx)
        last_past = _last_before(past_ends, cand.ctx)
        last_prop = _last_before(prop_ends, cand.ctx)
        if last_prop < 0:
            after = sentence[cand.end:]
            if AFTER_YOURS.search(after):
                last_yours = max(last_yours, 0)
            elif AFTER_PAST.search(after):
                last_past = max(last_past, 0)
        latest = max(last_yours, last_past, last_prop)
        if latest < 0:
            cand.klass = _NEUTRAL
        elif latest == last_prop:
            cand.klass = _FRESH
        elif latest == last_past:
            cand.klass = _PASTK
        else:
            cand.klass = _YOURSK


def extract_claim(text: str, pie: float = 100.0) -> float | None:
    """The amount the proposer in `text` claims for itself, in units of `pie`; None if none.

    Reads the wordings models use ("$70 for me and $30 for you", "a 60-40 split", "60/40 in
    my favor", "I offer you 20%", "you get $45", "$50 each", written numbers, markdown,
    emotes ...) and, when the text names several amounts, the one it proposes now rather than
    one it recalls, rejects or hedges ("if you reject, we both get $0"); a correction
    ("actually, make that 60/40") replaces an earlier amount. A text that makes no proposal of
    its own but names one it answers ("I reject your 70/30 offer") is read as that proposal,
    as the paper's labeller read it. `pie` scales percentages and ratios ("60/40" of a $10
    pie claims 6.0); the result always lies in 0..pie. Never raises. The best guess, however
    unsure: :func:`read_claim` says how sure it is.
    """
    return read_claim(text, pie).value  # type: ignore[return-value]


def read_claim(text: str, pie: float = 100.0) -> Reading:
    """:func:`extract_claim` with its evidence and confidence (see :mod:`.claim_confidence`)."""
    try:
        if not isinstance(text, str) or not float(pie) > 0:
            return unreadable()
        return _read_claim(text, float(pie))
    except Exception:  # pragma: no cover - a parser must never take a match down
        return Reading(None, 0.0, "", "the reader failed on this text")


_WINDOW = 2  # sentences after the anchor whose stronger evidence may refine it
_REVISION = re.compile(
    r"\b(?:actually|on second thought|let me (?:revise|rephrase|correct|amend|adjust)|correction"
    r"|scratch that|make (?:that|it)|i meant)\b[^.!?\n]{0,60}$")


def _read_claim(text: str, pie: float) -> Reading:
    # 1. Every sentence yields candidate amounts: explicit shares ("$70 for me", "you get $45",
    #    "$50 each"), splits read with their orientation ("60/40 in your favor", "... this
    #    still gives you the majority") or as written (first share the proposer's), and even
    #    splits ("split it evenly").
    # 2. Each candidate is classed by the nearest cue before it in its sentence: proposed now
    #    ("I propose", "how about"), neutral, the addressee's proposal ("your 70/30 offer",
    #    "60-40 you say?"), past or foil ("last round", "rather than"), or a conditional 0/100
    #    ("if you reject, we both get $0").
    # 3. The best class wins; its first candidate anchors a window of a few sentences in which
    #    explicit shares beat oriented splits beat plain splits beat "even"; a correction
    #    ("actually, make that 60/40") replaces it.
    # 4. How sure that is depends on what else the text says (claim_confidence.judge).
    if not text.strip():
        return Reading(None, 0.0, "", "empty text")
    norm = normalize(text)
    sentences = SENT.split(norm)
    cands: list[Cand] = []
    for index, sentence in enumerate(sentences):
        if not sentence or not HAS_AMOUNT.search(sentence):
            continue
        following = sentences[index + 1] if index + 1 < len(sentences) else ""
        found = _candidates(sentence, following, pie)
        _classify(sentence, found, pie)
        for cand in found:
            cand.sent = index
        cands.extend(found)
    if not cands:
        return judge(norm, sentences, None, [], [], pie)
    best_class = min(c.klass for c in cands)
    pool = [c for c in cands if c.klass == best_class]
    if any(c.kind != _EVENK for c in pool):  # "a more equal split" alone is weak evidence
        pool = [c for c in pool if c.kind != _EVENK]
    anchor = min(pool, key=lambda c: (c.sent, c.start))
    if best_class <= _NEUTRAL:
        pool = [c for c in cands if c.klass <= _NEUTRAL
                and anchor.sent <= c.sent <= anchor.sent + _WINDOW]
    else:
        pool = [c for c in pool if c.sent == anchor.sent]
    chosen = min(pool, key=lambda c: (c.kind, c.sent, c.start))
    # "I propose 70/30. Actually, make that 60/40.": a later amount after a correction wins
    for c in cands:
        if c.klass <= _NEUTRAL and (c.sent, c.start) > (chosen.sent, chosen.start) and (
                c.claim != chosen.claim) and _REVISION.search(
                    sentences[c.sent], max(0, c.ctx - 60), c.ctx):
            chosen = c
    if chosen.kind == _PLAIN:
        # "a 70-30 split ... allocating 70% to you and 30% to me": the explicit statement says
        # which side of the split is the proposer's
        for c in cands:
            if c.kind == _EXPLICIT and c.klass <= _NEUTRAL and c.sent > chosen.sent and (
                    c.claim in (chosen.claim, chosen.other)):
                c.claim = _clean(c.claim, pie)
                return judge(norm, sentences, c, pool, cands, pie, settled=True)
    chosen.claim = _clean(chosen.claim, pie)
    return judge(norm, sentences, chosen, pool, cands, pie)
