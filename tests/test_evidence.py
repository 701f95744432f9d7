"""Evidence is never mixed: the reply cache answers only for the server that gave the reply, and
a run says how many replies came from the cache and from which server."""
from __future__ import annotations

import json
import os
from pathlib import Path

from tests.llm_helpers import cli_here
from tests.test_resume import SMALL
from tests.test_run_config import write_config


def _chats(server) -> int:
    """The match requests a server had (the vision probes left out)."""
    from tests.llm_helpers import is_probe

    return sum(1 for r in server.requests if r["path"].endswith("/chat/completions")
               and not is_probe(r["body"] or {}))


def test_the_reply_cache_keys_include_the_server(tmp_path: Path, small_pool: Path,
                                                  loopback_factory) -> None:
    first, other = loopback_factory(), loopback_factory()
    env = {"OPENAI_API_KEY": "sk-evidence", "PERSONA_ARENA_CACHE": str(tmp_path / "cache")}
    config = write_config(tmp_path, small_pool, SMALL.replace("{url}", first.base_url), "a.toml")
    done = cli_here("run", str(config), "--out", str(tmp_path / "a"), env=env)
    assert done.returncode == 0, done.stderr
    asked = _chats(first)
    assert asked > 0 and f"model replies: {asked:,} from {first.base_url}" in done.stdout
    # the same config against another server with the same model name: asked afresh
    moved = write_config(tmp_path, small_pool, SMALL.replace("{url}", other.base_url), "b.toml")
    again = cli_here("run", str(moved), "--out", str(tmp_path / "b"), "--json", env=env)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)["llm"]
    assert _chats(other) == asked and summary["cache_hits"] == 0
    assert summary["models"]["local"]["endpoint"] == other.base_url
    # the first server spelled another way (a trailing slash, upper case): replayed, none sent
    spelled = first.base_url.replace("http://", "HTTP://") + "/"
    replay = write_config(tmp_path, small_pool, SMALL.replace("{url}", spelled), "c.toml")
    third = cli_here("run", str(replay), "--out", str(tmp_path / "c"), env=env)
    assert third.returncode == 0, third.stderr
    assert _chats(first) == asked
    assert f"model replies: 0 from {first.base_url} (0 requests), {asked:,} from the reply " \
           f"cache ({tmp_path / 'cache' / 'replies.sqlite'})" in third.stdout


def test_the_cache_folder_follows_xdg_cache_home(tmp_path: Path, small_pool: Path,
                                                 loopback) -> None:
    xdg = tmp_path / "xdg"
    config = write_config(tmp_path, small_pool, SMALL.replace("{url}", loopback.base_url))
    saved = os.environ.pop("PERSONA_ARENA_CACHE", None)
    try:
        done = cli_here("run", str(config), "--out", str(tmp_path / "out"),
                        env={"OPENAI_API_KEY": "sk-xdg", "XDG_CACHE_HOME": str(xdg)})
    finally:
        if saved is not None:
            os.environ["PERSONA_ARENA_CACHE"] = saved
    assert done.returncode == 0, done.stderr
    assert (xdg / "persona-arena" / "replies.sqlite").is_file()
