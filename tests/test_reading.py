"""The offline reader's confidence: every reading says what it read, from which words and how
sure it is; each hard pattern (splits from either side's view, bare percentages, stage
directions, role confusion, reluctant acceptance next to refusal words, deliberation without a
verdict) is read correctly or abstained on, never misread. The example texts are our own."""
from __future__ import annotations

import math
import pickle

import pytest

from analysis.coverage import acceptance_coverage, claim_coverage, coverage, format_coverage
from scenarios.extract import Reading, read_acceptance, read_claim
from scenarios.loader import load_scenario
from scenarios.moves import INVALID, PROPOSE, MoveRequest
from scenarios.reading import THRESHOLD
from tests.analysis_support import has_reference, reference_frame
from tests.helpers import REFERENCE

# (text, the right claim): the reader must give it, or abstain
CLAIMS = [
    # splits from either side's view
    ("I offer a 35/65 split in your favor.", 35),
    ("Let us split it 40/60, with the larger share going to you.", 40),
    ("A 30/70 split in your favor, you say? *narrows eyes* No. I propose 60/40 in my favor.", 60),
    ("*narrows eyes* A 30/70 split in your favor, you say? Then let it be 70/30 in my favor.", 70),
    ("I propose a 60/40 split in our favor.", 60),
    # bare percentages, written numbers
    ("I will take 65% and you will take 35%.", 65),
    ("65% to you, 35% to me.", 35),
    ("I propose 55 percent for me and the rest for you.", 55),
    ("My share: 62%. Your share: 38%.", 62),
    ("You offered me 25%. I want 75% for myself.", 75),
    # stage directions around the split
    ("*strokes beard* *narrows eyes* I propose $70 for me and $30 for you. *leans back*", 70),
    ("*narrows eyes* Seventy for me, thirty for you. That is my offer.", 70),
    # role confusion: a proposer's text that reads as a response
    ("I must decline your proposal of a 75-25 split. A 60/40 split would be fairer.", 60),
    ("I accept your proposal of a 50/50 split.", 50),
    ("*considers the offer carefully* I cannot accept 70/30. How about 65/35 in my favor?", 65),
    # several candidates
    ("I propose 80/20. Or perhaps 70/30 would suit you better.", 80),
    ("I could take $60, or maybe $55 would be fairer to you.", 60),
]
# (text, True accept / False reject / None no verdict)
ACCEPTANCES = [
    # reluctant acceptance next to refusal words
    ("I cannot say I like it. Very well, I will reluctantly accept your meagre offering of $75.",
     True),
    ("Though I am tempted to refuse, I accept.", True),
    ("I refuse to be insulted further... *sighs* Fine. I accept your offer, grudgingly.", True),
    ("I would normally reject such a lopsided offer, but I accept.", True),
    ("I decline to argue further: I accept your 70/30 proposal.", True),
    ("Very well, I will reluctantly accept, though it pains me to do so.", True),
    ("I cannot accept this... Very well. I accept, but only this once.", True),
    # deliberation ending without a verdict
    ("*strokes chin* Hmm, 70/30... I must weigh this carefully. Your strength is considerable, "
     "and yet...", None),
    ("Let me think about your offer of 60/40. It is a difficult choice.", None),
    # role confusion: a counter-split instead of yes or no
    ("How about 55/45 instead?", False),
    ("I counter with a 50/50 split.", False),
    ("I accept your proposal. ===round3=== I propose $70 for me and $30 for you. Do you accept?",
     True),
    # stage directions and plain verdicts
    ("*narrows eyes* I reject your offer.", False),
    ("I reject. A 60/40 split in my favor would be fair.", False),
    ("Your offer is an insult. No.", False),
]


@pytest.mark.parametrize("text,right", CLAIMS)
def test_claim_patterns_are_read_right_or_abstained(text: str, right: float) -> None:
    reading = read_claim(text)
    assert reading.evidence and reading.reason
    assert not reading.sure or reading.value == pytest.approx(right), reading


@pytest.mark.parametrize("text,right", ACCEPTANCES)
def test_acceptance_patterns_are_read_right_or_abstained(text: str, right: bool | None) -> None:
    reading = read_acceptance(text)
    assert reading.reason
    assert not reading.sure or reading.value is right, reading
    if right is None:
        assert not reading.sure


@pytest.mark.parametrize("text,reason", [
    ("I propose $60 for me and $40 for you.", "one unambiguous split in the proposer's terms"),
    ("I must decline your proposal of a 75-25 split. A 60/40 split would be fairer.",
     "role contradicts seat: the proposer's text reads as a response"),
    ("I propose 80/20. Or perhaps 70/30 would suit you better.", "several candidates (80, 70)"),
    ("Nothing to say about money.", "no amount in the text"),
])
def test_claim_reasons_name_the_evidence(text: str, reason: str) -> None:
    assert read_claim(text).reason == reason


def test_clear_readings_are_sure_and_carry_their_evidence() -> None:
    claim = read_claim("*narrows eyes* I propose $70 for me and $30 for you.")
    assert claim.sure and claim.value == 70.0 and claim.confidence >= 0.9
    assert "$70 for me" in claim.evidence
    accept = read_acceptance("After some thought: I accept your offer.")
    assert accept.sure and accept.value is True and "i accept your offer" in accept.evidence
    # a reading travels between processes (analysis reads on all cores)
    assert pickle.loads(pickle.dumps(claim)) == claim


def test_nothing_read_is_never_sure() -> None:
    for reading in (read_claim(""), read_claim("   "), read_acceptance(""),
                    read_claim(None), read_acceptance(b"I accept")):  # type: ignore[arg-type]
        assert reading.value is None and not reading.sure


def test_reading_checks_its_confidence() -> None:
    with pytest.raises(ValueError):
        Reading(50.0, 1.5, "", "too sure")
    assert Reading(50.0, THRESHOLD, "", "").sure and not Reading(50.0, THRESHOLD - 0.01, "",
                                                                 "").sure


def _request(role: str) -> MoveRequest:
    from scenarios.moves import ACCEPT, REJECT

    legal = frozenset({PROPOSE}) if role == "proposer" else frozenset({ACCEPT, REJECT})
    return MoveRequest("ultimatum-4", "a", role, 1, 0, legal, ())


def test_the_game_abstains_with_reason_ambiguous() -> None:
    state = load_scenario("ultimatum-4").new_state()
    move = state.read("I propose 80/20. Or perhaps 70/30 would suit you better.",
                      _request("proposer"))
    assert move.kind is INVALID and move.reason == "ambiguous: several candidates (80, 70)"
    assert move.reading is not None and not move.reading.sure
    move = state.read("I propose $60 for me and $40 for you.", _request("proposer"))
    assert move.kind is PROPOSE and move.offer == 60.0 and move.reading.sure  # type: ignore
    move = state.read("Hmm. Let me think about it.", _request("responder"))
    assert move.kind is INVALID and move.reason.startswith("neither an acceptance")
    assert move.reading is not None and move.reading.reason == "deliberation ending without a " \
                                                               "verdict"


def test_coverage_counts_abstentions_as_errors() -> None:
    sure, unsure = Reading(60.0, 0.9, "e", "r"), Reading(70.0, 0.2, "e", "r")
    none = Reading(None, 0.0, "", "no amount in the text")
    claims = claim_coverage([sure, sure, unsure, none], [60.0, 50.0, 70.0, math.nan],
                            ["a", "b", "c", ""])
    assert claims["n_confident"] == 2 and claims["confident_agreement"] == 0.5
    assert claims["abstention"] == 0.5 and claims["overall_agreement"] == 0.25
    assert claims["llm_share"] == pytest.approx(1 / 3)  # the empty text never reaches an LLM
    yes = Reading(True, 0.95, "i accept", "one verdict stated")
    accepts = acceptance_coverage([yes, yes], [1.0, 0.0], ["I accept", "I accept"])
    both = coverage(claims, accepts)
    assert both["threshold"] == THRESHOLD and both["llm_share"] == pytest.approx(1 / 5)
    text = "\n".join(format_coverage(both))
    assert "agreement on confident readings 50.0%, abstained 50.0%" in text
    assert "20.0% of its readings to the LLM extractor" in text


def test_coverage_at_a_lower_threshold_trusts_more_readings() -> None:
    middling = Reading(70.0, 0.475, "e", "r")
    readings, labels, texts = [middling, middling], [70.0, 30.0], ["a", "b"]
    default = claim_coverage(readings, labels, texts)
    lower = claim_coverage(readings, labels, texts, threshold=0.45)
    assert default["abstention"] == 1.0 and default["confident_agreement"] is None
    assert lower["abstention"] == 0.0 and lower["confident_agreement"] == 0.5
    assert coverage(lower, acceptance_coverage([], [], []), 0.45)["threshold"] == 0.45


@pytest.mark.skipif(not has_reference(), reason=f"reference data not found at {REFERENCE}")
def test_replicate_reports_coverage_on_the_papers_texts() -> None:
    from analysis.replicate import format_replication, replicate

    result = replicate(REFERENCE, "gpt-4o", frame=reference_frame("gpt-4o", extractor=True))
    cov = result["extractor_coverage"]
    claims, accepts = cov["claim"], cov["acceptance"]
    assert claims["n"] == accepts["n"] == 24500
    # the done-when figures that hold on GPT-4o's texts (see the note for the rest)
    assert claims["confident_agreement"] >= 0.99 and claims["abstention"] <= 0.03
    assert accepts["confident_agreement"] >= 0.99
    for m in (claims, accepts):
        assert m["overall_agreement"] == pytest.approx(
            m["confident_agreement"] * (1 - m["abstention"]))
    assert 0 < cov["llm_share"] < 0.05
    assert "with abstention" in format_replication(result)


def test_a_store_made_before_gets_the_reading_columns(tmp_path) -> None:
    import sqlite3

    from arena.store import SCHEMA, Store

    old = SCHEMA.replace(" read_confidence REAL, read_evidence TEXT,\n  read_note TEXT,", "")
    assert old != SCHEMA
    db = tmp_path / "arena.sqlite"
    conn = sqlite3.connect(db)
    conn.executescript(old)
    conn.close()
    before = {r[1] for r in sqlite3.connect(db).execute("PRAGMA table_info(turns)")}
    assert "read_confidence" not in before
    Store(db).close()
    after = {r[1] for r in sqlite3.connect(db).execute("PRAGMA table_info(turns)")}
    assert {"read_confidence", "read_evidence", "read_note"} <= after
