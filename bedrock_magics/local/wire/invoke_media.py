"""The InvokeModel bodies of the embedding and image families: Titan Text Embeddings, Cohere Embed
and Nova Canvas (none of them streams). The text families are in :mod:`.invoke`.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import uuid
import zlib
from typing import Any

from .. import responder, tokens
from ..responder import Call
from ..validation import check_body, malformed, strict
from .family import Family


class TitanEmbed(Family):
    """Amazon Titan Text Embeddings v2 (``dimensions``, ``normalize``, ``embeddingTypes``) and G1 (v1)."""

    streams = False
    V2 = strict(["inputText"], inputText={"type": "string", "minLength": 1},
                dimensions={"type": "integer", "enum": [256, 512, 1024]}, normalize={"type": "boolean"},
                embeddingTypes={"type": "array", "minItems": 1, "items": {"enum": ["float", "binary"]}})
    V1 = strict(["inputText"], inputText={"type": "string", "minLength": 1})

    def load(self, body: Any, model: dict, streaming: bool = False) -> Call:
        v1 = not model["modelId"].endswith("v2:0")
        check_body(body, self.V1 if v1 else self.V2)
        text = body["inputText"]
        return Call(model, extra={"text": text, "v1": v1, "dimensions": 1536 if v1 else body.get("dimensions", 1024),
                                  "normalize": body.get("normalize", True),
                                  "types": body.get("embeddingTypes") or ["float"]})

    def usage(self, call: Call) -> tuple[int, int]:
        return tokens.count(call.extra["text"], call.family), 0

    def render(self, call: Call) -> dict:
        x = call.extra
        vector = responder.embed(x["text"], x["dimensions"], x["normalize"])
        out: dict[str, Any] = {"embedding": vector, "inputTextTokenCount": self.usage(call)[0]}
        if not x["v1"]:
            by_type: dict[str, Any] = {}
            if "float" in x["types"]:
                by_type["float"] = vector
            if "binary" in x["types"]:
                by_type["binary"] = [1 if v > 0 else 0 for v in vector]
            out["embeddingsByType"] = by_type
        return out


def _quantize(vector: list[float], kind: str) -> list[int] | list[float]:
    """Cohere's embedding types from a float vector."""
    if kind == "float":
        return vector
    if kind == "int8":
        return [max(-128, min(127, round(v * 127))) for v in vector]
    if kind == "uint8":
        return [max(0, min(255, round((v + 1) * 127.5))) for v in vector]
    bits = [1 if v > 0 else 0 for v in vector]
    packed = [int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8)]
    return packed if kind == "ubinary" else [b - 256 if b > 127 else b for b in packed]


class CohereEmbed(Family):
    """Cohere Embed v3/v4: ``texts`` (or one image), ``input_type``, optional ``embedding_types``."""

    streams = False
    schema = strict(
        ["input_type"], texts={"type": "array", "minItems": 1, "maxItems": 96, "items": {"type": "string"}},
        images={"type": "array", "maxItems": 1, "items": {"type": "string"}},
        input_type={"enum": ["search_document", "search_query", "classification", "clustering", "image"]},
        truncate={"enum": ["NONE", "START", "END"]},
        embedding_types={"type": "array", "items": {"enum": ["float", "int8", "uint8", "binary", "ubinary"]}},
        output_dimension={"type": "integer", "enum": [256, 512, 1024, 1536]}, max_tokens={"type": "integer"},
    )

    def load(self, body: Any, model: dict, streaming: bool = False) -> Call:
        check_body(body, self.schema)
        texts, images = body.get("texts"), body.get("images")
        if (texts is None) == (images is None):
            raise malformed("#: exactly one of [texts, images] must be provided")
        for i, t in enumerate(texts or []):
            if len(t) > 2048 and body.get("truncate", "END") == "NONE":
                raise malformed(f"#/texts/{i}: expected maxLength: 2048, actual: {len(t)}")
        default_dim = 1536 if "v4" in model["modelId"] else 1024
        return Call(model, extra={"texts": list(texts if texts is not None else images), "types": body.get("embedding_types"),
                                  "dimensions": body.get("output_dimension", default_dim), "images": images is not None})

    def usage(self, call: Call) -> tuple[int, int]:
        return sum(tokens.count(t, call.family) for t in call.extra["texts"]) if not call.extra["images"] else 0, 0

    def render(self, call: Call) -> dict:
        x = call.extra
        vectors = [responder.embed(t, x["dimensions"]) for t in x["texts"]]
        out: dict[str, Any] = {"id": str(uuid.uuid4()), "texts": [] if x["images"] else x["texts"]}
        if x["types"]:
            out["embeddings"] = {k: [_quantize(v, k) for v in vectors] for k in x["types"]}
            out["response_type"] = "embeddings_by_type"
        else:
            out["embeddings"] = vectors
            out["response_type"] = "embeddings_floats"
        return out


class Image(Family):
    """Image generation (Nova Canvas): ``taskType`` ``TEXT_IMAGE``; returns small deterministic PNGs."""

    streams = False
    schema = {"type": "object", "required": ["taskType"], "properties": {
        "taskType": {"enum": ["TEXT_IMAGE", "COLOR_GUIDED_GENERATION", "IMAGE_VARIATION", "INPAINTING",
                              "OUTPAINTING", "BACKGROUND_REMOVAL", "VIRTUAL_TRY_ON"]},
        "textToImageParams": {"type": "object"}, "imageGenerationConfig": {"type": "object", "properties": {
            "numberOfImages": {"type": "integer", "minimum": 1, "maximum": 5},
            "width": {"type": "integer", "minimum": 320, "maximum": 4096},
            "height": {"type": "integer", "minimum": 320, "maximum": 4096}}}}}

    def load(self, body: Any, model: dict, streaming: bool = False) -> Call:
        check_body(body, self.schema)
        text = (body.get("textToImageParams") or {}).get("text", "")
        n = (body.get("imageGenerationConfig") or {}).get("numberOfImages", 1)
        return Call(model, extra={"text": text, "n": n})

    def usage(self, call: Call) -> tuple[int, int]:
        return tokens.count(call.extra["text"], call.family), 0

    def render(self, call: Call) -> dict:
        return {"images": [_png(f"{call.extra['text']}#{i}") for i in range(call.extra["n"])], "error": None}


def _png(seed: str, size: int = 64) -> str:
    """A base64 PNG of one colour derived from ``seed`` (a stand-in for a generated image)."""
    r, g, b = hashlib.sha256(seed.encode()).digest()[:3]
    raw = b"".join(b"\x00" + bytes((r, g, b)) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode()
