"""Checks, before the first match, that a model sees what a run will show it.

The vision probe sends images drawn with the project's own renderer (resvg), each a disc of one
colour on white, and asks which colour it is: a model behind a server that drops or ignores
image parts cannot answer, and a run that would have shown it personas it never saw is refused
before anything else is spent. The manipulation check asks a model to rate its own persona
image, so a run can show that the persona registered at all. Replies go through the model's
access, so they are cached like any other.
"""
from __future__ import annotations

import asyncio
import re
from dataclasses import asdict, dataclass
from typing import Any

from agents.models.access import ModelAccess
from agents.models.failures import ModelError
from agents.models.messages import ChatMessage
from agents.personas.images import EncodedImage

COLOURS = {"red": "#dc2828", "green": "#28a03c", "blue": "#2850dc", "yellow": "#f0d228",
           "purple": "#8c3cb4"}
ASKED = ("red", "blue")  # two probes: a lucky guess passes both one time in 25
QUESTION = ("What colour is the shape in this image? Answer with one word: red, green, blue, "
            "yellow or purple.")
PROBE_SIZE = 128
RATING_QUESTION = ("This image shows the character you play. Please rate how aggressive the "
                   "character looks from 1 to 7, where 1 is not aggressive at all and 7 is very "
                   "aggressive. Answer with the number only.")
_DIGIT = re.compile(r"(?<!\d)([1-7])(?!\d)")


def probe_image(colour: str, size: int = PROBE_SIZE) -> EncodedImage:
    import resvg_py

    r = size * 0.35
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
           f'viewBox="0 0 {size} {size}"><rect width="{size}" height="{size}" fill="#ffffff"/>'
           f'<circle cx="{size / 2}" cy="{size / 2}" r="{r}" fill="{COLOURS[colour]}"/></svg>')
    data = bytes(resvg_py.svg_to_bytes(svg_string=svg, width=size, height=size,
                                       skip_system_fonts=True))
    return EncodedImage(data, "image/png", "low")


@dataclass(frozen=True)
class ProbeResult:
    model: str  # the [models.X] table
    passed: bool
    asked: tuple[str, ...]
    answers: tuple[str, ...]
    error: str | None = None  # the model gave no answer at all

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def reason(self) -> str:
        shown = "; ".join(f"asked the colour of a {c} disc, answered {a.strip()[:60]!r}"
                          for c, a in zip(self.asked, self.answers))
        return shown


def _names(answer: str) -> set[str]:
    words = set(re.findall(r"[a-z]+", answer.lower()))
    return {c for c in COLOURS if c in words}


async def vision_probe(access: ModelAccess) -> ProbeResult:
    """Ask the colour of each probe image; passed when every answer names it and no other."""
    answers = []
    for colour in ASKED:
        message = ChatMessage("user", (probe_image(colour), QUESTION))
        completion = await access.complete([message], sample=f"vision-probe:{colour}",
                                           temperature=0.0, max_tokens=20)
        answers.append(completion.text)
    passed = all(_names(a) == {c} for c, a in zip(ASKED, answers))
    return ProbeResult(access.name, passed, ASKED, tuple(answers))


@dataclass(frozen=True)
class ManipulationCheck:
    persona_id: str
    model: str
    answer: str
    score: int | None


async def manipulation_check(access: ModelAccess, persona_id: str,
                             image: EncodedImage) -> ManipulationCheck:
    message = ChatMessage("user", (image, RATING_QUESTION))
    completion = await access.complete([message], sample=f"manipulation-check:{persona_id}",
                                       temperature=0.0, max_tokens=20)
    found = _DIGIT.search(completion.text)
    return ManipulationCheck(persona_id, access.name, completion.text,
                             int(found.group(1)) if found else None)


async def run_probes(accesses: list[ModelAccess]) -> list[ProbeResult]:
    """One probe per model, concurrently; a model that cannot answer at all fails its probe."""
    async def one(access: ModelAccess) -> ProbeResult:
        try:
            return await vision_probe(access)
        except ModelError as error:
            return ProbeResult(access.name, False, ASKED, (), str(error))

    return list(await asyncio.gather(*(one(a) for a in accesses)))
