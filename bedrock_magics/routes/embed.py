"""Embeddings through InvokeModel: Titan Text Embeddings (v2 and G1), Titan Multimodal Embeddings G1
and Cohere Embed (v3, and v4 with mixed text and images).

The text is ``request.prompt`` (the last user message; it may be empty when images are given), or
the list ``request.extra["texts"]`` for several at once (text only). Images are the ``image`` blocks
of the last user message (``attachments.attachment`` makes them); one call gives one vector of the
text and its images together. Options in ``request.extra``: ``dimensions`` (mapped per model, see
:data:`DIMENSIONS`), ``normalize`` (Titan Text v2), ``input_type`` (Cohere: ``search_document`` by
default, ``search_query``, ``classification``, ``clustering``). The vector lands in
``Reply.embedding`` as a numpy array: 1-D for one input, 2-D (one row per text) for several.
Usage: ``input_tokens`` as Bedrock counts them, no output tokens, and ``input_images`` (the images
sent) when there were any: Titan Multimodal bills each image on top of the text tokens.

The wire bodies, from AWS's model parameter pages:

* Titan Text v2 ``{"inputText", "dimensions"?, "normalize"?}``; G1 ``{"inputText"}``.
* Titan Multimodal G1 ``{"inputText"?, "inputImage": base64, "embeddingConfig":
  {"outputEmbeddingLength": 256|384|1024}}``: at least one of text and image; both give the average
  of the two vectors (model-parameters-titan-embed-mm.html). Response ``{"embedding",
  "inputTextTokenCount", "message"?}``.
* Cohere v3 ``{"texts" | "images", "input_type"}``: ``images`` holds one data URI and needs
  ``input_type: "image"``; text and an image never together (model-parameters-embed-v3.html).
* Cohere v4 ``{"texts" | "images" | "inputs", "input_type", "output_dimension"?,
  "embedding_types"?}``: ``inputs`` is ``[{"content": [{"type": "text", "text"}, {"type":
  "image_url", "image_url": data URI}]}]`` for text and images in one vector
  (model-parameters-embed-v4.html). Its response holds ``embeddings`` by type (``{"float": [...]}``).

What each model takes as images is :data:`IMAGE_INPUTS`, checked (:func:`check_images`) before
anything is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

from ..modelids import base_model_id, family_of
from ..reply import Reply
from ..request import Request
from . import _common as c
from ._codec import base64_text

# Not "embed": every route module's API is the wire API written to Reply.api and the ledger's api
# column, and embeddings are InvokeModel calls (``invoke`` delegates here for embedding models).
API = "invoke"
# Reached through ``invoke`` (embedding models) or directly as ("runtime", "embed"); not an API of
# its own in the route table (see routes/__init__).
CLIENT = "bedrock-runtime"

__all__ = ["API", "CLIENT", "DIMENSIONS", "IMAGE_INPUTS", "IMAGE_MODELS", "ImageInputs", "check_dimensions", "check_images",
           "image_inputs", "kind_of", "send", "stream", "takes_images"]


@dataclass(frozen=True)
class ImageInputs:
    """The images one embedding model takes: formats, size limits, how many per call, and whether
    text may come with them in one vector."""

    name: str
    formats: tuple[str, ...]
    max_bytes: int
    max_side: int | None  # pixels on the longest side; None: the model resizes any image itself
    per_call: int
    with_text: bool


#: The embedding models that take images, by :func:`kind_of`. Sources: Titan Multimodal Embeddings
#: G1 - "Max input image size 25 MB, max input image resolution 2048 x 2048 pixels" and PNG/JPEG
#: (titan-multiemb-models.html); Cohere Embed v3 - one image per call, image/jpeg or image/png, at
#: most 5 MB, never with texts (model-parameters-embed-v3.html); Cohere Embed v4 - up to 96 images
#: per call, resized by the model (above 2,458,624 px down, below 3,136 px up), text and images
#: together through ``inputs`` (model-parameters-embed-v4.html), JPEG, PNG, WEBP or GIF of at most
#: 5 MB each (Cohere's Embed API reference).
IMAGE_INPUTS: dict[str, ImageInputs] = {
    "titan-multimodal": ImageInputs("Titan Multimodal Embeddings G1", ("png", "jpeg"), 25_000_000, 2048, 1, True),
    "cohere-v3": ImageInputs("Cohere Embed v3", ("png", "jpeg"), 5_000_000, None, 1, False),
    "cohere-v4": ImageInputs("Cohere Embed v4", ("png", "jpeg", "webp", "gif"), 5_000_000, None, 96, True),
}

#: ``dimensions`` each embedding model takes (None: a fixed size), by :func:`kind_of`, and the body
#: field that carries it.
DIMENSIONS: dict[str, tuple[tuple[int, ...], str] | None] = {
    "titan-text-v2": ((256, 512, 1024), "dimensions"),
    "titan-text-v1": None,
    "titan-multimodal": ((256, 384, 1024), "embeddingConfig.outputEmbeddingLength"),
    "cohere-v3": None,
    "cohere-v4": ((256, 512, 1024, 1536), "output_dimension"),
}

#: What to suggest when a text-only model is given an image.
IMAGE_MODELS = "amazon.titan-embed-image-v1 or cohere.embed-v4:0 (as us./eu./global.cohere.embed-v4:0)"


def kind_of(model: str, family: str | None = None) -> str | None:
    """``titan-text-v2``, ``titan-text-v1``, ``titan-multimodal``, ``cohere-v3`` or ``cohere-v4``
    for an embedding model id (a profile id or an ARN that names it), else None. ``family`` is the
    body family when the caller knows it (an application profile's ARN, from the catalog)."""
    name = (base_model_id(model) or model or "").lower()
    family = family or family_of(model)
    if family == "titan-embed" or "titan-embed" in name:
        if "titan-embed-image" in name:
            return "titan-multimodal"
        return "titan-text-v1" if ("embed-text-v1" in name or "embed-g1" in name) else "titan-text-v2"
    if family == "cohere-embed" or "cohere.embed" in name:
        return "cohere-v4" if "embed-v4" in name else "cohere-v3"
    return None


def image_inputs(model: str, family: str | None = None) -> ImageInputs | None:
    """What ``model`` takes as images (None: text only, or not an embedding model)."""
    kind = kind_of(model, family)
    return IMAGE_INPUTS.get(kind) if kind else None


def takes_images(model: str, family: str | None = None) -> ImageInputs:
    """What ``model`` takes as images; ``ValueError`` (one line naming models that take images) for a
    text-only one."""
    spec = image_inputs(model, family)
    if spec is None:
        raise ValueError(f"{model} embeds text only; for --image use {IMAGE_MODELS}")
    return spec


def check_dimensions(model: str, dimensions: Any, family: str | None = None) -> int | None:
    """``dimensions`` as the model takes it; ``ValueError`` (one line) for a size it does not make."""
    if dimensions is None:
        return None
    kind = kind_of(model, family)
    allowed = DIMENSIONS.get(kind or "")
    if allowed is None:
        raise ValueError(f"{model} makes vectors of one fixed size; drop --dimensions (dimensions=), or use a model "
                         f"that takes it (amazon.titan-embed-text-v2:0, amazon.titan-embed-image-v1, cohere.embed-v4:0)")
    sizes = allowed[0]
    if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions not in sizes:
        listed = ", ".join(map(str, sizes[:-1])) + f" or {sizes[-1]}"
        raise ValueError(f"{model} takes --dimensions {listed}, not {dimensions!r}")
    return dimensions


def check_images(model: str, images: list[dict[str, Any]], has_text: bool, family: str | None = None) -> None:
    """``ValueError`` (one line: what is wrong, how to fix it) when ``model`` cannot embed these
    image blocks: a text-only model, a format, a size or a count over the model's documented limits,
    or text with an image where the model takes one or the other."""
    if not images:
        return
    spec = takes_images(model, family)
    if len(images) > spec.per_call:
        raise ValueError(f"{spec.name} embeds {spec.per_call} image{'s' if spec.per_call > 1 else ''} per call, "
                         f"not {len(images)}; give one --image")
    if has_text and not spec.with_text:
        raise ValueError(f"{spec.name} embeds a text or one image, not both; leave the text out, or use "
                         f"amazon.titan-embed-image-v1 or cohere.embed-v4:0 for text and image together")
    for block in images:
        fmt, data = block["image"]["format"], block["image"]["source"]["bytes"]
        if fmt not in spec.formats:
            raise ValueError(f"{spec.name} takes {' or '.join(f.upper() for f in spec.formats)} images, not "
                             f"{fmt.upper()}; convert it (e.g. PIL: image.save(path, 'PNG'))")
        if len(data) > spec.max_bytes:
            raise ValueError(f"{spec.name} takes images of at most {spec.max_bytes / 1e6:g} MB; this one is "
                             f"{len(data) / 1e6:.2f} MB: make it smaller")


def _image_blocks(request: Request) -> list[dict[str, Any]]:
    last = request.messages[-1] if request.messages else {"content": []}
    return [block for block in last.get("content", ()) if "image" in block]


def _b64(block: dict[str, Any]) -> str:
    return base64_text(block["image"]["source"]["bytes"])


def _data_uri(block: dict[str, Any]) -> str:
    return f"data:image/{block['image']['format']};base64,{_b64(block)}"


def _titan_body(kind: str, request: Request, text: str, images: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"inputText": text} if text or kind != "titan-multimodal" else {}
    dimensions = request.extra.get("dimensions")
    if kind == "titan-multimodal":
        if images:
            body["inputImage"] = _b64(images[0])
        if dimensions is not None:
            body["embeddingConfig"] = {"outputEmbeddingLength": dimensions}
    elif kind == "titan-text-v2":
        for key in ("dimensions", "normalize"):
            if request.extra.get(key) is not None:
                body[key] = request.extra[key]
    return body  # Titan Embeddings G1 (text v1) takes nothing but inputText


def _cohere_body(kind: str, request: Request, texts: list[str], images: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"input_type": request.extra.get("input_type", "search_document")}
    text = texts[0] if texts else ""
    if not images:
        body["texts"] = texts
    elif kind == "cohere-v3":
        body.update(images=[_data_uri(images[0])], input_type="image")  # v3 embeds an image as input_type image
    elif len(images) == 1 and not text:
        body["images"] = [_data_uri(images[0])]
    else:  # text and images (or several images) in one vector: v4's interleaved inputs
        parts = [{"type": "text", "text": text}] if text else []
        parts += [{"type": "image_url", "image_url": _data_uri(block)} for block in images]
        body["inputs"] = [{"content": parts}]
    if kind == "cohere-v4" and request.extra.get("dimensions") is not None:
        body["output_dimension"] = request.extra["dimensions"]
    return body


def _invoke(client: Any, request: Request, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    body = {**body, **(request.extra.get("body") or {})}
    response = client.invoke_model(modelId=request.model, body=json.dumps(body).encode(),
                                   contentType="application/json", accept="application/json")
    return json.loads(response["body"].read() or b"{}"), response.get("ResponseMetadata") or {}


def _tokens(meta: dict[str, Any], fallback: Any) -> int:
    value = (meta.get("HTTPHeaders") or {}).get("x-amzn-bedrock-input-token-count")
    return int(value) if value is not None else int(fallback or 0)


def send(client: Any, request: Request) -> Reply:
    """Embed the prompt and its images (or ``extra["texts"]``); the vector(s) in ``Reply.embedding``.

    Raises ``ValueError`` (one line) for images the model does not take and dimensions it does not
    make, before anything is sent."""
    import numpy as np

    family = c.body_family(request)
    kind = kind_of(request.model, family)
    if kind is None:
        from .codecs import UnsupportedFamilyError  # the body codecs load on first use

        raise UnsupportedFamilyError(
            f"{request.model} is not an embedding model this package knows (Titan Text or Multimodal Embeddings, "
            f"Cohere Embed)")
    images = _image_blocks(request)
    several = request.extra.get("texts") is not None
    if several and images:
        raise ValueError("several texts at once are embedded without images; embed each text with its image")
    texts = list(request.extra.get("texts") or [request.prompt])
    check_images(request.model, images, bool(texts[0].strip()) if not several else True, family)
    check_dimensions(request.model, request.extra.get("dimensions"), family)
    if not images and not any(t.strip() for t in texts):
        raise ValueError("nothing to embed: give a text, or an --image to a model that takes images")
    clock = c.Clock()
    vectors, tokens, raws, request_id = [], 0, [], None
    if kind.startswith("cohere"):
        raw, meta = _invoke(client, request, _cohere_body(kind, request, texts if not images else
                                                            [t for t in texts if t.strip()], images))
        found = raw.get("embeddings")
        vectors = found.get("float") if isinstance(found, dict) else found  # by-type or plain floats
        billed = (raw.get("meta") or {}).get("billed_units") or {}
        tokens, raws, request_id = _tokens(meta, billed.get("input_tokens")), raw, meta.get("RequestId")
    else:
        for text in texts:  # Titan embeds one input per call
            raw, meta = _invoke(client, request, _titan_body(kind, request, text.strip() and text, images))
            vectors.append(raw.get("embedding") or (raw.get("embeddingsByType") or {}).get("float"))
            tokens += _tokens(meta, raw.get("inputTextTokenCount"))
            raws.append(raw)
            request_id = meta.get("RequestId")
        raws = raws[0] if len(raws) == 1 else raws
    array = np.asarray(vectors, dtype=np.float32)
    if not several:
        array = array[0]
    usage = c.usage(tokens, 0, more={"input_images": len(images)} if images else None)
    return Reply(model=request.model, region=request.region, endpoint=request.endpoint, api=API, usage=usage,
                 latency_ms=clock.ms, raw=raws, request_id=request_id, embedding=array)


def stream(client: Any, request: Request) -> Iterator[str | Reply]:
    """Embeddings do not stream: yields the one Reply."""
    yield send(client, request)
