"""OpenAI Chat Completions on the local service: the request read into a ``Call``, the answer
written back as ``chat.completion`` objects (``chat.completion.chunk`` events when streaming).

The same body is also what the Mistral chat and gpt-oss InvokeModel families take and return
(:mod:`.invoke`), so the conversion (:func:`chat_call`) and the renderers live here once.

How a Chat body becomes the normalized conversation: ``system``/``developer`` messages are the
system text; an assistant's ``tool_calls`` are toolUse blocks; consecutive ``tool`` messages are
one user message of toolResults.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Iterable, Iterator, Mapping, Sequence

from .. import mcp
from ..responder import Answer, Call
from . import features
from .openai import (append_tool_result, arguments, check_decimal, check_function_tools, check_int, check_limit,
                     check_types, content_text, function_tools, invalid, tool_choice)

#: Expected JSON types of the request fields Chat Completions reads or echoes back.
CHAT_TYPES = {"messages": list, "tools": list, "tool_choice": (str, dict), "stream": bool, "stream_options": dict,
              "stop": (str, list), "n": int, "user": str, "metadata": dict, "parallel_tool_calls": bool,
              "response_format": dict, "reasoning_effort": str}


# --------------------------------------------------------------------------------------------------
# Request -> Call


def from_chat(messages: Sequence[Mapping[str, Any]]) -> tuple[str, list[dict]]:
    """(system, Converse-shaped messages) from OpenAI Chat Completions ``messages``.

    ``system``/``developer`` messages make the system text; an assistant's ``tool_calls`` become
    ``toolUse`` blocks (arguments parsed as JSON); consecutive ``tool`` messages become one user
    message of ``toolResult`` blocks, as Converse would carry them.
    """
    system: list[str] = []
    out: list[dict] = []
    for i, m in enumerate(messages):
        if not isinstance(m, Mapping):
            raise ValueError(f"messages[{i}] must be an object")
        role = m.get("role")
        if role in ("system", "developer"):
            system.append(content_text(m.get("content")))
        elif role == "user":
            out.append({"role": "user", "content": [{"text": content_text(m.get("content"))},
                                                    *media_blocks(m.get("content"))]})
        elif role == "assistant":
            blocks: list[dict] = []
            text = content_text(m.get("content"))
            if text:
                blocks.append({"text": text})
            calls = m.get("tool_calls") or []
            if not isinstance(calls, list) or not all(isinstance(c, Mapping) and isinstance(c.get("function"), Mapping)
                                                      for c in calls):
                raise ValueError(f"messages[{i}].tool_calls must be a list of function calls")
            for call in calls:
                fn = call["function"]
                args = arguments(fn.get("arguments"))
                blocks.append({"toolUse": {"toolUseId": call.get("id"), "name": fn.get("name", ""), "input": args}})
            out.append({"role": "assistant", "content": blocks})
        elif role == "tool":
            append_tool_result(out, m.get("tool_call_id"), content_text(m.get("content")))
        else:
            raise ValueError(f"messages[{i}].role must be one of system, developer, user, assistant, tool")
    return "\n".join(system), out


def media_blocks(content: Any) -> list[dict]:
    """The Converse image/document blocks of an OpenAI message's content parts (data URLs)."""
    blocks = [features.openai_media(p) for p in content] if isinstance(content, list) else []
    return [b for b in blocks if b]


def read_features(call: Call, body: Mapping[str, Any]) -> Call:
    """Structured output (``response_format``) and reasoning (``reasoning_effort``) of a Chat body."""
    features.openai_format(call, body.get("response_format"))
    call.reasoning = features.openai_effort(body.get("reasoning_effort"))
    return call


def chat_call(body: Mapping[str, Any], model: dict) -> Call:
    """A :class:`Call` from an OpenAI Chat Completions body (``messages``, ``tools``, ``tool_choice``,
    ``max_completion_tokens`` or ``max_tokens``, ``stop``); the caller has checked the field types.

    Raises ``ValueError`` for messages that make no conversation; each API words it its own way.
    """
    system, messages = from_chat(body.get("messages") or [])
    stop = body.get("stop")
    return read_features(Call(model, messages, system, function_tools(body.get("tools") or []),
                              tool_choice(body.get("tool_choice")),
                              body.get("max_completion_tokens", body.get("max_tokens")),
                              [stop] if isinstance(stop, str) else list(stop or [])), body)


def request_call(body: dict, entry: dict) -> Call:
    """The :class:`Call` of a Chat Completions API request, every field checked as OpenAI checks it
    (``OpenAIError`` otherwise)."""
    check_types(body, CHAT_TYPES)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("Missing required parameter: 'messages'." if not messages else
                      "Invalid type for 'messages': expected an array.", "messages", "missing_required_parameter")
    for name in ("max_tokens", "max_completion_tokens"):
        check_int(body, name, 1)
        check_limit(entry, body.get(name), name)
    check_decimal(body, "temperature", 0, 2)
    check_decimal(body, "top_p", 0, 1)
    if body.get("n", 1) != 1:
        raise invalid("Invalid 'n': the local Bedrock service returns exactly one choice (n=1).", "n")
    stop = body.get("stop")
    if stop is not None and not (isinstance(stop, str) or (isinstance(stop, list) and len(stop) <= 4
                                                          and all(isinstance(x, str) for x in stop))):
        raise invalid("Invalid 'stop': expected a string or an array of at most 4 strings.", "stop")
    check_function_tools(body.get("tools"), flat=False)
    mcp.refuse_in_chat(body.get("tools"))
    try:
        return chat_call(body, entry)
    except ValueError as exc:
        raise invalid(f"Invalid 'messages': {exc}.", "messages") from None


# --------------------------------------------------------------------------------------------------
# Answer -> chat.completion / chat.completion.chunk

FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def chat_tool_calls(answer: Answer) -> list[dict] | None:
    """OpenAI ``tool_calls`` of an answer (``call_…`` ids), or None."""
    if not answer.tool_call:
        return None
    tc = answer.tool_call
    return [{"id": answer.tool_call_id("call_"), "type": "function",
             "function": {"name": tc["name"], "arguments": json.dumps(tc["input"])}}]


def chat_usage(answer: Answer) -> dict:
    """Chat Completions' ``usage``."""
    return {"prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.output_tokens,
            "total_tokens": answer.total_tokens, "prompt_tokens_details": {"cached_tokens": answer.cache.read},
            "completion_tokens_details": {"reasoning_tokens": answer.reasoning_tokens}}


def inline_reasoning(answer: Answer) -> str:
    """The gpt-oss InvokeModel body's reasoning, wrapped in ``<reasoning>…</reasoning>`` ("" without)."""
    return f"<reasoning>{answer.reasoning}</reasoning>" if answer.reasoning else ""


def new_completion_id() -> str:
    """A new ``chatcmpl-…`` id."""
    return "chatcmpl-" + uuid.uuid4().hex


def chat_completion(answer: Answer, model_name: str, completion_id: str | None = None, *,
                    reason_key: str = "finish_reason", inline: bool = False) -> dict:
    """A ``chat.completion`` object for an answer, created now (``completion_id``: a new ``chatcmpl-…``
    by default; ``reason_key``: Mistral spells ``finish_reason`` ``stop_reason``; ``inline``: the
    reasoning goes in the content as ``<reasoning>…</reasoning>``, as gpt-oss's InvokeModel body has
    it, rather than in ``message.reasoning``)."""
    text = (inline_reasoning(answer) if inline else "") + answer.text
    message = {"role": "assistant", "content": text if text or not answer.tool_call else None, "refusal": None,
               "tool_calls": chat_tool_calls(answer)}
    if answer.reasoning and not inline:
        message["reasoning"] = answer.reasoning
    return {
        "id": completion_id or new_completion_id(), "object": "chat.completion", "created": int(time.time()),
        "model": model_name,
        "choices": [{"index": 0, reason_key: FINISH_REASONS[answer.stop_reason], "logprobs": None,
                     "message": message}],
        "usage": chat_usage(answer), "system_fingerprint": None, "service_tier": "default",
    }


def chat_chunks(answer: Answer, model_name: str, completion_id: str | None = None, *,
                reason_key: str = "finish_reason", include_usage: bool = False, inline: bool = False) -> list[dict]:
    """The ``chat.completion.chunk`` objects streaming an answer (arguments as for
    :func:`chat_completion`; ``include_usage`` adds the final usage chunk)."""
    completion_id, created = completion_id or new_completion_id(), int(time.time())

    def chunk(delta: dict, reason: str | None = None) -> dict:
        return {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model_name,
                "system_fingerprint": None, "service_tier": "default",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, reason_key: reason}]}

    out = [chunk({"role": "assistant", "content": ""})]
    if inline and answer.reasoning:
        # Each streamed piece in its own tags, as Bedrock's gpt-oss streams showed them
        # ("<reasoning>…(skip</reasoning><reasoning> 4). Must be …</reasoning>", browseros-ai/BrowserOS#167;
        # recorded on the runtime's Chat Completions, INFERRED for InvokeModelWithResponseStream).
        out += [chunk({"content": f"<reasoning>{piece}</reasoning>"}) for piece in answer.reasoning_chunks()]
    elif answer.reasoning:
        out += [chunk({"reasoning": piece}) for piece in answer.reasoning_chunks()]
    out += [chunk({"content": piece}) for piece in answer.chunks()]
    if answer.tool_call:
        call = chat_tool_calls(answer)[0]
        out.append(chunk({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                          "function": {"name": call["function"]["name"], "arguments": ""}}]}))
        out += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
                for fragment in answer.tool_input_fragments()]
    out.append(chunk({}, FINISH_REASONS[answer.stop_reason]))
    if include_usage:
        out.append({**chunk({}), "choices": [], "usage": chat_usage(answer)})
    return out


def sse_events(chunks: Iterable[dict]) -> Iterator[bytes]:
    """Chat's server-sent events: one ``data:`` line per chunk, then ``data: [DONE]``."""
    for chunk in chunks:
        yield b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"
