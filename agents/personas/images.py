"""Persona images as `image_url` parts: encoded once per run, referred to by hash.

A data URL of a 512-px avatar is ~100 KB of base64; building it for every call of every match
would dominate a run's CPU time, and AutoGen's own `Image` re-encodes the picture to PNG on
every request (dropping the original bytes). So we encode each image once, keep the text, and
hand AutoGen an `Image` subclass that only returns it. The subclass also carries the `detail`
level, which AutoGen's OpenAI message transform does not pass (it calls `to_openai_format()`
without arguments).
"""
from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path
from typing import Any

from autogen_core import Image

from scenarios.errors import InputError

_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}


class EncodedImage(Image):
    """An image already encoded to a data URL; `sha256` is of the bytes actually sent."""

    def __init__(self, data: bytes, mime: str, detail: str | None = None) -> None:
        # Deliberately not calling Image.__init__: it decodes and converts to RGB.
        self.data = data
        self.mime = mime
        self.detail = detail
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

    @property
    def image(self) -> Any:  # AutoGen's token counting reads .image.size; decode only then
        from PIL import Image as PILImage

        return PILImage.open(io.BytesIO(self.data))

    def to_base64(self) -> str:
        return self.url.split(",", 1)[1]

    @property
    def data_uri(self) -> str:
        return self.url

    def to_openai_format(self, detail: str | None = None) -> dict[str, Any]:  # type: ignore[override]
        part: dict[str, Any] = {"url": self.url}
        chosen = detail if detail is not None else self.detail
        if chosen is not None:
            part["detail"] = chosen
        return {"type": "image_url", "image_url": part}

    def canonical(self) -> dict[str, Any]:
        """How the image enters a cache key: its hash and detail, never the base64."""
        return {"type": "image", "sha256": self.sha256, "detail": self.detail}

    def __repr__(self) -> str:
        return f"EncodedImage({self.mime}, {len(self.data)} bytes, sha256={self.sha256[:12]})"


class ImageEncoder:
    """Encodes each (file, max side, detail) once; safe to share across all matches of a run."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int | None, str | None], EncodedImage] = {}
        self._bytes: dict[str, bytes] = {}

    def encode(self, path: Path, max_side: int | None = None,
               detail: str | None = None) -> EncodedImage:
        key = (str(path), max_side, detail)
        found = self._cache.get(key)
        if found is None:
            found = self._encode(Path(path), max_side, detail)
            self._cache[key] = found
        return found

    def _read(self, path: Path) -> bytes:
        data = self._bytes.get(str(path))
        if data is None:
            try:
                data = path.read_bytes()
            except OSError as error:
                raise InputError(f"{path}: cannot read the persona image ({error.strerror})") from None
            self._bytes[str(path)] = data
        return data

    def _encode(self, path: Path, max_side: int | None, detail: str | None) -> EncodedImage:
        from PIL import Image as PILImage, UnidentifiedImageError

        data = self._read(path)
        try:
            with PILImage.open(io.BytesIO(data)) as img:
                fmt = (img.format or "").upper()
                width, height = img.size
                if max_side is not None and max(width, height) > max_side:
                    scale = max_side / max(width, height)
                    size = (max(1, round(width * scale)), max(1, round(height * scale)))
                    small = img.convert("RGBA" if "A" in img.getbands() else "RGB")
                    small = small.resize(size, PILImage.LANCZOS)
                    out = io.BytesIO()
                    small.save(out, format="PNG", optimize=True)
                    return EncodedImage(out.getvalue(), "image/png", detail)
        except (UnidentifiedImageError, OSError) as error:
            raise InputError(f"{path}: not a readable image ({error})") from None
        if fmt not in _MIME:
            raise InputError(f"{path}: image format {fmt or 'unknown'} cannot be sent "
                             f"(expected one of {', '.join(_MIME)})")
        return EncodedImage(data, _MIME[fmt], detail)  # the original bytes, untouched
