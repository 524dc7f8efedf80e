"""Small tables that render as Markdown in a notebook and as aligned text in a terminal: the
``%bedrock status`` settings, a batch job's fields."""

from __future__ import annotations

import html
from typing import Any

__all__ = ["Fields", "Table"]


class Table:
    """A small table that renders as Markdown in a notebook and as aligned text in a terminal."""

    def __init__(self, header: list[str], rows: list[list[Any]], title: str | None = None,
                 notes: list[str] | None = None, header_shown: bool = True) -> None:
        self.header = header
        self.rows = [[("" if v is None else str(v)) for v in row] for row in rows]
        self.title = title
        self.notes = notes or []
        self.header_shown = header_shown  # False: a name/value list (Markdown still needs a header row)

    def _repr_markdown_(self) -> str:
        def cell(value: str) -> str:
            return html.escape(value).replace("|", "\\|")

        lines = [f"**{html.escape(self.title)}**", ""] if self.title else []
        lines.append("| " + " | ".join(cell(h) for h in self.header) + " |")
        lines.append("|" + "---|" * len(self.header))
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in self.rows]
        lines += [""] + [html.escape(n) for n in self.notes] if self.notes else []
        return "\n".join(lines)

    def __repr__(self) -> str:
        shown = [self.header, *self.rows] if self.header_shown else self.rows
        widths = [max(len(str(r[i])) for r in shown) if shown else 0 for i in range(len(self.header))]
        lines = [self.title] if self.title else []
        for row in shown:
            lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip())
        return "\n".join(lines + self.notes)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


class Fields(dict):
    """A small record (a batch job's state) that shows as aligned ``name  value`` lines in a
    terminal and as a two-column table in a notebook, never as a raw dict repr.

    It is a ``dict``: ``job["status"]`` and ``json.dumps(job)`` work as before. Dates read as
    ``2026-05-01 14:03:22 UTC``; lists as one value per line; empty values are left out.
    """

    def __init__(self, values: Any = (), title: str | None = None) -> None:
        super().__init__(values)
        self.title = title

    def _table(self) -> Table:
        rows = []
        for name, value in self.items():
            if value is None or value == [] or value == "":
                continue
            items = value if isinstance(value, (list, tuple)) else [value]
            rows += [[name if i == 0 else "", _value_text(item)] for i, item in enumerate(items)]
        return Table(["field", "value"], rows, title=self.title, header_shown=False)

    def _repr_markdown_(self) -> str:
        return self._table()._repr_markdown_()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self._table()))


def _value_text(value: Any) -> str:
    import datetime

    if isinstance(value, datetime.datetime):
        when = value.astimezone() if value.tzinfo is not None else value
        return when.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    if isinstance(value, float) and value.is_integer():
        return f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
