"""Safe ``{name}`` interpolation of prompt text.

A prompt often *contains* code or JSON, so only braces that look exactly like a template field are
touched; every other brace is left as written (jupyter-ai#27/#967 crash on those):

* ``{name}``, ``{name[key]}``, ``{name[0]}``, ``{name['key']}``, ``{name!r}``, ``{name:spec}`` are
  filled from the namespace (a DataFrame row's columns first, when there is a row). The value is
  inserted once; it is never scanned again, so a value holding ``{x}`` stays as it is.
* ``{name.attr}`` and ``{name(...)}`` are refused: a template never evaluates code.
* ``{{name}}`` is the escape: it gives the literal text ``{name}``. Braces that hold anything else
  (``{"a": 1}``, ``{ return x; }``, ``{1, 2}``, ``}}`` closing nested JSON, shell/JavaScript
  ``${x}``) are never changed.
* An unknown name is an error naming it, never left in place silently.

Every error is one line (IPython's ``UsageError``), raised before anything is sent.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from IPython.core.error import UsageError

__all__ = ["render", "names", "check"]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# One index: [key], [0], ['key'] or ["key"]; keys hold no brackets, braces or quotes of their kind.
_INDEX = r"\[(?:'[^'\]]*'|\"[^\"\]]*\"|[^\[\]{}'\"]+)\]"
# Format specs hold no whitespace: ``{x: 1}`` is far more likely a JS object than a spec.
_FIELD = rf"(?P<name>{_NAME})(?P<index>(?:{_INDEX})*)(?:!(?P<conv>[rsa]))?(?::(?P<spec>[^{{}}\s]*))?"
_FIELD_ANY = re.sub(r"\(\?P<\w+>", "(", _FIELD)  # the same without group names, to embed twice
# What a field would be if it dared to evaluate: attribute access or a call on a name.
_CODE = rf"{_NAME}(?:{_INDEX})*(?:\.{_NAME}|\()[^{{}}]*"

# ``${x}`` is shell or a JavaScript template literal, never ours: a field after "$" is left alone.
_TOKEN = re.compile(
    rf"\{{\{{(?P<escaped>{_FIELD_ANY}|{_CODE})\}}\}}"  # {{field}} -> literal {field}
    rf"|(?<!\$)\{{(?P<field>{_FIELD_ANY})\}}"  # {field}
    rf"|(?<!\$)\{{(?P<code>{_CODE})\}}"  # {x.y} / {f(x)}: refused
)
_FIELD_RE = re.compile(_FIELD)
_INDEX_RE = re.compile(_INDEX)


def render(template: str, namespace: Mapping[str, Any], row: Mapping[str, Any] | None = None) -> str:
    """Fill ``{name}`` fields of ``template`` from ``row`` (if given) then ``namespace``.

    Args:
        template: the prompt text (a cell body, an option value, a ``--df`` template).
        namespace: the notebook's variables (``local_ns`` over ``user_ns``).
        row: a DataFrame row (``pandas.Series``) or mapping whose columns take precedence.

    Raises:
        UsageError: an unknown name, attribute access or a call, a bad index or format spec.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped") is not None:
            return "{" + match.group("escaped") + "}"
        if match.group("code") is not None:
            raise UsageError(_refusal(match.group("code")))
        field = _FIELD_RE.fullmatch(match.group("field"))
        assert field is not None  # the token regex only yields valid fields
        value = _lookup(field.group("name"), namespace, row)
        for index in _INDEX_RE.findall(field.group("index") or ""):
            value = _index(value, index[1:-1], match.group(0))
        conv = field.group("conv")
        if conv:
            value = {"r": repr, "s": str, "a": ascii}[conv](value)
        try:
            return format(value, field.group("spec") or "")
        except (ValueError, TypeError) as exc:
            raise UsageError(f"can't format {match.group(0)} in the prompt: {exc}") from None

    return _TOKEN.sub(replace, template)


def names(template: str) -> set[str]:
    """The variable names the template's ``{fields}`` refer to (escaped ``{{name}}`` excluded)."""
    found = set()
    for match in _TOKEN.finditer(template):
        if match.group("field") is not None:
            found.add(_FIELD_RE.fullmatch(match.group("field")).group("name"))
        elif match.group("code") is not None:
            raise UsageError(_refusal(match.group("code")))
    return found


def check(template: str, namespace: Mapping[str, Any], columns: Iterable[str] = ()) -> None:
    """Raise a ``UsageError`` now if a field names neither a column nor a variable.

    Table modes call this once before the first row is sent, so a typo costs nothing.
    """
    columns = [str(c) for c in columns]
    for name in sorted(names(template)):
        if name not in columns and name not in namespace:
            raise UsageError(_unknown(name, list(namespace), columns))


def _lookup(name: str, namespace: Mapping[str, Any], row: Mapping[str, Any] | None) -> Any:
    if row is not None:
        try:
            if name in row:
                return row[name]
        except TypeError:  # a row type whose `in` can't take a string
            pass
    try:
        return namespace[name]
    except KeyError:
        columns = [str(c) for c in getattr(row, "index", row or ())] if row is not None else []
        raise UsageError(_unknown(name, list(namespace), columns)) from None


def _index(value: Any, key: str, field: str) -> Any:
    if key[:1] in "'\"" and key[-1:] == key[:1] and len(key) >= 2:
        candidates: list[Any] = [key[1:-1]]
    elif re.fullmatch(r"-?\d+", key):
        candidates = [int(key), key]  # format()'s rule: digits index by position, then as a key
    else:
        candidates = [key]
    for candidate in candidates:
        try:
            return value[candidate]
        except (KeyError, IndexError, TypeError):
            continue
    shown = key if key[:1] in "'\"" else repr(key)
    raise UsageError(f"{field} in the prompt: {type(value).__name__} has no item {shown}") from None


def _unknown(name: str, namespace_names: list[str], columns: list[str]) -> str:
    visible = [n for n in namespace_names if not n.startswith("_")] + columns
    close = difflib.get_close_matches(name, visible, n=1)
    where = "no column or variable" if columns else "no variable"
    hint = f" (did you mean {{{close[0]}}}?)" if close else ""
    return f"{where} named {name!r} for {{{name}}} in the prompt{hint}; write {{{{{name}}}}} for a literal {{{name}}}"


def _refusal(code: str) -> str:
    what = "a call" if "(" in code.split(".")[0] else "attribute access"
    return (
        f"{{{code}}} in the prompt: {what} isn't allowed in a template (nothing in braces is evaluated); "
        f"assign it to a variable first and write {{name}}, or write {{{{{code}}}}} for literal braces"
    )
