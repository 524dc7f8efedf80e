"""The ``%%bedrock`` / ``%bedrock`` option grammar and its validation.

argparse (IPython's ``MagicArgumentParser``) only fixes the *structure* of the line; values are
then expanded (``$name`` / ``{name}`` for scalar options), converted and validated here, so every
mistake is one ``UsageError`` line that says what was wrong and how to fix it, raised before
anything is sent. Object options (``--df``, ``--tools``) take variable *names*, looked up in the
notebook's namespace, never a pasted repr.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser
from IPython.utils.process import arg_split
from traitlets import Int, TraitError

from . import cellfeatures, templating
from .config import FORMATS, BedrockSettings
from .conversation import DEFAULT_NAME
from .errors import did_you_mean
from .routes import APIS, ENDPOINTS

__all__ = ["CellOptions", "LineCommand", "parse_cell", "parse_line", "SUBCOMMANDS", "cell_help", "line_help", "FORMATS"]

# The numeric options are the settings of the same name: their range is the setting's (config.py).
_SETTING_TRAITS = BedrockSettings.class_traits(config=True)
# A cap on the line only: more parallel calls than this from one cell is a typo, not a plan.
CONCURRENCY_MAX = 256


@dataclass
class CellOptions:
    """The resolved first line of a ``%%bedrock`` cell.

    ``None`` means "not given on the line": the ``Bedrock`` configuration decides.
    """

    dest: str | None = None
    models: list[str] = field(default_factory=list)
    region: str | None = None
    endpoint: str | None = None
    api: str | None = None
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] = field(default_factory=list)
    stream: bool | None = None
    format: str | None = None
    chat: str | None = None
    tools: list[Callable[..., Any]] = field(default_factory=list)
    df: Any = None
    df_name: str | None = None
    out: str | None = None
    embed: str | None = None
    concurrency: int | None = None
    dry_run: bool = False
    cache: bool = True
    job: str | None = None
    role: str | None = None
    profile: str | None = None
    quiet: bool = False
    no_format: bool = False
    features: dict[str, Any] = field(default_factory=dict)  # --schema, --reasoning, ... (cellfeatures.parse)

    @property
    def mode(self) -> str:
        """``job``, ``embed``, ``compare`` (several models, on one prompt or over ``--df`` rows), ``map`` or ``single``."""
        if self.job:
            return "job"
        if self.embed:
            return "embed"
        if len(self.models) > 1:
            return "compare"
        return "map" if self.df is not None else "single"

    def settings(self) -> dict[str, Any]:
        """The call settings given on the line, as keyword overrides for ``Bedrock`` calls.

        ``profile`` is not among them: a call takes no profile (credentials belong to the
        ``Bedrock`` object), so the magic switches ``Bedrock.profile`` for the cell instead.
        ``model`` is there only when one ``-m`` was given (several mean a comparison).
        """
        values = {
            "model": self.models[0] if len(self.models) == 1 else None,
            "region": self.region, "endpoint": self.endpoint, "api": self.api, "system": self.system,
            "max_tokens": self.max_tokens, "temperature": self.temperature, "top_p": self.top_p,
            "stop": list(self.stop) or None, **self.features,
        }
        return {k: v for k, v in values.items() if v is not None}


@dataclass
class LineCommand:
    """A ``%bedrock SUBCOMMAND ...`` line: the sub-command's name and its parsed arguments."""

    name: str
    args: argparse.Namespace


class _HelpFormatter(argparse.HelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=100)


class _Parser(MagicArgumentParser):
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


@lru_cache(maxsize=1)
def _cell_parser() -> _Parser:
    # argparse puts positionals last in a generated usage; DEST comes first on the line.
    p = _Parser("%%bedrock", usage="%(prog)s [DEST] [options]\n       the prompt, on the lines below")
    p.add_argument("dest", nargs="?", metavar="DEST", help="store the reply (or the DataFrame) in this variable")
    p.add_argument("--model", "-m", action="append", default=[], metavar="ID",
                   help="model id, inference-profile id or ARN; repeat it to compare models")
    p.add_argument("--region", "-r", help="AWS region")
    p.add_argument("--endpoint", "-e", metavar="runtime|mantle", help="which inference endpoint")
    p.add_argument("--api", "-a", metavar="converse|invoke|chat|responses", help="which API on that endpoint")
    p.add_argument("--system", "-s", metavar="TEXT", help="system prompt")
    p.add_argument("--max-tokens", metavar="N", help="cap on output tokens")
    p.add_argument("--temperature", metavar="T", help=f"sampling temperature ({_range('temperature')})")
    p.add_argument("--top-p", metavar="P", help=f"nucleus sampling ({_range('top_p')})")
    p.add_argument("--stop", action="append", default=[], metavar="S", help="stop sequence (repeatable)")
    stream = p.add_mutually_exclusive_group()
    stream.add_argument("--stream", action="store_const", const=True, dest="stream", default=None,
                        help="stream the answer into the cell as it arrives")
    stream.add_argument("--no-stream", action="store_const", const=False, dest="stream",
                        help="wait for the whole answer")
    p.add_argument("--format", "-f", metavar="|".join(FORMATS), help="how the answer is shown")
    p.add_argument("--chat", nargs="?", const=DEFAULT_NAME, metavar="NAME",
                   help="multi-turn: keep this conversation's history across cells (put DEST first)")
    p.add_argument("--tools", metavar="f,g", help="Python functions from the notebook the model may call")
    p.add_argument("--df", metavar="FRAME", help="one call per row of this DataFrame; {column} from the row")
    p.add_argument("--out", metavar="COL", help="column for the answers (--df)")
    p.add_argument("--embed", metavar="COL", help="embed this column of --df instead of prompting")
    p.add_argument("--concurrency", metavar="N", help="parallel calls in table modes")
    p.add_argument("--dry-run", action="store_true", help="count tokens and estimate cost; send nothing billable")
    p.add_argument("--no-cache", action="store_false", dest="cache", help="don't reuse cached rows (--df)")
    p.add_argument("--job", metavar="s3://...", help="run --df as a Bedrock batch inference job under this S3 prefix")
    p.add_argument("--role", metavar="ARN", help="IAM service role for --job")
    p.add_argument("--profile", metavar="P", help="AWS profile")
    cellfeatures.add_arguments(p)
    p.add_argument("--quiet", "-q", action="store_true", help="store the reply without showing it")
    p.add_argument("--no-format", action="store_true", help="send the cell text as is: no {name} interpolation")
    return p


def _line_parsers() -> dict[str, _Parser]:
    parsers: dict[str, _Parser] = {}

    def sub(name: str, help: str) -> _Parser:
        parsers[name] = _Parser(f"%bedrock {name}", line=True, description=help)
        return parsers[name]

    sub("usage", "the ledger of calls as a DataFrame").add_argument(
        "--all", action="store_true", help="every session's calls, not just this kernel's")
    sub("status", "region, endpoint, API, model and where each setting and the credentials come from")
    sub("local", "start the local Bedrock service (the default), stop it, show its status; "
                 "auto: AWS if credentials are found, else local").add_argument(
        "action", nargs="?", default="start", metavar="start|stop|status|auto")
    sub("key", "ask for a Bedrock API key (getpass); kept in memory only").add_argument(
        "--clear", action="store_true", help="forget the key")
    chat = sub("chat", "show or reset a --chat conversation")
    chat.usage = "%(prog)s [NAME] [--reset]"
    chat.add_argument("chat_name", nargs="?", metavar="NAME", help="one conversation (all when omitted)")
    chat.add_argument("--reset", action="store_true", help="forget its history (all conversations without NAME)")
    models = sub("models", "the models of a region (a DataFrame)")
    models.add_argument("--region", "-r", metavar="R", help="AWS region")
    models.add_argument("--provider", metavar="P", help="only this provider")
    models.add_argument("--refresh", action="store_true", help="ask the control plane again")
    sub("pick", "widgets to choose region, endpoint, API and model")
    job = sub("job", "the status or the results of a batch inference job started with --job")
    job.usage = "%(prog)s status|collect NAME [--df FRAME]"
    job.add_argument("action", metavar="status|collect")
    job.add_argument("job_name", metavar="NAME")
    job.add_argument("--df", metavar="FRAME",
                     help="collect: the DataFrame that was submitted; the answers come back next to its columns")
    sub("help", "this help")
    return parsers


_LINE_PARSERS = _line_parsers()
SUBCOMMANDS = tuple(_LINE_PARSERS)
_CHOICES = {"local": ("start", "stop", "status", "auto"), "job": ("status", "collect")}


def parse_line(line: str, namespace: Mapping[str, Any]) -> LineCommand:
    """Parse a ``%bedrock`` line: a sub-command and its arguments (``help`` when empty)."""
    argv = _split(line)
    name = argv[0] if argv else "help"
    if name not in _LINE_PARSERS:
        hint = did_you_mean(name, SUBCOMMANDS, form="did you mean %bedrock {}? ", cutoff=0.6)
        raise UsageError(
            f"%bedrock: unknown sub-command {name!r}; {hint}"
            f"use one of {', '.join(SUBCOMMANDS)}, or %%bedrock with the prompt in the cell body"
        )
    args = _LINE_PARSERS[name].parse_args(_expand_line_args(argv[1:], namespace, f"the %bedrock {name} line"))
    if name in _CHOICES:
        args.action = _choice(args.action, _CHOICES[name], f"%bedrock {name}")
    if getattr(args, "region", None):
        args.region = _region(args.region, "runtime")
    if name == "job":
        _job_frame(args, namespace)
    return LineCommand(name, args)


# Line options whose value is a variable *name* (resolved to the object later), never expanded text.
_NAME_OPTIONS = ("--df",)


def _expand_line_args(argv: list[str], namespace: Mapping[str, Any], what: str) -> list[str]:
    """``$name`` / ``{name}`` in every argument except the values of :data:`_NAME_OPTIONS`
    (``--df $frame`` must stay a name, not become the frame's printed form)."""
    expanded: list[str] = []
    keep_next = False
    for arg in argv:
        literal = keep_next or arg.split("=", 1)[0] in _NAME_OPTIONS  # "--df NAME" or "--df=NAME"
        expanded.append(arg if literal else _expand(arg, namespace, what))
        keep_next = not keep_next and arg in _NAME_OPTIONS
    return expanded


def _job_frame(args: argparse.Namespace, namespace: Mapping[str, Any]) -> None:
    """``%bedrock job collect NAME --df FRAME``: resolve FRAME as cell mode does (``args.df`` becomes
    the DataFrame, ``args.df_name`` its name); ``--df`` means nothing to ``status``."""
    args.df_name = None
    if args.df is None:
        return
    if args.action != "collect":
        raise UsageError("%bedrock job: --df applies to collect (the submitted frame), not to status")
    args.df_name = _name(args.df, "--df")
    args.df = _frame(args.df_name, namespace)


def parse_cell(line: str, namespace: Mapping[str, Any]) -> CellOptions:
    """Parse and validate the first line of a ``%%bedrock`` cell.

    Scalar values may use ``$name`` or ``{name}`` (``$$name`` / ``{{name}}`` for the literal text);
    a whole ``-m $names`` / ``--stop $names`` token may name a list. ``--df``/``--tools`` take names.
    """
    ns = _parser_namespace(line)
    expand = (lambda v, what: v) if ns.no_format else (lambda v, what: _expand(v, namespace, _option(what)))
    opts = CellOptions(dest=_dest(ns.dest), stream=ns.stream, dry_run=ns.dry_run, cache=ns.cache,
                       quiet=ns.quiet, no_format=ns.no_format)
    opts.models = _listed(ns.model, namespace, "--model", ns.no_format)
    opts.stop = _listed(ns.stop, namespace, "--stop", ns.no_format)
    if ns.endpoint is not None:
        opts.endpoint = _choice(expand(ns.endpoint, "--endpoint"), ENDPOINTS, "--endpoint")
    if ns.api is not None:
        opts.api = _choice(expand(ns.api, "--api"), APIS["runtime"], "--api")
    if opts.endpoint == "mantle" and opts.api and opts.api not in APIS["mantle"]:
        raise UsageError(
            f"--api {opts.api} isn't served by the mantle endpoint (it serves {' and '.join(APIS['mantle'])}); "
            "use --api responses or --api chat, or --endpoint runtime"
        )
    if ns.region is not None:
        opts.region = _region(expand(ns.region, "--region"), opts.endpoint or "runtime")
    if ns.format is not None:
        opts.format = _choice(expand(ns.format, "--format"), FORMATS, "--format")
    if ns.system is not None:
        opts.system = expand(ns.system, "--system")
    opts.max_tokens = _number(ns.max_tokens, "max_tokens", expand)
    opts.temperature = _number(ns.temperature, "temperature", expand)
    opts.top_p = _number(ns.top_p, "top_p", expand)
    opts.concurrency = _number(ns.concurrency, "concurrency", expand, high=CONCURRENCY_MAX)
    for name in ("chat", "out", "embed", "profile", "job", "role"):
        value = getattr(ns, name)
        if value is not None:
            value = expand(value, f"--{name}").strip()
            if not value:
                raise UsageError(f"--{name} needs a value")
            setattr(opts, name, value)
    if opts.job and not opts.job.startswith("s3://"):
        raise UsageError(f"--job takes an S3 prefix like s3://bucket/prefix/, got {opts.job!r}")
    if opts.role and not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/\S+", opts.role):
        raise UsageError(f"--role takes an IAM role ARN like arn:aws:iam::123456789012:role/Name, got {opts.role!r}")
    if ns.df is not None:
        opts.df_name = _name(ns.df, "--df")
        opts.df = _frame(opts.df_name, namespace)
    if ns.tools is not None:
        opts.tools = _tools(ns.tools, namespace)
    opts.features = cellfeatures.parse(ns, namespace, opts.df, expand, _lookup, _WHOLE_REF)
    _check_combinations(opts)
    return opts


def _check_combinations(o: CellOptions) -> None:
    """Refuse option sets that can't mean anything, before anything is sent."""
    table = o.df is not None or len(o.models) > 1
    if o.no_format and o.df is not None:
        raise UsageError("--no-format would send the same text for every row of --df; drop it to fill {column}")
    if (o.embed or o.job) and len(o.models) > 1:
        raise UsageError(f"--{'embed' if o.embed else 'job'} runs one model; give a single -m")
    needs_df = [f"--{n}" for n in ("out", "embed", "job", "role") if getattr(o, n) is not None]
    if needs_df and o.df is None:
        raise UsageError(f"{needs_df[0]} needs --df FRAME (a DataFrame whose rows are sent)")
    if o.concurrency is not None and not table:
        raise UsageError("--concurrency applies to --df runs and -m comparisons (one prompt is one call)")
    if table:
        single_only = [f for f, on in (("--stream", o.stream), ("--chat", o.chat), ("--tools", o.tools),
                                       ("--format", o.format)) if on]
        if single_only:
            what = "--df runs" if o.df is not None else "-m comparisons"
            raise UsageError(f"{single_only[0]} applies to a single prompt, not to {what}")
    if o.embed:
        unused = [f"--{n.replace('_', '-')}" for n in ("endpoint", "api", "system", "max_tokens", "temperature",
                                                       "top_p", "stop") if getattr(o, n) not in (None, [])]
        if unused:
            raise UsageError(f"{unused[0]} doesn't apply to --embed (it takes -m, -r, --out, --concurrency)")
    if o.job and o.dry_run:
        raise UsageError("--dry-run estimates a --df run; drop --job to see the estimate")


def cell_help() -> str:
    """The ``%%bedrock`` options as text (appended to the magic's docstring)."""
    return _cell_parser().format_help()


def line_help(width: int = 100) -> str:
    """The ``%bedrock`` sub-commands: usage on the left, what it does on the right, every
    description starting in the same column (a usage too long for it gets a line of its own)."""
    import textwrap

    usages = {name: parser.one_line_usage() for name, parser in _LINE_PARSERS.items()}
    column = 2 + min(max(len(u) for u in usages.values()), 40) + 2
    lines = []
    for name, parser in _LINE_PARSERS.items():
        text = textwrap.wrap(parser.description or "", width=max(width - column, 30))
        head = f"  {usages[name]}"
        if len(head) + 2 > column:
            lines.append(head)
            head = ""
        lines.append(head.ljust(column) + text[0])
        lines += [" " * column + more for more in text[1:]]
    return "\n".join(lines)


# -- helpers ---------------------------------------------------------------------------------------

def _split(line: str) -> list[str]:
    try:
        return arg_split(line, posix=True)  # posix: quotes are removed, as a user expects
    except ValueError as exc:
        raise UsageError(f"can't read the %bedrock line: {exc} (check the quotes)") from None


def _parser_namespace(line: str) -> argparse.Namespace:
    return _cell_parser().parse_args(_split(line))


_DOLLAR = re.compile(r"\$(\$?)([A-Za-z_][A-Za-z0-9_]*)")


def _option(name: str) -> str:
    """Where an option's value came from, for error messages: ``the --model option``."""
    return f"the {name} option"


def _expand(value: str, namespace: Mapping[str, Any], where: str) -> str:
    """``$name`` and ``{name}`` in an option value, from the namespace (``$$name`` is literal).

    ``where`` names the place in error messages: ``the --system option``, ``the %bedrock job line``.
    """

    def dollar(match: re.Match[str]) -> str:
        if match.group(1):
            return "$" + match.group(2)
        name = match.group(2)
        if name not in namespace:
            raise UsageError(f"no variable named {name!r} for ${name} in {where}; write $${name} for a literal ${name}")
        return _as_text(namespace[name], name, "$" + name, where)

    if "{" in value:
        try:
            value = templating.render(value, namespace, where=where)
        except templating.TemplateError as exc:
            raise UsageError(str(exc)) from None
    return _DOLLAR.sub(dollar, value) if "$" in value else value


_WHOLE_REF = re.compile(r"^(?:\$([A-Za-z_]\w*)|\{([A-Za-z_]\w*)\})$")


def _listed(values: list[str], namespace: Mapping[str, Any], what: str, literal: bool) -> list[str]:
    """A repeatable option's values; a whole ``$name`` holding a list or tuple adds each item."""
    out: list[str] = []
    for value in values:
        ref = None if literal else _WHOLE_REF.match(value)
        name = ref and (ref.group(1) or ref.group(2))
        if name and isinstance(namespace.get(name), (list, tuple)):
            out.extend(_as_text(v, f"{name}[{i}]", value, _option(what)) for i, v in enumerate(namespace[name]))
            continue
        value = value if literal else _expand(value, namespace, _option(what))
        if not value:
            raise UsageError(f"{what} needs a value")
        out.append(value)
    return out


def _as_text(value: Any, name: str, shown: str, where: str) -> str:
    try:
        return templating.as_text(value, name, shown, where)
    except templating.TemplateError as exc:
        raise UsageError(str(exc)) from None


def _choice(value: str, choices: tuple[str, ...], what: str) -> str:
    if value in choices:
        return value
    hint = did_you_mean(value, choices, form="did you mean {}? ")
    raise UsageError(f"{what}: unknown value {value!r}; {hint}choose from {', '.join(choices)}")


def _region(value: str, surface: str) -> str:
    from . import endpoints  # loaded on first use: %load_ext stays light (tests/test_layers.py)

    try:
        return endpoints.check_region(value.strip(), surface)
    except endpoints.UnknownRegionError as exc:
        raise UsageError(f"--region: {exc}") from None


def _range(setting: str) -> str:
    """``0 to 1``: the values the option for ``setting`` takes, for its help text."""
    low, high = _SETTING_TRAITS[setting].bounds
    return f"{low:g} to {high:g}"


def _number(value: str | None, setting: str, expand: Callable[[str, str], str], high: float | None = None) -> Any:
    """The option for ``setting`` (``--max-tokens`` for ``max_tokens``) as a number.

    The setting's own trait decides what is valid (one rule for ``%config`` and the line); the
    message names the option: ``--temperature must be between 0 and 1, got 5``. ``high`` is a
    further cap that only the line has.
    """
    if value is None:
        return None
    trait = _SETTING_TRAITS[setting]
    what = "--" + setting.replace("_", "-")
    kind = int if isinstance(trait, Int) else float
    text = expand(value, what).strip()
    try:
        number = kind(text)
    except ValueError:
        article = "an integer" if kind is int else "a number"
        raise UsageError(f"{what} takes {article}, got {text!r}") from None
    low, top = trait.bounds
    top = high if high is not None else top
    try:
        number = trait.validate(None, number)
    except TraitError:
        number = None
    if number is None or (top is not None and number > top):
        bounds = f"at least {low:g}" if top is None else f"between {low:g} and {top:g}"
        raise UsageError(f"{what} must be {bounds}, got {text}") from None
    return number


def _dest(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.isidentifier() or keyword.iskeyword(value):
        raise UsageError(
            f"DEST must be a Python variable name, got {value!r} "
            "(the first line holds DEST and options; the prompt goes in the cell body)"
        )
    return value


def _name(value: str, what: str) -> str:
    """A variable name given to an object option; ``$frame`` and ``{frame}`` are accepted too."""
    name = value.strip()
    ref = _WHOLE_REF.match(name)
    if ref:
        name = ref.group(1) or ref.group(2)
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UsageError(f"{what} takes a variable name, got {value!r}")
    return name


def _lookup(name: str, namespace: Mapping[str, Any], what: str) -> Any:
    if name in namespace:
        return namespace[name]
    visible = [n for n in namespace if not n.startswith("_")]
    hint = did_you_mean(name, visible, form=" (did you mean {}?)", cutoff=0.6)
    raise UsageError(f"{what}: no variable named {name!r} in the notebook{hint}")


def _frame(name: str, namespace: Mapping[str, Any]) -> Any:
    value = _lookup(name, namespace, "--df")
    pandas = sys.modules.get("pandas")  # a DataFrame can only exist if pandas is already imported
    if pandas is None or not isinstance(value, pandas.DataFrame):
        raise UsageError(f"--df {name}: {name} is {_a(type(value).__name__)}, not a pandas DataFrame")
    return value


def _tools(value: str, namespace: Mapping[str, Any]) -> list[Callable[..., Any]]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise UsageError("--tools takes function names separated by commas, like --tools lookup,convert")
    tools = []
    for raw in names:
        name = _name(raw, "--tools")
        fn = _lookup(name, namespace, "--tools")
        if not callable(fn):
            raise UsageError(f"--tools {name}: {name} is {_a(type(fn).__name__)}, not a function")
        tools.append(fn)
    return tools


def _a(noun: str) -> str:
    """``an int``, ``a str``: the article a type name takes."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"
