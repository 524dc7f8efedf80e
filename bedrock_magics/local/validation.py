"""Request validation of Bedrock's runtime APIs, in the words real Bedrock uses.

Two styles, as the service has them:

* Converse and the other AWS JSON shapes report constraint failures like every AWS JSON API —
  ``2 validation errors detected: Value '1.5' at 'inferenceConfig.temperature' failed to satisfy
  constraint: Member must …`` (:class:`Violations`; Converse's own checks are in
  :mod:`bedrock_magics.local.wire.converse`).
* InvokeModel bodies are checked against a JSON schema per model family and reported in the
  wording of the everit validator: ``Malformed input request: #: required key [max_tokens] not
  found, please reformat your input and try again.`` (:func:`check_body`; the schemas live with the
  family codecs in :mod:`bedrock_magics.local.wire.invoke`).

Both end with the same output-token limit of the model (:func:`check_max_tokens`, the catalog's
:func:`~bedrock_magics.local.catalog.max_output_tokens`).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from .catalog import max_output_tokens
from .http import AwsError
from .responder import Call



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
# AWS JSON constraint failures


class Violations:
    """Collects constraint failures and raises them as Bedrock's "N validation errors detected"."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, value: Any, path: str, constraint: str, *, sensitive: bool = False) -> None:
        """Record that ``value`` at ``path`` fails ``Member must <constraint>``. A ``sensitive``
        member's value is never shown (AWS writes ``Value at '…'``)."""
        self.fail(value, path, f"Member must {constraint}", sensitive=sensitive)

    def fail(self, value: Any, path: str, constraint: str, *, sensitive: bool = False) -> None:
        """Record that ``value`` at ``path`` fails ``constraint`` (the whole wording, e.g. ``Map keys
        must satisfy constraint: [...]``)."""
        if sensitive:
            shown = ""
        else:
            shown = " null" if value is None else f" '{_num(value) if isinstance(value, (int, float)) else value}'"
        self.items.append(f"Value{shown} at '{path}' failed to satisfy constraint: {constraint}")

    def raise_any(self) -> None:
        """Raise the collected failures as one ``ValidationException`` (nothing when there are none)."""
        if self.items:
            n = len(self.items)
            raise AwsError("ValidationException",
                           f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(self.items))


def check_range(errors: Violations, value: Any, path: str, low: float | None, high: float | None) -> None:
    """Record a number at ``path`` outside ``[low, high]`` (either bound may be None)."""
    if value is None:
        return
    if not _is_number(value):
        errors.add(value, path, "be a number")
        return
    if low is not None and value < low:
        errors.add(value, path, f"have value greater than or equal to {_num(low)}")
    if high is not None and value > high:
        errors.add(value, path, f"have value less than or equal to {_num(high)}")


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
