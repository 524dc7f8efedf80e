"""The reply object: what every call returns, success or failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .request import Request


@dataclass(frozen=True)
class ServerCall:
    """One item of a server-side tool run by Bedrock itself (mantle Responses ``mcp`` tools).

    ``kind`` is ``"list_tools"`` (``tools`` lists what the connector offered) or ``"call"`` (a call
    of ``tool`` with ``arguments``; ``output`` or ``error``, and ``status``). ``server`` is the
    connector's label (``notes``/``tasks`` for gpt-oss's built-in tools). Streams yield these as
    they arrive; a reply keeps them in ``server_calls``.
    """

    kind: str
    server: str = ""
    tool: str = ""
    arguments: Any = None
    output: str | None = None
    error: str | None = None
    status: str | None = None
    tools: tuple[str, ...] = ()
    id: str = ""

    @property
    def failed(self) -> bool:
        """True when the tool call failed (an error came back instead of an output)."""
        return bool(self.error) or self.status in ("failed", "incomplete")


@dataclass(frozen=True)
class Thinking:
    """A piece of a model's reasoning as a route streams it (kept apart from the answer's text)."""

    text: str


@dataclass
class Reply:
    """One model call's answer with its usage, latency and cost.

    ``status`` is ``"ok"``, ``"error"`` or ``"cancelled"``; on failure ``error`` holds the one-line
    explanation and ``text`` is empty. ``raw`` is the decoded wire response (for streams, the
    assembled final state). ``message`` is the assistant turn in Converse's shape, for history.
    """

    text: str = ""
    model: str = ""
    region: str = ""
    endpoint: str = ""
    api: str = ""
    usage: dict[str, int] = field(default_factory=lambda: {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0})
    latency_ms: float = 0.0
    stop_reason: str | None = None
    cost_usd: float = float("nan")
    raw: Any = None
    status: str = "ok"
    error: str | None = None
    error_code: str | None = None
    request_id: str | None = None
    response_id: str | None = None  # Responses API id (for previous_response_id)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"id", "name", "input"}]
    message: dict[str, Any] | None = None
    time: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    streamed: bool = False
    embedding: Any = None  # a numpy array for embedding calls
    chat: str | None = None  # conversation name, for --chat
    server_calls: list[ServerCall] = field(default_factory=list)  # mantle's server-side tool items
    data: Any = None  # --schema: the validated object (a pydantic/dataclass instance or a dict)
    reasoning: str | None = None  # --reasoning: the model's thinking, when the API returns it
    price_source: str | None = None  # which price source and date priced cost_usd (prices.quote)

    @property
    def input_tokens(self) -> int:
        """Input (prompt) tokens the call was billed for; 0 when unknown."""
        return int(self.usage.get("input_tokens") or 0)

    @property
    def output_tokens(self) -> int:
        """Output tokens the model generated; 0 when unknown."""
        return int(self.usage.get("output_tokens") or 0)

    @property
    def cache_read_tokens(self) -> int:
        """Input tokens read from the prompt cache (billed at the cache-read rate); 0 when none."""
        return int(self.usage.get("cache_read_tokens") or 0)

    @property
    def cache_write_tokens(self) -> int:
        """Input tokens written to the prompt cache (billed at the cache-write rate); 0 when none."""
        return int(self.usage.get("cache_write_tokens") or 0)

    @property
    def reasoning_tokens(self) -> int:
        """The part of ``output_tokens`` spent reasoning, where the API reports it; 0 otherwise."""
        return int(self.usage.get("reasoning_tokens") or 0)

    @property
    def input_images(self) -> int:
        """Images an embedding call sent (Titan Multimodal bills each one besides the text); 0 when none."""
        return int(self.usage.get("input_images") or 0)

    @property
    def token_details(self) -> dict[str, int]:
        """The cache, reasoning and image counts as ``prices.quote`` takes them (reasoning is part of output)."""
        return {"cache_read_tokens": self.cache_read_tokens, "cache_write_tokens": self.cache_write_tokens,
                "reasoning_tokens": min(self.reasoning_tokens, self.output_tokens), "input_images": self.input_images}

    @property
    def ok(self) -> bool:
        """True when the call succeeded (``status == "ok"``)."""
        return self.status == "ok"

    @property
    def cut_off(self) -> bool:
        """True when the answer was cut by the output-token limit (``--max-tokens``) rather than ending.

        ``stop_reason`` is in Converse's words whatever the wire (``length``, ``MAX_TOKENS``,
        ``max_output_tokens``… all arrive as ``max_tokens``), so this is the one test to use.
        """
        return self.stop_reason == "max_tokens"

    @classmethod
    def failed(cls, request: "Request", latency_ms: float, *, error: Any = None, status: str = "error",
               code: str | None = None, text: str = "") -> "Reply":
        """The reply of a call that did not finish (``status`` ``"error"`` or ``"cancelled"``).

        ``error`` (a ``BedrockError``, or any text) gives its one-line ``error``, ``error_code`` and
        request id; ``text`` is what arrived before it stopped. The one builder of failed replies:
        single calls, streams, DataFrame rows and cancelled cells all use it."""
        return cls(text=text, model=request.model, region=request.region, endpoint=request.endpoint,
                   api=request.api, latency_ms=latency_ms, status=status,
                   error=str(error) if error is not None else None,
                   error_code=code or getattr(error, "code", None), request_id=getattr(error, "request_id", None))

    def to_dict(self) -> dict[str, Any]:
        """The ledger's columns for this reply."""
        return {
            "time": self.time, "region": self.region, "endpoint": self.endpoint, "api": self.api,
            "model": self.model, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
            "total_tokens": int(self.usage.get("total_tokens") or self.input_tokens + self.output_tokens),
            "latency_ms": self.latency_ms, "cost_usd": self.cost_usd, "stop_reason": self.stop_reason,
            "status": self.status, "error": self.error, "request_id": self.request_id, "chat": self.chat,
            "cache_read_tokens": self.cache_read_tokens, "cache_write_tokens": self.cache_write_tokens,
            "reasoning_tokens": self.reasoning_tokens, "price_source": self.price_source,
        }

    def to_frame(self) -> "pd.DataFrame":
        """This reply as a one-row pandas DataFrame (the ledger's columns plus ``text``)."""
        import pandas as pd

        return pd.DataFrame([{**self.to_dict(), "text": self.text}])

    def __repr__(self) -> str:
        head = f"Reply(model={self.model!r}, status={self.status!r}, tokens={self.input_tokens}/{self.output_tokens})"
        return head if self.ok else f"{head[:-1]}, error={self.error!r})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        from . import display

        p.text(display.plain(self))

    def _repr_markdown_(self) -> str:
        from . import display

        return display.markdown(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from . import display

        return display.mimebundle(self)
