"""What a ``Bedrock`` knows about a failed call, for :func:`~bedrock_magics.explain.explain`.

:class:`Hints` is the ``hints`` mapping ``explain`` reads: the caller's own facts (model, region,
S3 URI, ...) at once, and, only when a rule asks for them, the catalog's (the routes that do serve
the model, close model ids, whether it is an embedding model) and where the credentials came from.
``explain`` itself is pure classification; the lookups (and their memo) live here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .errors import status_of

if TYPE_CHECKING:  # pragma: no cover - annotations only; the Bedrock is handed in by its caller
    from .core import Bedrock
    from .request import Request

__all__: Sequence[str] = ("Hints", "catalog_hints")


class Hints(Mapping):
    """What the catalog and the credentials know about a failed call, for :func:`explain`.

    Lazy, per key: ``given`` hints (the caller's ``model``, ``region``, ``s3_uri`` …) are answered
    without any I/O; the catalog's (``supported_apis``, ``close_models``, ``embedding``) only when a
    rule asks for one, and only for failures that can be about the model (400/404). Those are
    computed once per (region, model) per catalog fetch (``Bedrock._hint_memo``), and a region whose
    listing failed is not asked again within the catalog's TTL: a 10,000-row map with a bad model
    id lists the catalog once, not once per row.
    """

    _CATALOG_KEYS = frozenset({"supported_apis", "close_models", "embedding"})

    def __init__(self, bm: "Bedrock", exc: BaseException, request: "Request | None",
                 given: Mapping[str, Any] | None = None) -> None:
        self._bm, self._exc, self._request = bm, exc, request
        self._given = dict(given or {})
        self._catalog_values: dict[str, Any] | None = None
        self._credential_values: dict[str, Any] | None = None

    def _catalog_hints(self) -> dict[str, Any]:
        if self._catalog_values is None:
            self._catalog_values = {}
            region = getattr(self._request, "region", None) or self._given.get("region")
            model = getattr(self._request, "model", None) or self._given.get("model")
            if status_of(self._exc) in (400, 404) and model and region and "s3_uri" not in self._given:
                self._catalog_values = catalog_hints(self._bm, region, model, self._request is not None)
        return self._catalog_values

    def _credential_hints(self) -> dict[str, Any]:
        if self._credential_values is None:
            self._credential_values = {}
            if status_of(self._exc) in (401, 403):
                try:  # cheap: the key modes answer without I/O, and a call was just signed
                    self._credential_values["credential_source"] = self._bm.clients.credential_source()[1]
                except Exception:  # noqa: BLE001 - hints are a bonus
                    pass
        return self._credential_values

    def __getitem__(self, key: str) -> Any:
        if key in self._given:
            return self._given[key]
        if key in self._CATALOG_KEYS:
            return self._catalog_hints()[key]
        if key == "credential_source":
            return self._credential_hints()[key]
        raise KeyError(key)

    def _all(self) -> dict[str, Any]:
        return {**self._catalog_hints(), **self._credential_hints(), **self._given}

    def __iter__(self):
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def catalog_hints(bm: "Bedrock", region: str, model: str, call: bool) -> dict[str, Any]:
    """The catalog's hints about ``model`` in ``region`` for a refused call (see :class:`Hints`):
    computed once per catalog fetch, and nothing (no listing) while the region's listing is
    known to fail."""
    try:
        catalog = bm.catalog
    except Exception:  # noqa: BLE001 - no clients, no hints
        return {}
    if catalog.failed_recently(region):
        return {}
    key = (region, model, call)
    with bm._lock:
        memo = bm._hint_memo.get(key)
    if memo is not None and memo[0] is catalog.cached(region):
        return memo[1]
    values: dict[str, Any] = {}
    try:
        frame = catalog.models(region)
        if call:  # routes only mean something for a model call
            values["supported_apis"] = catalog.apis_for(region, model)
        values["close_models"] = catalog.close_matches(region, model)
        outputs = _output_modalities(frame, model)
        if outputs is not None:
            values["embedding"] = "EMBEDDING" in outputs
    except Exception:  # noqa: BLE001 - hints are a bonus; the error must still be explained
        return {}  # the catalog remembers the failed listing (Catalog.failed_recently)
    with bm._lock:
        bm._hint_memo[key] = (catalog.cached(region), values)
    return values


def _output_modalities(frame: Any, model: str) -> set[str] | None:
    """The output modalities of ``model`` (id or ARN) in a catalog frame, or None if it is not there."""
    hit = frame[(frame["model_id"] == model) | (frame["arn"] == model)]
    if hit.empty:
        return None
    return {str(m).upper() for row in hit["output_modalities"] for m in row}
