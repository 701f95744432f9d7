"""Sorting a client's exceptions into what is retried (and how long to wait) and what is fatal."""
from __future__ import annotations

import asyncio
import email.utils
import json
import time
from dataclasses import dataclass
from typing import Any


class ModelError(Exception):
    """A model gave no usable HTTP answer: retries exhausted, or a request it refuses (4xx)."""


@dataclass(frozen=True, slots=True)
class Failure:
    kind: str  # retry kind, or "fatal"
    message: str
    wait_s: float | None = None  # what the server asked for (Retry-After)
    sticky: bool = False  # fatal for every request to this model (a refused key, no such model)


def classify(error: BaseException) -> Failure:
    """Sort an exception from the client into a retry kind, or fatal."""
    import openai

    if isinstance(error, openai.APITimeoutError) or isinstance(error, asyncio.TimeoutError):
        return Failure("timeout", "request timed out")
    if isinstance(error, openai.APIConnectionError):
        return Failure("connection", "connection error")
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        message = _server_message(error)
        if status == 429:
            if _error_code(error) == "insufficient_quota":  # no wait will fix an empty account
                return Failure("fatal", f"429 insufficient quota: {message}", sticky=True)
            return Failure("429", f"429 rate limited: {message}", _retry_after(error))
        if status >= 500:
            return Failure("5xx", f"{status} server error: {message}", _retry_after(error))
        if status in (408, 409):
            return Failure("timeout" if status == 408 else "conflict", f"{status}: {message}")
        if status == 401:
            return Failure("fatal", "401: the server refused the API key", sticky=True)
        if status == 403:
            return Failure("fatal", "403: access to this model was denied", sticky=True)
        if status == 404:
            return Failure("fatal", f"404: no such model or path ({message})", sticky=True)
        return Failure("fatal", f"{status} rejected the request: {message}")
    if isinstance(error, (json.JSONDecodeError, openai.APIResponseValidationError)):
        return Failure("malformed", "the server sent an unreadable body")
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        return Failure("malformed", "the server sent a body of the wrong shape")
    if isinstance(error, (IndexError, TypeError, KeyError, AttributeError)):
        # a 200 the client cannot read an answer from (`choices: []` or `null`: the client
        # indexes choices[0]); classified here, so it is retried, never stored as a raw error
        return Failure("malformed", f"the server sent a reply without a usable choice "
                                    f"({type(error).__name__})")
    return Failure("fatal", f"{type(error).__name__}: {error}")


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
