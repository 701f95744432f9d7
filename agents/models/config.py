"""A `[models.NAME]` table: one OpenAI-compatible endpoint and how to talk to it."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


MAX_TOKENS = 200_000  # completion tokens one request may ask for (no model gives more)


class ModelConfig(BaseModel):
    """Checked once when the run config is read; unknown keys are errors."""

    # TOML has inf and nan; strict: a bool is no count, a float no int
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    base_url: str = Field(max_length=2000)
    model: str = Field(min_length=1, max_length=500)
    api_key_env: str = Field(default="OPENAI_API_KEY", max_length=200)
    temperature: float = Field(default=1.0, ge=0, le=2)
    max_tokens: int = Field(default=300, ge=1, le=MAX_TOKENS)
    vision: bool = True
    family: str = "unknown"
    timeout: float = Field(default=60.0, gt=0, le=3600)
    max_retries: int = Field(default=6, ge=0, le=50)
    concurrency: int = Field(default=16, ge=1, le=4096)
    rpm: int | None = Field(default=None, ge=1, le=1_000_000)
    detail: Literal["auto", "low", "high"] | None = None
    max_image_side: int | None = Field(default=None, ge=16, le=8192)
    price_prompt_per_1m: float | None = Field(default=None, ge=0, le=10_000)
    price_completion_per_1m: float | None = Field(default=None, ge=0, le=10_000)
    json_output: bool = False  # the endpoint takes response_format json_object (json protocol)
    send_seed: bool = False  # send a per-call seed derived from the match seed
    # first backoff; doubles per retry, jittered
    retry_base_s: float = Field(default=1.0, ge=0, le=600)
    retry_max_s: float = Field(default=60.0, ge=0, le=3600)
    preflight: Literal["connect", "models", "off"] = "connect"  # before the first match
    # how message content goes on the wire: "auto" (a string unless it carries an image),
    # "string" (always; no images), "parts" (always a list of content parts)
    content: Literal["auto", "string", "parts"] = "auto"
    # a reply whose server-reported prompt tokens are below this share of our own estimate of
    # the request's text is a delivery failure (the text did not arrive); 0 turns the check off
    delivery_min_share: float = Field(default=0.5, ge=0, le=1)


def endpoint_identity(base_url: str) -> str:
    """A base URL in one spelling per server: scheme and host in lower case, default ports
    and trailing slashes dropped (`HTTP://Host:80/v1/` is `http://host/v1`). The reply cache
    keys and a run's identity use it, so that another server never answers for this one."""
    from urllib.parse import urlsplit

    url = urlsplit(base_url.strip())
    scheme = url.scheme.lower()
    host = (url.hostname or "").lower()
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = url.port
    except ValueError:
        port = None
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    path = url.path.rstrip("/")
    return f"{scheme}://{host}{path}" + (f"?{url.query}" if url.query else "")
