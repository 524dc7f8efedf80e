"""The Anthropic Claude Messages body of InvokeModel (``anthropic_version: bedrock-2023-05-31``):
the conversation with its images, tools and ``--schema``, the response body and its stream
(``message_start`` … ``content_block_delta`` (``thinking_delta``, ``signature_delta``, ``text_delta``,
``input_json_delta``) … ``message_stop``).

With ``--reasoning`` the response opens with ``thinking`` (text and signature) or ``redacted_thinking``
(``data``) blocks. They are kept in the history as Converse ``reasoningContent`` blocks and sent back
as they came, because Claude wants them on a tool-use follow-up ("When `thinking` is enabled, a final
`assistant` message must start with a thinking block", as Bedrock relays it, vercel/ai#4980) and checks
their signatures ("Invalid signature in thinking block", openclaw/openclaw#88020). Claude's usage does
not count its thinking apart from the output, so there are no reasoning tokens here.

AWS: model-parameters-anthropic-claude-messages-request-response.html (the body, base64 images),
structured-output.html (``output_config.format`` for Claude on InvokeModel),
claude-messages-extended-thinking.html (thinking blocks).
"""

from __future__ import annotations

from typing import Any

from ..reply import Thinking
from ..request import Request
from . import _common as c
from ._codec import DEFAULT_MAX_TOKENS, Codec, Piece, StreamState, _settings, base64_text
from ._common import Decoded
from ._features import converse_reasoning, forced_tool


class Anthropic(Codec):
    family = "anthropic"

    def encode(self, request: Request) -> dict[str, Any]:
        messages = []
        for m in request.messages:
            content = []
            for b in m.get("content") or ():
                if "text" in b:
                    content.append({"type": "text", "text": b["text"]})
                elif "reasoningContent" in b:
                    content += _thinking_block(b["reasoningContent"])
                elif "image" in b:
                    content.append(_anthropic_image(b["image"]))
                elif "document" in b or "video" in b:  # e.g. from a chat begun on Converse: never dropped
                    raise ValueError(f"the Claude InvokeModel body takes no {'document' if 'document' in b else 'video'}"
                                     f" blocks; use --api converse for {request.model}")
                elif "toolUse" in b:
                    t = b["toolUse"]
                    content.append({"type": "tool_use", "id": t["toolUseId"], "name": t["name"],
                                    "input": t.get("input") or {}})
                elif "toolResult" in b:
                    r = b["toolResult"]
                    part = {"type": "tool_result", "tool_use_id": r["toolUseId"],
                            "content": [{"type": "text", "text": c.tool_result_text(r)}]}
                    if r.get("status") == "error":
                        part["is_error"] = True
                    content.append(part)
            messages.append({"role": m["role"], "content": content})
        body: dict[str, Any] = {"anthropic_version": "bedrock-2023-05-31",
                                "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS, "messages": messages}
        if request.system:
            body["system"] = request.system
        body.update(_settings(request, {"temperature": "temperature", "top_p": "top_p", "stop": "stop_sequences"}))
        if request.tools:
            body["tools"] = [{"name": t.name, **({"description": t.description} if t.description else {}),
                              "input_schema": t.parameters} for t in request.tools]
        _anthropic_schema(request, body)
        return body

    def decode(self, body: dict[str, Any]) -> Decoded:
        text = "".join(p.get("text", "") for p in body.get("content") or () if p.get("type") == "text")
        calls = [{"id": p.get("id", ""), "name": p.get("name", ""), "input": p.get("input") or {}}
                 for p in body.get("content") or () if p.get("type") == "tool_use"]
        u = body.get("usage") or {}
        blocks = [b for p in body.get("content") or () for b in _reasoning_block(p)]
        return Decoded(text, calls, body.get("stop_reason"), u.get("input_tokens"), u.get("output_tokens"), body.get("id"),
                       reasoning=converse_reasoning({"content": blocks}) or "", reasoning_blocks=blocks)

    def stream(self) -> StreamState:
        return _AnthropicStream()


def _reasoning_block(part: dict[str, Any]) -> list[dict[str, Any]]:
    """A response's ``thinking`` / ``redacted_thinking`` block as a Converse ``reasoningContent`` block
    (``[]`` for other blocks): ``reasoningText {text, signature}`` or ``redactedContent``."""
    if part.get("type") == "thinking":
        return [{"reasoningContent": {"reasoningText": {"text": part.get("thinking") or "",
                                                        "signature": part.get("signature") or ""}}}]
    if part.get("type") == "redacted_thinking":
        return [{"reasoningContent": {"redactedContent": part.get("data") or ""}}]
    return []


def _thinking_block(reasoning: dict[str, Any]) -> list[dict[str, Any]]:
    """A Converse ``reasoningContent`` block as the Messages API's thinking block (the inverse of
    ``_reasoning_block``); ``[]`` for an unsigned one, which Claude would refuse (another model's reasoning)."""
    if "redactedContent" in reasoning:
        return [{"type": "redacted_thinking", "data": _redacted_text(reasoning["redactedContent"])}]
    text = reasoning.get("reasoningText") or {}
    if not text.get("signature"):
        return []
    return [{"type": "thinking", "thinking": text.get("text") or "", "signature": text["signature"]}]


def _redacted_text(data: Any) -> str:
    """Redacted thinking as the Messages API's ``data`` string. Converse gives it as a blob (bytes);
    how Bedrock maps the two is not documented: the bytes are taken as the string's UTF-8, else as
    raw bytes to base64 (INFERRED)."""
    if not isinstance(data, (bytes, bytearray)):
        return str(data)
    try:
        return bytes(data).decode()
    except UnicodeDecodeError:
        return base64_text(data)


def _anthropic_image(image: dict[str, Any]) -> dict[str, Any]:
    """A Converse image block as the Messages API's base64 image (model-parameters-anthropic-claude-
    messages-request-response.html: ``{"type": "image", "source": {"type": "base64", "media_type", "data"}}``)."""
    return {"type": "image", "source": {"type": "base64", "media_type": f"image/{image['format']}",
                                        "data": base64_text(image["source"]["bytes"])}}


def _anthropic_schema(request: Request, body: dict[str, Any]) -> None:
    """``--schema`` in a Claude body: ``output_config.format`` (AWS, structured-output.html: "For
    InvokeModel API with Anthropic Claude models, use the output_config.format request field"), or,
    for models without structured output, a forced tool whose input is the answer."""
    schema = request.schema
    if schema is None:
        return
    if not forced_tool(request):
        body["output_config"] = {"format": {"type": "json_schema", "schema": schema.json_schema}}
        return
    body["tools"] = [*body.get("tools", ()), {"name": schema.name, "description": "Give the answer in this tool's input.",
                                              "input_schema": schema.json_schema}]
    body["tool_choice"] = {"type": "tool", "name": schema.name}


class _AnthropicStream(StreamState):
    def __init__(self) -> None:
        super().__init__()
        self.tools: dict[int, dict[str, Any]] = {}
        self.thinking: dict[int, dict[str, Any]] = {}  # index -> the thinking block as it grows

    def _feed(self, chunk: dict[str, Any]) -> Piece:
        kind, d = chunk.get("type"), self.decoded
        if kind == "message_start":
            message = chunk.get("message") or {}
            d.response_id = message.get("id")
            u = message.get("usage") or {}
            d.input_tokens = u.get("input_tokens", d.input_tokens)
            d.output_tokens = u.get("output_tokens") or d.output_tokens
        elif kind == "content_block_start":
            block = chunk.get("content_block") or {}
            if block.get("type") == "tool_use":
                self.tools[chunk.get("index", 0)] = {"id": block.get("id", ""), "name": block.get("name", ""), "json": ""}
            elif block.get("type") in ("thinking", "redacted_thinking"):
                self.thinking[chunk.get("index", 0)] = dict(block)
                return Thinking(block.get("thinking") or "")
            elif block.get("text"):
                return block["text"]
        elif kind == "content_block_delta":
            delta = chunk.get("delta") or {}
            if delta.get("type") == "text_delta":
                return delta.get("text", "")
            if delta.get("type") in ("thinking_delta", "signature_delta"):
                block = self.thinking.setdefault(chunk.get("index", 0), {"type": "thinking", "thinking": ""})
                if delta["type"] == "signature_delta":
                    block["signature"] = delta.get("signature", "")
                    return None
                block["thinking"] = (block.get("thinking") or "") + (delta.get("thinking") or "")
                return Thinking(delta.get("thinking") or "")
            if delta.get("type") == "input_json_delta":
                self.tools.setdefault(chunk.get("index", 0), {"id": "", "name": "", "json": ""})["json"] += \
                    delta.get("partial_json", "")
        elif kind == "message_delta":
            d.stop = (chunk.get("delta") or {}).get("stop_reason", d.stop)
            u = chunk.get("usage") or {}
            if u.get("output_tokens") is not None:
                d.output_tokens = u["output_tokens"]
            if u.get("input_tokens") is not None:
                d.input_tokens = u["input_tokens"]
        return ""

    def result(self) -> Decoded:
        self.decoded.tool_calls = [{"id": t["id"], "name": t["name"], "input": c.parse_arguments(t["json"])}
                                   for _, t in sorted(self.tools.items())]
        self.decoded.reasoning_blocks = [b for _, block in sorted(self.thinking.items()) for b in _reasoning_block(block)]
        return super().result()
