"""The counterfactual design with the user-facing planted agent (issue 15): a pool made through
the CLI, a `kind = "planted"` agent planting an attribute effect, `analyze --json` recovering it
and flagging no unplanted attribute; what `estimate` and `run --dry-run` count for such a run; a
game of three seats, every variant in every seat of the same tables; and a changed pool (a
persona's identity or attributes) is another run identity, so resuming into it is refused."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.helpers import cli, table
from tests.llm_helpers import cli_here

SHIFT = -10.0  # points of the demand share: dark_brown variants claim 10 less; glasses nothing
IDENTITIES, SKINS, GLASSES = 2, 7, 4
VARIANTS = SKINS * GLASSES  # of every identity: each skin tone with each pair of glasses


def _config(tmp: Path, pool: Path, *, scenario: str = "ultimatum-4", opponents: int = 1,
            repetitions: int = 1, agent: str = "", name: str = "cf.toml") -> Path:
    path = tmp / name
    path.write_text(f'''seed = 5
scenario = "{scenario}"
condition = "self-only"
[personas]
pool = "{pool}"
[design]
kind = "counterfactual"
levels = 7
opponents = {opponents}
repetitions = {repetitions}
{agent or f"""[agents.default]
kind = "planted"
planted = {{ base = 55, own = 1.6, attribute = {{ skin = {{ dark_brown = {SHIFT:g} }} }}, persona_sd = 2, noise_sd = 2 }}"""}
[execution]
progress = "none"
workers = 0
''')
    return path


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = tmp_path_factory.mktemp("cfp") / "pool"
    result = cli("avatars", "generate", "--n", str(IDENTITIES), "--levels", "7", "--vary",
                 "skin,glasses", "--out", str(made), "--size", "32")
    assert result.returncode == 0, result.stderr
    return made


def test_a_planted_agent_s_attribute_effect_is_recovered_by_analyze(tmp_path: Path,
                                                                    pool: Path) -> None:
    out = tmp_path / "run"
    run = cli_here("run", str(_config(tmp_path, pool, opponents=2)), "--out", str(out))
    assert run.returncode == 0, run.stderr
    planned = IDENTITIES * VARIANTS * 2 * 2  # 2 opponents, each met in both seats
    assert table(out / "arena.sqlite", "SELECT COUNT(*), SUM(status = 'ok') FROM matches") == [
        (planned, planned)]
    analyzed = cli_here("analyze", str(out), "--json")
    assert analyzed.returncode == 0, analyzed.stderr
    summary = json.loads(analyzed.stdout)
    assert summary["simulated"].startswith("SIMULATED")
    found = summary["counterfactual"]
    assert found["identities"] == IDENTITIES and found["attributes"] == ["glasses", "skin"]
    claims = {(r["attribute"], r["value"]): r for r in found["rows"]
              if r["outcome"] == "claim_share"}
    assert len(claims) == (SKINS - 1) + (GLASSES - 1)  # every value against its reference
    dark = claims.pop(("skin", "dark_brown"))
    assert dark["reference"] == "tanned" and dark["status"] == "ok"
    assert dark["ci_low"] < SHIFT / 100 < dark["ci_high"] and dark["ci_high"] < 0
    unplanted = [r for (attribute, _), r in claims.items() if attribute == "glasses"]
    assert len(unplanted) == GLASSES - 1 and not any(r["significant"] for r in unplanted)
    assert all(r["n_identities"] == IDENTITIES for r in found["rows"])


def test_estimate_and_dry_run_count_a_counterfactual_run(tmp_path: Path, pool: Path) -> None:
    import arena

    planted = _config(tmp_path, pool, opponents=2, repetitions=2)
    matches = IDENTITIES * VARIANTS * 2 * 2 * 2  # 2 opponents x 2 seats x 2 repetitions
    dry = cli("run", str(planted), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    info = json.loads(dry.stdout)
    assert info["matches"] == matches and info["design"] == "counterfactual"
    assert info["llm_calls"] == 0  # a planted agent calls no model
    assert not (tmp_path / "runs").exists() and not list(tmp_path.glob("**/arena.sqlite"))
    llm = _config(tmp_path, pool, opponents=1, name="llm.toml", agent='''[agents.default]
kind = "llm"
model = "local"
[models.local]
base_url = "http://127.0.0.1:9/v1"
model = "loopback-vlm"''')
    matches = IDENTITIES * VARIANTS * 1 * 2
    estimate = arena.Tournament.from_toml(llm, out=tmp_path / "never").estimate()
    # ultimatum-4: four rounds, each seat one move a round, both seats the LLM
    assert estimate["matches"] == matches and estimate["llm_calls"] == matches * 2 * 4
    text = cli_here("run", str(llm), "--dry-run", env={"OPENAI_API_KEY": "sk-dry"})
    assert text.returncode == 0, text.stderr
    assert f"{matches:,} matches of ultimatum-4 (counterfactual design, self-only)" in text.stdout
    assert f"up to {matches * 8:,} LLM calls" in text.stdout
    assert not (tmp_path / "never").exists()


def test_a_three_seat_game_seats_every_variant_at_the_same_tables(tmp_path: Path,
                                                                  pool: Path) -> None:
    tables = 2
    config = _config(tmp_path, pool, scenario="majority-division", opponents=tables)
    planned = IDENTITIES * VARIANTS * tables * 3  # each variant in each seat of each table
    dry = cli_here("run", str(config), "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["matches"] == planned
    out = tmp_path / "out"
    run = cli("run", str(config), "--out", str(out))
    assert run.returncode == 0, run.stderr
    db = out / "arena.sqlite"
    assert table(db, "SELECT COUNT(*), SUM(status = 'ok') FROM matches") == [(planned, planned)]
    identity = dict(table(db, "SELECT persona_id, identity FROM personas"))
    seed = dict(table(db, "SELECT match_id, seed FROM matches"))
    seated: dict[str, list[str]] = {}
    for match_id, seat, persona in table(db, "SELECT match_id, seat, persona_id FROM seats "
                                             "ORDER BY match_id, seat"):
        seated.setdefault(match_id, []).append(persona)
    assert len(seated) == planned and all(len(p) == 3 for p in seated.values())
    cells: dict[tuple, set[str]] = {}
    for match_id, personas in seated.items():
        owner = match_id.split("-")[2]  # counterfactual-r1-<identity>-t<table>-s<seat>-...
        mine = [i for i, p in enumerate(personas) if identity[p] == owner]
        assert len(mine) == 1  # one variant of the identity; the others are its table
        seat = mine[0]
        others = tuple(p for i, p in enumerate(personas) if i != seat)
        cells.setdefault((owner, seat, others, seed[match_id]), set()).add(personas[seat])
    variants = {i: {p for p, j in identity.items() if j == i} for i in set(identity.values())}
    assert all(played == variants[owner] for (owner, *_), played in cells.items())
    assert len(cells) == IDENTITIES * tables * 3  # one seed and one table per cell
    assert len({(o, s, t) for o, s, t, _ in cells}) == len(cells)
    analyzed = cli_here("analyze", str(out), "--json")
    assert analyzed.returncode == 0, analyzed.stderr
    rows = json.loads(analyzed.stdout)["counterfactual"]["rows"]
    claims = {(r["attribute"], r["value"]): r for r in rows if r["outcome"] == "claim_share"}
    dark = claims.pop(("skin", "dark_brown"))
    assert dark["status"] == "ok" and dark["ci_low"] < SHIFT / 100 < dark["ci_high"]
    assert not any(r["significant"] for (a, _), r in claims.items() if a == "glasses")


def test_teams_of_a_three_seat_counterfactual_are_refused_in_one_line(tmp_path: Path,
                                                                      pool: Path) -> None:
    config = _config(tmp_path, pool, scenario="majority-division", agent=(
        '[agents.a]\nkind = "planted"\n[agents.b]\nkind = "planted"\nplanted = { base = 60 }'))
    result = cli("run", str(config), "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "3-seat game seats [agents.default] in every seat" in result.stderr
    assert not (tmp_path / "out" / "arena.sqlite").exists()


def _rewrite_manifest(pool: Path, change) -> None:
    rows = list(csv.DictReader(io.StringIO((pool / "manifest.csv").read_text())))
    change(rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (pool / "manifest.csv").write_text(buffer.getvalue())


def _swap_glasses(rows: list[dict[str, str]]) -> None:
    first = rows[0]
    first["attr_glasses"] = next(v for v in ("round", "none") if v != first["attr_glasses"])


def _swap_identity(rows: list[dict[str, str]]) -> None:
    first = rows[0]
    first["identity"] = next(r["identity"] for r in rows if r["identity"] != first["identity"])


@pytest.mark.parametrize("change", [_swap_glasses, _swap_identity],
                         ids=["attributes", "identity"])
def test_a_changed_pool_is_another_run_identity_and_resume_is_refused(
        tmp_path: Path, pool: Path, change) -> None:
    import shutil

    from arena.config import load_config
    from arena.identity import canonical, request_identity
    from arena.tournament import plan_run

    mine = tmp_path / "pool"
    shutil.copytree(pool, mine)
    config = _config(tmp_path, mine)
    before = canonical(request_identity(plan_run(*load_config(config), check_models=False)))
    out = tmp_path / "out"
    first = cli_here("run", str(config), "--out", str(out))
    assert first.returncode == 0, first.stderr
    _rewrite_manifest(mine, change)
    after = canonical(request_identity(plan_run(*load_config(config), check_models=False)))
    assert after != before
    assert json.loads(after)["personas"]["pool_sha256"] != json.loads(
        before)["personas"]["pool_sha256"]
    stored = table(out / "arena.sqlite", "SELECT COUNT(*) FROM matches")
    resumed = cli("run", str(config), "--out", str(out), "--resume")
    assert resumed.returncode == 2 and len(resumed.stderr.strip().splitlines()) == 1
    assert "--resume: personas.pool_sha256 was" in resumed.stderr, resumed.stderr
    assert table(out / "arena.sqlite", "SELECT COUNT(*) FROM matches") == stored
