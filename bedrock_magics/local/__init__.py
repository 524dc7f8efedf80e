"""The local Bedrock service: control plane, runtime and mantle on 127.0.0.1, for offline use.

``python -m bedrock_magics.local`` runs it standalone; ``LocalService`` runs it in-process.
"""

from __future__ import annotations

from typing import Any

__all__ = ["LocalService", "register_lambda"]


def __getattr__(name: str) -> Any:
    if name == "LocalService":
        from .server import LocalService

        return LocalService
    if name == "register_lambda":  # register_lambda(service, name, func): a Python function as a local Lambda
        from .lambdas import register_lambda

        return register_lambda
    raise AttributeError(name)
