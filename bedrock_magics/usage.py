"""``%bedrock usage``: the ledger as people read it — compact by default, summarised by group,
drawn as a chart.

* :func:`compact`: one row per call with what a reader looks at first (time to the second, model,
  route, tokens, latency, cost, status, error); the full frame is ``Bedrock.usage()`` /
  ``%bedrock usage --full``.
* :func:`summary`: calls, errors, tokens, cost and median latency per ``model``, ``api`` (the
  route: endpoint/api), ``region`` or ``day``.
* :func:`plot`: cost and tokens per group, two bar charts side by side (matplotlib, imported here
  only, on first use).

Pure functions of the ledger frame: no I/O, nothing about IPython.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["COMPACT", "GROUPS", "SUMMARY", "compact", "summary", "plot"]

#: The columns of the compact view, in order.
COMPACT = ("time", "model", "route", "input_tokens", "output_tokens", "latency_ms", "cost_usd", "status", "error")
#: The groups of :func:`summary`.
GROUPS = ("model", "api", "region", "day")
#: The columns of :func:`summary` after the group.
SUMMARY = ("calls", "errors", "input_tokens", "output_tokens", "total_tokens", "cost_usd", "median_latency_ms")


def _route(frame: "pd.DataFrame") -> "pd.Series":
    return frame["endpoint"].fillna("").astype(str) + "/" + frame["api"].fillna("").astype(str)


def compact(frame: "pd.DataFrame") -> "pd.DataFrame":
    """The calls of ``frame`` (a ledger frame) in :data:`COMPACT`'s columns: ``time`` in UTC to the
    second (shown without the ``+00:00`` suffix), ``route`` as ``endpoint/api``, errors on one line."""
    import pandas as pd

    out = pd.DataFrame(index=frame.index)
    out["time"] = frame["time"].dt.tz_convert("UTC").dt.tz_localize(None).dt.floor("s")
    out["model"] = frame["model"]
    out["route"] = _route(frame)
    for name in ("input_tokens", "output_tokens"):
        out[name] = frame[name]
    out["latency_ms"] = frame["latency_ms"].round(0)
    out["cost_usd"] = frame["cost_usd"]
    out["status"] = frame["status"]
    out["error"] = frame["error"].map(_short_error)
    return out


def _short_error(value: Any, limit: int = 80) -> Any:
    if not isinstance(value, str):
        return value
    line = value.splitlines()[0] if value else value
    return line if len(line) <= limit else line[: limit - 1] + "…"


def summary(frame: "pd.DataFrame", by: str) -> "pd.DataFrame":
    """Calls, errors, tokens, cost and median latency per group of ``frame`` (``by`` in :data:`GROUPS`),
    the most expensive group first. ``cost_usd`` sums the known costs (an unknown price adds nothing)."""
    import pandas as pd

    if by not in GROUPS:
        raise ValueError(f"usage summaries group by {', '.join(GROUPS)}; got {by!r}")
    keys = {"model": frame["model"], "api": _route(frame), "region": frame["region"],
            "day": frame["time"].dt.tz_convert("UTC").dt.date}[by]
    work = frame.assign(_key=keys.values, _error=(frame["status"] != "ok").astype("int64"))
    grouped = work.groupby("_key", sort=False, dropna=False)
    result = pd.DataFrame({
        "calls": grouped.size(),
        "errors": grouped["_error"].sum(),
        "input_tokens": grouped["input_tokens"].sum(),
        "output_tokens": grouped["output_tokens"].sum(),
        "total_tokens": grouped["total_tokens"].sum(),
        "cost_usd": grouped["cost_usd"].sum(min_count=0),
        "median_latency_ms": grouped["latency_ms"].median().round(0),
    })
    result.index.name = by
    order = ["day"] if by == "day" else ["cost_usd", "calls"]
    return result.sort_values(order, ascending=by == "day", kind="stable")


def plot(table: "pd.DataFrame") -> Any:
    """Two bar charts of a :func:`summary` table: cost and tokens per group. Returns the figure
    (closed for pyplot, so a notebook shows it once: as the returned value)."""
    import matplotlib.pyplot as plt

    by = table.index.name or "group"
    labels = [str(v) for v in table.index]
    height = max(2.5, 0.45 * len(labels) + 1.2)
    fig, (cost_ax, token_ax) = plt.subplots(1, 2, figsize=(11, height), sharey=True, layout="constrained")
    positions = range(len(labels))
    cost_ax.barh(positions, table["cost_usd"].fillna(0), color="#4c72b0")
    cost_ax.set_title(f"Estimated cost (USD) per {by}")
    cost_ax.set_yticks(list(positions), labels)
    cost_ax.invert_yaxis()
    token_ax.barh(positions, table["input_tokens"], color="#55a868", label="input")
    token_ax.barh(positions, table["output_tokens"], left=table["input_tokens"], color="#dd8452", label="output")
    token_ax.set_title(f"Tokens per {by}")
    token_ax.legend(loc="lower right")
    for ax in (cost_ax, token_ax):
        ax.grid(axis="x", alpha=0.3)
    plt.close(fig)
    return fig
