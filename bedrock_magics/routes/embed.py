"""Embeddings through InvokeModel: Titan Text Embeddings (v2 and G1) and Cohere Embed.

The text is ``request.prompt`` (the last user message), or the list ``request.extra["texts"]`` for
several at once. Options in ``request.extra``: ``dimensions`` and ``normalize`` (Titan v2),
``input_type`` (Cohere: ``search_document`` by default, ``search_query``, ``classification``,
``clustering``). The vector lands in ``Reply.embedding`` as a numpy array: 1-D for one text, 2-D
(one row per text) for several. Usage: ``input_tokens`` as Bedrock counts them, no output tokens.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from ..reply import Reply
from ..request import Request
from . import _common as c
from ..modelids import family_of

# Not "embed": every route module's API is the wire API written to Reply.api and the ledger's api
# column, and embeddings are InvokeModel calls (``invoke`` delegates here for embedding models).
API = "invoke"
# Reached through ``invoke`` (embedding models) or directly as ("runtime", "embed"); not an API of
# its own in the route table (see routes/__init__).
CLIENT = "bedrock-runtime"


def _titan_body(request: Request, text: str) -> dict[str, Any]:
    body: dict[str, Any] = {"inputText": text}
    if "embed-text-v1" in request.model or "embed-g1" in request.model:
        return body  # Titan Embeddings G1 takes nothing else
    for key in ("dimensions", "normalize"):
        if request.extra.get(key) is not None:
            body[key] = request.extra[key]
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
    """Embed the prompt (or ``extra["texts"]``); the vector(s) in ``Reply.embedding``."""
    import numpy as np

    family = request.extra.get("family") or family_of(request.model)
    texts = list(request.extra.get("texts") or [request.prompt])
    clock = c.Clock()
    vectors, tokens, raws, request_id = [], 0, [], None
    if family == "cohere-embed":
        body = {"texts": texts, "input_type": request.extra.get("input_type", "search_document")}
        raw, meta = _invoke(client, request, body)
        found = raw.get("embeddings")
        vectors = found.get("float") if isinstance(found, dict) else found  # by-type or plain floats
        tokens, raws, request_id = _tokens(meta, (raw.get("meta") or {}).get("billed_units", {}).get("input_tokens")), raw, meta.get("RequestId")
    elif family == "titan-embed":
        # Titan embeds one text per call.
        for text in texts:
            raw, meta = _invoke(client, request, _titan_body(request, text))
            vectors.append(raw.get("embedding") or (raw.get("embeddingsByType") or {}).get("float"))
            tokens += _tokens(meta, raw.get("inputTextTokenCount"))
            raws.append(raw)
            request_id = meta.get("RequestId")
        raws = raws[0] if len(raws) == 1 else raws
    else:
        from .codecs import UnsupportedFamilyError  # the body codecs load on first use

        raise UnsupportedFamilyError(
            f"{request.model} is not an embedding model this package knows (Titan Text Embeddings, Cohere Embed)")
    array = np.asarray(vectors, dtype=np.float32)
    if request.extra.get("texts") is None:
        array = array[0]
    out = Reply(model=request.model, region=request.region, endpoint=request.endpoint, api=API,
                usage=c.usage(tokens, 0), latency_ms=clock.ms, raw=raws, request_id=request_id, embedding=array)
    return out


def stream(client: Any, request: Request) -> Iterator[str | Reply]:
    """Embeddings do not stream: yields the one Reply."""
    yield send(client, request)
