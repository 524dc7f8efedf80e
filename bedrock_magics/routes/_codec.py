"""What every InvokeModel body codec shares (``routes.codecs`` has one per model family): the
``Codec`` and ``StreamState`` interfaces, and the settings and refusals their bodies have in common."""

from __future__ import annotations

import base64
from typing import Any

from ..reply import Thinking
from ..request import Request
from ._common import Decoded

#: What a stream reader's ``_feed`` gives: a text delta, a piece of reasoning, or nothing ("" / None).
Piece = str | Thinking | None

#: Anthropic's Messages body requires max_tokens; Converse's own default for Claude models is 4096.
DEFAULT_MAX_TOKENS = 4096


# --------------------------------------------------------------------------------------------------
# Decoded responses and stream state
# --------------------------------------------------------------------------------------------------


class StreamState:
    """Accumulates one InvokeModelWithResponseStream: ``feed`` each decoded chunk, ``finish`` when the
    chunks end, then ``result``. Both give the pieces to show: text deltas of the answer, and
    ``Thinking`` pieces of the model's reasoning (kept apart, as the Converse stream does)."""

    def __init__(self) -> None:
        self.decoded = Decoded()
        self.metrics: dict[str, Any] = {}

    def feed(self, chunk: dict[str, Any]) -> list[str | Thinking]:
        """Read one chunk; return its pieces (``[]`` when it has none)."""
        # Bedrock merges its invocation metrics into each family's last chunk.
        metrics = chunk.get("amazon-bedrock-invocationMetrics")
        if metrics:
            self.metrics = metrics
        return self._take(self._feed(chunk))

    def finish(self) -> list[str | Thinking]:
        """The pieces still held back when the stream ends (a reader that buffers overrides ``_finish``)."""
        return self._take(self._finish())

    def _take(self, out: Piece | list[Piece]) -> list[str | Thinking]:
        pieces = [p for p in (out if isinstance(out, list) else [out]) if p and (not isinstance(p, Thinking) or p.text)]
        for piece in pieces:
            if isinstance(piece, Thinking):
                self.decoded.reasoning += piece.text
            else:
                self.decoded.text += piece
        return pieces

    def _feed(self, chunk: dict[str, Any]) -> Piece | list[Piece]:
        raise NotImplementedError

    def _finish(self) -> list[Piece]:
        return []

    def result(self) -> Decoded:
        d = self.decoded
        if d.input_tokens is None and self.metrics:
            d.input_tokens = self.metrics.get("inputTokenCount")
        if d.output_tokens is None and self.metrics:
            d.output_tokens = self.metrics.get("outputTokenCount")
        return d


class Codec:
    """A family's body format. Subclasses implement ``encode``, ``decode`` and ``stream``."""

    family = ""
    fallback = False  # True when chosen without knowing the model's family

    def encode(self, request: Request) -> dict[str, Any]:
        raise NotImplementedError

    def decode(self, body: dict[str, Any]) -> Decoded:
        raise NotImplementedError

    def stream(self) -> StreamState:
        raise NotImplementedError


def _settings(request: Request, names: dict[str, str]) -> dict[str, Any]:
    """Inference settings under this family's names (``names`` maps ours -> theirs), set ones only."""
    values = {"max_tokens": request.max_tokens, "temperature": request.temperature, "top_p": request.top_p,
              "stop": list(request.stop) if request.stop else None}
    return {names[k]: v for k, v in values.items() if k in names and v is not None}


def _refuse(request: Request, family: str, *, tools: bool = False, stop: bool = False) -> None:
    """Raise ``ValueError`` for settings this family's body cannot carry (rather than drop them)."""
    missing = [what for what, asked in (("tool use", tools and request.tools), ("stop sequences", stop and request.stop))
               if asked]
    if missing:
        raise ValueError(f"The {family} InvokeModel body has no {' or '.join(missing)}; "
                         f"use --api converse for {request.model}.")


def _tool_names(request: Request) -> dict[str, str]:
    """toolUseId -> tool name, over the whole conversation (tool results only carry the id)."""
    return {b["toolUse"]["toolUseId"]: b["toolUse"]["name"]
            for m in request.messages for b in m.get("content") or () if "toolUse" in b}


def base64_text(data: Any) -> str:
    """Media bytes as the base64 text a JSON body carries (a string is taken as already encoded)."""
    return data if isinstance(data, str) else base64.b64encode(bytes(data)).decode()


def base64_media(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Converse messages with their media ``source.bytes`` as base64 strings: Nova's InvokeModel body
    is Converse's, but carries binary data as "Base64-encoded strings" (Nova,
    nova2-userguide/request-response-schema.html)."""
    out = []
    for m in messages:
        content = []
        for b in m.get("content") or ():
            kind = next((k for k in ("image", "video") if k in b), None)
            source = (b[kind].get("source") or {}) if kind else {}
            if "bytes" in source:
                b = {kind: {**b[kind], "source": {**source, "bytes": base64_text(source["bytes"])}}}
            content.append(b)
        out.append({**m, "content": content})
    return out

