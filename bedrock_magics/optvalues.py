"""The values of object options on a ``%bedrock`` / ``%%bedrock`` line: variable names, ``--df``
names and expressions (evaluated as IPython evaluates an expression typed in a cell), ``FRAME.COLUMN``
targets, amounts of money and row counts. Every mistake is one ``UsageError`` line.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError

from .errors import did_you_mean

__all__ = ["WHOLE_REF", "article", "embed_target", "evaluate", "frame", "lookup", "money", "name", "row_count",
           "take_df_expression", "usage_view"]

#: ``$name`` or ``{name}`` as the whole value.
WHOLE_REF = re.compile(r"^(?:\$([A-Za-z_]\w*)|\{([A-Za-z_]\w*)\})$")


def name(value: str, what: str) -> str:
    """A variable name given to an object option; ``$frame`` and ``{frame}`` are accepted too."""
    name = value.strip()
    ref = WHOLE_REF.match(name)
    if ref:
        name = ref.group(1) or ref.group(2)
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UsageError(f"{what} takes a variable name, got {value!r}")
    return name


def lookup(name: str, namespace: Mapping[str, Any], what: str) -> Any:
    if name in namespace:
        return namespace[name]
    visible = [n for n in namespace if not n.startswith("_")]
    hint = did_you_mean(name, visible, form=" (did you mean {}?)", cutoff=0.6)
    raise UsageError(f"{what}: no variable named {name!r} in the notebook{hint}")


def frame(expression: str, namespace: Mapping[str, Any]) -> Any:
    """``--df``'s DataFrame: a variable name (``$name``/``{name}`` too) or a Python expression
    (``reviews.head(3)``, ``df[df.lang == "fr"]``), evaluated as IPython evaluates an expression
    typed in a cell (``shell.ev``: the notebook's globals, the caller's locals). Any failure is one line."""
    ref = WHOLE_REF.match(expression.strip())
    name = (ref.group(1) or ref.group(2)) if ref else expression.strip()
    if name.isidentifier() and not keyword.iskeyword(name):
        value = lookup(name, namespace, "--df")
    else:
        value = evaluate(name, namespace, "--df")
    pandas = sys.modules.get("pandas")  # a DataFrame can only exist if pandas is already imported
    if pandas is None or not isinstance(value, pandas.DataFrame):
        raise UsageError(f"--df {name}: {name} is {article(type(value).__name__)}, not a pandas DataFrame")
    return value


def evaluate(expression: str, namespace: Mapping[str, Any], what: str) -> Any:
    """``eval`` as ``InteractiveShell.ev`` does it: globals are the notebook's namespace (so
    builtins, imports and lambdas behave as in a cell), locals the caller's; errors in one line."""
    maps = getattr(namespace, "maps", None)  # the magic's ChainMap(locals, user_ns)
    globals_ = maps[-1] if maps else namespace
    if not isinstance(globals_, dict):
        globals_ = dict(globals_)
    try:
        code = compile(expression, f"<{what}>", "eval")
    except SyntaxError as exc:
        raise UsageError(f"{what} {expression}: not a Python expression ({exc.msg}); quote it if it has "
                         "spaces outside brackets") from None
    try:
        return eval(code, globals_, namespace)  # noqa: S307 - the user's own expression, as in a cell
    except Exception as exc:  # noqa: BLE001 - the user's code: any error is one line
        raise UsageError(f"{what} {expression}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                         .rstrip(": ")) from None


def take_df_expression(line: str) -> tuple[str, str | None]:
    """Cut ``--df EXPR`` out of the line before it is split into words: an expression may hold
    spaces and quotes inside brackets (``df[df.lang == "fr"]``), which splitting would break.
    A quoted value, or one without brackets or quotes, is left to the usual splitting."""
    match = re.search(r"(?:^|\s)--df(?:\s+|=)(?=\S)", line)
    if not match:
        return line, None
    start = match.end()
    if line[start] in "'\"":
        return line, None
    depth, quote, end = 0, None, start
    while end < len(line):
        char = line[end]
        if quote:
            if char == "\\":
                end += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char.isspace() and depth <= 0:
            break
        end += 1
    expression = line[start:end]
    if not any(c in expression for c in "([{'\""):
        return line, None
    return line[:match.start()] + line[end:], expression


def row_count(value: str) -> int:
    try:
        count = int(value.strip())
    except ValueError:
        count = 0
    if count < 1:
        raise UsageError(f"--limit takes a number of rows, at least 1 (like --limit 10); got {value!r}")
    return count


def money(value: str) -> float:
    text = value.strip().lstrip("$")
    try:
        amount = float(text)
    except ValueError:
        amount = float("nan")
    if not amount > 0 or amount == float("inf"):
        raise UsageError(f"--max-cost takes an amount in US dollars above 0, like --max-cost 0.50; got {value!r}")
    return amount




def article(noun: str) -> str:
    """``an int``, ``a str``: the article a type name takes."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


_BRACKET_COLUMN = re.compile(r"""(.+)\[\s*(['"])(.+)\2\s*\]""")  # frame["col"]
_DOT_COLUMN = re.compile(r"(.+)\.()([A-Za-z_]\w*)")  # frame.col


def embed_target(args: argparse.Namespace, namespace: Mapping[str, Any]) -> None:
    """``FRAME.COLUMN`` (or ``FRAME[COLUMN]``): ``args.df`` becomes the frame, ``args.column`` the column."""
    target = args.target.strip()
    match = _BRACKET_COLUMN.fullmatch(target) or _DOT_COLUMN.fullmatch(target)
    if not match:
        raise UsageError(f"%bedrock embed takes FRAME.COLUMN (e.g. reviews.text), got {target!r}")
    args.df_name, args.column = match.group(1), match.group(3)
    args.df = frame(args.df_name, namespace)
    if args.column not in args.df.columns:
        hint = did_you_mean(args.column, [str(c) for c in args.df.columns], form=" (did you mean {}?)")
        raise UsageError(f"%bedrock embed: {args.df_name} has no column {args.column!r}{hint}")


def usage_view(args: argparse.Namespace, by: str | None) -> None:
    """``%bedrock usage``: ``--by`` checked (``by``), ``--plot`` alone plots per model, ``--full`` and
    ``--by`` refused together."""
    args.by = by or ("model" if args.plot else None)  # a chart needs groups: per model unless told
    if args.full and args.by:
        raise UsageError("%bedrock usage: --full shows every call; --by summarises them: give one of the two")
