"""A worker process ends when the process that started it dies, however it dies (SIGKILL too).

End of input on the worker's stdin is the usual signal, but a pipe can outlive its writer (a
child of the parent that inherited it) and a worker busy playing reads nothing. So each worker
also asks Linux to send it SIGTERM when its parent dies (prctl PR_SET_PDEATHSIG, via ctypes),
and a watchdog thread checks once a second that its parent is still the process that started
it (re-parenting to init or a subreaper gives it another parent id): on any platform.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

PARENT_ENV = "PERSONA_ARENA_PARENT_PID"  # set by the parent for the child it starts
_PR_SET_PDEATHSIG = 1
POLL_S = 1.0


def child_env() -> dict[str, str]:
    """What a parent adds to a worker's environment so the worker knows whom to outlive not."""
    return {PARENT_ENV: str(os.getpid())}


def _death_signal(signum: int) -> bool:
    """Linux: have the kernel send `signum` to this process when its parent dies."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def bind_to_parent(on_orphan: Callable[[], None] | None = None) -> None:
    """In a worker: end (or call `on_orphan`, which must end us soon) when the parent dies.

    Without `on_orphan`, SIGTERM's default action ends the process at once; with it, SIGTERM
    and the watchdog both call it (an LLM worker first caches the replies it already bought)."""
    expected = int(os.environ.get(PARENT_ENV) or os.getppid())
    called = threading.Event()

    def orphaned() -> None:
        if not called.is_set():
            called.set()
            if on_orphan is None:
                os._exit(1)
            on_orphan()

    if on_orphan is not None:
        signal.signal(signal.SIGTERM, lambda signum, frame: orphaned())
    _death_signal(signal.SIGTERM)
    if os.getppid() != expected:  # the parent died before the death signal was set
        orphaned()

    def watch() -> None:
        while os.getppid() == expected:
            time.sleep(POLL_S)
        orphaned()

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
