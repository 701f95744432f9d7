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


def test_play_echoes_each_input_refuses_ambiguous_input_and_stores_the_match(
        tmp_path: Path, small_pool: Path) -> None:
    from tests.helpers import table

    config = write(tmp_path, small_pool, '''scenario = "ultimatum-4"
condition = "both-images"
[agents.default]
kind = "surrogate"
''')
    run_dir = tmp_path / "run"
    lines = "13000\n60/50\n90/10\nyes\n60\nno\n"
    result = play(config, lines, "--side", "a", "--persona", "p0003", "--out", str(run_dir))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Your opponent looks like this: A cartoon character" in out  # the description
    assert "(level 3, image " in out and "p0003.png" in out
    assert ("Could not use that: 13000 is above $100, the whole pie: give a claim from $0 to "
            "$100. Try again") in out
    assert "Could not use that: 60/50 adds up to 110, but $100 is to be split" in out
    assert "Read as: you claim $90: $90 for you, $10 for them." in out
    assert "Read as: you accept their proposal: $" in out
    assert "Read as: you reject their proposal" in out
    assert f"Stored as match play-1 in {run_dir}." in out
    db = run_dir / "arena.sqlite"
    assert table(db, "SELECT match_id, agent_a, agent_b, persona_b, status, n_turns FROM matches"
                 ) == [("play-1", "human", "surrogate:gpt-4o", "p0003", "ok", 8)]
    assert table(db, "SELECT text, move_kind, claim FROM turns WHERE speaker = 'a' "
                     "ORDER BY turn_index") == [("90/10", "propose", 90.0), ("yes", "accept", None),
                                                ("60", "propose", 60.0), ("no", "reject", None)]
    again = play(config, "50\naccept\n50\naccept\n", "--side", "a", "--out", str(run_dir))
    assert again.returncode == 0, again.stderr
    assert table(db, "SELECT match_id FROM matches ORDER BY match_id") == [("play-1",), ("play-2",)]
    (tmp_path / "a-file").write_text("")
    bad = play(config, "", "--out", str(tmp_path / "a-file"))
    assert bad.returncode == 2 and "is a file, expected a run folder" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


# -- games of more than two seats ---------------------------------------------------------------
MAJORITY = '''scenario = "majority-division"
condition = "none"
[agents.default]
kind = "concession"
tactic = "conceder"
'''


def test_play_one_seat_of_a_three_seat_majority_division(tmp_path: Path,
                                                         small_pool: Path) -> None:
    """The person is player 2 of 3: both others are the config's agent, each with a persona of
    its own; the hints, the echo and the person's share come from the game; every seat is
    stored."""
    from tests.helpers import table

    config = write(tmp_path, small_pool, MAJORITY)
    run_dir = tmp_path / "run"
    lines = "maybe\n60/20\nyes\n"  # a vote first: seat a proposes in round 1
    result = play(config, lines, "--side", "b", "--out", str(run_dir))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "You play seat b (player 2 of 3) as persona " in out
    assert "every other player is concession:conceder:" in out
    assert out.count("  player 1 (a): persona ") == 1 and out.count("  player 3 (c): persona ") == 1
    assert "You are player 2 of 3. A proposal passes with 2 of 3 votes" in out
    assert "Player 1 (proposer, round 1): I propose: player 1 gets $" in out
    assert ('Could not use that: neither a yes nor a no vote found in the text. Try again '
            '("yes" (accept) or "no" (reject)).') in out
    assert "Read as: you accept player 1's proposal: player 1 gets $" in out
    assert "for you, player 2)." in out
    assert "Result: you " in out and "; player 1 " in out and ", player 3 " in out
    db = run_dir / "arena.sqlite"
    seats = table(db, "SELECT seat, agent, role FROM seats ORDER BY seat")
    assert seats == [("a", "concession:conceder", "proposer"), ("b", "human", "voter"),
                     ("c", "concession:conceder", "voter")]
    personas = [p for (p,) in table(db, "SELECT persona_id FROM seats")]
    assert len(set(personas)) == 3
    assert table(db, "SELECT persona_a, payoff_a, status FROM matches") == [(None, None, "ok")]
    assert table(db, "SELECT text, move_kind FROM turns WHERE speaker = 'b' ORDER BY "
                     "turn_index")[0] == ("yes", "accept")  # "60/20" was no vote: asked again


def test_play_proposes_in_a_majority_division_and_refuses_an_unknown_seat(
        tmp_path: Path, small_pool: Path) -> None:
    config = write(tmp_path, small_pool, MAJORITY)
    lines = "60/40\n40/30/30\n" + "yes\n" * 3 + "20/40/40\n" + "yes\n" * 3  # round 1 fails
    result = play(config, lines, "--side", "a", "--persona", "p0003", "--you", "p0004")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "  player 2 (b): persona p0003 (level " in out  # --persona: the next player's
    assert "You play seat a (player 1 of 3) as persona p0004" in out
    assert "Could not use that: no share for each of the 3 players found in the text" in out
    assert ("Read as: you propose: player 1 gets $40, player 2 gets $30, player 3 gets $30 "
            "($40 for you, player 1).") in out
    bad = play(config, "", "--side", "d")
    assert bad.returncode == 2 and "--side must be one of a, b, c (got 'd')" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
