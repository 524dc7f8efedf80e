"""InvokeModel and InvokeModelWithResponseStream on the runtime, through boto3's ``bedrock-runtime``.

The body is the model family's native format (``codecs``, which also carries ``--image`` and
``--schema`` for Claude and Nova); embedding models go to ``embed``. With ``--schema`` on a forced
tool the tool's input is the reply's text, sent or streamed.
Usage comes from Bedrock's ``x-amzn-bedrock-*-token-count`` headers (what Bedrock bills) or, on
streams, the ``amazon-bedrock-invocationMetrics`` of the last chunk; the body's own counts fill in
when those are missing. Streams are read through botocore's event-stream parser.
The model's reasoning (``--reasoning``) is read back by the codec: the reply's ``reasoning``, streamed as
``Thinking`` pieces apart from the answer, and ``reasoning_tokens`` where the body counts them (gpt-oss).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..modelids import EMBED_FAMILIES, family_of
from ..reply import Reply, Thinking
from ..request import Request
from . import _common as c
from . import _features as f

if TYPE_CHECKING:  # pragma: no cover
    from . import codecs

API = "invoke"
# What this route serves, read by routes/__init__ into the one route table.
LABEL = "InvokeModel"
CLIENT = "bedrock-runtime"
ENDPOINTS = ("runtime",)
DEFAULT_ON: tuple[str, ...] = ()
SERVER_STATE: tuple[str, ...] = ()
BATCH_TYPE = "InvokeModel"
CAPABILITIES = frozenset({"stream", "tools", "embed"})


def _body(codec: codecs.Codec, request: Request) -> bytes:
    body = codec.encode(request)
    body.update(request.extra.get("body") or {})  # caller's extra wire fields (e.g. top_k)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _header_int(headers: dict[str, str], name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def send(client: Any, request: Request) -> Reply:
    """One InvokeModel call (embedding models are delegated to ``embed.send``)."""
    from . import (
        codecs,  # the body codecs load with the first InvokeModel call, not at %load_ext
    )

    family = c.body_family(request)
    if family in EMBED_FAMILIES:
        from . import embed  # embeddings' wire code loads with the first embedding call

        return embed.send(client, request)
    codec = codecs.codec_for(request.model, family)
    body = _body(codec, request)
    clock = c.Clock()
    response = client.invoke_model(modelId=request.model, body=body, contentType="application/json",
                                   accept="application/json")
    payload = response["body"].read()
    latency = clock.ms
    meta = response.get("ResponseMetadata") or {}
    headers = meta.get("HTTPHeaders") or {}
    raw = json.loads(payload or b"{}")
    decoded = codec.decode(raw)
    tokens_in = _header_int(headers, "x-amzn-bedrock-input-token-count")
    tokens_out = _header_int(headers, "x-amzn-bedrock-output-token-count")
    usage = c.usage(tokens_in if tokens_in is not None else decoded.input_tokens,
                    tokens_out if tokens_out is not None else decoded.output_tokens, more=_reasoning_count(decoded))
    text, calls = f.schema_tool_text(request, decoded.text, decoded.tool_calls)  # --schema as a forced tool
    return c.reply(request, API, text=text, usage_=usage, stop_raw=decoded.stop, raw=raw, latency_ms=latency,
                   request_id=meta.get("RequestId"), response_id=decoded.response_id, tool_calls=calls,
                   reasoning=decoded.reasoning, reasoning_blocks=decoded.reasoning_blocks)


def _reasoning_count(decoded: codecs.Decoded) -> dict[str, int]:
    """``{"reasoning_tokens": N}`` where the body reports them, else ``{}`` (none are invented)."""
    return {"reasoning_tokens": int(decoded.reasoning_tokens)} if decoded.reasoning_tokens else {}


def stream(client: Any, request: Request) -> Iterator[str | Thinking | Reply]:
    """InvokeModelWithResponseStream: text deltas and reasoning pieces, then the final Reply (``streamed=True``)."""
    from . import (
        codecs,  # the body codecs load with the first InvokeModel call, not at %load_ext
    )

    family = c.body_family(request)
    if family in EMBED_FAMILIES:
        from . import embed  # embeddings' wire code loads with the first embedding call

        yield from embed.stream(client, request)
        return
    codec = codecs.codec_for(request.model, family)
    body = _body(codec, request)
    clock = c.Clock()
    response = client.invoke_model_with_response_stream(modelId=request.model, body=body,
                                                        contentType="application/json", accept="application/json")
    request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
    state = codec.stream()
    chunks: list[Any] = []
    with c.stream_errors(request_id, client):
        for event in response["body"]:
            part = event.get("chunk")
            if not part:
                continue
            chunk = json.loads(part.get("bytes") or b"{}")
            chunks.append(chunk)
            yield from state.feed(chunk)
        yield from state.finish()
    decoded = state.result()
    if decoded.stop is None and not state.metrics:
        raise c.incomplete_stream("The InvokeModelWithResponseStream response", request_id)
    usage = c.usage(state.metrics.get("inputTokenCount", decoded.input_tokens),
                    state.metrics.get("outputTokenCount", decoded.output_tokens), more=_reasoning_count(decoded))
    raw = {"chunks": chunks, "contentType": response.get("contentType")}
    # A forced schema tool streams its input (Claude's input_json_delta), not text: it is the answer.
    text, calls = f.schema_tool_text(request, decoded.text, decoded.tool_calls)
    yield c.reply(request, API, text=text, usage_=usage, stop_raw=decoded.stop, raw=raw, latency_ms=clock.ms,
                  request_id=request_id, response_id=decoded.response_id, tool_calls=calls, streamed=True,
                  reasoning=decoded.reasoning, reasoning_blocks=decoded.reasoning_blocks)


# -- batch inference job records (CreateModelInvocationJob, modelInvocationType "InvokeModel") -------


def record_encoder(first: Request, family: str | None = None,
                   notes: list[str] | None = None) -> Callable[[Request], dict[str, Any]]:
    """``request -> modelInput`` for every record of a job (the first row's request picks the codec).

    ``family`` is the InvokeModel body family (``Bedrock.family_of``); when it is unknown the records
    carry the Converse-shaped (Nova) body, and a line saying so is added to ``notes``."""
    from . import (
        codecs,  # the body codecs load with the first InvokeModel call, not at %load_ext
    )

    family = first.extra.get("family") or family
    if family is None:
        # codec_for would warn with a traceback-style line; say it once, as a note, instead.
        codec: codecs.Codec = codecs.Fallback()
        if notes is not None:
            notes.append(f"the InvokeModel body format of {first.model} is unknown: the records carry the "
                         "Converse-shaped (Amazon Nova) body; use --api converse (api='converse') to be sure")
    else:
        codec = codecs.codec_for(first.model, family)  # UnsupportedFamilyError: a ValueError

    def invoke_body(request: Request) -> dict[str, Any]:
        body = codec.encode(request)
        body.update(request.extra.get("body") or {})  # caller's extra wire fields, as send() does
        return body

    return invoke_body


def record_decoder(model: str, family: str | None = None) -> "Callable[[dict[str, Any]], codecs.Decoded] | None":
    """``modelOutput -> Decoded`` of a job's records (None: embedding models, whose output is no text).

    ``family`` is the body family (``Bedrock.family_of``); unknown, the output is decoded by its shape."""
    from . import (
        codecs,  # the body codecs load with the first InvokeModel call, not at %load_ext
    )

    family = family or family_of(model)
    if family is None:
        return codecs.Fallback().decode  # recognises each family's output by its fields
    return None if family in EMBED_FAMILIES else codecs.codec_for(model, family).decode
