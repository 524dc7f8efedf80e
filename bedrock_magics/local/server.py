"""The local Bedrock service: one threaded HTTP(S) server for the control plane, runtime and mantle.

Each connection gets its own worker thread, which also does the TLS handshake (a slow client never
holds up ``accept``). Requests are HTTP/1.1 with keep-alive. For every request the server:

1. reads the body (``Content-Length`` or chunked);
2. picks the surface from the raw path: ``/mantle/...`` is mantle (the prefix is stripped before
   routing, but the raw target is what SigV4 verifies), ``/model/...`` and ``/openai/...`` are the
   runtime, anything else is the control plane;
3. authenticates (``auth.py``), which fixes the request's region;
4. routes on the raw, still percent-encoded path (``http.Router``);
5. applies injected faults (``faults.py``) — latency, throttling, error rate;
6. calls the handler and writes its ``Response``: a byte body with ``Content-Length``, or an
   iterable of chunks with chunked transfer encoding, flushed chunk by chunk.

Every ``AwsError``/``OpenAIError`` becomes its wire response (AWS errors are retold in the OpenAI
shape on the OpenAI routes); any other exception is logged and answered with a 500, and the server
carries on.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import unquote

from . import control, jobs, lambdas, openai_api, runtime, s3
from . import credentials as local
from .auth import Authenticator
from .catalog import Catalog
from .faults import Admission, Faults, estimate_tokens
from .http import (CONTROL, MANTLE, RUNTIME, AwsError, OpenAIError, Request, Response, Router, aws_to_openai,
                   request_id)
from .lifecycle import TrackedThreadingMixIn, Workers
from .tls import server_tls

log = logging.getLogger("bedrock_magics.local")

#: Handler modules, in registration order. Each exposes ``register(router)``.
HANDLER_MODULES = (control, jobs, runtime, openai_api)
#: Path prefixes of the runtime surface; every other non-mantle path is the control plane.
RUNTIME_PREFIXES = ("/model/", "/openai/", "/async-invoke", "/guardrail/", "/anthropic/")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_HANDSHAKE_TIMEOUT = 10.0
_IDLE_TIMEOUT = 300.0
_MAX_BODY = 64 * 1024 * 1024


class App:
    """The state every handler shares, reachable as ``req.app``.

    ``state`` is free for handler modules (each under its own key, guarded by ``lock``), e.g. the
    stored responses of mantle or the batch jobs. Work that outlives a request runs on
    ``workers`` (started with ``workers.spawn``, pausing with ``workers.stopping.wait``), which
    ``LocalService.stop()`` stops and joins.
    """

    def __init__(self, catalog: Catalog, faults: Faults, default_region: str = local.DEFAULT_REGION,
                 s3_endpoint: str | None = None) -> None:
        self.catalog = catalog
        self.faults = faults
        self.default_region = default_region
        self.s3_endpoint = s3_endpoint
        self.state: dict[str, Any] = {}
        self.lock = threading.RLock()
        self.workers = Workers()
        self._counter_lock = threading.Lock()
        self.in_flight = 0  # requests being handled right now
        self.peak_in_flight = 0  # the most ever handled at once (since reset_counters)
        self.requests_total = 0

    def enter(self) -> None:
        with self._counter_lock:
            self.in_flight += 1
            self.requests_total += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._counter_lock:
            self.in_flight -= 1

    def reset_counters(self) -> None:
        """Start counting ``peak_in_flight`` and ``requests_total`` afresh."""
        with self._counter_lock:
            self.peak_in_flight = self.in_flight
            self.requests_total = 0


def surface_of(raw_path: str) -> tuple[str, str]:
    """(surface, path to route on) for a raw request path."""
    prefix = local.MANTLE_PREFIX
    if raw_path == prefix or raw_path.startswith(prefix + "/"):
        return MANTLE, raw_path[len(prefix):] or "/"
    if raw_path.startswith(RUNTIME_PREFIXES):
        return RUNTIME, raw_path
    return CONTROL, raw_path


def build_router() -> Router:
    """A router with every handler module's routes."""
    router = Router()
    for module in HANDLER_MODULES:
        module.register(router)
    return router


class _CutStream(Exception):
    """Raised to drop a connection in the middle of a streaming body (fault injection)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bedrock-magics-local"
    timeout = _IDLE_TIMEOUT
    server: "_Server"

    # -- the http.server entry points ---------------------------------------------------------

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    # -- one request ---------------------------------------------------------------------------

    def _serve(self) -> None:
        app = self.server.app
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            self._write(AwsError("ValidationException", str(exc)).to_response())
            return
        app.enter()
        try:
            response, admission = self._dispatch(body)
            self._write(response, admission)
        except _CutStream:
            self._abort()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, TimeoutError):
            self.close_connection = True  # the client went away mid-response
        finally:
            app.leave()

    def _dispatch(self, body: bytes) -> tuple[Response, Admission | None]:
        app = self.server.app
        raw_target = self.path
        raw_path = raw_target.split("?", 1)[0]
        surface, route_path = surface_of(raw_path)
        query = raw_target[len(raw_path):]
        req = Request(method=self.command, target=route_path + query, headers=self.headers, body=body,
                      surface=surface, region=app.default_region, app=app)
        openai_route = req.is_openai
        try:
            identity = self.server.authenticator.authenticate(self.command, raw_target, self.headers, body,
                                                              surface, openai_route)
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
            admission = app.faults.admit(_model_names(req), lambda: estimate_tokens(body))
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

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise ValueError(f"Invalid Content-Length: {length!r}") from None
        if n < 0 or n > _MAX_BODY:
            raise ValueError(f"Request body too large or invalid: {n} bytes")
        return self.rfile.read(n)

    def _read_chunked(self) -> bytes:
        parts, total = [], 0
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ValueError("Malformed chunked request body") from None
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > _MAX_BODY:
                raise ValueError("Request body too large")
            parts.append(self.rfile.read(size))
            self.rfile.readline(3)

    def _write(self, response: Response, admission: Admission | None = None) -> None:
        headers = dict(response.headers)
        if not any(k.lower() == "x-amzn-requestid" for k in headers):
            headers["x-amzn-RequestId"] = request_id()
        self.send_response(response.status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
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
            model = json.loads(req.body).get("model")
        except (ValueError, AttributeError):
            model = None
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


class _Server(TrackedThreadingMixIn, ThreadingHTTPServer):
    thread_name = "bedrock-local-connection"
    request_queue_size = 128  # 32+ clients connect at once; the default backlog of 5 drops SYNs

    def __init__(self, address: tuple[str, int], app: App, router: Router, authenticator: Authenticator,
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


@dataclass
class _Running:
    server: _Server
    thread: threading.Thread


class ServiceEnv(dict):
    """The service's environment variables: a plain dict whose repr hides the secret values, so
    that showing ``svc.env`` in a notebook cell does not print the local keys."""

    SECRETS = frozenset({"AWS_SECRET_ACCESS_KEY", "AWS_BEARER_TOKEN_BEDROCK", "AWS_SESSION_TOKEN"})

    def __repr__(self) -> str:
        shown = {k: ("****" if k in self.SECRETS else v) for k, v in self.items()}
        return f"ServiceEnv({shown!r})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


class LocalService:
    """The local Bedrock service, run in-process on a loopback port.

    >>> with LocalService(port=0) as svc:          # doctest: +SKIP
    ...     boto3.client("bedrock", endpoint_url=svc.endpoints["control"], verify=svc.ca_file)

    ``env`` holds the variables that point unmodified clients (boto3, the aws CLI, the openai SDK)
    at it — including the documented local credentials, which open nothing but this service.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: bool = True, latency_ms: float = 0,
                 throttle_rpm: int | None = None, error_rate: float = 0.0, s3_endpoint: str | None = None,
                 state_dir: str | None = None, *, verbose: bool = False, allow_remote: bool = False,
                 default_region: str = local.DEFAULT_REGION, seed: int | None = None) -> None:
        if host not in LOOPBACK_HOSTS and not allow_remote:
            raise ValueError(f"refusing to listen on non-loopback host {host!r}; pass allow_remote=True to do it")
        self.host, self.port, self.tls = host, port, tls
        self.state_dir, self.verbose = state_dir, verbose
        self.default_region = default_region
        # Injected latency waits on the workers' stopping event: stop() never waits it out.
        self.faults = Faults(latency_ms=latency_ms, throttle_rpm=throttle_rpm, error_rate=error_rate, seed=seed,
                             sleep=lambda seconds: self.app.workers.stopping.wait(seconds))
        self.catalog = Catalog.load()
        self.app = App(self.catalog, self.faults, default_region, s3_endpoint)
        self.ca_file: str | None = None
        self.router: Router | None = None  # the routes being served (set by start)
        self._running: _Running | None = None
        self._lifecycle = threading.Lock()  # start() and stop() one at a time

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._running is not None

    def __repr__(self) -> str:
        state = self.url if self._running else "stopped"
        return f"<LocalService {state}>"

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> "LocalService":
        """Bind, start serving in a background thread, and return once the port is listening."""
        with self._lifecycle:
            if self._running:
                return self
            context = None
            if self.tls:
                tls = server_tls(self.state_dir)
                context, self.ca_file = tls.context, str(tls.ca_file)
            self.router = build_router()
            server = _Server((self.host, self.port), self.app, self.router,
                             Authenticator(self.default_region, regions=self.catalog.regions), context, self.verbose)
            self.port = server.server_address[1]
            self.app.workers.restart()
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=f"bedrock-local:{self.port}", daemon=True)
            thread.start()
            self._running = _Running(server, thread)
            return self

    def stop(self) -> None:
        """Stop serving and release everything the service started; calling it again is harmless.

        In order: wake paused work (injected latency, background responses, job pauses), close
        the port and every connection and join their threads, stop the batch jobs (each ends
        Stopped, its partial output written) and join every worker thread, then stop the S3 server
        :meth:`ensure_s3` started (once: the second call finds none). Threads still alive after
        their time limit (a handler stuck in user code) are logged, not waited for.
        """
        with self._lifecycle:
            running, self._running = self._running, None
            self.app.workers.stopping.set()
            leftover = []
            if running is not None:
                leftover += running.server.close()
                running.thread.join(timeout=5)
            jobs.stop_all(self.app)
            leftover += self.app.workers.stop()
            s3.stop_s3(self.app)  # after the jobs: a stopping job still writes its output
            if leftover:
                log.warning("local Bedrock service: %d thread(s) still running after stop: %s", len(leftover),
                            ", ".join(t.name for t in leftover))

    def __enter__(self) -> "LocalService":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- local Lambda functions (mantle's server-side tools) -----------------------------------

    def register_lambda(self, name: str, func: Any, region: str | None = None, handler: bool = False) -> str:
        """Serve ``func`` as the local Lambda function ``name`` and return its ARN
        (``arn:aws:lambda:REGION:123456789012:function:NAME``), for mantle Responses' ``mcp`` tools.

        ``func`` is a documented Python function (or a list of them), offered over MCP JSON-RPC as
        one tool each, its schema from the signature, type hints and docstring; with
        ``handler=True``, a ``lambda_handler(event, context)`` that answers MCP JSON-RPC itself.
        ``region`` defaults to the service's default region. Registering a name again replaces the
        function. Works before or after :meth:`start`. ``ValueError`` for a name Lambda refuses or a
        function without a docstring. See :mod:`bedrock_magics.local.lambdas`.
        """
        return lambdas.register_lambda(self, name, func, region, handler)

    def register_gateway(self, name: str, targets: dict[str, str], region: str | None = None) -> str:
        """Serve a local AgentCore gateway over registered local Lambda functions and return its ARN
        (``arn:aws:bedrock-agentcore:REGION:123456789012:gateway/ID``), for mantle's ``mcp`` tools.

        ``targets``: ``{target name: local Lambda function ARN}``; the gateway's tools are the
        targets' tools named ``TARGET___TOOL``, as AgentCore names them. ``ValueError`` for a bad
        name or a target that is not a registered function of the region.
        """
        return lambdas.register_gateway(self, name, targets, region)

    def unregister_lambda(self, arn: str) -> bool:
        """Remove the local Lambda function (or gateway) of ``arn``; False when there was none."""
        return lambdas.registry(self.app).unregister(arn)

    @property
    def lambda_arns(self) -> list[str]:
        """The ARNs of the registered local Lambda functions and gateways."""
        return lambdas.registry(self.app).arns()

    # -- where it is ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def endpoints(self) -> dict[str, str]:
        """Base URLs of the three surfaces (all on the same port)."""
        return {"control": self.url, "runtime": self.url, "mantle": self.url + local.MANTLE_PREFIX}

    def ensure_s3(self) -> str:
        """The URL of the S3 that batch inference jobs use, starting it if need be.

        The ``s3_endpoint`` given at construction, else moto's S3 on a free loopback port, started
        by the first call (about a second; needs the ``[batch]`` extra, ImportError without it)
        and kept until :meth:`stop`. Once it runs, :attr:`env` names it as ``AWS_ENDPOINT_URL_S3``.
        """
        return s3.ensure_s3(self.app)

    @property
    def s3_endpoint(self) -> str:
        """The URL of the S3 that batch inference jobs use — same as :meth:`ensure_s3`.

        **Side effect:** reading this property starts moto's S3 server (a loopback port and its
        threads, until :meth:`stop`) when the service was given no ``s3_endpoint`` and none runs
        yet. Kept as a property for existing notebooks and client code; new code should call
        :meth:`ensure_s3`, which says what it does.
        """
        return self.ensure_s3()

    @property
    def env(self) -> "ServiceEnv":
        """The environment that points boto3, the aws CLI and the openai SDK at this service.

        Over plain HTTP (``tls=False``) there is no CA to trust and no bearer key, because botocore
        refuses to send a bearer key over HTTP; SigV4 with the local keys works there.
        """
        env = {
            "AWS_ENDPOINT_URL_BEDROCK": self.endpoints["control"],
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.endpoints["runtime"],
            "AWS_ENDPOINT_URL_BEDROCK_MANTLE": self.endpoints["mantle"],
            # The openai SDK's Bedrock provider reads its base URL from here (mantle's /v1 routes).
            "AWS_BEDROCK_BASE_URL": self.endpoints["mantle"] + "/v1",
            "AWS_ACCESS_KEY_ID": local.ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": local.SECRET_ACCESS_KEY,
        }
        if self.tls:
            env["AWS_BEARER_TOKEN_BEDROCK"] = local.API_KEY
        env["AWS_DEFAULT_REGION"] = self.default_region
        if self.tls and self.ca_file:
            env["AWS_CA_BUNDLE"] = self.ca_file
            env["SSL_CERT_FILE"] = self.ca_file
        s3 = self.app.s3_endpoint or self.app.state.get("s3_endpoint")
        if s3:  # only once S3 runs: starting moto costs a second, and most sessions never need it
            env["AWS_ENDPOINT_URL_S3"] = s3
        return ServiceEnv(env)
