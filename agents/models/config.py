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
    # how message content goes on the wire: "auto" (a string unless it carries an image),
    # "string" (always; no images), "parts" (always a list of content parts)
    content: Literal["auto", "string", "parts"] = "auto"
    # a reply whose server-reported prompt tokens are below this share of our own estimate of
    # the request's text is a delivery failure (the text did not arrive); 0 turns the check off
    delivery_min_share: float = Field(default=0.5, ge=0, le=1)
