"""Bedrock's per-model inference quotas in the local service: the 429s a busy account gets.

Two sets, kept apart as AWS keeps them (Amazon Bedrock user guide, "Quotas for the bedrock-runtime
endpoint" and "Quotas for the bedrock-mantle endpoint"):

* **bedrock-runtime** — Converse, ConverseStream, InvokeModel (with or without a stream) and the
  runtime's ``/openai/v1`` Chat Completions and Responses all draw on one quota per model:
  requests per minute (``rpm``) and tokens per minute (``tpm``, input and output combined). A
  request is admitted only if its input tokens plus its ``max_tokens`` (the model's output limit
  when it sets none) still fit in the minute; what it then counts is what it really used. Over a
  limit the request fails with ``ThrottlingException`` (429): ``Too many requests, please wait
  before trying again.`` or ``Too many tokens, please wait before trying again.`` (on ``/openai/v1``
  retold as OpenAI's ``rate_limit_exceeded``).
* **bedrock-mantle** — Chat Completions and Responses share two quotas per model and *no* request
  quota: input tokens per minute (``input_tpm``), checked against the request's input tokens plus its
  ``max_tokens`` (or the model's limit) up front, and output tokens per minute (``output_tpm``),
  which the answers' output tokens use up; once the minute's output is used up, requests are
  refused until it frees. Mantle's 429 is OpenAI's: ``{"error": {"message": "Rate limit reached for
  … on input tokens per min (TPM): Limit …, Used …, Requested …. …", "type": "tokens", "code":
  "rate_limit_exceeded"}}``.

Limits apply per model and region in sliding one-minute windows, set globally (every model gets
that limit, each its own window) or per model (by model id or mantle id; by inference-profile id
for calls made through that profile, which then count apart, like AWS's cross-Region quotas). An unset limit is
unlimited: AWS's defaults differ per model and account, so set the ones to rehearse.
Tokens are the model's own: the answer's counts, made by the responder with the model family's
tokenizer (:mod:`.tokens`). CountTokens, embeddings' output and batch jobs use none of these quotas. Quotas are not the
injected faults of :mod:`.faults` (``throttle_rpm``/``throttle_tpm`` throttle any request).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, fields, replace
from typing import Any, Callable

from .catalog import max_output_tokens
from .http import MANTLE, AwsError, OpenAIError, Request
from .responder import Call, commit

WINDOW_SECONDS = 60.0
TOO_MANY_REQUESTS = "Too many requests, please wait before trying again."
TOO_MANY_TOKENS = "Too many tokens, please wait before trying again."
_UNSET: Any = object()


@dataclass(frozen=True)
class QuotaSettings:
    """One model's limits per minute; ``None`` is unlimited (or, per model: "as set globally")."""

    rpm: int | None = None  # runtime requests
    tpm: int | None = None  # runtime tokens, input + output
    input_tpm: int | None = None  # mantle input tokens
    output_tpm: int | None = None  # mantle output tokens

    def over(self, base: "QuotaSettings") -> "QuotaSettings":
        """These settings with ``base`` filling whatever is not set here."""
        return QuotaSettings(**{f.name: getattr(self, f.name) if getattr(self, f.name) is not None
                                else getattr(base, f.name) for f in fields(self)})


class _Window:
    """Amounts used in the last minute (a sliding window)."""

    def __init__(self) -> None:
        self.entries: deque[tuple[float, int]] = deque()

    def used(self, now: float) -> int:
        while self.entries and now - self.entries[0][0] >= WINDOW_SECONDS:
            self.entries.popleft()
        return sum(n for _, n in self.entries)

    def add(self, now: float, amount: int) -> None:
        self.entries.append((now, amount))

    def frees_in(self, now: float) -> int:
        """Whole seconds until the oldest use leaves the window."""
        return max(1, math.ceil(WINDOW_SECONDS - (now - self.entries[0][0]))) if self.entries else 1


class Quotas:
    """The service's quota settings and the windows that enforce them (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, **limits: int | None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        _check(limits)
        self._base = QuotaSettings(**limits)
        self.clear()

    def set(self, model: str | None = None, *, rpm: int | None = _UNSET, tpm: int | None = _UNSET,
            input_tpm: int | None = _UNSET, output_tpm: int | None = _UNSET) -> None:
        """Set limits globally (``model=None``) or for one model (model id or mantle id); limits not
        named are kept, ``None`` lifts one (per model: back to the global value)."""
        given = {k: v for k, v in dict(rpm=rpm, tpm=tpm, input_tpm=input_tpm, output_tpm=output_tpm).items()
                 if v is not _UNSET}
        _check(given)
        with self._lock:
            if model is None:
                self._global = replace(self._global, **given)
            else:
                self._models[model] = replace(self._models.get(model, QuotaSettings()), **given)

    def clear(self) -> None:
        """Back to the limits the service started with; forget per-model limits and every window."""
        with self._lock:
            self._global = self._base
            self._models: dict[str, QuotaSettings] = {}
            self._windows: dict[tuple[str, ...], _Window] = {}

    def settings(self, entry: dict, name: str | None = None) -> QuotaSettings:
        """The limits that apply to a catalog model (called as ``name``)."""
        with self._lock:
            return self._settings(entry, name)[1]

    def _settings(self, entry: dict, name: str | None) -> tuple[str, QuotaSettings]:
        """(whose windows, limits): limits set for the name the request used (an inference profile,
        say) count apart from the model's own, as AWS's cross-Region and on-demand quotas do."""
        for key in (name, entry["modelId"], entry.get("mantleId")):
            if key and key in self._models:
                return key, self._models[key].over(self._global)
        return entry["modelId"], self._global

    def _window(self, *key: str) -> _Window:
        return self._windows.setdefault(key, _Window())

    # -- per request ---------------------------------------------------------------------------

    def admit(self, surface: str, region: str, entry: dict, name: str, input_tokens: int, reserved_output: int,
              output_tokens: int) -> None:
        """Count one answered inference request against its model's quotas, or raise the 429.

        ``name`` is the model as the request named it (in mantle's message); ``reserved_output`` the
        output it may produce (its ``max_tokens``), ``output_tokens`` what it did produce."""
        with self._lock:
            (whose, limits), now = self._settings(entry, name), self._clock()
            model = (surface, region, whose)
            if surface == MANTLE:
                self._admit_mantle(limits, model, now, name, input_tokens, reserved_output, output_tokens)
            else:
                self._admit_runtime(limits, model, now, input_tokens, reserved_output, output_tokens)

    def _admit_runtime(self, limits: QuotaSettings, model: tuple[str, ...], now: float, input_tokens: int,
                       reserved_output: int, output_tokens: int) -> None:
        requests, tokens = self._window(*model, "requests"), self._window(*model, "tokens")
        if limits.rpm is not None and requests.used(now) + 1 > limits.rpm:
            raise AwsError("ThrottlingException", TOO_MANY_REQUESTS)
        if limits.tpm is not None and tokens.used(now) + input_tokens + reserved_output > limits.tpm:
            raise AwsError("ThrottlingException", TOO_MANY_TOKENS)
        requests.add(now, 1)
        tokens.add(now, input_tokens + output_tokens)

    def _admit_mantle(self, limits: QuotaSettings, model: tuple[str, ...], now: float, name: str,
                      input_tokens: int, reserved_output: int, output_tokens: int) -> None:
        inputs, outputs = self._window(*model, "input"), self._window(*model, "output")
        wanted = input_tokens + reserved_output
        if limits.input_tpm is not None and inputs.used(now) + wanted > limits.input_tpm:
            raise _rate_limited(name, "input", limits.input_tpm, inputs.used(now), wanted, inputs.frees_in(now))
        if limits.output_tpm is not None and outputs.used(now) >= limits.output_tpm:
            raise _rate_limited(name, "output", limits.output_tpm, outputs.used(now), reserved_output,
                                outputs.frees_in(now))
        inputs.add(now, input_tokens)
        outputs.add(now, output_tokens)


def _check(limits: dict[str, Any]) -> None:
    for name, value in limits.items():
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"{name} must be a positive integer or None, got {value!r}")


def _rate_limited(model: str, kind: str, limit: int, used: int, requested: int, wait_s: int) -> OpenAIError:
    """Mantle's 429, in the OpenAI words its clients know."""
    return OpenAIError(429, f"Rate limit reached for {model} on {kind} tokens per min (TPM): Limit {limit}, "
                            f"Used {used}, Requested {requested}. Please try again in {wait_s}s.",
                       type="tokens", code="rate_limit_exceeded")


def admit_call(req: Request, call: Call, name: str, usage: tuple[int, int] | None = None) -> None:
    """Count an answered call against its model's quotas on the request's surface, or raise the 429.

    ``name``: the model as the request named it; ``usage``: (input, output) tokens when the API
    reports others than the answer's (embeddings). A call with no conversation (embeddings, images)
    reserves no output; any other reserves its ``max_tokens``, or the model's output limit. Only an
    admitted call's prompt-cache writes are stored: a throttled call caches nothing."""
    n_in, n_out = usage or (call.answer.input_tokens, call.answer.output_tokens)
    if not call.messages:
        reserved = 0
    else:
        reserved = call.max_tokens if call.max_tokens is not None else max_output_tokens(call.model)
    req.app.quotas.admit(req.surface, req.region, call.model, name, n_in, reserved, n_out)
    commit(req.app, call)
