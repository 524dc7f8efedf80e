"""Converse on the local service (Converse, ConverseStream, CountTokens ``converse``, batch Converse
records): the request checked and read into a ``Call``, the answer written back as a
``ConverseResponse`` or ConverseStream's events. Nova's InvokeModel body is Converse-shaped too, so
its codec (:mod:`.invoke`) reuses :func:`converse_tools` and the renderers here.

The request shape is checked like every AWS JSON API — ``2 validation errors detected: Value '1.5'
at 'inferenceConfig.temperature' failed to satisfy constraint: Member must …`` — and then the
conversation itself in plain sentences (:func:`converse_call`). The conversation is taken as is
(``system``-role messages join the system text).
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any, Iterator, Mapping

from ..http import AwsError, elapsed_ms
from ..responder import Answer, Call, Tool
from ..validation import Violations, check_max_tokens, check_range
from . import features

NOT_FIRST_USER = ("A conversation must start with a user message. Try again with a conversation that starts "
                  "with a user message.")
NOT_ALTERNATING = ("A conversation must alternate between user and assistant roles. Make sure the conversation "
                   "alternates between user and assistant roles and try again.")
NO_TOOL_CONFIG = "The toolConfig field must be defined when using toolUse and toolResult content blocks."


# --------------------------------------------------------------------------------------------------
# Request -> Call


#: VideoFormat (API_runtime_VideoBlock.html), in the API reference's order.
VIDEO_FORMATS = ("mkv", "mov", "mp4", "webm", "flv", "mpeg", "mpg", "wmv", "three_gp")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_CONTENT_MEMBERS = ("text", "image", "document", "video", "audio", "toolUse", "toolResult", "guardContent",
                    "cachePoint", "reasoningContent", "citationsContent", "searchResult", "toolAddition",
                    "toolRemoval")


def converse_call(body: Any, model: dict, *, for_count: bool = False) -> Call:
    """Validate a Converse (or ConverseStream, or CountTokens ``converse``) body and normalize it.

    ``for_count``: CountTokens accepts a request without messages (it counts the system prompt and
    tools alone).
    """
    if not isinstance(body, dict):
        raise AwsError("ValidationException", "1 validation error detected: Value at 'body' failed to satisfy "
                                              "constraint: Member must be a structure")
    errors = Violations()
    messages = body.get("messages")
    if messages is not None and not isinstance(messages, list):
        errors.add(None, "messages", "be a list")
        errors.raise_any()
    system_parts = _system_parts(body.get("system") or [], errors)
    conversation, uses_tools = _messages(messages or [], system_parts, errors)
    max_tokens, stop = _inference_config(body.get("inferenceConfig") or {}, errors)
    tools, choice = converse_tools(body.get("toolConfig"), errors)
    _request_metadata(body.get("requestMetadata"), errors)
    _guardrail_config(body.get("guardrailConfig"), errors)
    errors.raise_any()

    # Conversation-level rules, checked after the shapes (as Bedrock does).
    if not for_count or conversation:
        if not conversation or conversation[0]["role"] != "user":
            raise AwsError("ValidationException", NOT_FIRST_USER)
        for a, b in pairwise(conversation):
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
    read_features(call, body)
    check_max_tokens(call)
    return call


def read_features(call: Call, body: dict) -> None:
    """Structured output, Claude thinking or Nova 2's reasoningConfig, and the system/tool cache points
    of a Converse body."""
    call.schema = features.converse_schema(body.get("outputConfig"))
    extra = body.get("additionalModelRequestFields")
    extra = extra if isinstance(extra, dict) else {}
    call.reasoning = (features.claude_thinking(call.model, extra.get("thinking"))
                      or features.nova_reasoning(call.model, extra.get("reasoningConfig")))
    call.cache_marks = features.converse_cache_marks(body)


def _system_parts(system: Any, errors: Violations) -> list[str]:
    """The texts of Converse ``system`` blocks (a blank one is an error of its own)."""
    parts: list[str] = []
    if not isinstance(system, list):
        errors.add(None, "system", "be a list")
        return parts
    for i, block in enumerate(system):
        if isinstance(block, dict) and "text" in block:
            if not isinstance(block["text"], str) or not block["text"].strip():
                raise AwsError("ValidationException", f"The text field in the SystemContentBlock object at "
                                                      f"system.{i} is blank. Add text to the text field, and try again.")
            parts.append(block["text"])
    return parts


def _messages(messages: list, system_parts: list[str], errors: Violations) -> tuple[list[dict], bool]:
    """(the user/assistant messages, whether any carries toolUse/toolResult); system-role texts go to
    ``system_parts``."""
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
            elif isinstance(block.get("video"), dict) and block["video"].get("format") not in VIDEO_FORMATS:
                errors.add(block["video"].get("format"), f"messages.{i + 1}.member.content.{j + 1}.member.video.format",
                           f"satisfy enum value set: [{', '.join(VIDEO_FORMATS)}]")
        if role == "system":  # botocore 1.44 allows system-role messages: they extend the system prompt
            system_parts.extend(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
            continue
        conversation.append(message)
    return conversation, uses_tools


def _inference_config(config: Any, errors: Violations) -> tuple[int | None, list[str]]:
    """(maxTokens, stopSequences) of ``inferenceConfig``, its ranges checked."""
    if not isinstance(config, dict):
        errors.add(None, "inferenceConfig", "be a structure")
        config = {}
    max_tokens = config.get("maxTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or isinstance(max_tokens, bool)):
        errors.add(max_tokens, "inferenceConfig.maxTokens", "be an integer")
    else:
        check_range(errors, max_tokens, "inferenceConfig.maxTokens", 1, None)
    check_range(errors, config.get("temperature"), "inferenceConfig.temperature", 0, 1)
    check_range(errors, config.get("topP"), "inferenceConfig.topP", 0, 1)
    stop = config.get("stopSequences") or []
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        errors.add(None, "inferenceConfig.stopSequences", "be a list of strings")
        stop = []
    elif len(stop) > 2500:
        errors.add(None, "inferenceConfig.stopSequences", "have length less than or equal to 2500")
    return max_tokens, stop


#: ``requestMetadata`` limits, from botocore's ``bedrock-runtime`` model (``RequestMetadata``: 1–16
#: entries; keys 1–256 and values 0–256 characters of this set). The map is sensitive: AWS never
#: echoes it in an error.
METADATA_ENTRIES = (1, 16)
_METADATA_KEY = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,-.]{1,256}")
_METADATA_VALUE = re.compile(r"[a-zA-Z0-9\s:_@$#=/+,-.]{0,256}")


def _request_metadata(metadata: Any, errors: Violations) -> None:
    """Check ``requestMetadata`` against its model constraints (in Coral's map wording)."""
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        errors.add(None, "requestMetadata", "be a map", sensitive=True)
        return
    low, high = METADATA_ENTRIES
    if len(metadata) < low:
        errors.add(None, "requestMetadata", f"have length greater than or equal to {low}", sensitive=True)
    if len(metadata) > high:
        errors.add(None, "requestMetadata", f"have length less than or equal to {high}", sensitive=True)
    if not all(isinstance(k, str) and _METADATA_KEY.fullmatch(k) for k in metadata):
        errors.fail(None, "requestMetadata", "Map keys must satisfy constraint: [Member must have length less than "
                    "or equal to 256, Member must have length greater than or equal to 1, Member must satisfy "
                    f"regular expression pattern: {_METADATA_KEY.pattern}]", sensitive=True)
    if not all(isinstance(v, str) and _METADATA_VALUE.fullmatch(v) for v in metadata.values()):
        errors.fail(None, "requestMetadata", "Map value must satisfy constraint: [Member must have length less than "
                    "or equal to 256, Member must have length greater than or equal to 0, Member must satisfy "
                    f"regular expression pattern: {_METADATA_VALUE.pattern}]", sensitive=True)


#: ``guardrailConfig`` constraints, from botocore's ``GuardrailConfiguration`` / ``GuardrailStreamConfiguration``.
_GUARDRAIL_ID = re.compile(r"(|([a-z0-9]+)|(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+))")
_GUARDRAIL_VERSION = re.compile(r"(|([1-9][0-9]{0,7})|(DRAFT))")
GUARDRAIL_TRACE = ("enabled", "disabled", "enabled_full")
_STREAM_MODES = ("sync", "async")


def _guardrail_config(config: Any, errors: Violations) -> None:
    """Check ``guardrailConfig``'s members (the guardrail itself is looked up by the runtime)."""
    if config is None:
        return
    if not isinstance(config, dict):
        errors.add(None, "guardrailConfig", "be a structure")
        return
    identifier, version = config.get("guardrailIdentifier"), config.get("guardrailVersion")
    if identifier is not None and (not isinstance(identifier, str) or len(identifier) > 2048
                                   or not _GUARDRAIL_ID.fullmatch(identifier)):
        errors.add(identifier, "guardrailConfig.guardrailIdentifier",
                   f"satisfy regular expression pattern: {_GUARDRAIL_ID.pattern}")
    if version is not None and (not isinstance(version, str) or not _GUARDRAIL_VERSION.fullmatch(version)):
        errors.add(version, "guardrailConfig.guardrailVersion",
                   f"satisfy regular expression pattern: {_GUARDRAIL_VERSION.pattern}")
    for name, allowed in (("trace", GUARDRAIL_TRACE), ("streamProcessingMode", _STREAM_MODES)):
        if config.get(name) is not None and config[name] not in allowed:
            errors.add(config[name], f"guardrailConfig.{name}", f"satisfy enum value set: [{', '.join(allowed)}]")


def converse_tools(config: Any, errors: Violations) -> tuple[list[Tool], str]:
    """(tools, responder tool choice) of a Converse ``toolConfig`` (Nova's InvokeModel body has it too)."""
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
# Answer -> ConverseResponse / ConverseStream events


def converse_content(answer: Answer, id_prefix: str | None = None) -> list[dict]:
    """The assistant message content blocks of an answer (Converse / Nova shape); ``id_prefix``
    respells the tool call's id (see :meth:`Answer.tool_call_id`)."""
    content: list[dict] = []
    if answer.reasoning:
        content.append({"reasoningContent": {"reasoningText": {"text": answer.reasoning,
                                                               **({"signature": answer.signature}
                                                                  if answer.signature else {})}}})
    if answer.citation:
        content += citation_blocks(answer.citation)
    elif answer.text:
        content.append({"text": answer.text})
    if answer.tool_call:
        tc = answer.tool_call
        content.append({"toolUse": {"toolUseId": answer.tool_call_id(id_prefix), "name": tc["name"],
                                    "input": tc["input"]}})
    return content


def citation_blocks(citation: dict) -> list[dict]:
    """The lead text block and the ``citationsContent`` block of a cited answer."""
    return [{"text": citation["lead"]},
            {"citationsContent": {"content": [{"text": citation["text"]}], "citations": [citation_of(citation)]}}]


def citation_of(citation: dict) -> dict:
    """Converse's ``Citation`` of a cited span (a ``documentChar`` location)."""
    return {"title": citation["title"], "sourceContent": [{"text": citation["text"]}],
            "location": {"documentChar": {"documentIndex": citation["document_index"], "start": citation["start"],
                                          "end": citation["end"]}}}


def converse_usage(answer: Answer, cache_suffix: str = "InputTokens") -> dict:
    """Converse's ``usage`` (``inputTokens`` counts only the uncached part); Nova's InvokeModel body
    spells the cache fields ``cache…InputTokenCount``."""
    usage = {"inputTokens": answer.input_tokens, "outputTokens": answer.output_tokens,
             "totalTokens": answer.total_tokens, f"cacheRead{cache_suffix}": answer.cache.read,
             f"cacheWrite{cache_suffix}": answer.cache.write}
    if cache_suffix == "InputTokens" and answer.cache.details():
        usage["cacheDetails"] = answer.cache.details()
    return usage


def converse_body(answer: Answer, cache_suffix: str = "InputTokens") -> dict:
    """``output``, ``stopReason`` and ``usage`` of a ``ConverseResponse``: Nova's whole InvokeModel body
    (with its usage spelling, see :func:`converse_usage`)."""
    return {"output": {"message": {"role": "assistant", "content": converse_content(answer)}},
            "stopReason": answer.stop_reason, "usage": converse_usage(answer, cache_suffix)}


def message_events(answer: Answer) -> Iterator[tuple[str, dict]]:
    """ConverseStream's events up to ``messageStop``, in order: (event type, payload)."""
    yield "messageStart", {"role": "assistant"}
    index = 0
    if answer.reasoning:
        for piece in answer.reasoning_chunks():
            yield "contentBlockDelta", {"delta": {"reasoningContent": {"text": piece}}, "contentBlockIndex": index}
        if answer.signature:
            yield "contentBlockDelta", {"delta": {"reasoningContent": {"signature": answer.signature}},
                                        "contentBlockIndex": index}
        yield "contentBlockStop", {"contentBlockIndex": index}
        index += 1
    if answer.text:
        for piece in answer.chunks():
            yield "contentBlockDelta", {"delta": {"text": piece}, "contentBlockIndex": index}
        if answer.citation:
            yield "contentBlockDelta", {"delta": {"citation": citation_of(answer.citation)}, "contentBlockIndex": index}
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


def converse_output(call: Call, latency_ms: int, body: Mapping[str, Any] | None = None,
                    trace: dict | None = None) -> dict:
    """A ``ConverseResponse`` for a call (``body``: the request, whose echoed fields it repeats;
    ``trace``: the ``trace`` to report, e.g. a guardrail's)."""
    out: dict[str, Any] = {**converse_body(call.answer), "metrics": {"latencyMs": latency_ms}}
    if trace:
        out["trace"] = trace
    if body and body.get("additionalModelResponseFieldPaths"):
        out["additionalModelResponseFields"] = {}
    if body and body.get("performanceConfig"):
        out["performanceConfig"] = body["performanceConfig"]
    if body and body.get("serviceTier"):
        out["serviceTier"] = body["serviceTier"]
    return out


def converse_events(call: Call, start: float, trace: dict | None = None) -> Iterator[tuple[str, dict]]:
    """ConverseStream's events, in order: (event type, payload); ``start`` is when the request came in,
    ``trace`` goes into the ``metadata`` event."""
    yield from message_events(call.answer)
    metadata = {"usage": converse_usage(call.answer), "metrics": {"latencyMs": elapsed_ms(start)}}
    yield "metadata", {**metadata, "trace": trace} if trace else metadata
