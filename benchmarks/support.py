"""What every benchmark needs: the machine, the load on it, scratch folders, placeholder pools,
child processes measured with `wait4`, and whether the LLM negotiator is there to measure."""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("persona-arena", "negmas", "autogen-ext", "autogen-core", "openai", "httpx",
            "httpx2", "pydantic", "numpy", "pillow", "ray")  # those installed are reported
NEEDS_LLM = "needs the LLM negotiator"

Log = Callable[[str], None]


def log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the machine -------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name == "negmas":
                versions[name] = "not installed"
    import sqlite3

    versions["sqlite"] = sqlite3.sqlite_version
    return versions


def machine() -> dict[str, Any]:
    return {"nproc": os.cpu_count(), "cpu": cpu_model(), "ram_gib": ram_gib(),
            "python": platform.python_version(), "platform": platform.platform(),
            "packages": package_versions()}


def load_average() -> float | None:
    """The 1-minute load average: other work on the machine skews wall-clock figures."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


# -- scratch space -----------------------------------------------------------------------------
@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A fresh temporary folder, removed afterwards (set BENCH_KEEP=1 to keep it)."""
    path = Path(tempfile.mkdtemp(prefix=f"persona-arena-bench-{prefix}-"))
    try:
        yield path
    finally:
        if os.environ.get("BENCH_KEEP"):
            log_to_stderr(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def placeholder_pool(folder: Path, n: int, levels: int = 7, side: int = 1) -> Path:
    """A pool of `n` tiny distinct PNGs (levels round-robin, as `avatars generate` assigns them)
    with a valid manifest: enough for agents that never look at the pixels."""
    from agents.personas.avatars import level_of, persona_id
    from agents.personas.image_files import sha256_bytes
    from agents.personas.manifest import PoolEntry, write_manifest
    from tests.openai_server import make_png

    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for i in range(n):
        pid, level = persona_id(i, n), level_of(i, levels)
        data = make_png(side, side, (i % 256, (i // 256) % 256, 7), {"aggression": str(level)})
        path = folder / f"{pid}.png"
        path.write_bytes(data)
        entries.append(PoolEntry(pid, path.resolve(), sha256_bytes(data), level,
                                 f"persona {pid} at aggressiveness level {level}"))
    write_manifest(folder, entries)
    return folder


# -- child processes ---------------------------------------------------------------------------
@dataclass
class ChildResult:
    output: Any  # the JSON the child printed last on stdout
    wall_s: float
    cpu_s: float  # user + system of the child and of its waited-for children
    maxrss_mib: float  # wait4's ru_maxrss: may include the parent's pages before exec
    tree_peak_mib: float  # the largest sampled sum of RSS over the child and its descendants
    returncode: int


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(root: int) -> list[int]:
    """`root` and every live process below it (Linux /proc), found through parent ids."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def run_child(args: list[str], cwd: Path = ROOT, timeout: float = 3600.0,
              env: dict[str, str] | None = None, sample_s: float = 0.05) -> ChildResult:
    """Run `python ARGS`; measure it with wait4 (CPU) and by sampling the RSS of its process
    tree (memory; sampling only where /proc exists)."""
    started = time.perf_counter()
    sampling = Path("/proc/self/status").exists()
    tree_peak = 0
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, *args], cwd=cwd, stdout=out, stderr=err,
                                env={**os.environ, **(env or {})})
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            if sampling:
                tree_peak = max(tree_peak, sum(_rss_kib(p) for p in _descendants(proc.pid)))
            time.sleep(sample_s)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child {' '.join(args)} exited {proc.returncode}:\n"
                           f"{stderr[-3000:]}")
    lines = [line for line in stdout.splitlines() if line.strip()]
    output = json.loads(lines[-1]) if lines else None
    return ChildResult(output, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0,
                       tree_peak / 1024.0, proc.returncode)


# -- the LLM negotiator --------------------------------------------------------------------------
def llm_status() -> str | None:
    """None when the LLM negotiator can be benchmarked, else why not (one line)."""
    try:
        import agents.negotiators.llm  # noqa: F401
        from arena.llm_context import build_llm_context  # noqa: F401
        from tests.openai_server import start_server_process  # noqa: F401
    except Exception as error:  # missing, or half-written while being built
        return (f"{NEEDS_LLM} (agents/llm.py and arena/llm_context.py): "
                f"{type(error).__name__}: {error}")
    return None


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds a live process has used so far (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def skipped(reason: str) -> dict[str, Any]:
    return {"skipped": reason}
