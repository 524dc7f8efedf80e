"""``%bedrock`` / ``%%bedrock``: the IPython shell over :class:`bedrock_magics.core.Bedrock`.

Parse the line (``options``), call the core, hand the result to ``display`` — nothing else. Only
IPython, traitlets and this package's light modules are imported at load; boto3, openai, pandas and
ipywidgets load on first use.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections import ChainMap
from contextlib import contextmanager
from typing import Any, Iterator

from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, needs_local_scope, no_var_expand

from . import display, options, templating

__all__ = ["BedrockMagics", "load", "unload", "current", "LOCAL_BANNER"]

LOCAL_BANNER = ("Replies come from the local Bedrock service on 127.0.0.1 (offline; no AWS account is used). "
                "`%bedrock local stop` sends calls to AWS.")

_loaded: "weakref.WeakKeyDictionary[Any, BedrockMagics]" = weakref.WeakKeyDictionary()


@magics_class
class BedrockMagics(Magics):
    """The ``bedrock`` line/cell magic bound to one ``Bedrock`` configurable."""

    def __init__(self, shell: Any, bm: Any) -> None:
        super().__init__(shell)
        self.bm = bm
        self.started_local = False  # this load started the local service: unload stops it
        self._starting: threading.Thread | None = None
        self._start_error: BaseException | None = None

    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def bedrock(self, line: str, cell: str | None = None, local_ns: dict | None = None) -> Any:
        """Amazon Bedrock from a cell.

        Cell mode sends the cell body as the prompt; ``{name}`` is replaced by the notebook
        variable ``name`` (``{name[key]}``, ``{name:.2f}`` too; ``{{name}}`` for a literal
        ``{name}``; other braces, as in code or JSON, are left alone). The first line holds DEST
        and options; option values may use ``$name`` or ``{name}``::

            %%bedrock answer -m us.amazon.nova-lite-v1:0 --max-tokens 200
            Summarise {topic} in three bullet points.

        The reply is shown with a footer (model · route · tokens · latency · cost), stored in DEST
        and is the cell's value (``_``). ``-m A -m B`` compares models; ``--df FRAME --out COL``
        runs the prompt once per row (``{column}`` from the row); both give a DataFrame. Every call
        is a row of ``%bedrock usage``; a failed call fails the cell with a short error.

        Line mode: ``%bedrock usage | status | local | key | chat | models | pick | job | help``.
        Settings: ``%config Bedrock`` (e.g. ``%config Bedrock.region = "us-west-2"``).
        """
        ns = self.shell.user_ns if local_ns in (None, self.shell.user_ns) else ChainMap(local_ns, self.shell.user_ns)
        if cell is None:
            command = options.parse_line(line, ns)
            return getattr(self, "_" + command.name)(command.args)
        return self._cell(options.parse_cell(line, ns), cell.strip(), ns)

    # -- cell mode ------------------------------------------------------------------------------------

    def _cell(self, opts: options.CellOptions, body: str, ns: Any) -> Any:
        if opts.mode == "embed":
            if any(line.strip() and not line.lstrip().startswith("#") for line in body.splitlines()):
                raise UsageError(f"--embed {opts.embed} sends column {opts.embed!r} of --df; the cell body is "
                                 "not sent (IPython needs one: write a # comment there)")
        elif not body:
            raise UsageError("the cell has no prompt: write it below the %%bedrock line")
        self._wait_for_local()
        self.bm.cell = self.shell.execution_count  # ledger rows name the cell that made them
        with _profile(self.bm, opts.profile), _bad_input_is_usage():
            if opts.mode != "single" or opts.dry_run:
                return self._table(opts, body, ns)
            return self._ask(opts, body if opts.no_format else templating.render(body, ns))

    def _ask(self, opts: options.CellOptions, prompt: str) -> Any:
        from .errors import BedrockError

        fmt = opts.format or self.bm.format
        kwargs = dict(opts.settings(), chat=opts.chat, tools=opts.tools or None)
        try:
            if (self.bm.streaming if opts.stream is None else opts.stream) and not opts.quiet:
                label = kwargs.get("model") or self.bm.default_model(kwargs.get("endpoint"))
                view = display.StreamView(label=label, fmt=fmt, shell=self.shell)
                reply = view.run(self.bm.stream(prompt, on_round=view.on_round, **kwargs))
            else:
                reply = self.bm.ask(prompt, on_round=None if opts.quiet else display.print_round, **kwargs)
        except BedrockError as exc:
            if opts.dest:  # DEST still gets the failed reply, to inspect
                self.shell.user_ns[opts.dest] = exc.reply
            raise
        display.set_format(reply, fmt)
        if opts.quiet:
            display.mark_shown(reply, self.shell)
        if opts.dest:
            self.shell.user_ns[opts.dest] = reply
        return reply

    def _table(self, opts: options.CellOptions, template: str, ns: Any) -> Any:
        from . import batch

        settings = opts.settings()
        common = dict(settings, namespace=ns, concurrency=opts.concurrency, progress=not opts.quiet)
        frame = opts.df
        if frame is not None and opts.mode != "embed":
            templating.check(template, ns, frame.columns)  # a typo in {column} fails before any row is sent
        elif frame is None and not opts.no_format:
            template = templating.render(template, ns)
        out = opts.out or "answer"
        try:
            if opts.mode == "job":
                from . import jobs

                result = jobs.submit_job(self.bm, frame, template, s3_uri=opts.job, role_arn=opts.role, out=out,
                                         namespace=ns, progress=not opts.quiet, **settings)
            elif opts.dry_run:
                result = self.bm.dry_run(template, **common) if frame is None else \
                    self.bm.dry_run(frame, template, **common)
            elif opts.mode == "embed":
                result = self.bm.embed(frame, opts.embed, out=opts.out, model=settings.get("model"),
                                       region=opts.region, concurrency=opts.concurrency, use_cache=opts.cache,
                                       progress=not opts.quiet)
            elif opts.mode == "compare":
                result = self.bm.compare(template, models=opts.models, frame=frame, out=out,
                                         use_cache=None if frame is None else opts.cache, **common)
            else:
                result = self.bm.map(frame, template, out=out, use_cache=opts.cache, **common)
        except batch.BatchInterrupted as stop:
            if opts.dest:
                self.shell.user_ns[opts.dest] = stop.frame
            raise
        return self._store(opts, result)

    def _store(self, opts: options.CellOptions, result: Any) -> Any:
        """DEST gets the result and a short preview is shown; without DEST it is the cell's value."""
        if not opts.dest:
            return None if opts.quiet else result
        self.shell.user_ns[opts.dest] = result
        if not opts.quiet:
            display.preview(result, opts.dest)
        return None

    # -- line mode ------------------------------------------------------------------------------------

    def _usage(self, args: Any) -> Any:
        return self.bm.usage(all_sessions=args.all)

    def _status(self, args: Any) -> Any:
        self._wait_for_local(raise_error=False)
        return display.status(self.bm, local_error=self._start_error)

    def _local(self, args: Any) -> None:
        self._wait_for_local(raise_error=False)
        if args.action == "start":
            with _bad_input_is_usage():
                self.bm.use_local()
            self.started_local = True
            print(LOCAL_BANNER)
        elif args.action == "auto":
            already = self.bm.local
            with _bad_input_is_usage():
                local = self.bm.use_local_unless_aws()
            if already:  # the banner was shown when local mode was chosen (BEDROCK_MAGICS_LOCAL=1)
                print("Using the local Bedrock service.")
            elif local:
                self.started_local = True
                print(LOCAL_BANNER)
            else:
                print(f"Using Amazon Bedrock in {self.bm.region} with "
                      f"{self.bm.clients.credential_source()[1]}; calls are billed to your AWS account.")
        elif args.action == "stop":
            self.bm.stop_local()
            self.started_local = False
            print("The local Bedrock service is stopped; calls go to AWS (see %bedrock status).")
        else:
            print(display.local_status(self.bm))

    def _key(self, args: Any) -> None:
        if args.clear:
            self.bm.set_api_key(None)
            print("API key forgotten; calls use the other credentials (see %bedrock status).")
            return
        import getpass

        try:
            key = getpass.getpass("Bedrock API key (kept in memory only): ")
        except StdinNotImplementedError:
            raise UsageError("this frontend can't prompt for input; set AWS_BEARER_TOKEN_BEDROCK in the "
                             "kernel's environment instead") from None
        if not key.strip():
            raise UsageError("no key entered; nothing changed")
        self.bm.set_api_key(key.strip())
        print("API key set for this session (memory only; never written to the notebook or disk).")

    def _chat(self, args: Any) -> Any:
        if not args.reset:
            return display.conversation(self.bm.chats, args.chat_name)
        from .conversation import UnknownConversation

        try:
            gone = self.bm.chats.reset(args.chat_name)
        except UnknownConversation as exc:
            raise UsageError(str(exc)) from None
        print(f"Forgot {len(gone)} conversation{'s' * (len(gone) != 1)}: {', '.join(gone) or 'none'}.")

    def _models(self, args: Any) -> Any:
        self._wait_for_local()
        with _bad_input_is_usage():
            return self.bm.models(region=args.region, provider=args.provider, refresh=args.refresh)

    def _pick(self, args: Any) -> None:
        from . import picker

        self._wait_for_local(raise_error=False)
        picker.pick(self.bm)  # it displays itself; returning it would draw it twice

    def _job(self, args: Any) -> Any:
        from . import jobs

        self._wait_for_local()
        with _bad_input_is_usage():
            if args.action == "status":
                return jobs.job_status(self.bm, args.job_name)
            # --df: the submitted frame, so the answers come back next to its own columns.
            return jobs.collect_job(self.bm, args.job_name, args.df)

    def _help(self, args: Any) -> None:
        print(HELP)

    # -- the local service started at load (BEDROCK_MAGICS_LOCAL=1) ------------------------------------

    def start_local_in_background(self) -> None:
        """Start the local service on a thread once the current cell has finished, so that
        ``%load_ext`` returns at once (the service's imports would compete with the cell for the GIL)."""

        def start() -> None:
            try:
                self.bm.use_local()
            except BaseException as exc:  # noqa: BLE001 - reported by the next %bedrock call
                self._start_error = exc

        self.started_local = True
        self._starting = threading.Thread(target=start, name="bedrock-local-start", daemon=True)
        self.shell.events.register("post_run_cell", self._start_thread)

    def _start_thread(self, *result: Any) -> None:
        if self._start_thread in self.shell.events.callbacks["post_run_cell"]:
            self.shell.events.unregister("post_run_cell", self._start_thread)
        if self._starting is not None and self._starting.ident is None:
            self._starting.start()

    def _wait_for_local(self, raise_error: bool = True) -> None:
        if self._starting is not None:
            self._start_thread()  # used before the loading cell ended: start now
            self._starting.join()
            self._starting = None
        if self._start_error is not None and raise_error:
            error, self._start_error, self.started_local = self._start_error, None, False
            raise UsageError(f"the local Bedrock service did not start ({type(error).__name__}: {error}); "
                             "try %bedrock local start") from None


@contextmanager
def _profile(bm: Any, profile: str | None) -> Iterator[None]:
    """``--profile P``: that AWS profile for this cell only."""
    before = bm.profile
    if profile is None or profile == before:
        yield
        return
    bm.profile = profile
    try:
        yield
    finally:
        bm.profile = before


@contextmanager
def _bad_input_is_usage() -> Iterator[None]:
    """The core raises ``ValueError`` (one line) for bad input: show it as a ``UsageError``."""
    try:
        yield
    except ValueError as exc:
        raise UsageError(str(exc)) from None


HELP = "\n".join([inspect.cleandoc(BedrockMagics.bedrock.__doc__ or ""), "", options.cell_help(),
                  "%bedrock sub-commands:", options.line_help()])
BedrockMagics.bedrock.__doc__ = HELP  # `%bedrock?` shows every option


def current(shell: Any = None) -> Any:
    """The ``Bedrock`` object behind ``%bedrock`` in ``shell`` (the running one by default), or None."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    magics = _loaded.get(shell) if shell is not None else None
    return magics.bm if magics is not None else None


def load(shell: Any) -> None:
    """Register ``%bedrock`` in ``shell`` with one ``Bedrock`` configurable (``%load_ext``).

    Idempotent. With ``Bedrock.local`` (``BEDROCK_MAGICS_LOCAL=1``) the local service starts on a
    background thread and a banner says that replies are local.
    """
    if shell in _loaded:
        return
    from .core import Bedrock
    from .reply import Reply

    # A configurable left by an older copy of the module (importlib.reload) would be configured twice.
    shell.configurables[:] = [c for c in shell.configurables if type(c).__name__ != "Bedrock"]
    bm = Bedrock(parent=shell)
    shell.configurables.append(bm)
    magics = BedrockMagics(shell, bm)
    shell.register_magics(magics)
    # Replies render through display.show_reply, which skips a reply this cell already streamed.
    shell.display_formatter.ipython_display_formatter.for_type(Reply, display.show_reply)
    _loaded[shell] = magics
    if bm.local:
        magics.start_local_in_background()
        print(LOCAL_BANNER)


def unload(shell: Any) -> None:
    """Undo :func:`load`: the magic, the configurable, the display printer; stop the local service
    if this load started it."""
    magics = _loaded.pop(shell, None)
    if magics is None:
        return
    from .reply import Reply

    if magics._starting is not None and magics._starting.ident is None:  # never started: nothing to stop
        shell.events.unregister("post_run_cell", magics._start_thread)
        magics._starting, magics.started_local = None, False
    magics._wait_for_local(raise_error=False)
    if magics.started_local:
        magics.bm.stop_local()
    magics.bm.close()
    if magics.bm in shell.configurables:
        shell.configurables.remove(magics.bm)
    for kind in ("line", "cell"):
        shell.magics_manager.magics[kind].pop("bedrock", None)
    shell.magics_manager.registry.pop(type(magics).__name__, None)
    shell.display_formatter.ipython_display_formatter.pop(Reply, None)
