"""Server-side tools: ``lambda:NAME_OR_ARN`` and ``gateway:ARN`` in ``--tools`` / ``tools=[...]``.

Mantle's Responses API runs these itself as MCP connectors (bedrock-features.md §1): Bedrock lists
the connector's tools and calls them with the caller's IAM identity, so nothing runs in the
notebook. This module reads the strings and checks them (``ValueError``, one line); the Lambda ARN
of a bare function name needs the account, which the caller supplies (the local service's, or STS
``GetCallerIdentity`` on AWS). The wire shape is the route's (``routes.responses``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

__all__ = ["PREFIXES", "ServerTool", "client_tools", "connector_failure", "is_server_tool", "parse", "split"]

PREFIXES = ("lambda:", "gateway:")

# Lambda function names: letters, digits, hyphens, underscores, at most 64; an optional :ALIAS or
# :VERSION qualifier (Lambda API reference, FunctionName).
_NAME = r"[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9_$-]{1,128})?"
_LAMBDA_NAME = re.compile(rf"^{_NAME}$")
_LAMBDA_ARN = re.compile(rf"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{{12}}:function:{_NAME}$")
# AgentCore gateways: arn:aws:bedrock-agentcore:REGION:ACCOUNT:gateway/ID
_GATEWAY_ARN = re.compile(r"^arn:aws[a-z-]*:bedrock-agentcore:[a-z0-9-]+:\d{12}:gateway/[A-Za-z0-9_-]{1,100}$")
_LABEL_CHARS = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class ServerTool:
    """One connector as written: ``kind`` is ``lambda`` or ``gateway``; ``target`` a name or an ARN."""

    kind: str
    target: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"

    @property
    def needs_account(self) -> bool:
        """True for a bare Lambda name: its ARN needs the caller's account id."""
        return self.kind == "lambda" and not self.target.startswith("arn:")

    def arn(self, region: str, account: str | None = None) -> str:
        """The connector id: the ARN as given, or ``arn:aws:lambda:REGION:ACCOUNT:function:NAME``."""
        if not self.needs_account:
            return self.target
        if not account:
            raise ValueError(f"{self}: the Lambda ARN needs your account id; give the full ARN "
                             f"(lambda:arn:aws:lambda:{region}:ACCOUNT:function:{self.target})")
        return f"arn:{_partition(region)}:lambda:{region}:{account}:function:{self.target}"

    @property
    def label(self) -> str:
        """The ``server_label``: the function name or the gateway id (letters, digits, ``_``, ``-``)."""
        tail = self.target.rsplit("/", 1)[-1] if self.kind == "gateway" else self.target.split(":function:")[-1]
        return _LABEL_CHARS.sub("_", tail.split(":", 1)[0])[:64] or self.kind

    def connector(self, region: str, account: str | None = None) -> dict[str, str]:
        """``{"label", "connector_id"}``: what a request carries (``Request.extra["server_tools"]``)."""
        return {"label": self.label, "connector_id": self.arn(region, account)}


def is_server_tool(value: Any) -> bool:
    """True for a string naming a server-side tool (``lambda:…`` or ``gateway:…``)."""
    return isinstance(value, str) and value.strip().lower().startswith(PREFIXES)


def client_tools(tools: Any) -> bool:
    """True when ``tools`` holds client-side tools (Python functions, ToolSpecs): they need a tool loop."""
    if not tools:
        return False
    return any(not isinstance(t, (str, ServerTool)) for t in ([tools] if callable(tools) else tools))


def parse(value: str) -> ServerTool:
    """``lambda:NAME_OR_ARN`` or ``gateway:ARN`` as a :class:`ServerTool`; ``ValueError`` (one line) otherwise."""
    text = value.strip()
    kind, _, target = text.partition(":")
    kind, target = kind.lower(), target.strip()
    if kind == "lambda":
        if _LAMBDA_NAME.match(target) or _LAMBDA_ARN.match(target):
            return ServerTool("lambda", target)
        raise ValueError(f"{text}: a Lambda tool is lambda:NAME (letters, digits, - and _, up to 64) or "
                         f"lambda:arn:aws:lambda:REGION:ACCOUNT:function:NAME")
    if kind == "gateway":
        if _GATEWAY_ARN.match(target):
            return ServerTool("gateway", target)
        raise ValueError(f"{text}: a gateway tool is gateway:arn:aws:bedrock-agentcore:REGION:ACCOUNT:gateway/ID "
                         f"(an AgentCore gateway with IAM auth)")
    raise ValueError(f"{text}: server-side tools are lambda:NAME_OR_ARN or gateway:ARN")


def split(tools: Any) -> tuple[list[Any], list[ServerTool]]:
    """``tools`` as (Python functions and ToolSpecs, server tools); ``ValueError`` for a bad string
    or two connectors with one label (Bedrock needs labels to be unique)."""
    if not tools:
        return [], []
    if callable(tools) or isinstance(tools, str):
        tools = [tools]
    local: list[Any] = []
    server: list[ServerTool] = []
    for tool in tools:
        if isinstance(tool, ServerTool):
            server.append(tool)
        elif isinstance(tool, str):
            if not is_server_tool(tool):
                raise ValueError(f"tool {tool!r}: a string tool must be lambda:NAME_OR_ARN or gateway:ARN; "
                                 f"pass Python functions themselves")
            server.append(parse(tool))
        else:
            local.append(tool)
    _check_labels(server)
    return local, server


_LIST_FAILED = re.compile(r"tool list from MCP server: '([^']*)'\.?\s*(.*)", re.S)
_NOT_ALLOWED = re.compile(r"not authorized to perform:?\s*((?:lambda:InvokeFunction|bedrock-agentcore:InvokeGateway))")


def connector_failure(status: int | None, code: str, message: str,
                      region: str | None) -> tuple[str, str, str] | None:
    """(message, code, fix) for a call that failed on a server-side tool's connector: one that
    cannot be found or listed (424 ``external_connector_error``), or that the caller may not invoke.
    None for any other failure (``explain`` then tries its other rules)."""
    allowed = _NOT_ALLOWED.search(message or "")
    if allowed:
        return (f"Bedrock may not call your server-side tool: {allowed.group(1)} is not allowed for your identity.",
                "AccessDeniedException", f"Ask an administrator for {allowed.group(1)} on the connector's ARN "
                "(Bedrock calls it with your IAM identity), or drop it from --tools.")
    listed = _LIST_FAILED.search(message or "")
    # Only the connector's own error: Bedrock's ModelErrorException is a 424 too (a model failure).
    if not listed and "external_connector_error" not in (code or "") and "mcp_list_tools" not in (code or ""):
        return None
    label, detail = (listed.group(1), listed.group(2).strip()) if listed else ("?", message)
    detail = detail.split(". Register it", 1)[0].rstrip(".")  # the local service's own advice follows
    where = f" in {region}" if region else ""
    return (f"Mantle could not reach the server-side tool {label!r}: {detail or 'its tool list failed'}.",
            "ExternalConnectorError", f"Check the Lambda name or ARN (it must exist{where}, in your account); "
            f"on the local service serve it first with %bedrock local lambda {label} FUNC.")


def _check_labels(tools: Iterable[ServerTool]) -> None:
    seen: dict[str, ServerTool] = {}
    for tool in tools:
        if tool.label in seen and seen[tool.label] != tool:
            raise ValueError(f"{seen[tool.label]} and {tool} would share the server label {tool.label!r}; "
                             f"use one of them per call")
        seen[tool.label] = tool


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
