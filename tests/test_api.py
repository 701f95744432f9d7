"""The Python API (arena.Tournament, Result, open_run) gives the runs and results the CLI gives;
`run` ends with a summary of the store; exported personas keep the manifest's trait columns."""
from __future__ import annotations

import csv
import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

import arena
from tests.helpers import cli, match_table, turn_table

CONFIG = """\
seed = 2
scenario = "ultimatum-4"
condition = "both-images"
[personas]
pool = "pool"
[design]
kind = "factorial"
levels = 7
per_level = 1
[agents.default]
kind = "surrogate"
"""


@pytest.fixture
def config_file(tmp_path: Path, small_pool: Path) -> Path:
    shutil.copytree(small_pool, tmp_path / "pool")
    path = tmp_path / "study.toml"
    path.write_text(CONFIG)
    return path


def test_a_tournament_from_toml_stores_what_the_cli_stores(config_file: Path,
                                                           tmp_path: Path) -> None:
    t = arena.Tournament.from_toml(config_file, out=tmp_path / "api")
    assert t.estimate()["matches"] == 49
    result = t.run(progress="none")
    assert result.summary is not None and (result.summary.ok, result.summary.failed) == (49, 0)
    assert len(result.matches) == 49 and set(result.matches["status"]) == {"ok"}
    assert len(result.turns) == 49 * 8
    assert {"own", "opp", "claim", "accepted"} <= set(result.proposals.columns)
    assert cli("run", str(config_file), "--out", str(tmp_path / "cli")).returncode == 0
    assert match_table(tmp_path / "api" / "arena.sqlite") == match_table(
        tmp_path / "cli" / "arena.sqlite")
    assert turn_table(tmp_path / "api" / "arena.sqlite") == turn_table(
        tmp_path / "cli" / "arena.sqlite")
    analysis = result.analysis()
    assert analysis["matches"] == 49 and set(analysis["claim_by_own"]) == set(range(1, 8))
    assert "own" in analysis["headline"]
    assert result.report().is_file()
    # again without resume: refused as the CLI refuses; with resume: nothing is played
    with pytest.raises(arena.InputError, match="already holds a run; use --resume"):
        t.run()
    again = t.run(resume=True)
    assert again.summary is not None and again.summary.ran == 0
    assert again.summary.already_done == 49


def test_a_tournament_from_a_dict(tmp_path: Path, small_pool: Path) -> None:
    data = {"scenario": "ultimatum-4", "personas": {"pool": "pool"},
            "design": {"kind": "round-robin", "levels": 7, "per_level": 1},
            "agents": {"default": {"kind": "concession", "tactic": "boulware"}}}
    shutil.copytree(small_pool, tmp_path / "pool")
    with pytest.raises(arena.InputError, match="out: give the run folder"):
        arena.Tournament.from_dict(data, base=tmp_path).run()
    result = arena.Tournament.from_dict(data, base=tmp_path, out=tmp_path / "rr").run()
    counts = result.counts()
    assert counts["ok"] == len(result.matches) > 0
    assert list(counts["by_agent"]) == ["concession:boulware"]
    opened = arena.open_run(tmp_path / "rr")
    assert opened.summary is None and len(opened.matches) == len(result.matches)
    with pytest.raises(arena.InputError, match="design.kind"):
        arena.Tournament.from_dict({**data, "design": {"kind": "everyone"}})
    with pytest.raises(arena.InputError, match="no arena.sqlite"):
        arena.open_run(tmp_path / "nothing-here")


def test_run_ends_with_a_summary_of_the_store(config_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = cli("run", str(config_file), "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{out}: 49 matches run (49 ok, 0 failed)")
    stored = next(line for line in lines if line.strip().startswith("stored:"))
    assert "49 ok, 0 failed" in stored and "invalid turns" in stored and "deals" in stored
    claims = next(line for line in lines if "mean claim by own level" in line)
    assert all(f"{level}: " in claims for level in range(1, 8))
    assert any("mean payoff by own level" in line for line in lines)
    assert f"results in {out / 'arena.sqlite'}" in result.stdout
    figures = json.loads(cli("run", str(config_file), "--out", str(out), "--resume",
                             "--json").stdout)
    assert figures["ran"] == 0 and figures["results"]["ok"] == 49
    means = figures["results"]["by_agent"]["surrogate:gpt-4o"]["claim_by_level"]
    assert set(means) == {str(level) for level in range(1, 8)}
    assert all(40 < value < 80 for value in means.values())


def test_llm_runs_say_when_a_model_limit_caps_concurrency(tmp_path: Path, small_pool: Path,
                                                          loopback: Any) -> None:
    config = tmp_path / "llm.toml"
    config.write_text(textwrap.dedent(f"""\
        scenario = "ultimatum-4"
        [personas]
        pool = "{small_pool}"
        [design]
        kind = "factorial"
        levels = 2
        per_level = 1
        [agents.default]
        kind = "llm"
        model = "m"
        [models.m]
        base_url = "{loopback.base_url}"
        model = "x"
        api_key_env = ""
        [execution]
        concurrency = 64
        """))
    result = cli("run", str(config), "--out", str(tmp_path / "run"), "--skip-probe")
    assert result.returncode == 0, result.stderr
    assert "[models.m] concurrency = 16 holds this run to 16 requests" in result.stderr
    assert "[execution] concurrency = 64" in result.stderr


def test_exported_personas_keep_the_manifests_trait_columns(config_file: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert cli("run", str(config_file), "--out", str(out)).returncode == 0
    with (tmp_path / "pool" / "manifest.csv").open(newline="") as handle:
        manifest = list(csv.DictReader(handle))
    traits = [c for c in manifest[0] if c not in ("persona_id", "image", "sha256", "level",
                                                  "description")]
    assert {"eyebrows", "mouth", "background"} <= set(traits)
    assert cli("export", str(out), "--out", str(tmp_path / "x")).returncode == 0
    with (tmp_path / "x" / "personas.csv").open(newline="") as handle:
        exported = {row["persona_id"]: row for row in csv.DictReader(handle)}
    assert set(traits) <= set(next(iter(exported.values())))
    for row in manifest:
        assert exported[row["persona_id"]]["mouth"] == row["mouth"]
    personas = arena.open_run(out).personas
    assert set(traits) <= set(personas.columns)
