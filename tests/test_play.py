"""`persona-arena play`: a person at the terminal (stdin fed to a subprocess) against an agent."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.extract import extract_acceptance
from tests.helpers import ROOT
from tests.llm_helpers import chats
from tests.openai_server import LoopbackServer


def play(config: Path, stdin: str, *args: str, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "arena.cli", "play", "--config", str(config),
                           *args], input=stdin, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def write(tmp: Path, pool: Path, body: str) -> Path:
    path = tmp / "play.toml"
    path.write_text(f'seed = 2\n{body}\n[personas]\npool = "{pool}"\n')
    return path


def test_play_against_an_llm_buyer(tmp_path: Path, small_pool: Path,
                                   loopback: LoopbackServer) -> None:
    config = write(tmp_path, small_pool, f'''scenario = "price-bargain"
condition = "self-only"
[agents.default]
kind = "llm"
model = "local"
[models.local]
base_url = "{loopback.base_url}"
model = "loopback-vlm"
''')
    env = {"OPENAI_API_KEY": "sk-play-test", "PERSONA_ARENA_CACHE": str(tmp_path / "cache")}
    result = play(config, "hello there\nI offer $90\nI walk away\n", "--persona", "p0003",
                  env=env)
    # the loopback buyer answers "I reject this proposal.", no move of a price bargain: its
    # one turn is unusable, so the match is no evidence about the model and fails
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "The match failed: no usable turn from seat b" in out
    assert "You play seat a (first mover)" in out and "persona p0003" in out
    assert "Your reservation price, which your opponent does not know, is $20" in out  # seller
    assert "Could not use that: no price, acceptance or walk-away found" in out
    assert "Opponent (buyer, round 2): " in out
    bodies = chats(loopback)
    assert len(bodies) == 1
    first = bodies[0]["messages"][1]["content"]
    assert first[0]["text"] == "You are the character in the following image:"
    assert first[1]["type"] == "image_url"
    rules = first[2]["text"]
    assert "You are the buyer." in rules and "is $80: you will not pay more than that" in rules
    assert "within 20 turns" in rules
    assert bodies[0]["messages"][-1] == {"role": "user", "content": "I offer $90"}


@pytest.mark.skipif(extract_acceptance("I accept") is not True,
                    reason="the offline acceptance extractor (scenarios/extract.py) is not done")
def test_play_four_rounds_against_the_surrogate(tmp_path: Path, small_pool: Path) -> None:
    config = write(tmp_path, small_pool, '''scenario = "ultimatum-4"
condition = "both-images"
[agents.default]
kind = "surrogate"
''')
    lines = "I take $60 and you get $40\nI accept\nI take $70 and you get $30\nI reject\n"
    result = play(config, lines, "--side", "a", "--persona", "p0001", "--you", "p0002")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("Opponent (proposer") == 2 and out.count("Opponent (responder") == 2
    assert "Result: you " in out


def test_play_reasks_unreadable_text_and_ends_cleanly_at_end_of_input(
        tmp_path: Path, small_pool: Path) -> None:
    config = write(tmp_path, small_pool, '''scenario = "ultimatum-4"
condition = "self-only"
[agents.default]
kind = "surrogate"
''')
    result = play(config, "what is this game?\n", "--side", "a")
    assert result.returncode == 1
    assert "Could not use that: no proposal found in the text" in result.stdout
    assert "Input ended: the match was abandoned." in result.stdout
    assert "Traceback" not in result.stderr
    bad = play(config, "", "--persona", "nobody")
    assert bad.returncode == 2 and "--persona: no persona 'nobody'" in bad.stderr
