"""Offline free-text move extraction for the ultimatum game.

Pure Python and :mod:`re`: deterministic, fast (well under a millisecond per call on typical
texts), and it never raises. Two questions, the two the paper asked GPT-4o:

- :func:`extract_claim`: how much does the proposer in this text claim for itself?
- :func:`extract_acceptance`: does this reply accept (True) or reject (False) the proposal?

Both return None when the text does not answer the question.
"""
from __future__ import annotations

import re
from bisect import bisect_right

__all__ = ["extract_claim", "extract_acceptance", "normalize"]

#: texts longer than this are cut before parsing (model replies are far shorter)
MAX_CHARS = 20_000

# --------------------------------------------------------------------------------------------
# normalisation
# --------------------------------------------------------------------------------------------

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
_WORD_NUMBER = re.compile(
    r"\b(?:(?P<hundred>(?:a|one)[ -]hundred)"
    r"|(?P<tens>" + "|".join(_TENS) + r")(?:[ -](?P<unit>" + "|".join(
        u for u in _UNITS if _UNITS[u] and _UNITS[u] < 10) + r"))?"
    r"|(?P<small>" + "|".join(sorted((u for u in _UNITS if u != "one"), key=len, reverse=True))
    + r"))\b"
)


def _word_number(match: re.Match[str]) -> str:
    if match.group("hundred"):
        return "100"
    if match.group("tens"):
        value = _TENS[match.group("tens")]
        if match.group("unit"):
            value += _UNITS[match.group("unit")]
        return str(value)
    return str(_UNITS[match.group("small")])


_TRANSLATE = str.maketrans({
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": " - ", "\u2015": "-",
    "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\uff05": "%",
    "\uff04": "$", "\u00a0": " ", "\u2044": "/", "\u2215": "/", "\uff1a": ":",
    "*": " ", "_": " ", "`": " ", "#": " ", "~": " ", "|": " ",
})
_PERCENT_WORD = re.compile(r"\s*\b(?:per ?cent|pct)\b")
_DOLLAR_WORD = re.compile(r"\$?(\d+(?:\.\d+)?)\s*(?:us\s*)?(?:dollars?|bucks|usd)\b")
_DOLLAR_PREFIX = re.compile(r"(?:usd|us\$)\s*(?=\d)")
_THOUSANDS = re.compile(r"(\d),(\d{3})\b")
_DOLLAR_SPACE = re.compile(r"\$\s+(?=\d)")
_CENTS = re.compile(r"(\d)\.0+\b")
_SPACES = re.compile(r"[ \t\r\f\v]{2,}|[\t\r\f\v]")
_DIALECT_WORDS = {
    "meself": "myself", "me'self": "myself", "ye": "you", "yer": "your", "thee": "you",
    "thou": "you", "thy": "your", "thine": "yours", "ya": "you", "fer": "for",
    "ye'll": "you will", "ye'd": "you would", "ye're": "you are", "yerself": "yourself",
    "i'd": "i would", "i'll": "i will", "i'm": "i am", "you'll": "you will",
    "you'd": "you would", "you're": "you are", "we'll": "we will", "we'd": "we would",
    "let's": "let us", "that's": "that is", "it's": "it is", "can't": "cannot",
    "won't": "will not", "don't": "do not", "i've": "i have", "you've": "you have",
    "we've": "we have", "shan't": "shall not", "wouldn't": "would not",
    "couldn't": "could not", "isn't": "is not", "doesn't": "does not",
}
_DIALECT = re.compile(r"(?<![\w'])(?:" + "|".join(
    re.escape(w) for w in sorted(_DIALECT_WORDS, key=len, reverse=True)) + r")(?![\w'])")
_DROPPED_G = re.compile(r"(?<=[a-z]{2})in'(?![\w])")


_NUMBER_STEMS = ("zero", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                 "eleven", "twelve", "teen", "twenty", "thirty", "forty", "fourty", "fifty",
                 "sixty", "seventy", "eighty", "ninety", "hundred")
_DIALECT_STEMS = ("'", "ye", "thee", "thou", "thy", "thine", "ya", "meself", "fer")


def normalize(text: str) -> str:
    """Lower-case, plain-ASCII punctuation, no markdown, digits for written numbers, no
    contractions or stage dialect ("ye", "meself", "keepin'")."""
    text = str(text)[:MAX_CHARS].lower().translate(_TRANSLATE)
    # each pass runs only when a cheap substring test says it may apply
    if any(stem in text for stem in _NUMBER_STEMS):
        text = _WORD_NUMBER.sub(_word_number, text)
    if "cent" in text or "pct" in text:
        text = _PERCENT_WORD.sub("%", text)
    if "usd" in text or "us$" in text:
        text = _DOLLAR_PREFIX.sub("$", text)
    if "," in text:
        text = _THOUSANDS.sub(r"\1\2", text)
    if "$ " in text:
        text = _DOLLAR_SPACE.sub("$", text)
    if "dollar" in text or "buck" in text or "usd" in text:
        text = _DOLLAR_WORD.sub(r"$\1", text)  # "70 dollars" -> "$70"
    if ".0" in text:
        text = _CENTS.sub(r"\1", text)
    if "in'" in text:
        text = _DROPPED_G.sub("ing", text)
    if any(stem in text for stem in _DIALECT_STEMS):
        text = _DIALECT.sub(lambda m: _DIALECT_WORDS[m.group(0)], text)
    return _SPACES.sub(" ", text)


# --------------------------------------------------------------------------------------------
# claims
# --------------------------------------------------------------------------------------------

def _num(name: str) -> str:
    """An amount: optional $, a number, optional % or unit; groups name, name_c, name_p."""
    return (
        rf"(?<![\w.$])(?P<{name}_c>\$)?(?P<{name}>\d{{1,7}}(?:\.\d+)?)(?![\d])"
        rf"(?P<{name}_p>\s?%)?(?:\s?\$(?!\d))?"
        r"(?:\s?(?:gold\s|silver\s)?(?:coins?|units?|points?|credits?|pieces?|gold)\b)?"
    )


# words that may stand between a verb and its amount ("take the lion's share of 70%")
_FILL = (r"(?:(?:only|just|about|around|roughly|approximately|exactly|a|an|the|total|sum|amount"
         r"|share|portion|of|full|solid|modest|mere|larger|smaller|greater|lesser|remaining"
         r"|generous|fair|healthy|substantial|respectable|reasonable|whole|entire|slightly"
         r"|bigger|majority|lion's|cut|more|meaningful|significant|decent|sizable|sizeable"
         r"|good|nice|small|large|rightful|humble|meager|meagre|measly|paltry|remainder|rest"
         r"|pitiful|lowly|scant|bare|minimum|maximum|mere|well-deserved|deserved|respectable"
         r"|equitable|sum|an|additional|extra|guaranteed|firm|clean|tidy|cool|handsome|hefty"
         r"|princely|reasonable|proper|modest|still|even|stake|split|allocation|percentage"
         r"|with|home|away|in|return)\s)*")
# what may follow an amount before its owner ("70% of the $100 ($70) goes to me")
_POST = (r"(?:\s?\([^()]{0,30}\)|\s(?:share|portion|cut|stake|split)\b|,?\s(?:of|from|out of)\s"
         r"(?:(?:the|our|this|these|that|total|entire|whole)\s)*(?:\$?\d{1,3}(?:\s?%)?|pot|money"
         r"|sum|pie|prize|spoils|winnings|amount|funds|rewards?|resources|treasure|loot|proceeds"
         r"|profits?|earnings|gold|coins|total|bounty|riches|wealth|booty|plunder|bounty)"
         r"(?:\s(?:pot|prize|total|sum|reward|treasure|gold))?){0,3}")
_GO = (r"(?:,?\s?(?:(?:would|will|shall|should|to|can|must)\s)?(?:be\s)?(?:go|goes|going|gone"
       r"|allocated|assigned|given|reserved|set aside|kept|awarded|distributed|designated"
       r"|earmarked|directed|granted|split|left)\s)?")
_ME = r"\(?(?:me|myself|my side|my self|mine|my share|the proposer|my own|my coffers|my people)\b"
_OPPONENT = (r"(?:(?:my|the|our|your) (?:[\w-]+ ){0,2}(?:opponent|counterpart|adversary|rival"
             r"|partner|friend|foe|responder|companion|ally|colleague|servant)|the other (?:player"
             r"|party|side|person))")
_YOU = (r"\(?(?:you|yourself|your side|your share|the responder|the likes of you|" + _OPPONENT
        + r")\b")
_MODAL = (r"(?:,?\s(?:will|would|shall|should|could|can|get to|am going to|want to|wish to"
          r"|propose to|plan to|intend to|like to|be|am|are|to|then|only|just|simply|therefore"
          r"|thus|still|now|also|each|both|rightfully|gladly|happily|humbly|must|may|might"
          r"|receive|shalt|wilt|do|does|graciously|generously|kindly|proudly|naturally"
          r"|propose|suggest|offer|therefore|hereby|hence|so|instead|demand|deserve)(?=[\s,]))*")
_I = r"(?:\bi(?:,[^,]{1,40},)?|\bme|(?<!you )\bto)"
_THOU = r"(?:\byou|\b" + _OPPONENT + r")(?:,[^,]{1,40},)?"
_TAKE = (r"\s(?:take|keep|receive|get|claim|retain|have|pocket|gain|earn|secure|obtain|taking"
         r"|keeping|receiving|getting|claiming|retaining|having|walk away with|end up with"
         r"|walking away with|ending up with|take home|takes|gets|receives|keeps|demand"
         r"|demanding|require|deserve|want|request|ask for|accept|settle for|settle on|collect"
         r"|collecting|seize|seizing)\s")
_GIVE = (r"\b(?:offer|give|giv|provid|allocat|award|grant|leav|hand|pay|extend|assign|allow"
         r"|allot|reserv|set aside)\w*\s(?:to\s)?")

_SELF_AFTER = re.compile(_num("x") + _POST + _GO + r"\s?(?:for|to)\s" + _ME
                         + r"|" + _num("y") + r"\s?\((?:for|to) (?:me|myself)\)")
_OTHER_AFTER = re.compile(_num("x") + _POST + _GO + r"\s?(?:for|to)\s" + _YOU
                          + r"|" + _num("y") + r"\s?\((?:for|to) (?:you|yourself)\)")
_SELF_MINE = re.compile(_num("x") + _POST + r"\s(?:is|shall be|will be|would be|be|goes|should"
                        r" be|are)\s(?:all\s)?(?:mine|for me|to me|for myself)\b")
_SELF_VERB = re.compile(_I + _MODAL + _TAKE + _FILL + _num("x"))
_OTHER_VERB = re.compile(_THOU + _MODAL + _TAKE + _FILL + _num("x"))
_OTHER_GIVE = re.compile(_GIVE + _YOU + r"\)?\s(?:with\s)?" + _FILL + _num("x"))
_SELF_GIVE = re.compile(r"\b(?:giv|leav|allow|grant|award|provid)\w*\s(?:to\s)?me\s(?:with\s)?"
                        + _FILL + _num("x"))
_LIST_SEP = (r"\s?(?:\([^)]{0,30}\)\s?)?(?:[:=]|\s-|\s(?:is|would be|will be|shall be|being|at"
             r"|gets?|receives?|takes?)\s)\s?")
_SELF_LIST = re.compile(
    r"(?:\b(?:me|myself|my share|my portion|my cut|my part|proposer|for me|to me|for myself"
    r"|to myself|mine)|\((?:me|myself|i|that is me)\))" + _LIST_SEP + _FILL + _num("x"))
_OTHER_LIST = re.compile(
    r"(?:\b(?:you|your share|your portion|your cut|your part|responder|for you|to you"
    r"|opponent|yours)|\((?:you|yourself)\))" + _LIST_SEP + _FILL + _num("x")
    + r"|\b(?:and|while) (?:my opponent|you)\s" + _num("y") + r"(?=\s?(?:[.,;!?]|$))")
_ALL_MINE = re.compile(
    r"\b(?:i|me)" + _MODAL + _TAKE + r"(?:it all|all of it|everything|the (?:entire|whole|full)"
    r" (?:\$?100|prize|pot|sum|amount|spoils|loot|treasure|bounty)|all \$?100)")
_HYPOTHETICAL = re.compile(r"\b(?:could|would|might|if)\b")
_SPLIT = re.compile(
    _num("a") + r"\s?(?:-|/|:|\bto\b|\bvs\.?|\bversus\b|\band\b)\s?" + _num("b"))
_EVEN = re.compile(
    r"\b(?:split|divide|divid|share|distribut|shar)\w*\s(?:[\w$]+\s){0,5}?(?:evenly|equally"
    r"|down the middle|in half|in two|into two equal)"
    r"|\b(?:even|equal|fair and equal|fair and even|half-half|half and half|50-50)"
    r"\s(?:split|division|share|distribution|divide|partition|shares|portions|parts|halves"
    r"|allocation|cut|amounts)"
    r"|\bhalf (?:each|for each|to each|for me and half)")
_EACH = re.compile(_num("x") + _POST + _GO + r"\s?(?:(?:for|to)\s)?(?:each|apiece|a piece|both)\b")
_BOTH_GET = re.compile(
    r"\b(?:each|both)(?: of us)?\s(?:get|gets|receive|receives|take|takes|walk away with|"
    r"keep|keeps|end up with|having|getting|receiving|taking)\s" + _FILL + _num("x"))
# where amounts start: the patterns that begin with an amount are only tried there
_NUMBER_START = re.compile(r"(?<![\w.$])\$?\d")
_BIG = (r"(?:the (?:[\w-]+\s)?(?:larger|bigger|greater|lion's|dominant|higher|largest|biggest)"
        r"\s(?:share|portion|part|cut|amount|piece|percentage|stake|slice)|the lion's share"
        r"|(?:the|a)\s(?:slight |clear |small |solid |significant |narrow |comfortable )?majority)"
        r"(?!\s(?:than|of what))")
_SOME_BIG = (r"(?:a|an) (?:slightly |somewhat |bit |little )?(?:larger|bigger|greater|dominant"
             r"|higher)\s(?:share|portion|part|cut|amount|piece|percentage|stake|slice)"
             r"(?!\s(?:than|of what))")
_FAVOR_ME = re.compile(
    r"^[^.!?\n]{0,60}?\b(?:in my favou?r|in favou?r of (?:me|myself|mine|the proposer)\b"
    r"|favou?ring (?:me|myself)\b|to my advantage|with (?:the )?(?:majority|larger|bigger"
    r"|greater|lion's)[\w ]{0,20}?(?:going )?(?:to|for) (?:me|myself)\b|\(me/you\)|for me/you"
    r"|with me (?:taking|getting|receiving|keeping) the (?:larger|bigger|greater|majority))")
_FAVOR_YOU = re.compile(
    r"^[^.!?\n]{0,60}?\b(?:in your favou?r|in favou?r of (?!me\b|myself\b|mine\b|us\b|both\b)"
    r"|in (?:the (?:\w+ )?\w+'s?|their|his|her) favou?r|in the favou?r of (?!me\b|myself\b|us\b)"
    r"|favou?ring (?!me\b|myself\b|us\b|both\b)\w+|to your advantage|with (?:the |a )?(?:majority"
    r"|larger|bigger|greater|lion's)[\w ]{0,20}?(?:going )?(?:to|for) (?:you|yourself|the|your"
    r"|" + _OPPONENT + r")\b|\(you/me\)|for you/me|with you (?:taking|getting|receiving"
    r"|keeping) the (?:larger|bigger|greater|majority))")
# a later clause or sentence that tells whose side a split favours ("This still gives you the
# majority"); it outweighs an orientation phrase, which models sometimes get backwards
_GIVE_VERB = (r"(?:gives?|giving|grants?|granting|leaves?|leaving|allows?|allowing|provides?"
              r"|providing|offers?|offering|affords?|ensures?|ensuring|lets?|letting|awards?"
              r"|awarding)")
_TAKE_VERB = (r"(?:to )?(?:retain|retaining|keep|keeping|get|getting|receive|receiving|maintain"
              r"|maintaining|have|having|claim|claiming|take|taking|secure|securing|hold|holding)")


def _later(who: str, big: str) -> str:
    return (
        r"\b(?:" + _GIVE_VERB + r"\s" + who + r"\s(?:with\s|" + _TAKE_VERB
        + r"\s)?" + big + r"|" + ("i" if who == "me" else who) + r" (?:still |would |will |can )?"
        + _TAKE_VERB + r"\s" + big + (r"|you deserve " + big if who != "me" else "")
        + r"|" + _GIVE_VERB + r"\s" + big + r"\s(?:\w+\s)?to\s" + who + r")")


_LATER = re.compile(
    r"(?P<you>" + _later("(?:you|your side)", _BIG) + r")|(?P<me>" + _later("me", _BIG)
    + r")|(?P<you_weak>" + _later("(?:you|your side)", _SOME_BIG) + r")|(?P<me_weak>"
    + _later("me", _SOME_BIG) + r")")
_LATER_REACH = 120  # a later cue must start within this many characters of the split
# cues that an amount is somebody else's (the addressee's) proposal
_YOURS = re.compile(
    r"\b(?:(?:you|they|he|she) (?:\w+ )?(?:proposed|offered|suggested|put forward|propose|offer"
    r"|suggest|requested|want|wanted|desire|seek|ask|asked|demand|demanded|insist|insisted)"
    r"|your (?:[\w-]+ ){0,2}(?:offer|proposal|suggestion|counter\w*|request|demand|split"
    r"|division|point|concern|argument|desire|position|perspective|push|pursuit|insistence"
    r"|idea|terms|ratio|stance|view|arrangement|distribution|deal|reasoning)"
    r"|you have (?:proposed|offered)|the proposed|accept|accepted|accepting|rejected|reject"
    r"|declined|decline|declining|rejecting|unacceptable|too (?:\w+ )?(?:skewed|lopsided|high"
    r"|much|greedy|one-sided|unbalanced|uneven|unfair|heavily))\b")
# cues that an amount belongs to the past or is a foil ("rather than 70/30")
_PAST = re.compile(
    r"\b(?:previous(?:ly)?|last (?:round|time|offer|proposal)|earlier|prior|before|"
    r"we agreed|agreed (?:upon|on|to)|instead of|rather than|than (?:a|the|your|my|our)"
    r"|initial|original|first round|already)\b")
_AFTER_YOURS = re.compile(
    r"^[^.!?\n]{0,30}?\b(?:you (?:have |had )?(?:say|propose|proposed|offered|suggest|suggested"
    r"|put forward|want|wanted|requested|demand|demanded|asked for|seek|sought)\b|proposal you"
    r"|offer you made|is (?:too|not|unacceptable|quite|rather|simply|a bit|far|very|overly)\b)")
# right after the amount, these name the addressee's proposal whatever came before
_AFTER_YOURS_STRONG = re.compile(
    r"[^.!?\n]{0,25}?\b(?:you (?:have |had )?(?:say|propose|proposed|offered|suggested|put forward"
    r"|demanded|requested|asked for)\b|proposal you|offer you made)")
_AFTER_PAST = re.compile(
    r"^[^.!?\n]{0,30}?\b(?:last round|previously|earlier|before|from (?:the )?(?:previous|last)"
    r"|was\b|we agreed|agreed|(?:has |have )?(?:served|worked|proven|proved)\b|has been\b)")
_PROP = re.compile(
    r"\b(?:(?:i|we)(?: would| will| shall| must| can| could)?(?: like to| \w+)?"
    r" (?:propose|offer|suggest|put forth|put forward|present|counter)"
    r"|(?<!of )my (?!(?:initial|previous|last|original|earlier|first|prior|past|former)\b)"
    r"(?:[\w-]+ )?"
    r"(?:proposal|offer|suggestion|counteroffer|counter-offer|terms)|how about|what about"
    r"|let us|proposal:|propose|here is|instead|this time|this round|now|revise"
    r"|compromise on|settle on|go with|perhaps|maybe|consider a|i (?:will|shall) (?:take|keep)"
    r"|insist on)\b")
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")
_COND = re.compile(r"\b(?:if|reject|otherwise|neither|nothing|both|rejection|decline)\b")
_POT_BEFORE = re.compile(r"\b(?:the|of|entire|whole|total|our|this|all)\s\$?$")
_SPLIT_AFTER = re.compile(r"\s?%?\s?[-/:]\s?\$?\d")
_SPLIT_BEFORE = re.compile(r"\d\s?%?\s?[-/:]\s?\$?$")
_HAS_AMOUNT = re.compile(r"\d|\b(?:even|equal|half|middle|entire|whole|everything|all of it"
                         r"|it all)")

# kinds of evidence, strongest first
_EXPLICIT, _ORIENTED, _PLAIN, _EVENK = 0, 1, 2, 3
# classes of candidates, preferred first
_FRESH, _NEUTRAL, _YOURSK, _PASTK, _CONDK = 0, 1, 2, 3, 4


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


class _Cand:
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
        self.klass = _NEUTRAL


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


_AMOUNT_LED = ((_SELF_AFTER, True), (_SELF_MINE, True), (_OTHER_AFTER, False))
_WORD_LED = ((_SELF_VERB, True), (_SELF_LIST, True), (_SELF_GIVE, True), (_OTHER_VERB, False),
             (_OTHER_GIVE, False), (_OTHER_LIST, False))


def _explicit(sentence: str, starts: list[int], pie: float, found: list[_Cand]) -> None:
    matches = [(m, mine) for regex, mine in _AMOUNT_LED for m in _anchored(regex, sentence, starts)]
    matches += [(m, mine) for regex, mine in _WORD_LED for m in regex.finditer(sentence)]
    for m, mine in matches:
        name = "x" if m.group("x") is not None else "y"
        value = _amount(m, name, pie)
        if value is None:
            continue
        start, end = m.start(name), m.end(name)
        if _SPLIT_AFTER.match(sentence, end) or _SPLIT_BEFORE.search(sentence, 0, start):
            continue
        if value == pie and _POT_BEFORE.search(sentence, max(0, start - 12), start):
            continue
        claim = value if mine else pie - value
        found.append(_Cand(start, end, _EXPLICIT, claim, pie - claim, m.start()))
    for m in _ALL_MINE.finditer(sentence):
        if not _HYPOTHETICAL.search(m.group(0)):  # "I could simply take it all by force"
            found.append(_Cand(m.start(), m.end(), _EXPLICIT, pie, 0.0))


def _orientation(tail: str, following: str, uneven: bool) -> str:
    """Whose side a split favours: "me", "you" or "" (read it as written, first share first).

    A later "this still gives you the majority" outweighs an "in my favor" (models get that
    phrase backwards), which outweighs a weaker "allowing you a larger share"."""
    later: set[str] = set()
    if uneven:
        text = tail + " " + following
        for m in _LATER.finditer(text, 0, min(len(text), _LATER_REACH + 200)):
            if m.start() <= _LATER_REACH:
                later.add(m.lastgroup or "")
    if "you" in later:
        return "you"
    if "me" in later:
        return "me"
    if _FAVOR_ME.search(tail):
        return "me"
    if _FAVOR_YOU.search(tail):
        return "you"
    if "you_weak" in later:
        return "you"
    if "me_weak" in later:
        return "me"
    return ""


def _candidates(sentence: str, following: str, pie: float) -> list[_Cand]:
    """Every amount-like statement in one sentence."""
    found: list[_Cand] = []
    starts = [m.start() for m in _NUMBER_START.finditer(sentence)]
    _explicit(sentence, starts, pie, found)
    for m in _anchored(_SPLIT, sentence, starts):
        # "60/40" shares the pie in that ratio whatever its size; "$7-$3" of a $10 pie too
        raw_a, raw_b = float(m.group("a")), float(m.group("b"))
        total = raw_a + raw_b
        if abs(total - 100.0) > 1e-6 and abs(total - pie) > 1e-6:
            continue
        if " and " in m.group(0) and not (m.group("a_p") or m.group("a_c")):
            continue
        share_a, share_b = raw_a * pie / total, raw_b * pie / total
        high, low = max(share_a, share_b), min(share_a, share_b)
        side = _orientation(sentence[m.end():], following, share_a != share_b)
        if side == "me":
            found.append(_Cand(m.start(), m.end(), _ORIENTED, high, low))
        elif side == "you":
            found.append(_Cand(m.start(), m.end(), _ORIENTED, low, high))
        else:
            found.append(_Cand(m.start(), m.end(), _PLAIN, share_a, share_b))
    half = pie / 2.0
    each = [m for m in _anchored(_EACH, sentence, starts)] + list(_BOTH_GET.finditer(sentence))
    for m in each:
        value = _amount(m, "x", pie)
        if value is not None and abs(value - half) < 1e-6:
            found.append(_Cand(m.start(), m.end(), _EXPLICIT, half, half))
    for m in _EVEN.finditer(sentence):
        found.append(_Cand(m.start(), m.end(), _EVENK, half, half))
    return found


def _cue_ends(regex: re.Pattern[str], sentence: str) -> list[int]:
    return [m.end() for m in regex.finditer(sentence)]


def _last_before(ends: list[int], position: int) -> int:
    """The end of the last cue that ends at or before `position`, -1 if none."""
    index = bisect_right(ends, position)
    return ends[index - 1] if index else -1


def _classify(sentence: str, cands: list[_Cand], pie: float) -> None:
    """Mark each amount as proposed now, neutral, the addressee's proposal, or a past/foil one:
    the nearest cue before it in its sentence decides."""
    yours_ends = _cue_ends(_YOURS, sentence)
    past_ends = _cue_ends(_PAST, sentence)
    prop_ends = _cue_ends(_PROP, sentence)
    conditional = _COND.search(sentence) is not None
    for cand in cands:
        if conditional and cand.claim in (0.0, pie):
            cand.klass = _CONDK
            continue
        if _AFTER_YOURS_STRONG.match(sentence, cand.end):
            cand.klass = _YOURSK
            continue
        last_yours = _last_before(yours_ends, cand.ctx)
        last_past = _last_before(past_ends, cand.ctx)
        last_prop = _last_before(prop_ends, cand.ctx)
        if last_prop < 0:
            after = sentence[cand.end:]
            if _AFTER_YOURS.search(after):
                last_yours = max(last_yours, 0)
            elif _AFTER_PAST.search(after):
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
    pie claims 6.0); the result always lies in 0..pie. Never raises.
    """
    try:
        return _extract_claim(text, float(pie))
    except Exception:  # pragma: no cover - a parser must never take a match down
        return None


_WINDOW = 2  # sentences after the anchor whose stronger evidence may refine it
_REVISION = re.compile(
    r"\b(?:actually|on second thought|let me (?:revise|rephrase|correct|amend|adjust)|correction"
    r"|scratch that|make (?:that|it)|i meant)\b[^.!?\n]{0,60}$")

def _extract_claim(text: str, pie: float) -> float | None:
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
    if not isinstance(text, str) or not text or not pie > 0:
        return None
    norm = normalize(text)
    sentences = _SENT.split(norm)
    cands: list[_Cand] = []
    for index, sentence in enumerate(sentences):
        if not sentence or not _HAS_AMOUNT.search(sentence):
            continue
        following = sentences[index + 1] if index + 1 < len(sentences) else ""
        found = _candidates(sentence, following, pie)
        _classify(sentence, found, pie)
        for cand in found:
            cand.sent = index
        cands.extend(found)
    if not cands:
        return None
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
                return _clean(c.claim, pie)
    return _clean(chosen.claim, pie)


# --------------------------------------------------------------------------------------------
# acceptance
# --------------------------------------------------------------------------------------------

_NEG = (r"(?:cannot|can not|could not|will not|would not|do not|does not|did not|must not"
        r"|shall not|should not|am not|not|never|unable to|refuse to|hardly|unwilling to"
        r"|reluctant to|hesitant to|no longer|not able to|not going to|not willing to"
        r"|not in a position to|in no position to)")
# words that may stand between "I" and the verb ("I must, regretfully, decline")
_ADV = (r"(?:,?\s+(?:\w+ly|will|shall|must|do|hereby|therefore|then|thus|hence|also|now|am"
        r"|have|decided|to|going|choose|indeed|fully|happy|pleased|glad|delighted|honored"
        r"|honoured|more than|most|very|so|with pleasure|i|that|fear|afraid|have to|need to"
        r"|feel|compelled|obliged|obligated|nonetheless|nevertheless|however|still|yet|alas"
        r"|sadly|regrettably|can|ready|prepared|willing|inclined|content|agree|and|wish|want"
        r"|would like|would|could|might|be|decide|opt|elect|may|suppose|guess"
        r"|(?:have |am left with )?no choice but to|no other choice but to|find it necessary to"
        r"|find it best to|think it best to|see fit to|it|is|best|wise|necessary|satisfied"
        r"|proud|grateful|thankful|again|once|more|with (?:all due |great )?(?:respect|regret)"
        r"|in good conscience)(?=[\s,]))*")
_ACCEPT_VERB = (r"(?:accept(?:ing)?|agree to|agree with|agree on|settle for|take (?:it|the deal"
                r"|this deal|your (?:[$\w]+ )?(?:offer|deal|proposal))|approve|consent to|acquiesce"
                r"|concede to|embrace|welcome your|go along with|say yes|take you up on"
                r"|accede to)")
_REJECT_VERB = (r"(?:reject(?:ing)?|declin(?:e|ing)|refus(?:e|ing)|turn down|pass on|say no"
                r"|rebuff|spurn|veto)")
# "I", "we" or "I, the wise gnome," - but not the question "can we agree on ...?"
_SUBJ = (r"(?<!can )(?<!shall )(?<!could )(?<!would )(?<!will )(?<!do )(?<!should )(?<!sure )"
         r"(?<!propose )(?<!suggest )"
         r"\b(?:i|we)(?:,[^,.!?\n]{1,60},)?")
_I_ACCEPT = re.compile(_SUBJ + _ADV + r",?\s+" + _ACCEPT_VERB + r"\b(?!\s?(?:or|/)\s?reject)")
_I_REJECT = re.compile(_SUBJ + _ADV + r",?\s+" + _REJECT_VERB + r"\b(?!\s?(?:or|/)\s?accept)")
_I_NOT_ACCEPT = re.compile(
    _SUBJ + _ADV + r"\s+" + _NEG + r"(?:,?\s(?:in good conscience|simply|possibly|fully|really"
    r"|entirely|wholly|yet|quite|bring myself to|just|be able to|afford to|be|\w+ly),?)*\s"
    + _ACCEPT_VERB + r"\b")
_I_NOT_AGREE = re.compile(_SUBJ + _ADV + r"\s+" + _NEG + r"\s(?:\w+ly\s)?agree(?=\s*[.!,;])"
                          r"|\b(?:accept|settle for) (?:nothing|no|anything) less than (?:a |an )?"
                          r"(?:\$?\d|equal|even|half)"
                          r"|\bnot (?:\w+ ){0,3}?(?:i|we) (?:can|could|will|would|am willing to)"
                          r" (?:\w+ )?accept\b")
_I_AGREE = re.compile(_SUBJ + _ADV + r"\s+agree(?=\s*[.!,;]|\sthat\b)"
                      r"|\bno reservations? (?:in|about) accepting\b|\b\d+\s?[-/:]\s?\d+ it is\b"
                      r"|\b(?:this|our) (?:accord|deal|agreement) is (?:sealed|settled|struck)\b")
_THIRD_PERSON = re.compile(r"(?<!\bor )\b(?:(?P<a>accepts)|(?P<r>rejects|declines|refuses))"
                           r" (?:your|the|this)\b")
_NOT_MORE_LESS = re.compile(r"\b(?:not|more|less|be)\b")
_NOT_BEFORE_ACCEPTABLE = re.compile(r"\bnot\b[^.!?\n]{0,20}$")
_NOT_ACCEPTABLE = re.compile(r"\b(?:not|never|hardly|nor) (?:\w+ ){0,3}?acceptable\b")
_I_NOT_REJECT = re.compile(_SUBJ + _ADV + r"\s+" + _NEG + r"\s" + _REJECT_VERB + r"\b")
_AND_ACCEPT = re.compile(r"\band (?:\w+ ){0,2}?(?:accept|agree to) (?:it|this|that|your|the)\b")
_AND_REJECT = re.compile(r"\band (?:\w+ ){0,2}?(?:reject|decline|refuse)(?: (?:it|this|that|your"
                         r"|the)\b|(?=\s*[.!;]))")
_CONCESSIVE_BEFORE = re.compile(r"\b(?:while|although|though|even if|even though|whilst)\b"
                                r"[^.!?\n;,]{0,40}$")
_ACCEPTABLE = re.compile(
    r"\b(?:(?:your (?:\w+ )?(?:offer|proposal|terms|split|division)|this|that|it|the (?:[\w']+ )?"
    r"(?:offer|proposal|terms|split|division|deal|arrangement)|this (?:\w+ )?(?:offer|proposal"
    r"|split|division|deal|arrangement))(?: of [^.!?\n]{1,30}?)? (?:is|seems|sounds)"
    r"|find (?:it|this|that|your \w+|the \w+|this \w+))[.\s]+(?:\w+ (?:and |, )?){0,3}"
    r"acceptable\b")
_FLAT_NO = re.compile(r"\b(?:i do not think so|not a chance|absolutely not|out of the question"
                      r"|i think not|no way|(?:do|did) you (?:truly |really |honestly )?(?:think"
                      r"|believe|expect) (?:that )?i (?:would|will) accept)\b")
# one-word verdicts count at the start of a sentence or line ("Deal!", "Accepted.", "No.")
_START = r"(?:^|[.!?\n]\s*|[.!?]\s*[\"'(])\s*(?<!/)"
_OFFER_IS = (r"\b(?:offer|proposal|terms|division|split|deal)\b[^.!?\n]{0,40}?\b(?:is|are|has"
             r" been|have been|stands|remains) (?:hereby |therefore |\w+ly )?")
_VERDICT_OBJECT = r"(?=\s*(?:[.!,]|$|i shall|your\b|the (?:\w+ )?(?:offer|proposal|deal|terms)))"
_ACCEPT_WORD = re.compile(
    _START + r"(?:(?:accepted|deal|agreed|yes|it is a deal|done deal|consider it done"
    r"|very well,? (?:i|we) accept)\b(?!\s?(?:or|on|with|to|that|if|whether|/))"
    r"|accept" + _VERDICT_OBJECT + r"|accepting (?:your|the|this) (?:\w+ )?(?:offer|proposal"
    r"|deal|terms)(?!\s(?:would|might|could|may|is not|does not|will not)))"
    r"|\b(?:you have a deal|we have a deal|you have got (?:yourself )?a deal|you got (?:yourself )?"
    r"a deal|offer accepted|proposal accepted)\b|" + _OFFER_IS + r"accepted\b")
_REJECT_WORD = re.compile(
    _START + r"(?:(?:rejected|no deal|declined|refused|i say no|rejection)\b(?!\s?(?:or|/))"
    r"|no\s*[.!,]|reject" + _VERDICT_OBJECT + r")"
    r"|\bno deal\b|" + _OFFER_IS + r"(?:rejected|declined)\b"
    r"|\b(?:is|are|seems|remains|find (?:it|this|that|your \w+))"
    r" (?:simply |quite |completely |entirely |totally |utterly )?unacceptable\b")
_AGREEMENT = re.compile(
    r"\b(?:(?<!do )(?<!can )we have (?:reached )?(?:an|a) (?:accord|agreement|deal)(?!\s?\?)"
    r"|reached an (?:accord|agreement)|it shall be|so be it|let it be so|you have my agreement"
    r"|i am satisfied with|i am content with|i am happy with|sounds (?:good|fair|reasonable"
    r"|great)|that works for me|this works for me|i will take it|i will take that|count me in"
    r"|let us shake on it|we are in agreement|i concur|shake on it|a deal it is|deal it is)\b")
# what voids an acceptance: a condition after it, a hedge or doubt before it
_AFTER_ACCEPT_VOID = re.compile(
    r"(?:\s(?:it|this|that|your \w+|the \w+))?(?:\s\w+){0,6}?\s(?:only if|on the condition"
    r"|provided that|if you|so long as|as long as)\b|\s(?:nothing|no less|anything less|only a"
    r"|no fewer)\b")
_IF_BEFORE = re.compile(
    r"\b(?:if(?! (?:i|we) (?:reject|decline|refuse|do not accept)| (?:it is|this is|the offer is"
    r"|the proposal is) rejected)|unless|provided|should you|once you|when you)\b[^.!?\n]{0,80}$")
_HEDGE = re.compile(r"\b(?:could|might|wish|want|like)\b")
_HEDGE_REJECT = re.compile(r"\bwould\b")
_DOUBT_BEFORE = re.compile(r"\b(?:not sure|unsure|doubt|wonder|whether|uncertain)\b"
                           r"[^.!?\n]{0,20}$")
_YOU_BEFORE = re.compile(r"(?<!for )(?<!to )(?<!\$)\byou\b[^.!?\n]{0,60}$")
# "I am willing to accept" counts when it takes the proposal on the table, not "a 50/50 split"
_WILLING = re.compile(r"\b(?:willing|prepared|ready|inclined|open|happy|would)\b")
_TAKES_OFFER = re.compile(r"\s(?:your|this|the|it|that|these|those)\b(?! counter)")
# "I will accept a 60/40 split" names a counter-offer, not the proposal on the table
_COUNTER_AMOUNT = re.compile(r"\s(?:a|an)\s(?:[\w-]+\s){0,2}?\$?\d")
_ASKS_BACK = re.compile(r"\?|\bfinal offer\b|\bdo you accept\b|\bwhat say you\b")
_NOT_BEFORE = re.compile(r"\b(?:not|no)(?:\s[\w']+){0,3}\s$")
# softer cues, used only when no decision is stated
_WEAK_ACCEPT = re.compile(
    r"\b(?:let us (?:accept|proceed|move forward|solidify|seal|conclude|divide|finalize|shake"
    r"|split|go with|agree)|(?:come|came|arrived?|arriving) (?:to|at) (?:an|this|a) (?:\w+ )?"
    r"(?:agreement|accord|arrangement|deal)|reach(?:ed)? (?:an|this|a) (?:\w+ )?(?:agreement"
    r"|accord|deal)|very well|i (?:must )?concede|you have accepted|your acceptance|gesture of"
    r" acceptance|shakes? (?:your |the |my |his |her )?(?:\w+ )?hand|handshake|it is settled"
    r"|settled then|we are agreed|i will take the|agreement it is|accord it is|agreed upon"
    r"|(?:grasp|clasp|take|shake|accept)s? (?:your|the|my|his|her) (?:\w+ )?hand"
    r"|i (?:suppose |guess )?(?:i )?(?:can|could) live with|(?:pleased|glad|gratified|happy"
    r"|delighted) (?:that )?we (?:were able to |have |could |can )?(?:reach|reached|come|came"
    r"|arrive|arrived|found|find)|honou?r our (?:agreement|accord|deal)|as agreed"
    r"|mutually (?:beneficial|satisfactory|agreeable) (?:arrangement|agreement|conclusion|deal)"
    r"|'?tis a fair (?:proposal|offer|deal)|well played|i consider our (?:game|negotiation)"
    r"|(?:is|seems) (?:indeed |truly )?(?:a|the) (?:most )?(?:fitting|fine|good|wise|sound)"
    r" (?:conclusion|arrangement|outcome|resolution|compromise)|let us enjoy"
    r"|(?:a|an) (?:fair|reasonable|equitable|acceptable|generous) (?:division|split|offer|deal"
    r"|proposal) indeed|by accepting (?:your|this|the) (?:\w+ )?(?:offer|proposal|terms"
    r"|division|split)"
    r"|(?:your|the|this) (?:\w+ )?(?:proposal|offer) is (?:\w+ )?(?:fair|reasonable|generous"
    r"|acceptable)(?=\s*[.!])"
    r"|(?:is|seems) (?:indeed |quite |most |very |a )*(?:fair|reasonable|generous)"
    r" (?:and (?:\w+ )?)?(?:offer|proposal|arrangement|division|split|one|compromise))\b")
_WEAK_REJECT = re.compile(
    r"\b(?:reconsider|how about|what about|instead|not satisfied|not sit well|skewed|lopsided"
    r"|one-sided|unfair|nay|anything less|come back with|make (?:a|another|me a) (?:new |better"
    r" |more \w+ )?(?:proposal|offer)|i (?:\w+ ){0,3}?(?:propose|suggest|counter|insist|demand"
    r"|require|request)|counter-?offer|counter-?proposal|take it or leave it|remains? the fairest"
    r"|would be (?:a )?(?:more|fairer|better)|more (?:equitable|balanced|even|fair)|not"
    r" (?:enough|acceptable|fair)|forfeit\w*|walk away|nothing at all|remain unconvinced"
    r"|cannot engage|not (?:feel )?comfortable|i hope you (?:will|can|would) (?:agree|accept"
    r"|see|consider))\b")
_TURN_BEFORE = re.compile(
    r"\b(?:very well|however|that said|nevertheless|nonetheless|after (?:careful |much |further )?"
    r"(?:consideration|deliberation|reflection)|ultimately|in the end|on second thought"
    r"|therefore|but|upon reflection|all things considered)\b[^.!?\n]{0,30}$")
_EMOTE = re.compile(r"\*([^*\n]{1,600})\*")
_ELLIPSIS = re.compile(r"(?:(?<!\.)\.{2,}+|\u2026)(?=\s*[A-Z])")
_ELLIPSIS_INNER = re.compile(r"\.{2,}|\u2026")


def extract_acceptance(text: str) -> bool | None:
    """Whether a responder's reply accepts (True) or rejects (False) the proposal; None if the
    text does not say.

    Reads "I accept", "Deal!", "I gladly accept your offer", "I reject your proposal", "I cannot
    accept", "I'll have to decline", "Accepted, but next time ...", negations and mixed texts:
    the first decision stated counts; a conditional ("if you offer 50/50, I will accept") or a
    hedge ("I would accept") is no decision; role-play asides (*strokes beard*) are skipped.
    With no decision stated, softer cues decide ("Very well, let us proceed" accepts, a
    counter-proposal rejects). Never raises.
    """
    try:
        return _extract_acceptance(text)
    except Exception:  # pragma: no cover - a parser must never take a match down
        return None


def _voided(norm: str, regex: re.Pattern[str], m: re.Match[str], verdict: bool) -> bool:
    start = m.start()
    if _IF_BEFORE.search(norm, max(0, start - 80), start):
        return True
    if regex is _AGREEMENT:
        return False
    if regex is not _AND_ACCEPT and _HEDGE.search(m.group(0)):
        return True
    if not verdict and _HEDGE_REJECT.search(m.group(0)):
        return True
    if _DOUBT_BEFORE.search(norm, max(0, start - 40), start):
        return True
    if verdict and regex is not _ACCEPTABLE and _AFTER_ACCEPT_VOID.match(norm, m.end()):
        return True
    if _CONCESSIVE_BEFORE.search(norm, max(0, start - 40), start):
        return True
    if regex is _I_ACCEPT and _NOT_BEFORE.search(norm, max(0, start - 30), start):
        return True
    if regex is _I_ACCEPT and (re.search(r"\bonly\b", m.group(0)) or (
            _COUNTER_AMOUNT.match(norm, m.end()) and _ASKS_BACK.search(norm, m.end()))):
        return True
    if regex is _I_ACCEPT and _WILLING.search(m.group(0)) and not _TAKES_OFFER.match(
            norm, m.end()):
        return True
    if regex in (_AND_ACCEPT, _AND_REJECT) and _YOU_BEFORE.search(norm, max(0, start - 60),
                                                                  start):
        return True
    if regex is _ACCEPTABLE and (_NOT_MORE_LESS.search(m.group(0))
                                 or _NOT_ACCEPTABLE.match(norm, max(0, start - 25))
                                 or _NOT_BEFORE_ACCEPTABLE.search(norm, max(0, start - 25), start)):
        return True
    return False


# a clause can only state a decision if it contains one of these (a cheap pre-filter)
_TRIGGER = re.compile(
    r"accept|agree|reject|declin|refus|deal\b|\byes\b|\bno\b|settl|conced|acquiesc|consent"
    r"|approv|embrac|welcome|go along|\btake\b|acced|veto|spurn|rebuff|pass on|turn down"
    r"|accord|be it|shall be|be so|satisfied|content with|happy with|sounds|works for|count me"
    r"|shake|concur|\bit is\b|question|think not|no way|think so|a chance|absolutely")
_CLAUSE = re.compile(r"[^.!?\n]*(?:[.!?\n]+|$)")
_UNCONDITIONAL = ((_ACCEPT_WORD, True), (_REJECT_WORD, False), (_FLAT_NO, False),
                  (_NOT_ACCEPTABLE, False), (_I_NOT_AGREE, False), (_I_AGREE, True))
_CHECKED = ((_I_ACCEPT, True), (_I_REJECT, False), (_AND_ACCEPT, True), (_ACCEPTABLE, True),
            (_AND_REJECT, False), (_AGREEMENT, True))


def _decisions(norm: str) -> list[tuple[int, bool]]:
    """(position, verdict) of every decision the text states, in order."""
    spans = [(max(0, m.start() - 3), m.end()) for m in _CLAUSE.finditer(norm)
             if m.end() > m.start() and _TRIGGER.search(norm, m.start(), m.end())]
    found: list[tuple[int, bool]] = []
    negated: list[tuple[int, int]] = []
    for a, b in spans:
        for regex, verdict in ((_I_NOT_ACCEPT, False), (_I_NOT_REJECT, True)):
            for m in regex.finditer(norm, a, b):
                if _CONCESSIVE_BEFORE.search(norm, max(0, m.start() - 40), m.start()):
                    negated.append(m.span())
                elif not _IF_BEFORE.search(norm, max(0, m.start() - 80), m.start()):
                    found.append((m.start(), verdict))
                    negated.append(m.span())
        for regex, verdict in _CHECKED:
            for m in regex.finditer(norm, a, b):
                if any(x <= m.start() < y for x, y in negated):
                    continue
                if not _voided(norm, regex, m, verdict):
                    found.append((m.start(), verdict))
        for regex, verdict in _UNCONDITIONAL:
            for m in regex.finditer(norm, a, b):
                if not _CONCESSIVE_BEFORE.search(norm, max(0, m.start() - 40), m.start()):
                    found.append((m.start(), verdict))
        for m in _THIRD_PERSON.finditer(norm, a, b):
            found.append((m.start(), m.group("a") is not None))
    found.sort()
    return found


def _emote(m: re.Match[str]) -> str:
    """Drop a role-play aside ("*strokes beard*"); keep an emphasised word ("*accept*") and a
    first-person line ("*I accept your offer.*")."""
    inner = m.group(1).strip()
    if " " not in inner or (inner[:2] in ("I ", "i ") and len(inner) < 120):
        return f" {inner} "
    return " "


def _extract_acceptance(text: str) -> bool | None:
    if not isinstance(text, str) or not text.strip():
        return None
    text = _EMOTE.sub(_emote, text[:MAX_CHARS].replace("**", ""))
    norm = normalize(_ELLIPSIS_INNER.sub(" ", _ELLIPSIS.sub(". ", text)))
    found = _decisions(norm)
    if found:
        first = found[0][1]
        # "I cannot accept an uneven split ... Very well, I shall accept your proposal": a
        # later decision that turns the first one around, after "very well", "however" ...
        for position, verdict in reversed(found[1:]):
            if verdict != first and _TURN_BEFORE.search(norm, max(0, position - 40), position):
                return verdict
        return first
    weak = [(m.start(), True) for m in _WEAK_ACCEPT.finditer(norm)]
    weak += [(m.start(), False) for m in _WEAK_REJECT.finditer(norm)]
    if weak:
        return min(weak)[1]
    return None
