"""Python functions as tools: :func:`tool_spec` turns a function into a
:class:`~bedrock_magics.request.ToolSpec` whose JSON Schema comes from the signature's type hints
(``str``, ``int``, ``float``, ``bool``, ``list[X]``, ``dict``, ``Optional[X]``, ``Literal[...]``,
``Enum`` subclasses) and defaults, and whose descriptions come from the docstring (summary line,
and per-parameter text in Google, NumPy or reST style). Running the tools is :mod:`bedrock_magics.tools`'s job.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from typing import Any, Callable, Literal, Union, get_args, get_origin

from .request import ToolSpec

__all__ = ["parse_docstring", "tool_spec"]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what Converse and the OpenAI APIs accept as a tool name


def _schema(hint: Any) -> dict[str, Any]:
    """The JSON Schema of one type hint (unknown or missing hints accept anything)."""
    if hint is inspect.Parameter.empty or hint is Any:
        return {}
    if hint is None or hint is type(None):
        return {"type": "null"}
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(options) == 1:
            return _schema(options[0])  # Optional[X]: the model may omit it; null is not useful to it
        return {"anyOf": [_schema(arg) for arg in options]}
    if origin is Literal:
        values = list(get_args(hint))
        schema: dict[str, Any] = {"enum": values}
        kinds = {type(v) for v in values}
        if len(kinds) == 1:
            schema.update(_schema(kinds.pop()))
        return schema
    if origin is typing.Annotated:
        base, *meta = get_args(hint)
        schema = _schema(base)
        text = next((m for m in meta if isinstance(m, str)), None)
        if text:
            schema["description"] = text
        return schema
    if inspect.isclass(hint) and issubclass(hint, enum.Enum):
        values = [member.value for member in hint]
        schema = {"enum": values}
        kinds = {type(v) for v in values}
        if len(kinds) == 1:
            schema.update(_schema(kinds.pop()))
        return schema
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if hint is str:
        return {"type": "string"}
    container = origin or hint
    if container in (list, tuple, set, frozenset, typing.Sequence, typing.List) or (
            inspect.isclass(container) and issubclass(container, (list, tuple, set, frozenset))):
        args = [a for a in get_args(hint) if a is not Ellipsis]
        schema = {"type": "array"}
        if len(args) == 1 or (args and all(a == args[0] for a in args)):
            schema["items"] = _schema(args[0])
        return schema
    if container in (dict, typing.Mapping, typing.Dict) or (inspect.isclass(container) and issubclass(container, dict)):
        args = get_args(hint)
        schema = {"type": "object"}
        if len(args) == 2 and _schema(args[1]):
            schema["additionalProperties"] = _schema(args[1])
        return schema
    return {}


_GOOGLE_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments)\s*:\s*$")
_GOOGLE_ITEM = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_NUMPY_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
_NUMPY_ITEM = re.compile(r"^\s*\*{0,2}(\w+)\s*(?::\s*(.*))?$")
_REST_PARAM = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_SECTION_END = re.compile(r"^\s*(Returns?|Yields?|Raises?|Examples?|Notes?|See Also|References|Attributes)\s*:?\s*$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The summary (first paragraph) and per-parameter descriptions of a docstring.

    Google (``Args:`` then ``name (type): text``), NumPy (``Parameters`` / ``----------`` then
    ``name : type`` and an indented text) and reST (``:param name: text``) styles are understood.
    """
    text = inspect.cleandoc(doc or "")
    if not text:
        return "", {}
    lines = text.splitlines()
    summary_lines: list[str] = []
    for line in lines:
        if not line.strip() or _GOOGLE_HEADER.match(line) or _REST_PARAM.match(line):
            break
        summary_lines.append(line.strip())
    summary = " ".join(summary_lines)

    params: dict[str, str] = {}
    current: str | None = None
    mode: str | None = None  # "google" | "numpy"
    base_indent = item_indent = 0
    for index, line in enumerate(lines):
        rest = _REST_PARAM.match(line)
        if rest:
            current, mode = rest.group(1), "rest"
            params[current] = rest.group(2).strip()
            continue
        if _GOOGLE_HEADER.match(line):
            mode, current = "google", None
            continue
        nxt = lines[index + 1] if index + 1 < len(lines) else ""
        if line.strip() in ("Parameters", "Other Parameters") and _NUMPY_UNDERLINE.match(nxt):
            mode, current = "numpy", None
            base_indent = len(line) - len(line.lstrip())
            continue
        if mode is None:
            continue
        if _SECTION_END.match(line) or (mode == "numpy" and _NUMPY_UNDERLINE.match(nxt) and line.strip()):
            mode, current = None, None
            continue
        if mode == "numpy" and _NUMPY_UNDERLINE.match(line):
            continue
        if not line.strip():
            if mode == "google":
                current = None
            continue
        indent = len(line) - len(line.lstrip())
        if mode == "google":
            item = _GOOGLE_ITEM.match(line)
            # A new item sits at the items' indent; deeper lines continue the current description.
            if item and (current is None or indent <= item_indent):
                current = item.group(1)
                params[current] = item.group(3).strip()
                item_indent = indent
            elif current:
                params[current] = (params[current] + " " + line.strip()).strip()
        elif mode == "numpy":
            item = _NUMPY_ITEM.match(line)
            if indent <= base_indent and item:
                current = item.group(1)
                params[current] = ""
            elif current:
                params[current] = (params[current] + " " + line.strip()).strip()
        elif mode == "rest" and current and indent > 0:
            params[current] = (params[current] + " " + line.strip()).strip()
    return summary, params


def tool_spec(fn: Callable[..., Any], name: str | None = None, description: str | None = None) -> ToolSpec:
    """The :class:`ToolSpec` of a Python function: name, docstring summary, JSON Schema of its parameters.

    Parameters without a default are required; ``*args``/``**kwargs`` are not offered to the model.

    Raises:
        ValueError: the name is not a valid tool name, or the function has no docstring and no
            description was given (a model cannot use a tool it cannot read about).
    """
    name = name or getattr(fn, "__name__", None) or type(fn).__name__
    if not _NAME.match(name):
        raise ValueError(f"tool name {name!r} is not valid: use letters, digits, '_' or '-' (at most 64)")
    summary, param_docs = parse_docstring(inspect.getdoc(fn))
    description = description or summary
    if not description:
        raise ValueError(f"tool {name!r} has no docstring: add one saying what it does, so the model can use it")
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = getattr(fn, "__annotations__", {}) or {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        schema = dict(_schema(hints.get(param.name, param.annotation)))
        if param.name in param_docs and param_docs[param.name]:
            schema["description"] = param_docs[param.name]
        if param.default is not param.empty:
            default = param.default.value if isinstance(param.default, enum.Enum) else param.default
            if _jsonable(default) and default is not None:
                schema["default"] = default
        else:
            required.append(param.name)
        properties[param.name] = schema
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    return ToolSpec(name=name, description=description, parameters=parameters)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
