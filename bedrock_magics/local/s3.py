"""The S3 that batch inference jobs read and write: moto's S3 served on a loopback port.

moto's own ``ThreadedMotoServer`` is not used: its ``stop()`` neither closes the listening socket
nor the keep-alive connections of S3 clients, so each would leave a socket and a blocked thread
behind. :class:`S3Server` serves the same moto application on werkzeug's threaded server with
the service's connection tracking (:class:`~bedrock_magics.local.lifecycle.TrackedThreadingMixIn`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .lifecycle import JOIN_TIMEOUT, TrackedThreadingMixIn, join_all

_FALLBACK_LOCK = threading.RLock()  # for an app without its own ``lock``


class S3Server:
    """moto's S3 (every moto service, in fact) on ``127.0.0.1``; needs the ``[batch]`` extra."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import ThreadedWSGIServer

        class _Server(TrackedThreadingMixIn, ThreadedWSGIServer):
            thread_name = "bedrock-local-s3-connection"

        class _Handler(MotoRequestHandler):
            # S3 keeps connections alive; moto's HTTP/1.0 handler closed each one after its reply, so a
            # client's connection (and its thread) vanished at a moment nobody could wait for.
            protocol_version = "HTTP/1.1"

        # werkzeug logs every S3 request to stderr; the service's output is its own.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = _Server(host, port, DomainDispatcherApplication(create_backend_app),
                               handler=_Handler)
        bound_host, bound_port = self._server.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"bedrock-local-s3:{bound_port}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = JOIN_TIMEOUT) -> None:
        """Stop serving, close the port and every connection, and join the server's threads."""
        self._server.close(timeout)
        join_all([self._thread], timeout)


def ensure_s3(app: Any) -> str:
    """The URL of the S3 service jobs read and write: ``app.s3_endpoint`` if the service was given
    one, else an :class:`S3Server` started on a free loopback port on first use (kept in
    ``app.state`` until :func:`stop_s3`). Raises ImportError without moto (the ``[batch]`` extra)."""
    url = getattr(app, "s3_endpoint", None) or app.state.get("s3_endpoint")
    if url:
        return url
    with getattr(app, "lock", _FALLBACK_LOCK):  # one S3 server per app, even under concurrent calls
        url = app.state.get("s3_endpoint")
        if not url:
            server = S3Server()
            app.state["s3_server"], app.state["s3_endpoint"] = server, server.url
            url = server.url
    return url


def stop_s3(app: Any) -> None:
    """Stop the S3 server :func:`ensure_s3` started, if any (a second call does nothing)."""
    with getattr(app, "lock", _FALLBACK_LOCK):
        server = app.state.pop("s3_server", None)
        if server is not None:
            app.state.pop("s3_endpoint", None)
    if server is not None:
        server.stop()
