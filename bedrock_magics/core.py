"""``Bedrock``: the Python API behind the magics (``ask``, ``stream``, ``usage``, ``models``, ``map`` ...).

Everything the magics do is a plain call here, usable from scripts and tests without IPython::
    from bedrock_magics import Bedrock

    bm = Bedrock(region="us-west-2")
    reply = bm.ask("Summarise this paragraph: ...", max_tokens=200)
    for piece in bm.stream("Tell me a story"):
        ...                          # str deltas, then the final Reply
    bm.ask("Hello", chat="notes")    # a named conversation, continued by the next chat="notes" call
    bm.ask("What is 6 x 7?", tools=[multiply])   # Python functions as tools, run to the final answer
    bm.usage()                       # the ledger of this session as a DataFrame

One call flows ``request() -> send() -> record()``: :meth:`Bedrock.request` resolves the settings
into a :class:`~bedrock_magics.request.Request` (no I/O, ``ValueError`` for bad input);
:meth:`Bedrock.send` makes the call through the route of its endpoint and API and returns a
:class:`~bedrock_magics.reply.Reply` whatever happens (a failure is a reply with ``status="error"``);
:meth:`Bedrock.record` prices it and appends one ledger row. ``ask``/``stream`` add conversations
and tool loops on top, and raise :class:`~bedrock_magics.errors.BedrockError` for a failed call after
its row is written. Nothing here touches IPython or displays anything.

The modules every call needs are imported at the top. The feature modules (``batch``, ``dryrun``,
``jobs``, ``catalog``, ``tools``, ``explain``, the clients of ``auth``, the ``ledger``; and the
magic's ``picker``) are imported by the method
that uses them, on first use: together they would double the time of ``%load_ext``
(``tests/test_config.py`` guards it). ``tests/test_layers.py`` reads those imports too.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

from traitlets import TraitError

from . import mantle, routes
from .conversation import chat_name
from .errors import BedrockError, Cancelled, Note
from .modelids import family_of
from .overrides import (
    call_options,
    check_options,
    choice,
    messages_of,
    stops,
    tool_specs,
)
from .session import Session
from .reply import Reply, Thinking
from .request import Request, RequestTemplate, check_prompt, user_message
from .routes import ALL_APIS, APIS, ENDPOINTS, uses_server_state
from .routes._common import Clock, assistant_message
from .servertools import client_tools, split as split_tools  # noqa: I001 - one line

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from . import prices
    from .tools import ToolRound

__all__ = ["Bedrock"]

# Catalog kinds billed per token as their base model (see Catalog.base_model): what price() may map.
_PRICED_AS_BASE = ("foundation-model", "inference-profile")

class Bedrock(Session, mantle.MantleMethods):
    """Amazon Bedrock from Python: every endpoint and API, with a ledger of every call.

    Settings are traits (see :class:`~bedrock_magics.config.BedrockSettings`), passed as keywords
    (``Bedrock(region="eu-central-1", model="eu.amazon.nova-lite-v1:0")``) or configured as
    ``Bedrock`` in IPython (``%config Bedrock.streaming = False``). Per-call keywords of
    :meth:`ask`/:meth:`stream`/:meth:`request` override them for one call.

    Attributes:
        session: this object's session id; its ledger rows carry it (``usage()`` shows them).
        cell: the notebook cell number written with each row (the magic sets it; None in scripts).
    """

    def __repr__(self) -> str:
        where = "local service" if self.local else self.region
        return (f"Bedrock(region={self.region!r}, endpoint={self.endpoint!r}, api={self.default_api()!r}, "
                f"model={self.default_model()!r}, {where})")

    # ==============================================================================================
    # request -> send -> record

    def request(self, prompt: str, **overrides: Any) -> Request:
        """Resolve the settings and per-call ``overrides`` into a :class:`Request` (no I/O).

        Overrides: ``model, region, endpoint, api, system, max_tokens, temperature, top_p, stop``,
        ``chat`` (the named conversation's history, or its ``previous_response_id`` on mantle
        Responses, is attached), ``tools`` (Python functions or ``ToolSpec``\\ s), ``extra`` (route
        fields), ``messages`` (earlier turns, Converse-shaped, placed before the prompt).

        Raises:
            ValueError: one line naming what is wrong and the valid values.
        """
        check_options(overrides)
        check_prompt(prompt)
        endpoint = choice("endpoint", overrides.get("endpoint"), ENDPOINTS) or self.endpoint
        api = overrides.get("api")
        if api is None:
            api = self.default_api(endpoint)
        else:
            api = choice("api", api, ALL_APIS)
            if api not in APIS[endpoint]:
                raise ValueError(f"the {endpoint} endpoint does not serve the {api!r} API; on {endpoint} use "
                                 f"{' or '.join(APIS[endpoint])}")
        region = self._call_value("region", overrides.get("region"))
        model = self._call_value("model", overrides.get("model")) if overrides.get("model") else \
            self.default_model(endpoint)
        from . import endpoints, features  # loaded on first use: %load_ext stays light (tests/test_layers.py)

        # Mantle runs in fewer regions than the runtime: say so before any call (real AWS hosts only).
        endpoints.check_for(region, endpoint, self._service.endpoints if self.local and self._service else None)
        functions, server_tools = split_tools(overrides.get("tools"))
        system = overrides["system"] if overrides.get("system") is not None else self.system
        settings = {name: self._call_value(name, overrides[name]) if overrides.get(name) is not None
                    else getattr(self, name) for name in ("max_tokens", "temperature", "top_p")}
        request = Request(
            model=model, messages=tuple(messages_of(overrides.get("messages"))) + (user_message(prompt),),
            region=region, endpoint=endpoint, api=api, system=system or None, stop=stops(overrides.get("stop")),
            tools=tool_specs(functions), extra=dict(overrides.get("extra") or {}), **settings)
        mantle.prepare(self, request, server_tools, chat_name(overrides.get("chat")))
        if api == "invoke" and "family" not in request.extra:
            self._add_family(request)
        chat = chat_name(overrides.get("chat"))
        if chat is not None:
            request = self.chats.get(chat).prepare(request)
        request = features.apply(request, overrides)  # --schema, --reasoning, ...: checked per model and route
        return request

    def request_template(self, **overrides: Any) -> RequestTemplate:
        """The settings and per-call ``overrides`` resolved once (as :meth:`request` does, with the
        same ``ValueError``\\ s), for many prompts: ``template.fill(prompt)`` is each one's
        :class:`Request`. A ``--df`` run resolves its settings once, not once per row."""
        return RequestTemplate(self.request("{prompt}", **overrides))

    def _add_family(self, request: Request) -> None:
        """InvokeModel needs the model family's body format: an id the codecs cannot read (an ARN)
        gets it from an already fetched catalog (no I/O here)."""
        if family_of(request.model) is None:
            family = self.family_of(request.model, request.region)
            if family:
                request.extra["family"] = family

    def family_of(self, model: str, region: str | None = None, fetch: bool = False) -> str | None:
        """The InvokeModel body family of ``model`` (``anthropic``, ``nova``, ``titan-embed`` …), or None.

        Read from the id first; an id that does not name its model (an application inference
        profile's, a provisioned model's ARN) is looked up in the catalog of ``region`` (default:
        ours): only an already fetched list unless ``fetch`` (then the list may be fetched once;
        a listing that fails means "unknown", never an exception).
        """
        family = family_of(model) if model else None
        if family is not None or not model:
            return family
        try:
            base = self.catalog.base_model(region or self.region, model, fetch=fetch)
        except Exception:  # noqa: BLE001 - unknown is the caller's to handle (a note, an error line)
            return None
        return family_of(base) if base else None

    def _call_value(self, name: str, value: Any) -> Any:
        """A per-call value checked with the setting's own validation (``ValueError`` with its message)."""
        if value is None:
            return getattr(self, name)

        try:
            value = self.validate_value(name, value)
        except TraitError as exc:
            raise ValueError(str(exc).replace("Bedrock.", "", 1)) from None
        return value

    def send(self, request: Request, record: bool = True, cell: int | None = None) -> Reply:
        """Make one call and return its :class:`Reply`; never raises for a failed call.

        A failure is a reply with ``status="error"`` and a one-line ``error`` (cause and fix).
        With ``record`` the reply is priced and written to the ledger. Safe to call from worker
        threads (``map`` does); it touches neither IPython nor the display.
        ``KeyboardInterrupt`` records a ``cancelled`` row and propagates as
        :class:`~bedrock_magics.errors.Cancelled` (a ``KeyboardInterrupt``) whose ``reply`` is that row.
        """
        reply, _ = self._call(request, record=record, cell=cell)
        return reply

    def record(self, reply: Reply, cell: int | None = None) -> None:
        """Price ``reply`` (unless it already has a cost) and append it to the ledger.

        Neither step can fail the call it records: a price that cannot be worked out is NaN (see
        :meth:`price`), and a ledger that cannot be written (read-only disk, ...) warns once.
        """
        self.price(reply)
        try:
            self.ledger.append(reply, self.session, cell if cell is not None else self.cell)
            mantle.remember(self, reply)  # a stored response: listed, and where a --chat resumes
        except Exception as exc:  # noqa: BLE001 - the answer matters more than its bookkeeping
            if not self._ledger_warned:
                self._ledger_warned = True

                warnings.warn(f"the ledger at {self.ledger_path} cannot be written ({type(exc).__name__}: {exc}); "
                              f"calls are not being recorded. Set Bedrock.ledger_path to a writable file.",
                              Note, stacklevel=2)

    def price(self, reply: Reply, tier: str = "on_demand") -> float:
        """Set and return ``reply.cost_usd`` from the price table (``Bedrock.prices`` first).

        A failed call that used no tokens costs 0; a cancelled one with no usage is unknown (NaN).
        An id that does not name its model (an application inference profile's ARN) is priced as
        the model the catalog maps it to, when the catalog of that region is already loaded (no
        call is made for it). ``tier="batch"`` prices a batch inference record (half price).
        Never raises: a pricing failure (a malformed ``Bedrock.prices`` entry, a broken table)
        leaves the cost NaN with a one-line note.
        """
        if reply.cost_usd is not None and not math.isnan(reply.cost_usd):
            return reply.cost_usd
        if not reply.input_tokens and not reply.output_tokens and not reply.ok:
            reply.cost_usd = 0.0 if reply.status in ("error", *mantle.PENDING) else math.nan
            return reply.cost_usd

        from . import (
            prices,  # loaded on first use: %load_ext stays light (tests/test_layers.py)
        )

        overrides = self.prices or None
        try:
            known = prices.lookup(reply.model, overrides) is not None
            base = None if known else self._cached_base_model(reply.region, reply.model)
        except Exception:  # noqa: BLE001 - quote below reports the failure once
            base = None
        quote = prices.quote(reply.model, reply.input_tokens, reply.output_tokens, **reply.token_details,
                             overrides=overrides, tier=tier, base_model=base)
        reply.cost_usd, reply.price_source = quote.cost_usd, quote.source
        return reply.cost_usd

    def price_for(self, model: str, region: str | None = None) -> "prices.Price | None":
        """The on-demand price :meth:`price` uses for ``model`` in ``region``: ``Bedrock.prices``,
        then the bundled table, then (for an id that does not name its model, e.g. an application
        inference profile's ARN) the model an already loaded catalog maps it to. None when unknown
        or when the price cannot be read. No I/O."""
        from . import (
            prices,  # loaded on first use: %load_ext stays light (tests/test_layers.py)
        )

        overrides = self.prices or None
        try:
            return (prices.lookup(model, overrides)
                    or prices.lookup(model, overrides, self._cached_base_model(region or self.region, model)))
        except Exception:  # noqa: BLE001 - an estimate never fails its caller
            return None

    def _cached_base_model(self, region: str | None, model: str) -> str | None:
        """The catalog's base model of ``model``, from an already loaded catalog only (no I/O)."""
        catalog = self._catalog  # not the property: that would create clients and the catalog
        if catalog is None or not model:
            return None
        try:
            return catalog.base_model(region or self.region, model, kinds=_PRICED_AS_BASE)
        except Exception:  # noqa: BLE001 - a price is a bonus; NaN is the honest fallback
            return None

    def _call(self, request: Request, record: bool = True, cell: int | None = None,
              chat: str | None = None) -> tuple[Reply, "BedrockError | None"]:
        """One non-streaming call: ``(reply, error)``; the error is None on success."""
        clock = Clock()
        try:
            route = routes.get(request.endpoint, request.api)
            reply = route.send(self.client_for(request), request)
            from . import features  # loaded by request(), like endpoints

            error = features.validated(request, reply)
        except KeyboardInterrupt as stop:
            reply = Reply.failed(request, clock.ms, status="cancelled", error="cancelled (interrupted)",
                                 code="Cancelled")
            reply.chat = chat
            if record:
                self.record(reply, cell)
            raise _cancelled(stop, reply)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an explained reply
            elapsed = clock.ms  # before explain(), which may ask the catalog for hints
            error = self._explain(exc, request)
            reply = error.reply = Reply.failed(request, elapsed, error=error)
        reply.chat = chat
        if record:
            self.record(reply, cell)
        return reply, error

    def _explain(self, exc: BaseException, request: Request) -> "BedrockError":
        return self.explain(exc, request)

    def explain(self, exc: BaseException, request: Request | None = None, **context: Any) -> "BedrockError":
        """:func:`explain.explain` with what this object knows about the failure: the catalog's
        routes and close matches for a model that is refused or unknown, whether it makes
        embeddings, and where the API key came from (so the fix names ``%bedrock key --clear`` or
        ``AWS_BEARER_TOKEN_BEDROCK``, whichever applies). ``context`` are more hints for
        ``explain`` (``model``, ``region``, ``endpoint``, ``api``, ``s3_uri``, ``s3_option`` …)
        for failures outside a model call (S3, the control plane). Looked up lazily, and only
        for the failures that need them."""
        from .explain import explain
        from .hints import Hints

        # Mantle's server-side tools fail in their own words (an unknown connector, a missing permission).
        return mantle.connector_error(exc, request) or explain(exc, request, Hints(self, exc, request, context))

    # ==============================================================================================
    # ask / stream

    def ask(self, prompt: str, *, model: str | None = None, region: str | None = None, endpoint: str | None = None,
            api: str | None = None, system: str | None = None, max_tokens: int | None = None,
            temperature: float | None = None, top_p: float | None = None, stop: str | Sequence[str] | None = None,
            chat: str | bool | None = None, tools: Sequence[Callable[..., Any]] | None = None,
            on_round: Callable[["ToolRound"], None] | None = None, cell: int | None = None,
            **extra: Any) -> Reply:
        """Ask once and return the :class:`Reply` (recorded in the ledger).

        ``chat="name"`` continues that conversation (``True``: the default one). ``tools`` are Python
        functions the model may call: the loop runs them and asks again until the final answer
        (one ledger row per round; ``on_round(ToolRound)`` is called after each round). On mantle
        Responses, ``tools`` may hold ``"lambda:NAME"``/``"gateway:ARN"`` too (see :mod:`~bedrock_magics.mantle`).
        ``extra`` keywords go to ``request()`` (``messages``, ``extra``).

        Raises:
            ValueError: bad input (one line).
            BedrockError: the call failed (after its ledger row was written).
        """
        options = call_options(locals())
        name = chat_name(chat)
        tools = options["tools"] = self._chat_tools(name, tools)
        if client_tools(tools):
            return _last(self._tool_rounds(prompt, options, name, on_round, cell, streaming=False))
        request = self.request(prompt, **options, chat=name)
        reply, error = self._call(request, cell=cell, chat=name)
        if error is not None:
            raise error
        self._remember(name, request, [reply.message or assistant_message(reply.text)], reply)
        return reply

    def stream(self, prompt: str, *, model: str | None = None, region: str | None = None,
               endpoint: str | None = None, api: str | None = None, system: str | None = None,
               max_tokens: int | None = None, temperature: float | None = None, top_p: float | None = None,
               stop: str | Sequence[str] | None = None, chat: str | bool | None = None,
               tools: Sequence[Callable[..., Any]] | None = None,
               on_round: Callable[["ToolRound"], None] | None = None, cell: int | None = None,
               on_reasoning: Callable[[str], None] | None = None, **extra: Any) -> Iterator[str | Reply]:
        """Ask and stream: yields ``str`` text deltas as they arrive, then the final :class:`Reply`.

        Same keywords as :meth:`ask`, and ``on_reasoning(delta)`` for the thinking as it streams (never
        yielded). The reply is recorded when the stream ends. If the consumer stops early (``break``,
        ``close()``) or the user interrupts, a ``cancelled`` row is recorded with the text received so
        far, and the interruption propagates (as :class:`~bedrock_magics.errors.Cancelled`, whose ``reply`` holds that text).

        Raises:
            ValueError: bad input (at the first ``next()``).
            BedrockError: the call failed, possibly mid-stream (after its ledger row was written).
        """
        options = call_options(locals())
        name = chat_name(chat)
        tools = options["tools"] = self._chat_tools(name, tools)
        if client_tools(tools):
            yield from self._tool_rounds(prompt, options, name, on_round, cell, streaming=True)
            return
        request = self.request(prompt, **options, chat=name)
        reply = yield from self._stream_call(request, cell=cell, chat=name, on_reasoning=on_reasoning)
        self._remember(name, request, [reply.message or assistant_message(reply.text)], reply)
        yield reply

    def _stream_call(self, request: Request, cell: int | None, chat: str | None, on_reasoning: Any = None) -> Iterator[str]:
        """Stream one call: yields deltas, records, and returns the Reply (raises BedrockError on failure)."""
        clock = Clock()
        pieces: list[str] = []
        source = None
        reply = None
        try:
            route = routes.get(request.endpoint, request.api)
            source = route.stream(self.client_for(request), request)
            for piece in source:
                if isinstance(piece, Reply):
                    reply = piece
                    break
                if isinstance(piece, Thinking):
                    if on_reasoning is not None:
                        on_reasoning(piece.text)
                    continue
                if isinstance(piece, str):  # not a server-side tool's item (mantle)
                    pieces.append(piece)
                yield piece
            if reply is None:
                raise RuntimeError("the stream ended without a final reply")
        except (KeyboardInterrupt, GeneratorExit) as stop:
            cancelled = Reply.failed(request, clock.ms, status="cancelled", error="cancelled (interrupted)",
                                     code="Cancelled", text="".join(pieces))
            cancelled.streamed, cancelled.chat = True, chat
            self.record(cancelled, cell)
            if isinstance(stop, GeneratorExit):  # the consumer stopped early: nothing to report to it
                raise
            raise _cancelled(stop, cancelled)
        except Exception as exc:  # noqa: BLE001 - explained, recorded, raised
            elapsed = clock.ms
            error = self._explain(exc, request)
            failed = error.reply = Reply.failed(request, elapsed, error=error, text="".join(pieces))
            failed.streamed, failed.chat = True, chat
            self.record(failed, cell)
            raise error from exc
        finally:
            if source is not None and hasattr(source, "close"):
                source.close()  # release the HTTP stream now, not at garbage collection
        reply.streamed, reply.chat = True, chat
        from . import features  # loaded by request(), like endpoints

        error = features.validated(request, reply)
        self.record(reply, cell)
        if error is not None:
            raise error
        return reply

    def _tool_rounds(self, prompt: str, options: dict[str, Any], chat: str | None,
                     on_round: Callable[["ToolRound"], None] | None, cell: int | None,
                     streaming: bool) -> Iterator[str | Reply]:
        """The tool loop (see :class:`~bedrock_magics.tools.ToolLoop`): yields deltas (when streaming)
        and finally the answer's Reply."""
        from .tools import Toolbox, ToolLoop, ToolLoopError

        tools = options.pop("tools")
        toolbox = Toolbox([t for t in tools if not isinstance(t, str)])
        # Server-side tools (strings) become the request's mcp connectors; Python functions the loop runs.
        request = self.request(prompt, **options, tools=[t for t in tools if isinstance(t, str)], chat=chat)
        loop = ToolLoop(request, toolbox, max_rounds=self.max_tool_rounds,
                        stateful=uses_server_state(request.endpoint, request.api))
        current: Request | None = loop.first
        reply: Reply | None = None
        while current is not None:
            if streaming:
                reply = yield from self._stream_call(current, cell=cell, chat=chat)
            else:
                reply, error = self._call(current, cell=cell, chat=chat)
                if error is not None:
                    raise error
            try:
                current = loop.next(reply)
            except ToolLoopError as exc:
                error = BedrockError(str(exc), code="ToolLoopLimit",
                                     hint="Raise Bedrock.max_tool_rounds, or check what the tools return.")
                error.reply = reply  # the last round's answer, for DEST
                raise error from None
            finally:
                if on_round is not None and loop.rounds:
                    on_round(loop.rounds[-1])
        # The exchange for the conversation: the user's turn and every turn after it.
        self._remember(chat, request, loop.messages[len(request.messages):], reply, toolbox.functions)
        yield reply

    def _remember(self, chat: str | None, request: Request, turns: list[dict[str, Any]], reply: Reply,
                  functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        """Append a finished exchange to the named conversation (failures never reach here)."""
        if chat is None or not reply.ok:
            return
        conversation = self.chats.get(chat)
        conversation.add([request.messages[-1], *turns], reply)
        conversation.functions.update(functions or {})

    def _chat_tools(self, chat: str | None, tools: Sequence[Callable[..., Any]] | None) -> list | None:
        """``tools`` plus those the conversation used before (the new ones win by name)."""
        if chat is None or chat not in self.chats or not self.chats.get(chat).functions:
            return list(tools) if tools else None

        from .toolspec import (
            tool_spec,  # loaded on first use: %load_ext stays light (tests/test_layers.py)
        )

        merged: dict[str, Any] = dict(self.chats.get(chat).functions)
        for fn in tools or ():
            merged[fn if isinstance(fn, str) else tool_spec(fn).name] = fn  # a server tool is its own name
        return list(merged.values())

    # ==============================================================================================
    # Tables

    def usage(self, all_sessions: bool = False) -> "pd.DataFrame":
        """The ledger as a DataFrame (one row per call): this session's rows, or every session's.

        Columns: ``time, region, endpoint, api, model, input_tokens, output_tokens, total_tokens,
        latency_ms, cost_usd, stop_reason, status, error, request_id, chat, session, cell``.
        """
        return self.ledger.frame(None if all_sessions else self.session)

    def models(self, region: str | None = None, provider: str | None = None, refresh: bool = False) -> "pd.DataFrame":
        """The models, inference profiles and mantle models callable in ``region`` (default: ours)."""
        region = self._call_value("region", region) if region else self.region
        return self.catalog.models(region, provider=provider, refresh=refresh)

    def map(self, frame: "pd.DataFrame", template: str, **kwargs: Any) -> "pd.DataFrame":
        """One call per row of ``frame`` with ``template`` (``{column}``); see :func:`batch.map_rows`."""
        from . import batch

        return batch.map_rows(self, frame, template, **kwargs)

    def compare(self, prompt: str | None, models: Sequence[str], **kwargs: Any) -> "pd.DataFrame":
        """The same prompt to several models, one row each; see :func:`batch.compare`."""
        from . import batch

        return batch.compare(self, prompt, models, **kwargs)

    def embed(self, frame_or_texts: Any = None, *args: Any, cell: int | None = None, **kwargs: Any) -> Any:
        """Embeddings. A text (or None) with ``images=``: one call, whose :class:`Reply` holds the
        vector in ``.embedding`` (``bm.embed("a red bicycle", images=["bike.png"],
        model="amazon.titan-embed-image-v1")``), recorded, raising ``BedrockError`` when it fails.
        A DataFrame (with its text column and/or ``images="{photo}"``) or a list of texts: a
        DataFrame of vectors, one call per row; see :func:`batch.embed_rows`.

        Raises:
            ValueError: bad input (one line), before anything is sent.
        """
        if frame_or_texts is None or isinstance(frame_or_texts, str):
            from . import embedding  # loaded on first use: %load_ext stays light (tests/test_layers.py)

            request = embedding.single_request(self, frame_or_texts, *args, **kwargs)
            reply, error = self._call(request, cell=cell)
            if error is not None:
                raise error
            return reply
        from . import batch

        return batch.embed_rows(self, frame_or_texts, *args, **kwargs)

    def dry_run(self, frame_or_prompt: Any, *args: Any, models: Sequence[str] | None = None,
                **kwargs: Any) -> "pd.DataFrame":
        """Count tokens and estimate cost without a billable call; see :func:`dryrun.dry_run`.

        ``models=[A, B]`` estimates each model (rows stacked model by model, each model's summary
        printed with ``progress``; see :func:`dryrun.dry_run_models`)."""
        from . import dryrun

        if models is not None:
            return dryrun.dry_run_models(self, frame_or_prompt, *args, models=models, **kwargs)
        return dryrun.dry_run(self, frame_or_prompt, *args, **kwargs)


# ==================================================================================================
# Helpers


def _cancelled(stop: KeyboardInterrupt, reply: Reply) -> KeyboardInterrupt:
    """The interrupt to raise for a cancelled call: a :class:`~bedrock_magics.errors.Cancelled`
    carrying the recorded reply (an interrupt already carrying one, from an inner call, is kept)."""
    if isinstance(stop, Cancelled):
        return stop
    cancelled = Cancelled(reply)
    cancelled.__cause__ = stop
    return cancelled


def _last(items: Iterable[Any]) -> Any:
    last = None
    for last in items:
        pass
    return last
