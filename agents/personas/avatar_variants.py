"""Counterfactual avatar sets: one drawn identity rendered with every value of the varied
attributes while everything else stays as drawn, so that a difference between two variants can
only come from the attribute that differs.

Each attribute has a fixed, documented value set (`ATTRIBUTES`) and owns the trait columns it
may change (`OWNS`); a variant's other trait columns are its identity's. An identity is drawn
with `draw_traits` (so `(seed, index)` alone fixes it) and redrawn with the next `attempt`
while an attribute would not show on it (hair colour on a hat, a beard under a hijab). Each
variant's text description is written anew from its traits (`describe`), the same words the
generator uses.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import python_avatars as pa

from agents.personas.avatar_traits import (
    BACKGROUND_STAGES, CLOTHING, CLOTHING_COLORS, EDGY_GRAPHICS, EXPRESSION_STAGES, EYEPATCH,
    FACIAL_HAIR, FRIENDLY_GRAPHICS, GLASSES, HAIR, HAIR_COLORS, HATS, MAX_ATTEMPTS,
    NO_FACIAL_HAIR_SLOT, SKIN_COLORS, SKULL, AvatarTraits, _join, draw_traits, level_of)
from agents.personas.manifest import ATTR_PREFIX, IDENTITY_COLUMN
from scenarios.errors import InputError

MAX_VARIANTS = 100_000  # identities x product of value counts (the bound of --n)
__all__ = ["ATTR_PREFIX", "ATTRIBUTES", "IDENTITY_COLUMN", "MAX_VARIANTS", "OWNS", "Variant",
           "check_bound", "count_variants", "describe", "identity_traits", "identity_variants",
           "parse_vary", "values_of"]

# the value sets: label -> the trait value it sets (python-avatars value or hex colour)
# hair styles under which python-avatars draws a beard the same way (about half its styles
# shift the beard's shading), none of them a costume
_HAIR_STYLES = (pa.HairType.SHORT_FLAT, pa.HairType.CAESAR, pa.HairType.BOB, pa.HairType.STRAIGHT_1,
                pa.HairType.FRO, pa.HairType.DREADS, pa.HairType.PIXIE, pa.HairType.BRAIDS)
ATTRIBUTES: dict[str, dict[str, str]] = {
    "skin": {c.name.lower(): c.value for c in SKIN_COLORS},
    "hair": {h.name.lower(): h.value for h in _HAIR_STYLES},
    "hair_color": {c.name.lower(): c.value for c in HAIR_COLORS},
    "facial_hair": {"none": pa.FacialHairType.NONE.value,
                    **{f.name.lower(): f.value for f in FACIAL_HAIR}},
    "glasses": {"none": "", **{g.name.lower(): g.value for g in GLASSES}},
    "clothing_color": {c.name.lower(): c.value for c in CLOTHING_COLORS},
    # one colour per background stage, friendliest first: the background apart from the face
    "background": {txt.replace(" ", "_").replace("-", "_"): hex_ for (hex_, txt), *_ in
                   BACKGROUND_STAGES},
    "level": {},  # 1..levels, filled in by `values_of`
}
# the trait columns each attribute may change (the rest of a variant is its identity's)
OWNS: dict[str, frozenset[str]] = {
    "skin": frozenset({"skin_color"}),
    "hair": frozenset({"top"}),
    "hair_color": frozenset({"hair_color", "facial_hair_color"}),
    "facial_hair": frozenset({"facial_hair", "facial_hair_color"}),
    "glasses": frozenset({"accessory"}),
    "clothing_color": frozenset({"clothing_color"}),
    "background": frozenset({"background"}),
    "level": frozenset({"eyebrows", "eyes", "mouth", "accessory", "clothing", "shirt_graphic",
                        "background", "design_score"}),
}
FALLBACK_FACIAL_COLOR = pa.HairColor.BROWN_DARK.value  # a beard on someone with no hair showing


def parse_vary(text: str) -> tuple[str, ...]:
    """`--vary skin,glasses` -> ("skin", "glasses"); unknown or repeated names are one line."""
    names = tuple(part.strip() for part in text.split(","))
    for name in names:
        if name not in ATTRIBUTES:
            raise InputError(f"--vary: unknown attribute {name!r} (expected one or more of "
                             f"{', '.join(ATTRIBUTES)}, comma-separated)")
    if len(set(names)) != len(names):
        raise InputError(f"--vary: {text!r} names an attribute twice")
    return names


def values_of(attribute: str, levels: int) -> dict[str, str]:
    """The value labels of one attribute (in their order) and the trait value each sets."""
    if attribute == "level":
        return {str(lv): str(lv) for lv in range(1, levels + 1)}
    return ATTRIBUTES[attribute]


def count_variants(n: int, vary: Sequence[str], levels: int) -> int:
    total = n
    for name in vary:
        total *= len(values_of(name, levels))
    return total


def check_bound(n: int, vary: Sequence[str], levels: int) -> int:
    """The number of variants, or one line when it passes MAX_VARIANTS (or when an
    attribute would have a single value: nothing to contrast)."""
    for name in vary:
        if len(values_of(name, levels)) < 2:
            raise InputError(f"--vary: {name} has one value with --levels {levels} (expected "
                             "--levels 2 or more to vary the level)")
    total = count_variants(n, vary, levels)
    if total > MAX_VARIANTS:
        sizes = " x ".join(f"{len(values_of(v, levels))} {v}" for v in vary)
        raise InputError(f"--vary: {n:,} identities x {sizes} = {total:,} avatars (at most "
                         f"{MAX_VARIANTS:,}); use fewer identities or attributes")
    return total


@dataclass(frozen=True, slots=True)
class Variant:
    """One avatar of a counterfactual set: its identity, attribute labels and traits."""

    identity: str
    values: tuple[tuple[str, str], ...]  # (attribute, value label), in --vary order
    traits: AvatarTraits


def _shows(traits: AvatarTraits, vary: Sequence[str]) -> bool:
    """Would every varied attribute show on this identity (and its variants be distinct)?"""
    hair_top = traits.top.startswith("hair/") and traits.top != f"hair/{pa.HairType.NONE.value}"
    if ("hair" in vary or "hair_color" in vary) and not hair_top:
        return False
    top_slotless = any(traits.top.endswith("/" + t.value) for t in NO_FACIAL_HAIR_SLOT)
    if "facial_hair" in vary and top_slotless and "hair" not in vary:
        return False
    return True


def _apply(base: AvatarTraits, attribute: str, value: str) -> AvatarTraits:
    if attribute == "skin":
        return replace(base, skin_color=value)
    if attribute == "hair":
        return replace(base, top=f"hair/{value}")
    if attribute == "hair_color":
        beard = value if base.facial_hair != pa.FacialHairType.NONE.value else ""
        return replace(base, hair_color=value, facial_hair_color=beard)
    if attribute == "facial_hair":
        none = value == pa.FacialHairType.NONE.value
        colour = base.facial_hair_color or base.hair_color or FALLBACK_FACIAL_COLOR
        return replace(base, facial_hair=value, facial_hair_color="" if none else colour)
    if attribute == "glasses":
        return replace(base, accessory=value)
    if attribute == "clothing_color":
        return replace(base, clothing_color=value)
    if attribute == "background":
        return replace(base, background=value)
    raise ValueError(f"attribute {attribute!r} is not set by _apply")


def identity_traits(seed: int, index: int, vary: Sequence[str], levels: int,
                    first_attempt: int = 0) -> tuple[AvatarTraits, int]:
    """The identity's drawn traits at its own level and the attempt that drew them: the first
    from `first_attempt` on which every varied attribute shows."""
    level = level_of(index, levels)
    for attempt in range(first_attempt, MAX_ATTEMPTS):
        traits = draw_traits(seed, index, level, levels, attempt)
        if _shows(traits, vary):
            return traits, attempt
    raise InputError(f"--vary: no identity {index} on which {', '.join(vary)} show")


def identity_variants(seed: int, index: int, vary: Sequence[str], levels: int,
                      identity: str, first_attempt: int = 0) -> list[Variant]:
    """Every variant of one identity: the product of the varied attributes' values (the level
    is drawn first, then each other attribute set; the description is written last)."""
    base, attempt = identity_traits(seed, index, vary, levels, first_attempt)
    labels = [list(values_of(name, levels).items()) for name in vary]
    out = []
    for combo in itertools.product(*labels):
        traits = base
        if "level" in vary:
            level = int(dict(zip(vary, (v for v, _ in combo)))["level"])
            traits = draw_traits(seed, index, level, levels, attempt)
        for name, (_, value) in zip(vary, combo):
            if name != "level":
                traits = _apply(traits, name, value)
        traits = replace(traits, description=describe(traits))
        out.append(Variant(identity, tuple((n, v) for n, (v, _) in zip(vary, combo)), traits))
    return out


# ----------------------------------------------------------------------------- words
def _phrases(stages: Sequence[Sequence[tuple[object, str]]]) -> dict[str, str]:
    return {getattr(part, "value", part): txt for stage in stages for part, txt in stage}


_EXPRESSION = [_phrases(stages) for stages in EXPRESSION_STAGES]
_BACKGROUND = _phrases(BACKGROUND_STAGES)
_GRAPHICS = {g.value: txt for g, txt in [*FRIENDLY_GRAPHICS.items(), *EDGY_GRAPHICS.items(),
                                         SKULL]}
_ACCESSORY = {a.value: txt for a, txt in [*GLASSES.items(), EYEPATCH]}


def describe(traits: AvatarTraits) -> str:
    """The generator's description of these traits (the same words `draw_traits` writes)."""
    parts = [table[value] for table, value in zip(
        _EXPRESSION, (traits.eyebrows, traits.eyes, traits.mouth))]
    parts.append(f"{SKIN_COLORS[pa.SkinColor(traits.skin_color)]} skin")
    kind, _, value = traits.top.partition("/")
    if kind == "hair":
        colour = HAIR_COLORS[pa.HairColor(traits.hair_color)] if traits.hair_color else ""
        parts.append(HAIR[pa.HairType(value)].format(c=colour))
    else:
        parts.append(HATS[pa.HatType(value)].format(c=CLOTHING_COLORS[pa.ClothingColor(
            traits.hat_color)]))
    if traits.facial_hair != pa.FacialHairType.NONE.value:
        parts.append(FACIAL_HAIR[pa.FacialHairType(traits.facial_hair)].format(
            c=HAIR_COLORS[pa.HairColor(traits.facial_hair_color)]))
    if traits.accessory:
        parts.append(_ACCESSORY[traits.accessory])
    parts.append(CLOTHING[pa.ClothingType(traits.clothing)].format(
        c=CLOTHING_COLORS[pa.ClothingColor(traits.clothing_color)],
        g=_GRAPHICS.get(traits.shirt_graphic, "")))
    return f"A cartoon character with {_join(parts)}, on a {_BACKGROUND[traits.background]} background."
