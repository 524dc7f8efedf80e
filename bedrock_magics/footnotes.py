"""What a reply shows besides its answer: its reasoning (collapsed under the answer in rich
displays, dimmed in terminals and while it streams) and the footer's price source, prompt-cache
and reasoning token counts. Plain strings; ``display`` places them."""

from __future__ import annotations

import html
from typing import Any

__all__ = ["dim", "priced_by", "reasoning_md", "reasoning_plain", "thinking_md", "usage_details"]

_DIM, _UNDIM = "\x1b[2m", "\x1b[0m"  # ANSI faint, then reset


def dim(text: str) -> str:
    """``text`` dimmed in a terminal."""
    return f"{_DIM}{text}{_UNDIM}"


def priced_by(reply: Any) -> str:
    """`` (genai-prices 0.2.5)``: the source and date that priced the call ("" when unknown)."""
    source = getattr(reply, "price_source", None)
    return f" ({source})" if source else ""


def usage_details(reply: Any) -> list[str]:
    """Footer parts for prompt-cache and reasoning tokens, when the call had any."""
    read, written = getattr(reply, "cache_read_tokens", 0), getattr(reply, "cache_write_tokens", 0)
    parts = [f"cache {read:,} read / {written:,} written"] if read or written else []
    if getattr(reply, "reasoning_tokens", 0):
        parts.append(f"{reply.reasoning_tokens:,} reasoning tokens")
    return parts


def reasoning_md(reply: Any) -> str:
    """The model's reasoning, collapsed under the answer (an HTML ``<details>``); "" without."""
    thought = getattr(reply, "reasoning", None)
    if not thought:
        return ""
    return (f"\n\n<details><summary>Reasoning</summary>\n\n<pre style=\"white-space:pre-wrap;opacity:0.7\">"
            f"{html.escape(thought)}</pre>\n\n</details>")


def reasoning_plain(reply: Any) -> str:
    """The reasoning as a dim prefix in terminals, before the answer; "" without."""
    thought = getattr(reply, "reasoning", None)
    return dim(thought) + "\n" if thought else ""


def thinking_md(thought: str) -> str:
    """Reasoning streamed so far, dimmed above the growing answer; "" without."""
    return f'<div style="opacity:0.6;white-space:pre-wrap">{html.escape(thought)}</div>\n\n' if thought else ""
