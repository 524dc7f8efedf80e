"""DataFrames at scale: one call per row (:func:`map_rows`), model comparison (:func:`compare`),
embeddings (:func:`embed_rows`).

Every row goes through the one runner (:mod:`~bedrock_magics.runner`: a bounded thread pool,
pacing, resume from the reply cache, Ctrl-C keeping the finished rows) and the shared row helpers
(:mod:`~bedrock_magics.rows`). So every row of a run behaves exactly like one ``%%bedrock`` cell
on the same route.

* Nothing is silent: answers cut off at ``max_tokens`` are counted in the summary line (and
  ``COL_stop_reason`` says which), an empty frame still gets its columns and a "0 rows" line, and
  result columns never overwrite the frame's own (one-line ValueError before anything is sent).

Dry runs are :mod:`bedrock_magics.dryrun`; Bedrock batch inference jobs (rows as JSONL in S3,
``CreateModelInvocationJob``) are :mod:`bedrock_magics.jobs`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from . import embedding
from .attachments import labelled, split_columns
from .errors import one_line
from .modelids import strip_geo
from .reply import Reply
from .rows import (
    Columns,
    base_frame,
    check_frame,
    check_inputs,
    check_out,
    distinct_models,
    finish,
    iter_rows,
    row_tasks,
    unsent,
)
from .runner import (
    DEFAULT_CONCURRENCY,
    THROTTLE_PATIENCE_S,
    BatchInterrupted,
    Done,
    ProgressCallback,
    Runner,
    Task,
    cancelled_reply,
    concurrency_of,
    warm_up,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .core import Bedrock

__all__ = [
    "BatchInterrupted", "THROTTLE_PATIENCE_S", "DEFAULT_CONCURRENCY", "COMPARE_COLUMNS",
    "map_rows", "compare", "long_form", "distinct_models", "embed_rows", "model_slug",
]


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
    check_frame(frame)
    out = check_out(out, frame)
    workers = concurrency_of(bm, concurrency)
    overrides, attach = split_columns(overrides, frame.columns)  # --image {column}: each row's own file
    templates, first = check_inputs(bm, frame, template, namespace, [overrides])
    columns = Columns(out, len(frame))
    fields = SchemaColumns.of(templates[0].base.schema, frame, out, len(frame))
    result = base_frame(frame, columns.names() + (fields.names() if fields else []))
    if first is not None:
        warm_up(bm, first)
    runner = Runner(bm, concurrency=workers, use_cache=use_cache, progress=progress and len(frame) > 0,
                     total=len(frame), desc=out, on_row=on_row)

    def put(done: Any) -> None:
        if fields is not None:
            fields.put(done.task.pos, done.reply)  # first: a reply that does not fit becomes the row's error
        columns.put(done.task.pos, done.reply)

    try:
        runner.run(row_tasks(templates, frame, template, namespace, [overrides], attach), put)
    except KeyboardInterrupt:
        pass  # runner.stats.interrupted is set: finish raises BatchInterrupted with the frame
    columns.attach(result, runner.stats.unsent_error)
    if fields is not None:
        fields.attach(result)
    return finish(result, runner.stats, progress)  # "0 rows" too: an empty frame is no silent no-op


class SchemaColumns:
    """``--schema`` with ``--df``: one typed column per top-level field of the schema, filled from
    each row's validated object (a row served from the reply cache is validated here)."""

    def __init__(self, schema: Any, names: dict[str, str], n: int) -> None:
        self.schema, self.names_of = schema, names  # field -> column name
        self.values: dict[str, list[Any]] = {name: [None] * n for name in names}

    @classmethod
    def of(cls, schema: Any, frame: "pd.DataFrame", out: str, n: int) -> "SchemaColumns | None":
        """The field columns of ``schema`` (None without one); ``ValueError`` (one line) when a field
        would overwrite a column of ``frame``: fields are named plainly unless ``out`` is given
        (not ``answer``), then ``{out}_{field}``."""
        if schema is None:
            return None
        prefix = "" if out == "answer" else f"{out}_"
        names = {field: f"{prefix}{field}" for field in schema.fields}
        taken = [name for name in names.values() if name in {str(c) for c in frame.columns}]
        if taken and not (out in frame.columns and f"{out}_error" in frame.columns):
            raise ValueError(f"the schema's field {taken[0]!r} would overwrite the frame's column {taken[0]!r}; "
                             f"give --out NAME (out= in Python) to name the fields NAME_<field>")
        return cls(schema, names, n)

    def names(self) -> list[str]:
        return list(self.names_of.values())

    def put(self, pos: int, reply: Reply) -> None:
        if not reply.ok:
            return
        data = reply.data
        if data is None:
            from .schema import SchemaError

            try:
                data = reply.data = self.schema.validate(reply.text)
            except SchemaError as exc:
                reply.status, reply.error, reply.error_code = "error", str(exc), "SchemaValidation"
                return
        for field, value in self.schema.row(data).items():
            self.values[field][pos] = value

    def attach(self, frame: "pd.DataFrame") -> None:
        import pandas as pd

        for field, name in self.names_of.items():
            dtype = self.schema.fields[field]
            try:
                frame[name] = pd.array(self.values[field], dtype=None if dtype == "object" else dtype)
            except (TypeError, ValueError):  # values the dtype cannot hold: keep them as they are
                frame[name] = pd.Series(self.values[field], index=frame.index, dtype=object).to_numpy()


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


def compare(bm: "Bedrock", prompt: str | None, models: Sequence[str], *, frame: "pd.DataFrame | None" = None,
            template: str | None = None, out: str = "answer", concurrency: int | None = None,
            use_cache: bool | None = None, progress: bool | None = None,
            namespace: Mapping[str, Any] | None = None, on_row: ProgressCallback | None = None,
            long: bool = False, **overrides: Any) -> "pd.DataFrame":
    """The same prompt on several models, all calls concurrent.

    Without ``frame``: one row per model with ``model, text, input_tokens, output_tokens,
    latency_ms, cost_usd, error`` (plus ``stop_reason``); a model that failed is a row with its
    error, never dropped.

    With ``frame``: ``template`` (or ``prompt`` as the template) is rendered per row and sent to
    every model; the result has ``frame``'s columns plus one column set per model,
    ``{out}_{slug}``, ``{out}_{slug}_input_tokens`` ... ``{out}_{slug}_error``, where ``slug`` is
    :func:`model_slug` (``us.amazon.nova-lite-v1:0`` -> ``nova_lite_v1_0``);
    ``result.attrs["bedrock"]["columns"]`` maps each model to its slug. ``long=True`` gives the
    long form instead (:func:`long_form`): one row per row × model, with a ``model`` column and one
    column set ``{out}``, ``{out}_input_tokens`` ... ``{out}_error``, easy to group and plot.

    ``use_cache`` defaults to True with a frame (resume) and False for a single prompt (a fresh
    comparison). Raises :class:`BatchInterrupted` on Ctrl-C, like :func:`map_rows`.

    A model given twice is refused (ValueError): its two answers would share one row or one
    column set, so one would hide the other. To see how much one model varies, run it again.
    """
    import pandas as pd

    models = distinct_models(models)
    workers = concurrency_of(bm, concurrency)
    if frame is not None:
        try:
            wide = _compare_frame(bm, frame, template or prompt, models, out=out, concurrency=workers,
                                  use_cache=True if use_cache is None else use_cache,
                                  progress=True if progress is None else progress, namespace=namespace,
                                  on_row=on_row, overrides=overrides)
        except BatchInterrupted as stop:  # the partial frame in the layout asked for
            stop.frame = long_form(stop.frame, frame.columns, out) if long else stop.frame
            raise
        return long_form(wide, frame.columns, out) if long else wide
    if not isinstance(prompt, str):
        raise ValueError("compare needs a prompt (or a frame and a template)")

    requests = [bm.request(prompt, **{**overrides, "model": model}) for model in models]
    for request in requests:
        warm_up(bm, request)
    replies: list[Reply | None] = [None] * len(models)

    def sink(done: Done) -> None:
        replies[done.task.slot] = done.reply

    runner = Runner(bm, concurrency=min(workers, len(models)), use_cache=bool(use_cache),
                     progress=bool(progress), total=len(models), desc="compare", on_row=on_row, unit="model")
    try:
        runner.run((Task(0, slot, request) for slot, request in enumerate(requests)), sink)
    except KeyboardInterrupt:
        pass
    rows = []
    for model, request, reply in zip(models, requests, replies):
        reply = reply or cancelled_reply(request)
        rows.append({"model": model, "text": reply.text if reply.ok else None,
                     "input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
                     "latency_ms": reply.latency_ms, "cost_usd": reply.cost_usd,
                     "error": None if reply.ok else (reply.error or reply.error_code or "error"),
                     "stop_reason": reply.stop_reason})
    result = pd.DataFrame(rows, columns=[*COMPARE_COLUMNS, "stop_reason"])
    return finish(result, runner.stats, bool(progress), noun="models")


def _compare_frame(bm: "Bedrock", frame: "pd.DataFrame", template: str | None, models: list[str], *, out: str,
                   concurrency: int, use_cache: bool, progress: bool, namespace: Mapping[str, Any] | None,
                   on_row: ProgressCallback | None, overrides: dict[str, Any]) -> "pd.DataFrame":
    check_frame(frame)
    out = check_out(out)
    if not isinstance(template, str):
        raise ValueError("compare over a frame needs a template (or the prompt as the template)")
    slugs = {model: model_slug(model, models) for model in models}
    check_out(out, frame, sets=[f"{out}_{slugs[model]}" for model in models])
    sets = [Columns(f"{out}_{slugs[model]}", len(frame)) for model in models]
    result = base_frame(frame, [name for cols in sets for name in cols.names()])
    settings = [{**overrides, "model": model} for model in models]
    templates, first = check_inputs(bm, frame, template, namespace, settings)
    if first is not None:
        for each in templates:
            warm_up(bm, each.fill(first.prompt))
    # Tasks go row by row, every model per row: an interrupted run has whole rows, not whole models.
    runner = Runner(bm, concurrency=concurrency, use_cache=use_cache, progress=progress and len(frame) > 0,
                     total=len(frame) * len(models), desc=f"compare {len(models)} models", on_row=on_row,
                     unit="call")
    try:
        runner.run(row_tasks(templates, frame, template, namespace, settings),
                   lambda done: sets[done.task.slot].put(done.task.pos, done.reply))
    except KeyboardInterrupt:
        pass
    for cols in sets:
        cols.attach(result, runner.stats.unsent_error)
    return finish(result, runner.stats, progress, noun="calls", columns=slugs)


def long_form(wide: "pd.DataFrame", own_columns: Iterable[Any], out: str) -> "pd.DataFrame":
    """A frame-wide comparison (:func:`compare` with ``frame``) as one row per row × model.

    The frame's own columns repeat for each model; ``model`` names the model; ``{out}`` and
    ``{out}_input_tokens`` ... ``{out}_error`` hold that model's answer. The index repeats the
    frame's index (rows keep their order, models in the order given), and ``attrs`` are kept, so
    ``result.groupby("model")[f"{out}_cost_usd"].sum()`` or a plot per model is one line.
    """
    import pandas as pd

    own = list(own_columns)
    slugs: dict[str, str] = wide.attrs.get("bedrock", {}).get("columns", {})
    parts = []
    for order, (model, slug) in enumerate(slugs.items()):
        names = Columns.names_for(f"{out}_{slug}")
        part = wide[own + names].copy()
        part.columns = own + Columns.names_for(out)
        part.insert(len(own), "model", model)
        part["_row"], part["_order"] = range(len(part)), order
        parts.append(part)
    if not parts:
        return wide
    result = pd.concat(parts).sort_values(["_row", "_order"], kind="stable").drop(columns=["_row", "_order"])
    result.attrs = dict(wide.attrs)
    return result


# ==================================================================================================
# embed_rows


def embed_rows(bm: "Bedrock", frame: "pd.DataFrame | Sequence[str]", column: str | None = None, *,
               out: str | None = None, model: str | None = None, concurrency: int | None = None,
               dimensions: int | None = None, normalize: bool | None = None, input_type: str | None = None,
               images: Any = None, use_cache: bool = True, progress: bool = True,
               on_row: ProgressCallback | None = None, region: str | None = None) -> "pd.DataFrame":
    """Embed one text column, an image column, or both: one InvokeModel call per row (one vector of
    the row's text and images), concurrent, resumable like :func:`map_rows`.

    ``model`` is an embedding model: Titan Text Embeddings (``amazon.titan-embed-text-v2:0``, which
    takes ``dimensions`` 256/512/1024 and ``normalize``), Titan Multimodal Embeddings
    (``amazon.titan-embed-image-v1``: text and/or one image, ``dimensions`` 256/384/1024) or Cohere
    Embed (``cohere.embed-english-v3``, ``cohere.embed-multilingual-v3``: a text or one image;
    ``us.cohere.embed-v4:0``: text and images, ``dimensions`` 256/512/1024/1536), which take
    ``input_type``: ``search_document`` by default, ``search_query``, ``classification``,
    ``clustering``. ``images`` names the frame's column(s) of images (``"photo"`` or ``"{photo}"``;
    paths, bytes, PIL images or figures); ``column`` may then be None (images only).
    ``frame`` may also be a list or Series of texts (then the column is ``text``), with ``images`` a
    list of as many images (then the image column is ``image``).

    Returns a new frame with ``frame``'s index and columns plus ``out`` (default
    ``{column}_embedding``, or ``{image column}_embedding``: one 1-D ``numpy.float32`` array per row,
    None when the row failed), ``{out}_input_tokens``, ``{out}_cost_usd`` and ``{out}_error``. A row
    whose text is empty or not text, or whose image is missing or one the model cannot take (format,
    size), is an error row and is not sent; the others go on. Raises :class:`BatchInterrupted` on
    Ctrl-C.
    """
    import numpy as np
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        if isinstance(frame, str) or not isinstance(frame, Iterable):
            raise TypeError("embed_rows takes a DataFrame and a column name, or a list of texts")
        texts = list(frame)
        data: dict[str, Any] = {"text": texts}
        if images is not None:
            images = list(images) if isinstance(images, (list, tuple)) else [images]
            if len(images) != len(texts):
                raise ValueError(f"images= needs one image per text: {len(texts)} texts, {len(images)} images")
            data["image"], images = images, "image"
        frame = pd.DataFrame(data, index=frame.index if isinstance(frame, pd.Series) else None)
        column = column or "text"
    image_columns = _image_columns(images, frame)
    if column is not None and column not in frame.columns or column is None and not image_columns:
        known = ", ".join(map(str, frame.columns[:10]))
        raise ValueError(f"the column to embed (--embed COLUMN, column= in Python) must be a text column of the "
                         f"frame, or give images (--image {{column}}); {column!r} is not one of: {known}")
    family = embedding.check_model(bm, model, region, bool(image_columns))
    suffixes = ("input_tokens", "cost_usd", "error")
    out = check_out(out or f"{column or image_columns[0]}_embedding", frame, suffixes=suffixes)
    workers = concurrency_of(bm, concurrency)
    settings = embedding.settings(model, family, region, dimensions, normalize, input_type)
    request = bm.request_template(**settings)  # the settings resolved once, each row's input filled in
    warm_up(bm, request.base)

    def row_request(row: Mapping[str, Any]) -> Any:
        text = row[column] if column is not None else ""
        if column is not None and (not isinstance(text, str) or not text.strip()):
            raise ValueError(f"no text to embed in column {column!r} (found {text!r})")
        blocks = embedding.image_blocks(model, [(f"{{{name}}}", _image_of(row, name)) for name in image_columns],
                                        family)
        return embedding.request_for(request.base, text, blocks, family)

    def tasks() -> Iterator[Task]:
        for pos, row in enumerate(iter_rows(frame)):
            try:
                yield Task(pos, 0, row_request(row))
            except ValueError as exc:  # this row's text or image: its error, the others go on
                yield Task(pos, 0, None, failed=unsent(settings, one_line(exc)))

    def vector(reply: Reply) -> Any:
        return None if reply.embedding is None else np.asarray(reply.embedding, dtype=np.float32)

    columns = Columns(out, len(frame), value=vector, suffixes=suffixes)
    result = base_frame(frame, columns.names())
    runner = Runner(bm, concurrency=workers, use_cache=use_cache, progress=progress and len(frame) > 0,
                     total=len(frame), desc=out, on_row=on_row)
    try:
        runner.run(tasks(), lambda done: columns.put(done.task.pos, done.reply))
    except KeyboardInterrupt:
        pass
    columns.attach(result, runner.stats.unsent_error)
    return finish(result, runner.stats, progress)


def _image_columns(images: Any, frame: "pd.DataFrame") -> list[str]:
    """The frame's image columns named by ``images`` (``"photo"``, ``"{photo}"``, a list of them, or
    the magic's ``("{photo}", "{photo}")`` pairs); ``ValueError`` for anything else: a DataFrame run
    takes each row's image from a column."""
    names = {str(c) for c in frame.columns}
    found = []
    for label, value in labelled(images):
        text = value if isinstance(value, str) else label
        name = text[1:-1] if text.startswith("{") and text.endswith("}") else text
        if not isinstance(value, str) or name not in names:
            raise ValueError(f"--image {label}: with --df, give a column of the frame holding each row's image, "
                             f"e.g. --image {{{next(iter(names), 'photo')}}} (images= in Python)")
        found.append(name)
    return found


def _image_of(row: Mapping[str, Any], column: str) -> Any:
    """A row's image value; a missing one (None, NaN) is that row's error, named as such."""
    value = row[column]
    if value is None or (isinstance(value, float) and value != value):
        raise ValueError(f"no image in column {column!r} (found {value!r})")
    return value
