"""The table modes of a ``%%bedrock`` cell, each one call of the Python API: compare, map, embed,
batch job, dry run (:data:`MODES`); and what a cell's ``--profile`` and an interrupted run do.

IPython glue for :mod:`~bedrock_magics.magics`, which picks the mode (:func:`mode_of`) and shows
the result; a single prompt (streamed) stays in the magic.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from . import frameview
from .core import Bedrock

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from . import options

__all__ = ["MODES", "Run", "batch_interrupted", "cell_profile", "mode_of"]


@dataclass
class Run:
    """A table-mode cell, resolved: the frame (None: one prompt), its template and the settings."""

    frame: Any
    template: str
    ns: Any
    out: str
    settings: dict[str, Any]
    common: dict[str, Any]  # settings plus namespace, concurrency and progress


def _job(bm: Bedrock, opts: options.CellOptions, run: Run) -> Any:
    from . import jobs  # loaded on first use, like every feature module (see core)

    return jobs.submit_job(bm, run.frame, run.template, s3_uri=opts.job, role_arn=opts.role, out=run.out,
                           namespace=run.ns, progress=not opts.quiet, **run.settings)


def _dry_run(bm: Bedrock, opts: options.CellOptions, run: Run) -> Any:
    """One estimate, or one per model for ``-m A -m B``; of the request the real call would send
    (tools and conversation history included)."""
    what = (run.template,) if run.frame is None else (run.frame, run.template)
    return bm.dry_run(*what, models=opts.models if len(opts.models) > 1 else None,
                      **dict(run.common, tools=opts.tools or None, chat=opts.chat))


def _embed(bm: Bedrock, opts: options.CellOptions, run: Run) -> Any:
    """``--embed``: one vector of the cell's text and ``--image`` (a Reply), or one per row of ``--df``."""
    common = dict(model=run.settings.get("model"), region=opts.region, dimensions=opts.dimensions,
                  images=opts.features.get("images"))
    if run.frame is None:
        return bm.embed(run.template or None, **common)
    return bm.embed(run.frame, opts.embed or None, out=opts.out, concurrency=opts.concurrency, use_cache=opts.cache,
                    progress=not opts.quiet, **common)


def _compare(bm: Bedrock, opts: options.CellOptions, run: Run) -> Any:
    def call(**guard: Any) -> Any:
        return bm.compare(run.template, models=opts.models, frame=run.frame, out=run.out, long=opts.long,
                          use_cache=None if run.frame is None else opts.cache, **dict(run.common, **guard))

    # Answers whole and wrapped, side by side (pandas would cut them at 50 characters).
    return frameview.shown_as(_capped(bm, opts, run, call), wrap=True)


def _map(bm: Bedrock, opts: options.CellOptions, run: Run) -> Any:
    return _capped(bm, opts, run, lambda **guard: bm.map(run.frame, run.template, out=run.out, use_cache=opts.cache,
                                                          **dict(run.common, **guard)))


def _capped(bm: Bedrock, opts: options.CellOptions, run: Run, call: Callable[..., Any]) -> Any:
    """``call()``, under ``--max-cost`` when given: the dry run's worst case is shown first, and the
    run stops (through the runner's ``on_row``) before it could spend past the cap; the partial frame
    is returned with one line saying so."""
    if opts.max_cost is None:
        return call()
    from . import costcap
    from .errors import BatchInterrupted
    from .prices import format_usd

    models = opts.models if len(opts.models) > 1 else None
    estimate = bm.dry_run(run.frame, run.template, models=models, **dict(run.common, progress=False))
    worst = estimate["max_cost_usd"]
    per_call = float(worst.max()) if len(worst) and not worst.isna().any() else float("nan")
    cap = costcap.CostCap(opts.max_cost, per_call, len(estimate), bm.concurrency if opts.concurrency is None
                          else opts.concurrency)
    total = float(worst.sum()) if len(worst) else 0.0
    if not opts.quiet:
        within = "within" if total <= opts.max_cost else "over"
        print(f"estimate: {len(estimate):,} calls, at most {format_usd(total)} with max_tokens ({within} "
              f"--max-cost {format_usd(opts.max_cost)}; concurrency {cap.concurrency})")
    try:
        return call(on_row=cap.on_row, concurrency=cap.concurrency)
    except BatchInterrupted as stop:
        if not cap.reached:
            raise
        print(cap.line())
        return stop.frame


#: The table modes of a cell: mode -> ``callable(bm, opts, run)``. ``single`` (one prompt, shown
#: as it streams) is :meth:`BedrockMagics._ask`.
MODES: dict[str, Callable[[Bedrock, options.CellOptions, Run], Any]] = {
    "job": _job, "dry_run": _dry_run, "embed": _embed, "compare": _compare, "map": _map}


def mode_of(opts: options.CellOptions) -> str:
    """The cell's mode: ``job`` (even with --dry-run), ``dry_run``, else ``options``' own mode."""
    return "dry_run" if opts.dry_run and opts.mode != "job" else opts.mode


@contextmanager
def cell_profile(bm: Any, profile: str | None) -> Iterator[None]:
    """``--profile P``: that AWS profile for this cell only.

    Set and restored quietly (``Bedrock._quietly``): a line option must not leave ``%bedrock status``
    saying the profile was "set in Python"; a region that follows the profile follows it back.
    ``_quietly`` is private to the settings class and has no public twin yet; the magic is the one
    caller outside ``config``, so it reaches in rather than widening the public API.
    """
    before = bm.profile
    if profile is None or profile == before:
        yield
        return
    with bm._quietly():
        bm.profile = profile
    try:
        yield
    finally:
        with bm._quietly():
            bm.profile = before


def batch_interrupted(opts: options.CellOptions, stop: Any) -> list[str]:
    """What an interrupted table run shows: the run's summary (unless it was printed already) and
    where the partial result is. ``stop`` is a ``batch.BatchInterrupted``."""
    lines = [f"KeyboardInterrupt: {stop.summary}"] if opts.quiet else []
    where = f"partial results in {opts.dest}" if opts.dest else "the partial results were not kept (no DEST)"
    resumes = opts.cache and opts.df is not None
    again = "run the cell again to finish: answered rows are not sent again" if resumes else \
        "run the cell again to start over"
    first = "" if lines else "KeyboardInterrupt: "
    lines.append(f"{first}interrupted; {where} (the rest marked cancelled); {again}")
    return lines
