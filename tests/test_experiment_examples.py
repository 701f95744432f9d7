"""The experiments' example configs work as written: the commands in each file's header run, in
order, in a folder laid out like a checkout (examples/ beside runs/), and give what the comments
and the README say they give (the planted effects recovered, the power line)."""
from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.helpers import ROOT, cli

PREFIX = "#   persona-arena "


def header_commands(name: str) -> list[list[str]]:
    lines = (ROOT / "examples" / name).read_text().splitlines()
    found = [shlex.split(line[len(PREFIX):].split("  #")[0]) for line in lines
             if line.startswith(PREFIX)]
    assert found, f"examples/{name}: no commands in its header"
    return found


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("checkout")
    (root / "examples").mkdir()
    for path in (ROOT / "examples").glob("*.toml"):
        shutil.copy(path, root / "examples" / path.name)
    return root


def run_header(checkout: Path, name: str) -> dict[str, str]:
    """Every command of the header, as written; the output of each by its first words."""
    outputs = {}
    for args in header_commands(name):
        if args[:2] == ["avatars", "generate"] and args[-2:] == ["--out", "examples/pool"] \
                and (checkout / "examples" / "pool").exists():
            continue  # one pool serves every example (each header makes it)
        result = cli(*args, cwd=checkout)
        assert result.returncode == 0, (args, result.stderr)
        outputs[" ".join(args[:2])] = result.stdout
    return outputs


def _json(checkout: Path, *args: str) -> dict:
    result = cli(*args, "--json", cwd=checkout)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_planted_pilot_recovers_what_it_plants(checkout: Path) -> None:
    run_header(checkout, "planted-pilot.toml")
    both = _json(checkout, "analyze", "runs/pilot-both")
    assert both["simulated"].startswith("SIMULATED")
    own, opp = (both["headline"][k]["ols"] for k in ("own", "opp"))
    assert own["ci"][0] < 1.6 < own["ci"][1] and opp["ci"][0] < -0.6 < opp["ci"][1]
    test = _json(checkout, "analyze", "runs/pilot-text", "--with", "runs/pilot-both",
                 "--equivalence", "text:both-images", "--margin", "1")["equivalence"]
    assert not test["equivalent"] and test["ci95"][0] < 3 < test["ci95"][1]  # the planted 3
    text_config = header_commands("planted-pilot-text.toml")
    assert ["run", "examples/planted-pilot-text.toml", "--out", "runs/pilot-text"] in text_config
    pilot = (ROOT / "examples" / "planted-pilot.toml").read_text().splitlines()
    other = (ROOT / "examples" / "planted-pilot-text.toml").read_text().splitlines()
    body = lambda lines: [x for x in lines if not x.startswith(("#", "seed", "condition"))]  # noqa
    assert body(pilot) == body(other)  # the same pilot in another condition


def test_the_anchoring_examples_work_as_written(checkout: Path) -> None:
    outputs = run_header(checkout, "anchoring-planted.toml")
    assert "80% power needs" in outputs["power --study"]
    found = _json(checkout, "analyze", "runs/anchoring-planted")
    counter = found["outcomes"]["anchoring_by_condition"]["self-only"]["counter"]
    assert counter["ci"][0] < -0.4 < counter["ci"][1]
    run_header(checkout, "anchoring.toml")  # the surrogate's, the same design


def test_the_attribute_example_sizes_and_refuses_a_pool_without_the_attribute(
        checkout: Path) -> None:
    if not (checkout / "examples" / "pool").exists():
        run_header(checkout, "planted-pilot.toml")
    outputs = run_header(checkout, "planted-attribute.toml")
    assert "80% power needs" in outputs["power --study"]
    # its counterfactual run recovers the planted -3 points of dark_brown against the reference
    # (tanned; light is 0 too) within its interval; no other skin tone is flagged
    rows = _json(checkout, "analyze", "runs/planted-attribute")["counterfactual"]["rows"]
    claims = {r["value"]: r for r in rows if r["outcome"] == "claim_share"}
    dark = claims.pop("dark_brown")
    assert dark["ci_low"] < -0.03 < dark["ci_high"] and dark["significant"]
    assert claims and not any(r["significant"] for r in claims.values())
    plain = (checkout / "examples" / "planted-attribute.toml").read_text().replace(
        'pool = "skin-pool"', 'pool = "pool"')  # the planted pilot's pool: no skin column
    (checkout / "examples" / "attribute-plain.toml").write_text(plain)
    result = cli("run", "examples/attribute-plain.toml", "--out", "runs/attr", cwd=checkout)
    assert result.returncode == 2
    assert "agents.default.planted.attribute.skin" in result.stderr  # as its header says


def _body(name: str) -> list[str]:
    return [x for x in (ROOT / "examples" / name).read_text().splitlines()
            if x.strip() and not x.startswith(("#", "condition", "style"))]


def test_the_image_versus_text_examples_work_as_written(tmp_path: Path, loopback) -> None:
    """The LLM examples against the loopback server (its address in place of
    http://127.0.0.1:8000/v1, the one thing a user changes): the text-as-image header, dry run,
    both runs and the equivalence test; image+text's dry run. The three configs are one
    design in three conditions."""
    assert _body("text.toml") == _body("text-as-image.toml") == _body("image-text.toml")
    (tmp_path / "examples").mkdir()
    for name in ("text.toml", "text-as-image.toml", "image-text.toml"):
        text = (ROOT / "examples" / name).read_text()
        assert 'base_url = "http://127.0.0.1:8000/v1"' in text
        (tmp_path / "examples" / name).write_text(
            text.replace("http://127.0.0.1:8000/v1", loopback.base_url))
    env = {"OPENAI_API_KEY": "sk-loopback", "PERSONA_ARENA_CACHE": str(tmp_path / "cache")}
    outputs = {}
    for args in header_commands("text-as-image.toml"):
        result = cli(*args, cwd=tmp_path, env=env)
        assert result.returncode == 0, (args, result.stderr[-2000:])
        outputs[" ".join(args[:3])] = result.stdout
    assert "LLM calls" in outputs["run examples/text-as-image.toml --dry-run"]
    assert "equivalence of mean claim, text-as-image - text" in outputs[
        "analyze runs/text-as-image --with"]
    dry = cli("run", "examples/image-text.toml", "--dry-run", cwd=tmp_path, env=env)
    assert dry.returncode == 0 and "image+text" in dry.stdout


@pytest.mark.parametrize("command, needed, calls", [
    ("power --study equivalence --config examples/planted-pilot.toml --between "
     "text:both-images --margin 2 --effect 0", "252", "2,016"),
    ("power --study anchoring --config examples/anchoring-planted.toml --effect -0.1",
     "280", "1,120"),
    ("power --study attribute --config examples/planted-attribute.toml --attribute "
     "skin=light:dark_brown --identities 20 --effect -1", "1,600", "12,800"),
])
def test_the_readme_power_figures_are_what_power_prints(command: str, needed: str,
                                                        calls: str) -> None:
    readme = " ".join((ROOT / "README.md").read_text().replace("\\\n", " ").split())
    assert f"persona-arena {command}" in readme  # the README shows this very command
    row = re.search(rf"\| {re.escape(needed)} \(.*?\) \| {re.escape(calls)} \|", readme)
    assert row, f"README: no row with {needed} matches and {calls} calls"
    result = cli(*shlex.split(command))
    assert result.returncode == 0, result.stderr
    assert f"80% power needs {needed} matches ({calls} LLM calls" in result.stdout


def test_the_majority_tournament_recovers_what_it_plants_and_ends_with_standings(
        checkout: Path) -> None:
    outputs = run_header(checkout, "majority-groups.toml")
    result = _json(checkout, "analyze", "runs/majority")
    assert result["simulated"].startswith("SIMULATED")
    own, opp = (result["headline"][k]["ols"] for k in ("own", "opp"))
    assert own["ci"][0] < 1.5 < own["ci"][1] and opp["ci"][0] < -1.0 < opp["ci"][1]
    assert own["ci"][0] > 0  # the own-level effect is detected, not only covered
    standings = _json(checkout, "standings", "runs/majority")
    personas = standings["kinds"]["persona"]
    assert personas["players"] == [5, 5] and personas["games"] == 350
    assert len(personas["standings"]) == 35  # every persona sat at 50 tables of five
    assert all(row["matches"] == 50 for row in personas["standings"])
    assert "personas: 35 rated over 350 games" in outputs["standings runs/majority"]
    assert (checkout / "runs" / "majority" / "report.html").stat().st_size > 10_000
