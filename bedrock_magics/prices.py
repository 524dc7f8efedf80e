"""Estimated cost of a call, from a bundled, dated price table (``data/prices.json``).

The table lists on-demand list prices per 1,000 tokens for the catalog's main models, with the date
they were taken (``as_of``) and where from (``source``). Model identifiers are normalised before the
lookup, so that an inference-profile id (``us.amazon.nova-lite-v1:0``), a foundation-model or
inference-profile ARN, or a mantle id (``openai.gpt-oss-120b``) all find their base model's price.

An unknown model costs ``NaN``, never 0: a silent zero would make a notebook's spend look smaller
than it is. ``Bedrock.prices`` (a dict ``model -> {"input_per_1k", "output_per_1k"}``, on-demand
prices too) overrides or extends the table. Nothing is fetched from the network.

Tiers: ``cost(..., tier="batch")`` prices a record of a Bedrock batch inference job, which AWS
bills at 50 % of the on-demand price for the models that support batch inference. The factor of
each tier is in ``data/prices.json`` (``"tiers"``), next to the prices it scales;
:func:`tier_factor` reads it.

An identifier that does not name its model (an application inference profile's ARN) is priced
through ``base_model=``, which the caller takes from the catalog (``Catalog.base_model``); nothing
here does I/O. An unknown price is reported once per model as a :class:`PriceWarning`, a
one-line note (see :class:`~bedrock_magics.errors.Note`), never once per call.

:func:`format_usd` is the one money formatter of the package: summaries, footers and progress
bars all show amounts through it, so a cost never reads ``$0.0000`` in one place and
``$0.000013`` in another.
"""

from __future__ import annotations

import json
import math
import re
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

from .errors import Note
from .modelids import arn_kind, base_model_id

__all__ = ["Price", "PriceWarning", "as_of", "check_overrides", "cost", "cost_or_nan", "format_usd", "lookup",
           "normalize", "source", "table", "tier_factor"]

# What may follow a mantle id to make the catalog id: "-1:0", "-v1:0", "-v2", ":0".
_VERSION_TAIL = re.compile(r"^(?:-v?\d+(?::\d+)?|:\d+)$")
# Provisioned-throughput variants carry a context suffix: "...-v1:0:200k".
_CONTEXT_SUFFIX = re.compile(r":\d+k$")

_warned: set[str] = set()
_warned_lock = threading.Lock()


class PriceWarning(Note):
    """Issued once per model whose price is unknown (its cost is NaN); shown as one line."""


@dataclass(frozen=True)
class Price:
    """USD per 1,000 input and output tokens for one model, with where the numbers came from."""

    model: str
    input_per_1k: float
    output_per_1k: float
    source: str
    as_of: str | None


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    # Read once per process, on first use: importing this module costs nothing.
    text = resources.files("bedrock_magics").joinpath("data/prices.json").read_text(encoding="utf-8")
    return json.loads(text)


def tier_factor(tier: str) -> float:
    """The multiplier of on-demand prices for ``tier``: 1.0 for ``"on_demand"``, 0.5 for ``"batch"``
    (batch inference costs half of on-demand). Raises ValueError for an unknown tier."""
    tiers = _table()["tiers"]
    if tier not in tiers:
        raise ValueError(f"unknown price tier {tier!r}; choose from {', '.join(tiers)}")
    return float(tiers[tier]["factor"])


def as_of() -> str:
    """The date (ISO) of the bundled prices."""
    return _table()["as_of"]


def source() -> str:
    """Where the bundled prices come from, in words."""
    return _table()["source"]


def normalize(model: str) -> str:
    """The base foundation-model id behind a model id, profile id or ARN.

    >>> normalize("arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.amazon.nova-lite-v1:0")
    'amazon.nova-lite-v1:0'
    """
    ident = (model or "").strip()
    # Only ids billed per token as their base model map to it. Any other ARN keeps its own id, so no
    # price matches it: an application profile is priced through the caller's ``base_model`` (from
    # the catalog), and custom, imported and provisioned models are billed at their own rates.
    if arn_kind(ident) not in (None, "foundation-model", "inference-profile"):
        return ident
    return _CONTEXT_SUFFIX.sub("", base_model_id(ident) or ident)


def _find(model: str, prices: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The entry of ``prices`` for ``model``: exact, then normalised, then a unique versioned match."""
    if model in prices:
        return model, prices[model]
    base = normalize(model)
    if base in prices:
        return base, prices[base]
    aliases = _table().get("aliases", {})
    if aliases.get(base) in prices:
        return aliases[base], prices[aliases[base]]
    # A mantle id is the catalog id without its version tail ("openai.gpt-oss-120b" -> "...-1:0").
    hits = [key for key in prices if key.startswith(base) and _VERSION_TAIL.match(key[len(base):])]
    if len(hits) == 1:
        return hits[0], prices[hits[0]]
    return None


def lookup(model: str, overrides: Mapping[str, Mapping[str, float]] | None = None,
           base_model: str | None = None) -> Price | None:
    """The price of ``model``: the user's override first, then the bundled table; None when unknown.

    ``base_model`` (the foundation model behind an id that does not name it, e.g. an application
    inference profile's ARN, from ``Catalog.base_model``) is looked up the same way when ``model``
    itself is not found.
    """
    for ident in (model, base_model):
        if not ident:
            continue
        if overrides:
            found = _find(ident, overrides)
            if found is not None:
                key, entry = found
                return Price(key, float(entry["input_per_1k"]), float(entry["output_per_1k"]), "Bedrock.prices",
                             None)
        table = _table()
        found = _find(ident, table["models"])
        if found is not None:
            key, entry = found
            return Price(key, float(entry["input_per_1k"]), float(entry["output_per_1k"]), table["source"],
                         table["as_of"])
    return None


def cost(model: str, input_tokens: int, output_tokens: int,
         overrides: Mapping[str, Mapping[str, float]] | None = None, tier: str = "on_demand",
         base_model: str | None = None) -> float:
    """Estimated USD cost of one call; ``NaN`` (with one :class:`PriceWarning` per model) when unknown.

    ``tier="batch"`` prices one record of a batch inference job: 50 % of the on-demand cost
    (:func:`tier_factor`). ``overrides`` are on-demand prices, scaled the same way. ``base_model``
    prices an id that does not name its model (see :func:`lookup`).
    """
    factor = tier_factor(tier)  # an unknown tier is a mistake even when the model is unknown
    price = lookup(model, overrides, base_model)
    if price is None:
        how = f"set Bedrock.prices[{model!r}] = {{'input_per_1k': ..., 'output_per_1k': ...}} to price it"
        _note_once(model, f"no price known for model {model!r}: its cost_usd is NaN ({how})", PriceWarning)
        return math.nan
    on_demand = (input_tokens or 0) / 1000.0 * price.input_per_1k + (output_tokens or 0) / 1000.0 * price.output_per_1k
    return on_demand * factor


def cost_or_nan(model: str, input_tokens: int, output_tokens: int,
                overrides: Mapping[str, Mapping[str, float]] | None = None, tier: str = "on_demand",
                base_model: str | None = None) -> float:
    """:func:`cost` that never raises: the bookkeeping of a call that succeeded must not fail it.

    A broken price table, a malformed ``Bedrock.prices`` entry (``bm.prices[m] = {...}`` edits the
    dict in place, past its validation) or any other pricing failure gives ``NaN`` and one
    :class:`PriceWarning` line per model and cause.
    """
    try:
        return cost(model, input_tokens, output_tokens, overrides, tier, base_model)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        cause = f"{type(exc).__name__}: {exc}"
        _note_once(f"{model}\0{cause}", f"pricing {model!r} failed ({cause}): its cost_usd is NaN; "
                                         "check Bedrock.prices", PriceWarning)
        return math.nan


def _note_once(key: str, message: str, category: type[Warning]) -> None:
    """One note per ``key`` per process: a notebook hears about a model once, not once per row."""
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(message, category, stacklevel=3)


def format_usd(value: Any, unknown: str = "n/a") -> str:
    """An amount of US dollars for people: ``$0`` · ``$0.000013`` · ``$0.0123`` · ``$0.5`` · ``$1,234.57``.

    Amounts under a dollar keep three significant digits (Bedrock calls cost fractions of a cent,
    which a fixed ``.4f`` would round to ``$0.0000``); a dollar or more has cents. ``None`` and NaN
    give ``unknown``. This is the package's one money formatter: use it wherever a cost is shown.

    >>> format_usd(0.0000131), format_usd(0.01234), format_usd(1234.567), format_usd(float("nan"))
    ('$0.0000131', '$0.0123', '$1,234.57', 'n/a')
    """
    if value is None or isinstance(value, bool):
        return unknown
    try:
        number = float(value)
    except (TypeError, ValueError):
        return unknown
    if math.isnan(number) or math.isinf(number):
        return unknown
    sign, number = ("-" if number < 0 else ""), abs(number)
    if number == 0:
        return "$0"
    # Three significant digits: 2 + the number of zeros after the point.
    decimals = 2 - math.floor(math.log10(number))
    if number >= 1 or round(number, decimals) >= 1:  # 0.9996 rounds up to a dollar: show cents
        return f"{sign}${number:,.2f}"
    text = f"{number:.{decimals}f}".rstrip("0").rstrip(".")
    return f"{sign}${text}"


def check_overrides(value: Any) -> dict[str, dict[str, float]]:
    """Validate a ``Bedrock.prices`` value; returns it normalised, raises ValueError with one line."""
    if not isinstance(value, Mapping):
        raise ValueError("Bedrock.prices must be a dict: model id -> {'input_per_1k': USD, 'output_per_1k': USD}")
    clean: dict[str, dict[str, float]] = {}
    for model, entry in value.items():
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"Bedrock.prices keys must be model ids (non-empty strings), not {model!r}")
        if not isinstance(entry, Mapping) or not {"input_per_1k", "output_per_1k"} <= set(entry):
            raise ValueError(f"Bedrock.prices[{model!r}] must be a dict with 'input_per_1k' and 'output_per_1k' "
                             f"(USD per 1,000 tokens), not {entry!r}")
        numbers = {}
        for key in ("input_per_1k", "output_per_1k"):
            number = entry[key]
            if isinstance(number, bool) or not isinstance(number, (int, float)) or math.isnan(number) or number < 0:
                raise ValueError(f"Bedrock.prices[{model!r}][{key!r}] must be a number >= 0 (USD per 1,000 tokens), "
                                 f"not {number!r}")
            numbers[key] = float(number)
        clean[model] = numbers
    return clean


def table():
    """The bundled prices as a DataFrame: ``model, name, input_per_1k, output_per_1k, as_of, source``."""
    import pandas as pd

    data = _table()
    rows = [{"model": model, "name": entry.get("name"), "input_per_1k": entry["input_per_1k"],
             "output_per_1k": entry["output_per_1k"], "as_of": data["as_of"], "source": data["source"]}
            for model, entry in data["models"].items()]
    return pd.DataFrame(rows)
