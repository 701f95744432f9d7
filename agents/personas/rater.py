"""Image raters: a vision model scores how aggressive each persona looks, 1..7.

The default layout is the paper's: the rating prompt as the system message, the image alone as
the user message, temperature 0, one completion token. An answer that holds no score in range
is asked again (a new sample key, so the cache keeps every answer) a bounded number of times.
Raters do no storage themselves: each finished rating is handed to a callback at once.
"""
from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agents.personas.images import EncodedImage
from agents.models.access import ModelAccess
from agents.models.messages import ChatMessage

_INTEGER = re.compile(r"(?<![\d.])(\d+)(?![\d.])")


@dataclass(frozen=True, slots=True)
class Rating:
    persona_id: str
    score: int | None  # None: no usable answer after the retries
    raw: str  # every answer, joined by " | " when there were retries
    requests: int  # answers that came from the model rather than the cache


def parse_score(text: str, low: int = 1, high: int = 7) -> int | None:
    """The first whole number in the answer, when it lies in low..high."""
    found = _INTEGER.search(text)
    if found is None:
        return None
    value = int(found.group(1))
    return value if low <= value <= high else None


def prompt_sha256(prompt: str) -> str:
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()


class ImageRater:
    """One model with one prompt; `rate` asks about one image."""

    def __init__(self, access: ModelAccess, prompt: str, retries: int = 2, max_tokens: int = 1,
                 low: int = 1, high: int = 7) -> None:
        self.access = access
        self.prompt = prompt
        self.retries = retries
        self.max_tokens = max_tokens
        self.low = low
        self.high = high

    async def rate(self, persona_id: str, image: EncodedImage) -> Rating:
        messages = [ChatMessage("system", self.prompt), ChatMessage("user", (image,))]
        answers: list[str] = []
        requests = 0
        for attempt in range(self.retries + 1):
            completion = await self.access.complete(messages, sample=f"rating:{attempt}",
                                                    temperature=0.0, max_tokens=self.max_tokens)
            requests += 0 if completion.cached else 1
            answers.append(completion.text.strip())
            score = parse_score(completion.text, self.low, self.high)
            if score is not None:
                return Rating(persona_id, score, " | ".join(answers), requests)
        return Rating(persona_id, None, " | ".join(answers), requests)


async def rate_all(rater: ImageRater, images: Sequence[tuple[str, EncodedImage]],
                   on_rating: Callable[[Rating], None], concurrency: int = 16) -> list[Rating]:
    """Rate every (persona_id, image) concurrently; `on_rating` stores each one as it finishes."""
    queue: asyncio.Queue[tuple[str, EncodedImage]] = asyncio.Queue()
    for item in images:
        queue.put_nowait(item)
    done: list[Rating] = []

    async def worker() -> None:
        while True:
            try:
                persona_id, image = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            rating = await rater.rate(persona_id, image)
            on_rating(rating)
            done.append(rating)

    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(images))))))
    return done
