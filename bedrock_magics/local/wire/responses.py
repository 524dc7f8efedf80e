"""OpenAI Responses on the local service: the request read into a ``Call``, the answer written back
as a ``response`` object (or its server-sent events).

How the input becomes the normalized conversation: ``instructions`` then system/developer input
items are the system text; the stored conversation of ``previous_response_id`` (its inputs and
outputs, not its instructions) comes first; ``function_call`` items join the assistant message
before them and consecutive ``function_call_output`` items form one user message.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Iterator

from .. import mcp, responder
from ..responder import Answer, Call
from . import features
from .chat import chat_tool_calls, media_blocks
from .openai import (append_tool_result, arguments, check_decimal, check_function_tools, check_int, check_limit,
                     check_types, content_text, function_tools, invalid, tool_choice)

#: Expected JSON types of the request fields Responses reads or echoes back.
RESPONSES_TYPES = {"input": (str, list), "instructions": str, "previous_response_id": str, "store": bool,
                   "background": bool, "stream": bool, "tools": list, "tool_choice": (str, dict), "metadata": dict,
                   "reasoning": dict, "text": dict, "parallel_tool_calls": bool, "max_tool_calls": int,
                   "truncation": str, "user": str, "top_logprobs": int}
#: The tool types Bedrock's Responses API deserializes; anything else is refused before the request is
#: read further: "Failed to deserialize the JSON body into the target type: Invalid 'tools': unknown
#: variant `namespace`, expected `function` or `mcp`" (a real mantle 400 quoted in openai/codex#25034).
TOOL_TYPES = ("function", "mcp")
#: Of those, the tool types Bedrock runs server-side (mantle only); the responder only calls ``function`` tools.
SERVER_TOOLS = ("mcp",)


# --------------------------------------------------------------------------------------------------
# Request -> Call


def check_tool_types(body: dict) -> None:
    """Refuse a tool type Bedrock's Responses API does not know, in its deserializer's words; like a
    deserialization error it comes before anything else is checked, the model included."""
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        kind = tool.get("type") if isinstance(tool, dict) else None
        if isinstance(kind, str) and kind not in TOOL_TYPES:
            expected = " or ".join(f"`{t}`" for t in TOOL_TYPES)
            raise invalid(f"Failed to deserialize the JSON body into the target type: Invalid 'tools': unknown "
                          f"variant `{kind}`, expected {expected}", "tools", "validation_error")


def check_request(body: dict, entry: dict, runtime_region: str | None = None) -> None:
    """Every field of a Responses request checked as OpenAI checks it (``OpenAIError`` otherwise);
    ``runtime_region``: the request came to bedrock-runtime in that region (see :func:`check_runtime`)."""
    check_types(body, RESPONSES_TYPES)
    if runtime_region:
        check_runtime(body, runtime_region)
    if "input" not in body:
        raise invalid("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    check_int(body, "max_output_tokens", 1)
    check_limit(entry, body.get("max_output_tokens"), "max_output_tokens")
    check_decimal(body, "temperature", 0, 2)
    check_decimal(body, "top_p", 0, 1)
    check_function_tools(body.get("tools"), flat=True)
    mcp.check_request(body)
    if body.get("background") and body.get("store") is False:
        raise invalid("Background responses must be stored: set 'store' to true.", "store")


def check_runtime(body: dict, region: str) -> None:
    """bedrock-runtime's Responses are synchronous and run no server-side tools: both are refused,
    naming bedrock-mantle."""
    mantle = f"https://bedrock-mantle.{region}.api.aws/v1"
    if body.get("background"):
        raise invalid(f"Background mode is not supported on bedrock-runtime: Responses there are synchronous. "
                      f"Use the bedrock-mantle endpoint ({mantle}) for background responses.", "background",
                      "unsupported_parameter")
    for i, tool in enumerate(body.get("tools") or []):
        if isinstance(tool, dict) and tool.get("type") in SERVER_TOOLS:
            raise invalid(f"Tool type '{tool['type']}' runs server-side and is not supported on bedrock-runtime. "
                          f"Use the bedrock-mantle endpoint ({mantle}) for server-side tools.", f"tools[{i}].type",
                          "unsupported_parameter")


def _content_text(content: Any) -> str:
    """The text of an input item's ``content`` or a ``function_call_output``'s ``output``."""
    try:
        if content is None:
            raise ValueError("no content")
        return content_text(content)
    except ValueError:
        raise invalid("Invalid 'input': message content must be a string or an array of content parts.",
                      "input") from None


def input_conversation(items: Any) -> tuple[list[str], list[dict]]:
    """(system texts, Converse-shaped messages) from a Responses ``input``.

    Message items become messages; ``function_call`` items join the assistant message before them as
    ``toolUse`` blocks; consecutive ``function_call_output`` items form one user message of
    ``toolResult`` blocks — the same conversation the Chat Completions and Converse forms give. An
    ``mcp_call`` item (a server-side call given back) is a ``toolUse`` and its ``toolResult``.
    """
    if isinstance(items, str):
        return [], [{"role": "user", "content": [{"text": items}]}]
    if not isinstance(items, list):
        raise invalid("Invalid 'input': expected a string or an array of input items.", "input", "invalid_type")
    system: list[str] = []
    out: list[dict] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(f"Invalid 'input[{i}]': expected an object.", f"input[{i}]", "invalid_type")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role in ("system", "developer"):
                system.append(_content_text(item.get("content")))
            elif role in ("user", "assistant"):
                text = _content_text(item.get("content"))
                media = media_blocks(item.get("content")) if role == "user" else []
                out.append({"role": role, "content": ([{"text": text}] if text or role == "user" else []) + media})
            else:
                raise invalid(f"Invalid value for 'input[{i}].role': expected one of user, assistant, system, "
                              f"developer.", f"input[{i}].role")
        elif kind in ("function_call", "mcp_call"):
            try:
                args = arguments(item.get("arguments"))
            except ValueError:
                raise invalid(f"Invalid 'input[{i}].arguments': expected a JSON string.", f"input[{i}].arguments",
                              "invalid_type") from None
            call_id = item.get("call_id" if kind == "function_call" else "id")
            block = {"toolUse": {"toolUseId": call_id, "name": item.get("name", ""), "input": args}}
            if out and out[-1]["role"] == "assistant":
                out[-1]["content"].append(block)
            else:
                out.append({"role": "assistant", "content": [block]})
            if kind == "mcp_call":  # a server-side call given back (store=false) carries its own result
                append_tool_result(out, call_id, mcp.call_output_text(item))
        elif kind == "function_call_output":
            append_tool_result(out, item.get("call_id"), _content_text(item.get("output") or ""))
        # reasoning and other items carry nothing the responder reads
    return system, out


def request_call(body: dict, entry: dict, previous: list[dict]) -> Call:
    """The :class:`Call` of a checked Responses request; ``previous`` is the stored conversation of
    its ``previous_response_id`` (empty without one)."""
    system, new_messages = input_conversation(body["input"])
    instructions = body.get("instructions")
    system_text = "\n".join(([instructions] if isinstance(instructions, str) and instructions else []) + system)
    call = Call(entry, previous + new_messages, system_text, function_tools(body.get("tools") or []),
                tool_choice(body.get("tool_choice")), body.get("max_output_tokens"))
    return read_features(call, body)


def read_features(call: Call, body: dict) -> Call:
    """Structured output (``text.format``) and reasoning (``reasoning.effort``) of a Responses body."""
    text = body.get("text") if isinstance(body.get("text"), dict) else {}
    features.openai_format(call, text.get("format"))
    reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
    call.reasoning = features.openai_effort(reasoning.get("effort"))
    if call.reasoning and reasoning.get("summary"):
        call.extra["reasoning_summary"] = True
    return call


def input_items(items: Any) -> list[dict]:
    """The request's input as stored items (with ids), for ``GET /responses/{id}/input_items``."""
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    out = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            content = item.get("content")
            parts = [{"type": "input_text", "text": content}] if isinstance(content, str) else content
            out.append({"id": item.get("id") or "msg_" + uuid.uuid4().hex, "type": "message",
                        "role": item.get("role"), "content": parts, "status": "completed"})
        else:
            out.append({"id": item.get("id") or uuid.uuid4().hex, **item, "status": item.get("status", "completed")})
    return out


# --------------------------------------------------------------------------------------------------
# Answer -> response object / events


def _usage(answer: Answer) -> dict:
    return {"input_tokens": answer.prompt_tokens,
            "input_tokens_details": {"cached_tokens": answer.cache.read, "cache_write_tokens": 0},
            "output_tokens": answer.output_tokens,
            "output_tokens_details": {"reasoning_tokens": answer.reasoning_tokens},
            "total_tokens": answer.total_tokens}


def reasoning_item(answer: Answer, summary: bool = False) -> dict:
    """The ``reasoning`` output item of an answer (its text as ``reasoning_text`` content; the same
    text as a ``summary_text`` when ``reasoning.summary`` was asked for)."""
    return {"id": "rs_" + uuid.uuid4().hex, "type": "reasoning", "status": "completed",
            "summary": [{"type": "summary_text", "text": answer.reasoning}] if summary else [],
            "content": [{"type": "reasoning_text", "text": answer.reasoning}]}


def output_items(answer: Answer, summary: bool = False) -> list[dict]:
    """The ``output`` items of an answer: its reasoning (when asked for), a message, and a
    ``function_call`` for a tool call."""
    items: list[dict] = [reasoning_item(answer, summary)] if answer.reasoning else []
    if answer.text or not answer.tool_call:
        items.append({"id": "msg_" + uuid.uuid4().hex, "type": "message", "role": "assistant",
                      "status": "incomplete" if answer.stop_reason == "max_tokens" else "completed",
                      "content": [{"type": "output_text", "text": answer.text, "annotations": [], "logprobs": []}]})
    if answer.tool_call:
        (call,) = chat_tool_calls(answer)
        items.append({"id": "fc_" + uuid.uuid4().hex, "type": "function_call", "status": "completed",
                      "call_id": call["id"], **call["function"]})
    return items


def _echo_tools(tools: list[dict]) -> list[dict]:
    out = []
    for t in tools:
        if t.get("type") == "function":
            out.append({"type": "function", "name": t["name"], "description": t.get("description"),
                        "parameters": t.get("parameters") or {"type": "object", "properties": {}},
                        "strict": t.get("strict")})
        else:
            out.append(t)
    return out


def response_object(rid: str, body: dict, created_at: int, status: str, previous: str | None,
                    output: list[dict], answer: Answer | None) -> dict:
    """A ``response`` object in ``status``, echoing the request's settings."""
    done = status in ("completed", "incomplete", "cancelled", "failed")
    incomplete = answer is not None and answer.stop_reason == "max_tokens" and status == "incomplete"
    return {
        "id": rid, "object": "response", "created_at": created_at, "status": status,
        "background": bool(body.get("background")), "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"), "model": body["model"], "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True), "previous_response_id": previous,
        "reasoning": {"effort": (body.get("reasoning") or {}).get("effort"), "summary": None},
        "service_tier": "default", "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0), "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"), "tools": _echo_tools(body.get("tools") or []),
        "top_logprobs": body.get("top_logprobs", 0), "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": _usage(answer) if answer is not None and done and status != "cancelled" else None,
        "user": body.get("user"), "metadata": body.get("metadata") or {},
        "completed_at": int(time.time()) if done else None,
    }


def stream_events(response: dict) -> Iterator[dict]:
    """The Responses SSE events for a finished response, in the order the SDK's helper accepts."""
    start = {**response, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None,
             "completed_at": None}
    yield {"type": "response.created", "response": start}
    yield {"type": "response.in_progress", "response": start}
    for index, item in enumerate(response["output"]):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield {"type": "response.output_item.added", "output_index": index,
                   "item": {**item, "status": "in_progress", "content": []}}
            empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            yield {"type": "response.content_part.added", **where, "part": empty}
            for piece in responder.deltas(text):
                yield {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
            yield {"type": "response.output_text.done", **where, "text": text, "logprobs": []}
            yield {"type": "response.content_part.done", **where, "part": item["content"][0]}
        elif item["type"] == "reasoning":
            yield from _reasoning_events(item, index)
        elif item["type"] in mcp.ITEM_TYPES:
            yield from mcp.item_events(item, index)
            continue
        else:
            yield {"type": "response.output_item.added", "output_index": index,
                   "item": {**item, "status": "in_progress", "arguments": ""}}
            args = item["arguments"]
            for fragment in responder.fragments(args):
                yield {"type": "response.function_call_arguments.delta", "item_id": item["id"],
                       "output_index": index, "delta": fragment}
            yield {"type": "response.function_call_arguments.done", "item_id": item["id"], "output_index": index,
                   "name": item["name"], "arguments": args}
        yield {"type": "response.output_item.done", "output_index": index, "item": item}
    terminal = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
    yield {"type": terminal, "response": response}


def _reasoning_events(item: dict, index: int) -> Iterator[dict]:
    """The events streaming a reasoning item's text (after its ``output_item.added``)."""
    text = item["content"][0]["text"]
    yield {"type": "response.output_item.added", "output_index": index,
           "item": {**item, "status": "in_progress", "summary": [], "content": []}}
    where = {"item_id": item["id"], "output_index": index, "content_index": 0}
    for piece in responder.deltas(text):
        yield {"type": "response.reasoning_text.delta", **where, "delta": piece}
    yield {"type": "response.reasoning_text.done", **where, "text": text}


def sse_events(response: dict) -> Iterator[bytes]:
    """The server-sent events of a finished response, numbered (``event:`` + ``data:`` lines)."""
    for seq, event in enumerate(stream_events(response)):
        event = {**event, "sequence_number": seq}
        yield f"event: {event['type']}\ndata: ".encode() + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"
