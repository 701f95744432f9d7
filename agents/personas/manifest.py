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
import io
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from agents.personas.image_files import _inside_str, load_image_checked
from scenarios.errors import InputError

if TYPE_CHECKING:
    from agents.personas.check_memo import ImageChecks
    from agents.personas.persona import Persona

MANIFEST = "manifest.csv"
REQUIRED_COLUMNS: tuple[str, ...] = ("persona_id", "image", "sha256", "level")
STANDARD_COLUMNS: tuple[str, ...] = (*REQUIRED_COLUMNS, "description")

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_INT_RE = re.compile(r"^[+-]?\d+$")
MAX_LEVEL = 100  # the most levels a design has (design.levels)
# counterfactual sets: the identity a persona is a variant of, and its attributes (attr_<name>)
IDENTITY_COLUMN = "identity"
ATTR_PREFIX = "attr_"
_ATTR_NAME_RE = re.compile(r"^attr_[a-z][a-z0-9_]*$")


def check_identity_columns(where: str, header: Iterable[str]) -> None:
    """Attribute columns are `attr_` and a lower-case name (analysis and configs use it)."""
    for col in header:
        if col.startswith(ATTR_PREFIX) and not _ATTR_NAME_RE.match(col):
            raise InputError(f"{where}: column '{col}' is not an attribute name (expected "
                             "attr_ and lower-case letters, digits or '_', e.g. attr_skin)")


def check_identity_values(where: str, rec: Mapping[str, str]) -> None:
    """An identity is an id like a persona's; a variant with attributes names its identity."""
    identity = rec.get(IDENTITY_COLUMN, "")
    if identity and not _ID_RE.match(identity):
        raise InputError(f"{where}: identity '{identity}' has unsupported characters (expected "
                         "letters, digits, '.', '_' or '-')")
    attrs = [k for k, v in rec.items() if k.startswith(ATTR_PREFIX) and v != ""]
    if attrs and not identity:
        raise InputError(f"{where}: {attrs[0]} is set but identity is empty (a variant names "
                         "the identity it is a variant of)")


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

    @property
    def identity(self) -> str:
        """The counterfactual identity set this persona belongs to ("" for none)."""
        return self.extra.get(IDENTITY_COLUMN, "")

    @property
    def attributes(self) -> dict[str, str]:
        """The `attr_<name>` columns by name: the values that tell an identity's variants apart."""
        return {k[len(ATTR_PREFIX):]: v for k, v in self.extra.items()
                if k.startswith(ATTR_PREFIX) and v != ""}

    def to_persona(self) -> Persona:
        """The negotiator-side view of this entry (imported lazily: no import cycle)."""
        from agents.personas.persona import Persona

        return Persona(
            persona_id=self.persona_id,
            image=self.image,
            image_sha256=self.sha256,
            level=self.level,
            description=self.description,
            identity=self.identity,
            attributes=self.attributes,
        )


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
    check_identity_columns(str(mpath), header)

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
        check_identity_values(where, rec)
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
        # an image right in the (resolved) pool folder that is no symlink is its own real
        # path: one lstat instead of realpath's walk over every folder above it
        real = (normal if os.path.dirname(normal) == root_str and not os.path.islink(normal)
                else os.path.realpath(normal))
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
            if not 1 <= level <= MAX_LEVEL:  # no design has such a level: dropped unseen
                raise _manifest_error(where, f"level {level} is outside 1..{MAX_LEVEL} "
                                             "(or empty if unknown)")
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
