"""One module per wire API, each with ``send(client, request) -> Reply`` and
``stream(client, request) -> Iterator[str | Thinking | Reply]`` (text deltas, reasoning pieces, then the final Reply), and the one
route table built from what each module declares it serves.

Each route module declares ``API``, ``LABEL``, ``CLIENT`` (the ``auth.Clients`` kind it takes),
``ENDPOINTS``, ``DEFAULT_ON`` (the endpoints whose API it is unless one is chosen),
``SERVER_STATE`` (the endpoints that keep a conversation server-side), ``BATCH_TYPE`` (the batch
inference job's ``modelInvocationType`` for its body, or None) and ``CAPABILITIES``. The same
declarations are written out here as plain data (:data:`_DECLARED`), so the table is built without
importing any wire code: ``%load_ext`` reads the table, and a route module loads when a call first
needs it (:attr:`Route.module`). ``tests/test_routes.py`` checks every row against its module, so the
two cannot drift. Everything else reads the table here (:data:`TABLE`, :data:`APIS`,
:data:`DEFAULT_APIS`, :func:`get`, ...): adding an API means adding its module and its row.

Conventions for ``Request.extra`` understood by every route: ``"body"`` — extra wire fields merged
into the request (e.g. ``{"top_k": 50}`` for an Anthropic InvokeModel body, ``{"store": False}`` for
Responses); ``"family"`` — the InvokeModel body family when the model id does not tell it (the
catalog's ``family``); embedding options are listed in ``routes.embed``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import Any

__all__ = ["ALL_APIS", "APIS", "DEFAULT_APIS", "ENDPOINTS", "INVOCATION_TYPES", "LABELS", "SUPPORTED", "TABLE", "Route",
           "batch_route", "client_kind", "get", "uses_server_state"]

#: The endpoints, in the order they are offered.
ENDPOINTS = ("runtime", "mantle")


# What each route module declares (its module-level constants, lower-cased), in the order their
# APIs are offered (an endpoint's default API comes first); the module is ``routes.<api>``. Plain
# data, so building the table imports no wire code; tests/test_routes.py holds each row equal to
# its module's constants.
_DECLARED: tuple[dict[str, Any], ...] = (
    dict(api="converse", label="Converse", client="bedrock-runtime", endpoints=("runtime",),
         default_on=("runtime",), server_state=(), batch_type="Converse",
         capabilities=frozenset({"stream", "tools", "count_tokens"})),
    dict(api="invoke", label="InvokeModel", client="bedrock-runtime", endpoints=("runtime",), default_on=(),
         server_state=(), batch_type="InvokeModel", capabilities=frozenset({"stream", "tools", "embed"})),
    dict(api="chat", label="Chat Completions", client="openai", endpoints=("runtime", "mantle"), default_on=(),
         server_state=(), batch_type=None, capabilities=frozenset({"stream", "tools"})),
    dict(api="responses", label="Responses", client="openai", endpoints=("runtime", "mantle"),
         default_on=("mantle",), server_state=("mantle",), batch_type=None, capabilities=frozenset({"stream", "tools"})),
)


def _load(api: str) -> ModuleType:
    # A route module (its codecs, base64, ...) loads on the first call that needs it, not at
    # %load_ext. Route modules are one layer (routes), so tests/test_layers.py reads their own
    # imports from their files whether or not they are loaded here.
    name = f"{__name__}.{api}"
    return sys.modules.get(name) or import_module(name)  # sys.modules first: every call asks


@dataclass(frozen=True)
class Route:
    """One (endpoint, API) pair and what its module declares about it."""

    endpoint: str
    api: str
    label: str
    client: str
    default: bool
    server_state: bool
    batch_type: str | None
    capabilities: frozenset[str]

    @property
    def module(self) -> ModuleType:
        """The route module (``send``/``stream``), imported on first use."""
        return _load(self.api)


def _table() -> tuple[Route, ...]:
    routes = [Route(endpoint, d["api"], d["label"], d["client"], endpoint in d["default_on"],
                    endpoint in d["server_state"], d["batch_type"] if endpoint == "runtime" else None,
                    d["capabilities"])
              for endpoint in ENDPOINTS for d in _DECLARED if endpoint in d["endpoints"]]
    return tuple(sorted(routes, key=lambda r: (ENDPOINTS.index(r.endpoint), not r.default)))


#: Every (endpoint, API) route, endpoint by endpoint, each endpoint's default first.
TABLE: tuple[Route, ...] = _table()
#: ``endpoint -> the APIs it serves`` (default first).
APIS: dict[str, tuple[str, ...]] = {e: tuple(r.api for r in TABLE if r.endpoint == e) for e in ENDPOINTS}
#: Every API, in the order they are offered.
ALL_APIS: tuple[str, ...] = tuple(dict.fromkeys(r.api for r in TABLE))
#: ``endpoint -> its API unless one is chosen``.
DEFAULT_APIS: dict[str, str] = {r.endpoint: r.api for r in TABLE if r.default}
#: ``api -> how it is labelled`` (the picker's dropdown).
LABELS: dict[str, str] = {r.api: r.label for r in TABLE}
#: The valid (endpoint, api) pairs.
SUPPORTED: tuple[tuple[str, str], ...] = tuple((r.endpoint, r.api) for r in TABLE)
#: ``api -> modelInvocationType`` of a batch inference job whose records carry that API's body.
INVOCATION_TYPES: dict[str, str] = {r.api: r.batch_type for r in TABLE if r.batch_type}
_CLIENT_KIND = {**{r.api: r.client for r in TABLE}, "embed": "bedrock-runtime"}  # routes.embed.CLIENT
# Embeddings ride on InvokeModel (``invoke`` delegates to ``embed`` for embedding models); the
# module is reachable directly as ("runtime", "embed") too.
_DIRECT = {("runtime", "embed"): "embed"}  # loaded on first use


def get(endpoint: str, api: str) -> ModuleType:
    """The route module for ``api`` on ``endpoint``; ``ValueError`` (one line) for other pairs."""
    for route in TABLE:
        if (route.endpoint, route.api) == (endpoint, api):
            return route.module
    if (endpoint, api) in _DIRECT:
        return _load(_DIRECT[(endpoint, api)])
    valid = ", ".join(APIS.get(endpoint, ()))
    if valid:
        raise ValueError(f"the {endpoint} endpoint has no {api!r} API; choose one of: {valid}")
    raise ValueError(f"unknown endpoint {endpoint!r}; choose {' or '.join(ENDPOINTS)}")


def client_kind(api: str) -> str:
    """The client kind (for ``auth.Clients.get``) that ``api``'s module takes."""
    try:
        return _CLIENT_KIND[api]
    except KeyError:
        raise ValueError(f"unknown API {api!r}") from None


def uses_server_state(endpoint: str, api: str) -> bool:
    """True for the routes that keep a conversation server-side (``previous_response_id``)."""
    return any(r.server_state for r in TABLE if (r.endpoint, r.api) == (endpoint, api))


def batch_route(invocation_type: str) -> ModuleType:
    """The route module whose body a batch job's records carry (``InvokeModel`` or ``Converse``)."""
    for route in TABLE:
        if route.batch_type == invocation_type:
            return route.module
    raise ValueError(f"batch job records are {' or '.join(INVOCATION_TYPES.values())} bodies, not {invocation_type!r}")
