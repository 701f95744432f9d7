"""TOST between conditions (issue 15, item 3): equivalence is concluded for a planted identical
behaviour and not for a planted difference beyond the margin; degenerate comparisons say so."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.equivalence import tost
from tests.helpers import cli

KIND = "tests.planted_agents:Planted"


def _run(tmp: Path, pool: Path, name: str, condition: str, seed: int,
         shift: dict[str, float]) -> Path:
    from arena.config import load_config
    from arena.tournament import run

    options = ", ".join(f'"{k}" = {v}' for k, v in shift.items())
    config = tmp / f"{name}.toml"
    config.write_text(f'''seed = {seed}
scenario = "ultimatum-4"
condition = "{condition}"
[personas]
pool = "{pool}"
[design]
kind = "factorial"
levels = 7
per_level = 2
[agents.default]
kind = "{KIND}"
options = {{ shift = {{ {options} }} }}
[execution]
progress = "none"
workers = 0
''')
    loaded, base = load_config(config)
    out = tmp / name
    run(loaded, base, out, progress_mode="none")
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, small_pool: Path) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("tost")
    shift = {"both-images": 5.0}  # planted: +5 in both-images only
    return {"text": _run(tmp, small_pool, "text", "text", 1, shift),
            "image+text": _run(tmp, small_pool, "itext", "image+text", 2, shift),
            "both-images": _run(tmp, small_pool, "both", "both-images", 3, shift)}


def _analyze(run: Path, other: Path, pair: str, margin: str = "2") -> dict:
    result = cli("analyze", str(run), "--with", str(other), "--equivalence", pair,
                 "--margin", margin, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["equivalence"]


def test_tost_concludes_equivalence_only_for_the_same_planted_behaviour(runs) -> None:
    same = _analyze(runs["text"], runs["image+text"], "text:image+text")
    assert same["status"] == "ok" and same["paired"] and same["clusters_a"] == 14
    assert same["verdict"] == "equivalent" and same["equivalent"]
    assert -2 < same["ci"][0] < same["ci"][1] < 2
    differ = _analyze(runs["text"], runs["both-images"], "text:both-images")
    assert differ["verdict"] == "not shown equivalent" and not differ["equivalent"]
    assert differ["different"] and differ["ci"][0] < 5 < differ["ci"][1]  # the planted +5
    # a margin wider than the planted difference makes it equivalent: the margin is the claim
    wide = _analyze(runs["text"], runs["both-images"], "text:both-images", margin="8")
    assert wide["equivalent"]


def test_the_text_output_and_the_report_carry_the_test(runs, tmp_path: Path) -> None:
    text = cli("analyze", str(runs["text"]), "--with", str(runs["image+text"]),
               "--equivalence", "text:image+text", "--margin", "2")
    assert text.returncode == 0, text.stderr
    assert "equivalence of mean claim" in text.stdout and ": equivalent" in text.stdout
    out = tmp_path / "r.html"
    report = cli("report", str(runs["text"]), "--with", str(runs["both-images"]),
                 "--equivalence", "text:both-images", "--margin", "2", "--out", str(out))
    assert report.returncode == 0, report.stderr
    page = out.read_text()
    assert 'id="equivalence"' in page and "not shown equivalent" in page


@pytest.mark.parametrize("args, field", [
    (["--equivalence", "text"], "--equivalence"),
    (["--equivalence", "text:both-images"], "--margin"),
    (["--equivalence", "text:both-images", "--margin", "0"], "--margin"),
    (["--equivalence", "text:both-images", "--margin", "nan"], "--margin"),
    (["--equivalence", "text:both-images", "--margin", "100"], "--margin"),  # the stake
    (["--equivalence", "text:both-images", "--margin", "2", "--alpha", "0.7"], "--alpha"),
    (["--margin", "2"], "--margin"),
    (["--equivalence", "text:none", "--margin", "2"], "--equivalence"),  # not in the runs
    (["--equivalence", "text:text", "--margin", "2"], "--equivalence"),  # one run, same name
])
def test_bad_equivalence_options_are_refused_in_one_line(runs, args, field) -> None:
    result = cli("analyze", str(runs["text"]), *args)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0]


def _claims(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"run": 0, "condition": c, "persona": p, "claim": x}
                         for c, p, x in rows])


def test_degenerate_comparisons_are_reported_as_such() -> None:
    flat = _claims([(c, p, 50.0) for c in ("a", "b") for p in ("p1", "p2", "p3")])
    result = tost(flat, "a", "b", 2.0)
    assert result["status"] == "degenerate" and result["equivalent"] is None
    assert "no variation" in result["status_reason"]
    one = _claims([("a", "p1", 50.0), ("a", "p1", 52.0), ("b", "p2", 51.0), ("b", "p3", 49.0)])
    result = tost(one, "a", "b", 2.0)
    assert result["status"] == "degenerate" and not result["paired"]
    assert "at least 2" in result["status_reason"]


def test_runs_of_other_pools_or_scenarios_are_not_paired_or_mixed(runs, tmp_path: Path,
                                                                   small_pool: Path) -> None:
    from agents.personas.avatars import generate_pool

    other = tmp_path / "other-pool"
    generate_pool(14, 7, other, seed=11, size=64)  # the same ids, other images
    run = _run(tmp_path, other, "other", "image+text", 4, {})
    result = _analyze(runs["text"], run, "text:image+text")
    assert not result["paired"] and result["status"] == "ok"  # Welch over persona means
    config = tmp_path / "price.toml"
    config.write_text(f'''scenario = "price-bargain"
[personas]
pool = "{small_pool}"
[design]
kind = "factorial"
levels = 2
per_level = 1
[agents.default]
kind = "concession"
[execution]
progress = "none"
''')
    assert cli("run", str(config), "--out", str(tmp_path / "price")).returncode == 0
    mixed = cli("analyze", str(runs["text"]), "--with", str(tmp_path / "price"),
                "--equivalence", "text:both-images", "--margin", "2")
    assert mixed.returncode == 2 and "--with" in mixed.stderr and "scenarios" in mixed.stderr


def _simulated(rng, diff: float, personas: int = 20, claims: int = 8) -> pd.DataFrame:
    import numpy as np

    effect = rng.normal(0, 3, personas)
    rows = []
    for cond, shift in (("a", 0.0), ("b", diff)):
        for p in range(personas):
            for x in 50 + effect[p] + shift + rng.normal(0, 4, claims):
                rows.append((cond, f"p{p}", float(x)))
    return _claims(rows)


def test_tost_holds_its_level_at_the_margin_and_has_power_inside_it() -> None:
    """Over repeated seeds: a true difference at the margin is called equivalent at most at
    about alpha; no difference is called equivalent nearly always."""
    import numpy as np

    rng = np.random.default_rng(15)
    at_margin = [tost(_simulated(rng, 2.0), "a", "b", 2.0)["equivalent"] for _ in range(300)]
    assert np.mean(at_margin) <= 0.05 + 0.035  # nominal 5%, with simulation error
    inside = [tost(_simulated(rng, 0.0), "a", "b", 2.0)["equivalent"] for _ in range(100)]
    assert np.mean(inside) > 0.9
