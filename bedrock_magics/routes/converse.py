"""Converse and ConverseStream on the runtime, through boto3's ``bedrock-runtime`` client.

The conversation already is in Converse's shape, so the request is nearly a pass-through;
the stream is read through botocore's event-stream parser (``response["stream"]``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from ..reply import Reply, Thinking
from ..request import Request
from . import _common as c
from . import _features as f
from ._common import Decoded

API = "converse"
# What this route serves, read by routes/__init__ into the one route table.
LABEL = "Converse"
CLIENT = "bedrock-runtime"  # the auth.Clients kind it takes
ENDPOINTS = ("runtime",)
DEFAULT_ON = ("runtime",)  # the endpoints' API unless one is chosen
SERVER_STATE: tuple[str, ...] = ()  # endpoints that keep the conversation server-side
BATCH_TYPE = "Converse"  # CreateModelInvocationJob's modelInvocationType for records in this body
CAPABILITIES = frozenset({"stream", "tools", "count_tokens"})


def converse_kwargs(request: Request) -> dict[str, Any]:
    """boto3 ``converse``/``converse_stream`` keyword arguments for ``request``."""
    kwargs: dict[str, Any] = {
        "modelId": request.model,
        "messages": [{"role": m["role"], "content": list(m["content"])} for m in request.messages],
    }
    if request.system:
        kwargs["system"] = [{"text": request.system}]
    config = {k: v for k, v in (("maxTokens", request.max_tokens), ("temperature", request.temperature),
                                ("topP", request.top_p)) if v is not None}
    if request.stop:
        config["stopSequences"] = list(request.stop)
    if config:
        kwargs["inferenceConfig"] = config
    if request.tools:
        kwargs["toolConfig"] = {"tools": [
            {"toolSpec": {"name": t.name, **({"description": t.description} if t.description else {}),
                          "inputSchema": {"json": t.parameters}}} for t in request.tools]}
    # Route-specific wire fields (e.g. additionalModelRequestFields, guardrailConfig).
    kwargs.update(request.extra.get("body") or {})
    f.converse_fields(request, kwargs)  # --schema, --reasoning, --prompt-cache
    return kwargs


def _usage(u: dict[str, Any] | None) -> dict[str, int]:
    u = u or {}
    return c.usage(u.get("inputTokens"), u.get("outputTokens"), u.get("totalTokens"), f.converse_usage(u))


def _parse_message(message: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    text = "".join(b.get("text", "") for b in message.get("content") or ())
    calls = [{"id": b["toolUse"]["toolUseId"], "name": b["toolUse"]["name"], "input": b["toolUse"].get("input") or {}}
             for b in message.get("content") or () if "toolUse" in b]
    return text, calls


def send(client: Any, request: Request) -> Reply:
    """One Converse call."""
    clock = c.Clock()
    response = client.converse(**converse_kwargs(request))
    latency = clock.ms
    meta = response.pop("ResponseMetadata", {}) or {}
    message = (response.get("output") or {}).get("message") or {"role": "assistant", "content": []}
    text, calls = f.schema_tool_text(request, *_parse_message(message))
    out = c.reply(request, API, text=text, usage_=_usage(response.get("usage")), stop_raw=response.get("stopReason"),
                  raw=response, latency_ms=latency, request_id=meta.get("RequestId"), tool_calls=calls,
                  reasoning=f.converse_reasoning(message))
    out.message = message  # the model's own turn, exactly as Converse returned it
    return out


def stream(client: Any, request: Request) -> Iterator[str | Reply]:
    """ConverseStream: text deltas as they arrive, then the final Reply (``streamed=True``)."""
    clock = c.Clock()
    response = client.converse_stream(**converse_kwargs(request))
    request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
    blocks: dict[int, dict[str, Any]] = {}  # contentBlockIndex -> {"text"} | {"toolUse", "json"}
    state: dict[str, Any] = {}
    with c.stream_errors(request_id, client):
        for delta in _read(response["stream"], blocks, state):
            yield delta
    stop_reason, usage, metrics = state.get("stop"), state.get("usage"), state.get("metrics")
    if stop_reason is None and usage is None:
        raise c.incomplete_stream("The ConverseStream response", request_id)
    content = []
    for index in sorted(blocks):
        block = blocks[index]
        if "reasoning" in block:
            content.append({"reasoningContent": {"reasoningText": {"text": block["reasoning"],
                                                                   "signature": block.get("signature", "")}}})
        elif "toolUse" in block:
            tool = block["toolUse"]
            content.append({"toolUse": {"toolUseId": tool.get("toolUseId", ""), "name": tool.get("name", ""),
                                        "input": c.parse_arguments(block["json"])}})
        else:
            content.append({"text": block.get("text", "")})
    message = {"role": "assistant", "content": content}
    raw = {"output": {"message": message}, "stopReason": stop_reason, "usage": usage, "metrics": metrics}
    if state.get("extra"):
        raw["additionalModelResponseFields"] = state["extra"]
    text, calls = f.schema_tool_text(request, *_parse_message(message))
    out = c.reply(request, API, text=text, usage_=_usage(usage), stop_raw=stop_reason, raw=raw,
                  latency_ms=clock.ms, request_id=request_id, tool_calls=calls, streamed=True,
                  reasoning=f.converse_reasoning(message))
    out.message = message if content else out.message
    yield out


def _read(events: Any, blocks: dict[int, dict[str, Any]], state: dict[str, Any]) -> Iterator[str | Thinking]:
    """Fold ConverseStream events into ``blocks`` (by contentBlockIndex) and ``state``; yield text deltas."""
    for event in events:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tool = (start.get("start") or {}).get("toolUse")
            if tool:
                blocks[start.get("contentBlockIndex", len(blocks))] = {"toolUse": dict(tool), "json": ""}
        elif "contentBlockDelta" in event:
            delta_event = event["contentBlockDelta"]
            index, delta = delta_event.get("contentBlockIndex", 0), delta_event.get("delta") or {}
            if "text" in delta:
                block = blocks.setdefault(index, {"text": ""})
                block["text"] = block.get("text", "") + delta["text"]
                if delta["text"]:
                    yield delta["text"]
            elif "toolUse" in delta:
                block = blocks.setdefault(index, {"toolUse": {}, "json": ""})
                block["json"] += (delta["toolUse"] or {}).get("input") or ""
            elif "reasoningContent" in delta:
                # Thinking arrives before the answer; it is kept (and shown dimmed), not yielded as text.
                block = blocks.setdefault(index, {"reasoning": ""})
                piece = delta["reasoningContent"]
                block["reasoning"] += piece.get("text") or ""
                if piece.get("signature"):
                    block["signature"] = piece["signature"]
                if piece.get("text"):
                    yield Thinking(piece["text"])
        elif "messageStop" in event:
            state["stop"] = event["messageStop"].get("stopReason")
            state["extra"] = event["messageStop"].get("additionalModelResponseFields")
        elif "metadata" in event:
            state["usage"], state["metrics"] = event["metadata"].get("usage"), event["metadata"].get("metrics")


def count_tokens_input(request: Request) -> dict[str, Any]:
    """CountTokens' ``input.converse``: the Converse request the call would send, minus what
    CountTokens does not take (model id, inference settings) — so tool schemas and a conversation's
    history are counted exactly as they will be billed."""
    body = converse_kwargs(request)
    return {key: body[key] for key in ("messages", "system", "toolConfig", "additionalModelRequestFields")
            if key in body}


# -- batch inference job records (CreateModelInvocationJob with modelInvocationType "Converse") --------


def record_encoder(first: Request, family: str | None = None,
                   notes: list[str] | None = None) -> Callable[[Request], dict[str, Any]]:
    """``request -> modelInput`` of a batch job record: the Converse request minus the model id (the
    job names the model). ``first``, ``family`` and ``notes`` matter only to InvokeModel bodies."""
    def converse_body(request: Request) -> dict[str, Any]:
        body = converse_kwargs(request)
        del body["modelId"]
        return body

    return converse_body


def record_decoder(model: str, family: str | None = None) -> Callable[[dict[str, Any]], Decoded]:
    """``modelOutput -> Decoded`` of a batch job record (a Converse response)."""
    def converse_output(output: dict[str, Any]) -> Decoded:
        usage = output.get("usage") or {}
        message = (output.get("output") or {}).get("message") or {}
        return Decoded(text=c.text_of(message), stop=output.get("stopReason"),
                       input_tokens=usage.get("inputTokens"), output_tokens=usage.get("outputTokens"))

    return converse_output
