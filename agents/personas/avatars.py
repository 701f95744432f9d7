"""Generate a pool of cartoon avatars whose *design aggressiveness* is set by construction.

The paper ("Kiss up, Kick down") rated avatar images for aggressiveness after the fact. Here the
aggressiveness level is a design variable (see `avatar_traits`: drawing; `avatar_render`:
SVG and PNG); this module draws a whole pool, renders it on all CPUs and writes the folder.
Every avatar is derived from `(seed, index)` alone with a local RNG, so a pool is byte-for-byte
reproducible for a given seed and package versions, whatever the number of worker processes.
The public names of drawing and rendering stay importable from here.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from agents.personas.avatar_render import clean_svg, render_png, render_svg
from agents.personas.avatar_traits import (
    BACKGROUND_STAGES, CLOTHING, CLOTHING_COLORS, EDGY_GRAPHICS, EXPRESSION_STAGES, EYE_STAGES,
    EYEBROW_STAGES, EYEPATCH, FACIAL_HAIR, FRIENDLY_GRAPHICS, GLASSES, HAIR, HAIR_COLORS, HATS,
    MAX_ATTEMPTS, MAX_SCORE, MOUTH_STAGES, NO_FACIAL_HAIR_SLOT, P_FACIAL_HAIR, P_GLASSES, SKIN_COLORS,
    SKULL, AvatarTraits, draw_pool_traits, draw_traits, level_of, level_position)
from agents.personas.avatar_variants import (
    ATTR_PREFIX, IDENTITY_COLUMN, check_bound, identity_traits, identity_variants)
from agents.personas.image_files import sha256_bytes
from agents.personas.manifest import PoolEntry, write_manifest
from agents.personas.pool_import import check_output_folder, staged_folder
from scenarios.errors import InputError


def _render_job(job: tuple[AvatarTraits, int]) -> tuple[AvatarTraits, bytes]:
    traits, size = job
    return traits, render_png(traits, size)


def persona_id(index: int, n: int) -> str:
    """`p0001`-style ids, zero-padded to at least 4 digits (more if n needs it)."""
    return f"p{index + 1:0{max(4, len(str(n)))}d}"


def generate_pool(
    n: int,
    levels: int,
    out: Path,
    seed: int,
    size: int = 256,
    *,
    workers: int | None = None,
    overwrite: bool = False,
    vary: Sequence[str] = (),
) -> list[PoolEntry]:
    """Draw `n` avatars over design levels 1..`levels` into the pool folder `out`.

    Writes `out/<persona_id>.png` and `out/manifest.csv` (standard columns plus the trait
    columns of `AvatarTraits.manifest_columns`). No two avatars look alike (see
    `draw_pool_traits`). Everything is built in a staging folder that
    replaces `out` only when complete. `workers` processes render in parallel (default: all
    CPUs for pools of 200+, else 1); the bytes do not depend on it. `out` must be new or empty
    unless `overwrite`.

    With `vary` (attribute names of `avatar_variants.ATTRIBUTES`), `n` counts identities and
    each is rendered with every value of the varied attributes (a counterfactual set); the
    manifest then also has `identity` and an `attr_<name>` column per varied attribute.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"--n: {n!r} is not a positive integer (expected the number of avatars)")
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise InputError(f"--levels: {levels!r} is not a positive integer (expected e.g. 7)")
    if isinstance(size, bool) or not isinstance(size, int) or not 16 <= size <= 4096:
        raise InputError(f"size: {size!r} is not an integer in 16..4096 (pixels per side)")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"--seed: {seed!r} is not an integer")
    out = Path(out)
    check_output_folder(out, overwrite)
    if workers is None:
        workers = (os.cpu_count() or 1) if n >= 200 else 1
    if vary:
        check_bound(n, vary, levels)
        named = counterfactual_traits(n, levels, seed, vary)
    else:
        named = [(persona_id(t.index, n), t, {}) for t in draw_pool_traits(n, levels, seed)]
    workers = max(1, min(int(workers), len(named)))
    jobs = [(traits, size) for _, traits, _ in named]

    final_root = out.resolve()
    entries: list[PoolEntry] = []
    with staged_folder(out, overwrite) as stage:
        if workers == 1:
            results = map(_render_job, jobs)
            _write_all(results, named, stage, final_root, entries)
        else:
            with ProcessPoolExecutor(max_workers=workers) as ex:
                chunk = max(1, min(64, len(jobs) // (workers * 8) or 1))
                results = ex.map(_render_job, jobs, chunksize=chunk)
                _write_all(results, named, stage, final_root, entries)
        write_manifest(stage, entries, image_root=final_root)
    return entries


def counterfactual_traits(n: int, levels: int, seed: int,
                          vary: Sequence[str]) -> list[tuple[str, AvatarTraits, dict[str, str]]]:
    """(persona id, traits, identity columns) of every variant of `n` identities. No two
    avatars of the pool look alike: an identity any of whose variants would look like an
    earlier avatar (or like another of its own) is drawn again with the next attempt."""
    seen: set[tuple[str, ...]] = set()
    out = []
    for i in range(n):
        identity = f"i{i + 1:0{max(4, len(str(n)))}d}"
        first = 0
        while True:
            variants = identity_variants(seed, i, vary, levels, identity, first)
            looks = [v.traits.look() for v in variants]
            if len(set(looks)) == len(looks) and not seen.intersection(looks):
                break
            first = identity_traits(seed, i, vary, levels, first)[1] + 1
        seen.update(looks)
        for v in variants:
            labels = dict(v.values)
            pid = "-".join([identity, *labels.values()])
            columns = {IDENTITY_COLUMN: identity,
                       **{ATTR_PREFIX + name: label for name, label in labels.items()}}
            out.append((pid, v.traits, columns))
    return out


def _write_all(
    results: Iterable[tuple[AvatarTraits, bytes]], named: Sequence[tuple[str, AvatarTraits, dict[str, str]]],
    stage: Path, final_root: Path, entries: list[PoolEntry]
) -> None:
    """Write PNGs in order as they arrive (into the staging folder) and collect entries."""
    for (traits, png), (pid, _, columns) in zip(results, named):
        name = f"{pid}.png"
        (stage / name).write_bytes(png)
        entries.append(PoolEntry(
            persona_id=pid, image=final_root / name, sha256=sha256_bytes(png), level=traits.level,
            description=traits.description, extra={**columns, **traits.manifest_columns()},
        ))


__all__ = [
    "BACKGROUND_STAGES", "CLOTHING", "CLOTHING_COLORS", "EDGY_GRAPHICS", "EXPRESSION_STAGES",
    "EYE_STAGES", "EYEBROW_STAGES", "EYEPATCH", "FACIAL_HAIR", "FRIENDLY_GRAPHICS", "GLASSES",
    "HAIR", "HAIR_COLORS", "HATS", "MAX_ATTEMPTS", "MAX_SCORE", "MOUTH_STAGES",
    "NO_FACIAL_HAIR_SLOT", "P_FACIAL_HAIR", "P_GLASSES", "SKIN_COLORS", "SKULL", "AvatarTraits",
    "clean_svg", "draw_pool_traits", "draw_traits", "generate_pool", "level_of",
    "level_position", "persona_id", "render_png", "render_svg"]
