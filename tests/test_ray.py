"""Scale-out: the same tournament on Ray gives the local executor's tables.

One test lets the command start its own local Ray (2 CPUs). The others connect to a small Ray
head started once for this module (`ray start --head --block`, stopped at the end), as a
cluster given by `ray_address` is used; connecting costs about a second, starting several.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import cli, match_table, turn_table
from tests.llm_helpers import chats
from tests.openai_server import LoopbackServer

# its module-scoped fixtures are built once: under pytest-xdist the file runs on one worker
pytestmark = pytest.mark.xdist_group("test_ray")

needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                               reason="Ray is not installed (pip install 'persona-arena[ray]')")
# token auth is Ray's default for a local cluster; a client given an address must ask for it
RAY_ENV = {"PERSONA_ARENA_RAY_CPUS": "2", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}
SECRET = "sk-persona-arena-ray-test-5d1c"

SURROGATE = '''seed = 11
scenario = "ultimatum-4"
condition = "both-images"

[design]
{design}

[agents.default]
kind = "surrogate"
fit = "gpt-4o"
'''
FACTORIAL = 'kind = "factorial"\nlevels = 7\nper_level = 1\nrepetitions = 2'  # 98 matches
SWISS = 'kind = "swiss"\nlevels = 7\nrounds = 3\nrepetitions = 1'  # 21 matches in 3 rounds

LLM = '''seed = 3
scenario = "ultimatum-4"
condition = "both-images"

[design]
kind = "factorial"
levels = 2
per_level = 1
repetitions = 2

[agents.default]
kind = "llm"
model = "local"

[models.local]
base_url = "{base_url}"
model = "loopback-vlm"
retry_base_s = 0.01
retry_max_s = 0.05
'''


def write_config(folder: Path, pool: Path, body: str, executor: str, address: str | None = None,
                 name: str | None = None) -> Path:
    path = folder / (name or f"{executor}.toml")
    execution = f'\n[execution]\nexecutor = "{executor}"\nprogress = "none"\n'
    if address:
        execution += f'ray_address = "{address}"\n'
    path.write_text(body + execution + f'\n[personas]\npool = "{pool}"\nrating = "design"\n')
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a 2-CPU Ray head of our own; its nodes hold the test's API key, as a
    cluster's nodes must (keys are never shipped to workers)."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed")
    port = free_port()
    log = tmp_path_factory.mktemp("ray-head") / "head.log"
    env = {**os.environ, **RAY_ENV, "OPENAI_API_KEY": SECRET}
    ray_cli = Path(sys.executable).with_name("ray")
    # a temp dir of its own (short: Ray's socket paths live in it), so the head does not become
    # the cluster a plain `ray.init()` on this machine connects to
    temp_dir = tempfile.mkdtemp(prefix="ray-")
    with log.open("w") as out:
        head = subprocess.Popen(
            [str(ray_cli), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
             "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}",
             f"--dashboard-agent-listen-port={free_port()}"],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 90
        while "Ray runtime started" not in log.read_text():
            assert head.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()  # --block: the head stops the processes it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory, small_pool: Path) -> Path:
    """The reference: the factorial tournament on the local executor."""
    folder = tmp_path_factory.mktemp("local")
    config = write_config(folder, small_pool, SURROGATE.format(design=FACTORIAL), "local")
    result = cli("run", str(config), "--out", str(folder / "out"))
    assert result.returncode == 0, result.stderr
    db = folder / "out" / "arena.sqlite"
    assert len(match_table(db)) == 98
    return db


@needs_ray
def test_a_ray_started_by_the_command_gives_the_local_tables(
        tmp_path: Path, small_pool: Path, local_run: Path) -> None:
    config = write_config(tmp_path, small_pool, SURROGATE.format(design=FACTORIAL), "ray")
    result = cli("run", str(config), "--out", str(tmp_path / "out"), env=RAY_ENV)
    assert result.returncode == 0, result.stderr
    assert "98 matches run (98 ok, 0 failed)" in result.stdout
    db = tmp_path / "out" / "arena.sqlite"
    assert match_table(db) == match_table(local_run)
    assert turn_table(db) == turn_table(local_run)


@needs_ray
def test_ray_resumes_a_partial_store(tmp_path: Path, small_pool: Path, local_run: Path,
                                     ray_head: str) -> None:
    """A store as a killed run leaves it (matches missing, some failed) is finished on Ray."""
    out = tmp_path / "out"
    shutil.copytree(local_run.parent, out)
    conn = sqlite3.connect(out / "arena.sqlite")
    with conn:
        ids = [r[0] for r in conn.execute("SELECT match_id FROM matches ORDER BY match_id")]
        gone, failed = ids[::2], [i for i in ids[1::7] if i not in ids[::2]]
        conn.executemany("DELETE FROM turns WHERE match_id = ?", [(i,) for i in gone])
        conn.executemany("DELETE FROM matches WHERE match_id = ?", [(i,) for i in gone])
        conn.executemany("UPDATE matches SET status = 'failed', payoff_a = NULL, payoff_b = NULL, "
                         "error = 'TimeoutError: model' WHERE match_id = ?", [(i,) for i in failed])
    conn.close()
    rerun = len(gone) + len(failed)
    config = write_config(tmp_path, small_pool, SURROGATE.format(design=FACTORIAL), "ray",
                          ray_head)
    result = cli("run", str(config), "--out", str(out), "--resume", env=RAY_ENV)
    assert result.returncode == 0, result.stderr
    assert f"{rerun} matches run ({rerun} ok, 0 failed), {98 - rerun} already stored" \
        in result.stdout
    db = out / "arena.sqlite"
    assert match_table(db) == match_table(local_run)
    assert turn_table(db) == turn_table(local_run)


@needs_ray
def test_swiss_rounds_on_ray_give_the_local_tables(tmp_path: Path, small_pool: Path,
                                                   ray_head: str) -> None:
    body = SURROGATE.format(design=SWISS)
    local = cli("run", str(write_config(tmp_path, small_pool, body, "local")), "--out",
                str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    ray = cli("run", str(write_config(tmp_path, small_pool, body, "ray", ray_head)), "--out",
              str(tmp_path / "ray"), env=RAY_ENV)
    assert ray.returncode == 0, ray.stderr
    assert "21 matches run (21 ok, 0 failed)" in ray.stdout
    assert match_table(tmp_path / "ray" / "arena.sqlite") == \
        match_table(tmp_path / "local" / "arena.sqlite")
    assert turn_table(tmp_path / "ray" / "arena.sqlite") == \
        turn_table(tmp_path / "local" / "arena.sqlite")


GROUPS = '''seed = 4
scenario = "majority-division"
condition = "none"

[design]
kind = "groups"
seats = 3
matches = 6

[agents.default]
kind = "concession"
'''
SEATS = ("SELECT match_id, seat, persona_id, agent, role, level, payoff, share FROM seats "
         "ORDER BY match_id, seat")


@needs_ray
def test_three_seat_groups_on_ray_store_the_local_seats(tmp_path: Path, small_pool: Path,
                                                        ray_head: str) -> None:
    from tests.helpers import table

    local = cli("run", str(write_config(tmp_path, small_pool, GROUPS, "local")), "--out",
                str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    ray = cli("run", str(write_config(tmp_path, small_pool, GROUPS, "ray", ray_head)), "--out",
              str(tmp_path / "ray"), env=RAY_ENV)
    assert ray.returncode == 0, ray.stderr
    assert "18 matches run (18 ok, 0 failed)" in ray.stdout
    seats = table(tmp_path / "ray" / "arena.sqlite", SEATS)
    assert len(seats) == 54 and seats == table(tmp_path / "local" / "arena.sqlite", SEATS)
    assert turn_table(tmp_path / "ray" / "arena.sqlite") == \
        turn_table(tmp_path / "local" / "arena.sqlite")


@needs_ray
def test_llm_agents_on_ray_call_the_model_and_fill_the_cache(
        tmp_path: Path, small_pool: Path, ray_head: str, loopback: LoopbackServer) -> None:
    """Workers call the model (with the cluster's key) and give the local executor's tables; the
    summary counts the workers' calls; they filled the driver's cache folder, so a rerun from it
    sends no request and gives the same tables again."""
    n_calls = 8 * 8  # 4 ordered pairs x 2 repetitions, 8 turns each
    body = LLM.format(base_url=loopback.base_url)
    env = {**RAY_ENV, "OPENAI_API_KEY": SECRET}
    local = cli("run", str(write_config(tmp_path, small_pool, body, "local")), "--out",
                str(tmp_path / "local"), "--json",
                env={**env, "PERSONA_ARENA_CACHE": str(tmp_path / "cache-local")})
    assert local.returncode == 0, local.stderr
    ray_env = {**env, "PERSONA_ARENA_CACHE": str(tmp_path / "cache-ray")}
    before = len(chats(loopback))  # the match calls (the vision probes left out)
    on_ray = cli("run", str(write_config(tmp_path, small_pool, body, "ray", ray_head)),
                 "--out", str(tmp_path / "ray"), "--json", env=ray_env)
    assert on_ray.returncode == 0, on_ray.stderr
    summary = json.loads(on_ray.stdout)
    assert summary["ok"] == 8 and summary["llm"]["requests"] == n_calls
    assert len(chats(loopback)) - before == n_calls
    replay = cli("run", str(tmp_path / "local.toml"), "--out", str(tmp_path / "replay"), "--json",
                 env=ray_env)
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout)["llm"]["cache_hits"] == n_calls
    assert len(chats(loopback)) - before == n_calls  # not one request more
    reference = tmp_path / "local" / "arena.sqlite"
    for out in ("ray", "replay"):
        assert match_table(tmp_path / out / "arena.sqlite") == match_table(reference)
        assert turn_table(tmp_path / out / "arena.sqlite") == turn_table(reference)


@needs_ray
def test_unreachable_ray_address_is_refused_before_anything_is_written(
        tmp_path: Path, small_pool: Path) -> None:
    config = write_config(tmp_path, small_pool, SURROGATE.format(design=FACTORIAL), "ray",
                          f"127.0.0.1:{free_port()}")
    result = cli("run", str(config), "--out", str(tmp_path / "out"), env=RAY_ENV, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "execution.ray_address" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_ray_executor_without_ray_names_the_extra(tmp_path: Path, small_pool: Path) -> None:
    """Without Ray installed (a stand-in package that fails to import): one line, exit 2."""
    shim = tmp_path / "shim" / "ray"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    config = write_config(tmp_path, small_pool, SURROGATE.format(design=FACTORIAL), "ray")
    result = cli("run", str(config), "--out", str(tmp_path / "out"),
                 env={"PYTHONPATH": str(shim.parent)})
    assert result.returncode == 2, result.stderr
    assert "pip install 'persona-arena[ray]'" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()
