"""OpenAI Chat Completions on the runtime (``/openai/v1``) and on mantle (``/v1``), via the openai SDK.

``client`` is the ``openai.OpenAI`` client from ``auth.Clients.get(region, endpoint, "openai")``
(the SDK's Bedrock provider signs or sends the API key). Tool results in the conversation become
``role: "tool"`` messages; the stream asks for usage in its last chunk (``include_usage``).
"""

from __future__ import annotations

from contextlib import closing
from typing import Any, Iterator

from ..reply import Reply, Thinking
from ..request import Request
from . import _common as c
from . import _features as f

API = "chat"
# What this route serves, read by routes/__init__ into the one route table.
LABEL = "Chat Completions"
CLIENT = "openai"
ENDPOINTS = ("runtime", "mantle")
DEFAULT_ON: tuple[str, ...] = ()
SERVER_STATE: tuple[str, ...] = ()
BATCH_TYPE = None
CAPABILITIES = frozenset({"stream", "tools"})


def chat_params(request: Request) -> dict[str, Any]:
    """Keyword arguments of ``client.chat.completions.create`` for ``request``."""
    params: dict[str, Any] = {"model": request.model, "messages": c.openai_chat_messages(request),
                              **c.openai_settings(request, "max_completion_tokens")}
    if request.stop:
        params["stop"] = list(request.stop)
    if request.tools:
        params["tools"] = c.openai_chat_tools(request)
    parts = f.openai_parts(request.messages[-1].get("content"), API)
    if parts and params["messages"][-1]["role"] == "user":  # the last user turn's attachments
        params["messages"][-1]["content"] = parts
    f.chat_fields(request, params)
    return params


def _usage(u: dict[str, Any] | None) -> dict[str, int]:
    u = u or {}
    return f.uncached(c.usage(u.get("prompt_tokens"), u.get("completion_tokens"), u.get("total_tokens"),
                              f.openai_usage(u, "prompt_tokens", "completion_tokens")))


def send(client: Any, request: Request) -> Reply:
    """One Chat Completions call."""
    clock = c.Clock()
    completion = client.chat.completions.create(**chat_params(request))
    latency = clock.ms
    raw = c.dump(completion)
    choice = (raw.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    inline, answer = c.split_reasoning(message.get("content") or "")  # gpt-oss's <reasoning>…</reasoning>
    return c.reply(request, API, text=answer, usage_=_usage(raw.get("usage")),
                   stop_raw=choice.get("finish_reason"), raw=raw, latency_ms=latency,
                   request_id=getattr(completion, "_request_id", None), response_id=raw.get("id"),
                   tool_calls=c.chat_completion_calls(message),
                   reasoning=message.get("reasoning") or message.get("reasoning_content") or inline)


def stream(client: Any, request: Request) -> Iterator[str | Reply]:
    """Streamed Chat Completions: content deltas, then the final Reply (``streamed=True``)."""
    clock = c.Clock()
    chunks = client.chat.completions.create(**chat_params(request), stream=True,
                                            stream_options={"include_usage": True})
    request_id = c.stream_request_id(chunks)
    text, finish, usage, completion_id, model, reasoning = "", None, None, None, None, ""
    tools: dict[int, dict[str, Any]] = {}
    inline = f.InlineReasoning()  # gpt-oss's <reasoning>…</reasoning> inside the content deltas
    with c.stream_errors(request_id, client), closing(chunks):
        for chunk in chunks:
            completion_id, model = chunk.id or completion_id, chunk.model or model
            if chunk.usage is not None:
                usage = c.dump(chunk.usage)
            for choice in chunk.choices or ():
                delta = choice.delta
                extra = (getattr(delta, "model_extra", None) or {}) if delta is not None else {}
                if extra.get("reasoning") or extra.get("reasoning_content"):
                    piece = extra.get("reasoning") or extra.get("reasoning_content")
                    reasoning += piece
                    yield Thinking(piece)
                if delta is not None and delta.content:
                    text += delta.content
                    for piece in inline.feed(delta.content):
                        reasoning += piece.text if isinstance(piece, Thinking) else ""
                        yield piece
                for i, call in enumerate((delta.tool_calls if delta is not None else None) or ()):
                    tool = tools.setdefault(call.index if call.index is not None else i,
                                            {"id": "", "name": "", "arguments": ""})
                    tool["id"] = call.id or tool["id"]
                    if call.function is not None:
                        tool["name"] = call.function.name or tool["name"]
                        tool["arguments"] += call.function.arguments or ""
                if choice.finish_reason:
                    finish = choice.finish_reason
        for piece in inline.finish():
            reasoning += piece.text if isinstance(piece, Thinking) else ""
            yield piece
    if finish is None:
        raise c.incomplete_stream("The Chat Completions stream", request_id)
    calls = [{"id": t["id"], "name": t["name"], "input": c.parse_arguments(t["arguments"])}
             for _, t in sorted(tools.items())]
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if calls:
        message["tool_calls"] = [{"id": t["id"], "type": "function",
                                  "function": {"name": t["name"], "arguments": t["arguments"]}}
                                 for _, t in sorted(tools.items())]
    raw = {"id": completion_id, "object": "chat.completion", "model": model,
           "choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage}
    yield c.reply(request, API, text=c.strip_reasoning(text), usage_=_usage(usage), stop_raw=finish, raw=raw,
                  latency_ms=clock.ms, request_id=request_id, response_id=completion_id, tool_calls=calls,
                  streamed=True, reasoning=reasoning)
