"""Named conversations (``--chat NAME`` / ``ask(..., chat="NAME")``): their history across cells.

History is kept in Converse's message shape whatever the route, so one conversation can move between
APIs. Stateless routes get the whole history with each new turn. mantle's Responses API keeps the
conversation on the server: there a turn sends only the new user message and the last reply's id as
``previous_response_id`` (when that id came from the same region and endpoint; otherwise the history
is sent in full, so switching routes mid-conversation still works).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from .request import Request
from .routes import uses_server_state

__all__ = ["Conversation", "Conversations", "DEFAULT_NAME", "UnknownConversation", "chat_name", "uses_server_state"]

DEFAULT_NAME = "default"


class UnknownConversation(KeyError):
    """No conversation has that name."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


def chat_name(chat: Any) -> str | None:
    """The conversation a ``chat=`` value names: None/False for none, True for :data:`DEFAULT_NAME`,
    else the stripped name. Raises ValueError (one line) for anything else."""
    if chat is None or chat is False:
        return None
    if chat is True:
        return DEFAULT_NAME
    if not isinstance(chat, str) or not chat.strip():
        raise ValueError(f"chat must be a conversation name, not {chat!r}")
    return chat.strip()


@dataclass
class Conversation:
    """One named conversation: its messages, and the id of its last stored response (mantle)."""

    name: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    last_response_id: str | None = None
    # Where last_response_id lives: an id is only meaningful to the same region and endpoint.
    response_scope: tuple[str, str] | None = None
    models: list[str] = field(default_factory=list)
    updated: datetime | None = None
    # Tools used in this conversation, by name. Converse refuses a history holding toolUse/toolResult
    # blocks without a toolConfig, so later turns offer them again (and can run them).
    functions: dict[str, Callable[..., Any]] = field(default_factory=dict)

    @property
    def turns(self) -> int:
        """How many user prompts were answered (tool-result turns are not counted)."""
        return sum(1 for m in self.messages if m["role"] == "user" and any("text" in b for b in m["content"]))

    def prepare(self, request: Request) -> Request:
        """``request`` (a single new user turn) with this conversation's context attached.

        The tools the conversation used are offered again when the request brings none (a history
        with tool calls needs its tool definitions).
        """
        if self.functions and not request.tools:
            from .toolspec import tool_spec  # loaded when a conversation used tools (not at %load_ext)

            request = replace(request, tools=tuple(tool_spec(fn, name) for name, fn in self.functions.items()))
        if (uses_server_state(request.endpoint, request.api) and self.last_response_id
                and self.response_scope == (request.region, request.endpoint)):
            return replace(request, previous_response_id=self.last_response_id)
        return replace(request, messages=tuple(self.messages) + tuple(request.messages), previous_response_id=None)

    def add(self, messages: Iterable[dict[str, Any]], reply: Any) -> None:
        """Append a finished exchange (the user turn and everything after it) and remember the reply."""
        self.messages.extend(messages)
        if reply.response_id and uses_server_state(reply.endpoint, reply.api):
            self.last_response_id = reply.response_id
            self.response_scope = (reply.region, reply.endpoint)
        else:
            # A stateless turn moved the conversation on without the server knowing: its old id is stale.
            self.last_response_id = None
            self.response_scope = None
        if reply.model and reply.model not in self.models:
            self.models.append(reply.model)
        self.updated = datetime.now(timezone.utc)

    def transcript(self) -> str:
        """The conversation as plain text, one turn per paragraph."""
        lines = []
        for message in self.messages:
            for block in message["content"]:
                if "text" in block:
                    lines.append(f"{message['role']}: {block['text']}")
                elif "toolUse" in block:
                    use = block["toolUse"]
                    lines.append(f"{message['role']}: [calls {use['name']}({use.get('input')})]")
                elif "toolResult" in block:
                    content = block["toolResult"].get("content") or []
                    text = " ".join(str(c.get("text", c.get("json"))) for c in content)
                    lines.append(f"{message['role']}: [tool result: {text}]")
        return "\n\n".join(lines)


class Conversations:
    """The named conversations of one ``Bedrock`` (thread-safe)."""

    def __init__(self) -> None:
        self._items: dict[str, Conversation] = {}
        self._lock = threading.Lock()

    def get(self, name: str | None = None) -> Conversation:
        """The conversation called ``name`` (``"default"`` when empty), created on first use."""
        name = name or DEFAULT_NAME
        with self._lock:
            if name not in self._items:
                self._items[name] = Conversation(name)
            return self._items[name]

    def __contains__(self, name: str) -> bool:
        return name in self._items

    def __iter__(self):
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        """The names of the conversations, oldest first."""
        return list(self._items)

    def reset(self, name: str | None = None) -> list[str]:
        """Forget one conversation (or all when ``name`` is None); returns the names forgotten.

        Raises:
            UnknownConversation: no conversation has that name (the message lists those that exist).
        """
        with self._lock:
            if name is None:
                gone = list(self._items)
                self._items.clear()
                return gone
            if name not in self._items:
                known = ", ".join(self._items) or "none yet"
                raise UnknownConversation(f"no conversation named {name!r} (conversations: {known})")
            del self._items[name]
            return [name]

    def frame(self):
        """One row per conversation: ``chat, turns, messages, models, last_response_id, updated``."""
        import pandas as pd

        rows = [{"chat": c.name, "turns": c.turns, "messages": len(c.messages), "models": ", ".join(c.models),
                 "last_response_id": c.last_response_id, "updated": c.updated} for c in self]
        return pd.DataFrame(rows, columns=["chat", "turns", "messages", "models", "last_response_id", "updated"])
