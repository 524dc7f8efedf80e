"""Control-plane handlers of the local Bedrock service (``bedrock.{region}.amazonaws.com``).

Paths, query keys and shapes follow botocore's ``bedrock`` 2023-04-20 model: ListFoundationModels
(filters, no pagination), GetFoundationModel, GetFoundationModelAvailability,
List/GetInferenceProfile(s), List/GetCustomModel(s), List/GetImportedModel(s) and
List/GetProvisionedModelThroughput(s). List operations that AWS paginates take ``maxResults`` and
an opaque ``nextToken`` here too. Everything answers for the request's region (its SigV4 scope).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime, timezone
from typing import Any, Callable

from .http import CONTROL, AwsError, Request, Response, Router, json_response

_PROVIDER = re.compile(r"^[A-Za-z0-9- ]{1,63}$")
_ENUMS = {
    "byOutputModality": ("TEXT", "IMAGE", "EMBEDDING"),
    "byInferenceType": ("ON_DEMAND", "PROVISIONED"),
    "byCustomizationType": ("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"),
    "type": ("SYSTEM_DEFINED", "APPLICATION"),
    "statusEquals": ("Creating", "InService", "Updating", "Failed"),
    "sortBy": ("CreationTime",),
    "sortOrder": ("Ascending", "Descending"),
    "modelStatus": ("Active", "Creating", "Failed"),
}
_CUSTOM_SUMMARY = ("modelArn", "modelName", "creationTime", "baseModelArn", "baseModelName", "customizationType",
                   "ownerAccountId", "modelStatus")
_IMPORTED_SUMMARY = ("modelArn", "modelName", "creationTime", "instructSupported", "modelArchitecture")
_DEFAULT_PAGE = 100


def register(router: Router) -> None:
    """Add the control-plane routes."""
    for template, handler in (
        ("/foundation-models", list_foundation_models),
        ("/foundation-models/{modelIdentifier}", get_foundation_model),
        ("/foundation-model-availability/{modelId}", get_foundation_model_availability),
        ("/inference-profiles", list_inference_profiles),
        ("/inference-profiles/{inferenceProfileIdentifier}", get_inference_profile),
        ("/custom-models", list_custom_models),
        ("/custom-models/{modelIdentifier}", get_custom_model),
        ("/imported-models", list_imported_models),
        ("/imported-models/{modelIdentifier}", get_imported_model),
        ("/provisioned-model-throughputs", list_provisioned_model_throughputs),
        ("/provisioned-model-throughput/{provisionedModelId}", get_provisioned_model_throughput),
    ):
        router.add(CONTROL, "GET", template, handler)


# -- foundation models -------------------------------------------------------------------------


def list_foundation_models(req: Request) -> Response:
    """ListFoundationModels: every model of the region, filtered; never paginated."""
    provider = req.query_one("byProvider")
    if provider is not None and not _PROVIDER.match(provider):
        raise _constraint("byProvider", provider, "Member must satisfy regular expression pattern: [A-Za-z0-9- ]{1,63}")
    modality, inference, customization = (_enum(req, k) for k in ("byOutputModality", "byInferenceType",
                                                                  "byCustomizationType"))
    out = []
    for summary in req.app.catalog.foundation_models(req.region):
        if provider and provider.lower() not in (summary["providerName"].lower(),
                                                 summary["modelId"].split(".", 1)[0].lower()):
            continue
        if modality and modality not in summary["outputModalities"]:
            continue
        if inference and inference not in summary["inferenceTypesSupported"]:
            continue
        if customization and customization not in summary["customizationsSupported"]:
            continue
        out.append(summary)
    return json_response({"modelSummaries": out})


def get_foundation_model(req: Request) -> Response:
    """GetFoundationModel: by model id or foundation-model ARN."""
    identifier = req.params["modelIdentifier"]
    summary = req.app.catalog.foundation_model(req.region, identifier)
    if summary is None:
        raise AwsError("ResourceNotFoundException",
                       f"Could not resolve the foundation model from the model identifier: {identifier}.")
    return json_response({"modelDetails": summary})


def get_foundation_model_availability(req: Request) -> Response:
    """GetFoundationModelAvailability: everything is available and authorized where the model is listed."""
    model_id = req.params["modelId"]
    if model_id.startswith("arn:"):
        model_id = model_id.rsplit("/", 1)[-1]
    entry = req.app.catalog.model(model_id)
    if entry is None:
        raise AwsError("ResourceNotFoundException", f"Could not find foundation model {model_id}.")
    here = req.region in entry["regions"]
    ok = "AVAILABLE" if here else "NOT_AVAILABLE"
    return json_response({
        "modelId": model_id,
        "agreementAvailability": {"status": ok},
        "authorizationStatus": "AUTHORIZED" if here else "NOT_AUTHORIZED",
        "entitlementAvailability": ok,
        "regionAvailability": ok,
    })


# -- inference profiles ------------------------------------------------------------------------


def list_inference_profiles(req: Request) -> Response:
    """ListInferenceProfiles: system-defined and application profiles callable from the region."""
    kind = _enum(req, "type")
    items = [p for p in req.app.catalog.inference_profiles(req.region) if not kind or p["type"] == kind]
    return page(req, items, "inferenceProfileSummaries")


def get_inference_profile(req: Request) -> Response:
    """GetInferenceProfile: by profile id or ARN; the summary's fields at top level."""
    identifier = req.params["inferenceProfileIdentifier"]
    profile = req.app.catalog.inference_profile(req.region, identifier)
    if profile is None:
        raise AwsError("ResourceNotFoundException", f"Inference profile {identifier} not found.")
    return json_response(profile)


# -- account-owned models ----------------------------------------------------------------------


def list_custom_models(req: Request) -> Response:
    """ListCustomModels, with its filters, sorting and pagination."""
    base, foundation = req.query_one("baseModelArnEquals"), req.query_one("foundationModelArnEquals")
    status = _enum(req, "modelStatus")
    owned = req.query_one("isOwned")

    def keep(m: dict) -> bool:
        return ((not base or m["baseModelArn"] == base) and (not foundation or m["baseModelArn"] == foundation)
                and (not status or m["modelStatus"] == status) and owned != "false")

    models = _listing(req, req.app.catalog.custom_models(req.region), "modelName", "creationTime", keep)
    return page(req, [_pick(m, _CUSTOM_SUMMARY) for m in models], "modelSummaries")


def get_custom_model(req: Request) -> Response:
    """GetCustomModel: by name or ARN."""
    model = _find(req.app.catalog.custom_models(req.region), req.params["modelIdentifier"], "modelArn", "modelName")
    return json_response({k: v for k, v in model.items() if k not in ("baseModelName", "ownerAccountId")})


def list_imported_models(req: Request) -> Response:
    """ListImportedModels, with its filters, sorting and pagination."""
    models = _listing(req, req.app.catalog.imported_models(req.region), "modelName", "creationTime")
    return page(req, [_pick(m, _IMPORTED_SUMMARY) for m in models], "modelSummaries")


def get_imported_model(req: Request) -> Response:
    """GetImportedModel: by name or ARN."""
    return json_response(_find(req.app.catalog.imported_models(req.region), req.params["modelIdentifier"],
                               "modelArn", "modelName"))


def list_provisioned_model_throughputs(req: Request) -> Response:
    """ListProvisionedModelThroughputs, with its filters, sorting and pagination."""
    status, model_arn = _enum(req, "statusEquals"), req.query_one("modelArnEquals")

    def keep(p: dict) -> bool:
        return (not status or p["status"] == status) and (not model_arn or p["modelArn"] == model_arn)

    items = _listing(req, req.app.catalog.provisioned_throughputs(req.region), "provisionedModelName",
                     "creationTime", keep)
    return page(req, items, "provisionedModelSummaries")


def get_provisioned_model_throughput(req: Request) -> Response:
    """GetProvisionedModelThroughput: by name or ARN."""
    return json_response(_find(req.app.catalog.provisioned_throughputs(req.region), req.params["provisionedModelId"],
                               "provisionedModelArn", "provisionedModelName"))


# -- helpers -----------------------------------------------------------------------------------


def _constraint(name: str, value: Any, rule: str) -> AwsError:
    return AwsError("ValidationException",
                    f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: {rule}")


def _enum(req: Request, name: str) -> str | None:
    value = req.query_one(name)
    if value is not None and value not in _ENUMS[name]:
        raise _constraint(name, value, f"Member must satisfy enum value set: [{', '.join(_ENUMS[name])}]")
    return value


def _time(req: Request, name: str) -> datetime | None:
    value = req.query_one(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _constraint(name, value, "Member must be an ISO 8601 timestamp") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _listing(req: Request, items: list[dict], name_key: str, time_key: str,
             keep: Callable[[dict], bool] = lambda _: True) -> list[dict]:
    """The common list filters (name, creation time window), then sorting (newest first by default)."""
    name = req.query_one("nameContains")
    after, before = _time(req, "creationTimeAfter"), _time(req, "creationTimeBefore")
    _enum(req, "sortBy")
    descending = (_enum(req, "sortOrder") or "Descending") == "Descending"
    created = lambda item: datetime.fromisoformat(item[time_key].replace("Z", "+00:00"))  # noqa: E731
    out = [i for i in items if keep(i) and (not name or name in i[name_key])
           and (not after or created(i) > after) and (not before or created(i) < before)]
    return sorted(out, key=created, reverse=descending)


def _find(items: list[dict], identifier: str, arn_key: str, name_key: str) -> dict:
    for item in items:
        if identifier in (item[arn_key], item[name_key], item[arn_key].rsplit("/", 1)[-1]):
            return item
    raise AwsError("ResourceNotFoundException", f"The specified resource {identifier} could not be found.")


def _pick(item: dict, keys: tuple[str, ...]) -> dict:
    return {k: item[k] for k in keys if k in item}


def page(req: Request, items: list[Any], key: str) -> Response:
    """One page of ``items`` under ``key``, with ``nextToken`` when more remain."""
    raw = req.query_one("maxResults")
    try:
        size = int(raw) if raw is not None else _DEFAULT_PAGE
    except ValueError:
        raise _constraint("maxResults", raw, "Member must be an integer") from None
    if not 1 <= size <= 1000:
        raise _constraint("maxResults", raw, "Member must have value between 1 and 1000")
    start = _decode_token(req.query_one("nextToken"))
    body: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        body["nextToken"] = _encode_token(start + size)
    return json_response(body)


def _encode_token(offset: int) -> str:
    # Standard base64 (with "+", "/" and "=") on purpose: clients must percent-encode it correctly.
    return base64.b64encode(json.dumps({"offset": offset, "v": 1}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.b64decode(token, validate=True))["offset"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except (binascii.Error, ValueError, KeyError, TypeError):
        pass
    raise AwsError("ValidationException", "The provided pagination token is invalid.")
