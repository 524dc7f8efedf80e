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

from . import display, jobs, options, picker, templating
from .conversation import UnknownConversation
from .core import Bedrock
from .errors import BedrockError, did_you_mean
from .redact import redact
from .reply import Reply
from .runner import BatchInterrupted

__all__ = ["BedrockMagics", "load", "unload", "current", "LOCAL_BANNER"]

LOCAL_BANNER = ("Replies come from the local Bedrock service on 127.0.0.1 (offline; no AWS account is used). "
                "`%bedrock local stop` sends calls to AWS.")

_loaded: "weakref.WeakKeyDictionary[Any, BedrockMagics]" = weakref.WeakKeyDictionary()
# Shells whose last load used the local service: loading again (%reload_ext) keeps local mode.
_was_local: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()


@magics_class
class BedrockMagics(Magics):
    """The ``bedrock`` line/cell magic bound to one ``Bedrock`` configurable."""

    def __init__(self, shell: Any, bm: Any) -> None:
        super().__init__(shell)
        self.bm = bm
        self.started_local = False  # this load started the local service: unload stops it
        self.banner_shown = False  # LOCAL_BANNER was printed since local mode was last chosen
        self._local_switched: bool | None = None  # the Bedrock.local value `%bedrock local` last set
        self._starting: threading.Thread | None = None
        self._start_error: BaseException | None = None

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
        self.bm.cell = self._cell_number()  # ledger rows name the cell that made them
        with _profile(self.bm, opts.profile), _bad_input_is_usage():
            try:
                if opts.mode != "single" or opts.dry_run:
                    return self._table(opts, body, ns)
                return self._ask(opts, body if opts.no_format else templating.render(body, ns))
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
            if (self.bm.streaming if opts.stream is None else opts.stream) and not opts.quiet:
                label = kwargs.get("model") or self.bm.default_model(kwargs.get("endpoint"))
                view = display.StreamView(label=label, fmt=fmt, shell=self.shell)
                reply = view.run(self.bm.stream(prompt, on_round=view.on_round, **kwargs))
            else:
                rounds = display.ToolRounds(echo=None) if opts.quiet else display.ToolRounds()
                reply = self.bm.ask(prompt, on_round=rounds, **kwargs)
                rounds.attach(reply)
        except BedrockError as exc:
            if opts.dest:  # DEST still gets the failed reply, to inspect
                self.shell.user_ns[opts.dest] = exc.reply
            raise
        except KeyboardInterrupt as stop:
            raise display.Interrupted(self._interrupted(opts, kwargs, view)) from stop
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

    def _interrupted(self, opts: options.CellOptions, kwargs: dict[str, Any], view: Any) -> str:
        """The one line an interrupted prompt shows; DEST gets the cancelled reply (and its partial text).

        The core has already recorded the call as ``cancelled`` in the ledger.
        """
        text = view.text if view is not None else ""
        endpoint = kwargs.get("endpoint") or self.bm.endpoint
        line = "KeyboardInterrupt: interrupted; "
        if opts.dest:
            self.shell.user_ns[opts.dest] = Reply(
                text=text, model=kwargs.get("model") or self.bm.default_model(endpoint),
                region=kwargs.get("region") or self.bm.region, endpoint=endpoint,
                api=kwargs.get("api") or self.bm.default_api(endpoint), status="cancelled",
                error="cancelled (interrupted)", error_code="Cancelled", streamed=view is not None)
            line += f"the partial answer is in {opts.dest}" if text else f"{opts.dest} holds the cancelled reply"
        else:
            line += "the partial answer stays above" if text else "no answer arrived"
        return line + " and the call is recorded as cancelled (%bedrock usage)"

    def _table(self, opts: options.CellOptions, template: str, ns: Any) -> Any:
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
                result = jobs.submit_job(self.bm, frame, template, s3_uri=opts.job, role_arn=opts.role, out=out,
                                         namespace=ns, progress=not opts.quiet, **settings)
            elif opts.dry_run:
                result = self._dry_run(opts, frame, template, common)
            elif opts.mode == "embed":
                result = self.bm.embed(frame, opts.embed, out=opts.out, model=settings.get("model"),
                                       region=opts.region, concurrency=opts.concurrency, use_cache=opts.cache,
                                       progress=not opts.quiet)
            elif opts.mode == "compare":
                result = self.bm.compare(template, models=opts.models, frame=frame, out=out,
                                         use_cache=None if frame is None else opts.cache, **common)
            else:
                result = self.bm.map(frame, template, out=out, use_cache=opts.cache, **common)
        except BatchInterrupted as stop:
            if opts.dest:
                self.shell.user_ns[opts.dest] = stop.frame
            raise display.Interrupted(*_batch_interrupted(opts, stop)) from stop
        if isinstance(result, dict):  # a submitted batch job: shown as lines, still a dict
            result = display.Fields(result, title=f"batch job {result.get('name', '')}".strip())
        return self._store(opts, result)

    def _dry_run(self, opts: options.CellOptions, frame: Any, template: str, common: dict[str, Any]) -> Any:
        """``--dry-run``: one estimate, or one per model for ``-m A -m B`` (rows stacked, model by model).

        The count is of the request the real call would send, tools and conversation history included."""
        common = dict(common, tools=opts.tools or None, chat=opts.chat)
        what = (template,) if frame is None else (frame, template)
        if len(opts.models) <= 1:
            return self.bm.dry_run(*what, **common)
        return self.bm.dry_run(*what, **dict(common, models=opts.models))

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
        switched = self._local_switched is not None and self.bm.local == self._local_switched
        return display.status(self.bm, local_error=self._start_error,
                              set_by={"local": "%bedrock local"} if switched else None)

    def _local(self, args: Any) -> None:
        """``%bedrock local [start|stop|status|auto]``; bare ``%bedrock local`` starts the service.

        Every switch says which backend calls go to, once: the banner is not repeated when the
        load (``BEDROCK_MAGICS_LOCAL=1``) or an earlier command already printed it.
        """
        self._wait_for_local(raise_error=False)
        if args.action == "start":
            running = self.bm.local_service
            if running is not None:
                print(f"The local Bedrock service is already running at {running.url}; calls from %bedrock go to it.")
                return
            with _bad_input_is_usage():
                self.bm.use_local()
            self._switched_local(True)
            self.started_local = True
            self._banner()
        elif args.action == "auto":
            already = self.bm.local
            with _bad_input_is_usage():
                local = self.bm.use_local_unless_aws()
            if local:
                if not already:
                    self._switched_local(True)
                    self.started_local = True
                if not (already and self.banner_shown):
                    self._banner()
            else:
                print(f"Using Amazon Bedrock in {self.bm.region} with "
                      f"{self.bm.clients.credential_source()[1]}; calls are billed to your AWS account.")
        elif args.action == "stop":
            self.bm.stop_local()
            self._switched_local(False)
            self.started_local = False
            print("The local Bedrock service is stopped; calls go to AWS (see %bedrock status).")
        else:
            print(display.local_status(self.bm))

    def _banner(self) -> None:
        print(LOCAL_BANNER)
        self.banner_shown = True

    def _switched_local(self, on: bool) -> None:
        self._local_switched = on
        self.banner_shown = self.banner_shown and on

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
        try:
            gone = self.bm.chats.reset(args.chat_name)
        except UnknownConversation as exc:
            raise UsageError(str(exc)) from None
        print(f"Forgot {len(gone)} conversation{'s' * (len(gone) != 1)}: {', '.join(gone) or 'none'}.")

    def _models(self, args: Any) -> Any:
        self._wait_for_local()
        with _bad_input_is_usage():
            frame = self.bm.models(region=args.region, provider=args.provider, refresh=args.refresh)
            if args.provider and len(frame) == 0:  # an empty table says nothing: name the providers
                region = args.region or self.bm.region
                providers = sorted({str(p) for p in self.bm.models(region=args.region)["provider"] if p})
                hint = did_you_mean(args.provider, providers, form="did you mean {}? ")
                raise UsageError(f"no models from provider {args.provider!r} in {region}; {hint}"
                                 f"providers: {', '.join(providers) or 'none'}")
        return frame

    def _pick(self, args: Any) -> None:
        self._wait_for_local(raise_error=False)
        picker.pick(self.bm)  # it displays itself; returning it would draw it twice

    def _job(self, args: Any) -> Any:
        self._wait_for_local()
        with _bad_input_is_usage():
            if args.action == "status":
                status = jobs.job_status(self.bm, args.job_name)
                return display.Fields(status, title=f"batch job {status.get('name') or args.job_name}")
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
                if self.bm.local_service is None:  # one chosen meanwhile (use_local(service=...)) stays
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
            raise UsageError(f"the local Bedrock service did not start ({redact(f'{type(error).__name__}: {error}')}); "
                             "try %bedrock local start") from None


@contextmanager
def _profile(bm: Any, profile: str | None) -> Iterator[None]:
    """``--profile P``: that AWS profile for this cell only.

    Set and restored quietly (``Bedrock._quietly``): a line option must not leave ``%bedrock status``
    saying the profile was "set in Python"; a region that follows the profile follows it back.
    ``_quietly`` is private to the settings class and has no public twin yet; the magic is the one
    caller outside ``config``, so it reaches in rather than widening the public API.
    """
    before = bm.profile
    if profile is None or profile == before:
        yield
        return
    with bm._quietly():
        bm.profile = profile
    try:
        yield
    finally:
        with bm._quietly():
            bm.profile = before


def _batch_interrupted(opts: options.CellOptions, stop: Any) -> list[str]:
    """What an interrupted table run shows: the run's summary (unless it was printed already) and
    where the partial result is. ``stop`` is a ``batch.BatchInterrupted``."""
    lines = [f"KeyboardInterrupt: {stop.summary}"] if opts.quiet else []
    where = f"partial results in {opts.dest}" if opts.dest else "the partial results were not kept (no DEST)"
    resumes = opts.cache and opts.df is not None
    again = "run the cell again to finish: answered rows are not sent again" if resumes else \
        "run the cell again to start over"
    first = "" if lines else "KeyboardInterrupt: "
    lines.append(f"{first}interrupted; {where} (the rest marked cancelled); {again}")
    return lines


@contextmanager
def _bad_input_is_usage() -> Iterator[None]:
    """The core raises ``ValueError`` (one line) for bad input: show it as a ``UsageError``."""
    try:
        yield
    except ValueError as exc:
        raise UsageError(str(exc)) from None


HELP = "\n".join([inspect.cleandoc(BedrockMagics.bedrock.__doc__ or ""), "", options.cell_help(),
                  "%bedrock sub-commands (line mode):", options.line_help()])
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
