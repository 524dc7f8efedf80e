"""The argument parser of the ``%%bedrock`` and ``%bedrock`` lines: IPython's ``MagicArgumentParser``
with every error as one ``UsageError`` line (did-you-mean for an unknown option, the usage for an
unexpected word), no abbreviated options, and no option given twice unless it is repeatable."""

from __future__ import annotations

import argparse
import re
from functools import lru_cache
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser
from IPython.utils.process import arg_split

from .errors import did_you_mean

__all__ = ["Parser"]


class _HelpFormatter(argparse.HelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=100)


class Parser(MagicArgumentParser):
    """``MagicArgumentParser`` with did-you-mean for unknown options and no abbreviations.

    ``line=True`` for ``%bedrock`` sub-commands: they have no cell body, so their errors never
    talk about one.
    """

    def __init__(self, prog: str, line: bool = False, **kwargs: Any) -> None:
        # IPython's MagicHelpFormatter writes reST for magic_arguments' docstrings; plain text here.
        super().__init__(prog=prog, formatter_class=_HelpFormatter, **kwargs)
        self.allow_abbrev = False  # `--temp` must not silently mean `--temperature`
        self.line = line

    def parse_known_args(self, args: Any = None, namespace: argparse.Namespace | None = None) -> Any:
        """argparse's parse, refusing an option given twice (argparse keeps the last value silently)."""
        for action in self._actions:
            if action.option_strings and not isinstance(action, (argparse._AppendAction, argparse._HelpAction)):
                action.__class__ = _given_once(type(action))
        parsed, extras = super().parse_known_args(args, namespace)
        parsed.__dict__.pop(_GIVEN, None)
        return parsed, extras

    def error(self, message: str) -> None:
        match = re.match(r"unrecognized arguments: (.*)", message)
        if match:
            first = arg_split(match.group(1), posix=True)[0] if match.group(1).strip() else ""
            known = [s for a in self._actions for s in a.option_strings]
            if first.startswith("-"):
                prefix = [k for k in known if k.startswith(first) and len(first) > 2]  # --temp: --temperature
                hint = (f" (did you mean {prefix[0]}?)" if prefix else
                        did_you_mean(first, known, form=" (did you mean {}?)", cutoff=0.6)
                        or f"; see {self.prog.split()[0]} help")
                raise UsageError(f"{self.prog}: unknown option {first}{hint}")
            if self.line:
                if not self._actions:
                    raise UsageError(f"{self.prog} takes no arguments")
                raise UsageError(f"{self.prog}: unexpected {first!r}; usage: {self.one_line_usage()}")
            raise UsageError(
                f"{self.prog}: unexpected {first!r} on the first line; it holds DEST and options, "
                "the prompt goes in the cell body (quote option values that contain spaces)"
            )
        raise UsageError(f"{self.prog}: {message}")

    def one_line_usage(self) -> str:
        """``%bedrock local [start|stop|status|auto]``: the usage without "usage:" or line breaks."""
        return " ".join(self.format_usage().replace("usage: ", "", 1).split())


_GIVEN = "_options_given"  # namespace attribute: the options seen so far in this parse


@lru_cache(maxsize=None)
def _given_once(action_class: type[argparse.Action]) -> type[argparse.Action]:
    """``action_class`` that raises a UsageError when its option comes a second time on the line.

    Only options documented as repeatable (``action="append"``: ``-m`` to compare, ``--stop``) may
    repeat; for the others, ``-r us-east-1 -r us-west-2`` would otherwise mean "the last one" without a word.
    """
    if getattr(action_class, "given_once", False):
        return action_class

    class GivenOnce(action_class):  # type: ignore[valid-type, misc]
        given_once = True

        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                     option_string: str | None = None) -> None:
            given = namespace.__dict__.setdefault(_GIVEN, set())
            if self.dest in given:
                name = "/".join(sorted(self.option_strings, key=len))
                repeatable = [a.option_strings[-1] for a in parser._actions if isinstance(a, argparse._AppendAction)]
                hint = f" (only {', '.join(repeatable)} may repeat)" if repeatable else ""
                raise UsageError(f"{parser.prog}: {name} given twice; give it once{hint}")
            given.add(self.dest)
            super().__call__(parser, namespace, values, option_string)

    GivenOnce.__name__ = GivenOnce.__qualname__ = f"GivenOnce{action_class.__name__}"
    return GivenOnce
