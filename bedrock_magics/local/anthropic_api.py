"""bedrock-mantle's Anthropic Messages API: ``POST /anthropic/v1/messages`` and ``GET /anthropic/v1/models``.

AWS serves Claude on bedrock-mantle in Anthropic's own request and response format (AWS, *Inference
using Anthropic Messages API*, inference-messages-api.html): the body is Anthropic's Messages API body
(``model`` in the body, no ``anthropic_version``; the ``anthropic-version: 2023-06-01`` header is
required instead), streaming is server-sent events (``message_start``, ``content_block_start`` /
``_delta`` / ``_stop``, ``message_delta``, ``message_stop``), and errors are Anthropic's
``{"type": "error", "error": {"type", "message"}}``. Callers authenticate with a Bedrock API key
(``Authorization: Bearer`` or ``x-api-key``) or SigV4 for ``bedrock-mantle`` (see :mod:`.auth`).
This is what the anthropic SDK's ``AnthropicBedrockMantle`` client sends.

The model ids are the catalog's ``mantleAnthropicId``s. A request is the InvokeModel Anthropic body
with a ``model`` and ``stream`` instead of ``anthropic_version``: it is checked and answered by the same
codec (:class:`~bedrock_magics.local.wire.invoke.Anthropic`), held to the same refusals
(:func:`~bedrock_magics.local.refusals.check_anthropic_body`), and its JSON and stream events are that
codec's, so the two surfaces cannot drift apart. Mantle-only fields: ``output_config`` (``effort``;
``format`` with a JSON schema for structured output) and ``service_tier``.
"""

from __future__ import annotations

import json
import uuid
from typing import Iterable, Iterator

from . import refusals
from .http import MANTLE, AwsError, OpenAIError, Request, Response, Router
from .quotas import admit_call
from .responder import settle
from .wire import features
from .wire.invoke import Anthropic


class _Messages(Anthropic):
    """The runtime's Anthropic codec, plus what only Anthropic's own API takes: ``document`` blocks."""

    takes_documents = True


#: The runtime codec whose body this API shares (plus ``model`` and ``stream``).
CODEC = _Messages()
#: The ``anthropic_version`` the runtime codec expects; mantle takes the version as a header instead.
_RUNTIME_VERSION = "bedrock-2023-05-31"
#: Body fields of the mantle API that the runtime body lacks.
_MANTLE_FIELDS = ("model", "stream", "output_config", "service_tier")
#: Anthropic's error ``type`` per HTTP status (Anthropic API reference, *Errors*).
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
                503: "overloaded_error"}


class AnthropicError(Exception):
    """An error in Anthropic's shape: ``{"type": "error", "error": {"type", "message"}, "request_id"}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message

    @classmethod
    def of(cls, err: AwsError | OpenAIError) -> "AnthropicError":
        """The same failure told in Anthropic's shape (Bedrock's relay prefix dropped: mantle is the model's API)."""
        return cls(err.status, err.message.removeprefix(refusals.RELAYED))

    def to_response(self) -> Response:
        rid = "req_" + uuid.uuid4().hex
        body = {"type": "error", "error": {"type": _ERROR_TYPES.get(self.status, "api_error"), "message": self.message},
                "request_id": rid}
        return Response(self.status, json.dumps(body).encode(),
                        {"Content-Type": "application/json", "request-id": rid, "x-amzn-RequestId": rid})


def _runtime_body(body: dict) -> dict:
    """The InvokeModel Anthropic body of a mantle Messages API body (fields the codec does not know are
    left in, so its schema refuses them as extra fields)."""
    out = {k: v for k, v in body.items() if k not in _MANTLE_FIELDS}
    return {"anthropic_version": _RUNTIME_VERSION, **out}


def _sse(events: Iterable[dict]) -> Iterator[bytes]:
    """Anthropic's server-sent events: ``event: <type>`` and one ``data:`` line per event."""
    for event in events:
        yield f"event: {event['type']}\n".encode() + b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


def messages(req: Request) -> Response:
    """``POST /anthropic/v1/messages`` (JSON, or SSE with ``stream: true``)."""
    try:
        return _messages(req)
    except (AwsError, OpenAIError) as err:
        return AnthropicError.of(err).to_response()
    except AnthropicError as err:
        return err.to_response()


def _messages(req: Request) -> Response:
    if not req.headers.get("anthropic-version"):
        raise AnthropicError(400, "anthropic-version: header is required")
    body = req.json()
    if not isinstance(body, dict):
        raise AnthropicError(400, "Request body must be a JSON object")
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise AnthropicError(400, "model: Field required")
    entry = req.app.catalog.resolve_mantle_anthropic(req.region, name)
    if entry is None:
        raise AnthropicError(404, f"model: {name} is not a valid model ID or is not available in this region")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise AnthropicError(400, "stream: Input should be a valid boolean")
    runtime_body = _runtime_body(body)
    caps = req.app.catalog.capabilities(entry)
    refusals.check_anthropic_body(runtime_body, caps)
    call = CODEC.load(runtime_body, entry, streaming=stream)
    call.schema = features.anthropic_output_schema(body.get("output_config")) or call.schema
    settle(req.app, call, req.region)
    admit_call(req, call, name)
    call.extra["id"] = "msg_" + uuid.uuid4().hex[:24]
    if not stream:
        message = {**CODEC.render(call), "model": name}
        return Response(200, json.dumps(message, separators=(",", ":")).encode(),
                        {"Content-Type": "application/json", "request-id": "req_" + uuid.uuid4().hex})
    events = CODEC.chunks(call)
    events[0] = {**events[0], "message": {**events[0]["message"], "model": name}}
    return Response(200, _sse(events), {"Content-Type": "text/event-stream; charset=utf-8",
                                        "Cache-Control": "no-cache", "request-id": "req_" + uuid.uuid4().hex})


def models(req: Request) -> Response:
    """``GET /anthropic/v1/models``: the Claude models mantle's Messages API serves in this region."""
    data = [{"type": "model", "id": e["mantleAnthropicId"], "display_name": e["modelName"],
             "created_at": e.get("released") or "2025-01-01T00:00:00Z"}
            for e in req.app.catalog.mantle_anthropic_models(req.region)]
    page = {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None}
    return Response(200, json.dumps(page).encode(), {"Content-Type": "application/json"})


def register(router: Router) -> None:
    """Add mantle's Anthropic Messages API routes."""
    router.add(MANTLE, "POST", "/anthropic/v1/messages", messages)
    router.add(MANTLE, "GET", "/anthropic/v1/models", models)
