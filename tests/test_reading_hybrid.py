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


def _scenario_with(tmp_path: Path, line: str) -> Path:
    """The built-in ultimatum-4 scenario with one more top-level key."""
    from scenarios.loader import BUILTIN_DIR

    text = (BUILTIN_DIR / "ultimatum-4.toml").read_text()
    path = tmp_path / "ultimatum-threshold.toml"
    path.write_text(text.replace('game = "ultimatum"\n', f'game = "ultimatum"\n{line}\n', 1))
    return path


def test_hybrid_prompt_carries_the_evidence_and_the_reason(tmp_path: Path, small_pool: Path,
                                                           loopback_factory: Any) -> None:
    server = loopback_factory(responder=_responder)
    config = llm_config(tmp_path, small_pool, server.base_url, design=DESIGN,
                        condition="self-only", agent='extractor = "hybrid"')
    run_json(cli_here("run", str(config), "--out", str(tmp_path / "out"), "--json",
                      env=env_for(tmp_path)))
    sent = [b["messages"] for b in chats(server)
            if b["messages"][0]["content"] in (PROMPTS["extract_claim"],
                                               PROMPTS["extract_acceptance"])]
    assert sent
    turns = {t[3]: t for t in _llm_turns(tmp_path / "out" / "arena.sqlite")}
    for messages in sent:
        assert len(messages) == 3  # the paper's two, then what the offline reader was unsure of
        text = messages[1]["content"].removeprefix("Dialogue:\n")
        note = messages[2]["content"]
        _, _, _, _, _, _, evidence, stored_note, _ = turns[text]
        assert evidence and f'"{evidence}"' in note
        reason = stored_note.removeprefix("unsure offline, read by the LLM extractor (")[:-1]
        assert f"({reason})" in note
        if messages[0]["content"] == PROMPTS["extract_claim"]:
            assert "a claim of" in note or "It read nothing" in note
        else:
            assert "an acceptance (1)" in note or "a rejection (0)" in note


def test_read_threshold_zero_trusts_every_reading(tmp_path: Path, small_pool: Path,
                                                  loopback_factory: Any) -> None:
    server = loopback_factory(responder=_responder)
    config = llm_config(tmp_path, small_pool, server.base_url, design=DESIGN,
                        condition="self-only")
    scenario = _scenario_with(tmp_path, "read_threshold = 0")
    config.write_text(config.read_text().replace('"ultimatum-4"', f'"{scenario}"'))
    run_json(cli_here("run", str(config), "--out", str(tmp_path / "out"), "--json",
                      env=env_for(tmp_path)))
    turns = _llm_turns(tmp_path / "out" / "arena.sqlite")
    unsure = [t for t in turns if t[3] in (UNSURE_PROPOSAL, UNSURE_ACCEPT)]
    assert unsure
    for role, kind, claim, text, answer, confidence, evidence, note, reason in unsure:
        assert confidence < 0.5 and kind in ("propose", "accept", "reject") and reason is None


def test_read_threshold_is_bounded(tmp_path: Path) -> None:
    import pytest

    from scenarios.errors import InputError
    from scenarios.loader import load_scenario_file

    assert load_scenario_file(_scenario_with(tmp_path, "read_threshold = 0.3")
                              ).spec.read_threshold == 0.3
    for bad in ("1.5", "-0.1", "nan"):
        with pytest.raises(InputError, match="read_threshold"):
            load_scenario_file(_scenario_with(tmp_path, f"read_threshold = {bad}"))
