"""Acceptance wordings added for issue 18 (the acceptance side), each from our own example
texts: resigned and ceremonial acceptances, a bare "Acceptable.", terms honoured, soft cues of an
agreement acted out, and the negations and hedges that must not read as acceptances."""
from __future__ import annotations

import pytest

from scenarios.reading import read_acceptance
from scenarios.reading.confidence import Reading


def _sure(reading: Reading, value: object) -> None:
    assert reading.sure and reading.value == value, reading


def _not_sure_of(reading: Reading, value: object) -> None:
    assert not (reading.sure and reading.value == value), reading


@pytest.mark.parametrize("text", [
    "*shrugs slowly* Acceptable.",
    "Hm. Your small concession is... acceptable. Let us move on.",
    "Your 65/35 proposal is acceptable, though I had hoped for more.",
    "The 70-30 split is acceptable for now.",
    "Your counter-offer of 45/55 in my favour is acceptable.",
    "The arrangement is accepted. Take your coins and go.",
    "Pah. I have little choice but to accept your terms, sorcerer.",
    "I whole-heartedly accept the division you set out.",
    "Grr, fine, I will take your measly 70-30 split.",
    "I shall honour this 60-40 division, for now.",
    "I see the merit in your offer and am inclined to accept it.",
    "You are a hard bargainer, but I accept your terms.",
    "Arr, 60-40 it be, then.",
    "I shall deign to accept this even split.",
])
def test_more_acceptance_forms(text: str) -> None:
    _sure(read_acceptance(text), True)


@pytest.mark.parametrize("text", [
    "In accepting your 60/40 offer, we close this chapter as friends.",
    "By accepting this 55-45 division we both leave richer.",
    "Splendid. The gold is divided as proposed.",
    "So, partner, what do you say we seal this deal and ride out?",
])
def test_soft_acceptance_cues(text: str) -> None:
    _sure(read_acceptance(text), True)


@pytest.mark.parametrize("text", [
    "You have spoken well, but I must politely refuse this offer.",
    "I admire your cunning and reject your terms.",
])
def test_a_rejection_after_and_or_but(text: str) -> None:
    _sure(read_acceptance(text), False)


@pytest.mark.parametrize("text", [
    "I hear you, and cannot accept this offer.",
    "I thought about it but would never accept this split.",
    "Your plan is bold, and I might accept it if you gave me more.",
    "Acceptable? Hardly.",
])
def test_negated_or_hedged_forms_do_not_accept(text: str) -> None:
    _not_sure_of(read_acceptance(text), True)


def test_the_other_sides_counter_offer_is_no_rejection_cue() -> None:
    # naming "your counter-offer" describes their proposal; it is no counter of one's own
    _sure(read_acceptance("Your counter-offer is fair and acceptable, friend."), True)


@pytest.mark.parametrize("text", [
    "I want a 50/50 split. Do we have a deal?",
    "My price is 60 for me. So, do you find this acceptable?",
    "Give me 55. Well, do we have an accord, or not?",
])
def test_a_question_asking_for_a_verdict_is_none(text: str) -> None:
    _not_sure_of(read_acceptance(text), True)


def test_a_question_after_an_acceptance_keeps_it() -> None:
    _sure(read_acceptance("I accept your offer, but what comes next?"), True)


def test_a_rejecting_question_still_rejects() -> None:
    _sure(read_acceptance("Did you really think I would accept such crumbs?"), False)


@pytest.mark.parametrize("text", [
    "I will accept your 70-30 proposal, but only if the 70 is mine.",
    "I accept only an even split, nothing else.",
    "An equal split is the only arrangement I will accept.",
    "Half and half is the least I can agree to.",
    "Split it evenly, or I take it all by force.",
    "I will take your offer under advisement, friend.",
    "So be warned: I accept your refusal of my terms.",
    "I fear accepting such a split would leave me with crumbs.",
    "Accepting this offer will ruin me, so give me 50.",
    "I want 50. I hope the baron sees sense and accepts it.",
])
def test_demands_and_conditions_are_no_acceptance(text: str) -> None:
    _not_sure_of(read_acceptance(text), True)


def test_a_turn_said_further_ahead_accepts_their_proposal() -> None:
    text = ("I am hesitant to accept so uneven a division. However, for the sake of the long road "
            "we have travelled together, I will accept your 70/30 proposal.")
    _sure(read_acceptance(text), True)


def test_a_far_turn_to_terms_of_ones_own_is_no_acceptance() -> None:
    text = ("I am hesitant to accept so uneven a division. However, for the sake of the long road "
            "we have travelled together, I would accept a 55/45 split in my favour.")
    _not_sure_of(read_acceptance(text), True)


@pytest.mark.parametrize("text", [
    "Since you would not take my terms, neither of us gets a coin this round. On to the next.",
    "Rejecting your offer! Better nothing than scraps.",
    "Hah. You think I will settle for a quarter?",
])
def test_more_rejection_forms(text: str) -> None:
    _sure(read_acceptance(text), False)


def test_an_argument_about_rejecting_is_no_rejection() -> None:
    text = ("I accept your 60/40 split. Rejecting the offer at this late stage could cost us "
            "both dearly.")
    _sure(read_acceptance(text), True)


def test_splitting_as_follows_is_a_proposal_not_an_acceptance() -> None:
    reading = read_acceptance("It is my turn now. Let us split it as follows: 70 for me, 30 "
                              "for you.")
    _not_sure_of(reading, True)
