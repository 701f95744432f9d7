"""Checks before the first match: the API key is in the environment, the URL is well formed, the
endpoint answers. The key is read here and nowhere else; it is never written or echoed."""
from __future__ import annotations

import os
import socket
import urllib.error
import urllib.parse
import urllib.request

from agents.models.client import DUMMY_KEY
from agents.models.config import ModelConfig
from scenarios.errors import InputError


def read_api_key(name: str, config: ModelConfig) -> str | None:
    """The key from the environment (None when the endpoint needs none), or one clear line."""
    env = config.api_key_env
    if not env:
        return None
    value = os.environ.get(env, "")
    if not value.strip():
        raise InputError(f"models.{name}.api_key_env: environment variable {env} is not set "
                         f"(it should hold the API key for [models.{name}]; use "
                         "api_key_env = \"\" for a local server that needs no key)")
    key = value.strip()
    bad = next((c for c in key if not "!" <= c <= "~"), None)
    if bad is not None:  # would fail every request (a header holds no such byte); never echoed
        what = ("a line break (CR or LF)" if bad in "\r\n" else
                "a space or tab" if bad in " \t" else
                "a control character" if ord(bad) < 32 or ord(bad) == 127 else
                "a non-ASCII character")
        raise InputError(f"models.{name}.api_key_env: the key in environment variable {env} "
                         f"holds {what} (the key is not shown); an API key is printable ASCII: "
                         "set it again without the stray character")
    return key


def check_base_url(name: str, config: ModelConfig) -> tuple[str, int]:
    url = urllib.parse.urlsplit(config.base_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InputError(f"models.{name}.base_url: expected an http(s) URL such as "
                         f"http://127.0.0.1:8000/v1 (got {config.base_url!r})")
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        raise InputError(f"models.{name}.base_url: bad port in {config.base_url!r}") from None
    return url.hostname, port


def check_reachable(name: str, config: ModelConfig, timeout: float = 5.0) -> None:
    """Open (and close) a TCP connection to the endpoint: catches a wrong host or port before
    the first match, without sending a single HTTP request."""
    host, port = check_base_url(name, config)
    try:
        with socket.create_connection((host, port), timeout=min(timeout, config.timeout)):
            pass
    except OSError as error:
        raise InputError(f"models.{name}.base_url: cannot reach {config.base_url} "
                         f"({_socket_reason(error)})") from None


def probe_models(name: str, config: ModelConfig, key: str | None, timeout: float = 10.0) -> None:
    """GET {base_url}/models with the key: also catches a refused key (preflight = "models")."""
    url = config.base_url.rstrip("/") + "/models"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key or DUMMY_KEY}"})
    try:
        with urllib.request.urlopen(request, timeout=min(timeout, config.timeout)) as response:
            response.read()
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            raise InputError(f"models.{name}.api_key_env: {config.base_url} refused the key in "
                             f"{config.api_key_env or '(none)'} ({error.code})") from None
        if error.code == 404:
            return  # many local servers do not list models; reachable is what matters
        raise InputError(f"models.{name}.base_url: {url} answered {error.code}") from None
    except urllib.error.URLError as error:
        reason = error.reason if isinstance(error.reason, OSError) else None
        why = _socket_reason(reason) if reason is not None else str(error.reason)
        raise InputError(f"models.{name}.base_url: cannot reach {config.base_url} ({why})") from None
    except OSError as error:
        raise InputError(f"models.{name}.base_url: cannot reach {config.base_url} "
                         f"({_socket_reason(error)})") from None


def _socket_reason(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "unknown host"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out"
    return error.strerror or type(error).__name__
