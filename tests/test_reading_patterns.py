"""The reading rules added for issue 18's unseen wordings, each from our own example texts:
acting out agreement in an aside, plainer acceptance phrases, a rejection followed by terms the
responder would accept instead, an acceptance of the responder's own counter-split, a reply that
runs on into the next round, and an even split answered in a proposer's text. Each is read right
or abstained on, never misread."""
from __future__ import annotations

import pytest

from scenarios.reading import read_acceptance, read_claim
from scenarios.reading.acceptance_confidence import (ACCEPTS_COUNTER, COUNTER, PROPOSES,
                                                     REJECT_THEN_TERMS, RUNS_ON)
from scenarios.reading.confidence import Reading, hint


def _sure(reading: Reading, value: object) -> None:
    assert reading.sure and reading.value == value, reading


# -- an aside that acts out agreement is a soft cue of acceptance ----------------------------
@pytest.mark.parametrize("text", [
    "*grasps your hand firmly* Well met, partner.",
    "*shakes the outstretched hand* So we are partners again.",
    "*accepts the handshake with a grin* Good.",
    "*nods in agreement* Then it is settled between us.",
])
def test_agreeing_asides_accept(text: str) -> None:
    _sure(read_acceptance(text), True)


@pytest.mark.parametrize("text", [
    "*clasps hands behind back* That split is far too lopsided.",
    "*refuses to shake your hand* Never.",
    "*pulls his hand away* You insult me.",
])
def test_asides_that_do_not_agree_do_not_accept(text: str) -> None:
    reading = read_acceptance(text)
    assert not (reading.sure and reading.value is True), reading


# -- plainer acceptance phrases ----------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "Alright, alright, I'll take your 55/45 deal.",
    "Aye, a 60-40 split it is, my friend.",
    "We've got ourselves an accord, then.",
    "I have no hesitation in accepting this offer.",
    "It would be my honour to accept this division.",
    "I agree wholeheartedly, my friend.",
])
def test_plain_acceptance_phrases(text: str) -> None:
    _sure(read_acceptance(text), True)


# -- a rejection, then the terms it would accept instead ---------------------------------------
@pytest.mark.parametrize("text", [
    "I reject your 70/30 proposal. A 50/50 split is fair, and I am willing to accept this fair "
    "division.",
    "I must decline your offer. Make it an even split, which I will gladly accept.",
    "I cannot accept your 65-35 proposal. I will accept an equal division, nothing else.",
])
def test_rejection_then_terms_is_a_rejection(text: str) -> None:
    reading = read_acceptance(text)
    _sure(reading, False)
    assert reading.reason in (REJECT_THEN_TERMS, COUNTER)


def test_a_turn_after_the_rejection_still_accepts() -> None:
    reading = read_acceptance("I cannot accept this. *sighs* Very well, I accept your offer.")
    assert not reading.sure or reading.value is True


# -- an acceptance that follows the responder's own counter-split -------------------------------
def test_accepting_after_ones_own_counter_split_abstains() -> None:
    reading = read_acceptance("Your 70/30 split is too steep. A more balanced 60/40 division "
                              "would serve us both. I am willing to accept that.")
    assert not reading.sure and reading.reason == ACCEPTS_COUNTER


def test_accepting_their_proposal_after_musing_on_another_split_accepts() -> None:
    reading = read_acceptance("A more even 50/50 split would be ideal, but very well, I accept "
                              "your 55/45 proposal.")
    _sure(reading, True)


def test_their_offer_is_no_counter_split_of_ones_own() -> None:
    reading = read_acceptance("I find your offer of $60 for you and $40 for me fair, and I "
                              "accept it.")
    _sure(reading, True)
    assert reading.reason == "one verdict stated"


# -- a reply that runs on into the next round -------------------------------------------------
@pytest.mark.parametrize("text", [
    "I accept your offer. ===round 3=== I propose $50 for me and $50 for you.",
    "I accept. ===round 2=== My turn: I'll take $40 and you get $60. Deal?",
    "I accept your proposal. ===round 4===",
])
def test_running_on_with_no_greedier_proposal_accepts(text: str) -> None:
    reading = read_acceptance(text)
    _sure(reading, True)
    assert reading.reason in (RUNS_ON, "one verdict stated")


def test_running_on_with_a_greedier_proposal_abstains() -> None:
    reading = read_acceptance("I accept your offer. ===round 2=== I'll take $80 and you get "
                              "$20. Do you accept?")
    assert not reading.sure and reading.reason == PROPOSES


def test_running_on_is_judged_in_the_games_pie() -> None:
    text = "I accept. ===round 2=== I take $8 and you get $2."
    assert not read_acceptance(text, pie=10).sure  # 8 of 10 for itself: greedier
    _sure(read_acceptance(text, pie=100), True)  # 8 of 100: no counter-demand


# -- an even split answered in a proposer's text -----------------------------------------------
@pytest.mark.parametrize("text", [
    "I gladly accept your proposal of a 50/50 split.",
    "*nods* Very well, I accept your even split: $50 each.",
    "You proposed 50-50 last round, and 50-50 it shall be.",
])
def test_an_answered_even_split_is_read_as_50(text: str) -> None:
    _sure(read_claim(text), 50.0)


def test_an_answered_uneven_split_still_abstains() -> None:
    reading = read_claim("I accept your proposal of a 60/40 split in your favor.")
    assert not reading.sure


# -- what the hybrid extractor is told --------------------------------------------------------
def test_the_hint_names_the_reason_the_guess_and_the_evidence() -> None:
    claim = Reading(80.0, 0.3, "i propose 80/20. or perhaps 70/30", "several candidates (80, 70)")
    text = hint(claim, proposing=True)
    assert "(several candidates (80, 70))" in text and "a claim of 80" in text
    assert '"i propose 80/20. or perhaps 70/30"' in text
    assert "a rejection (0)" in hint(Reading(False, 0.4, "e", "r"), proposing=False)
    assert "It read nothing" in hint(Reading(None, 0.0, "", "no amount"), proposing=True)


def test_the_reader_benchmark_says_which_targets_are_met() -> None:
    from benchmarks import reader

    def figures(confident: float, abstained: float) -> dict[str, float]:
        return {"n": 100, "confident_agreement": confident, "abstention": abstained,
                "overall_agreement": confident * (1 - abstained), "llm_share": abstained}

    result = {"threshold": 0.5, "seconds": 3.0, "models": {
        "gpt-4o": {"claim": figures(0.999, 0.001), "acceptance": figures(0.98, 0.05),
                   "llm_share": 0.02},
        "claude-3-haiku": {"claim": figures(0.995, 0.02), "acceptance": figures(0.995, 0.01),
                           "llm_share": 0.015}}}
    table = "\n".join(reader.markdown(result))
    rows = {tuple(c.strip() for c in line.split("|")[1:3]): line for line in table.split("\n")
            if line.startswith("| gpt") or line.startswith("| claude")}
    assert "99.90% (met)" in rows[("gpt-4o", "claims")]
    assert "98.00% (MISSED)" in rows[("gpt-4o", "acceptances")]
    assert "5.00% (MISSED)" in rows[("gpt-4o", "acceptances")]
    assert "gpt-4o 2.0%, claude-3-haiku 1.5%" in table
    assert reader.headline(result).startswith("reader: confident agreement / abstention")


def test_a_split_proposed_for_this_final_round_is_no_past_one() -> None:
    reading = read_claim("Building on our previous rounds, a fair division for this final round "
                         "would be a 60/40 split, the larger share for me.")
    _sure(reading, 60.0)
    assert reading.confidence >= 0.8 and "past one" not in reading.reason


# -- bare amounts: a list without currency, markdown's escaped dollar, "each" -----------------
@pytest.mark.parametrize("text,right", [
    ("I propose the following division: 80 me, 20 you. Do you accept?", 80.0),
    ("My terms: 35 you, 65 me.", 65.0),
    ("I propose I take \\$60, and you get \\$40.", 60.0),
    ("Each of us shall take $50. Agreed?", 50.0),
    ("For this last round I propose we each take $40, leaving $20 aside.", 40.0),
])
def test_bare_amounts_are_read(text: str, right: float) -> None:
    _sure(read_claim(text), right)


def test_a_share_beats_an_each_that_does_not_add_up() -> None:
    reading = read_claim("I propose a 70-30 ratio. We each get $30, and I get $70.")
    assert not reading.sure or reading.value == 70.0, reading


def test_soft_cues_both_ways_with_a_counter_split_reject() -> None:
    reading = read_acceptance("How about a 55/45 split in your favor instead? Your proposal is "
                              "quite reasonable. Mine is fairer.")
    _sure(reading, False)
    assert reading.reason == COUNTER
    # the soft cue of acceptance first: which proposal it likes is unclear
    assert not read_acceptance("Your proposal is quite reasonable. Still, how about a 55/45 "
                               "split in your favor instead?").sure


@pytest.mark.parametrize("text, right", [
    ("I propose a 70/30 split, with 30% going to you and 70% to me.", 70.0),
    ("How about a 45-55 split, with you receiving the larger 55% share?", 45.0),
    ("Let us go 60/40: 40% for me, 60% for you.", 40.0),
])
def test_a_split_restated_as_shares_is_one_candidate(text: str, right: float) -> None:
    reading = read_claim(text)
    assert reading.value == right and reading.sure, reading


def test_an_even_split_mused_on_beside_the_answered_one_abstains() -> None:
    text = ("I have weighed your proposal of a 70/30 division. I believe an even 50/50 split "
            "serves us both better.")
    reading = read_claim(text)
    assert not reading.sure and "beside the even one" in reading.reason


def test_an_even_split_proposed_now_beside_a_recalled_one_is_read() -> None:
    reading = read_claim("You proposed 80/20 last time. This round I propose we split it "
                         "evenly, $50 each.")
    assert reading.value == 50.0 and reading.sure, reading
