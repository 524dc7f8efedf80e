"""Failure -> advice: ``explain(exc, request)`` for everything boto3/openai raise.

``explain`` classifies any exception from a route (botocore ``ClientError``/``EventStreamError``,
credential and connection errors, openai ``APIStatusError`` and ``APIConnectionError``, ...) into a
:class:`~bedrock_magics.errors.BedrockError` whose ``message`` is the cause and ``hint`` the fix.
The original exception stays in ``__cause__``. A message names only what is known (model,
region, route); it never fills a gap with a placeholder. :class:`~bedrock_magics.hints.Hints` adds what a ``Bedrock``
knows about the failure (the catalog's routes and close matches, where the API key came from),
looked up lazily, only for the failures that need it (:mod:`~bedrock_magics.hints`).
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from .errors import BedrockError, code_of, status_of
from .modelids import EMBED_FAMILIES, base_model_id, family_of, split_s3_uri

# --------------------------------------------------------------------------------------------------
# Facts about the failed call, whatever raised it
# --------------------------------------------------------------------------------------------------


class _Facts:
    """The code, message, status, request id, retries and URL of a failure, from any client."""

    def __init__(self, exc: BaseException) -> None:
        self.exc, self.code = exc, type(exc).__name__
        self.message = str(exc)
        self.status: int | None = None
        self.request_id: str | None = None
        self.retries = 0
        self.url: str | None = None
        self.bucket: str | None = None  # S3 names the bucket and key in its errors
        self.key: str | None = None
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
            self.code = code_of(exc) or self.code
            self.message = str(error.get("Message") or "")
            self.status = status_of(exc) or _status_for_code(self.code)
            self.request_id = meta.get("RequestId")
            self.retries = int(meta.get("RetryAttempts") or 0)
            self.bucket = error.get("BucketName") or None
            self.key = error.get("Key") or None
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


def _status_for_code(code: str) -> int | None:
    """The HTTP status a wire error code comes with (in-stream errors have no status of their own)."""
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
    # Kept a Mapping, not copied: the caller's hints may be lazy (Bedrock's catalog lookups run only
    # when a rule asks for them).
    hints = hints if hints is not None else {}
    facts = _Facts(exc)
    ctx = _Context(request, hints, facts)
    message, code, hint = _classify(ctx, facts, exc)
    err = BedrockError(message, code=code, hint=hint, request_id=facts.request_id, status=facts.status)
    err.__cause__ = exc
    return err


class _Context:
    """What the message can name: model, region, route; and the hints.

    Each is None when unknown, and a message leaves out what it does not know (never "the model
    in this region"): see the phrase helpers below.
    """

    def __init__(self, request: Any, hints: Mapping[str, Any], facts: _Facts) -> None:
        self.model: str | None = getattr(request, "model", None) or hints.get("model") or None
        self.region: str | None = getattr(request, "region", None) or hints.get("region") or None
        self.endpoint: str | None = getattr(request, "endpoint", None) or hints.get("endpoint") or None
        self.api: str | None = getattr(request, "api", None) or hints.get("api") or None
        self.hints = hints
        self.url = hints.get("endpoint_url") or facts.url

    @property
    def named(self) -> bool:
        return bool(self.model)

    @property
    def route(self) -> str | None:
        if self.endpoint and self.api:
            return f"{self.endpoint}/{self.api}"
        return self.endpoint or self.api

    # Phrases that vanish when their fact is unknown.

    def subject(self, unknown: str = "The model") -> str:
        """The model as the subject of a sentence."""
        return self.model or unknown

    @property
    def in_region(self) -> str:
        return f" in {self.region}" if self.region else ""

    @property
    def for_model(self) -> str:
        return f" for {self.model}" if self.model else ""

    @property
    def to_model(self) -> str:
        return f" to {self.model}" if self.model else ""

    @property
    def on_route(self) -> str:
        return f" ({self.route})" if self.route else ""

    @property
    def api_on_endpoint(self) -> str:
        """``the converse API on runtime`` (as much of it as is known)."""
        what = f"the {self.api} API" if self.api else "this API"
        return f"{what} on {self.endpoint}" if self.endpoint else what

    @property
    def models_command(self) -> str:
        return f"%bedrock models -r {self.region}" if self.region else "%bedrock models"


_LOCAL_HINT = "or run %bedrock local start to use the offline local service"


def _classify(ctx: _Context, f: _Facts, exc: BaseException) -> tuple[str, str, str | None]:
    """(message, code, hint) for the failure ``f``."""
    for rule in (_credentials_rule, _connection_rule, _s3_rule, _access_rule, _model_rule, _throttle_rule,
                 _service_rule, _usage_rule):
        result = rule(ctx, f, exc)
        if result:
            return result
    # Anything else: say what the service (or library) said, cleaned of secrets.
    what = f.message or type(exc).__name__
    known = [part for part in (ctx.model, ctx.region, ctx.route) if part]
    where = f" ({', '.join(known)})" if f.status and ctx.named else ""
    if f.status == 404:
        return f"Not found{where}: {what}", f.code, None
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
        return ("Bedrock rejected the API key (invalid or expired).", "InvalidApiKey", _api_key_fix(ctx))
    if f.has("unrecognizedclient", "security token included in the request is invalid", "invalidclienttokenid",
             "invalidaccesskeyid", "access key id you provided does not exist"):
        return ("AWS does not recognise the access key id (security token invalid).", "UnrecognizedClient",
                "Check AWS_ACCESS_KEY_ID / the profile's keys (and AWS_SESSION_TOKEN for temporary credentials).")
    if f.has("scoped to a valid region", "api key was made for region"):  # a region refused, not a wrong key
        return f.message.split(": ", 1)[-1], "RegionNotServed", "Choose a served region: -r REGION or %config Bedrock.region."
    if f.has("invalidsignature", "signaturedoesnotmatch", "signature we calculated does not match"):
        return ("The request signature does not match: the secret access key is wrong.", "InvalidSignature",
                "Check AWS_SECRET_ACCESS_KEY or the profile's secret; make sure the system clock is right.")
    return None


def _api_key_fix(ctx: _Context) -> str:
    """How to replace or drop the rejected key, by where it came from (``hints["credential_source"]``,
    the description ``auth.Clients.credential_source()`` gives)."""
    source = str(ctx.hints.get("credential_source") or "")
    if "%bedrock key" in source:
        return ("Enter a valid key with %bedrock key, or forget it with %bedrock key --clear "
                "(bm.set_api_key(None) in Python) to sign with AWS credentials.")
    if "AWS_BEARER_TOKEN_BEDROCK" in source:
        return ("Set a valid key in AWS_BEARER_TOKEN_BEDROCK (or enter one with %bedrock key), or unset "
                "AWS_BEARER_TOKEN_BEDROCK to sign with AWS credentials.")
    return ("Enter a valid key with %bedrock key; to sign with AWS credentials instead, %bedrock key --clear "
            "and unset AWS_BEARER_TOKEN_BEDROCK.")


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


# Error codes only S3 uses (batch jobs read and write S3): never about a model. ("AccessDenied"
# is S3's too, but STS and others share it: it counts as S3's only with hints["s3_uri"].)
_S3_CODES = {"NoSuchBucket", "NoSuchKey", "AllAccessDisabled", "InvalidBucketName", "PermanentRedirect",
             "IllegalLocationConstraintException", "InvalidObjectState", "SlowDown"}


def _s3_rule(ctx: _Context, f: _Facts, exc: BaseException):
    """Failures of S3 calls (``hints["s3_uri"]`` says the call was one, else S3's own codes)."""
    uri = ctx.hints.get("s3_uri")
    if f.code not in _S3_CODES and not (uri and (f.status in (301, 400, 403, 404, 503) or f.code == "AccessDenied")):
        return None
    bucket = f.bucket or ctx.hints.get("bucket") or _bucket_of(uri)
    where = f"s3://{bucket}/" if bucket else "S3"
    option = ctx.hints.get("s3_option")  # how the user named the location, e.g. "--job"
    check = f"check {option}" if option else "check the S3 location"
    if f.code == "NoSuchBucket" or (f.status == 404 and f.has("bucket does not exist")):
        name = f"bucket {bucket}" if bucket else "the bucket"
        return (f"{name[:1].upper() + name[1:]} does not exist.", "NoSuchBucket",
                f"Create it{f' (aws s3 mb s3://{bucket})' if bucket else ''}, or {check}.")
    if f.code == "NoSuchKey" or f.status == 404:
        key = f.key or ctx.hints.get("s3_key")
        what = f"s3://{bucket}/{key}" if bucket and key else (uri or "The S3 object")
        return (f"{what} does not exist.", "NoSuchKey", f"It may have been deleted or moved; {check}.")
    if f.code in ("AccessDenied", "AllAccessDisabled") or f.status == 403:
        return (f"Access to {where} was denied.", "AccessDenied",
                f"Your credentials (see %bedrock status) need s3:GetObject, s3:PutObject and s3:ListBucket on "
                f"{where}; the batch job's --role needs them too.")
    if f.code in ("PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException") \
            or f.status == 301:
        return (f"{where} is in another region than{' ' + ctx.region if ctx.region else ' the one used'}.",
                f.code, "Use a bucket in the same region as the batch job (-r / region=).")
    if f.code == "SlowDown" or f.status == 503:
        return (f"S3 asked to slow down ({where}).", f.code, "Retry in a moment.")
    return (f"S3 refused the request for {where}: {f.message or f.code}", f.code, None)


def _bucket_of(uri: Any) -> str | None:
    """The bucket of an ``s3://`` URI, or None when ``uri`` is not one."""
    try:
        return split_s3_uri(uri)[0] or None
    except ValueError:
        return None


def _access_rule(ctx: _Context, f: _Facts, exc: BaseException):
    if f.has("don't have access to the model", "do not have access to the model", "access to the model",
             "not have access to model"):
        return (f"Access to {ctx.subject('the model')} is not enabled{ctx.in_region}.", "AccessDeniedException",
                f"Enable it under Model access in the Bedrock console{' for ' + ctx.region if ctx.region else ''}, "
                "or pick another model/region.")
    if f.has("is not authorized to perform", "not authorized to perform"):
        action = re.search(r"perform:\s*([\w:-]+)", f.message)
        what = action.group(1) if action else "this Bedrock action"
        return (f"Your IAM identity is not allowed to call {what}.", "AccessDeniedException",
                f"Ask an administrator for {what}{' on ' + ctx.model if ctx.model else ''} "
                "(or use an identity/API key that has it).")
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
        if not ctx.model:
            return ("The model can only be called through an inference profile.", "OnDemandNotSupported",
                    f"Use one of its inference profiles (see {ctx.models_command}).")
        base = base_model_id(ctx.model) or ctx.model.rsplit("/", 1)[-1]
        # The catalog's profiles, else its close matches that are profiles of this model, else a guess.
        profiles = (list(ctx.hints.get("profiles") or ())
                    or [m for m in close if m.endswith("." + base)]
                    or _guess_profiles(ctx.model, ctx.region))
        return (f"{ctx.model} can only be called through an inference profile.", "OnDemandNotSupported",
                f"Use --model {' or '.join(profiles[:3])}.")
    routes = ", ".join(supported)
    if f.has("unsupported for streaming", "does not support streaming", "doesn't support streaming"):
        return (f"{ctx.subject()} does not stream its answers.", "StreamingNotSupported",
                "Run the cell with --no-stream." + (f" It supports: {routes}." if routes else ""))
    wrong_api = f.has("doesn't support the model that you provided", "doesn't support the converse operation",
                      "does not support the converse operation", "isn't supported on this route",
                      "not supported on this route", "model_not_supported")
    if (wrong_api or "UnsupportedFamilyError" in _names(exc)) and _is_embedding(ctx):
        # A prompt sent to an embedding model: no API answers it; the --embed mode is what fits.
        return (f"{ctx.model} is an embedding model: it turns text into vectors and does not answer prompts.",
                "EmbeddingModel", f"Embed a DataFrame column with --df FRAME --embed COLUMN -m {ctx.model} "
                                  "(bm.embed(frame, column, model=...) in Python).")
    if wrong_api:
        if supported:
            endpoint, api = supported[0].split("/", 1) if "/" in supported[0] else ("runtime", supported[0])
            fix = f"Use --endpoint {endpoint} --api {api} (it supports: {routes})."
        else:
            fix = f"Run {ctx.models_command} to see which APIs the model supports."
        return (f"{ctx.subject()} does not support {ctx.api_on_endpoint}.", "UnsupportedApi", fix)
    if f.has("previous response with id", "previous_response_not_found"):
        return ("The stored response this conversation continues from is gone (expired, deleted or in another "
                "region).", "PreviousResponseNotFound", "Start the conversation again (a new --chat name).")
    about_model = f.has("provided model identifier is invalid", "model identifier is invalid", "model_not_found",
                        "model not found", "unknown model", "could not resolve the foundation model") or (
        f.has("does not exist") and f.has("model"))
    # A bare ResourceNotFoundException is about the model only when a model was named: the same code
    # answers an unknown batch job, and S3 says "does not exist" of buckets and keys (see _s3_rule).
    if about_model or (f.code == "ResourceNotFoundException" and ctx.named):
        fix = (f"Did you mean {' or '.join(close[:3])}?" if close
               else f"Run {ctx.models_command} to list the models offered{' there' if ctx.region else ''}.")
        if not ctx.model:
            return (f"The model identifier is not valid{ctx.in_region}.", "UnknownModel", fix)
        if supported:  # the catalog knows the model: it is the route that does not serve it
            return (f"{ctx.model} is not served by {ctx.api_on_endpoint}{ctx.in_region}.",
                    "UnsupportedApi", f"Use a route that serves it: {routes}.")
        return (f"Unknown model {ctx.model}{ctx.in_region}.", "UnknownModel", fix)
    return None


def _is_embedding(ctx: _Context) -> bool:
    """Whether the call's model makes embeddings (the catalog's ``hints["embedding"]``, else its id)."""
    if ctx.hints.get("embedding") is not None:
        return bool(ctx.hints["embedding"])
    if not ctx.model:
        return False
    return family_of(ctx.model) in EMBED_FAMILIES


def _guess_profiles(model: str, region: str | None) -> list[str]:
    """Likely inference-profile ids for a bare model id (the catalog's hints are better)."""
    base = base_model_id(model) or model.rsplit("/", 1)[-1]
    region = region or "us-east-1"
    geo = "us-gov" if region.startswith("us-gov") else {"us": "us", "ca": "us", "eu": "eu", "ap": "apac"}.get(
        region.split("-", 1)[0], "us")
    return [f"{geo}.{base}", f"global.{base}"]


def _throttle_rule(ctx: _Context, f: _Facts, exc: BaseException):
    if f.has("modelnotready"):
        return None  # also a 429 on the wire, but "wait for the model", not "slow down" (_service_rule)
    if f.has("throttling", "too many requests", "too many tokens", "rate_limit", "ratelimit", "rate limit",
             "slow down") or f.status == 429:
        tries = f" after {f.retries} {'retry' if f.retries == 1 else 'retries'}" if f.retries else ""
        # Which quota: the words the runner's pacer reads too (pacing.throttle_kind).
        kind = " (too many tokens per minute)" if f.has("token") else ""
        if f.has("quota", "servicequotaexceeded"):
            return (f"Bedrock quota exceeded{ctx.for_model}{kind}{tries}.", "ServiceQuotaExceededException",
                    "Lower --concurrency, wait a minute, or ask for a quota increase in Service Quotas.")
        return (f"Bedrock throttled the calls{ctx.to_model}{ctx.in_region}{kind}{tries}.", "ThrottlingException",
                "Lower --concurrency, wait a minute and retry, or use a cross-region inference profile.")
    if f.has("servicequotaexceeded"):
        return (f"Bedrock quota exceeded: {f.message}", "ServiceQuotaExceededException",
                "Lower --concurrency or ask for a quota increase in Service Quotas.")
    return None


def _service_rule(ctx: _Context, f: _Facts, exc: BaseException):
    if f.has("modeltimeout"):
        return (f"{ctx.subject()} timed out processing the request.", "ModelTimeoutException",
                "Retry, or ask for fewer tokens (--max-tokens).")
    if f.has("modelnotready"):
        tries = f"; retried {f.retries} {'time' if f.retries == 1 else 'times'}" if f.retries else ""
        return (f"{ctx.subject()} is not ready yet (it is being loaded{tries}).", "ModelNotReadyException",
                "Wait a minute and retry: Bedrock loads a model on first use after a quiet spell.")
    if f.has("modelerror", "modelstreamerror"):
        return (f"{ctx.subject()} failed while answering: {f.message}", f.code,
                "Retry; change the prompt if it repeats.")
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
        if ctx.endpoint == "control":  # a control-plane request: no inference settings in it
            fix = ("Check the model (-m), the role (--role) and the S3 prefix (--job)."
                   if ctx.api == "CreateModelInvocationJob" else None)
            return (f"Bedrock rejected the request{ctx.to_model}{ctx.on_route}: {f.message}", f.code, fix)
        return (f"Bedrock rejected the request{ctx.to_model}{ctx.on_route}: {f.message}", f.code,
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


__all__: Sequence[str] = ("explain", "raise_explained")
