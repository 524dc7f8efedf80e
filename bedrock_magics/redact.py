"""Masking secrets: ``redact(text)`` removes every secret this process knows of, and anything
shaped like one (Bedrock API keys, bearer tokens, session tokens, ``name=value`` secrets), from a
string. Exceptions, reprs, ledger rows and status lines go through it; ``remember_secret`` adds
values (an API key entered with ``%bedrock key``, explicit credentials) to the known set.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Iterable

from .local import credentials as local

__all__ = ["BEARER_ENV", "redact", "remember_secret"]

BEARER_ENV = "AWS_BEARER_TOKEN_BEDROCK"
_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", BEARER_ENV)

_known_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_MASK = "****"

_SECRET_PATTERNS = (
    # Long-term Bedrock API keys: "ABSK" + base64.
    re.compile(r"ABSK[A-Za-z0-9+/]{16,}={0,2}"),
    # Short-term Bedrock API keys: "bedrock-api-key-" + base64 of a presigned URL.
    re.compile(r"bedrock-api-key-[A-Za-z0-9+/=_%\-]+"),
    # Bearer tokens in headers or logs.
    re.compile(r"(?<=Bearer )[A-Za-z0-9._~+/=\-]{8,}"),
    # Presigned-URL session tokens.
    re.compile(r"(?<=X-Amz-Security-Token=)[^&\s\"']+", re.IGNORECASE),
)
# Secret values after their names, as in ~/.aws/credentials, env dumps, JSON or kwargs reprs.
_NAMED_SECRET = re.compile(
    r"(?P<name>aws_secret_access_key|secret_access_key|secretaccesskey|aws_session_token|session_token|"
    r"sessiontoken|aws_bearer_token_bedrock|api_key)(?P<sep>[\"']?\s*[:=]\s*[\"']?)(?P<value>[A-Za-z0-9/+=._\-]{8,})",
    re.IGNORECASE,
)


def remember_secret(*values: str | None) -> None:
    """Add secret values that ``redact`` must remove wherever they appear."""
    with _secrets_lock:
        _known_secrets.update(v for v in values if v and len(v) >= 6)


def _local_secrets() -> tuple[str, ...]:
    # The local service's documented secrets are secrets for redaction too (see its module).
    return (local.SECRET_ACCESS_KEY, local.API_KEY)


def redact(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret value and every secret-shaped string replaced by ``****``."""
    if not text:
        return text
    with _secrets_lock:
        secrets = set(_known_secrets)
    secrets.update(v for v in extra if v)
    secrets.update(v for v in (os.environ.get(name) for name in _SECRET_ENV) if v)
    secrets.update(_local_secrets())
    # Longest first, so that a secret containing another is removed whole.
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 6 and secret in text:
            text = text.replace(secret, _MASK)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_MASK, text)
    return _NAMED_SECRET.sub(lambda m: f"{m['name']}{m['sep']}{_MASK}", text)
