"""LLM negotiators through AutoGen, against the real loopback OpenAI server (no patched client).

What was sent (the paper's wording, image parts, round markers), what was stored, that a rerun
with the cache sends nothing, how faults are handled, and that config mistakes stop a run with
one line before any match.
"""
from __future__ import annotations

import base64
import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from scenarios.loader import load_scenario
from tests.helpers import cli, live_processes, match_table, table, turn_table
from tests.llm_helpers import chats, cli_here, is_probe
from tests.openai_server import LoopbackServer

SECRET = "sk-persona-arena-test-9f3b2c7d1e"
N_BOTH = 18  # matches of the both-images run: 3 x 3 ordered pairs, 2 repetitions
PROMPTS = load_scenario("ultimatum-4").prompts
SYSTEM = PROMPTS["system"]
OWN = "You are the character in the following image:"
OPP = "The next image is your opponent:"


def llm_config(tmp: Path, pool: Path, base_url: str, *, condition: str = "both-images",
               design: str = "kind = \"factorial\"\nlevels = 7\nper_level = 1\nrepetitions = 1",
               agent: str = "", model: str = "", name: str = "run.toml",
               cache: str = "") -> Path:
    path = tmp / name
    path.write_text(f'''seed = 3
scenario = "ultimatum-4"
condition = "{condition}"

[personas]
pool = "{pool}"

[design]
{design}

[agents.default]
kind = "llm"
model = "local"
{agent}

[models.local]
base_url = "{base_url}"
model = "loopback-vlm"
temperature = 1.0
max_tokens = 300
retry_base_s = 0.01
retry_max_s = 0.05
{model}

[execution]
concurrency = 16
progress = "none"
{cache}
''')
    return path


def env_for(tmp: Path, **extra: str) -> dict[str, str]:
    return {"OPENAI_API_KEY": SECRET, "PERSONA_ARENA_CACHE": str(tmp / "cache"), **extra}


def texts_of(message: dict[str, Any]) -> list[str]:
    content = message["content"]
    if isinstance(content, str):
        return [content]
    return [p["text"] if p["type"] == "text" else "<image>" for p in content]


def layout(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """(role, content) with image parts shown as <image> and the first message's parts listed."""
    return [(m["role"], texts_of(m) if isinstance(m["content"], list) else m["content"])
            for m in body["messages"]]


def image_urls(message: dict[str, Any]) -> list[str]:
    return [p["image_url"]["url"] for p in message["content"] if p["type"] == "image_url"]


def data_url_of(pool: Path, persona_id: str) -> str:
    data = (pool / f"{persona_id}.png").read_bytes()
    return "data:image/png;base64," + base64.b64encode(data).decode()


_URLS: dict[Path, dict[str, str]] = {}


def persona_of_image(pool: Path, url: str) -> str:
    if pool not in _URLS:
        _URLS[pool] = {data_url_of(pool, p.stem): p.stem for p in pool.glob("*.png")}
    found = _URLS[pool].get(url)
    assert found is not None, "an image that is no persona's"
    return found


def run_json(result: Any) -> dict[str, Any]:
    assert result.returncode in (0, 1) and result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


def all_bytes_under(folder: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in folder.rglob("*") if p.is_file()]


# -- Study 1: self-only against the confederate ---------------------------------------------------
def test_self_only_against_the_confederate(tmp_path: Path, small_pool: Path,
                                           loopback: LoopbackServer) -> None:
    config = llm_config(tmp_path, small_pool, loopback.base_url, condition="self-only",
                        design='kind = "confederate"\nlevels = 7\nper_level = 1')
    out = tmp_path / "out"
    summary = run_json(cli("run", str(config), "--out", str(out), "--json", env=env_for(tmp_path)))
    db = out / "arena.sqlite"
    matches = match_table(db)
    assert len(matches) == 14 and {m[12] for m in matches} == {"ok"}
    assert {(m[10], m[11]) for m in matches} == {("llm:local", "confederate"),
                                                 ("confederate", "llm:local")}
    turns = turn_table(db)
    assert len(turns) == 14 * 8  # every turn stored
    bodies = chats(loopback)
    assert len(bodies) == 14 * 4 == summary["llm"]["requests"]  # the LLM moves 4 times a match
    for body in bodies:
        system, first = body["messages"][0], body["messages"][1]
        assert system == {"role": "system", "content": SYSTEM}
        parts = first["content"]
        assert [p["type"] for p in parts] == ["text", "image_url", "text"]  # no opponent image
        assert parts[0]["text"] == OWN
        assert OPP not in json.dumps(body)
        assert body["temperature"] == 1.0 and body["max_tokens"] == 300
        assert "name" not in system and all("name" not in m for m in body["messages"])
    # the full history of the last call in a match where the LLM moves first (Study 1 layout:
    # the marker opens every round, also the rounds it responds in)
    first_seat = [b for b in bodies if len(b["messages"]) == 13
                  and b["messages"][1]["content"][2]["text"] == PROMPTS["instructions_first_self_only"]]
    assert first_seat
    roles = layout(first_seat[0])
    assert [r for r, _ in roles] == ["system", "user", "user", "assistant", "user", "user", "user",
                                     "assistant", "user", "assistant", "user", "user", "user"]
    assert roles[2][1] == "===round1===" and roles[5][1] == "===round2==="
    assert roles[8][1] == "===round3===" and roles[11][1] == "===round4==="
    assert roles[4][1] == PROMPTS["confederate_accept"]
    assert roles[6][1] == PROMPTS["confederate_propose_1_second"]  # its typo when second
    assert roles[12][1] == PROMPTS["confederate_propose_2"]
    # moving second: the marker comes before the confederate's proposal of that round
    second_seat = [b for b in bodies if b["messages"][1]["content"][2]["text"]
                   == PROMPTS["instructions_second_self_only"]]
    assert second_seat
    start = min(second_seat, key=lambda b: len(b["messages"]))
    assert layout(start)[2:] == [("user", "===round1==="),
                                 ("user", PROMPTS["confederate_propose_1"])]
    # the image is the persona's own file, base64 in a PNG data URL
    for spec_id, pa, pb in table(db, "SELECT match_id, persona_a, persona_b FROM matches"):
        assert (pa is None) != (pb is None)
    urls = {image_urls(b["messages"][1])[0] for b in bodies}
    personas = {persona_of_image(small_pool, u) for u in urls}
    assert personas == {m[6] or m[7] for m in matches}
    # no secret anywhere in the run folder or the cache
    for path, data in all_bytes_under(out) + all_bytes_under(tmp_path / "cache"):
        assert SECRET.encode() not in data, path


# -- Study 2: both images, LLM against LLM; rerun with the cache -----------------------------------
def test_both_images_llm_vs_llm_and_replay(tmp_path: Path, small_pool: Path,
                                           loopback: LoopbackServer) -> None:
    # levels 1..3 of the pool, one persona each: 9 ordered pairs, twice
    config = llm_config(tmp_path, small_pool, loopback.base_url,
                        design='kind = "factorial"\nlevels = 3\nper_level = 1\nrepetitions = 2')
    out = tmp_path / "out"
    summary = run_json(cli("run", str(config), "--out", str(out), "--json", env=env_for(tmp_path)))
    assert summary["ok"] == N_BOTH and summary["failed"] == 0
    db = out / "arena.sqlite"
    turns = turn_table(db)
    assert len(turns) == N_BOTH * 8
    tokens = table(db, "SELECT MIN(prompt_tokens), MIN(completion_tokens), SUM(calls), "
                       "SUM(cached) FROM turns")[0]
    assert tokens[0] > 85 and tokens[1] >= 1 and tokens[2] == N_BOTH * 8 and tokens[3] == 0
    claims = table(db, "SELECT claim FROM turns WHERE role = 'proposer'")
    assert all(c[0] is not None and 50 <= c[0] <= 80 for c in claims)
    bodies = chats(loopback)
    assert len(bodies) == N_BOTH * 8
    # the paper's first message: own image, opponent's image, the seat's rules
    by_match = {m[0]: m for m in match_table(db)}
    for body in bodies:
        parts = body["messages"][1]["content"]
        assert [p.get("text", "<image>") for p in parts] [:3] == [OWN, "<image>", OPP]
        assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text"]
        assert parts[4]["text"] in (PROMPTS["instructions_first"], PROMPTS["instructions_second"])
        assert all(p["image_url"]["url"].startswith("data:image/png;base64,")
                   for p in parts if p["type"] == "image_url")
        assert all("detail" not in p["image_url"] for p in parts if p["type"] == "image_url")
    # the pairs that played are the pairs whose images were sent, own image first
    pairs_sent = {(persona_of_image(small_pool, image_urls(b["messages"][1])[0]),
                   persona_of_image(small_pool, image_urls(b["messages"][1])[1]))
                  for b in bodies}
    pairs_played = {(m[6], m[7]) for m in by_match.values()}
    assert pairs_sent == pairs_played | {(b, a) for a, b in pairs_played}
    # markers go to the proposer only: the first seat's round-1 call ends with the marker; the
    # second seat's first call ends with the proposal and carries no marker
    first_calls = [b for b in bodies if len(b["messages"]) == 3 and
                   b["messages"][1]["content"][4]["text"] == PROMPTS["instructions_first"]]
    assert first_calls and all(b["messages"][2] == {"role": "user", "content": "===round1==="}
                               for b in first_calls)
    second_first = [b for b in bodies if b["messages"][1]["content"][4]["text"]
                    == PROMPTS["instructions_second"]]
    shortest = min(len(b["messages"]) for b in second_first)
    assert shortest == 3
    for body in second_first:
        if len(body["messages"]) == 3:
            assert body["messages"][2]["content"].startswith("As the proposer")
    longest = max(second_first, key=lambda b: len(b["messages"]))  # seat b's round-4 proposal
    markers = [t for r, t in layout(longest) if isinstance(t, str) and t.startswith("===")]
    assert markers == ["===round2===", "===round4==="]
    assert layout(longest)[-1] == ("user", "===round4===")

    # rerun into a new folder with the cache present: zero requests, identical tables
    before = len(loopback.requests)
    again = run_json(cli("run", str(config), "--out", str(tmp_path / "again"), "--json",
                         env=env_for(tmp_path)))
    assert len(loopback.requests) == before  # not a single HTTP request (not even a probe)
    assert again["llm"]["requests"] == 0 and again["llm"]["cache_hits"] == N_BOTH * 8
    db2 = tmp_path / "again" / "arena.sqlite"
    assert match_table(db2) == match_table(db)
    assert turn_table(db2) == turn_table(db)
    assert table(db2, "SELECT SUM(cached), SUM(calls) FROM turns")[0] == (N_BOTH * 8, 0)
    for path, data in all_bytes_under(out) + all_bytes_under(tmp_path / "again") + \
            all_bytes_under(tmp_path / "cache"):
        assert SECRET.encode() not in data, path


# -- faults -----------------------------------------------------------------------------------------
def test_faults_are_retried_and_garbage_becomes_invalid_turns(
        tmp_path: Path, small_pool: Path, loopback_factory: Any) -> None:
    server = loopback_factory(seed=7, rate_429=0.1, retry_after=0.02, rate_500=0.05,
                              rate_503=0.05, rate_close=0.04, rate_malformed=0.04,
                              rate_stall=0.04, stall_s=3, rate_garbage=0.08, rate_empty=0.03)
    config = llm_config(tmp_path, small_pool, server.base_url,
                        design='kind = "factorial"\nlevels = 4\nper_level = 1',
                        model="timeout = 0.5\nmax_retries = 8")
    summary = run_json(cli("run", str(config), "--out", str(tmp_path / "out"), "--json",
                           env=env_for(tmp_path)))
    assert summary["ok"] == 16, summary
    retries = summary["llm"]["retries"]
    assert {"429", "5xx", "connection", "malformed", "timeout"} <= set(retries), retries
    stats = server.stats()["by_fault"]
    assert stats.get("429", 0) == retries["429"]
    db = tmp_path / "out" / "arena.sqlite"
    invalid = table(db, "SELECT text, reason FROM turns WHERE move_kind = 'invalid'")
    assert any(text == "The sky is blue today." for text, _ in invalid)
    assert all(reason for _, reason in invalid)
    # every turn stored (an unusable proposal voids its round: no response follows)
    assert table(db, "SELECT SUM(n_turns) FROM matches") == table(db, "SELECT COUNT(*) FROM turns")


def test_a_model_that_keeps_failing_fails_its_matches_with_the_reason(
        tmp_path: Path, small_pool: Path, loopback_factory: Any) -> None:
    server = loopback_factory(rate_500=1.0)
    config = llm_config(tmp_path, small_pool, server.base_url,
                        design='kind = "confederate"\nlevels = 7\nper_level = 1',
                        condition="self-only", model="max_retries = 2")
    probed = cli("run", str(config), "--out", str(tmp_path / "probed"), env=env_for(tmp_path))
    # the vision probe meets the failing server first: one line, nothing played or written
    assert probed.returncode == 2 and probed.stderr.count("\n") == 1, probed.stderr
    assert "could not be probed" in probed.stderr and "500 server error" in probed.stderr
    assert not (tmp_path / "probed").exists()
    server.reset()
    result = cli("run", str(config), "--out", str(tmp_path / "out"), "--json", "--skip-probe",
                 env=env_for(tmp_path))
    assert result.returncode == 1, result.stderr
    summary = run_json(result)
    assert summary["failed"] == 14 and summary["llm"]["retries"] == {"5xx": 28}
    errors = {e for (e,) in table(tmp_path / "out" / "arena.sqlite",
                                  "SELECT error FROM matches WHERE status = 'failed'")}
    assert len(errors) == 1
    error = errors.pop()
    assert error.startswith("ModelError: models.local") and "gave up after 3 attempts" in error
    assert "500 server error" in error
    assert len(chats(server)) == 14 * 3


def test_a_refused_key_stops_after_one_request_and_never_shows_the_key(
        tmp_path: Path, small_pool: Path, loopback_factory: Any) -> None:
    server = loopback_factory(require_key="sk-the-right-one")
    config = llm_config(tmp_path, small_pool, server.base_url,
                        design='kind = "confederate"\nlevels = 7\nper_level = 1',
                        condition="self-only", model="concurrency = 1")
    short = "sk-abc"  # short keys come back in full in the server's 401 message
    result = cli("run", str(config), "--out", str(tmp_path / "out"), "--json",
                 env=env_for(tmp_path, OPENAI_API_KEY=short))
    # the vision probe meets the refusal before any match: one line, exit 2, nothing written
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "401: the server refused the API key in $OPENAI_API_KEY" in result.stderr
    assert not (tmp_path / "out").exists()
    assert len(chats(server, probes=True)) == 1  # the first 401 stops every later request
    assert short not in result.stdout + result.stderr
    server.reset()  # without the probe, the matches fail with the reason and nothing more is sent
    result = cli("run", str(config), "--out", str(tmp_path / "out"), "--json", "--skip-probe",
                 env=env_for(tmp_path, OPENAI_API_KEY=short))
    assert result.returncode == 1
    errors = {e for (e,) in table(tmp_path / "out" / "arena.sqlite", "SELECT error FROM matches")}
    assert len(errors) == 1 and "401: the server refused the API key in $OPENAI_API_KEY" in errors.pop()
    assert len(chats(server)) == 1
    for path, data in all_bytes_under(tmp_path / "out"):
        assert short.encode() not in data, path
    assert short not in result.stdout + result.stderr


# -- preflight: one line, exit 2, before any match and any request -----------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_missing_key_unreachable_url_and_no_vision_stop_before_any_match(
        tmp_path: Path, small_pool: Path, loopback: LoopbackServer) -> None:
    config = llm_config(tmp_path, small_pool, loopback.base_url)
    missing = cli("run", str(config), "--out", str(tmp_path / "o1"),
                  env=env_for(tmp_path, OPENAI_API_KEY=""))
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    assert "models.local.api_key_env" in missing.stderr and "OPENAI_API_KEY" in missing.stderr

    port = _free_port()
    down = llm_config(tmp_path, small_pool, f"http://127.0.0.1:{port}/v1", name="down.toml")
    unreachable = cli_here("run", str(down), "--out", str(tmp_path / "o2"), env=env_for(tmp_path))
    assert unreachable.returncode == 2 and unreachable.stderr.count("\n") == 1
    assert (f"field 'models.local.base_url': cannot reach http://127.0.0.1:{port}/v1 "
            "(connection refused)") in unreachable.stderr

    blind = llm_config(tmp_path, small_pool, loopback.base_url, model="vision = false",
                       name="blind.toml")
    no_vision = cli_here("run", str(blind), "--out", str(tmp_path / "o3"), env=env_for(tmp_path))
    assert no_vision.returncode == 2 and no_vision.stderr.count("\n") == 1
    assert "models.local.vision" in no_vision.stderr and "both-images" in no_vision.stderr

    for out in ("o1", "o2", "o3"):
        assert not (tmp_path / out).exists()
    assert loopback.requests == []  # nothing reached the server
    # a dry run needs neither the key nor the server
    dry = cli_here("run", str(down), "--dry-run", env={"OPENAI_API_KEY": ""})
    assert dry.returncode == 0 and "49 matches" in dry.stdout


def test_local_server_without_key_and_models_probe(tmp_path: Path, small_pool: Path,
                                                   loopback_factory: Any) -> None:
    server = loopback_factory()
    config = llm_config(tmp_path, small_pool, server.base_url,
                        design='kind = "confederate"\nlevels = 7\nper_level = 1',
                        condition="self-only", model='api_key_env = ""\npreflight = "models"')
    result = cli_here("run", str(config), "--out", str(tmp_path / "out"),
                      env={"OPENAI_API_KEY": "", "PERSONA_ARENA_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stderr
    assert server.requests[0]["path"] == "/v1/models"
    assert server.requests[1]["headers"]["authorization"] == "Bearer no-key-needed"


# -- the JSON protocol and the LLM extractor ----------------------------------------------------
def test_json_protocol_with_repairs(tmp_path: Path, small_pool: Path,
                                    loopback_factory: Any) -> None:
    def responder(body: dict[str, Any]) -> str:
        """First answers are out of range or not JSON; repaired answers are fine."""
        messages = body["messages"]
        repairing = messages[-1]["content"].startswith("Your answer was not valid")
        cue = messages[-3 if repairing else -1]["content"]
        proposing = cue.startswith("===round")
        if repairing:
            return ('```json\n{"move": "propose", "claim": 60, "message": "60 for me"}\n```'
                    if proposing else '{"move": "accept"}')
        return '{"move": "propose", "claim": 150}' if proposing else "Sure! I accept."

    server = loopback_factory(responder=responder)
    config = llm_config(tmp_path, small_pool, server.base_url,
                        design='kind = "confederate"\nlevels = 7\nper_level = 1',
                        condition="self-only", agent='protocol = "json"\nrepairs = 1',
                        model="json_output = true")
    summary = run_json(cli("run", str(config), "--out", str(tmp_path / "out"), "--json",
                           env=env_for(tmp_path)))
    assert summary["ok"] == 14
    db = tmp_path / "out" / "arena.sqlite"
    llm_turns = table(db, "SELECT t.role, t.move_kind, t.claim, t.calls, t.text FROM turns t "
                          "JOIN matches m USING(match_id) WHERE (t.speaker = 'a') = "
                          "(m.agent_a = 'llm:local')")
    assert len(llm_turns) == 14 * 4
    assert all(calls == 2 for _, _, _, calls, _ in llm_turns)  # one repair each
    proposals = [t for t in llm_turns if t[0] == "proposer"]
    assert all(kind == "propose" and claim == 60 for _, kind, claim, _, _ in proposals)
    assert all(text.startswith("```json") for *_, text in proposals)
    responses = [t for t in llm_turns if t[0] == "responder"]
    assert {kind for _, kind, *_ in responses} == {"accept"}
    bodies = chats(server)
    repairs = [b["messages"][-1]["content"] for b in bodies
               if b["messages"][-1]["content"].startswith("Your answer was not valid")]
    assert "Your answer was not valid: claim 150 is outside 0..100. Answer again with the JSON " \
           "object only." in repairs
    assert any("not valid JSON" in r for r in repairs)
    assert all(b.get("response_format") == {"type": "json_object"} for b in bodies)
    # the JSON answer format is appended to the paper's instructions
    hints = PROMPTS["json_proposer"] + "\n" + PROMPTS["json_responder"]
    hints = hints.replace("{{", "{").replace("}}", "}")
    assert {b["messages"][1]["content"][2]["text"] for b in bodies} == {
        PROMPTS[f"instructions_{seat}_self_only"] + "\n" + hints for seat in ("first", "second")}

    # with no repairs allowed the same answers become invalid turns with the reason
    config0 = llm_config(tmp_path, small_pool, server.base_url, name="norepair.toml",
                         design='kind = "confederate"\nlevels = 7\nper_level = 1',
                         condition="self-only", agent='protocol = "json"\nrepairs = 0',
                         model="json_output = true")
    run_json(cli_here("run", str(config0), "--out", str(tmp_path / "out0"), "--json",
                      env=env_for(tmp_path)))
    reasons = table(tmp_path / "out0" / "arena.sqlite",
                    "SELECT DISTINCT reason FROM turns WHERE move_kind = 'invalid' ORDER BY 1")
    assert reasons == [("unusable JSON answer: claim 150 is outside 0..100",),
                       ("unusable JSON answer: not valid JSON (Expecting value at character 0)",)]


def test_llm_extractor_uses_the_papers_prompts(tmp_path: Path, small_pool: Path,
                                               loopback: LoopbackServer) -> None:
    config = llm_config(tmp_path, small_pool, loopback.base_url,
                        design='kind = "confederate"\nlevels = 7\nper_level = 1',
                        condition="self-only", agent='extractor = "llm"')
    summary = run_json(cli_here("run", str(config), "--out", str(tmp_path / "out"), "--json",
                           env=env_for(tmp_path)))
    assert summary["ok"] == 14
    bodies = chats(loopback)
    extractions = [b for b in bodies if b["messages"][0]["content"] in
                   (PROMPTS["extract_claim"], PROMPTS["extract_acceptance"])]
    assert extractions  # identical texts are read once: the extraction cache is shared
    for body in extractions:
        assert body["temperature"] == 0.0 and len(body["messages"]) == 2
        assert body["messages"][1]["content"].startswith("Dialogue:\nAs the ")
    db = tmp_path / "out" / "arena.sqlite"
    rows = table(db, "SELECT t.role, t.move_kind, t.claim FROM turns t JOIN matches m "
                     "USING(match_id) WHERE (t.speaker = 'a') = (m.agent_a = 'llm:local')")
    assert {kind for role, kind, _ in rows if role == "responder"} == {"accept"}
    assert all(50 <= claim <= 80 for role, _, claim in rows if role == "proposer")


# -- the other conditions, image options, in-process -------------------------------------------------
def _run_in_process(config_path: Path, out: Path) -> Any:
    from arena.config import load_config
    from arena.tournament import run

    config, base = load_config(config_path)
    return run(config, base, out, progress_mode="none")


def test_text_and_none_conditions_and_image_options(tmp_path: Path, small_pool: Path,
                                                    loopback: LoopbackServer,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from agents.personas.manifest import read_manifest

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("PERSONA_ARENA_CACHE", str(tmp_path / "cache"))
    descriptions = {e.persona_id: e.description for e in read_manifest(small_pool)}
    small = 'kind = "factorial"\nlevels = 2\nper_level = 1'
    text = _run_in_process(llm_config(tmp_path, small_pool, loopback.base_url, condition="text",
                                      design=small, name="text.toml"), tmp_path / "text")
    assert text.ok == 4
    for body in chats(loopback):
        content = body["messages"][1]["content"]
        assert isinstance(content, str)  # text only: a plain string every server reads
        own, opp, rules = content.split("\n", 2)
        assert own.startswith("You are the character described as follows: ")
        assert own.removeprefix("You are the character described as follows: ") in descriptions.values()
        assert opp.startswith("Your opponent is the character described as follows: ")
        assert rules in (PROMPTS["instructions_first"], PROMPTS["instructions_second"])
    loopback.reset()
    none = _run_in_process(llm_config(tmp_path, small_pool, loopback.base_url, condition="none",
                                      design=small, name="none.toml"), tmp_path / "none")
    assert none.ok == 4
    for body in chats(loopback):
        assert body["messages"][1]["content"] in (PROMPTS["instructions_first_none"],
                                                  PROMPTS["instructions_second_none"])
    loopback.reset()
    images = _run_in_process(llm_config(tmp_path, small_pool, loopback.base_url, design=small,
                                        model='max_image_side = 32\ndetail = "low"',
                                        name="small.toml"), tmp_path / "small")
    assert images.ok == 4
    from tests.openai_server import image_size

    for body in chats(loopback):
        for part in body["messages"][1]["content"]:
            if part["type"] == "image_url":
                assert part["image_url"]["detail"] == "low"
                data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
                assert image_size(data) == (32, 32)


def test_a_prompts_override_reaches_both_seats_and_says_what_it_replaces(
        tmp_path: Path, small_pool: Path, loopback: LoopbackServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`[prompts] instructions` in a config must not be shadowed by ultimatum-4's per-seat
    `instructions_first` / `instructions_second`: both seats see it, and `run` says so."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("PERSONA_ARENA_CACHE", str(tmp_path / "cache"))
    mine = "House rules: split $100 over four rounds; be brief."
    config = llm_config(tmp_path, small_pool, loopback.base_url,
                        design='kind = "factorial"\nlevels = 2\nper_level = 1')
    config.write_text(config.read_text() + f'\n[prompts]\ninstructions = "{mine}"\n')
    summary = _run_in_process(config, tmp_path / "out")
    assert summary.ok == 4
    bodies = chats(loopback)
    seen = {part["text"] for body in bodies for part in body["messages"][1]["content"]
            if part["type"] == "text" and part["text"] not in (OWN, OPP)}
    assert seen == {mine}
    dry = cli("run", str(config), "--dry-run", env=env_for(tmp_path))
    assert dry.returncode == 0, dry.stderr
    note = [line for line in dry.stderr.splitlines() if line.startswith("note: prompts.")]
    assert len(note) == 1 and "instructions_first" in note[0] and "instructions_second" in note[0]
    # naming a seat's key as well keeps that seat's own override, and the note drops it
    config.write_text(config.read_text() + 'instructions_second = "Second seat: be brief."\n')
    dry = cli("run", str(config), "--dry-run", env=env_for(tmp_path))
    note = [line for line in dry.stderr.splitlines() if line.startswith("note: prompts.")]
    assert "instructions_first" in note[0] and "instructions_second," not in note[0]
    assert not note[0].rstrip().endswith("instructions_second")


# -- nothing paid is lost; several processes share one cache -----------------------------------------
def test_replies_are_kept_when_a_match_fails_later(tmp_path: Path, small_pool: Path,
                                                   loopback_factory: Any) -> None:
    import sqlite3

    from tests.openai_server import persona_reply

    def broken_after_first_turn(body: dict[str, Any]) -> str:
        if len(body["messages"]) > 3:
            raise RuntimeError("the model went away")
        return persona_reply(body)

    sick = loopback_factory(responder=broken_after_first_turn)
    design = 'kind = "confederate"\nlevels = 2\nper_level = 1'
    config = llm_config(tmp_path, small_pool, sick.base_url, condition="self-only",
                        design=design, model="max_retries = 0")
    out = tmp_path / "out"
    first = cli("run", str(config), "--out", str(out), "--json", env=env_for(tmp_path))
    assert first.returncode == 1 and json.loads(first.stdout)["failed"] == 4
    paid = [r["body"] for r in sick.requests if r["status"] == 200 and r["body"] and not is_probe(r["body"])]
    assert len(paid) == 2  # the first proposals of the two matches where the LLM moves first
    with sqlite3.connect(tmp_path / "cache" / "replies.sqlite") as conn:
        # and the answers of the two vision probes, made before the first match
        assert conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0] == 2 + 2
    # the model is back (the same endpoint): resume replays what was paid for
    port = sick.port
    sick.stop()
    healthy = loopback_factory(port=port)
    resumed = cli_here("run", str(config), "--out", str(out), "--resume", "--json",
                       env=env_for(tmp_path))
    summary = json.loads(resumed.stdout)
    assert resumed.returncode == 0 and summary["ok"] == 4
    assert summary["llm"]["cache_hits"] == 2 and summary["llm"]["requests"] == 4 * 4 - 2


def test_two_processes_share_one_cache(tmp_path: Path, small_pool: Path,
                                       loopback: LoopbackServer) -> None:
    import subprocess
    import sys

    from tests.helpers import ROOT

    config = llm_config(tmp_path, small_pool, loopback.base_url,
                        design='kind = "factorial"\nlevels = 2\nper_level = 1')
    env = {**os.environ, **env_for(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                               str(tmp_path / f"out{i}")], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    tables = [turn_table(tmp_path / f"out{i}" / "arena.sqlite") for i in range(2)]
    assert len(tables[0]) == 4 * 8
    with __import__("sqlite3").connect(tmp_path / "cache" / "replies.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0] == 4 * 8 + 2  # and the two vision-probe answers, shared as well
    # whichever process answered first, both runs now replay the same cached replies
    replay = cli_here("run", str(config), "--out", str(tmp_path / "out2"), "--json",
                      env=env_for(tmp_path))
    assert json.loads(replay.stdout)["llm"]["requests"] == 0
    assert turn_table(tmp_path / "out2" / "arena.sqlite") in tables


# -- limits and Retry-After, on the model access itself ---------------------------------------------
def _access(base_url: str, **options: Any) -> Any:
    from agents.models.access import ModelAccess
    from agents.models.client import build_client
    from agents.models.config import ModelConfig

    config = ModelConfig(base_url=base_url, model="loopback-vlm", retry_base_s=0.01, **options)
    return ModelAccess("local", config, build_client(config, "sk-x"), None, "sk-x")


def _ask(access: Any, n: int) -> list[Any]:
    import asyncio

    from agents.models.messages import ChatMessage

    async def go() -> list[Any]:
        try:
            return await asyncio.gather(*(access.complete(
                [ChatMessage("user", f"===round{i}===")], sample=str(i)) for i in range(n)))
        finally:
            await access.aclose()

    return asyncio.run(go())


def test_concurrency_rpm_and_retry_after_are_honoured(loopback_factory: Any) -> None:
    import time

    from agents.models.failures import ModelError
    from agents.models.limits import RateLimiter

    slow = loopback_factory(latency_ms=40)
    replies = _ask(_access(slow.base_url, concurrency=2), 8)
    assert len(replies) == 8 and slow.stats()["max_in_flight"] <= 2

    async def limited() -> float:
        limiter = RateLimiter(rpm=3, window_s=0.3)
        started = time.monotonic()
        for _ in range(7):
            await limiter.wait()
        return time.monotonic() - started

    import asyncio

    assert asyncio.run(limited()) >= 0.6  # 7 requests at 3 per 0.3 s: two full waits

    busy = loopback_factory(rate_429=1.0, retry_after=0.4)
    started = time.monotonic()
    with pytest.raises(ModelError, match="gave up after 2 attempts; last: 429"):
        _ask(_access(busy.base_url, max_retries=1), 1)
    assert time.monotonic() - started >= 0.4  # waited as long as Retry-After said
    assert len(busy.requests) == 2


# -- a reply cache that cannot be written (a full disk) loses nothing ----------------------------------
def _full(cache: Any) -> int:
    """Make the cache's file full, as a full disk does: SQLite may grow it by no page, and tiny
    filler rows take every byte its pages have left, so the next reply gets SQLITE_FULL
    ("database or disk is full"). Returns how many filler rows that took."""
    import sqlite3

    pages = cache.conn.execute("PRAGMA page_count").fetchone()[0]
    cache.conn.execute(f"PRAGMA max_page_count = {pages}")
    filler = 0
    while True:
        try:
            cache.conn.execute("INSERT INTO replies(key, model, text, created_at) "
                               "VALUES (?, '', '', 0)", (f"{filler:x}",))
        except sqlite3.OperationalError as error:
            assert "full" in str(error)
            return filler
        filler += 1


def test_replies_outlive_a_full_cache_disk_and_are_written_when_it_frees(
        tmp_path: Path, loopback: LoopbackServer, capsys: pytest.CaptureFixture[str]) -> None:
    from agents.models.cache import ReplyCache

    cache = ReplyCache(tmp_path / "cache")
    filler = _full(cache)
    access = _access(loopback.base_url)
    access.cache = cache
    big = "x" * 9000  # each reply needs pages of its own
    first = _ask_with(access, [f"{big} {i}" for i in range(6)])
    assert [r.cached for r in first] == [False] * 6 and len(loopback.requests) == 6
    assert cache.unsaved == 6 and cache.errors >= 1 and cache.count() == filler
    assert "database or disk is full" in capsys.readouterr().err
    # the same requests again: answered from memory, nothing bought twice
    again = _ask_with(_with_cache(loopback, cache), [f"{big} {i}" for i in range(6)])
    assert [r.text for r in again] == [r.text for r in first] and len(loopback.requests) == 6
    # room again: the next write takes every held reply with it; a new process finds them all
    cache.conn.execute("PRAGMA max_page_count = 1073741823")
    _ask_with(_with_cache(loopback, cache), ["one more"])
    assert cache.unsaved == 0 and cache.count() == filler + 7
    cache.close()
    reopened = ReplyCache(tmp_path / "cache")
    assert reopened.count() == filler + 7
    reopened.close()


def test_a_run_whose_cache_disk_is_full_finishes_and_reports_it(
        tmp_path: Path, small_pool: Path, loopback: LoopbackServer,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import arena.llm_context as llm_context
    from agents.models.cache import ReplyCache

    def full_cache(cache_config: Any, base: Path) -> ReplyCache:
        cache = ReplyCache(tmp_path / "cache")
        _full(cache)
        return cache

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setattr(llm_context, "open_cache", full_cache)
    config = llm_config(tmp_path, small_pool, loopback.base_url,
                        design='kind = "factorial"\nlevels = 2\nper_level = 1')
    summary = _run_in_process(config, tmp_path / "out")
    assert summary.ok == 4 and summary.failed == 0
    llm = summary.llm
    assert llm["requests"] == 4 * 8 and llm["cache_unsaved"] == 4 * 8 + 2 and llm["cache_errors"] > 0
    err = capsys.readouterr().err
    assert "database or disk is full" in err and "34 replies could not be written" in err
    texts = table(tmp_path / "out" / "arena.sqlite", "SELECT COUNT(*) FROM turns WHERE text != ''")
    assert texts[0][0] == 4 * 8  # every reply bought is in the run's store


def _with_cache(loopback: LoopbackServer, cache: Any) -> Any:
    access = _access(loopback.base_url)
    access.cache = cache
    return access


def _ask_with(access: Any, prompts: list[str]) -> list[Any]:
    import asyncio

    from agents.models.messages import ChatMessage

    async def go() -> list[Any]:
        try:
            return await asyncio.gather(*(access.complete([ChatMessage("user", p)], sample="s")
                                          for p in prompts))
        finally:
            await access.aclose()

    return asyncio.run(go())


# -- LLM matches in worker processes (each with its own clients) ------------------------------------
def test_llm_worker_processes_store_the_same_tables_and_count_every_call(
        tmp_path: Path, small_pool: Path, loopback_factory: Any) -> None:
    server = loopback_factory(latency_ms=20)
    tables, summaries = {}, {}
    for workers in (0, 2):
        config = llm_config(tmp_path, small_pool, server.base_url, name=f"w{workers}.toml",
                            model="concurrency = 4\nrpm = 100000",
                            cache=f"workers = {workers}\n[cache]\ndir = \"cache{workers}\"")
        config.write_text(config.read_text().replace("concurrency = 16", "concurrency = 8"))
        server.reset()
        result = cli("run", str(config), "--out", str(tmp_path / f"out{workers}"), "--json",
                     env=env_for(tmp_path))
        summaries[workers] = run_json(result)
        assert result.returncode == 0, result.stderr
        tables[workers] = (match_table(tmp_path / f"out{workers}" / "arena.sqlite"),
                           turn_table(tmp_path / f"out{workers}" / "arena.sqlite"))
        assert summaries[workers]["workers"] == workers
        # two client processes, each held to its share of the model's concurrency (2 each)
        assert server.stats()["max_in_flight"] <= 4
        if workers:
            assert server.stats()["max_in_flight"] >= 3  # both processes at work together
    assert tables[2] == tables[0] and len(tables[0][0]) == 49
    for key in ("requests", "replies", "prompt_tokens", "completion_tokens"):
        assert summaries[2]["llm"][key] == summaries[0]["llm"][key] > 0
    assert summaries[2]["llm"]["requests"] == 49 * 8
    # the worker processes wrote the shared reply cache: a rerun sends nothing
    again = cli("run", str(tmp_path / "w2.toml"), "--out", str(tmp_path / "again"), "--json",
                env=env_for(tmp_path))
    assert run_json(again)["llm"]["requests"] == 0
    assert turn_table(tmp_path / "again" / "arena.sqlite") == tables[0][1]


@pytest.mark.parametrize("workers", [0, 2])
def test_ctrl_c_stops_with_one_line_and_resume_pays_nothing_twice(
        tmp_path: Path, small_pool: Path, loopback_factory: Any, workers: int) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) stops a run at once:
    exit 130, one line, no traceback from any process; `--resume` then finishes it with the
    replies bought before the interrupt taken from the cache."""
    import signal
    import subprocess
    import sys
    import time

    server = loopback_factory(latency_ms=150)
    config = llm_config(tmp_path, small_pool, server.base_url,
                        cache=f"workers = {workers}")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                             str(out)], env={**os.environ, **env_for(tmp_path)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until some matches are stored, others in flight
        try:
            done = table(out / "arena.sqlite", "SELECT COUNT(*) FROM matches")[0][0]
        except __import__("sqlite3").OperationalError:  # not created yet
            done = 0
        if done >= 3:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert lines[-1] == ("persona-arena: interrupted; finished matches are stored (rerun with "
                         "--resume)"), err
    assert all(line.startswith("persona-arena: waiting up to ") for line in lines[:-1]), err
    stored = table(out / "arena.sqlite", "SELECT COUNT(*) FROM matches")[0][0]
    assert 3 <= stored < 49
    paid = len([r for r in server.requests if r["status"] == 200 and not is_probe(r["body"] or {})])
    resumed = cli("run", str(config), "--out", str(out), "--resume", "--json",
                  env=env_for(tmp_path))
    summary = run_json(resumed)
    assert resumed.returncode == 0 and summary["ok"] == 49 - stored
    assert summary["llm"]["requests"] + summary["llm"]["cache_hits"] >= 8 * (49 - stored)
    assert summary["llm"]["requests"] == 49 * 8 - paid  # nothing paid for is bought again


def _session_processes(sid: int) -> list[int]:
    """Live processes of a session (a killed run's worker processes keep its session id)."""
    return [pid for pid, state, _, session in live_processes() if session == sid and state != "Z"]


def test_sigkill_of_a_run_with_llm_workers_leaves_no_process_and_loses_no_reply(
        tmp_path: Path, small_pool: Path, loopback_factory: Any) -> None:
    """The parent dies without a word: its LLM worker processes see their input end, keep the
    replies of the requests they had sent, and exit; `--resume` buys nothing twice."""
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    server = loopback_factory(latency_ms=150)
    config = llm_config(tmp_path, small_pool, server.base_url, cache="workers = 2")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                             str(out)], env={**os.environ, **env_for(tmp_path)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if table(out / "arena.sqlite", "SELECT COUNT(*) FROM matches")[0][0] >= 3:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.1)
    assert len(_session_processes(proc.pid)) == 3  # the run and its two workers
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _session_processes(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _session_processes(proc.pid) == []
    stored = table(out / "arena.sqlite", "SELECT COUNT(*) FROM matches")[0][0]
    paid = len([r for r in server.requests if r["status"] == 200 and not is_probe(r["body"] or {})])
    resumed = cli("run", str(config), "--out", str(out), "--resume", "--json",
                  env=env_for(tmp_path))
    summary = run_json(resumed)
    assert resumed.returncode == 0 and summary["ok"] == 49 - stored
    assert summary["llm"]["requests"] == 49 * 8 - paid
