"""The per-call options of ``Bedrock.request``/``ask``/``stream``: their names, and the checks and
normal forms of the ones that are not settings (``stop``, ``tools``, ``messages``, choices).
Each bad value is a ``ValueError`` of one line naming the valid values."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .errors import did_you_mean
from .request import ToolSpec

__all__ = ["OPTIONS", "call_options", "check_options", "choice", "messages_of", "stops", "tool_specs"]

# Options of request()/ask()/stream() besides the prompt; a typo gets a did-you-mean.
OPTIONS = ("model", "region", "endpoint", "api", "system", "max_tokens", "temperature", "top_p", "stop",
            "chat", "tools", "extra", "messages", "schema", "reasoning", "prompt_cache", "images", "documents",
            "videos")


def call_options(scope: dict[str, Any]) -> dict[str, Any]:
    """The request() overrides among ask()/stream()'s arguments (``None`` means "not given")."""
    extra = scope.get("extra") or {}
    names = ("model", "region", "endpoint", "api", "system", "max_tokens", "temperature", "top_p", "stop", "tools")
    options = {name: scope[name] for name in names if scope.get(name) is not None}
    check_options(extra)
    return {**options, **extra}


def check_options(options: Mapping[str, Any]) -> None:
    for name in options:
        if name not in OPTIONS:
            raise ValueError(f"unknown option {name!r}; the options are {', '.join(OPTIONS)}."
                             f"{did_you_mean(name, OPTIONS)}")


def choice(name: str, value: Any, choices: Sequence[str]) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in choices:
        return value.strip().lower()
    raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}.{did_you_mean(value, choices)}")


def stops(stop: Any) -> tuple[str, ...]:
    if stop is None:
        return ()
    if isinstance(stop, str):
        stop = [stop]
    stops = tuple(stop)
    if not all(isinstance(s, str) and s for s in stops):
        raise ValueError(f"stop must be a string or a list of non-empty strings, not {stop!r}")
    return stops


def tool_specs(tools: Any) -> tuple[ToolSpec, ...]:
    if not tools:
        return ()
    if callable(tools) or isinstance(tools, ToolSpec):
        tools = [tools]
    specs = [t for t in tools if isinstance(t, ToolSpec)]
    functions = [t for t in tools if not isinstance(t, ToolSpec)]
    if functions:
        from .tools import Toolbox  # loaded with the first tool call (see core)

        specs += list(Toolbox(functions).specs)
    return tuple(specs)


def messages_of(messages: Any) -> list[dict[str, Any]]:
    if not messages:
        return []
    out = list(messages)
    for message in out:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant") or \
                not isinstance(message.get("content"), (list, tuple)):
            raise ValueError("messages must be Converse-shaped: {'role': 'user'|'assistant', 'content': [{'text': ...}]}")
    return out
