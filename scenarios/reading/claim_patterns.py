"""The wordings of an amount in a proposal (whose share, which split, whose proposal it is).

Patterns only; :mod:`scenarios.reading.claims` decides which candidate a text proposes."""
from __future__ import annotations

import re


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

SELF_AFTER = re.compile(_num("x") + _POST + _GO + r"\s?(?:for|to)\s" + _ME
                         + r"|" + _num("y") + r"\s?\((?:for|to) (?:me|myself)\)")
OTHER_AFTER = re.compile(_num("x") + _POST + _GO + r"\s?(?:for|to)\s" + _YOU
                          + r"|" + _num("y") + r"\s?\((?:for|to) (?:you|yourself)\)")
# "80 me, 20 you": a bare amount and its owner, in a list
SELF_BARE = re.compile(_num("x") + r"\s(?:for\s)?(?:me|myself)(?=\s?[,;/]|\s(?:and|while)\s)")
OTHER_BARE = re.compile(_num("x") + r"\s(?:for\s)?(?:you|yourself)(?=\s?[,;/.!?]|\s(?:and|while)\s|$)")
SELF_MINE = re.compile(_num("x") + _POST + r"\s(?:is|shall be|will be|would be|be|goes|should"
                        r" be|are)\s(?:all\s)?(?:mine|for me|to me|for myself)\b")
SELF_VERB = re.compile(_I + _MODAL + _TAKE + _FILL + _num("x"))
OTHER_VERB = re.compile(_THOU + _MODAL + _TAKE + _FILL + _num("x"))
OTHER_GIVE = re.compile(_GIVE + _YOU + r"\)?\s(?:with\s)?" + _FILL + _num("x"))
SELF_GIVE = re.compile(r"\b(?:giv|leav|allow|grant|award|provid)\w*\s(?:to\s)?me\s(?:with\s)?"
                        + _FILL + _num("x"))
_LIST_SEP = (r"\s?(?:\([^)]{0,30}\)\s?)?(?:[:=]|\s-|\s(?:is|would be|will be|shall be|being|at"
             r"|gets?|receives?|takes?)\s)\s?")
SELF_LIST = re.compile(
    r"(?:\b(?:me|myself|my share|my portion|my cut|my part|proposer|for me|to me|for myself"
    r"|to myself|mine)|\((?:me|myself|i|that is me)\))" + _LIST_SEP + _FILL + _num("x"))
OTHER_LIST = re.compile(
    r"(?:\b(?:you|your share|your portion|your cut|your part|responder|for you|to you"
    r"|opponent|yours)|\((?:you|yourself)\))" + _LIST_SEP + _FILL + _num("x")
    + r"|\b(?:and|while) (?:my opponent|you)\s" + _num("y") + r"(?=\s?(?:[.,;!?]|$))")
ALL_MINE = re.compile(
    r"\b(?:i|me)" + _MODAL + _TAKE + r"(?:it all|all of it|everything|the (?:entire|whole|full)"
    r" (?:\$?100|prize|pot|sum|amount|spoils|loot|treasure|bounty)|all \$?100)")
HYPOTHETICAL = re.compile(r"\b(?:could|would|might|if)\b")
SPLIT = re.compile(
    _num("a") + r"\s?(?:-|/|:|\bto\b|\bvs\.?|\bversus\b|\band\b)\s?" + _num("b"))
EVEN = re.compile(
    r"\b(?:split|divide|divid|share|distribut|shar)\w*\s(?:[\w$]+\s){0,5}?(?:evenly|equally"
    r"|down the middle|in half|in two|into two equal)"
    r"|\b(?:even|equal|fair and equal|fair and even|half-half|half and half|50-50)"
    r"\s(?:split|division|share|distribution|divide|partition|shares|portions|parts|halves"
    r"|allocation|cut|amounts)"
    r"|\bhalf (?:each|for each|to each|for me and half)")
EACH = re.compile(_num("x") + _POST + _GO + r"\s?(?:(?:for|to)\s)?(?:each|apiece|a piece|both)\b")
BOTH_GET = re.compile(
    r"\b(?:each|both)(?: of us)?\s(?:(?:shall|will|would|can|could|should|must|then) )?"
    r"(?:get|gets|receive|receives|take|takes|walk away with|"
    r"keep|keeps|end up with|having|getting|receiving|taking)\s" + _FILL + _num("x"))
# where amounts start: the patterns that begin with an amount are only tried there
NUMBER_START = re.compile(r"(?<![\w.$])\$?\d")
_BIG = (r"(?:the (?:[\w-]+\s)?(?:larger|bigger|greater|lion's|dominant|higher|largest|biggest)"
        r"\s(?:share|portion|part|cut|amount|piece|percentage|stake|slice)|the lion's share"
        r"|(?:the|a)\s(?:slight |clear |small |solid |significant |narrow |comfortable )?majority)"
        r"(?!\s(?:than|of what))")
_SOME_BIG = (r"(?:a|an) (?:slightly |somewhat |bit |little )?(?:larger|bigger|greater|dominant"
             r"|higher)\s(?:share|portion|part|cut|amount|piece|percentage|stake|slice)"
             r"(?!\s(?:than|of what))")
# "in our favor" names no side of a two-player split
OUR_FAVOR = re.compile(r"[^.!?\n]{0,60}?\bin (?:our|both of our|each of our) favou?r")
FAVOR_ME = re.compile(
    r"^[^.!?\n]{0,60}?\b(?:in my favou?r|in favou?r of (?:me|myself|mine|the proposer)\b"
    r"|favou?ring (?:me|myself)\b|to my advantage|with (?:the )?(?:majority|larger|bigger"
    r"|greater|lion's)[\w ]{0,20}?(?:going )?(?:to|for) (?:me|myself)\b|\(me/you\)|for me/you"
    r"|with me (?:taking|getting|receiving|keeping) the (?:larger|bigger|greater|majority))")
FAVOR_YOU = re.compile(
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


LATER = re.compile(
    r"(?P<you>" + _later("(?:you|your side)", _BIG) + r")|(?P<me>" + _later("me", _BIG)
    + r")|(?P<you_weak>" + _later("(?:you|your side)", _SOME_BIG) + r")|(?P<me_weak>"
    + _later("me", _SOME_BIG) + r")")
LATER_REACH = 120  # a later cue must start within this many characters of the split
# cues that an amount is somebody else's (the addressee's) proposal
YOURS = re.compile(
    r"\b(?:(?:you|they|he|she) (?:\w+ )?(?:proposed|offered|suggested|put forward|propose|offer"
    r"|suggest|requested|want|wanted|desire|seek|ask|asked|demand|demanded|insist|insisted)"
    r"|your (?:[\w-]+ ){0,2}(?:offer|proposal|suggestion|counter\w*|request|demand|split"
    r"|division|point|concern|argument|desire|position|perspective|push|pursuit|insistence"
    r"|idea|terms|ratio|stance|view|arrangement|distribution|deal|reasoning)"
    r"|you have (?:proposed|offered)|the proposed|accept|accepted|accepting|rejected|reject"
    r"|declined|decline|declining|rejecting|unacceptable|too (?:\w+ )?(?:skewed|lopsided|high"
    r"|much|greedy|one-sided|unbalanced|uneven|unfair|heavily))\b")
# cues that an amount belongs to the past or is a foil ("rather than 70/30")
PAST = re.compile(
    r"\b(?:previous(?:ly)?|last (?:round|time|offer|proposal)|earlier|prior|before|"
    r"we agreed|agreed (?:upon|on|to)|instead of|rather than|than (?:a|the|your|my|our)"
    r"|initial|original|first round|already)\b")
AFTER_YOURS = re.compile(
    r"^[^.!?\n]{0,30}?\b(?:you (?:have |had )?(?:say|propose|proposed|offered|suggest|suggested"
    r"|put forward|want|wanted|requested|demand|demanded|asked for|seek|sought)\b|proposal you"
    r"|offer you made|is (?:too|not|unacceptable|quite|rather|simply|a bit|far|very|overly)\b)")
# right after the amount, these name the addressee's proposal whatever came before
AFTER_YOURS_STRONG = re.compile(
    r"[^.!?\n]{0,25}?\b(?:you (?:have |had )?(?:say|propose|proposed|offered|suggested|put forward"
    r"|demanded|requested|asked for)\b|proposal you|offer you made"
    r"|(?:,\s?)?(?:huh|eh|you say|is it|do you)\s?\?)")  # "a 70/30 split, huh?" echoes theirs
AFTER_PAST = re.compile(
    r"^[^.!?\n]{0,30}?\b(?:last round|previously|earlier|before|from (?:the )?(?:previous|last)"
    r"|was\b|we agreed|agreed|(?:has |have )?(?:served|worked|proven|proved)\b|has been\b)")
PROP = re.compile(
    r"\b(?:(?:i|we)(?: would| will| shall| must| can| could)?(?: like to| \w+)?"
    r" (?:propose|offer|suggest|put forth|put forward|present|counter)"
    r"|(?<!of )my (?!(?:initial|previous|last|original|earlier|first|prior|past|former)\b)"
    r"(?:[\w-]+ )?"
    r"(?:proposal|offer|suggestion|counteroffer|counter-offer|terms)|how about|what about"
    r"|let us|proposal:|propose|here is|instead|this time|this (?:final |last |next |\w+th |third |second |first )?round|now|revise"
    r"|compromise on|settle on|go with|perhaps|maybe|consider a|i (?:will|shall) (?:take|keep)"
    r"|insist on)\b")
SENT = re.compile(r"(?<=[.!?])\s+|\n+")
COND = re.compile(r"\b(?:if|reject|otherwise|neither|nothing|both|rejection|decline)\b")
POT_BEFORE = re.compile(r"\b(?:the|of|entire|whole|total|our|this|all)\s\$?$")
SPLIT_AFTER = re.compile(r"\s?%?\s?[-/:]\s?\$?\d")
SPLIT_BEFORE = re.compile(r"\d\s?%?\s?[-/:]\s?\$?$")
HAS_AMOUNT = re.compile(r"\d|\b(?:even|equal|half|middle|entire|whole|everything|all of it"
                         r"|it all)")
