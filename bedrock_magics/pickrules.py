"""The picker's rules, as plain functions over the settings and the models frame (no widgets):
which regions and APIs to offer, which rows to list and in which order, how a row reads, and which
model to choose when the one set is not offered (so the picker never writes a configuration that
its own status line calls invalid).

Why a list and not a sortable table: see docs/architecture.md ("The picker"). In short, a core
``Select`` renders the same in JupyterLab, Notebook 7 and VS Code with no extra front-end package,
keeps keyboard navigation and the text fallback; each row carries the columns a table would
(price per 1M input/output tokens, context window, modalities, access, legacy) and a "Sort by"
dropdown orders the list by them.
"""

from __future__ import annotations

import math
from typing import Any

from . import endpoints
from .routes import APIS, DEFAULT_APIS

__all__ = ["ACCOUNT_KINDS", "SORTS", "api_for", "label", "matches", "regions_for", "route_rows", "valid_model"]

#: Rows named by ARN: account targets (custom, imported, provisioned models) and application inference
#: profiles. Listed only when asked for: in a workshop they are the local service's test fixtures.
ACCOUNT_KINDS = ("custom-model", "imported-model", "provisioned-model")
#: "Sort by" choices: label -> key.
SORTS = {"provider": "provider", "input price": "input_per_1m_usd", "output price": "output_per_1m_usd",
         "context window": "context_window"}
_KIND_ORDER = {"foundation-model": 0, "inference-profile": 1, "mantle-model": 2, "provisioned-model": 3,
               "custom-model": 4, "imported-model": 5}


def regions_for(endpoint: str, local_service: Any = None) -> list[str]:
    """Regions offered for ``endpoint``: the local service's own (when calls go to it), else where
    Bedrock runs that endpoint."""
    catalog = getattr(local_service, "catalog", None)
    if catalog is not None:
        return list(catalog.mantle_regions if endpoint == "mantle" else catalog.regions)
    return list(endpoints.regions("mantle" if endpoint == "mantle" else "runtime"))


def api_for(endpoint: str, picked: dict[str, str]) -> str:
    """The API on ``endpoint``: the one the user picked there, else the endpoint's own (runtime ->
    Converse, mantle -> Responses)."""
    api = picked.get(endpoint)
    return api if api in APIS[endpoint] else DEFAULT_APIS[endpoint]


def _is_account_target(row: dict[str, Any]) -> bool:
    return row.get("kind") in ACCOUNT_KINDS or str(row.get("model_id", "")).startswith("arn:")


def route_rows(frame: Any, endpoint: str, api: str, *, arns: bool = False, sort: str = "provider") -> list[dict]:
    """Rows of a models frame that serve ``endpoint/api`` (ARN rows only with ``arns``), ordered by
    ``sort`` (a :data:`SORTS` key; unknown values last)."""
    if frame is None or len(frame) == 0:
        return []
    route = f"{endpoint}/{api}"
    rows = [r for r in frame.to_dict("records") if route in (r.get("apis") or ()) and (arns or not _is_account_target(r))]
    rows.sort(key=lambda r: (str(r.get("provider") or "").lower(), str(r.get("base_model") or r["model_id"]),
                             _KIND_ORDER.get(r.get("kind"), 9), str(r["model_id"])))
    key = SORTS.get(sort, sort)
    if key != "provider":
        rows.sort(key=lambda r: (_number(r.get(key)) is None, _number(r.get(key)) or 0.0))
    return rows


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def matches(row: dict[str, Any], words: list[str]) -> bool:
    """True when every word of the filter is in the row's id, name, provider, kind or base model."""
    haystack = " ".join(str(row.get(k) or "") for k in ("model_id", "name", "provider", "kind", "base_model")).lower()
    return all(w in haystack for w in words)


def _tokens(value: Any) -> str:
    number = _number(value)
    if number is None:
        return "ctx unknown"
    return f"{number / 1e6:g}M ctx" if number >= 1e6 else f"{number / 1e3:g}K ctx"


def _usd(value: Any) -> str:
    number = _number(value)
    return "?" if number is None else f"${number:,.2f}" if number >= 0.1 else f"${number:.3g}"


def _modalities(row: dict[str, Any]) -> str:
    inputs = "+".join(m.lower() for m in row.get("input_modalities") or ()) or "?"
    outputs = "+".join(m.lower() for m in row.get("output_modalities") or ()) or "?"
    return f"{inputs}→{outputs}"


def label(row: dict[str, Any]) -> str:
    """One row of the list: what ``--model`` takes and its name, then price per 1M input/output
    tokens, context window, modalities, and access or legacy status when they need saying."""
    model_id, name = row["model_id"], row.get("name") or ""
    if str(model_id).startswith("arn:"):  # ARNs read better name first
        head = f"{name} ({row.get('kind')}) — {model_id}"
    else:
        head = f"{model_id} — {name}" if name and name != model_id else str(model_id)
    parts = [head, f"{_usd(row.get('input_per_1m_usd'))}/{_usd(row.get('output_per_1m_usd'))} per 1M in/out",
             _tokens(row.get("context_window")), _modalities(row)]
    access = row.get("access")
    if isinstance(access, str) and access != "available":
        parts.append(f"⚠ {access}")
    if str(row.get("status") or "").upper() == "LEGACY":
        parts.append("legacy")
    return " · ".join(parts)


def valid_model(rows: list[dict[str, Any]], current: str | None, remembered: str | None,
                default: str | None = None) -> str | None:
    """The model to write for a route: ``current`` when the route offers it, else the model last
    chosen on this endpoint, else the endpoint's default model, else the first offered; None when
    nothing is offered."""
    offered = [r["model_id"] for r in rows]
    for candidate in (current, remembered, default):
        if candidate in offered:
            return candidate
    return offered[0] if offered else None
