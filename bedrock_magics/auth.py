"""Where credentials come from, one cached client per (region, surface, kind, credentials).

``Clients`` hands out three kinds of client:

* ``"bedrock"``: boto3's control-plane client (surface ``control``);
* ``"bedrock-runtime"``: boto3's runtime client (surface ``runtime``);
* ``"openai"``: an ``openai.OpenAI`` client configured by the SDK's own Bedrock provider
  (``openai.providers.bedrock``) for ``runtime`` (base ``{runtime}/openai/v1``) or ``mantle``
  (base ``{mantle}/v1``);
* ``"s3"``: boto3's S3 client (surface ``s3``), for batch inference jobs. S3 takes no Bedrock API
  key: it signs with the SigV4 credentials of the same settings (explicit, profile, else the
  default chain). Its endpoint is ``AWS_ENDPOINT_URL_S3`` (boto3 reads it), else ``s3_endpoint=``
  (the local service's S3), else AWS.

Which credentials, in order of precedence (the same for every kind, so that one cell never signs
one way on boto3 and another way on openai):

1. ``api_key=`` (set by ``%bedrock key``): a Bedrock API key sent as a bearer token.
2. ``credentials=(access_key_id, secret_access_key, session_token)``: SigV4 with exactly these.
3. ``profile=``: SigV4 with that AWS profile (an explicit choice beats an API key in the environment).
4. ``AWS_BEARER_TOKEN_BEDROCK``: a Bedrock API key from the environment (boto3 and the openai
   provider both read it themselves, and both prefer it to SigV4).
5. The default AWS credential chain (environment, config files, SSO, instance role): SigV4.

How the key from ``%bedrock key`` reaches boto3: botocore reads bearer tokens only through the
session's ``token_provider`` component, whose default implementation looks at the environment. We
register our own token provider on a private botocore session (``session.register_component``)
and set ``signature_version="bearer"`` in the client's ``Config``, so the key lives only in this
object's memory and never in ``os.environ`` (where child processes and ``%env`` would see it).
Conversely, for explicit SigV4 choices (2 and 3) we set ``signature_version="v4"`` in code, which
is botocore's documented way to stop an environment API key from taking over.

Clients are created once per (region, surface, kind, credential identity) and reused; the identity
includes a fingerprint of the secrets and of the AWS environment variables that change what a
client does, so exporting new variables (``%bedrock local start``) or entering a new key gives
new clients, while ordinary calls never build one.

Secrets are masked by :mod:`bedrock_magics.redact` (``redact`` and ``remember_secret`` are
re-exported here for callers that know them from this module).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from . import endpoints
from .local import credentials as local_credentials
from .redact import BEARER_ENV, redact, remember_secret

if TYPE_CHECKING:  # pragma: no cover - ssl is imported when a client is built (it costs %load_ext time)
    import ssl

__all__ = ["KINDS", "Clients", "redact", "remember_secret", "short_term_key"]

KINDS = ("bedrock", "bedrock-runtime", "openai", "s3")
# Which kinds each surface serves ("s3" is the S3 that batch inference jobs read and write).
_SURFACE_KINDS = {"control": ("bedrock",), "runtime": ("bedrock-runtime", "openai"), "mantle": ("openai",),
                  "s3": ("s3",)}
S3_ENV = "AWS_ENDPOINT_URL_S3"

# Environment variables that change which credentials/endpoint/trust a client uses: a change in any
# of them (compared by fingerprint, never stored in clear) makes new clients.
_IDENTITY_ENV = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", BEARER_ENV, "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BEDROCK", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL_BEDROCK_MANTLE",
    "AWS_ENDPOINT_URL_S3", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_AUTH_SCHEME_PREFERENCE", "AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS",
    "SSL_CERT_FILE",
)
# botocore's default attempts per retry mode (legacy counts 5, standard and adaptive 3).
_DEFAULT_ATTEMPTS = {"legacy": 5, "standard": 3, "adaptive": 3}
_POOL = 64

# --------------------------------------------------------------------------------------------------
# Credential plans
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """How a client will authenticate: ``bearer`` / ``sigv4`` / ``chain`` and a description."""

    mode: str  # "key" (api_key=), "static" (credentials=), "profile", "env-key", "chain"
    fingerprint: str  # hash of everything that identifies the credentials (never shown)


def _fingerprint(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def _mask_key_id(access_key_id: str | None) -> str:
    if not access_key_id:
        return "?"
    return f"{access_key_id[:4]}…{access_key_id[-4:]}" if len(access_key_id) > 8 else "****"


class _StaticTokenProvider:
    """A botocore ``token_provider`` component that returns one Bedrock API key.

    Replaces botocore's default chain (environment, then SSO) on our private session, so that
    ``%bedrock key`` works without exporting ``AWS_BEARER_TOKEN_BEDROCK``.
    """

    def __init__(self, token: str) -> None:
        self._token = token

    def load_token(self, **kwargs: Any):
        from botocore.tokens import FrozenAuthToken

        return FrozenAuthToken(self._token)

    def __repr__(self) -> str:  # never show the key
        return "_StaticTokenProvider(****)"


class Clients:
    """Cached boto3 and openai clients for Bedrock's three surfaces (see the module docstring).

    Thread-safe: ``get`` may be called from many worker threads at once (``--concurrency``); each
    client is built once under a lock and then shared (boto3 and openai clients are thread-safe).
    """

    def __init__(
        self,
        profile: str | None = None,
        api_key: str | None = None,
        credentials: tuple[str, str, str | None] | tuple[str, str] | None = None,
        endpoint_urls: Mapping[str, str] | None = None,
        ca_bundle: str | None = None,
        retry_mode: str = "standard",
        max_attempts: int | None = None,
        s3_endpoint: str | Callable[[], str | None] | None = None,
    ) -> None:
        if retry_mode not in _DEFAULT_ATTEMPTS:
            raise ValueError(f"retry_mode must be one of {', '.join(_DEFAULT_ATTEMPTS)}, not {retry_mode!r}")
        if credentials is not None and (len(credentials) not in (2, 3) or not credentials[0] or not credentials[1]):
            raise ValueError("credentials must be (access_key_id, secret_access_key[, session_token])")
        self.profile = profile or None
        self._api_key = api_key or None
        self._credentials = tuple(credentials) + (None,) * (3 - len(credentials)) if credentials else None
        self.endpoint_urls = dict(endpoint_urls or {})
        self.ca_bundle = ca_bundle or None
        self.retry_mode = retry_mode
        self.max_attempts = max_attempts
        # A callable is asked on first use only (the local service starts its S3 lazily).
        self._s3_endpoint = s3_endpoint
        self._lock = threading.RLock()
        self._env_seen: tuple[tuple, str] | None = None  # the identity environment last seen, and its hash
        self._clients: dict[tuple, Any] = {}
        self._sessions: dict[str, Any] = {}
        remember_secret(self._api_key, *(self._credentials[1:] if self._credentials else ()))

    # -- settings that %bedrock key / %bedrock local change ------------------------------------------

    @property
    def api_key(self) -> str | None:
        """The Bedrock API key from ``%bedrock key`` (write-only in spirit: never printed)."""
        return self._api_key

    @api_key.setter
    def api_key(self, value: str | None) -> None:
        self._api_key = value or None
        remember_secret(self._api_key)

    @property
    def credentials(self) -> tuple[str, str, str | None] | None:
        return self._credentials

    @credentials.setter
    def credentials(self, value: tuple[str, ...] | None) -> None:
        self._credentials = tuple(value) + (None,) * (3 - len(value)) if value else None
        if self._credentials:
            remember_secret(*self._credentials[1:])

    # -- the plan -------------------------------------------------------------------------------------

    def _env_fingerprint(self) -> str:
        values = tuple(os.environ.get(name) for name in _IDENTITY_ENV)
        last = self._env_seen  # every call asks: hash only when the environment changed
        if last is None or last[0] != values:
            last = self._env_seen = (values, _fingerprint(*values))
        return last[1]

    def _plan(self) -> _Plan:
        env = self._env_fingerprint()
        if self._api_key:
            return _Plan("key", _fingerprint("key", self._api_key, env))
        if self._credentials:
            return _Plan("static", _fingerprint("static", *self._credentials, env))
        if self.profile:
            return _Plan("profile", _fingerprint("profile", self.profile, env))
        token = os.environ.get(BEARER_ENV)
        if token:
            remember_secret(token)
            return _Plan("env-key", _fingerprint("env-key", env))
        return _Plan("chain", _fingerprint("chain", env))

    # -- sessions and clients -----------------------------------------------------------------------

    def _session(self, plan: _Plan):
        """The boto3 session for ``plan`` (one per credential identity; caller holds the lock)."""
        session = self._sessions.get(plan.fingerprint)
        if session is not None:
            return session
        import boto3
        import botocore.session

        core = botocore.session.Session(profile=self.profile if plan.mode == "profile" else None)
        if plan.mode == "key":
            core.register_component("token_provider", _StaticTokenProvider(self._api_key or ""))
        if plan.mode == "static":
            akid, secret, token = self._credentials  # type: ignore[misc]
            session = boto3.Session(aws_access_key_id=akid, aws_secret_access_key=secret,
                                    aws_session_token=token, botocore_session=core)
        else:
            session = boto3.Session(botocore_session=core)
        self._sessions[plan.fingerprint] = session
        return session

    def _attempts(self) -> int:
        return self.max_attempts or _DEFAULT_ATTEMPTS[self.retry_mode]

    def _boto3_client(self, region: str, surface: str, kind: str, plan: _Plan):
        from botocore.config import Config

        settings: dict[str, Any] = {
            "retries": {"mode": self.retry_mode, "total_max_attempts": self._attempts()},
            "max_pool_connections": _POOL,
        }
        if plan.mode == "key":
            settings["signature_version"] = "bearer"
        elif plan.mode in ("static", "profile"):
            # Explicit SigV4 wins over an API key in the environment (botocore's documented switch).
            settings["signature_version"] = "v4"
        endpoint = endpoints.resolve(region, surface, self.endpoint_urls)
        return self._session(plan).client(
            kind, region_name=region, config=Config(**settings),
            endpoint_url=endpoint.boto3_endpoint_url, verify=self.ca_bundle or None,
        )

    def _ssl_context(self) -> ssl.SSLContext | bool:
        # boto3 trusts AWS_CA_BUNDLE; the openai SDK (httpx2) would trust only SSL_CERT_FILE/certifi,
        # so the same bundle is handed to its HTTP client explicitly.
        bundle = self.ca_bundle or os.environ.get("AWS_CA_BUNDLE")
        if not bundle:
            return True
        import ssl

        return ssl.create_default_context(cafile=bundle)

    def _openai_client(self, region: str, surface: str, plan: _Plan, prefix: str | None = None):
        import httpx2
        import openai
        from openai.providers import bedrock

        base_url = endpoints.openai_base_url(region, surface, self.endpoint_urls, prefix)
        options: dict[str, Any] = {"endpoint": surface, "region": region, "base_url": base_url}
        if plan.mode == "key":
            options["api_key"] = self._api_key
        elif plan.mode == "env-key":
            token = os.environ.get(BEARER_ENV, "")
            options["token_provider"] = lambda: token
        else:
            # SigV4 with exactly the credentials boto3 would use (profile, explicit, or the chain):
            # the provider asks this session each time it signs, so refreshes are shared too.
            session = self._session(plan)
            options["credential_provider"] = session.get_credentials
        http_client = openai.DefaultHttpxClient(
            verify=self._ssl_context(),
            limits=httpx2.Limits(max_connections=_POOL, max_keepalive_connections=_POOL),
        )
        return openai.OpenAI(provider=bedrock(**options), http_client=http_client,
                             max_retries=self._attempts() - 1)

    def get(self, region: str, surface: str, kind: str, prefix: str | None = None) -> Any:
        """The client of ``kind`` for ``surface`` in ``region``, built on first use and then reused.

        ``kind`` is ``"bedrock"`` (surface ``control``), ``"bedrock-runtime"`` (``runtime``),
        ``"openai"`` (``runtime`` or ``mantle``) or ``"s3"`` (``s3``). Raises ``ValueError`` for other
        combinations and ``endpoints.UnknownRegionError`` for a region where the surface does not run.
        ``prefix`` is a mantle path prefix (``/v1`` or ``/openai/v1``; see ``endpoints.mantle_prefix``).
        """
        if kind not in KINDS:
            raise ValueError(f"unknown client kind {kind!r}; expected one of {', '.join(KINDS)}")
        if kind not in _SURFACE_KINDS.get(surface, ()):
            choices = ", ".join(f"{s}/{k}" for s, ks in _SURFACE_KINDS.items() for k in ks)
            raise ValueError(f"no {kind!r} client for surface {surface!r}; valid pairs: {choices}")
        if kind == "s3":
            plan = self._sigv4_plan()
            url: str | None = self._s3_url()
        else:
            url = endpoints.check_for(region, surface, self.endpoint_urls).url
            plan = self._plan()
        key = (region, surface, kind, plan.fingerprint, url, self.ca_bundle, self.retry_mode, self.max_attempts,
               prefix if kind == "openai" and surface == "mantle" else None)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                if kind == "openai":
                    client = self._openai_client(region, surface, plan, key[-1])
                elif kind == "s3":
                    client = self._s3_client(region, plan, url)
                else:
                    client = self._boto3_client(region, surface, kind, plan)
                self._clients[key] = client
            return client

    def _s3_url(self) -> str | None:
        """The S3 endpoint to pass to boto3: None when ``AWS_ENDPOINT_URL_S3`` is set (boto3 reads it
        itself) or for AWS; else the ``s3_endpoint`` given (the local service's S3)."""
        if os.environ.get(S3_ENV) and (os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") or "").lower() != "true":
            return None
        endpoint = self._s3_endpoint() if callable(self._s3_endpoint) else self._s3_endpoint
        return endpoint or None

    def _s3_client(self, region: str, plan: _Plan, url: str | None):
        from botocore.config import Config

        # Path-style addressing for S3-compatible stores (moto, MinIO) that have no bucket subdomains.
        custom = url is not None or bool(os.environ.get(S3_ENV))
        config = Config(retries={"mode": self.retry_mode, "total_max_attempts": self._attempts()},
                        max_pool_connections=_POOL, signature_version="s3v4",
                        s3={"addressing_style": "path"} if custom else {})
        return self._session(plan).client("s3", region_name=region, config=config, endpoint_url=url,
                                          verify=self.ca_bundle or None)

    def _sigv4_plan(self) -> _Plan:
        """The SigV4 identity of these settings (explicit credentials, profile, else the default
        chain), whatever bearer key Bedrock calls use: for services that take no Bedrock API key."""
        mode = "static" if self._credentials else "profile" if self.profile else "chain"
        return _Plan(mode, _fingerprint("sigv4-only", mode, self._credentials, self.profile, self._env_fingerprint()))

    def aws_credentials(self):
        """The botocore credentials SigV4 would use (explicit, profile or the default chain), or None."""
        with self._lock:
            session = self._session(self._sigv4_plan())
        return session.get_credentials()

    def caller_account(self, region: str) -> str:
        """The account id of the SigV4 identity (STS ``GetCallerIdentity``; a Bedrock API key
        cannot tell). Raises what boto3 raises when there are no usable credentials."""
        with self._lock:
            session = self._session(self._sigv4_plan())
        return session.client("sts", region_name=region).get_caller_identity()["Account"]

    def close(self) -> None:
        """Close the openai clients' connection pools and forget every client."""
        with self._lock:
            for client in self._clients.values():
                close = getattr(client, "close", None)
                if callable(close):
                    try:
                        close()
                    except Exception:
                        pass
            self._clients.clear()
            self._sessions.clear()

    # -- describing -----------------------------------------------------------------------------------

    def credential_source(self) -> tuple[str, str]:
        """``(auth, description)``: ``auth`` is ``"bearer"``, ``"sigv4"`` or ``"none"``; never a secret."""
        plan = self._plan()
        local = _local_identity()
        if plan.mode == "key":
            note = " (the local service's key)" if local and self._api_key == local[1] else ""
            return "bearer", f"API key from %bedrock key{note}"
        if plan.mode == "env-key":
            note = " (the local service's key)" if local and os.environ.get(BEARER_ENV) == local[1] else ""
            return "bearer", f"API key from {BEARER_ENV}{note}"
        if plan.mode == "static":
            akid = self._credentials[0] if self._credentials else None
            if local and akid == local[0]:
                return "sigv4", "local service credentials (SigV4)"
            return "sigv4", f"SigV4 with credentials passed in (access key {_mask_key_id(akid)})"
        try:
            with self._lock:
                session = self._session(plan)
            creds = session.get_credentials()
        except Exception as exc:  # e.g. a profile that does not exist
            return "none", f"none found ({type(exc).__name__}: {redact(str(exc))})"
        if creds is None:
            return "none", "none found"
        akid = getattr(creds, "access_key", None)
        if local and akid == local[0]:
            return "sigv4", "local service credentials (SigV4)"
        method = getattr(creds, "method", "") or ""
        if plan.mode == "profile":
            return "sigv4", f"SigV4 with profile {self.profile!r}"
        where = {
            "env": "from environment",
            "shared-credentials-file": "from the shared credentials file",
            "config-file": "from the AWS config file",
            "sso": "from AWS SSO",
            "login": "from aws login",
            "iam-role": "from the instance role",
            "container-role": "from the container role",
            "assume-role": "from an assumed role",
            "assume-role-with-web-identity": "from web identity",
            "custom-process": "from credential_process",
        }.get(method, f"from {method or 'the default chain'}")
        profile = os.environ.get("AWS_PROFILE")
        suffix = f" (profile {profile!r})" if profile and method != "env" else ""
        return "sigv4", f"SigV4 {where}{suffix}"

    def describe(self, region: str = "us-east-1") -> list[dict[str, str]]:
        """One row per surface for ``%bedrock status``: URL, where it came from, which credentials.

        Never contains a secret; makes no network call (resolving the default chain may read
        config files or ask the instance metadata service, like boto3 would).
        """
        auth, source = self.credential_source()
        rows = []
        for surface in endpoints.SURFACES:
            endpoint = endpoints.resolve(region, surface, self.endpoint_urls)
            url_source = {"override": "local service" if endpoint.is_local else "override",
                          "default": "AWS"}.get(endpoint.source, endpoint.source)
            clients = {"control": "boto3 bedrock", "runtime": "boto3 bedrock-runtime, openai",
                       "mantle": "openai"}[surface]
            rows.append({"surface": surface, "url": endpoint.url, "url_source": url_source,
                         "auth": auth, "credentials": source, "clients": clients})
        return rows

    def redact(self, text: str) -> str:
        """``redact(text)`` also removing this object's own secrets."""
        extra = [self._api_key, *(self._credentials[1:] if self._credentials else ())]
        return redact(text, extra)

    def __repr__(self) -> str:
        plan = self._plan().mode
        what = {"key": "api_key=****", "static": f"credentials=({_mask_key_id(self._credentials[0] if self._credentials else None)}, ****)",
                "profile": f"profile={self.profile!r}", "env-key": f"api_key=${BEARER_ENV}",
                "chain": "credentials=default chain"}[plan]
        overrides = ", ".join(f"{k}={v}" for k, v in sorted(self.endpoint_urls.items())) or "none"
        return f"Clients({what}, endpoint_urls=[{overrides}], retry_mode={self.retry_mode!r}, cached={len(self._clients)})"


def _local_identity() -> tuple[str, str] | None:
    """The local service's ``(access key id, API key)``, to recognise them in descriptions."""
    return local_credentials.ACCESS_KEY_ID, local_credentials.API_KEY


def short_term_key(region: str, clients: Clients | None = None, hours: float = 12) -> str:
    """A short-term Bedrock API key for ``region`` made from SigV4 credentials (``aws-bedrock-token-generator``).

    Uses ``clients``' AWS credentials (explicit, profile or the default chain; an API key cannot
    make another key). The key is remembered for redaction.
    """
    from datetime import timedelta

    from aws_bedrock_token_generator import provide_token
    from botocore.exceptions import NoCredentialsError

    clients = clients or Clients()
    creds = clients.aws_credentials()
    if creds is None:
        raise NoCredentialsError()

    class _Provider:  # the generator asks a botocore-style provider for .load()
        def load(self):
            return creds

    token = provide_token(region=region, aws_credentials_provider=_Provider(), expiry=timedelta(hours=hours))
    remember_secret(token)
    return token
