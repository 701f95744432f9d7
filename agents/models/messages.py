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

    def wire(self, content: str) -> "ChatMessage":
        """The message as sent under a model's `content` option: "auto" sends a plain string
        unless the message carries an image (servers such as llama-cpp-python's drop list
        content silently); "string" always a string (images left out: refused at config time
        for conditions that send images); "parts" always a list of parts."""
        if isinstance(self.content, str):
            return ChatMessage(self.role, (self.content,)) if (
                content == "parts" and self.role == "user") else self
        if content == "parts" or (content == "auto" and self.has_images):
            return self
        return ChatMessage(self.role, "\n".join(p for p in self.content if isinstance(p, str)))

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
    delivery: str | None = None  # what went wrong in delivery (the server read far too little)
