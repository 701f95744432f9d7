"""`persona-arena rate`: the paper's rating prompt, stored scores, retries, reruns, imports."""
from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from scenarios.loader import load_scenario
from tests.helpers import cli, table
from tests.llm_helpers import chats, cli_here
from tests.openai_server import LoopbackServer, image_level

SECRET = "sk-rater-test-secret-4b8e"
RATING = load_scenario("ultimatum-4").prompts["rating"]


def rate_config(tmp: Path, base_url: str) -> Path:
    """A config with only what `rate` reads: the model table (no personas, no design)."""
    path = tmp / "rate.toml"
    path.write_text(f'''[models.local]
base_url = "{base_url}"
model = "loopback-vlm"
retry_base_s = 0.01
''')
    return path


@pytest.fixture
def pool(tmp_path: Path, small_pool: Path) -> Path:
    """A copy of the session pool: rating writes POOL/ratings.sqlite."""
    copy = tmp_path / "pool"
    shutil.copytree(small_pool, copy)
    return copy


def env_for(tmp: Path) -> dict[str, str]:
    return {"OPENAI_API_KEY": SECRET, "PERSONA_ARENA_CACHE": str(tmp / "cache")}


def test_rate_fills_ratings_with_the_papers_prompt_and_a_rerun_sends_nothing(
        tmp_path: Path, pool: Path, loopback: LoopbackServer) -> None:
    config = rate_config(tmp_path, loopback.base_url)
    result = cli("rate", str(pool), "--config", str(config), "--model", "local", "--json",
                 env=env_for(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rater"] == "local" and report["rated"] == 14 and report["requests"] == 14
    bodies = chats(loopback)
    assert len(bodies) == 14
    for body in bodies:
        assert body["temperature"] == 0.0 and body["max_tokens"] == 1
        system, user = body["messages"]
        assert system == {"role": "system", "content": RATING}
        assert [p["type"] for p in user["content"]] == ["image_url"]  # the image only
    rows = table(pool / "ratings.sqlite",
                 "SELECT persona_id, rater, score, raw, model FROM ratings ORDER BY persona_id")
    assert len(rows) == 14 and {r[1] for r in rows} == {"local"}
    # the server rates an image by its bytes: the stored score is that image's
    sent = {}
    for body in bodies:
        url = body["messages"][1]["content"][0]["image_url"]["url"]
        sent[url] = image_level(url)
    assert sorted(r[2] for r in rows) == sorted(sent.values())
    assert all(r[4] == "loopback-vlm" and r[3] == str(int(r[2])) for r in rows)

    # already rated by this rater: skipped, nothing sent (not even a probe)
    again = cli_here("rate", str(pool), "--config", str(config), "--model", "local", "--json",
                     env=env_for(tmp_path))
    assert json.loads(again.stdout)["skipped"] == 14
    # a fresh copy of the pool, same cache: replayed, nothing sent
    fresh = tmp_path / "fresh"
    shutil.copytree(pool, fresh)
    (fresh / "ratings.sqlite").unlink()
    replay = json.loads(cli_here("rate", str(fresh), "--config", str(config), "--model", "local",
                            "--json", env=env_for(tmp_path)).stdout)
    assert replay["rated"] == 14 and replay["requests"] == 0 and replay["cache_hits"] == 14
    assert len(chats(loopback)) == 14
    assert table(fresh / "ratings.sqlite", "SELECT persona_id, score FROM ratings ORDER BY 1") == \
        [(r[0], r[2]) for r in rows]
    for path in [*pool.rglob("*"), *(tmp_path / "cache").rglob("*")]:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path

    # the ratings define levels for a run: `[personas] rating = "local"`
    run = tmp_path / "run.toml"
    run.write_text(config.read_text() + f'''
[personas]
pool = "{pool}"
rating = "local"
[design]
kind = "confederate"
per_level = 1
levels = 7
[agents.default]
kind = "surrogate"
''')
    levels = Counter(r[2] for r in rows)
    dry = cli_here("run", str(run), "--dry-run", "--json")
    if all(levels.get(level, 0) >= 1 for level in range(1, 8)):
        assert dry.returncode == 0 and json.loads(dry.stdout)["matches"] == 14
    else:  # some level has no image: the design says which, in one line
        assert dry.returncode == 2 and "field 'design.per_level': level" in dry.stderr


def test_unparseable_answers_are_asked_again_a_bounded_number_of_times(
        tmp_path: Path, pool: Path, loopback_factory: Any) -> None:
    calls: Counter[str] = Counter()
    hopeless = sorted(pool.glob("*.png"))[0].read_bytes()

    def responder(body: dict[str, Any]) -> str:
        import base64

        url = body["messages"][1]["content"][0]["image_url"]["url"]
        calls[url] += 1
        if base64.b64decode(url.split(",", 1)[1]) == hopeless:
            return "Hmm"
        return "I'd say" if calls[url] == 1 else "5"

    server = loopback_factory(responder=responder)
    config = rate_config(tmp_path, server.base_url)
    result = cli("rate", str(pool), "--config", str(config), "--model", "local", "--retries",
                 "2", "--max-tokens", "4", env=env_for(tmp_path))
    assert result.returncode == 1  # one image has no usable answer
    assert "13 images rated" in result.stdout and "1 without a usable answer" in result.stdout
    assert ("sample answer: 'Hmm | Hmm | Hmm'; likely cause: the answers hold no whole number "
            "from 1 to 7") in result.stdout
    assert len(chats(server)) == 13 * 2 + 3
    rows = dict(table(pool / "ratings.sqlite", "SELECT score, raw FROM ratings WHERE "
                                               "score IS NULL"))
    assert rows == {None: "Hmm | Hmm | Hmm"}
    assert table(pool / "ratings.sqlite", "SELECT COUNT(*) FROM ratings WHERE score = 5") == [(13,)]
    # a rerun asks about the unrated image again, from the cache: nothing is sent
    again = cli_here("rate", str(pool), "--config", str(config), "--model", "local",
                     "--retries", "2", "--max-tokens", "4", env=env_for(tmp_path))
    assert again.returncode == 1 and len(chats(server)) == 13 * 2 + 3


def test_a_custom_prompt_is_its_own_rater_and_humans_import_a_csv(
        tmp_path: Path, pool: Path, loopback: LoopbackServer) -> None:
    config = rate_config(tmp_path, loopback.base_url)
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("How friendly does this character look, 1 (not at all) to 7? "
                      "Rate how aggressive the character looks from 1 to 7 inverted. Digits only.")
    result = cli_here("rate", str(pool), "--config", str(config), "--model", "local",
                      "--prompt-file", str(prompt), "--json", env=env_for(tmp_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rater"].startswith("local-") and len(report["rater"]) == len("local-") + 8
    assert {b["messages"][0]["content"] for b in chats(loopback)} == {prompt.read_text().strip()}

    ids = sorted(p.stem for p in pool.glob("*.png"))
    csv = tmp_path / "human.csv"
    csv.write_text("persona_id,score\n" + f"{ids[0]},3\n{ids[0]},6\n{ids[1]},2\n")
    imported = cli_here("rate", str(pool), "--import", str(csv), "--rater", "human", "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["imported"] == 2
    rows = table(pool / "ratings.sqlite",
                 "SELECT persona_id, score, raw FROM ratings WHERE rater = 'human' ORDER BY 1")
    assert rows == [(ids[0], 4.5, "[3.0, 6.0]"), (ids[1], 2.0, "[2.0]")]
    raters = {r for (r,) in table(pool / "ratings.sqlite", "SELECT DISTINCT rater FROM ratings")}
    assert raters == {"human", report["rater"]}


def test_rate_refuses_bad_input_with_one_line(tmp_path: Path, pool: Path,
                                              loopback: LoopbackServer) -> None:
    config = rate_config(tmp_path, loopback.base_url)
    unknown = cli("rate", str(pool), "--config", str(config), "--model", "gpt",
                  env=env_for(tmp_path))
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert "[models.gpt]" in unknown.stderr and "local" in unknown.stderr
    csv = tmp_path / "bad.csv"
    csv.write_text("persona_id,score\nnobody,3\n")
    bad = cli_here("rate", str(pool), "--import", str(csv), "--rater", "human")
    assert bad.returncode == 2 and "line 2: persona_id 'nobody'" in bad.stderr
    blind = tmp_path / "blind.toml"
    blind.write_text(config.read_text() + "vision = false\n")
    no_vision = cli_here("rate", str(pool), "--config", str(blind), "--model", "local",
                         env=env_for(tmp_path))
    assert no_vision.returncode == 2 and "models.local.vision" in no_vision.stderr
    assert chats(loopback) == []


def test_rate_without_usable_answers_names_the_likely_cause(
        tmp_path: Path, pool: Path, loopback_factory: Any) -> None:
    blind = loopback_factory(content_mode="ignore-images",
                             responder=lambda body: "I do not see any image here.")
    config = rate_config(tmp_path, blind.base_url)
    result = cli_here("rate", str(pool), "--config", str(config), "--model", "local",
                      "--retries", "0", "--max-tokens", "20", "--json", env=env_for(tmp_path))
    assert result.returncode == 1
    summary = json.loads(result.stdout)
    assert summary["rated"] == 0 and summary["sample_answer"] == "I do not see any image here."
    assert summary["likely_cause"].startswith("the model does not see the image")
    wordy = loopback_factory(responder=lambda body: "The")  # "The character looks ..." cut at 1
    config = rate_config(tmp_path, wordy.base_url)
    result = cli_here("rate", str(pool), "--config", str(config), "--model", "local",
                      "--retries", "0", "--rater", "wordy", env=env_for(tmp_path))
    assert "likely cause: the answers start with words, not a digit, and --max-tokens 1" \
        in result.stdout
