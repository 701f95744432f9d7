"""Normalising free text before reading it: lower case, plain ASCII punctuation, digits for
written numbers, no contractions or stage dialect, so the readers' patterns stay few."""
from __future__ import annotations

import re


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
    if "\\$" in text:
        text = text.replace("\\$", "$")  # markdown's escaped dollar: "\$70"
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


_STAGE = re.compile(r"\*([^*\n]{1,600})\*")


# an aside that acts out agreement: a handshake taken, an agreement sealed ("*grasps your hand
# firmly*", "*accepts the handshake*", "*nods in agreement*"); not one refused or withdrawn
_AGREEING_GESTURE = re.compile(
    r"\b(?:shak\w*|grasp\w*|clasp\w*|grip\w*|accept\w*|return\w*|tak(?:e|es|ing)|seal\w*"
    r"|meet\w*|join\w*)\b[^*]{0,30}?\b(?:(?:(?:your|the|his|her|their|[a-z]+'s)\s)?(?:[\w-]+\s)"
    r"{0,2}?hand\b(?!\s(?:behind|on|to|over|in the air))|hands with\b)|\bshake hands\b|\bhandshake\b"
    r"|\bin agreement\b|\bseal(?:s|ing)? (?:the|our) (?:deal|agreement|accord|bargain|pact)\b",
    re.IGNORECASE)
_REFUSED_GESTURE = re.compile(
    r"\b(?:not|no|never|refus\w*|declin\w*|ignor\w*|withdraw\w*|pull\w*|without|instead"
    r"|hesitat\w*|brush\w*|slap\w*|push\w*|rather than)\b", re.IGNORECASE)
AGREEING_ASIDE = " (handshake). "  # what an agreeing aside is read as


def _stage(m: re.Match[str]) -> str:
    """Drop a role-play aside ("*strokes beard*"); keep an emphasised word ("*accept*") and a
    first-person line ("*I accept your offer.*"); an aside that acts out agreement ("*shakes
    your hand*") is read as a handshake, a soft cue of acceptance."""
    inner = m.group(1).strip()
    if " " not in inner or (inner[:2] in ("I ", "i ") and len(inner) < 120):
        return f" {inner} "
    if _AGREEING_GESTURE.search(inner) and not _REFUSED_GESTURE.search(inner):
        return AGREEING_ASIDE
    return " "


def drop_stage_directions(text: str) -> str:
    """The text without role-play asides (`*narrows eyes*`), which describe, not propose or
    decide; bold markers (`**`) go first so they do not pair up as asides."""
    return _STAGE.sub(_stage, text.replace("**", ""))
