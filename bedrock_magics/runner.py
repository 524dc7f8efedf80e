"""The one runner of DataFrame runs: a bounded thread pool, client-side pacing, resume from the
reply cache, Ctrl-C handling, and the counts of what a run did.

Everything here takes a :class:`~bedrock_magics.core.Bedrock` (``bm``) and goes through its public
contract only: ``bm.send(request, record=True) -> Reply`` makes one call (priced and written to the
ledger), so every row of a run behaves exactly like one ``%%bedrock`` cell on the same route.

* The calling thread hands tasks to a :class:`~concurrent.futures.ThreadPoolExecutor` of
  ``concurrency`` workers, at most ``2 × concurrency`` at once, so a 100,000-row frame never holds
  100,000 futures (:func:`pooled`, also used by dry runs to count tokens).
* Workers only call the model. They post each finished row to a queue; the calling thread reads
  the queue and advances the ``tqdm`` bar. Nothing but the calling thread touches the bar or the
  frame (widgets and pandas are not thread-safe).
* Quotas: each call starts through the model's :class:`~bedrock_magics.pacing.Pacer` (one per
  endpoint, region and model, shared by every run of the process), which learns the per-minute
  request and token limits from the service's throttles and lets calls start as they fit. A
  throttled row waits for the quota and is sent again; it fails only when the quota stays shut
  for :data:`THROTTLE_PATIENCE_S` ("throttled N times over T s"). A model still loading
  (ModelNotReadyException) is waited for the same way.
* Circuit breaker: when the first :data:`BREAKER_ROWS` rows sent all fail with the same error that
  no retry fixes (unsupported API, access denied, unknown model, a request the service rejects,
  bad credentials), the run stops: answered rows are kept, the rest are marked ``skipped`` with
  that one-line cause, the bar turns red, and a rerun resumes.
* Resume: each successful reply is stored in the ledger's reply cache under a hash of its request;
  a second run sends only the rows that are missing or failed (``use_cache=False`` sends every row).
* Ctrl-C: rows not yet sent are cancelled, calls already in flight are waited for (they are billed
  anyway; a second Ctrl-C abandons them), and the ``KeyboardInterrupt`` propagates; the callers
  turn it into :class:`BatchInterrupted` with their partial frame.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

from . import endpoints, pacing, routes
from .errors import BatchInterrupted, one_line
from .ledger import cache_key
from .prices import format_usd
from .reply import Reply
from .request import Request, estimate_tokens

if TYPE_CHECKING:  # pragma: no cover

    from .core import Bedrock

__all__ = ["BatchInterrupted", "BREAKER_ROWS", "CANCELLED", "DEFAULT_CONCURRENCY", "SKIPPED",
           "THROTTLE_PATIENCE_S", "Done", "ProgressCallback", "Runner", "Stats", "Task", "concurrency_of",
           "error_reply", "open_bar", "close_bar", "plural", "pooled", "warm_up"]

#: Workers when neither the call nor ``Bedrock.concurrency`` says how many.
DEFAULT_CONCURRENCY = 8
#: How long a row waits for a quota that stays shut (or a model that stays unready) before failing.
THROTTLE_PATIENCE_S = 600.0
#: The error text of rows a run never sent because it was interrupted.
CANCELLED = "cancelled"
#: The error text (before ": cause") of rows a run never sent because its circuit breaker opened.
SKIPPED = "skipped"
#: How many first rows must all fail alike, with an error no retry fixes, to stop a run.
BREAKER_ROWS = 5

# The codes explain.explain gives every "slow down" (boto3's, openai's rate limits, HTTP 429 ...).
_THROTTLE_CODES = frozenset({"ThrottlingException", "ServiceQuotaExceededException"})
# "Wait for the model": retried like a throttle, but it teaches the pacer nothing about the quota.
_NOT_READY_CODES = frozenset({"ModelNotReadyException"})
# The codes explain.explain gives failures that no retry of the same request fixes.
_UNFIXABLE_CODES = frozenset({
    "UnsupportedApi", "UnknownModel", "OnDemandNotSupported", "StreamingNotSupported", "AccessDeniedException",
    "ValidationException", "NoCredentials", "ProfileNotFound", "ExpiredToken", "ExpiredApiKey", "ClockSkew",
    "UnrecognizedClient", "InvalidSignature", "SSLError", "InvalidEndpoint", "ConnectionError",
    "ResourceNotFoundException"})


# ==================================================================================================
# Small adapters onto the other modules (kept here, in one place, so the contracts are visible)


def _cache_api(bm: "Bedrock") -> tuple[Callable[[Request], str], Callable[[str], Reply | None],
                                        Callable[[str, Reply], None]]:
    """``(cache_key, cache_get, cache_put)``: the reply cache in ``bm``'s ledger, behind resume."""
    ledger = bm.ledger
    return cache_key, ledger.cache_get, ledger.cache_put


def send_row(bm: "Bedrock", request: Request) -> Reply:
    """One recorded call. ``send`` returns failures as error replies; anything it raises anyway
    (a bug, a missing dependency) becomes an error reply too, so one row never stops a run."""
    try:
        return bm.send(request, record=True)
    except Exception as exc:  # noqa: BLE001 - a row's failure is data, not a crash
        return error_reply(bm, request, exc)


def error_reply(bm: "Bedrock", request: Request, exc: BaseException) -> Reply:
    """A row's failure that ``send`` did not turn into a reply itself: explained like any failed call
    (``Bedrock.explain``) and built by the one builder of failed replies, ``Reply.failed``."""
    try:
        error: Any = bm.explain(exc, request)
    except Exception:  # noqa: BLE001 - the row still gets its line
        error = one_line(exc)
    reply = Reply.failed(request, 0.0, error=error, code=None if hasattr(error, "code") else type(exc).__name__)
    reply.cost_usd = 0.0  # never sent (or never answered): nothing billed
    return reply


def _is_throttle(reply: Reply) -> bool:
    """Whether the row's failure means "slow down" (``explain.explain`` names every throttle)."""
    return reply.error_code in _THROTTLE_CODES


def _quota_owner(bm: "Bedrock", request: Request) -> tuple:
    """Whose quota a call counts against: the account (``Bedrock.quota_owner``) at the URL it is sent
    to (an endpoint override or ``AWS_ENDPOINT_URL_*`` can point the same credentials elsewhere)."""
    try:
        url = endpoints.resolve(request.region, request.endpoint, bm.clients.endpoint_urls).url
    except Exception:  # noqa: BLE001 - an unknown region fails the call itself, with its own line
        url = None
    return (bm.quota_owner, url)


def _estimated_tokens(request: Request) -> int:
    """What a call may count against a token quota, as Bedrock counts it up front: its input (the
    dry run's estimate) plus the output it may write (``max_tokens``). Only consistency matters:
    the pacer learns the limit in these same units."""
    return estimate_tokens(request) + int(request.max_tokens or 0)


def concurrency_of(bm: "Bedrock", concurrency: int | None) -> int:
    value = concurrency if concurrency is not None else getattr(bm, "concurrency", None) or DEFAULT_CONCURRENCY
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"concurrency must be a whole number >= 1, not {value!r}")
    return value


def warm_up(bm: "Bedrock", request: Request) -> None:
    """Import the route and create its client in the calling thread, before any worker needs
    them: boto3 sessions are not thread-safe while they build clients, the first build is slow,
    and a module imported by many threads at once is imported by one while the others wait."""
    try:
        routes.get(request.endpoint, request.api)  # import the route module once, here
        bm.client_for(request)
    except Exception:  # noqa: BLE001 - a bad route fails each row with its own clear error
        pass


# ==================================================================================================
# The engine shared by map_rows, compare and embed_rows


@dataclass
class Task:
    pos: int  # row position in the frame (iloc)
    slot: int  # which column set the answer goes to (the model's index in compare)
    request: Request | None
    failed: Reply | None = None  # a row that cannot be sent (its prompt did not render): its error


@dataclass
class Done:
    task: Task
    reply: Reply
    cached: bool = False


@dataclass
class Stats:
    """What a run did, for the progress bar, the summary line and ``frame.attrs``."""

    total: int
    done: int = 0
    ok: int = 0
    failed: int = 0
    cached: int = 0
    cancelled: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True
    truncated: int = 0  # answers cut off at max_tokens: said in the summary, never silent
    errors: Counter = field(default_factory=Counter)
    interrupted: bool = False
    stopped: str | None = None  # the one-line cause when the circuit breaker stopped the run

    @property
    def unsent_error(self) -> str:
        """The error of rows the run never sent: ``skipped: <cause>`` after the breaker, else cancelled."""
        return f"{SKIPPED}: {self.stopped}" if self.stopped else CANCELLED

    def count(self, reply: Reply, cached: bool = False) -> None:
        """Count one finished row (or batch-job record); ``cached`` rows were paid for earlier."""
        self.done += 1
        if cached:
            self.cached += 1
        elif reply.status == "cancelled":
            pass
        else:
            # What this run spent: cached rows were paid for by an earlier run.
            self.input_tokens += reply.input_tokens
            self.output_tokens += reply.output_tokens
            if reply.cost_usd is None or (isinstance(reply.cost_usd, float) and math.isnan(reply.cost_usd)):
                self.cost_known = self.cost_known and not reply.ok
            else:
                self.cost_usd += float(reply.cost_usd)
        if reply.ok:
            self.ok += 1
            if reply.stop_reason in _CUT_OFF:
                self.truncated += 1
        elif reply.status == "cancelled":
            self.cancelled += 1
        else:
            self.failed += 1
            self.errors[reply.error_code or "Error"] += 1

    def postfix(self) -> str:
        return (f"errors={self.failed}, tokens={self.input_tokens + self.output_tokens:,}, "
                f"cost={self._money()}")

    def _money(self) -> str:
        money = format_usd(self.cost_usd)
        if self.cost_known:
            return money
        return f"≥{money} (some prices unknown)" if self.cost_usd else "cost unknown (no price for the model)"

    def summary(self, noun: str = "rows") -> str:
        parts = [f"{self.total:,} {plural(noun, self.total)}"]
        if self.failed:
            detail = ", ".join(f"{code} ×{n}" for code, n in self.errors.most_common())
            parts.append(f"{self.failed:,} failed ({detail})")
        unsent = self.total - self.done + self.cancelled
        if unsent and self.stopped:
            parts.append(f"{unsent:,} skipped: stopped after the first {plural(noun, 2)} all failed with "
                         f"{self.stopped}")
        elif unsent:
            parts.append(f"{unsent:,} cancelled")
        if self.truncated:
            parts.append(f"{self.truncated:,} {plural(noun, self.truncated)} stopped at max tokens "
                         "(answers cut off; raise --max-tokens)")
        parts.append(f"{self.input_tokens + self.output_tokens:,} tokens")
        parts.append(self._money())
        if self.cached:
            parts.append(f"{self.cached:,} from cache")
        return " · ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.total, "ok": self.ok, "failed": self.failed, "cached": self.cached,
                "cancelled": self.total - self.done + self.cancelled, "max_tokens": self.truncated,
                "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost_usd": self.cost_usd if self.cost_known else math.nan,
                "errors": dict(self.errors), "interrupted": self.interrupted, "stopped": self.stopped}


#: Stop reasons that mean "cut off by the token limit" (Converse's, OpenAI's and Responses' words).
_CUT_OFF = frozenset({"max_tokens", "length", "max_output_tokens", "incomplete"})


def plural(noun: str, n: int) -> str:
    """``rows``/``row``, ``models``/``model`` … by count (the nouns given are plural)."""
    return noun[:-1] if n == 1 and noun.endswith("s") else noun


ProgressCallback = Callable[[int, int, Reply], None]


class Runner:
    """Runs tasks on a thread pool; the calling thread consumes results in completion order."""

    def __init__(self, bm: "Bedrock", *, concurrency: int, use_cache: bool, progress: bool, total: int,
                 desc: str, on_row: ProgressCallback | None = None, unit: str = "row") -> None:
        self.bm = bm
        self.concurrency = concurrency
        self.use_cache = use_cache
        self.progress = progress
        self.total = total
        self.desc = desc
        self.unit = unit
        self.on_row = on_row
        self.stats = Stats(total=total)
        self._stop = threading.Event()
        self._cache = _cache_api(bm) if use_cache else None
        self._pacers: set[pacing.Pacer] = set()
        self._owners: dict[tuple[str, str], tuple] = {}  # (endpoint, region) -> quota owner, once per run
        self._first_failures: list[Reply] = []  # the breaker's evidence: the first rows sent
        self._waiting_shown = False

    # -- worker side --------------------------------------------------------------------------

    def _work(self, task: Task) -> Done:
        try:
            return self._call(task)
        except BaseException as exc:  # noqa: BLE001 - never let a row vanish without a result
            return Done(task, error_reply(self.bm, task.request or Request(model="", messages=()), exc))

    def _call(self, task: Task) -> Done:
        if task.failed is not None:
            return Done(task, task.failed)
        request = task.request
        assert request is not None
        key = None
        if self._cache is not None:
            cache_key, cache_get, _ = self._cache
            try:
                key = cache_key(request)
                hit = cache_get(key)
            except Exception:  # noqa: BLE001 - a broken cache must not stop the run: just send
                key, hit = None, None
            if hit is not None and hit.ok:
                return Done(task, hit, cached=True)
        reply = self._send_paced(request)
        if reply.ok and key is not None:
            try:
                self._cache[2](key, reply)  # type: ignore[index]
            except Exception:  # noqa: BLE001 - the answer is still good; only resume loses it
                pass
        return Done(task, reply)

    def _owner(self, request: Request) -> tuple:
        # The owner cannot change during a run: resolved once per endpoint and region, not per row.
        key = (request.endpoint, request.region)
        owner = self._owners.get(key)
        if owner is None:
            owner = self._owners[key] = _quota_owner(self.bm, request)
        return owner

    def _send_paced(self, request: Request) -> Reply:
        """One row's call through its model's pacer: a throttle (or a model still loading) waits and
        sends again, until the call goes through or :data:`THROTTLE_PATIENCE_S` have passed."""
        pacer = pacing.pacer_for(self._owner(request), request.endpoint, request.region, request.model)
        self._pacers.add(pacer)
        tokens = _estimated_tokens(request)
        first_refusal, refusals, backoff = None, 0, 1.0
        while True:
            ticket = pacer.reserve(tokens, self._stop)
            if ticket is None:  # stopped while waiting (Ctrl-C, or the breaker)
                return cancelled_reply(request)
            reply = send_row(self.bm, request)
            if reply.ok:
                pacer.succeeded(ticket)
                return reply
            if reply.error_code not in _THROTTLE_CODES | _NOT_READY_CODES:
                return reply
            now = time.monotonic()
            first_refusal = first_refusal if first_refusal is not None else now
            refusals += 1
            if reply.error_code in _NOT_READY_CODES:
                ticket.throttled = True  # it never counted against the quota
                if self._stop.wait(backoff):
                    return cancelled_reply(request)
                backoff = min(pacing.MAX_BACKOFF, backoff * 2)
            else:
                pacer.throttled(ticket, pacing.throttle_kind(reply.error or ""))
            if now - first_refusal >= THROTTLE_PATIENCE_S:
                what = "not ready" if reply.error_code in _NOT_READY_CODES else "throttled"
                reply.error = f"{reply.error} ({what} {refusals} times over {now - first_refusal:.0f} s)"
                return reply

    # -- calling-thread side --------------------------------------------------------------------

    def run(self, tasks: Iterable[Task], sink: Callable[[Done], None]) -> Stats:
        """Send every task; ``sink`` gets each result in the calling thread.

        Raises KeyboardInterrupt (after cancelling and draining) when interrupted; the caller
        turns it into :class:`BatchInterrupted` with its partial frame.
        """
        bar = open_bar(self.total, self.desc, self.unit) if self.progress else None

        def interrupted(in_flight: int) -> None:
            self.stats.interrupted = True
            if bar is not None and in_flight:
                bar.set_description_str(f"{self.desc}: interrupted, finishing {in_flight} call(s) in flight")

        try:
            pooled(tasks, self._work, lambda done, draining: self._accept(done, sink, bar, callback=not draining),
                   concurrency=self.concurrency, stop=self._stop, on_interrupt=interrupted,
                   on_idle=lambda: self._show_waiting(bar))
        finally:
            if bar is not None:
                if self.stats.stopped:
                    bar.colour = "red"
                    bar.set_description_str(f"{self.desc}: stopped", refresh=False)
                close_bar(bar)
        return self.stats

    def _accept(self, done: Done, sink: Callable[[Done], None], bar: Any, callback: bool = True) -> None:
        if done.reply.status == "cancelled":
            return  # never sent: the row stays cancelled (or skipped)
        sink(done)
        self.stats.count(done.reply, cached=done.cached)
        if not done.cached:
            self._watch(done.reply)
        if bar is not None:
            self._show_waiting(bar)
            bar.set_postfix_str(self.stats.postfix(), refresh=False)
            bar.update(1)
        if callback and self.on_row is not None:
            self.on_row(self.stats.done, self.total, done.reply)

    def _watch(self, reply: Reply) -> None:
        """The circuit breaker: open when the first :data:`BREAKER_ROWS` rows sent failed alike with
        an error no retry fixes (then unsent rows are never sent, and read ``skipped: <cause>``)."""
        if self.stats.stopped or self._first_failures is None or self.total <= BREAKER_ROWS:
            return
        first = self._first_failures
        same = not first or (reply.error_code == first[0].error_code and reply.error == first[0].error)
        if reply.ok or reply.error_code not in _UNFIXABLE_CODES or not same:
            self._first_failures = None  # a row got through, or failed differently: never trip
            return
        first.append(reply)
        if len(first) >= BREAKER_ROWS:
            self.stats.stopped = (reply.error or reply.error_code or "an error").split("\n", 1)[0]
            self._stop.set()

    def _show_waiting(self, bar: Any) -> None:
        """Say "waiting for quota" on the bar while any of the run's pacers holds calls back."""
        if bar is None or self.stats.interrupted:
            return
        waiting = [p for p in self._pacers if p.waiting]
        if bool(waiting) != self._waiting_shown:
            self._waiting_shown = bool(waiting)
            learned = ", ".join(filter(None, (p.describe() for p in waiting)))
            bar.set_description_str(f"{self.desc}: waiting for quota ({learned})" if learned and waiting
                                    else f"{self.desc}: waiting for quota" if waiting else self.desc)


def open_bar(total: int | None, desc: str, unit: str) -> Any:
    """A ``tqdm`` progress bar; in a notebook, one whose saved text ends as the bar did (see close_bar)."""
    from tqdm.auto import tqdm
    from tqdm.notebook import tqdm as notebook_tqdm

    if not issubclass(tqdm, notebook_tqdm):
        return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=True)
    from IPython.display import display

    bar = tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=True, display=False)
    # Shown through a display handle, so that close_bar can replace the text/plain fallback that the
    # notebook saves beside the widget: otherwise it stays the bar's first state (0%).
    bar._bedrock_handle = display(bar.container, display_id=True)
    return bar


def close_bar(bar: Any) -> None:
    """Close a bar from :func:`open_bar`; in a notebook, its saved text becomes its final state."""
    bar.close()
    handle = getattr(bar, "_bedrock_handle", None)
    if handle is not None:
        handle.update(bar.container)


T = TypeVar("T")
R = TypeVar("R")


def pooled(tasks: Iterable[T], work: Callable[[T], R], accept: Callable[[R, bool], None], *, concurrency: int,
           stop: threading.Event | None = None, on_interrupt: Callable[[int], None] | None = None,
           on_idle: Callable[[], None] | None = None, name: str = "bedrock-row") -> None:
    """Run ``work(task)`` on ``concurrency`` worker threads, at most ``2 × concurrency`` tasks queued
    at once (``tasks`` is read lazily), and hand each result to ``accept(result, draining)`` in the
    calling thread as the tasks complete. ``work`` must not raise (a row's failure is its result).

    Once ``stop`` is set no further task is handed out. ``on_idle()`` is called in the calling thread
    while no result arrives (every tenth of a second), e.g. to say on a bar why it waits.

    Ctrl-C: ``stop`` is set, unstarted tasks are cancelled, ``on_interrupt(in_flight)`` is told
    how many are still running, and those are collected (``draining=True``) before the
    ``KeyboardInterrupt`` propagates; a second Ctrl-C stops waiting for them.
    """
    window = 2 * concurrency
    # Submitted tasks whose result has not been handed to accept yet. Results are read from the
    # futures, never taken off a queue: a SIGINT may land on any bytecode, and one landing just
    # after a result was taken would lose that row (or, counted, hang the drain waiting for it).
    futures: set[Future] = set()
    tasks = iter(tasks)
    exhausted = False
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=name)
    try:
        try:
            while True:
                while not exhausted and len(futures) < window and not (stop is not None and stop.is_set()):
                    task = next(tasks, None)
                    if task is None:
                        exhausted = True
                        break
                    futures.add(pool.submit(work, task))
                if not futures:
                    break
                done, _ = wait(futures, timeout=0.1, return_when=FIRST_COMPLETED)  # short: Ctrl-C stays responsive
                if not done:
                    if on_idle is not None:
                        on_idle()
                    continue
                for future in done:
                    futures.discard(future)
                    accept(future.result(), False)
        except KeyboardInterrupt:
            if stop is not None:
                stop.set()
            live = [future for future in futures if not future.cancel()]
            if on_interrupt is not None:
                on_interrupt(sum(not future.done() for future in live))
            _drain(live, accept)
            raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _drain(live: list[Future], accept: Callable[[Any, bool], None]) -> None:
    """After Ctrl-C: collect the calls already in flight (they are billed, so keep them). A second
    Ctrl-C stops waiting; those rows stay cancelled, their replies still reach the ledger (and the
    cache, for the next run)."""
    pending = set(live)
    try:
        while pending:
            done, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            for future in done:
                pending.discard(future)
                accept(future.result(), True)
    except KeyboardInterrupt:
        pass


def cancelled_reply(request: Request) -> Reply:
    return Reply(model=request.model, region=request.region, endpoint=request.endpoint, api=request.api,
                 status="cancelled", error=CANCELLED, cost_usd=0.0)
