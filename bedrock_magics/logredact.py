"""Secrets masked in the log records of the HTTP and AWS libraries, while the extension is loaded.

``boto3.set_stream_logger('')`` (or ``logging.basicConfig(level=logging.DEBUG)``) makes botocore
print every request it sends: the ``Authorization`` header with a Bedrock API key in clear, the
session token in ``X-Amz-Security-Token`` and in SigV4's canonical request, and the signature. In a
notebook that text lands in the cell's output and so in the saved ``.ipynb``. :func:`install`
masks those values in every record that botocore, boto3, urllib3, httpx, httpcore, the openai SDK
and friends create, whatever handler later prints it; :func:`uninstall` puts things back.

Why a LogRecord factory (``logging.setLogRecordFactory``) and not a ``logging.Filter``:

* a filter on a logger sees only records logged *on that logger*: records of ``botocore.auth`` or
  ``botocore.endpoint`` reach the root logger's handlers by propagation without passing the
  filters of ``botocore`` or of the root logger;
* a filter on handlers would have to be on every handler, including the ones a user adds after the
  extension is loaded (``set_stream_logger`` adds one), which means patching ``addHandler``;
* the factory builds every record, before any handler or propagation, so masking there covers
  handlers added later, child loggers and ``propagate=False`` loggers alike.

The factory wraps the one installed before it; if another library wraps ours in turn, uninstalling
cannot unhook ours from the chain, so it switches itself off instead (it then passes records
through unchanged).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Callable

from .redact import redact

__all__ = ["LOGGERS", "install", "uninstall", "installed", "redact_log_text"]

# The logger families whose records are masked: the clients' HTTP and AWS stacks and this package.
LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "httpx", "httpcore", "openai",
           "aws_bedrock_token_generator", "bedrock_magics")

_MASK = "****"
# A header or field name, then ": ", "=", "': b'" (a dict repr of bytes headers) or ":" (SigV4's
# canonical request); the value runs to the closing quote or the end of the line.
_SEP = r"""(?P<sep>['"]?[ \t]*[:=][ \t]*(?:b?['"])?)"""
_LOG_PATTERNS = (
    # The whole Authorization header: "Bearer <API key>" or SigV4's "Credential=…, Signature=…".
    re.compile(rf"(?P<name>\b(?:proxy-)?authorization){_SEP}(?P<value>[^'\"\r\n]+)", re.IGNORECASE),
    # Session tokens: the header (in dicts and in the canonical request) and presigned-URL queries.
    re.compile(rf"(?P<name>\bx-amz-security-token){_SEP}(?P<value>[^'\"\s&,}}]+)", re.IGNORECASE),
    # Other key headers some SDKs send.
    re.compile(rf"(?P<name>\b(?:x-)?api-key){_SEP}(?P<value>[^'\"\s&,}}]+)", re.IGNORECASE),
    # Signatures: "Signature=<hex>", "X-Amz-Signature=<hex>", botocore's "Signature:\n<hex>".
    re.compile(r"(?P<name>signature)(?P<sep>\W{0,4})(?P<value>[0-9a-f]{64})", re.IGNORECASE),
    # Credentials in JSON or XML responses (STS, SSO), as botocore logs response bodies.
    re.compile(r"(?P<name>\b(?:accessToken|secretAccessKey|sessionToken))(?P<sep>[\"']?[ \t]*[:=][ \t]*[\"']?)"
               r"(?P<value>[^\"'\s,}]{8,})", re.IGNORECASE),
    re.compile(r"(?P<name><(?:SecretAccessKey|SessionToken)>)(?P<sep>)(?P<value>[^<]+)"),
)


def redact_log_text(text: str) -> str:
    """``text`` with every secret the package knows of (``redact.redact``) and every credential-bearing
    header, token field and signature masked."""
    text = redact(text)
    for pattern in _LOG_PATTERNS:
        text = pattern.sub(lambda m: f"{m['name']}{m['sep']}{_MASK}", text)
    return text


def _masked(name: str) -> bool:
    return any(name == family or name.startswith(family + ".") for family in LOGGERS)


def _scrub(record: logging.LogRecord) -> None:
    """Replace the record's message (and any traceback or stack text) by its masked form."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad %-format: logging would print msg and args raw, mask both
        message = f"{record.msg!r} {record.args!r}"
    record.msg, record.args = redact_log_text(message), None
    if record.exc_info and not record.exc_text:
        # Formatters reuse exc_text when it is set, so the traceback is printed masked.
        record.exc_text = redact_log_text(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact_log_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_log_text(record.stack_info)


class _RedactingFactory:
    """A LogRecord factory that calls the previous one and masks the records of :data:`LOGGERS`."""

    def __init__(self, previous: Callable[..., logging.LogRecord]) -> None:
        self.previous = previous
        self.active = True

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.previous(name, *args, **kwargs)
        if self.active and _masked(name):
            _scrub(record)
        return record


_lock = threading.Lock()
_factory: _RedactingFactory | None = None


def install() -> None:
    """Mask secrets in the log records of :data:`LOGGERS` from now on, until :func:`uninstall` (idempotent)."""
    global _factory
    with _lock:
        if _factory is None:
            _factory = _RedactingFactory(logging.getLogRecordFactory())
            logging.setLogRecordFactory(_factory)


def uninstall() -> None:
    """Stop masking: restore the record factory that :func:`install` found (idempotent)."""
    global _factory
    with _lock:
        if _factory is None:
            return
        if logging.getLogRecordFactory() is _factory:
            logging.setLogRecordFactory(_factory.previous)
        else:
            _factory.active = False  # another factory wraps ours: it stays in the chain, inert
        _factory = None


def installed() -> bool:
    """True while log records are being masked."""
    with _lock:
        return _factory is not None
