"""Counterfactual audits (issue 15, items 1 and 2): `avatars generate --vary` renders each identity
with every value of the varied attributes and nothing else changed (manifest traits and pixels
outside the attribute's region); the counterfactual design seats every variant against the same
opponents in the same seats with the same seeds; a planted attribute effect is recovered within
its interval and an unplanted one is not flagged beyond the nominal rate."""
from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from agents.personas.avatar_traits import draw_traits
from agents.personas.avatar_variants import ATTRIBUTES, OWNS, describe
from agents.personas.avatars import generate_pool
from agents.personas.manifest import read_manifest
from analysis.counterfactual import attribute_effects
from tests.helpers import cli, table
from tests.llm_helpers import cli_here

SIZE = 280  # the padded python-avatars canvas, so regions are in its own coordinates


def _box(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), bool)
    mask[y0:y1, x0:x1] = True
    return mask


# Where an attribute may change pixels, from the python-avatars layout (280 x 280, the 264-wide
# canvas padded by 8 on each side): the rest of the image must stay identical. Where the
# attribute's reach is the whole head (hair falls to the shoulders, a beard takes the hair's
# colour, the background shows around any outline), a region it never reaches is named instead.
MAY_CHANGE = {
    "skin": _box(40, 36, 240, 280),  # the body: face, ears, neck, chest
    "facial_hair": _box(78, 96, 204, 220),  # the lower face and chin
    "glasses": _box(72, 85, 208, 140),  # the eye band
    "clothing_color": _box(0, 180, 280, 280),  # below the chin
}
NEVER_CHANGES = {
    "hair": _box(125, 140, 155, 175),  # nose and mouth
    "hair_color": _box(125, 116, 155, 132),  # the eyes
    "background": _box(120, 100, 160, 175),  # the middle of the face
}
PIXEL_ATTRIBUTES = [*MAY_CHANGE, *NEVER_CHANGES]


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def _manifest(pool: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((pool / "manifest.csv").read_text())))


@pytest.mark.parametrize("attribute", [*PIXEL_ATTRIBUTES, "level"])
def test_variants_differ_only_in_the_varied_attribute(tmp_path: Path, attribute: str) -> None:
    pool = tmp_path / "pool"
    entries = generate_pool(3, 7, pool, seed=11, size=SIZE, vary=(attribute,))
    rows = _manifest(pool)
    by_identity: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_identity[row["identity"]].append(row)
    values = 7 if attribute == "level" else len(ATTRIBUTES[attribute])
    assert len(by_identity) == 3 and all(len(v) == values for v in by_identity.values())
    column = f"attr_{attribute}"
    fixed = [c for c in rows[0] if c not in {"persona_id", "image", "sha256", "description",
                                             column, *OWNS[attribute]}
             and not (attribute == "level" and c == "level")]
    for identity, variants in by_identity.items():
        assert len({v[column] for v in variants}) == values  # every value once
        for v in variants[1:]:
            assert {c: v[c] for c in fixed} == {c: variants[0][c] for c in fixed}, identity
        if attribute == "level":
            assert sorted(int(v["level"]) for v in variants) == list(range(1, 8))
            continue
        base = _pixels(pool / variants[0]["image"])
        for v in variants[1:]:
            changed = np.abs(_pixels(pool / v["image"]) - base).sum(axis=2) > 0
            assert changed.any(), f"{v['persona_id']}: the attribute does not show"
            far = ~MAY_CHANGE[attribute] if attribute in MAY_CHANGE else NEVER_CHANGES[attribute]
            assert not changed[far].any(), (f"{v['persona_id']}: {int(changed[far].sum())} "
                                            f"pixels changed outside {attribute}'s region")
    # the reader fills the persona's identity and attributes
    persona = read_manifest(pool, verify="none")[0].to_persona()
    assert persona.identity == entries[0].extra["identity"]
    assert persona.attributes == {attribute: entries[0].extra[column]}


def test_descriptions_are_written_from_the_traits(tmp_path: Path) -> None:
    # the generator's own words come back from the traits alone (a failing case names itself)
    for index in range(300):
        traits = draw_traits(5, index, index % 7 + 1, 7)
        assert describe(traits) == traits.description, index
    generate_pool(2, 3, tmp_path / "p", seed=2, size=32, vary=("skin", "glasses"))
    for row in _manifest(tmp_path / "p"):
        skin = row["attr_skin"].replace("dark_brown", "dark brown").replace(
            "black", "very dark brown")
        assert f"{skin} skin" in row["description"]
        assert ("glasses" in row["description"]) == (row["attr_glasses"] != "none")


def test_vary_is_checked_and_bounded(tmp_path: Path) -> None:
    too_many = cli("avatars", "generate", "--n", "3000", "--vary", "skin,hair,level",
                   "--out", str(tmp_path / "x"))
    assert too_many.returncode == 2
    assert too_many.stderr.count("\n") == 1 and "1,176,000 avatars (at most 100,000)" in too_many.stderr
    unknown = cli("avatars", "generate", "--n", "2", "--vary", "skin,nose", "--out",
                  str(tmp_path / "y"))
    assert unknown.returncode == 2 and "unknown attribute 'nose'" in unknown.stderr
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


# -- the design and the planted effect, end to end ------------------------------------------
PLANTED = 8.0  # dollars of $100: skin "black" claims 8 more than skin "tanned"; glasses nothing
RATED = 1.0  # the panel rates round glasses 1 point higher; skin not at all


def _config(tmp: Path, pool: Path, seed: int = 1, agents: str = "") -> Path:
    path = tmp / f"cf{seed}.toml"
    path.write_text(f'''seed = {seed}
scenario = "ultimatum-4"
condition = "text"
[personas]
pool = "{pool}"
ratings_file = "ratings.csv"
[design]
kind = "counterfactual"
levels = 7
opponents = 3
{agents or f"""[agents.default]
kind = "tests.planted_agents:Planted"
options = {{ attribute_shift = {{ skin = {{ black = {PLANTED} }} }} }}"""}
[execution]
progress = "none"
workers = 0
''')
    return path


@pytest.fixture(scope="module")
def cf_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("cf")
    pool = tmp / "pool"
    made = cli("avatars", "generate", "--n", "8", "--levels", "7", "--vary", "skin,glasses",
               "--out", str(pool), "--size", "32")
    assert made.returncode == 0, made.stderr
    # a panel's ratings: 1 point higher with round glasses, an identity's own level, noise
    lines = ["persona_id,rater,score"]
    for e in read_manifest(pool, verify="none"):
        u = int(hashlib.sha256(e.persona_id.encode()).hexdigest()[:8], 16) / 2 ** 32
        own = int(e.extra["identity"][1:]) % 3 * 0.5
        score = 3.0 + own + (RATED if e.extra["attr_glasses"] == "round" else 0.0) + u - 0.5
        lines.append(f"{e.persona_id},panel,{score:.4f}")
    (tmp / "ratings.csv").write_text("\n".join(lines) + "\n")
    run = tmp / "run"
    # the first command ran as a user runs it (a fresh process); the rest run in this one
    result = cli_here("run", str(_config(tmp, pool)), "--out", str(run))
    assert result.returncode == 0, result.stderr
    analyzed = cli_here("analyze", str(run), "--json")
    assert analyzed.returncode == 0, analyzed.stderr
    return run, json.loads(analyzed.stdout)


def test_variants_meet_the_same_opponents_in_the_same_seats_with_the_same_seeds(cf_run) -> None:
    run, _ = cf_run
    identity = dict(table(run / "arena.sqlite", "SELECT persona_id, identity FROM personas"))
    cells: dict[tuple, set] = defaultdict(set)
    variants: dict[str, set] = defaultdict(set)
    rows = table(run / "arena.sqlite", "SELECT match_id, persona_a, persona_b, seed FROM matches")
    for _, a, b, _ in rows:
        for persona in (a, b):
            variants[identity[persona]].add(persona)
    for match_id, a, b, seed in rows:
        owner = match_id.split("-")[2]  # counterfactual-r1-<identity>-...
        seat = "a" if identity[a] == owner else "b"
        variant, opponent = (a, b) if seat == "a" else (b, a)
        assert identity[variant] == owner and identity[opponent] != owner
        cells[(owner, opponent, seat, seed)].add(variant)
    for (owner, _, _, _), played in cells.items():  # each cell: every variant, one seed
        assert played == variants[owner]
    per_owner = defaultdict(set)
    for owner, opponent, seat, _ in cells:
        per_owner[owner].add((opponent, seat))
    assert all(len(v) == 6 for v in per_owner.values())  # 3 opponents x 2 seats
    assert len({(o, opp, s) for o, opp, s, _ in cells}) == len(cells)  # one seed per cell


def test_a_planted_attribute_effect_is_recovered_and_an_unplanted_one_is_not(cf_run) -> None:
    _, summary = cf_run
    rows = summary["counterfactual"]["rows"]
    black = next(r for r in rows if r["outcome"] == "claim_share" and r["value"] == "black")
    assert black["status"] == "ok" and black["ci_low"] < PLANTED / 100 < black["ci_high"]
    assert black["significant"]
    glasses = [r for r in rows if r["attribute"] == "glasses" and r["outcome"] != "rating:panel"]
    assert glasses and not any(r["significant"] for r in glasses)
    assert summary["counterfactual"]["identities"] == 8
    rated = {(r["attribute"], r["value"]): r for r in rows if r["outcome"] == "rating:panel"}
    assert rated[("glasses", "round")]["ci_low"] < RATED < rated[("glasses", "round")]["ci_high"]
    assert rated[("glasses", "round")]["significant"]
    assert not any(r["significant"] for (a, _), r in rated.items() if a == "skin")


def test_the_report_shows_the_contrasts(cf_run) -> None:
    run, _ = cf_run
    assert cli_here("report", str(run)).returncode == 0
    page = (run / "report.html").read_text()
    section = page[page.index('<section id="counterfactual">'):]
    section = section[:section.index("</section>")]
    assert "8 identities" in section and "rating:panel" in section and "skin" in section
    assert section.count("<tr>") == 1 + 3 * (6 + 3)  # header, 3 outcomes x (6 skin + 3 glasses)


def _simulated(rng: np.random.Generator, identities: int, shift: float) -> tuple[pd.DataFrame,
                                                                                 pd.DataFrame]:
    """Outcome rows of a skin x glasses set: identity effects, planted skin shift, an
    identity's own response to glasses (mean 0: what clustering by identity must absorb; rows
    taken as independent would flag it far too often), noise."""
    variants, rows = [], []
    for i in range(identities):
        base = rng.normal(0.55, 0.05)
        own = dict(zip(("none", "round", "prescription_1"), rng.normal(0, 0.02, 3)))
        for skin in ("tanned", "black"):
            for glasses in ("none", "round", "prescription_1"):
                pid = f"i{i}-{skin}-{glasses}"
                variants.append({"persona_id": pid, "identity": f"i{i}", "skin": skin,
                                 "glasses": glasses})
                mean = base + own[glasses] + (shift if skin == "black" else 0)
                for y in mean + rng.normal(0, 0.04, 6):
                    rows.append({"persona_id": pid, "y": y})
    return pd.DataFrame(rows), pd.DataFrame(variants)


def test_over_repeated_seeds_the_rate_of_false_flags_is_nominal() -> None:
    # 100 repeats is the point of the test (a rate)
    flagged, covered, repeats = _false_flags_and_coverage(repeats=100)
    assert flagged / repeats <= 0.11  # nominal 0.05 family-wise; 0.11 is ~2.8 binomial SEs
    assert covered / repeats >= 0.88  # a 95% interval


def _false_flags_and_coverage(repeats: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(7)
    flagged, covered = 0, 0
    for _ in range(repeats):
        rows, variants = _simulated(rng, identities=10, shift=0.03)
        result = attribute_effects(rows, variants, "claim_share")
        glasses = [r for r in result if r["attribute"] == "glasses"]
        flagged += any(r["significant"] for r in glasses)  # family-wise, Holm
        skin = next(r for r in result if r["attribute"] == "skin")
        covered += skin["ci_low"] < 0.03 < skin["ci_high"]
    return flagged, covered, repeats


def test_degenerate_contrasts_say_so() -> None:
    variants = pd.DataFrame({"persona_id": ["i1-a", "i1-b", "i2-a", "i2-b"],
                             "identity": ["i1", "i1", "i2", "i2"], "glasses": ["none", "round"] * 2})
    same = pd.DataFrame({"persona_id": variants["persona_id"], "y": [1.0, 2.0, 3.0, 4.0]})
    (row,) = attribute_effects(same, variants, "y")
    assert row["status"] == "degenerate" and row["ci_low"] is None and not row["significant"]
    one = attribute_effects(same[same["persona_id"].str.startswith("i1")], variants, "y")
    assert one[0]["status"] == "too few data" and one[0]["p"] is None


def test_holm_agrees_with_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    from analysis.counterfactual import holm

    rng = np.random.default_rng(7)
    for size in (1, 2, 5, 30):
        p = rng.uniform(0, 0.2, size) ** 2
        p[: size // 3] = p[0]  # ties
        expected = multipletests(p, alpha=0.05, method="holm")[1]
        assert np.allclose(holm(list(p)), expected, rtol=0, atol=1e-12)
