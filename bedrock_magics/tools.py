"""Client-side tool use: Python functions as tools, and the loop that runs them until the model answers.

:func:`~bedrock_magics.toolspec.tool_spec` (re-exported here) turns a function into a
:class:`~bedrock_magics.request.ToolSpec`.

:class:`Toolbox` runs a tool call safely: an exception raised by the user's function becomes a tool
result with ``status: "error"`` that the model sees, never a crash of the loop.

:class:`ToolLoop` drives the rounds: it builds each round's request from the last reply, runs the
tools the model asked for and stops at the final answer or at ``max_rounds``.
"""

from __future__ import annotations

import enum
import inspect
import json
import types
import typing
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Union, get_args, get_origin

from .request import Request, ToolSpec
from .routes._common import tool_result_text
from .toolspec import _jsonable, tool_spec

__all__ = ["DEFAULT_MAX_ROUNDS", "ToolLoop", "ToolLoopError", "ToolRound", "Toolbox", "tool_spec"]

DEFAULT_MAX_ROUNDS = 8


class ToolLoopError(RuntimeError):
    """The model kept asking for tools past the round limit."""


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
        if request.extra.get("background") and toolbox.specs:
            raise ValueError("--background returns before any tool could run: Python --tools need the answer in "
                             "the cell (server-side lambda:/gateway: tools are fine)")
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
