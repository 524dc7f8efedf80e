"""Bedrock runtime's native APIs on the local service: Converse, ConverseStream, InvokeModel,
InvokeModelWithResponseStream and CountTokens (plus :func:`invoke_for_batch` for batch jobs).

Every request becomes a :class:`~bedrock_magics.local.responder.Call` — a Converse body through
:mod:`~bedrock_magics.local.wire.converse`, an InvokeModel body through its model family's codec
(:mod:`bedrock_magics.local.wire.invoke`) — the responder answers it, and the same wire module writes
the answer back: Converse's ``ConverseResponse``, the event-stream events of ConverseStream, or the
family's native JSON body (which this module frames as ``chunk`` events when streaming), with
Bedrock's token-count and latency headers.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any, Iterator

from . import eventstream, guardrails, refusals
from .catalog import max_output_tokens
from .http import (RUNTIME, AwsError, Request, Response, Router, elapsed_ms, json_response, parse_json,
                   request_id)
from .quotas import admit_call
from .responder import Call, settle
from .validation import malformed
from .wire import invoke as families
from .wire.converse import converse_call, converse_events, converse_output

NOT_CONVERSE = "This action doesn't support the model that you provided. Try again with a supported text or chat model."
NOT_STREAMING = "The model is unsupported for streaming."
NO_COUNT_TOKENS = "The provided model doesn't support counting tokens."
INVOKE_TRACE = ("ENABLED", "DISABLED", "ENABLED_FULL")  # botocore's InvokeModel ``trace`` header enum


def _padding(i: int) -> str:
    """The ``p`` padding field real streams carry (botocore ignores it)."""
    return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[: 4 + (i * 7) % 40]


# --------------------------------------------------------------------------------------------------
# Handlers


def _model(req: Request) -> dict:
    return req.app.catalog.resolve(req.region, req.params["modelId"]).model


def _converse_model(model: dict) -> dict:
    """``model``, if Converse serves it."""
    if not model.get("converse"):
        raise AwsError("ValidationException", NOT_CONVERSE)
    return model


def _json_body(raw: bytes) -> Any:
    """An InvokeModel body as JSON; anything else is a malformed request."""
    try:
        return parse_json(raw or b"")
    except ValueError:
        raise malformed("#: expected type: JSONObject, found: String") from None


def _checked_converse_call(catalog: Any, body: Any, model: dict) -> Any:
    """The Converse body read into a ``Call``, then refused where the model can't do what it asks."""
    call = converse_call(body, model)
    refusals.check_converse(body, catalog.capabilities(model), call.max_tokens or max_output_tokens(model))
    return call


def _invoke_body(req: Request, model: dict) -> Any:
    """The InvokeModel body as JSON; an Anthropic body is also held to the extended-thinking rules, a
    Nova body to the media and ``reasoningConfig`` rules."""
    body = _json_body(req.body)
    if model.get("family") == "anthropic" and isinstance(body, dict):
        refusals.check_anthropic_body(body, req.app.catalog.capabilities(model))
    elif model.get("family") == "nova" and isinstance(body, dict):
        refusals.check_nova_body(body, req.app.catalog.capabilities(model))
    return body


def converse(req: Request) -> Response:
    """``POST /model/{modelId}/converse``."""
    model = _converse_model(_model(req))
    body = req.json()
    call = _checked_converse_call(req.app.catalog, body, model)
    settle(req.app, call, req.region)  # before the guardrail answers the call
    trace = _converse_guardrail(req, body, call)
    admit_call(req, call, req.params["modelId"])
    return json_response(converse_output(call, elapsed_ms(req.received_at), body, trace))


def converse_stream(req: Request) -> Response:
    """``POST /model/{modelId}/converse-stream``: event-stream frames, flushed one by one."""
    model = _converse_model(_model(req))
    if not model.get("responseStreamingSupported"):
        raise AwsError("ValidationException", NOT_STREAMING)
    body = req.json()
    call = _checked_converse_call(req.app.catalog, body, model)
    settle(req.app, call, req.region)  # before the guardrail answers the call
    trace = _converse_guardrail(req, body, call)
    admit_call(req, call, req.params["modelId"])  # answers now: errors must come before the 200 goes out

    def frames() -> Iterator[bytes]:
        for i, (kind, payload) in enumerate(converse_events(call, req.received_at, trace)):
            yield eventstream.event(kind, {**payload, "p": _padding(i)})

    return Response(200, frames(), {"Content-Type": eventstream.CONTENT_TYPE, "x-amzn-RequestId": request_id()})


def _invocation_headers(input_tokens: int, output_tokens: int, latency_ms: int, cache: Any = None) -> dict[str, str]:
    """InvokeModel's usage headers; with prompt-cache activity also the cache read/write counts (the
    headers langchain-aws's ChatBedrock reads, llms/bedrock.py, in its tests run against AWS)."""
    headers = {"X-Amzn-Bedrock-Input-Token-Count": str(input_tokens),
               "X-Amzn-Bedrock-Output-Token-Count": str(output_tokens),
               "X-Amzn-Bedrock-Invocation-Latency": str(latency_ms)}
    if cache is not None and (cache.read or cache.write):
        headers["X-Amzn-Bedrock-Cache-Read-Input-Token-Count"] = str(cache.read)
        headers["X-Amzn-Bedrock-Cache-Write-Input-Token-Count"] = str(cache.write)
    return headers


def invoke(req: Request) -> Response:
    """``POST /model/{modelId}/invoke``: the family's native body."""
    model = _model(req)
    family = families.family(model)
    call = family.load(_invoke_body(req, model), model)
    settle(req.app, call, req.region)  # before the guardrail answers the call
    guardrail = _invoke_guardrail(req, call)
    n_in, n_out = family.usage(call)
    admit_call(req, call, req.params["modelId"], (n_in, n_out))
    out = {**family.render(call), **guardrail}
    headers = {"Content-Type": "application/json",
               **_invocation_headers(n_in, n_out, elapsed_ms(req.received_at), call.cache)}
    return json_response(out, headers=headers)


def invoke_stream(req: Request) -> Response:
    """``POST /model/{modelId}/invoke-with-response-stream``: ``chunk`` events of native JSON."""
    start = req.received_at
    model = _model(req)
    family = families.family(model)
    if not model.get("responseStreamingSupported") or not family.streams:
        raise AwsError("ValidationException", NOT_STREAMING)
    call = family.load(_invoke_body(req, model), model, streaming=True)
    settle(req.app, call, req.region)  # before the guardrail answers the call
    guardrail = _invoke_guardrail(req, call)
    n_in, n_out = family.usage(call)
    admit_call(req, call, req.params["modelId"], (n_in, n_out))
    chunks = family.chunks(call)

    def frames() -> Iterator[bytes]:
        first = None
        for i, chunk in enumerate(chunks):
            now = elapsed_ms(start)
            first = first or now
            if i == len(chunks) - 1:
                chunk = {**chunk, **guardrail, "amazon-bedrock-invocationMetrics": {
                    "inputTokenCount": n_in, "outputTokenCount": n_out, "invocationLatency": now,
                    "firstByteLatency": first}}
            data = base64.b64encode(json.dumps(chunk, separators=(",", ":")).encode()).decode()
            yield eventstream.event("chunk", {"bytes": data, "p": _padding(i)})

    return Response(200, frames(), {"Content-Type": eventstream.CONTENT_TYPE,
                                    "X-Amzn-Bedrock-Content-Type": "application/json",
                                    "x-amzn-RequestId": request_id()})


def _converse_guardrail(req: Request, body: dict, call: Call) -> dict | None:
    """Apply a Converse request's ``guardrailConfig`` to ``call`` (see :mod:`.guardrails`); the
    ``trace`` to report, when the request asks for one."""
    config = body.get("guardrailConfig")
    if config is None:
        return None
    record = guardrails.find(req.app, req.region, config.get("guardrailIdentifier") or "",
                             config.get("guardrailVersion") or "")
    verdict = guardrails.apply(record, call)
    return {"guardrail": verdict.trace} if config.get("trace") in ("enabled", "enabled_full") else None


def _invoke_guardrail(req: Request, call: Call) -> dict:
    """Apply the guardrail an InvokeModel request's headers name to ``call``; the fields its body
    gains (``amazon-bedrock-guardrailAction``, and ``amazon-bedrock-trace`` when traced)."""
    trace_mode = req.headers.get("X-Amzn-Bedrock-Trace")
    if trace_mode is not None and trace_mode not in INVOKE_TRACE:
        raise AwsError("ValidationException", f"1 validation error detected: Value '{trace_mode}' at 'trace' failed "
                                              f"to satisfy constraint: Member must satisfy enum value set: "
                                              f"[{', '.join(INVOKE_TRACE)}]")
    identifier = req.headers.get("X-Amzn-Bedrock-GuardrailIdentifier")
    if identifier is None:
        return {}
    record = guardrails.find(req.app, req.region, identifier, req.headers.get("X-Amzn-Bedrock-GuardrailVersion") or "")
    if not call.messages:
        return {}  # embeddings and images: nothing for the guardrail to read
    verdict = guardrails.apply(record, call, stop_reason="end_turn")  # each family words its own stop
    out: dict = {"amazon-bedrock-guardrailAction": guardrails.ACTION_INTERVENED if verdict.intervened
                 else guardrails.ACTION_NONE}
    if trace_mode in ("ENABLED", "ENABLED_FULL"):
        out["amazon-bedrock-trace"] = {"guardrail": verdict.trace}
    return out


def count_tokens(req: Request) -> Response:
    """``POST /model/{modelId}/count-tokens``: bare foundation-model ids of models that support it."""
    model_id = req.params["modelId"]
    model = req.app.catalog.model(model_id)
    if model is None:
        if model_id.startswith("arn:") or req.app.catalog.inference_profile(req.region, model_id):
            raise AwsError("ValidationException", NO_COUNT_TOKENS)
        req.app.catalog.resolve(req.region, model_id)  # raises the usual invalid-identifier error
        raise AwsError("ValidationException", NO_COUNT_TOKENS)
    if req.region not in model["regions"]:
        raise AwsError("ValidationException", "The provided model identifier is invalid.")
    if not model.get("countTokens"):
        raise AwsError("ValidationException", NO_COUNT_TOKENS)
    body = req.json()
    source = body.get("input") if isinstance(body, dict) else None
    if not isinstance(source, dict) or len(source) != 1 or next(iter(source)) not in ("converse", "invokeModel"):
        raise AwsError("ValidationException", "1 validation error detected: Value at 'input' failed to satisfy "
                                              "constraint: Member must have exactly one of its union members set")
    if "converse" in source:
        call = converse_call(source["converse"], model, for_count=True)
    else:
        raw = source["invokeModel"].get("body") if isinstance(source["invokeModel"], dict) else None
        try:
            decoded = base64.b64decode(raw or "", validate=True)
        except (ValueError, TypeError):
            raise AwsError("ValidationException", "Invalid base64 in input.invokeModel.body") from None
        call = families.load(model, _json_body(decoded))
    return json_response({"inputTokens": call.input_tokens})


def invoke_for_batch(app: Any, region: str, model_id: str, model_input: dict,
                     invocation_type: str = "InvokeModel") -> dict:
    """The ``modelOutput`` of one batch-inference record (raises ``AwsError`` for a bad record).

    ``invocation_type`` is ``"InvokeModel"`` (``model_input`` is the family's native body) or
    ``"Converse"`` (``model_input`` is a Converse request body).
    """
    start = time.monotonic()
    model = app.catalog.resolve(region, model_id).model
    if invocation_type == "Converse":
        call = _checked_converse_call(app.catalog, model_input, _converse_model(model))
        return converse_output(call, elapsed_ms(start), model_input)
    if model.get("family") == "anthropic" and isinstance(model_input, dict):
        refusals.check_anthropic_body(model_input, app.catalog.capabilities(model))  # as InvokeModel does
    return families.family(model).render(families.load(model, model_input))


def register(router: Router) -> None:
    """Add the native runtime routes (surface RUNTIME)."""
    router.add(RUNTIME, "POST", "/model/{modelId}/converse", converse)
    router.add(RUNTIME, "POST", "/model/{modelId}/converse-stream", converse_stream)
    router.add(RUNTIME, "POST", "/model/{modelId}/invoke", invoke)
    router.add(RUNTIME, "POST", "/model/{modelId}/invoke-with-response-stream", invoke_stream)
    router.add(RUNTIME, "POST", "/model/{modelId}/count-tokens", count_tokens)
