"""OpenAI Responses on the runtime (``/openai/v1``) and on mantle (``/v1``), via the openai SDK.

The system prompt goes in ``instructions``; messages become input items (``toolUse`` ->
``function_call``, ``toolResult`` -> ``function_call_output``). On mantle, when
``request.previous_response_id`` is set, the server already holds the conversation up to that
response, so only the items after the last assistant turn are sent with ``previous_response_id``
(the runtime's Responses API is stateless: there the whole conversation is sent).

The Responses API has no stop sequences: a request with ``stop`` raises ``ValueError`` (use the
converse, invoke or chat API instead).

Mantle only: server-side tools (``request.extra["server_tools"]``, see ``servertools``) go as ``mcp``
connectors, and their ``mcp_list_tools``/``mcp_call`` output items come back as
:class:`~bedrock_magics.reply.ServerCall` items (yielded as they stream, kept in ``Reply.server_calls``);
``request.extra["background"]`` submits a background response, answered at once with its id
(:func:`retrieve` fetches it later, :func:`delete` removes a stored one). The client arrives already
pointed at the model's mantle path prefix (``endpoints.mantle_prefix``: GPT-5.x ``/openai/v1``).
"""

from __future__ import annotations

import json
from contextlib import closing
from typing import Any, Iterator

from ..errors import BedrockError
from ..reply import Reply, ServerCall, Thinking
from ..request import Request
from . import _common as c
from . import _features as f
from ._features import reasoning_effort  # noqa: F401 - part of this route's API

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
    tools = [{"type": "function", "name": t.name, "parameters": t.parameters,
              **({"description": t.description} if t.description else {})} for t in request.tools]
    # Bedrock calls these itself; "never" is the only approval mode it takes (bedrock-features.md §1).
    tools += [{"type": "mcp", "server_label": s["label"], "connector_id": s["connector_id"],
               "require_approval": "never"} for s in request.extra.get("server_tools") or ()]
    if tools:
        params["tools"] = tools
    f.responses_fields(request, params)
    if request.extra.get("background"):
        params["background"] = True
        params["store"] = True  # a background response must be stored to be fetched later
    return params


def server_calls(raw: dict[str, Any]) -> list[ServerCall]:
    """The server-side tool items (``mcp_list_tools``, ``mcp_call``) of a Responses object, in order."""
    return [call for call in (server_call(item) for item in raw.get("output") or ()) if call is not None]


def server_call(item: dict[str, Any]) -> ServerCall | None:
    """One output item as a :class:`ServerCall` (None for other item types)."""
    kind = item.get("type")
    if kind == "mcp_list_tools":
        return ServerCall("list_tools", server=item.get("server_label") or "", id=item.get("id") or "",
                          tools=tuple(t.get("name", "") for t in item.get("tools") or ()),
                          error=_error_text(item.get("error")), status=item.get("status"))
    if kind == "mcp_call":
        return ServerCall("call", server=item.get("server_label") or "", tool=item.get("name") or "",
                          arguments=c.parse_arguments(item.get("arguments")), output=item.get("output"),
                          error=_error_text(item.get("error")), status=item.get("status"), id=item.get("id") or "")
    return None


def _error_text(error: Any) -> str | None:
    if not error:
        return None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or error)
    return str(error)



def retrieve(client: Any, request: Request, response_id: str) -> Reply:
    """A stored (or background) response by id, as a Reply (``status`` ``"ok"`` once completed;
    ``"queued"``/``"in_progress"`` while a background response runs)."""
    clock = c.Clock()
    response = client.responses.retrieve(response_id)
    raw = c.dump(response)
    reply = _reply(request, raw, clock.ms, getattr(response, "_request_id", None), False)
    reply.model = raw.get("model") or reply.model
    return reply


def delete(client: Any, request: Request, response_id: str) -> None:
    """Delete a stored response (the openai SDK raises NotFoundError for an unknown id)."""
    client.responses.delete(response_id)


#: Statuses of a background response that has not finished yet.
PENDING = ("queued", "in_progress")


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
    reply = c.reply(request, API, text=text, usage_=_usage(raw.get("usage")), stop_raw=stop, raw=raw,
                    latency_ms=latency, request_id=request_id, response_id=raw.get("id"), tool_calls=calls,
                    streamed=streamed, reasoning=f.responses_reasoning(raw))
    reply.server_calls = server_calls(raw)
    if raw.get("status") in PENDING:  # a background response, answered at once: nothing to bill yet
        reply.status, reply.stop_reason = raw["status"], None
    return reply


def send(client: Any, request: Request) -> Reply:
    """One Responses call."""
    clock = c.Clock()
    response = client.responses.create(**response_params(request))
    latency = clock.ms
    return _reply(request, c.dump(response), latency, getattr(response, "_request_id", None), False)


def stream(client: Any, request: Request) -> Iterator[str | ServerCall | Reply]:
    """Streamed Responses: ``response.output_text.delta`` texts and server-side tool items
    (:class:`ServerCall`) as they arrive, then the final Reply (``streamed=True``)."""
    clock = c.Clock()
    if request.extra.get("background"):
        raise ValueError("--background returns at once with the response id; drop --stream "
                         "(fetch it with %bedrock response ID)")
    events = client.responses.create(**response_params(request), stream=True)
    request_id = c.stream_request_id(events)
    final = None
    with c.stream_errors(request_id, client), closing(events):
        for event in events:
            kind = getattr(event, "type", "")
            if kind == "response.output_text.delta":
                if event.delta:
                    yield event.delta
            elif kind == "response.output_item.done":
                call = server_call(c.dump(getattr(event, "item", None)) or {})
                if call is not None:
                    yield call  # a server-side tool's item, shown as it happens
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
