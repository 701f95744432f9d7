"""Persona conditions: what each one sends a model, in one place.

A condition names what carries the persona (the image, its text description, both, the
description drawn as an image, or nothing); its *style* says whether the opponent's persona is
shown too (`both-images`) or only one's own (`self-only`). `self-only` and `both-images` are
their own styles; `text`, `image+text` and `text-as-image` take the style of the run (a
confederate's script has no persona, so self-only there; both-images otherwise), or the one a
config sets with `style = "self-only"`.

Prompts of a condition fall back to those of its style, so `image+text` in the self-only style
uses the paper's Study 1 texts (its own instructions, a round marker every round) and in the
both-images style the Study 2 texts, unless a scenario gives `..._image_text` variants.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from scenarios.errors import InputError

if TYPE_CHECKING:
    from agents.personas.persona import Persona

CONDITIONS = ("self-only", "both-images", "text", "image+text", "text-as-image", "none")
STYLES = ("self-only", "both-images")
# conditions that send the persona's own image file
AVATAR_CONDITIONS = frozenset({"self-only", "both-images", "image+text"})
# conditions that send image parts at all (the avatar, or the description drawn as one)
SENDS_IMAGES = frozenset({*AVATAR_CONDITIONS, "text-as-image"})
# conditions that need the manifest's description of every persona
NEEDS_DESCRIPTION = frozenset({"text", "image+text", "text-as-image"})
# conditions whose style the run chooses (the others are their own style, or have no persona)
STYLED = frozenset({"text", "image+text", "text-as-image"})


def prompt_key(condition: str) -> str:
    """A condition as it appears in prompt keys: '-' and '+' as '_' (`image_text`)."""
    return condition.replace("-", "_").replace("+", "_")


def resolve_style(condition: str, style: str | None, confederate: bool) -> str | None:
    """The style a run plays `condition` in: None for `none` (nothing is shown)."""
    if condition == "none":
        return None
    if condition in STYLES:
        return condition
    if style is not None:
        return style
    return "self-only" if confederate else "both-images"


def shows_opponent(condition: str, style: str | None) -> bool:
    """Whether a player is shown its opponent's persona (image, description or both)."""
    return condition != "none" and (condition == "both-images" or style == "both-images")


def prompt_conditions(condition: str, style: str | None) -> tuple[str, ...]:
    """The condition keys a prompt is looked up under, most specific first: the condition's
    own, then (for a styled condition given a style) its style's."""
    keys = [prompt_key(condition)]
    if condition in STYLED and style is not None:
        keys.append(prompt_key(style))
    return tuple(keys)


def check_descriptions(condition: str, personas: Iterable["Persona"]) -> None:
    """Refuse a pool without a description for every persona (one line), and (text-as-image)
    a description too long to draw, before anything is sent."""
    personas = list(personas)
    missing_text = sorted(p.persona_id for p in personas if not p.description.strip())
    if missing_text:
        raise InputError(f"personas: persona {missing_text[0]} has no description (the "
                         f"manifest's description column), which condition '{condition}' needs")
    if condition == "text-as-image":
        from agents.personas.text_image import MAX_DESCRIPTION

        for p in personas:
            if len(" ".join(p.description.split())) > MAX_DESCRIPTION:
                raise InputError(f"personas: persona {p.persona_id}'s description has "
                                 f"{len(p.description)} characters, more than condition "
                                 f"'text-as-image' draws legibly ({MAX_DESCRIPTION})")
