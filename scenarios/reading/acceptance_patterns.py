"""The wordings of a decision in a reply (verdict words, negations, hedges, soft cues).

Patterns only; :mod:`scenarios.reading.acceptances` decides which decision a reply states."""
from __future__ import annotations

import re


_NEG = (r"(?:cannot|can not|could not|will not|would not|do not|does not|did not|must not"
        r"|shall not|should not|am not|not|never|unable to|refuse to|hardly|unwilling to"
        r"|reluctant to|hesitant to|decline to|no longer|not able to|not going to|not willing to"
        r"|not in a position to|in no position to)")
# words that may stand between "I" and the verb ("I must, regretfully, decline")
_ADV = (r"(?:,?\s+(?:[\w-]+ly|will|shall|must|do|hereby|therefore|then|thus|hence|also|now|am"
        r"|have|decided|to|going|choose|indeed|fully|happy|pleased|glad|delighted|honored"
        r"|honoured|more than|most|very|so|with pleasure|i|that|fear|afraid|have to|need to"
        r"|feel|compelled|obliged|obligated|nonetheless|nevertheless|however|still|yet|alas"
        r"|sadly|regrettably|can|ready|deign|prepared|willing|inclined|content|agree|and|wish|want"
        r"|would like|would|could|might|be|decide|opt|elect|may|suppose|guess"
        r"|(?:have |am left with )?(?:no|little) (?:other )?(?:choice|option|alternative) but to|find it necessary to"
        r"|find it best to|think it best to|see fit to|it|is|best|wise|necessary|satisfied"
        r"|proud|grateful|thankful|again|once|more|with (?:all due |great )?(?:respect|regret)"
        r"|in good conscience)(?=[\s,]))*")
_ACCEPT_VERB = (r"(?:accept(?:ing)?|agree to|agree with|agree on|settle for|take (?:it|the deal"
                r"|this deal|your (?:[$\w/%-]+ ){0,2}?(?:offer|deal|proposal|terms|split))|approve|consent to|acquiesce"
                r"|concede to|embrace|welcome your|go along with|say yes|take you up on"
                r"|accede to|honou?r (?:this|your|the|our) (?:[$\w/%-]+ ){0,2}?(?:offer|proposal|terms"
                r"|split|division|deal|agreement|arrangement))")
# "I refuse to be insulted", "I decline to argue" refuse something else than the proposal
_REJECT_VERB = (r"(?:reject(?:ing)?|declin(?:e|ing)(?!\s+to\b)|refus(?:e|ing)(?!\s+to\b)|turn down"
                r"|pass on|say no"
                r"|rebuff|spurn|veto)")
# "I", "we" or "I, the wise gnome," - but not the question "can we agree on ...?"
_SUBJ = (r"(?<!can )(?<!shall )(?<!could )(?<!would )(?<!will )(?<!do )(?<!should )(?<!sure )"
         r"(?<!propose )(?<!suggest )"
         r"\b(?:i|we)(?:,[^,.!?\n]{1,60},)?")
# not an acceptance of the proposal: "I accept your rejection", "I will take your offer under
# advisement", "or I take it all by force", "I fear accepting this would leave me nothing"
_NOT_OF_PROPOSAL = (r"(?!\s?(?:or|/)\s?reject)(?!\s(?:your|the|this|that|my) (?:\w+ )?(?:rejection"
                    r"|refusal|challenge|point|perspective|reasoning|apology|argument|position"
                    r"|wrath|fate|risk)\b)(?!\s(?:[\w/%$-]+\s){0,3}?(?:under advisement|into"
                    r" (?:account|consideration)|all\b|back\b|by force))(?<!accepting)")
_NOT_THEIR_NO = r"(?!\s(?:your|the|this|that) (?:\w+ )?(?:rejection|refusal)\b)"
_ACCEPTING_ARGUED = (r"|(?<=accepting)(?!(?:\s[\w/%$-]+){0,5}\s(?:would|could|might|will|may|is"
                     r"|means|leaves?|risks?)\b)")
I_ACCEPT = re.compile(_SUBJ + _ADV + r",?\s+" + _ACCEPT_VERB + r"\b(?:" + _NOT_OF_PROPOSAL
                      + _ACCEPTING_ARGUED + r")")
I_REJECT = re.compile(_SUBJ + _ADV + r",?\s+" + _REJECT_VERB + r"\b(?!\s?(?:or|/)\s?accept)")
I_NOT_ACCEPT = re.compile(
    _SUBJ + _ADV + r"\s+" + _NEG + r"(?:,?\s(?:in good conscience|simply|possibly|fully|really"
    r"|entirely|wholly|yet|quite|bring myself to|just|be able to|afford to|be|\w+ly),?)*\s"
    + _ACCEPT_VERB + r"\b")
I_NOT_AGREE = re.compile(_SUBJ + _ADV + r"\s+" + _NEG + r"\s(?:\w+ly\s)?agree(?=\s*[.!,;])"
                          r"|\b(?:accept|settle for) (?:nothing|no|anything) less than (?:a |an )?"
                          r"(?:\$?\d|equal|even|half)"
                          r"|\bnot (?:\w+ ){0,3}?(?:i|we) (?:can|could|will|would|am willing to)"
                          r" (?:\w+ )?accept\b")
I_AGREE = re.compile(_SUBJ + _ADV + r"\s+agree(?:\s\w+ly)?(?=\s*[.!,;]|\sthat\b)"
                      r"|\bno (?:reservations?|hesitation) (?:in|about) accepting\b"
                      r"|\b\d+\s?%?\s?[-/:]\s?\d+\s?%?(?: split| division| deal)? it (?:is|be)\b"
                      r"|\b(?:my|an) (?:honou?r|pleasure|privilege) to accept (?:this|your|the)\b"
                      r"|\b(?:this|our) (?:accord|deal|agreement) is (?:sealed|settled|struck)\b")
THIRD_PERSON = re.compile(r"(?<!\bor )\b(?:(?P<a>accepts)|(?P<r>rejects|declines|refuses))"
                           r" (?:your|the|this)\b")
NOT_MORE_LESS = re.compile(r"\b(?:not|more|less|be)\b")
NOT_BEFORE_ACCEPTABLE = re.compile(r"\bnot\b[^.!?\n]{0,20}$")
NOT_ACCEPTABLE = re.compile(r"\b(?:not|never|hardly|nor) (?:\w+ ){0,3}?acceptable\b")
I_NOT_REJECT = re.compile(_SUBJ + _ADV + r"\s+" + _NEG + r"\s" + _REJECT_VERB + r"\b")
AND_ACCEPT = re.compile(r"\b(?:and|but) (?:\w+ ){0,3}?(?:accept|agree to) (?:it|this|that|your|the)\b")
AND_REJECT = re.compile(r"\b(?:and|but) (?:\w+ ){0,3}?(?:reject|decline|refuse)(?: (?:it|this|that|your"
                         r"|the)\b|(?=\s*[.!;]))")
CONCESSIVE_BEFORE = re.compile(r"\b(?:while|although|though|even if|even though|whilst)\b"
                                r"[^.!?\n;,]{0,40}$")
ACCEPTABLE = re.compile(
    r"\b(?:(?:your (?:[$\w/%-]+ )?(?:counter-?)?(?:offer|proposal|terms|split|division"
    r"|concession|compromise|arrangement)|this|that|it|the (?:[\w'/%$-]+ )?"
    r"(?:offer|proposal|terms|split|division|deal|arrangement)|this (?:[\w/%$-]+ )?(?:offer"
    r"|proposal|split|division|deal|arrangement))(?: of [^.!?\n]{1,30}?)? (?:is|seems|sounds)"
    r"|find (?:it|this|that|your \w+|the \w+|this \w+))[.\s]+(?:\w+ (?:and |, )?){0,3}"
    r"acceptable\b")
FLAT_NO = re.compile(r"\b(?:i do not think so|not a chance|absolutely not|out of the question"
                      r"|i think not|no way|(?:(?:do|did) )?you (?:truly |really |honestly )?(?:think"
                      r"|believe|expect) (?:that )?i (?:would|will|shall) (?:accept|settle for"
                      r"|agree to))\b")
# one-word verdicts count at the start of a sentence or line ("Deal!", "Accepted.", "No.")
_START = r"(?:^|[.!?\n]\s*|[.!?]\s*[\"'(])\s*(?<!/)"
_OFFER_IS = (r"\b(?:offer|proposal|terms|division|split|deal|agreement|arrangement)\b[^.!?\n]{0,40}?\b(?:is|are|has"
             r" been|have been|stands|remains) (?:hereby |therefore |\w+ly )?")
# "Accepting this offer (outright) would ruin me": an argument about a verdict, not one
_ARGUED = (r"(?![^.!?\n]{0,30}?\b(?:would|might|could|may|is|does|will|shall|can|means"
           r"|ensures)\b)")
_VERDICT_OBJECT = r"(?=\s*(?:[.!,]|$|i shall|your\b|the (?:\w+ )?(?:offer|proposal|deal|terms)))"
ACCEPT_WORD = re.compile(
    _START + r"(?:(?:accepted|deal|agreed|yes|it is a deal|done deal|consider it done"
    r"|very well,? (?:i|we) accept)\b(?!\s?(?:or|on|with|to|that|if|whether|/))" + _NOT_THEIR_NO +
    r"|(?:quite |most |perfectly )?acceptable\s*(?:[.!]|$)"
    r"|accept" + _VERDICT_OBJECT + r"|accepting (?:your|the|this) (?:\w+ )?(?:offer|proposal"
    r"|deal|terms)" + _ARGUED + ")"
    r"|(?<!do )(?<!shall )\b(?:you have a deal|we have a deal|you have got (?:yourself )?a deal|you got (?:yourself )?"
    r"a deal|offer accepted|proposal accepted)\b|" + _OFFER_IS + r"accepted\b")
REJECT_WORD = re.compile(
    _START + r"(?:(?:rejected|no deal|declined|refused|i say no|rejection)\b(?!\s?(?:or|/))"
    r"|no\s*[.!,]|reject" + _VERDICT_OBJECT + r"|rejecting (?:your|the|this) (?:\w+ )?(?:offer"
    r"|proposal|deal|terms)" + _ARGUED + ")"
    r"|\bno deal\b|" + _OFFER_IS + r"(?:rejected|declined)\b"
    r"|\b(?:is|are|seems|remains|find (?:it|this|that|your \w+))"
    r" (?:simply |quite |completely |entirely |totally |utterly )?unacceptable\b")
AGREEMENT = re.compile(
    r"\b(?:(?<!do )(?<!can )we have (?:reached )?(?:an|a) (?:accord|agreement|deal)(?!\s?\?)"
    r"|reached an (?:accord|agreement)|it shall be|so be it|let it be so|you have my agreement"
    r"|i am satisfied with|i am content with|i am happy with|sounds (?:good|fair|reasonable"
    r"|great)|that works for me|this works for me|i will take it|i will take that|count me in"
    r"|let us shake on it|we are in agreement|i concur|shake on it|a deal it is|deal it is"
    r"|(?:we|you) have got (?:ourselves |yourself )?(?:a|an) (?:deal|accord|agreement))\b")
# what voids an acceptance: a condition after it, a hedge or doubt before it
AFTER_ACCEPT_VOID = re.compile(
    r"(?:\s(?:it|this|that|your [\w/%$-]+|the [\w/%$-]+))?(?:,?\s[\w/%$-]+){0,6}?,?\s(?:only if"
    r"|on the condition|provided that|if you|so long as|as long as)\b|\s(?:nothing|no less"
    r"|anything less|only|no fewer)\b")
# "the only terms I will accept", "the least I can agree to": a demand, not a decision
ONLY_BEFORE = re.compile(r"\b(?:only|least|minimum|best|most)\b(?:\s[\w/%$-]+){0,5}\s?$")
# "I hope the wizard sees sense and accepts it": the other side is asked to decide
HOPE_BEFORE = re.compile(r"\b(?:hope|trust|urge|ask|expect|implore|invite|encourage)\b"
                         r"[^.!?\n]{0,60}$")
# a question asks for a verdict ("do we have a deal?", "do you find this acceptable?")
QUESTION_LEAD = re.compile(r"(?:^|[.!?,;:-]\s*|\b(?:so|then|now|well|or|and)\s)(?:do|does|did|shall"
                           r"|will|would|can|could|is|are|have|has|what|how|may)\s(?:we|you|i"
                           r"|this|that|it|the|thou|they)\b")
IF_BEFORE = re.compile(
    r"\b(?:if(?! (?:i|we) (?:reject|decline|refuse|do not accept)| (?:it is|this is|the offer is"
    r"|the proposal is) rejected)|unless|provided|should you|once you|when you)\b[^.!?\n]{0,80}$")
HEDGE = re.compile(r"\b(?:could|might|wish|want|like)\b")
HEDGE_REJECT = re.compile(r"\bwould\b")
DOUBT_BEFORE = re.compile(r"\b(?:not sure|unsure|doubt|wonder|whether|uncertain)\b"
                           r"[^.!?\n]{0,20}$")
YOU_BEFORE = re.compile(r"(?<!for )(?<!to )(?<!\$)\byou\b[^.!?\n]{0,60}$")
# "I am willing to accept" counts when it takes the proposal on the table, not "a 50/50 split"
WILLING = re.compile(r"\b(?:willing|prepared|ready|inclined|open|happy|would)\b")
TAKES_OFFER = re.compile(r"\s(?:your|this|the|it|that|these|those)\b(?! counter)")
# "I will accept a 60/40 split" names a counter-offer, not the proposal on the table
COUNTER_AMOUNT = re.compile(r"\s(?:a|an)\s(?:[\w-]+\s){0,2}?\$?\d")
ASKS_BACK = re.compile(r"\?|\bfinal offer\b|\bdo you accept\b|\bwhat say you\b")
NOT_BEFORE = re.compile(r"\b(?:not|no)(?:\s[\w']+){0,3}\s$")
# softer cues, used only when no decision is stated
WEAK_ACCEPT = re.compile(
    r"\b(?:let us (?!(?:split|divide)[^.!?\n]{0,30}?(?:as follows|:))(?:accept|proceed|move forward|solidify|seal|conclude|divide|finalize|shake"
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
    r"|proposal) indeed|(?:by|in) accepting (?:your|this|the) (?:[$\w/%-]+ ){0,2}?(?:offer"
    r"|proposal|terms|division|split)"
    r"|(?:divided|split|shared|distributed) as (?:you )?(?:proposed|agreed|offered)"
    r"|seal (?:this|the|our) (?:deal|agreement|accord|bargain)"
    r"|your (?:\w+ )?acceptance|(?:has|have) (?:\w+ )?accepted (?:my|our)"
    r"|(?:willingness|decision|wisdom) (?:to accept|in accepting)"
    r"|(?:your|the|this) (?:\w+ )?(?:proposal|offer) is (?:\w+ )?(?:fair|reasonable|generous"
    r"|acceptable)(?=\s*[.!])"
    r"|(?:is|seems) (?:indeed |quite |most |very |a )*(?:fair|reasonable|generous)"
    r" (?:and (?:\w+ )?)?(?:offer|proposal|arrangement|division|split|one|compromise))\b")
WEAK_REJECT = re.compile(
    r"\b(?:reconsider|how about|what about|instead|not satisfied|not sit well|skewed|lopsided"
    r"|one-sided|unfair|nay|anything less|come back with|make (?:a|another|me a) (?:new |better"
    r" |more \w+ )?(?:proposal|offer)|i (?:\w+ ){0,3}?(?:propose|suggest|counter|insist|demand"
    r"|require|request)|(?<!your )counter-?offer|(?<!your )counter-?proposal|take it or leave it|remains? the fairest"
    r"|would be (?:a )?(?:more|fairer|better)|more (?:equitable|balanced|even|fair)|not"
    r" (?:enough|acceptable|fair)|forfeit\w*|walk away|nothing at all|remain unconvinced"
    r"|cannot engage|not (?:feel )?comfortable"
    # the outcome of a rejection, told: "neither of us gets any money this round"
    r"|(?:neither|none) of us (?:gets|get|receives?|will (?:get|receive))|we both (?:get|receive"
    r"|walk away with) nothing|nothing for (?:either|both) of us|no (?:money|gold|coins?) for"
    r" (?:either|both|any) of us|i hope you (?:will|can|would) (?:agree|accept"
    r"|see|consider))\b")
TURN_BEFORE = re.compile(
    r"\b(?:very well|however|that said|nevertheless|nonetheless|after (?:careful |much |further )?"
    r"(?:consideration|deliberation|reflection)|ultimately|in the end|on second thought"
    r"|therefore|but|upon reflection|all things considered)\b[^.!?\n]{0,30}$"
    r"|(?:^|[.!?]\s)\s*(?:fine|alright|all right|very well|so be it)\s?[.!]\s*$")
# a turn said further ahead ("However, in the interest of our long friendship, I will accept"),
# taken only when the verdict after it takes the proposal on the table
FAR_TURN_BEFORE = re.compile(
    r"\b(?:however|that said|nevertheless|nonetheless|ultimately|in the end|very well"
    r"|in the spirit of (?:compromise|cooperation|our)|upon reflection|all things considered)\b"
    r"[^.!?\n]{0,90}$")
TAKES_THEIRS = re.compile(r"[^.!?\n]{0,40}?\b(?:your|those|these|the) (?:[\w/%$-]+ ){0,2}?(?:offer"
                          r"|proposal|terms|split|division)\b")
ELLIPSIS = re.compile(r"(?:(?<!\.)\.{2,}+|\u2026)(?=\s*[A-Z])")
ELLIPSIS_INNER = re.compile(r"\.{2,}|\u2026")
