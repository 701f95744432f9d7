"""Conditions image+text and text-as-image (issue 15, item 3): what each sends, in each style,
checked on what the loopback server received; pools without descriptions are refused."""
from __future__ import annotations

import base64
import csv
import shutil
from pathlib import Path
from typing import Any

import pytest

from agents.personas.text_image import render_description
from scenarios.loader import load_scenario
from tests.helpers import cli
from tests.llm_helpers import chats
from tests.openai_server import LoopbackServer, decode_png, image_size
from tests.test_llm import OPP, OWN, SECRET, env_for, llm_config, persona_of_image

PROMPTS = load_scenario("ultimatum-4").prompts
OWN_TEXT = "You are the character described as follows: "
OPP_TEXT = "Your opponent is the character described as follows: "
SMALL = 'kind = "factorial"\nlevels = 2\nper_level = 1'
CONFEDERATE = 'kind = "confederate"\nlevels = 2\nper_level = 1'


def _run(config: Path, out: Path) -> Any:
    from arena.config import load_config
    from arena.tournament import run

    loaded, base = load_config(config)
    return run(loaded, base, out, progress_mode="none")


def _descriptions(pool: Path) -> dict[str, str]:
    from agents.personas.manifest import read_manifest

    return {e.persona_id: e.description for e in read_manifest(pool)}


def _first(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["messages"][1]["content"]


def _shape(parts: list[dict[str, Any]]) -> list[str]:
    return ["<image>" if p["type"] == "image_url" else p["text"].split(": ")[0] + ":"
            if p["text"].startswith(("You are", "Your opponent", "The next")) else "<rules>"
            for p in parts]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("PERSONA_ARENA_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_image_plus_text_sends_each_image_then_its_description(
        env: Path, small_pool: Path, loopback: LoopbackServer) -> None:
    descriptions = _descriptions(small_pool)
    both = _run(llm_config(env, small_pool, loopback.base_url, condition="image+text",
                           design=SMALL, name="both.toml"), env / "both")
    assert both.ok == 4
    bodies = chats(loopback)
    assert bodies
    for body in bodies:
        parts = _first(body)
        assert [p["type"] for p in parts] == ["text", "image_url", "text", "text", "image_url",
                                              "text", "text"]
        assert parts[0]["text"] == OWN and parts[3]["text"] == OPP
        own = persona_of_image(small_pool, parts[1]["image_url"]["url"])
        opp = persona_of_image(small_pool, parts[4]["image_url"]["url"])
        assert parts[2]["text"] == OWN_TEXT + descriptions[own]  # each text beside its image
        assert parts[5]["text"] == OPP_TEXT + descriptions[opp]
        assert parts[6]["text"] in (PROMPTS["instructions_first"], PROMPTS["instructions_second"])
    loopback.reset()  # the style defaults to both-images in a factorial design; now self-only
    config = llm_config(env, small_pool, loopback.base_url, condition="image+text",
                        design=SMALL, name="self2.toml")
    config.write_text(config.read_text().replace('condition = "image+text"',
                                                 'condition = "image+text"\nstyle = "self-only"'))
    assert _run(config, env / "self2").ok == 4
    for body in chats(loopback):
        parts = _first(body)
        assert [p["type"] for p in parts] == ["text", "image_url", "text", "text"]
        own = persona_of_image(small_pool, parts[1]["image_url"]["url"])
        assert parts[2]["text"] == OWN_TEXT + descriptions[own]
        # the self-only style reads the paper's Study 1 texts
        assert parts[3]["text"] in (PROMPTS["instructions_first_self_only"],
                                    PROMPTS["instructions_second_self_only"])


def test_text_as_image_sends_the_drawn_description_where_the_avatar_goes(
        env: Path, small_pool: Path, loopback: LoopbackServer) -> None:
    descriptions = _descriptions(small_pool)
    drawn = {base64.b64encode(render_description(d)).decode(): pid
             for pid, d in descriptions.items()}
    avatars = {base64.b64encode(p.read_bytes()).decode() for p in small_pool.glob("*.png")}
    summary = _run(llm_config(env, small_pool, loopback.base_url, condition="text-as-image",
                              design=SMALL), env / "tai")
    assert summary.ok == 4
    probes = [b for b in chats(loopback, probes=True) if b not in chats(loopback)]
    assert probes, "a model that is sent images passes the vision probe first"
    for body in chats(loopback):
        parts = _first(body)
        assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text"]
        assert parts[0]["text"] == OWN and parts[2]["text"] == OPP
        urls = [parts[1]["image_url"]["url"], parts[3]["image_url"]["url"]]
        payloads = [u.split(",", 1)[1] for u in urls]
        assert all(u.startswith("data:image/png;base64,") for u in urls)
        assert all(p in drawn and p not in avatars for p in payloads)  # words, not the face
        assert not any(d in p.get("text", "") for p in parts for d in descriptions.values())
        png = base64.b64decode(payloads[0])
        assert image_size(png) == (512, 512)
        width, height, rows = decode_png(png)  # the server decodes it: black text on white
        pixels = b"".join(rows)
        assert pixels.count(0) > 1000 and pixels.count(255) > len(pixels) // 2


def test_text_as_image_self_only_and_downscaled(env: Path, small_pool: Path,
                                                loopback: LoopbackServer) -> None:
    summary = _run(llm_config(env, small_pool, loopback.base_url, condition="text-as-image",
                              design=CONFEDERATE, model="max_image_side = 128"), env / "conf")
    assert summary.ok > 0
    for body in chats(loopback):
        parts = _first(body)
        assert [p["type"] for p in parts] == ["text", "image_url", "text"]  # no opponent
        png = base64.b64decode(parts[1]["image_url"]["url"].split(",", 1)[1])
        assert image_size(png) == (128, 128)
        assert parts[2]["text"] in (PROMPTS["instructions_first_self_only"],
                                    PROMPTS["instructions_second_self_only"])


def _pool_without_descriptions(pool: Path, tmp: Path) -> Path:
    bare = tmp / "bare"
    shutil.copytree(pool, bare)
    manifest = bare / "manifest.csv"
    rows = list(csv.DictReader(manifest.open()))
    rows[0]["description"] = ""
    with manifest.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return bare


@pytest.mark.parametrize("condition", ["image+text", "text-as-image"])
def test_a_pool_without_descriptions_is_refused(tmp_path: Path, small_pool: Path,
                                                loopback: LoopbackServer, condition: str) -> None:
    bare = _pool_without_descriptions(small_pool, tmp_path)
    config = llm_config(tmp_path, bare, loopback.base_url, condition=condition, design=SMALL)
    result = cli("run", str(config), "--out", str(tmp_path / "out"), env=env_for(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "has no description" in lines[0] and condition in lines[0]
    assert not chats(loopback)  # refused before anything was sent


def test_style_is_refused_where_it_does_not_apply(tmp_path: Path, small_pool: Path) -> None:
    from arena.config import parse_config
    from scenarios.errors import InputError

    base = {"personas": {"pool": str(small_pool)}}
    with pytest.raises(InputError, match="field 'style'"):
        parse_config({**base, "condition": "self-only", "style": "both-images"}, "c.toml")
    with pytest.raises(InputError, match="style"):
        parse_config({**base, "condition": "text-as-image", "style": "sideways"}, "c.toml")
    ok = parse_config({**base, "condition": "image+text", "style": "self-only"}, "c.toml")
    assert not ok.shows_opponent and ok.prompt_style == "self-only"
    assert parse_config({**base, "condition": "text-as-image"}, "c.toml").shows_opponent


def test_estimate_counts_the_drawn_descriptions(tmp_path: Path, small_pool: Path) -> None:
    import json

    tokens = {}
    for condition in ("text", "text-as-image", "image+text", "both-images"):
        config = llm_config(tmp_path, small_pool, "http://127.0.0.1:9/v1", condition=condition,
                            design=SMALL, name=f"{condition}.toml")
        dry = cli("run", str(config), "--dry-run", "--json", env=env_for(tmp_path))
        assert dry.returncode == 0, dry.stderr
        tokens[condition] = json.loads(dry.stdout)["prompt_tokens"]
    # a drawn description costs image tokens, more than its words; both costs most
    assert tokens["text"] < tokens["text-as-image"]
    assert tokens["both-images"] < tokens["image+text"]


def test_a_model_without_vision_is_refused_for_drawn_descriptions(
        tmp_path: Path, small_pool: Path, loopback: LoopbackServer) -> None:
    config = llm_config(tmp_path, small_pool, loopback.base_url, condition="text-as-image",
                        design=SMALL, model="vision = false")
    result = cli("run", str(config), "--out", str(tmp_path / "out"), env=env_for(tmp_path))
    assert result.returncode == 2
    assert "models.local.vision" in result.stderr and "text-as-image" in result.stderr
    assert not chats(loopback, probes=True)


def test_an_llm_against_an_opening_factor_stores_what_anchoring_needs(
        env: Path, small_pool: Path, loopback: LoopbackServer) -> None:
    """The anchoring design with an LLM answering the script's openings, on the loopback."""
    import sqlite3

    from analysis.frames import load_run
    from analysis.outcomes import frame_outcomes
    from analysis.anchoring import by_condition

    design = CONFEDERATE + "\nfactors = { first_offer = [40, 60, 80] }"
    summary = _run(llm_config(env, small_pool, loopback.base_url, condition="image+text",
                              design=design), env / "anchor")
    assert summary.ok == 6  # 2 personas x 3 openings, the script opening each
    with sqlite3.connect(env / "anchor" / "arena.sqlite") as db:
        rows = db.execute("SELECT agent_a, agent_b, condition FROM matches").fetchall()
        openings = {r[0] for r in db.execute("SELECT claim FROM turns WHERE turn_index = 0")}
    assert {r[0] for r in rows} == {f"confederate(first_offer={o})" for o in (40, 60, 80)}
    assert {r[1] for r in rows} == {"llm:local"} and {r[2] for r in rows} == {"image+text"}
    assert openings == {40.0, 60.0, 80.0}
    for body in chats(loopback):  # the self-only style: no opponent persona, Study 1 texts
        assert [p["type"] for p in _first(body)] == ["text", "image_url", "text", "text"]
    frames = load_run(env / "anchor", texts=False)
    result = by_condition(frames, frame_outcomes(frames))["image+text"]
    assert set(result["levels"]) == {"40", "60", "80"}
    assert result["counter"]["n"] == len(rows)  # every match has the LLM's answer


def test_resuming_with_another_style_is_refused(tmp_path: Path, small_pool: Path) -> None:
    config = tmp_path / "s.toml"
    body = f'''condition = "text"
[personas]
pool = "{small_pool}"
[design]
kind = "factorial"
levels = 2
per_level = 1
[execution]
progress = "none"
'''
    config.write_text(body)
    out = tmp_path / "out"
    assert cli("run", str(config), "--out", str(out)).returncode == 0
    config.write_text(body.replace('condition = "text"', 'condition = "text"\nstyle = "self-only"'))
    again = cli("run", str(config), "--out", str(out), "--resume")
    assert again.returncode == 2 and "style" in again.stderr


def test_a_users_negotiator_is_refused_a_pool_without_descriptions(tmp_path: Path,
                                                                  small_pool: Path) -> None:
    bare = _pool_without_descriptions(small_pool, tmp_path)
    config = tmp_path / "user.toml"
    config.write_text(f'''condition = "image+text"
[personas]
pool = "{bare}"
[agents.default]
kind = "tests.planted_agents:Planted"
''')
    result = cli("run", str(config), "--dry-run")
    assert result.returncode == 2 and "has no description" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
