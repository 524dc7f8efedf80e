"""Self-check cells for ``notebooks/workshop.ipynb``: ``check(N)`` says whether exercise N's answer
has the right shape.

A check reads the variables the exercise asks for from the notebook (IPython's user namespace) and
shows one line: a green ``✓ …`` when the answer has the expected shape, or a red ``✗ …`` naming what
is missing or wrong, followed by a hint. It never raises, so *Run All* carries on past an exercise
a student has not done yet, and it never prints the solution.

Checks look at shape (a reply stored under the right name, the right model and route, one label per
row, a number that matches the usage table), not at the wording of an answer: with the local
Bedrock service the words are filler.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .reply import Reply

#: The labels exercise 4 allows (one per ticket).
TICKET_CATEGORIES = ("billing", "technical", "account", "delivery")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+\S")


@dataclass(frozen=True)
class Result:
    """What ``check(N)`` shows: passed or not, the line, and a hint when it did not pass."""

    exercise: int
    passed: bool
    message: str
    hint: str = ""

    @property
    def line(self) -> str:
        """The one line a student reads (plus the hint, on failure)."""
        if self.passed:
            return f"✓ Exercise {self.exercise}: {self.message}"
        hint = f" Hint: {self.hint}" if self.hint else ""
        return f"✗ Exercise {self.exercise}: {self.message}.{hint}"

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.line

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.line)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        if self.passed or not self.hint:
            return f'<div style="color: {colour}; font-weight: 600">{html.escape(self.line)}</div>'
        said = html.escape(f"✗ Exercise {self.exercise}: {self.message}.")
        return (f'<div style="color: {colour}"><span style="font-weight: 600">{said}</span> '
                f"Hint: {html.escape(self.hint)}</div>")


class _Wrong(Exception):
    """Raised inside a check: what is wrong, and a hint towards the fix."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _get(ns: Mapping[str, Any], name: str, hint: str) -> Any:
    if name not in ns:
        raise _Wrong(f"there is no variable `{name}` yet", hint)
    return ns[name]


def _reply(ns: Mapping[str, Any], name: str, hint: str) -> Reply:
    """The reply stored under ``name`` by ``%%bedrock name …``, which must have succeeded."""
    value = _get(ns, name, hint)
    if not isinstance(value, Reply):
        raise _Wrong(f"`{name}` is a {type(value).__name__}, not a reply", hint)
    if not value.ok:
        raise _Wrong(f"the call stored in `{name}` failed ({value.error_code or value.status})",
                     "read the error under that cell, fix the cell and run it again")
    if not value.text.strip():
        raise _Wrong(f"the reply in `{name}` has no text", hint)
    return value


def _frame(ns: Mapping[str, Any], name: str, hint: str) -> Any:
    import pandas as pd  # only when a check needs it: importing the module stays cheap

    value = _get(ns, name, hint)
    if not isinstance(value, pd.DataFrame):
        raise _Wrong(f"`{name}` is a {type(value).__name__}, not a DataFrame", hint)
    return value


def _route(reply: Reply, name: str, model: str, endpoint: str, api: str) -> None:
    """``reply`` came from a model whose id contains ``model``, through ``endpoint``/``api``."""
    if model not in reply.model:
        raise _Wrong(f"`{name}` came from {reply.model}, not {model}", "choose the model with -m")
    if (reply.endpoint, reply.api) != (endpoint, api):
        raise _Wrong(f"`{name}` went through {reply.endpoint}/{reply.api}, not {endpoint}/{api}",
                     f"add -e {endpoint} -a {api}")


def _bedrock_settings(shell: Any) -> Any:
    """The ``Bedrock`` configurable the extension registered (what ``%config Bedrock.…`` changes)."""
    for configurable in getattr(shell, "configurables", []):
        if type(configurable).__name__ == "Bedrock":
            return configurable
    return None


def _exercise_1(ns: Mapping[str, Any], shell: Any) -> str:
    language = _get(ns, "language", 'set `language = "..."` in a cell of its own first')
    if not isinstance(language, str) or not language.strip():
        raise _Wrong("`language` should be a non-empty string", 'put the name in quotes: language = "..."')
    hint = "start the cell with `%%bedrock description` and use {language} in the prompt"
    reply = _reply(ns, "description", hint)
    return f"`description` holds a reply of {reply.output_tokens} output tokens about {language}"


def _exercise_2(ns: Mapping[str, Any], shell: Any) -> str:
    hint = 'store the reply: `%%bedrock overfitting -s "…" --max-tokens 120`'
    reply = _reply(ns, "overfitting", hint)
    if reply.output_tokens > 120:
        raise _Wrong(f"the answer used {reply.output_tokens} output tokens, more than 120", "add --max-tokens 120")
    settings = _bedrock_settings(shell)
    if settings is not None and not settings.streaming:
        raise _Wrong("streaming is still off", "turn it back on: %config Bedrock.streaming = True")
    bullets = [line for line in reply.text.splitlines() if _BULLET.match(line)]
    if len(bullets) != 3:
        raise _Wrong(f"the answer has {len(bullets)} bullet points, not 3",
                     "say so in the system prompt (-s), e.g. that the answer is exactly three bullet points")
    return "three bullet points, within 120 tokens; streaming is on again"


def _exercise_3(ns: Mapping[str, Any], shell: Any) -> str:
    claude = _reply(ns, "q_claude", "store the first reply: `%%bedrock q_claude -e … -a … -m …`")
    _route(claude, "q_claude", "anthropic.claude-haiku-4-5", "runtime", "invoke")
    oss = _reply(ns, "q_oss", "store the second reply: `%%bedrock q_oss -e … -a … -m …`")
    _route(oss, "q_oss", "openai.gpt-oss-120b", "mantle", "chat")
    return (f"Claude Haiku 4.5 read {claude.input_tokens} input tokens (runtime/invoke), "
            f"gpt-oss {oss.input_tokens} (mantle/chat)")


def _exercise_4(ns: Mapping[str, Any], shell: Any) -> str:
    tickets = _frame(ns, "tickets", "run the cell of Part 4 that defines `tickets`")
    frame = _frame(ns, "categorised", "start the cell with `%%bedrock categorised --df tickets --out category`")
    if "category" not in frame.columns:
        raise _Wrong("`categorised` has no column `category`", "name the column with --out category")
    if len(frame) != len(tickets):
        raise _Wrong(f"`categorised` has {len(frame)} rows, `tickets` {len(tickets)}",
                     "run the prompt over --df tickets")
    failed = int(frame["category_error"].notna().sum()) if "category_error" in frame.columns else 0
    if failed:
        raise _Wrong(f"{failed} of {len(frame)} rows failed",
                     "look at the `category_error` column, then run the cell again")
    # "Billing." and " billing" count as billing: the point is one of four labels per row.
    labels = frame["category"].astype(str).str.strip().str.strip(".").str.lower()
    odd = labels[~labels.isin(TICKET_CATEGORIES)]
    if len(odd):
        examples = ", ".join(repr(label[:30]) for label in sorted(set(odd))[:2])
        raise _Wrong(f"{len(odd)} labels are not one of {', '.join(TICKET_CATEGORIES)} ({examples})",
                     "ask for the category only, list the four names in the prompt, and keep --max-tokens small")
    counts = labels.value_counts()
    return "one label per ticket: " + ", ".join(f"{n} {label}" for label, n in counts.items())


def _exercise_5(ns: Mapping[str, Any], shell: Any) -> str:
    hint = "`%%bedrock est_nova --df tickets --dry-run -m us.amazon.nova-lite-v1:0 …`, the same for est_claude"
    estimates = {}
    for name, model in (("est_nova", "amazon.nova-lite"), ("est_claude", "anthropic.claude-haiku-4-5")):
        frame = _frame(ns, name, hint)
        if "max_cost_usd" not in frame.columns:
            raise _Wrong(f"`{name}` is not a --dry-run estimate (no `max_cost_usd` column)", "add --dry-run")
        models = set(frame["model"].astype(str)) if "model" in frame.columns else set()
        if not models or not all(model in m for m in models):
            raise _Wrong(f"`{name}` estimates {', '.join(sorted(models)) or 'no model'}, not {model}",
                         "choose the model with -m")
        estimates[name] = frame
    ratio = _get(ns, "ratio", "store how many times dearer Claude is than Nova in `ratio`")
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or not math.isfinite(ratio):
        raise _Wrong(f"`ratio` should be a number, not {ratio!r}", "divide one monthly cost by the other")
    # Worst case (max_cost_usd) or input only (input_cost_usd): either is a fair reading of "cost".
    allowed = []
    for column in ("max_cost_usd", "input_cost_usd"):
        nova, claude = (float(estimates[n][column].sum()) for n in ("est_nova", "est_claude"))
        if nova > 0:
            allowed.append(claude / nova)
    if not allowed:
        raise _Wrong("the estimates have no cost to compare", "run both --dry-run cells again")
    if not any(math.isclose(ratio, expected, rel_tol=0.02) for expected in allowed):
        raise _Wrong(f"`ratio` is {ratio:.3g}, but the estimates give {allowed[0]:.3g}",
                     "Claude's cost divided by Nova's (the 50,000 cancels out)")
    return f"Claude Haiku 4.5 costs {ratio:.1f}x as much as Nova Lite for this prompt"


def _exercise_6(ns: Mapping[str, Any], shell: Any) -> str:
    import inspect
    from datetime import date

    hint = "def days_until(date: str) -> int: with a docstring on the next line"
    days_until = _get(ns, "days_until", hint)
    if not callable(days_until):
        raise _Wrong("`days_until` is not a function", hint)
    signature = inspect.signature(days_until)
    if list(signature.parameters) != ["date"]:
        raise _Wrong(f"`days_until` takes ({', '.join(signature.parameters)}), not (date)", hint)
    if not inspect.getdoc(days_until):
        raise _Wrong("`days_until` has no docstring: the model reads it to know what the tool does",
                     '"""Days from today until an ISO date."""')
    expected = (date(2030, 1, 1) - date.today()).days
    try:
        got = days_until("2030-01-01")
    except Exception as exc:  # a student's function: say what it raised, in one line
        raise _Wrong(f'days_until("2030-01-01") raised {type(exc).__name__}: {exc}',
                     "date.fromisoformat(...) turns the text into a date") from None
    if got != expected:
        raise _Wrong(f'days_until("2030-01-01") returned {got!r}, not {expected}',
                     "subtract date.today() from that date, then take .days")
    reply = _reply(ns, "countdown", "store the answer: `%%bedrock countdown --tools days_until …`")
    # Only a model that called the tool can know the number: it depends on today's date.
    if not any(spelled in reply.text for spelled in (str(expected), f"{expected:,}")):
        raise _Wrong(f"the answer in `countdown` does not mention {expected} days",
                     "pass --tools days_until and ask for date=2030-01-01 in the prompt")
    return f"days_until works ({expected} days to 2030) and the answer used it"


def _exercise_7(ns: Mapping[str, Any], shell: Any) -> str:
    usage = _frame(ns, "usage", "usage = %bedrock usage")
    total = _get(ns, "total", "store the sum of the cost_usd column in `total`")
    expected_total = float(usage["cost_usd"].sum())
    if not isinstance(total, (int, float)) or not math.isclose(total, expected_total, rel_tol=1e-6, abs_tol=1e-12):
        raise _Wrong(f"`total` is {total!r}, but usage.cost_usd adds up to {expected_total:.6f}",
                     "add up the cost_usd column of usage")
    priciest = _get(ns, "priciest_cell", "store the number of the most expensive cell in `priciest_cell`")
    per_cell = usage.groupby("cell")["cost_usd"].sum()
    if per_cell.empty or priciest != per_cell.idxmax():
        raise _Wrong(f"`priciest_cell` is {priciest!r}, not the cell with the highest summed cost",
                     "group usage by cell, add up cost_usd, then take the label of the largest (idxmax)")
    ax = _get(ns, "ax", "keep the chart: ax = ....plot.barh(...)")
    if not getattr(ax, "patches", None):
        raise _Wrong("`ax` has no bars", "draw it with .plot.bar() or .plot.barh()")
    return f"${total:.6f} in total; cell [{priciest}] cost the most; the chart has {len(ax.patches)} bars"


CHECKS: dict[int, Callable[[Mapping[str, Any], Any], str]] = {
    1: _exercise_1, 2: _exercise_2, 3: _exercise_3, 4: _exercise_4, 5: _exercise_5, 6: _exercise_6, 7: _exercise_7,
}


def check(exercise: int, namespace: Mapping[str, Any] | None = None) -> Result:
    """Check exercise ``exercise``'s answer in ``namespace`` (default: the notebook's variables).

    Returns a :class:`Result` that shows as one green or red line; it never raises for a wrong
    answer. An exercise number that does not exist is a plain ``ValueError``.
    """
    if exercise not in CHECKS:
        raise ValueError(f"there is no exercise {exercise}; the workshop has exercises 1 to {max(CHECKS)}")
    shell = None
    if namespace is None:
        from IPython import get_ipython

        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
    try:
        return Result(exercise, True, CHECKS[exercise](namespace, shell))
    except _Wrong as wrong:
        return Result(exercise, False, wrong.message, wrong.hint)
