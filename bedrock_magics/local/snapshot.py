"""A real account's model catalog in the local catalog's format (``catalog --from-aws``).

``python -m bedrock_magics.local catalog --from-aws [--regions R …] > snapshot.json`` reads, per region,

* the control plane's ListFoundationModels and ListInferenceProfiles (system-defined, every page),
* bedrock-mantle's ``GET /v1/models`` (at ``AWS_ENDPOINT_URL_BEDROCK_MANTLE`` when set, else
  ``https://bedrock-mantle.{region}.api.aws``; bearer key ``AWS_BEARER_TOKEN_BEDROCK``, else SigV4
  with the signing name ``bedrock-mantle``),

and writes one JSON document in the format of ``data/catalog.json``, which
``python -m bedrock_magics.local --catalog snapshot.json`` then serves: the local service lists what the
account lists. The control-plane endpoints and credentials are boto3's own (``AWS_PROFILE``,
``AWS_ENDPOINT_URL_BEDROCK``, …).

What AWS does not say is filled in, and marked local in the catalog's docstring: the InvokeModel
body ``family``, ``converse``, ``maxOutputTokens`` and ``capabilities`` come from the bundled catalog
for the models it knows, and are guessed from the model id otherwise (:func:`guess_family`). A
mantle id is matched to a runtime model by its id without the version suffix
(``qwen.qwen3-32b`` ↔ ``qwen.qwen3-32b-v1:0``); such a model is taken to answer on the runtime's
``/openai/v1`` too. The account's own resources (custom and imported models, provisioned throughput,
application profiles) are not copied.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import ssl
import urllib.error
import urllib.request
from collections import Counter
from typing import Any, Iterable, Sequence

from .catalog import WIRE_FIELDS, Catalog

#: Regions read when ``--regions`` is not given: those of the bundled catalog.
DEFAULT_REGIONS = tuple(Catalog.load().regions)
#: Local keys carried over from the bundled catalog for a model it knows.
_KNOWN_KEYS = ("family", "maxOutputTokens", "converse", "countTokens", "capabilities", "source")
_VERSION_SUFFIX = re.compile(r"(-v\d+(:\d+)?|-\d+:\d+|:\d+)$")
_TIMEOUT_S = 30


class SnapshotError(Exception):
    """A listing failed; the message is one line naming the call and the cause."""


def guess_family(model_id: str, output_modalities: Iterable[str]) -> str:
    """The InvokeModel body family of a model the bundled catalog does not know, from its id."""
    outputs = set(output_modalities)
    vendor = model_id.split(".", 1)[0]
    if "EMBEDDING" in outputs:
        return "cohere-embed" if vendor == "cohere" else "titan-embed"
    if "IMAGE" in outputs:
        return "image"
    if vendor == "anthropic":
        return "anthropic"
    if model_id.startswith("amazon.nova"):
        return "nova"
    if model_id.startswith("amazon.titan"):
        return "titan-text"
    if vendor == "meta":
        return "llama"
    if vendor == "mistral":
        old = ("mistral.mistral-7b", "mistral.mixtral", "mistral.mistral-large-2402", "mistral.mistral-small-2402")
        return "mistral" if model_id.startswith(old) else "mistral-chat"
    if model_id.startswith("cohere.command"):
        return "cohere-command"
    if model_id.startswith("deepseek.r1"):
        return "deepseek-r1"
    return "gpt-oss"  # the OpenAI Chat Completions body of Bedrock's open-weight models


def mantle_base(region: str) -> str:
    """bedrock-mantle's base URL for a region (without ``/v1``)."""
    return os.environ.get("AWS_ENDPOINT_URL_BEDROCK_MANTLE") or f"https://bedrock-mantle.{region}.api.aws"


def from_aws(regions: Sequence[str] = DEFAULT_REGIONS, session: Any = None, *,
             today: _dt.date | None = None) -> tuple[dict[str, Any], list[str]]:
    """(catalog document, warnings) for ``regions`` of the account behind ``session`` (boto3's default)."""
    import boto3

    session = session or boto3.Session()
    bundled = Catalog.load()
    known = {e["modelId"]: e for e in bundled.models}
    date = (today or _dt.date.today()).isoformat()
    entries: dict[str, dict[str, Any]] = {}
    types: dict[str, dict[str, list[str]]] = {}
    geographies: dict[str, dict[str, Any]] = {}
    region_info: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []

    for region in regions:
        control = session.client("bedrock", region_name=region)
        for summary in _call(control.list_foundation_models, "ListFoundationModels", region)["modelSummaries"]:
            entry = entries.get(summary["modelId"])
            if entry is None:
                entry = entries[summary["modelId"]] = _entry(summary, known.get(summary["modelId"]), date)
            entry["regions"].append(region)
            types.setdefault(summary["modelId"], {})[region] = list(summary.get("inferenceTypesSupported", []))
        for profile in _profiles(control, region):
            geo, _, model_id = profile["inferenceProfileId"].partition(".")
            entry = entries.get(model_id)
            if entry is None:
                continue  # a profile of a model this region does not list
            if geo not in entry["profiles"]:
                entry["profiles"].append(geo)
            stamp = _stamp(profile.get("createdAt"))
            if stamp and stamp < entry["released"]:
                entry["released"] = stamp
            info = geographies.setdefault(geo, {"label": _label(profile, entry, geo), "regions": []})
            if region not in info["regions"]:
                info["regions"].append(region)
        mantle_ids, problem = _mantle_models(session, region)
        region_info[region] = {"name": bundled.region_name(region), "mantle": mantle_ids is not None}
        if problem:
            warnings.append(problem)
        for item in mantle_ids or []:
            _add_mantle(entries, known, item, region, date)

    for model_id, by_region in types.items():
        _set_inference_types(entries[model_id], by_region)
    models = [_ordered(e) for e in entries.values()]
    document = {
        "_comment": f"A snapshot of the Bedrock catalog of one AWS account, written by `python -m bedrock_magics.local "
                    f"catalog --from-aws` on {date}. Serve it with `python -m bedrock_magics.local --catalog FILE`.",
        "snapshot": {"date": date, "note": "Read from the account's control plane and bedrock-mantle; local-only "
                     "keys (family, converse, capabilities, ...) come from the bundled catalog or are guessed.",
                     "sources": {"models": "ListFoundationModels", "profiles": "ListInferenceProfiles(SYSTEM_DEFINED)",
                                 "mantle": "GET /v1/models"}},
        "regions": region_info,
        "geographies": geographies,
        "models": models,
        "account": {},
    }
    return document, warnings


def _call(method: Any, name: str, region: str, **params: Any) -> dict:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return method(**params)
    except ClientError as exc:
        err = exc.response.get("Error", {})
        first = (err.get("Message") or "").strip().splitlines()[:1]  # AWS's signature errors run on for lines
        raise SnapshotError(f"{name} in {region} failed: {err.get('Code', 'error')}: {''.join(first)}") from None
    except BotoCoreError as exc:
        raise SnapshotError(f"{name} in {region} failed: {exc}") from None


def _profiles(control: Any, region: str) -> list[dict]:
    out, token = [], None
    while True:
        params = {"typeEquals": "SYSTEM_DEFINED", **({"nextToken": token} if token else {})}
        page = _call(control.list_inference_profiles, "ListInferenceProfiles", region, **params)
        out += page.get("inferenceProfileSummaries", [])
        token = page.get("nextToken")
        if not token:
            return out


def _entry(summary: dict, known: dict | None, date: str) -> dict[str, Any]:
    entry = {k: summary[k] for k in WIRE_FIELDS if k in summary and k != "modelArn"}
    lifecycle = summary.get("modelLifecycle") or {"status": "ACTIVE"}
    entry["modelLifecycle"] = {k: _stamp(v) if k.endswith("Time") else v for k, v in lifecycle.items()}
    outputs = summary.get("outputModalities", [])
    family = guess_family(summary["modelId"], outputs)
    entry.update(family=family, converse=outputs == ["TEXT"], countTokens=False)
    for key in _KNOWN_KEYS:
        if known and key in known:
            entry[key] = known[key]
    start = entry["modelLifecycle"].get("startOfLifeTime")
    entry.update(regions=[], profiles=[], mantleId=None, openai=summary["modelId"].startswith("openai."),
                 released=start or f"{date}T00:00:00Z")
    return entry


def _add_mantle(entries: dict[str, dict], known: dict[str, dict], item: dict, region: str, date: str) -> None:
    mantle_id = item["id"]
    runtime = next((e for e in entries.values() if e.get("runtime", True)
                    and (e["modelId"] == mantle_id or _VERSION_SUFFIX.sub("", e["modelId"]) == mantle_id)), None)
    if runtime is not None:
        runtime["mantleId"] = mantle_id
        runtime["openai"] = True  # Bedrock's OpenAI-compatible engine serves it on the runtime's /openai/v1 too
        return
    entry = entries.get("mantle:" + mantle_id)
    if entry is None:
        base = next((e for e in known.values() if e.get("mantleId") == mantle_id), None)
        created = item.get("created")
        released = (_dt.datetime.fromtimestamp(created, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                    if isinstance(created, (int, float)) else f"{date}T00:00:00Z")
        entry = entries["mantle:" + mantle_id] = {
            "modelId": mantle_id, "modelName": base["modelName"] if base else mantle_id,
            "providerName": base["providerName"] if base else str(item.get("owned_by") or mantle_id.split(".")[0]),
            "inputModalities": base["inputModalities"] if base else ["TEXT"], "outputModalities": ["TEXT"],
            "responseStreamingSupported": True, "customizationsSupported": [], "inferenceTypesSupported": [],
            "modelLifecycle": {"status": "ACTIVE"},
            "family": base["family"] if base else guess_family(mantle_id, ["TEXT"]),
            "converse": False, "countTokens": False, "regions": [], "profiles": [], "mantleId": mantle_id,
            "openai": False, "released": released, "runtime": False}
        for key in ("maxOutputTokens", "capabilities", "source"):
            if base and key in base:
                entry[key] = base[key]
    entry["regions"].append(region)


def _mantle_models(session: Any, region: str) -> tuple[list[dict] | None, str | None]:
    """(mantle's model objects, None), or (None, a warning) when the region's mantle does not answer."""
    url = mantle_base(region).rstrip("/") + "/v1/models"
    headers = {"Accept": "application/json"}
    token = os.environ.get("AWS_BEARER_TOKEN_BEDROCK")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    else:
        headers.update(_sigv4_headers(session, region, url))
    cafile = os.environ.get("AWS_CA_BUNDLE")
    context = ssl.create_default_context(cafile=cafile) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=_TIMEOUT_S,
                                    context=context) as reply:
            return list(json.load(reply).get("data", [])), None
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None, None  # no mantle in this region
        return None, f"mantle /v1/models in {region} answered {exc.code}; its models are left out"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"mantle /v1/models in {region} did not answer ({reason}); its models are left out"


def _sigv4_headers(session: Any, region: str, url: str) -> dict[str, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = session.get_credentials()
    if credentials is None:
        return {}
    request = AWSRequest(method="GET", url=url, headers={"Accept": "application/json"})
    SigV4Auth(credentials.get_frozen_credentials(), "bedrock-mantle", region).add_auth(request)
    return {k: v for k, v in request.headers.items()}


def _set_inference_types(entry: dict, by_region: dict[str, list[str]]) -> None:
    """The most common ``inferenceTypesSupported``, and per-region overrides where a region differs."""
    common = Counter(tuple(v) for v in by_region.values()).most_common(1)[0][0]
    entry["inferenceTypesSupported"] = list(common)
    other = {r: v for r, v in by_region.items() if tuple(v) != common}
    if other:
        entry["regionInferenceTypes"] = other


def _label(profile: dict, entry: dict, geo: str) -> str:
    """The geography's label as AWS names its profiles (``US Anthropic Claude …`` -> ``US``)."""
    name = profile.get("inferenceProfileName", "")
    suffix = f" {entry['providerName']} {entry['modelName']}"
    if name.endswith(suffix) and name[: -len(suffix)]:
        return name[: -len(suffix)]
    return "Global" if geo == "global" else geo.upper()


def _stamp(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _ordered(entry: dict) -> dict:
    """Keys in the bundled catalog's order, with the mantle-only marker key dropped."""
    order = list(WIRE_FIELDS) + ["family", "maxOutputTokens", "converse", "countTokens", "regions", "profiles",
                                 "mantleId", "openai", "released", "regionInferenceTypes", "runtime", "capabilities",
                                 "source"]
    return {k: entry[k] for k in order if k in entry}


def main(argv: Sequence[str]) -> int:
    """``python -m bedrock_magics.local catalog --from-aws [--regions R …]``: the snapshot on stdout."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m bedrock_magics.local catalog",
        description="Write the Bedrock catalog of your AWS account (ListFoundationModels, ListInferenceProfiles and "
                    "bedrock-mantle's /v1/models per region) as JSON in the local catalog's format; serve it with "
                    "`python -m bedrock_magics.local --catalog FILE`.")
    parser.add_argument("--from-aws", action="store_true", required=True,
                        help="read the account that boto3's default credentials name")
    parser.add_argument("--regions", nargs="+", metavar="R", default=list(DEFAULT_REGIONS),
                        help=f"regions to read (default: {' '.join(DEFAULT_REGIONS)})")
    args = parser.parse_args(argv)
    try:
        document, warnings = from_aws(args.regions)
    except SnapshotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    json.dump(document, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0
