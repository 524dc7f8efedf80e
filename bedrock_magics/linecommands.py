"""The ``%bedrock`` sub-commands (line mode) and the local service started at ``%load_ext``.

IPython glue, like :mod:`~bedrock_magics.magics`: each sub-command calls the Python API and hands
the result to ``display``; the local service starts on a thread once the loading cell has
finished (``BEDROCK_MAGICS_LOCAL=1``), and the next ``%bedrock`` waits for it.
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from IPython.core.error import StdinNotImplementedError, UsageError

from . import display
from .conversation import UnknownConversation
from .errors import did_you_mean
from .redact import redact

__all__ = ["LOCAL_BANNER", "LineCommands", "bad_input_is_usage"]

LOCAL_BANNER = ("Replies come from the local Bedrock service on 127.0.0.1 (offline; no AWS account is used). "
                "`%bedrock local stop` sends calls to AWS.")


class LineCommands:
    """``%bedrock usage|status|local|key|chat|models|pick|job``: one method ``_NAME(args)`` each, on
    the magic's ``bm`` and ``shell``; and the background start of the local service."""

    bm: Any
    shell: Any

    def _init_local(self) -> None:
        self.started_local = False  # this load started the local service: unload stops it
        self.banner_shown = False  # LOCAL_BANNER was printed since local mode was last chosen
        self._local_switched: bool | None = None  # the Bedrock.local value `%bedrock local` last set
        self._starting: threading.Thread | None = None
        self._start_error: BaseException | None = None

    # -- line mode ------------------------------------------------------------------------------------

    def _usage(self, args: Any) -> Any:
        from . import frameview, usage  # loaded on first use (see core)

        frame = self.bm.usage(all_sessions=args.all)
        if args.full:
            return frame
        if args.by is None:  # the value keeps every column; it shows the columns read first
            return frameview.shown_as(frame, usage.compact, note=f"{len(frame):,} calls (compact view: the value "
                                    "holds every column; %bedrock usage --full shows them)")
        table = usage.summary(frame, args.by)
        if not args.plot:
            return table
        if not len(table):
            raise UsageError("%bedrock usage --plot: no calls recorded yet (in this session; --all for every session)")
        try:
            figure = usage.plot(table)
        except ImportError:
            raise UsageError("%bedrock usage --plot needs matplotlib: pip install matplotlib") from None
        import io

        from IPython.display import Image
        from IPython.display import display as show

        png = io.BytesIO()  # a PNG, not the Figure: it shows without a matplotlib backend set up
        figure.savefig(png, format="png", dpi=100)
        show(Image(data=png.getvalue(), format="png"))
        return table

    def _embed(self, args: Any) -> Any:
        self._wait_for_local()
        with bad_input_is_usage():
            return self.bm.embed(args.df, args.column, out=args.out, model=args.model,
                                 region=args.region, concurrency=args.concurrency)

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
        self._wait_for_local(raise_error=args.action == "lambda")
        if args.action == "lambda":
            function = self.shell.user_ns.get(args.function)
            if not callable(function):
                what = "no variable" if args.function not in self.shell.user_ns else \
                    f"{type(function).__name__}, not a function,"
                raise UsageError(f"%bedrock local lambda {args.lambda_name} {args.function}: {what} named "
                                 f"{args.function!r} in the notebook; give a Python function")
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", args.lambda_name):
                raise UsageError(f"%bedrock local lambda {args.lambda_name}: a Lambda name is letters, digits, "
                                 "- and _ (up to 64)")
            with bad_input_is_usage():
                arn = self.bm.local_lambda(args.lambda_name, function)
            print(f"{arn}\nServed by the local Bedrock service (offline): on mantle, "
                  f"%%bedrock -e mantle -a responses --tools lambda:{args.lambda_name} calls it.")
            return
        if args.action == "start":
            running = self.bm.local_service
            if running is not None:
                print(f"The local Bedrock service is already running at {running.url}; calls from %bedrock go to it.")
                return
            with bad_input_is_usage():
                self.bm.use_local()
            self._switched_local(True)
            self.started_local = True
            self._banner()
        elif args.action == "auto":
            already = self.bm.local
            with bad_input_is_usage():
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
        self.bm.ledger.forget_chats(gone)  # else a later kernel would resume them from mantle's stored responses
        print(f"Forgot {len(gone)} conversation{'s' * (len(gone) != 1)}: {', '.join(gone) or 'none'}.")

    def _models(self, args: Any) -> Any:
        self._wait_for_local()
        with bad_input_is_usage():
            frame = self.bm.models(region=args.region, provider=args.provider, refresh=args.refresh)
            if args.provider and len(frame) == 0:  # an empty table says nothing: name the providers
                region = args.region or self.bm.region
                providers = sorted({str(p) for p in self.bm.models(region=args.region)["provider"] if p})
                hint = did_you_mean(args.provider, providers, form="did you mean {}? ")
                raise UsageError(f"no models from provider {args.provider!r} in {region}; {hint}"
                                 f"providers: {', '.join(providers) or 'none'}")
        return frame

    def _pick(self, args: Any) -> None:
        from . import picker  # loaded on first use (see core)

        self._wait_for_local(raise_error=False)
        picker.pick(self.bm)  # it displays itself; returning it would draw it twice

    def _job(self, args: Any) -> Any:
        from . import jobs  # loaded on first use (see core)

        self._wait_for_local()
        with bad_input_is_usage():
            if args.action == "status":
                status = jobs.job_status(self.bm, args.job_name)
                return display.Fields(status, title=f"batch job {status.get('name') or args.job_name}")
            # --df: the submitted frame, so the answers come back next to its own columns.
            return jobs.collect_job(self.bm, args.job_name, args.df)



    def _responses(self, args: Any) -> Any:
        """``%bedrock responses [--delete ID]``: the stored responses the ledger knows (or delete one)."""
        if args.delete:
            self._wait_for_local()
            with bad_input_is_usage():
                self.bm.delete_response(args.delete)
            print(f"Deleted stored response {args.delete}.")
            return None
        return self.bm.responses()

    def _response(self, args: Any) -> Any:
        """``%bedrock response ID [--wait]``: fetch a stored or background response (usage recorded once)."""
        self._wait_for_local()
        with bad_input_is_usage():
            return self.bm.response(args.response_id, wait=args.wait)

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
def bad_input_is_usage() -> Iterator[None]:
    """The core raises ``ValueError`` (one line) for bad input: show it as a ``UsageError``."""
    try:
        yield
    except ValueError as exc:
        raise UsageError(str(exc)) from None

