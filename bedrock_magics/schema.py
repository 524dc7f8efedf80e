"""Structured output (``--schema``): a pydantic model, TypedDict, dataclass or JSON-Schema dict
turned into the JSON Schema a route sends, and the reply's JSON validated back into the object.

pydantic's ``TypeAdapter`` makes the schema of a class and validates against it; a plain JSON
Schema dict is checked and validated with ``jsonschema`` (so a dict gives a dict back). Nothing
here does I/O; pydantic and jsonschema are imported when a schema is first made.
"""

from __future__ import annotations

import dataclasses
import json
import re
import weakref
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OutputSchema", "SchemaError", "as_schema", "column_dtype"]


class SchemaError(ValueError):
    """The model's answer is not JSON that fits the schema (one line: what and where)."""


# JSON type -> the pandas dtype of its --df column (nullable, so a failed row is <NA>).
_DTYPES = {"integer": "Int64", "number": "Float64", "boolean": "boolean", "string": "string"}
_NAME = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class OutputSchema:
    """What a reply must fit: ``name`` (a wire-safe identifier), ``json_schema`` (what is sent) and
    the user's ``target`` (what :meth:`validate` builds)."""

    name: str
    json_schema: dict[str, Any]
    target: Any = field(compare=False, repr=False)

    @property
    def fields(self) -> dict[str, str]:
        """``field -> pandas dtype`` of the top-level properties (the ``--df`` columns)."""
        props = self.json_schema.get("properties") or {}
        return {name: column_dtype(spec, self.json_schema) for name, spec in props.items()}

    def parse(self, text: str) -> Any:
        """The JSON value in ``text`` (a model may wrap it in a code fence); :class:`SchemaError` if none."""
        body = text.strip()
        fence = re.match(r"^```(?:json)?\s*(.*?)\s*```$", body, re.DOTALL)
        if fence:
            body = fence.group(1)
        try:
            return json.loads(body)
        except ValueError as exc:
            raise SchemaError(f"the answer is not JSON ({exc.msg} at character {exc.pos}); it must fit schema "
                              f"{self.name!r}.") from None

    def validate(self, text: str) -> Any:
        """The validated object of an answer: a pydantic instance, a dataclass instance or a dict.
        :class:`SchemaError` (one line) when it is not JSON or does not fit."""
        value = self.parse(text)
        if isinstance(self.target, dict):
            import jsonschema

            error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(self.target).iter_errors(value))
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
                raise SchemaError(f"the answer does not fit schema {self.name!r}: {where}: {error.message}.")
            return value
        from pydantic import TypeAdapter, ValidationError

        try:
            return TypeAdapter(self.target).validate_python(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "(top level)"
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            raise SchemaError(f"the answer does not fit schema {self.name!r}: {where}: {first.get('msg')}{more}.") \
                from None

    def row(self, data: Any) -> dict[str, Any]:
        """The top-level fields of a validated object, as ``--df`` column values."""
        if hasattr(data, "model_dump"):
            values = data.model_dump(mode="json")
        elif dataclasses.is_dataclass(data) and not isinstance(data, type):
            values = dataclasses.asdict(data)
        else:
            values = dict(data) if isinstance(data, dict) else {}
        return {name: values.get(name) for name in self.fields}


def column_dtype(spec: Any, root: dict[str, Any] | None = None) -> str:
    """The pandas dtype of a column holding values of JSON Schema ``spec`` (``object`` for others)."""
    if isinstance(spec, dict) and "$ref" in spec and root:
        spec = (root.get("$defs") or {}).get(spec["$ref"].rsplit("/", 1)[-1], {})
    if not isinstance(spec, dict):
        return "object"
    kind = spec.get("type")
    if kind is None and spec.get("anyOf"):  # Optional[X] -> anyOf [X, null]
        kinds = [s.get("type") for s in spec["anyOf"] if isinstance(s, dict) and s.get("type") != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if "enum" in spec and kind in (None, "string"):
        return "string"
    return _DTYPES.get(kind, "object")


def _closed(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` on every object that does not say otherwise
    (Bedrock's and OpenAI's strict structured output require it)."""
    if isinstance(schema, dict):
        out = {key: _closed(value) for key, value in schema.items()}
        if out.get("type") == "object" and "properties" in out:
            out.setdefault("additionalProperties", False)
        return out
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


def _pydantic_typeddict(value: Any) -> Any:
    """pydantic refuses ``typing.TypedDict`` before Python 3.12: the same class remade with
    ``typing_extensions.TypedDict`` (anything else unchanged)."""
    if not (hasattr(value, "__total__") and type(value).__module__ == "typing"):
        return value
    import typing

    import typing_extensions

    return typing_extensions.TypedDict(value.__name__, typing.get_type_hints(value), total=value.__total__)


#: The schemas made of classes, by class and name: pydantic's JSON-Schema generation costs about a
#: millisecond, once per class rather than once per call (a class redefined in a cell is a new key).
_MADE: "weakref.WeakKeyDictionary[type, dict[str | None, OutputSchema]]" = weakref.WeakKeyDictionary()


def as_schema(value: Any, name: str | None = None) -> OutputSchema:
    """An :class:`OutputSchema` from a pydantic model, a TypedDict, a dataclass or a JSON-Schema dict;
    ``ValueError`` (one line) for anything else, or for a schema whose top level is not an object."""
    if isinstance(value, OutputSchema):
        return value
    if not isinstance(value, type):
        return _made(value, name)
    made = _MADE.get(value, {}).get(name)
    if made is None:
        made = _made(value, name)
        _MADE.setdefault(value, {})[name] = made
    return made


def _made(value: Any, name: str | None) -> OutputSchema:
    label = name or getattr(value, "__name__", None) or (value.get("title") if isinstance(value, dict) else None) \
        or "answer"
    if isinstance(value, dict):
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(value)
        except jsonschema.exceptions.SchemaError as exc:
            raise ValueError(f"schema {label!r} is not a valid JSON Schema: {exc.message}") from None
        json_schema = dict(value)
    elif isinstance(value, type) and (hasattr(value, "model_json_schema") or dataclasses.is_dataclass(value)
                                      or hasattr(value, "__annotations__") and hasattr(value, "__total__")):
        from pydantic import TypeAdapter

        value = _pydantic_typeddict(value)
        try:
            json_schema = TypeAdapter(value).json_schema()
        except Exception as exc:  # noqa: BLE001 - pydantic's own message says which field
            raise ValueError(f"schema {label!r} cannot be made a JSON Schema: {type(exc).__name__}: "
                             f"{str(exc).splitlines()[0]}") from None
    else:
        raise ValueError(f"--schema takes a pydantic model, a TypedDict, a dataclass or a JSON-Schema dict, "
                         f"not {type(value).__name__}")
    if json_schema.get("type") != "object":
        raise ValueError(f"schema {label!r} must describe a JSON object (its top level has type "
                         f"{json_schema.get('type')!r}); wrap the value in a model with one field")
    wire_name = _NAME.sub("_", str(label))[:64] or "answer"
    return OutputSchema(wire_name, _closed(json_schema), value)
