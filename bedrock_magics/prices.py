"""Estimated cost of a call, and which price source and date priced it (no network, ever).

Two sources, tried in this order for each model after the user's ``Bedrock.prices`` overrides:

1. **genai-prices** (pydantic's price database, a dependency): input, output, cache-read and
   cache-write (5-minute and 1-hour) rates, long-context tiers, dated price changes and context
   windows for Bedrock's model and inference-profile ids, with AWS's regional premium (in-Region and
   geographic profiles cost about 10 % more than ``global.`` ones for recent Claude and OpenAI
   models). Only the data bundled inside the installed package is read: genai-prices' opt-in
   ``UpdatePrices`` (which downloads its data from GitHub) is never started here, and a snapshot
   another library fetched into the process is ignored, so a price never depends on the network.
   The package is imported on the first price asked for, never by ``%load_ext``.
2. **the bundled table** ``data/prices.json`` (hand-kept, dated): the fallback for models
   genai-prices lacks (Cohere, AI21, Titan Text Premier, ...).

Model identifiers are read first as given (a geographic profile id keeps its prefix, since it may be
priced differently) and then as their base foundation model; an inference-profile or
foundation-model ARN is read as the id it names; an application inference profile's ARN is priced
through ``base_model=`` (the caller takes it from the catalog; nothing here does I/O). A match is
accepted only if it names the same model family and version (genai-prices matches by substring,
so ``amazon.nova-lite-v2`` would otherwise take ``amazon.nova-lite-v1``'s price).

An unknown model costs ``NaN``, never 0 and never a neighbour's price: a silent guess would make a
notebook's spend look other than it is. The same holds for a token kind the source has no rate for
(cache reads on a model without a cache-read rate, 1-hour cache writes without a 1-hour rate) and
for input images on a model without a per-image rate.
Cache writes on a model whose source gives a cache-read rate but no cache-write rate (Amazon Nova)
are billed at the input rate, as AWS and genai-prices do.

Usage conventions (Bedrock Converse's): ``input_tokens`` are the input tokens neither read from
nor written to the cache (Converse ``inputTokens``; an OpenAI-style ``prompt_tokens`` minus its
cached tokens); ``cache_read_tokens`` and ``cache_write_tokens`` come on top;
``cache_write_1h_tokens`` is the part of ``cache_write_tokens`` written with the 1-hour TTL;
``output_tokens`` include any ``reasoning_tokens`` (every Bedrock API counts reasoning as output
and bills it at the output rate), so reasoning tokens never add to the cost again.

Images sent to an embedding model (``input_images``) cost a per-image rate (``input_per_image``, USD)
on top of the text tokens, as AWS bills Titan Multimodal Embeddings G1; only the bundled table has
such rates (sourced in its ``image_note``). Cohere Embed v4's images are input tokens at an
image-token rate of their own, unsourced: NaN unless ``Bedrock.prices`` gives ``input_per_image``.

Tiers: ``tier="batch"`` prices a record of a batch inference job at 50 % of on-demand, as AWS bills
the models that support batch inference; the factor is in ``data/prices.json`` (``"tiers"``).

:func:`quote` is the one entry point of a call's bookkeeping (cost + ``source`` label for the
footer and the ledger, never raising); :func:`cost` / :func:`cost_or_nan` / :func:`lookup` are
the older names, kept. :func:`context_window` and :func:`model_columns` serve the model picker and
``%bedrock models``. :func:`format_usd` (from :mod:`.money`) is the one money formatter of the package.
"""

from __future__ import annotations

import json
import math
import re
import threading
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from numbers import Integral
from typing import TYPE_CHECKING, Any, Mapping

from . import genaiprices
from .errors import Note
from .money import format_usd
from .modelids import arn_kind, base_model_id

if TYPE_CHECKING:  # pragma: no cover - typing only; genai_prices is imported on first use
    import pandas as pd

__all__ = ["IMAGE_KEY", "OVERRIDE_SOURCE", "Price", "PriceWarning", "Quote", "as_of", "check_overrides",
           "context_window", "cost", "cost_or_nan", "format_usd", "lookup", "model_columns", "normalize",
           "quote", "rates_table", "source", "table", "tier_factor"]

#: ``Price.source`` of the user's ``Bedrock.prices`` overrides.
OVERRIDE_SOURCE = "Bedrock.prices"
#: ``Price.source`` of the bundled table (its date is ``Price.as_of``).
TABLE_SOURCE = "bundled table"

# What may follow a mantle id to make the catalog id: "-1:0", "-v1:0", "-v2", ":0".
_VERSION_TAIL = re.compile(r"^(?:-v?\d+(?::\d+)?|:\d+)$")
# Provisioned-throughput variants carry a context suffix: "...-v1:0:200k".
_CONTEXT_SUFFIX = re.compile(r":\d+k$")

# Optional override keys, USD per 1,000 tokens, beside the required input/output ones.
_CACHE_KEYS = ("cache_read_per_1k", "cache_write_per_1k", "cache_write_1h_per_1k")
# Optional override and table key: USD per input image of an embedding call (not per 1,000 tokens).
IMAGE_KEY = "input_per_image"

_warned: set[str] = set()
_warned_lock = threading.Lock()


class PriceWarning(Note):
    """Issued once per model whose price is unknown (its cost is NaN); shown as one line."""


@dataclass(frozen=True)
class Price:
    """USD per 1,000 tokens of one model from one source, with where and when the numbers came from.

    ``source`` is ``"Bedrock.prices"``, ``"bundled table"`` or ``"genai-prices X.Y.Z"``; ``as_of`` the
    date of the rates when the source dates them (the bundled table's date; for genai-prices, the
    day a dated price change took effect). The cache rates are None where the source has none;
    ``long_context`` says the source raises the rates above a prompt-size threshold (the numbers
    here are the base tier, which :func:`quote` goes beyond when a prompt crosses it).
    ``input_per_image`` is USD per input image of an embedding call (None: the source has no
    per-image rate).
    """

    model: str
    input_per_1k: float
    output_per_1k: float
    source: str
    as_of: str | None
    cache_read_per_1k: float | None = None
    cache_write_per_1k: float | None = None
    cache_write_1h_per_1k: float | None = None
    context_window: int | None = None
    long_context: bool = False
    input_per_image: float | None = None

    @property
    def input_per_1m(self) -> float:
        """USD per million input tokens."""
        return _per_1m(self.input_per_1k)

    @property
    def output_per_1m(self) -> float:
        """USD per million output tokens."""
        return _per_1m(self.output_per_1k)

    @property
    def label(self) -> str:
        """Source and date in words, for footers and the ledger: ``bundled table 2025-11-01``,
        ``genai-prices 0.2.5``, ``genai-prices 0.2.5 (rates of 2026-07-30)``, ``Bedrock.prices``."""
        if not self.as_of:
            return self.source
        if self.source == TABLE_SOURCE:
            return f"{self.source} {self.as_of}"
        return f"{self.source} (rates of {self.as_of})"


def _per_1m(per_1k: float | None) -> float:
    """USD per 1,000 tokens -> per million, in decimal (0.00006 gives 0.06, not 0.060000000000000005);
    NaN for None."""
    return math.nan if per_1k is None else float(Decimal(repr(per_1k)) * 1000)


@dataclass(frozen=True)
class Quote:
    """The estimated cost of one call and what priced it.

    ``cost_usd`` is NaN when the price is unknown; then ``source`` is None and ``note`` says why.
    ``source`` (e.g. ``genai-prices 0.2.5 · batch 50%``) is what a footer or ledger shows.
    """

    cost_usd: float
    source: str | None
    price: Price | None = None
    tier: str = "on_demand"
    note: str | None = None

    @property
    def known(self) -> bool:
        """Whether the cost is known (not NaN)."""
        return not math.isnan(self.cost_usd)


# -- the bundled table -------------------------------------------------------------------------------

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


def _named_id(model: str) -> str | None:
    """The id ``model`` names as invoked, geographic prefix kept (``us.amazon.nova-lite-v1:0`` from
    its inference-profile ARN); None for ARNs billed at their own rates or naming no model."""
    ident = (model or "").strip()
    kind = arn_kind(ident)
    if kind is None:
        named = ident
    elif kind in ("foundation-model", "inference-profile"):
        named = ident.split(":", 5)[5].partition("/")[2]
    else:
        return None
    return _CONTEXT_SUFFIX.sub("", named) or None


def _find(model: str, prices: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The entry of ``prices`` for ``model``: exact, as invoked (profile prefix kept), normalised,
    aliased, then a unique versioned match."""
    if model in prices:
        return model, prices[model]
    named = _named_id(model)
    if named and named in prices:
        return named, prices[named]
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


def _per_1k(entry: Mapping[str, Any], key: str) -> float | None:
    value = entry.get(key)
    return None if value is None else float(value)


def _table_price(key: str, entry: Mapping[str, Any], source_name: str, date_: str | None) -> Price:
    return Price(key, float(entry["input_per_1k"]), float(entry["output_per_1k"]), source_name, date_,
                 *(_per_1k(entry, k) for k in _CACHE_KEYS), context_window=entry.get("context_window"),
                 input_per_image=_per_1k(entry, IMAGE_KEY))


# -- genai-prices (imported lazily, bundled data only) -----------------------------------------------

def _genai_candidates(model: str) -> list[str]:
    """The ids to ask genai-prices about for ``model``: as invoked (its geographic prefix may carry
    a premium or a discount), then its base model, then the bundled table's alias of that."""
    named = _named_id(model)
    if not named:
        return []
    base = normalize(named)
    ids = [named, base, _table().get("aliases", {}).get(base)]
    return list(dict.fromkeys(i for i in ids if i))


@lru_cache(maxsize=1024)  # the bundled data never changes in a process: one lookup per model
def _genai_find(model: str) -> Any | None:
    for ident in _genai_candidates(model):
        info = genaiprices.find(ident)
        if info is not None:
            return info
    return None


def _genai_price(info: Any, when: datetime) -> Price:
    return Price(**genaiprices.rates(info, when))


# -- lookups --------------------------------------------------------------------------------------------

def _resolve(model: str, overrides: Mapping[str, Mapping[str, float]] | None, base_model: str | None,
             when: datetime) -> tuple[Price, Any] | None:
    """``(price, genai ModelInfo or None)`` for ``model``: overrides, genai-prices, bundled table;
    then the same for ``base_model``."""
    for ident in (model, base_model):
        if not ident:
            continue
        if overrides:
            found = _find(ident, overrides)
            if found is not None:
                return _table_price(found[0], found[1], OVERRIDE_SOURCE, None), None
        info = _genai_find(ident)
        if info is not None:
            return _genai_price(info, when), info
        table = _table()
        found = _find(ident, table["models"])
        if found is not None:
            return _table_price(found[0], found[1], TABLE_SOURCE, table["as_of"]), None
    return None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def lookup(model: str, overrides: Mapping[str, Mapping[str, float]] | None = None,
           base_model: str | None = None) -> Price | None:
    """The price of ``model`` today: the user's override first, then genai-prices, then the bundled
    table; None when unknown.

    ``base_model`` (the foundation model behind an id that does not name it, e.g. an application
    inference profile's ARN, from ``Catalog.base_model``) is looked up the same way when ``model``
    itself is not found.
    """
    found = _resolve(model, overrides, base_model, _now())
    return found[0] if found else None


def context_window(model: str, base_model: str | None = None) -> int | None:
    """The model's context window in tokens (genai-prices, else the bundled table), None if unknown."""
    try:
        found = _resolve(model, None, base_model, _now())
    except Exception:  # noqa: BLE001 - a picker column is a bonus, never a failure
        return None
    return found[0].context_window if found else None


def model_columns(model: str, overrides: Mapping[str, Mapping[str, float]] | None = None,
                  base_model: str | None = None) -> dict[str, Any]:
    """The price columns of one row of the model picker / ``%bedrock models``:
    ``context_window, input_per_1m_usd, output_per_1m_usd, price_source`` (None / NaN where unknown).
    Never raises."""
    try:
        found = _resolve(model, overrides, base_model, _now())
    except Exception:  # noqa: BLE001 - a broken override must not break the catalog listing
        found = None
    if found is None:
        return {"context_window": None, "input_per_1m_usd": math.nan, "output_per_1m_usd": math.nan,
                "price_source": None}
    price = found[0]
    window = price.context_window if price.context_window is not None else context_window(model, base_model)
    return {"context_window": window, "input_per_1m_usd": price.input_per_1m,
            "output_per_1m_usd": price.output_per_1m, "price_source": price.label}


# -- costs ----------------------------------------------------------------------------------------------

class _UnpricedTokens(LookupError):
    """The source prices the model but not a kind of token the call used."""


def _count(name: str, value: Any) -> int:
    if value is None:
        return 0
    # numpy and pandas counts arrive as np.int64 (Integral) or, beside a missing value, as float.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0, not {value!r}")
    return int(value)


def _check_rates(price: Price, cache_read: int, cache_write: int, cache_write_1h: int, images: int) -> None:
    if images and price.input_per_image is None:
        raise _UnpricedTokens(f"{price.label} has no per-image rate for the input images of {price.model!r} "
                              f"(AWS bills them apart from text tokens; set Bedrock.prices[...]['{IMAGE_KEY}'], "
                              f"USD per image, to price them)")
    how = ("set Bedrock.prices[...] with 'cache_read_per_1k', 'cache_write_per_1k' and 'cache_write_1h_per_1k' "
           "to price it")
    if cache_read and price.cache_read_per_1k is None:
        raise _UnpricedTokens(f"{price.label} has no cache-read rate for {price.model!r} ({how})")
    if cache_write and price.cache_write_per_1k is None and price.cache_read_per_1k is None:
        raise _UnpricedTokens(f"{price.label} has no cache-write rate for {price.model!r} ({how})")
    if cache_write_1h and price.cache_write_1h_per_1k is None:
        raise _UnpricedTokens(f"{price.label} has no 1-hour cache-write rate for {price.model!r} ({how})")


def _on_demand(price: Price, info: Any, when: datetime, input_tokens: int, output_tokens: int,
               cache_read: int, cache_write: int, cache_write_1h: int, reasoning: int) -> float:
    if info is not None and price.long_context:
        from genai_prices import Usage

        # Tiered (long-context) rates: genai-prices bills them. It counts input_tokens as the whole
        # prompt (cache reads and writes included) and reasoning as part of output. Flat rates are
        # billed below from the same rates, without its per-call Usage machinery (~0.2 ms a call).
        usage = Usage(input_tokens=input_tokens + cache_read + cache_write, output_tokens=output_tokens,
                      cache_read_tokens=cache_read, cache_write_tokens=cache_write,
                      cache_write_1h_tokens=cache_write_1h, output_reasoning_tokens=reasoning)
        _, aws, _ = genaiprices.snapshot()
        return float(info.calc_price(usage, aws, genai_request_timestamp=when).total_price)
    write_rate = price.cache_write_per_1k if price.cache_write_per_1k is not None else price.input_per_1k
    total = input_tokens / 1000.0 * price.input_per_1k + output_tokens / 1000.0 * price.output_per_1k
    if cache_read:
        total += cache_read / 1000.0 * price.cache_read_per_1k
    if cache_write - cache_write_1h:
        total += (cache_write - cache_write_1h) / 1000.0 * write_rate
    if cache_write_1h:
        total += cache_write_1h / 1000.0 * price.cache_write_1h_per_1k
    return total


def _price_call(model: str, input_tokens: Any, output_tokens: Any, overrides: Mapping[str, Mapping[str, float]] | None,
                tier: str, base_model: str | None, cache_read_tokens: Any, cache_write_tokens: Any,
                cache_write_1h_tokens: Any, reasoning_tokens: Any, input_images: Any,
                when: datetime | None) -> tuple[float, Price] | None:
    """``(cost, price)`` of one call, None when the model is unknown; raises on bad input or data."""
    factor = tier_factor(tier)  # an unknown tier is a mistake even when the model is unknown
    counts = [_count(name, value) for name, value in (
        ("input_tokens", input_tokens), ("output_tokens", output_tokens), ("cache_read_tokens", cache_read_tokens),
        ("cache_write_tokens", cache_write_tokens), ("cache_write_1h_tokens", cache_write_1h_tokens),
        ("reasoning_tokens", reasoning_tokens), ("input_images", input_images))]
    inp, out, read, write, write_1h, reasoning, images = counts
    if write_1h > write:
        raise ValueError(f"cache_write_1h_tokens ({write_1h}) are part of cache_write_tokens ({write}), "
                         "so they cannot exceed them")
    if reasoning > out:
        raise ValueError(f"reasoning_tokens ({reasoning}) are part of output_tokens ({out}), "
                         "so they cannot exceed them")
    when = when or _now()
    found = _resolve(model, overrides, base_model, when)
    if found is None:
        return None
    price, info = found
    _check_rates(price, read, write, write_1h, images)
    amount = _on_demand(price, info, when, inp, out, read, write, write_1h, reasoning)
    if images:  # AWS bills each input image of an embedding call on top of its text tokens
        amount += images * price.input_per_image
    return amount * factor, price


def _unknown_note(model: str) -> str:
    how = f"set Bedrock.prices[{model!r}] = {{'input_per_1k': ..., 'output_per_1k': ...}} to price it"
    return f"no price known for model {model!r}: its cost_usd is NaN ({how})"


def cost(model: str, input_tokens: int, output_tokens: int,
         overrides: Mapping[str, Mapping[str, float]] | None = None, tier: str = "on_demand",
         base_model: str | None = None, *, cache_read_tokens: int = 0, cache_write_tokens: int = 0,
         cache_write_1h_tokens: int = 0, reasoning_tokens: int = 0, input_images: int = 0,
         when: datetime | None = None) -> float:
    """Estimated USD cost of one call; ``NaN`` (with one :class:`PriceWarning` per model) when unknown.

    ``tier="batch"`` prices one record of a batch inference job: 50 % of the on-demand cost
    (:func:`tier_factor`). ``overrides`` are on-demand prices, scaled the same way. ``base_model``
    prices an id that does not name its model (see :func:`lookup`). The token counts follow the
    module's conventions (``input_tokens`` exclude cache reads and writes; ``output_tokens`` include
    ``reasoning_tokens``; ``input_images`` are billed per image); ``when`` (default now) picks dated
    rates. Raises on bad counts, an unknown tier, a malformed override or a token kind or image
    without a rate; :func:`quote` never raises.
    """
    priced = _price_call(model, input_tokens, output_tokens, overrides, tier, base_model, cache_read_tokens,
                         cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, input_images, when)
    if priced is None:
        _note_once(model, _unknown_note(model), PriceWarning)
        return math.nan
    return priced[0]


def quote(model: str, input_tokens: int, output_tokens: int, *, cache_read_tokens: int = 0,
          cache_write_tokens: int = 0, cache_write_1h_tokens: int = 0, reasoning_tokens: int = 0,
          input_images: int = 0, overrides: Mapping[str, Mapping[str, float]] | None = None,
          tier: str = "on_demand", base_model: str | None = None, when: datetime | None = None) -> Quote:
    """The cost of one call and what priced it; never raises (the bookkeeping of a call that
    succeeded must not fail it).

    ``Quote.source`` names the source and date (``genai-prices 0.2.5``, ``bundled table 2025-11-01``,
    ``Bedrock.prices``; `` · batch 50%`` is added for the batch tier). An unknown model, a token
    kind without a rate, or any pricing failure gives ``cost_usd=NaN``, ``source=None``, a ``note``
    and one :class:`PriceWarning` line per model and cause. See the module docstring for what the
    token counts mean. ``input_images`` (sent to an embedding model) cost the source's per-image
    rate each, on top of the text tokens; where the source has none, the call costs NaN rather than
    the price of its text alone.
    """
    try:
        priced = _price_call(model, input_tokens, output_tokens, overrides, tier, base_model, cache_read_tokens,
                             cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, input_images, when)
    except _UnpricedTokens as exc:
        note = f"{exc}: the cost_usd of {model!r} is NaN"
        _note_once(f"{model}\0{exc}", note, PriceWarning)
        return Quote(math.nan, None, tier=tier, note=note)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        cause = f"{type(exc).__name__}: {exc}"
        note = f"pricing {model!r} failed ({cause}): its cost_usd is NaN; check Bedrock.prices"
        _note_once(f"{model}\0{cause}", note, PriceWarning)
        return Quote(math.nan, None, tier=tier, note=note)
    if priced is None:
        note = _unknown_note(model)
        _note_once(model, note, PriceWarning)
        return Quote(math.nan, None, tier=tier, note=note)
    amount, price = priced
    label = price.label if tier == "on_demand" else f"{price.label} · {tier} {tier_factor(tier):.0%}"
    return Quote(amount, label, price, tier)


def cost_or_nan(model: str, input_tokens: int, output_tokens: int,
                overrides: Mapping[str, Mapping[str, float]] | None = None, tier: str = "on_demand",
                base_model: str | None = None, **usage: Any) -> float:
    """:func:`cost` that never raises: :func:`quote`'s ``cost_usd``.

    A broken price table, a malformed ``Bedrock.prices`` entry (``bm.prices[m] = {...}`` edits the
    dict in place, past its validation) or any other pricing failure gives ``NaN`` and one
    :class:`PriceWarning` line per model and cause. ``usage`` takes :func:`quote`'s keyword counts.
    """
    return quote(model, input_tokens, output_tokens, overrides=overrides, tier=tier, base_model=base_model,
                 **usage).cost_usd


def _note_once(key: str, message: str, category: type[Warning]) -> None:
    """One note per ``key`` per process: a notebook hears about a model once, not once per row."""
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(message, category, stacklevel=3)


def check_overrides(value: Any) -> dict[str, dict[str, float]]:
    """Validate a ``Bedrock.prices`` value; returns it normalised, raises ValueError with one line.

    Each entry needs ``input_per_1k`` and ``output_per_1k`` (USD per 1,000 tokens, on-demand) and may
    add ``cache_read_per_1k``, ``cache_write_per_1k``, ``cache_write_1h_per_1k`` and ``input_per_image``
    (USD per input image of an embedding call).
    """
    if not isinstance(value, Mapping):
        raise ValueError("Bedrock.prices must be a dict: model id -> {'input_per_1k': USD, 'output_per_1k': USD}")
    clean: dict[str, dict[str, float]] = {}
    for model, entry in value.items():
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"Bedrock.prices keys must be model ids (non-empty strings), not {model!r}")
        if not isinstance(entry, Mapping) or not {"input_per_1k", "output_per_1k"} <= set(entry):
            raise ValueError(f"Bedrock.prices[{model!r}] must be a dict with 'input_per_1k' and 'output_per_1k' "
                             f"(USD per 1,000 tokens), not {entry!r}")
        unknown = set(entry) - {"input_per_1k", "output_per_1k", *_CACHE_KEYS, IMAGE_KEY}
        if unknown:
            raise ValueError(f"Bedrock.prices[{model!r}] has unknown key(s) {', '.join(map(repr, sorted(unknown)))}; "
                             f"known: 'input_per_1k', 'output_per_1k', {', '.join(map(repr, _CACHE_KEYS))}, "
                             f"{IMAGE_KEY!r}")
        numbers = {}
        for key in entry:
            number = entry[key]
            if isinstance(number, bool) or not isinstance(number, (int, float)) or math.isnan(number) or number < 0:
                unit = "USD per image" if key == IMAGE_KEY else "USD per 1,000 tokens"
                raise ValueError(f"Bedrock.prices[{model!r}][{key!r}] must be a number >= 0 ({unit}), "
                                 f"not {number!r}")
            numbers[key] = float(number)
        clean[model] = numbers
    return clean


def table() -> "pd.DataFrame":
    """The bundled prices as a DataFrame: ``model, name, input_per_1k, output_per_1k, as_of, source``."""
    import pandas as pd

    data = _table()
    rows = [{"model": model, "name": entry.get("name"), "input_per_1k": entry["input_per_1k"],
             "output_per_1k": entry["output_per_1k"], "as_of": data["as_of"], "source": data["source"]}
            for model, entry in data["models"].items()]
    return pd.DataFrame(rows)


def rates_table() -> "pd.DataFrame":
    """Every Bedrock model either source prices, one row per source entry: ``model, name, source,
    context_window, input_per_1m_usd, output_per_1m_usd, cache_read_per_1m_usd,
    cache_write_per_1m_usd, cache_write_1h_per_1m_usd, input_per_image_usd, long_context`` (today's
    rates; NaN where the source has no rate). genai-prices' ids are its own (``regional.`` /
    ``global.`` entries)."""
    import pandas as pd

    _, aws, _ = genaiprices.snapshot()
    now = _now()
    table_data = _table()
    prices = [(info.name, _genai_price(info, now)) for info in aws.models]
    prices += [(entry.get("name"), _table_price(key, entry, TABLE_SOURCE, table_data["as_of"]))
               for key, entry in table_data["models"].items()]
    rows = [{"model": p.model, "name": name, "source": p.label, "context_window": p.context_window,
             "input_per_1m_usd": p.input_per_1m, "output_per_1m_usd": p.output_per_1m,
             "cache_read_per_1m_usd": _per_1m(p.cache_read_per_1k),
             "cache_write_per_1m_usd": _per_1m(p.cache_write_per_1k),
             "cache_write_1h_per_1m_usd": _per_1m(p.cache_write_1h_per_1k),
             "input_per_image_usd": math.nan if p.input_per_image is None else p.input_per_image,
             "long_context": p.long_context}
            for name, p in prices]
    frame = pd.DataFrame(rows)
    frame["context_window"] = frame["context_window"].astype("Int64")
    return frame



def genai_prices_source() -> str:
    """The label of the installed genai-prices data, e.g. ``genai-prices 0.2.5``."""
    return genaiprices.source()
