"""The request, response and error types shared by every handler of the local Bedrock service.

Handlers are plain functions ``handler(req: Request) -> Response``. They never touch sockets:
``server.py`` parses HTTP, authenticates, applies faults and writes the ``Response`` (a JSON body,
or an iterable of byte chunks sent with chunked transfer encoding and flushed one by one).

Routing works on the *raw* request path, still percent-encoded, because model ARNs carry ``/``
(sent as ``%2F``) and SigV4 signs that raw form; each path label is percent-decoded exactly once.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qs, unquote

#: The three Bedrock surfaces the service speaks.
CONTROL, RUNTIME, MANTLE = "control", "runtime", "mantle"
#: Deepest nesting of arrays and objects a request body may have. AWS's JSON parsers refuse deep
#: nesting with a 400 (Jackson's default limit is 1000); this service's limit is lower, so that no
#: handler ever meets Python's recursion limit (nothing real nests anywhere near it).
MAX_JSON_DEPTH = 128

_AWS_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.bedrock/"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"Non-standard token '{name}': NaN and Infinity are not JSON numbers")


def json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply ``value`` nests arrays and objects (counted up to ``limit + 1``, then it stops)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(raw: bytes | str) -> Any:
    """JSON as AWS's parsers accept it: ``ValueError`` for malformed text, for NaN/Infinity (Python's
    ``json`` would take them) and for nesting deeper than :data:`MAX_JSON_DEPTH`."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        value = None
        depth = MAX_JSON_DEPTH + 1
    else:
        depth = json_depth(value)
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"JSON nested too deeply: more than {MAX_JSON_DEPTH} levels of arrays and objects")
    return value


_UNPARSED: Any = object()


@dataclass
class Request:
    """One HTTP request as a handler sees it."""

    method: str
    target: str  # the raw request-target: path?query, still percent-encoded
    headers: Mapping[str, str]  # case-insensitive (an email.message.Message from http.server)
    body: bytes
    surface: str = RUNTIME
    region: str = "us-east-1"  # from the SigV4 scope or the short-term key; else the default
    auth: str = ""  # "sigv4" | "bearer" — how the caller authenticated
    params: dict[str, str] = field(default_factory=dict)  # decoded path labels
    app: Any = None  # the running service's shared state (server.App)
    # When the request arrived (time.monotonic), before injected latency: reported latencies include it.
    received_at: float = field(default_factory=time.monotonic)
    _parsed: Any = field(default=_UNPARSED, repr=False)  # the body as JSON, once parsed

    @property
    def path(self) -> str:
        """The raw path, without the query string."""
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> dict[str, list[str]]:
        """The decoded query parameters."""
        return parse_qs(self.target.split("?", 1)[1], keep_blank_values=True) if "?" in self.target else {}

    def query_one(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        return self.query.get(name, [default])[0]

    def json(self) -> Any:
        """The body decoded as JSON (parsed once, see :func:`parse_json`); a body that is not JSON
        is the caller's error."""
        if self._parsed is not _UNPARSED:
            return self._parsed
        try:
            self._parsed = parse_json(self.body or b"{}")
            return self._parsed
        except ValueError as exc:
            if self.is_openai:
                raise OpenAIError(400, f"Failed to deserialize the JSON body into the target type: {exc}",
                                  code="validation_error") from None
            raise AwsError("ValidationException", f"Malformed input request: {exc}, please reformat your input and try again.") from None

    @property
    def is_openai(self) -> bool:
        """True on the OpenAI-compatible routes (runtime ``/openai/v1``, all of mantle)."""
        return self.surface == MANTLE or "/openai/v1/" in self.path


@dataclass
class Response:
    """What a handler returns: a body of bytes, or an iterable of chunks to stream."""

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def streaming(self) -> bool:
        return not isinstance(self.body, (bytes, bytearray))


def elapsed_ms(start: float) -> int:
    """Milliseconds since ``start`` (``time.monotonic``, e.g. ``Request.received_at``; at least 1)."""
    return max(1, int((time.monotonic() - start) * 1000))


def request_id() -> str:
    return str(uuid.uuid4())


def json_response(obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response with AWS's request-id header."""
    h = {"Content-Type": "application/json", "x-amzn-RequestId": request_id()}
    h.update(headers or {})
    return Response(status, json.dumps(obj, separators=(",", ":")).encode(), h)


# Status codes of the AWS error codes Bedrock uses (botocore's bedrock and bedrock-runtime models).
AWS_STATUS = {
    "ValidationException": 400,
    "ConflictException": 400,
    "ServiceQuotaExceededException": 400,
    "AccessDeniedException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "ExpiredTokenException": 403,
    "ResourceNotFoundException": 404,
    "ModelTimeoutException": 408,
    "ModelErrorException": 424,
    "ModelStreamErrorException": 424,
    "ThrottlingException": 429,
    "ModelNotReadyException": 429,
    "InternalServerException": 500,
    "ServiceUnavailableException": 503,
}


class AwsError(Exception):
    """An error in AWS's shape: ``x-amzn-ErrorType`` header plus a JSON ``message``."""

    def __init__(self, code: str, message: str, status: int | None = None, extra: dict | None = None):
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status or AWS_STATUS.get(code, 400)
        self.extra = extra or {}

    def to_response(self) -> Response:
        body = {"message": self.message, **self.extra}
        return json_response(body, self.status, {"x-amzn-ErrorType": f"{self.code}:{_AWS_ERROR_NAMESPACE}"})


class OpenAIError(Exception):
    """An error in the OpenAI shape: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type, code, param
        self.headers = headers or {}

    def to_response(self) -> Response:
        rid = "req_" + uuid.uuid4().hex
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return Response(self.status, json.dumps(body).encode(),
                        {"Content-Type": "application/json", "x-request-id": rid, "x-amzn-RequestId": rid,
                         **self.headers})


def aws_to_openai(err: AwsError) -> OpenAIError:
    """The same failure, told in the OpenAI shape (for the OpenAI-compatible routes)."""
    kind = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
            404: "not_found_error", 429: "rate_limit_error"}.get(err.status, "api_error")
    code = {"ThrottlingException": "rate_limit_exceeded", "ResourceNotFoundException": "model_not_found"}.get(err.code, err.code)
    return OpenAIError(err.status, err.message, type=kind, code=code)


Handler = Callable[[Request], Response]


@dataclass
class Route:
    method: str
    surface: str
    pattern: re.Pattern
    handler: Handler


class Router:
    """Maps (surface, method, raw path) to a handler.

    Patterns name labels as ``{label}``; a label matches one raw path segment (no ``/``), which is
    then percent-decoded, so ``/model/arn%3Aaws%3A...%2Fus.x/converse`` yields the full ARN.
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, surface: str, method: str, template: str, handler: Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self.routes.append(Route(method, surface, re.compile(f"^{regex}$"), handler))

    def match(self, surface: str, method: str, raw_path: str) -> tuple[Handler, dict[str, str]] | None:
        """The handler and decoded labels for a request; ``None`` when nothing matches.

        Raises ``LookupError`` when the path exists but not for this method (405)."""
        path_known = False
        for route in self.routes:
            if route.surface != surface:
                continue
            m = route.pattern.match(raw_path)
            if m:
                if route.method == method:
                    return route.handler, {k: unquote(v) for k, v in m.groupdict().items()}
                path_known = True
        if path_known:
            raise LookupError(raw_path)
        return None
