"""Mantle's server-side tools: ``mcp`` connectors spoken to over MCP JSON-RPC, and gpt-oss's built-in
``notes`` and ``tasks`` tools.

What AWS documents (*Server-side tool use*, ``tool-use-server-side.md``; see
``shared/reference/bedrock-features.md`` §1), and what this module does for the local mantle:

* A Responses request declares ``{"type": "mcp", "server_label", "connector_id": <Lambda function or
  AgentCore gateway ARN>, "require_approval": "never"}`` (``server_description`` optional). The
  function implements MCP JSON-RPC: Bedrock sends ``tools/list`` and ``tools/call`` requests as its
  event and reads the JSON-RPC response; a failing tool answers ``-32000 "Tool execution failed"``.
  Here :class:`McpClient` sends real JSON-RPC messages (JSON bytes) to the local Lambda registry
  (:mod:`.lambdas`), which hands them to the function in-process — no network hop, the same messages.
  A local AgentCore gateway (:class:`GatewayServer`) is an MCP server over several local functions.
* The response holds an ``mcp_list_tools`` item per connector (``server_label``, ``tools``), then an
  ``mcp_call`` item per server-side call (``name``, ``arguments``, ``output``, ``error``,
  ``status``), then the model's message that uses the output. A connector already listed earlier in
  the conversation (an ``mcp_list_tools`` item in the ``previous_response_id`` chain or in the input)
  is not listed again, as OpenAI's connectors do. ``usage`` adds up every round the model ran: the
  tool definitions and the calls are what a server-side tool costs (no per-call fee).
* ``notes`` and ``tasks`` are always on for ``openai.gpt-oss-20b/120b``: the model emits ``mcp_call``
  items named ``notes`` / ``tasks``; their memory lasts one conversation (the ``previous_response_id``
  chain of stored responses).

How the deterministic local model uses them (the responder's rules, see :mod:`.responder`): a
connector's tools are offered like function tools, so a prompt naming one (``get_weather
city=Paris``) calls it; its result then makes the reply ``… the tool get_weather returned …``. The
built-ins are used, on gpt-oss only and when no offered tool was called, by a prompt with a phrase
of AWS's examples: ``notes tool``, ``note that``, ``remember that``, ``the/my notes``; ``tasks
tool``, ``add/push/pop a task``, ``next task``, ``the/my tasks``, ``task list/stack``. The note or
task is the text after the first ``:``, else a quoted text, else after ``that``, else after the
phrase (less a leading ``to``); ``recall``/``read``/``list``/``show``/``check``/``what`` lists the
notes or tasks, ``pop`` pops the latest task, ``next``/``peek``/``latest`` shows it; ``key=value``
pairs (``method=list``, ``title=…``) override. Their definitions count as input tokens only in the
response that uses them. Their ``server_label`` is the tool's name (INFERRED: AWS does not say).

Errors and limits (mantle; OpenAI's own wording and codes where Bedrock's are not documented):

* ``require_approval`` missing or not ``"never"``, no ``server_label``, a duplicate label, no
  ``connector_id`` (``server_url`` is not offered), or a ``connector_id`` that is not a Lambda
  function or AgentCore gateway ARN: 400 ``invalid_request_error``;
* a connector that cannot be listed — no such local function or local gateway (:mod:`.lambdas`
  registers both), a connector whose ``tools/list`` fails: 424 ``external_connector_error``,
  ``Error retrieving tool list from MCP server: 'LABEL'. …`` (OpenAI's status and wording
  [3p: RageAgainstThePixel/OpenAI-DotNet#486]; the tail is Lambda's ``Function not found: ARN``;
  Bedrock's own error here is UNCONFIRMED — the ``aws`` suite records it);
* ``mcp_approval_request`` / ``mcp_approval_response`` input items: 400 (Bedrock runs no approvals);
* a tool that fails (an exception, bad arguments, a Lambda function error): the ``mcp_call`` item
  has ``status: "failed"`` and ``error: {"type": "mcp_protocol_error", "code": -32000, "message":
  "Tool execution failed: …"}`` (the shape of the openai SDK's ``McpToolCallError``; Bedrock's is
  UNCONFIRMED); the model reads the error;
* ``allowed_tools`` (a list of names, or ``{"tool_names": [...]}``) keeps only those tools of a
  connector, in its ``mcp_list_tools`` item and for the model;
* ``mcp`` tools on bedrock-runtime (``wire.responses.check_runtime``) and on Chat Completions
  (:func:`refuse_in_chat`) are refused: server-side tools are mantle Responses only.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Literal, Mapping, Sequence

from .http import OpenAIError
from .responder import Answer, Call, Tool, count_input, fragments
from .responder.values import Prompt
from .tokens import count as count_tokens
from .wire.openai import content_text, invalid

JSONRPC = "2.0"
#: JSON-RPC error codes (JSON-RPC 2.0 §5.1; -32000 is AWS's "Tool execution failed").
PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603
TOOL_EXECUTION_FAILED = -32000
#: The MCP protocol version the local servers announce in ``initialize``.
PROTOCOL_VERSION = "2025-06-18"
#: Output item types of server-side tools (``mcp_approval_request`` never occurs: approval must be "never").
ITEM_TYPES = ("mcp_list_tools", "mcp_call")
#: Models with the built-in notes/tasks tools (AWS: "built into the openai.gpt-oss-20b and -120b models").
BUILTIN_MODELS = ("openai.gpt-oss-20b", "openai.gpt-oss-120b")
BUILTIN_TOOLS = ("notes", "tasks")
#: Model rounds one response runs at most (each server-side call adds one; a result is always answered).
MAX_ROUNDS = 16
#: What an ``mcp`` tool's ``connector_id`` may be (AWS documents these two kinds).
GATEWAY_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:bedrock-agentcore:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:gateway/[A-Za-z0-9_-]+$")
LAMBDA_ARN_PREFIX = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:")


class McpError(Exception):
    """A JSON-RPC error answer (or a transport failure told as one)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def __str__(self) -> str:
        return f"{self.message}: {self.data}" if self.data not in (None, "") else self.message


# --------------------------------------------------------------------------------------------------
# JSON-RPC messages


def rpc_result(request_id: Any, result: dict) -> dict:
    """A JSON-RPC success response."""
    return {"jsonrpc": JSONRPC, "id": request_id, "result": result}


def rpc_error(request_id: Any, code: int, message: str, data: Any = None) -> dict:
    """A JSON-RPC error response (``data`` only when given)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": JSONRPC, "id": request_id, "error": error}


# --------------------------------------------------------------------------------------------------
# The server side: what a local Lambda (or gateway) runs


class McpServer:
    """An MCP server's JSON-RPC loop: ``handle(event, context)`` answers one request.

    Subclasses give :meth:`tools` (``tools/list``) and :meth:`call` (``tools/call``, raising
    :class:`McpError` for an error answer); ``initialize`` is answered here, other methods are
    ``-32601``, a message that is not JSON-RPC ``-32600``.
    """

    server_name = "bedrock-magics-local"

    def tools(self) -> list[dict]:
        """The ``tools/list`` result's tools (MCP ``Tool``: name, description, inputSchema)."""
        raise NotImplementedError

    def call(self, name: Any, arguments: dict) -> dict:
        """The ``tools/call`` result for tool ``name``."""
        raise NotImplementedError

    def handle(self, event: Any, context: Any = None) -> dict:
        """The JSON-RPC response to ``event`` (a Lambda handler's signature)."""
        valid = isinstance(event, Mapping) and event.get("jsonrpc") == JSONRPC and isinstance(event.get("method"), str)
        if not valid:
            return rpc_error(event.get("id") if isinstance(event, Mapping) else None, INVALID_REQUEST,
                             "Invalid Request")
        rid, method, params = event.get("id"), event["method"], event.get("params") or {}
        try:
            if method == "initialize":
                return rpc_result(rid, {"protocolVersion": PROTOCOL_VERSION, "capabilities": {"tools": {}},
                                        "serverInfo": {"name": self.server_name, "version": "1"}})
            if method == "tools/list":
                return rpc_result(rid, {"tools": self.tools()})
            if method == "tools/call":
                if not isinstance(params, Mapping) or not isinstance(params.get("arguments") or {}, Mapping):
                    raise McpError(INVALID_PARAMS, "Invalid params")
                return rpc_result(rid, self.call(params.get("name"), dict(params.get("arguments") or {})))
        except McpError as exc:
            return rpc_error(rid, exc.code, exc.message, exc.data)
        return rpc_error(rid, METHOD_NOT_FOUND, "Method not found")


class FunctionServer(McpServer):
    """Python functions served as MCP tools (what a local Lambda function runs).

    ``tools/list`` gives each function's name, docstring summary and JSON Schema (from the signature
    and type hints, as client-side tools get them: :func:`bedrock_magics.toolspec.tool_spec`, the one
    schema builder the client and the service share); ``tools/call`` runs one with the arguments as
    JSON gave them (a real Lambda function gets JSON too). A function that raises, or is given
    arguments it does not take, answers ``-32000 "Tool execution failed"`` with the reason as
    ``data`` (AWS's documented error); an unknown tool ``-32602``.
    """

    server_name = "bedrock-magics-local-lambda"

    def __init__(self, functions: Sequence[Callable[..., Any]]) -> None:
        # The documented exception to "local imports nothing from the client" (tests/test_layers.py).
        from bedrock_magics.toolspec import tool_spec

        self.functions: dict[str, Callable[..., Any]] = {}
        self.specs = []
        for fn in functions:
            if not callable(fn):
                raise ValueError(f"tools must be Python functions, not {type(fn).__name__} ({fn!r})")
            spec = tool_spec(fn)  # ValueError for an undocumented function or a bad name
            if spec.name in self.functions:
                raise ValueError(f"two tools are named {spec.name!r}: tool names must be unique")
            self.functions[spec.name] = fn
            self.specs.append(spec)

    def tools(self) -> list[dict]:
        return [{"name": s.name, "description": s.description, "inputSchema": dict(s.parameters)}
                for s in self.specs]

    def call(self, name: Any, arguments: dict) -> dict:
        fn = self.functions.get(name) if isinstance(name, str) else None
        if fn is None:
            raise McpError(INVALID_PARAMS, f"Unknown tool: {name}")
        try:
            bound = inspect.signature(fn).bind(**arguments)
        except TypeError as exc:
            raise McpError(TOOL_EXECUTION_FAILED, "Tool execution failed", f"bad arguments for {name}: {exc}") from None
        try:
            output = fn(*bound.args, **bound.kwargs)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # the function failed: the model reads why, the response goes on
            raise McpError(TOOL_EXECUTION_FAILED, "Tool execution failed", f"{type(exc).__name__}: {exc}") from None
        text, structured = _output(output)
        answer: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": False}
        if structured is not None:
            answer["structuredContent"] = structured
        return answer


def _output(output: Any) -> tuple[str, dict | None]:
    """A function's return value as its MCP result: the text (JSON for JSON values), and the value
    itself as ``structuredContent`` when it is a JSON object."""
    if isinstance(output, str):
        return output, None
    if output is None:
        return "(no output)", None
    try:
        text = json.dumps(output, sort_keys=isinstance(output, dict))
    except (TypeError, ValueError):
        return str(output), None
    return text, output if isinstance(output, dict) else None


class GatewayServer(McpServer):
    """A local AgentCore gateway: one MCP server over several targets (each an :class:`McpClient`).

    ``tools/list`` gives every target's tools named ``TARGET___TOOL`` (AgentCore's naming,
    ``gateway-tool-naming.md``); ``tools/call`` sends the call to its target under the tool's own
    name and passes the answer or the JSON-RPC error back.
    """

    server_name = "bedrock-magics-local-gateway"
    SEPARATOR = "___"

    def __init__(self, targets: Mapping[str, "McpClient"]) -> None:
        self.targets = dict(targets)

    def tools(self) -> list[dict]:
        return [{"name": f"{target}{self.SEPARATOR}{t['name']}", "description": t.get("description"),
                 "inputSchema": t["input_schema"]}
                for target, client in self.targets.items() for t in client.list_tools()]

    def call(self, name: Any, arguments: dict) -> dict:
        target, _, tool = str(name).partition(self.SEPARATOR)
        if target not in self.targets or not tool:
            raise McpError(INVALID_PARAMS, f"Unknown tool: {name}")
        text = self.targets[target].call_tool(tool, arguments)
        return {"content": [{"type": "text", "text": text}], "isError": False}


# --------------------------------------------------------------------------------------------------
# The client side: Bedrock listing and calling a connector's tools


class McpClient:
    """Sends JSON-RPC requests through ``transport`` (JSON bytes in, JSON bytes out: a Lambda Invoke)."""

    def __init__(self, transport: Callable[[bytes], bytes]) -> None:
        self.transport = transport
        self._ids = itertools.count(1)

    def request(self, method: str, params: dict | None = None) -> dict:
        """The ``result`` of one request; :class:`McpError` for an error answer or a malformed one."""
        rid = next(self._ids)
        message = {"jsonrpc": JSONRPC, "id": rid, "method": method, "params": params or {}}
        raw = self.transport(json.dumps(message).encode())
        try:
            answer = json.loads(raw)
        except ValueError:
            raise McpError(PARSE_ERROR, "Parse error", "the MCP server's answer is not JSON") from None
        if isinstance(answer, Mapping) and "errorMessage" in answer and "jsonrpc" not in answer:
            # a Lambda function error (the handler raised): the call failed as a tool failure
            raise McpError(TOOL_EXECUTION_FAILED, "Tool execution failed",
                           f"{answer.get('errorType', 'Error')}: {answer['errorMessage']}")
        if not isinstance(answer, Mapping) or answer.get("jsonrpc") != JSONRPC or answer.get("id") != rid:
            raise McpError(INTERNAL_ERROR, "Internal error", "the MCP server's answer is not a JSON-RPC response")
        if isinstance(answer.get("error"), Mapping):
            err = answer["error"]
            raise McpError(err.get("code", INTERNAL_ERROR), str(err.get("message", "")), err.get("data"))
        if not isinstance(answer.get("result"), Mapping):
            raise McpError(INTERNAL_ERROR, "Internal error", "the JSON-RPC response has no result")
        return answer["result"]

    def list_tools(self) -> list[dict]:
        """``tools/list``: the server's tools as ``mcp_list_tools`` shows them (input_schema etc.)."""
        tools = self.request("tools/list").get("tools")
        if not isinstance(tools, list):
            raise McpError(INTERNAL_ERROR, "Internal error", "tools/list returned no tools array")
        return [{"name": t["name"], "description": t.get("description"), "input_schema": t.get("inputSchema") or
                 {"type": "object", "properties": {}}, "annotations": t.get("annotations")}
                for t in tools if isinstance(t, Mapping) and isinstance(t.get("name"), str)]

    def call_tool(self, name: str, arguments: dict) -> str:
        """``tools/call``: the text of the result; :class:`McpError` when the tool failed."""
        result = self.request("tools/call", {"name": name, "arguments": arguments})
        text = content_text([{**c, "type": "text"} for c in result.get("content") or []
                             if isinstance(c, Mapping) and c.get("type") == "text"])
        if result.get("isError"):
            raise McpError(TOOL_EXECUTION_FAILED, "Tool execution failed", text)
        return text


# --------------------------------------------------------------------------------------------------
# Request checks


def check_request(body: dict) -> None:
    """A Responses request's ``mcp`` tools and server-side tool input items, as Bedrock accepts them
    (400 otherwise)."""
    check_tools(body.get("tools"))
    items = body.get("input")
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, Mapping) and item.get("type") in ("mcp_approval_response", "mcp_approval_request"):
            raise invalid(f"Invalid 'input[{i}]': {item['type']} items have no use on Bedrock, which runs server-side "
                          f"tools without approval (require_approval must be \"never\").", f"input[{i}].type")


def check_tools(tools: Any) -> None:
    """Every ``mcp`` tool of a Responses request has the shape Bedrock accepts (400 otherwise)."""
    labels: set[str] = set()
    for i, tool in enumerate(tools or []):
        if not isinstance(tool, Mapping) or tool.get("type") != "mcp":
            continue
        label = tool.get("server_label")
        if not isinstance(label, str) or not label:
            raise invalid(f"Missing required parameter: 'tools[{i}].server_label'.", f"tools[{i}].server_label",
                          "missing_required_parameter")
        if label in labels:
            raise invalid(f"Invalid 'tools[{i}].server_label': '{label}' is used by another mcp tool; each "
                          f"connector needs its own server_label.", f"tools[{i}].server_label")
        labels.add(label)
        approval = tool.get("require_approval")
        if approval is None:
            raise invalid(f"Missing required parameter: 'tools[{i}].require_approval'. Bedrock runs server-side "
                          f"tools without approval: set it to \"never\".", f"tools[{i}].require_approval",
                          "missing_required_parameter")
        if approval != "never":
            raise invalid(f"Invalid value for 'tools[{i}].require_approval': {json.dumps(approval)}. Bedrock "
                          f"supports only \"never\" for server-side tools.", f"tools[{i}].require_approval")
        connector = tool.get("connector_id")
        if connector is None:
            hint = " server_url is not supported: " if tool.get("server_url") is not None else " "
            raise invalid(f"Missing required parameter: 'tools[{i}].connector_id'.{hint}Bedrock's mcp tools name a "
                          f"Lambda function or AgentCore gateway ARN as connector_id.", f"tools[{i}].connector_id",
                          "missing_required_parameter")
        if not isinstance(connector, str) or not _connector_kind(connector):
            raise invalid(f"Invalid value for 'tools[{i}].connector_id': {json.dumps(connector)}. Expected a Lambda "
                          f"function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME) or an AgentCore gateway ARN "
                          f"(arn:aws:bedrock-agentcore:REGION:ACCOUNT:gateway/ID).", f"tools[{i}].connector_id")
        allowed = tool.get("allowed_tools")
        if allowed is not None and _allowed_names(allowed) is None:
            raise invalid(f"Invalid type for 'tools[{i}].allowed_tools': expected an array of tool names or an "
                          f"object with tool_names.", f"tools[{i}].allowed_tools", "invalid_type")


def refuse_in_chat(tools: Any) -> None:
    """Chat Completions runs no server-side tools: an ``mcp`` tool there is a 400 naming Responses."""
    for i, tool in enumerate(tools or []):
        if isinstance(tool, Mapping) and tool.get("type") == "mcp":
            raise invalid(f"Invalid value for 'tools[{i}].type': 'mcp'. Server-side (mcp) tools are available only "
                          f"with the Responses API on bedrock-mantle (POST /v1/responses); Chat Completions "
                          f"takes function tools.", f"tools[{i}].type")


def _connector_kind(connector: str) -> str | None:
    from .lambdas import FUNCTION_ARN  # lambdas imports this module

    if FUNCTION_ARN.match(connector):
        return "lambda"
    if GATEWAY_ARN.match(connector):
        return "gateway"
    return None


def _allowed_names(allowed: Any) -> set[str] | None:
    """The tool names of ``allowed_tools`` (a list, or ``{"tool_names": [...]}``); None when malformed."""
    names = allowed.get("tool_names", []) if isinstance(allowed, Mapping) else allowed
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return set(names)
    return None


# --------------------------------------------------------------------------------------------------
# Built-in notes and tasks


def builtin_functions(memory: dict) -> list[Callable[..., Any]]:
    """The ``notes`` and ``tasks`` tools, over one conversation's ``memory`` (changed in place)."""
    notes: list[str] = memory.setdefault("notes", [])
    stack: list[dict] = memory.setdefault("tasks", [])

    def notes_tool(method: Literal["add", "list"] = "add", note: str = "") -> str:
        """Store a note for this conversation, or list the notes stored so far.

        Args:
            method: "add" stores ``note``; "list" returns every note.
            note: the text to remember.
        """
        if method == "list":
            return json.dumps(notes) if notes else "No notes yet."
        if not note.strip():
            raise ValueError("a note to add needs a text")
        notes.append(note.strip())
        return f"Noted: {note.strip()} ({len(notes)} note{'s' if len(notes) != 1 else ''} in this conversation)"

    def tasks_tool(method: Literal["push", "pop", "peek", "list"] = "push", task: dict | None = None) -> str:
        """A stack of tasks for this conversation: push a task, pop or peek at the latest, list them.

        Args:
            method: "push", "pop", "peek" or "list".
            task: the task to push: {"title": ..., "description": ...}.
        """
        if method == "push":
            if not isinstance(task, dict) or not str(task.get("title") or "").strip():
                raise ValueError("a task to push needs a title")
            stack.append({"title": str(task["title"]).strip(), "description": str(task.get("description") or "")})
            return f"Pushed task: {stack[-1]['title']} ({len(stack)} on the stack)"
        if method == "list":
            return json.dumps(stack) if stack else "The task stack is empty."
        if not stack:
            return "The task stack is empty."
        top = stack.pop() if method == "pop" else stack[-1]
        return f"{'Popped' if method == 'pop' else 'Next'} task: {top['title']}"

    notes_tool.__name__, tasks_tool.__name__ = BUILTIN_TOOLS
    return [notes_tool, tasks_tool]


#: What makes the local model reach for a built-in tool (phrases of AWS's examples; case ignored).
_NOTES_ASKED = re.compile(r"(?<!\w)(notes tool|note that|remember that|(?:the|my) notes)(?!\w)", re.IGNORECASE)
_TASKS_ASKED = re.compile(r"(?<!\w)(tasks tool|(?:add|push|pop) (?:a |the )?task|next task|(?:the|my) tasks|"
                          r"task (?:list|stack))(?!\w)", re.IGNORECASE)
_LISTING = re.compile(r"(?<!\w)(recall|read|list|show|check|what)(?!\w)", re.IGNORECASE)
_PEEK = re.compile(r"(?<!\w)(next|peek|latest)(?!\w)", re.IGNORECASE)
_POP = re.compile(r"(?<!\w)pop(?!\w)", re.IGNORECASE)
_QUOTED = re.compile(r"(?:^|(?<=\s))[\"'‘“]([^\"'’”]+)[\"'’”](?!\w)")


def builtin_request(text: str) -> tuple[str, dict] | None:
    """(tool, arguments) of the built-in call a prompt asks for (rules in the module docstring)."""
    asked = [(m.start(), name, m) for name, rx in (("notes", _NOTES_ASKED), ("tasks", _TASKS_ASKED))
             if (m := rx.search(text))]
    if not asked:
        return None
    _, name, match = min(asked, key=lambda a: a[0])
    prompt = Prompt(text)  # only explicit pairs (method=add, note="…") choose; the rest is the rules below
    given = {key: value for key in ("method", "note", "title", "description") if (value := prompt.pair(key)) is not None}
    subject = _subject(text, match)
    if name == "notes":
        method = given.get("method") or ("list" if _LISTING.search(text) else "add")
        return name, {"method": method, **({"note": given.get("note", subject)} if method == "add" else {})}
    method = given.get("method") or ("pop" if _POP.search(text) else "peek" if _PEEK.search(text)
                                     else "list" if _LISTING.search(text) else "push")
    if method != "push":
        return name, {"method": method}
    task = {"title": given.get("title", subject)}
    if "description" in given:
        task["description"] = given["description"]
    return name, {"method": method, "task": task}


def _subject(text: str, match: re.Match) -> str:
    """What a built-in call is about: after the first ``:``, else a quoted text, else after ``that``,
    else what follows the words that asked for the tool (less a leading ``to``)."""
    if ":" in text:
        subject = text.split(":", 1)[1]
    elif quoted := _QUOTED.search(text):
        subject = quoted.group(1)
    elif that := re.search(r"(?<!\w)that(?!\w)", text[match.start():]):
        subject = text[match.start() + that.end():]
    else:
        subject = re.sub(r"^\s*to(?!\w)", "", text[match.end():])
    return subject.strip().rstrip(".!?").strip()


def has_builtins(model: dict) -> bool:
    """True for the models AWS documents the built-in tools for (gpt-oss 20B/120B)."""
    return (model.get("mantleId") or "") in BUILTIN_MODELS or model["modelId"].startswith(BUILTIN_MODELS)


# --------------------------------------------------------------------------------------------------
# Output items and their stream events


def list_tools_item(label: str, tools: list[dict]) -> dict:
    """An ``mcp_list_tools`` output item."""
    return {"id": "mcpl_" + uuid.uuid4().hex, "type": "mcp_list_tools", "server_label": label, "tools": tools,
            "error": None}


def call_item(label: str, name: str, arguments: str, output: str | None, error: McpError | None) -> dict:
    """An ``mcp_call`` output item (``failed`` with the JSON-RPC error when the tool failed)."""
    return {"id": "mcp_" + uuid.uuid4().hex, "type": "mcp_call", "server_label": label, "name": name,
            "arguments": arguments, "output": output, "approval_request_id": None,
            "error": None if error is None else {"type": "mcp_protocol_error", "code": error.code,
                                                 "message": str(error)},
            "status": "failed" if error is not None else "completed"}


def call_output_text(item: Mapping[str, Any]) -> str:
    """What the model read of an ``mcp_call`` item: its output, or its error's message."""
    error = item.get("error")
    if error:
        return str(error.get("message", "")) if isinstance(error, Mapping) else str(error)
    return str(item.get("output") or "")


def item_events(item: dict, index: int) -> Iterator[dict]:
    """The stream events of one server-side tool item, between ``output_item.added`` and ``.done``
    (OpenAI's ``response.mcp_list_tools.*``, ``response.mcp_call.*`` and ``response.mcp_call_arguments.*``)."""
    where = {"item_id": item["id"], "output_index": index}
    if item["type"] == "mcp_list_tools":
        yield {"type": "response.output_item.added", "output_index": index, "item": {**item, "tools": []}}
        yield {"type": "response.mcp_list_tools.in_progress", **where}
        yield {"type": "response.mcp_list_tools.completed", **where}
    else:
        yield {"type": "response.output_item.added", "output_index": index,
               "item": {**item, "arguments": "", "output": None, "error": None, "status": "in_progress"}}
        yield {"type": "response.mcp_call.in_progress", **where}
        for fragment in fragments(item["arguments"]):
            yield {"type": "response.mcp_call_arguments.delta", **where, "delta": fragment}
        yield {"type": "response.mcp_call_arguments.done", **where, "arguments": item["arguments"]}
        yield {"type": f"response.mcp_call.{'failed' if item['status'] == 'failed' else 'completed'}", **where}
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


# --------------------------------------------------------------------------------------------------
# One response's server-side rounds


@dataclass
class _Server:
    label: str
    client: McpClient
    tools: list[dict]  # as mcp_list_tools shows them


@dataclass
class Turn:
    """What the server-side rounds of one response made."""

    items: list[dict]  # mcp_list_tools and mcp_call items, in order
    answer: Answer  # the last round's answer, with the tokens of every round
    messages: list[dict]  # the conversation, with the server-side calls and results
    state: dict = field(default_factory=dict)  # carried along the conversation: memory, listed connectors


def _connector_error(label: str, detail: str) -> OpenAIError:
    return OpenAIError(424, f"Error retrieving tool list from MCP server: '{label}'. {detail}",
                       type="external_connector_error", code="mcp_list_tools_failed", param="tools")


def _listed_in_input(items: Any) -> dict[str, list[dict]]:
    """``mcp_list_tools`` items the caller passed back as input (store=false conversations)."""
    out = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping) and item.get("type") == "mcp_list_tools" and isinstance(item.get("tools"), list):
            out[str(item.get("server_label"))] = item["tools"]
    return out


def _servers(body: dict, registry: Any, state: dict, items: list[dict]) -> list[_Server]:
    """The request's connectors, listed (an ``mcp_list_tools`` item each) unless listed before."""
    listed: dict = state.setdefault("listed", {})
    passed_back = _listed_in_input(body.get("input"))
    servers = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, Mapping) or tool.get("type") != "mcp":
            continue
        label, connector = tool["server_label"], tool["connector_id"]
        try:
            function = registry.get(connector)
        except LookupError as exc:
            fix = ("Register a local gateway of local Lambda functions with LocalService.register_gateway(name, "
                   "targets)" if _connector_kind(connector) == "gateway" else
                   "Register it with LocalService.register_lambda(name, func) or python -m bedrock_magics.local "
                   "--lambda NAME=MODULE:FUNCTION")
            raise _connector_error(label, f"{exc}. {fix}.") from None
        client = McpClient(lambda payload, arn=function.arn: registry.invoke(arn, payload))
        allowed = _allowed_names(tool.get("allowed_tools")) if tool.get("allowed_tools") is not None else None
        before = listed.get(label)
        if before is not None and before["connector_id"] == connector:
            tools = before["tools"]
        elif label in passed_back:
            tools = passed_back[label]
        else:
            try:
                tools = client.list_tools()
            except McpError as exc:
                raise _connector_error(label, f"tools/list failed: {exc}") from None
            items.append(list_tools_item(label, [t for t in tools if allowed is None or t["name"] in allowed]))
        listed[label] = {"connector_id": connector, "tools": tools}
        servers.append(_Server(label, client, [t for t in tools if allowed is None or t["name"] in allowed]))
    return servers


def _builtin_answer(call: Call, tools: list[Tool]) -> Answer | None:
    """The built-in call the last user text asks for, as the model's answer (or None)."""
    last = next((m for m in reversed(call.messages) if m.get("role") == "user"), None)
    text = "\n".join(b["text"] for b in (last or {}).get("content") or [] if isinstance(b.get("text"), str))
    asked = builtin_request(text) if text else None
    if asked is None:
        return None
    name, args = asked
    definition = next(Tool(t["name"], t["description"], t["inputSchema"])
                      for t in FunctionServer(builtin_functions({})).tools() if t["name"] == name)
    out = count_tokens(name) + count_tokens(json.dumps(args, sort_keys=True))
    return Answer("", {"id": "tooluse_" + uuid.uuid4().hex[:22], "name": name, "input": args}, "tool_use",
                  count_input(call.messages, call.system, tools + [definition]), out)


def run(call: Call, body: dict, registry: Any, previous_state: dict | None) -> Turn:
    """Answer a mantle Responses ``call``, running its server-side tools (see the module docstring).

    ``registry``: the service's :class:`~.lambdas.LambdaRegistry`; ``previous_state``: the ``state``
    of the previous response of the conversation (None to start one).
    """
    state = copy.deepcopy(previous_state or {})
    items: list[dict] = []
    by_name: dict[str, tuple[str, McpClient]] = {}
    offered: list[Tool] = []
    for server in _servers(body, registry, state, items):
        for t in server.tools:
            if t["name"] not in by_name:
                by_name[t["name"]] = (server.label, server.client)
                offered.append(Tool(t["name"], t.get("description") or "", t.get("input_schema") or {}))
    builtin_server = None
    if has_builtins(call.model) and call.tool_choice != "none":
        memory = state.setdefault("memory", {})
        builtin_server = McpClient(lambda payload: json.dumps(
            FunctionServer(builtin_functions(memory)).handle(json.loads(payload))).encode())
    client_side = {t.name for t in call.tools}  # a function tool of the same name is the caller's to run

    messages, used_in, used_out = list(call.messages), 0, 0
    for round_number in range(MAX_ROUNDS):
        first = round_number == 0
        tools = list(call.tools) + offered
        round_call = replace(call, messages=messages, tools=tools, tool_choice=call.tool_choice if first else "auto")
        answer, server = round_call.answer, None
        if answer.tool_call is None and first and builtin_server is not None:
            builtin = _builtin_answer(round_call, tools)
            if builtin is not None:
                answer, server = builtin, (builtin.tool_call["name"], builtin_server)
        used_in, used_out = used_in + answer.prompt_tokens, used_out + answer.output_tokens
        use = answer.tool_call
        if server is None and use is not None and use["name"] not in client_side:
            server = by_name.get(use["name"])
        if server is None:
            break  # a text answer, or a function call for the caller
        label, client = server
        try:
            output, error = client.call_tool(use["name"], use["input"] if isinstance(use["input"], dict) else {}), None
        except McpError as exc:
            output, error = None, exc
        items.append(call_item(label, use["name"], json.dumps(use["input"]), output, error))
        result = {"toolUseId": use["id"], "content": [{"text": call_output_text(items[-1])}]}
        if error is not None:
            result["status"] = "error"
        block = {"toolUse": {"toolUseId": use["id"], "name": use["name"], "input": use["input"]}}
        messages = messages + [{"role": "assistant", "content": [block]},
                               {"role": "user", "content": [{"toolResult": result}]}]
    return Turn(items, replace(answer, prompt_tokens=used_in, output_tokens=used_out), messages, state)
