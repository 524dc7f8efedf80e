"""The catalog of the local Bedrock service: models, inference profiles, regions, account models.

The data lives in ``data/catalog.json`` (a dated snapshot of what Bedrock lists; its ``snapshot`` object
names the date and the AWS pages it comes from), or in a file of the same format that
``python -m bedrock_magics.local catalog --from-aws`` wrote from a real account (served with
``--catalog FILE``). This module only reads it and answers questions about it:
which foundation models a region lists, which inference profiles it offers, and — the question
every runtime handler asks first — what a model identifier in a request resolves to.

Catalog entries carry the wire fields of a ``FoundationModelSummary`` plus local keys:

``family``                the InvokeModel body codec (``anthropic``, ``nova``, ``titan-text``, ``llama``,
                          ``mistral``, ``mistral-chat``, ``cohere-command``, ``deepseek-r1``, ``titan-embed``,
                          ``cohere-embed``, ``gpt-oss``, ``image``)
``converse``              whether Converse/ConverseStream accept the model
``countTokens``           whether CountTokens accepts it (by bare model id)
``regions``               regions whose ListFoundationModels lists it
``profiles``              geography prefixes of its system-defined inference profiles
``mantleId``              its id on bedrock-mantle's OpenAI-compatible APIs (no version suffix), or null
``mantleAnthropicId``     optional; its id on bedrock-mantle's Anthropic Messages API
                          (``/anthropic/v1/messages``; AWS, *Inference using Anthropic Messages API*,
                          inference-messages-api.html)
``openai``                whether runtime ``/openai/v1`` accepts it
``released``              when the local catalog says it appeared (profile timestamps)
``regionInferenceTypes``  optional per-region override of ``inferenceTypesSupported``
``runtime``               optional; ``false`` for models served only on mantle
``maxOutputTokens``       optional; the model's output-token limit where it differs from its family's
                          default (``FAMILY_MAX_OUTPUT_TOKENS``); see :func:`max_output_tokens`
``capabilities``          optional; per-model overrides of the family's capabilities, with a ``sources``
                          note (see :mod:`bedrock_magics.local.capabilities`)
``source``                optional; the page the entry's row comes from

A system-defined profile ``{geo}.{modelId}`` can be called from the regions of its geography that
list the model, and routes to those same regions (``models[]``).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .capabilities import Capabilities, capabilities
from .credentials import ACCOUNT_ID
from .http import AwsError, OpenAIError

#: The fields of a wire ``FoundationModelSummary`` (everything else in an entry is local).
WIRE_FIELDS = ("modelArn", "modelId", "modelName", "providerName", "inputModalities", "outputModalities",
               "responseStreamingSupported", "customizationsSupported", "inferenceTypesSupported", "modelLifecycle")

INVALID_MODEL = "The provided model identifier is invalid."

#: Output-token limit of a text family's models, unless the entry names its own ``maxOutputTokens``.
FAMILY_MAX_OUTPUT_TOKENS = {
    "anthropic": 64000, "nova": 10000, "titan-text": 8192, "llama": 2048, "mistral": 8192,
    "mistral-chat": 8192, "cohere-command": 4000, "gpt-oss": 32768, "deepseek-r1": 32768,
}
#: The limit of a family missing above (embedding and image families never read it).
DEFAULT_MAX_OUTPUT_TOKENS = 4096


def max_output_tokens(entry: dict) -> int:
    """The largest ``maxTokens`` (``max_tokens``, ``max_completion_tokens``…) a catalog entry accepts."""
    limit = entry.get("maxOutputTokens")
    if limit is not None:
        return int(limit)
    return FAMILY_MAX_OUTPUT_TOKENS.get(entry.get("family", ""), DEFAULT_MAX_OUTPUT_TOKENS)


def on_demand_message(model_id: str) -> str:
    """Bedrock's message for a profile-only model called by its bare id."""
    return (f"Invocation of model ID {model_id} with on-demand throughput isn't supported. Retry your request "
            "with the ID or ARN of an inference profile that contains this model.")


def foundation_model_arn(region: str, model_id: str) -> str:
    """``arn:aws:bedrock:{region}::foundation-model/{id}`` — foundation-model ARNs have no account."""
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def inference_profile_arn(region: str, profile_id: str) -> str:
    return f"arn:aws:bedrock:{region}:{ACCOUNT_ID}:inference-profile/{profile_id}"


@dataclass(frozen=True)
class Target:
    """What a model identifier in a request resolves to."""

    model: dict  # the catalog entry of the underlying foundation model (read-only)
    kind: str  # foundation-model | inference-profile | application-inference-profile | custom-model | ...
    id: str  # the model id, profile id, or the account resource's id
    arn: str  # the ARN of the target in the request's region


def _join(regions: list[str]) -> str:
    return regions[0] if len(regions) == 1 else ", ".join(regions[:-1]) + " and " + regions[-1]


class Catalog:
    """Read-only view of ``data/catalog.json``."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data
        self.regions: list[str] = list(data["regions"])
        self.mantle_regions: list[str] = [r for r, info in data["regions"].items() if info.get("mantle")]
        self.geographies: dict[str, dict] = data["geographies"]
        self._entries: list[dict] = data["models"]
        self._runtime = {e["modelId"]: e for e in self._entries if e.get("runtime", True)}
        self._mantle = {e["mantleId"]: e for e in self._entries if e.get("mantleId")}
        self._mantle_anthropic = {e["mantleAnthropicId"]: e for e in self._entries if e.get("mantleAnthropicId")}
        self._account = data.get("account", {})
        self._capabilities: dict[str, Capabilities] = {}

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Catalog":
        """The bundled catalog (parsed once per process), or the one at ``path``."""
        return cls(copy.deepcopy(_read(str(path) if path else None)))

    # -- foundation models ---------------------------------------------------------------------

    def capabilities(self, entry: dict) -> Capabilities:
        """What the model of a catalog entry can do (computed once per entry)."""
        caps = self._capabilities.get(entry["modelId"])
        if caps is None:
            caps = self._capabilities[entry["modelId"]] = capabilities(entry)
        return caps

    @property
    def data(self) -> dict[str, Any]:
        """The catalog document itself (``snapshot``, ``regions``, ``geographies``, ``models``, ``account``)."""
        return self._data

    @property
    def models(self) -> list[dict]:
        """Every catalog entry (runtime and mantle-only), in catalog order."""
        return list(self._entries)

    def region_name(self, region: str) -> str:
        """The region's display name (``US East (N. Virginia)``), or its code when the catalog lacks it."""
        return self.data["regions"].get(region, {}).get("name", region)

    def model(self, model_id: str) -> dict | None:
        """The runtime catalog entry for a bare foundation-model id (any region), or None."""
        return self._runtime.get(model_id)

    def entries(self, region: str) -> list[dict]:
        """The runtime catalog entries a region lists, in catalog order."""
        return [e for e in self._runtime.values() if region in e["regions"]]

    def inference_types(self, entry: dict, region: str) -> list[str]:
        """``inferenceTypesSupported`` of a model in one region (some are on-demand only in a few)."""
        return list(entry.get("regionInferenceTypes", {}).get(region, entry["inferenceTypesSupported"]))

    def summary(self, entry: dict, region: str) -> dict:
        """The wire ``FoundationModelSummary`` of an entry in a region."""
        out = {k: copy.deepcopy(entry[k]) for k in WIRE_FIELDS if k in entry}
        out["modelArn"] = foundation_model_arn(region, entry["modelId"])
        out["inferenceTypesSupported"] = self.inference_types(entry, region)
        return {k: out[k] for k in WIRE_FIELDS}

    def foundation_models(self, region: str) -> list[dict]:
        """Wire summaries of every foundation model the region lists (ListFoundationModels)."""
        return [self.summary(e, region) for e in self.entries(region)]

    def foundation_model(self, region: str, identifier: str) -> dict | None:
        """The wire summary for a model id or foundation-model ARN in a region, or None."""
        model_id = identifier
        if identifier.startswith("arn:"):
            parts = identifier.split(":", 5)
            if len(parts) != 6 or parts[3] != region or parts[4] or not parts[5].startswith("foundation-model/"):
                return None
            model_id = parts[5][len("foundation-model/"):]
        entry = self._runtime.get(model_id)
        if entry is None or region not in entry["regions"]:
            return None
        return self.summary(entry, region)

    # -- inference profiles --------------------------------------------------------------------

    def _profile_regions(self, entry: dict, geo: str) -> list[str]:
        return [r for r in self.geographies[geo]["regions"] if r in entry["regions"]]

    def _system_profile(self, region: str, geo: str, entry: dict) -> dict | None:
        if geo not in entry["profiles"] or geo not in self.geographies:
            return None
        destinations = self._profile_regions(entry, geo)
        if region not in destinations:
            return None
        pid = f"{geo}.{entry['modelId']}"
        label, provider, name = self.geographies[geo]["label"], entry["providerName"], entry["modelName"]
        return {
            "inferenceProfileName": f"{label} {provider} {name}",
            "description": f"Routes requests to {provider} {name} in {_join(destinations)} (local Bedrock service).",
            "createdAt": entry["released"],
            "updatedAt": entry["released"],
            "inferenceProfileArn": inference_profile_arn(region, pid),
            "models": [{"modelArn": foundation_model_arn(r, entry["modelId"])} for r in destinations],
            "inferenceProfileId": pid,
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        }

    def _application_profiles(self, region: str) -> list[tuple[dict, dict]]:
        """(wire summary, underlying entry) of the account's application profiles in a region."""
        out = []
        for app in self._account.get("applicationInferenceProfiles", []):
            if app["region"] != region:
                continue
            geo, _, model_id = app["copyFrom"].partition(".")  # a system profile id
            entry = self._runtime[model_id]
            source = self._system_profile(region, geo, entry)
            if source is None:
                continue
            out.append(({
                "inferenceProfileName": app["inferenceProfileName"],
                "description": app["description"],
                "createdAt": app["createdAt"],
                "updatedAt": app["createdAt"],
                "inferenceProfileArn": f"arn:aws:bedrock:{region}:{ACCOUNT_ID}:application-inference-profile/"
                                       f"{app['inferenceProfileId']}",
                "models": source["models"],
                "inferenceProfileId": app["inferenceProfileId"],
                "status": "ACTIVE",
                "type": "APPLICATION",
            }, entry))
        return out

    def inference_profiles(self, region: str) -> list[dict]:
        """Wire summaries of the inference profiles callable from a region (system, then application)."""
        out = []
        for entry in self._runtime.values():
            for geo in entry["profiles"]:
                profile = self._system_profile(region, geo, entry)
                if profile:
                    out.append(profile)
        return out + [p for p, _ in self._application_profiles(region)]

    def inference_profile(self, region: str, identifier: str) -> dict | None:
        """The wire summary of a profile id or ARN callable from a region, or None."""
        return self._profile_and_entry(region, identifier)[0]

    def _profile_and_entry(self, region: str, identifier: str) -> tuple[dict | None, dict | None]:
        if identifier.startswith("arn:"):
            parts = identifier.split(":", 5)
            if len(parts) != 6 or parts[3] != region or parts[4] != ACCOUNT_ID:
                return None, None
            kind, _, pid = parts[5].partition("/")
            if kind == "application-inference-profile":
                for profile, entry in self._application_profiles(region):
                    if profile["inferenceProfileId"] == pid:
                        return profile, entry
                return None, None
            if kind != "inference-profile":
                return None, None
            identifier = pid
        for profile, entry in self._application_profiles(region):
            if profile["inferenceProfileId"] == identifier:  # application profiles go by id too
                return profile, entry
        geo, _, model_id = identifier.partition(".")
        entry = self._runtime.get(model_id)
        if entry is None or geo not in self.geographies:
            return None, None
        return self._system_profile(region, geo, entry), entry

    # -- account-owned models ------------------------------------------------------------------

    def _base_entry(self, resource: dict) -> dict:
        return self._runtime[resource["baseModelId"]]

    def custom_models(self, region: str) -> list[dict]:
        """The account's custom models in a region (GetCustomModel shape, plus summary fields)."""
        out = []
        for cm in self._account.get("customModels", []):
            if _arn_region(cm["modelArn"]) != region:
                continue
            base = self._base_entry(cm)
            item = {k: copy.deepcopy(v) for k, v in cm.items() if k not in ("baseModelId", "description")}
            item.update(baseModelArn=foundation_model_arn(region, base["modelId"]), baseModelName=base["modelName"],
                        ownerAccountId=ACCOUNT_ID)
            out.append(item)
        return out

    def imported_models(self, region: str) -> list[dict]:
        """The account's imported models in a region (GetImportedModel shape)."""
        return [{k: copy.deepcopy(v) for k, v in im.items() if k != "baseModelId"}
                for im in self._account.get("importedModels", []) if _arn_region(im["modelArn"]) == region]

    def provisioned_throughputs(self, region: str) -> list[dict]:
        """The account's provisioned model throughputs in a region (ProvisionedModelSummary shape)."""
        out = []
        for pt in self._account.get("provisionedModelThroughputs", []):
            if _arn_region(pt["provisionedModelArn"]) != region:
                continue
            fm = foundation_model_arn(region, pt["baseModelId"])
            item = {k: copy.deepcopy(v) for k, v in pt.items() if k != "baseModelId"}
            item.update(modelArn=fm, desiredModelArn=fm, foundationModelArn=fm)
            out.append(item)
        return out

    # -- resolve -------------------------------------------------------------------------------

    def resolve(self, region: str, identifier: str) -> Target:
        """What a runtime request's model identifier means in ``region``.

        Accepts a bare model id, a system inference-profile id, or an ARN of a foundation model,
        inference profile, application inference profile, custom model, imported model or
        provisioned model. Raises ``AwsError`` exactly as Bedrock does: ``ValidationException``
        "The provided model identifier is invalid." for anything unknown or not offered in the
        region, and the on-demand message for a profile-only model called by its bare id.
        """
        if identifier.startswith("arn:"):
            return self._resolve_arn(region, identifier)
        entry = self._runtime.get(identifier)
        if entry is not None:
            return self._on_demand(region, entry)
        profile, entry = self._profile_and_entry(region, identifier)
        if profile is None or entry is None:
            raise AwsError("ValidationException", INVALID_MODEL)
        return Target(entry, "inference-profile", profile["inferenceProfileId"], profile["inferenceProfileArn"])

    def _on_demand(self, region: str, entry: dict) -> Target:
        if region not in entry["regions"]:
            raise AwsError("ValidationException", INVALID_MODEL)
        if "ON_DEMAND" not in self.inference_types(entry, region):
            raise AwsError("ValidationException", on_demand_message(entry["modelId"]))
        return Target(entry, "foundation-model", entry["modelId"], foundation_model_arn(region, entry["modelId"]))

    def _resolve_arn(self, region: str, arn: str) -> Target:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "bedrock"] or parts[3] != region:
            raise AwsError("ValidationException", INVALID_MODEL)
        kind, _, rest = parts[5].partition("/")
        if kind == "foundation-model" and not parts[4]:
            entry = self._runtime.get(rest)
            if entry is None:
                raise AwsError("ValidationException", INVALID_MODEL)
            return self._on_demand(region, entry)
        if kind in ("inference-profile", "application-inference-profile"):
            profile, entry = self._profile_and_entry(region, arn)
            if profile is None or entry is None:
                raise AwsError("ValidationException", INVALID_MODEL)
            return Target(entry, kind, profile["inferenceProfileId"], profile["inferenceProfileArn"])
        if parts[4] == ACCOUNT_ID:
            for key, arn_key, target_kind in (("customModels", "modelArn", "custom-model"),
                                              ("importedModels", "modelArn", "imported-model"),
                                              ("provisionedModelThroughputs", "provisionedModelArn",
                                               "provisioned-model")):
                for resource in self._account.get(key, []):
                    if resource[arn_key] == arn and kind == target_kind:
                        return Target(self._base_entry(resource), kind, arn.rsplit("/", 1)[1], arn)
        raise AwsError("ValidationException", INVALID_MODEL)

    # -- mantle --------------------------------------------------------------------------------

    def mantle_models(self, region: str) -> list[dict]:
        """Catalog entries served on bedrock-mantle in a region (their ``mantleId`` is the OpenAI id)."""
        if region not in self.mantle_regions:
            return []
        return [e for e in self._mantle.values() if region in e["regions"]]

    def resolve_mantle(self, region: str, model: str) -> dict:
        """The entry behind a mantle model id; ``OpenAIError`` 404 when the region does not serve it."""
        entry = self._mantle.get(model)
        if entry is None or region not in self.mantle_regions or region not in entry["regions"]:
            raise OpenAIError(404, f"The model `{model}` does not exist or you do not have access to it.",
                              type="invalid_request_error", code="model_not_found", param="model")
        return entry

    def mantle_anthropic_models(self, region: str) -> list[dict]:
        """Catalog entries served on bedrock-mantle's Anthropic Messages API in a region."""
        if region not in self.mantle_regions:
            return []
        return [e for e in self._mantle_anthropic.values() if region in e["regions"]]

    def resolve_mantle_anthropic(self, region: str, model: str) -> dict | None:
        """The entry behind a model id of mantle's Anthropic Messages API, or None when the region does
        not serve it (the caller answers in Anthropic's error shape)."""
        entry = self._mantle_anthropic.get(model)
        if entry is None or region not in self.mantle_regions or region not in entry["regions"]:
            return None
        return entry


def _arn_region(arn: str) -> str:
    return arn.split(":")[3]


@lru_cache(maxsize=4)
def _read(path: str | None) -> dict:
    if path:
        return json.loads(Path(path).read_text("utf-8"))
    return json.loads(resources.files("bedrock_magics.local").joinpath("data/catalog.json").read_text("utf-8"))
