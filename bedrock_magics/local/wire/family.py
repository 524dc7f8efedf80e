"""The interface of an InvokeModel body codec (one per model family, see :mod:`.invoke`)."""

from __future__ import annotations

from typing import Any

from ..responder import Call
from ..validation import check_body, check_max_tokens


class Family:
    """One InvokeModel body format. Text families implement ``parse``, ``render`` and ``chunks``."""

    schema: dict = {"type": "object"}
    streams = True

    def parse(self, body: dict, model: dict) -> Call:
        """The normalized call of a body that passed the schema."""
        raise NotImplementedError

    def render(self, call: Call) -> dict:
        """The InvokeModel response body."""
        raise NotImplementedError

    def chunks(self, call: Call) -> list[dict]:
        """The stream's native chunks (the last one gets the invocation metrics added)."""
        raise NotImplementedError

    def usage(self, call: Call) -> tuple[int, int]:
        """(input tokens, output tokens) reported in the response headers."""
        return call.answer.input_tokens, call.answer.output_tokens

    def load(self, body: Any, model: dict, streaming: bool = False) -> Call:
        """Check ``body`` against the family's schema, normalize it and check its output-token limit."""
        check_body(body, self.schema)
        call = self.parse(body, model)
        check_max_tokens(call)
        return call
