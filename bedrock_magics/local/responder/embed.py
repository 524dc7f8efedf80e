"""Deterministic embeddings: the sum of one pseudo-random vector per lower-cased token.

Images are embedded through words: :func:`image_words` names the colour of each cell of a 4 x 4
grid over the image (``red``, ``blue``, ``white`` …) and adds a token of the image's own bytes, so
the same image gives the same vector, two images differ, and an image lies close to a text that
names its colours (a plain red picture and the text "red" have a cosine similarity near 0.97).
Text and images in one input (Titan Multimodal, Cohere v4 ``inputs``) average their vectors.
"""

from __future__ import annotations

import hashlib
import io
import re
from functools import lru_cache

import numpy as np

__all__ = ["embed", "embed_parts", "image_words"]

# Named colours (RGB) an image cell is matched to: the nearest name wins.
_COLOURS = {
    "black": (0, 0, 0), "white": (255, 255, 255), "gray": (128, 128, 128), "red": (220, 30, 30),
    "orange": (250, 140, 20), "yellow": (240, 220, 30), "green": (40, 170, 50), "blue": (30, 70, 220),
    "purple": (130, 40, 170), "pink": (250, 150, 190), "brown": (130, 80, 30),
}
_GRID = 4
# The image's own token counts as this many colour words (so two red images are close, not equal).
_OWN_WEIGHT = 4


@lru_cache(maxsize=4096)
def _token_vector(token: str, dimensions: int) -> np.ndarray:
    """A fixed pseudo-random vector in [-1, 1) for one token (BLAKE2b in counter mode)."""
    need, blocks, i = dimensions * 2, [], 0
    while sum(map(len, blocks)) < need:
        blocks.append(hashlib.blake2b(f"{token}\x00{i}".encode(), digest_size=64).digest())
        i += 1
    raw = np.frombuffer(b"".join(blocks)[:need], dtype=">u2").astype(np.float64)
    return raw / 32768.0 - 1.0


def _vector(text: str, dimensions: int) -> tuple[np.ndarray, int]:
    words = [w.lower() for w in re.findall(r"\w+|[^\w\s]", text or "")] or [""]
    vec = np.zeros(dimensions)
    for w in words:
        vec += _token_vector(w, dimensions)
    return vec, len(words)


def _finish(vec: np.ndarray, count: int, normalize: bool) -> list[float]:
    if normalize:
        norm = float(np.linalg.norm(vec))
        vec = vec / norm if norm else vec
    else:
        vec = vec / max(count, 1)
    return [round(float(x), 6) for x in vec]


def embed(text: str, dimensions: int = 1024, normalize: bool = True) -> list[float]:
    """A deterministic embedding of ``text`` with ``dimensions`` components (see the package docstring)."""
    vec, count = _vector(text, dimensions)
    return _finish(vec, count, normalize)


def image_words(data: bytes) -> str:
    """The words an image is embedded as: the colour name of each grid cell, and its own token."""
    own = "image" + hashlib.sha256(data).hexdigest()[:16]
    names: list[str] = []
    try:
        from PIL import Image  # pillow comes with matplotlib, a dependency

        with Image.open(io.BytesIO(data)) as image:
            cells = image.convert("RGB").resize((_GRID, _GRID), Image.Resampling.BOX)
            for pixel in (cells.getpixel((x, y)) for y in range(_GRID) for x in range(_GRID)):
                names.append(min(_COLOURS, key=lambda n: sum((a - b) ** 2 for a, b in zip(_COLOURS[n], pixel))))
    except Exception:  # noqa: BLE001 - an image pillow cannot read is embedded by its bytes alone
        names = []
    return " ".join(names + [own] * _OWN_WEIGHT)


def embed_parts(texts: list[str], images: list[bytes], dimensions: int = 1024, normalize: bool = True) -> list[float]:
    """One vector for several texts and images together: the average of their unit vectors."""
    parts = [np.asarray(embed(t, dimensions)) for t in texts] + \
        [np.asarray(embed(image_words(d), dimensions)) for d in images]
    vec = np.mean(parts, axis=0) if parts else np.zeros(dimensions)
    return _finish(vec, 1, normalize)
