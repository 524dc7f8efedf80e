"""Control-plane requests checked against botocore's ``bedrock`` model, in AWS's own words.

:func:`validate` walks an operation's input shape — required members, lengths, ranges, patterns,
enums, unions — and raises one ``ValidationException`` listing every violation the way AWS does:
``2 validation errors detected: Value 'x' at 'name' failed to satisfy constraint: Member must …``.
A sensitive member's value is never repeated (``Value at 'name' …``), as on AWS. Types are
botocore's business: the client has checked them before sending.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Iterator

from .http import AwsError


@lru_cache(maxsize=1)
def _service_model():
    import botocore.session

    return botocore.session.get_session().get_service_model("bedrock")


def _input_shape(operation: str):
    return _service_model().operation_model(operation).input_shape


def _constraint_errors(shape: Any, value: Any, path: str) -> Iterator[str]:
    """AWS-style constraint violations of ``value`` against a botocore shape (required members,
    lengths, ranges, patterns, enums, unions), recursively. Types are botocore's business: the
    client has already checked them, and a wrong type here fails on the first constraint."""
    if value is None:
        return
    meta = shape.metadata
    if meta.get("sensitive"):
        shown = ""  # AWS never repeats a sensitive member's value: "Value at 'name' ..."
    else:
        shown = " " + (f"'{value}'" if not isinstance(value, (dict, list)) else "'" + json.dumps(value) + "'")
    if shape.type_name == "structure":
        if not isinstance(value, dict):
            yield f"Value{shown} at '{path}' failed to satisfy constraint: Member must be a structure"
            return
        for name in shape.required_members:
            if value.get(name) is None:
                yield f"Value null at '{_join(path, name)}' failed to satisfy constraint: Member must not be null"
        if meta.get("union") and sum(v is not None for v in value.values()) != 1:
            yield f"Value{shown} at '{path}' failed to satisfy constraint: Member must have exactly one member set"
        for name, member in shape.members.items():
            yield from _constraint_errors(member, value.get(name), _join(path, name))
    elif shape.type_name == "list":
        if isinstance(value, list):
            yield from _length_errors(meta, len(value), shown, path)
            for i, item in enumerate(value):
                yield from _constraint_errors(shape.member, item, f"{path}.{i + 1}.member")
    elif shape.type_name == "string":
        text = str(value)
        yield from _length_errors(meta, len(text), shown, path)
        if "pattern" in meta and not re.fullmatch(meta["pattern"], text):
            yield (f"Value{shown} at '{path}' failed to satisfy constraint: "
                   f"Member must satisfy regular expression pattern: {meta['pattern']}")
        if shape.enum and text not in shape.enum:
            yield (f"Value{shown} at '{path}' failed to satisfy constraint: "
                   f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    elif shape.type_name in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            yield f"Value{shown} at '{path}' failed to satisfy constraint: Member must be a number"
            return
        if "min" in meta and value < meta["min"]:
            yield f"Value{shown} at '{path}' failed to satisfy constraint: Member must have value greater than or equal to {meta['min']}"
        if "max" in meta and value > meta["max"]:
            yield f"Value{shown} at '{path}' failed to satisfy constraint: Member must have value less than or equal to {meta['max']}"


def _length_errors(meta: dict, n: int, shown: str, path: str) -> Iterator[str]:
    if "min" in meta and n < meta["min"]:
        yield f"Value{shown} at '{path}' failed to satisfy constraint: Member must have length greater than or equal to {meta['min']}"
    if "max" in meta and n > meta["max"]:
        yield f"Value{shown} at '{path}' failed to satisfy constraint: Member must have length less than or equal to {meta['max']}"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def validate(operation: str, params: dict) -> None:
    """Raise ValidationException listing every constraint ``params`` violates."""
    errors = list(_constraint_errors(_input_shape(operation), params, ""))
    if errors:
        n = len(errors)
        raise AwsError("ValidationException",
                       f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(errors))
