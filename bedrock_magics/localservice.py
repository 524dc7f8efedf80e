"""The local Bedrock service as the client uses it: one per process, shared by every ``Bedrock``
(one port, one CA), started on first use and stopped by whoever started it.

The service is its own program (:mod:`bedrock_magics.local`); it is imported only to start it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .local.server import LocalService

__all__ = ["is_running", "release", "running", "shared"]

_service: "LocalService | None" = None
_owned = False  # this process started it (and so stops it)
_lock = threading.Lock()


def is_running(service: Any) -> bool:
    """Whether ``service`` is up."""
    return bool(getattr(service, "running", False))


def running() -> "LocalService | None":
    """The process's service when it is up, else None."""
    with _lock:
        return _service if _service is not None and is_running(_service) else None


def shared(start: bool = True, service: "LocalService | None" = None) -> "LocalService":
    """``service`` when given (adopted, not owned), else the process's running service, else a new
    one (``start``; ``RuntimeError`` when not allowed to start one)."""
    global _service, _owned
    with _lock:
        if service is not None:
            return service
        if _service is not None and is_running(_service):
            return _service
        if not start:
            raise RuntimeError("the local Bedrock service is not running: use_local() starts it")
        from .local import LocalService  # the service is its own program: loaded only to start it

        svc = LocalService(port=0)
        svc.start()
        _service, _owned = svc, True
        return svc


def release(service: "LocalService | None") -> None:
    """Stop the process's service if this process started it and ``service`` is it (or None)."""
    global _service, _owned
    with _lock:
        svc = service or _service
        if svc is not None and svc is _service and _owned:
            svc.stop()
            _service, _owned = None, False
