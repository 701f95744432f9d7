"""Image files of a pool, checked before anything trusts them: inside the pool, a real PNG, JPEG
or WebP, not animated, not a decompression bomb, fully decodable, hashed."""
from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from scenarios.errors import InputError

IMAGE_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP")
IMAGE_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".webp"})
MAX_PIXELS = 40_000_000
"""Refuse images above this many pixels: far beyond what a vision model takes, and the cheap
guard against decompression bombs (a tiny file that inflates to gigabytes)."""


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
