"""DataFrames at scale: one call per row, model comparison, dry runs, embeddings.

Everything here takes a :class:`~bedrock_magics.core.Bedrock` (``bm``) and goes through its public
contract only: ``bm.request(prompt, **overrides) -> Request`` to resolve settings, and
``bm.send(request, record=True) -> Reply`` to make one call (priced and written to the ledger).
So every row of a run behaves exactly like one ``%%bedrock`` cell on the same route.

How a run works (:func:`map_rows`, :func:`compare`, :func:`embed_rows`)
----------------------------------------------------------------------

* The calling thread renders each row's prompt, builds its :class:`Request` and hands it to a
  :class:`~concurrent.futures.ThreadPoolExecutor` of ``concurrency`` workers. At most
  ``2 × concurrency`` rows are queued at once, so a 100,000-row frame never holds 100,000 futures.
* Workers only call the model. They post each finished row to a queue; the calling thread reads
  the queue, fills the result columns and advances the ``tqdm`` bar. Nothing but the calling thread
  touches the bar or the frame (widgets and pandas are not thread-safe).
* Retries are the SDKs' own: botocore's adaptive mode for boto3 routes, the openai SDK's retries
  for the OpenAI routes. A row still throttled after them slows the whole run down (a shared
  pacer: the interval between call starts doubles on each burst of throttles and decays on each
  success) and is tried again, at most :data:`THROTTLE_RETRIES` times. Any other failure is final for that row:
  its error goes in ``COL_error`` and the other rows go on.
* Resume: each successful reply is stored in the ledger's reply cache under a hash of its request.
  Running the same frame again sends only the rows that are missing or failed; cached rows keep
  their original cost in ``COL_cost_usd`` but add no ledger row and are counted as "from cache".
  ``use_cache=False`` sends every row.
* Ctrl-C (KeyboardInterrupt in the calling thread): rows not yet sent are cancelled, calls already
  in flight are waited for (they are billed anyway; a second Ctrl-C abandons them), and
  :class:`BatchInterrupted` — a ``KeyboardInterrupt`` — is raised with the partial frame in
  ``.frame``: finished rows filled in, the rest with ``COL_error == "cancelled"``.

* Nothing is silent: answers cut off at ``max_tokens`` are counted in the summary line (and
  ``COL_stop_reason`` says which), an empty frame still gets its columns and a "0 rows" line, and
  result columns never overwrite the frame's own (one-line ValueError before anything is sent).

Bedrock batch inference jobs (rows as JSONL in S3, ``CreateModelInvocationJob``) are
:mod:`bedrock_magics.jobs`; it reuses this module's row helpers (``_check_inputs``, ``_row_tasks``,
``_Columns``, ``_base_frame``, ``_Stats`` ...), which therefore live here only.
"""

from __future__ import annotations

import json
import math
import queue
import re
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

from .conversation import chat_name
from .errors import code_of, one_line
from .modelids import base_model_id, strip_geo
from .reply import Reply
from .request import Request

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .core import Bedrock

__all__ = [
    "BatchInterrupted", "THROTTLE_RETRIES", "DEFAULT_CONCURRENCY", "COMPARE_COLUMNS",
    "map_rows", "compare", "distinct_models", "dry_run", "embed_rows", "estimate_tokens", "model_slug",
]

#: Workers when neither the call nor ``Bedrock.concurrency`` says how many.
DEFAULT_CONCURRENCY = 8
#: How many more times a row is sent after the SDK's own retries gave up on a throttle.
THROTTLE_RETRIES = 3
#: The error text of rows a run never sent because it was interrupted.
CANCELLED = "cancelled"

# The codes errors.explain gives every "slow down" (boto3's, openai's rate limits, HTTP 429 ...).
_THROTTLE_CODES = frozenset({"ThrottlingException", "ServiceQuotaExceededException"})


class BatchInterrupted(KeyboardInterrupt):
    """A DataFrame run stopped by Ctrl-C; ``.frame`` holds the partial result.

    It *is* a ``KeyboardInterrupt``, so scripts, Run All, nbclient and papermill stop as usual.
    The magic catches it, stores ``.frame`` in ``DEST`` and says how many rows finished; Python
    callers do the same::

        try:
            out = bm.map(df, "Summarise: {text}")
        except BatchInterrupted as stop:
            out = stop.frame        # finished rows kept; the rest have COL_error == "cancelled"
    """

    def __init__(self, frame: "pd.DataFrame", summary: str) -> None:
        super().__init__(summary)
        self.frame = frame
        self.summary = summary


# ==================================================================================================
# Small adapters onto the other modules (kept here, in one place, so the contracts are visible)


def _cache_api(bm: "Bedrock") -> tuple[Callable[[Request], str], Callable[[str], Reply | None],
                                        Callable[[str, Reply], None]]:
    """``(cache_key, cache_get, cache_put)``: the reply cache in ``bm``'s ledger, behind resume."""
    from .ledger import cache_key

    ledger = bm.ledger
    return cache_key, ledger.cache_get, ledger.cache_put


def _send(bm: "Bedrock", request: Request) -> Reply:
    """One recorded call. ``send`` returns failures as error replies; anything it raises anyway
    (a bug, a missing dependency) becomes an error reply too, so one row never stops a run."""
    try:
        return bm.send(request, record=True)
    except Exception as exc:  # noqa: BLE001 - a row's failure is data, not a crash
        return _error_reply(bm, request, exc)


def _error_reply(bm: "Bedrock", request: Request, exc: BaseException) -> Reply:
    """A row's failure that ``send`` did not turn into a reply itself: explained like any failed call
    (``Bedrock.explain``) and built by the core's one builder of failed replies."""
    from .core import failed_reply

    try:
        error: Any = bm.explain(exc, request)
    except Exception:  # noqa: BLE001 - the row still gets its line
        error = one_line(exc)
    reply = failed_reply(request, 0.0, error=error, code=None if hasattr(error, "code") else type(exc).__name__)
    reply.cost_usd = 0.0  # never sent (or never answered): nothing billed
    return reply


def _is_throttle(reply: Reply) -> bool:
    """Whether the row's failure means "slow down" (``errors.explain`` names every throttle)."""
    return reply.error_code in _THROTTLE_CODES


def _concurrency(bm: "Bedrock", concurrency: int | None) -> int:
    value = concurrency if concurrency is not None else getattr(bm, "concurrency", None) or DEFAULT_CONCURRENCY
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"concurrency must be a whole number >= 1, not {value!r}")
    return value


def _render(template: str, namespace: Mapping[str, Any] | None, row: Mapping[str, Any] | None) -> str:
    from .templating import render

    return render(template, namespace or {}, row=row)


def _warm_up(bm: "Bedrock", request: Request) -> None:
    """Import the route and create its client in the calling thread, before any worker needs
    them: boto3 sessions are not thread-safe while they build clients, the first build is slow,
    and a module imported by many threads at once is imported by one while the others wait."""
    try:
        from . import routes

        routes.get(request.endpoint, request.api)  # import the route module once, here
        bm.client_for(request)
    except Exception:  # noqa: BLE001 - a bad route fails each row with its own clear error
        pass


# ==================================================================================================
# Client-side pacing


class _Pacer:
    """Spaces out call starts across the workers of one run, after the service says "slow down".

    Unlimited until a throttle gets past the SDK's retries. Then the gap between two call starts
    doubles (from 50 ms, at most 5 s) — once per burst: the throttles of calls that were already
    in flight together count as one signal, as in TCP's one cut per round trip — and shrinks by
    2 % on each success, back to unlimited under a millisecond. Multiplicative decrease, slow
    recovery, one bucket shared by all workers: what botocore's adaptive mode does per client,
    extended to the openai SDK and to throttles that outlast the SDK's own retries.
    """

    FIRST_GAP, MAX_GAP, RECOVERY = 0.05, 5.0, 0.98

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gap = 0.0
        self._next = 0.0
        self._last_cut = -math.inf

    def wait(self, stop: threading.Event) -> None:
        """Block until this worker may start a call (returns early when ``stop`` is set)."""
        with self._lock:
            if self._gap == 0.0:
                return
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._gap
        if slot > now:
            stop.wait(slot - now)

    def throttled(self) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last_cut >= max(self._gap, self.FIRST_GAP):
                self._last_cut = now
                self._gap = min(self.MAX_GAP, max(self.FIRST_GAP, self._gap * 2))
            self._next = max(self._next, now + self._gap)

    def succeeded(self) -> None:
        with self._lock:
            if self._gap:
                self._gap *= self.RECOVERY
                if self._gap < 0.001:
                    self._gap = 0.0

    @property
    def gap(self) -> float:
        """Seconds between call starts now (0: unlimited)."""
        return self._gap


# ==================================================================================================
# The engine shared by map_rows, compare and embed_rows


@dataclass
class _Task:
    pos: int  # row position in the frame (iloc)
    slot: int  # which column set the answer goes to (the model's index in compare)
    request: Request | None
    failed: Reply | None = None  # a row that cannot be sent (its prompt did not render): its error


@dataclass
class _Done:
    task: _Task
    reply: Reply
    cached: bool = False


@dataclass
class _Stats:
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
        from .prices import format_usd

        money = format_usd(self.cost_usd)
        if self.cost_known:
            return money
        return f"≥{money} (some prices unknown)" if self.cost_usd else "cost unknown (no price for the model)"

    def summary(self, noun: str = "rows") -> str:
        parts = [f"{self.total:,} {_plural(noun, self.total)}"]
        if self.failed:
            detail = ", ".join(f"{code} ×{n}" for code, n in self.errors.most_common())
            parts.append(f"{self.failed:,} failed ({detail})")
        cancelled = self.total - self.done + self.cancelled
        if cancelled:
            parts.append(f"{cancelled:,} cancelled")
        if self.truncated:
            parts.append(f"{self.truncated:,} {_plural(noun, self.truncated)} stopped at max tokens "
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
                "errors": dict(self.errors), "interrupted": self.interrupted}


#: Stop reasons that mean "cut off by the token limit" (Converse's, OpenAI's and Responses' words).
_CUT_OFF = frozenset({"max_tokens", "length", "max_output_tokens", "incomplete"})


def _plural(noun: str, n: int) -> str:
    """``rows``/``row``, ``models``/``model`` … by count (the nouns given are plural)."""
    return noun[:-1] if n == 1 and noun.endswith("s") else noun


ProgressCallback = Callable[[int, int, Reply], None]


class _Runner:
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
        self.stats = _Stats(total=total)
        self.pacer = _Pacer()
        self._stop = threading.Event()
        self._results: queue.SimpleQueue[_Done] = queue.SimpleQueue()
        self._cache = _cache_api(bm) if use_cache else None

    # -- worker side --------------------------------------------------------------------------

    def _work(self, task: _Task) -> None:
        try:
            self._results.put(self._call(task))
        except BaseException as exc:  # noqa: BLE001 - never let a row vanish without a result
            self._results.put(_Done(task, _error_reply(self.bm, task.request or Request(model="", messages=()), exc)))

    def _call(self, task: _Task) -> _Done:
        if task.failed is not None:
            return _Done(task, task.failed)
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
                return _Done(task, hit, cached=True)
        reply: Reply | None = None
        for attempt in range(THROTTLE_RETRIES + 1):
            self.pacer.wait(self._stop)
            if self._stop.is_set():
                return _Done(task, reply or _cancelled(request))
            reply = _send(self.bm, request)
            if reply.ok:
                self.pacer.succeeded()
                break
            if not _is_throttle(reply):
                break
            self.pacer.throttled()
        assert reply is not None
        if reply.ok and key is not None:
            try:
                self._cache[2](key, reply)  # type: ignore[index]
            except Exception:  # noqa: BLE001 - the answer is still good; only resume loses it
                pass
        return _Done(task, reply)

    # -- calling-thread side --------------------------------------------------------------------

    def run(self, tasks: Iterable[_Task], sink: Callable[[_Done], None]) -> _Stats:
        """Send every task; ``sink`` gets each result in the calling thread.

        Raises KeyboardInterrupt (after cancelling and draining) when interrupted; the caller
        turns it into :class:`BatchInterrupted` with its partial frame.
        """
        bar = self._bar()
        window = 2 * self.concurrency
        futures: dict[Future, _Task] = {}
        pending = 0
        tasks = iter(tasks)
        exhausted = False
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="bedrock-row")
        try:
            try:
                while True:
                    while not exhausted and pending < window:
                        task = next(tasks, None)
                        if task is None:
                            exhausted = True
                            break
                        futures[pool.submit(self._work, task)] = task
                        pending += 1
                    if pending == 0:
                        break
                    try:
                        done = self._results.get(timeout=0.1)  # short waits keep Ctrl-C responsive
                    except queue.Empty:
                        continue
                    pending -= 1
                    self._accept(done, sink, bar)
                    for future in [f for f in futures if f.done()]:
                        del futures[future]
            except KeyboardInterrupt:
                self.stats.interrupted = True
                self._stop.set()
                unstarted = sum(future.cancel() for future in futures)
                pending -= unstarted
                self._drain(pending, sink, bar)
                raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            if bar is not None:
                bar.close()
        return self.stats

    def _drain(self, pending: int, sink: Callable[[_Done], None], bar: Any) -> None:
        """After Ctrl-C: collect the calls already in flight (they are billed, so keep them).
        A second Ctrl-C stops waiting; those rows stay cancelled, their replies still reach the
        ledger (and the cache, for the next run)."""
        if bar is not None and pending:
            bar.set_description_str(f"{self.desc}: interrupted, finishing {pending} call(s) in flight")
        try:
            while pending > 0:
                try:
                    done = self._results.get(timeout=0.1)
                except queue.Empty:
                    continue
                pending -= 1
                self._accept(done, sink, bar, callback=False)
        except KeyboardInterrupt:
            pass

    def _accept(self, done: _Done, sink: Callable[[_Done], None], bar: Any, callback: bool = True) -> None:
        if done.reply.status == "cancelled":
            return  # never sent: the row stays cancelled
        sink(done)
        self.stats.count(done.reply, cached=done.cached)
        if bar is not None:
            bar.set_postfix_str(self.stats.postfix(), refresh=False)
            bar.update(1)
        if callback and self.on_row is not None:
            self.on_row(self.stats.done, self.total, done.reply)

    def _bar(self) -> Any:
        if not self.progress:
            return None
        from tqdm.auto import tqdm

        return tqdm(total=self.total, desc=self.desc, unit=self.unit, dynamic_ncols=True, leave=True)


def _cancelled(request: Request) -> Reply:
    return Reply(model=request.model, region=request.region, endpoint=request.endpoint, api=request.api,
                 status="cancelled", error=CANCELLED, cost_usd=0.0)


# ==================================================================================================
# Result columns


class _Columns:
    """The result columns of one column set (``COL``, ``COL_input_tokens`` ... ``COL_error``),
    filled by row position; rows never filled read as cancelled."""

    SUFFIXES = ("input_tokens", "output_tokens", "latency_ms", "cost_usd", "stop_reason", "error")

    def __init__(self, out: str, n: int, value: Callable[[Reply], Any] | None = None,
                 suffixes: Sequence[str] | None = None) -> None:
        import numpy as np

        self.suffixes = tuple(suffixes) if suffixes is not None else self.SUFFIXES
        self.out = out
        self.value = value or (lambda reply: reply.text)
        self.values = np.full(n, None, dtype=object)
        self.input_tokens = np.zeros(n, dtype="int64")
        self.output_tokens = np.zeros(n, dtype="int64")
        self.latency_ms = np.full(n, np.nan)
        self.cost_usd = np.full(n, np.nan)
        self.stop_reason = np.full(n, None, dtype=object)
        self.error = np.full(n, CANCELLED, dtype=object)
        self.filled = np.zeros(n, dtype=bool)

    def put(self, pos: int, reply: Reply) -> None:
        self.filled[pos] = True
        self.values[pos] = self.value(reply) if reply.ok else None
        self.input_tokens[pos] = reply.input_tokens
        self.output_tokens[pos] = reply.output_tokens
        self.latency_ms[pos] = reply.latency_ms
        self.cost_usd[pos] = math.nan if reply.cost_usd is None else reply.cost_usd
        self.stop_reason[pos] = reply.stop_reason
        self.error[pos] = None if reply.ok else (reply.error or reply.error_code or "error")

    def names(self) -> list[str]:
        return self.names_for(self.out, self.suffixes)

    @classmethod
    def names_for(cls, out: str, suffixes: Sequence[str] | None = None) -> list[str]:
        """The result column names of a column set ``out`` (``out``, ``out_input_tokens`` …)."""
        return [out] + [f"{out}_{suffix}" for suffix in (cls.SUFFIXES if suffixes is None else suffixes)]

    def attach(self, frame: "pd.DataFrame") -> None:
        """Add the columns to ``frame`` in place (by position, so any index works)."""
        import pandas as pd

        # Cancelled rows have no token counts: NA, not a misleading 0.
        tokens_in = pd.array(self.input_tokens, dtype="Int64")
        tokens_out = pd.array(self.output_tokens, dtype="Int64")
        tokens_in[~self.filled] = pd.NA
        tokens_out[~self.filled] = pd.NA
        data = {"input_tokens": tokens_in, "output_tokens": tokens_out, "latency_ms": self.latency_ms,
                "cost_usd": self.cost_usd, "stop_reason": self.stop_reason, "error": self.error}
        frame[self.out] = self.values
        for suffix in self.suffixes:
            frame[f"{self.out}_{suffix}"] = data[suffix]


def _base_frame(frame: "pd.DataFrame", replaced: Sequence[str]) -> "pd.DataFrame":
    """A new frame with ``frame``'s index and columns, minus result columns about to be rewritten
    (a second run with the same ``out`` replaces its columns instead of failing)."""
    drop = [name for name in replaced if name in frame.columns]
    base = frame.drop(columns=drop) if drop else frame
    return base.copy(deep=False)


def _check_frame(frame: Any, what: str = "frame") -> None:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, not {type(frame).__name__}")


def _check_out(out: Any, frame: "pd.DataFrame | None" = None, sets: Sequence[str] | None = None,
               suffixes: Sequence[str] | None = None) -> str:
    """``out`` as a column name; with ``frame``, also refuse result columns that would overwrite
    the frame's own columns (:func:`_check_collisions`). ``sets`` are the column-set names when
    they are not ``out`` itself (compare: ``{out}_{slug}`` per model)."""
    if not isinstance(out, str) or not out.strip():
        raise ValueError(f"out must be a non-empty column name, not {out!r}")
    if frame is not None:
        _check_collisions(frame, out, list(sets) if sets is not None else [out], suffixes)
    return out


def _check_collisions(frame: "pd.DataFrame", out: str, sets: Sequence[str],
                      suffixes: Sequence[str] | None = None) -> None:
    """Refuse a run whose result columns (each set's ``COL``, ``COL_input_tokens`` … ``COL_error``)
    would replace columns of ``frame``: the result would silently lose an input next to its answer.
    Checked before anything is sent; the message is one line naming the column.

    One exception: ``frame`` is the result of an earlier run with the same ``out`` (it has the
    first set's ``COL`` and ``COL_error``): running it again replaces those answers, as documented.
    """
    columns = {str(c) for c in frame.columns}
    names = [name for col in sets for name in _Columns.names_for(col, suffixes)]
    taken = [name for name in names if name in columns]
    if not taken:
        return
    if sets[0] in columns and f"{sets[0]}_error" in columns:  # an earlier run's result
        return
    name = taken[0]
    which = "" if name == out else " (one of the result columns it adds)"
    raise ValueError(f"--out {out} would overwrite the frame's column {name!r}{which}; choose another --out "
                     f"(out= in Python), e.g. --out {_free_name(out, columns, names)}")


def _free_name(out: str, columns: set[str], names: Sequence[str]) -> str:
    """A suggestion for ``--out`` whose result columns are all free."""
    for candidate in (f"{out}_answer", "answer", "reply", "result") + tuple(f"answer{i}" for i in range(2, 100)):
        if all(name.replace(out, candidate, 1) not in columns for name in names) and candidate not in columns:
            return candidate
    return f"{out}_out"


def _rows(frame: "pd.DataFrame") -> Iterator[dict[str, Any]]:
    """Each row as a ``{column: value}`` dict, lazily (``itertuples`` is ~50× faster than ``iloc``)."""
    names = [str(name) for name in frame.columns]
    for values in frame.itertuples(index=False, name=None):
        yield dict(zip(names, values))


def _prompts(frame: "pd.DataFrame", template: str, namespace: Mapping[str, Any] | None) -> Iterator[str]:
    for row in _rows(frame):
        yield _render(template, namespace, row)


def _check_inputs(bm: "Bedrock", frame: "pd.DataFrame", template: Any, namespace: Mapping[str, Any] | None,
                  settings: Sequence[Mapping[str, Any]]) -> Request | None:
    """Fail at once, before anything is sent, on what would fail every row: a template naming a
    missing column (the templating module's one-line error on the first row) or bad settings
    (``Bedrock.request``'s ValueError). Returns the first row's request (None for an empty frame)."""
    if not isinstance(template, str) or not template.strip():
        raise ValueError(f"the template must be non-empty text, not {template!r}")
    for options in settings:
        bm.request("settings check", **options)
    if len(frame) == 0:
        return None
    first = next(_prompts(frame.iloc[:1], template, namespace))
    return bm.request(first, **settings[0]) if first.strip() else None


def _row_tasks(bm: "Bedrock", frame: "pd.DataFrame", template: str, namespace: Mapping[str, Any] | None,
               settings: Sequence[Mapping[str, Any]]) -> Iterator[_Task]:
    """One task per row and column set, built lazily. A row whose prompt cannot be rendered or is
    empty becomes an error row (never sent, no ledger row) instead of stopping the run."""
    for pos, row in enumerate(_rows(frame)):
        try:
            prompt = _render(template, namespace, row)
        except Exception as exc:  # noqa: BLE001 - e.g. an index that this row's value lacks
            for slot, options in enumerate(settings):
                yield _Task(pos, slot, None, failed=_unsent(options, f"the prompt of this row cannot be rendered: "
                                                                     f"{one_line(exc)}"))
            continue
        for slot, options in enumerate(settings):
            try:
                request = bm.request(prompt, **options)
            except ValueError as exc:  # an empty prompt, typically
                yield _Task(pos, slot, None, failed=_unsent(options, one_line(exc)))
            else:
                yield _Task(pos, slot, request)


def _unsent(options: Mapping[str, Any], error: str) -> Reply:
    return Reply(model=str(options.get("model") or ""), status="error", error=error, error_code="InvalidRow",
                 cost_usd=0.0)


def _finish(frame: "pd.DataFrame", stats: _Stats, progress: bool, noun: str = "rows",
            **extra: Any) -> "pd.DataFrame":
    """Record the run in ``frame.attrs["bedrock"]``, print its summary line, and raise
    :class:`BatchInterrupted` with the frame if the run was interrupted."""
    summary = stats.summary(noun)
    frame.attrs["bedrock"] = {**stats.as_dict(), "summary": summary, **extra}
    if progress:
        print(summary)
    if stats.interrupted:
        raise BatchInterrupted(frame, summary)
    return frame


# ==================================================================================================
# map_rows


def map_rows(bm: "Bedrock", frame: "pd.DataFrame", template: str, *, out: str = "answer",
             concurrency: int | None = None, use_cache: bool = True, progress: bool = True,
             namespace: Mapping[str, Any] | None = None, on_row: ProgressCallback | None = None,
             **overrides: Any) -> "pd.DataFrame":
    """One model call per row of ``frame``; a new frame with the answers.

    ``template`` is rendered per row: ``{column}`` from the row, ``{name}`` from ``namespace``.
    ``overrides`` are ``Bedrock.request`` settings (``model``, ``endpoint``, ``api``, ``system``,
    ``max_tokens``, ...), so a run works on every route.

    Returns a new frame with ``frame``'s index and columns plus ``out``, ``{out}_input_tokens``,
    ``{out}_output_tokens``, ``{out}_latency_ms``, ``{out}_cost_usd``, ``{out}_stop_reason``
    (``end_turn``, ``max_tokens`` …) and ``{out}_error`` (None when the row succeeded).
    ``result.attrs["bedrock"]`` holds the run's counts and its summary line (``"200 rows · 3 failed
    (ThrottlingException ×3) · 12 rows stopped at max tokens (…) · 12,345 tokens · $0.0123"``; costs
    through :func:`prices.format_usd`), which is also printed when ``progress`` is true — for an
    empty frame too (``"0 rows · 0 tokens · $0"``). Tokens and cost in the summary are what this
    run spent; rows served from the reply cache keep their original cost in ``{out}_cost_usd``.

    An ``out`` whose columns would overwrite columns of ``frame`` (``out="review"`` over a
    ``review`` column) is refused with one line before anything is sent; a frame that is the
    result of an earlier run with the same ``out`` is run again, replacing those answers.

    ``on_row(done, total, reply)`` is called in the calling thread after each row (for custom
    progress reporting; raising ``KeyboardInterrupt`` from it interrupts the run).

    Raises :class:`BatchInterrupted` (a ``KeyboardInterrupt``) on Ctrl-C, carrying the partial
    frame in ``.frame``: finished rows are kept, unsent rows have ``{out}_error == "cancelled"``.
    """
    _check_frame(frame)
    out = _check_out(out, frame)
    workers = _concurrency(bm, concurrency)
    first = _check_inputs(bm, frame, template, namespace, [overrides])
    columns = _Columns(out, len(frame))
    result = _base_frame(frame, columns.names())
    if first is not None:
        _warm_up(bm, first)
    runner = _Runner(bm, concurrency=workers, use_cache=use_cache, progress=progress and len(frame) > 0,
                     total=len(frame), desc=out, on_row=on_row)
    try:
        runner.run(_row_tasks(bm, frame, template, namespace, [overrides]),
                   lambda done: columns.put(done.task.pos, done.reply))
    except KeyboardInterrupt:
        pass  # runner.stats.interrupted is set: _finish raises BatchInterrupted with the frame
    columns.attach(result)
    return _finish(result, runner.stats, progress)  # "0 rows" too: an empty frame is no silent no-op


# ==================================================================================================
# compare

#: The columns of a single-prompt comparison, one row per model.
COMPARE_COLUMNS = ("model", "text", "input_tokens", "output_tokens", "latency_ms", "cost_usd", "error")


def model_slug(model: str, others: Sequence[str] = ()) -> str:
    """A short column-name-safe name for ``model``, unique among ``others``.

    >>> model_slug("us.amazon.nova-lite-v1:0")
    'nova_lite_v1_0'
    >>> model_slug("us.amazon.nova-lite-v1:0", ["us.amazon.nova-lite-v1:0", "eu.amazon.nova-lite-v1:0"])
    'us_amazon_nova_lite_v1_0'
    """
    others = list(dict.fromkeys(others or (model,)))
    shorts = [_short_slug(m) for m in others]
    if len(set(shorts)) == len(shorts):
        return _short_slug(model)
    return _slug(model)  # e.g. the same model through two geographies: keep the prefix


def _short_slug(model: str) -> str:
    ident = model.rsplit("/", 1)[-1]  # ARNs: the resource id
    ident = strip_geo(ident)
    ident = ident.split(".", 1)[1] if "." in ident else ident  # drop the provider
    return _slug(ident)


def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower() or "model"


def distinct_models(models: str | Sequence[str] | None) -> list[str]:
    """``models`` as a list, refused (ValueError, one line) when empty or when a model is given twice.

    A repeated ``-m`` is a mistake rather than a wish for two samples: the two answers would share
    one row, or one column set, and one would hide the other. ``compare`` and the magic's
    multi-model ``--dry-run`` both check with this.
    """
    if isinstance(models, str):
        models = [models]
    listed = list(models or ())
    if not listed:
        raise ValueError("compare needs at least one model")
    repeated = [model for model, n in Counter(listed).items() if n > 1]
    if repeated:
        raise ValueError(f"-m {repeated[0]} is given twice: each -m names a different model to compare "
                         "(to sample one model again, run the cell again)")
    return listed


def compare(bm: "Bedrock", prompt: str | None, models: Sequence[str], *, frame: "pd.DataFrame | None" = None,
            template: str | None = None, out: str = "answer", concurrency: int | None = None,
            use_cache: bool | None = None, progress: bool | None = None,
            namespace: Mapping[str, Any] | None = None, on_row: ProgressCallback | None = None,
            **overrides: Any) -> "pd.DataFrame":
    """The same prompt on several models, all calls concurrent.

    Without ``frame``: one row per model with ``model, text, input_tokens, output_tokens,
    latency_ms, cost_usd, error`` (plus ``stop_reason``); a model that failed is a row with its
    error, never dropped.

    With ``frame``: ``template`` (or ``prompt`` as the template) is rendered per row and sent to
    every model; the result has ``frame``'s columns plus one column set per model,
    ``{out}_{slug}``, ``{out}_{slug}_input_tokens`` ... ``{out}_{slug}_error``, where ``slug`` is
    :func:`model_slug` (``us.amazon.nova-lite-v1:0`` -> ``nova_lite_v1_0``);
    ``result.attrs["bedrock"]["columns"]`` maps each model to its slug.

    ``use_cache`` defaults to True with a frame (resume) and False for a single prompt (a fresh
    comparison). Raises :class:`BatchInterrupted` on Ctrl-C, like :func:`map_rows`.

    A model given twice is refused (ValueError): its two answers would share one row or one
    column set, so one would hide the other. To see how much one model varies, run it again.
    """
    import pandas as pd

    models = distinct_models(models)
    workers = _concurrency(bm, concurrency)
    if frame is not None:
        return _compare_frame(bm, frame, template or prompt, models, out=out, concurrency=workers,
                              use_cache=True if use_cache is None else use_cache,
                              progress=True if progress is None else progress, namespace=namespace,
                              on_row=on_row, overrides=overrides)
    if not isinstance(prompt, str):
        raise ValueError("compare needs a prompt (or a frame and a template)")

    requests = [bm.request(prompt, **{**overrides, "model": model}) for model in models]
    for request in requests:
        _warm_up(bm, request)
    replies: list[Reply | None] = [None] * len(models)

    def sink(done: _Done) -> None:
        replies[done.task.slot] = done.reply

    runner = _Runner(bm, concurrency=min(workers, len(models)), use_cache=bool(use_cache),
                     progress=bool(progress), total=len(models), desc="compare", on_row=on_row, unit="model")
    try:
        runner.run((_Task(0, slot, request) for slot, request in enumerate(requests)), sink)
    except KeyboardInterrupt:
        pass
    rows = []
    for model, request, reply in zip(models, requests, replies):
        reply = reply or _cancelled(request)
        rows.append({"model": model, "text": reply.text if reply.ok else None,
                     "input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
                     "latency_ms": reply.latency_ms, "cost_usd": reply.cost_usd,
                     "error": None if reply.ok else (reply.error or reply.error_code or "error"),
                     "stop_reason": reply.stop_reason})
    result = pd.DataFrame(rows, columns=[*COMPARE_COLUMNS, "stop_reason"])
    return _finish(result, runner.stats, bool(progress), noun="models")


def _compare_frame(bm: "Bedrock", frame: "pd.DataFrame", template: str | None, models: list[str], *, out: str,
                   concurrency: int, use_cache: bool, progress: bool, namespace: Mapping[str, Any] | None,
                   on_row: ProgressCallback | None, overrides: dict[str, Any]) -> "pd.DataFrame":
    _check_frame(frame)
    out = _check_out(out)
    if not isinstance(template, str):
        raise ValueError("compare over a frame needs a template (or the prompt as the template)")
    slugs = {model: model_slug(model, models) for model in models}
    _check_out(out, frame, sets=[f"{out}_{slugs[model]}" for model in models])
    sets = [_Columns(f"{out}_{slugs[model]}", len(frame)) for model in models]
    result = _base_frame(frame, [name for cols in sets for name in cols.names()])
    settings = [{**overrides, "model": model} for model in models]
    first = _check_inputs(bm, frame, template, namespace, settings)
    if first is not None:
        for options in settings:
            _warm_up(bm, bm.request(first.prompt, **options))
    # Tasks go row by row, every model per row: an interrupted run has whole rows, not whole models.
    runner = _Runner(bm, concurrency=concurrency, use_cache=use_cache, progress=progress and len(frame) > 0,
                     total=len(frame) * len(models), desc=f"compare {len(models)} models", on_row=on_row,
                     unit="call")
    try:
        runner.run(_row_tasks(bm, frame, template, namespace, settings),
                   lambda done: sets[done.task.slot].put(done.task.pos, done.reply))
    except KeyboardInterrupt:
        pass
    for cols in sets:
        cols.attach(result)
    return _finish(result, runner.stats, progress, noun="calls", columns=slugs)


# ==================================================================================================
# dry_run

#: ``count_method`` values: Bedrock's CountTokens, or this module's estimate.
COUNT_TOKENS, ESTIMATE, INVALID = "count_tokens", "estimate", "invalid row"


def estimate_tokens(request: Request) -> int:
    """A rough input-token count for ``request``: about four characters per token (the usual
    rule of thumb for English with BPE tokenizers), plus three per message for the chat format.
    Tool definitions count too (their names, descriptions and JSON schemas are sent as input)."""
    chars = len(request.system or "")
    for message in request.messages:
        for block in message.get("content", ()):
            if "text" in block:
                chars += len(block["text"])
            else:
                chars += len(json.dumps(block, default=str))
    if request.tools:
        chars += len(json.dumps([{"name": t.name, "description": t.description, "parameters": t.parameters}
                                 for t in request.tools], default=str))
    return math.ceil(chars / 4) + 3 * len(request.messages)


def _count_tokens_input(request: Request) -> dict[str, Any]:
    """CountTokens' ``input.converse``: the Converse request the call would send, minus what
    CountTokens does not take (model id, inference settings) — so tool schemas and a conversation's
    history are counted exactly as they will be billed."""
    from .routes.converse import converse_kwargs

    body = converse_kwargs(request)
    return {key: body[key] for key in ("messages", "system", "toolConfig", "additionalModelRequestFields")
            if key in body}


def _billed_request(bm: "Bedrock", request: Request, chat: str | None) -> Request:
    """``request`` as the service bills it: a conversation kept server-side (mantle Responses'
    ``previous_response_id``) is billed as input too, so its history is put back for counting."""
    if request.previous_response_id is None or chat is None or chat not in bm.chats:
        return request
    from dataclasses import replace

    history = tuple(bm.chats.get(chat).messages)
    return replace(request, messages=history + tuple(request.messages), previous_response_id=None)


def _dry_run_chat(bm: "Bedrock", overrides: dict[str, Any]) -> str | None:
    """The conversation name among ``overrides`` (``chat=True``: the default one). A name with no
    history yet is dropped, so that an estimate never creates a conversation."""
    chat = chat_name(overrides.get("chat"))
    if chat is None or chat not in bm.chats:
        overrides.pop("chat", None)
        return None
    overrides["chat"] = chat
    return chat


def _bare_model(model: str) -> str:
    """The foundation-model id behind a profile id or ARN (CountTokens takes only bare ids); an ARN
    that names no model is left as it is (CountTokens then refuses it and the row is estimated)."""
    return base_model_id(model) or model


class _TokenCounter:
    """CountTokens where the model supports it, the estimate elsewhere; learns per model.

    Bedrock documents CountTokens for some models only (Anthropic Claude) and only by bare
    foundation-model id; the client cannot know which in advance, so the first ValidationException
    for a model switches that model to the estimate for the rest of the run. Any other failure (a
    throttle, a dropped connection) estimates only its own row. CountTokens is free.
    """

    def __init__(self, bm: "Bedrock") -> None:
        self.bm = bm
        self._unsupported: dict[str, str] = {}
        self._lock = threading.Lock()
        self.notes: dict[str, str] = {}

    def estimates(self, request: Request) -> bool:
        """True when ``request`` is estimated without asking Bedrock (known unsupported)."""
        return request.endpoint != "runtime" or _bare_model(request.model) in self._unsupported

    def count(self, request: Request | None) -> tuple[int, str]:
        if request is None:  # the row has no prompt
            return 0, INVALID
        model = _bare_model(request.model)
        if request.endpoint != "runtime" or model in self._unsupported:
            return estimate_tokens(request), ESTIMATE
        try:
            client = _runtime_client(self.bm, request)
            response = client.count_tokens(modelId=model, input={"converse": _count_tokens_input(request)})
            return int(response["inputTokens"]), COUNT_TOKENS
        except Exception as exc:  # noqa: BLE001 - a count is never worth failing a dry run
            with self._lock:
                if code_of(exc) == "ValidationException":  # "doesn't support counting tokens"
                    self._unsupported[model] = one_line(exc)
                    self.notes.setdefault(request.model, f"CountTokens unavailable: {one_line(exc)}")
                else:  # transient: this row is estimated, the next one asks again
                    self.notes.setdefault(request.model, f"CountTokens failed for some rows (estimated): "
                                                         f"{one_line(exc)}")
            return estimate_tokens(request), ESTIMATE


def _runtime_client(bm: "Bedrock", request: Request) -> Any:
    """The boto3 ``bedrock-runtime`` client ``bm`` uses for ``request``'s region."""
    return bm.clients.get(request.region, "runtime", "bedrock-runtime")


def dry_run(bm: "Bedrock", frame_or_prompt: "pd.DataFrame | str", template: str | None = None, *,
            namespace: Mapping[str, Any] | None = None, concurrency: int | None = None,
            progress: bool = False, **overrides: Any) -> "pd.DataFrame":
    """Count input tokens and estimate cost, sending nothing billable.

    ``frame_or_prompt`` is a DataFrame (with ``template`` rendered per row, as in :func:`map_rows`)
    or a single prompt. Returns a frame (``frame``'s index and columns, or one row) plus
    ``prompt``, ``input_tokens``, ``count_method`` (``"count_tokens"``: Bedrock's CountTokens,
    free; ``"estimate"``: ~4 characters per token, for models without CountTokens),
    ``input_cost_usd``, ``max_output_tokens`` (the request's ``max_tokens``) and ``max_cost_usd``
    (input + ``max_output_tokens`` at output prices: an upper bound; NaN without ``max_tokens``).

    The count is of the request the real call would send: ``tools=`` (their schemas are input
    tokens) and ``chat=`` (the conversation's history, also when mantle keeps it server-side) are
    counted too. ``result.attrs["bedrock"]`` holds the totals and a summary line (printed when
    ``progress``).
    """
    import numpy as np
    import pandas as pd

    overrides = dict(overrides)
    chat = _dry_run_chat(bm, overrides)
    if isinstance(frame_or_prompt, str):
        base = pd.DataFrame(index=pd.RangeIndex(1))
        tasks: Iterable[_Task] = [_Task(0, 0, bm.request(frame_or_prompt, **overrides))]
    else:
        _check_frame(frame_or_prompt, "frame_or_prompt")
        base = frame_or_prompt
        first = _check_inputs(bm, base, template, namespace, [overrides])
        if first is not None:
            _warm_up(bm, first)
        tasks = _row_tasks(bm, base, template, namespace, [overrides])
    n = len(base)
    workers = _concurrency(bm, concurrency)
    counter = _TokenCounter(bm)
    tokens = np.zeros(n, dtype="int64")
    methods = np.full(n, INVALID, dtype=object)
    prompt_col = np.full(n, None, dtype=object)
    model_col = np.full(n, None, dtype=object)
    max_out = np.full(n, np.nan)
    input_per_1k = np.full(n, np.nan)  # each row's model's prices
    output_per_1k = np.full(n, np.nan)
    price_of: dict[str, Any] = {}  # one price lookup per model, not per row

    def store(pos: int, result: tuple[int, str]) -> None:
        tokens[pos], methods[pos] = result

    # Rows stream through a bounded window (no list of every request, no future per row held at
    # once); rows of models already known to lack CountTokens are estimated inline.
    window: list[tuple[int, Future]] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bedrock-count") as pool:
        for task in tasks:
            request = task.request
            if request is None:
                continue
            request = _billed_request(bm, request, chat)
            pos = task.pos
            prompt_col[pos], model_col[pos] = request.prompt, request.model
            if request.max_tokens:
                max_out[pos] = request.max_tokens
            price = price_of.get(request.model, False)
            if price is False:
                price = price_of[request.model] = bm.price_for(request.model, request.region)
            if price is not None:
                input_per_1k[pos] = price.input_per_1k
                output_per_1k[pos] = price.output_per_1k
            if counter.estimates(request):
                store(pos, (estimate_tokens(request), ESTIMATE))
                continue
            window.append((pos, pool.submit(counter.count, request)))
            if len(window) >= 4 * workers:
                done_pos, future = window.pop(0)
                store(done_pos, future.result())
        for done_pos, future in window:
            store(done_pos, future.result())
    input_cost = tokens / 1000 * input_per_1k
    max_cost = input_cost + max_out / 1000 * output_per_1k

    result = _base_frame(base, ["prompt", "model", "input_tokens", "count_method", "input_cost_usd",
                                "max_output_tokens", "max_cost_usd"])
    result["prompt"] = prompt_col
    result["model"] = model_col
    result["input_tokens"] = tokens
    result["count_method"] = methods
    result["input_cost_usd"] = input_cost
    result["max_output_tokens"] = pd.array([None if math.isnan(v) else int(v) for v in max_out], dtype="Int64")
    result["max_cost_usd"] = max_cost

    from .prices import format_usd

    total_in = int(tokens.sum())
    method_counts = Counter(methods.tolist())
    how = ", ".join(f"{k} ×{v:,}" for k, v in method_counts.most_common())
    parts = [f"{n:,} {'row' if n == 1 else 'rows'}", f"{total_in:,} input tokens ({how})",
             f"input ≈ {format_usd(np.nansum(input_cost))}" if not np.isnan(input_cost).all() else "price unknown"]
    if n and not np.isnan(max_cost).any():
        parts.append(f"at most {format_usd(max_cost.sum())} with max_tokens")
    parts.append("nothing sent")
    summary = " · ".join(parts)
    result.attrs["bedrock"] = {"rows": n, "input_tokens": total_in, "input_cost_usd": float(np.nansum(input_cost)),
                               "max_cost_usd": float(max_cost.sum()) if not np.isnan(max_cost).any() else math.nan,
                               "count_methods": dict(method_counts), "notes": dict(counter.notes),
                               "summary": summary}
    if progress:
        print(summary)
    return result


# ==================================================================================================
# embed_rows


def embed_rows(bm: "Bedrock", frame: "pd.DataFrame | Sequence[str]", column: str | None = None, *,
               out: str | None = None, model: str | None = None, concurrency: int | None = None,
               dimensions: int | None = None, normalize: bool | None = None, input_type: str | None = None,
               use_cache: bool = True, progress: bool = True, on_row: ProgressCallback | None = None,
               region: str | None = None) -> "pd.DataFrame":
    """Embed one text column: one InvokeModel call per row, concurrent, resumable like :func:`map_rows`.

    ``model`` is an embedding model: Titan Text Embeddings (``amazon.titan-embed-text-v2:0``, which
    takes ``dimensions`` 256/512/1024 and ``normalize``) or Cohere Embed
    (``cohere.embed-english-v3``, ``cohere.embed-multilingual-v3``, which take ``input_type``:
    ``search_document`` by default, ``search_query``, ``classification``, ``clustering``).
    ``frame`` may also be a list or Series of texts (then the column is ``text``).

    Returns a new frame with ``frame``'s index and columns plus ``out`` (default
    ``{column}_embedding``: one 1-D ``numpy.float32`` array per row, None when the row failed),
    ``{out}_input_tokens``, ``{out}_cost_usd`` and ``{out}_error``. A row whose cell is empty or
    not text is an error row and is not sent. Raises :class:`BatchInterrupted` on Ctrl-C.
    """
    import numpy as np
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        if isinstance(frame, str) or not isinstance(frame, Iterable):
            raise TypeError("embed_rows takes a DataFrame and a column name, or a list of texts")
        frame = pd.DataFrame({"text": list(frame)}, index=frame.index if isinstance(frame, pd.Series) else None)
        column = column or "text"
    if column is None or column not in frame.columns:
        known = ", ".join(map(str, frame.columns[:10]))
        raise ValueError(f"the column to embed (--embed COLUMN, column= in Python) must be a text column of the "
                         f"frame; {column!r} is not one of: {known}")
    if not model:
        raise ValueError("an embedding model is needed: add -m amazon.titan-embed-text-v2:0 "
                         "(or -m cohere.embed-english-v3; model=... in Python)")
    from .routes import codecs

    # An ARN (an application profile routing to Titan Embeddings) is known by the catalog's base model.
    family = bm.family_of(model, region, fetch=True)
    if family not in codecs.EMBED_FAMILIES:
        raise ValueError(f"{model} is not an embedding model: use -m amazon.titan-embed-text-v2:0 (Titan Text "
                         "Embeddings) or -m cohere.embed-english-v3 (Cohere Embed)")
    suffixes = ("input_tokens", "cost_usd", "error")
    out = _check_out(out or f"{column}_embedding", frame, suffixes=suffixes)
    workers = _concurrency(bm, concurrency)
    extra = {name: value for name, value in (("dimensions", dimensions), ("normalize", normalize),
                                             ("input_type", input_type)) if value is not None}
    settings: dict[str, Any] = {"model": model, "endpoint": "runtime", "api": "invoke", "extra": extra}
    if region:
        settings["region"] = region
    _warm_up(bm, bm.request("settings check", **settings))

    def tasks() -> Iterator[_Task]:
        for pos, text in enumerate(frame[column].tolist()):
            if not isinstance(text, str) or not text.strip():
                yield _Task(pos, 0, None, failed=_unsent(settings, f"no text to embed in column {column!r} "
                                                                   f"(found {text!r})"))
            else:
                yield _Task(pos, 0, bm.request(text, **settings))

    def vector(reply: Reply) -> Any:
        return None if reply.embedding is None else np.asarray(reply.embedding, dtype=np.float32)

    columns = _Columns(out, len(frame), value=vector, suffixes=suffixes)
    result = _base_frame(frame, columns.names())
    runner = _Runner(bm, concurrency=workers, use_cache=use_cache, progress=progress and len(frame) > 0,
                     total=len(frame), desc=out, on_row=on_row)
    try:
        runner.run(tasks(), lambda done: columns.put(done.task.pos, done.reply))
    except KeyboardInterrupt:
        pass
    columns.attach(result)
    return _finish(result, runner.stats, progress)
