"""Issue 15's "an LLM run of each design against the loopback server stores what the analysis
needs": for the image-versus-text equivalence (one design in the four persona conditions), the
anchoring factor and the counterfactual audit, a small run with `kind = "llm"` agents against
tests/openai_server.py; the store holds what the analysis reads, `analyze --json` gives the
experiment's section from it, and the server received the parts each condition promises.

(What each condition sends, part by part and in each style, is tests/test_conditions.py; the
counterfactual run's seats and seeds, tests/test_counterfactual_runs.py.)"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from agents.personas.manifest import read_manifest
from agents.personas.text_image import render_description
from tests.helpers import cli, table
from tests.llm_helpers import chats, cli_here
from tests.openai_server import LoopbackServer
from tests.test_llm import env_for, llm_config, persona_of_image

SMALL = 'kind = "factorial"\nlevels = 2\nper_level = 1'  # 2 personas: 4 matches, self-play too
CONDITIONS = ("both-images", "text", "image+text", "text-as-image")


def _descriptions(pool: Path) -> dict[str, str]:
    return {e.persona_id: e.description for e in read_manifest(pool)}


def _parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The persona-bearing first user message of a chat (after the system message), as parts
    (a text-only message may be sent as one string)."""
    content = body["messages"][1]["content"]
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _sent(pool: Path, body: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """(avatars sent, by persona; other images, base64; persona descriptions in the texts)."""
    descriptions = _descriptions(pool)
    avatars, others, described = [], [], []
    avatar_urls = {f"data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}"
                   for p in pool.glob("*.png")}
    for part in _parts(body):
        if part["type"] == "image_url":
            url = part["image_url"]["url"]
            if url in avatar_urls:
                avatars.append(persona_of_image(pool, url))
            else:
                others.append(url.split(",", 1)[1])
        else:
            text = part["text"]
            found = sorted((text.find(d), pid) for pid, d in descriptions.items() for _ in
                           range(text.count(d)))  # the same persona twice in self-play
            described += [pid for _, pid in found]
    return avatars, others, described


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in env_for(tmp_path).items():
        monkeypatch.setenv(key, value)
    return tmp_path


def test_one_design_in_four_conditions_stores_and_tests_their_equivalence(
        env: Path, small_pool: Path, loopback: LoopbackServer) -> None:
    descriptions = _descriptions(small_pool)
    drawn = {base64.b64encode(render_description(d)).decode(): pid
             for pid, d in descriptions.items()}
    runs: dict[str, Path] = {}
    for condition in CONDITIONS:
        loopback.reset()
        config = llm_config(env, small_pool, loopback.base_url, condition=condition,
                            design=SMALL, name=f"{condition}.toml")
        out = runs[condition] = env / condition.replace("+", "_")
        result = cli_here("run", str(config), "--out", str(out))
        assert result.returncode == 0, result.stderr
        db = out / "arena.sqlite"
        assert table(db, "SELECT condition, COUNT(*), SUM(status = 'ok') FROM matches "
                         "GROUP BY condition") == [(condition, 4, 4)]
        players = {p for row in table(db, "SELECT persona_a, persona_b FROM matches")
                   for p in row}
        assert len(players) == 2
        assert table(db, "SELECT COUNT(*) FROM turns WHERE claim IS NOT NULL") != [(0,)]
        bodies, shown = chats(loopback), set()
        assert bodies
        for body in bodies:  # the factorial design's style: own persona, then the opponent's
            avatars, others, described = _sent(small_pool, body)
            if condition == "both-images":
                assert len(avatars) == 2 and not others and not described
            elif condition == "text":
                assert not avatars and not others and len(described) == 2
            elif condition == "image+text":
                assert len(avatars) == 2 and not others and described == avatars
            else:  # text-as-image: the descriptions drawn, neither the faces nor the words
                assert not avatars and not described and len(others) == 2
                assert all(o in drawn for o in others)
            shown |= set(avatars) | set(described) | {drawn[o] for o in others}
        assert shown == players  # each persona of the run was shown as that condition shows it
    # the equivalence test of every text condition against the image one, from the two stores
    for condition in CONDITIONS[1:]:
        analyzed = cli_here("analyze", str(runs["both-images"]), "--with", str(runs[condition]),
                            "--equivalence", f"both-images:{condition}", "--margin", "10",
                            "--json")
        assert analyzed.returncode == 0, analyzed.stderr
        test = json.loads(analyzed.stdout)["equivalence"]
        assert (test["a"], test["b"]) == ("both-images", condition)
        assert test["clusters_a"] == test["clusters_b"] == 2  # the two personas of each run
        assert test["n_a"] > 0 and test["n_b"] > 0
        assert test["status"] in ("ok", "degenerate")
        assert test["verdict"] in ("equivalent", "not shown equivalent", "degenerate")


def test_an_llm_against_the_opening_factor_in_text_feeds_analyze(
        env: Path, small_pool: Path, loopback: LoopbackServer) -> None:
    openings = (30, 50, 70)
    design = ('kind = "confederate"\nlevels = 2\nper_level = 1\n'
              f"factors = {{ first_offer = [{', '.join(map(str, openings))}] }}")
    config = llm_config(env, small_pool, loopback.base_url, condition="text", design=design)
    out = env / "anchor"
    run = cli("run", str(config), "--out", str(out))
    assert run.returncode == 0, run.stderr
    db = out / "arena.sqlite"
    matches = table(db, "SELECT match_id, agent_a, agent_b, persona_a, persona_b, condition "
                        "FROM matches WHERE status = 'ok'")
    assert len(matches) == 2 * len(openings)  # 2 personas x 3 openings, the script first
    assert {m[5] for m in matches} == {"text"} and {m[2] for m in matches} == {"llm:local"}
    # the factor level is in the script's label; its opening is the match's first offer
    first = dict(table(db, "SELECT match_id, claim FROM turns WHERE turn_index = 0"))
    for match_id, agent_a, *_ in matches:
        assert agent_a == f"confederate(first_offer={first[match_id]:g})"
    assert set(first.values()) == set(map(float, openings))
    personas = {m[4] for m in matches}
    for body in chats(loopback):  # the script has no persona: the LLM's own description only
        avatars, others, described = _sent(small_pool, body)
        assert not avatars and not others and len(described) == 1
        assert described[0] in personas
    analyzed = cli_here("analyze", str(out), "--json")
    assert analyzed.returncode == 0, analyzed.stderr
    section = json.loads(analyzed.stdout)["outcomes"]["anchoring_by_condition"]
    assert set(section) == {"text"}
    assert set(section["text"]["levels"]) == {str(o) for o in openings}
    assert section["text"]["counter"]["n"] == len(matches)


def test_an_llm_counterfactual_audit_in_image_text_sends_each_variant(
        env: Path, loopback: LoopbackServer) -> None:
    pool = env / "pool"
    made = cli("avatars", "generate", "--n", "2", "--levels", "7", "--vary", "glasses",
               "--out", str(pool), "--size", "64")
    assert made.returncode == 0, made.stderr
    config = llm_config(env, pool, loopback.base_url, condition="image+text",
                        design='kind = "counterfactual"\nlevels = 7\nopponents = 1')
    out = env / "cf"
    run = cli_here("run", str(config), "--out", str(out))
    assert run.returncode == 0, run.stderr
    db = out / "arena.sqlite"
    assert table(db, "SELECT condition, COUNT(*), SUM(status = 'ok') FROM matches "
                     "GROUP BY condition") == [("image+text", 16, 16)]
    variants = {pid: (identity, json.loads(attributes)["glasses"]) for pid, identity, attributes
                in table(db, "SELECT persona_id, identity, attributes FROM personas")}
    assert len(variants) == 8 and len({i for i, _ in variants.values()}) == 2
    seen = set()
    for body in chats(loopback):  # each variant's own avatar, then its own description
        avatars, others, described = _sent(pool, body)
        assert not others and len(avatars) == 2 and described == avatars
        seen.add(avatars[0])
    assert seen == set(variants)  # every variant was shown to the model as itself
    analyzed = cli_here("analyze", str(out), "--json")
    assert analyzed.returncode == 0, analyzed.stderr
    found = json.loads(analyzed.stdout)["counterfactual"]
    assert found["identities"] == 2 and found["attributes"] == ["glasses"]
    claim = {r["value"] for r in found["rows"] if r["outcome"] == "claim_share"}
    assert claim == {"round", "prescription_1", "prescription_2"}
