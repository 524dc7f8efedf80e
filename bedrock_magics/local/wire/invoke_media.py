"""The InvokeModel bodies of the embedding and image families: Titan Text Embeddings, Titan
Multimodal Embeddings, Cohere Embed (v3, and v4 with images and mixed inputs) and Nova Canvas (none
of them streams). The text families are in :mod:`.invoke`.

The embedding bodies are checked as strictly as AWS documents them: a field a model does not take,
a dimension it does not make, an image on a text-only model (its schema has no image field), bad
base64, an image format or size over the model's limits, neither text nor image: each is a
``ValidationException``. Usage: Titan reports ``inputTextTokenCount`` (text only; AWS bills each
Titan Multimodal image per image, which no usage header carries); Cohere counts text tokens plus
about 1,610 tokens per 512 x 512 px image in the input-token header.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import re
import struct
import uuid
import zlib
from typing import Any

from .. import responder, tokens
from ..http import AwsError
from ..responder import Call, media
from ..validation import check_body, malformed, strict
from .family import Family


# Image inputs of the embedding models, from AWS's model pages: Titan Multimodal Embeddings G1 takes
# PNG or JPEG up to 25 MB and 2,048 x 2,048 px, and up to 256 text tokens (titan-multiemb-models.html);
# Cohere Embed takes data URIs of at most 5 MB, v3 image/jpeg or image/png (model-parameters-embed-v3.html),
# v4 also WEBP and GIF (Cohere's Embed API reference), resized by the model itself.
TITAN_MM_FORMATS = {"png", "jpeg"}
TITAN_MM_MAX_BYTES, TITAN_MM_MAX_SIDE, TITAN_MM_MAX_TOKENS = 25_000_000, 2048, 256
COHERE_MAX_BYTES = 5_000_000
_COHERE_MIME = {"v3": ("image/jpeg", "image/png"), "v4": ("image/jpeg", "image/png", "image/webp", "image/gif")}
# Cohere counts an image in tokens: about 1,610 for 512 x 512 px (Oracle's page of cohere.embed-v4.0),
# after resizing it between 3,136 and 2,458,624 px (model-parameters-embed-v4.html).
_COHERE_PX_PER_TOKEN = 512 * 512 / 1610
_COHERE_MIN_PX, _COHERE_MAX_PX = 3_136, 2_458_624
_DATA_URI = re.compile(r"^data:(image/[a-z0-9.+-]+);base64,(.*)$", re.S)


def _image_format(data: bytes) -> str | None:
    """``png``, ``jpeg``, ``gif``, ``webp`` … as Pillow reads the image's header (None: not an image)."""
    try:
        from PIL import Image  # pillow comes with matplotlib, a dependency

        with Image.open(io.BytesIO(data)) as image:
            return (image.format or "").lower() or None
    except Exception:  # noqa: BLE001 - whatever Pillow cannot open is no image to the model either
        return None


def _strict_b64(value: str, where: str) -> bytes:
    """Bytes of a base64 string; Bedrock's ValidationException for anything else."""
    data = media.strict_decode(value)
    if data is None:
        raise malformed(f"{where}: invalid base64 encoding")
    if not data:
        raise malformed(f"{where}: expected a non-empty base64-encoded image")
    return data


class TitanEmbed(Family):
    """Amazon Titan Text Embeddings v2 (``dimensions``, ``normalize``, ``embeddingTypes``) and G1 (v1), and
    Titan Multimodal Embeddings G1 (``inputText`` and/or ``inputImage``, ``embeddingConfig``)."""

    streams = False
    V2 = strict(["inputText"], inputText={"type": "string", "minLength": 1},
                dimensions={"type": "integer", "enum": [256, 512, 1024]}, normalize={"type": "boolean"},
                embeddingTypes={"type": "array", "minItems": 1, "items": {"enum": ["float", "binary"]}})
    V1 = strict(["inputText"], inputText={"type": "string", "minLength": 1})
    MULTIMODAL = strict([], inputText={"type": "string", "minLength": 1}, inputImage={"type": "string"},
                        embeddingConfig={"type": "object", "additionalProperties": False,
                                         "required": ["outputEmbeddingLength"], "properties": {
                                             "outputEmbeddingLength": {"type": "integer", "enum": [256, 384, 1024]}}})

    def load(self, body: Any, model: dict, streaming: bool = False) -> Call:
        model_id = model["modelId"]
        if "titan-embed-image" in model_id:
            return self._multimodal(body, model)
        v1 = not model_id.endswith("v2:0")
        check_body(body, self.V1 if v1 else self.V2)
        text = body["inputText"]
        return Call(model, extra={"text": text, "v1": v1, "dimensions": 1536 if v1 else body.get("dimensions", 1024),
                                  "normalize": body.get("normalize", True), "image": None,
                                  "types": body.get("embeddingTypes") or ["float"]})

    def _multimodal(self, body: Any, model: dict) -> Call:
        check_body(body, self.MULTIMODAL)
        if "inputText" not in body and "inputImage" not in body:
            raise malformed("#: at least one of [inputText, inputImage] is required")
        text, image = body.get("inputText"), None
        if text is not None and tokens.count(text, tokens.family_of(model["modelId"])) > TITAN_MM_MAX_TOKENS:
            n = tokens.count(text, tokens.family_of(model["modelId"]))
            raise AwsError("ValidationException", f"400 Bad Request: Too many input tokens. Max input tokens: "
                                                  f"{TITAN_MM_MAX_TOKENS}, request input token count: {n}")
        if "inputImage" in body:
            image = _strict_b64(body["inputImage"], "#/inputImage")
            if _image_format(image) not in TITAN_MM_FORMATS:
                raise AwsError("ValidationException", "The provided image format is not supported: inputImage must "
                                                      "be a PNG or JPEG image.")
            size = media.image_size(image)
            if len(image) > TITAN_MM_MAX_BYTES or (size and max(size) > TITAN_MM_MAX_SIDE):
                shown = f"{size[0]}x{size[1]} px, " if size else ""
                raise AwsError("ValidationException", f"The provided image ({shown}{len(image):,} bytes) exceeds the "
                                                      f"limits: at most {TITAN_MM_MAX_SIDE}x{TITAN_MM_MAX_SIDE} px "
                                                      f"and {TITAN_MM_MAX_BYTES // 1_000_000} MB.")
        dimensions = (body.get("embeddingConfig") or {}).get("outputEmbeddingLength", 1024)
        return Call(model, extra={"text": text or "", "v1": True, "dimensions": dimensions, "normalize": True,
                                  "image": image, "types": ["float"]})

    def usage(self, call: Call) -> tuple[int, int]:
        text = call.extra["text"]
        return (tokens.count(text, call.family) if text else 0), 0

    def render(self, call: Call) -> dict:
        x = call.extra
        if x["image"] is not None:  # text and image: the average of both vectors, as Titan Multimodal does
            vector = responder.embed_parts([x["text"]] if x["text"] else [], [x["image"]], x["dimensions"])
        else:
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


_EMBEDDING_TYPES = {"type": "array", "items": {"enum": ["float", "int8", "uint8", "binary", "ubinary"]}}
_INPUT_TYPES = ["search_document", "search_query", "classification", "clustering"]


class CohereEmbed(Family):
    """Cohere Embed v3 (``texts`` or one image) and v4 (``texts``, ``images`` or mixed ``inputs``,
    ``output_dimension``); ``input_type``, optional ``embedding_types``."""

    streams = False
    schema = strict(
        ["input_type"], texts={"type": "array", "minItems": 1, "maxItems": 96, "items": {"type": "string"}},
        images={"type": "array", "maxItems": 1, "items": {"type": "string"}},
        input_type={"enum": [*_INPUT_TYPES, "image"]}, truncate={"enum": ["NONE", "START", "END"]},
        embedding_types=_EMBEDDING_TYPES,
    )
    V4 = strict(
        ["input_type"], texts={"type": "array", "minItems": 1, "maxItems": 96, "items": {"type": "string"}},
        images={"type": "array", "minItems": 1, "maxItems": 96, "items": {"type": "string"}},
        inputs={"type": "array", "minItems": 1, "maxItems": 96, "items": {
            "type": "object", "required": ["content"], "additionalProperties": False, "properties": {
                "content": {"type": "array", "minItems": 1, "items": {
                    "type": "object", "required": ["type"], "additionalProperties": False, "properties": {
                        "type": {"enum": ["text", "image_url"]}, "text": {"type": "string"},
                        "image_url": {"type": "string"}}}}}}},
        input_type={"enum": _INPUT_TYPES}, truncate={"enum": ["NONE", "LEFT", "RIGHT"]},
        embedding_types=_EMBEDDING_TYPES, output_dimension={"type": "integer", "enum": [256, 512, 1024, 1536]},
        max_tokens={"type": "integer", "minimum": 1},
    )

    def load(self, body: Any, model: dict, streaming: bool = False) -> Call:
        v4 = "embed-v4" in model["modelId"]
        check_body(body, self.V4 if v4 else self.schema)
        given = [key for key in ("texts", "images", "inputs") if key in body]
        if len(given) != 1:
            names = "[texts, images, inputs]" if v4 else "[texts, images]"
            raise malformed(f"#: exactly one of {names} must be provided")
        for i, t in enumerate(body.get("texts") or []):
            if not v4 and len(t) > 2048 and body.get("truncate", "END") == "NONE":
                raise malformed(f"#/texts/{i}: expected maxLength: 2048, actual: {len(t)}")
        version = "v4" if v4 else "v3"
        # Each input: (texts, images) embedded as one vector.
        if "texts" in body:
            inputs = [([t], []) for t in body["texts"]]
        elif "images" in body:
            inputs = [([], [self._image(uri, f"#/images/{i}", version)]) for i, uri in enumerate(body["images"])]
        else:
            inputs = [self._content(item["content"], f"#/inputs/{i}/content", version)
                      for i, item in enumerate(body["inputs"])]
        types = body.get("embedding_types") or (["float"] if v4 else None)  # v4 always answers by type
        return Call(model, extra={"inputs": inputs, "types": types, "texts": body.get("texts") or [],
                                  "dimensions": body.get("output_dimension", 1536 if v4 else 1024)})

    @staticmethod
    def _image(uri: str, where: str, version: str) -> bytes:
        found = _DATA_URI.match(uri)
        if not found:
            raise malformed(f"{where}: expected a data URI (data:image/png;base64,...)")
        mime, payload = found.groups()
        if mime not in _COHERE_MIME[version]:
            raise malformed(f"{where}: unsupported image type {mime}; expected one of {', '.join(_COHERE_MIME[version])}")
        data = _strict_b64(payload, where)
        if len(data) > COHERE_MAX_BYTES:
            raise malformed(f"{where}: image of {len(data):,} bytes is larger than {COHERE_MAX_BYTES // 1_000_000} MB")
        return data

    def _content(self, parts: list[dict], where: str, version: str) -> tuple[list[str], list[bytes]]:
        texts, images = [], []
        for j, part in enumerate(parts):
            key = "text" if part["type"] == "text" else "image_url"
            if key not in part:
                raise malformed(f"{where}/{j}: required key [{key}] not found")
            if key == "text":
                texts.append(part["text"])
            else:
                images.append(self._image(part["image_url"], f"{where}/{j}/image_url", version))
        return texts, images

    @staticmethod
    def _image_tokens(data: bytes) -> int:
        w, h = media.image_size(data) or (512, 512)
        pixels = min(max(w * h, _COHERE_MIN_PX), _COHERE_MAX_PX)
        return math.ceil(pixels / _COHERE_PX_PER_TOKEN)

    def usage(self, call: Call) -> tuple[int, int]:
        return sum(sum(tokens.count(t, call.family) for t in texts) + sum(map(self._image_tokens, images))
                   for texts, images in call.extra["inputs"]), 0

    def render(self, call: Call) -> dict:
        x = call.extra
        vectors = [responder.embed(texts[0], x["dimensions"]) if len(texts) == 1 and not images
                   else responder.embed_parts(texts, images, x["dimensions"]) for texts, images in x["inputs"]]
        out: dict[str, Any] = {"id": str(uuid.uuid4()), "texts": x["texts"]}
        described = [d for _, images in x["inputs"] for d in images]
        if described:
            out["images"] = [_description(d) for d in described]
        if x["types"]:
            out["embeddings"] = {k: [_quantize(v, k) for v in vectors] for k in x["types"]}
            out["response_type"] = "embeddings_by_type"
        else:
            out["embeddings"] = vectors
            out["response_type"] = "embeddings_floats"
        return out


def _description(data: bytes) -> dict[str, Any]:
    """Cohere's ``image_description`` of an input image."""
    w, h = media.image_size(data) or (0, 0)
    return {"width": w, "height": h, "format": _image_format(data) or "unknown", "bit_depth": 8}


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
