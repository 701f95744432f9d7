"""`persona-arena run CONFIG`: configs of DESIGN.md's form, bad configs, refusing mixed runs."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import cli, match_table, table


def write_config(tmp_path: Path, pool: Path, body: str, name: str = "run.toml") -> Path:
    path = tmp_path / name
    path.write_text(body + f'\n[personas]\npool = "{pool}"\nrating = "design"\n')
    return path


FACTORIAL = '''seed = 5
scenario = "ultimatum-4"
condition = "both-images"

[design]
kind = "factorial"
levels = 7
per_level = 1
repetitions = 2

[agents.default]
kind = "surrogate"
fit = "claude-3-haiku"
'''


def test_run_factorial_config(tmp_path: Path, small_pool: Path) -> None:
    config = write_config(tmp_path, small_pool, FACTORIAL)
    dry = cli("run", str(config), "--dry-run")
    assert dry.returncode == 0 and "98 matches" in dry.stdout  # 7 x 7 pairs x 2 repetitions
    assert not (tmp_path / "out").exists()
    result = cli("run", str(config), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    db = tmp_path / "out" / "arena.sqlite"
    rows = match_table(db)
    assert len(rows) == 98 and {r[12] for r in rows} == {"ok"}
    assert {r[10] for r in rows} == {"surrogate:claude-3-haiku"}
    assert (tmp_path / "out" / "config.json").exists()
    # the run folder is not silently reused ...
    again = cli("run", str(config), "--out", str(tmp_path / "out"))
    assert again.returncode == 2 and "already holds a run" in again.stderr
    # ... resuming a finished run does nothing and changes nothing
    resumed = cli("run", str(config), "--out", str(tmp_path / "out"), "--resume")
    assert resumed.returncode == 0 and "0 matches run" in resumed.stdout
    assert match_table(db) == rows
    # a different config is refused on resume
    other = write_config(tmp_path, small_pool, FACTORIAL.replace("seed = 5", "seed = 6"), "other.toml")
    mixed = cli("run", str(other), "--out", str(tmp_path / "out"), "--resume")
    assert mixed.returncode == 2 and "different config" in mixed.stderr


def test_run_price_bargain_with_concession_teams(tmp_path: Path, small_pool: Path) -> None:
    body = '''scenario = "price-bargain"
condition = "none"
[design]
kind = "round-robin"
levels = 7
per_level = 1
[agents.a]
kind = "concession"
tactic = "boulware"
[agents.b]
kind = "concession"
tactic = "conceder"
'''
    config = write_config(tmp_path, small_pool, body)
    result = cli("run", str(config), "--out", str(tmp_path / "pb"))
    assert result.returncode == 0, result.stderr
    rows = table(tmp_path / "pb" / "arena.sqlite",
                 "SELECT agent_a, agent_b, COUNT(*), AVG(deal) FROM matches GROUP BY 1, 2")
    # 21 unordered pairs x 2 persona orders, each in both team seatings
    assert sorted(r[:3] for r in rows) == [("concession:boulware", "concession:conceder", 42),
                                           ("concession:conceder", "concession:boulware", 42)]
    assert all(r[3] == 1.0 for r in rows)


BAD_CONFIGS = {
    "unknown key": ("[design]\nkind = \"factorial\"\nflavour = 1\n", "unknown key 'design.flavour'"),
    "bad kind": ("[design]\nkind = \"tournament\"\n", "design.kind"),
    "wrong type": ("[design]\nlevels = \"seven\"\n", "design.levels"),
    "unknown top key": ("colour = 1\n", "unknown key 'colour'"),
    "missing model": ("[agents.default]\nkind = \"llm\"\nmodel = \"gpt\"\n", "no [models.gpt] table"),
    "bad scenario": ("scenario = \"chess\"\n", "unknown scenario 'chess'"),
    "syntax": ("[design\n", "TOML syntax error"),
    "surrogate on bargain": ("scenario = \"price-bargain\"\n", "plays ultimatum scenarios only"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_configs_exit_2_with_one_line(tmp_path: Path, small_pool: Path, case: str) -> None:
    body, expected = BAD_CONFIGS[case]
    config = write_config(tmp_path, small_pool, body)
    result = cli("run", str(config), "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_missing_pool_is_named(tmp_path: Path) -> None:
    config = write_config(tmp_path, tmp_path / "nowhere", FACTORIAL)
    result = cli("run", str(config), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "nowhere" in result.stderr
    assert result.stderr.count("\n") == 1


SWISS = '''seed = 2
scenario = "ultimatum-4"
[design]
kind = "swiss"
levels = 7
rounds = 4
repetitions = 2
[agents.default]
kind = "surrogate"
'''


def test_swiss_rounds_pair_by_score_without_rematches(tmp_path: Path, small_pool: Path) -> None:
    config = write_config(tmp_path, small_pool, SWISS)
    dry = cli("run", str(config), "--dry-run")
    assert dry.returncode == 0 and "56 matches" in dry.stdout  # 14 personas: 7 a round, 4 rounds, 2 reps
    result = cli("run", str(config), "--out", str(tmp_path / "sw"))
    assert result.returncode == 0, result.stderr
    db = tmp_path / "sw" / "arena.sqlite"
    rows = table(db, "SELECT match_id, repetition, persona_a, persona_b FROM matches")
    assert len(rows) == 56
    for rep in (1, 2):
        pairs = [frozenset(r[2:]) for r in rows if r[1] == rep]
        assert len(set(pairs)) == len(pairs) == 28  # nobody meets anybody twice in a repetition
        for t in range(1, 5):
            seated = [p for r in rows if r[1] == rep and f"-t{t}-" in r[0] for p in r[2:]]
            assert sorted(seated) == sorted(set(seated)) and len(seated) == 14
    again = cli("run", str(config), "--out", str(tmp_path / "sw2"))
    assert match_table(tmp_path / "sw2" / "arena.sqlite") == match_table(db)


def test_swiss_of_an_odd_field_plays_what_the_dry_run_counts(tmp_path: Path,
                                                             small_pool: Path) -> None:
    """Three personas: the default rounds stop at a round robin's two, each sits out once."""
    body = SWISS.replace("levels = 7\nrounds = 4", "levels = 3\nper_level = 1").replace(
        "repetitions = 2", "repetitions = 1")
    config = write_config(tmp_path, small_pool, body)
    dry = cli("run", str(config), "--dry-run")
    assert dry.returncode == 0 and dry.stdout.startswith("2 matches"), dry.stdout + dry.stderr
    result = cli("run", str(config), "--out", str(tmp_path / "odd"))
    assert result.returncode == 0, result.stderr
    pairs = table(tmp_path / "odd" / "arena.sqlite", "SELECT persona_a, persona_b FROM matches")
    assert len(pairs) == 2 and len({frozenset(p) for p in pairs}) == 2


LLM_DRY = '''seed = 1
condition = "both-images"
[design]
kind = "factorial"
per_level = 1
[agents.default]
kind = "llm"
model = "gpt"
[models.gpt]
base_url = "http://127.0.0.1:9/v1"
model = "gpt-4o"
api_key_env = "PERSONA_ARENA_TEST_UNSET_KEY"
'''


def test_dry_run_estimates_calls_tokens_and_cost(tmp_path: Path, small_pool: Path) -> None:
    import json

    def dry(body: str) -> dict:
        config = write_config(tmp_path, small_pool, body)
        result = cli("run", str(config), "--dry-run", "--json")
        assert result.returncode == 0, result.stderr  # no key, no server needed
        return json.loads(result.stdout)

    auto = dry(LLM_DRY)
    assert auto["matches"] == 49 and auto["llm_calls"] == 49 * 8 and auto["cost"] is None
    low = dry(LLM_DRY + 'detail = "low"\n')
    # 64 px avatars: 255 tokens each at high detail (one tile), 85 at low; 8 calls see 2 images
    assert auto["prompt_tokens"] - low["prompt_tokens"] == 49 * 8 * 2 * (255 - 85)
    priced = dry(LLM_DRY + "price_prompt_per_1m = 2.0\nprice_completion_per_1m = 8.0\n")
    expected = (priced["prompt_tokens"] * 2.0 + priced["completion_tokens"] * 8.0) / 1e6
    assert priced["cost"] == round(expected, 4)
    text = cli("run", str(write_config(tmp_path, small_pool, LLM_DRY)), "--dry-run")
    assert "392 LLM calls" in text.stdout and "prompt tokens (images included)" in text.stdout
