"""Personas for a run: the pool's manifest, ratings, and the levels that pairing designs use."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from agents.personas.persona import Persona
from scenarios.errors import InputError


def levels_from_scores(scores: dict[str, float], levels: int) -> dict[str, int]:
    """Bin scores into 1..levels: rounded when they already lie on that scale, else by quantile."""
    if not scores:
        return {}
    values = list(scores.values())
    if all(1 <= v <= levels for v in values):
        return {pid: int(min(levels, max(1, round(v)))) for pid, v in scores.items()}
    ordered = sorted(scores, key=lambda pid: (scores[pid], pid))
    n = len(ordered)
    return {pid: 1 + (i * levels) // n for i, pid in enumerate(ordered)}


SCALE = (1.0, 7.0)  # the paper's rating scale ("from 1 to 7")


def parse_score(text: object, where: str, scale: tuple[float, float] = SCALE) -> float:
    """A rater's score: a finite number on the scale. nan, inf, -1e9 or 1e300 would be stored
    and then bin every persona's level."""
    try:
        score = float(str(text).strip())
    except (TypeError, ValueError):
        raise InputError(f"{where}: score {text!r} is not a number") from None
    low, high = scale
    if not math.isfinite(score) or not low <= score <= high:
        raise InputError(f"{where}: score {text!r} is outside the scale {low:g}..{high:g}")
    return score


def check_columns(path: Path, found: list[str] | None, required: tuple[str, ...],
                  optional: tuple[str, ...] = ()) -> set[str]:
    """The header of a ratings CSV: the required columns, the optional ones, nothing else (an
    ignored column is data someone meant to be read)."""
    columns = list(found or [])
    expected = ", ".join(required) + (f" and optionally {', '.join(optional)}" if optional else "")
    missing = [c for c in required if c not in columns]
    if missing:
        raise InputError(f"{path}: missing column '{missing[0]}' (expected {expected})")
    extra = [c for c in columns if c not in (*required, *optional)]
    if extra:
        raise InputError(f"{path}: unknown column '{extra[0]}' (expected {expected})")
    return set(columns)


def read_ratings_csv(path: Path, known: set[str] | None = None,
                     scale: tuple[float, float] = SCALE) -> dict[str, dict[str, float]]:
    """rater -> persona_id -> score, from a CSV with columns persona_id, rater, score; with
    `known`, a persona_id outside it is refused (it would skew quantile levels unseen)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError:
        raise InputError(f"{path}: cannot read the ratings file") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    check_columns(path, reader.fieldnames, ("persona_id", "rater", "score"))
    table: dict[str, dict[str, float]] = {}
    for line, row in enumerate(reader, start=2):
        if None in row:
            raise InputError(f"{path} line {line}: more fields than the header's columns")
        if known is not None and row["persona_id"] not in known:
            raise InputError(f"{path} line {line}: persona_id {row['persona_id']!r} is not "
                             "in the pool's manifest")
        score = parse_score(row["score"], f"{path} line {line}", scale)
        table.setdefault(row["rater"], {})[row["persona_id"]] = score
    return table


def pool_ratings(pool: Path) -> dict[str, dict[str, float]]:
    """Ratings stored in the pool by `persona-arena rate` (POOL/ratings.sqlite), by rater."""
    path = pool / "ratings.sqlite"
    if not path.exists():
        return {}
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        table: dict[str, dict[str, float]] = {}
        for pid, rater, score in conn.execute(
                "SELECT persona_id, rater, score FROM ratings WHERE score IS NOT NULL"):
            table.setdefault(rater, {})[pid] = score
        return table
    finally:
        conn.close()


def _check_design_levels(pool: Path, entries: list, levels: int) -> None:
    """A design uses levels 1..design.levels of a pool; higher levels may be left out on
    purpose (a short run on levels 1..2 of a 1..7 pool), but one apart from all the others
    (99 in a pool of 1..7) is a typo that would drop its persona without a word."""
    present = {e.level for e in entries if e.level is not None}
    for e in sorted(entries, key=lambda e: (e.level or 0, e.persona_id)):
        if e.level is not None and e.level > levels and e.level - 1 not in present:
            below = sorted(level for level in present if level < e.level)
            where = f"{below[0]}..{below[-1]}" if below else "none below"
            raise InputError(f"{pool / 'manifest.csv'}: field 'level' of persona "
                             f"{e.persona_id}: {e.level} is outside design.levels 1..{levels} "
                             f"and apart from the pool's other levels ({where})")


def load_personas(pool: Path, rating: str, levels: int, ratings_file: Path | None = None,
                  checks_dir: Path | None = None,
                  scale: tuple[float, float] = SCALE) -> list[Persona]:
    """The pool's personas with all known ratings, and levels from the chosen rating. With
    `checks_dir`, images that passed the pool check before and are unchanged are not decoded
    again (see agents/image_checks)."""
    from agents.personas.manifest import read_manifest

    if checks_dir is None:
        entries = read_manifest(pool)
    else:
        from agents.personas.check_memo import ImageChecks

        checks = ImageChecks(checks_dir)
        try:
            entries = read_manifest(pool, checks=checks)
        finally:
            checks.close()
    ratings = pool_ratings(pool)
    if ratings_file is not None:
        known = {e.persona_id for e in entries}
        for rater, scores in read_ratings_csv(ratings_file, known, scale).items():
            ratings.setdefault(rater, {}).update(scores)
    if rating == "design":
        level_of = {e.persona_id: e.level for e in entries}
        _check_design_levels(pool, entries, levels)
    elif rating in ratings:
        level_of = levels_from_scores(ratings[rating], levels)
    else:
        known = ", ".join(["design", *sorted(ratings)])
        raise InputError(f"personas.rating: no ratings by '{rating}' for pool {pool} "
                         f"(known: {known})")
    personas = []
    for e in entries:
        scores = {rater: table[e.persona_id] for rater, table in ratings.items()
                  if e.persona_id in table}
        if e.level is not None:
            scores.setdefault("design", float(e.level))
        personas.append(Persona(e.persona_id, e.image, e.sha256, level_of.get(e.persona_id),
                                scores, e.description, e.identity, e.attributes))
    return personas
