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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from IPython.core.error import UsageError
from IPython.utils.process import arg_split
from traitlets import Int, TraitError

from . import cellfeatures, optvalues, templating
from .config import FORMATS, BedrockSettings
from .conversation import DEFAULT_NAME
from .errors import did_you_mean
from .magicparser import Parser as _Parser
from .routes import APIS, ENDPOINTS
from .servertools import is_server_tool
from .servertools import parse as parse_server_tool

__all__ = ["CellOptions", "LineCommand", "parse_cell", "parse_line", "subcommands", "cell_help", "line_help", "FORMATS"]

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
    tools: list[Callable[..., Any] | str] = field(default_factory=list)  # functions; "lambda:…"/"gateway:…"
    background: bool = False
    df: Any = None
    df_name: str | None = None
    out: str | None = None
    embed: str | None = None  # "--embed COL"; "" for --embed without a column (the cell, or --image {column})
    dimensions: int | None = None  # --embed: the vector size
    concurrency: int | None = None
    dry_run: bool = False
    cache: bool = True
    job: str | None = None
    role: str | None = None
    profile: str | None = None
    quiet: bool = False
    no_format: bool = False
    limit: int | None = None
    max_cost: float | None = None
    long: bool = False
    features: dict[str, Any] = field(default_factory=dict)  # --schema, --reasoning, ... (cellfeatures.parse)

    @property
    def mode(self) -> str:
        """``job``, ``embed``, ``compare`` (several models, on one prompt or over ``--df`` rows), ``map`` or ``single``."""
        if self.job:
            return "job"
        if self.embed is not None:
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
    p.add_argument("--tools", metavar="f,g",
                   help="Python functions from the notebook the model may call; on mantle also "
                        "lambda:NAME_OR_ARN and gateway:ARN, which Bedrock calls itself")
    p.add_argument("--background", action="store_true",
                   help="mantle Responses: return at once with the response id (%%bedrock response ID fetches it)")
    p.add_argument("--df", metavar="FRAME", help="one call per row of this DataFrame (a name or an expression, "
                                                 "e.g. reviews.head(3)); {column} from the row")
    p.add_argument("--out", metavar="COL", help="column for the answers (--df)")
    p.add_argument("--embed", nargs="?", const="", metavar="COL",
                   help="embeddings instead of an answer: this column of --df, or (without COL) the cell's "
                        "text and --image, or the --image {column} of --df")
    p.add_argument("--dimensions", metavar="N", help="--embed: vector size (Titan Text v2 256/512/1024, Titan "
                                                      "Multimodal 256/384/1024, Cohere v4 256/512/1024/1536)")
    p.add_argument("--concurrency", metavar="N", help="parallel calls in table modes")
    p.add_argument("--limit", metavar="N", help="only the first N rows of --df")
    p.add_argument("--max-cost", metavar="USD", help="--df: show the estimate, stop before spending past USD")
    p.add_argument("--long", action="store_true",
                   help="--df with several -m: one row per row x model (easy to group and plot)")
    p.add_argument("--dry-run", action="store_true", help="count tokens and estimate cost; send nothing billable")
    p.add_argument("--no-cache", action="store_false", dest="cache", help="don't reuse cached rows (--df)")
    p.add_argument("--job", metavar="s3://...", help="run --df as a Bedrock batch inference job under this S3 prefix")
    p.add_argument("--role", metavar="ARN", help="IAM service role for --job")
    p.add_argument("--profile", metavar="P", help="AWS profile")
    cellfeatures.add_arguments(p)
    p.add_argument("--quiet", "-q", action="store_true", help="store the reply without showing it")
    p.add_argument("--no-format", action="store_true", help="send the cell text as is: no {name} interpolation")
    return p


@lru_cache(maxsize=1)  # built by the first %bedrock line (or help), not at %load_ext
def _line_parsers() -> dict[str, _Parser]:
    parsers: dict[str, _Parser] = {}

    def sub(name: str, help: str) -> _Parser:
        parsers[name] = _Parser(f"%bedrock {name}", line=True, description=help)
        return parsers[name]

    usage = sub("usage", "the ledger of calls: compact, --full, or summarised --by model|api|region|day [--plot]")
    usage.add_argument("--all", action="store_true", help="every session's calls, not just this kernel's")
    usage.add_argument("--full", action="store_true", help="every column of the ledger")
    usage.add_argument("--by", metavar="model|api|region|day", help="calls, errors, tokens, cost, median latency per group")
    usage.add_argument("--plot", action="store_true", help="draw cost and tokens per group (matplotlib)")
    sub("status", "region, endpoint, API, model and where each setting and the credentials come from")
    sub("local", "start the local Bedrock service (the default), stop it, show its status; "
                 "auto: AWS if credentials are found, else local").add_argument(
        "action", nargs="?", default="start", metavar="start|stop|status|auto")
    # `%bedrock local lambda NAME FUNC` (parse_line routes it here); FUNC is looked up by the command.
    lam = sub("local lambda", "serve a notebook function as a local Lambda (mantle's lambda:NAME tools)")
    lam.add_argument("lambda_name", metavar="NAME")
    lam.add_argument("function", metavar="FUNC")
    responses = sub("responses", "mantle's stored responses known to the ledger (a DataFrame)")
    responses.add_argument("--delete", metavar="ID", help="delete this stored response on mantle")
    response = sub("response", "fetch a stored or background response by id; its usage is recorded once")
    response.add_argument("response_id", metavar="ID")
    response.add_argument("--wait", action="store_true", help="wait until a background response finishes")
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
    embed = sub("embed", "embeddings of one text column: FRAME.COLUMN (no cell body needed)")
    embed.usage = "%(prog)s FRAME.COLUMN -m ID [--out COL] [-r R] [--concurrency N]"
    embed.add_argument("target", metavar="FRAME.COLUMN", help="the DataFrame and its text column")
    embed.add_argument("--out", metavar="COL", help="column for the vectors (default COLUMN_embedding)")
    embed.add_argument("--model", "-m", metavar="ID", help="embedding model, e.g. amazon.titan-embed-text-v2:0")
    embed.add_argument("--region", "-r", metavar="R", help="AWS region")
    embed.add_argument("--concurrency", metavar="N", help="parallel calls")
    job = sub("job", "the status or the results of a batch inference job started with --job")
    job.usage = "%(prog)s status|collect NAME [--df FRAME]"
    job.add_argument("action", metavar="status|collect")
    job.add_argument("job_name", metavar="NAME")
    job.add_argument("--df", metavar="FRAME",
                     help="collect: the DataFrame that was submitted; the answers come back next to its columns")
    sub("help", "this help")
    return parsers




def subcommands() -> tuple[str, ...]:
    """The ``%bedrock`` sub-commands (``local lambda`` is part of ``local``)."""
    return tuple(n for n in _line_parsers() if " " not in n)

_CHOICES = {"local": ("start", "stop", "status", "auto"), "job": ("status", "collect")}
USAGE_GROUPS = ("model", "api", "region", "day")  # %bedrock usage --by


def parse_line(line: str, namespace: Mapping[str, Any]) -> LineCommand:
    """Parse a ``%bedrock`` line: a sub-command and its arguments (``help`` when empty)."""
    argv = _split(line)
    if argv[:2] == ["local", "lambda"]:
        argv = ["local lambda", *argv[2:]]
    name = argv[0] if argv else "help"
    parsers = _line_parsers()
    if name not in parsers:
        hint = did_you_mean(name, subcommands(), form="did you mean %bedrock {}? ", cutoff=0.6)
        raise UsageError(
            f"%bedrock: unknown sub-command {name!r}; {hint}"
            f"use one of {', '.join(subcommands())}, or %%bedrock with the prompt in the cell body"
        )
    args = parsers[name].parse_args(_expand_line_args(argv[1:], namespace, f"the %bedrock {name} line"))
    if name in _CHOICES:
        args.action = _choice(args.action, _CHOICES[name], f"%bedrock {name}")
    if getattr(args, "region", None):
        args.region = _region(args.region, "runtime")
    if name == "job":
        _job_frame(args, namespace)
    if name == "local lambda":
        name, args.action = "local", "lambda"
    if name == "usage":
        optvalues.usage_view(args, _choice(args.by, USAGE_GROUPS, "--by") if args.by else None)
    if name == "embed":
        optvalues.embed_target(args, namespace)
        args.concurrency = _number(args.concurrency, "concurrency", lambda v, what: v, high=CONCURRENCY_MAX)
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
    args.df_name = optvalues.name(args.df, "--df")
    args.df = optvalues.frame(args.df_name, namespace)


def parse_cell(line: str, namespace: Mapping[str, Any]) -> CellOptions:
    """Parse and validate the first line of a ``%%bedrock`` cell.

    Scalar values may use ``$name`` or ``{name}`` (``$$name`` / ``{{name}}`` for the literal text);
    a whole ``-m $names`` / ``--stop $names`` token may name a list. ``--df``/``--tools`` take names.
    """
    line, df_expression = optvalues.take_df_expression(line)
    ns = _parser_namespace(line)
    if df_expression is not None:
        ns.df = df_expression
    expand = (lambda v, what: v) if ns.no_format else (lambda v, what: _expand(v, namespace, _option(what)))
    opts = CellOptions(dest=_dest(ns.dest), stream=ns.stream, dry_run=ns.dry_run, cache=ns.cache,
                       quiet=ns.quiet, no_format=ns.no_format, background=ns.background)
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
            if not value and name != "embed":  # --embed alone embeds the cell (or --image {column})
                raise UsageError(f"--{name} needs a value")
            setattr(opts, name, value)
    if ns.dimensions is not None:
        opts.dimensions = _dimensions(expand(ns.dimensions, "--dimensions"))
    if opts.job and not opts.job.startswith("s3://"):
        raise UsageError(f"--job takes an S3 prefix like s3://bucket/prefix/, got {opts.job!r}")
    if opts.role and not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/\S+", opts.role):
        raise UsageError(f"--role takes an IAM role ARN like arn:aws:iam::123456789012:role/Name, got {opts.role!r}")
    if ns.df is not None:
        opts.df_name = ns.df.strip()
        opts.df = optvalues.frame(opts.df_name, namespace)
    opts.limit = optvalues.row_count(expand(ns.limit, "--limit")) if ns.limit is not None else None
    if ns.max_cost is not None:
        opts.max_cost = optvalues.money(expand(ns.max_cost, "--max-cost"))
    opts.long = ns.long
    if opts.limit is not None and opts.df is not None:
        opts.df = opts.df.head(opts.limit)
    if ns.tools is not None:
        opts.tools = _tools(ns.tools, namespace)
    opts.features = cellfeatures.parse(ns, namespace, opts.df, expand, optvalues.lookup, optvalues.WHOLE_REF)
    _check_combinations(opts)
    return opts


def _check_combinations(o: CellOptions) -> None:
    """Refuse option sets that can't mean anything, before anything is sent."""
    table = o.df is not None or len(o.models) > 1
    if o.no_format and o.df is not None:
        raise UsageError("--no-format would send the same text for every row of --df; drop it to fill {column}")
    embed = o.embed is not None
    if (embed or o.job) and len(o.models) > 1:
        raise UsageError(f"--{'embed' if embed else 'job'} runs one model; give a single -m")
    # --embed COL embeds a column of --df; --embed alone embeds the cell itself.
    needs_df = [f"--{n.replace('_', '-')}" for n in ("out", "embed", "job", "role", "limit", "max_cost")
                if (getattr(o, n) if n == "embed" else getattr(o, n) is not None)] + (["--long"] if o.long else [])
    if needs_df and o.df is None:
        raise UsageError(f"{needs_df[0]} needs --df FRAME (a DataFrame whose rows are sent)")
    if o.concurrency is not None and not table:
        raise UsageError("--concurrency applies to --df runs and -m comparisons (one prompt is one call)")
    if table:
        single_only = [f for f, on in (("--stream", o.stream), ("--chat", o.chat), ("--tools", o.tools),
                                       ("--format", o.format), ("--background", o.background)) if on]
        if single_only:
            what = "--df runs" if o.df is not None else "-m comparisons"
            raise UsageError(f"{single_only[0]} applies to a single prompt, not to {what}")
    if embed:
        unused = [f"--{n.replace('_', '-')}" for n in ("endpoint", "api", "system", "max_tokens", "temperature",
                                                       "top_p", "stop") if getattr(o, n) not in (None, [])]
        unused += [f"--{n.replace('_', '-')}" for n in ("schema", "reasoning", "prompt_cache", "documents")
                   if o.features.get(n)]
        if unused:
            raise UsageError(f"{unused[0]} doesn't apply to --embed (it takes -m, -r, --image, --dimensions, --out, "
                             f"--concurrency)")
        if o.df is not None and not o.embed and not _column_images(o):
            raise UsageError("--embed with --df needs the column to embed (--embed COLUMN) or an image column "
                             "(--image {column})")
        if o.dry_run:
            raise UsageError("--dry-run estimates prompts; an --embed call costs its input only (shown in its "
                             "footer and %bedrock usage): drop --dry-run")
    elif o.dimensions is not None:
        raise UsageError("--dimensions sets the size of embeddings: use it with --embed")
    if o.background and (o.stream or o.dry_run):
        raise UsageError(f"--background returns at once with the response id; drop "
                         f"{'--stream' if o.stream else '--dry-run'} (%bedrock response ID --wait shows the answer)")
    if o.long and len(o.models) < 2:
        raise UsageError("--long lays out a comparison (one row per row x model): give several -m")
    if o.max_cost is not None and o.job:
        raise UsageError("--max-cost guards a --df run; --job is priced by --dry-run instead")
    if o.max_cost is not None and embed:
        raise UsageError("--max-cost guards a --df run of prompts; an --embed run costs its input only: try it on "
                         "--limit N rows first")
    if o.job and o.dry_run:
        raise UsageError("--dry-run estimates a --df run; drop --job to see the estimate")


def _column_images(o: CellOptions) -> bool:
    """Whether ``--image`` names a ``{column}`` of ``--df`` (kept as its text by cellfeatures)."""
    return any(isinstance(value, str) and value.startswith("{") for _, value in o.features.get("images") or ())


def _dimensions(value: str) -> int:
    text = value.strip().replace("_", "")
    if not text.isdigit() or int(text) <= 0:
        raise UsageError(f"--dimensions takes a vector size such as 256 or 1024, not {value!r}")
    return int(text)


def cell_help() -> str:
    """The ``%%bedrock`` options as text (appended to the magic's docstring)."""
    return _cell_parser().format_help()


def line_help(width: int = 100) -> str:
    """The ``%bedrock`` sub-commands: usage on the left, what it does on the right, every
    description starting in the same column (a usage too long for it gets a line of its own)."""
    import textwrap

    usages = {name: parser.one_line_usage() for name, parser in _line_parsers().items()}
    column = 2 + min(max(len(u) for u in usages.values()), 40) + 2
    lines = []
    for name, parser in _line_parsers().items():
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




def _listed(values: list[str], namespace: Mapping[str, Any], what: str, literal: bool) -> list[str]:
    """A repeatable option's values; a whole ``$name`` holding a list or tuple adds each item."""
    out: list[str] = []
    for value in values:
        ref = None if literal else optvalues.WHOLE_REF.match(value)
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


def _tools(value: str, namespace: Mapping[str, Any]) -> list[Callable[..., Any] | str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise UsageError("--tools takes function names separated by commas, like --tools lookup,convert")
    tools: list[Callable[..., Any] | str] = []
    for raw in names:
        if is_server_tool(raw):  # lambda:NAME_OR_ARN / gateway:ARN: Bedrock calls it, nothing to look up
            try:
                parse_server_tool(raw)
            except ValueError as exc:
                raise UsageError(f"--tools {exc}") from None
            tools.append(raw)
            continue
        name = optvalues.name(raw, "--tools")
        fn = optvalues.lookup(name, namespace, "--tools")
        if not callable(fn):
            raise UsageError(f"--tools {name}: {name} is {optvalues.article(type(fn).__name__)}, not a function")
        tools.append(fn)
    return tools
