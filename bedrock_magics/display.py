"""How replies look: the answer, a one-line footer, formats.

* :func:`mimebundle` / :func:`markdown` / :func:`plain` render a :class:`~bedrock_magics.reply.Reply`
  (``Reply._repr_*`` delegate here) as the answer followed by :func:`footer`: model · route ·
  tokens · latency · estimated cost, plus the stop reason whenever the answer did not simply end
  (a reply cut by ``--max-tokens`` says so: no silent caps).
* The format of a reply (``--format``) is remembered here, by the reply's identity, so that the
  reply object stays a plain data record.
* Streaming into a cell (:class:`~bedrock_magics.streamview.StreamView`) is its own module, over
  these renderings.
* The "don't draw it twice" rule: a reply already shown (streamed, or ``--quiet``) and returned
  as the cell's value must not render again. :func:`mark_shown` sets a one-shot flag for the
  current cell; :func:`show_reply`, registered by the magic as IPython's display printer for
  ``Reply``, honours it (the displayhook still sets ``_`` and ``Out``).
* A tool loop's footer counts every round (:class:`ToolRounds`), not just the call that gave the
  answer; the totals are remembered next to the format, by the reply's identity.
* :class:`Interrupted` is how ■ / Ctrl-C ends a cell: one or two lines instead of a traceback.
* :class:`Fields` shows a small record (a batch job's state) as aligned lines or a table.
"""

from __future__ import annotations

import html
import json
import math
import re
import weakref
from typing import TYPE_CHECKING, Any, Callable

from .config import FORMATS, SET
from .footnotes import priced_by, reasoning_md, reasoning_plain, usage_details
from .redact import redact
from .tables import Fields, Table  # noqa: F401 - Fields: shown by the magics as display.Fields
from .toolview import pending_line, server_call_line, tool_round, with_notes as _with_notes

if TYPE_CHECKING:  # pragma: no cover
    from .reply import Reply

__all__ = [
    "footer", "plain", "markdown", "mimebundle", "set_format", "mark_shown", "show_reply", "running_shell",
    "close_fences", "tool_round", "ToolRounds", "Interrupted", "Fields", "status", "local_status", "conversation",
    "preview", "Table", "FORMATS",
]


class _Totals:
    """What a whole tool loop used: rounds, tokens, model latency and cost, added up."""

    __slots__ = ("rounds", "input_tokens", "output_tokens", "latency_ms", "cost_usd")

    def __init__(self, replies: list[Any]) -> None:
        self.rounds = len(replies)
        self.input_tokens = sum(r.input_tokens for r in replies)
        self.output_tokens = sum(r.output_tokens for r in replies)
        self.latency_ms = sum(r.latency_ms or 0 for r in replies)
        costs = [r.cost_usd for r in replies]
        # One unknown price makes the total unknown: a partial sum would read as the whole cost.
        self.cost_usd = math.nan if any(c is None or math.isnan(c) for c in costs) else float(sum(costs))


class _Entry:
    __slots__ = ("format", "shown_in", "totals")

    def __init__(self) -> None:
        self.format: str | None = None
        self.shown_in: int | None = None  # execution count of the cell that already showed it
        self.totals: _Totals | None = None  # a tool loop's rounds added up


# Keyed by id(): a Reply is an unhashable dataclass, so it can't go in a WeakKeyDictionary.
# weakref.finalize drops the entry when the reply is collected, so an id is never reused stale.
_registry: dict[int, _Entry] = {}


def _entry(reply: Any) -> _Entry:
    key = id(reply)
    entry = _registry.get(key)
    if entry is None:
        entry = _registry[key] = _Entry()
        try:
            weakref.finalize(reply, _registry.pop, key, None)
        except TypeError:  # not weak-referenceable: keep no state for it
            _registry.pop(key, None)
    return entry


def set_format(reply: Any, fmt: str | None) -> None:
    """Show ``reply`` in ``fmt`` (``markdown``, ``text``, ``json``, ``code``, ``html``) from now on."""
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    _entry(reply).format = fmt


def format_of(reply: Any) -> str:
    """The format ``reply`` is shown in (markdown unless set)."""
    entry = _registry.get(id(reply))
    return (entry.format if entry else None) or "markdown"


def mark_shown(reply: Any, shell: Any = None) -> None:
    """Tell the displayhook of the current cell not to draw ``reply`` again (one-shot)."""
    shell = shell or running_shell()
    _entry(reply).shown_in = getattr(shell, "execution_count", 0)


def show_reply(reply: Any) -> None:
    """IPython display printer for replies: draw it, unless this cell already showed it."""
    shell = running_shell()
    entry = _registry.get(id(reply))
    if entry is not None and entry.shown_in is not None:
        already = entry.shown_in == getattr(shell, "execution_count", 0)
        entry.shown_in = None  # one shot: a later display() draws it normally
        if already:
            return
    from IPython.display import display

    display(mimebundle(reply), raw=True)


# -- the footer ------------------------------------------------------------------------------------

def _money(value: float) -> str:
    # An estimate from the bundled price table, never a bill: say so.
    from .prices import (
        format_usd,  # loaded on first use: %load_ext stays light (tests/test_layers.py)
    )

    text = format_usd(value, unknown="")
    return f"est. {text}" if text else "cost unknown"


def _duration(ms: float) -> str:
    if not ms or ms != ms:
        return "0 ms"
    return f"{ms:,.0f} ms" if ms < 10_000 else f"{ms / 1000:,.1f} s"


def _stop_note(reply: "Reply") -> str | None:
    """The footer's note when the answer did not simply end. Stop reasons arrive in Converse's
    words whatever the wire (``routes._common.normalize_stop``), so only those are known here."""
    reason = reply.stop_reason
    if reason in (None, "end_turn"):
        return None
    if reply.cut_off:
        return f"stopped: {reason} (answer cut off; raise --max-tokens)"
    return f"stopped: {reason}"


def _tokens(used: Any) -> str:
    """``230 in / 43 out tokens``; an embedding of images names them first (AWS bills each Titan
    Multimodal image apart from the text tokens): ``1 image · 0 tokens``."""
    images = getattr(used, "input_images", 0)
    if images and not used.output_tokens:
        return f"{images:,} image{'s' if images != 1 else ''} · {used.input_tokens:,} tokens"
    return f"{used.input_tokens:,} in / {used.output_tokens:,} out tokens"


def footer(reply: "Reply") -> str:
    """One line: model · route · input/output tokens · latency · estimated cost (· stop reason).

    After a tool loop (:class:`ToolRounds`) the tokens, latency and cost are those of every round,
    and the number of rounds is named: ``230 in / 43 out tokens · 2 rounds · …``. An embedding with
    images counts them: ``1 image · 12 tokens · 85 ms · $0.0000696 (bundled table 2025-11-01)``.
    """
    route = "/".join(p for p in (reply.endpoint, reply.api) if p)
    parts = [reply.model or "unknown model"]
    if route:
        parts.append(route)
    entry = _registry.get(id(reply))
    used: Any = entry.totals if entry is not None and entry.totals is not None else reply
    parts.append(_tokens(used))
    if used is not reply:
        parts.append(f"{used.rounds} rounds")
    parts.append(_duration(used.latency_ms))
    parts.append(_money(used.cost_usd) + (priced_by(reply) if used is reply else ""))
    parts += usage_details(reply)
    note = _stop_note(reply)
    if note:
        parts.append(note)
    if reply.status == "cancelled":
        parts.append("cancelled")
    return " · ".join(parts)


# -- renderings --------------------------------------------------------------------------------------

def _footer_md(line: str) -> str:
    return f"\n\n<sub>{html.escape(line)}</sub>"


def _footer_html(line: str) -> str:
    return f'<div style="opacity:0.7;font-size:smaller;margin-top:0.3em">{html.escape(line)}</div>'


def close_fences(text: str) -> str:
    """Close an unterminated code fence (a reply cut mid-block) so the footer isn't swallowed by it."""
    return text + "\n```" if len(re.findall(r"^\s*```", text, flags=re.M)) % 2 else text


_FENCE = re.compile(r"^\s*```([\w+#.-]*)[^\n]*\n(.*?)\n?\s*```\s*$", re.S)
_INNER_FENCE = re.compile(r"```([\w+#.-]*)[^\n]*\n(.*?)\n\s*```", re.S)


def _unfence(text: str) -> tuple[str, str | None]:
    """The content of a reply that is (or contains) one fenced block, and the block's language."""
    match = _FENCE.match(text) or _INNER_FENCE.search(text)
    if match:
        return match.group(2), (match.group(1) or None)
    return text, None


def _parse_json(text: str) -> tuple[bool, Any, str]:
    for candidate in (text.strip(), _unfence(text)[0].strip()):
        try:
            return True, json.loads(candidate), ""
        except ValueError as exc:
            error = f"{exc.msg} at line {exc.lineno} column {exc.colno}" if hasattr(exc, "msg") else str(exc)
    return False, None, error


def _error_bundle(reply: Any, line: str) -> dict[str, Any]:
    code = reply.error_code or "error"
    message = reply.error or "the call failed"
    return {"text/markdown": f"**{html.escape(code)}**: {html.escape(message)}" + _footer_md(line),
            "text/plain": f"{code}: {message}\n{line}"}


def mimebundle(reply: "Reply", fmt: str | None = None) -> dict[str, Any]:
    """The display data of ``reply`` in ``fmt`` (default: the reply's remembered format).

    Always ``text/plain``; ``text/markdown`` for markdown, json and code; ``application/json``
    for valid JSON; ``text/html`` for code (highlighted) and html (in a sandboxed iframe: the
    model's HTML is untrusted and must not run scripts in the notebook).
    """
    fmt = fmt or format_of(reply)
    line = footer(reply)
    text = reply.text or _embedding_summary(reply)
    if reply.status == "error":
        return _error_bundle(reply, line)
    say = pending_line(reply)
    if say:
        return {"text/markdown": say + _footer_md(line), "text/plain": f"{say}\n{line}"}
    calls = getattr(reply, "server_calls", None)
    if calls:  # what Bedrock's server-side tools did, above the answer they led to
        return _with_notes(_answer_bundle(reply, fmt, text, line), [server_call_line(c) for c in calls])
    return _answer_bundle(reply, fmt, text, line)


def _answer_bundle(reply: "Reply", fmt: str, text: str, line: str) -> dict[str, Any]:
    if fmt == "text":
        return {"text/plain": f"{text}\n{line}"}
    if fmt == "json":
        ok, value, error = _parse_json(text)
        if not ok:
            line = f"{line} · not valid JSON ({error}); shown as text"
            return {"text/plain": f"{text}\n{line}"}
        pretty = json.dumps(value, indent=2, ensure_ascii=False)
        bundle = {"text/markdown": f"```json\n{pretty}\n```" + _footer_md(line), "text/plain": f"{pretty}\n{line}"}
        if isinstance(value, (dict, list)):  # the JSON viewers expect a document, not a bare scalar
            bundle["application/json"] = value
        return bundle
    if fmt == "code":
        from IPython.display import Code

        code, language = _unfence(text)
        code_html = Code(data=code, language=language or "python")._repr_html_()
        return {"text/html": code_html + _footer_html(line),
                "text/markdown": f"```{language or 'python'}\n{code}\n```" + _footer_md(line),
                "text/plain": f"{code}\n{line}"}
    if fmt == "html":
        source = _unfence(text)[0] if _FENCE.match(text) else text
        frame = (f'<iframe sandbox="" srcdoc="{html.escape(source, quote=True)}" title="model reply (sandboxed)" '
                 'style="width:100%;height:24em;border:1px solid #8884;resize:vertical"></iframe>')
        return {"text/html": frame + _footer_html(line), "text/plain": f"{text}\n{line}"}
    return {"text/markdown": close_fences(text) + reasoning_md(reply) + _footer_md(line),
            "text/plain": f"{reasoning_plain(reply)}{text}\n{line}"}


def _embedding_summary(reply: "Reply") -> str:
    """What an embedding call answered (it has no text): the vector's size and first values."""
    vector = reply.embedding
    if vector is None:
        return ""
    values = [float(v) for v in list(vector)[:4]]
    shown = ", ".join(f"{v:.4f}" for v in values)
    return f"embedding of {len(vector)} dimensions: [{shown}, …] (in `.embedding`)"


def markdown(reply: "Reply") -> str:
    """The answer as Markdown followed by the footer."""
    bundle = mimebundle(reply, "markdown")
    return bundle.get("text/markdown", bundle["text/plain"])


def plain(reply: "Reply") -> str:
    """The answer as plain text followed by the footer (terminal IPython, ``text/plain``)."""
    return mimebundle(reply)["text/plain"]


def _print_line(line: str) -> None:
    print(line, flush=True)


class ToolRounds:
    """``on_round`` callback of ``Bedrock.ask``/``stream`` that keeps every round of a tool loop.

    Each round with tool calls is shown as it happens (``echo(line)``, printed by default; None
    shows nothing), and :meth:`attach` makes the answer's footer count the whole loop: the reply's
    own ``usage`` is its last call's, while every round was billed (one ledger row each).
    """

    def __init__(self, echo: Callable[[str], None] | None = _print_line, server_calls: bool = True) -> None:
        self.echo = echo
        self.server_calls = server_calls  # echo the server-side tools of rounds before the answer
        self.rounds: list[Any] = []

    def __call__(self, round_: Any) -> None:
        self.rounds.append(round_)
        if not round_.calls or self.echo is None:
            return  # the answer's own server-side tool lines come with its rendering
        lines = [server_call_line(c) for c in getattr(round_.reply, "server_calls", None) or ()] \
            if self.server_calls else []
        self.echo("\n".join(lines + [tool_round(round_.calls)]))

    def attach(self, reply: Any) -> None:
        """Remember the loop's totals for ``reply``'s footer (nothing for a single call)."""
        replies = [r.reply for r in self.rounds if r.reply is not None]
        if len(replies) > 1:
            _entry(reply).totals = _Totals(replies)


# -- the running shell -------------------------------------------------------------------------------

def running_shell() -> Any:
    """The running IPython shell, or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    return get_ipython()



class Interrupted(KeyboardInterrupt):
    """A cell stopped by ■ / Ctrl-C, shown as one or two lines instead of a traceback.

    It *is* a ``KeyboardInterrupt``, so Run All, nbclient and papermill stop as they should; the
    magic raises it ``from`` the original interrupt, so ``%tb`` still shows where it landed.
    IPython prints :meth:`_render_traceback_` instead of a traceback (a real ``error`` output in
    a notebook).
    """

    def __init__(self, *lines: str) -> None:
        super().__init__(" ".join(lines))
        self.lines = list(lines)

    def _render_traceback_(self) -> list[str]:
        """The lines IPython shows for this interrupt."""
        return list(self.lines)


# -- small tables and previews (status, chat, table modes) ------------------------------------------

_STATUS_SETTINGS = ("region", "endpoint", "api", "model", "mantle_model", "streaming", "format", "max_tokens",
                    "temperature", "top_p", "system", "profile", "concurrency", "local", "ledger_path")


def status(bm: Any, local_error: BaseException | None = None, set_by: dict[str, str] | None = None) -> Table:
    """``%bedrock status``: each setting with where it came from, then each endpoint's URL and credentials.

    ``set_by`` names the command behind a value that reads "set in Python" (``{"local": "%bedrock
    local"}``: the magic switched it, through the Python API).
    """
    sources = bm.sources()
    labels = set_by or {}
    rows = [[name, _short(sources[name]["value"]),
             labels.get(name, SET) if sources[name]["source"] == SET else sources[name]["source"]]
            for name in _STATUS_SETTINGS if name in sources]
    region = sources.get("region", {}).get("value") or "us-east-1"
    surfaces = bm.clients.describe(region)
    rows += [[f"{row['surface']} endpoint", row["url"], row["url_source"]] for row in surfaces]
    if surfaces:  # where the credentials come from (the secret itself is never shown)
        rows.append(["credentials", surfaces[0]["credentials"], surfaces[0]["auth"]])
    notes = []
    if local_error is not None:
        notes.append(f"The local service failed to start: {redact(f'{type(local_error).__name__}: {local_error}')}")
    return Table(["setting", "value", "source"], rows, title="Bedrock status", notes=notes)


def local_status(bm: Any) -> str:
    """One line on the local service: running where, or not running."""
    service = getattr(bm, "local_service", None)
    if service is None:
        return "The local Bedrock service is not running (%bedrock local start starts it)."
    return f"The local Bedrock service is running at {service.url}; calls from %bedrock go to it."


def conversation(chats: Any, name: str | None) -> Any:
    """``%bedrock chat [NAME]``: all conversations as a frame, or one as a transcript."""
    if name is None:
        return chats.frame()
    if name not in chats:
        known = ", ".join(chats.names()) or "none yet"
        from IPython.core.error import UsageError

        raise UsageError(f"no conversation named {name!r} (conversations: {known}); start one with %%bedrock --chat {name}")
    chat = chats.get(name)
    text = chat.transcript()
    title = f"{name}: {chat.turns} turn{'s' if chat.turns != 1 else ''} · {', '.join(chat.models) or 'no model yet'}"
    return _Text(title, text)


class _Text:
    def __init__(self, title: str, body: str) -> None:
        self.title, self.body = title, body

    def _repr_markdown_(self) -> str:
        return f"**{html.escape(self.title)}**\n\n" + "\n\n".join(
            "> " + html.escape(p).replace("\n", "\n> ") for p in self.body.split("\n\n") if p)

    def __repr__(self) -> str:
        return f"{self.title}\n\n{self.body}"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


def preview(result: Any, dest: str, rows: int = 5) -> None:
    """Show what was stored in DEST: a reply in full; a DataFrame's first rows (the run printed its summary)."""
    from IPython.display import display

    if hasattr(result, "head") and hasattr(result, "columns"):
        n = len(result)
        shown = f"first {rows} of {n:,} rows" if n > rows else f"{n} row{'s' if n != 1 else ''}"
        print(f"{dest}: DataFrame, {shown}")
        display(result if n <= rows else result.head(rows))  # whole: keeps a view (wrapped answers)
    else:
        display(result)


def _short(value: Any, limit: int = 70) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
