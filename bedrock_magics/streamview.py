"""Streaming into a cell: :class:`StreamView` shows a streamed answer as it grows.

In a kernel it is one display handle updated in place, coalesced to ~15 updates/s so Jupyter's
IOPub rate limit is never reached; in terminal IPython the deltas are written to stdout as they
come. When the stream ends, the finished rendering (``display.mimebundle``, with its footer)
replaces the growing text, and the reply is marked shown (``display.mark_shown``).
"""

from __future__ import annotations

import html
import sys
import time
from typing import TYPE_CHECKING, Any

from .display import ToolRounds, close_fences, footer, mark_shown, mimebundle, running_shell, set_format
from .footnotes import dim, thinking_md
from .reply import ServerCall
from .toolview import notes_md, server_call_line, with_notes

if TYPE_CHECKING:  # pragma: no cover
    from .reply import Reply

__all__ = ["StreamView", "UPDATES_PER_SECOND", "is_rich"]

UPDATES_PER_SECOND = 15.0
_CURSOR = " ▍"


def is_rich(shell: Any) -> bool:
    """True when display updates render in place (a kernel, or captured outputs), False in a terminal."""
    if shell is None:
        return False
    if getattr(shell, "kernel", None) is not None:
        return True
    from IPython.core.displaypub import DisplayPublisher

    return type(getattr(shell, "display_pub", None)) is not DisplayPublisher


class StreamView:
    """A streamed answer shown as it grows.

    In a kernel: one ``display(..., display_id=True)`` handle; deltas are coalesced to at most
    ``rate`` updates per second (Jupyter drops output beyond its IOPub rate limit) and rendered as
    Markdown with a cursor; :meth:`finish` makes the last update the finished rendering with its
    footer. In terminal IPython: deltas are written to stdout as they come, then the footer.

    Every call must come from the thread running the cell (display messages belong to the cell).
    """

    def __init__(self, label: str = "", fmt: str = "markdown", shell: Any = None, rate: float = UPDATES_PER_SECOND):
        self.shell = shell if shell is not None else running_shell()
        self.fmt = fmt
        self.rich = is_rich(self.shell)
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.parts: list[str] = []
        self.thinking: list[str] = []  # reasoning pieces, shown dimmed above the answer
        self.notes: list[str] = []
        # A tool loop's rounds: shown above, added up in the footer. In a terminal the server-side
        # tools' lines were printed as they came; in a kernel they are live lines until the round ends.
        self.rounds = ToolRounds(echo=self.note, server_calls=self.rich)
        self.live: list[str] = []  # this round's server-side tool lines, as they stream
        self.updates = 0  # display updates sent (not counting the placeholder)
        self._last: float | None = None  # the first delta is shown at once
        self._handle = None
        if self.rich:
            from IPython.display import display

            waiting = f"*waiting for {label}…*" if label else "*waiting…*"
            self._handle = display({"text/markdown": waiting, "text/plain": waiting.strip("*")},
                                   raw=True, display_id=True)

    @property
    def text(self) -> str:
        """The answer's text so far (every delta received)."""
        return "".join(self.parts)

    def add(self, delta: str, thinking: bool = False) -> None:
        """Append a text delta (``thinking``: a piece of the model's reasoning, shown dimmed above it)."""
        if not delta:
            return
        (self.thinking if thinking else self.parts).append(delta)
        if not self.rich:  # the answer starts on a line of its own below the thinking
            sys.stdout.write(dim(delta) if thinking else ("\n" if self.thinking and len(self.parts) == 1 else "") + delta)
            sys.stdout.flush()
            return
        now = time.monotonic()
        if self._last is None or now - self._last >= self.interval:
            self._update(self._partial())
            self._last = now

    def reasoning(self, delta: str) -> None:
        """``on_reasoning`` of ``Bedrock.stream``: the model's thinking, dimmed."""
        self.add(delta, thinking=True)

    def run(self, pieces: Any) -> "Reply":
        """Show the text deltas of ``pieces`` (``Bedrock.stream``) and return its final reply.

        A failure or an interrupt ends the view with what arrived (no cursor, no note: the error
        that propagates says what happened, once), then propagates.
        """
        reply = None
        try:
            for piece in pieces:
                if isinstance(piece, str):
                    self.add(piece)
                elif isinstance(piece, ServerCall):
                    self.note(server_call_line(piece), live=True)
                else:
                    reply = piece
        except BaseException:
            self.abort()
            raise
        self.finish(reply)
        return reply

    def on_round(self, round_: Any) -> None:
        """``on_round`` callback of ``Bedrock.stream``: show a tool round as it happens and count it."""
        if round_.calls:
            self.live = []  # the round's echo shows them for good (the answer's come with its rendering)
        self.rounds(round_)

    def note(self, line: str, live: bool = False) -> None:
        """Show a line above the answer (a tool round; ``live``: a server-side tool item, until its round ends)."""
        (self.live if live else self.notes).append(line)
        if not self.rich:
            sys.stdout.write(("\n" if self.parts and not self.text.endswith("\n") else "") + line + "\n")
            sys.stdout.flush()
            return
        self._update(self._partial())
        self._last = time.monotonic()

    def finish(self, reply: "Reply") -> None:
        """Replace the growing text by the finished rendering with its footer; mark it shown."""
        set_format(reply, self.fmt)
        self.rounds.attach(reply)
        if self.rich:
            bundle = mimebundle(reply)
            if self.notes:
                bundle = with_notes(bundle, self.notes)
            self._update(bundle)
        else:
            ending = "" if self.text.endswith("\n") or not (self.parts or self.thinking) else "\n"
            sys.stdout.write(ending + footer(reply) + "\n")
            sys.stdout.flush()
        mark_shown(reply, self.shell)

    def abort(self, why: str | None = None) -> None:
        """End the view after a failure or interrupt: keep what arrived (tool rounds, partial text, no
        cursor), or no output at all if nothing did; ``why`` (if given) is added as a last line."""
        if self.rich and not (self.parts or self.notes or why):
            return self._clear()
        if self.rich:
            text = close_fences(self.text) if self.parts else ""
            notes = self.notes + self.live
            markdown_ = notes_md(notes) + text
            plain_ = "\n".join(notes + ([self.text] if self.parts else []))
            if why:
                markdown_ += ("\n\n" if markdown_ else "") + f"<sub>{html.escape(why)}</sub>"
                plain_ += ("\n" if plain_ else "") + why
            bundle = {"text/plain": plain_}
            if markdown_ and self.fmt not in ("text", "html"):
                bundle["text/markdown"] = markdown_
            self._update(bundle)
        else:
            ending = "\n" if self.parts and not self.text.endswith("\n") else ""
            sys.stdout.write(ending + (why + "\n" if why else ""))
            sys.stdout.flush()

    def _partial(self) -> dict[str, Any]:
        text = self.text
        notes = self.notes + self.live
        if self.fmt in ("text", "html"):  # never render half an untrusted HTML document
            return {"text/plain": "\n".join(notes + [text])}
        return {"text/markdown": notes_md(notes) + thinking_md("".join(self.thinking)) + close_fences(text)
                + _CURSOR,
                "text/plain": "\n".join(notes + [text])}

    def _clear(self) -> None:
        """Remove the placeholder (a kernel: clear the cell, whose first output it is; captured: drop it)."""
        handle, self._handle, outputs = self._handle, None, getattr(self.shell.display_pub, "outputs", [])
        if handle is not None and getattr(self.shell, "kernel", None) is not None:
            self.shell.display_pub.clear_output(wait=False)
        elif handle is not None:  # captured (the terminal's clear_output would only print escape codes)
            outputs[:] = [o for o in outputs if (o.get("transient") or {}).get("display_id") != handle.display_id]

    def _update(self, bundle: dict[str, Any]) -> None:
        if self._handle is not None:
            self._handle.update(bundle, raw=True)
            self.updates += 1
