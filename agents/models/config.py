"""A `[models.NAME]` table: one OpenAI-compatible endpoint and how to talk to it."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ModelConfig(BaseModel):
    """Checked once when the run config is read; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # TOML has inf and nan

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = Field(default=1.0, ge=0, le=2)
    max_tokens: int = Field(default=300, ge=1)
    vision: bool = True
    family: str = "unknown"
    timeout: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=6, ge=0, le=50)
    concurrency: int = Field(default=16, ge=1, le=4096)
    rpm: int | None = Field(default=None, ge=1)
    detail: Literal["auto", "low", "high"] | None = None
    max_image_side: int | None = Field(default=None, ge=16)
    price_prompt_per_1m: float | None = Field(default=None, ge=0)
    price_completion_per_1m: float | None = Field(default=None, ge=0)
    json_output: bool = False  # the endpoint takes response_format json_object (json protocol)
    send_seed: bool = False  # send a per-call seed derived from the match seed
    retry_base_s: float = Field(default=1.0, ge=0)  # first backoff; doubles per retry, jittered
    retry_max_s: float = Field(default=60.0, ge=0)
    preflight: Literal["connect", "models", "off"] = "connect"  # before the first match


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
