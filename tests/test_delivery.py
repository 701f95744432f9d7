"""Trust what reaches the model: runs against loopback servers that behave like real ones.

Each test starts a server in one of the modes real servers show (list content dropped, image
parts ignored or refused, no usage, one request at a time, empty or unusable replies) and checks
that the run says so, and stops where it must, before it publishes noise.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.helpers import cli, table
from tests.llm_helpers import chats, cli_here
from tests.openai_server import CLAIM_EXTRACT_PHRASE, message_text, persona_reply
from tests.test_llm import env_for, llm_config, run_json

SMALL = 'kind = "factorial"\nlevels = 2\nper_level = 1'  # 4 matches, 32 calls
CONFEDERATE = 'kind = "confederate"\nlevels = 2\nper_level = 1'


def test_a_list_dropping_server_is_caught_in_the_first_calls(
        tmp_path: Path, small_pool: Path, loopback_factory: Any) -> None:
    server = loopback_factory(content_mode="drop-lists")  # llama-cpp-python's default formatter
    env = env_for(tmp_path)
    parts = llm_config(tmp_path, small_pool, server.base_url, condition="text", design=SMALL,
                       model='content = "parts"', name="parts.toml")
    stopped = cli("run", str(parts), "--out", str(tmp_path / "parts"), env=env)
    assert stopped.returncode == 2, stopped.stderr
    line = stopped.stderr.strip().splitlines()[-1]
    assert line.startswith("persona-arena: run stopped: models.local (loopback-vlm at ")
    assert "delivery check failed on the first 3 requests" in line
    assert "the server read" in line and "where about" in line
    assert 'try content = "string" in [models.local]' in line
    assert "run it into a new --out" in line  # a resume would mix two kinds of request
    # stopped before spending more: the first calls, and those already in flight (16)
    assert len(chats(server)) <= 3 + 16
    reasons = {r for (r,) in table(tmp_path / "parts" / "arena.sqlite",
                                   "SELECT reason FROM turns WHERE move_kind = 'invalid'")}
    assert reasons and all(r.startswith("delivery failure: the server read ") for r in reasons)

    for content in ("string", "auto"):  # a string every server reads; auto sends one too
        server.reset()
        config = llm_config(tmp_path, small_pool, server.base_url, condition="text",
                            design=SMALL, model=f'content = "{content}"', name=f"{content}.toml")
        result = cli_here("run", str(config), "--out", str(tmp_path / content), "--json",
                          env={**env, "PERSONA_ARENA_CACHE": str(tmp_path / f"cache-{content}")})
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["ok"] == 4 and summary["halted"] is None
        assert summary["llm"]["delivery_failures"] == 0
        assert summary["llm"]["delivery_checked"] == summary["llm"]["requests"] == 32
        assert all(isinstance(m["content"], str) for b in chats(server) for m in b["messages"])


def test_an_image_ignoring_server_fails_the_vision_probe_before_any_match(
        tmp_path: Path, small_pool: Path, loopback_factory: Any) -> None:
    for mode in ("ignore-images", "drop-lists", "reject-images"):
        server = loopback_factory(content_mode=mode)
        config = llm_config(tmp_path, small_pool, server.base_url, design=SMALL,
                            name=f"{mode}.toml")
        out = tmp_path / mode
        result = cli_here("run", str(config), "--out", str(out), env=env_for(tmp_path))
        assert result.returncode == 2, (mode, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert "models.local" in result.stderr and "prob" in result.stderr, result.stderr
        if mode != "reject-images":  # it answered, wrongly: the line shows what it said
            assert "failed the vision probe" in result.stderr
            assert "asked the colour of a red disc" in result.stderr
        assert not out.exists()
        assert chats(server) == []  # no match request was sent
        # overridden, the run goes on and records that the probe was skipped
        skipped = cli_here("run", str(config), "--out", str(out), "--skip-probe",
                           env=env_for(tmp_path))
        assert skipped.returncode in (0, 1, 2), skipped.stderr
        assert json.loads(table(out / "arena.sqlite", "SELECT value FROM meta WHERE key = "
                                "'vision_probe'")[0][0]) == {"skipped": True}


def test_a_seeing_model_passes_the_probe_and_the_run_records_it(
        tmp_path: Path, small_pool: Path, loopback_factory: Any) -> None:
    server = loopback_factory()
    config = llm_config(tmp_path, small_pool, server.base_url, design=SMALL,
                        cache="manipulation_check = true")
    result = cli_here("run", str(config), "--out", str(tmp_path / "out"), "--json",
                      env=env_for(tmp_path))
    assert result.returncode == 0, result.stderr
    db = tmp_path / "out" / "arena.sqlite"
    probes = json.loads(table(db, "SELECT value FROM meta WHERE key = 'vision_probe'")[0][0])
    assert [p["passed"] for p in probes] == [True]
    assert [a.lower() for a in probes[0]["answers"]] == ["the shape is red.", "the shape is blue."]
    # the manipulation check: each persona that played rated its own image (the loopback's
    # model sees the level drawn into the image)
    checks = table(db, "SELECT c.persona_id, c.score, p.level FROM manipulation_checks c "
                       "JOIN personas p USING (persona_id)")
    played = {p for row in table(db, "SELECT persona_a, persona_b FROM matches") for p in row}
    assert {c[0] for c in checks} == played and len(played) == 2
    assert all(score is not None and 1 <= score <= 7 for _, score, _ in checks)


def test_a_server_without_usage_gets_a_warning(tmp_path: Path, small_pool: Path,
                                               loopback_factory: Any) -> None:
    server = loopback_factory(usage=False)
    config = llm_config(tmp_path, small_pool, server.base_url, condition="text", design=SMALL)
    result = cli_here("run", str(config), "--out", str(tmp_path / "out"), env=env_for(tmp_path))
    assert result.returncode == 0, result.stderr
    assert ("models.local: the server reports no token usage, so delivery of the persona and "
            "rules could not be checked") in result.stderr
    assert "32 unchecked (the server reports no usage)" in result.stdout


def test_unusable_matches_fail_and_too_many_invalid_turns_end_the_run_non_zero(
        tmp_path: Path, small_pool: Path, loopback_factory: Any) -> None:
    server = loopback_factory(rate_garbage=1.0)  # every answer: "The sky is blue today."
    config = llm_config(tmp_path, small_pool, server.base_url, condition="text", design=SMALL)
    result = cli_here("run", str(config), "--out", str(tmp_path / "out"), "--json",
                      env=env_for(tmp_path))
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["ok"] == 0 and summary["failed"] == 4  # no turn usable: not "ok"
    errors = {e for (e,) in table(tmp_path / "out" / "arena.sqlite",
                                  "SELECT error FROM matches")}
    assert all(e.startswith("no usable turn from seat ") for e in errors), errors
    assert summary["health"]["invalid_share"] == 1.0
    assert "max_invalid_share = 0.5" in summary["verdict"]
    assert "untrustworthy run: 100% of the stored turns are invalid" in result.stderr

    # some garbage: matches are ok, but more than a stated share is invalid
    server = loopback_factory(rate_garbage=0.4, seed=2)
    config = llm_config(tmp_path, small_pool, server.base_url, condition="text", design=SMALL,
                        name="some.toml", cache="max_invalid_share = 0.1")
    result = cli_here("run", str(config), "--out", str(tmp_path / "some"), "--json",
                      env={**env_for(tmp_path), "PERSONA_ARENA_CACHE": str(tmp_path / "c2")})
    summary = json.loads(result.stdout)
    share = summary["health"]["invalid_share"]
    assert 0.1 < share < 1 and result.returncode == 1
    assert summary["verdict"].startswith(f"{share:.0%} of the stored turns are invalid")
    meta = json.loads(table(tmp_path / "some" / "arena.sqlite",
                            "SELECT value FROM meta WHERE key = 'run_health'")[0][0])
    assert meta["invalid_turns"] == summary["invalid_turns"]
    assert meta["requests"] == summary["llm"]["requests"] > 0


def test_an_empty_reply_never_becomes_a_claim(tmp_path: Path, small_pool: Path,
                                              loopback_factory: Any) -> None:
    server = loopback_factory(rate_empty=0.3, seed=5)
    config = llm_config(tmp_path, small_pool, server.base_url, condition="text", design=SMALL,
                        agent='extractor = "llm"', cache="max_invalid_share = 1")
    result = cli_here("run", str(config), "--out", str(tmp_path / "out"), "--json",
                      env=env_for(tmp_path))
    assert result.returncode in (0, 1), result.stderr
    db = tmp_path / "out" / "arena.sqlite"
    empty = table(db, "SELECT move_kind, claim, reason, extractor_answer FROM turns "
                      "WHERE trim(text) = ''")
    assert empty and all(row == ("invalid", None, "empty reply", None) for row in empty)
    extracted = [message_text(b["messages"][-1]) for b in chats(server)
                 if any(CLAIM_EXTRACT_PHRASE in message_text(m).lower() for m in b["messages"])]
    assert extracted and all(text.rsplit("Dialogue:", 1)[-1].strip() for text in extracted)
    # every extractor answer is stored with the turn it produced
    answers = table(db, "SELECT extractor_answer FROM turns WHERE role = 'proposer' AND "
                        "trim(text) != ''")
    assert answers and all(a is not None for (a,) in answers)
    assert json.loads(result.stdout)["health"]["empty_replies"] == len(empty)


def test_an_extracted_claim_must_be_in_the_reply(tmp_path: Path, small_pool: Path,
                                                 loopback_factory: Any) -> None:
    def extractor_invents(body: dict[str, Any]) -> str:
        text = " ".join(message_text(m) for m in body["messages"]).lower()
        return "37" if CLAIM_EXTRACT_PHRASE in text else persona_reply(body)

    server = loopback_factory(responder=extractor_invents)
    config = llm_config(tmp_path, small_pool, server.base_url, condition="text", design=SMALL,
                        agent='extractor = "llm"', cache="max_invalid_share = 1")
    result = cli_here("run", str(config), "--out", str(tmp_path / "out"), "--json",
                      env=env_for(tmp_path))
    assert result.returncode == 1, result.stderr
    rows = table(tmp_path / "out" / "arena.sqlite", "SELECT move_kind, claim, reason, "
                 "extractor_answer, text FROM turns WHERE role = 'proposer'")
    assert rows and all(answer == "37" for _, _, _, answer, _ in rows)
    invented = [r for r in rows if "$37" not in r[4] and "$63" not in r[4]]
    derivable = [r for r in rows if "$63 for you" in r[4]]  # 100 - 63: what the proposer keeps
    assert invented and all(kind == "invalid" and reason == "the LLM extractor's claim 37 is "
                            "not in the reply, nor derivable from it"
                            for kind, _, reason, _, _ in invented)
    assert all(kind == "propose" and claim == 37 for kind, claim, _, _, _ in derivable)
    # analyze and the report show the extractor's answers, refused ones with their reason
    analysed = json.loads(cli_here("analyze", str(tmp_path / "out"), "--json").stdout)
    audit = analysed["health"]["extractor"]
    read = table(tmp_path / "out" / "arena.sqlite", "SELECT move_kind FROM turns "
                 "WHERE extractor_answer IS NOT NULL")
    assert audit["read"] == len(read) >= len(rows)
    assert audit["refused"] == sum(kind == "invalid" for (kind,) in read) >= len(invented)
    assert "LLM extractor: read" in cli_here("analyze", str(tmp_path / "out")).stdout
    assert cli_here("report", str(tmp_path / "out")).returncode == 0
    page = (tmp_path / "out" / "report.html").read_text()
    assert "LLM extractor answered: 37" in page and "not in the reply, nor derivable" in page


def test_a_single_slot_server_is_waited_for_not_failed(tmp_path: Path, small_pool: Path,
                                                       loopback_factory: Any) -> None:
    server = loopback_factory(slots=1, latency_ms=150)  # one request at a time
    config = llm_config(tmp_path, small_pool, server.base_url, condition="text",
                        design=CONFEDERATE, model="timeout = 0.5\nmax_retries = 1")
    result = cli_here("run", str(config), "--out", str(tmp_path / "out"), "--json",
                      env=env_for(tmp_path))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["failed"] == 0 and summary["llm"]["failures"] == 0
    assert summary["llm"]["backoffs"] >= 1 and summary["llm"]["queued_timeouts"] >= 1
    assert "concurrency lowered to" in result.stderr
    assert server.stats()["max_in_flight"] >= 2  # it was flooded before the client backed off


def test_resume_json_separates_this_run_from_the_store(tmp_path: Path, small_pool: Path,
                                                       loopback_factory: Any) -> None:
    server = loopback_factory()
    config = llm_config(tmp_path, small_pool, server.base_url, condition="text", design=SMALL)
    out = tmp_path / "out"
    first = run_json(cli_here("run", str(config), "--out", str(out), "--json",
                              env=env_for(tmp_path)))
    assert first["this_run"]["requests"] == 32 == first["store_totals"]["calls"]
    table(out / "arena.sqlite", "SELECT 1")  # the store is readable
    import sqlite3

    with sqlite3.connect(out / "arena.sqlite") as conn:
        conn.execute("DELETE FROM turns WHERE match_id IN (SELECT match_id FROM matches "
                     "LIMIT 1)")
        conn.execute("DELETE FROM matches WHERE match_id IN (SELECT match_id FROM matches "
                     "LIMIT 1)")
    again = run_json(cli_here("run", str(config), "--out", str(out), "--resume", "--json",
                              env=env_for(tmp_path)))
    assert again["this_run"]["matches"] == 1 and again["this_run"]["requests"] == 0
    assert again["this_run"]["cache_hits"] == 8
    assert again["store_totals"]["matches"] == 4


def test_the_dry_run_says_images_only_when_it_sends_them(tmp_path: Path, small_pool: Path,
                                                         loopback_factory: Any) -> None:
    server = loopback_factory()
    for condition, images in (("text", False), ("both-images", True)):
        config = llm_config(tmp_path, small_pool, server.base_url, condition=condition,
                            design=SMALL, name=f"{condition}.toml")
        result = cli_here("run", str(config), "--dry-run", env=env_for(tmp_path))
        assert result.returncode == 0, result.stderr
        assert ("(images included)" in result.stdout) is images
        assert "expected: up to 32 LLM calls" in result.stdout  # a void round ends early
