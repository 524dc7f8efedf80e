"""Images, documents and videos in a conversation: what they cost in input tokens, and documents' text.

* an image costs ``ceil(width * height / 750)`` tokens (Anthropic's rule), after scaling it so its
  long edge is at most 1568 pixels, as Claude does; the size is read from the PNG, JPEG, GIF or WEBP
  header (:func:`image_size`); an image whose size cannot be read costs the maximum, 1600 tokens;
* a document costs the tokens of its text plus those of its name; the text of ``txt``, ``md``,
  ``csv``, ``html`` and other text formats is the bytes decoded as UTF-8, a PDF's is the strings of
  its text operators (``Tj``/``TJ``, in FlateDecode streams too), a text source's is its text;
* a video costs one token per 1,000 bytes (the service does not decode video).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any, Mapping

from .. import tokens

MAX_EDGE = 1568
MAX_IMAGE_TOKENS = 1600


def decode(data: Any) -> bytes | None:
    """Raw bytes from bytes, a base64 string or a ``data:`` URL (None when it is none of these)."""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if not isinstance(data, str):
        return None
    if data.startswith("data:"):
        data = data.partition(",")[2]
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None


def strict_decode(data: Any) -> bytes | None:
    """Bytes of a base64 string as Bedrock's wire carries media (strict: no stray characters); None
    when ``data`` is not one."""
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def source_bytes(source: Any) -> bytes | None:
    """The bytes of a Converse media ``source`` (``{"bytes": …}``; S3 locations have none here)."""
    return decode(source.get("bytes")) if isinstance(source, Mapping) else None


def fingerprint(data: bytes | None) -> str:
    """A short SHA-256 of media bytes: two images of one size are still different prompts."""
    return hashlib.sha256(data or b"").hexdigest()[:16]


def image_size(data: bytes | None) -> tuple[int, int] | None:
    """(width, height) from a PNG, GIF, JPEG or WEBP header, or None."""
    if not data:
        return None
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        kind = data[12:16]
        if kind == b"VP8X":
            return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
        if kind == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if kind == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return w & 0x3FFF, h & 0x3FFF
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return w, h
            i += 2 + length
    return None


def image_tokens(data: bytes | None) -> int:
    """Input tokens of one image (module docstring)."""
    size = image_size(data)
    if not size or not all(size):
        return MAX_IMAGE_TOKENS
    w, h = size
    scale = min(1.0, MAX_EDGE / max(w, h))
    return min(MAX_IMAGE_TOKENS, math.ceil(round(w * scale) * round(h * scale) / 750))


def video_tokens(data: bytes | None) -> int:
    """Input tokens of one video: one per 1,000 bytes."""
    return math.ceil(len(data or b"") / 1000)


_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_PDF_STRING = re.compile(rb"\((?:\\.|[^\\)])*\)\s*Tj|\[(?:[^\]])*\]\s*TJ", re.S)
_PDF_LITERAL = re.compile(rb"\(((?:\\.|[^\\)])*)\)", re.S)


def pdf_text(data: bytes) -> str:
    """The text a PDF's content streams show (its ``Tj``/``TJ`` strings), one line per operator."""
    lines = []
    for stream in _PDF_STREAM.findall(data) or [data]:
        try:
            stream = zlib.decompress(stream)
        except zlib.error:
            pass
        for op in _PDF_STRING.findall(stream):
            text = b"".join(_PDF_LITERAL.findall(op))
            text = re.sub(rb"\\([()\\])", rb"\1", text)
            lines.append(text.decode("latin-1"))
    return "\n".join(lines)


@dataclass(frozen=True)
class Document:
    """A document block: its name, format, text, and whether the caller asked for citations."""

    name: str
    format: str
    text: str
    citations: bool = False

    def tokens(self, family: str) -> int:
        """Input tokens: its text plus its name."""
        return tokens.count(self.text, family) + tokens.count(self.name, family)


def document(block: Mapping[str, Any]) -> Document:
    """A :class:`Document` from a Converse ``document`` block (bytes, ``text`` or ``content`` source)."""
    source = block.get("source") if isinstance(block.get("source"), Mapping) else {}
    fmt = str(block.get("format") or "txt").lower()
    if isinstance(source.get("text"), str):
        text = source["text"]
    elif isinstance(source.get("content"), list):
        text = "\n".join(c.get("text", "") for c in source["content"] if isinstance(c, Mapping))
    else:
        data = source_bytes(source) or b""
        text = pdf_text(data) if fmt == "pdf" else data.decode("utf-8", "replace")
    citations = block.get("citations")
    enabled = isinstance(citations, Mapping) and citations.get("enabled") is True
    return Document(str(block.get("name") or "document"), fmt, text, enabled)


def quoted_span(doc: Document, question: str) -> tuple[int, int]:
    """(start, end) character offsets of the document sentence that shares the most words with
    ``question`` (the first sentence on a tie); the whole text when it has no sentence."""
    words = set(re.findall(r"\w+", question.lower()))
    best, best_score = None, -1
    for m in re.finditer(r"[^.!?\n]+[.!?]?", doc.text):
        if not m.group().strip():
            continue
        score = len(words & set(re.findall(r"\w+", m.group().lower())))
        if score > best_score:
            best, best_score = m, score
    if best is None:
        return 0, len(doc.text)
    start = best.start() + len(best.group()) - len(best.group().lstrip())
    return start, best.end()
