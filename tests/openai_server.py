"""A loopback server that speaks the OpenAI chat-completions protocol, for tests and benchmarks.

No machine running the tests reaches an LLM API, so every LLM code path is exercised against this
real HTTP server on 127.0.0.1 instead of a patched client. Standard library only.

It answers "like a persona would", deterministically from the request: the paper's image rating
prompt gets a digit 1..7 from the image; a round marker (``===round3===``) gets a proposal whose
claim grows with the speaker's own image level and shrinks with the opponent's; a proposal gets
an accept or reject; the paper's extraction prompts get a number. It can inject faults (429, 5xx,
dropped connections, stalls, malformed bodies, empty or unusable answers) at seeded rates, and it
records every request.

Three ways to use it::

    with LoopbackServer(latency_ms=50, rate_429=0.1, seed=1) as srv:   # in-process
        client = openai.OpenAI(base_url=srv.base_url, api_key="sk-test")
        ...
        srv.requests, srv.stats()

    with start_server_process(seed=1, latency_ms=500) as proc:          # separate process
        proc.base_url, proc.requests(), proc.stats()

    python -m tests.openai_server --port 0 --latency-ms 500 --seed 1 --rate-429 0.1 --ready-file F
"""
from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import math
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zlib
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "FAULTS",
    "LoopbackServer",
    "PersonaPolicy",
    "ServerProcess",
    "data_url",
    "image_level",
    "image_size",
    "image_tokens",
    "make_png",
    "parse_offer",
    "persona_reply",
    "prompt_tokens",
    "start_server_process",
]

Responder = Callable[[dict[str, Any]], str]

# Fault kinds in the order their rates are stacked on [0, 1).
FAULTS = ("429", "500", "503", "close", "stall", "malformed", "empty", "refusal", "garbage",
          "no_choices", "null_choices", "huge")
# How a server reads a request's content, like real servers do: every part ("all"); a message
# whose content is a list is read as empty ("drop-lists": llama-cpp-python's default chat
# formatter); image parts are skipped but text parts read ("ignore-images": a text-only model
# behind a tolerant server); image parts are refused with a 400 ("reject-images").
CONTENT_MODES = ("all", "drop-lists", "ignore-images", "reject-images")
HUGE_BYTES = 4 * 1024 * 1024  # a "huge" fault's answer: a runaway generation
REFUSAL_TEXT = "I'm sorry, but I can't help with that."
GARBAGE_TEXT = "The sky is blue today."
MALFORMED_BODY = b'{"id": "chatcmpl-malformed", "object": "chat.completion", "choices": [{"index": 0, "mess'

RATING_PHRASE = "rate how aggressive the character looks from 1 to 7"
CLAIM_EXTRACT_PHRASE = "extract the amount the proposer proposed"
ACCEPT_EXTRACT_PHRASE = "if the responder accepts the proposal, print '1'"
PROBE_PHRASE = "what colour is the shape"  # the vision probe's question (agents/models/probe.py)
ROUND_MARKER = re.compile(r"===\s*round\s*(\d+)\s*===", re.IGNORECASE)
# majority-division: its instructions' example, the players, the asked seat, a named share
_MAJORITY = re.compile(r"player 1 gets \$\d+, player 2 gets \$\d+", re.IGNORECASE)
_PLAYERS = re.compile(r"among (\d+) players", re.IGNORECASE)
_ME = re.compile(r"You are player (\d+)", re.IGNORECASE)
_SHARE = re.compile(r"player (\d+) gets \$(\d+(?:\.\d+)?)", re.IGNORECASE)
# A marker embedded in an image file (e.g. a PNG tEXt chunk "aggression\0<level>") fixes its level.
LEVEL_MARKER = re.compile(rb"aggress[a-z]*[=:\x00 ]+([1-7])", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Images: dimensions from bytes, OpenAI's vision token rule, a tiny PNG writer for tests.
# --------------------------------------------------------------------------------------------

def image_tokens(width: int, height: int, detail: str | None = "auto") -> int:
    """Prompt tokens of one image by OpenAI's published rule for its vision models (GPT-4o).

    "low" costs 85. Otherwise the image is scaled to fit 2048x2048, then so that its shortest
    side is 768 px (when longer), and costs 85 + 170 per 512-px tile. Sizes are floored after
    each scaling, as AutoGen's `calculate_vision_tokens` does.
    """
    if detail == "low":
        return 85
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, not {width}x{height}")
    w, h = width, height
    longest = max(w, h)
    if longest > 2048:
        w, h = max(1, w * 2048 // longest), max(1, h * 2048 // longest)
    shortest = min(w, h)
    if shortest > 768:
        w, h = max(1, w * 768 // shortest), max(1, h * 768 // shortest)
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG, GIF or WebP file from its bytes; None if unrecognised."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
            w, h = struct.unpack("<HH", data[26:30])
            return w & 0x3FFF, h & 0x3FFF
        if chunk == b"VP8L" and data[20] == 0x2F:
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X":
            return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i, n = 2, len(data)
    while i + 3 < n:
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        if marker == 0xD9:
            return None
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker in _JPEG_SOF and i + 9 <= n:
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None


def make_png(width: int, height: int, rgb: tuple[int, int, int] = (128, 128, 128),
             text: dict[str, str] | None = None) -> bytes:
    """A solid-colour RGB PNG, with optional tEXt chunks (e.g. ``{"aggression": "6"}``)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * width
    out = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))]
    for key, value in (text or {}).items():
        out.append(chunk(b"tEXt", key.encode("latin-1") + b"\x00" + value.encode("latin-1")))
    out.append(chunk(b"IDAT", zlib.compress(row * height, 6)))
    out.append(chunk(b"IEND", b""))
    return b"".join(out)


def data_url(data: bytes, mime: str | None = None) -> str:
    """A base64 data URL for image bytes; the MIME type is sniffed when not given."""
    if mime is None:
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            mime = "image/png"
        elif data[:2] == b"\xff\xd8":
            mime = "image/jpeg"
        elif data[:4] == b"GIF8":
            mime = "image/gif"
        elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            mime = "image/webp"
        else:
            mime = "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _decode_data_url(url: str) -> bytes | None:
    if not url.startswith("data:"):
        return None
    head, _, payload = url.partition(",")
    if not head.endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        return None


def _image_bytes(url: str) -> bytes:
    """The bytes an image URL stands for: decoded data URLs, else the URL text itself."""
    data = _decode_data_url(url)
    return data if data is not None else url.encode("utf-8")


def image_level(url: str) -> int:
    """The aggressiveness level 1..7 this server's personas see in an image.

    A marker in the image bytes (e.g. a PNG tEXt chunk ``aggression`` = ``6``) fixes it;
    otherwise it is a hash of the image bytes, so the same image always gets the same level.
    """
    data = _image_bytes(url)
    found = LEVEL_MARKER.search(data)
    if found:
        return int(found.group(1))
    return 1 + int.from_bytes(hashlib.sha256(data).digest()[:8], "big") % 7


def decode_png(data: bytes) -> tuple[int, int, list[bytes]] | None:
    """(width, height, rows of RGB bytes) of an 8-bit, non-interlaced RGB/RGBA/grey PNG; None
    for anything else. Enough to see what colour an image shows, as a vision model would."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos, idat, header = 8, [], None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        payload = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", payload)
        elif kind == b"IDAT":
            idat.append(payload)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        return None
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace or width * height > 4096 * 4096:
        return None
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error:
        return None
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if len(line) < stride:
            return None
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = previous[i]
            c = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        previous = line
        if channels >= 3:
            rgb = bytes(v for x in range(width) for v in line[x * channels:x * channels + 3])
        else:
            rgb = bytes(line[x * channels] for x in range(width) for _ in range(3))
        rows.append(rgb)
    return width, height, rows


PROBE_COLOURS = {"red": (220, 40, 40), "green": (40, 160, 60), "blue": (40, 80, 220),
                 "yellow": (240, 210, 40), "purple": (140, 60, 180)}


def image_colour(url: str) -> str | None:
    """The named colour (of PROBE_COLOURS) most of an image's non-white pixels are nearest to."""
    decoded = decode_png(_image_bytes(url))
    if decoded is None:
        return None
    width, height, rows = decoded
    votes: Counter[str] = Counter()
    step = max(1, min(width, height) // 32)
    for y in range(0, height, step):
        row = rows[y]
        for x in range(0, width, step):
            r, g, b = row[3 * x:3 * x + 3]
            if min(r, g, b) > 200:
                continue  # the white background
            votes[min(PROBE_COLOURS, key=lambda n: sum((u - v) ** 2 for u, v in
                                                       zip(PROBE_COLOURS[n], (r, g, b))))] += 1
    return votes.most_common(1)[0][0] if votes else None


# --------------------------------------------------------------------------------------------
# Reading a chat request
# --------------------------------------------------------------------------------------------

def _parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [p if isinstance(p, dict) else {"type": "text", "text": str(p)} for p in content]
    return [{"type": "text", "text": str(content)}]


def message_text(message: dict[str, Any]) -> str:
    return "\n".join(str(p.get("text", "")) for p in _parts(message) if p.get("type") == "text")


def message_images(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(url, detail) of each image_url part of a message, in order."""
    out = []
    for part in _parts(message):
        if part.get("type") == "image_url":
            image = part.get("image_url")
            if isinstance(image, str):
                out.append((image, "auto"))
            elif isinstance(image, dict):
                out.append((str(image.get("url", "")), str(image.get("detail") or "auto")))
    return out


def prompt_tokens(body: dict[str, Any]) -> int:
    """Approximate prompt tokens: len(text)//4 + 4 per message, plus each image by OpenAI's rule.

    Images whose size cannot be read (remote URLs, unknown formats) count as 512x512.
    """
    total = 0
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        total += len(message_text(message)) // 4 + 4
        for url, detail in message_images(message):
            data = _decode_data_url(url)
            size = image_size(data) if data is not None else None
            width, height = size if size and size[0] > 0 and size[1] > 0 else (512, 512)
            total += image_tokens(width, height, detail)
    return total


def as_read(body: dict[str, Any], content_mode: str) -> dict[str, Any]:
    """The request as a server in `content_mode` reads it: what the model is shown."""
    if content_mode in ("all", "reject-images"):
        return body
    messages = []
    for message in body.get("messages") or []:
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            if content_mode == "drop-lists":
                message = {**message, "content": ""}
            else:  # ignore-images
                message = {**message, "content": [p for p in message["content"]
                                                  if not (isinstance(p, dict)
                                                          and p.get("type") == "image_url")]}
        messages.append(message)
    return {**body, "messages": messages}


def completion_tokens(text: str) -> int:
    return len(text) // 4 + 1


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _hash_int(*items: Any) -> int:
    h = hashlib.sha256()
    for item in items:
        h.update(item if isinstance(item, bytes) else str(item).encode("utf-8"))
        h.update(b"\x1f")
    return int.from_bytes(h.digest()[:8], "big")


# --------------------------------------------------------------------------------------------
# The default persona policy
# --------------------------------------------------------------------------------------------

_MONEY = r"\$?\s*(\d{1,3}(?:\.\d+)?)\s*\$?"
_OFFER_PATTERNS = (
    # "$70 for me and $30 for you", "- $70 for me\n- $30 for you", "50$ for you"
    (re.compile(_MONEY + r"\s*(?:for|to)\s+(?:me|myself)\b", re.I), "claim"),
    (re.compile(_MONEY + r"\s*(?:for|to)\s+you\b", re.I), "offer"),
    (re.compile(r"\b(?:I|me)\s+(?:shall|will|would|to|'ll)?\s*(?:take|keep|get|receive)s?\s+" + _MONEY, re.I), "claim"),
    (re.compile(r"\byou\s+(?:shall|will|would|'ll)?\s*(?:take|keep|get|receive)s?\s+" + _MONEY, re.I), "offer"),
)
_SPLIT = re.compile(r"\b(\d{1,3})\s*(?:-|/|–|:|to)\s*(\d{1,3})\s*(?:split|division|ratio)", re.I)
_REJECT = re.compile(r"\b(reject|decline|refuse|do not accept|don't accept|cannot accept|can't accept|"
                     r"not accept|no deal)\b", re.I)
_ACCEPT = re.compile(r"\b(accept|agree|deal|fair enough|sounds good)\b", re.I)


def parse_offer(text: str) -> tuple[float, float] | None:
    """(claim for the proposer, offer to the responder) read from a proposal, or None.

    Understands "$70 for me and $30 for you", "I shall take $70", "a 70-30 split"; a missing side
    is 100 minus the other.
    """
    found: dict[str, float] = {}
    for pattern, side in _OFFER_PATTERNS:
        if side not in found:
            match = pattern.search(text)
            if match:
                found[side] = float(match.group(1))
    if not found:
        split = _SPLIT.search(text)
        if split:
            found = {"claim": float(split.group(1)), "offer": float(split.group(2))}
    if not found:
        return None
    claim = found.get("claim", 100.0 - found.get("offer", 0.0))
    offer = found.get("offer", 100.0 - claim)
    return claim, offer


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class PersonaPolicy:
    """Answers a chat request like a persona in the paper's games would, deterministically.

    Same request (messages, request seed) and same server seed -> same answer.
    """

    def __init__(self, seed: int = 0, accept_threshold: float = 25.0) -> None:
        self.seed = seed
        self.accept_threshold = accept_threshold

    def __call__(self, request: dict[str, Any]) -> str:
        messages = [m for m in request.get("messages") or [] if isinstance(m, dict)]
        system = "\n".join(message_text(m) for m in messages if m.get("role") in ("system", "developer"))
        users = [m for m in messages if m.get("role") == "user"]
        user_text = "\n".join(message_text(m) for m in users)
        last_user = message_text(users[-1]) if users else ""
        everything = f"{system}\n{user_text}"
        lowered = everything.lower()
        key = _canonical([messages, request.get("seed"), self.seed])

        if RATING_PHRASE in lowered:
            images = [url for m in users for url, _ in message_images(m)]
            return str(image_level(images[0])) if images else str(1 + _hash_int(key) % 7)
        if CLAIM_EXTRACT_PHRASE in lowered or ACCEPT_EXTRACT_PHRASE in lowered:
            dialogue = user_text.rsplit("Dialogue:", 1)[-1]
            if ACCEPT_EXTRACT_PHRASE in lowered:
                return "0" if _REJECT.search(dialogue) or not _ACCEPT.search(dialogue) else "1"
            offer = parse_offer(dialogue)
            if offer:
                return _number(offer[0])
            numbers = re.findall(r"\d{1,3}", dialogue)
            return numbers[0] if numbers else "None"

        fmt = request.get("response_format")
        wants_json = (isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema")) \
            or re.search(r"\bJSON\b", everything) is not None
        if not wants_json and users and _MAJORITY.search(message_text(users[0])):
            return self._majority(messages, users, key)
        marker = ROUND_MARKER.findall(last_user)
        offer = None if marker else parse_offer(last_user)
        # JSON instructions that offer only accept/reject mean "you are responding".
        responding = '"accept"' in everything and '"propose"' not in everything
        if not marker and offer is None and responding:
            offer = (100.0, 0.0)  # no readable offer: treat it as worthless
        if marker or (offer is None and (wants_json or re.search(r"\bpropos", last_user, re.I))):
            round_no = int(marker[-1]) if marker else max(1, len(ROUND_MARKER.findall(user_text)))
            claim = self._claim(users, round_no, key)
            text = f"As the proposer, I suggest ${claim} for me and ${100 - claim} for you."
            if not wants_json:
                return text
            amount_key = "price" if ('"price"' in everything and '"claim"' not in everything) else "claim"
            return json.dumps({"move": "propose", amount_key: claim, "message": text})
        if offer is not None:
            accept = offer[1] >= self.accept_threshold
            text = ("As the responder, I accept your proposal." if accept
                    else "I reject this proposal.")
            if wants_json:
                return json.dumps({"move": "accept" if accept else "reject", "message": text})
            return text
        return "Greetings! I am ready to play, and I will wait for the round notice."

    def _majority(self, messages: list[dict[str, Any]], users: list[dict[str, Any]],
                  key: bytes) -> str:
        """A player of a divide-by-majority game (majority-division): votes on the latest
        proposal it has not answered yet (yes when its share is fair enough), else proposes
        the claim `_claim` gives for itself and an even split of the rest."""
        first = message_text(users[0])
        players = int(m.group(1)) if (m := _PLAYERS.search(first)) else 3
        me = int(m.group(1)) if (m := _ME.search(first)) else 1
        last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"),
                   default=messages.index(users[0]))
        unanswered = [message_text(m) for m in messages[last + 1:] if m.get("role") == "user"]
        proposals = [t for t in unanswered if _SHARE.search(t)]
        if proposals:
            shares = {int(k): float(v) for k, v in _SHARE.findall(proposals[-1])}
            fair = shares.get(me, 0.0) >= self.accept_threshold * 2 / players
            return "Yes, I vote for this proposal." if fair else "No, I vote against it."
        claim = self._claim(users, 1 + len(ROUND_MARKER.findall("\n".join(unanswered))), key)
        rest = 100 - claim
        each, extra = divmod(rest, players - 1)
        others = [k for k in range(1, players + 1) if k != me]
        share = {me: claim, **{k: each + (1 if i < extra else 0) for i, k in enumerate(others)}}
        return "I propose: " + ", ".join(f"player {k} gets ${share[k]}"
                                         for k in range(1, players + 1)) + "."

    def _claim(self, users: list[dict[str, Any]], round_no: int, key: bytes) -> int:
        """50..80: grows with the speaker's own image level, shrinks with the opponent's."""
        first_images = [url for url, _ in message_images(users[0])] if users else []
        if first_images:
            own = image_level(first_images[0])
            opp = image_level(first_images[1]) if len(first_images) > 1 else own
            jitter = _hash_int(_image_bytes(first_images[0]), round_no, self.seed) % 5
        else:
            own = opp = 1 + _hash_int(message_text(users[0]) if users else "", self.seed) % 7
            jitter = _hash_int(key, round_no) % 5
        return max(50, min(80, 52 + 3 * (own - 1) + (own - opp) + jitter))


def probe_answer(request: dict[str, Any]) -> str | None:
    """The answer to the project's vision probe (the colour of the shape it shows), from the
    images this server read; None for any other request."""
    messages = [m for m in request.get("messages") or [] if isinstance(m, dict)]
    if not any(PROBE_PHRASE in message_text(m).lower() for m in messages):
        return None
    images = [url for m in messages for url, _ in message_images(m)]
    colour = image_colour(images[-1]) if images else None
    return (f"The shape is {colour}." if colour else
            "I do not see any image here; I can only read text.")


def persona_reply(request: dict[str, Any], seed: int = 0, accept_threshold: float = 25.0) -> str:
    """The default answer of the loopback server to a chat request (see PersonaPolicy)."""
    return PersonaPolicy(seed, accept_threshold)(request)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

def _error(message: str, kind: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: "LoopbackServer"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:
            super().log_message(format, *args)

    # -- plumbing -------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), headers=headers)

    def _drop(self) -> None:
        """Close the socket without answering."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- routes ---------------------------------------------------------------------------
    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/_requests":
            self._send_json(200, self.server.requests)
        elif path == "/_stats":
            self._send_json(200, self.server.stats())
        elif path in ("/v1/models", "/models"):
            record = self.server._record(self, None)
            if self._authorised(record):
                self.server._finish(record, 200)
                self._send_json(200, {"object": "list", "data": [
                    {"id": self.server.model, "object": "model", "created": 1700000000, "owned_by": "loopback"}]})
        else:
            self._send_json(404, _error(f"Unknown path {self.path}", "invalid_request_error", "unknown_url"))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        raw = self._read_body()
        if path == "/_reset":
            self.server.reset()
            self._send_json(200, {"ok": True})
        elif path in ("/v1/chat/completions", "/chat/completions"):
            self._chat(raw)
        else:
            self._send_json(404, _error(f"Unknown path {self.path}", "invalid_request_error", "unknown_url"))

    def _authorised(self, record: dict[str, Any]) -> bool:
        key = self.server.require_key
        if key is None:
            return True
        given = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if given == key:
            return True
        self.server._finish(record, 401)
        shown = (given[:3] + "*" * 4 + given[-4:]) if len(given) > 8 else given
        self._send_json(401, _error(f"Incorrect API key provided: {shown}. You can find your API key at "
                                    "https://platform.openai.com/account/api-keys.",
                                    "invalid_request_error", "invalid_api_key"))
        return False

    def _chat(self, raw: bytes) -> None:
        srv = self.server
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            record = srv._record(self, None)
            srv._finish(record, 400)
            self._send_json(400, _error("We could not parse the JSON body of your request.",
                                        "invalid_request_error"))
            return
        record = srv._record(self, body)
        try:
            self._chat_body(record, body)
        finally:
            srv._leave()

    def _chat_body(self, record: dict[str, Any], body: dict[str, Any]) -> None:
        srv = self.server
        if not self._authorised(record):
            return
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            srv._finish(record, 400)
            self._send_json(400, _error("'messages' must be a non-empty array.", "invalid_request_error",
                                        param="messages"))
            return
        rejects = not srv.vision or srv.content_mode == "reject-images"
        if rejects and any(message_images(m) for m in messages if isinstance(m, dict)):
            srv._finish(record, 400)
            self._send_json(400, _error("Invalid content type. image_url is only supported by certain models: "
                                        "this model does not support image inputs.",
                                        "invalid_request_error", "invalid_content_type", "messages"))
            return

        if srv._slots is None:
            self._answer(record, body)
            return
        with srv._slots:  # a single-slot local server: the others wait in its queue
            self._answer(record, body)

    def _answer(self, record: dict[str, Any], body: dict[str, Any]) -> None:
        srv = self.server
        fault = srv._fault_for(record, body)
        if fault == "429":
            srv._finish(record, 429)
            self._send_json(429, _error("Rate limit reached for requests. Please try again later.",
                                        "requests", "rate_limit_exceeded"),
                            headers={"Retry-After": _number(srv.retry_after)})
            return
        if not srv._pause(srv.latency_ms / 1000.0):
            self._drop()
            return
        if fault in ("500", "503"):
            status = int(fault)
            srv._finish(record, status)
            message = ("The server had an error while processing your request. Sorry about that!"
                       if status == 500 else "The engine is currently overloaded, please try again later.")
            self._send_json(status, _error(message, "server_error"))
            return
        if fault == "close":
            srv._finish(record, "closed")
            self._drop()
            return
        if fault == "stall":
            if not srv._pause(srv.stall_s) or srv.stall_then == "drop":
                srv._finish(record, "closed")
                self._drop()
                return
        if fault == "malformed":
            srv._finish(record, 200)
            self._send(200, MALFORMED_BODY)
            return

        if fault in ("no_choices", "null_choices"):
            srv._finish(record, 200)
            self._send_json(200, {"id": "chatcmpl-nochoices", "object": "chat.completion",
                                  "created": int(time.time()), "model": srv.model,
                                  "choices": [] if fault == "no_choices" else None})
            return
        read = as_read(body, srv.content_mode)
        if fault == "empty":
            answer = ""
        elif fault == "huge":
            answer = ("All work and no play. " * (HUGE_BYTES // 22 + 1))[:HUGE_BYTES]
        elif fault == "refusal":
            answer = REFUSAL_TEXT
        elif fault == "garbage":
            answer = GARBAGE_TEXT
        else:
            try:
                probe = probe_answer(read)  # the server's own eyes, whatever the responder
                answer = probe if probe is not None else srv.responder(read)
            except Exception as exc:  # a broken test policy is a 500 the test can see
                record["fault"] = "responder_error"
                srv._finish(record, 500)
                self._send_json(500, _error(f"responder failed: {exc!r}", "server_error"))
                return
        finish_reason = "stop"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if isinstance(limit, int) and limit > 0 and completion_tokens(answer) > limit \
                and fault != "huge":  # a runaway server ignores max_tokens
            answer, finish_reason = answer[:max(1, 4 * limit - 1)], "length"

        # the tokens of what the model was shown, as a real server counts them
        usage: dict[str, int] | None = {"prompt_tokens": prompt_tokens(read),
                                        "completion_tokens": completion_tokens(answer)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        record["read_prompt_tokens"] = usage["prompt_tokens"]
        if not srv.usage:
            usage = None
        ident = "chatcmpl-" + hashlib.sha256(_canonical(body) + str(record["attempt"]).encode()).hexdigest()[:24]
        model = str(body.get("model") or srv.model)
        created = int(time.time())
        record["answer"] = answer
        srv._finish(record, 200)
        headers = {"x-request-id": "req_" + ident[9:]}
        if body.get("stream"):
            self._send(200, _sse(ident, created, model, answer, finish_reason, usage, body),
                       content_type="text/event-stream; charset=utf-8", headers=headers)
            return
        reply: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": answer, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }],
            "usage": usage,
            "system_fingerprint": "fp_loopback",
        }
        if usage is None:
            del reply["usage"]
        self._send_json(200, reply, headers=headers)


def _sse(ident: str, created: int, model: str, answer: str, finish_reason: str,
         usage: dict[str, int] | None, body: dict[str, Any]) -> bytes:
    """A whole streamed answer as server-sent events (sent at once, with a Content-Length)."""

    def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                 "choices": choices, **extra}
        return b"data: " + json.dumps(chunk).encode("utf-8") + b"\n\n"

    out = [event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    for start in range(0, len(answer), 16):
        out.append(event([{"index": 0, "delta": {"content": answer[start:start + 16]}, "finish_reason": None}]))
    out.append(event([{"index": 0, "delta": {}, "finish_reason": finish_reason}]))
    options = body.get("stream_options")
    if usage is not None and isinstance(options, dict) and options.get("include_usage"):
        out.append(event([], usage=usage))
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


class LoopbackServer(ThreadingHTTPServer):
    """An OpenAI-compatible chat-completions server on 127.0.0.1, one thread per connection.

    Options (all keyword): `seed` (faults and answers), `latency_ms` (per answered request,
    slept in the request's own thread), `model` (listed by /v1/models), `responder` (a callable
    request JSON -> answer text; default `PersonaPolicy(seed, accept_threshold)`), fault rates
    `rate_429` (with `retry_after` seconds in Retry-After), `rate_500`, `rate_503`, `rate_close`,
    `rate_stall` (sleeps `stall_s`, then answers or, with `stall_then="drop"`, closes),
    `rate_malformed`, `rate_empty`, `rate_refusal`, `rate_garbage`; `require_key` (401 unless the
    bearer token matches); `vision` (False: 400 on image parts); `record` (keep request
    records). Like real servers: `content_mode` (see CONTENT_MODES: what of a message it
    reads; the answer and the reported prompt tokens follow what was read), `usage` (False: no
    usage in replies), `slots` (answer this many requests at a time, the rest queue),
    `rate_no_choices` (a 200 with `choices: []`), `rate_null_choices` (`choices: null`), `rate_huge` (a 4 MB answer). Faults are drawn from a hash of (seed, request body, attempt number of that body),
    so they are reproducible under any concurrency and a retried request can succeed.
    """

    request_queue_size = 1024
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, seed: int = 0, latency_ms: float = 0.0,
                 model: str = "loopback-vlm", responder: Responder | None = None,
                 accept_threshold: float = 25.0,
                 rate_429: float = 0.0, retry_after: float = 1.0, rate_500: float = 0.0,
                 rate_503: float = 0.0, rate_close: float = 0.0, rate_stall: float = 0.0,
                 stall_s: float = 30.0, stall_then: str = "answer", rate_malformed: float = 0.0,
                 rate_empty: float = 0.0, rate_refusal: float = 0.0, rate_garbage: float = 0.0,
                 rate_no_choices: float = 0.0, rate_null_choices: float = 0.0,
                 rate_huge: float = 0.0,
                 require_key: str | None = None, vision: bool = True, record: bool = True,
                 content_mode: str = "all", usage: bool = True, slots: int | None = None,
                 verbose: bool = False) -> None:
        rates = {"429": rate_429, "500": rate_500, "503": rate_503, "close": rate_close, "stall": rate_stall,
                 "malformed": rate_malformed, "empty": rate_empty, "refusal": rate_refusal,
                 "garbage": rate_garbage, "no_choices": rate_no_choices,
                 "null_choices": rate_null_choices, "huge": rate_huge}
        if content_mode not in CONTENT_MODES:
            raise ValueError(f"content_mode must be one of {', '.join(CONTENT_MODES)}, not {content_mode!r}")
        if slots is not None and not 1 <= slots <= 1024:
            raise ValueError(f"slots must be within 1..1024, not {slots}")
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate_{name} must be within 0..1, not {rate}")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {sum(rates.values()):g}, more than 1")
        if stall_then not in ("answer", "drop"):
            raise ValueError(f"stall_then must be 'answer' or 'drop', not {stall_then!r}")
        self.seed = seed
        self.latency_ms = float(latency_ms)
        self.model = model
        self.responder: Responder = responder or PersonaPolicy(seed, accept_threshold)
        self.rates = rates
        self.retry_after = retry_after
        self.stall_s = float(stall_s)
        self.stall_then = stall_then
        self.require_key = require_key
        self.vision = vision
        self.content_mode = content_mode
        self.usage = usage
        self._slots = threading.Semaphore(slots) if slots else None
        self.record = record
        self.verbose = verbose
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._attempts: Counter[bytes] = Counter()
        self._by_status: Counter[str] = Counter()
        self._by_fault: Counter[str] = Counter()
        self._count = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    # -- addresses ---------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "LoopbackServer":
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"loopback-openai:{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake stalled requests and close open connections."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError) and not self.verbose:
            return  # clients that time out and hang up are part of the game
        super().handle_error(request, client_address)

    # -- records and stats -----------------------------------------------------------------
    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every API request so far: path, method, headers (lower-cased), body, time, status..."""
        with self._lock:
            return [dict(r) for r in self._records]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": self._count, "by_status": dict(self._by_status),
                    "by_fault": dict(self._by_fault), "in_flight": self._in_flight,
                    "max_in_flight": self._max_in_flight}

    def reset(self) -> None:
        """Forget records, counts and attempt numbers (so the same requests meet the same faults)."""
        with self._lock:
            self._records.clear()
            self._attempts.clear()
            self._by_status.clear()
            self._by_fault.clear()
            self._count = 0
            self._max_in_flight = self._in_flight

    def _record(self, handler: _Handler, body: dict[str, Any] | None) -> dict[str, Any]:
        record: dict[str, Any] = {
            "method": handler.command,
            "path": handler.path,
            "headers": {k.lower(): v for k, v in handler.headers.items()},
            "body": body,
            "time": time.time(),
            "attempt": 0,
            "status": None,
            "fault": None,
        }
        with self._lock:
            self._count += 1
            if body is not None:
                key = hashlib.sha256(_canonical(body)).digest()
                record["attempt"] = self._attempts[key]
                self._attempts[key] += 1
                self._in_flight += 1
                self._max_in_flight = max(self._max_in_flight, self._in_flight)
            if self.record:
                self._records.append(record)
        return record

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _finish(self, record: dict[str, Any], status: int | str) -> None:
        record["status"] = status
        with self._lock:
            self._by_status[str(status)] += 1

    def _fault_for(self, record: dict[str, Any], body: dict[str, Any]) -> str | None:
        if not any(self.rates.values()):
            return None
        u = _hash_int("fault", self.seed, _canonical(body), record["attempt"]) / 2.0**64
        edge = 0.0
        for name in FAULTS:
            edge += self.rates[name]
            if u < edge:
                record["fault"] = name
                with self._lock:
                    self._by_fault[name] += 1
                return name
        return None

    def _pause(self, seconds: float) -> bool:
        """Sleep without holding up other requests; False when the server stopped meanwhile."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)


# --------------------------------------------------------------------------------------------
# As a separate process
# --------------------------------------------------------------------------------------------

_FLOAT_OPTIONS = ("latency_ms", "accept_threshold", "rate_429", "retry_after", "rate_500", "rate_503",
                  "rate_close", "rate_stall", "stall_s", "rate_malformed", "rate_empty", "rate_refusal",
                  "rate_garbage", "rate_no_choices", "rate_null_choices", "rate_huge")


class ServerProcess:
    """A loopback server running in a child process; stop it with `stop()` or a `with` block."""

    def __init__(self, process: subprocess.Popen[bytes], host: str, port: int, log_path: str) -> None:
        self.process = process
        self.host = host
        self.port = port
        self.log_path = log_path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def _call(self, method: str, path: str) -> Any:
        request = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "/_requests")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/_stats")

    def reset(self) -> None:
        self._call("POST", "/_reset")

    def stop(self, timeout: float = 5.0) -> int:
        """Terminate (SIGTERM), wait, kill if it lingers; returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        try:
            os.unlink(self.log_path)
        except OSError:
            pass
        return self.process.returncode

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_server_process(*, host: str = "127.0.0.1", port: int = 0, ready_timeout: float = 15.0,
                         **options: Any) -> ServerProcess:
    """Start `python tests/openai_server.py` with LoopbackServer options; return when it listens."""
    if "responder" in options:
        raise TypeError("a responder callable cannot be passed to a separate process")
    args = [sys.executable, os.path.abspath(__file__), "--host", host, "--port", str(port)]
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if name == "vision":
            if not value:
                args.append("--no-vision")
        elif name == "record":
            if not value:
                args.append("--no-record")
        elif name == "usage":
            if not value:
                args.append("--no-usage")
        elif name == "verbose":
            if value:
                args.append("--verbose")
        elif value is not None:
            args += [flag, str(value)]
    fd, ready_file = tempfile.mkstemp(prefix="loopback-openai-", suffix=".port")
    os.close(fd)
    os.unlink(ready_file)
    log = tempfile.NamedTemporaryFile(prefix="loopback-openai-", suffix=".log", delete=False)
    process = subprocess.Popen(args + ["--ready-file", ready_file], stdout=subprocess.DEVNULL, stderr=log)
    log.close()
    deadline = time.monotonic() + ready_timeout
    try:
        while time.monotonic() < deadline:
            if os.path.exists(ready_file):
                with open(ready_file) as f:
                    return ServerProcess(process, host, int(f.read().strip()), log.name)
            if process.poll() is not None:
                break
            time.sleep(0.02)
        process.kill()
        process.wait()
        with open(log.name) as f:
            raise RuntimeError(f"loopback server did not start (exit {process.returncode}): {f.read()[-2000:]}")
    finally:
        if os.path.exists(ready_file):
            os.unlink(ready_file)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.openai_server",
                                     description="Loopback OpenAI-compatible chat-completions server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="loopback-vlm")
    for name in _FLOAT_OPTIONS:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=float, default=None)
    parser.add_argument("--stall-then", choices=("answer", "drop"), default="answer")
    parser.add_argument("--require-key", default=None)
    parser.add_argument("--no-vision", dest="vision", action="store_false")
    parser.add_argument("--no-record", dest="record", action="store_false")
    parser.add_argument("--no-usage", dest="usage", action="store_false")
    parser.add_argument("--content-mode", choices=CONTENT_MODES, default="all")
    parser.add_argument("--slots", type=int, default=None)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--ready-file", default=None, help="write the port here once listening")
    ns = parser.parse_args(argv)
    options = {k: v for k, v in vars(ns).items() if k not in ("host", "port", "ready_file") and v is not None}
    server = LoopbackServer(host=ns.host, port=ns.port, **options)

    def on_signal(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"loopback OpenAI server listening on {server.base_url}", flush=True)
    if ns.ready_file:
        partial = ns.ready_file + ".tmp"
        with open(partial, "w") as f:
            f.write(str(server.port))
        os.replace(partial, ns.ready_file)
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
