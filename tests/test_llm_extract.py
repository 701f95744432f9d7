"""The LLM extractor in every game, against the loopback server: a game without the paper's two
prompts is asked for its own JSON move (its legal moves, the offer on the table, its JSON
instruction and schema), and what the extractor answers is parsed and checked by the game, so
an illegal or invented move becomes an invalid turn with its reason (price-bargain,
majority-division). The paper's own prompts stay the ultimatum games' (tests/test_llm.py)."""
from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from agents.negotiators.llm_extract import NO_MOVE, extract, generic_system
from scenarios.loader import load_scenario
from scenarios.moves import PROPOSE, Move
from tests.helpers import table
from tests.llm_helpers import chats, cli_here
from tests.openai_server import message_text, persona_reply
from tests.test_llm import _access, env_for, run_json

GENERIC = "You read one turn of a negotiation and write down the move it makes, as JSON."
_SHARE = re.compile(r"player (\d+) gets \$(\d+)")


def _legal(system: str) -> list[str]:
    line = system.split("may make now: ", 1)[1].split(".", 1)[0]
    return re.findall(r'"(\w+)"', line)


def extractor_answer(body: dict[str, Any]) -> str | None:
    """The loopback extractor: reads the dialogue as a careful model would, in the game's
    JSON; None for a request that is no game-generic extraction."""
    messages = body["messages"]
    system = message_text(messages[0])
    if not system.startswith(GENERIC):
        return None
    text = message_text(messages[-1]).removeprefix("Dialogue:\n")
    legal = _legal(system)
    if "accept" in legal and re.search(r"\b(accept|yes|fine by me)\b", text, re.I):
        return json.dumps({"move": "accept"})
    if "reject" in legal and re.search(r"\b(no|against)\b", text, re.I):
        return json.dumps({"move": "reject"})
    shares = _SHARE.findall(text)
    offer_kind = "propose" if "propose" in legal else "counter"
    if shares:
        return json.dumps({"move": offer_kind, "offer": [float(v) for _, v in shares]})
    price = re.search(r"\$(\d+)", text)
    if price:
        return json.dumps({"move": offer_kind, "price": float(price.group(1))})
    return json.dumps({"move": NO_MOVE})


PRICE_CONFIG = '''seed = 3
scenario = "price-bargain"
condition = "self-only"
[personas]
pool = "{pool}"
[design]
kind = "factorial"
levels = 7
per_level = 1
repetitions = 1
[agents.default]
kind = "llm"
model = "local"
extractor = "llm"
[models.local]
base_url = "{url}"
model = "loopback-vlm"
retry_base_s = 0.01
retry_max_s = 0.05
[execution]
progress = "none"
'''


def _price_player(body: dict[str, Any]) -> str:
    """Seller asks $60; the buyer counters $45; the seller takes it."""
    found = extractor_answer(body)
    if found is not None:
        return found
    users = [message_text(m) for m in body["messages"] if m["role"] == "user"]
    seller = "You are the seller." in users[0]
    if seller:
        return "Alright, I accept your price." if len(users) > 1 else "My price is $60."
    return "Too much for me. I can pay $45 at most."


def test_price_bargain_moves_are_read_by_the_llm_extractor_as_the_games_json(
        tmp_path: Path, small_pool: Path, loopback_factory: Any) -> None:
    server = loopback_factory(responder=_price_player)
    config = tmp_path / "price.toml"
    config.write_text(PRICE_CONFIG.format(pool=small_pool, url=server.base_url))
    summary = run_json(cli_here("run", str(config), "--out", str(tmp_path / "out"), "--json",
                                env=env_for(tmp_path)))
    assert summary["ok"] > 0 and summary.get("failed", 0) == 0, summary
    asked = [b for b in chats(server) if message_text(b["messages"][0]).startswith(GENERIC)]
    assert asked, "no extraction request reached the server"
    first = message_text(asked[0]["messages"][0])
    game = load_scenario("price-bargain").rules
    assert game.json_hint() in first and json.dumps(game.json_schema(), sort_keys=True) in first
    db = tmp_path / "out" / "arena.sqlite"
    turns = table(db, "SELECT match_id, move_kind, offer, text, extractor_answer FROM turns "
                      "ORDER BY match_id, turn_index")
    by_match: dict[str, list[tuple]] = {}
    for match_id, *rest in turns:
        by_match.setdefault(match_id, []).append(tuple(rest))
    for moves in by_match.values():
        assert [(k, o) for k, o, _, _ in moves] == [("propose", "60.0"), ("counter", "45.0"),
                                                    ("accept", None)], moves
        assert all(answer and json.loads(answer)["move"] == kind
                   for kind, _, _, answer in moves)
    assert table(db, "SELECT DISTINCT deal, payoff_a + payoff_b FROM matches") == [(1, 60.0)]
    # the counter-offer's extraction saw the offer on the table
    counter = next(b for b in asked if "$45" in message_text(b["messages"][-1]))
    assert "The offer on the table by player 1, as JSON: 60.0" in message_text(
        counter["messages"][0])


MAJORITY_CONFIG = '''seed = 4
scenario = "majority-division"
condition = "none"
[personas]
pool = "{pool}"
[design]
kind = "groups"
seats = 3
matches = 2
[agents.default]
kind = "llm"
model = "local"
extractor = "{extractor}"
[models.local]
base_url = "{url}"
model = "loopback-vlm"
retry_base_s = 0.01
retry_max_s = 0.05
[execution]
progress = "none"
'''


def _majority_player(body: dict[str, Any]) -> str:
    found = extractor_answer(body)
    return found if found is not None else persona_reply(body)


def test_majority_division_with_the_llm_extractor_and_hybrid(tmp_path: Path, small_pool: Path,
                                                             loopback_factory: Any) -> None:
    server = loopback_factory(responder=_majority_player)
    results = {}
    for extractor in ("llm", "hybrid", "offline"):
        config = tmp_path / f"{extractor}.toml"
        config.write_text(MAJORITY_CONFIG.format(pool=small_pool, url=server.base_url,
                                                 extractor=extractor))
        out = tmp_path / extractor
        server.reset()
        summary = run_json(cli_here("run", str(config), "--out", str(out), "--json",
                                    env=env_for(tmp_path / extractor)))
        assert summary["ok"] > 0 and not summary.get("failed"), summary
        asked = [b for b in chats(server)
                 if message_text(b["messages"][0]).startswith(GENERIC)]
        results[extractor] = (table(out / "arena.sqlite", "SELECT match_id, turn_index, "
                                    "move_kind, offer FROM turns ORDER BY match_id, turn_index"),
                              len(asked), table(out / "arena.sqlite",
                                                "SELECT extractor_answer FROM turns"))
    llm_turns, llm_asked, answers = results["llm"]
    # every turn was read by the extractor (the same text in the same spot is asked once:
    # the reply cache answers the rest)
    assert 0 < llm_asked <= len(llm_turns) and all(a is not None for (a,) in answers)
    proposals = [t for t in llm_turns if t[2] == "propose"]
    assert proposals and all(len(json.loads(t[3])) == 3 for t in proposals)
    assert {t[2] for t in llm_turns} >= {"propose", "accept"} or \
        {t[2] for t in llm_turns} >= {"propose", "reject"}
    # what the LLM read is what the offline reader reads in these clear texts; hybrid, sure of
    # every one of them offline, never asks
    assert llm_turns == results["offline"][0] == results["hybrid"][0]
    assert results["hybrid"][1] == 0


def _vague_voter(body: dict[str, Any]) -> str:
    """The loopback players, with a yes vote worded so that the offline reader finds none."""
    found = extractor_answer(body)
    if found is not None:
        return found
    reply = persona_reply(body)
    return "Fine by me." if reply.startswith("Yes, I vote") else reply


def test_hybrid_asks_the_extractor_only_for_votes_the_offline_reader_cannot_read(
        tmp_path: Path, small_pool: Path, loopback_factory: Any) -> None:
    server = loopback_factory(responder=_vague_voter)
    kinds = {}
    for extractor in ("hybrid", "offline"):
        config = tmp_path / f"{extractor}.toml"
        config.write_text(MAJORITY_CONFIG.format(pool=small_pool, url=server.base_url,
                                                 extractor=extractor))
        server.reset()
        run_json(cli_here("run", str(config), "--out", str(tmp_path / extractor), "--json",
                          env=env_for(tmp_path / extractor)))
        asked = [message_text(b["messages"][-1]) for b in chats(server)
                 if message_text(b["messages"][0]).startswith(GENERIC)]
        kinds[extractor] = table(tmp_path / extractor / "arena.sqlite",
                                 "SELECT move_kind, read_note, extractor_answer FROM turns "
                                 "WHERE text = 'Fine by me.'")
        if extractor == "hybrid":
            assert asked and set(asked) == {"Dialogue:\nFine by me."}
    assert kinds["hybrid"] and {k for k, _, _ in kinds["hybrid"]} == {"accept"}
    assert all(note.startswith("unsure offline, read by the LLM extractor (") and
               json.loads(answer) == {"move": "accept"} for _, note, answer in kinds["hybrid"])
    assert {k for k, _, _ in kinds["offline"]} == {"invalid"}  # offline alone: no vote read


def test_the_game_checks_what_the_extractor_answers(loopback_factory: Any) -> None:
    """An invented move, a proposal that does not add up, and no move at all become invalid
    moves with their reasons; the paper's prompts are not used in a game without them."""
    answers = iter([json.dumps({"move": "propose", "offer": [50, 50, 50]}),
                    json.dumps({"move": "walk_away"}),
                    json.dumps({"move": NO_MOVE}),
                    "I think they accept",
                    json.dumps({"move": "propose", "offer": [40, 30, 30]})])
    server = loopback_factory(responder=lambda body: next(answers))
    access = _access(server.base_url)
    scenario = load_scenario("majority-division")
    state = scenario.new_state()
    request = state.request()
    system = generic_system(scenario, request)
    assert '"propose"' in system and '"accept"' not in system.split("may make now:")[1][:40]

    async def read_all(texts: list[str]) -> list[Move]:
        moves = []
        for text in texts:  # one event loop for the one client
            move, completion = await extract(access, scenario, request, text,
                                             lambda key: scenario.prompts.get(key))
            assert completion is not None
            moves.append(move)
        return moves

    added, left, none, prose, good = asyncio.run(read_all([
        "50 each, please", "I leave.", "Hmm.", "Hmm?",
        "player 1 gets $40, player 2 gets $30, player 3 gets $30"]))
    assert "the shares add up to 150, not the pie of 100" in added.reason
    assert "walk_away is not legal here" in left.reason
    assert none.reason == "the LLM extractor found no move in the reply"
    assert "no JSON move" in prose.reason
    assert good == Move(PROPOSE, (40.0, 30.0, 30.0))
    bodies = chats(server)
    assert all(message_text(b["messages"][0]) == system for b in bodies)
    assert bodies[-1]["messages"][-1]["content"] == ("Dialogue:\nplayer 1 gets $40, player 2 "
                                                     "gets $30, player 3 gets $30")
    # a price the reply does not name is refused, as the paper's claims are
    price = load_scenario("price-bargain")
    answers2 = iter([json.dumps({"move": "propose", "price": 75})])
    server2 = loopback_factory(responder=lambda body: next(answers2))
    move, _ = asyncio.run(extract(_access(server2.base_url), price, price.new_state().request(),
                                  "I want a fair price.", lambda key: price.prompts.get(key)))
    assert move.reason == "the LLM extractor's amount 75 is not in the reply, nor derivable from it"
