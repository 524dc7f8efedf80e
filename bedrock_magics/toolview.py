"""The lines shown above an answer: a tool loop's rounds, the items of mantle's server-side tools
(``mcp_list_tools``, ``mcp_call``), and the note of a background response not finished yet.
Plain text (``display`` puts them in each output format); nothing here touches IPython."""

from __future__ import annotations

import html
from typing import Any

__all__ = ["PENDING", "notes_md", "pending_line", "server_call_line", "tool_round", "with_notes"]

#: A background response's statuses before it has an answer.
PENDING = ("queued", "in_progress")


def pending_line(reply: Any) -> str | None:
    """What to say for a background response still running (None for any other reply)."""
    if reply.status not in PENDING:
        return None
    rid = reply.response_id or "?"
    return (f"Background response {rid} is {reply.status.replace('_', ' ')}: `%bedrock response {rid}` "
            f"fetches it (`--wait` waits for the answer).")


def server_call_line(call: Any) -> str:
    """One line for a server-side tool item: what a connector offered, or a call and its result."""
    server = call.server or "server"
    if call.kind == "list_tools":
        if call.error:
            return f"⚠ {server}: listing its tools failed: {_short(call.error)}"
        return f"🧰 {server} offers {', '.join(call.tools) or 'no tools'}"
    args = call.arguments
    shown = ", ".join(f"{k}={v!r}" for k, v in args.items()) if isinstance(args, dict) else ("" if not args else repr(args))
    head = f"🛰 {server}.{call.tool}({shown})" if call.tool and call.tool != server else f"🛰 {server}({shown})"
    if call.failed:  # the model read the error and answered anyway; the fix is in the tool
        return (f"{head} → ⚠ failed: {_short(call.error or call.output or call.status or 'no output')} "
                f"(fix the function {call.tool or server}: locally its Python code, on AWS its CloudWatch logs)")
    return f"{head} → {_short(call.output if call.output is not None else '(no output)')}"


def _short(text: Any, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tool_round(calls: list[dict[str, Any]]) -> str:
    """One line per tool call of a round: ``🔧 name(args) → output``."""
    lines = []
    for call in calls:
        args = ", ".join(f"{k}={v!r}" for k, v in (call.get("input") or {}).items())
        output = str(call.get("output", ""))
        output = output if len(output) <= 120 else output[:119] + "…"
        mark = "⚠ " if call.get("status") == "error" else ""
        lines.append(f"🔧 {call.get('name')}({args}) → {mark}{output}")
    return "\n".join(lines)


def notes_md(notes: list[str]) -> str:
    """Lines above an answer, as Markdown."""
    return "".join(f"<sub>{html.escape(n)}</sub><br>\n" for n in notes) + ("\n" if notes else "")


def with_notes(bundle: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """``bundle`` with the tool-round lines above the answer in every text format."""
    out = dict(bundle)
    block = "\n".join(notes)
    if "text/markdown" in out:
        out["text/markdown"] = notes_md(notes) + out["text/markdown"]
    if "text/html" in out:
        out["text/html"] = "".join(f"<div style='opacity:0.7'>{html.escape(n)}</div>" for n in notes) + out["text/html"]
    out["text/plain"] = f"{block}\n{out['text/plain']}"
    return out
