"""Counterfactual sets beyond the generator: `avatars import` keeps identity and attribute
columns, the README's example config works as written, and an LLM run of the counterfactual
design against the loopback server stores what the analysis needs."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from agents.personas.manifest import read_manifest
from tests.helpers import ROOT, cli, table
from tests.llm_helpers import cli_here
from tests.openai_server import LoopbackServer
from tests.test_llm import env_for, llm_config


def test_import_keeps_identity_and_attribute_columns(tmp_path: Path) -> None:
    made = tmp_path / "made"
    assert cli("avatars", "generate", "--n", "2", "--levels", "3", "--vary", "glasses",
               "--out", str(made), "--size", "32").returncode == 0
    src = tmp_path / "src"
    (src / "2").mkdir(parents=True)
    lines = ["image,identity,attr_glasses,description"]
    for e in read_manifest(made, verify="none"):
        shutil.copy(e.image, src / "2" / e.image.name)
        lines.append(f"2/{e.image.name},{e.extra['identity']},{e.extra['attr_glasses']},"
                     f"\"{e.description}\"")
    (src / "manifest.csv").write_text("\n".join(lines) + "\n")
    result = cli("avatars", "import", str(src), "--out", str(tmp_path / "pool"))
    assert result.returncode == 0 and "skipped" not in result.stderr, result.stderr
    personas = [e.to_persona() for e in read_manifest(tmp_path / "pool")]
    assert len(personas) == 8 and {p.level for p in personas} == {2}
    assert {p.identity for p in personas} == {"i0001", "i0002"}
    assert {p.attributes["glasses"] for p in personas} == {"none", "round", "prescription_1",
                                                          "prescription_2"}
    assert all(p.description.startswith("A cartoon character") for p in personas)
    # bad columns are one line naming the file and the column
    (src / "manifest.csv").write_text("image,identity,colour\n2/x.png,i1,red\n")
    bad = cli("avatars", "import", str(src), "--out", str(tmp_path / "pool2"))
    assert bad.returncode == 2 and "unknown column 'colour'" in bad.stderr
    (src / "manifest.csv").write_text(f"image,attr_glasses\n{lines[1].split(',')[0]},round\n")
    bad = cli("avatars", "import", str(src), "--out", str(tmp_path / "pool3"))
    assert bad.returncode == 2 and "identity is empty" in bad.stderr


def test_the_readme_counterfactual_example_works_as_written(tmp_path: Path) -> None:
    config = (ROOT / "examples" / "counterfactual.toml").read_text()
    commands = re.findall(r"^#\s+persona-arena (.+)$", config, re.M)
    readme = (ROOT / "README.md").read_text()
    assert all(f"persona-arena {c}" in readme for c in commands) and len(commands) == 3
    (tmp_path / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "counterfactual.toml", tmp_path / "examples")
    for command in commands:
        result = cli(*command.split(), cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
    assert "counterfactual attributes (4 identities" in result.stdout
    assert "glasses=round vs none" in result.stdout and "skin=black vs tanned" in result.stdout
    assert table(tmp_path / "runs" / "counterfactual" / "arena.sqlite",
                 "SELECT COUNT(*) FROM matches WHERE status = 'ok'") == [(4 * 28 * 2 * 2,)]


def test_an_llm_counterfactual_run_stores_what_the_analysis_needs(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    pool = tmp_path / "pool"
    assert cli_here("avatars", "generate", "--n", "2", "--levels", "7", "--vary", "glasses",
                    "--out", str(pool), "--size", "64").returncode == 0
    config = llm_config(tmp_path, pool, loopback.base_url,
                        design='kind = "counterfactual"\nlevels = 7\nopponents = 1')
    out = tmp_path / "out"
    run = cli("run", str(config), "--out", str(out), env=env_for(tmp_path))
    assert run.returncode == 0, run.stderr
    db = out / "arena.sqlite"
    assert table(db, "SELECT COUNT(*), SUM(status = 'ok') FROM matches") == [(16, 16)]
    stored = table(db, "SELECT persona_id, identity, attributes FROM personas")
    assert {i for _, i, _ in stored} == {"i0001", "i0002"}
    assert {json.loads(a)["glasses"] for _, _, a in stored} == {
        "none", "round", "prescription_1", "prescription_2"}
    # every variant of an identity met its opponent in both seats with the cell's seed
    seeds = table(db, "SELECT match_id, seed FROM matches")
    by_cell: dict[tuple[str, bool], set[int]] = {}
    for match_id, seed in seeds:
        owner = match_id.split("-")[2]
        first = match_id.split("-")[3] == owner
        by_cell.setdefault((owner, first), set()).add(seed)
    assert len(by_cell) == 4 and all(len(s) == 1 for s in by_cell.values())
    assert table(db, "SELECT COUNT(*) FROM turns WHERE claim IS NOT NULL") != [(0,)]
    analyzed = cli_here("analyze", str(out), "--json")
    assert analyzed.returncode == 0, analyzed.stderr
    rows = json.loads(analyzed.stdout)["counterfactual"]["rows"]
    outcomes = {(r["outcome"], r["value"]) for r in rows}
    assert {("claim_share", v) for v in ("round", "prescription_1", "prescription_2")} <= outcomes
    assert all(r["n_identities"] == 2 for r in rows)
