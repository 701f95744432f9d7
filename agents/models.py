"""Model access: a `[models.NAME]` table becomes an AutoGen OpenAI-compatible client wrapped in
our own retry loop, concurrency limit, requests-per-minute limit and reply cache.

The client's own retries are off (`max_retries=0`) so that exactly one loop decides what is
retried and how long to wait: timeouts, dropped connections, 429 (honouring Retry-After), 5xx
and malformed bodies are retried with exponential backoff and jitter; other 4xx fail at once
with a message naming the model table. The API key is read from the environment here and
nowhere else; it is never written, logged, or kept in an error message.
"""
from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Sequence

from agents.cache import CachedReply, ReplyCache, request_key
from agents.images import EncodedImage
from scenarios.errors import InputError

DUMMY_KEY = "no-key-needed"  # sent to local servers configured with api_key_env = ""
_JITTER = random.Random()  # timing only: never affects what a model is asked or answers
_MAX_WAIT_S = 600.0

warnings.filterwarnings("ignore", message="Resolved model mismatch")


class ModelError(Exception):
    """A model gave no usable HTTP answer: retries exhausted, or a request it refuses (4xx)."""


# -- messages -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One chat message in our own terms; images are `EncodedImage`s, text parts are str."""

    role: str  # system | user | assistant
    content: str | tuple[str | EncodedImage, ...]

    def canonical(self) -> dict[str, Any]:
        if isinstance(self.content, str):
            return {"role": self.role, "content": self.content}
        parts = [{"type": "text", "text": p} if isinstance(p, str) else p.canonical()
                 for p in self.content]
        return {"role": self.role, "content": parts}

    def to_autogen(self) -> Any:
        from autogen_core.models import AssistantMessage, SystemMessage, UserMessage

        if self.role == "system":
            return SystemMessage(content=self.content if isinstance(self.content, str)
                                 else " ".join(p for p in self.content if isinstance(p, str)))
        if self.role == "assistant":
            return AssistantMessage(content=self.content if isinstance(self.content, str)
                                    else "".join(p for p in self.content if isinstance(p, str)),
                                    source="assistant")
        content = self.content if isinstance(self.content, str) else list(self.content)
        return UserMessage(content=content, source="user")

    @property
    def has_images(self) -> bool:
        return not isinstance(self.content, str) and any(
            isinstance(p, EncodedImage) for p in self.content)


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: float
    cached: bool
    finish_reason: str | None = None


# -- counters -----------------------------------------------------------------------------------
@dataclass
class CallStats:
    """What a model cost and how it behaved; reported in the run summary."""

    requests: int = 0  # HTTP attempts sent
    replies: int = 0  # successful answers received (and cached)
    cache_hits: int = 0
    failures: int = 0  # calls that gave up
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: Counter[str] = field(default_factory=Counter)  # by kind: 429, 5xx, timeout ...
    # calls that gave up, by the kind of their last error (as `retries`), or "fatal" (4xx ...)
    failures_by_kind: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "replies": self.replies, "cache_hits": self.cache_hits,
                "failures": self.failures, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "retries": dict(self.retries),
                "failures_by_kind": dict(self.failures_by_kind)}


# -- configuration -> client ---------------------------------------------------------------------
def read_api_key(name: str, config: Any) -> str | None:
    """The key from the environment (None when the endpoint needs none), or one clear line."""
    env = config.api_key_env
    if not env:
        return None
    value = os.environ.get(env, "")
    if not value.strip():
        raise InputError(f"models.{name}.api_key_env: environment variable {env} is not set "
                         f"(it should hold the API key for [models.{name}]; use "
                         "api_key_env = \"\" for a local server that needs no key)")
    return value.strip()


def model_info(config: Any) -> dict[str, Any]:
    """AutoGen's ModelInfo: its own entry for known OpenAI names, ours otherwise; vision and
    JSON output always as configured."""
    from autogen_ext.models.openai import _model_info

    try:
        known = dict(_model_info.get_info(config.model))
    except (KeyError, ValueError):  # not a name AutoGen knows
        known = {}
    if not known or known.get("family") == "FAILED":
        known = {"function_calling": False, "structured_output": False, "family": "unknown"}
    if config.family != "unknown":
        known["family"] = config.family
    known["vision"] = bool(config.vision)
    known["json_output"] = bool(config.json_output or known.get("json_output", False))
    known.setdefault("structured_output", False)
    known.setdefault("function_calling", False)
    return known


def build_client(config: Any, key: str | None) -> Any:
    """An AutoGen OpenAIChatCompletionClient for one model table (no own retries)."""
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    return OpenAIChatCompletionClient(
        model=config.model, base_url=config.base_url, api_key=key or DUMMY_KEY,
        model_info=model_info(config), temperature=config.temperature,
        max_tokens=config.max_tokens, timeout=config.timeout, max_retries=0,
        include_name_in_message=False)  # the paper's requests carry no `name` fields


def check_base_url(name: str, config: Any) -> tuple[str, int]:
    url = urllib.parse.urlsplit(config.base_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InputError(f"models.{name}.base_url: expected an http(s) URL such as "
                         f"http://127.0.0.1:8000/v1 (got {config.base_url!r})")
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        raise InputError(f"models.{name}.base_url: bad port in {config.base_url!r}") from None
    return url.hostname, port


def check_reachable(name: str, config: Any, timeout: float = 5.0) -> None:
    """Open (and close) a TCP connection to the endpoint: catches a wrong host or port before
    the first match, without sending a single HTTP request."""
    host, port = check_base_url(name, config)
    try:
        with socket.create_connection((host, port), timeout=min(timeout, config.timeout)):
            pass
    except OSError as error:
        raise InputError(f"models.{name}.base_url: cannot reach {config.base_url} "
                         f"({_socket_reason(error)})") from None


def probe_models(name: str, config: Any, key: str | None, timeout: float = 10.0) -> None:
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


# -- limits ---------------------------------------------------------------------------------------
class RateLimiter:
    """At most `rpm` requests in any 60-second window (a sliding window, so bursts are fine)."""

    def __init__(self, rpm: int, window_s: float = 60.0) -> None:
        self.rpm = rpm
        self.window_s = window_s
        self._sent: deque[float] = deque()
        self._lock: asyncio.Lock | None = None

    async def wait(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                now = time.monotonic()
                while self._sent and now - self._sent[0] >= self.window_s:
                    self._sent.popleft()
                if len(self._sent) < self.rpm:
                    self._sent.append(now)
                    return
                await asyncio.sleep(self.window_s - (now - self._sent[0]) + 0.001)


@dataclass(frozen=True, slots=True)
class _Failure:
    kind: str  # retry kind, or "fatal"
    message: str
    wait_s: float | None = None  # what the server asked for (Retry-After)
    sticky: bool = False  # fatal for every request to this model (a refused key, no such model)


def classify(error: BaseException) -> _Failure:
    """Sort an exception from the client into a retry kind, or fatal."""
    import openai

    if isinstance(error, openai.APITimeoutError) or isinstance(error, asyncio.TimeoutError):
        return _Failure("timeout", "request timed out")
    if isinstance(error, openai.APIConnectionError):
        return _Failure("connection", "connection error")
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        message = _server_message(error)
        if status == 429:
            if _error_code(error) == "insufficient_quota":  # no wait will fix an empty account
                return _Failure("fatal", f"429 insufficient quota: {message}", sticky=True)
            return _Failure("429", f"429 rate limited: {message}", _retry_after(error))
        if status >= 500:
            return _Failure("5xx", f"{status} server error: {message}", _retry_after(error))
        if status in (408, 409):
            return _Failure("timeout" if status == 408 else "conflict", f"{status}: {message}")
        if status == 401:
            return _Failure("fatal", "401: the server refused the API key", sticky=True)
        if status == 403:
            return _Failure("fatal", "403: access to this model was denied", sticky=True)
        if status == 404:
            return _Failure("fatal", f"404: no such model or path ({message})", sticky=True)
        return _Failure("fatal", f"{status} rejected the request: {message}")
    if isinstance(error, (json.JSONDecodeError, openai.APIResponseValidationError)):
        return _Failure("malformed", "the server sent an unreadable body")
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        return _Failure("malformed", "the server sent a body of the wrong shape")
    return _Failure("fatal", f"{type(error).__name__}: {error}")


def _error_code(error: Any) -> str | None:
    body = getattr(error, "body", None)
    inner = body.get("error", body) if isinstance(body, dict) else None
    return str(inner.get("code")) if isinstance(inner, dict) and inner.get("code") else None


def _server_message(error: Any) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
    return str(getattr(error, "message", "") or error)[:300]


def _retry_after(error: Any) -> float | None:
    """Seconds the server asks us to wait: retry-after-ms, or Retry-After (seconds or a date)."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


# -- one model -----------------------------------------------------------------------------------
class ModelAccess:
    """Everything that stands between a negotiator and one model endpoint."""

    def __init__(self, name: str, config: Any, client: Any, cache: ReplyCache | None,
                 secret: str | None = None) -> None:
        self.name = name
        self.config = config
        self.client = client
        self.cache = cache
        self.stats = CallStats()
        self._secret = secret
        self._semaphore: asyncio.Semaphore | None = None
        self._limiter = RateLimiter(config.rpm) if config.rpm else None
        self._in_flight: dict[str, asyncio.Future[Completion]] = {}
        self._fatal: str | None = None
        # requests whose caller was cancelled (Ctrl-C) but which the server may still answer:
        # an answer is paid for, so it is cached when it comes (see `drain`)
        self._orphans: set[asyncio.Task[Any]] = set()

    def _scrub(self, text: str) -> str:
        if self._secret and len(self._secret) >= 4:
            text = text.replace(self._secret, "***")
        return text

    def request_of(self, messages: Sequence[ChatMessage], sample: str, temperature: float,
                   max_tokens: int, json_mode: bool, seed: int | None) -> dict[str, Any]:
        """The canonical request a cache key is made from."""
        return {"model": self.config.model, "messages": [m.canonical() for m in messages],
                "temperature": temperature, "max_tokens": max_tokens,
                "response_format": "json_object" if json_mode else None, "seed": seed,
                "sample": sample}

    async def complete(self, messages: Sequence[ChatMessage], *, sample: str,
                       temperature: float | None = None, max_tokens: int | None = None,
                       json_mode: bool = False, seed: int | None = None) -> Completion:
        """One reply: from the cache when this exact request was answered before, else from the
        model (retried as configured) and written to the cache before it is returned."""
        temperature = self.config.temperature if temperature is None else temperature
        max_tokens = self.config.max_tokens if max_tokens is None else max_tokens
        json_mode = json_mode and self.config.json_output
        seed = seed if self.config.send_seed else None
        key = request_key(self.request_of(messages, sample, temperature, max_tokens, json_mode, seed))
        started = time.perf_counter()
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                self.stats.cache_hits += 1
                return Completion(hit.text, hit.prompt_tokens, hit.completion_tokens,
                                  (time.perf_counter() - started) * 1000.0, True, hit.finish_reason)
        pending = self._in_flight.get(key)
        if pending is not None:  # the same request is on its way already: share its answer
            self.stats.cache_hits += 1
            done = await asyncio.shield(pending)
            return Completion(done.text, done.prompt_tokens, done.completion_tokens,
                              (time.perf_counter() - started) * 1000.0, True, done.finish_reason)
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            result = await self._send(messages, key, temperature, max_tokens, json_mode, seed)
            future.set_result(result)
            return result
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: nobody else may be waiting
            raise
        finally:
            del self._in_flight[key]

    async def _send(self, messages: Sequence[ChatMessage], key: str, temperature: float,
                    max_tokens: int, json_mode: bool, seed: int | None) -> Completion:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.config.concurrency)
        autogen_messages = [m.to_autogen() for m in messages]
        extra: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        if seed is not None:
            extra["seed"] = seed
        attempts = self.config.max_retries + 1
        last: _Failure | None = None
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(self._delay(attempt, last))
            if self._limiter is not None:
                await self._limiter.wait()
            async with self._semaphore:
                if self._fatal is not None:  # e.g. a refused key: never send a doomed request
                    self.stats.failures += 1
                    self.stats.failures_by_kind["fatal"] += 1
                    raise ModelError(self._fatal)
                self.stats.requests += 1
                sent = time.perf_counter()
                request = asyncio.ensure_future(self.client.create(
                    autogen_messages, json_output=True if json_mode else None,
                    extra_create_args=extra))
                try:
                    result = await asyncio.shield(request)
                except asyncio.CancelledError:
                    if not request.done():  # sent: keep it running and keep what it brings
                        self._orphans.add(request)
                        request.add_done_callback(lambda task, k=key, t=sent:
                                                  self._keep_orphan(task, k, t))
                    elif not request.cancelled() and request.exception() is None:
                        self._keep_orphan(request, key, sent)
                    raise
                except Exception as error:  # sorted below: retried, or fatal
                    last = classify(error)
                    if last.kind == "fatal":
                        self.stats.failures += 1
                        self.stats.failures_by_kind["fatal"] += 1
                        hint = (f" in ${self.config.api_key_env}" if last.message.startswith("401")
                                and self.config.api_key_env else "")
                        message = self._scrub(f"models.{self.name} ({self.config.model} at "
                                              f"{self.config.base_url}): {last.message}{hint}")
                        if last.sticky:
                            self._fatal = message
                        raise ModelError(message) from None
                    if attempt + 1 < attempts:
                        self.stats.retries[last.kind] += 1
                    continue
                latency_ms = (time.perf_counter() - sent) * 1000.0
            reply = self._received(result, key, latency_ms)
            return Completion(reply.text, reply.prompt_tokens, reply.completion_tokens,
                              latency_ms, False, reply.finish_reason)
        assert last is not None
        self.stats.failures += 1
        self.stats.failures_by_kind[last.kind] += 1
        raise ModelError(self._scrub(
            f"models.{self.name} ({self.config.model} at {self.config.base_url}): gave up after "
            f"{attempts} attempt{'s' if attempts != 1 else ''}; last: {last.message}"))

    def _received(self, result: Any, key: str, latency_ms: float) -> CachedReply:
        """Count a model's answer and cache it at once."""
        text = result.content if isinstance(result.content, str) else json.dumps(
            [str(c) for c in result.content])
        usage = result.usage
        reply = CachedReply(text, str(result.finish_reason), usage.prompt_tokens,
                            usage.completion_tokens, latency_ms)
        self.stats.replies += 1
        self.stats.prompt_tokens += usage.prompt_tokens or 0
        self.stats.completion_tokens += usage.completion_tokens or 0
        if self.cache is not None:
            self.cache.put(key, self.config.model, reply)
        return reply

    def _keep_orphan(self, task: asyncio.Task[Any], key: str, sent: float) -> None:
        self._orphans.discard(task)
        if task.cancelled() or task.exception() is not None:
            return  # no answer came: nothing was bought
        self._received(task.result(), key, (time.perf_counter() - sent) * 1000.0)

    @property
    def orphans(self) -> int:
        return len(self._orphans)

    async def drain(self, timeout: float) -> int:
        """Wait (up to `timeout` s) for requests sent before a cancellation to be answered and
        cached; give up on the rest. Returns how many were abandoned."""
        if self._orphans:
            await asyncio.wait(set(self._orphans), timeout=timeout)
        left = list(self._orphans)
        for task in left:
            task.cancel()
        return len(left)

    def _delay(self, attempt: int, last: _Failure | None) -> float:
        """Exponential backoff with jitter; never shorter than a Retry-After the server sent."""
        backoff = min(self.config.retry_max_s, self.config.retry_base_s * 2 ** (attempt - 1))
        delay = backoff * (0.5 + 0.5 * _JITTER.random())
        if last is not None and last.wait_s is not None:
            delay = max(delay, min(last.wait_s, _MAX_WAIT_S))
        return delay

    async def aclose(self) -> None:
        try:
            await self.client.close()
        except Exception:  # closing is best effort; the run's results are already stored
            pass
