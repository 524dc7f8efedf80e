"""One-line errors: ``BedrockError`` and ``explain(exc, request)`` for everything boto3/openai raise.

A failed call must fail the cell with one or two readable lines naming the cause and the fix, not
a traceback through botocore. ``explain`` classifies any exception from a route (botocore
``ClientError``/``EventStreamError``, credential and connection errors, openai ``APIStatusError``
and ``APIConnectionError``, ...) into a ``BedrockError`` whose ``message`` is the cause and
``hint`` the fix; ``str(err)`` is both on one line (for the ledger and DataFrame error columns) and
``_render_traceback_`` is what IPython prints instead of a traceback. The original exception stays
in ``__cause__``. No message ever contains a secret: every text goes through ``auth.redact``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from .auth import redact

_MAX_MESSAGE = 240


class BedrockError(Exception):
    """A failed Bedrock call, explained in one line.

    ``code`` is the wire error code (``AccessDeniedException``, ``ThrottlingException``, …) or one of
    ours (``NoCredentials``, ``ConnectionError``, ``SSLError``, ``IncompleteStream``, …);
    ``message`` names the cause, ``hint`` the fix; ``status`` is the HTTP status when there was one.
    ``reply`` is the failed call's recorded :class:`~bedrock_magics.reply.Reply` (set by the core).
    """

    reply = None

    def __init__(self, message: str, *, code: str = "BedrockError", hint: str | None = None,
                 request_id: str | None = None, status: int | None = None) -> None:
        self.message = redact(_one_line(message))
        self.code = code
        self.hint = redact(_one_line(hint)) if hint else None
        self.request_id = request_id
        self.status = status
        super().__init__(self.line)

    @property
    def line(self) -> str:
        """Cause and fix on one line."""
        return f"{self.message} {self.hint}" if self.hint else self.message

    def __str__(self) -> str:
        return self.line

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: 1–3 short lines."""
        lines = [f"BedrockError ({self.code}): {self.message}"]
        if self.hint:
            lines.append(f"  → {self.hint}")
        if self.request_id:
            lines.append(f"  request id: {self.request_id}")
        return lines


def _one_line(text: str | None) -> str:
    if not text:
        return ""
    # Service messages can be long (InvalidSignatureException carries the canonical request):
    # the first line tells the cause, the rest is for debugging.
    first = str(text).strip().splitlines()[0].strip() if str(text).strip() else ""
    return first if len(first) <= _MAX_MESSAGE else first[: _MAX_MESSAGE - 1] + "…"


# --------------------------------------------------------------------------------------------------
# Facts about the failed call, whatever raised it
# --------------------------------------------------------------------------------------------------


class _Facts:
    """The code, message, status, request id, retries and URL of a failure, from any client."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.code = type(exc).__name__
        self.message = str(exc)
        self.status: int | None = None
        self.request_id: str | None = None
        self.retries = 0
        self.url: str | None = None
        self._read(exc)
        # Wrapped transport errors say what happened only in their own text ("certificate verify failed").
        self.chain_text = " ".join(str(e) for e in _chain(exc)).lower()
        # Routes tag errors raised mid-stream with what the bare transport error does not know.
        for e in _chain(exc):
            self.request_id = self.request_id or getattr(e, "bedrock_request_id", None)
            self.url = self.url or getattr(e, "bedrock_endpoint_url", None)

    def _read(self, exc: BaseException) -> None:
        response = getattr(exc, "response", None)
        # botocore ClientError / EventStreamError: a parsed error response dict.
        if isinstance(response, dict) and "Error" in response:
            error = response.get("Error") or {}
            meta = response.get("ResponseMetadata") or {}
            code = str(error.get("Code") or self.code)
            # In-stream exceptions are named by their lower-camel member ("throttlingException").
            self.code = code[:1].upper() + code[1:]
            self.message = str(error.get("Message") or "")
            self.status = meta.get("HTTPStatusCode") or _status_of(self.code)
            self.request_id = meta.get("RequestId")
            self.retries = int(meta.get("RetryAttempts") or 0)
            return
        kwargs = getattr(exc, "kwargs", None)
        if isinstance(kwargs, dict):  # botocore's BotoCoreError keeps its format arguments
            self.url = kwargs.get("endpoint_url") or kwargs.get("proxy_url")
        # openai: APIStatusError has status_code/request_id/body; APIConnectionError a request.
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            self.status = status
            self.request_id = getattr(exc, "request_id", None)
            body = getattr(exc, "body", None)
            if isinstance(body, dict):
                err = body.get("error") if isinstance(body.get("error"), dict) else body
                self.message = str(err.get("message") or err.get("Message") or self.message)
                self.code = str(err.get("code") or err.get("type") or self.code)
            else:
                self.message = str(getattr(exc, "message", self.message))
            try:
                headers = exc.response.headers  # type: ignore[attr-defined]
                self.request_id = self.request_id or headers.get("x-amzn-requestid")
                self.retries = int(exc.response.request.headers.get("x-stainless-retry-count") or 0)  # type: ignore[attr-defined]
            except Exception:
                pass
        request = getattr(exc, "request", None)
        if self.url is None and request is not None and hasattr(request, "url"):
            try:
                url = request.url
                self.url = f"{url.scheme}://{url.netloc.decode() if isinstance(url.netloc, bytes) else url.netloc}"
            except Exception:
                self.url = None

    def has(self, *needles: str) -> bool:
        text = f"{self.code} {self.message}".lower()
        return any(n.lower() in text for n in needles)


def _status_of(code: str) -> int | None:
    return {"ValidationException": 400, "AccessDeniedException": 403, "ResourceNotFoundException": 404,
            "ThrottlingException": 429, "ServiceUnavailableException": 503,
            "InternalServerException": 500, "ModelTimeoutException": 408}.get(code)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it wraps (openai wraps httpx errors, botocore urllib3 ones)."""
    seen, out = set(), []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        out.append(exc)
        # An implicit __context__ counts unless the raiser suppressed it ("raise … from None").
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)  # type: ignore[assignment]
    return out


# --------------------------------------------------------------------------------------------------
# explain
# --------------------------------------------------------------------------------------------------


def explain(exc: BaseException, request: Any = None, hints: Mapping[str, Any] | None = None) -> BedrockError:
    """Turn any exception from a Bedrock call into a ``BedrockError`` with one line: cause and fix.

    ``request`` (a ``Request``, optional) names the model, region, endpoint and API in the message.
    ``hints`` may carry what only the catalog knows: ``supported_apis`` (routes that do serve the
    model, e.g. ``["runtime/converse", "mantle/chat"]``), ``close_models`` (ids close to an unknown
    one), ``profiles`` (inference-profile ids containing the model), ``endpoint_url``.
    A ``BedrockError`` is returned unchanged.
    """
    if isinstance(exc, BedrockError):
        return exc
    hints = dict(hints or {})
    facts = _Facts(exc)
    ctx = _Context(request, hints, facts)
    message, code, hint = _classify(ctx, facts, exc)
    err = BedrockError(message, code=code, hint=hint, request_id=facts.request_id, status=facts.status)
    err.__cause__ = exc
    return err


class _Context:
    """What the message can name: model, region, route; and the hints."""

    def __init__(self, request: Any, hints: dict, facts: _Facts) -> None:
        self.named = bool(getattr(request, "model", None) or hints.get("model"))
        self.model = getattr(request, "model", None) or hints.get("model") or "the model"
        self.region = getattr(request, "region", None) or hints.get("region") or "this region"
        self.endpoint = getattr(request, "endpoint", None) or hints.get("endpoint") or "runtime"
        self.api = getattr(request, "api", None) or hints.get("api") or "converse"
        self.hints = hints
        self.url = hints.get("endpoint_url") or facts.url

    @property
    def route(self) -> str:
        return f"{self.endpoint}/{self.api}"


_LOCAL_HINT = "or run %bedrock local start to use the offline local service"


def _classify(ctx: _Context, f: _Facts, exc: BaseException) -> tuple[str, str, str | None]:
    """(message, code, hint) for the failure ``f``."""
    for rule in (_credentials_rule, _connection_rule, _access_rule, _model_rule, _throttle_rule,
                 _service_rule, _usage_rule):
        result = rule(ctx, f, exc)
        if result:
            return result
    # Anything else: say what the service (or library) said, cleaned of secrets.
    what = f.message or type(exc).__name__
    where = f" ({ctx.model} in {ctx.region}, {ctx.route})" if f.status and ctx.named else ""
    return f"Bedrock call failed{where}: {what}", f.code, None


def _names(exc: BaseException) -> set[str]:
    """Class names (with bases) of ``exc`` and everything it wraps: matching by name avoids importing
    botocore, openai and httpx2 just to classify."""
    return {base.__name__ for e in _chain(exc) for base in type(e).__mro__}


def _credentials_rule(ctx: _Context, f: _Facts, exc: BaseException):
    names = _names(exc)
    if "NoCredentialsError" in names or "NoAuthTokenError" in names or f.has(
            "could not find credentials for bedrock", "authorization header is missing", "unable to locate credentials"):
        return ("No AWS credentials found for Bedrock.", "NoCredentials",
                "Enter an API key with %bedrock key, configure a profile (--profile or AWS_PROFILE), "
                + _LOCAL_HINT + ".")
    if "ProfileNotFound" in names:
        profile = (getattr(exc, "kwargs", None) or {}).get("profile") or ""
        return (f"The AWS profile {profile!r} does not exist.", "ProfileNotFound",
                "Check the name (--profile / AWS_PROFILE) against ~/.aws/config and ~/.aws/credentials.")
    if "PartialCredentialsError" in names:
        return (f"Incomplete AWS credentials: {f.message}", "NoCredentials",
                "Set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or use a profile or %bedrock key).")
    if ({"TokenRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError"} & names
            or f.has("expiredtoken", "token included in the request is expired", "token has expired",
                     "security token has expired")):
        return ("Your AWS credentials have expired.", "ExpiredToken",
                "Refresh them (aws sso login / a new session token), or enter a fresh API key with %bedrock key.")
    if f.has("signature expired", "signature not yet current"):
        return ("The request's signing time is more than 5 minutes off the service's clock.", "ClockSkew",
                "Fix the system clock (enable time synchronisation) and retry.")
    if f.has("api key has expired", "key has expired"):
        return ("Your Bedrock API key has expired.", "ExpiredApiKey",
                "Enter a new key with %bedrock key (short-term keys last at most 12 hours).")
    if f.has("api key is valid", "invalid api key", "invalid bearer", "incorrect api key") or (
            f.status == 401 and f.has("api key", "bearer")):
        return ("Bedrock rejected the API key (invalid or expired).", "InvalidApiKey",
                "Enter a valid key with %bedrock key, or unset AWS_BEARER_TOKEN_BEDROCK to sign with AWS credentials.")
    if f.has("unrecognizedclient", "security token included in the request is invalid", "invalidclienttokenid"):
        return ("AWS does not recognise the access key id (security token invalid).", "UnrecognizedClient",
                "Check AWS_ACCESS_KEY_ID / the profile's keys (and AWS_SESSION_TOKEN for temporary credentials).")
    if f.has("invalidsignature", "signaturedoesnotmatch", "signature we calculated does not match"):
        return ("The request signature does not match: the secret access key is wrong.", "InvalidSignature",
                "Check AWS_SECRET_ACCESS_KEY or the profile's secret; make sure the system clock is right.")
    return None


def _connection_rule(ctx: _Context, f: _Facts, exc: BaseException):
    names = _names(exc)
    url = _origin(ctx.url) or "the Bedrock endpoint"
    if "SSLError" in names or any(t in f.chain_text for t in ("certificate verify failed", "ssl validation failed")):
        return (f"TLS certificate of {url} is not trusted.", "SSLError",
                "Point AWS_CA_BUNDLE at the CA file that signs it (the local service prints its CA_BUNDLE).")
    if "InvalidEndpointConfigurationError" in names and f.has("https"):
        return (f"An API key can only be sent over HTTPS, and {url} is plain HTTP.", "InvalidEndpoint",
                "Use the https:// endpoint (the local service serves HTTPS by default) or sign with AWS credentials.")
    # A connection that broke after the answer began (openai wraps this in APIConnectionError too,
    # so it is checked before the can't-connect case).
    if names & {"ResponseStreamingError", "IncompleteReadError", "IncompleteRead", "RemoteProtocolError",
                "ChunkedEncodingError", "ProtocolError", "ReadError"}:
        return (f"The response stream from {url} was cut off before it finished.", "IncompleteStream",
                "Retry the call; if it keeps happening try without --stream.")
    if names & {"ReadTimeoutError", "APITimeoutError", "ReadTimeout"}:
        return (f"Timed out waiting for {url}.", "Timeout",
                "Retry, ask for fewer tokens (--max-tokens), or check the network.")
    if names & {"EndpointConnectionError", "ConnectTimeoutError", "APIConnectionError", "ProxyConnectionError",
                "ConnectionError", "ConnectError", "ConnectionClosedError"}:
        return (f"Cannot connect to {url}.", "ConnectionError",
                "Check the network, the region and AWS_ENDPOINT_URL_* variables, " + _LOCAL_HINT + ".")
    return None


def _origin(url: str | None) -> str | None:
    """``scheme://host:port`` of a URL (the path of a failed call only adds noise)."""
    if not url:
        return url
    match = re.match(r"^(\w+://[^/]+)", url)
    return match.group(1) if match else url


def _access_rule(ctx: _Context, f: _Facts, exc: BaseException):
    if f.has("don't have access to the model", "do not have access to the model", "access to the model",
             "not have access to model"):
        return (f"Access to {ctx.model} is not enabled in {ctx.region}.", "AccessDeniedException",
                f"Enable it under Model access in the Bedrock console for {ctx.region}, or pick another model/region.")
    if f.has("is not authorized to perform", "not authorized to perform"):
        action = re.search(r"perform:\s*([\w:-]+)", f.message)
        what = action.group(1) if action else "this Bedrock action"
        return (f"Your IAM identity is not allowed to call {what}.", "AccessDeniedException",
                f"Ask an administrator for {what} on {ctx.model} (or use an identity/API key that has it).")
    if f.status == 401:
        return (f"Bedrock refused the credentials: {f.message}", f.code,
                "Check your API key (%bedrock key) or AWS credentials (%bedrock status shows which are used).")
    if f.code in ("AccessDeniedException", "PermissionDeniedError") or f.status == 403:
        return (f"Access denied: {f.message or 'forbidden'}", f.code,
                "Check the model access page and IAM permissions; %bedrock status shows which credentials are used.")
    return None


def _model_rule(ctx: _Context, f: _Facts, exc: BaseException):
    supported = [str(s) if isinstance(s, str) else "/".join(s) for s in ctx.hints.get("supported_apis") or ()]
    close = list(ctx.hints.get("close_models") or ())
    if f.has("on-demand throughput isn't supported", "on-demand throughput is not supported",
             "with on-demand throughput"):
        base = ctx.model.rsplit("/", 1)[-1]
        # The catalog's profiles, else its close matches that are profiles of this model, else a guess.
        profiles = (list(ctx.hints.get("profiles") or ())
                    or [m for m in close if m.endswith("." + base)]
                    or _guess_profiles(ctx.model, ctx.region))
        return (f"{ctx.model} can only be called through an inference profile.", "OnDemandNotSupported",
                f"Use --model {' or '.join(profiles[:3])}.")
    routes = ", ".join(supported)
    if f.has("unsupported for streaming", "does not support streaming", "doesn't support streaming"):
        return (f"{ctx.model} does not stream its answers.", "StreamingNotSupported",
                "Run the cell with --no-stream." + (f" It supports: {routes}." if routes else ""))
    if f.has("doesn't support the model that you provided", "doesn't support the converse operation",
             "does not support the converse operation", "isn't supported on this route",
             "not supported on this route", "model_not_supported"):
        if supported:
            endpoint, api = supported[0].split("/", 1) if "/" in supported[0] else ("runtime", supported[0])
            fix = f"Use --endpoint {endpoint} --api {api} (it supports: {routes})."
        else:
            fix = "Run %bedrock models to see which APIs the model supports."
        return (f"{ctx.model} does not support the {ctx.api} API on {ctx.endpoint}.", "UnsupportedApi", fix)
    if f.has("previous response with id", "previous_response_not_found"):
        return ("The stored response this conversation continues from is gone (expired, deleted or in another "
                "region).", "PreviousResponseNotFound", "Start the conversation again (a new --chat name).")
    unknown = f.has("provided model identifier is invalid", "model identifier is invalid", "model_not_found",
                    "model not found", "unknown model", "could not resolve the foundation model",
                    "does not exist") or (f.code == "ResourceNotFoundException")
    if unknown:
        if close:
            fix = f"Did you mean {' or '.join(close[:3])}?"
        else:
            fix = f"Run %bedrock models -r {ctx.region} to list the models offered there."
        if supported:  # the catalog knows the model: it is the route that does not serve it
            return (f"{ctx.model} is not served by the {ctx.api} API on {ctx.endpoint} in {ctx.region}.",
                    "UnsupportedApi", f"Use a route that serves it: {routes}.")
        return (f"Unknown model {ctx.model} in {ctx.region}.", "UnknownModel", fix)
    return None


def _guess_profiles(model: str, region: str) -> list[str]:
    """Likely inference-profile ids for a bare model id (the catalog's hints are better)."""
    base = model.rsplit("/", 1)[-1]
    geo = "us-gov" if region.startswith("us-gov") else {"us": "us", "ca": "us", "eu": "eu", "ap": "apac"}.get(
        region.split("-", 1)[0], "us")
    return [f"{geo}.{base}", f"global.{base}"]


def _throttle_rule(ctx: _Context, f: _Facts, exc: BaseException):
    if f.has("throttling", "too many requests", "too many tokens", "rate_limit", "ratelimit", "rate limit",
             "slow down") or f.status == 429:
        tries = f" after {f.retries} {'retry' if f.retries == 1 else 'retries'}" if f.retries else ""
        if f.has("quota", "servicequotaexceeded"):
            return (f"Bedrock quota exceeded for {ctx.model}{tries}.", "ServiceQuotaExceededException",
                    "Lower --concurrency, wait a minute, or ask for a quota increase in Service Quotas.")
        return (f"Bedrock throttled the calls to {ctx.model} in {ctx.region}{tries}.", "ThrottlingException",
                "Lower --concurrency, wait a minute and retry, or use a cross-region inference profile.")
    if f.has("servicequotaexceeded"):
        return (f"Bedrock quota exceeded: {f.message}", "ServiceQuotaExceededException",
                "Lower --concurrency or ask for a quota increase in Service Quotas.")
    return None


def _service_rule(ctx: _Context, f: _Facts, exc: BaseException):
    if f.has("modeltimeout"):
        return (f"{ctx.model} timed out processing the request.", "ModelTimeoutException",
                "Retry, or ask for fewer tokens (--max-tokens).")
    if f.has("modelnotready"):
        return (f"{ctx.model} is not ready yet (it is being loaded).", "ModelNotReadyException",
                "Wait a minute and retry.")
    if f.has("modelerror", "modelstreamerror"):
        return (f"{ctx.model} failed while answering: {f.message}", f.code, "Retry; change the prompt if it repeats.")
    if (f.status or 0) >= 500 or f.has("serviceunavailable", "internalserver", "internal server error"):
        tries = f" after {f.retries} {'retry' if f.retries == 1 else 'retries'}" if f.retries else ""
        return (f"Bedrock had an internal error{tries}: {f.message or f.code}", f.code,
                "Retry in a moment; if it persists, try another region.")
    return None


def _usage_rule(ctx: _Context, f: _Facts, exc: BaseException):
    names = _names(exc)
    if "ParamValidationError" in names:
        return (f"Invalid request parameters: {f.message}", "ParamValidationError", None)
    if "UnknownRegionError" in names:
        return (f.message, "UnknownRegion", None)
    if f.code == "ValidationException" or f.status in (400, 422):
        return (f"Bedrock rejected the request to {ctx.model} ({ctx.route}): {f.message}", f.code,
                "Check the settings (--max-tokens, --temperature, --top-p, --stop) and the prompt.")
    if isinstance(exc, ValueError) and not f.status:
        return (f.message, "InvalidRequest", None)
    if f.has("openaierror") or type(exc).__name__ == "OpenAIError":
        return (f"openai client configuration failed: {f.message}", "ClientConfiguration",
                "Check the region, endpoint and credentials (%bedrock status).")
    return None


def raise_explained(exc: BaseException, request: Any = None, hints: Mapping[str, Any] | None = None) -> None:
    """``raise explain(exc, …) from exc`` — convenience for callers."""
    raise explain(exc, request, hints) from exc


__all__: Sequence[str] = ("BedrockError", "explain", "raise_explained")
