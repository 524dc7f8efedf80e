"""What the two OpenAI formats of the local service (Chat Completions, Responses) share.

* the error of a bad request, in OpenAI's words and codes (:func:`invalid`), and the field checks
  both APIs make (JSON types, integer and decimal ranges, the model's output-token limit, function
  tools);
* the pieces of the normalized conversation both build: message text, tool-call arguments, tool
  results, function tools and the tool choice.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..catalog import max_output_tokens
from ..http import OpenAIError, parse_json
from ..responder import Tool


def invalid(message: str, param: str | None = None, code: str | None = "invalid_value",
            status: int = 400) -> OpenAIError:
    """A bad-request error in OpenAI's shape."""
    return OpenAIError(status, message, param=param, code=code)


_JSON_TYPES = {str: "a string", bool: "a boolean", int: "an integer", float: "a decimal", list: "an array",
               dict: "an object", type(None): "null"}


def check_types(body: dict, expected: dict) -> None:
    """OpenAI's ``invalid_type`` error for a field of the wrong JSON type (null means "not given")."""
    for name, kinds in expected.items():
        value = body.get(name)
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if value is None or (isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)):
            continue
        want = " or ".join(_JSON_TYPES[k] for k in kinds)
        raise invalid(f"Invalid type for '{name}': expected {want}, but got {_JSON_TYPES.get(type(value), 'a value')} "
                      f"instead.", name, "invalid_type")


def check_int(body: dict, name: str, minimum: int) -> None:
    """``body[name]``, when given, is an integer of at least ``minimum``."""
    value = body.get(name)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(f"Invalid type for '{name}': expected an integer, but got {type(value).__name__} instead.",
                      name, "invalid_type")
    if value < minimum:
        raise invalid(f"Invalid '{name}': integer below minimum value. Expected a value >= {minimum}, but got "
                      f"{value} instead.", name, "integer_below_min_value")


def check_decimal(body: dict, name: str, low: float, high: float) -> None:
    """``body[name]``, when given, is a number between ``low`` and ``high``."""
    value = body.get(name)
    if value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise invalid(f"Invalid type for '{name}': expected a decimal, but got {type(value).__name__} instead.",
                      name, "invalid_type")
    if value < low:
        raise invalid(f"Invalid '{name}': decimal below minimum value. Expected a value >= {low:g}, but got "
                      f"{value:g} instead.", name, "decimal_below_min_value")
    if value > high:
        raise invalid(f"Invalid '{name}': decimal above maximum value. Expected a value <= {high:g}, but got "
                      f"{value:g} instead.", name, "decimal_above_max_value")


def check_limit(entry: dict, value: int | None, name: str) -> None:
    """A requested output-token count within the model's limit."""
    limit = max_output_tokens(entry)
    if value is not None and value > limit:
        raise invalid(f"{name} is too large: {value}. This model supports at most {limit} completion tokens, "
                      f"whereas you provided {value}.", name)


def check_function_tools(tools: Any, flat: bool) -> None:
    """Every tool has a ``type``; every function tool a name (``flat``: Responses' ``{"type", "name"}``
    rather than Chat's ``{"type", "function": {"name"}}``)."""
    if tools is None:
        return
    if not isinstance(tools, list):
        raise invalid("Invalid type for 'tools': expected an array.", "tools", "invalid_type")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or "type" not in tool:
            raise invalid(f"Missing required parameter: 'tools[{i}].type'.", f"tools[{i}].type",
                          "missing_required_parameter")
        if tool["type"] == "function":
            fn = tool if flat else tool.get("function") or {}
            if not isinstance(fn.get("name"), str) or not fn["name"]:
                where = f"tools[{i}].name" if flat else f"tools[{i}].function.name"
                raise invalid(f"Missing required parameter: '{where}'.", where, "missing_required_parameter")


# --------------------------------------------------------------------------------------------------
# Pieces of the normalized conversation


def content_text(content: Any) -> str:
    """The text of an OpenAI message ``content`` (a string or a list of text parts; None is "")."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content
                         if isinstance(p, Mapping) and p.get("type") in ("text", "input_text", "output_text"))
    raise ValueError("message content must be a string or a list of content parts")


def arguments(raw: Any) -> Any:
    """A tool call's ``arguments`` JSON string as a value (kept as the string when it is not JSON)."""
    if raw is None or raw == "":
        return {}
    if not isinstance(raw, str):
        raise ValueError("function call arguments must be a JSON string")
    try:
        return parse_json(raw)
    except ValueError:
        return raw


def append_tool_result(messages: list[dict], tool_use_id: Any, text: str) -> None:
    """Add a tool result to ``messages``: consecutive results make one user message of ``toolResult``
    blocks, as Converse carries them (Chat ``tool`` messages, Responses ``function_call_output`` items)."""
    block = {"toolResult": {"toolUseId": tool_use_id, "content": [{"text": text}]}}
    last = messages[-1] if messages else None
    if last and last["role"] == "user" and last["content"] and all("toolResult" in b for b in last["content"]):
        last["content"].append(block)
    else:
        messages.append({"role": "user", "content": [block]})


def function_tools(tools: Sequence[Mapping[str, Any]]) -> list[Tool]:
    """Tools from OpenAI ``tools`` (Chat ``{"type": "function", "function": {…}}`` or Responses'
    flat ``{"type": "function", "name", …}``); other tool types are skipped."""
    out = []
    for t in tools:
        if not isinstance(t, Mapping) or t.get("type", "function") != "function":
            continue
        fn = t.get("function", t)
        if not isinstance(fn, Mapping) or not isinstance(fn.get("name"), str):
            continue  # the API in front reports a malformed tool
        params = fn.get("parameters")
        out.append(Tool(fn["name"], fn.get("description") or "",
                        params if isinstance(params, Mapping) else {"type": "object", "properties": {}}))
    return out


def tool_choice(choice: Any) -> str:
    """Responder tool choice from OpenAI's ``tool_choice`` (``auto|none|required`` or a named function)."""
    if choice in (None, "auto"):
        return "auto"
    if choice == "none":
        return "none"
    if choice == "required":
        return "any"
    if isinstance(choice, Mapping):
        return (choice.get("function") or {}).get("name") or choice.get("name") or "auto"
    return "auto"
