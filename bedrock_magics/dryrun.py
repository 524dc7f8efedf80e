"""Dry runs: input tokens and cost of a prompt, a DataFrame run or several models, sending nothing billable.

Tokens are counted with Bedrock's CountTokens where the model supports it (free), else estimated
(about four characters per token). Rows go through the one runner's pool (:func:`runner.pooled`),
so a dry run of 100,000 rows is as bounded as the run it estimates. :func:`dry_run_models` stacks
one dry run per model (``%%bedrock --dry-run -m A -m B``, ``Bedrock.dry_run(models=[...])``).
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from .conversation import chat_name
from .errors import code_of, one_line
from .modelids import base_model_id
from .prices import format_usd
from .request import Request, estimate_tokens
from .routes.converse import count_tokens_input
from .rows import base_frame, check_frame, check_inputs, distinct_models, row_tasks
from .runner import Task, concurrency_of, pooled, warm_up

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .core import Bedrock

__all__ = ["COUNT_TOKENS", "ESTIMATE", "INVALID", "dry_run", "dry_run_models", "estimate_tokens"]

#: ``count_method`` values: Bedrock's CountTokens, or this module's estimate.
COUNT_TOKENS, ESTIMATE, INVALID = "count_tokens", "estimate", "invalid row"


def _billed_request(bm: "Bedrock", request: Request, chat: str | None) -> Request:
    """``request`` as the service bills it: a conversation kept server-side (mantle Responses'
    ``previous_response_id``) is billed as input too, so its history is put back for counting."""
    if request.previous_response_id is None or chat is None or chat not in bm.chats:
        return request
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
            response = client.count_tokens(modelId=model, input={"converse": count_tokens_input(request)})
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
        tasks: Iterable[Task] = [Task(0, 0, bm.request(frame_or_prompt, **overrides))]
        first_request = tasks[0].request
    else:
        check_frame(frame_or_prompt, "frame_or_prompt")
        base = frame_or_prompt
        templates, first = check_inputs(bm, base, template, namespace, [overrides])
        if first is not None:
            warm_up(bm, first)
        tasks = row_tasks(templates, base, template, namespace, [overrides])
        first_request = first
    n = len(base)
    workers = concurrency_of(bm, concurrency)
    counter = _TokenCounter(bm)
    tokens = np.zeros(n, dtype="int64")
    methods = np.full(n, INVALID, dtype=object)
    prompt_col = np.full(n, None, dtype=object)
    model_col = np.full(n, None, dtype=object)
    max_out = np.full(n, np.nan)
    input_per_1k = np.full(n, np.nan)  # each row's model's prices
    output_per_1k = np.full(n, np.nan)
    price_of: dict[str, Any] = {}  # one price lookup per model, not per row

    def priced(task: Task) -> Request | None:
        """Fill the row's prompt, model and prices (calling thread); None for a row with no prompt."""
        if task.request is None:
            return None
        request = _billed_request(bm, task.request, chat)
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
        return request

    def counted(pos: int, result: tuple[int, str]) -> None:
        tokens[pos], methods[pos] = result

    def to_count() -> Iterator[tuple[int, Request]]:
        # Rows of models already known to lack CountTokens are estimated inline, never queued.
        for task in tasks:
            request = priced(task)
            if request is None:
                continue
            if counter.estimates(request):
                counted(task.pos, (estimate_tokens(request), ESTIMATE))
            else:
                yield task.pos, request

    # The one runner's pool: rows stream through a bounded window, counts come back in this thread.
    pooled(to_count(), lambda item: (item[0], counter.count(item[1])), lambda done, _: counted(*done),
           concurrency=workers, name="bedrock-count")
    input_cost = tokens / 1000 * input_per_1k
    max_cost = input_cost + max_out / 1000 * output_per_1k

    result = base_frame(base, ["prompt", "model", "input_tokens", "count_method", "input_cost_usd",
                                "max_output_tokens", "max_cost_usd"])
    result["prompt"] = prompt_col
    result["model"] = model_col
    result["input_tokens"] = tokens
    result["count_method"] = methods
    result["input_cost_usd"] = input_cost
    result["max_output_tokens"] = pd.array([None if math.isnan(v) else int(v) for v in max_out], dtype="Int64")
    result["max_cost_usd"] = max_cost

    total_in = int(tokens.sum())
    method_counts = Counter(methods.tolist())
    how = ", ".join(f"{k} ×{v:,}" for k, v in method_counts.most_common())
    parts = [f"{n:,} {'row' if n == 1 else 'rows'}", f"{total_in:,} input tokens ({how})",
             f"input ≈ {format_usd(np.nansum(input_cost))}" if not np.isnan(input_cost).all() else "price unknown"]
    if n and not np.isnan(max_cost).any():
        parts.append(f"at most {format_usd(max_cost.sum())} with max_tokens")
    saving = _cache_saving(bm, price_of, first_request, n)
    if saving is not None:
        parts.append(f"--prompt-cache saves ≈ {format_usd(saving[1])} ({saving[0]:,} cached tokens a call)")
    parts.append("nothing sent")
    summary = " · ".join(parts)
    result.attrs["bedrock"] = {"rows": n, "input_tokens": total_in, "input_cost_usd": float(np.nansum(input_cost)),
                               "max_cost_usd": float(max_cost.sum()) if not np.isnan(max_cost).any() else math.nan,
                               "count_methods": dict(method_counts), "notes": dict(counter.notes),
                               "cache_saving_usd": saving[1] if saving else None, "summary": summary}
    if progress:
        print(summary)
    return result


def _cache_saving(bm: "Bedrock", price_of: dict[str, Any], request: Request | None,
                  calls: int) -> tuple[int, float] | None:
    """What ``--prompt-cache`` saves over the run (``features.cache_saving``), or None."""
    if request is None or not request.prompt_cache:
        return None
    from .promptcache import cache_saving

    price = price_of.get(request.model) or bm.price_for(request.model, request.region)
    return cache_saving(request, calls, price)


def dry_run_models(bm: "Bedrock", frame_or_prompt: "pd.DataFrame | str", template: str | None = None, *,
                   models: Sequence[str], progress: bool = False, **kwargs: Any) -> "pd.DataFrame":
    """One :func:`dry_run` per model (each named once), stacked model by model.

    ``attrs["bedrock"]["models"]`` keeps each model's totals; with ``progress`` each model's summary
    line is printed. A frame's index repeats per model; a single prompt gives one row per model."""
    import pandas as pd

    estimates = {}
    for model in distinct_models(models):
        estimates[model] = dry_run(bm, frame_or_prompt, template, **dict(kwargs, model=model, progress=False))
        if progress:
            print(f"{model}: {estimates[model].attrs['bedrock']['summary']}")
    result = pd.concat(list(estimates.values()), ignore_index=isinstance(frame_or_prompt, str))
    result.attrs = {"bedrock": {"models": {model: part.attrs["bedrock"] for model, part in estimates.items()}}}
    return result
