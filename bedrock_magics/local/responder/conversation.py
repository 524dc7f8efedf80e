"""The normalized conversation the responder reads: tools, message parts, and their token counts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .. import tokens
from . import media

#: Tokens added for every message, whatever its content (role and framing).
PER_MESSAGE_TOKENS = 3


@dataclass(frozen=True)
class Tool:
    """A tool the caller offers: name, description and JSON Schema of its input."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def canonical(self) -> str:
        """The tool as canonical JSON: what its input tokens are counted on."""
        doc = {"name": self.name, "parameters": dict(self.parameters or {})}
        if self.description:
            doc["description"] = self.description
        return json.dumps(doc, sort_keys=True)


def as_tool(spec: Any) -> Tool:
    """A :class:`Tool` from a Converse ``{"toolSpec": …}``, its inner dict, a ``bedrock_magics``
    ``ToolSpec`` or a ``{"name", "description", "parameters"}`` dict."""
    if isinstance(spec, Tool):
        return spec
    if not isinstance(spec, Mapping):  # request.ToolSpec and look-alikes
        return Tool(spec.name, spec.description or "", spec.parameters or {"type": "object", "properties": {}})
    spec = spec.get("toolSpec", spec)
    params = spec.get("parameters")
    if params is None:
        params = (spec.get("inputSchema") or {}).get("json")
    return Tool(spec["name"], spec.get("description") or "", params or {"type": "object", "properties": {}})


def system_text(system: str | Sequence[Mapping[str, Any]] | None) -> str:
    """System prompt text from a string or Converse ``system`` blocks (text blocks, newline-joined)."""
    if system is None:
        return ""
    if isinstance(system, str):
        return system
    return "\n".join(b["text"] for b in system if isinstance(b, Mapping) and isinstance(b.get("text"), str))


def result_text(result: Mapping[str, Any]) -> str:
    """The text of a Converse ``toolResult``: text blocks space-joined, JSON blocks as JSON."""
    parts = []
    for block in result.get("content") or []:
        if not isinstance(block, Mapping):
            continue
        if isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif "json" in block:
            parts.append(json.dumps(block["json"], sort_keys=True))
    return " ".join(parts)


def message_parts(message: Mapping[str, Any]) -> list[tuple]:
    """A message's blocks the responder reads, in order:

    ``("text", t)``, ``("use", id, name, input)``, ``("result", id, text)``, ``("image", tokens,
    fingerprint)``, ``("document", media.Document)``, ``("video", tokens, fingerprint)``,
    ``("cache", ttl)``.
    """
    parts: list[tuple] = []
    content = message.get("content")
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, Mapping):
            continue  # the API in front of the responder reports malformed blocks; here they say nothing
        if isinstance(block.get("text"), str):
            parts.append(("text", block["text"]))
        elif isinstance(block.get("toolUse"), Mapping):
            use = block["toolUse"]
            parts.append(("use", use.get("toolUseId"), use.get("name", ""), use.get("input")))
        elif isinstance(block.get("toolResult"), Mapping):
            res = block["toolResult"]
            parts.append(("result", res.get("toolUseId"), result_text(res)))
        elif isinstance(block.get("image"), Mapping):
            data = media.source_bytes(block["image"].get("source"))
            parts.append(("image", media.image_tokens(data), media.fingerprint(data)))
        elif isinstance(block.get("document"), Mapping):
            parts.append(("document", media.document(block["document"])))
        elif isinstance(block.get("video"), Mapping):
            data = media.source_bytes(block["video"].get("source"))
            parts.append(("video", media.video_tokens(data), media.fingerprint(data)))
        elif isinstance(block.get("citationsContent"), Mapping):  # an earlier cited answer: its text
            parts += [("text", c["text"]) for c in block["citationsContent"].get("content") or []
                      if isinstance(c, Mapping) and isinstance(c.get("text"), str)]
        elif isinstance(block.get("cachePoint"), Mapping):
            parts.append(("cache", block["cachePoint"].get("ttl") or "5m"))
    return parts


def part_tokens(part: tuple, family: str) -> int:
    """The input tokens of one message part."""
    kind = part[0]
    if kind == "text":
        return tokens.count(part[1], family)
    if kind == "use":
        return tokens.count(part[2], family) + tokens.count(json.dumps(part[3], sort_keys=True), family)
    if kind == "result":
        return tokens.count(part[2], family)
    if kind == "document":
        return part[1].tokens(family)
    if kind in ("image", "video"):
        return part[1]
    return 0  # a cache point costs nothing


def message_tokens(parts: list[tuple], family: str) -> int:
    """The input tokens of one message: the per-message framing plus its parts."""
    return PER_MESSAGE_TOKENS + sum(part_tokens(p, family) for p in parts)


def tool_tokens(tool: Tool, family: str) -> int:
    """The input tokens of one offered tool (its canonical JSON)."""
    return tokens.count(tool.canonical(), family)


def count_input(messages: Sequence[Mapping[str, Any]], system: Any = None, tools: Iterable[Any] = (),
                family: str = "words") -> int:
    """``input_tokens`` of a conversation (what CountTokens returns), counted with ``family``'s rule."""
    total = tokens.count(system_text(system), family)
    total += sum(message_tokens(message_parts(m), family) for m in messages)
    total += sum(tool_tokens(as_tool(t), family) for t in tools)
    return total


def last_user(messages: Sequence[Mapping[str, Any]]) -> list[tuple]:
    """The parts of the last user message."""
    for m in reversed(messages):
        if m.get("role") == "user":
            return message_parts(m)
    return []


def documents(messages: Sequence[Mapping[str, Any]]) -> list[media.Document]:
    """Every document of the conversation, in order (their ``documentIndex``)."""
    return [p[1] for m in messages for p in message_parts(m) if p[0] == "document"]
