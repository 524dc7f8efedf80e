"""Injected faults of the local Bedrock service: latency, throttling, errors and cut streams.

Settings are global or per model (the identifier as the request names it, or the catalog model id
it resolves to). A per-model setting overrides the global one for that model; anything not set
per model falls back to the global value. Everything here is thread-safe: the server's worker
threads call ``Faults.admit`` concurrently.

* ``latency_ms`` — sleep before handling (in the worker thread, so calls still run in parallel).
* ``throttle_rpm`` / ``throttle_tpm`` — sliding one-minute windows of admitted requests / estimated
  input tokens; over the limit the request fails with ``ThrottlingException`` (429), which the
  server turns into OpenAI's ``rate_limit_exceeded`` on the OpenAI routes.
  These throttle any request, on every surface; Bedrock's own per-model quotas (runtime RPM/TPM,
  mantle input/output TPM) are :mod:`bedrock_magics.local.quotas`.
* ``error_rate`` — fraction of requests failing with ``error_code`` (default
  ``ServiceUnavailableException``); deterministic when a ``seed`` is given.
* ``cut_stream_after`` — the server drops the connection in the middle of the next chunk after
  N chunks of a streaming body.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, fields, replace
from typing import Any, Callable, Iterable

from .http import AwsError, parse_json

WINDOW_SECONDS = 60.0
_UNSET: Any = object()

_MESSAGES = {
    "ThrottlingException": "Too many requests, please wait before trying again.",
    "ServiceUnavailableException": "The service is temporarily unavailable (fault injected by the local Bedrock "
                                   "service). Please try again.",
    "InternalServerException": "An internal server error occurred (fault injected by the local Bedrock service). "
                               "Retry your request.",
    "ModelTimeoutException": "Model has timed out in processing the request (fault injected by the local Bedrock "
                             "service). Try your request again.",
    "ModelNotReadyException": "Model is not ready to serve inference requests (fault injected by the local Bedrock "
                              "service). The AWS SDK will automatically retry the operation.",
    "ModelErrorException": "The model returned an error (fault injected by the local Bedrock service).",
    "AccessDeniedException": "You don't have access to the model with the specified model ID (fault injected by "
                             "the local Bedrock service).",
    "ValidationException": "Malformed input request (fault injected by the local Bedrock service), please reformat "
                           "your input and try again.",
}


@dataclass(frozen=True)
class FaultSettings:
    """One set of fault settings; ``None`` means "not set here"."""

    latency_ms: float | None = None
    throttle_rpm: int | None = None
    throttle_tpm: int | None = None
    error_rate: float | None = None
    error_code: str | None = None
    cut_stream_after: int | None = None

    def over(self, base: "FaultSettings") -> "FaultSettings":
        """These settings with ``base`` filling whatever is not set here."""
        return FaultSettings(**{f.name: (getattr(self, f.name) if getattr(self, f.name) is not None
                                         else getattr(base, f.name)) for f in fields(self)})


@dataclass(frozen=True)
class Admission:
    """What a request admitted by ``Faults.admit`` must still honour while it is answered."""

    cut_stream_after: int | None = None


class Faults:
    """Global and per-model fault settings plus the throttling windows they need."""

    def __init__(self, latency_ms: float = 0, throttle_rpm: int | None = None, error_rate: float = 0.0,
                 throttle_tpm: int | None = None, error_code: str = "ServiceUnavailableException",
                 seed: int | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        _validate(dict(latency_ms=latency_ms, throttle_rpm=throttle_rpm, throttle_tpm=throttle_tpm,
                       error_rate=error_rate))
        self._base = FaultSettings(latency_ms=latency_ms, throttle_rpm=throttle_rpm, throttle_tpm=throttle_tpm,
                                   error_rate=error_rate, error_code=error_code)
        self._seed = seed
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self.clear()

    # -- configuration -------------------------------------------------------------------------

    def set(self, model: str | None = None, *, latency_ms: float | None = _UNSET, throttle_rpm: int | None = _UNSET,
            throttle_tpm: int | None = _UNSET, error_rate: float | None = _UNSET, error_code: str | None = _UNSET,
            cut_stream_after: int | None = _UNSET, seed: int | None = _UNSET) -> None:
        """Change settings globally (``model=None``) or for one model; unnamed settings are kept.

        Pass ``0``/``None`` to turn a global setting off; for a model, ``None`` falls back to the
        global value. ``seed`` reseeds the error-rate generator (deterministic runs).
        """
        given = {k: v for k, v in dict(latency_ms=latency_ms, throttle_rpm=throttle_rpm, throttle_tpm=throttle_tpm,
                                       error_rate=error_rate, error_code=error_code,
                                       cut_stream_after=cut_stream_after).items() if v is not _UNSET}
        _validate(given)
        with self._lock:
            if model is None:
                self._global = replace(self._global, **given)
            else:
                self._models[model] = replace(self._models.get(model, FaultSettings()), **given)
            if seed is not _UNSET:
                self._random = random.Random(seed)

    def clear(self) -> None:
        """Back to the settings the service started with; forget per-model settings and windows."""
        with self._lock:
            self._global = self._base
            self._models: dict[str, FaultSettings] = {}
            self._requests: dict[str, deque[float]] = {}
            self._tokens: dict[str, deque[tuple[float, int]]] = {}
            self._random = random.Random(self._seed)

    def settings(self, *names: str | None) -> FaultSettings:
        """The effective settings for a request naming these models (first per-model match wins)."""
        with self._lock:
            return self._effective(names)[1]

    def __repr__(self) -> str:
        return f"Faults(global={self._global}, models={sorted(self._models)})"

    # -- per request ---------------------------------------------------------------------------

    def admit(self, names: Iterable[str | None] = (), tokens: Callable[[], int] | None = None) -> Admission:
        """Apply latency, throttling and the error rate to one request, or raise its ``AwsError``.

        ``names`` are the model identifiers the request is about (as sent, and as resolved);
        ``tokens`` estimates its input tokens, and is only called when a token limit is set.
        """
        names = tuple(n for n in names if n)
        with self._lock:
            key, eff = self._effective(names)
        if eff.latency_ms:
            self._sleep(eff.latency_ms / 1000.0)  # outside the lock: concurrent calls sleep together
        needed = tokens() if (eff.throttle_tpm and tokens) else 0
        with self._lock:
            now = self._clock()
            if eff.throttle_rpm:
                window = _trim(self._requests.setdefault(key, deque()), now)
                if len(window) >= eff.throttle_rpm:
                    raise AwsError("ThrottlingException", _MESSAGES["ThrottlingException"])
            if eff.throttle_tpm:
                twindow = _trim(self._tokens.setdefault(key, deque()), now)
                if sum(n for _, n in twindow) + needed > eff.throttle_tpm:
                    raise AwsError("ThrottlingException", "Too many tokens, please wait before trying again.")
                twindow.append((now, needed))
            if eff.throttle_rpm:
                self._requests[key].append(now)
            if eff.error_rate and self._random.random() < eff.error_rate:
                code = eff.error_code or "ServiceUnavailableException"
                raise AwsError(code, _MESSAGES.get(code, f"{code} (fault injected by the local Bedrock service)."))
        return Admission(cut_stream_after=eff.cut_stream_after)

    def _effective(self, names: tuple[str | None, ...]) -> tuple[str, FaultSettings]:
        """(throttle window key, settings) — a model with its own settings gets its own window."""
        for name in names:
            if name in self._models:
                return f"model:{name}", self._models[name].over(self._global)
        return "global", self._global


def estimate_tokens(body: bytes, family: str = "words") -> int:
    """Input tokens of a request body: the model family's tokenizer (:func:`.tokens.count`, the
    responder's per-family counts) over every string value of its JSON."""
    from .tokens import count

    try:
        data = parse_json(body or b"{}")
    except ValueError:
        return count(body.decode("utf-8", "replace"), family)
    total, stack = 0, [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += count(item, family)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return total


def _trim(window: deque, now: float) -> deque:
    while window and now - (window[0][0] if isinstance(window[0], tuple) else window[0]) >= WINDOW_SECONDS:
        window.popleft()
    return window


def _validate(given: dict[str, Any]) -> None:
    rate = given.get("error_rate")
    if rate is not None and not 0.0 <= rate <= 1.0:
        raise ValueError(f"error_rate must be between 0 and 1, got {rate!r}")
    for name in ("latency_ms", "throttle_rpm", "throttle_tpm", "cut_stream_after"):
        value = given.get(name)
        if value is not None and value < 0:
            raise ValueError(f"{name} must not be negative, got {value!r}")
