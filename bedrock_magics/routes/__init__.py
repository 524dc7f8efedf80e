"""One module per wire API, each with ``send(client, request) -> Reply`` and
``stream(client, request) -> Iterator[str | Reply]`` (text deltas, then the final Reply).

``get(endpoint, api)`` returns the module; ``SUPPORTED`` lists the valid (endpoint, api) pairs;
``client_kind(api)`` says which ``auth.Clients.get`` kind the module expects.

Route modules are imported by ``get`` on first use, not here: ``import bedrock_magics.routes`` stays
cheap (``%load_ext`` must not pay for wire code it may never use). Import a module directly
(``from bedrock_magics.routes import converse``) to reach its helpers.

Conventions for ``Request.extra`` understood by every route: ``"body"`` — extra wire fields merged
into the request (e.g. ``{"top_k": 50}`` for an Anthropic InvokeModel body, ``{"store": False}`` for
Responses); ``"family"`` — the InvokeModel body family when the model id does not tell it (the
catalog's ``family``); embedding options are listed in ``routes.embed``.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

SUPPORTED: tuple[tuple[str, str], ...] = (
    ("runtime", "converse"), ("runtime", "invoke"), ("runtime", "chat"), ("runtime", "responses"),
    ("mantle", "responses"), ("mantle", "chat"),
)
# Embeddings ride on InvokeModel (``invoke`` delegates to ``embed`` for embedding models); the
# module is reachable directly as ("runtime", "embed") too.
_EXTRA = (("runtime", "embed"),)
_CLIENT_KIND = {"converse": "bedrock-runtime", "invoke": "bedrock-runtime", "embed": "bedrock-runtime",
                "chat": "openai", "responses": "openai"}


def get(endpoint: str, api: str) -> ModuleType:
    """The route module for ``api`` on ``endpoint``; ``ValueError`` (one line) for other pairs."""
    if (endpoint, api) not in SUPPORTED + _EXTRA:
        valid = ", ".join(a for e, a in SUPPORTED if e == endpoint)
        if valid:
            raise ValueError(f"the {endpoint} endpoint has no {api!r} API; choose one of: {valid}")
        raise ValueError(f"unknown endpoint {endpoint!r}; choose runtime or mantle")
    return import_module(f"{__name__}.{api}")


def client_kind(api: str) -> str:
    """The client kind (for ``auth.Clients.get``) that ``api``'s module takes."""
    try:
        return _CLIENT_KIND[api]
    except KeyError:
        raise ValueError(f"unknown API {api!r}") from None
