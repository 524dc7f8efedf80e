"""The local Lambda registry: Python functions served at Lambda ARNs, for mantle's ``mcp`` tools.

On AWS a Responses request names a Lambda function as an ``mcp`` connector
(``{"type": "mcp", "server_label", "connector_id": "arn:aws:lambda:REGION:ACCOUNT:function:NAME",
"require_approval": "never"}``) and Bedrock invokes that function with MCP JSON-RPC requests
(``tools/list``, ``tools/call``) as the event, the function answering with the JSON-RPC response
(AWS *Server-side tool use*, ``tool-use-server-side.md``). Here the same happens in-process: a
registered Python function gets the ARN ``arn:aws:lambda:REGION:123456789012:function:NAME`` (the
account of :mod:`.credentials`) and is wrapped as an MCP server (:class:`.mcp.FunctionServer`);
:func:`LambdaRegistry.invoke` passes it real JSON payloads, as Lambda's Invoke does.

Registering:

* from Python: ``LocalService.register_lambda(name, func)`` (or :func:`register_lambda`) returns the
  ARN; ``func`` is a documented Python function, or a list of them (one MCP server, one tool each),
  or — with ``handler=True`` — a ``lambda_handler(event, context)`` that speaks MCP JSON-RPC itself
  (AWS's own example function runs unchanged);
* standalone: ``python -m bedrock_magics.local --lambda NAME=MODULE:FUNCTION`` (repeatable).

A function is registered in one region (the service's default unless given), as on AWS.

Local AgentCore gateways: ``LocalService.register_gateway(name, {"TargetName": lambda_arn, ...})``
returns ``arn:aws:bedrock-agentcore:REGION:123456789012:gateway/ID``, an MCP server whose tools are
its targets' tools named ``TARGET___TOOL`` (AgentCore's naming, ``gateway-tool-naming.md``). A real
gateway invokes a Lambda target with the tool's arguments as the event; the local one reaches its
local targets over MCP (they are MCP servers already) — what Bedrock sees of the gateway is the same.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from . import credentials
from .mcp import FunctionServer, GatewayServer, McpClient

#: Key of the registry in ``App.state``.
STATE_KEY = "lambda.functions"
#: Lambda's rule for function names (CreateFunction ``FunctionName``: 1-64 of letters, digits, ``-``, ``_``).
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: A Lambda function ARN, optionally qualified by a version or alias (Lambda API reference, ``FunctionArn``).
FUNCTION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):(?P<account>\d{12}):"
                          r"function:(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?$")
#: AgentCore's rule for gateway and target names (CreateGateway / CreateGatewayTarget ``name``).
GATEWAY_NAME = re.compile(r"^([0-9a-zA-Z][-]?){1,100}$")


class GatewayNotFound(LookupError):
    """No local AgentCore gateway has this ARN."""


class FunctionNotFound(LookupError):
    """No local Lambda function has this ARN (Lambda's ``ResourceNotFoundException``)."""


@dataclass(frozen=True)
class LocalLambda:
    """One registered connector — a function, or a gateway of functions (``kind``) — and the
    callable that answers its events."""

    name: str
    region: str
    arn: str
    handler: Callable[[dict, Any], Any]  # lambda_handler(event, context)
    kind: str = "function"  # or "gateway"


def function_arn(name: str, region: str) -> str:
    """The ARN of local function ``name`` in ``region``."""
    return f"arn:aws:lambda:{region}:{credentials.ACCOUNT_ID}:function:{name}"


def gateway_arn(name: str, region: str) -> str:
    """The ARN of local gateway ``name`` in ``region``: its id is the lower-cased name and ten
    characters derived from it, in the form of AgentCore's gateway ids (``name-abcdefghij``)."""
    suffix = hashlib.sha256(f"{region}/{name}".encode()).hexdigest()[:10]
    return f"arn:aws:bedrock-agentcore:{region}:{credentials.ACCOUNT_ID}:gateway/{name.lower()}-{suffix}"


class LambdaRegistry:
    """The local Lambda functions of one service, by ARN (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._functions: dict[str, LocalLambda] = {}

    def register(self, name: str, func: Callable[..., Any] | Iterable[Callable[..., Any]], region: str,
                 handler: bool = False) -> str:
        """Register ``func`` as function ``name`` in ``region`` and return its ARN (replacing any
        function of that name there).

        ``func``: a documented Python function or a list of them, each offered as one MCP tool whose
        schema comes from its signature, type hints and docstring; with ``handler=True``, a
        ``lambda_handler(event, context)`` that answers MCP JSON-RPC itself.

        Raises:
            ValueError: a name Lambda would refuse, or a function that cannot be a tool (no
                docstring, not callable).
        """
        if not isinstance(name, str) or not NAME.match(name):
            raise ValueError(f"Lambda function name {name!r} is not valid: use 1-64 letters, digits, '-' or '_'")
        if handler:
            if not callable(func):
                raise ValueError(f"the handler of Lambda {name!r} must be callable as handler(event, context)")
            answer = func
        else:
            answer = FunctionServer(list(func) if isinstance(func, (list, tuple)) else [func]).handle
        arn = function_arn(name, region)
        with self._lock:
            self._functions[arn] = LocalLambda(name, region, arn, answer)
        return arn

    def register_gateway(self, name: str, targets: dict[str, str], region: str) -> str:
        """Register a local AgentCore gateway ``name`` whose targets (``{target name: local function
        ARN}``) are registered functions of ``region``; returns its ARN (see the module docstring).

        Raises:
            ValueError: a name AgentCore would refuse, no targets, or a target that is not a
                registered function of that region.
        """
        if not isinstance(name, str) or not GATEWAY_NAME.match(name):
            raise ValueError(f"gateway name {name!r} is not valid: use letters, digits and single '-' (at most 100)")
        if not isinstance(targets, dict) or not targets:
            raise ValueError(f"gateway {name!r} needs targets: {{target name: local Lambda function ARN}}")
        clients = {}
        for target, arn in targets.items():
            if not isinstance(target, str) or not GATEWAY_NAME.match(target):
                raise ValueError(f"target name {target!r} is not valid: use letters, digits and single '-'")
            try:
                function = self.get(arn)
            except LookupError:
                raise ValueError(f"target {target!r}: {arn!r} is not a registered local Lambda function; "
                                 f"register it first (register_lambda)") from None
            if function.kind != "function" or function.region != region:
                raise ValueError(f"target {target!r}: {arn} is not a local Lambda function in {region}")
            clients[target] = McpClient(lambda payload, arn=function.arn: self.invoke(arn, payload))
        arn = gateway_arn(name, region)
        with self._lock:
            self._functions[arn] = LocalLambda(name, region, arn, GatewayServer(clients).handle, "gateway")
        return arn

    def unregister(self, arn: str) -> bool:
        """Remove the function of ``arn``; False when there was none."""
        with self._lock:
            return self._functions.pop(_unqualified(arn), None) is not None

    def arns(self) -> list[str]:
        """The ARNs of every registered function and gateway."""
        with self._lock:
            return list(self._functions)

    def get(self, arn: str) -> LocalLambda:
        """The function or gateway behind ``arn`` (a function's ``:$LATEST`` or alias qualifier is
        accepted and ignored).

        Raises:
            FunctionNotFound: in Lambda's words, ``Function not found: ARN``.
            GatewayNotFound: ``Gateway not found: ARN``.
        """
        with self._lock:
            found = self._functions.get(_unqualified(arn))
        if found is None:
            if arn.split(":")[2:3] == ["bedrock-agentcore"]:
                raise GatewayNotFound(f"Gateway not found: {arn}")
            raise FunctionNotFound(f"Function not found: {arn}")
        return found

    def invoke(self, arn: str, payload: bytes) -> bytes:
        """Lambda's Invoke (RequestResponse): the JSON event ``payload`` in, the JSON result out.

        An exception escaping the handler becomes Lambda's function-error payload
        (``{"errorMessage", "errorType"}``), as the real service returns it with ``X-Amz-Function-Error``.
        """
        function = self.get(arn)
        event = json.loads(payload)
        try:
            result = function.handler(event, _Context(function))
        except Exception as exc:  # the function failed: Lambda reports it in the payload
            return json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}).encode()
        return json.dumps(result, default=str).encode()


class _Context:
    """The few attributes of Lambda's context object a handler commonly reads."""

    def __init__(self, function: LocalLambda) -> None:
        self.function_name = function.name
        self.invoked_function_arn = function.arn
        self.function_version = "$LATEST"
        self.aws_request_id = ""
        self.memory_limit_in_mb = 128

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _unqualified(arn: str) -> str:
    match = FUNCTION_ARN.match(arn)
    return function_arn(match["name"], match["region"]) if match and match["account"] == credentials.ACCOUNT_ID \
        else arn


def registry(app: Any) -> LambdaRegistry:
    """The Lambda registry of a service's ``App`` (made on first use)."""
    with app.lock:
        found = app.state.get(STATE_KEY)
        if found is None:
            found = app.state[STATE_KEY] = LambdaRegistry()
        return found


def register_lambda(service: Any, name: str, func: Any, region: str | None = None, handler: bool = False) -> str:
    """Register ``func`` as local Lambda ``name`` on a ``LocalService`` and return its ARN.

    The same as ``service.register_lambda(name, func, region, handler)``; ``region`` defaults to the
    service's default region. See :meth:`LambdaRegistry.register` for ``func`` and ``handler``.
    """
    return registry(service.app).register(name, func, region or service.default_region, handler)


def register_gateway(service: Any, name: str, targets: dict[str, str], region: str | None = None) -> str:
    """Register a local AgentCore gateway on a ``LocalService`` and return its ARN; the same as
    ``service.register_gateway(name, targets, region)`` (see :meth:`LambdaRegistry.register_gateway`)."""
    return registry(service.app).register_gateway(name, targets, region or service.default_region)


def load_spec(spec: str) -> tuple[str, Callable[..., Any]]:
    """``(name, function)`` from a ``NAME=MODULE:FUNCTION`` option value (the module is imported).

    Raises:
        ValueError: a malformed value, a module that does not import, or a missing function; the
            message names the fix.
    """
    name, sep, target = spec.partition("=")
    module_name, colon, attr = target.partition(":")
    if not sep or not colon or not name or not module_name or not attr:
        raise ValueError(f"--lambda {spec!r}: expected NAME=MODULE:FUNCTION, e.g. weather=tools.weather:get_weather")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"--lambda {spec!r}: cannot import module {module_name!r} ({exc}); "
                         f"run from the directory that holds it or add it to PYTHONPATH") from None
    func = module
    for part in attr.split("."):
        func = getattr(func, part, None)
    if not callable(func):
        raise ValueError(f"--lambda {spec!r}: module {module_name!r} has no function {attr!r}")
    return name, func
