"""``%bedrock`` / ``%%bedrock``: the IPython shell over :class:`bedrock_magics.core.Bedrock`.

A cell is a short pipeline: parse the line (``options``), pick the mode (a single prompt, or one of
the table modes of :data:`~bedrock_magics.modes.MODES`: compare, map, embed, batch job, dry run),
call the Python API, hand the result to ``display`` and DEST. The sub-commands of line mode are :mod:`~bedrock_magics.linecommands`.
boto3, openai, pandas and ipywidgets load on first use.
"""

from __future__ import annotations

import inspect
import weakref
from collections import ChainMap
from functools import cache
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, needs_local_scope, no_var_expand

from . import display, streamview, templating
from .core import Bedrock
from .errors import BatchInterrupted, BedrockError
from .linecommands import LOCAL_BANNER, LineCommands, bad_input_is_usage
from .modes import MODES, Run, batch_interrupted, cell_profile, mode_of
from .reply import Reply

if TYPE_CHECKING:  # pragma: no cover - annotations only; loaded by the magic itself (see bedrock)
    from . import options

__all__ = ["BedrockMagics", "load", "unload", "current", "help_text", "LOCAL_BANNER"]

_loaded: "weakref.WeakKeyDictionary[Any, BedrockMagics]" = weakref.WeakKeyDictionary()
# Shells whose last load used the local service: loading again (%reload_ext) keeps local mode.
_was_local: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()


@magics_class
class BedrockMagics(Magics, LineCommands):
    """The ``bedrock`` line/cell magic bound to one ``Bedrock`` configurable."""

    def __init__(self, shell: Any, bm: Any) -> None:
        super().__init__(shell)
        self.bm = bm
        self._init_local()

    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def bedrock(self, line: str, cell: str | None = None, local_ns: dict | None = None) -> Any:
        """Amazon Bedrock from a notebook cell.

        The cell body is the prompt. {name} in it is replaced by the notebook variable name
        ({name[key]} and {name:.2f} work too; a --df template takes {column}, or {any column name}).
        {{ and }} are literal braces; other braces, as in code or JSON, are left alone. The first
        line holds DEST and options; option values may use $name or {name}. For example:

            %%bedrock answer -m us.amazon.nova-lite-v1:0 --max-tokens 200
            Summarise {topic} in three bullet points.

        The reply is shown with a footer (model · route · tokens · latency · cost), stored in
        DEST and is the cell's value (_). -m A -m B compares models; --df FRAME --out COL runs
        the prompt once per row; both give a DataFrame. Every call is a row of %bedrock usage;
        a failed call fails the cell with a short error; ■ (interrupt) stops it in one line.

        Settings: %config Bedrock (e.g. %config Bedrock.region = "us-west-2").
        """
        # The option grammar (argparse with ~80 options, and the parsers of option values) loads
        # with the first %bedrock line, not at %load_ext: it was a fifth of the load time.
        # tests/test_layers.py reads this import like any other.
        from . import options

        ns = self.shell.user_ns if local_ns in (None, self.shell.user_ns) else ChainMap(local_ns, self.shell.user_ns)
        if cell is None:
            command = options.parse_line(line, ns)
            return getattr(self, "_" + command.name)(command.args)
        return self._cell(options.parse_cell(line, ns), cell.strip(), ns)

    # -- cell mode ------------------------------------------------------------------------------------

    def _cell(self, opts: options.CellOptions, body: str, ns: Any) -> Any:
        if opts.mode == "embed":
            text = "\n".join(line for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#"))
            if opts.df is not None and text:
                what = f"--embed {opts.embed} sends column {opts.embed!r} of --df" if opts.embed else \
                    "--embed sends the --image column of --df"
                raise UsageError(f"{what}; the cell body is not sent (IPython needs one: write a # comment there)")
            if opts.df is None and not text and not opts.features.get("images"):
                raise UsageError("nothing to embed: write the text in the cell, or add --image X")
            body = body if text else ""  # a body of # comments only: an image alone is embedded
        elif not body:
            raise UsageError("the cell has no prompt: write it below the %%bedrock line")
        self._wait_for_local()
        self.bm.cell = self._cell_number()  # ledger rows name the cell that made them
        mode = mode_of(opts)
        with cell_profile(self.bm, opts.profile), bad_input_is_usage():
            try:
                if mode == "single":
                    return self._ask(opts, body if opts.no_format else templating.render(body, ns))
                return self._table(mode, opts, body, ns)
            except display.Interrupted:
                raise
            except KeyboardInterrupt as stop:  # anywhere else (a dry run, a job's upload): one line too
                raise display.Interrupted("KeyboardInterrupt: interrupted; nothing was stored") from stop

    def _cell_number(self) -> int | None:
        """The number of the running cell (``In [n]``), as the notebook shows it.

        IPython counts the cell before running it (``shell.execution_count`` is already the next
        cell's number, in a terminal and in a kernel alike); the displayhook's execution result
        holds the running cell's own number. None outside a cell.
        """
        result = getattr(self.shell.displayhook, "exec_result", None)
        return getattr(result, "execution_count", None)

    def _ask(self, opts: options.CellOptions, prompt: str) -> Any:
        """One prompt: stream it (or not), store it in DEST, return it as the cell's value.

        In terminal IPython a reply already shown (streamed, or ``--quiet``) is made the cell's
        value (``_``, ``Out``) here and None is returned: returned, it would add an empty
        ``Out[n]:`` line under the streamed text. In a kernel it is returned and not drawn again.
        """
        fmt = opts.format or self.bm.format
        kwargs = dict(opts.settings(), chat=opts.chat, tools=opts.tools or None)
        view = None
        try:
            if opts.background:  # returns at once with the response id: nothing to stream
                reply = self.bm.ask(prompt, extra={"background": True}, **kwargs)
            elif (self.bm.streaming if opts.stream is None else opts.stream) and not opts.quiet:
                label = kwargs.get("model") or self.bm.default_model(kwargs.get("endpoint"))
                view = streamview.StreamView(label=label, fmt=fmt, shell=self.shell)
                reply = view.run(self.bm.stream(prompt, on_round=view.on_round, on_reasoning=view.reasoning,
                                                **kwargs))
            else:
                rounds = display.ToolRounds(echo=None) if opts.quiet else display.ToolRounds()
                reply = self.bm.ask(prompt, on_round=rounds, **kwargs)
                rounds.attach(reply)
        except BedrockError as exc:
            if opts.dest:  # DEST still gets the failed reply, to inspect
                self.shell.user_ns[opts.dest] = exc.reply
            raise
        except KeyboardInterrupt as stop:
            raise display.Interrupted(self._interrupted(opts, kwargs, view, stop)) from stop
        display.set_format(reply, fmt)
        if opts.dest:
            self.shell.user_ns[opts.dest] = reply
        if view is None and not opts.quiet:
            return reply  # drawn once, by the displayhook
        display.mark_shown(reply, self.shell)
        if getattr(self.shell, "kernel", None) is not None:
            return reply
        hook = self.shell.displayhook  # terminal: the cell's value without an empty Out[n]: line
        hook.update_user_ns(reply)
        hook.fill_exec_result(reply)
        return None

    def _interrupted(self, opts: options.CellOptions, kwargs: dict[str, Any], view: Any,
                     stop: KeyboardInterrupt) -> str:
        """The one line an interrupted prompt shows; DEST gets the cancelled reply (and its partial
        text), as the core recorded it in the ledger."""
        text = view.text if view is not None else ""
        line = "KeyboardInterrupt: interrupted; "
        if opts.dest:
            reply = getattr(stop, "reply", None)  # errors.Cancelled: the core's recorded reply
            if reply is None:  # interrupted outside the call itself (between two stream pieces)
                endpoint = kwargs.get("endpoint") or self.bm.endpoint
                reply = Reply(text=text, model=kwargs.get("model") or self.bm.default_model(endpoint),
                              region=kwargs.get("region") or self.bm.region, endpoint=endpoint,
                              api=kwargs.get("api") or self.bm.default_api(endpoint), status="cancelled",
                              error="cancelled (interrupted)", error_code="Cancelled", streamed=view is not None)
            self.shell.user_ns[opts.dest] = reply
            line += f"the partial answer is in {opts.dest}" if text else f"{opts.dest} holds the cancelled reply"
        else:
            line += "the partial answer stays above" if text else "no answer arrived"
        return line + " and the call is recorded as cancelled (%bedrock usage)"

    def _table(self, mode: str, opts: options.CellOptions, template: str, ns: Any) -> Any:
        settings = opts.settings()
        frame = opts.df
        if frame is not None and mode != "embed":
            templating.check(template, ns, frame.columns)  # a typo in {column} fails before any row is sent
        elif frame is None and not opts.no_format:
            template = templating.render(template, ns)
        run = Run(frame, template, ns, opts.out or "answer", settings,
                  dict(settings, namespace=ns, concurrency=opts.concurrency, progress=not opts.quiet))
        try:
            result = MODES[mode](self.bm, opts, run)
        except BatchInterrupted as stop:
            if opts.dest:
                self.shell.user_ns[opts.dest] = stop.frame
            raise display.Interrupted(*batch_interrupted(opts, stop)) from stop
        if isinstance(result, dict):  # a submitted batch job: shown as lines, still a dict
            result = display.Fields(result, title=f"batch job {result.get('name', '')}".strip())
        return self._store(opts, result)

    def _store(self, opts: options.CellOptions, result: Any) -> Any:
        """DEST gets the result and a short preview is shown; without DEST it is the cell's value."""
        if not opts.dest:
            return None if opts.quiet else result
        self.shell.user_ns[opts.dest] = result
        if not opts.quiet:
            display.preview(result, opts.dest)

    def _help(self, args: Any) -> None:
        print(help_text())


@cache
def help_text() -> str:
    """What ``%bedrock?`` and ``%bedrock help`` show: the magic's docstring, every ``%%bedrock``
    option and every ``%bedrock`` sub-command."""
    from . import options  # loaded by the first %bedrock line (see BedrockMagics.bedrock)

    return "\n".join([inspect.cleandoc(BedrockMagics.bedrock.__doc__ or ""), "", options.cell_help(),
                      "%bedrock sub-commands (line mode):", options.line_help()])


# `%bedrock?` (and a notebook's Shift-Tab) shows every option: IPython's inspector asks an object's
# getdoc() before its __doc__, so the option help is formatted when first asked for, not at
# %load_ext (argparse's formatting of ~80 options is a tenth of the load time).
BedrockMagics.bedrock.getdoc = help_text  # type: ignore[attr-defined]


def current(shell: Any = None) -> Any:
    """The ``Bedrock`` object behind ``%bedrock`` in ``shell`` (the running one by default), or None."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    magics = _loaded.get(shell) if shell is not None else None
    return magics.bm if magics is not None else None


def load(shell: Any) -> None:
    """Register ``%bedrock`` in ``shell`` with one ``Bedrock`` configurable (``%load_ext``).

    Idempotent. With ``Bedrock.local`` (``BEDROCK_MAGICS_LOCAL=1``), or when the shell's previous
    load used the local service (``%reload_ext``), the local service starts on a background thread
    and a banner says that replies are local.
    """
    if shell in _loaded:
        return
    # A configurable left by an older copy of the module (importlib.reload) would be configured twice.
    shell.configurables[:] = [c for c in shell.configurables if type(c).__name__ != "Bedrock"]
    bm = Bedrock(parent=shell)
    shell.configurables.append(bm)
    magics = BedrockMagics(shell, bm)
    shell.register_magics(magics)
    # Replies render through display.show_reply, which skips a reply this cell already streamed.
    shell.display_formatter.ipython_display_formatter.for_type(Reply, display.show_reply)
    _loaded[shell] = magics
    if _was_local.pop(shell, False) and not bm.local:
        bm.local = True  # %reload_ext keeps local mode: never switch to billable AWS silently
    if bm.local:
        magics.start_local_in_background()
        magics._banner()


def unload(shell: Any) -> None:
    """Undo :func:`load`: the magic, the configurable, the display printer; stop the local service
    if this load started it."""
    magics = _loaded.pop(shell, None)
    if magics is None:
        return
    if magics._starting is not None and magics._starting.ident is None:  # never started: nothing to stop
        shell.events.unregister("post_run_cell", magics._start_thread)
        magics._starting, magics.started_local = None, False
    magics._wait_for_local(raise_error=False)
    if magics.bm.local:
        _was_local[shell] = True
    if magics.started_local:
        magics.bm.stop_local()
    magics.bm.close()
    if magics.bm in shell.configurables:
        shell.configurables.remove(magics.bm)
    for kind in ("line", "cell"):
        shell.magics_manager.magics[kind].pop("bedrock", None)
    shell.magics_manager.registry.pop(type(magics).__name__, None)
    shell.display_formatter.ipython_display_formatter.pop(Reply, None)
