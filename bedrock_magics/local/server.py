"""The local Bedrock service: one threaded HTTP(S) server for the control plane, runtime and mantle.

:class:`LocalService` starts and stops it (the port, TLS, the worker threads, moto's S3 for batch
jobs) and says how to reach it (``url``, ``endpoints``, ``env``); :class:`App` is the state every
handler shares; :func:`build_router` collects the routes of the handler modules. What happens to
each request on a connection is :mod:`.connection`'s.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from . import anthropic_api, control, guardrails, jobs, lambdas, openai_api, runtime, s3
from . import credentials as local
from .auth import Authenticator
from .catalog import Catalog
from .connection import HttpServer
from .faults import Faults
from .http import Router
from .lifecycle import Workers
from .quotas import Quotas
from .tls import server_tls

log = logging.getLogger("bedrock_magics.local")

#: Handler modules, in registration order. Each exposes ``register(router)``.
HANDLER_MODULES = (control, guardrails, jobs, runtime, openai_api, anthropic_api)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class App:
    """The state every handler shares, reachable as ``req.app``.

    ``state`` is free for handler modules (each under its own key, guarded by ``lock``), e.g. the
    stored responses of mantle or the batch jobs. Work that outlives a request runs on
    ``workers`` (started with ``workers.spawn``, pausing with ``workers.stopping.wait``), which
    ``LocalService.stop()`` stops and joins.
    """

    def __init__(self, catalog: Catalog, faults: Faults, default_region: str = local.DEFAULT_REGION,
                 s3_endpoint: str | None = None, quotas: Quotas | None = None) -> None:
        self.catalog = catalog
        self.faults = faults
        self.quotas = quotas or Quotas()
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


def build_router() -> Router:
    """A router with every handler module's routes."""
    router = Router()
    for module in HANDLER_MODULES:
        module.register(router)
    return router


@dataclass
class _Running:
    server: HttpServer
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
                 default_region: str = local.DEFAULT_REGION, seed: int | None = None,
                 quotas: Mapping[str, int | None] | None = None, catalog: str | Path | None = None) -> None:
        if host not in LOOPBACK_HOSTS and not allow_remote:
            raise ValueError(f"refusing to listen on non-loopback host {host!r}; pass allow_remote=True to do it")
        self.host, self.port, self.tls = host, port, tls
        self.state_dir, self.verbose = state_dir, verbose
        self.default_region = default_region
        # Injected latency waits on the workers' stopping event: stop() never waits it out.
        self.faults = Faults(latency_ms=latency_ms, throttle_rpm=throttle_rpm, error_rate=error_rate, seed=seed,
                             sleep=lambda seconds: self.app.workers.stopping.wait(seconds))
        self.catalog = Catalog.load(catalog)  # the bundled snapshot, or a file `catalog --from-aws` wrote
        #: Bedrock's per-model quotas (see :mod:`.quotas`): ``quotas`` sets the global limits
        #: (``rpm``, ``tpm``, ``input_tpm``, ``output_tpm``); ``svc.quotas.set(model, ...)`` changes them.
        self.quotas = Quotas(**dict(quotas or {}))
        self.app = App(self.catalog, self.faults, default_region, s3_endpoint, self.quotas)
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
            server = HttpServer((self.host, self.port), self.app, self.router,
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
        """The environment that points boto3, the aws CLI, the openai SDK and the anthropic SDK's
        Bedrock mantle client at this service.

        Over plain HTTP (``tls=False``) there is no CA to trust and no bearer key, because botocore
        refuses to send a bearer key over HTTP; SigV4 with the local keys works there.
        """
        env = {
            "AWS_ENDPOINT_URL_BEDROCK": self.endpoints["control"],
            "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": self.endpoints["runtime"],
            "AWS_ENDPOINT_URL_BEDROCK_MANTLE": self.endpoints["mantle"],
            # The openai SDK's Bedrock provider reads its base URL from here (mantle's /v1 routes).
            "AWS_BEDROCK_BASE_URL": self.endpoints["mantle"] + "/v1",
            # The anthropic SDK's AnthropicBedrockMantle reads its base URL from here.
            "ANTHROPIC_BEDROCK_MANTLE_BASE_URL": self.endpoints["mantle"] + "/anthropic",
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
