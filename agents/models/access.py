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
import json
import random
import time
from typing import Any, Sequence

from agents.models.cache import CachedReply, ReplyCache, request_key
from agents.models.config import ModelConfig
from agents.models.failures import Failure, ModelError, classify
from agents.models.limits import AdaptiveLimit, RateLimiter
from agents.models.messages import ChatMessage, Completion
from agents.models.stats import CallStats
from agents.models.tokens import text_tokens_of

_JITTER = random.Random()  # timing only: never affects what a model is asked or answers
_MAX_WAIT_S = 600.0
DECIDE_AFTER = 3  # this many checked replies, all failing delivery, stop a model's requests
_MAX_TIMEOUT_FACTOR = 8  # a slow server's timeout grows up to this many times the configured
_MAX_FREE_TIMEOUTS = 12  # queueing timeouts retried without using up a request's attempts
CUT = "cut"  # the finish reason of a reply cut to its allowance (the turn is marked invalid)


def reply_allowance(max_tokens: int) -> int:
    """The most characters kept of a reply asked for `max_tokens` tokens: about eight times
    what that many tokens spell (4 characters a token), never below 4,096. A server that ignores
    max_tokens (a 10 MB runaway) is cut here, before the cache, the store or a report see it."""
    return max(4096, 32 * max_tokens)


def _warn(text: str) -> None:
    import sys

    sys.stderr.write(f"persona-arena: {text}\n")
    sys.stderr.flush()


class ModelAccess:
    """Everything that stands between a negotiator and one model endpoint."""

    def __init__(self, name: str, config: ModelConfig, client: Any, cache: ReplyCache | None,
                 secret: str | None = None) -> None:
        self.name = name
        self.config = config
        self.client = client
        self.cache = cache
        self.stats = CallStats()
        self._secret = secret
        self._limit = AdaptiveLimit(config.concurrency)
        self._timeout = config.timeout
        self._delivery_seen = 0  # fresh replies checked so far (the first decide)
        self._delivery_bad = 0
        self._warned_unchecked = False
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
        messages = [m.wire(self.config.content) for m in messages]
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
                                  (time.perf_counter() - started) * 1000.0, True, hit.finish_reason,
                                  self._delivery(messages, hit.prompt_tokens, fresh=False))
        pending = self._in_flight.get(key)
        if pending is not None:  # the same request is on its way already: share its answer
            self.stats.cache_hits += 1
            done = await asyncio.shield(pending)
            return Completion(done.text, done.prompt_tokens, done.completion_tokens,
                              (time.perf_counter() - started) * 1000.0, True, done.finish_reason,
                              done.delivery)
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
        autogen_messages = [m.to_autogen() for m in messages]
        extra: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        if seed is not None:
            extra["seed"] = seed
        attempts = self.config.max_retries + 1
        last: Failure | None = None
        attempt = free = 0
        while attempt < attempts:
            if attempt or free:
                await asyncio.sleep(self._delay(max(1, attempt), last))
            if self._limiter is not None:
                await self._limiter.wait()
            if self._timeout != self.config.timeout:
                extra["timeout"] = self._timeout
            async with self._limit:
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
                        request.add_done_callback(lambda task, k=key, t=sent, m=max_tokens:
                                                  self._keep_orphan(task, k, t, m))
                    elif not request.cancelled() and request.exception() is None:
                        self._keep_orphan(request, key, sent, max_tokens)
                    raise
                except Exception as error:  # sorted below: retried, or fatal
                    last = classify(error)
                    if last.kind == "timeout" and free < _MAX_FREE_TIMEOUTS \
                            and self._slow_server(self._limit.in_use):
                        free += 1  # the server queued it: not this request's fault
                        self.stats.retries["timeout"] += 1
                        self.stats.queued_timeouts += 1
                        continue
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
                    attempt += 1
                    continue
                latency_ms = (time.perf_counter() - sent) * 1000.0
            reply = self._received(result, key, latency_ms, max_tokens)
            return Completion(reply.text, reply.prompt_tokens, reply.completion_tokens,
                              latency_ms, False, reply.finish_reason,
                              self._delivery(messages, reply.prompt_tokens, fresh=True))
        assert last is not None
        self.stats.failures += 1
        self.stats.failures_by_kind[last.kind] += 1
        raise ModelError(self._scrub(
            f"models.{self.name} ({self.config.model} at {self.config.base_url}): gave up after "
            f"{attempts} attempt{'s' if attempts != 1 else ''}; last: {last.message}"))

    def _slow_server(self, in_flight: int) -> bool:
        """After a timeout: lower the concurrency when others were in flight (the server queued
        them), else let the timeout grow; True when the timeout was the server's queueing."""
        if in_flight > 1 and self._limit.capacity > 1:
            was = self._limit.capacity
            now = self._limit.shrink(in_flight)
            if now < was:
                self.stats.backoffs += 1
                _warn(f"models.{self.name}: requests time out with {in_flight} in flight (the "
                      f"server answers fewer at a time): concurrency lowered to {now}")
            return True
        if self._timeout < self.config.timeout * _MAX_TIMEOUT_FACTOR:
            self._timeout = min(self._timeout * 2, self.config.timeout * _MAX_TIMEOUT_FACTOR)
            _warn(f"models.{self.name}: a request timed out alone: timeout raised to "
                  f"{self._timeout:g} s")
            return True
        return False

    def _delivery(self, messages: Sequence[ChatMessage], prompt_tokens: int | None,
                  fresh: bool) -> str | None:
        """None when the server read about what was sent (or the check is off or impossible);
        else what arrived and what was expected. The first fresh replies decide early."""
        share = self.config.delivery_min_share
        if share <= 0:
            return None
        if prompt_tokens is None:
            if fresh:
                self.stats.unchecked += 1
                if not self._warned_unchecked:
                    self._warned_unchecked = True
                    _warn(f"models.{self.name}: the server reports no token usage, so delivery "
                          "of the persona and rules could not be checked")
            return None
        expected = text_tokens_of(messages)
        problem = None
        if prompt_tokens < share * expected:
            problem = (f"the server read {prompt_tokens} prompt tokens where about {expected} "
                       "were sent")
        if fresh:
            self.stats.delivery_checked += 1
            self._delivery_seen += 1
            if problem is not None:
                self.stats.delivery_failures += 1
                self._delivery_bad += 1
                if (self._delivery_seen == self._delivery_bad == DECIDE_AFTER
                        and self._fatal is None):
                    self._fatal = self.stats.halted = self._scrub(
                        f"models.{self.name} ({self.config.model} at {self.config.base_url}): "
                        f"delivery check failed on the first {DECIDE_AFTER} requests: "
                        f"{problem}, so the persona and rules did not reach the model; "
                        f"{self._content_hint(messages)}, and run it into a new --out "
                        f"(a resumed run must ask what its first part asked)")
        return problem

    def _content_hint(self, messages: Sequence[ChatMessage]) -> str:
        lists = [m for m in messages if not isinstance(m.content, str)]
        if any(m.has_images for m in lists):
            return (f"this server seems to drop messages made of parts, which images need (try "
                    f"a server or chat format that reads image parts, or condition \"text\" "
                    f"with content = \"string\" in [models.{self.name}])")
        if lists:
            return f"try content = \"string\" in [models.{self.name}]"
        return ("the server may cut the prompt (check its context size) or ignore the system "
                f"message; try content = \"parts\" in [models.{self.name}]")

    def _received(self, result: Any, key: str, latency_ms: float,
                  max_tokens: int) -> CachedReply:
        """Count a model's answer (cut when far beyond `max_tokens`) and cache it at once."""
        text = result.content if isinstance(result.content, str) else json.dumps(
            [str(c) for c in result.content])
        usage = result.usage
        prompt, completion = usage.prompt_tokens, usage.completion_tokens
        if not prompt and not completion:  # AutoGen reports a missing `usage` as 0 and 0
            prompt = completion = None
        finish = str(result.finish_reason)
        allowance = reply_allowance(max_tokens)
        if len(text) > allowance:
            text, finish = text[:allowance], CUT
            self.stats.cut_replies += 1
        reply = CachedReply(text, finish, prompt, completion, latency_ms)
        if not text.strip():
            self.stats.empty_replies += 1
        self.stats.replies += 1
        self.stats.prompt_tokens += prompt or 0
        self.stats.completion_tokens += completion or 0
        if self.cache is not None:
            self.cache.put(key, self.config.model, reply)
        return reply

    def _keep_orphan(self, task: asyncio.Task[Any], key: str, sent: float,
                     max_tokens: int) -> None:
        self._orphans.discard(task)
        if task.cancelled() or task.exception() is not None:
            return  # no answer came: nothing was bought
        self._received(task.result(), key, (time.perf_counter() - sent) * 1000.0, max_tokens)

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

    def _delay(self, attempt: int, last: Failure | None) -> float:
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
