"""The local Bedrock service: control plane, runtime and mantle on 127.0.0.1, for offline use.

``python -m bedrock_magics.local`` runs it standalone; ``LocalService`` runs it in-process.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LocalService"]


def __getattr__(name: str) -> Any:
    if name == "LocalService":
        from .server import LocalService

        return LocalService
    raise AttributeError(name)
