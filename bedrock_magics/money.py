"""Money for people: :func:`format_usd`, the package's one formatter of US dollar amounts (costs of
calls are fractions of a cent, which a fixed number of decimals would round away). Imports nothing
heavy, so footers and progress lines may use it from anywhere."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_usd"]


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
