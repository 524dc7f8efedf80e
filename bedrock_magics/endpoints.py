"""Where each Bedrock surface lives: ``(region, surface) -> base URL``.

Bedrock has three surfaces (``control``, ``runtime``, ``mantle``; see bedrock-protocols.md §0/§1.1).
The base URL of one of them in one region is, in order of precedence:

1. an explicit override passed in by the caller (the local service's ``svc.endpoints``);
2. the service-specific environment variable ``AWS_ENDPOINT_URL_BEDROCK`` (control plane),
   ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` (runtime) or this project's ``AWS_ENDPOINT_URL_BEDROCK_MANTLE``
   (mantle), then the global ``AWS_ENDPOINT_URL`` for the two surfaces boto3 serves
   (boto3 honours those itself, and ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` turns them off);
3. the real host: ``https://bedrock.{r}.amazonaws.com``, ``https://bedrock-runtime.{r}.amazonaws.com``,
   ``https://bedrock-mantle.{r}.api.aws`` (other DNS suffixes in the GovCloud/ISO/EU-sovereign
   partitions).

For boto3 clients only an explicit override is passed as ``endpoint_url``: when the URL came from
the environment boto3 already applies it, and passing it again would hide where it came from.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

SURFACES = ("control", "runtime", "mantle")

#: The environment variable that moves each surface (boto3 reads the first two itself).
ENV_VARS = {
    "control": "AWS_ENDPOINT_URL_BEDROCK",
    "runtime": "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "mantle": "AWS_ENDPOINT_URL_BEDROCK_MANTLE",
}
_GLOBAL_ENV = "AWS_ENDPOINT_URL"
_IGNORE_ENV = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"

#: Regions where mantle (the OpenAI-compatible ``bedrock-mantle`` endpoint) is offered, per AWS's
#: "Supported Regions and Endpoints" table (bedrock-protocols.md §1.1; ap-southeast-2 is listed by
#: one version of that page).
MANTLE_REGIONS: tuple[str, ...] = (
    "us-east-1", "us-east-2", "us-west-2", "ap-northeast-1", "ap-south-1", "ap-southeast-2",
    "ap-southeast-3", "eu-central-1", "eu-west-1", "eu-west-2", "eu-south-1", "eu-north-1", "sa-east-1",
)

# Used only if botocore's endpoints.json cannot be read (it always can in a normal install).
_FALLBACK_REGIONS: tuple[str, ...] = (
    "af-south-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
    "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1",
    "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1",
    "us-west-2", "us-gov-east-1", "us-gov-west-1", "eusc-de-east-1",
)

_REGION_RE = re.compile(r"^(?!.*fips)[a-z]{2,4}(?:-[a-z]+){1,2}-\d+$")


class UnknownRegionError(ValueError):
    """A region where Bedrock (or the chosen surface) does not run; the message is one line."""


@lru_cache(maxsize=1)
def _regions() -> tuple[str, ...]:
    # botocore's endpoints.json is the maintained list of where the "bedrock" service runs; its
    # keys also hold pseudo-regions like "bedrock-fips-us-east-1", which the pattern drops.
    try:
        from botocore.loaders import create_loader

        data = create_loader().load_data("endpoints")
        found = {
            region
            for partition in data["partitions"]
            # The isolated (classified) partitions are not reachable by ordinary accounts.
            if not partition["partition"].startswith("aws-iso")
            for region in partition["services"].get("bedrock", {}).get("endpoints", {})
            if _REGION_RE.match(region)
        }
    except Exception:  # a broken botocore install still gets a usable list
        found = set()
    return tuple(sorted(found or _FALLBACK_REGIONS))


def regions(surface: str = "runtime") -> tuple[str, ...]:
    """The regions where ``surface`` runs (control and runtime share one list)."""
    _check_surface(surface)
    return MANTLE_REGIONS if surface == "mantle" else _regions()


def check_region(region: str, surface: str = "runtime") -> str:
    """Return ``region`` if ``surface`` runs there, else raise ``UnknownRegionError`` (did you mean …?)."""
    _check_surface(surface)
    known = regions(surface)
    if region in known:
        return region
    if surface == "mantle" and region in _regions():
        raise UnknownRegionError(
            f"The mantle endpoint is not offered in {region}; it runs in {', '.join(MANTLE_REGIONS)} "
            f"(use --endpoint runtime in {region})."
        )
    close = close_regions(region or "", known)
    hint = f" Did you mean {' or '.join(close)}?" if close else f" {_some_regions(region or '', known, surface)}."
    raise UnknownRegionError(f"Bedrock does not run in region {region!r}.{hint}")


#: Regions named when a mistyped region is like none of them (the busiest Bedrock regions).
_WELL_KNOWN_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-central-1", "eu-west-1", "eu-west-3",
                       "ap-northeast-1", "ap-southeast-2")
_REGIONS_SHOWN = 8


def _some_regions(region: str, known: tuple[str, ...], surface: str) -> str:
    """A few regions worth naming (those of the same area first), never the whole list of 40."""
    if len(known) <= _REGIONS_SHOWN:
        return f"Known regions: {', '.join(known)}"
    prefix = region.split("-", 1)[0] + "-"
    same = sorted((r for r in known if r.startswith(prefix)), key=lambda r: r not in _WELL_KNOWN_REGIONS)
    docs = "the AWS docs list them all under Bedrock 'Supported Regions'"
    if same:
        count = f" ({_REGIONS_SHOWN} of {len(same)}; {len(known)} regions in all: {docs})" \
            if len(same) > _REGIONS_SHOWN else ""
        return f"{prefix} regions: {', '.join(same[:_REGIONS_SHOWN])}{count}"
    shown = [r for r in _WELL_KNOWN_REGIONS if r in known] or list(known[:_REGIONS_SHOWN])
    what = "The mantle endpoint runs" if surface == "mantle" else "It runs"
    return f"{what} in {len(known)} regions, e.g. {', '.join(shown)} ({docs})"


def close_regions(region: str, known: tuple[str, ...], n: int = 3) -> list[str]:
    """Known regions that ``region`` is probably a typo of, best first.

    Swapped letters (``us-esat-1``) are the commonest typo, so candidates made of the same letters
    come before those that are merely similar (``difflib``'s ratio breaks the ties).
    """
    scored = []
    for candidate in known:
        ratio = difflib.SequenceMatcher(None, region, candidate).ratio()
        if ratio >= 0.6:
            scored.append((sorted(candidate) == sorted(region), ratio, candidate))
    return [c for _, _, c in sorted(scored, reverse=True)[:n]]


def dns_suffix(region: str) -> str:
    """The DNS suffix of ``region``'s partition (``amazonaws.com`` for the commercial one)."""
    for prefix, suffix in (("cn-", "amazonaws.com.cn"), ("eusc-", "amazonaws.eu"), ("us-isob-", "sc2s.sgov.gov"),
                           ("us-isof-", "csp.hci.ic.gov"), ("eu-isoe-", "cloud.adc-e.uk"), ("us-iso-", "c2s.ic.gov")):
        if region.startswith(prefix):
            return suffix
    return "amazonaws.com"


def default_url(region: str, surface: str) -> str:
    """The real AWS base URL of ``surface`` in ``region``."""
    _check_surface(surface)
    if surface == "mantle":
        return f"https://bedrock-mantle.{region}.api.aws"
    host = "bedrock" if surface == "control" else "bedrock-runtime"
    return f"https://{host}.{region}.{dns_suffix(region)}"


@dataclass(frozen=True)
class Endpoint:
    """A resolved base URL and where it came from.

    ``source`` is ``"override"`` (passed in, e.g. the local service), the name of the environment
    variable that set it, or ``"default"`` (the real AWS host).
    """

    surface: str
    region: str
    url: str
    source: str

    @property
    def boto3_endpoint_url(self) -> str | None:
        """What to pass as boto3's ``endpoint_url``: only explicit overrides (boto3 reads the env itself)."""
        return self.url if self.source == "override" else None

    @property
    def is_local(self) -> bool:
        """True when the URL points at this machine (the local service or a test server)."""
        host = re.sub(r"^\w+://", "", self.url).split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
        return host in ("127.0.0.1", "localhost", "::1")


def resolve(region: str, surface: str, overrides: Mapping[str, str] | None = None,
            environ: Mapping[str, str] | None = None) -> Endpoint:
    """The base URL of ``surface`` in ``region`` with its source (see the module docstring for precedence)."""
    _check_surface(surface)
    if overrides and overrides.get(surface):
        return Endpoint(surface, region, overrides[surface].rstrip("/"), "override")
    env = os.environ if environ is None else environ
    if (env.get(_IGNORE_ENV) or "").strip().lower() != "true":
        names = [ENV_VARS[surface]] + ([_GLOBAL_ENV] if surface != "mantle" else [])
        for name in names:
            value = (env.get(name) or "").strip()
            if value:
                return Endpoint(surface, region, value.rstrip("/"), name)
    return Endpoint(surface, region, default_url(region, surface), "default")


def check_for(region: str, surface: str, overrides: Mapping[str, str] | None = None) -> Endpoint:
    """Resolve ``surface`` in ``region`` and, when it is the real AWS host, check that the surface
    runs there (``UnknownRegionError``, one line). An override or an environment variable serves
    whatever it serves, so it is never checked. Returns the resolved :class:`Endpoint`."""
    endpoint = resolve(region, surface, overrides)
    if endpoint.source == "default":
        check_region(region, surface)
    return endpoint


def base_url(region: str, surface: str, overrides: Mapping[str, str] | None = None) -> str:
    """The base URL of ``surface`` in ``region`` (no trailing slash)."""
    return resolve(region, surface, overrides).url


def openai_base_url(region: str, surface: str, overrides: Mapping[str, str] | None = None,
                    prefix: str | None = None) -> str:
    """The OpenAI-compatible base URL: ``{runtime}/openai/v1``, or on mantle ``{mantle}`` plus
    ``prefix`` (a model's :func:`mantle_prefix`; ``/v1`` by default)."""
    if surface not in ("runtime", "mantle"):
        raise ValueError(f"the OpenAI-compatible APIs live on runtime and mantle, not {surface!r}")
    if prefix is not None and prefix not in MANTLE_PREFIXES:
        raise ValueError(f"mantle's path prefixes are {', '.join(MANTLE_PREFIXES)}, not {prefix!r}")
    root = base_url(region, surface, overrides)
    return f"{root}/openai/v1" if surface == "runtime" else root + (prefix or "/v1")


#: Mantle serves most models under ``/v1`` and some (GPT-5.x, Responses only) under ``/openai/v1``.
MANTLE_PREFIXES = ("/v1", "/openai/v1")


@lru_cache(maxsize=1)
def _mantle_prefixes() -> dict[str, str]:
    # The capabilities table is plain data shipped with the local service's catalog (a dated
    # snapshot of Bedrock's models): read as a file, never by importing the local service.
    import json
    from importlib import resources

    try:
        text = resources.files("bedrock_magics").joinpath("local/data/capabilities.json").read_text("utf-8")
        models = json.loads(text).get("models") or {}
    except (OSError, ValueError):  # a broken install: every model under /v1, as mantle mostly is
        return {}
    return {model: entry["mantlePrefix"] for model, entry in models.items()
            if isinstance(entry, dict) and entry.get("mantlePrefix") in MANTLE_PREFIXES}


def mantle_prefix(model: str) -> str:
    """The mantle path prefix that serves ``model``: ``/openai/v1`` (GPT-5.x) or ``/v1`` (the rest,
    and models the table does not know)."""
    prefixes = _mantle_prefixes()
    name = (model or "").split("/")[-1]
    return prefixes.get(name) or prefixes.get(re.sub(r"-\d+:\d+$", "", name)) or "/v1"


def _check_surface(surface: str) -> None:
    if surface not in SURFACES:
        raise ValueError(f"unknown Bedrock surface {surface!r}; expected one of {', '.join(SURFACES)}")
