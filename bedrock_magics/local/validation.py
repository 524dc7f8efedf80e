"""Request validation of Bedrock's native runtime APIs, in the words real Bedrock uses.

Two styles, as the service has them:

* Converse (and ConverseStream, CountTokens ``converse``, batch ``Converse`` records) checks its
  request shape like every AWS JSON API — ``2 validation errors detected: Value '1.5' at
  'inferenceConfig.temperature' failed to satisfy constraint: Member must …`` — and then the
  conversation itself in plain sentences (:func:`converse_call`).
* InvokeModel bodies are checked against a JSON schema per model family and reported in the
  wording of the everit validator: ``Malformed input request: #: required key [max_tokens] not
  found, please reformat your input and try again.`` (:func:`check_body`; the schemas live with the
  family codecs in :mod:`bedrock_magics.local.families`).

Both end with the same output-token limit of the model (:func:`check_max_tokens`, the catalog's
:func:`~bedrock_magics.local.catalog.max_output_tokens`).
"""

from __future__ import annotations

import json
import re
from itertools import pairwise
from typing import Any, Mapping

from .catalog import max_output_tokens
from .http import AwsError
from .responder import Call, Tool

NOT_FIRST_USER = ("A conversation must start with a user message. Try again with a conversation that starts "
                  "with a user message.")
NOT_ALTERNATING = ("A conversation must alternate between user and assistant roles. Make sure the conversation "
                   "alternates between user and assistant roles and try again.")
NO_TOOL_CONFIG = "The toolConfig field must be defined when using toolUse and toolResult content blocks."


def too_many_tokens(limit: int) -> AwsError:
    """The error for a ``maxTokens`` above the model's limit (the message names the limit)."""
    return AwsError("ValidationException", f"The maximum tokens you requested exceeds the model limit of {limit}. "
                                           f"Try again with a maximum tokens value that is lower than {limit}.")


def check_max_tokens(call: Call) -> None:
    """Raise :func:`too_many_tokens` when the call asks for more output than its model gives."""
    limit = max_output_tokens(call.model)
    if call.max_tokens is not None and call.max_tokens > limit:
        raise too_many_tokens(limit)


def malformed(*violations: str) -> AwsError:
    """InvokeModel's body error: ``Malformed input request: <violations>, please reformat …``."""
    return AwsError("ValidationException",
                    f"Malformed input request: {''.join(violations)}, please reformat your input and try again.")


def _num(value: Any) -> str:
    """A number as Java prints it in Bedrock's messages (1.0 → 1)."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else json.dumps(value)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# --------------------------------------------------------------------------------------------------
# Converse


class Violations:
    """Collects constraint failures and raises them as Bedrock's "N validation errors detected"."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, value: Any, path: str, constraint: str) -> None:
        """Record that ``value`` at ``path`` fails ``Member must <constraint>``."""
        shown = " null" if value is None else f" '{_num(value) if isinstance(value, (int, float)) else value}'"
        self.items.append(f"Value{shown} at '{path}' failed to satisfy constraint: Member must {constraint}")

    def raise_any(self) -> None:
        """Raise the collected failures as one ``ValidationException`` (nothing when there are none)."""
        if self.items:
            n = len(self.items)
            raise AwsError("ValidationException",
                           f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(self.items))


def _check_range(errors: Violations, value: Any, path: str, low: float | None, high: float | None) -> None:
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
    check_max_tokens(call)
    return call


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
        _check_range(errors, max_tokens, "inferenceConfig.maxTokens", 1, None)
    _check_range(errors, config.get("temperature"), "inferenceConfig.temperature", 0, 1)
    _check_range(errors, config.get("topP"), "inferenceConfig.topP", 0, 1)
    stop = config.get("stopSequences") or []
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        errors.add(None, "inferenceConfig.stopSequences", "be a list of strings")
        stop = []
    elif len(stop) > 2500:
        errors.add(None, "inferenceConfig.stopSequences", "have length less than or equal to 2500")
    return max_tokens, stop


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
# JSON-schema checks of InvokeModel bodies (Bedrock reports them in everit's words)

_TYPE_NAMES = {"string": "String", "number": "Number", "integer": "Integer", "boolean": "Boolean",
               "array": "JSONArray", "object": "JSONObject", "null": "Null"}
_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "number": _is_number,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


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


def strict(required: list[str], **props: Any) -> dict:
    """The schema of a JSON object with these properties and no others."""
    return {"type": "object", "required": required, "additionalProperties": False, "properties": props}


def schema_violations(value: Any, schema: Mapping[str, Any], path: str = "#") -> list[str]:
    """Violations of a small JSON-schema subset, worded like the everit validator Bedrock uses."""
    kinds = schema.get("type")
    if kinds:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_TYPE_CHECKS[k](value) for k in kinds):
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
