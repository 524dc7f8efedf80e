"""Prompt caching: the service instance's cache of prompt prefixes, and what a call reads and writes.

The prompt is read in the order tools → system → messages. A *prefix* ends at a cache point:

* **explicit** (Converse ``cachePoint`` blocks in ``toolConfig.tools``, ``system`` and message
  content; the Anthropic InvokeModel body's ``cache_control`` on a tool, a system block or a
  content block): each cache point whose prefix has at least the model's minimum
  (:func:`minimum_tokens`) is eligible. The longest eligible prefix already cached and not expired
  is *read* (its tokens are ``cacheReadInputTokens``); if the last eligible prefix was not cached,
  the tokens between the read prefix and it are *written* (``cacheWriteInputTokens``, and
  ``cacheDetails`` ``[{"ttl", "inputTokens"}]``). Every eligible prefix is then cached for its TTL
  (``5m``, or ``1h`` when the cache point asks), and a read refreshes the TTL. ``inputTokens`` counts
  only the uncached rest.
* **automatic** (OpenAI Chat Completions and Responses): every message boundary (and the end of the
  system text) is a cache point, the minimum is 1024 tokens, and the tokens read are rounded down
  to 1024 + a multiple of 128, as OpenAI does; they are reported as ``cached_tokens`` inside the
  (total) prompt tokens, and nothing is reported as written.

Entries are keyed by region, model id and the SHA-256 of the prefix, and expire by the service's
clock (``PromptCache.clock``, ``time.monotonic`` unless a test sets another).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .. import tokens
from ..capabilities import capabilities
from .conversation import PER_MESSAGE_TOKENS, as_tool, message_parts, part_tokens, tool_tokens

TTL_SECONDS = {"5m": 300, "1h": 3600}
AUTOMATIC_MINIMUM = 1024


def minimum_tokens(model: dict) -> int | None:
    """The fewest tokens a cache point's prefix needs for this catalog entry: its capabilities'
    ``cache_min_tokens`` (AWS's prompt-caching page, per model); None for a model without prompt
    caching, whose cache points then cache nothing."""
    caps = capabilities(model)
    return caps.cache_min_tokens if caps.prompt_caching else None


@dataclass(frozen=True)
class Prefix:
    """The prompt up to one cache point: its tokens, digest and TTL."""

    tokens: int
    digest: str
    ttl: str = "5m"


@dataclass
class CacheUsage:
    """What one call read from and wrote to the cache."""

    read: int = 0
    write: int = 0
    ttl: str = "5m"
    automatic: bool = False
    # The prefixes to cache (key -> expiry), stored only once the call is admitted (``commit``).
    pending: dict = field(default_factory=dict, repr=False, compare=False)

    def details(self) -> list[dict]:
        """Converse's ``cacheDetails`` (the tokens written, by TTL)."""
        return [{"ttl": self.ttl, "inputTokens": self.write}] if self.write else []


def prefixes(call: Any, automatic: bool = False) -> list[Prefix]:
    """The prefixes of a call's prompt that end at its cache points (every message boundary when
    ``automatic``)."""
    family = tokens.family_of(call.model_id)
    out: list[Prefix] = []
    digest = hashlib.sha256()
    total = 0

    def mark(ttl: str = "5m") -> None:
        out.append(Prefix(total, digest.copy().hexdigest(), ttl))

    tools = [as_tool(t) for t in call.tools]
    cut_tools = dict(call.cache_marks.get("tools", []))
    for i, tool in enumerate(tools):
        digest.update(tool.canonical().encode())
        total += tool_tokens(tool, family)
        if i + 1 in cut_tools:
            mark(cut_tools[i + 1])
    offsets = sorted(call.cache_marks.get("system", []))
    done = 0
    for offset, ttl in offsets:
        piece = call.system[done:offset]
        digest.update(piece.encode())
        total += tokens.count(piece, family)
        done = offset
        mark(ttl)
    rest = call.system[done:]
    digest.update(rest.encode())
    total += tokens.count(rest, family)
    if automatic and call.system:
        mark()
    for message in call.messages:
        total += PER_MESSAGE_TOKENS
        digest.update(str(message.get("role")).encode())
        for part in message_parts(message):
            if part[0] == "cache":
                mark(part[1])
                continue
            digest.update(json.dumps(part[:1] + tuple(str(p) for p in part[1:]), default=str).encode())
            total += part_tokens(part, family)
        if automatic:
            mark()
    return out


class PromptCache:
    """One service instance's cache of prompt prefixes (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._expires: dict[tuple, float] = {}
        self._lock = threading.Lock()

    def settle(self, call: Any, region: str, automatic: bool = False) -> CacheUsage:
        """Look a call's prefixes up and say what it reads and would write; nothing is cached
        until :meth:`commit` (a call refused by a quota writes nothing, as on AWS)."""
        found = prefixes(call, automatic)
        minimum = AUTOMATIC_MINIMUM if automatic else minimum_tokens(call.model)
        eligible = [p for p in found if minimum is not None and p.tokens >= minimum]
        if not eligible:
            return CacheUsage(automatic=automatic)
        now = self.clock()
        key = (region, call.model_id)
        with self._lock:
            hits = [p for p in eligible if self._expires.get(key + (p.digest,), -1.0) > now]
        read = max((p.tokens for p in hits), default=0)
        last = eligible[-1]
        write = 0 if automatic or last in hits else last.tokens - read
        if automatic and read:
            read = AUTOMATIC_MINIMUM + (read - AUTOMATIC_MINIMUM) // 128 * 128
        pending = {key + (p.digest,): now + TTL_SECONDS.get(p.ttl, 300) for p in eligible}
        return CacheUsage(read, write, last.ttl, automatic, pending)

    def commit(self, usage: CacheUsage) -> None:
        """Cache the prefixes of an admitted call (a read refreshes its TTL) and drop expired ones."""
        if not usage.pending:
            return
        now = self.clock()
        with self._lock:
            self._expires.update(usage.pending)
            for k in [k for k, t in self._expires.items() if t <= now]:
                del self._expires[k]
        usage.pending = {}


STATE_KEY = "responder.prompt-cache"


def prompt_cache(app: Any) -> PromptCache:
    """The prompt cache of a service instance (kept in ``app.state``)."""
    with app.lock:
        return app.state.setdefault(STATE_KEY, PromptCache())


def settle(app: Any, call: Any, region: str, automatic: bool = False) -> Any:
    """Set what ``call`` reads from and writes to ``app``'s prompt cache (before it is answered);
    :func:`commit` stores it once the call is admitted."""
    call.cache = prompt_cache(app).settle(call, region, automatic)
    return call


def commit(app: Any, call: Any) -> None:
    """Store what an admitted ``call`` writes to ``app``'s prompt cache (see :func:`settle`)."""
    usage = getattr(call, "cache", None)
    if usage is not None:
        prompt_cache(app).commit(usage)
