"""Quota-aware pacing for table runs: learn a model's per-minute quotas from its 429s, then start a
call only when it fits.

Bedrock's quotas are per model and region, per minute: requests and tokens on the runtime, input
and output tokens (``max_tokens`` counted up front) on mantle. A :class:`Pacer` remembers the calls
it let start in the last minute, with their estimated tokens. Until the service throttles, calls
start freely. A throttle then reveals the limit: the calls the service accepted in the minute before
the throttled one. From then on a call starts as soon as it fits the window, which is exactly when
the oldest start leaves it: a run resumes within moments of the window reopening instead of
crawling back after a back-off. The learned limit is probed upwards (10 %) once per quiet minute, so a
limit learned too low (another notebook sharing the quota for a while) does not stay low.

Counting happens in the caller's own units (its token estimate), so a limit learned from one
estimate paces the same estimate consistently even where the service counts a little differently.

One pacer per (owner, endpoint, region, model), shared by every run of the process
(:func:`pacer_for`): quotas belong to the account (or the local service), not to a cell.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Hashable

#: Bedrock's quota window (seconds).
WINDOW = 60.0
#: Added to a computed wait: the service saw each start a little after we made it.
MARGIN = 0.25
#: Waits after a throttle that taught nothing (no call of ours in the window): doubling, capped.
FIRST_BACKOFF, MAX_BACKOFF = 1.0, 30.0

REQUESTS, TOKENS = "requests", "tokens"


@dataclass
class Ticket:
    """One call the pacer let start: when, and the tokens it was estimated to use."""

    at: float
    tokens: int
    throttled: bool = False


def throttle_kind(message: str) -> str:
    """Which quota a throttle message speaks of: :data:`TOKENS` or :data:`REQUESTS`."""
    return TOKENS if "token" in (message or "").lower() else REQUESTS


class Pacer:
    """Starts calls at the pace of one model's quotas, as learned from the service's throttles.

    Thread-safe; ``clock`` and ``sleep`` are injectable so that tests need no real waiting.
    """

    def __init__(self, window: float | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[threading.Event, float], object] | None = None) -> None:
        self.window = WINDOW if window is None else window
        self._clock = clock
        self._sleep = sleep or (lambda stop, seconds: stop.wait(seconds))
        self._lock = threading.Lock()
        self._starts: deque[Ticket] = deque()
        self.request_limit: int | None = None
        self.token_limit: int | None = None
        self._not_before = 0.0  # a back-off after a throttle that taught no limit
        self._backoff = 0.0
        self._probe_after = 0.0  # no upward probe before this time
        self._waiting = 0

    # -- starting calls ----------------------------------------------------------------------------

    def reserve(self, tokens: int = 0, stop: threading.Event | None = None) -> Ticket | None:
        """Block until a call of ``tokens`` fits the learned quotas, then count it as started.

        Returns its ticket (for :meth:`throttled` / :meth:`succeeded`), or None when ``stop`` was set
        while waiting.
        """
        stop = stop or threading.Event()
        while not stop.is_set():
            with self._lock:
                now = self._clock()
                delay = self._delay(tokens, now)
                if delay <= 0:
                    ticket = Ticket(now, max(0, int(tokens)))
                    self._starts.append(ticket)
                    return ticket
                self._waiting += 1
            try:
                self._sleep(stop, delay)
            finally:
                with self._lock:
                    self._waiting -= 1
        return None

    def delay(self, tokens: int = 0) -> float:
        """Seconds until a call of ``tokens`` would fit (0: now)."""
        with self._lock:
            return max(0.0, self._delay(tokens, self._clock()))

    def _delay(self, tokens: int, now: float) -> float:
        live = self._live(now)
        waits = [self._not_before - now]
        if self.request_limit is not None and len(live) >= self.request_limit:
            # the (len - limit + 1) oldest starts must leave the window first
            waits.append(live[len(live) - self.request_limit].at + self.window + MARGIN - now)
        if self.token_limit is not None and tokens <= self.token_limit:
            excess = sum(t.tokens for t in live) + tokens - self.token_limit
            for ticket in live:
                if excess <= 0:
                    break
                excess -= ticket.tokens
                waits.append(ticket.at + self.window + MARGIN - now)
        return max(waits)

    def _live(self, now: float) -> list[Ticket]:
        """The starts still in the window that the service accepted (throttled ones don't count)."""
        while self._starts and now - self._starts[0].at >= self.window + MARGIN:
            self._starts.popleft()
        return [t for t in self._starts if not t.throttled]

    # -- what the service said ---------------------------------------------------------------------

    def throttled(self, ticket: Ticket | None, kind: str = REQUESTS) -> None:
        """The call of ``ticket`` was throttled: learn the limit it ran into."""
        with self._lock:
            now = self._clock()
            if ticket is not None:
                ticket.throttled = True
            at = ticket.at if ticket is not None else now
            before = [t for t in self._live(now) if t.at <= at and t is not ticket]
            if not before:  # nothing of ours in the window: someone else holds the quota
                self._backoff = min(MAX_BACKOFF, max(FIRST_BACKOFF, self._backoff * 2))
                self._not_before = max(self._not_before, now + self._backoff)
            elif kind == TOKENS:
                self.token_limit = _lower(self.token_limit, max(1, sum(t.tokens for t in before)))
            else:
                self.request_limit = _lower(self.request_limit, len(before))
            self._probe_after = now + self.window

    def succeeded(self, ticket: Ticket | None = None) -> None:
        """A call went through: end a back-off, and probe a learned limit upwards once per quiet minute."""
        with self._lock:
            self._backoff = 0.0
            now = self._clock()
            if now >= self._probe_after and (self.request_limit or self.token_limit):
                if self.request_limit:
                    self.request_limit += max(1, self.request_limit // 10)
                if self.token_limit:
                    self.token_limit += max(1, self.token_limit // 10)
                self._probe_after = now + self.window

    # -- for progress bars -------------------------------------------------------------------------

    @property
    def waiting(self) -> bool:
        """True while some call waits for the quota."""
        return self._waiting > 0

    def describe(self) -> str:
        """The learned quotas in words, e.g. ``100 requests/min``; empty before any throttle."""
        parts = []
        if self.request_limit is not None:
            parts.append(f"{self.request_limit:,} requests/min")
        if self.token_limit is not None:
            parts.append(f"{self.token_limit:,} tokens/min")
        return ", ".join(parts)


def _lower(known: int | None, seen: int) -> int:
    # Calls in flight together report their throttles in any order; the earliest throttled call
    # counts the fewest accepted calls before it, and that is the limit. Raising is the probe's job.
    return seen if known is None else min(known, seen)


_PACERS: dict[tuple, Pacer] = {}
_PACERS_LOCK = threading.Lock()


def pacer_for(owner: Hashable, endpoint: str, region: str, model: str) -> Pacer:
    """The process-wide pacer of one model's quotas for one ``owner`` (an account, a local service;
    see ``Bedrock.quota_owner``), created on first use."""
    key = (owner, endpoint, region, model)
    with _PACERS_LOCK:
        pacer = _PACERS.get(key)
        if pacer is None:
            pacer = _PACERS[key] = Pacer()
        return pacer


def forget_pacers() -> None:
    """Drop every learned quota (for a new account or credentials, and for tests)."""
    with _PACERS_LOCK:
        _PACERS.clear()
