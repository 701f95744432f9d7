"""Prompt layout: the paper's by default, every text from the scenario's `[prompts]` table.

Templates are looked up from the most to the least specific key, so a scenario can give one
text for all seats and conditions, or (as ultimatum-4 does, because the paper did) a different
one per seat and condition: f"{key}_{seat}_{condition}", f"{key}_{seat}", f"{key}_{condition}",
key. The seat is "first" (side a) or "second" (side b); the condition uses underscores
(`image_text`, `text_as_image`), and a styled condition falls back to its style's texts
(agents.conditions: `image+text` in the self-only style reads `..._self_only` next).
"""
from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

from agents.conditions import AVATAR_CONDITIONS, prompt_conditions, prompt_key
from agents.personas.images import EncodedImage
from agents.personas.persona import Persona
from scenarios.errors import InputError
from scenarios.game import Game, seat_word
from scenarios.moves import MoveRequest

Part = str | EncodedImage
IMAGE_CONDITIONS = AVATAR_CONDITIONS  # conditions that send the avatar image itself
# games of more than two seats: the paper's wording (opponent_image, opponent_text) introduces
# the first opponent; these, unless the scenario gives its own, the second and later ones
# ({number}: 2, 3 ... among the opponents; {player}: their player number in the game's prompts)
NEXT_OPPONENT = {
    "next_opponent_image": "The next image is your opponent number {number} (player {player}):",
    "next_opponent_text": ("Your opponent number {number} (player {player}) is the character "
                           "described as follows: {description}"),
}


def seat_of(side: str) -> str:
    return seat_word(side)


def condition_key(condition: str) -> str:
    return prompt_key(condition)


def lookup(prompts: dict[str, str], key: str, seat: str, condition: str,
           style: str | None = None) -> str | None:
    conds = prompt_conditions(condition, style)
    for name in (*(f"{key}_{seat}_{c}" for c in conds), f"{key}_{seat}",
                 *(f"{key}_{c}" for c in conds), key):
        if name in prompts:
            return prompts[name]
    return None


class _Fields(dict):
    def __init__(self, key: str, values: dict[str, Any]) -> None:
        super().__init__(values)
        self.key = key

    def __missing__(self, name: str) -> Any:
        known = ", ".join(sorted(self)) or "none"
        raise InputError(f"prompts.{self.key}: unknown placeholder {{{name}}} (known: {known}; "
                         "write {{ and }} for literal braces)")


def fill(template: str, key: str, values: dict[str, Any]) -> str:
    """str.format with a one-line error naming the prompt and the unknown placeholder."""
    try:
        return string.Formatter().vformat(template, (), _Fields(key, values))
    except InputError:  # an unknown placeholder, named by _Fields (InputError is a ValueError)
        raise
    except (ValueError, IndexError) as error:
        raise InputError(f"prompts.{key}: bad template ({error})") from None


def private_fields(request: MoveRequest, rules: Game) -> dict[str, Any]:
    """The placeholders instructions may use, as the game fills them for this seat."""
    return rules.prompt_fields(request)


def first_message(prompts: dict[str, str], side: str, condition: str, request: MoveRequest,
                  persona: Persona | None, opponent: Persona | None,
                  own_image: EncodedImage | None, opponent_image: EncodedImage | None,
                  appendix: str = "", *, rules: Game, style: str | None = None,
                  more: Sequence[tuple[Persona | None, EncodedImage | None, int]] = ()
                  ) -> tuple[Part, ...]:
    """The first user message, exactly as the paper laid it out: [text own_image, own image,
    (both-images: text opponent_image, opponent image), instructions (+ appendix)].

    `image+text` adds each persona's description (own_text / opponent_text) after its image;
    `text-as-image` sends the description drawn as an image (`own_image` / `opponent_image`
    are then those drawings) where the avatar would go. The opponent is shown when it is given
    (the caller passes None where the condition's style hides it). In games of more than two
    seats `more` holds each further opponent (persona, image, player number), shown after the
    first as `next_opponent_image` (text: `next_opponent_text`) says."""
    seat = seat_of(side)

    def text(key: str, **values: Any) -> str:
        template = lookup(prompts, key, seat, condition, style) or NEXT_OPPONENT.get(key)
        if template is None:
            raise InputError(f"prompts.{key}: the scenario has no '{key}' prompt, needed in "
                             f"condition {condition}")
        return fill(template, key, values)

    parts: list[Part] = []
    if condition in IMAGE_CONDITIONS or condition == "text-as-image":
        if own_image is None:
            raise InputError(f"condition {condition}: persona "
                             f"{persona.persona_id if persona else '?'} has no image")
        parts += [text("own_image"), own_image]
        if condition == "image+text":
            parts.append(text("own_text", description=persona.description if persona else ""))
        if condition == "both-images" or (condition != "self-only" and opponent is not None):
            if opponent_image is None:
                raise InputError(f"condition {condition}: the opponent has no image")
            parts += [text("opponent_image"), opponent_image]
            if condition == "image+text" and opponent is not None:
                parts.append(text("opponent_text", description=opponent.description))
            for number, (other, image, player) in enumerate(more, start=2):
                if image is None:
                    raise InputError(f"condition {condition}: opponent {number} has no image")
                parts += [text("next_opponent_image", number=number, player=player), image]
                if condition == "image+text" and other is not None:
                    parts.append(text("next_opponent_text", number=number, player=player,
                                      description=other.description))
    elif condition == "text":
        parts.append(text("own_text", description=persona.description if persona else ""))
        if opponent is not None:
            parts.append(text("opponent_text", description=opponent.description))
            for number, (other, _, player) in enumerate(more, start=2):
                if other is not None:
                    parts.append(text("next_opponent_text", number=number, player=player,
                                      description=other.description))
    instructions = lookup(prompts, "instructions", seat, condition, style)
    if instructions is None:
        raise InputError("prompts.instructions: the scenario has no instructions prompt")
    text_ = fill(instructions, "instructions", private_fields(request, rules))
    parts.append(text_ + "\n" + appendix if appendix else text_)
    return tuple(parts)


def json_hints(prompts: dict[str, str], rules: Game, side: str, condition: str,
               request: MoveRequest, style: str | None = None) -> str:
    """What the JSON protocol appends to the instructions: the scenario's json_proposer and
    json_responder texts (a player may hold both roles in one game), or the game's own."""
    seat = seat_of(side)
    fields = private_fields(request, rules)
    found = [fill(t, key, fields) for key in ("json_proposer", "json_responder")
             if (t := lookup(prompts, key, seat, condition, style)) is not None]
    if found:
        return "\n".join(found)
    return rules.json_hint()
