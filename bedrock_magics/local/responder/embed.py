"""Deterministic embeddings: the sum of one pseudo-random vector per lower-cased token."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=4096)
def _token_vector(token: str, dimensions: int) -> np.ndarray:
    """A fixed pseudo-random vector in [-1, 1) for one token (BLAKE2b in counter mode)."""
    need, blocks, i = dimensions * 2, [], 0
    while sum(map(len, blocks)) < need:
        blocks.append(hashlib.blake2b(f"{token}\x00{i}".encode(), digest_size=64).digest())
        i += 1
    raw = np.frombuffer(b"".join(blocks)[:need], dtype=">u2").astype(np.float64)
    return raw / 32768.0 - 1.0


def embed(text: str, dimensions: int = 1024, normalize: bool = True) -> list[float]:
    """A deterministic embedding of ``text`` with ``dimensions`` components (see the package docstring)."""
    words = [w.lower() for w in re.findall(r"\w+|[^\w\s]", text or "")] or [""]
    vec = np.zeros(dimensions)
    for w in words:
        vec += _token_vector(w, dimensions)
    if normalize:
        norm = float(np.linalg.norm(vec))
        vec = vec / norm if norm else vec
    else:
        vec = vec / len(words)
    return [round(float(x), 6) for x in vec]
