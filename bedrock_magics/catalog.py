"""What can be called where: the control plane and mantle's ``/v1/models`` as one DataFrame.

``Catalog(clients).models(region)`` merges, for one region,

* ListFoundationModels                 -> ``kind="foundation-model"``
* ListInferenceProfiles (every page)    -> ``kind="inference-profile"`` (application profiles by ARN)
* ListCustomModels                      -> ``kind="custom-model"``      (invoked by ARN)
* ListImportedModels                    -> ``kind="imported-model"``    (invoked by ARN)
* ListProvisionedModelThroughputs       -> ``kind="provisioned-model"`` (invoked by ARN)
* mantle ``GET /v1/models``              -> ``kind="mantle-model"``      (mantle regions only)

into one row per thing you can name with ``--model``. ``model_id`` is exactly what to pass: a model
id, an inference-profile id, an ARN (account targets) or a mantle id.

The ``apis`` column
-------------------
``apis`` lists the routes on which *that row's* ``model_id`` works, as ``"{endpoint}/{api}"``
strings. The rule (Bedrock does not publish per-model API support, so it is derived):

1. Runtime routes belong to control-plane rows, mantle routes to mantle rows: a mantle id has no
   version suffix (``openai.gpt-oss-120b``) and is unknown to the runtime, and vice versa.
2. A foundation model whose ``inference_types`` lack ``ON_DEMAND`` (profile-only models, marked
   ``INFERENCE_PROFILE``) gets **no** routes on its bare id: Bedrock refuses it ("on-demand
   throughput isn't supported"). Its inference profiles carry the routes instead.
3. For a callable text model (output ``TEXT``): ``runtime/invoke`` (every family has a native
   body) and ``runtime/converse``. Embedding and image models (output ``EMBEDDING``/``IMAGE``) only
   get ``runtime/invoke``: Converse rejects them.
4. ``runtime/chat`` and ``runtime/responses`` (the runtime's OpenAI-compatible ``/openai/v1``) go to
   the OpenAI family (``openai.*``) and to models that mantle also lists in that region (the
   models Bedrock serves through its OpenAI-compatible engine; matched by id without the version
   suffix, e.g. ``qwen.qwen3-32b`` ↔ ``qwen.qwen3-32b-v1:0``). Outside mantle regions, and when the
   mantle listing fails, only the OpenAI family gets them.
5. An inference profile inherits rules 3–4 from the foundation model it routes to. Provisioned
   throughput and custom models inherit rule 3 from their base model (the OpenAI-compatible routes
   do not take ARNs). An imported model gets ``runtime/invoke``, plus ``runtime/converse`` when
   ``instructSupported``. Targets that are not ready (status other than Active/InService) get none.
6. A mantle model gets ``mantle/chat`` unless it is an Anthropic model (Claude on mantle speaks
   only the Messages API, which this package does not use); ``mantle/responses`` for the OpenAI
   family (gpt-oss), where mantle documents the Responses API.

Whether a model streams is the separate ``streaming`` column (``responseStreamingSupported``);
every route above has a streaming variant used only when ``streaming`` is true.

Results are cached per region for ``ttl`` seconds; ``refresh=True`` bypasses the cache. A failed
listing is remembered too (:meth:`Catalog.failed_recently`), so that the error hints of a burst of
failed calls do not list the region again and again; ``models()`` itself always tries again. A failed
control-plane call raises ``explain.explain(...)``'s one-line ``BedrockError``; a failed mantle
listing only drops the mantle rows and is recorded in ``frame.attrs["mantle_error"]``.
"""

from __future__ import annotations

import difflib
import math
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Iterable

from . import endpoints, explain, prices
from .errors import code_of, one_line
from .modelids import vendor as _vendor

if TYPE_CHECKING:  # pragma: no cover - pandas is imported when a list is built, not with this module
    import pandas as pd

__all__ = ["Catalog", "COLUMNS", "KINDS", "apis_for_summary"]

#: The columns of ``Catalog.models()``, in display order (the first nine are DESIGN.md's contract).
COLUMNS = (
    "model_id", "provider", "name", "input_modalities", "output_modalities", "streaming",
    "inference_types", "apis", "region", "kind", "status", "arn", "base_model",
    "context_window", "input_per_1m_usd", "output_per_1m_usd", "access",
)
#: The ``access`` of a model whose GetFoundationModelAvailability says it can be called.
AVAILABLE = "available"
KINDS = ("foundation-model", "inference-profile", "custom-model", "imported-model", "provisioned-model",
         "mantle-model")

# Statuses in which an account target can take calls (custom/imported: Active; provisioned: InService).
_READY = {"ACTIVE", "INSERVICE", "LEGACY"}


# --------------------------------------------------------------------------------------------
# The apis rule (see the module docstring), as pure functions over wire summaries.
# --------------------------------------------------------------------------------------------

def _runtime_apis(model_id: str, output_modalities: Iterable[str], *, openai: bool = False) -> list[str]:
    """Rules 3–4 for a target that can be called on demand (``openai``: also on mantle)."""
    outputs = {m.upper() for m in output_modalities or ()}
    if "TEXT" not in outputs:  # embeddings and images: native body only
        return ["runtime/invoke"] if outputs else []
    apis = ["runtime/converse", "runtime/invoke"]
    if openai or _vendor(model_id) == "openai":
        apis += ["runtime/chat", "runtime/responses"]
    return apis


def apis_for_summary(summary: dict[str, Any], on_mantle: bool = False) -> list[str]:
    """The routes of a ``FoundationModelSummary`` called by its bare id (rules 2–4).

    ``on_mantle``: mantle lists the same model in this region (rule 4).
    """
    if "ON_DEMAND" not in (summary.get("inferenceTypesSupported") or ()):
        return []
    return _runtime_apis(summary["modelId"], summary.get("outputModalities") or (), openai=on_mantle)


def _mantle_apis(mantle_id: str) -> list[str]:
    """Rule 6."""
    vendor = _vendor(mantle_id)
    if vendor == "anthropic":
        return []
    return ["mantle/chat", "mantle/responses"] if vendor == "openai" else ["mantle/chat"]


_VERSION_SUFFIX = re.compile(r"(-v\d+(:\d+)?|-\d+:\d+|:\d+)$")


def _stem(model_id: str) -> str:
    """``qwen.qwen3-32b`` from ``qwen.qwen3-32b-v1:0``: a model id without its version suffix."""
    return _VERSION_SUFFIX.sub("", model_id)


def _foundation_for_mantle(mantle_id: str, foundation: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The foundation model a mantle id names (mantle drops the version suffix), or None.

    ``deepseek.v3.1`` names ``deepseek.v3-v1:0``: the stem may be followed by a minor version.
    """
    if mantle_id in foundation:
        return foundation[mantle_id]
    best = None
    for model_id in foundation:
        stem = _stem(model_id)
        if mantle_id == stem or (mantle_id.startswith(stem) and mantle_id[len(stem):][:1] in ("-", ".", ":")):
            if best is None or len(stem) > len(_stem(best)):
                best = model_id
    return foundation[best] if best else None


def _id_from_arn(arn: str | None) -> str:
    """``anthropic.claude…`` from ``arn:aws:bedrock:r::foundation-model/anthropic.claude…``."""
    return (arn or "").rsplit("/", 1)[-1]


# --------------------------------------------------------------------------------------------


class Catalog:
    """The models callable in a region, from the control plane and mantle, cached per region.

    ``clients`` is an ``auth.Clients``: ``clients.get(region, "control", "bedrock")`` gives the boto3
    control-plane client and ``clients.get(region, "mantle", "openai")`` the openai client for mantle.
    ``clock`` is the time source for the TTL (``time.monotonic``); ``page_size`` the ``maxResults`` of
    paginated lists (None: the service's default page).
    """

    def __init__(self, clients: Any, ttl: float = 3600, clock: Callable[[], float] = time.monotonic,
                 page_size: int | None = None) -> None:
        self.clients = clients
        self.ttl = ttl
        self.page_size = page_size
        self._clock = clock
        self._cache: dict[str, tuple[float, pd.DataFrame]] = {}
        self._lock = threading.Lock()
        self._region_locks: dict[str, threading.Lock] = {}
        self._failures: dict[str, float] = {}  # region -> when its listing last failed

    # ---------------------------------------------------------------- public API

    def models(self, region: str, provider: str | None = None, refresh: bool = False) -> pd.DataFrame:
        """One row per model, inference profile, account target or mantle model in ``region``.

        ``provider`` keeps the rows of one provider (case-insensitive: ``anthropic``, ``Mistral AI``,
        ``mistral``). ``refresh=True`` refetches even if the cached list is younger than ``ttl``.
        Raises ``BedrockError`` (one line) when the control plane fails.
        """
        frame = self._frame(region, refresh)
        if provider:
            frame = frame[[_provider_matches(provider, p, m) for p, m in zip(frame["provider"], frame["model_id"])]]
            frame = frame.reset_index(drop=True)
        return frame.copy()

    def model_ids(self, region: str) -> list[str]:
        """Every ``model_id`` in ``region`` (cached)."""
        return list(self._frame(region, False)["model_id"])

    def apis_for(self, region: str, model_id: str) -> list[str]:
        """The routes (``"runtime/converse"``, …) on which ``model_id`` (an id or ARN) works in ``region``.

        Empty when the id is unknown there, or known but not callable by that id (a profile-only
        model: use one of its inference profiles).
        """
        frame = self._frame(region, False)
        hit = frame[(frame["model_id"] == model_id) | (frame["arn"] == model_id)]
        apis: list[str] = []
        for row_apis in hit["apis"]:
            apis += [a for a in row_apis if a not in apis]
        return apis

    def close_matches(self, region: str, model_id: str, n: int = 5) -> list[str]:
        """Ids in ``region`` that look like ``model_id``, best first: for "did you mean …?" lines.

        Callable ids are preferred: a profile-only model is suggested through its profiles.
        """
        frame = self._frame(region, False)
        callable_ids = [m for m, a in zip(frame["model_id"], frame["apis"]) if a]
        ids = callable_ids or list(frame["model_id"])
        wanted = (model_id or "").strip().lower()
        if not wanted:
            return []
        found: list[str] = []
        # The same id ignoring case, then ids containing what was typed (``claude-haiku``), then
        # ids containing the typed id (a bare id whose profiles exist); else fuzzy matches.
        found += [i for i in ids if i.lower() == wanted]
        found += sorted((i for i in ids if wanted in i.lower()), key=len)
        found += sorted((i for i in ids if i.lower().split(".", 1)[-1] in wanted and len(i) > 3), key=len)
        if not found:  # fuzzy matches only when nothing matched outright: they are guesses
            lowered = {i.lower(): i for i in ids}
            found += [lowered[m] for m in difflib.get_close_matches(wanted, list(lowered), n=n, cutoff=0.6)]
        unique: list[str] = []
        for i in found:
            if i not in unique:
                unique.append(i)
        return unique[:n]

    def failed_recently(self, region: str) -> bool:
        """True when the last listing of ``region`` failed less than ``ttl`` seconds ago (and none
        succeeded since): callers that only want hints skip the region instead of listing it again."""
        with self._lock:
            failed = self._failures.get(region)
        return failed is not None and self._clock() - failed < self.ttl

    def cached(self, region: str) -> pd.DataFrame | None:
        """The list of ``region`` if it was fetched before (whatever its age), else None: no I/O."""
        with self._lock:
            cached = self._cache.get(region)
        return cached[1] if cached else None

    def base_model(self, region: str, model_id: str, *, fetch: bool = False,
                   kinds: Iterable[str] | None = None) -> str | None:
        """The foundation-model id behind ``model_id`` (an id or ARN: an application inference
        profile, a provisioned throughput, a custom model ...), or None when the list does not
        know it. A foundation model is its own base.

        ``kinds`` keeps only rows of those kinds: pricing asks for ``("foundation-model",
        "inference-profile")``, the targets billed per token as their base model (provisioned
        throughput is billed by the hour, custom and imported models at their own rates).
        With ``fetch=False`` (the default) only an already fetched list is read — pricing a call
        must never wait for the control plane; ``fetch=True`` fetches the list when needed.
        """
        frame = self._frame(region, False) if fetch else self.cached(region)
        if frame is None or not model_id:
            return None
        hit = frame[(frame["model_id"] == model_id) | (frame["arn"] == model_id)]
        if kinds is not None:
            hit = hit[hit["kind"].isin(tuple(kinds))]
        for kind, own_id, base in zip(hit["kind"], hit["model_id"], hit["base_model"]):
            if kind == "foundation-model":
                return own_id
            if isinstance(base, str) and base:
                return base
        return None

    def clear(self, region: str | None = None) -> None:
        """Forget the cached list of ``region`` (or of every region)."""
        with self._lock:
            if region is None:
                self._cache.clear()
                self._failures.clear()
            else:
                self._cache.pop(region, None)
                self._failures.pop(region, None)

    # ---------------------------------------------------------------- cache

    def _frame(self, region: str, refresh: bool) -> pd.DataFrame:
        with self._lock:
            cached = self._cache.get(region)
            region_lock = self._region_locks.setdefault(region, threading.Lock())
        if cached and not refresh and self._clock() - cached[0] < self.ttl:
            return cached[1]
        # One fetch per region at a time: a picker and a cell asking together share the result.
        with region_lock:
            with self._lock:
                cached = self._cache.get(region)
            if cached and not refresh and self._clock() - cached[0] < self.ttl:
                return cached[1]
            started = self._clock()
            try:
                frame = self._fetch(region)
            except Exception:
                with self._lock:
                    self._failures[region] = started
                raise
            with self._lock:
                self._cache[region] = (started, frame)
                self._failures.pop(region, None)
            return frame

    # ---------------------------------------------------------------- fetching

    def _fetch(self, region: str) -> pd.DataFrame:
        try:
            control = self.clients.get(region, "control", "bedrock")
        except Exception as exc:  # a region where Bedrock does not run, a bad client setting
            raise _explain(exc, region) from exc
        in_mantle = region in endpoints.regions("mantle")
        # Six independent list calls: run them side by side (boto3 clients are thread-safe), so a
        # picker waits for the slowest call rather than for the sum of them.
        calls: dict[str, Callable[[], Any]] = {
            "foundation": lambda: control.list_foundation_models().get("modelSummaries", []),
            "profiles": lambda: self._all_pages(control, "list_inference_profiles", "inferenceProfileSummaries"),
            "custom": lambda: self._all_pages(control, "list_custom_models", "modelSummaries"),
            "imported": lambda: self._all_pages(control, "list_imported_models", "modelSummaries"),
            "provisioned": lambda: self._all_pages(control, "list_provisioned_model_throughputs",
                                                   "provisionedModelSummaries"),
        }
        if in_mantle:
            calls["mantle"] = lambda: self._mantle_models(region)
        with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="bedrock-catalog") as pool:
            futures = {name: pool.submit(call) for name, call in calls.items()}
            results: dict[str, Any] = {}
            failures: dict[str, BaseException] = {}
            for name, future in futures.items():
                try:
                    results[name] = future.result()
                except Exception as exc:  # collected, then raised or noted below
                    failures[name] = exc

        notes: list[str] = []
        for name in ("foundation", "profiles", "custom", "imported", "provisioned"):
            if name in failures:
                exc = failures[name]
                # Listing account targets needs extra IAM actions that least-privilege users often
                # lack; that is no reason to hide the models they *can* call.
                if name in ("custom", "imported", "provisioned") and code_of(exc) == "AccessDeniedException":
                    notes.append(f"{name} models not listed: {one_line(_explain(exc, region))}")
                    results[name] = []
                    continue
                raise _explain(exc, region) from exc
        mantle_error = None
        if "mantle" in failures:
            mantle_error = one_line(_explain(failures["mantle"], region, "mantle"))
            results["mantle"] = []

        frame = _build_frame(region, results)
        _add_access(frame, self._access(control, [s["modelId"] for s in results["foundation"]]))
        frame.attrs.update({"region": region, "mantle_error": mantle_error, "notes": notes,
                            "mantle": in_mantle})
        return frame

    def _access(self, control: Any, model_ids: list[str]) -> dict[str, str | None]:
        """GetFoundationModelAvailability of each foundation model, in parallel, as an ``access``
        text (:func:`access_text`); None where the call failed (a user without that IAM action)."""
        def one(model_id: str) -> str | None:
            try:
                return access_text(control.get_foundation_model_availability(modelId=model_id))
            except Exception:  # noqa: BLE001 - access is a column of the list, never a reason to fail it
                return None

        if not model_ids:
            return {}
        with ThreadPoolExecutor(max_workers=min(8, len(model_ids)), thread_name_prefix="bedrock-access") as pool:
            return dict(zip(model_ids, pool.map(one, model_ids)))

    def _all_pages(self, client: Any, method: str, key: str) -> list[dict[str, Any]]:
        config = {"PageSize": self.page_size} if self.page_size else {}
        pages = client.get_paginator(method).paginate(PaginationConfig=config)
        return [item for page in pages for item in page.get(key, [])]

    def _mantle_models(self, region: str) -> list[dict[str, Any]]:
        client = self.clients.get(region, "mantle", "openai")
        return [m.model_dump() if hasattr(m, "model_dump") else dict(m) for m in client.models.list()]




# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------

def _build_frame(region: str, results: dict[str, list[dict[str, Any]]]) -> pd.DataFrame:
    import pandas as pd

    foundation = {s["modelId"]: s for s in results.get("foundation", [])}
    by_arn = {s.get("modelArn"): s for s in foundation.values()}
    providers = {_vendor(i): s.get("providerName") or "" for i, s in foundation.items()}
    mantle_base = {m["id"]: _foundation_for_mantle(m["id"], foundation) for m in results.get("mantle", [])}
    # Foundation models that mantle also serves here: they take the runtime's OpenAI routes (rule 4).
    on_mantle = {b["modelId"] for b in mantle_base.values() if b}
    rows: list[dict[str, Any]] = []

    def base_of(arn: str | None) -> dict[str, Any]:
        return by_arn.get(arn) or foundation.get(_id_from_arn(arn)) or {}

    for s in foundation.values():
        rows.append(_row(region, "foundation-model", s["modelId"], s.get("modelName"), s,
                         apis_for_summary(s, s["modelId"] in on_mantle), (s.get("modelLifecycle") or {}).get("status"), s.get("modelArn"),
                         base_model=None))

    for p in results.get("profiles", []):
        arns = [m.get("modelArn") for m in p.get("models") or []]
        base = next((base_of(a) for a in arns if base_of(a)), {})
        base_id = base.get("modelId") or (_id_from_arn(arns[0]) if arns else None)
        ready = (p.get("status") or "ACTIVE").upper() in _READY
        apis = _runtime_apis(p["inferenceProfileId"], base.get("outputModalities") or ["TEXT"],
                             openai=base_id in on_mantle) if ready else []
        model_id = p["inferenceProfileId"]
        if p.get("type") == "APPLICATION":
            # Application profiles are called by ARN (their 12-character id is not a model
            # identifier), and the OpenAI-compatible routes do not take ARNs.
            model_id = p.get("inferenceProfileArn") or model_id
            apis = [a for a in apis if a in ("runtime/converse", "runtime/invoke")]
        rows.append(_row(region, "inference-profile", model_id, p.get("inferenceProfileName"), base,
                         apis, p.get("status"), p.get("inferenceProfileArn"), base_model=base_id,
                         inference_types=["INFERENCE_PROFILE"]))

    for c in results.get("custom", []):
        base = base_of(c.get("baseModelArn"))
        ready = (c.get("modelStatus") or "Active").upper() in _READY
        apis = _runtime_apis(c["modelArn"], base.get("outputModalities") or ["TEXT"])[:2] if ready else []
        rows.append(_row(region, "custom-model", c["modelArn"], c.get("modelName"), base, apis,
                         c.get("modelStatus"), c["modelArn"], base_model=base.get("modelId") or _id_from_arn(
                             c.get("baseModelArn")), inference_types=[]))

    for m in results.get("imported", []):
        apis = ["runtime/converse", "runtime/invoke"] if m.get("instructSupported") else ["runtime/invoke"]
        summary = {"providerName": "Imported", "inputModalities": ["TEXT"], "outputModalities": ["TEXT"],
                   "responseStreamingSupported": True}
        rows.append(_row(region, "imported-model", m["modelArn"], m.get("modelName"), summary, apis, "Active",
                         m["modelArn"], base_model=m.get("modelArchitecture"), inference_types=[]))

    for t in results.get("provisioned", []):
        base = base_of(t.get("foundationModelArn")) or base_of(t.get("modelArn"))
        ready = (t.get("status") or "").upper() in _READY
        apis = _runtime_apis(t["provisionedModelArn"], base.get("outputModalities") or ["TEXT"])[:2] if ready else []
        rows.append(_row(region, "provisioned-model", t["provisionedModelArn"], t.get("provisionedModelName"), base,
                         apis, t.get("status"), t["provisionedModelArn"],
                         base_model=base.get("modelId") or _id_from_arn(t.get("foundationModelArn")),
                         inference_types=["PROVISIONED"]))

    for m in results.get("mantle", []):
        mantle_id = m["id"]
        base = mantle_base.get(mantle_id)
        summary = dict(base) if base else {"inputModalities": ["TEXT"], "outputModalities": ["TEXT"],
                                           "responseStreamingSupported": True}
        summary["providerName"] = (base or {}).get("providerName") or providers.get(_vendor(mantle_id)) or \
            m.get("owned_by") or _vendor(mantle_id)
        rows.append(_row(region, "mantle-model", mantle_id, (base or {}).get("modelName") or mantle_id, summary,
                         _mantle_apis(mantle_id), "ACTIVE", None, base_model=(base or {}).get("modelId"),
                         inference_types=[]))

    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["context_window"] = frame["context_window"].astype("Int64")  # whole tokens; <NA> where unknown
    return frame


def _row(region: str, kind: str, model_id: str, name: str | None, summary: dict[str, Any], apis: list[str],
         status: str | None, arn: str | None, *, base_model: str | None,
         inference_types: list[str] | None = None) -> dict[str, Any]:
    # Prices and context window from the same source as a call's cost (prices.py); an ARN is priced
    # as its base model (an account target's own rates are not known here, so those stay NaN).
    priced = prices.model_columns(model_id, None, base_model if kind in ("inference-profile", "mantle-model")
                                  else None) if kind in _PRICED else {}
    return {
        "model_id": model_id,
        "provider": summary.get("providerName") or "",
        "name": name or model_id,
        "input_modalities": list(summary.get("inputModalities") or []),
        "output_modalities": list(summary.get("outputModalities") or []),
        "streaming": bool(summary.get("responseStreamingSupported", False)),
        "inference_types": list(summary.get("inferenceTypesSupported") or [])
        if inference_types is None else inference_types,
        "apis": apis,
        "region": region,
        "kind": kind,
        "status": status,
        "arn": arn,
        "base_model": base_model,
        "context_window": priced.get("context_window"),
        "input_per_1m_usd": priced.get("input_per_1m_usd", math.nan),
        "output_per_1m_usd": priced.get("output_per_1m_usd", math.nan),
        "access": None,
    }


# Kinds billed per token at the model's on-demand price (provisioned throughput is billed by the
# hour, custom and imported models at their own rates).
_PRICED = ("foundation-model", "inference-profile", "mantle-model")


def access_text(availability: dict[str, Any]) -> str:
    """A GetFoundationModelAvailability answer as one short text: ``available``, or what to do.

    The four fields, as AWS documents them: the region offers the model (``regionAvailability``),
    the account's IAM allows it (``authorizationStatus``), the account is entitled to it
    (``entitlementAvailability``: model access granted) and the offer's agreement is accepted
    (``agreementAvailability.status``: AVAILABLE, PENDING, NOT_AVAILABLE, ERROR).
    """
    if availability.get("regionAvailability") == "NOT_AVAILABLE":
        return "not offered in this region"
    if availability.get("authorizationStatus") == "NOT_AUTHORIZED":
        return "not authorized: your IAM policy must allow bedrock:InvokeModel on it"
    agreement = (availability.get("agreementAvailability") or {}).get("status")
    if agreement == "PENDING":
        return "agreement pending: access is being granted"
    if availability.get("entitlementAvailability") == "NOT_AVAILABLE" or agreement in ("NOT_AVAILABLE", "ERROR"):
        return "request access: Bedrock console → Model access (accept the model's offer)"
    return AVAILABLE


def _add_access(frame: "pd.DataFrame", access: dict[str, str | None]) -> None:
    """The ``access`` column: a foundation model's own; a profile, provisioned or custom model
    takes its base model's; mantle models and imported models have none known (None)."""
    values = []
    for kind, model_id, base in zip(frame["kind"], frame["model_id"], frame["base_model"]):
        if kind == "foundation-model":
            values.append(access.get(model_id))
        elif kind in ("inference-profile", "provisioned-model", "custom-model", "mantle-model"):
            values.append(access.get(base) if isinstance(base, str) else None)
        else:
            values.append(None)
    frame["access"] = values


def _provider_matches(wanted: str, provider: str, model_id: str) -> bool:
    w = wanted.strip().lower()
    p = (provider or "").lower()
    return w in (p, p.replace(" ", ""), p.split(" ")[0] if p else "", _vendor(model_id))


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

def _explain(exc: BaseException, region: str, surface: str = "control") -> Exception:
    """C1's one-line ``BedrockError`` for a boto3/openai exception while listing models."""
    # No model is named: the messages say "… in REGION (control/list)", never "the model".
    return explain.explain(exc, None, {"region": region, "endpoint": surface,
                                      "api": "models" if surface == "mantle" else "list"})
