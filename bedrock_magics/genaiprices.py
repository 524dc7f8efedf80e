"""genai-prices, read offline: its bundled snapshot, and a Bedrock id's entry in it (or None).

Only the data inside the installed package is used (see :func:`snapshot`); genai-prices itself is
imported on first use. An entry is accepted only for the same model family and version as the id
asked about: genai-prices matches by substring, so ``amazon.nova-lite-v2`` would otherwise find
``amazon.nova-lite-v1``. :mod:`.prices` turns an entry into a ``Price``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .modelids import GEO_PREFIXES

__all__ = ["find", "rates", "same_model", "snapshot", "source"]

# Parts of an id that do not change which model (and so which price) it names: a release date
# ("-20250929"), a revision (":0"). genai-prices ids omit some of them where Bedrock ids have them.
_DATE_PART = re.compile(r"-\d{8}(?=-|$)")
_REVISION = re.compile(r":\d+$")
# genai-prices prefixes its in-Region/geo entries with "regional." (its global ones with "global.").
_GENAI_PREFIXES = ("regional.", *GEO_PREFIXES, "in.")


@lru_cache(maxsize=1)
def snapshot() -> tuple[Any, Any, str]:
    """``(snapshot, aws provider, source label)`` of the installed genai-prices' bundled data.

    The snapshot is built here from ``genai_prices.data.providers`` rather than taken from
    ``get_snapshot()``, which returns whatever an ``UpdatePrices`` (ours never; another library's
    perhaps) last downloaded: our prices depend on the installed version alone.
    """
    from genai_prices import __version__, data
    from genai_prices.data_snapshot import DataSnapshot

    snapshot = DataSnapshot(providers=data.providers, from_auto_update=False)
    aws = next(p for p in snapshot.providers if p.id == "aws")
    return snapshot, aws, f"genai-prices {__version__}"


def source() -> str:
    """The label of the installed genai-prices data, e.g. ``genai-prices 0.2.5`` (its version pins its
    data, which ships inside the package)."""
    return snapshot()[2]


def _family(ident: str) -> str:
    """``ident`` without what does not change its price: genai-prices' or a profile's prefix, the
    release date and the revision (``regional.anthropic.claude-opus-4-5-v1:0`` and
    ``us.anthropic.claude-opus-4-5-20251101-v1:0`` both give ``anthropic.claude-opus-4-5-v1``)."""
    ident = ident.lower()
    for prefix in _GENAI_PREFIXES:
        if ident.startswith(prefix):
            ident = ident[len(prefix):]
            break
    return _REVISION.sub("", _DATE_PART.sub("", ident))


def same_model(asked: str, found: str) -> bool:
    """Whether genai-prices' entry ``found`` is the model ``asked`` (a version tail may be missing
    on either side: ``openai.gpt-oss-120b`` is ``openai.gpt-oss-120b-1:0``), not a neighbour."""
    a, f = _family(asked), _family(found)
    if a == f:
        return True
    longer, shorter = (a, f) if len(a) > len(f) else (f, a)
    return longer.startswith(shorter) and re.fullmatch(r"-v?\d+", longer[len(shorter):]) is not None


@lru_cache(maxsize=1024)
def find(ident: str) -> Any | None:
    """genai-prices' ``ModelInfo`` for the Bedrock id ``ident`` (as invoked), or None."""
    data, aws, _ = snapshot()
    try:
        _, info = data.find_provider_model(ident.lower(), aws, None, None)
    except LookupError:
        return None
    return info if same_model(ident, info.id) else None


def _per_1k(value: Any) -> float | None:
    """A genai-prices rate (Decimal or tiered) per MTok -> float per 1k; tiers give their base."""
    if value is None:
        return None
    base = getattr(value, "base", value)
    return float(Decimal(base) / 1000)


def rates(info: Any, when: datetime) -> dict[str, Any]:
    """The fields of a ``prices.Price`` from the entry ``info`` at ``when``."""
    prices = info.get_prices(when)
    tiered = any(hasattr(getattr(prices, key), "tiers") for key in ("input_mtok", "output_mtok"))
    start = None
    if isinstance(info.prices, list):  # dated price changes: say since when these rates hold
        for conditional in reversed(info.prices):
            constraint = conditional.constraint
            if constraint is None or constraint.active(when):
                start = getattr(constraint, "start_date", None)
                break
    return {"model": info.id, "input_per_1k": _per_1k(prices.input_mtok) or 0.0,
            "output_per_1k": _per_1k(prices.output_mtok) or 0.0, "source": source(),
            "as_of": start.isoformat() if isinstance(start, date) else None,
            "cache_read_per_1k": _per_1k(prices.cache_read_mtok), "cache_write_per_1k": _per_1k(prices.cache_write_mtok),
            "cache_write_1h_per_1k": _per_1k(prices.cache_write_1h_mtok), "context_window": info.context_window,
            "long_context": tiered}
