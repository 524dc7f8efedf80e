"""OpenAI Responses on the runtime (``/openai/v1``) and on mantle (``/v1``), via the openai SDK.

The system prompt goes in ``instructions``; messages become input items (``toolUse`` ->
``function_call``, ``toolResult`` -> ``function_call_output``). On mantle, when
``request.previous_response_id`` is set, the server already holds the conversation up to that
response, so only the items after the last assistant turn are sent with ``previous_response_id``
(the runtime's Responses API is stateless: there the whole conversation is sent).

The Responses API has no stop sequences: a request with ``stop`` raises ``ValueError`` (use the
converse, invoke or chat API instead).
"""

from __future__ import annotations

import json
from contextlib import closing
from typing import Any, Iterator

from ..errors import BedrockError
from ..reply import Reply, Thinking
from ..request import Request
from . import _common as c
from . import _features as f

API = "responses"
# What this route serves, read by routes/__init__ into the one route table.
LABEL = "Responses"
CLIENT = "openai"
ENDPOINTS = ("runtime", "mantle")
DEFAULT_ON = ("mantle",)
SERVER_STATE = ("mantle",)  # mantle keeps the conversation: a turn sends previous_response_id
BATCH_TYPE = None
CAPABILITIES = frozenset({"stream", "tools"})


def input_items(messages: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Converse-shaped messages as Responses input items."""
    items: list[dict[str, Any]] = []
    for message in messages:
        blocks = message.get("content") or ()
        if message["role"] == "assistant":
            text = c.text_of(message)
            if text:
                items.append({"role": "assistant", "content": text})
            for b in blocks:
                if "toolUse" in b:
                    t = b["toolUse"]
                    items.append({"type": "function_call", "call_id": t["toolUseId"], "name": t["name"],
                                  "arguments": json.dumps(t.get("input") or {}, separators=(",", ":"))})
            continue
        for b in blocks:
            if "toolResult" in b:
                r = b["toolResult"]
                items.append({"type": "function_call_output", "call_id": r["toolUseId"],
                              "output": c.tool_result_text(r)})
        text = c.text_of(message)
        parts = f.openai_parts(blocks, API)
        if parts:
            items.append({"role": "user", "content": parts})
        elif text or not any("toolResult" in b for b in blocks):
            items.append({"role": "user", "content": text})
    return items


def _new_messages(request: Request) -> list[dict[str, Any]]:
    """The messages after the last assistant turn (what the stored response has not seen)."""
    messages = list(request.messages)
    for i in range(len(messages) - 1, -1, -1):
        if messages[i]["role"] == "assistant":
            return messages[i + 1:]
    return messages


def response_params(request: Request) -> dict[str, Any]:
    """Keyword arguments of ``client.responses.create`` for ``request``."""
    if request.stop:
        raise ValueError("The Responses API has no stop sequences; use --api converse, invoke or chat with --stop.")
    stateful = bool(request.previous_response_id) and request.endpoint == "mantle"
    params: dict[str, Any] = {"model": request.model,
                              "input": input_items(_new_messages(request) if stateful else request.messages),
                              **c.openai_settings(request, "max_output_tokens")}
    if stateful:
        params["previous_response_id"] = request.previous_response_id
    if request.system:
        params["instructions"] = request.system
    if request.tools:
        params["tools"] = [{"type": "function", "name": t.name, "parameters": t.parameters,
                            **({"description": t.description} if t.description else {})} for t in request.tools]
    f.responses_fields(request, params)
    return params


def _parse(raw: dict[str, Any]) -> tuple[str, list[dict[str, Any]], str]:
    """(text, tool calls, stop reason) of a Responses object."""
    text, calls = "", []
    for item in raw.get("output") or ():
        if item.get("type") == "message":
            text += "".join(p.get("text", "") for p in item.get("content") or () if p.get("type") == "output_text")
        elif item.get("type") == "function_call":
            calls.append({"id": item.get("call_id") or item.get("id") or "", "name": item.get("name", ""),
                          "input": c.parse_arguments(item.get("arguments"))})
    status = raw.get("status")
    if status == "incomplete":
        stop = (raw.get("incomplete_details") or {}).get("reason") or "max_output_tokens"
    else:
        stop = "tool_use" if calls else "end_turn"
    return text, calls, stop


def _usage(u: dict[str, Any] | None) -> dict[str, int]:
    u = u or {}
    return f.uncached(c.usage(u.get("input_tokens"), u.get("output_tokens"), u.get("total_tokens"),
                              f.openai_usage(u, "input_tokens", "output_tokens")))


def _reply(request: Request, raw: dict[str, Any], latency: float, request_id: str | None, streamed: bool) -> Reply:
    text, calls, stop = _parse(raw)
    return c.reply(request, API, text=text, usage_=_usage(raw.get("usage")), stop_raw=stop, raw=raw,
                   latency_ms=latency, request_id=request_id, response_id=raw.get("id"), tool_calls=calls,
                   streamed=streamed, reasoning=f.responses_reasoning(raw))


def send(client: Any, request: Request) -> Reply:
    """One Responses call."""
    clock = c.Clock()
    response = client.responses.create(**response_params(request))
    latency = clock.ms
    return _reply(request, c.dump(response), latency, getattr(response, "_request_id", None), False)


def stream(client: Any, request: Request) -> Iterator[str | Reply]:
    """Streamed Responses: ``response.output_text.delta`` texts, then the final Reply (``streamed=True``)."""
    clock = c.Clock()
    events = client.responses.create(**response_params(request), stream=True)
    request_id = c.stream_request_id(events)
    final = None
    with c.stream_errors(request_id, client), closing(events):
        for event in events:
            kind = getattr(event, "type", "")
            if kind == "response.output_text.delta":
                if event.delta:
                    yield event.delta
            elif kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta"):
                if event.delta:
                    yield Thinking(event.delta)
            elif kind in ("response.completed", "response.incomplete"):
                final = c.dump(event.response)
            elif kind == "response.failed":
                error = c.dump(event.response).get("error") or {}
                raise BedrockError(f"The model failed: {error.get('message') or 'response.failed'}",
                                   code=str(error.get("code") or "ResponseFailed"), request_id=request_id)
            elif kind == "error":
                raise BedrockError(f"The Responses stream reported an error: {getattr(event, 'message', '')}",
                                   code=str(getattr(event, "code", None) or "StreamError"), request_id=request_id)
    if final is None:
        raise c.incomplete_stream("The Responses stream", request_id)
    yield _reply(request, final, clock.ms, request_id, True)
