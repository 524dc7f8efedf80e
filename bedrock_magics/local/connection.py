"""The connections of the local Bedrock service: every request read, checked, dispatched and answered.

Each connection gets its own worker thread, which also does the TLS handshake (a slow client never
holds up ``accept``). Requests are HTTP/1.1 with keep-alive. For every request the handler:

1. picks the surface from the raw path: ``/mantle/...`` is mantle (the prefix is stripped before
   routing, but the raw target is what SigV4 verifies), ``/model/...`` and ``/openai/...`` are the
   runtime, anything else is the control plane;
2. checks the credentials as far as they need no body (``auth.py``) and the declared body size,
   and only then reads the body (``Content-Length`` or chunked; ``Expect: 100-continue`` honoured),
   so unauthenticated or oversized uploads are refused unread (what remains of them is drained
   without being kept, so the client reads the error);
3. verifies the SigV4 signature over the body, which fixes the request's region;
4. routes on the raw, still percent-encoded path (``http.Router``);
5. applies injected faults (``faults.py``) — latency, throttling, error rate;
6. calls the handler and writes its ``Response``: a byte body with ``Content-Length``, or an
   iterable of chunks with chunked transfer encoding, flushed chunk by chunk.

Every ``AwsError``/``OpenAIError`` becomes its wire response (AWS errors are retold in the OpenAI
shape on the OpenAI routes); any other exception is logged and answered with a 500, and the server
carries on. Bytes that are not HTTP at all get an AWS-shaped 400 and a closed connection.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import unquote

from . import credentials as local
from .auth import Authenticator
from .faults import Admission, estimate_tokens
from .http import (CONTROL, MANTLE, RUNTIME, AwsError, OpenAIError, Request, Response, Router, aws_to_openai,
                   request_id)
from .lifecycle import TrackedThreadingMixIn
from .tokens import family_of

log = logging.getLogger("bedrock_magics.local")

#: Path prefixes of the runtime surface; every other non-mantle path is the control plane.
RUNTIME_PREFIXES = ("/model/", "/openai/", "/async-invoke", "/guardrail/", "/anthropic/")
_HANDSHAKE_TIMEOUT = 10.0
_IDLE_TIMEOUT = 300.0
#: Largest request body the service reads (a local limit; AWS documents none for most operations).
MAX_BODY = 64 * 1024 * 1024
#: InvokeModel's ``body`` limit, from botocore's ``bedrock-runtime`` model (``Body``: max 25,000,000).
MAX_INVOKE_BODY = 25_000_000
_INVOKE_PATH = re.compile(r"^/model/[^/]+/(invoke|invoke-with-response-stream)$")
_DRAIN_LIMIT = 128 * 1024 * 1024  # the most of a refused body read (and dropped) before closing
_DRAIN_SECONDS = 5.0


def surface_of(raw_path: str) -> tuple[str, str]:
    """(surface, path to route on) for a raw request path."""
    prefix = local.MANTLE_PREFIX
    if raw_path == prefix or raw_path.startswith(prefix + "/"):
        return MANTLE, raw_path[len(prefix):] or "/"
    if raw_path.startswith(RUNTIME_PREFIXES):
        return RUNTIME, raw_path
    return CONTROL, raw_path


def body_limit(surface: str, route_path: str) -> int:
    """The largest body a request to ``route_path`` may have."""
    return MAX_INVOKE_BODY if surface == RUNTIME and _INVOKE_PATH.match(route_path) else MAX_BODY


def body_too_large(limit: int) -> AwsError:
    """The refusal of a body over ``limit`` bytes, in AWS's constraint words (the body itself is
    sensitive, so it is not shown)."""
    return AwsError("ValidationException", "1 validation error detected: Value at 'body' failed to satisfy "
                                           f"constraint: Member must have length less than or equal to {limit}")


class _CutStream(Exception):
    """Raised to drop a connection in the middle of a streaming body (fault injection)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bedrock-magics-local"
    _unread = 0  # body bytes of the current request not read yet (see _serve)
    timeout = _IDLE_TIMEOUT
    server: "HttpServer"

    # -- the http.server entry points ---------------------------------------------------------

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def version_string(self) -> str:
        return self.server_version

    def handle_expect_100(self) -> bool:
        return True  # "100 Continue" waits until the credentials and the declared size pass (_receive_body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a request line or headers that are not HTTP, an unknown
        method) as an AWS error, not http.server's HTML page; the connection is then closed."""
        self.close_connection = True
        self.request_version = self.protocol_version  # garbage parses as HTTP/0.9, which has no status line
        reason = message or self.responses.get(code, ("Bad Request",))[0]
        kind = "UnknownOperationException" if code == 501 else "ValidationException"
        try:
            self._write(AwsError(kind, f"{reason}: the request is not one the Bedrock service understands.",
                                 code).to_response())
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            pass  # the sender of the garbage is gone already

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    # -- one request ---------------------------------------------------------------------------

    def _serve(self) -> None:
        app = self.server.app
        app.enter()
        self._unread = self._declared_length()  # body bytes still in the socket, as far as is known
        try:
            response, admission = self._dispatch()
            self._write(response, admission)
            if self._unread:
                self._drain()
        except _CutStream:
            self._abort()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True  # the client went away mid-response
        finally:
            app.leave()

    def _dispatch(self) -> tuple[Response, Admission | None]:
        app = self.server.app
        raw_target = self.path
        raw_path = raw_target.split("?", 1)[0]
        surface, route_path = surface_of(raw_path)
        query = raw_target[len(raw_path):]
        req = Request(method=self.command, target=route_path + query, headers=self.headers, body=b"",
                      surface=surface, region=app.default_region, app=app)
        openai_route = req.is_openai
        try:
            # Everything that needs no body is checked before the body is read: an unauthenticated or
            # oversized upload is refused without costing its size in memory.
            authenticator = self.server.authenticator
            pending = authenticator.precheck(self.command, raw_target, self.headers, surface, openai_route)
            req.body = body = self._receive_body(body_limit(surface, route_path))
            identity = authenticator.verify(pending, body)
            req.region, req.auth = identity.region, identity.scheme
            if surface == MANTLE and req.region not in app.catalog.mantle_regions:
                # Real bedrock-mantle has no endpoint at all in these regions.
                raise OpenAIError(404, f"bedrock-mantle is not available in {req.region}; the local Bedrock "
                                       f"service offers it in {', '.join(app.catalog.mantle_regions)}.",
                                  code="region_not_supported")
            try:
                match = self.server.router.match(surface, self.command, route_path)
            except LookupError:
                raise _not_allowed(self.command, raw_path, openai_route) from None
            if match is None:
                raise _unknown(self.command, raw_path, openai_route)
            handler, req.params = match
            names = _model_names(req)
            family = family_of(names[0]) if names else "words"  # a model's throttle counts its own tokens
            admission = app.faults.admit(names, lambda: estimate_tokens(body, family))
            return _primed(handler(req)), admission
        except AwsError as err:
            return (aws_to_openai(err) if openai_route else err).to_response(), None
        except OpenAIError as err:
            return err.to_response(), None
        except Exception:  # a handler bug must never take the server down
            log.exception("local Bedrock service: %s %s failed", self.command, raw_path)
            if openai_route:
                return OpenAIError(500, "The server had an error while processing your request.",
                                   type="api_error", code="internal_error").to_response(), None
            return AwsError("InternalServerException", "An internal server error occurred. Retry your request.",
                            500).to_response(), None

    # -- reading and writing -------------------------------------------------------------------

    def _declared_length(self) -> int:
        """How many body bytes the headers announce (:data:`_DRAIN_LIMIT` when chunked: unknown)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _DRAIN_LIMIT
        try:
            return max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            return 0  # _receive_body refuses it

    def _receive_body(self, limit: int) -> bytes:
        """The request body, once its declared size is within ``limit`` (an ``AwsError`` otherwise,
        the body left unread); a client waiting on ``Expect: 100-continue`` is told to send it."""
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        length = self.headers.get("Content-Length")
        if not chunked and length:
            try:
                n = int(length)
            except ValueError:
                n = -1
            if n < 0:
                self.close_connection = True  # where this request ends is unknowable
                raise AwsError("ValidationException", f"Invalid Content-Length: {length!r}")
            if n > limit:
                raise body_too_large(limit)
        elif not chunked:
            return b""
        if self.headers.get("Expect", "").lower() == "100-continue":
            self.send_response_only(100)
            self.end_headers()
            self.wfile.flush()
        body = self._read_chunked(limit) if chunked else self.rfile.read(self._unread)
        self._unread = 0
        return body

    def _read_chunked(self, limit: int) -> bytes:
        parts, total = [], 0
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise AwsError("ValidationException", "Malformed chunked request body") from None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > limit:
                raise body_too_large(limit)
            parts.append(self.rfile.read(size))
            self.rfile.readline(3)

    def _drain(self) -> None:
        """Read and drop what is left of a refused request's body, then close the connection.

        A client may still be sending it; closing with unread bytes would reset the connection and
        the client could lose the error it is about to read. Nothing is kept (64 KiB at a time), and
        the wait is bounded (:data:`_DRAIN_LIMIT` bytes, :data:`_DRAIN_SECONDS`)."""
        self.close_connection = True
        left, deadline = min(self._unread, _DRAIN_LIMIT), time.monotonic() + _DRAIN_SECONDS
        self._unread = 0
        try:
            self.connection.settimeout(_DRAIN_SECONDS)
            while left > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read1(min(65536, left))
                if not chunk:
                    return
                left -= len(chunk)
        except (OSError, ValueError):
            pass  # the client stopped sending or went away: either way, this connection is done

    def _write(self, response: Response, admission: Admission | None = None) -> None:
        headers = dict(response.headers)
        if not any(k.lower() == "x-amzn-requestid" for k in headers):
            headers["x-amzn-RequestId"] = request_id()
        self.send_response(response.status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        if self.close_connection or self._unread:
            self.send_header("Connection", "close")
        if not response.streaming:
            body = bytes(response.body)  # type: ignore[arg-type]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        self._stream(iter(response.body), admission.cut_stream_after if admission else None)  # type: ignore[arg-type]

    def _stream(self, chunks: Iterator[bytes], cut_after: int | None) -> None:
        sent = 0
        try:
            for chunk in chunks:
                if not chunk:
                    continue  # a zero-length chunk would end the body
                if cut_after is not None and sent >= cut_after:
                    # Send the head of this chunk's frame, then drop the connection: the client sees
                    # a truncated event mid-frame, as when a real stream breaks.
                    half = max(1, len(chunk) // 2)
                    self.wfile.write(b"%x\r\n" % len(chunk) + bytes(chunk[:half]))
                    self.wfile.flush()
                    raise _CutStream()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), bytes(chunk)))
                self.wfile.flush()
                sent += 1
        except (_CutStream, BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            raise
        except Exception:
            # Headers are gone already: the only honest signal left is a broken body.
            log.exception("local Bedrock service: streaming %s failed", self.path.split("?", 1)[0])
            raise _CutStream() from None
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _abort(self) -> None:
        """Close the connection at once, without a TLS close_notify or a final chunk."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _primed(response: Response) -> Response:
    """A streaming response whose first chunk is already made.

    Streaming handlers are often generators that validate lazily; pulling the first chunk before
    the status line is sent lets an error raised there still become a proper error response.
    """
    if not response.streaming:
        return response
    chunks = iter(response.body)  # type: ignore[arg-type]
    for first in chunks:
        if first:
            return Response(response.status, _chain(first, chunks), response.headers)
    return Response(response.status, b"", response.headers)  # an empty stream is an empty body


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield first
        yield from rest
    finally:
        close = getattr(rest, "close", None)
        if close:
            close()


def _model_names(req: Request) -> list[str]:
    """The model identifiers a request is about, as sent and as resolved, for per-model faults."""
    names: list[str] = []
    path = req.path
    if path.startswith("/model/"):
        names.append(unquote(path.split("/")[2]))
    elif req.is_openai and req.method == "POST" and req.body:
        try:
            model = req.json().get("model")
        except (AwsError, OpenAIError, AttributeError):
            model = None  # the handler reports the body
        if isinstance(model, str):
            names.append(model)
    catalog = req.app.catalog
    for name in list(names):
        try:
            if req.surface == MANTLE:
                entry = catalog.resolve_mantle(req.region, name)
            else:
                entry = catalog.resolve(req.region, name).model
        except (AwsError, OpenAIError):
            continue
        names += [entry["modelId"]] + ([entry["mantleId"]] if entry.get("mantleId") else [])
    return names


def _unknown(method: str, raw_path: str, openai_route: bool) -> Exception:
    if openai_route:
        return OpenAIError(404, f"Invalid URL ({method} {raw_path})", type="invalid_request_error",
                           code="unknown_url")
    return AwsError("UnknownOperationException", f"Unknown operation: {method} {raw_path}", 404)


def _not_allowed(method: str, raw_path: str, openai_route: bool) -> Exception:
    if openai_route:
        return OpenAIError(405, f"Method {method} is not allowed on {raw_path}", type="invalid_request_error",
                           code="method_not_allowed")
    return AwsError("UnknownOperationException", f"Unknown operation: {method} {raw_path}", 404)


class HttpServer(TrackedThreadingMixIn, ThreadingHTTPServer):
    """The threaded HTTP(S) server: one tracked thread per connection, TLS handshake in it."""

    thread_name = "bedrock-local-connection"
    request_queue_size = 128  # 32+ clients connect at once; the default backlog of 5 drops SYNs

    def __init__(self, address: tuple[str, int], app: Any, router: Router, authenticator: Authenticator,
                 tls_context: ssl.SSLContext | None, verbose: bool) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app, self.router, self.authenticator = app, router, authenticator
        self.tls_context, self.verbose = tls_context, verbose
        super().__init__(address, _Handler)

    def process_request_thread(self, request: socket.socket, client_address: Any) -> None:
        conn = request
        try:
            # Without it, Nagle's algorithm meets the client's delayed ACK and each small response
            # waits ~40 ms: every call would look slow.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls_context is not None:
                # The handshake runs here, in the connection's own thread, not in accept(). The TLS
                # socket is tracked before it, so that close() can also wake a stalled handshake.
                request.settimeout(_HANDSHAKE_TIMEOUT)
                conn = self.tls_context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
                if not self._replace_connection(conn):
                    return  # the server is closing
                conn.do_handshake()
            self.finish_request(conn, client_address)
        except (ssl.SSLError, OSError) as exc:
            if self.verbose:
                sys.stderr.write(f"{client_address[0]} - connection ended: {exc}\n")
        except Exception:
            self.handle_error(conn, client_address)
        finally:
            self.shutdown_request(conn)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("local Bedrock service: connection from %s failed", client_address[0])
