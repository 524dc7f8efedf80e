"""What one call to Bedrock asks for, independent of the wire API that will carry it.

The conversation is kept in Converse's shape (Bedrock's canonical one): a list of messages
``{"role": "user"|"assistant", "content": [block, ...]}`` whose blocks are ``{"text": str}``,
``{"toolUse": {"toolUseId", "name", "input"}}`` or
``{"toolResult": {"toolUseId", "content": [{"text": str}|{"json": obj}], "status": "success"|"error"}}``,
``{"image": {"format", "source": {"bytes": bytes}}}`` or ``{"document": {"format", "name", "source":
{"bytes": bytes}}}`` (attachments, made by ``attachments.py``), and ``{"reasoningContent": ...}`` in
assistant turns. Each route translates it to its own wire format.
"""

from __future__ import annotations

import json
import math

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .schema import OutputSchema


@dataclass(frozen=True)
class ToolSpec:
    """A client-side tool: a name, a description and a JSON Schema for its input."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Request:
    """One model call: where it goes, what it says and with which settings."""

    model: str
    messages: tuple[dict[str, Any], ...]
    region: str = "us-east-1"
    endpoint: str = "runtime"  # runtime | mantle
    api: str = "converse"  # converse | invoke | chat | responses
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    # mantle Responses keeps the conversation server-side: send only the new input with this id.
    previous_response_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # route-specific fields (e.g. embedding options)
    schema: "OutputSchema | None" = None  # --schema: the answer must be JSON fitting it
    reasoning: str | int | None = None  # --reasoning: "low" | "medium" | "high" or a token budget
    prompt_cache: bool = False  # --prompt-cache: cache points after the system prompt, tools, long context

    @classmethod
    def from_prompt(cls, prompt: str, model: str, **settings: Any) -> "Request":
        """A single-turn request for ``prompt``."""
        return cls(model=model, messages=(user_message(prompt),), **settings)

    def with_messages(self, messages: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> "Request":
        """A copy of this request with ``messages`` as its conversation (the rest unchanged)."""
        return replace(self, messages=tuple(messages))

    @property
    def prompt(self) -> str:
        """The text of the last user message."""
        for message in reversed(self.messages):
            if message["role"] == "user":
                return "".join(b.get("text", "") for b in message["content"])
        return ""


def user_message(text: str) -> dict[str, Any]:
    """A user turn holding ``text``, in Converse's message shape."""
    return {"role": "user", "content": [{"text": text}]}


def check_prompt(prompt: Any) -> str:
    """``prompt`` if it can be sent; ``ValueError`` (one line) for a non-string or an empty one."""
    if not isinstance(prompt, str):
        raise ValueError(f"the prompt must be a string, not {type(prompt).__name__}")
    if not prompt.strip():
        raise ValueError("the prompt is empty: write it in the cell (or pass it to ask())")
    return prompt


@dataclass(frozen=True)
class RequestTemplate:
    """A request whose settings are resolved once, for many prompts (the rows of a ``--df`` run).

    ``base`` is a resolved :class:`Request` whose last message is the user's prompt; :meth:`fill`
    puts another prompt there, keeping everything before it (a conversation's history, ``messages``)
    and every setting as resolved."""

    base: Request

    def fill(self, prompt: str, attachments: tuple[dict[str, Any], ...] = ()) -> Request:
        """The request for ``prompt`` (``ValueError``, one line, for an empty one); the base's own
        attachments are kept, and ``attachments`` (a row's ``{column}`` files) come after them."""
        check_prompt(prompt)
        kept = tuple(b for b in self.base.messages[-1]["content"] if "text" not in b) + tuple(attachments)
        message = {"role": "user", "content": [*kept, {"text": prompt}]} if kept else user_message(prompt)
        return replace(self.base, messages=self.base.messages[:-1] + (message,), extra=dict(self.base.extra))


def block_chars(block: dict[str, Any]) -> int:
    """About how many characters one content block weighs: its text, an attachment's byte count (a
    rough stand-in: models bill images by pixels and videos by frames; the ``repr`` of megabytes of
    video would cost a second and count several times over), else its JSON (tool calls, results)."""
    if "text" in block:
        return len(block["text"])
    media = block.get("document") or block.get("image") or block.get("video")
    if media is not None:
        return len(media.get("source", {}).get("bytes", b""))
    return len(json.dumps(block, default=str))


def estimate_tokens(request: Request) -> int:
    """A rough input-token count for ``request``: about four characters per token (the usual
    rule of thumb for English with BPE tokenizers), plus three per message for the chat format.
    Tool definitions count too (their names, descriptions and JSON schemas are sent as input)."""
    chars = len(request.system or "")
    for message in request.messages:
        chars += sum(block_chars(block) for block in message.get("content", ()))
    if request.tools:
        chars += len(json.dumps([{"name": t.name, "description": t.description, "parameters": t.parameters}
                                 for t in request.tools], default=str))
    return math.ceil(chars / 4) + 3 * len(request.messages)
