"""Authentication of the local Bedrock service, the way AWS does it.

Two schemes, as on the real endpoints:

* **SigV4** (``Authorization: AWS4-HMAC-SHA256 Credential=…``). The signature is recomputed with
  botocore's own signer over exactly the headers the client listed in ``SignedHeaders`` and the
  raw (still percent-encoded) request target, so whatever boto3, the aws CLI or the openai SDK's
  Bedrock provider sign is verified byte for byte. The credential scope fixes the request's region
  and must name the signing service of the surface: ``bedrock`` for the control plane and the
  runtime, ``bedrock-mantle`` for mantle.
* **Bearer keys** (``Authorization: Bearer …``): the documented long-term local key (``ABSK…``),
  or a short-term ``bedrock-api-key-…`` made by ``aws-bedrock-token-generator`` from the local
  credentials. A short-term key is a base64 presigned URL; it is checked by recomputing that
  presigned signature with botocore's ``SigV4QueryAuth`` and checking its expiry and region.

Failures raise the AWS error shapes on AWS-native routes and OpenAI-shaped errors on the OpenAI
routes. No secret (secret key, API key, session token, signature) ever appears in a message.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import hmac
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping
from urllib.parse import parse_qsl

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

from . import credentials as local
from .http import MANTLE, AwsError, OpenAIError, Response, json_response

#: Largest difference between a request's X-Amz-Date and the service clock, as on AWS.
MAX_SKEW_SECONDS = 5 * 60
SHORT_TERM_PREFIX = "bedrock-api-key-"
_SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
_CORAL_SERVICE_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.coral.service/"
_BAD_KEY_MESSAGE = "Authentication failed: Please make sure your API Key is valid."
_EXPIRED_KEY_MESSAGE = "Authentication failed: the API key has expired. Generate a new short-term key."
_BAD_SIGNATURE_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class Identity:
    """Who a request authenticated as."""

    scheme: str  # "sigv4" | "bearer"
    region: str
    access_key_id: str | None = None  # SigV4 and short-term keys; never a secret


@dataclass
class _SigV4:
    """The parts of a SigV4 ``Authorization`` header that the signature check needs."""

    akid: str
    region: str
    service: str
    stamp: str  # X-Amz-Date
    names: list[str]  # SignedHeaders, lower case
    given: str  # the signature (a secret-derived value: never shown)


@dataclass
class Pending:
    """A request whose credentials passed :meth:`Authenticator.precheck`: a bearer identity, or a
    SigV4 header still to be verified over the body."""

    method: str
    raw_target: str
    headers: Mapping[str, str]
    surface: str
    openai_route: bool
    identity: Identity | None = None
    sigv4: _SigV4 | None = None

    @property
    def region(self) -> str | None:
        """The region the credentials name (None for a long-term API key, which names none)."""
        if self.identity is not None:
            return self.identity.region
        return self.sigv4.region if self.sigv4 else None


def signing_name(surface: str) -> str:
    """The SigV4 service name a surface expects in the credential scope."""
    return "bedrock-mantle" if surface == MANTLE else "bedrock"


class _MissingAuthorization(AwsError):
    """AWS answers a missing header from its coral front end: capital ``Message``, other namespace."""

    def __init__(self) -> None:
        super().__init__("AccessDeniedException", "Authorization header is missing", 403)

    def to_response(self) -> Response:
        return json_response({"Message": self.message}, self.status,
                             {"x-amzn-ErrorType": f"{self.code}:{_CORAL_SERVICE_NAMESPACE}"})


_OPENAI_CODES = {"UnrecognizedClientException": "invalid_access_key_id",
                 "IncompleteSignatureException": "incomplete_signature"}


def _openai_auth_error(message: str, code: str = "invalid_api_key") -> OpenAIError:
    return OpenAIError(401, message, type="authentication_error", code=code)


@contextmanager
def _told(openai_route: bool) -> Iterator[None]:
    """SigV4 failures as OpenAI clients know failed authentication on the OpenAI routes (401, not
    AWS's 403)."""
    try:
        yield
    except AwsError as err:
        if not openai_route:
            raise
        raise _openai_auth_error(err.message, code=_OPENAI_CODES.get(err.code, "invalid_signature")) from None


class Authenticator:
    """Checks one request's credentials against the local service's documented ones."""

    def __init__(self, default_region: str = local.DEFAULT_REGION,
                 secrets: Mapping[str, str] | None = None, api_keys: tuple[str, ...] | None = None,
                 clock: Callable[[], float] = time.time, regions: tuple[str, ...] | list[str] | None = None) -> None:
        self.default_region = default_region
        self.regions = tuple(regions) if regions else None  # None: any region is served
        self._secrets = dict(secrets or {local.ACCESS_KEY_ID: local.SECRET_ACCESS_KEY})
        self._api_keys = tuple(api_keys or (local.API_KEY,))
        self._clock = clock

    def __repr__(self) -> str:  # never show the secrets
        return f"Authenticator(default_region={self.default_region!r}, access_keys={len(self._secrets)})"

    # -- entry points ------------------------------------------------------------------------

    def authenticate(self, method: str, raw_target: str, headers: Mapping[str, str], body: bytes,
                     surface: str, openai_route: bool) -> Identity:
        """The caller's identity, or an ``AwsError``/``OpenAIError`` in the route's shape.

        ``raw_target`` is the request-target exactly as received (including any ``/mantle``
        prefix), because that is what the client signed.
        """
        return self.verify(self.precheck(method, raw_target, headers, surface, openai_route), body)

    def precheck(self, method: str, raw_target: str, headers: Mapping[str, str], surface: str,
                 openai_route: bool) -> "Pending":
        """Every check that needs no body: a missing or malformed ``Authorization``, a bearer key
        (checked completely), an unknown access key, a wrong scope or clock. The server runs it before
        reading the body, so an unauthenticated upload is refused without being read; only a SigV4
        signature, which covers the body, is left for :meth:`verify`."""
        pending = Pending(method, raw_target, headers, surface, openai_route)
        authorization = headers.get("Authorization")
        api_key = headers.get("x-api-key")
        if not authorization and api_key and surface == MANTLE and "/anthropic/" in raw_target:
            # mantle's Anthropic Messages API also takes the key in Anthropic's own header
            # (AWS, inference-messages-api.html: `-H "x-api-key: $AWS_BEARER_TOKEN_BEDROCK"`)
            pending.identity = self._bearer(api_key.strip(), openai_route)
            return pending
        if not authorization:
            if openai_route:
                raise _openai_auth_error("Authorization header is missing", code="missing_api_key")
            raise _MissingAuthorization()
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme.lower() == "bearer":
            pending.identity = self._bearer(rest.strip(), openai_route)
            return pending
        if scheme == _SIGV4_ALGORITHM:
            with _told(openai_route):
                pending.sigv4 = self._sigv4_scope(headers, rest, surface)
            return pending
        if openai_route:
            raise _openai_auth_error("Authorization header must be 'Bearer <API key>' or AWS SigV4.")
        raise AwsError("IncompleteSignatureException",
                       f"Authorization header requires '{_SIGV4_ALGORITHM}' or 'Bearer' authentication.", 403)

    def verify(self, pending: "Pending", body: bytes) -> Identity:
        """The identity of a request that passed :meth:`precheck`, its SigV4 signature checked over ``body``."""
        if pending.identity is not None:
            return pending.identity
        with _told(pending.openai_route):
            return self._sigv4_signature(pending, body)

    # -- bearer keys ---------------------------------------------------------------------------

    def _bearer(self, key: str, openai_route: bool) -> Identity:
        def refuse(message: str = _BAD_KEY_MESSAGE) -> Exception:
            return _openai_auth_error(message) if openai_route else AwsError("AccessDeniedException", message, 403)

        if any(hmac.compare_digest(key.encode(), k.encode()) for k in self._api_keys):
            return Identity("bearer", self.default_region)
        if key.startswith(SHORT_TERM_PREFIX):
            verdict = self._short_term(key[len(SHORT_TERM_PREFIX):])
            if isinstance(verdict, Identity):
                return verdict
            raise refuse(verdict)
        raise refuse()

    def _short_term(self, encoded: str) -> Identity | str:
        """The identity of a short-term key, or the reason it is refused."""
        try:
            url = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return _BAD_KEY_MESSAGE
        host_path, _, query = url.partition("?")
        # The generator appends "&Version=1" after signing; it is not part of the signed query.
        if not query.endswith("&Version=1"):
            return _BAD_KEY_MESSAGE
        signed_query = query[: -len("&Version=1")]
        unsigned_query, sep, signature = signed_query.rpartition("&X-Amz-Signature=")
        if not sep or not signature:
            return _BAD_KEY_MESSAGE
        params = dict(parse_qsl(unsigned_query, keep_blank_values=True))
        try:
            akid, date, region, service, terminal = params["X-Amz-Credential"].split("/")
            stamp, expires = params["X-Amz-Date"], int(params["X-Amz-Expires"])
            signed_at = calendar.timegm(time.strptime(stamp, SIGV4_TIMESTAMP))
        except (KeyError, ValueError):
            return _BAD_KEY_MESSAGE
        if (params.get("Action") != "CallWithBearerToken" or params.get("X-Amz-Algorithm") != _SIGV4_ALGORITHM
                or service != "bedrock" or terminal != "aws4_request" or date != stamp[:8]
                or akid not in self._secrets):
            return _BAD_KEY_MESSAGE
        request = AWSRequest(method="POST", url=f"https://{host_path}?{unsigned_query}",
                             headers={"host": host_path.split("/", 1)[0]})
        request.context["timestamp"] = stamp
        signer = SigV4QueryAuth(Credentials(akid, self._secrets[akid], params.get("X-Amz-Security-Token")),
                                "bedrock", region, expires=expires)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        if not hmac.compare_digest(expected, signature):
            return _BAD_KEY_MESSAGE
        if self.regions is not None and region not in self.regions:
            return f"Authentication failed: the API key was made for region {region}; {self._served(region)}"
        now = self._clock()
        if now > signed_at + expires or signed_at > now + MAX_SKEW_SECONDS:
            return _EXPIRED_KEY_MESSAGE
        return Identity("bearer", region, akid)

    # -- SigV4 ---------------------------------------------------------------------------------

    def _sigv4_scope(self, headers: Mapping[str, str], rest: str, surface: str) -> "_SigV4":
        """The parts of a SigV4 ``Authorization`` header, its key, scope and clock checked."""
        try:
            parts = dict(p.strip().split("=", 1) for p in rest.split(",") if p.strip())
            credential, signed, given = parts["Credential"], parts["SignedHeaders"], parts["Signature"]
            akid, date, region, service, terminal = credential.split("/")
        except (KeyError, ValueError):
            raise AwsError("IncompleteSignatureException",
                           "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                           "parameters.", 403) from None
        if akid not in self._secrets:
            raise AwsError("UnrecognizedClientException", "The security token included in the request is invalid.")
        if terminal != "aws4_request":
            raise AwsError("IncompleteSignatureException", "Credential should be scoped with a valid terminator: "
                           "'aws4_request'.", 403)
        if self.regions is not None and region not in self.regions:
            raise AwsError("InvalidSignatureException",
                           f"Credential should be scoped to a valid region: {self._served(region)}")
        expected_service = signing_name(surface)
        if service != expected_service:
            raise AwsError("InvalidSignatureException",
                           f"Credential should be scoped to correct service: '{expected_service}'.")
        stamp = headers.get("X-Amz-Date")
        if not stamp:
            raise AwsError("IncompleteSignatureException", "Authorization header requires existence of either "
                           "a 'X-Amz-Date' or a 'Date' header.", 403)
        self._check_clock(stamp, date)
        names = [n for n in signed.lower().split(";") if n]
        if "host" not in names:
            raise AwsError("InvalidSignatureException", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
        return _SigV4(akid, region, service, stamp, names, given)

    def _sigv4_signature(self, pending: "Pending", body: bytes) -> Identity:
        """The identity of a SigV4 request whose signature over ``body`` is right."""
        headers, sig = pending.headers, pending.sigv4
        akid, region, service, stamp, names = sig.akid, sig.region, sig.service, sig.stamp, sig.names
        claimed = headers.get("X-Amz-Content-SHA256")
        if claimed and claimed != "UNSIGNED-PAYLOAD" and claimed != hashlib.sha256(body).hexdigest():
            raise AwsError("InvalidSignatureException",
                           "The provided 'x-amz-content-sha256' header does not match what was computed.")
        request = AWSRequest(method=pending.method, url=f"https://{headers.get('Host', '')}{pending.raw_target}",
                             data=body, headers={n: headers[n] for n in names if headers.get(n) is not None})
        request.context["timestamp"] = stamp
        signer = SigV4Auth(Credentials(akid, self._secrets[akid], headers.get("X-Amz-Security-Token")),
                           service, region)

        def only_signed(req: AWSRequest) -> HTTPHeaders:
            # Canonical headers are exactly the ones the client listed, not botocore's default set.
            selected = HTTPHeaders()
            for name in names:
                if req.headers.get(name) is not None:
                    selected[name] = req.headers[name]
            return selected

        signer.headers_to_sign = only_signed  # type: ignore[method-assign]
        canonical = signer.canonical_request(request)
        string_to_sign = signer.string_to_sign(request, canonical)
        if not hmac.compare_digest(signer.signature(string_to_sign, request), sig.given):
            raise AwsError("InvalidSignatureException",
                           f"{_BAD_SIGNATURE_MESSAGE}\n\nThe Canonical String for this request should have been\n"
                           f"'{_redact(canonical, names)}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n")
        return Identity("sigv4", region, akid)

    def _served(self, region: str) -> str:
        return f"the local Bedrock service doesn't serve {region}; it serves " + ", ".join(self.regions or ()) + "."

    def _check_clock(self, stamp: str, scope_date: str) -> None:
        try:
            signed_at = calendar.timegm(time.strptime(stamp, SIGV4_TIMESTAMP))
        except ValueError:
            raise AwsError("IncompleteSignatureException", f"Date must be in ISO-8601 'basic format'. Got '{stamp}'.",
                           403) from None
        if scope_date != stamp[:8]:
            raise AwsError("InvalidSignatureException",
                           f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                           f"'{scope_date}' != '{stamp[:8]}', from '{stamp}'.")
        now = self._clock()
        fmt = lambda t: time.strftime(SIGV4_TIMESTAMP, time.gmtime(t))  # noqa: E731
        if signed_at < now - MAX_SKEW_SECONDS:
            raise AwsError("InvalidSignatureException", f"Signature expired: {stamp} is now earlier than "
                           f"{fmt(now - MAX_SKEW_SECONDS)} ({fmt(now)} - 5 min.)")
        if signed_at > now + MAX_SKEW_SECONDS:
            raise AwsError("InvalidSignatureException", f"Signature not yet current: {stamp} is still later than "
                           f"{fmt(now + MAX_SKEW_SECONDS)} ({fmt(now)} + 5 min.)")


def _redact(canonical: str, names: list[str]) -> str:
    """The canonical request with the value of a signed session token hidden (it is a secret)."""
    if "x-amz-security-token" not in names:
        return canonical
    return "\n".join("x-amz-security-token:<redacted>" if line.startswith("x-amz-security-token:") else line
                     for line in canonical.split("\n"))
