"""Drawing an avatar's traits: the graded expression lists that set its *design aggressiveness*
level by construction, the identity lists drawn independently of the level, and the draws.

Level 1 has happy eyes, a smile, raised eyebrows and a pastel background; the top level has
angry eyebrows, squinting eyes, a screaming or grimacing mouth, a skull t-shirt, maybe an
eyepatch, on a dark red background; levels in between move along graded lists. Identity traits
(skin, hair, clothes, facial hair) are drawn at random and independently of the level, so they
do not confound it. Every avatar is derived from `(seed, index)` alone with a local RNG.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import python_avatars as pa

from scenarios.errors import InputError

# ----------------------------------------------------------------------------- graded lists
# Stage 0 is the friendliest, the last stage the most aggressive. Each stage lists
# (part value, English phrase) options; one is picked at random within the stage.

EYEBROW_STAGES: tuple[tuple[tuple[pa.EyebrowType, str], ...], ...] = (
    ((pa.EyebrowType.RAISED_EXCITED, "raised eyebrows"), (pa.EyebrowType.RAISED_EXCITED_NATURAL, "raised eyebrows")),
    ((pa.EyebrowType.DEFAULT, "relaxed eyebrows"), (pa.EyebrowType.DEFAULT_NATURAL, "relaxed eyebrows")),
    ((pa.EyebrowType.UP_DOWN, "one skeptically raised eyebrow"),
     (pa.EyebrowType.UP_DOWN_NATURAL, "one skeptically raised eyebrow")),
    ((pa.EyebrowType.FLAT_NATURAL, "low flat eyebrows"), (pa.EyebrowType.UNIBROW_NATURAL, "a heavy unibrow")),
    ((pa.EyebrowType.ANGRY, "angry eyebrows"), (pa.EyebrowType.ANGRY_NATURAL, "angry eyebrows")),
)
EYE_STAGES: tuple[tuple[tuple[pa.EyeType, str], ...], ...] = (
    ((pa.EyeType.HAPPY, "happy smiling eyes"),),
    ((pa.EyeType.DEFAULT, "calm eyes"),),
    ((pa.EyeType.DEFAULT, "calm eyes"), (pa.EyeType.SIDE, "eyes glancing sideways")),
    ((pa.EyeType.SIDE, "eyes glancing sideways"), (pa.EyeType.SQUINT, "narrowed squinting eyes")),
    ((pa.EyeType.SQUINT, "narrowed squinting eyes"),),
)
MOUTH_STAGES: tuple[tuple[tuple[pa.MouthType, str], ...], ...] = (
    ((pa.MouthType.SMILE, "a wide open smile"), (pa.MouthType.BIG_SMILE, "a big grin")),
    ((pa.MouthType.DEFAULT, "a gentle smile"), (pa.MouthType.TWINKLE, "a small smile")),
    ((pa.MouthType.SERIOUS, "a straight serious mouth"),),
    ((pa.MouthType.SAD, "a downturned displeased mouth"), (pa.MouthType.GRIMACE, "a clenched-teeth grimace")),
    ((pa.MouthType.SCREAM_OPEN, "a screaming mouth"), (pa.MouthType.GRIMACE, "a clenched-teeth grimace")),
)
EXPRESSION_STAGES = (EYEBROW_STAGES, EYE_STAGES, MOUTH_STAGES)
MAX_SCORE = sum(len(s) - 1 for s in EXPRESSION_STAGES)  # 12: eyebrows + eyes + mouth stages

BACKGROUND_STAGES: tuple[tuple[tuple[str, str], ...], ...] = (
    (("#BDE0FE", "soft pastel blue"), ("#C1F0C9", "soft pastel green"), ("#FFF3B0", "soft pastel yellow"),
     ("#E4D7FF", "soft lavender"), ("#FFD6E5", "soft pastel pink")),
    (("#FFF1D6", "pale cream"), ("#FFE3CF", "pale peach")),
    (("#F0D2A8", "light tan"), ("#F9C4AE", "light salmon")),
    (("#F2A15F", "orange"), ("#F08A70", "coral")),
    (("#D9602B", "burnt orange"), ("#E0533D", "red-orange")),
    (("#C62828", "red"), ("#B3122E", "crimson")),
    (("#7A0B0B", "dark red"), ("#6B0A12", "dark red")),
)

# ----------------------------------------------------------------------------- identity lists
# Costume parts (astronaut, gladiator, Jedi, chef, bride, "evil spike", mohawk ...) are left out:
# they carry their own aggressiveness cues and would confound the designed level.

HAIR: dict[pa.HairType, str] = {
    pa.HairType.NONE: "a bald head",
    pa.HairType.BIG_HAIR: "big voluminous {c} hair",
    pa.HairType.BOB: "a {c} bob",
    pa.HairType.BUN: "{c} hair in a bun",
    pa.HairType.CAESAR_SIDE_PART: "short side-parted {c} hair",
    pa.HairType.CAESAR: "a short {c} crop",
    pa.HairType.CURLY: "curly {c} hair",
    pa.HairType.CURVY: "long wavy {c} hair",
    pa.HairType.DREADS: "{c} dreadlocks",
    pa.HairType.FRIZZLE: "short frizzy {c} hair",
    pa.HairType.FRO_BAND: "a {c} afro with a headband",
    pa.HairType.FRO: "a {c} afro",
    pa.HairType.LONG_NOT_TOO_LONG: "shoulder-length {c} hair",
    pa.HairType.MIA_WALLACE: "a {c} bob with bangs",
    pa.HairType.SHAGGY_MULLET: "a shaggy {c} mullet",
    pa.HairType.SHAGGY: "shaggy {c} hair",
    pa.HairType.SHORT_CURLY: "short curly {c} hair",
    pa.HairType.SHORT_DREADS_1: "short {c} dreadlocks",
    pa.HairType.SHORT_DREADS_2: "short twisted {c} dreadlocks",
    pa.HairType.SHORT_FLAT: "short flat {c} hair",
    pa.HairType.SHORT_ROUND: "short rounded {c} hair",
    pa.HairType.SHORT_WAVED: "short wavy {c} hair",
    pa.HairType.SIDES: "a bald crown with {c} hair at the sides",
    pa.HairType.STRAIGHT_1: "long straight {c} hair",
    pa.HairType.STRAIGHT_2: "long straight {c} hair",
    pa.HairType.STRAIGHT_STRAND: "long straight {c} hair with a loose strand",
    pa.HairType.BRAIDS: "{c} braids",
    pa.HairType.BUZZCUT: "a {c} buzz cut",
    pa.HairType.CORNROWS: "{c} cornrows",
    pa.HairType.CURLY_2: "long curly {c} hair",
    pa.HairType.DREADLOCKS: "long {c} dreadlocks",
    pa.HairType.ELVIS: "a slicked-back {c} quiff",
    pa.HairType.HALF_SHAVED: "half-shaved {c} hair",
    pa.HairType.LOOSE_HAIR: "long loose {c} hair",
    pa.HairType.MOWGLI: "messy {c} hair",
    pa.HairType.PIXIE: "a {c} pixie cut",
    pa.HairType.POMPADOUR: "a {c} pompadour",
    pa.HairType.QUIFF: "a {c} quiff",
    pa.HairType.TWIST_LONG_HAIR: "long twisted {c} hair",
    pa.HairType.TWIST_LONG_HAIR_2: "long twisted {c} hair",
    pa.HairType.WILD: "wild {c} hair",
}
HATS: dict[pa.HatType, str] = {
    pa.HatType.HIJAB: "a {c} hijab",
    pa.HatType.TURBAN: "a {c} turban",
    pa.HatType.WINTER_HAT_1: "a {c} winter hat",
    pa.HatType.WINTER_HAT_2: "a {c} knitted winter hat",
    pa.HatType.WINTER_HAT_3: "a {c} beanie",
}
# These tops have no slot for facial hair in python-avatars, so none is drawn (or described).
NO_FACIAL_HAIR_SLOT = frozenset({pa.HairType.CURLY_2, pa.HairType.LOOSE_HAIR, pa.HatType.HIJAB})

HAIR_COLORS: dict[pa.HairColor, str] = {
    pa.HairColor.AUBURN: "auburn", pa.HairColor.BLACK: "black", pa.HairColor.BLONDE: "blonde",
    pa.HairColor.BLONDE_GOLDEN: "golden blonde", pa.HairColor.BROWN: "brown",
    pa.HairColor.BROWN_DARK: "dark brown", pa.HairColor.PASTEL_PINK: "pastel pink",
    pa.HairColor.PLATINUM: "platinum blonde", pa.HairColor.RED: "red",
    pa.HairColor.SILVER_GRAY: "silver-grey",
}
SKIN_COLORS: dict[pa.SkinColor, str] = {
    pa.SkinColor.TANNED: "tanned", pa.SkinColor.YELLOW: "yellow", pa.SkinColor.PALE: "pale",
    pa.SkinColor.LIGHT: "light", pa.SkinColor.BROWN: "brown", pa.SkinColor.DARK_BROWN: "dark brown",
    pa.SkinColor.BLACK: "very dark brown",
}
CLOTHING_COLORS: dict[pa.ClothingColor, str] = {
    pa.ClothingColor.BLACK: "black", pa.ClothingColor.BLUE_01: "light blue", pa.ClothingColor.BLUE_02: "blue",
    pa.ClothingColor.BLUE_03: "navy", pa.ClothingColor.GRAY_01: "light grey", pa.ClothingColor.GRAY_02: "grey",
    pa.ClothingColor.HEATHER: "dark grey", pa.ClothingColor.PASTEL_BLUE: "pastel blue",
    pa.ClothingColor.PASTEL_GREEN: "pastel green", pa.ClothingColor.PASTEL_ORANGE: "pastel orange",
    pa.ClothingColor.PASTEL_YELLOW: "pastel yellow", pa.ClothingColor.PINK: "pink", pa.ClothingColor.RED: "red",
    pa.ClothingColor.WHITE: "white",
}
CLOTHING: dict[pa.ClothingType, str] = {
    pa.ClothingType.BLAZER_SHIRT: "a dark blazer over a {c} shirt",
    pa.ClothingType.BLAZER_SWEATER: "a dark blazer over a {c} sweater",
    pa.ClothingType.COLLAR_SWEATER: "a {c} sweater with a collar",
    pa.ClothingType.GRAPHIC_SHIRT: "a {c} t-shirt with a {g} print",
    pa.ClothingType.HOODIE: "a {c} hoodie",
    pa.ClothingType.OVERALL: "{c} overalls",
    pa.ClothingType.SHIRT_CREW_NECK: "a {c} crew-neck t-shirt",
    pa.ClothingType.SHIRT_SCOOP_NECK: "a {c} scoop-neck top",
    pa.ClothingType.SHIRT_V_NECK: "a {c} v-neck t-shirt",
}
FRIENDLY_GRAPHICS: dict[pa.ClothingGraphic, str] = {
    pa.ClothingGraphic.BEAR: "bear", pa.ClothingGraphic.DEER: "deer", pa.ClothingGraphic.DIAMOND: "diamond",
    pa.ClothingGraphic.HOLA: "speech-bubble", pa.ClothingGraphic.PIZZA: "pizza-slice",
}
EDGY_GRAPHICS: dict[pa.ClothingGraphic, str] = {
    pa.ClothingGraphic.BAT: "bat", pa.ClothingGraphic.SKULL_OUTLINE: "skull-outline",
}
SKULL = (pa.ClothingGraphic.SKULL, "skull")
FACIAL_HAIR: dict[pa.FacialHairType, str] = {
    pa.FacialHairType.BEARD_LIGHT: "a light {c} beard", pa.FacialHairType.BEARD_MEDIUM: "a {c} beard",
    pa.FacialHairType.BEARD_MAGESTIC: "a full {c} beard",
    pa.FacialHairType.MOUSTACHE_FANCY: "a curled {c} moustache",
    pa.FacialHairType.MOUSTACHE_MAGNUM: "a thick {c} moustache",
}
GLASSES: dict[pa.AccessoryType, str] = {
    pa.AccessoryType.ROUND: "round glasses", pa.AccessoryType.PRESCRIPTION_1: "light-framed glasses",
    pa.AccessoryType.PRESCRIPTION_2: "dark-framed glasses",
}
EYEPATCH = (pa.AccessoryType.EYEPATCH, "an eyepatch")
P_GLASSES = 0.12
P_FACIAL_HAIR = 0.35


@dataclass(frozen=True, slots=True)
class AvatarTraits:
    """Everything drawn for one avatar: enough to re-render it and to describe it in words.
    Part fields hold python-avatars enum values; colours are hex strings."""

    index: int
    level: int
    levels: int
    score: int  # expression stages summed (0..MAX_SCORE); rises with level
    eyebrows: str
    eyes: str
    mouth: str
    accessory: str  # "" for none
    top: str  # "hair/<type>" or "hat/<type>"
    hair_color: str  # hex; "" when no hair shows (bald, hats)
    hat_color: str  # hex; "" unless the top is a hat
    skin_color: str
    facial_hair: str  # "" for none
    facial_hair_color: str  # hex; "" without facial hair
    clothing: str
    clothing_color: str
    shirt_graphic: str  # "" unless clothing is graphic_shirt
    background: str  # hex, fills the whole square
    description: str

    def avatar(self) -> pa.Avatar:
        """The python-avatars object for these traits."""
        kind, _, value = self.top.partition("/")
        top = pa.HairType(value) if kind == "hair" else pa.HatType(value)
        return pa.Avatar(
            style=pa.AvatarStyle.TRANSPARENT,
            background_color=self.background,
            top=top,
            hat_color=self.hat_color or pa.ClothingColor.HEATHER.value,
            eyebrows=pa.EyebrowType(self.eyebrows),
            eyes=pa.EyeType(self.eyes),
            nose=pa.NoseType.DEFAULT,
            mouth=pa.MouthType(self.mouth),
            facial_hair=pa.FacialHairType(self.facial_hair),
            skin_color=self.skin_color,
            hair_color=self.hair_color or pa.HairColor.BROWN.value,  # "" = not visible
            facial_hair_color=self.facial_hair_color or pa.HairColor.BROWN.value,
            accessory=pa.AccessoryType(self.accessory),
            clothing=pa.ClothingType(self.clothing),
            clothing_color=self.clothing_color,
            shirt_graphic=pa.ClothingGraphic(self.shirt_graphic),
        )

    def look(self) -> tuple[str, ...]:
        """Everything that shows in the picture; equal looks mean identical images."""
        cols = self.manifest_columns()
        cols.pop("design_score")
        return tuple(cols.values())

    def manifest_columns(self) -> dict[str, str]:
        """Trait columns stored in manifest.csv next to the standard ones (for analysis)."""
        d = asdict(self)
        for k in ("index", "level", "levels", "description"):
            d.pop(k)
        d["design_score"] = str(d.pop("score"))
        return {k: str(v) for k, v in d.items()}


def level_position(level: int, levels: int) -> float:
    """Where a level sits between friendliest (0.0) and most aggressive (1.0). A single level
    is neutral (0.5)."""
    if levels < 1 or not 1 <= level <= levels:
        raise ValueError(f"level {level} not in 1..{levels}")
    return 0.5 if levels == 1 else (level - 1) / (levels - 1)


def level_of(index: int, levels: int) -> int:
    """Levels go round-robin over indices: n//levels each, the remainder to the lowest levels,
    and persona ids do not reveal a level by their position."""
    return index % levels + 1


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def draw_traits(seed: int, index: int, level: int, levels: int, attempt: int = 0) -> AvatarTraits:
    """Draw one avatar from `(seed, index)` with a private RNG (never the global one).

    `attempt` > 0 gives a fresh draw for the same index; `generate_pool` uses it to redraw
    the rare avatar that would look exactly like an earlier one.

    Identity traits are drawn first, in a fixed order, so the same `(seed, index)` keeps its
    face and clothes whatever the level; the level then sets the expression (a budget of
    `round(t * MAX_SCORE)` stages spread over eyebrows, eyes and mouth), the background, the
    chance of an eyepatch (0 up to mid-scale, 1/2 at the top) and of a skull t-shirt (t**2).
    """
    key = f"persona-arena/avatar/{int(seed)}/{int(index)}" + (f"/{int(attempt)}" if attempt else "")
    rng = random.Random(key)
    t = level_position(level, levels)

    # identity (level-independent)
    skin = rng.choice(list(SKIN_COLORS))
    tops: list[pa.HairType | pa.HatType] = [*HAIR, *HATS]
    top = rng.choice(tops)
    hair_color = rng.choice(list(HAIR_COLORS))
    hat_color = rng.choice(list(CLOTHING_COLORS))
    facial = rng.choice(list(FACIAL_HAIR)) if rng.random() < P_FACIAL_HAIR else pa.FacialHairType.NONE
    if top in NO_FACIAL_HAIR_SLOT:
        facial = pa.FacialHairType.NONE
    facial_color = hair_color if isinstance(top, pa.HairType) else rng.choice(list(HAIR_COLORS))
    clothing = rng.choice(list(CLOTHING))
    clothing_color = rng.choice(list(CLOTHING_COLORS))
    friendly = rng.choice(list(FRIENDLY_GRAPHICS.items()))
    edgy = rng.choice(list(EDGY_GRAPHICS.items()))
    glasses = rng.choice(list(GLASSES.items())) if rng.random() < P_GLASSES else None
    u_patch, u_skull = rng.random(), rng.random()

    # designed aggressiveness
    budget = int(t * MAX_SCORE + 0.5)
    base, extra = divmod(budget, len(EXPRESSION_STAGES))
    bumped = set(rng.sample(range(len(EXPRESSION_STAGES)), extra))
    picks = []
    for i, stages in enumerate(EXPRESSION_STAGES):
        stage = min(base + (i in bumped), len(stages) - 1)
        picks.append(rng.choice(stages[stage]))
    (eyebrows, eyebrows_txt), (eyes, eyes_txt), (mouth, mouth_txt) = picks
    score = budget
    bg_hex, bg_txt = rng.choice(BACKGROUND_STAGES[int(t * (len(BACKGROUND_STAGES) - 1) + 0.5)])

    p_patch = max(0.0, (t - 0.5) / 0.5) * 0.5
    accessory = EYEPATCH if u_patch < p_patch else glasses
    graphic: tuple[pa.ClothingGraphic, str] | None = None
    if u_skull < t * t:
        clothing, graphic = pa.ClothingType.GRAPHIC_SHIRT, SKULL
    elif clothing is pa.ClothingType.GRAPHIC_SHIRT:
        graphic = edgy if t >= 0.5 else friendly

    # words
    if isinstance(top, pa.HairType):
        top_txt = HAIR[top].format(c=HAIR_COLORS[hair_color])
    else:
        top_txt = HATS[top].format(c=CLOTHING_COLORS[hat_color])
    parts = [eyebrows_txt, eyes_txt, mouth_txt, f"{SKIN_COLORS[skin]} skin", top_txt]
    if facial is not pa.FacialHairType.NONE:
        parts.append(FACIAL_HAIR[facial].format(c=HAIR_COLORS[facial_color]))
    if accessory is not None:
        parts.append(accessory[1])
    parts.append(CLOTHING[clothing].format(c=CLOTHING_COLORS[clothing_color], g=graphic[1] if graphic else ""))
    description = f"A cartoon character with {_join(parts)}, on a {bg_txt} background."

    return AvatarTraits(
        index=index, level=level, levels=levels, score=score,
        eyebrows=eyebrows.value, eyes=eyes.value, mouth=mouth.value,
        accessory=accessory[0].value if accessory else "",
        top=("hair/" if isinstance(top, pa.HairType) else "hat/") + top.value,
        # colours that do not show are left empty, so equal columns mean equal pictures
        hair_color=hair_color.value if isinstance(top, pa.HairType) and top is not pa.HairType.NONE else "",
        hat_color=hat_color.value if isinstance(top, pa.HatType) else "",
        skin_color=skin.value,
        facial_hair=facial.value,
        facial_hair_color=facial_color.value if facial is not pa.FacialHairType.NONE else "",
        clothing=clothing.value, clothing_color=clothing_color.value,
        shirt_graphic=graphic[0].value if graphic else "",
        background=bg_hex,
        description=description,
    )


MAX_ATTEMPTS = 200


def draw_pool_traits(n: int, levels: int, seed: int) -> list[AvatarTraits]:
    """Traits for a whole pool, in index order, with no two avatars looking the same.

    With ~5,000 avatars a few exact look-alikes would otherwise occur by chance (the friendliest
    level has the least variety); two personas sharing one image would confound the analysis.
    A look-alike is redrawn with the next `attempt`; the order is fixed, so this stays
    deterministic (and cheap: drawing is ~0.1 ms, rendering is what costs).
    """
    seen: set[tuple[str, ...]] = set()
    out: list[AvatarTraits] = []
    for i in range(n):
        level = level_of(i, levels)
        for attempt in range(MAX_ATTEMPTS):
            traits = draw_traits(seed, i, level, levels, attempt)
            if traits.look() not in seen:
                break
        else:
            raise InputError(
                f"--n: cannot draw {n} distinct avatars over {levels} levels (level {level} ran out of variety;"
                f" use more levels or fewer avatars)"
            )
        seen.add(traits.look())
        out.append(traits)
    return out
