"""The one way to start a worker process, to talk to it and to end it.

Workers are plain `python -m MODULE` children talking pickles over their stdin and stdout (not
multiprocessing, whose spawn would re-run an unguarded user script). A worker whose parent dies
reads end-of-file on its input and exits, or, however the parent died, is ended by its lifeline
(arena.lifeline: a death signal and a parent-id watchdog).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO


def start_child(module: str) -> tuple[subprocess.Popen[bytes], IO[bytes], IO[bytes]]:
    """`python -m module` with pipes on its stdin and stdout, able to import our packages
    wherever the parent found them."""
    root = str(Path(__file__).resolve().parents[2])  # where `arena` is importable from
    from arena.lifeline import child_env

    env = {**os.environ, **child_env(),
           "PYTHONPATH": os.pathsep.join(filter(None, [root, *_added_paths(),
                                                       os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    return proc, proc.stdin, proc.stdout


def _added_paths() -> list[str]:
    """Folders this process put on sys.path beyond the interpreter's own (a notebook's, a user
    agent's module folder): a config's `kind = "module:Class"` must import in workers too."""
    own = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return [p for p in sys.path if p and os.path.isdir(p)
            and not any(os.path.realpath(p).startswith(prefix + os.sep) or
                        os.path.realpath(p) == prefix for prefix in own)]


def worker_outbox() -> IO[bytes]:
    """In a worker: the pipe to the parent (our stdout), with stdout itself sent to stderr so
    nothing printed by accident lands in the results; Ctrl-C is left to the parent, which stops
    its workers itself."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    outbox = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return outbox


def end_child(proc: subprocess.Popen[bytes], stdin: IO[bytes], kill: bool, wait_s: float) -> None:
    """End a worker process: killed at once (interrupted: it may be blocked writing rows nobody
    will read), or told by the end of its input and given `wait_s` to exit."""
    if kill:
        proc.kill()
    try:
        stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
