"""The error vocabulary: ``BedrockError``, ``Note``, ``one_line``, ``code_of``, ``did_you_mean``.

A failed call must fail the cell with one or two readable lines naming the cause and the fix, not
a traceback through botocore. A ``BedrockError``'s ``message`` is the cause and ``hint`` the fix;
``str(err)`` is both on one line (for the ledger and DataFrame error columns) and
``_render_traceback_`` is what IPython prints instead of a traceback. No message ever contains a
secret: every text goes through :func:`~bedrock_magics.redact.redact`. Turning a library's
exception into a ``BedrockError`` (cause and fix) is :mod:`bedrock_magics.explain`'s job.

Notes that are not failures (an unknown price, a guessed body format) are :class:`Note` warnings:
``warnings.warn(text, Note)`` shows ``Note: text`` on one line, without the file path and source
line Python prints for other warnings, and the usual warning filters still apply.
"""

from __future__ import annotations

import difflib
import warnings
from typing import Any, Iterable, Sequence

from .redact import redact

_MAX_MESSAGE = 240


class Note(UserWarning):
    """A one-line notice for the person at the notebook, shown as ``{Category}: text``.

    Subclasses (``prices.PriceWarning``) name the topic. Issue each note once (per model, per
    run), never once per call: the callers keep a set of what they already said.
    """


def _one_line_notes(original: Any) -> Any:
    """Wrap ``warnings.formatwarning`` so that :class:`Note` warnings print as one short line.

    Everything else is formatted by ``original``, unchanged. (A category cannot format itself;
    ``formatwarning`` is the hook ``warnings.showwarning`` consults, in scripts and kernels alike.)
    """

    def formatwarning(message: Any, category: type[Warning], filename: str, lineno: int,
                      line: str | None = None) -> str:
        if isinstance(category, type) and issubclass(category, Note):
            return f"{category.__name__}: {message}\n"
        return original(message, category, filename, lineno, line)

    formatwarning.bedrock_magics_notes = True  # type: ignore[attr-defined]
    return formatwarning


def show_notes_briefly() -> None:
    """Make :class:`Note` warnings print as one line (``Note: text``), once per process (even after
    a reload). Other warnings are formatted as before."""
    if not getattr(warnings.formatwarning, "bedrock_magics_notes", False):
        warnings.formatwarning = _one_line_notes(warnings.formatwarning)


# At import, not at extension load: a script that only imports ``prices`` issues notes too, and
# they must read as one line there as well (tests/test_prices.py). The hook changes nothing else.
show_notes_briefly()


class BedrockError(Exception):
    """A failed Bedrock call, explained in one line.

    ``code`` is the wire error code (``AccessDeniedException``, ``ThrottlingException``, …) or one of
    ours (``NoCredentials``, ``ConnectionError``, ``SSLError``, ``IncompleteStream``, …);
    ``message`` names the cause, ``hint`` the fix; ``status`` is the HTTP status when there was one.
    ``reply`` is the failed call's recorded :class:`~bedrock_magics.reply.Reply` (set by the core).
    """

    reply = None

    def __init__(self, message: str, *, code: str = "BedrockError", hint: str | None = None,
                 request_id: str | None = None, status: int | None = None) -> None:
        self.message = one_line(str(message) if message is not None else None)
        self.code = code
        self.hint = one_line(str(hint)) if hint else None
        self.request_id = request_id
        self.status = status
        super().__init__(self.line)

    @property
    def line(self) -> str:
        """Cause and fix on one line."""
        return f"{self.message} {self.hint}" if self.hint else self.message

    def __str__(self) -> str:
        return self.line

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: 1–3 short lines."""
        lines = [f"BedrockError ({self.code}): {self.message}"]
        if self.hint:
            lines.append(f"  → {self.hint}")
        if self.request_id:
            lines.append(f"  request id: {self.request_id}")
        return lines


class Cancelled(KeyboardInterrupt):
    """A call stopped by Ctrl-C. It *is* a ``KeyboardInterrupt``, so scripts stop as usual;
    ``reply`` is the call's recorded ``cancelled`` :class:`~bedrock_magics.reply.Reply`, with
    the text that arrived before the interrupt (``Bedrock.ask``/``stream`` raise it)::

        try:
            reply = bm.ask("Write a long story")
        except Cancelled as stop:
            reply = stop.reply       # status "cancelled"; its ledger row is written
    """

    def __init__(self, reply: Any) -> None:
        super().__init__("cancelled (interrupted)")
        self.reply = reply


class BatchInterrupted(KeyboardInterrupt):
    """A DataFrame run stopped by Ctrl-C; ``.frame`` holds the partial result.

    It *is* a ``KeyboardInterrupt``, so scripts, Run All, nbclient and papermill stop as usual.
    The magic catches it, stores ``.frame`` in ``DEST`` and says how many rows finished; Python
    callers do the same::

        try:
            out = bm.map(df, "Summarise: {text}")
        except BatchInterrupted as stop:
            out = stop.frame        # finished rows kept; the rest have COL_error == "cancelled"
    """

    def __init__(self, frame: Any, summary: str) -> None:
        super().__init__(summary)
        self.frame = frame
        self.summary = summary


def one_line(text: Any) -> str:
    """``text`` (a string or an exception) as one short line, with secrets masked.

    Service messages can be long (InvalidSignatureException carries the canonical request): the
    first line tells the cause, the rest is for debugging; it is cut at 240 characters. An
    exception with no text reads as its class name. The package's one line-maker: catalogs,
    pickers and batch rows all show errors through it.
    """
    if text is None:
        return ""
    raw = str(text).strip()
    if not raw:
        return type(text).__name__ if isinstance(text, BaseException) else ""
    first = raw.splitlines()[0].strip()
    first = first if len(first) <= _MAX_MESSAGE else first[: _MAX_MESSAGE - 1] + "…"
    return redact(first)


def code_of(exc: BaseException) -> str | None:
    """The wire error code of ``exc`` (``ThrottlingException`` …), or None when it carries none.

    A ``BedrockError``'s code; botocore's ``Error.Code`` (in-stream exceptions, named by their
    lower-camel member such as ``throttlingException``, are capitalised like the others).
    """
    if isinstance(exc, BedrockError):
        return exc.code
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = str((response.get("Error") or {}).get("Code") or "")
        return code[:1].upper() + code[1:] or None
    return None


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of the response that failed ``exc`` (botocore or openai), or None."""
    if isinstance(exc, BedrockError):
        return exc.status
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def did_you_mean(value: Any, choices: Iterable[Any], form: str = " Did you mean {!r}?", cutoff: float = 0.5) -> str:
    """A hint naming the closest of ``choices`` to ``value``, or ``""`` when none is close.

    The one did-you-mean rule of the package (settings, magic options, sub-commands, variables,
    providers, template fields). Case is ignored when comparing; the hint names the choice as
    written. ``form`` is the hint's wording, filled with the choice: `` Did you mean 'x'?`` for a
    setting's sentence, ``" (did you mean {}?)"`` inside a magic's one-line error.
    """
    if not isinstance(value, str):
        return ""
    by_key = {str(c).lower(): str(c) for c in choices}
    close = difflib.get_close_matches(value.lower(), list(by_key), n=1, cutoff=cutoff)
    return form.format(by_key[close[0]]) if close else ""


__all__: Sequence[str] = ("BatchInterrupted", "BedrockError", "Cancelled", "Note", "code_of", "did_you_mean", "one_line", "show_notes_briefly",
                          "status_of")
