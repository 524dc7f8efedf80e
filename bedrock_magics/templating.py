"""Safe ``{name}`` interpolation of prompt text.

A prompt often *contains* code or JSON, so only braces that look exactly like a template field are
touched; every other brace is left as written (jupyter-ai#27/#967 crash on those):

* ``{name}``, ``{name[key]}``, ``{name[0]}``, ``{name['key']}``, ``{name!r}``, ``{name:spec}`` are
  filled from the namespace (a DataFrame row's columns first, when there is a row). The value is
  inserted once; it is never scanned again, so a value holding ``{x}`` stays as it is.
* A row's column whose name is not an identifier is written as it is: ``{review text}``,
  ``{score (%)}``. Only an exact column name counts; other text in braces stays text.
* ``{name.attr}`` and ``{name(...)}`` are refused: a template never evaluates code.
* ``{{`` and ``}}`` are literal braces, as in ``str.format``: ``{{name}}`` gives ``{name}`` and
  ``{{"a": 1}}`` gives ``{"a": 1}``. They are read as a pair: a ``{{`` counts only when a ``}}`` closes
  it with nothing but text and fields in between, so code and JSON that merely contain ``{{`` or
  ``}}`` (nested objects ending in ``}}``, C initialisers ``{{1, 2}, {3, 4}}``) are left alone.
* Braces that hold anything else (``{"a": 1}``, ``{ return x; }``, ``{1, 2}``, shell/JavaScript
  ``${x}``) are never changed.
* An unknown name is an error naming it, never left in place silently.

Every error is a one-line :class:`TemplateError` (a ``ValueError``) that says where the field was
(the prompt, an option, a ``%bedrock`` line), raised before anything is sent. This module knows
nothing of IPython: the magic shows the error as a ``UsageError`` line, the Python API
(``bm.map(frame, "{missing}")``) raises it as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import did_you_mean

__all__ = ["TemplateError", "render", "names", "check", "as_text"]


class TemplateError(ValueError):
    """A template that can't be filled: an unknown name, code in braces, a bad index or format spec.

    The message is one line that names the field and where it was.
    """

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# One index: [key], [0], ['key'] or ["key"]; keys hold no brackets, braces or quotes of their kind.
_INDEX = r"\[(?:'[^'\]]*'|\"[^\"\]]*\"|[^\[\]{}'\"]+)\]"
# Format specs hold no whitespace: ``{x: 1}`` is far more likely a JS object than a spec.
_FIELD = rf"(?P<name>{_NAME})(?P<index>(?:{_INDEX})*)(?:!(?P<conv>[rsa]))?(?::(?P<spec>[^{{}}\s]*))?"
_FIELD_ANY = re.sub(r"\(\?P<\w+>", "(", _FIELD)  # the same without group names
# What a field would be if it dared to evaluate: attribute access or a call on a name.
_CODE = rf"{_NAME}(?:{_INDEX})*(?:\.{_NAME}|\()[^{{}}]*"

_FIELD_AT = re.compile(rf"\{{({_FIELD_ANY})\}}")
_CODE_AT = re.compile(rf"\{{({_CODE})\}}")
_BRACED_AT = re.compile(r"\{([^{}\n]+)\}")  # a column name with spaces or symbols, maybe
_BRACE = re.compile(r"[{}]")
_FIELD_RE = re.compile(_FIELD)
_INDEX_RE = re.compile(_INDEX)

# Token kinds: text, a field, a column name, braces (single and doubled).
_TEXT, _FIELD_T, _COLUMN, _LB, _RB, _OPEN, _CLOSE = "text", "field", "column", "{", "}", "{{", "}}"


def render(template: str, namespace: Mapping[str, Any], row: Mapping[str, Any] | None = None, *,
           where: str = "the prompt") -> str:
    """Fill ``{name}`` fields of ``template`` from ``row`` (if given) then ``namespace``.

    Args:
        template: the prompt text (a cell body, an option value, a ``--df`` template).
        namespace: the notebook's variables (``local_ns`` over ``user_ns``).
        row: a DataFrame row (``pandas.Series``) or mapping whose columns take precedence;
            ``{any column name}`` is filled from it too.
        where: where the text came from, for error messages (``"the --system option"``).

    Raises:
        TemplateError: an unknown name, attribute access or a call, a bad index or format spec.
    """
    parts = []
    for kind, text in _tokens(template, lambda name: _in_row(name, row), where):
        if kind == _FIELD_T:
            parts.append(_fill(text, namespace, row, where))
        elif kind == _LB:
            parts.append("{")
        elif kind == _COLUMN:
            parts.append(_format(row[text], "", "{" + text + "}", where, text))  # type: ignore[index]
        else:
            parts.append(text)
    return "".join(parts)


def names(template: str) -> set[str]:
    """The variable names the template's ``{fields}`` refer to (escaped ``{{name}}`` excluded)."""
    return {_FIELD_RE.fullmatch(text).group("name") for kind, text in _tokens(template, lambda _: False)
            if kind == _FIELD_T}


def check(template: str, namespace: Mapping[str, Any], columns: Iterable[Any] = (), *,
          where: str = "the prompt") -> None:
    """Raise a :class:`TemplateError` now if a field names neither a column nor a variable.

    Table modes call this once before the first row is sent, so a typo costs nothing. Text in
    braces that is close to (but not exactly) a column name that is not an identifier, like
    ``{review txt}`` for the column ``review text``, is refused too: it would otherwise be sent as is.
    """
    columns = [str(c) for c in columns]
    known = set(columns)
    odd = [c for c in columns if not c.isidentifier()]  # only reachable as {column name}
    for kind, text in _tokens(template, known.__contains__, where):
        if kind == _FIELD_T:
            name = _FIELD_RE.fullmatch(text).group("name")
            if name not in known and name not in namespace:
                raise TemplateError(_unknown(name, list(namespace), columns, where))
        elif kind == _LB and odd:
            braced = _BRACED_AT.match(text)
            hint = braced and did_you_mean(braced.group(1), odd, form=" (did you mean {{{}}}?)", cutoff=0.8)
            if hint:
                raise TemplateError(f"no column named {braced.group(1)!r} for {braced.group(0)} in {where}"
                                    f"{hint}; a column is written {{exact column name}}")


# -- scanning ----------------------------------------------------------------------------------------

def _tokens(template: str, is_column: Callable[[str], bool], where: str = "the prompt") -> list[tuple[str, str]]:
    """``template`` as ``(kind, text)`` tokens, with ``{{ … }}`` pairs already turned into single
    braces and every unpaired brace kept as written. A single ``{`` token's text runs to the end of
    what might be a ``{column name}`` (``check`` reads it); rendering uses only its brace.

    Raises:
        TemplateError: a field that would evaluate code (``{x.y}``, ``{f(x)}``), unless it names a column.
    """
    tokens: list[tuple[str, str]] = []
    pos, end = 0, len(template)
    while pos < end:
        brace = _BRACE.search(template, pos)
        if brace is None:
            tokens.append((_TEXT, template[pos:]))
            break
        if brace.start() > pos:
            tokens.append((_TEXT, template[pos:brace.start()]))
        pos = brace.start()
        pair = template[pos:pos + 2]
        if pair in (_OPEN, _CLOSE):
            tokens.append((pair, pair))
            pos += 2
            continue
        if pair[0] == "}":
            tokens.append((_RB, "}"))
            pos += 1
            continue
        after_dollar = pos > 0 and template[pos - 1] == "$"  # ${x}: shell or JavaScript, never ours
        field = None if after_dollar else _FIELD_AT.match(template, pos)
        code = None if after_dollar or field else _CODE_AT.match(template, pos)
        braced = _BRACED_AT.match(template, pos)
        if braced and is_column(braced.group(1)) and not after_dollar:
            tokens.append((_COLUMN, braced.group(1)))
            pos = braced.end()
        elif field:
            tokens.append((_FIELD_T, field.group(1)))
            pos = field.end()
        elif code:
            raise TemplateError(_refusal(code.group(1), where))
        else:
            # A plain "{". Its text keeps the whole "{…}" for check(); only "{" is rendered, and
            # what follows the brace is scanned again as text.
            tokens.append((_LB, braced.group(0) if braced else "{"))
            pos += 1
    return _pair_escapes(tokens)


def _pair_escapes(tokens: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Turn each ``{{`` … ``}}`` pair into ``{`` … ``}``; anything unbalanced stays as written.

    A stack of open braces: a single ``}`` closes a single ``{``; a ``}}`` closes a ``{{`` (an
    escape pair) or two single ``{``. A ``{{`` met by a single ``}`` first was code, not an escape.
    """
    out = [(kind, text) for kind, text in tokens]
    stack: list[int] = []

    def close_single() -> None:
        if stack:
            stack.pop()  # closes a "{" (balanced), or spoils a "{{" (then it stays "{{")

    for index, (kind, _) in enumerate(tokens):
        if kind in (_LB, _OPEN):
            stack.append(index)
        elif kind == _RB:
            close_single()
        elif kind == _CLOSE:
            if stack and tokens[stack[-1]][0] == _OPEN:
                out[stack.pop()] = (_TEXT, "{")
                out[index] = (_TEXT, "}")
            else:
                close_single()
                close_single()
    return out


# -- filling -----------------------------------------------------------------------------------------

def _in_row(name: str, row: Mapping[str, Any] | None) -> bool:
    if row is None:
        return False
    try:
        return name in row
    except TypeError:  # a row type whose `in` can't take a string
        return False


def _fill(text: str, namespace: Mapping[str, Any], row: Mapping[str, Any] | None, where: str) -> str:
    field = _FIELD_RE.fullmatch(text)
    assert field is not None  # the scanner only yields valid fields
    shown = "{" + text + "}"
    value = _lookup(field.group("name"), namespace, row, where)
    for index in _INDEX_RE.findall(field.group("index") or ""):
        value = _index(value, index[1:-1], shown, where)
    conv = field.group("conv")
    if conv:
        convert = {"r": repr, "s": str, "a": ascii}[conv]
        try:
            value = convert(value)
        except Exception as exc:  # noqa: BLE001 - the user's __repr__/__str__ raised
            raise TemplateError(_raised(f"{convert.__name__}() of {field.group('name')}", shown, where, exc)) from None
    return _format(value, field.group("spec") or "", shown, where, field.group("name"))


def _format(value: Any, spec: str, shown: str, where: str, name: str) -> str:
    """``format(value, spec)``; a failure is a one-line TemplateError naming the field and ``name``."""
    try:
        return format(value, spec)
    except (ValueError, TypeError) as exc:
        raise TemplateError(f"can't format {shown} in {where}: {_text(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - the user's __format__/__str__ raised
        raise TemplateError(_raised(f"formatting {name}", shown, where, exc)) from None


def as_text(value: Any, name: str, shown: str, where: str) -> str:
    """``str(value)`` for the variable ``name`` written ``shown`` (``$x``) in ``where``; if the
    object's own ``__str__`` raises, a one-line :class:`TemplateError` naming the variable."""
    try:
        return str(value)
    except Exception as exc:  # noqa: BLE001 - the user's __str__ raised
        raise TemplateError(_raised(f"str() of {name}", shown, where, exc)) from None


def _raised(what: str, shown: str, where: str, exc: BaseException) -> str:
    """One line for a template whose value's own code (``__str__``, ``__getitem__`` …) raised."""
    return f"{shown} in {where}: {what} raised {type(exc).__name__}: {_text(exc)}"


def _text(exc: BaseException, limit: int = 200) -> str:
    """The first line of ``exc``'s message, shortened (its ``__str__`` is user code too)."""
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001
        return "(an exception that can't be shown)"
    line = text.strip().splitlines()[0] if text.strip() else "(no message)"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _lookup(name: str, namespace: Mapping[str, Any], row: Mapping[str, Any] | None, where: str) -> Any:
    if _in_row(name, row):
        return row[name]  # type: ignore[index]
    try:
        return namespace[name]
    except KeyError:
        columns = [str(c) for c in getattr(row, "index", row or ())] if row is not None else []
        raise TemplateError(_unknown(name, list(namespace), columns, where)) from None


def _index(value: Any, key: str, field: str, where: str) -> Any:
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
        except Exception as exc:  # noqa: BLE001 - the user's __getitem__ raised
            name = field[1:].split("[")[0]
            raise TemplateError(_raised(f"{name}[{key}]", field, where, exc)) from None
    shown = key if key[:1] in "'\"" else repr(key)
    raise TemplateError(f"{field} in {where}: {type(value).__name__} has no item {shown}") from None


def _unknown(name: str, namespace_names: list[str], columns: list[str], where: str) -> str:
    visible = [n for n in namespace_names if not n.startswith("_")] + columns
    what = "no column or variable" if columns else "no variable"
    hint = did_you_mean(name, visible, form=" (did you mean {{{}}}?)", cutoff=0.6)
    return f"{what} named {name!r} for {{{name}}} in {where}{hint}; write {{{{{name}}}}} for a literal {{{name}}}"


def _refusal(code: str, where: str) -> str:
    what = "a call" if "(" in code.split(".")[0] else "attribute access"
    return (
        f"{{{code}}} in {where}: {what} isn't allowed in a template (nothing in braces is evaluated); "
        f"assign it to a variable first and write {{name}}, or write {{{{{code}}}}} for literal braces"
    )
