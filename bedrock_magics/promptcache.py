"""What ``--prompt-cache`` caches and saves: the size of the prefix before the new prompt, and the
saving over a run (for ``--dry-run``). Rates are the price's cache-read and cache-write rates
(``prices.Price``); nothing here does I/O."""

from __future__ import annotations

import json
from typing import Any

from .request import Request, block_chars

__all__ = ["cache_saving", "cached_prefix_tokens"]


def cached_prefix_tokens(request: Request) -> int:
    """About how many tokens precede the new prompt (system, tools, history, documents): 4 characters
    per token, the rule of thumb of AWS's and Anthropic's docs."""
    chars = len(request.system or "") + sum(len(json.dumps(t.parameters)) + len(t.description) for t in request.tools)
    for message in request.messages:
        for block in message["content"]:
            chars += block_chars(block)
    chars -= len(request.prompt)
    return max(0, chars // 4)


def cache_saving(request: Request, calls: int, price: Any) -> tuple[int, float] | None:
    """``(cached tokens per call, USD saved)`` by ``--prompt-cache`` over ``calls`` calls of
    ``request`` at ``price`` (a ``prices.Price``): the first call writes the prefix at the
    cache-write rate, the others read it at the cache-read rate, instead of all paying the input
    rate. None when the request has no cache point or the price has no cache rates."""
    if not request.prompt_cache or calls <= 0 or price is None or price.cache_read_per_1k is None:
        return None
    tokens = cached_prefix_tokens(request)
    write = price.cache_write_per_1k if price.cache_write_per_1k is not None else price.input_per_1k
    without = calls * tokens * price.input_per_1k
    with_cache = tokens * write + (calls - 1) * tokens * price.cache_read_per_1k
    return tokens, (without - with_cache) / 1000
