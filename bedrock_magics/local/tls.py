"""The local service's certificate authority and its server certificate.

The CA is made once by ``trustme`` and kept on disk under a state directory (by default
``platformdirs.user_cache_dir("bedrock_magics")/local``), so the ``AWS_CA_BUNDLE`` a user exported
from an earlier run keeps working after the service restarts. The server certificate (for
``127.0.0.1``, ``localhost`` and ``::1``) is issued fresh from that CA at every start: it is cheap
and never needs to be trusted by name.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import trustme

_CA_CERT = "ca.pem"
_CA_KEY = "ca-key.pem"
_IDENTITIES = ("127.0.0.1", "localhost", "::1")


def default_state_dir() -> Path:
    """Where the local service keeps its CA unless told otherwise."""
    return Path(platformdirs.user_cache_dir("bedrock_magics")) / "local"


@dataclass
class LocalTLS:
    """A server-side SSL context plus the path of the CA file clients must trust."""

    ca_file: Path
    context: ssl.SSLContext


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically with owner-only permissions (the CA key is a secret)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _locked(root: Path):
    """Hold an exclusive lock on the state dir, so two services starting at once share one CA."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; a race there only costs a regenerated CA
        yield
        return
    with open(root / ".lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def load_or_create_ca(state_dir: str | os.PathLike | None = None) -> tuple[trustme.CA, Path]:
    """The persisted local CA and the path of its PEM certificate, creating both on first use."""
    root = Path(state_dir) if state_dir else default_state_dir()
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        return _load_or_create(root)


def _load_or_create(root: Path) -> tuple[trustme.CA, Path]:
    cert_path, key_path = root / _CA_CERT, root / _CA_KEY
    if cert_path.exists() and key_path.exists():
        try:
            return trustme.CA.from_pem(cert_path.read_bytes(), key_path.read_bytes()), cert_path
        except ValueError:
            pass  # a damaged file: make a new CA below rather than refuse to start
    ca = trustme.CA(organization_name="bedrock_magics local Bedrock service")
    # Key first: a cert file without its key would be rejected on the next start anyway.
    _write_private(key_path, ca.private_key_pem.bytes())
    _write_private(cert_path, ca.cert_pem.bytes())
    os.chmod(cert_path, 0o644)
    return ca, cert_path


def server_tls(state_dir: str | os.PathLike | None = None) -> LocalTLS:
    """A TLS server context for the loopback names, signed by the persisted local CA."""
    ca, ca_file = load_or_create_ca(state_dir)
    leaf = ca.issue_cert(*_IDENTITIES, common_name="bedrock_magics local Bedrock service")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(ctx)
    # HTTP/1.1 only: the runtime's HTTP/2 is optional and every client here speaks 1.1.
    ctx.set_alpn_protocols(["http/1.1"])
    return LocalTLS(ca_file=ca_file, context=ctx)
