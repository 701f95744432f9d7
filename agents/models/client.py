"""A `[models.NAME]` table as an AutoGen OpenAI-compatible client (its own retries off: our loop
in `access` decides what is retried)."""
from __future__ import annotations

import warnings
from typing import Any

from agents.models.config import ModelConfig

DUMMY_KEY = "no-key-needed"  # sent to local servers configured with api_key_env = ""

warnings.filterwarnings("ignore", message="Resolved model mismatch")


def model_info(config: ModelConfig) -> dict[str, Any]:
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


def build_client(config: ModelConfig, key: str | None) -> Any:
    """An AutoGen OpenAIChatCompletionClient for one model table (no own retries)."""
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    return OpenAIChatCompletionClient(
        model=config.model, base_url=config.base_url, api_key=key or DUMMY_KEY,
        model_info=model_info(config), temperature=config.temperature,
        max_tokens=config.max_tokens, timeout=config.timeout, max_retries=0,
        include_name_in_message=False)  # the paper's requests carry no `name` fields
