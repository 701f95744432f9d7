"""Worker processes end when the process that started them dies, however it dies (SIGKILL).

Two ways a worker could outlive its parent: the parent is SIGKILLed mid-run (end of input
usually tells the worker), and the worker's input pipe stays open after the parent's death
because another process holds its write end (then only the death signal and the parent-id
watchdog of arena.lifeline can end it). Both are tried, for offline and LLM workers.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arena.executors.workers import WORKER_MODULE
from tests.helpers import ROOT, live_processes
from tests.test_llm import env_for, llm_config
from tests.test_run_config import write_config

OFFLINE = '''seed = 4
scenario = "ultimatum-4"
[design]
kind = "factorial"
levels = 7
per_level = 2
repetitions = 400
[agents.default]
kind = "surrogate"
[execution]
progress = "none"
workers = 2
'''


def _children(pid: int) -> list[int]:
    return [p for p, state, ppid, _ in live_processes() if ppid == pid and state != "Z"]


def _workers_of(pid: int, module: str, timeout: float = 60.0) -> list[int]:
    """The worker processes (`python -m module`) `pid` started, once there are two."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in _children(pid) if module in _cmdline(c)]
        if len(found) >= 2:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no {module} workers started")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _gone(pids: list[int], timeout: float = 20.0) -> list[int]:
    """The pids still alive (not zombies) after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        alive = {p for p, state, _, _ in live_processes() if state != "Z"}
        left = [p for p in pids if p in alive]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _kill_all(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def test_sigkill_of_an_offline_run_ends_its_workers(tmp_path: Path, small_pool: Path) -> None:
    config = write_config(tmp_path, small_pool, OFFLINE)
    run = subprocess.Popen([sys.executable, "-m", "arena.cli", "run", str(config), "--out",
                            str(tmp_path / "out")], cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    workers = _workers_of(run.pid, WORKER_MODULE)
    run.send_signal(signal.SIGKILL)
    run.wait()
    left = _gone(workers)
    _kill_all(left)
    assert not left, "worker processes outlived the run they played for"


# A parent that starts two workers, then hands their input pipes to a sleeping grandchild
# (as a child that inherits its parent's descriptors would), so that the pipes outlive it.
HOLDER = r'''
import os, pickle, subprocess, sys, time
from arena.executors.child import start_child
module, setup = sys.argv[1], sys.argv[2]
kids = [start_child(module) for _ in range(2)]
fds = [stdin.fileno() for _, stdin, _ in kids]
for _, stdin, _ in kids:
    if setup != "-":
        stdin.write(open(setup, "rb").read()); stdin.flush()
holder = subprocess.Popen(["sleep", "120"], pass_fds=fds)
print(holder.pid, *[proc.pid for proc, _, _ in kids], flush=True)
time.sleep(120)
'''


def _orphan_test(module: str, setup: Path | None, env: dict[str, str]) -> None:
    parent = subprocess.Popen([sys.executable, "-c", HOLDER, module, str(setup or "-")],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    assert parent.stdout is not None
    holder, *workers = (int(x) for x in parent.stdout.readline().split())
    try:
        time.sleep(1.0)  # the workers are up and bound to their parent
        assert _gone(workers, timeout=0) == workers, "a worker ended before its parent"
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        left = _gone(workers, timeout=30)
        _kill_all(left)
        assert not left, f"{module} workers outlived their parent (their input pipe is open)"
    finally:
        _kill_all([holder])


def test_an_offline_worker_ends_with_its_parent_though_its_pipe_stays_open() -> None:
    _orphan_test(WORKER_MODULE, None, {})


def test_an_llm_worker_ends_with_its_parent_though_its_pipe_stays_open(
        tmp_path: Path, small_pool: Path, loopback_factory) -> None:
    import pickle

    from arena.config import load_config
    from arena.executors.remote import worker_setup
    from arena.tournament import plan_run

    server = loopback_factory(latency_ms=2000)  # matches in flight when the parent dies
    config_path = llm_config(tmp_path, small_pool, server.base_url)
    env = env_for(tmp_path)
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        config, base = load_config(config_path)
        plan = plan_run(config, base, check_models=False)
        plan.factory.llm.close()
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    setup = tmp_path / "setup.pickle"
    # what a worker reads: its setup, then a job (matches in flight when the parent dies)
    setup.write_bytes(pickle.dumps(worker_setup(plan, 2, 4)) + pickle.dumps(plan.specs[:4]))
    _orphan_test(WORKER_MODULE, setup, env)
