"""Bedrock runtime's native APIs on the local service: Converse, ConverseStream, InvokeModel,
InvokeModelWithResponseStream and CountTokens.

Every request becomes a :class:`Call` (the normalized conversation of
:mod:`bedrock_magics.local.responder` plus settings), the responder answers it, and the answer is
written back in the wire shape of the API: Converse's ``ConverseResponse``, the event-stream events of
ConverseStream, or one model family's native JSON body for InvokeModel (see ``FAMILIES``). Validation
errors use the texts real Bedrock sends: Converse checks in the service's own words, InvokeModel
bodies in the JSON-schema style ``Malformed input request: #: required key [max_tokens] not found,
please reformat your input and try again.``
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterator, Mapping

from . import eventstream, responder, tokens
from .http import RUNTIME, AwsError, Request, Response, Router, json_response, request_id
from .responder import Answer, Tool

# --------------------------------------------------------------------------------------------------
# Per-model limits and common errors

#: Largest ``maxTokens`` a family accepts when the catalog entry names none (``maxOutputTokens``).
MAX_OUTPUT_TOKENS = {
    "anthropic": 64000, "nova": 10000, "titan-text": 8192, "llama": 2048, "mistral": 8192,
    "mistral-chat": 8192, "cohere-command": 4000, "gpt-oss": 32768,
}
NOT_CONVERSE = "This action doesn't support the model that you provided. Try again with a supported text or chat model."
NOT_STREAMING = "The model is unsupported for streaming."
NO_COUNT_TOKENS = "The provided model doesn't support counting tokens."
NOT_FIRST_USER = ("A conversation must start with a user message. Try again with a conversation that starts "
                  "with a user message.")
NOT_ALTERNATING = ("A conversation must alternate between user and assistant roles. Make sure the conversation "
                   "alternates between user and assistant roles and try again.")
NO_TOOL_CONFIG = "The toolConfig field must be defined when using toolUse and toolResult content blocks."


def max_output_tokens(model: Mapping[str, Any]) -> int:
    """The output-token limit of a catalog entry."""
    return int(model.get("maxOutputTokens") or MAX_OUTPUT_TOKENS.get(model.get("family", ""), 4096))


def too_many_tokens(limit: int) -> AwsError:
    return AwsError("ValidationException", f"The maximum tokens you requested exceeds the model limit of {limit}. "
                                           f"Try again with a maximum tokens value that is lower than {limit}.")


def malformed(*violations: str) -> AwsError:
    """InvokeModel's body error: ``Malformed input request: <violations>, please reformat …``."""
    return AwsError("ValidationException",
                    f"Malformed input request: {''.join(violations)}, please reformat your input and try again.")


def _num(value: Any) -> str:
    """A number as Java prints it in Bedrock's messages (1.0 → 1)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else json.dumps(value)


# --------------------------------------------------------------------------------------------------
# The normalized call


@dataclass
class Call:
    """One inference request, normalized: what the responder needs plus a few wire details."""

    model: dict  # the catalog entry of the foundation model
    messages: list[dict] = field(default_factory=list)  # Converse-shaped
    system: str = ""
    tools: list[Tool] = field(default_factory=list)
    tool_choice: str = "auto"
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # family-specific (embedding options, echoed fields…)

    @property
    def model_id(self) -> str:
        return self.model["modelId"]

    @cached_property
    def answer(self) -> Answer:
        """The responder's answer (computed once)."""
        return responder.respond(self.model_id, self.messages, self.system, self.max_tokens, self.stop,
                                 self.tools, self.tool_choice)

    @property
    def input_tokens(self) -> int:
        return responder.count_input(self.messages, self.system, self.tools)

    def check_max_tokens(self) -> None:
        limit = max_output_tokens(self.model)
        if self.max_tokens is not None and self.max_tokens > limit:
            raise too_many_tokens(limit)


def _padding(i: int) -> str:
    """The ``p`` padding field real streams carry (botocore ignores it)."""
    return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[: 4 + (i * 7) % 40]


def _elapsed_ms(start: float) -> int:
    return max(1, int((time.monotonic() - start) * 1000))


def _received(req: Request) -> float:
    """When the request arrived (``time.monotonic``), so that injected latency shows in ``latencyMs``."""
    return req.received_at


# --------------------------------------------------------------------------------------------------
# Converse request validation (errors in the service's own words)


class _Violations:
    """Collects constraint failures and raises them as Bedrock's "N validation errors detected"."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, value: Any, path: str, constraint: str) -> None:
        shown = " null" if value is None else f" '{_num(value) if isinstance(value, (int, float)) else value}'"
        self.items.append(f"Value{shown} at '{path}' failed to satisfy constraint: Member must {constraint}")

    def raise_any(self) -> None:
        if self.items:
            n = len(self.items)
            raise AwsError("ValidationException",
                           f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(self.items))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_range(errors: _Violations, value: Any, path: str, low: float | None, high: float | None) -> None:
    if value is None:
        return
    if not _is_number(value):
        errors.add(value, path, "be a number")
        return
    if low is not None and value < low:
        errors.add(value, path, f"have value greater than or equal to {_num(low)}")
    if high is not None and value > high:
        errors.add(value, path, f"have value less than or equal to {_num(high)}")


_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_CONTENT_MEMBERS = ("text", "image", "document", "video", "audio", "toolUse", "toolResult", "guardContent",
                    "cachePoint", "reasoningContent", "citationsContent", "searchResult", "toolAddition",
                    "toolRemoval")


def converse_call(body: Any, model: dict, *, for_count: bool = False) -> Call:
    """Validate a Converse (or ConverseStream, or CountTokens ``converse``) body and normalize it."""
    if not isinstance(body, dict):
        raise AwsError("ValidationException", "1 validation error detected: Value at 'body' failed to satisfy "
                                              "constraint: Member must be a structure")
    errors = _Violations()
    messages = body.get("messages")
    if messages is not None and not isinstance(messages, list):
        errors.add(None, "messages", "be a list")
        errors.raise_any()
    messages = messages or []

    system_parts: list[str] = []
    system = body.get("system") or []
    if not isinstance(system, list):
        errors.add(None, "system", "be a list")
    else:
        for i, block in enumerate(system):
            if isinstance(block, dict) and "text" in block:
                if not isinstance(block["text"], str) or not block["text"].strip():
                    raise AwsError("ValidationException", f"The text field in the SystemContentBlock object at "
                                                          f"system.{i} is blank. Add text to the text field, and try again.")
                system_parts.append(block["text"])

    conversation: list[dict] = []
    uses_tools = False
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            errors.add(None, f"messages.{i + 1}.member", "be a structure")
            continue
        role = message.get("role")
        if role not in ("user", "assistant", "system"):
            errors.add(role, f"messages.{i + 1}.member.role", "satisfy enum value set: [user, assistant, system]")
            continue
        content = message.get("content")
        if not isinstance(content, list):
            errors.add(None, f"messages.{i + 1}.member.content", "not be null")
            continue
        for j, block in enumerate(content):
            members = [k for k in block if k in _CONTENT_MEMBERS] if isinstance(block, dict) else []
            if len(members) != 1 or len(block) != 1:
                errors.add(None, f"messages.{i + 1}.member.content.{j + 1}.member",
                           "have exactly one of its union members set")
            elif "toolUse" in block or "toolResult" in block:
                uses_tools = True
        if role == "system":  # botocore 1.44 allows system-role messages: they extend the system prompt
            system_parts.extend(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
            continue
        conversation.append(message)

    config = body.get("inferenceConfig") or {}
    if not isinstance(config, dict):
        errors.add(None, "inferenceConfig", "be a structure")
        config = {}
    max_tokens = config.get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool)):
        errors.add(max_tokens, "inferenceConfig.maxTokens", "be an integer")
    else:
        _check_range(errors, max_tokens, "inferenceConfig.maxTokens", 1, None)
    _check_range(errors, config.get("temperature"), "inferenceConfig.temperature", 0, 1)
    _check_range(errors, config.get("topP"), "inferenceConfig.topP", 0, 1)
    stop = config.get("stopSequences") or []
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        errors.add(None, "inferenceConfig.stopSequences", "be a list of strings")
        stop = []
    elif len(stop) > 2500:
        errors.add(None, "inferenceConfig.stopSequences", "have length less than or equal to 2500")

    tools, choice = _converse_tools(body.get("toolConfig"), errors)
    errors.raise_any()

    # Conversation-level rules, checked after the shapes (as Bedrock does).
    if not for_count or conversation:
        if not conversation or conversation[0]["role"] != "user":
            raise AwsError("ValidationException", NOT_FIRST_USER)
        for a, b in zip(conversation, conversation[1:]):
            if a["role"] == b["role"]:
                raise AwsError("ValidationException", NOT_ALTERNATING)
    for i, message in enumerate(conversation):
        if not message["content"]:
            raise AwsError("ValidationException", f"The content field in the Message object at messages.{i} is "
                                                  f"empty. Add a ContentBlock object to the content field and try again.")
        for j, block in enumerate(message["content"]):
            if "text" in block and (not isinstance(block["text"], str) or not block["text"].strip()):
                raise AwsError("ValidationException", f"The text field in the ContentBlock object at "
                                                      f"messages.{i}.content.{j} is blank. Add text to the text field, "
                                                      f"and try again.")
    if uses_tools and body.get("toolConfig") is None:
        raise AwsError("ValidationException", NO_TOOL_CONFIG)

    call = Call(model, conversation, "\n".join(system_parts), tools, choice, max_tokens, list(stop))
    call.check_max_tokens()
    return call


def _converse_tools(config: Any, errors: _Violations) -> tuple[list[Tool], str]:
    if config is None:
        return [], "auto"
    if not isinstance(config, dict) or not isinstance(config.get("tools"), list) or not config["tools"]:
        errors.add(None, "toolConfig.tools", "have length greater than or equal to 1")
        return [], "auto"
    tools = []
    for i, item in enumerate(config["tools"]):
        spec = item.get("toolSpec") if isinstance(item, dict) else None
        if spec is None:
            continue  # cachePoint / systemTool entries offer nothing the responder can call
        name = spec.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            errors.add(name, f"toolConfig.tools.{i + 1}.member.toolSpec.name",
                       "satisfy regular expression pattern: [a-zA-Z0-9_-]+")
            continue
        schema = (spec.get("inputSchema") or {}).get("json")
        if not isinstance(schema, dict):
            errors.add(None, f"toolConfig.tools.{i + 1}.member.toolSpec.inputSchema", "not be null")
            continue
        tools.append(Tool(name, spec.get("description") or "", schema))
    choice = config.get("toolChoice") or {"auto": {}}
    if "any" in choice:
        return tools, "any"
    if "tool" in choice:
        name = (choice["tool"] or {}).get("name")
        if name not in {t.name for t in tools}:
            raise AwsError("ValidationException", f"The tool {name} in toolChoice is not defined in toolConfig.tools.")
        return tools, name
    return tools, "auto"


# --------------------------------------------------------------------------------------------------
# Converse output


def _tool_use_id(call_id: str, prefix: str) -> str:
    """A tool-call id from the responder's ``tooluse_…`` id, in the spelling of one API."""
    return prefix + call_id.split("_", 1)[1]


def converse_content(answer: Answer) -> list[dict]:
    """The assistant message content blocks of an answer (Converse / Nova shape)."""
    content: list[dict] = []
    if answer.text:
        content.append({"text": answer.text})
    if answer.tool_call:
        tc = answer.tool_call
        content.append({"toolUse": {"toolUseId": tc["id"], "name": tc["name"], "input": tc["input"]}})
    return content


def converse_usage(answer: Answer) -> dict:
    return {"inputTokens": answer.input_tokens, "outputTokens": answer.output_tokens,
            "totalTokens": answer.total_tokens, "cacheReadInputTokens": 0, "cacheWriteInputTokens": 0}


def converse_output(call: Call, latency_ms: int, body: Mapping[str, Any] | None = None) -> dict:
    """A ``ConverseResponse`` for a call."""
    answer = call.answer
    out: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": converse_content(answer)}},
        "stopReason": answer.stop_reason,
        "usage": converse_usage(answer),
        "metrics": {"latencyMs": latency_ms},
    }
    if body and body.get("additionalModelResponseFieldPaths"):
        out["additionalModelResponseFields"] = {}
    if body and body.get("performanceConfig"):
        out["performanceConfig"] = body["performanceConfig"]
    if body and body.get("serviceTier"):
        out["serviceTier"] = body["serviceTier"]
    return out


def converse_events(call: Call, start: float) -> Iterator[tuple[str, dict]]:
    """ConverseStream's events, in order: (event type, payload)."""
    answer = call.answer
    yield "messageStart", {"role": "assistant"}
    index = 0
    if answer.text:
        for piece in answer.chunks():
            yield "contentBlockDelta", {"delta": {"text": piece}, "contentBlockIndex": index}
        yield "contentBlockStop", {"contentBlockIndex": index}
        index += 1
    if answer.tool_call:
        tc = answer.tool_call
        yield "contentBlockStart", {"start": {"toolUse": {"toolUseId": tc["id"], "name": tc["name"]}},
                                    "contentBlockIndex": index}
        for fragment in answer.tool_input_fragments():
            yield "contentBlockDelta", {"delta": {"toolUse": {"input": fragment}}, "contentBlockIndex": index}
        yield "contentBlockStop", {"contentBlockIndex": index}
    yield "messageStop", {"stopReason": answer.stop_reason}
    yield "metadata", {"usage": converse_usage(answer), "metrics": {"latencyMs": _elapsed_ms(start)}}


# --------------------------------------------------------------------------------------------------
# JSON-schema checks of InvokeModel bodies (Bedrock reports them in everit's words)

_TYPE_NAMES = {"string": "String", "number": "Number", "integer": "Integer", "boolean": "Boolean",
               "array": "JSONArray", "object": "JSONObject", "null": "Null"}


def _json_type(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Number"
    if isinstance(value, str):
        return "String"
    return "JSONArray" if isinstance(value, list) else "JSONObject"


def _type_ok(value: Any, kind: str) -> bool:
    return {
        "string": lambda v: isinstance(v, str),
        "number": _is_number,
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
        "null": lambda v: v is None,
    }[kind](value)


def schema_violations(value: Any, schema: Mapping[str, Any], path: str = "#") -> list[str]:
    """Violations of a small JSON-schema subset, worded like the everit validator Bedrock uses."""
    kinds = schema.get("type")
    if kinds:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_type_ok(value, k) for k in kinds):
            return [f"{path}: expected type: {_TYPE_NAMES[kinds[0]]}, found: {_json_type(value)}"]
    out: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {json.dumps(value)} is not a valid enum value")
    if _is_number(value):
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{path}: {_num(value)} is not greater or equal to {_num(schema['minimum'])}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{path}: {_num(value)} is not less or equal to {_num(schema['maximum'])}")
    if isinstance(value, str) and "minLength" in schema and len(value) < schema["minLength"]:
        out.append(f"{path}: expected minLength: {schema['minLength']}, actual: {len(value)}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append(f"{path}: expected minimum item count: {schema['minItems']}, found: {len(value)}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(f"{path}: expected maximum item count: {schema['maxItems']}, found: {len(value)}")
        if "items" in schema:
            for i, item in enumerate(value):
                out += schema_violations(item, schema["items"], f"{path}/{i}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                out.append(f"{path}: required key [{key}] not found")
        extra = schema.get("additionalProperties")
        if extra is False:
            out += [f"{path}: extraneous key [{k}] is not permitted" for k in value if k not in props]
        elif isinstance(extra, Mapping):
            for key in value:
                if key not in props:
                    out += schema_violations(value[key], extra, f"{path}/{key}")
        for key, sub in props.items():
            if key in value:
                out += schema_violations(value[key], sub, f"{path}/{key}")
    return out


def check_body(body: Any, schema: Mapping[str, Any]) -> None:
    """Raise ``Malformed input request`` when ``body`` violates ``schema``."""
    found = schema_violations(body, schema)
    if found:
        raise malformed(*found)


_UNIT = {"type": "number", "minimum": 0, "maximum": 1}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_STOP = {"type": ["string", "array"], "items": {"type": "string"}}  # OpenAI's stop: one string or several
_NAMED = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1},
                                                                 "description": {"type": "string"}}}
_OPENAI_TOOLS = {"type": "array", "items": {"type": "object", "required": ["type", "function"], "properties": {
    "type": {"enum": ["function"]},
    "function": {**_NAMED, "properties": {**_NAMED["properties"], "parameters": {"type": "object"}}}}}}


def _strict(required: list[str], **props: Any) -> dict:
    return {"type": "object", "required": required, "additionalProperties": False, "properties": props}


# --------------------------------------------------------------------------------------------------
# Model families: body → Call, answer → native body / native stream chunks


class Family:
    """One InvokeModel body format. Text families implement ``parse``, ``render`` and ``chunks``."""

    schema: dict = {"type": "object"}
    streams = True

    def parse(self, body: dict, model: dict) -> Call:
        raise NotImplementedError

    def render(self, call: Call) -> dict:
        """The InvokeModel response body."""
        raise NotImplementedError

    def chunks(self, call: Call) -> list[dict]:
        """The stream's native chunks (the last one gets the invocation metrics added)."""
        raise NotImplementedError

    def usage(self, call: Call) -> tuple[int, int]:
        """(input tokens, output tokens) reported in the response headers."""
        return call.answer.input_tokens, call.answer.output_tokens

    def load(self, body: Any, model: dict, streaming: bool = False) -> Call:
        """Check ``body`` against the family's schema and normalize it."""
        check_body(body, self.schema)
        call = self.parse(body, model)
        call.check_max_tokens()
        return call


def _text_blocks(content: Any) -> list[dict]:
    """Converse text blocks from a string or a list of ``{"type": "text", "text"}`` parts."""
    if isinstance(content, str):
        return [{"text": content}]
    return [{"text": p["text"]} for p in content or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]


def _tool_choice_name(choice: Any) -> str:
    """Anthropic / Converse-like tool choice objects → responder tool choice."""
    if not isinstance(choice, dict):
        return "auto"
    kind = choice.get("type")
    return {"any": "any", "none": "none", "tool": choice.get("name") or "auto"}.get(kind, "auto")


def _claude_model_name(model_id: str) -> str:
    return re.sub(r"-v\d+(:\d+)?$", "", model_id.removeprefix("anthropic."))


class Anthropic(Family):
    """Anthropic Claude Messages API bodies (``anthropic_version``, ``max_tokens``, ``messages``…)."""

    schema = _strict(
        ["anthropic_version", "max_tokens", "messages"],
        anthropic_version={"type": "string"}, anthropic_beta=_STRINGS,
        max_tokens={"type": "integer", "minimum": 1},
        messages={"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["role", "content"],
            "properties": {"role": {"enum": ["user", "assistant"]}, "content": {"type": ["string", "array"]}}}},
        system={"type": ["string", "array"]}, temperature=_UNIT, top_p=_UNIT,
        top_k={"type": "integer", "minimum": 0}, stop_sequences=_STRINGS,
        tools={"type": "array", "items": {**_NAMED, "properties": {**_NAMED["properties"],
                                                                   "input_schema": {"type": "object"}}}},
        tool_choice={"type": "object"}, metadata={"type": "object"}, thinking={"type": "object"},
    )

    def parse(self, body: dict, model: dict) -> Call:
        messages = []
        for m in body["messages"]:
            content = m["content"]
            blocks: list[dict] = []
            for part in ([{"type": "text", "text": content}] if isinstance(content, str) else content):
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text":
                    blocks.append({"text": part.get("text", "")})
                elif kind == "tool_use":
                    blocks.append({"toolUse": {"toolUseId": part.get("id"), "name": part.get("name"),
                                               "input": part.get("input", {})}})
                elif kind == "tool_result":
                    blocks.append({"toolResult": {"toolUseId": part.get("tool_use_id"),
                                                  "content": _text_blocks(part.get("content"))}})
            messages.append({"role": m["role"], "content": blocks})
        system = body.get("system")
        tools = [Tool(t.get("name", ""), t.get("description") or "", t.get("input_schema") or {})
                 for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")]
        return Call(model, messages, responder.system_text(_text_blocks(system)) if system else "", tools,
                    _tool_choice_name(body.get("tool_choice")), body["max_tokens"], body.get("stop_sequences") or [])

    def _content(self, call: Call) -> list[dict]:
        answer, content = call.answer, []
        if answer.text:
            content.append({"type": "text", "text": answer.text})
        if answer.tool_call:
            tc = answer.tool_call
            content.append({"type": "tool_use", "id": _tool_use_id(tc["id"], "toolu_bdrk_"), "name": tc["name"],
                            "input": tc["input"]})
        return content

    def _message(self, call: Call, content: list[dict], stop_reason: str | None, output_tokens: int) -> dict:
        answer = call.answer
        return {"id": call.extra.setdefault("id", "msg_bdrk_" + uuid.uuid4().hex[:24]), "type": "message",
                "role": "assistant", "model": _claude_model_name(call.model_id), "content": content,
                "stop_reason": stop_reason, "stop_sequence": answer.stop_sequence if stop_reason else None,
                "usage": {"input_tokens": answer.input_tokens, "output_tokens": output_tokens,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}

    def render(self, call: Call) -> dict:
        return self._message(call, self._content(call), call.answer.stop_reason, call.answer.output_tokens)

    def chunks(self, call: Call) -> list[dict]:
        answer = call.answer
        out: list[dict] = [{"type": "message_start", "message": self._message(call, [], None, 1)}]
        index = 0
        if answer.text:
            out.append({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
            out += [{"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}
                    for piece in answer.chunks()]
            out.append({"type": "content_block_stop", "index": index})
            index += 1
        if answer.tool_call:
            tc = answer.tool_call
            out.append({"type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": _tool_use_id(tc["id"], "toolu_bdrk_"), "name": tc["name"], "input": {}}})
            out += [{"type": "content_block_delta", "index": index,
                     "delta": {"type": "input_json_delta", "partial_json": fragment}}
                    for fragment in answer.tool_input_fragments()]
            out.append({"type": "content_block_stop", "index": index})
        out.append({"type": "message_delta", "delta": {"stop_reason": answer.stop_reason,
                                                       "stop_sequence": answer.stop_sequence},
                    "usage": {"output_tokens": answer.output_tokens}})
        out.append({"type": "message_stop"})
        return out


class Nova(Family):
    """Amazon Nova understanding models: a Converse-like body with ``schemaVersion: messages-v1``."""

    schema = _strict(
        ["messages"], schemaVersion={"type": "string"}, system={"type": "array"},
        messages={"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["role", "content"],
            "properties": {"role": {"enum": ["user", "assistant"]},
                           "content": {"type": "array", "items": {"type": "object"}}}}},
        inferenceConfig={"type": "object", "properties": {
            "maxTokens": {"type": "integer", "minimum": 1}, "max_new_tokens": {"type": "integer", "minimum": 1},
            "temperature": _UNIT, "topP": _UNIT, "topK": {"type": "integer", "minimum": 0},
            "stopSequences": _STRINGS}},
        toolConfig={"type": "object"},
    )

    def parse(self, body: dict, model: dict) -> Call:
        cfg = body.get("inferenceConfig") or {}
        errors = _Violations()
        tools, choice = _converse_tools(body.get("toolConfig"), errors)
        if errors.items:
            raise malformed(*(f"#/toolConfig: {e}" for e in errors.items))
        return Call(model, body["messages"], responder.system_text(body.get("system")), tools, choice,
                    cfg.get("maxTokens", cfg.get("max_new_tokens")), cfg.get("stopSequences") or [])

    def _usage(self, answer: Answer) -> dict:
        return {"inputTokens": answer.input_tokens, "outputTokens": answer.output_tokens,
                "totalTokens": answer.total_tokens, "cacheReadInputTokenCount": 0, "cacheWriteInputTokenCount": 0}

    def render(self, call: Call) -> dict:
        answer = call.answer
        return {"output": {"message": {"role": "assistant", "content": converse_content(answer)}},
                "stopReason": answer.stop_reason, "usage": self._usage(answer)}

    def chunks(self, call: Call) -> list[dict]:
        out = [{type_: payload} for type_, payload in converse_events(call, time.monotonic())]
        out[-1] = {"metadata": {"usage": self._usage(call.answer), "metrics": {}, "trace": {}}}
        return out


class TitanText(Family):
    """Amazon Titan Text: ``inputText`` + ``textGenerationConfig``."""

    schema = _strict(
        ["inputText"], inputText={"type": "string"},
        textGenerationConfig={"type": "object", "additionalProperties": False, "properties": {
            "temperature": _UNIT, "topP": _UNIT, "maxTokenCount": {"type": "integer", "minimum": 0},
            "stopSequences": _STRINGS}},
    )
    REASONS = {"end_turn": "FINISH", "max_tokens": "LENGTH", "stop_sequence": "STOP_CRITERIA_MET"}

    def parse(self, body: dict, model: dict) -> Call:
        cfg = body.get("textGenerationConfig") or {}
        return Call(model, [{"role": "user", "content": [{"text": body["inputText"]}]}],
                    max_tokens=cfg.get("maxTokenCount"), stop=cfg.get("stopSequences") or [])

    def render(self, call: Call) -> dict:
        a = call.answer
        return {"inputTextTokenCount": a.input_tokens, "results": [
            {"tokenCount": a.output_tokens, "outputText": a.text, "completionReason": self.REASONS[a.stop_reason]}]}

    def chunks(self, call: Call) -> list[dict]:
        a, pieces = call.answer, call.answer.chunks() or [""]
        out = []
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            out.append({"outputText": piece, "index": 0,
                        "totalOutputTextTokenCount": a.output_tokens if last else None,
                        "completionReason": self.REASONS[a.stop_reason] if last else None,
                        "inputTextTokenCount": a.input_tokens if i == 0 else None})
        return out


_LLAMA_TURN = re.compile(r"<\|start_header_id\|>(\w+)<\|end_header_id\|>(.*?)(?=<\|eot_id\|>|<\|start_header_id\|>|$)",
                         re.S)
_INST_TURN = re.compile(r"\[INST\](.*?)\[/INST\](.*?)(?=\[INST\]|$)", re.S)
_SYS = re.compile(r"<<SYS>>(.*?)<</SYS>>", re.S)


def prompt_conversation(prompt: str) -> tuple[str, list[dict]]:
    """(system, messages) from a templated prompt: Llama 3 headers, ``[INST]`` turns, or plain text."""
    def msg(role: str, text: str) -> dict:
        return {"role": role, "content": [{"text": text}]}

    system, messages = "", []
    turns = _LLAMA_TURN.findall(prompt)
    if turns:
        for role, text in turns:
            text = text.strip()
            if role == "system":
                system = text
            elif text:  # the empty assistant header at the end is the generation cue
                messages.append(msg("assistant" if role == "assistant" else "user", text))
        return system, messages
    turns = _INST_TURN.findall(prompt)
    if turns:
        for user, reply in turns:
            found = _SYS.search(user)
            if found:
                system, user = found.group(1).strip(), _SYS.sub("", user)
            messages.append(msg("user", user.strip()))
            reply = reply.replace("</s>", "").replace("<s>", "").strip()
            if reply:
                messages.append(msg("assistant", reply))
        return system, messages
    return "", [msg("user", prompt.replace("<|begin_of_text|>", "").strip())]


class Llama(Family):
    """Meta Llama: a templated ``prompt`` with ``max_gen_len``."""

    schema = _strict(["prompt"], prompt={"type": "string"}, temperature=_UNIT, top_p=_UNIT,
                     max_gen_len={"type": "integer", "minimum": 1, "maximum": 2048}, images=_STRINGS)

    def parse(self, body: dict, model: dict) -> Call:
        system, messages = prompt_conversation(body["prompt"])
        return Call(model, messages, system, max_tokens=body.get("max_gen_len"))

    @staticmethod
    def _reason(a: Answer) -> str:
        return "length" if a.stop_reason == "max_tokens" else "stop"

    def render(self, call: Call) -> dict:
        a = call.answer
        return {"generation": a.text, "prompt_token_count": a.input_tokens,
                "generation_token_count": a.output_tokens, "stop_reason": self._reason(a)}

    def chunks(self, call: Call) -> list[dict]:
        a, pieces = call.answer, call.answer.chunks() or [""]
        out, produced = [], 0
        for i, piece in enumerate(pieces):
            produced += tokens.count(piece)
            out.append({"generation": piece, "prompt_token_count": a.input_tokens if i == 0 else None,
                        "generation_token_count": produced,
                        "stop_reason": self._reason(a) if i == len(pieces) - 1 else None})
        return out


class Mistral(Family):
    """Mistral text completion: ``<s>[INST] … [/INST]`` prompt."""

    schema = _strict(["prompt"], prompt={"type": "string"}, max_tokens={"type": "integer", "minimum": 1},
                     stop=_STRINGS, temperature=_UNIT, top_p=_UNIT, top_k={"type": "integer", "minimum": 0})

    def parse(self, body: dict, model: dict) -> Call:
        system, messages = prompt_conversation(body["prompt"])
        return Call(model, messages, system, max_tokens=body.get("max_tokens"), stop=body.get("stop") or [])

    def render(self, call: Call) -> dict:
        a = call.answer
        return {"outputs": [{"text": a.text, "stop_reason": "length" if a.stop_reason == "max_tokens" else "stop"}]}

    def chunks(self, call: Call) -> list[dict]:
        a, pieces = call.answer, call.answer.chunks() or [""]
        reason = "length" if a.stop_reason == "max_tokens" else "stop"
        return [{"outputs": [{"text": p, "stop_reason": reason if i == len(pieces) - 1 else None}]}
                for i, p in enumerate(pieces)]


# -- OpenAI chat shapes (Mistral chat, gpt-oss InvokeModel; reused by the OpenAI routes) -------------

FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def chat_tool_calls(answer: Answer) -> list[dict] | None:
    """OpenAI ``tool_calls`` of an answer (``call_…`` ids), or None."""
    if not answer.tool_call:
        return None
    tc = answer.tool_call
    return [{"id": _tool_use_id(tc["id"], "call_"), "type": "function",
             "function": {"name": tc["name"], "arguments": json.dumps(tc["input"])}}]


def chat_usage(answer: Answer) -> dict:
    return {"prompt_tokens": answer.input_tokens, "completion_tokens": answer.output_tokens,
            "total_tokens": answer.total_tokens,
            "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}


def chat_completion(answer: Answer, model_name: str, completion_id: str, created: int,
                    reason_key: str = "finish_reason") -> dict:
    """A ``chat.completion`` object for an answer."""
    return {
        "id": completion_id, "object": "chat.completion", "created": created, "model": model_name,
        "choices": [{"index": 0, reason_key: FINISH_REASONS[answer.stop_reason], "logprobs": None,
                     "message": {"role": "assistant", "content": answer.text if answer.text or not answer.tool_call
                                 else None, "refusal": None, "tool_calls": chat_tool_calls(answer)}}],
        "usage": chat_usage(answer), "system_fingerprint": None, "service_tier": "default",
    }


def chat_chunks(answer: Answer, model_name: str, completion_id: str, created: int,
                reason_key: str = "finish_reason", include_usage: bool = False) -> list[dict]:
    """The ``chat.completion.chunk`` objects streaming an answer."""
    def chunk(delta: dict, reason: str | None = None) -> dict:
        return {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model_name,
                "system_fingerprint": None, "service_tier": "default",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, reason_key: reason}]}

    out = [chunk({"role": "assistant", "content": ""})]
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


def chat_call(body: dict, model: dict) -> Call:
    """A Call from an OpenAI Chat Completions body (messages, tools, limits, stop)."""
    try:
        system, messages = responder.from_chat(body.get("messages") or [])
    except ValueError as exc:
        raise malformed(f"#/messages: {exc}") from None
    stop = body.get("stop")
    stop = [stop] if isinstance(stop, str) else list(stop or [])
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    return Call(model, messages, system, responder.from_chat_tools(body.get("tools") or []),
                responder.chat_tool_choice(body.get("tool_choice")), limit, stop)


class MistralChat(Family):
    """Mistral chat completion (Mistral Large 2407 and later): OpenAI-like messages; ``stop_reason``."""

    schema = _strict(["messages"], messages={"type": "array", "minItems": 1, "items": {"type": "object"}},
                     tools=_OPENAI_TOOLS, tool_choice={"type": ["string", "object"]},
                     max_tokens={"type": "integer", "minimum": 1}, top_p=_UNIT, temperature=_UNIT,
                     response_format={"type": "object"}, stop=_STOP)

    def parse(self, body: dict, model: dict) -> Call:
        return chat_call(body, model)

    def render(self, call: Call) -> dict:
        return chat_completion(call.answer, call.model_id, call.extra.setdefault("id", uuid.uuid4().hex),
                               int(time.time()), reason_key="stop_reason")

    def chunks(self, call: Call) -> list[dict]:
        return chat_chunks(call.answer, call.model_id, uuid.uuid4().hex, int(time.time()), reason_key="stop_reason")


class GptOss(Family):
    """OpenAI-compatible models (gpt-oss, DeepSeek, Qwen…): an OpenAI Chat Completions request body."""

    schema = {"type": "object", "required": ["messages"], "properties": {
        "model": {"type": "string"}, "messages": {"type": "array", "minItems": 1, "items": {"type": "object"}},
        "max_completion_tokens": {"type": "integer", "minimum": 1}, "max_tokens": {"type": "integer", "minimum": 1},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2}, "top_p": _UNIT,
        "stream": {"type": "boolean"}, "stop": _STOP, "tools": _OPENAI_TOOLS}}

    def load(self, body: Any, model: dict, streaming: bool = False) -> Call:
        call = super().load(body, model, streaming)
        if body.get("stream") and not streaming:
            raise malformed("#/stream: stream must be false or omitted for InvokeModel")
        if body.get("model") not in (None, model["modelId"], model.get("mantleId")):
            raise malformed(f"#/model: the model in the body must match the model ID {model['modelId']} or be omitted")
        return call

    def parse(self, body: dict, model: dict) -> Call:
        return chat_call(body, model)

    def render(self, call: Call) -> dict:
        return chat_completion(call.answer, call.model_id, "chatcmpl-" + uuid.uuid4().hex, int(time.time()))

    def chunks(self, call: Call) -> list[dict]:
        return chat_chunks(call.answer, call.model_id, "chatcmpl-" + uuid.uuid4().hex, int(time.time()),
                           include_usage=True)


_COHERE_TYPES = {"str": "string", "string": "string", "int": "integer", "integer": "integer",
                 "float": "number", "number": "number", "bool": "boolean", "boolean": "boolean",
                 "list": "array", "dict": "object"}


class CohereCommand(Family):
    """Cohere Command R / R+: ``message`` + ``chat_history`` + ``preamble``; tools with parameter_definitions."""

    schema = _strict(
        ["message"], message={"type": "string"},
        chat_history={"type": "array", "items": {"type": "object", "required": ["role"], "properties": {
            "role": {"enum": ["USER", "CHATBOT", "SYSTEM", "TOOL"]}}}},
        documents={"type": "array"}, preamble={"type": "string"}, max_tokens={"type": "integer", "minimum": 1},
        temperature=_UNIT, p={"type": "number", "minimum": 0.01, "maximum": 0.99},
        k={"type": "integer", "minimum": 0, "maximum": 500},
        stop_sequences={"type": "array", "maxItems": 4, "items": {"type": "string"}},
        seed={"type": "integer"},
        tools={"type": "array", "items": {**_NAMED, "properties": {
            **_NAMED["properties"], "parameter_definitions": {"type": "object", "additionalProperties": {
                "type": "object"}}}}},
        tool_results={"type": "array", "items": {"type": "object", "properties": {
            "call": {"type": "object", "properties": {"name": {"type": "string"}, "parameters": {"type": "object"}}},
            "outputs": {"type": "array", "items": {"type": "object"}}}}},
        search_queries_only={"type": "boolean"}, return_prompt={"type": "boolean"}, raw_prompting={"type": "boolean"},
        force_single_step={"type": "boolean"}, frequency_penalty=_UNIT, presence_penalty=_UNIT,
        prompt_truncation={"enum": ["OFF", "AUTO_PRESERVE_ORDER"]},
    )

    def parse(self, body: dict, model: dict) -> Call:
        system = [body["preamble"]] if body.get("preamble") else []
        messages: list[dict] = []
        for turn in body.get("chat_history") or []:
            text = turn.get("message") or ""
            if turn["role"] == "SYSTEM":
                system.append(text)
            elif text:
                messages.append({"role": "assistant" if turn["role"] == "CHATBOT" else "user",
                                 "content": [{"text": text}]})
        if body["message"]:
            messages.append({"role": "user", "content": [{"text": body["message"]}]})
        results = body.get("tool_results") or []
        if results:  # the second step of tool use: the calls made, then their outputs
            uses, outs = [], []
            for i, result in enumerate(results):
                call_ = result.get("call") or {}
                uid = f"cohere_call_{i}"
                uses.append({"toolUse": {"toolUseId": uid, "name": call_.get("name", ""),
                                         "input": call_.get("parameters", {})}})
                outs.append({"toolResult": {"toolUseId": uid, "content": [{"json": o} for o in result.get("outputs") or []]}})
            messages += [{"role": "assistant", "content": uses}, {"role": "user", "content": outs}]
        tools = []
        for t in body.get("tools") or []:
            defs = t.get("parameter_definitions") or {}
            props = {n: {"type": _COHERE_TYPES.get(str(d.get("type", "str")).lower(), "string"),
                         **({"description": d["description"]} if d.get("description") else {})} for n, d in defs.items()}
            required = [n for n, d in defs.items() if d.get("required")]
            tools.append(Tool(t.get("name", ""), t.get("description") or "",
                              {"type": "object", "properties": props, **({"required": required} if required else {})}))
        return Call(model, messages, "\n".join(system), tools, "auto", body.get("max_tokens"),
                    body.get("stop_sequences") or [], extra={"history": body.get("chat_history") or [],
                                                             "message": body["message"]})

    REASONS = {"end_turn": "COMPLETE", "tool_use": "COMPLETE", "max_tokens": "MAX_TOKENS",
               "stop_sequence": "STOP_SEQUENCE"}

    def render(self, call: Call) -> dict:
        a = call.answer
        history = list(call.extra["history"]) + [{"role": "USER", "message": call.extra["message"]}]
        out: dict[str, Any] = {
            "response_id": call.extra.setdefault("response_id", str(uuid.uuid4())), "text": a.text,
            "generation_id": call.extra.setdefault("generation_id", str(uuid.uuid4())),
            "finish_reason": self.REASONS[a.stop_reason],
            "meta": {"api_version": {"version": "1"},
                     "billed_units": {"input_tokens": a.input_tokens, "output_tokens": a.output_tokens}},
        }
        if a.tool_call:
            out["tool_calls"] = [{"name": a.tool_call["name"], "parameters": a.tool_call["input"]}]
            history.append({"role": "CHATBOT", "message": a.text, "tool_calls": out["tool_calls"]})
        else:
            history.append({"role": "CHATBOT", "message": a.text})
        out["chat_history"] = history
        return out

    def chunks(self, call: Call) -> list[dict]:
        a, final = call.answer, self.render(call)
        out = [{"is_finished": False, "event_type": "stream-start", "generation_id": final["generation_id"]}]
        out += [{"is_finished": False, "event_type": "text-generation", "text": p} for p in a.chunks()]
        if a.tool_call:
            out.append({"is_finished": False, "event_type": "tool-calls-generation", "text": a.text,
                        "tool_calls": final["tool_calls"]})
        out.append({"is_finished": True, "event_type": "stream-end", "finish_reason": final["finish_reason"],
                    "response": final})
        return out


class TitanEmbed(Family):
    """Amazon Titan Text Embeddings v2 (``dimensions``, ``normalize``, ``embeddingTypes``) and G1 (v1)."""

    streams = False
    V2 = _strict(["inputText"], inputText={"type": "string", "minLength": 1},
                 dimensions={"type": "integer", "enum": [256, 512, 1024]}, normalize={"type": "boolean"},
                 embeddingTypes={"type": "array", "minItems": 1, "items": {"enum": ["float", "binary"]}})
    V1 = _strict(["inputText"], inputText={"type": "string", "minLength": 1})

    def load(self, body: Any, model: dict, streaming: bool = False) -> Call:
        v1 = not model["modelId"].endswith("v2:0")
        check_body(body, self.V1 if v1 else self.V2)
        text = body["inputText"]
        return Call(model, extra={"text": text, "v1": v1, "dimensions": 1536 if v1 else body.get("dimensions", 1024),
                                  "normalize": body.get("normalize", True),
                                  "types": body.get("embeddingTypes") or ["float"]})

    def usage(self, call: Call) -> tuple[int, int]:
        return tokens.count(call.extra["text"]), 0

    def render(self, call: Call) -> dict:
        x = call.extra
        vector = responder.embed(x["text"], x["dimensions"], x["normalize"])
        out: dict[str, Any] = {"embedding": vector, "inputTextTokenCount": self.usage(call)[0]}
        if not x["v1"]:
            by_type: dict[str, Any] = {}
            if "float" in x["types"]:
                by_type["float"] = vector
            if "binary" in x["types"]:
                by_type["binary"] = [1 if v > 0 else 0 for v in vector]
            out["embeddingsByType"] = by_type
        return out


def _quantize(vector: list[float], kind: str) -> list[int] | list[float]:
    """Cohere's embedding types from a float vector."""
    if kind == "float":
        return vector
    if kind == "int8":
        return [max(-128, min(127, round(v * 127))) for v in vector]
    if kind == "uint8":
        return [max(0, min(255, round((v + 1) * 127.5))) for v in vector]
    bits = [1 if v > 0 else 0 for v in vector]
    packed = [int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8)]
    return packed if kind == "ubinary" else [b - 256 if b > 127 else b for b in packed]


class CohereEmbed(Family):
    """Cohere Embed v3/v4: ``texts`` (or one image), ``input_type``, optional ``embedding_types``."""

    streams = False
    schema = _strict(
        ["input_type"], texts={"type": "array", "minItems": 1, "maxItems": 96, "items": {"type": "string"}},
        images={"type": "array", "maxItems": 1, "items": {"type": "string"}},
        input_type={"enum": ["search_document", "search_query", "classification", "clustering", "image"]},
        truncate={"enum": ["NONE", "START", "END"]},
        embedding_types={"type": "array", "items": {"enum": ["float", "int8", "uint8", "binary", "ubinary"]}},
        output_dimension={"type": "integer", "enum": [256, 512, 1024, 1536]}, max_tokens={"type": "integer"},
    )

    def load(self, body: Any, model: dict, streaming: bool = False) -> Call:
        check_body(body, self.schema)
        texts, images = body.get("texts"), body.get("images")
        if (texts is None) == (images is None):
            raise malformed("#: exactly one of [texts, images] must be provided")
        for i, t in enumerate(texts or []):
            if len(t) > 2048 and body.get("truncate", "END") == "NONE":
                raise malformed(f"#/texts/{i}: expected maxLength: 2048, actual: {len(t)}")
        default_dim = 1536 if "v4" in model["modelId"] else 1024
        return Call(model, extra={"texts": list(texts if texts is not None else images), "types": body.get("embedding_types"),
                                  "dimensions": body.get("output_dimension", default_dim), "images": images is not None})

    def usage(self, call: Call) -> tuple[int, int]:
        return sum(tokens.count(t) for t in call.extra["texts"]) if not call.extra["images"] else 0, 0

    def render(self, call: Call) -> dict:
        x = call.extra
        vectors = [responder.embed(t, x["dimensions"]) for t in x["texts"]]
        out: dict[str, Any] = {"id": str(uuid.uuid4()), "texts": [] if x["images"] else x["texts"]}
        if x["types"]:
            out["embeddings"] = {k: [_quantize(v, k) for v in vectors] for k in x["types"]}
            out["response_type"] = "embeddings_by_type"
        else:
            out["embeddings"] = vectors
            out["response_type"] = "embeddings_floats"
        return out


class Image(Family):
    """Image generation (Nova Canvas): ``taskType`` ``TEXT_IMAGE``; returns small deterministic PNGs."""

    streams = False
    schema = {"type": "object", "required": ["taskType"], "properties": {
        "taskType": {"enum": ["TEXT_IMAGE", "COLOR_GUIDED_GENERATION", "IMAGE_VARIATION", "INPAINTING",
                              "OUTPAINTING", "BACKGROUND_REMOVAL", "VIRTUAL_TRY_ON"]},
        "textToImageParams": {"type": "object"}, "imageGenerationConfig": {"type": "object", "properties": {
            "numberOfImages": {"type": "integer", "minimum": 1, "maximum": 5},
            "width": {"type": "integer", "minimum": 320, "maximum": 4096},
            "height": {"type": "integer", "minimum": 320, "maximum": 4096}}}}}

    def load(self, body: Any, model: dict, streaming: bool = False) -> Call:
        check_body(body, self.schema)
        text = (body.get("textToImageParams") or {}).get("text", "")
        n = (body.get("imageGenerationConfig") or {}).get("numberOfImages", 1)
        return Call(model, extra={"text": text, "n": n})

    def usage(self, call: Call) -> tuple[int, int]:
        return tokens.count(call.extra["text"]), 0

    def render(self, call: Call) -> dict:
        return {"images": [_png(f"{call.extra['text']}#{i}") for i in range(call.extra["n"])], "error": None}


def _png(seed: str, size: int = 64) -> str:
    """A base64 PNG of one colour derived from ``seed`` (a stand-in for a generated image)."""
    import hashlib
    import struct
    import zlib

    r, g, b = hashlib.sha256(seed.encode()).digest()[:3]
    raw = b"".join(b"\x00" + bytes((r, g, b)) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode()


#: The InvokeModel body codec of each catalog ``family``.
FAMILIES: dict[str, Family] = {
    "anthropic": Anthropic(), "nova": Nova(), "titan-text": TitanText(), "llama": Llama(), "mistral": Mistral(),
    "mistral-chat": MistralChat(), "cohere-command": CohereCommand(), "gpt-oss": GptOss(),
    "titan-embed": TitanEmbed(), "cohere-embed": CohereEmbed(), "image": Image(),
}


# --------------------------------------------------------------------------------------------------
# Handlers


def _model(req: Request) -> dict:
    return req.app.catalog.resolve(req.region, req.params["modelId"]).model


def _json_body(raw: bytes) -> Any:
    """An InvokeModel body as JSON; anything else is a malformed request."""
    try:
        return json.loads(raw or b"")
    except ValueError:
        raise malformed("#: expected type: JSONObject, found: String") from None


def _family(model: dict) -> Family:
    return FAMILIES[model["family"]]


def _load(model: dict, body: Any, streaming: bool = False) -> Call:
    return _family(model).load(body, model, streaming)


def converse(req: Request) -> Response:
    """``POST /model/{modelId}/converse``."""
    start = _received(req)
    model = _model(req)
    if not model.get("converse"):
        raise AwsError("ValidationException", NOT_CONVERSE)
    body = req.json()
    call = converse_call(body, model)
    return json_response(converse_output(call, _elapsed_ms(start), body))


def converse_stream(req: Request) -> Response:
    """``POST /model/{modelId}/converse-stream``: event-stream frames, flushed one by one."""
    start = _received(req)
    model = _model(req)
    if not model.get("converse"):
        raise AwsError("ValidationException", NOT_CONVERSE)
    if not model.get("responseStreamingSupported"):
        raise AwsError("ValidationException", NOT_STREAMING)
    call = converse_call(req.json(), model)
    call.answer  # answer before the 200 goes out: errors must be plain HTTP errors

    def frames() -> Iterator[bytes]:
        for i, (kind, payload) in enumerate(converse_events(call, start)):
            yield eventstream.event(kind, {**payload, "p": _padding(i)})

    return Response(200, frames(), {"Content-Type": eventstream.CONTENT_TYPE, "x-amzn-RequestId": request_id()})


def _invocation_headers(input_tokens: int, output_tokens: int, latency_ms: int) -> dict[str, str]:
    return {"X-Amzn-Bedrock-Input-Token-Count": str(input_tokens),
            "X-Amzn-Bedrock-Output-Token-Count": str(output_tokens),
            "X-Amzn-Bedrock-Invocation-Latency": str(latency_ms)}


def invoke(req: Request) -> Response:
    """``POST /model/{modelId}/invoke``: the family's native body."""
    start = _received(req)
    model = _model(req)
    call = _load(model, _json_body(req.body))
    family = _family(model)
    out = family.render(call)
    n_in, n_out = family.usage(call)
    headers = {"Content-Type": "application/json", **_invocation_headers(n_in, n_out, _elapsed_ms(start))}
    return json_response(out, headers=headers)


def invoke_stream(req: Request) -> Response:
    """``POST /model/{modelId}/invoke-with-response-stream``: ``chunk`` events of native JSON."""
    start = _received(req)
    model = _model(req)
    family = _family(model)
    if not model.get("responseStreamingSupported") or not family.streams:
        raise AwsError("ValidationException", NOT_STREAMING)
    call = _load(model, _json_body(req.body), streaming=True)
    chunks = family.chunks(call)
    n_in, n_out = family.usage(call)

    def frames() -> Iterator[bytes]:
        first = None
        for i, chunk in enumerate(chunks):
            now = _elapsed_ms(start)
            first = first or now
            if i == len(chunks) - 1:
                chunk = {**chunk, "amazon-bedrock-invocationMetrics": {
                    "inputTokenCount": n_in, "outputTokenCount": n_out, "invocationLatency": now,
                    "firstByteLatency": first}}
            data = base64.b64encode(json.dumps(chunk, separators=(",", ":")).encode()).decode()
            yield eventstream.event("chunk", {"bytes": data, "p": _padding(i)})

    return Response(200, frames(), {"Content-Type": eventstream.CONTENT_TYPE,
                                    "X-Amzn-Bedrock-Content-Type": "application/json",
                                    "x-amzn-RequestId": request_id()})


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
        call = _load(model, _json_body(decoded))
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
        if not model.get("converse"):
            raise AwsError("ValidationException", NOT_CONVERSE)
        return converse_output(converse_call(model_input, model), _elapsed_ms(start), model_input)
    call = _load(model, model_input)
    return _family(model).render(call)


def register(router: Router) -> None:
    """Add the native runtime routes (surface RUNTIME)."""
    router.add(RUNTIME, "POST", "/model/{modelId}/converse", converse)
    router.add(RUNTIME, "POST", "/model/{modelId}/converse-stream", converse_stream)
    router.add(RUNTIME, "POST", "/model/{modelId}/invoke", invoke)
    router.add(RUNTIME, "POST", "/model/{modelId}/invoke-with-response-stream", invoke_stream)
    router.add(RUNTIME, "POST", "/model/{modelId}/count-tokens", count_tokens)
