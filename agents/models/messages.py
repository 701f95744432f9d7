"""Chat messages in our own terms, and what a model answered.

Text parts are plain strings and images are `EncodedImage`s, so a request can be hashed for the
reply cache (images by their hash) and turned into AutoGen messages in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.personas.images import EncodedImage


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
