"""DataFrames that hold one thing and show another: ``%bedrock usage`` keeps every column of the
ledger but shows the compact view; a comparison shows its answers whole and wrapped, side by side
(pandas cuts text at 50 characters). Rendering only: the value is a DataFrame like any other.
"""

from __future__ import annotations

import html
from typing import Any, Callable

__all__ = ["shown_as"]


_WRAP_CSS = ("<style>.bedrock-wrap td{white-space:pre-wrap;text-align:left;vertical-align:top;"
             "min-width:14em;max-width:48em;overflow-wrap:anywhere}</style>")


def shown_as(frame: Any, view: Callable[[Any], Any] | None = None, *, wrap: bool = False,
             note: str | None = None) -> Any:
    """``frame`` itself (every column, usable as before) that *renders* as ``view(frame)``.

    ``wrap``: long texts are shown whole and wrapped (pandas cuts them at 50 characters), so the
    answers of a comparison read side by side. ``note`` is a line under the table. Any operation
    on the result (``frame[...]``, ``groupby``, ``copy``) gives a plain DataFrame.
    """
    cls = _frame_view_class()
    shown = cls(frame)
    shown.attrs = dict(frame.attrs)
    shown._bedrock_view, shown._bedrock_wrap, shown._bedrock_note = view, wrap, note
    return shown


def _frame_view_class() -> type:
    global _FrameView
    if _FrameView is not None:
        return _FrameView
    import pandas as pd

    class FrameView(pd.DataFrame):
        """A DataFrame whose display is a view of it (see :func:`shown_as`)."""

        _metadata = ["_bedrock_view", "_bedrock_wrap", "_bedrock_note"]
        _bedrock_view: Any = None
        _bedrock_wrap: bool = False
        _bedrock_note: str | None = None

        @property
        def _constructor(self) -> type:
            return pd.DataFrame

        def _shown(self) -> "pd.DataFrame":
            plain = pd.DataFrame(self)
            return self._bedrock_view(plain) if self._bedrock_view is not None else plain

        def _repr_html_(self) -> str:
            shown = self._shown()
            with pd.option_context("display.max_colwidth", None if self._bedrock_wrap else 50):
                table = shown._repr_html_() or ""
            if self._bedrock_wrap:
                table = _WRAP_CSS + table.replace('class="dataframe"', 'class="dataframe bedrock-wrap"', 1)
            if self._bedrock_note:
                table += f"<div style='opacity:0.7;font-size:smaller'>{html.escape(self._bedrock_note)}</div>"
            return table

        def __repr__(self) -> str:
            shown = self._shown()
            with pd.option_context("display.max_colwidth", None if self._bedrock_wrap else 50):
                text = repr(shown)
            return text + (f"\n{self._bedrock_note}" if self._bedrock_note else "")

        def _repr_pretty_(self, p: Any, cycle: bool) -> None:
            p.text(repr(self))

    _FrameView = FrameView
    return FrameView


_FrameView: Any = None
