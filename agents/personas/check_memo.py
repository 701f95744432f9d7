"""A memo of pool images that passed the full check, so a run does not decode them all again.

Checking a pool decodes and hashes every image (about 1 ms a 256-px avatar: 5 s for the paper's
5,185 at the start of every run). An image that passed is recorded with its file's identity
(device, inode, size, modification and change times in nanoseconds) and its sha256; while the
file keeps that identity it is the same file, not rewritten since (the change time cannot be set
back by a user), so it is taken as checked. Any change, or a sha256 the manifest no longer
names, and it is checked in full again. The memo lives beside the reply cache (SQLite, shared
by concurrent runs); if it cannot be opened or written, images are simply checked every time.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

MEMO_FILE = "image-checks.sqlite"
PRUNE_ABOVE = 50_000  # records; past this, a save forgets files that no longer exist
_MODES = {"hash": 1, "full": 2}  # a full check also covers a hash-only one

Stamp = tuple[int, int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns


class ImageChecks:
    """Which image files passed which check, by file identity."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / MEMO_FILE
        self._known: dict[str, tuple[Stamp, str, int]] = {}
        self._new: list[tuple[str, Stamp, str, int]] = []
        self.conn: sqlite3.Connection | None = None
        self.hits = 0  # images taken as checked, this session
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS checked(path TEXT PRIMARY KEY, dev INTEGER, "
                "ino INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, "
                "sha256 TEXT NOT NULL, level INTEGER NOT NULL)")
            for path, dev, ino, size, mtime, ctime, sha, level in self.conn.execute(
                    "SELECT * FROM checked"):
                self._known[path] = ((dev, ino, size, mtime, ctime), sha, level)
        except (OSError, sqlite3.Error):
            self.close()  # no memo: every image gets the full check, as without one

    @staticmethod
    def stamp(real: str) -> Stamp | None:
        try:
            st = os.stat(real)
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def passed(self, real: str, stamp: Stamp, sha256: str, mode: str) -> bool:
        """Whether this very file passed a check at least as thorough as `mode`, hashing to
        `sha256`."""
        known = self._known.get(real)
        ok = (known is not None and known[0] == stamp and known[1] == sha256
              and known[2] >= _MODES[mode])
        self.hits += ok
        return ok

    def record(self, real: str, stamp: Stamp, sha256: str, mode: str) -> None:
        self._known[real] = (stamp, sha256, _MODES[mode])
        self._new.append((real, stamp, sha256, _MODES[mode]))

    def save(self) -> None:
        """Write what passed since the last save (best effort: a failure costs only time)."""
        if self.conn is None or not self._new:
            return
        rows = [(real, *stamp, sha, level) for real, stamp, sha, level in self._new]
        gone = ([(path,) for path in self._known if not os.path.exists(path)]
                if len(self._known) > PRUNE_ABOVE else [])  # pools deleted since: forget them
        try:
            with self.conn:  # commits, or rolls back on an error
                self.conn.execute("BEGIN IMMEDIATE")
                self.conn.executemany(
                    "INSERT OR REPLACE INTO checked VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                self.conn.executemany("DELETE FROM checked WHERE path = ?", gone)
            self._new.clear()
        except sqlite3.Error:
            pass

    def close(self) -> None:
        if self.conn is not None:
            self.save()
            self.conn.close()
            self.conn = None
