"""Agent kinds registered from outside the package: `kind = "module:Class"` (beside the config,
or on the Python path) and entry points of the group `persona_arena.agents`, played by `run`
like the built-ins; refused with one line when they cannot be used."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import cli, table

# a user's negotiator: a fixed claim (an option), and it says in its text what it was shown
AGENT_MODULE = '''
from scenarios.moves import ACCEPT, PROPOSE, Move, Reply


class Steady:
    def __init__(self, seat, claim=70.0):
        self.claim = claim
        self.rng = seat.rng
        self.seen = (f"own={seat.persona.level if seat.persona else None} "
                     f"opp={seat.opponent.level if seat.opponent else None} "
                     f"side={seat.side}")
        self.name = "steady"

    async def act(self, request):
        if request.role == "proposer":
            return Reply(Move(PROPOSE, self.claim), f"{self.seen} r={self.rng.random():.6f}")
        return Reply(Move(ACCEPT), self.seen)


def not_a_class(seat):
    return None


class NoAct:
    def __init__(self, seat):
        pass


class SyncAct:
    def __init__(self, seat):
        pass

    def act(self, request):
        return None
'''


def _config(folder: Path, pool: Path, kind: str, extra: str = "",
            condition: str = "both-images") -> Path:
    path = folder / "config.toml"
    path.write_text(textwrap.dedent(f"""\
        seed = 5
        scenario = "ultimatum-4"
        condition = "{condition}"
        [personas]
        pool = "{pool}"
        [design]
        kind = "factorial"
        levels = 7
        per_level = 1
        [agents.a]
        kind = "{kind}"
        {extra}
        [agents.b]
        kind = "surrogate"
        """))
    return path


def _claims(db: Path, agent_like: str) -> list[float]:
    return [row[0] for row in table(db, (
        "SELECT t.claim FROM turns t JOIN matches m USING(match_id) WHERE t.move_kind = "
        "'propose' AND (CASE t.speaker WHEN 'a' THEN m.agent_a ELSE m.agent_b END) LIKE "
        f"'{agent_like}'"))]


def test_a_module_beside_the_config_plays_in_run(tmp_path: Path, small_pool: Path) -> None:
    (tmp_path / "steady_agents.py").write_text(AGENT_MODULE)
    config = _config(tmp_path, small_pool, "steady_agents:Steady",
                     "[agents.a.options]\nclaim = 64.0")
    out = tmp_path / "run"
    result = cli("run", str(config), "--out", str(out), cwd=Path("/"))
    assert result.returncode == 0, result.stderr
    db = out / "arena.sqlite"
    assert table(db, "SELECT COUNT(*), SUM(status = 'ok') FROM matches")[0] == (98, 98)
    labels = {r[0] for r in table(db, "SELECT agent_a FROM matches UNION "
                                      "SELECT agent_b FROM matches")}
    assert labels == {"steady_agents:Steady(claim=64.0)", "surrogate:gpt-4o"}
    claims = _claims(db, "steady_agents:%")
    assert claims and set(claims) == {64.0}
    assert "steady_agents:Steady(claim=64.0):" in result.stdout  # the summary, by agent
    # both-images: it was shown its own and its opponent's level, as the condition says
    texts = [r[0] for r in table(db, "SELECT text FROM turns WHERE text LIKE 'own=%'")]
    assert texts and all("opp=None" not in t for t in texts)


def test_the_condition_decides_what_a_user_agent_sees(tmp_path: Path, small_pool: Path) -> None:
    (tmp_path / "steady_agents.py").write_text(AGENT_MODULE)
    config = _config(tmp_path, small_pool, "steady_agents:Steady", condition="self-only")
    out = tmp_path / "run"
    assert cli("run", str(config), "--out", str(out)).returncode == 0
    texts = [r[0] for r in table(out / "arena.sqlite",
                                 "SELECT text FROM turns WHERE text LIKE 'own=%'")]
    assert texts and all("opp=None" in t and "own=None" not in t for t in texts)


def test_a_module_on_the_python_path_plays_in_worker_processes(
        tmp_path: Path, small_pool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process (the API), with the matches played by a worker process: the worker
    imports the module from the folder this process put on sys.path, and the record is the
    one a run in this process makes."""
    import arena

    code = tmp_path / "code"
    code.mkdir()
    (code / "steady_on_path.py").write_text(AGENT_MODULE)
    monkeypatch.syspath_prepend(str(code))
    data = {"seed": 5, "scenario": "ultimatum-4", "personas": {"pool": str(small_pool)},
            "design": {"kind": "factorial", "levels": 7, "per_level": 1},
            "agents": {"a": {"kind": "steady_on_path:Steady"}, "b": {"kind": "surrogate"}}}
    records = []
    for workers in (1, 0):
        data["execution"] = {"workers": workers, "progress": "none"}
        result = arena.Tournament.from_dict(data, out=tmp_path / f"w{workers}").run()
        assert result.summary is not None and result.summary.ok == 98
        assert result.summary.workers == workers
        records.append(result.turns.drop(columns=["latency_ms"]))
    pd.testing.assert_frame_equal(records[0], records[1])


def test_an_entry_point_names_a_kind(tmp_path: Path, small_pool: Path) -> None:
    """An installed distribution's entry point in `persona_arena.agents` (here a dist-info
    folder on PYTHONPATH, which is what installing writes)."""
    site = tmp_path / "site"
    (site / "steady_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "steady_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: steady-plugin\nVersion: 1.0\n")
    (site / "steady_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        "[persona_arena.agents]\nsteady = steady_plugin:Steady\n")
    (site / "steady_plugin.py").write_text(AGENT_MODULE)
    config = _config(tmp_path, small_pool, "steady")
    out = tmp_path / "run"
    result = cli("run", str(config), "--out", str(out), env={"PYTHONPATH": f"{site}"})
    assert result.returncode == 0, result.stderr
    assert set(_claims(out / "arena.sqlite", "steady")) == {70.0}
    # without the distribution, the name is unknown, and the message lists what is known
    missing = cli("run", str(config), "--out", str(tmp_path / "run2"))
    assert missing.returncode == 2
    assert "field 'agents.a.kind': unknown kind 'steady'" in missing.stderr
    assert "surrogate" in missing.stderr and "package.module:Class" in missing.stderr


@pytest.mark.parametrize(("kind", "extra", "message"), [
    ("no_such_module:Steady", "", "cannot import module 'no_such_module'"),
    ("steady_agents:Missing", "", "module 'steady_agents' has no 'Missing'"),
    ("steady_agents:not_a_class", "", "is a function, not a negotiator class"),
    ("steady_agents:NoAct", "", "is not a negotiator (it needs `async def act"),
    ("steady_agents:SyncAct", "", "is not a negotiator (it needs `async def act"),
    ("steady_agents:Steady", "[agents.a.options]\nspeed = 3", "field 'agents.a.options': "
                                                              "steady_agents:Steady does not take"),
    ("steady agents", "", "is not an agent kind"),
    ("steady_agents:", "", "is not an agent kind"),
])
def test_an_unusable_kind_is_refused_in_one_line(tmp_path: Path, small_pool: Path, kind: str,
                                                 extra: str, message: str) -> None:
    (tmp_path / "steady_agents.py").write_text(AGENT_MODULE)
    config = _config(tmp_path, small_pool, kind, extra)
    out = tmp_path / "run"
    result = cli("run", str(config), "--out", str(out))
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()  # refused before anything was written


def test_options_belong_to_user_kinds_only(tmp_path: Path, small_pool: Path) -> None:
    config = _config(tmp_path, small_pool, "random", "[agents.a.options]\nx = 1")
    result = cli("run", str(config), "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "field 'agents.a.options': only a user's kind takes options" in result.stderr
