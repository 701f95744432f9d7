"""extractor = "hybrid" against the loopback server: the offline reader reads every reply
first, and only the replies it is unsure of reach the LLM extractor (with the paper's prompts);
the turns keep the offline evidence, confidence and reason. Offline alone, the same unsure
replies become invalid turns with reason "ambiguous: ..."."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import table
from tests.llm_helpers import chats, cli_here
from tests.test_llm import PROMPTS, env_for, llm_config, run_json

CLEAR_PROPOSAL = "I propose $60 for me and $40 for you."
UNSURE_PROPOSAL = ("*narrows eyes* I must decline your proposal of a 75-25 split. A 55/45 split "
                   "would be fairer, and I could live with 65/35 as well.")
CLEAR_ACCEPT = "I accept your offer."
UNSURE_ACCEPT = ("I accept your proposal. ===round3=== I propose $70 for me and $30 for you. "
                 "Do you accept?")
DESIGN = 'kind = "confederate"\nlevels = 7\nper_level = 1'


def _responder(body: dict[str, Any]) -> str:
    messages = body["messages"]
    first = messages[0]["content"]
    if first == PROMPTS["extract_claim"]:
        return "55"
    if first == PROMPTS["extract_acceptance"]:
        return "0"
    cue = messages[-1]["content"]
    cue = cue if isinstance(cue, str) else ""
    if cue.startswith("===round"):  # proposing: clear in rounds 1 and 2, unsure in 3 and 4
        return CLEAR_PROPOSAL if cue in ("===round1===", "===round2===") else UNSURE_PROPOSAL
    # responding to the confederate: its even split is accepted plainly, its 75/25 unclearly
    return CLEAR_ACCEPT if "$50 for me" in cue else UNSURE_ACCEPT


def _llm_turns(db: Path) -> list[tuple]:
    return table(db, "SELECT t.role, t.move_kind, t.claim, t.text, t.extractor_answer, "
                     "t.read_confidence, t.read_evidence, t.read_note, t.reason FROM turns t "
                     "JOIN matches m USING(match_id) WHERE (t.speaker = 'a') = "
                     "(m.agent_a = 'llm:local')")


def test_hybrid_sends_only_unsure_readings_to_the_llm(tmp_path: Path, small_pool: Path,
                                                      loopback_factory: Any) -> None:
    server = loopback_factory(responder=_responder)
    config = llm_config(tmp_path, small_pool, server.base_url, design=DESIGN,
                        condition="self-only", agent='extractor = "hybrid"')
    summary = run_json(cli_here("run", str(config), "--out", str(tmp_path / "out"), "--json",
                                env=env_for(tmp_path)))
    assert summary["ok"] == 14
    asked = [b["messages"][1]["content"] for b in chats(server)
             if b["messages"][0]["content"] in (PROMPTS["extract_claim"],
                                                PROMPTS["extract_acceptance"])]
    assert asked, "no unsure reading reached the LLM extractor"
    assert {a.removeprefix("Dialogue:\n") for a in asked} <= {UNSURE_PROPOSAL, UNSURE_ACCEPT}
    turns = _llm_turns(tmp_path / "out" / "arena.sqlite")
    texts = {t[3] for t in turns}
    assert {CLEAR_PROPOSAL, UNSURE_PROPOSAL, CLEAR_ACCEPT, UNSURE_ACCEPT} <= texts
    for role, kind, claim, text, answer, confidence, evidence, note, _ in turns:
        assert confidence is not None and note  # every free-text reading is kept
        if text in (CLEAR_PROPOSAL, CLEAR_ACCEPT):
            assert answer is None and confidence >= 0.5
            assert (kind, claim) in (("propose", 60.0), ("accept", None))
            assert note in ("one unambiguous split in the proposer's terms", "one verdict stated")
        else:
            assert answer in ("55", "0") and confidence < 0.5 and evidence
            assert note.startswith("unsure offline, read by the LLM extractor (")
            assert (kind, claim) in (("propose", 55.0), ("reject", None))


def test_offline_abstains_on_the_same_replies(tmp_path: Path, small_pool: Path,
                                              loopback_factory: Any) -> None:
    server = loopback_factory(responder=_responder)
    config = llm_config(tmp_path, small_pool, server.base_url, design=DESIGN,
                        condition="self-only")
    run_json(cli_here("run", str(config), "--out", str(tmp_path / "out"), "--json",
                      env=env_for(tmp_path)))
    assert not [b for b in chats(server) if b["messages"][0]["content"] in
                (PROMPTS["extract_claim"], PROMPTS["extract_acceptance"])]
    for role, kind, claim, text, answer, confidence, evidence, note, reason in _llm_turns(
            tmp_path / "out" / "arena.sqlite"):
        if text in (UNSURE_PROPOSAL, UNSURE_ACCEPT):
            assert kind == "invalid" and reason == f"ambiguous: {note}" and confidence < 0.5
        else:
            assert kind in ("propose", "accept") and reason is None and confidence >= 0.5
