"""Secrets and paths: the API key never reaches a file, a log or an error message; a manifest
cannot point outside its pool.

The key is made fresh for each test run, so a grep that finds it (or its first 16 or last 8
characters) found a leak, not a coincidence. (That model text with HTML or script shows as text
in the report, in a browser, is tests/test_report.py's.)
"""
from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SURROGATE, cli, table
from tests.llm_helpers import cli_here
from tests.test_llm import llm_config
from tests.helpers import SURROGATE
from tests.test_run_config import write_config

CONFEDERATE = 'kind = "confederate"\nlevels = 7\nper_level = 1'


def fragments(key: str) -> list[bytes]:
    return [key.encode(), key[:16].encode(), key[-8:].encode()]


def leaks(key: str, folders: list[Path], texts: list[str]) -> list[str]:
    """Where the key, or a telling piece of it, shows up."""
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                found += [f"{path}: {f!r}" for f in fragments(key) if f in data]
    for i, text in enumerate(texts):
        found += [f"output {i}: {f!r}" for f in fragments(key) if f.decode() in text]
    return found


def test_the_api_key_reaches_no_file_log_or_message(tmp_path: Path, small_pool: Path,
                                                    loopback_factory: Any) -> None:
    key = "sk-proj-" + secrets.token_hex(24)
    server = loopback_factory(require_key=key)
    pool = tmp_path / "pool"
    shutil.copytree(small_pool, pool)  # `rate` writes into the pool
    config = llm_config(tmp_path, pool, server.base_url, condition="self-only",
                        design=CONFEDERATE, model='preflight = "models"')
    config.write_text(config.read_text().replace('progress = "none"', 'progress = "plain"'))
    env = {"OPENAI_API_KEY": key, "PERSONA_ARENA_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "out"
    outputs = []
    for i, args in enumerate((["run", str(config), "--out", str(out), "--json"],
                              ["run", str(config), "--dry-run", "--json"],
                              ["run", str(config), "--out", str(out), "--resume"],
                              ["analyze", str(out), "--json"],
                              ["report", str(out)],
                              ["rate", str(pool), "--config", str(config), "--model", "local"])):
        result = (cli if i == 0 else cli_here)(*args, env=env)  # the first as a user runs it
        assert result.returncode == 0, (args, result.stderr)
        outputs += [result.stdout, result.stderr]
    assert (out / "report.html").exists() and (pool / "ratings.sqlite").exists()
    sent = [r["headers"].get("authorization") for r in server.requests]
    assert sent and set(sent) == {f"Bearer {key}"}  # the key was used, on every request
    assert leaks(key, [out, tmp_path / "cache", pool], outputs) == []

    # a wrong key: refused by the preflight, then (preflight off) by every chat request
    wrong = "sk-proj-" + secrets.token_hex(24)
    bad_env = {"OPENAI_API_KEY": wrong, "PERSONA_ARENA_CACHE": str(tmp_path / "cache2")}
    refused = cli("run", str(config), "--out", str(tmp_path / "o2"), env=bad_env)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "field 'models.local.api_key_env': " in refused.stderr and "refused the key" in refused.stderr
    assert not (tmp_path / "o2").exists()
    config.write_text(config.read_text().replace('preflight = "models"', 'preflight = "off"'))
    probed = cli_here("run", str(config), "--out", str(tmp_path / "o4"), env=bad_env)
    assert probed.returncode == 2 and "401: the server refused the API key" in probed.stderr
    outputs += [probed.stdout, probed.stderr]
    failed = cli("run", str(config), "--out", str(tmp_path / "o3"), "--json", "--skip-probe",
                 env=bad_env)
    assert failed.returncode == 1, failed.stderr
    errors = {e for (e,) in table(tmp_path / "o3" / "arena.sqlite", "SELECT error FROM matches")}
    assert len(errors) == 1 and "401: the server refused the API key" in errors.pop()
    assert leaks(wrong, [tmp_path / "o2", tmp_path / "o3", tmp_path / "cache2", pool],
                 [refused.stdout, refused.stderr, failed.stdout, failed.stderr,
                  probed.stdout, probed.stderr]) == []


# -- image paths in a manifest stay inside the pool ----------------------------------------------


def _point(pool: Path, persona: str, image: str) -> None:
    path = pool / "manifest.csv"
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"{persona},"):
            rest = line.split(",", 2)[2]
            lines[i] = f"{persona},{image},{rest}"
    path.write_text("\n".join(lines) + "\n")


def _escape(kind: str, pool: Path, outside: Path) -> str:
    """Make persona p0001's image reach `outside` (a copy of its own image) one way or another."""
    if kind == "dot-dot":
        return f"../{outside.name}"
    if kind == "dot-dot inside a path":
        (pool / "sub").mkdir()
        return f"sub/../../{outside.name}"
    if kind == "absolute":
        return str(outside)
    if kind == "symlinked file":
        (pool / "p0001.png").unlink()
        (pool / "p0001.png").symlink_to(outside)
        return "p0001.png"
    if kind == "symlinked folder":
        (pool / "faces").symlink_to(outside.parent)
        return f"faces/{outside.name}"
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["dot-dot", "dot-dot inside a path", "absolute",
                                  "symlinked file", "symlinked folder"])
def test_manifest_images_cannot_reach_outside_the_pool(tmp_path: Path, small_pool: Path,
                                                       kind: str) -> None:
    pool = tmp_path / "pool"
    shutil.copytree(small_pool, pool)
    outside = tmp_path / "elsewhere" / "secret.png"
    outside.parent.mkdir()
    shutil.copy(pool / "p0001.png", outside)  # a valid image with the manifest's sha256
    _point(pool, "p0001", _escape(kind, pool, outside))
    config = write_config(tmp_path, pool, SURROGATE)
    for args in (["run", str(config), "--out", str(tmp_path / "out")],
                 ["run", str(config), "--dry-run"]):
        result = cli_here(*args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "outside the pool" in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_pool_reached_through_a_symlink_still_works(tmp_path: Path, small_pool: Path) -> None:
    link = tmp_path / "pool-link"
    os.symlink(small_pool, link)
    result = cli_here("run", str(write_config(tmp_path, link, SURROGATE)), "--out",
                      str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
