"""Row helpers shared by the DataFrame runs (:mod:`~bedrock_magics.batch`,
:mod:`~bedrock_magics.dryrun`, :mod:`~bedrock_magics.jobs`): checking a frame and its ``--out``
before anything is sent, rendering each row's prompt into a request, and the result columns.

Settings are resolved once per run: :func:`check_inputs` builds the run's request templates with
``bm.request_template`` (every setting checked, the conversation attached), and :func:`row_tasks`
fills each row's prompt into them, instead of resolving every setting again for every row.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from .attachments import attachment, check_count, check_route
from .errors import one_line
from .reply import Reply
from .request import Request, RequestTemplate
from .runner import CANCELLED, BatchInterrupted, Stats, Task
from .templating import render

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .core import Bedrock

__all__ = ["Columns", "base_frame", "check_frame", "check_inputs", "check_out", "distinct_models", "finish", "iter_rows", "prompts",
           "render_prompt", "row_tasks", "unsent"]


def render_prompt(template: str, namespace: Mapping[str, Any] | None, row: Mapping[str, Any] | None) -> str:
    return render(template, namespace or {}, row=row)



class Columns:
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

    def attach(self, frame: "pd.DataFrame", unsent: str = CANCELLED) -> None:
        """Add the columns to ``frame`` in place (by position, so any index works); rows never sent
        read ``unsent`` as their error (``Stats.unsent_error``: cancelled, or skipped and why)."""
        import pandas as pd

        if unsent != CANCELLED:  # rows still at the default (a job's missing records have their own error)
            self.error[~self.filled & (self.error == CANCELLED)] = unsent
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


def base_frame(frame: "pd.DataFrame", replaced: Sequence[str]) -> "pd.DataFrame":
    """A new frame with ``frame``'s index and columns, minus result columns about to be rewritten
    (a second run with the same ``out`` replaces its columns instead of failing)."""
    drop = [name for name in replaced if name in frame.columns]
    base = frame.drop(columns=drop) if drop else frame
    return base.copy(deep=False)


def check_frame(frame: Any, what: str = "frame") -> None:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, not {type(frame).__name__}")


def check_out(out: Any, frame: "pd.DataFrame | None" = None, sets: Sequence[str] | None = None,
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
    names = [name for col in sets for name in Columns.names_for(col, suffixes)]
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


def iter_rows(frame: "pd.DataFrame") -> Iterator[dict[str, Any]]:
    """Each row as a ``{column: value}`` dict, lazily (``itertuples`` is ~50× faster than ``iloc``)."""
    names = [str(name) for name in frame.columns]
    for values in frame.itertuples(index=False, name=None):
        yield dict(zip(names, values))


def prompts(frame: "pd.DataFrame", template: str, namespace: Mapping[str, Any] | None) -> Iterator[str]:
    for row in iter_rows(frame):
        yield render_prompt(template, namespace, row)


def check_inputs(bm: "Bedrock", frame: "pd.DataFrame", template: Any, namespace: Mapping[str, Any] | None,
                 settings: Sequence[Mapping[str, Any]]) -> tuple[list[RequestTemplate], Request | None]:
    """Fail at once, before anything is sent, on what would fail every row: a template naming a
    missing column (the templating module's one-line error on the first row) or bad settings
    (``Bedrock.request``'s ValueError). Returns the run's request templates, one per column set
    (its settings resolved once), and the first row's request (None for an empty frame)."""
    if not isinstance(template, str) or not template.strip():
        raise ValueError(f"the template must be non-empty text, not {template!r}")
    templates = [bm.request_template(**options) for options in settings]
    if len(frame) == 0:
        return templates, None
    first = next(prompts(frame.iloc[:1], template, namespace))
    return templates, (templates[0].fill(first) if first.strip() else None)


def row_tasks(templates: Sequence[RequestTemplate], frame: "pd.DataFrame", template: str,
              namespace: Mapping[str, Any] | None, settings: Sequence[Mapping[str, Any]],
              attach: Sequence[tuple[str, str]] = ()) -> Iterator[Task]:
    """One task per row and column set, built lazily: each row's prompt filled into the run's
    request templates. A row whose prompt cannot be rendered or is empty becomes an error row
    (never sent, no ledger row) instead of stopping the run."""
    for pos, row in enumerate(iter_rows(frame)):
        try:
            prompt = render_prompt(template, namespace, row)
        except Exception as exc:  # noqa: BLE001 - e.g. an index that this row's value lacks
            for slot, options in enumerate(settings):
                yield Task(pos, slot, None, failed=unsent(options, f"the prompt of this row cannot be rendered: "
                                                                     f"{one_line(exc)}"))
            continue
        for slot, options in enumerate(settings):
            try:
                request = templates[slot].fill(prompt, tuple(attachment(row[column], kind, f"{{{column}}}")
                                                             for kind, column in attach))
                if attach:  # the row's files with the run's: how many, and a video's route
                    blocks = [b for b in request.messages[-1]["content"] if "text" not in b]
                    check_count(blocks)
                    check_route(blocks, request.api)
            except ValueError as exc:  # an empty prompt, a row's file missing or too big
                yield Task(pos, slot, None, failed=unsent(options, one_line(exc)))
            else:
                yield Task(pos, slot, request)


def unsent(options: Mapping[str, Any], error: str) -> Reply:
    return Reply(model=str(options.get("model") or ""), status="error", error=error, error_code="InvalidRow",
                 cost_usd=0.0)


def finish(frame: "pd.DataFrame", stats: Stats, progress: bool, noun: str = "rows",
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
