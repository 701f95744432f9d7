"""Building a pool folder: staged output that appears whole or not at all, and `avatars import`
(subfolders named 1..7 become levels; images are checked, normalised and hashed)."""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from PIL import Image, ImageOps

from agents.personas.image_files import IMAGE_SUFFIXES, ImageInfo, load_image_checked, sha256_bytes
from agents.personas.manifest import (
    _INT_RE, ATTR_PREFIX, IDENTITY_COLUMN, MANIFEST, PoolEntry, check_identity_columns,
    check_identity_values, write_manifest)
from scenarios.errors import InputError


def check_output_folder(out: Path, overwrite: bool = False) -> None:
    """Fail before doing any work if `out` cannot receive a new pool."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder (expected a new or empty folder for the pool)")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise InputError(f"{out}: folder exists and is not empty (choose a new folder for the pool)")


@contextlib.contextmanager
def staged_folder(out: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a private staging folder next to `out`; on success it replaces `out` by rename.

    A failure (or Ctrl-C) anywhere inside leaves `out` untouched and removes the staging
    folder, so there is never a pool whose manifest and images disagree.
    """
    out = Path(out)
    check_output_folder(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        yield staging
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        if out.exists():  # overwrite=True and not empty: swap, then drop the old pool
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            old.rmdir()
            os.replace(out, old)
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")


def _id_from_stem(stem: str) -> str:
    pid = _SAFE_ID.sub("_", stem).strip("._-")
    return pid or "persona"


def _collect(src: Path) -> list[tuple[Path, int | None, str]]:
    """(file, level, folder label) for every image under src: top-level files have no level;
    subfolders must be integer levels."""
    found: list[tuple[Path, int | None, str]] = []
    for child in sorted(src.iterdir(), key=lambda p: p.name):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            if not _INT_RE.match(child.name):
                raise InputError(
                    f"{child}: subfolder name is not an integer level (expected folders named 1..7 holding images)"
                )
            level = int(child.name)
            for f in sorted(child.iterdir(), key=lambda p: p.name):
                if f.name.startswith("."):
                    continue
                if f.is_dir():
                    raise InputError(f"{f}: nested folder inside level folder (expected images only)")
                if f.suffix.lower() in IMAGE_SUFFIXES:
                    found.append((f, level, child.name))
        elif child.suffix.lower() in IMAGE_SUFFIXES:
            found.append((child, None, ""))
    return found


def source_columns(src: Path) -> dict[str, dict[str, str]]:
    """Columns for the imported images from `SRC/manifest.csv`, if there is one: `image` (the
    file's path under SRC) with any of `identity`, `attr_<name>` and `description`, so a
    counterfactual set made elsewhere keeps its identities and attributes."""
    import csv

    path = src / MANIFEST
    if not path.is_file():
        return {}
    try:
        reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""))
        header = [h.strip() for h in reader.fieldnames or []]
    except (UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"{path}: not a readable CSV ({error})") from None
    if "image" not in header:
        raise InputError(f"{path}: missing column 'image' (the file under {src}, with "
                         f"identity, attr_<name> or description columns)")
    for col in header:
        if col not in ("image", IDENTITY_COLUMN, "description") and not col.startswith(ATTR_PREFIX):
            raise InputError(f"{path}: unknown column '{col}' (expected image, identity, "
                             "attr_<name> and description)")
    check_identity_columns(str(path), header)
    out: dict[str, dict[str, str]] = {}
    for line, row in enumerate(reader, start=2):
        if None in row:
            raise InputError(f"{path} line {line}: more fields than the header's columns")
        rec = {k.strip(): (v or "").strip() for k, v in row.items()}
        check_identity_values(f"{path} line {line}", rec)
        image = rec.pop("image")
        if not (src / image).is_file():
            raise InputError(f"{path} line {line}: image '{image}' is not a file under {src}")
        out[Path(image).as_posix()] = rec
    return out


def skipped_files(src: Path) -> list[Path]:
    """Files under `src` that `avatars import` leaves out for their suffix (.gif, .tiff, .svg,
    notes ...), so that the command can name them rather than drop them without a word."""
    found = []
    for child in sorted(Path(src).iterdir(), key=lambda p: p.name):
        if child.name.startswith("."):
            continue
        files = sorted(child.iterdir(), key=lambda p: p.name) if child.is_dir() else [child]
        found += [f for f in files if not f.name.startswith(".") and f.is_file()
                  and f.suffix.lower() not in IMAGE_SUFFIXES and f != Path(src) / MANIFEST]
    return found


def _assign_ids(items: list[tuple[Path, int | None, str]]) -> list[str]:
    """Ids from file stems; where stems collide (case-insensitively, as file systems may),
    prefix the level folder, then add the extension, then a counter."""
    def key(s: str) -> str:
        return s.lower()

    ids = [_id_from_stem(f.stem) for f, _, _ in items]
    counts: dict[str, int] = {}
    for i in ids:
        counts[key(i)] = counts.get(key(i), 0) + 1
    ids = [
        (f"{label}_{pid}" if label else pid) if counts[key(pid)] > 1 else pid
        for pid, (_, _, label) in zip(ids, items)
    ]
    counts = {}
    for i in ids:
        counts[key(i)] = counts.get(key(i), 0) + 1
    ids = [
        f"{pid}_{f.suffix.lstrip('.').lower()}" if counts[key(pid)] > 1 else pid
        for pid, (f, _, _) in zip(ids, items)
    ]
    used: set[str] = set()
    final: list[str] = []
    for pid in ids:
        cand, n = pid, 2
        while key(cand) in used:
            cand, n = f"{pid}_{n}", n + 1
        used.add(key(cand))
        final.append(cand)
    return final


def _normalised_image(info: ImageInfo) -> tuple[bytes, str]:
    """Bytes and suffix to store. RGB PNG/JPEG/WebP and RGBA PNG without EXIF rotation are
    copied verbatim (hash-stable); palette, CMYK, grey, 16-bit, other RGBA and EXIF-rotated
    images become 8-bit RGB(A) PNG, which every vision API accepts and shows as the user saw
    it."""
    suffix = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}[info.format]
    with Image.open(io.BytesIO(info.data)) as im:
        orientation = im.getexif().get(0x0112, 1)
        plain = info.mode == "RGB" or (info.mode == "RGBA" and info.format == "PNG")
        if plain and orientation in (1, None):
            return info.data, suffix
        im.load()
        img = ImageOps.exif_transpose(im) or im
        has_alpha = "A" in img.mode or "transparency" in img.info
        if img.mode.startswith("I;16"):
            # 16-bit grey: scale to 8 bits; Pillow's convert("L") would clip everything above 255.
            img = img.convert("I").point(lambda v: v / 257).convert("L")
        elif img.mode in ("I", "F"):
            lo, hi = img.getextrema()
            span = (hi - lo) or 1
            img = img.point(lambda v: (v - lo) * (255.0 / span)).convert("L")
        img = img.convert("RGBA" if has_alpha else "RGB")
        buf = io.BytesIO()
        img.save(buf, format="PNG", optimize=False)
        return buf.getvalue(), ".png"


def import_pool(src: Path, out: Path, *, overwrite: bool = False) -> list[PoolEntry]:
    """Turn a folder of images into a pool folder with a manifest.

    Images directly under `src` get no level; images in subfolders named by an integer
    (1, 2, ... 7) get that level. Persona ids come from the file stems. Every image is checked
    with `load_image_checked` before anything is written; the pool appears at `out` only once
    complete.
    """
    src = Path(src)
    if not src.exists():
        raise InputError(f"{src}: source folder not found")
    if not src.is_dir():
        raise InputError(f"{src}: not a folder (expected a folder of images, optionally in subfolders 1..7)")
    check_output_folder(Path(out), overwrite)
    items = _collect(src)
    if not items:
        raise InputError(f"{src}: no images found (expected .png, .jpg, .jpeg or .webp files, optionally in subfolders 1..7)")
    ids = _assign_ids(items)
    columns = source_columns(src)
    src_root = src.resolve()
    prepared: list[tuple[str, int | None, bytes, str, str]] = []
    first_seen: dict[str, Path] = {}  # sha256 of the source bytes -> first file with them
    for (f, level, label), pid in zip(items, ids):
        info = load_image_checked(f, src_root)
        first = first_seen.setdefault(info.sha256, f)
        if first != f:
            raise InputError(f"{f}: the same image as {first} (a pool holds each image once; "
                             "remove one of them)")
        data, suffix = _normalised_image(info)
        rel_src = f.relative_to(src).as_posix()
        prepared.append((pid, level, data, suffix, rel_src))
    out = Path(out)
    final_root = out.resolve()
    entries: list[PoolEntry] = []
    with staged_folder(out, overwrite) as stage:
        for pid, level, data, suffix, rel_src in prepared:
            name = f"{pid}{suffix}"
            (stage / name).write_bytes(data)
            extra = dict(columns.get(rel_src, {}))
            description = extra.pop("description", "")
            entries.append(PoolEntry(pid, final_root / name, sha256_bytes(data), level,
                                     description, {"source": rel_src, **extra}))
        write_manifest(stage, entries, image_root=final_root)
    return entries
