"""Client-side tool use: Python functions as tools, and the loop that runs them until the model answers.

:func:`tool_spec` turns a function into a :class:`~bedrock_magics.request.ToolSpec` whose JSON Schema
comes from the signature's type hints (``str``, ``int``, ``float``, ``bool``, ``list[X]``,
``dict``, ``Optional[X]``, ``Literal[...]``, ``Enum`` subclasses) and defaults, and whose
descriptions come from the docstring (summary line, and per-parameter text in Google, NumPy or
reST style).

:class:`Toolbox` runs a tool call safely: an exception raised by the user's function becomes a tool
result with ``status: "error"`` that the model sees, never a crash of the loop.

:class:`ToolLoop` drives the rounds: it builds each round's request from the last reply, runs the
tools the model asked for and stops at the final answer or at ``max_rounds``.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Literal, Union, get_args, get_origin

from .request import Request, ToolSpec
from .routes._common import tool_result_text

__all__ = ["DEFAULT_MAX_ROUNDS", "ToolLoop", "ToolLoopError", "ToolRound", "Toolbox", "tool_spec"]

DEFAULT_MAX_ROUNDS = 8
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what Converse and the OpenAI APIs accept as a tool name


class ToolLoopError(RuntimeError):
    """The model kept asking for tools past the round limit."""


# -- function -> schema -------------------------------------------------------------------------


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


# -- running tools ------------------------------------------------------------------------------


class Toolbox:
    """Named Python functions offered to a model, and the safe way to call them."""

    def __init__(self, functions: Iterable[Callable[..., Any]]) -> None:
        self.functions: dict[str, Callable[..., Any]] = {}
        specs = []
        for fn in functions:
            if isinstance(fn, ToolSpec):
                raise ValueError(f"tool {fn.name!r} is a ToolSpec without a function: pass the Python function itself")
            if not callable(fn):
                raise ValueError(f"tools must be Python functions, not {type(fn).__name__} ({fn!r})")
            spec = tool_spec(fn)
            if spec.name in self.functions:
                raise ValueError(f"two tools are named {spec.name!r}: tool names must be unique")
            self.functions[spec.name] = fn
            specs.append(spec)
        self.specs: tuple[ToolSpec, ...] = tuple(specs)

    def __repr__(self) -> str:
        return f"Toolbox({', '.join(self.functions)})"

    def run(self, call: dict[str, Any]) -> dict[str, Any]:
        """Run one tool call ``{"id", "name", "input"}``; returns a Converse ``toolResult`` block.

        Never raises for the tool's own failures: an unknown tool, bad arguments or an exception in
        the function give a result with ``status: "error"`` and a one-line text the model can read.
        """
        name, args = call.get("name"), call.get("input") or {}
        fn = self.functions.get(name)
        if fn is None:
            return _result(call, f"there is no tool named {name!r}; the tools are: {', '.join(self.functions)}", "error")
        if not isinstance(args, dict):
            return _result(call, f"the input of tool {name!r} must be a JSON object, not {args!r}", "error")
        try:
            bound = inspect.signature(fn).bind(**_coerce(fn, args))
        except TypeError as exc:
            return _result(call, f"bad arguments for {name}: {exc}", "error")
        try:
            output = fn(*bound.args, **bound.kwargs)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # the user's function failed: tell the model, keep the loop alive
            return _result(call, f"{type(exc).__name__}: {exc}", "error")
        return _result(call, output, "success")


def _coerce(fn: Callable[..., Any], args: dict[str, Any]) -> dict[str, Any]:
    """Arguments converted back to the types the function declared where JSON lost them (Enum, tuple)."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        return dict(args)
    out = dict(args)
    for key, value in args.items():
        hint = hints.get(key)
        if get_origin(hint) in (Union, types.UnionType):
            options = [a for a in get_args(hint) if a is not type(None)]
            hint = options[0] if len(options) == 1 else None
        if inspect.isclass(hint) and issubclass(hint, enum.Enum):
            try:
                out[key] = hint(value)
            except ValueError:
                pass  # leave it: the function sees the raw value and may say what is wrong
        elif hint is tuple or get_origin(hint) is tuple:
            out[key] = tuple(value) if isinstance(value, list) else value
        elif hint is float and isinstance(value, int) and not isinstance(value, bool):
            out[key] = float(value)
    return out


def _result(call: dict[str, Any], output: Any, status: str) -> dict[str, Any]:
    if isinstance(output, dict) and _jsonable(output):
        content = [{"json": output}]
    elif isinstance(output, str):
        content = [{"text": output}]
    elif output is None:
        content = [{"text": "(no output)"}]
    elif _jsonable(output):
        content = [{"text": json.dumps(output)}]
    else:
        content = [{"text": str(output)}]
    return {"toolResult": {"toolUseId": call.get("id"), "content": content, "status": status}}


# -- the loop ------------------------------------------------------------------------------------


@dataclass
class ToolRound:
    """One round of a tool loop: the reply, and the tool calls it asked for with their results.

    ``calls`` holds ``{"id", "name", "input", "output", "status"}`` per tool call (empty on the final
    round, whose reply is the answer).
    """

    number: int
    reply: Any
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return not self.calls


class ToolLoop:
    """Drives a tool conversation: ``request = loop.first``; then ``request = loop.next(reply)`` until None.

    With ``stateful=True`` (mantle Responses) each follow-up request carries only the new messages and
    the last reply's ``response_id`` as ``previous_response_id``; otherwise it carries the whole
    conversation. ``messages`` always holds the whole conversation (for chat history).
    """

    def __init__(self, request: Request, toolbox: Toolbox, max_rounds: int = DEFAULT_MAX_ROUNDS,
                 stateful: bool = False) -> None:
        if max_rounds < 1:
            raise ValueError("max_rounds must be at least 1")
        self.toolbox = toolbox
        self.max_rounds = max_rounds
        self.stateful = stateful
        self.first = replace(request, tools=toolbox.specs)
        self._request = self.first
        self.messages: list[dict[str, Any]] = list(request.messages)
        self.rounds: list[ToolRound] = []

    def next(self, reply: Any) -> Request | None:
        """Record ``reply``; run the tools it asks for and return the next request, or None when done.

        Raises:
            ToolLoopError: the model still asks for tools after ``max_rounds`` rounds.
        """
        number = len(self.rounds) + 1
        calls = list(reply.tool_calls or []) if reply.ok else []
        if reply.message is not None:
            self.messages.append(reply.message)
        elif reply.ok:
            self.messages.append({"role": "assistant", "content": [{"text": reply.text}]})
        if not calls:
            self.rounds.append(ToolRound(number, reply))
            return None
        if number >= self.max_rounds:
            self.rounds.append(ToolRound(number, reply))
            raise ToolLoopError(f"the model still asked for tools after {self.max_rounds} rounds; "
                                f"raise max_rounds or make the tools' results answer the question")
        if reply.message is None:
            # The route gave no assistant turn: rebuild it so the tool results have a turn to answer.
            self.messages[-1] = {"role": "assistant", "content": (
                ([{"text": reply.text}] if reply.text else [])
                + [{"toolUse": {"toolUseId": c["id"], "name": c["name"], "input": c.get("input") or {}}} for c in calls])}
        results = [self.toolbox.run(call) for call in calls]
        self.rounds.append(ToolRound(number, reply, [
            {"id": call.get("id"), "name": call.get("name"), "input": call.get("input"),
             "output": tool_result_text(block["toolResult"]), "status": block["toolResult"]["status"]}
            for call, block in zip(calls, results)]))
        turn = {"role": "user", "content": results}
        self.messages.append(turn)
        if self.stateful and reply.response_id:
            self._request = replace(self._request, messages=(turn,), previous_response_id=reply.response_id)
        else:
            self._request = replace(self._request, messages=tuple(self.messages), previous_response_id=None)
        return self._request
