"""A persona pool: a folder of avatar images plus `manifest.csv`.

The manifest is the contract between avatar generation/import, raters and the arena: one row per
persona with at least `persona_id, image, sha256, level`. Everything read from a pool is checked
(paths stay inside the pool, images decode, hashes match) because pools are user input and a
bad image would otherwise only fail deep inside a tournament, after money was spent on an LLM.
Errors are one-line `InputError`s naming the file, line and value.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageOps, UnidentifiedImageError

from scenarios.errors import InputError

if TYPE_CHECKING:
    from agents.image_checks import ImageChecks
    from agents.persona import Persona

MANIFEST = "manifest.csv"
REQUIRED_COLUMNS: tuple[str, ...] = ("persona_id", "image", "sha256", "level")
STANDARD_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, "description")
IMAGE_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP")
IMAGE_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".webp"})
MAX_PIXELS = 40_000_000
"""Refuse images above this many pixels: far beyond what a vision model takes, and the cheap
guard against decompression bombs (a tiny file that inflates to gigabytes)."""

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_INT_RE = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True, slots=True)
class PoolEntry:
    """One persona of a pool. `image` is absolute so entries stay valid whatever the cwd is;
    `extra` keeps manifest columns we do not interpret (traits, ratings) for analysis."""

    persona_id: str
    image: Path
    sha256: str
    level: int | None
    description: str = ""
    extra: Mapping[str, str] = field(default_factory=dict, hash=False)

    def to_persona(self) -> Persona:
        """The negotiator-side view of this entry (imported lazily: no import cycle)."""
        from agents.persona import Persona

        return Persona(
            persona_id=self.persona_id,
            image=self.image,
            image_sha256=self.sha256,
            level=self.level,
            description=self.description,
        )


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What `load_image_checked` learnt about an image that fully decoded."""

    path: Path  # resolved, inside the pool
    format: str  # PNG | JPEG | WEBP
    mode: str  # Pillow mode, e.g. RGB, RGBA, P, CMYK, I;16
    width: int
    height: int
    sha256: str
    data: bytes = field(repr=False)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _inside_str(path: str, root: str) -> bool:
    """`path` is `root` or below it (both absolute and normalised)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def load_image_checked(
    path: Path, pool_root: Path, max_pixels: int = MAX_PIXELS, decode: bool = True
) -> ImageInfo:
    """Read and fully decode one image, refusing anything that could hurt or mislead later.

    Checks, in order: the path (after following symlinks) stays inside `pool_root`; it is a
    non-empty file; Pillow identifies it as PNG, JPEG or WebP; it is not animated; its pixel
    count is at most `max_pixels` (checked from the header, before decoding); and, with
    `decode`, it decodes completely (catches truncation; ~1 ms for a 256 px PNG). Errors name
    `path` as given.
    """
    name = str(path)
    root = os.path.realpath(pool_root)
    real = os.path.realpath(path)
    if not os.path.lexists(path) or not os.path.exists(real):
        if os.path.islink(path) and os.path.lexists(path):
            raise InputError(f"{name}: cannot resolve path (a dangling or looping symlink)")
        raise InputError(f"{name}: image file not found")
    if not _inside_str(real, root):
        what = "symlink resolves" if Path(path).is_symlink() else "path is"
        raise InputError(f"{name}: {what} outside the pool ({real} is not under {root})")
    if not os.path.isfile(real):
        raise InputError(f"{name}: not a regular file")
    try:
        with open(real, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror})") from None
    if not data:
        raise InputError(f"{name}: empty file (expected a PNG, JPEG or WebP image)")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as im:
                fmt = (im.format or "").upper()
                width, height = im.size
                mode = im.mode
                if fmt not in IMAGE_FORMATS:
                    raise InputError(f"{name}: unsupported image format {fmt or 'unknown'} (expected PNG, JPEG or WebP)")
                if width * height > max_pixels:
                    raise InputError(
                        f"{name}: image too large ({width}x{height} = {width * height:,} pixels;"
                        f" the limit is {max_pixels:,}, a guard against decompression bombs)"
                    )
                if getattr(im, "is_animated", False):
                    raise InputError(f"{name}: animated image (expected a single still image)")
                if decode:
                    im.load()
        except InputError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InputError(f"{name}: image too large, possible decompression bomb ({exc})") from None
        except UnidentifiedImageError:
            raise InputError(f"{name}: not an image (cannot identify image file)") from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InputError(f"{name}: truncated or corrupt image ({exc})") from None
    return ImageInfo(Path(real), fmt, mode, width, height, sha256_bytes(data), data)


# ----------------------------------------------------------------------------- manifest

def _manifest_error(where: str, message: str) -> InputError:
    return InputError(f"{where}: {message}")


def read_manifest(pool: Path, verify: bool | str = "full",
                  checks: ImageChecks | None = None) -> list[PoolEntry]:
    """Read `pool/manifest.csv` and return its entries in file order.

    `verify="full"` (default, or True) decodes every image and compares its sha256 with the
    manifest, so a run never starts on a pool whose images changed since they were rated or
    that a vision model cannot read; `"hash"` checks the hash and image header only (about 10x
    faster); `"none"` (or False) checks only the manifest itself and that paths stay in the pool.
    With `checks`, an image that passed before and whose file is unchanged since (same size,
    mtime, ctime, inode) is not decoded again; its sha256 must still be the manifest's.
    """
    mode = ("full" if verify else "none") if isinstance(verify, bool) else verify
    if mode not in ("full", "hash", "none"):
        raise ValueError(f"verify must be 'full', 'hash' or 'none', not {verify!r}")
    pool = Path(pool)
    if not pool.exists():
        raise InputError(f"{pool}: pool folder not found")
    if not pool.is_dir():
        raise InputError(f"{pool}: not a folder (expected a pool folder holding {MANIFEST})")
    mpath = pool / MANIFEST
    if not mpath.is_file():
        raise InputError(
            f"{mpath}: manifest not found (a pool folder needs {MANIFEST} with columns"
            f" {', '.join(REQUIRED_COLUMNS)}; create one with `persona-arena avatars import`)"
        )
    root = pool.resolve()
    root_str = str(root)
    try:
        text = mpath.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{mpath}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{mpath}: empty file (expected a header row {','.join(STANDARD_COLUMNS)})") from None
    except csv.Error as exc:
        raise InputError(f"{mpath} line 1: malformed CSV ({exc})") from None
    header = [h.strip() for h in header]
    seen_cols: set[str] = set()
    for col in header:
        if not col:
            raise InputError(f"{mpath}: empty column name in header")
        if col in seen_cols:
            raise InputError(f"{mpath}: duplicate column '{col}' in header")
        seen_cols.add(col)
    for col in REQUIRED_COLUMNS:
        if col not in seen_cols:
            raise InputError(f"{mpath}: missing column '{col}' (expected {', '.join(REQUIRED_COLUMNS)})")

    entries: list[PoolEntry] = []
    first_line: dict[str, int] = {}
    first_image: dict[str, tuple[str, int]] = {}  # sha256 -> (persona_id, line)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError(f"{mpath} line {reader.line_num}: malformed CSV ({exc})") from None
        line = reader.line_num
        where = f"{mpath} line {line}"
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise _manifest_error(where, f"expected {len(header)} fields, found {len(row)}")
        rec = dict(zip(header, (c.strip() for c in row)))
        pid = rec["persona_id"]
        if not pid:
            raise _manifest_error(where, "empty persona_id")
        if not _ID_RE.match(pid):
            raise _manifest_error(
                where, f"persona_id '{pid}' has unsupported characters (expected letters, digits, '.', '_' or '-')"
            )
        if pid in first_line:
            raise _manifest_error(where, f"duplicate persona_id '{pid}' (first on line {first_line[pid]})")
        first_line[pid] = line
        img = rec["image"]
        if not img:
            raise _manifest_error(where, "empty image (expected a file name relative to the pool)")
        normal = os.path.normpath(os.path.join(root_str, img))
        if os.path.isabs(img) or not _inside_str(normal, root_str):
            raise _manifest_error(where, f"image '{img}' is outside the pool")
        real = os.path.realpath(normal)
        if not _inside_str(real, root_str):
            raise _manifest_error(where, f"image '{img}' resolves outside the pool (symlink to {real})")
        sha = rec["sha256"].lower()
        if not _SHA_RE.match(sha):
            raise _manifest_error(where, f"sha256 '{rec['sha256']}' is not a 64-character hex digest")
        if sha in first_image:
            other, other_line = first_image[sha]
            raise _manifest_error(where, f"image '{img}' is the same image (sha256) as persona "
                                         f"'{other}' on line {other_line}; a pool holds each "
                                         "image once")
        first_image[sha] = (pid, line)
        lv = rec["level"]
        if lv == "":
            level = None
        elif _INT_RE.match(lv):
            level = int(lv)
        else:
            raise _manifest_error(where, f"level '{lv}' is not an integer (expected e.g. 1..7, or empty if unknown)")
        if mode != "none":
            stamp = checks.stamp(real) if checks is not None else None
            if stamp is None or not checks.passed(real, stamp, sha, mode):  # type: ignore[union-attr]
                info = load_image_checked(os.path.join(str(pool), img), root_str,
                                          decode=mode == "full")
                if info.sha256 != sha:
                    raise _manifest_error(
                        where, f"sha256 mismatch for image '{img}': manifest has {sha}, file has {info.sha256}"
                    )
                if stamp is not None:
                    checks.record(real, stamp, sha, mode)  # type: ignore[union-attr]
        extra = {k: v for k, v in rec.items() if k not in STANDARD_COLUMNS}
        entries.append(
            PoolEntry(pid, Path(normal), sha, level, rec.get("description", ""), extra)
        )
    if not entries:
        raise InputError(f"{mpath}: no personas (expected one row per persona after the header)")
    return entries


def _manifest_text(pool_root: Path, entries: Iterable[PoolEntry]) -> str:
    entries = list(entries)
    extra_cols: list[str] = []
    for e in entries:
        for k in e.extra:
            if k not in extra_cols and k not in STANDARD_COLUMNS:
                extra_cols.append(k)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*STANDARD_COLUMNS, *extra_cols])
    for e in entries:
        image = Path(e.image)
        if image.is_absolute():
            try:
                image = image.relative_to(pool_root)
            except ValueError:
                raise InputError(f"{e.persona_id}: image {e.image} is outside the pool {pool_root}") from None
        w.writerow([
            e.persona_id, image.as_posix(), e.sha256, "" if e.level is None else e.level, e.description,
            *(e.extra.get(k, "") for k in extra_cols),
        ])
    return buf.getvalue()


def write_manifest(pool: Path, entries: Iterable[PoolEntry], *, image_root: Path | None = None) -> Path:
    """Write `pool/manifest.csv` atomically (temp file + rename): a reader sees the old or the
    new manifest, never half of one. Image paths are written relative to `image_root`
    (default: the pool itself), POSIX-style so pools move between machines."""
    pool = Path(pool)
    root = (Path(image_root) if image_root is not None else pool).resolve()
    text = _manifest_text(root, entries)
    pool.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=pool)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, pool / MANIFEST)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return pool / MANIFEST


# ----------------------------------------------------------------------------- staged output

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


# ----------------------------------------------------------------------------- import

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
            entries.append(PoolEntry(pid, final_root / name, sha256_bytes(data), level, "", {"source": rel_src}))
        write_manifest(stage, entries, image_root=final_root)
    return entries
