"""The prompt keys a scenario (or a config's `[prompts]`) may hold, and what each may contain.

Checked when a scenario file or config is read, so that a typo (`instuctions`), a placeholder
the negotiator never fills (`{rounds}`, `{round.__class__}`), a broken template (`{round===`)
or a value a key does not take (`round_marker_to = "nobody"`) is refused with one line naming
the key, instead of being ignored, or failing every match of a run.
"""
from __future__ import annotations

import difflib
import re
import string

PROMPT_SEATS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")
# conditions, '-' and '+' as '_'
PROMPT_CONDITIONS = ("self_only", "both_images", "text", "image_text", "text_as_image", "none")
VARIANT_SUFFIXES = frozenset(
    [*PROMPT_SEATS, *PROMPT_CONDITIONS,
     *(f"{seat}_{cond}" for seat in PROMPT_SEATS for cond in PROMPT_CONDITIONS)])

GAME_TEMPLATES = ("instructions", "json_proposer", "json_responder")
# templates filled with fixed placeholders (str.format; {{ and }} for literal braces)
TEMPLATES: dict[str, frozenset[str]] = {
    "own_image": frozenset(), "opponent_image": frozenset(),
    "own_text": frozenset({"description"}), "opponent_text": frozenset({"description"}),
    # the second and later opponents of games of more than two seats (agents.prompts)
    "next_opponent_image": frozenset({"number", "player"}),
    "next_opponent_text": frozenset({"description", "number", "player"}),
    "round_marker": frozenset({"round"}), "extract_user": frozenset({"text"}),
}
# texts sent as written (no placeholders are filled)
TEXTS = ("system", "extract_claim", "extract_acceptance", "rating", "confederate_accept")
CHOICES = {"round_marker_to": ("proposer", "all")}
_CONFEDERATE_LINE = re.compile(r"^confederate_propose_[1-9][0-9]{0,2}$")
BASE_KEYS = (*GAME_TEMPLATES, *TEMPLATES, *TEXTS, *CHOICES)


def is_variant(key: str, base: str) -> bool:
    """Whether prompt `key` is a seat or condition variant of `base` (the lookup's fallbacks:
    `{base}_{seat}_{condition}`, `{base}_{seat}`, `{base}_{condition}`)."""
    return key.startswith(base + "_") and key[len(base) + 1:] in VARIANT_SUFFIXES


def base_key(key: str) -> str | None:
    """The key a prompt key is (a variant of), or None when it is no prompt key at all."""
    if key in BASE_KEYS or _CONFEDERATE_LINE.match(key):
        return key
    for base in BASE_KEYS:
        if is_variant(key, base):
            return base
    for seat in PROMPT_SEATS:  # the confederate's lines vary by seat only
        if key.endswith("_" + seat) and _CONFEDERATE_LINE.match(key[:-len(seat) - 1]):
            return key[:-len(seat) - 1]
    return None


def check_prompts(prompts: dict[str, str], fields: frozenset[str] | None) -> None:
    """Raise ValueError naming the first bad prompt key (in sorted order). `fields` are the
    placeholders the game fills (Game.placeholder_names); with None (a config's overrides,
    before the scenario is known) any plain placeholder passes, checked later."""
    for key in sorted(prompts):
        base = base_key(key)
        if base is None:
            near = difflib.get_close_matches(key, [*BASE_KEYS, "confederate_propose_1"], n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise ValueError(f"field 'prompts.{key}': unknown prompt key{hint} (known: "
                             f"{', '.join(BASE_KEYS)}, confederate_propose_N, and their "
                             "_first/_second and _<condition> variants)")
        value = prompts[key]
        if base in CHOICES:
            if value not in CHOICES[base]:
                raise ValueError(f"field 'prompts.{key}': expected one of "
                                 f"{', '.join(CHOICES[base])} (got {value!r})")
        elif base in TEMPLATES:
            check_template(key, value, TEMPLATES[base])
        elif base in GAME_TEMPLATES:
            check_template(key, value, fields)


# a short format spec: width and precision of at most two digits (`g`, `.2f`, `>6`)
_SHORT_SPEC = re.compile(r"[<>^=]?[+\- ]?#?0?\d{0,2}(?:\.\d{1,2})?[bcdeEfFgGnosxX%]?")


def check_template(key: str, template: str, allowed: frozenset[str] | None) -> None:
    """Only plain placeholder names from `allowed` (any plain name when None; no attribute or
    index access, no nested fields); a broken template is refused as such."""
    known = ", ".join(sorted(allowed)) if allowed else "none"
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(f"field 'prompts.{key}': bad template ({error}; write {{{{ and }}}} "
                         "for literal braces)") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        # `{round!r}` shows Python's repr; `{round:>99999999}` is a 100 MB prompt: plain names,
        # with at most a short number format such as `{reservation:g}` or `{x:.2f}`
        if conversion or (spec and not _SHORT_SPEC.fullmatch(spec)):
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            why = ("it has a conversion" if conversion else
                   "a format longer than a short number format such as :g or :.2f")
            raise ValueError(f"field 'prompts.{key}': placeholder {{{shown}}} is not a plain "
                             f"name ({why}; known: {known})")
        if not name.isidentifier():
            raise ValueError(f"field 'prompts.{key}': placeholder {{{name}}} is not a plain "
                             f"name (known: {known}; write {{{{ and }}}} for literal braces)")
        if allowed is not None and name not in allowed:
            raise ValueError(f"field 'prompts.{key}': unknown placeholder {{{name}}} (known: "
                             f"{known}; write {{{{ and }}}} for literal braces)")
        if spec and ("{" in spec or "}" in spec):
            raise ValueError(f"field 'prompts.{key}': nested placeholder in {{{name}:{spec}}}")
