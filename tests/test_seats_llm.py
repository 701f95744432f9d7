"""LLM agents in games of more than two seats (issue 13, item 5), against the loopback server: in
`both-images` each seat is shown its own image and every other seat's (the paper's wording for
the first opponent, numbered for the rest), in `text` every description; every seat's persona,
payoff and turns are stored, and the estimate counts every image."""
from __future__ import annotations

import json
from pathlib import Path

from agents.prompts import NEXT_OPPONENT
from tests.helpers import cli, table
from tests.llm_helpers import chats
from tests.openai_server import LoopbackServer
from tests.test_llm import OPP, OWN, env_for, persona_of_image

CONFIG = '''seed = 3
scenario = "majority-division"
condition = "{condition}"
[personas]
pool = "{pool}"
[design]
kind = "groups"
seats = 3
matches = 4
[agents.default]
kind = "llm"
model = "local"
[models.local]
base_url = "{base_url}"
model = "loopback-vlm"
temperature = 1.0
max_tokens = 300
retry_base_s = 0.01
retry_max_s = 0.05
[execution]
progress = "none"
'''


def _config(tmp: Path, pool: Path, url: str, condition: str) -> Path:
    path = tmp / f"{condition}.toml"
    path.write_text(CONFIG.format(condition=condition, pool=pool, base_url=url))
    return path


def _expected_views(db: Path) -> set[tuple[str, ...]]:
    """(own persona, first opponent, second opponent) of every seat of every stored match:
    the others in seat order."""
    seats = table(db, "SELECT match_id, seat, persona_id FROM seats ORDER BY match_id, seat")
    by_match: dict[str, list[str]] = {}
    for match_id, _, persona in seats:
        by_match.setdefault(match_id, []).append(persona)
    return {(p[i], *(q for j, q in enumerate(p) if j != i))
            for p in by_match.values() for i in range(len(p))}


def test_three_seat_groups_with_llm_agents_see_every_image(tmp_path: Path, small_pool: Path,
                                                           loopback: LoopbackServer) -> None:
    config = _config(tmp_path, small_pool, loopback.base_url, "both-images")
    out = tmp_path / "out"
    done = cli("run", str(config), "--out", str(out), env=env_for(tmp_path))
    assert done.returncode == 0, done.stderr
    db = out / "arena.sqlite"
    matches = table(db, "SELECT match_id, status, n_turns FROM matches")
    assert len(matches) == 12 and {m[1] for m in matches} == {"ok"}
    seats = table(db, "SELECT match_id, seat, persona_id, agent, payoff, share FROM seats")
    assert len(seats) == 36 and all(s[2] and s[3] == "llm:local" and s[4] is not None
                                    for s in seats)
    for match_id, _, n_turns in matches:
        assert sum(s[4] for s in seats if s[0] == match_id) == 100.0  # the pie was divided
        turns = table(db, f"SELECT speaker, persona_id, text FROM turns WHERE match_id = "
                          f"'{match_id}' ORDER BY turn_index")
        assert len(turns) == n_turns and {t[0] for t in turns} == {"a", "b", "c"}
        mine = {s[1]: s[2] for s in seats if s[0] == match_id}
        assert all(mine[t[0]] == t[1] and t[2] for t in turns)
    bodies = chats(loopback)
    assert len(bodies) == table(db, "SELECT SUM(calls) FROM turns")[0][0]
    views = set()
    for body in bodies:
        parts = body["messages"][1]["content"]
        images = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
        assert len(images) == 3  # own, and both other seats'
        texts = [p.get("text", "<image>") for p in parts]
        view = tuple(persona_of_image(small_pool, url) for url in images)
        views.add(view)
        # "You are player k": the player numbers of the other two, in seat order
        me = int(texts[-1].split("You are player ")[1][0])
        players = [k for k in (1, 2, 3) if k != me]
        second = NEXT_OPPONENT["next_opponent_image"].format(number=2, player=players[1])
        assert texts[:6] == [OWN, "<image>", OPP, "<image>", second, "<image>"], texts
    assert views == _expected_views(db)  # every seat was shown its own group's images


def test_three_seat_groups_in_text_show_every_description(tmp_path: Path, small_pool: Path,
                                                          loopback: LoopbackServer) -> None:
    config = _config(tmp_path, small_pool, loopback.base_url, "text")
    out = tmp_path / "out"
    done = cli("run", str(config), "--out", str(out), env=env_for(tmp_path))
    assert done.returncode == 0, done.stderr
    db = out / "arena.sqlite"
    descriptions = dict(table(db, "SELECT persona_id, description FROM personas"))
    assert all(descriptions.values())
    by_text = {d: pid for pid, d in descriptions.items()}
    assert len(by_text) == len(descriptions)  # each persona told apart by its description
    views, seen = set(), set()
    for body in chats(loopback):
        first = body["messages"][1]["content"]
        assert isinstance(first, str) or all(p["type"] == "text" for p in first)
        text = first if isinstance(first, str) else "\n".join(p["text"] for p in first)
        assert "image_url" not in json.dumps(body)
        found = []  # whose descriptions, in the order the message gives them
        for lead in ("You are the character", "Your opponent is the character",
                     "Your opponent number 2 (player "):
            assert text.count(lead) == 1, text
            rest = text.split(lead)[1].split("described as follows: ", 1)[1]
            found.append(next(pid for d, pid in by_text.items() if rest.startswith(d)))
        views.add(tuple(found))
        seen.add(text)
    assert views == _expected_views(db)
    assert len(seen) == 36  # one first message per seat of the 12 matches


def test_the_estimate_counts_every_seats_images(tmp_path: Path, small_pool: Path,
                                                loopback: LoopbackServer) -> None:
    from agents.models.tokens import image_tokens
    from arena.estimate import _image_size

    figures = {}
    for condition in ("both-images", "self-only"):
        config = _config(tmp_path, small_pool, loopback.base_url, condition)
        done = cli("run", str(config), "--dry-run", "--json", env=env_for(tmp_path))
        assert done.returncode == 0, done.stderr
        figures[condition] = json.loads(done.stdout)
    both, own = figures["both-images"], figures["self-only"]
    assert both["matches"] == own["matches"] == 12
    assert both["llm_calls"] == own["llm_calls"] > 0
    one = image_tokens(*_image_size(next(small_pool.glob("*.png")), None), "auto")
    # each call carries two images more: the other two seats' (and their two short texts)
    extra = both["prompt_tokens"] - own["prompt_tokens"]
    assert 2 * one * both["llm_calls"] <= extra <= (2 * one + 40) * both["llm_calls"]


def test_three_seat_groups_in_main_conditions_show_every_other_seat(
        tmp_path: Path, small_pool: Path, loopback: LoopbackServer) -> None:
    """image+text and text-as-image (branch exp) in a game of three seats: every seat sees
    three images (its own and both others'), image+text each one's description after it."""
    for condition in ("image+text", "text-as-image"):
        config = _config(tmp_path, small_pool, loopback.base_url, condition)
        out, start = tmp_path / f"out-{condition}", len(chats(loopback))
        done = cli("run", str(config), "--out", str(out), env=env_for(tmp_path))
        assert done.returncode == 0, done.stderr
        first_messages = [body["messages"][1]["content"] for body in chats(loopback)[start:]]
        assert len(first_messages) == table(out / "arena.sqlite",
                                            "SELECT SUM(calls) FROM turns")[0][0]
        for parts in first_messages:
            images = [p for p in parts if p["type"] == "image_url"]
            assert len(images) == 3, (condition, parts)
            text = "\n".join(p.get("text", "") for p in parts)
            described = text.count("Your opponent number 2 (player ")
            assert described == (1 if condition == "image+text" else 0), text
