"""``--max-cost USD``: a spending cap for a ``--df`` run, enforced between rows.

The cap is checked through the runner's ``on_row`` callback (called in the cell's thread after
each row), so the runner itself needs no hook: when the cap would be passed, the callback raises
:class:`CapReached` (a ``KeyboardInterrupt``), which stops the run exactly as Ctrl-C does — unsent
rows are marked cancelled, the calls already in flight are collected and billed.

The rule keeps the worst case under the cap, not just the average:

* ``per_call`` is the most one call can cost: its counted (or estimated) input tokens plus
  ``max_tokens`` of output at the model's prices — the dry run's ``max_cost_usd``.
* Rows that may still bill after a stop are those handed to the pool but not yet reported: at
  most ``2 × concurrency`` (:func:`runner.pooled` keeps that many tasks queued), fewer near the end.
* After each row the run goes on only while ``spent + in_flight × per_call <= cap``; before the
  run, ``concurrency`` is lowered so that the first calls fit.

Rows answered from the reply cache cost nothing now: a reply older than the run is not counted.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from .prices import format_usd

__all__ = ["CapReached", "CostCap"]


class CapReached(KeyboardInterrupt):
    """Raised by :meth:`CostCap.on_row` to stop a run before it spends past its cap."""


class CostCap:
    """The spending guard of one run: ``cap`` dollars, ``per_call`` the worst cost of one call,
    ``calls`` how many calls the run makes, ``concurrency`` the parallel calls asked for."""

    def __init__(self, cap: float, per_call: float, calls: int, concurrency: int) -> None:
        if not per_call >= 0 or math.isinf(per_call):
            raise ValueError("--max-cost needs a worst case for each call: set --max-tokens (or %config "
                             "Bedrock.max_tokens) and use a model with a known price")
        self.cap = cap
        self.per_call = per_call
        self.calls = calls
        self.spent = 0.0
        self.reached = False
        self.started = datetime.now(timezone.utc)
        fits = math.floor(cap / (2 * per_call)) if per_call > 0 else concurrency
        first = min(calls, 2)
        if per_call * first > cap:
            raise ValueError(f"one call may cost up to {format_usd(per_call)} (input + max_tokens of output), "
                             f"so --max-cost {format_usd(cap)} leaves no room for the run's first calls; "
                             "raise --max-cost or lower --max-tokens")
        self.concurrency = max(1, min(concurrency, fits))

    def worst_in_flight(self, done: int) -> float:
        """The most the calls not yet reported may still cost, after ``done`` calls."""
        return min(2 * self.concurrency, self.calls - done) * self.per_call

    def on_row(self, done: int, total: int, reply: Any) -> None:
        """The runner's ``on_row`` callback: count what the row spent; stop before the cap."""
        cost = getattr(reply, "cost_usd", None)
        when = getattr(reply, "time", None)
        fresh = when is None or when >= self.started  # a cached reply keeps its original time
        if fresh and cost is not None and not math.isnan(cost):
            self.spent += float(cost)
        if done < self.calls and self.spent + self.worst_in_flight(done) > self.cap:
            self.reached = True
            raise CapReached()

    def line(self) -> str:
        """What the run did against its cap: one line."""
        return (f"stopped at --max-cost {format_usd(self.cap)}: spent {format_usd(self.spent)}; the next calls "
                f"could cost up to {format_usd(self.per_call)} each. Unsent rows are marked cancelled; raise "
                "--max-cost and run the cell again to finish (answered rows come from the cache)")
