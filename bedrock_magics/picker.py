"""``%bedrock pick``: choose region, endpoint, API and model with core ipywidgets.

The picker is a view over a ``Bedrock`` instance: every choice is written to ``bm``'s traits at
once, so the picks are the defaults of later ``%%bedrock`` cells, exactly as ``%config`` would make
them; the picker shows those ``%config`` lines so the notebook still runs without widgets.

Flow: region ``Dropdown`` → endpoint ``ToggleButtons`` → API ``Dropdown`` (only the APIs of that
endpoint) → a filter ``Text``, a sort order and a model ``Select`` that lists what ``bm.models(region)``
says serves that endpoint/API (the catalog's ``apis`` column, inference profiles included) → settings.
Choosing mantle narrows the regions to mantle's; with the local service, to the regions it serves.
The rules (:mod:`~bedrock_magics.pickrules`): the API follows the endpoint (runtime → Converse,
mantle → Responses) unless the user picked one there; a model the route does not offer is replaced
by one it does (the last chosen on that endpoint, else the first), so what is written always works;
a model hidden by the filter stays chosen; ARNs of account targets are listed only when asked for.

Why it is written the way it is:

* Model lists load on a worker thread with the selection widgets disabled and "Loading models for
  us-west-2…" in the status line; a generation counter drops a load that a newer region choice
  has overtaken.
* Options and value are replaced together (``_replace_options``): observers are muted while the
  options change, so they never act on the intermediate value ipywidgets picks, and the front end
  gets one message (``hold_sync``). ``hold_trait_notifications`` cannot be used for this: a
  ``Select``'s delayed validation checks the new value against the old options.
* Widget → ``bm`` goes through observers that only write valid values (``dlink`` would copy every
  value, including an empty model list's ``None``, and would overwrite ``bm`` on creation); ``bm``
  → widget observers follow ``%config`` changes while the picker is open.
* Every callback is wrapped: an exception in a handler started by the browser would only reach the
  kernel log (ipywidgets#2612), so it is shown in the status line instead.
* No secret ever enters a widget trait (widget state is sent to the browser and saved in the
  notebook); only region/endpoint/API/model and inference settings are shown.

Stable CSS classes (``bedrock-picker-region``, ``-endpoint``, ``-api``, ``-model``, ``-filter``,
``-status``, ``-config``) are hooks for browser tests.
"""

from __future__ import annotations

import functools
import html
import textwrap
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable

from . import pickrules
from .errors import one_line as _one_line
from .routes import APIS, LABELS

__all__ = ["Picker", "pick", "describe", "config_lines", "has_widget_frontend", "API_LABELS"]

#: How each API is labelled in the API dropdown (the route table's labels).
API_LABELS = LABELS
#: The ``bm`` traits the picker reads and writes, in the order of the ``%config`` lines.
#: (``streaming``, not ``stream``: ``Bedrock.stream()`` is the streaming call itself.)
TRAITS = ("region", "endpoint", "api", "model", "system", "temperature", "max_tokens", "streaming")
_DEFAULT_TEMPERATURE = 1.0  # what the slider shows while bm.temperature is unset (the APIs' usual default)
_DEFAULT_MAX_TOKENS = 1024
_PREVIEW_MODELS = 8  # models listed by the text fallback


def combos() -> dict[str, tuple[str, ...]]:
    """The valid ``endpoint -> APIs`` pairs (the request contract's table)."""
    return dict(APIS)


def has_widget_frontend() -> bool:
    """True inside a Jupyter kernel (a front end that can render widgets may be attached)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def config_lines(bm: Any) -> list[str]:
    """``%config Bedrock.… = …`` lines that reproduce ``bm``'s choice without widgets.

    Region, endpoint, API and model always; inference settings only when they are set.
    """
    lines = []
    for name in TRAITS:
        value = _effective_model(bm) if name == "model" else getattr(bm, name, None)
        if name in ("region", "endpoint", "api", "model") or value not in (None, ""):
            if value is None:
                continue
            lines.append(f"%config Bedrock.{name} = {value!r}")
    return lines


def _effective_model(bm: Any, endpoint: str | None = None) -> str | None:
    """The model a cell on ``endpoint`` would use (mantle has its own default until one is chosen)."""
    default_model = getattr(bm, "default_model", None)
    return default_model(endpoint) if callable(default_model) else getattr(bm, "model", None)


# --------------------------------------------------------------------------------------------------
# The widgets
# --------------------------------------------------------------------------------------------------


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a callback; show any exception in the status line instead of losing it in a log."""

    @functools.wraps(method)
    def wrapper(self: "Picker", *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:
            self._show_error(exc)
            return None

    return wrapper


class Picker:
    """Widgets that set ``bm``'s region, endpoint, API, model and inference settings.

    ``Picker(bm).box`` is the widget to display (the ``Picker`` displays as it, too). Model lists
    load in the background; ``wait()`` blocks until the current load has finished (for tests and
    scripts). ``close()`` stops following ``bm`` and closes the widgets.
    """

    def __init__(self, bm: Any) -> None:
        self.bm = bm
        self._lock = threading.RLock()
        self._generation = 0
        self._frame: Any = None
        self._frame_region: str | None = None
        self._future: Future | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bedrock-picker")
        self._error_text: str | None = None
        self._closed = False
        self._muted: set[int] = set()  # ids of widgets whose options are being replaced
        self._replaced: str | None = None  # a model the route did not offer, replaced by the last refresh
        self._build()
        self._connect()
        self._show_config()
        if self.region.value is not None:
            self.load()
        else:
            self._set_status(f"Choose a region: {html.escape(str(bm.region))} does not offer the "
                             f"{self.endpoint.value} endpoint.")

    def _build(self) -> None:
        """The widgets, initialised from ``bm``, and the container ``self.box``."""
        import ipywidgets as w

        bm = self.bm
        endpoint = bm.endpoint if bm.endpoint in combos() else "runtime"
        region_options = self._region_options(endpoint, bm.region)
        apis = combos()[endpoint]
        self._picked_api = {endpoint: bm.api} if bm.api in apis else {}  # endpoint -> API the user chose
        self._model_for = {endpoint: _effective_model(bm, endpoint)}  # endpoint -> model last chosen there
        wide = {"description_width": "90px"}

        self.title = w.HTML("<b>Amazon Bedrock</b> — choose where and what to ask")
        self.region = w.Dropdown(options=region_options, value=bm.region if bm.region in region_options else None,
                                 description="Region", style=wide, layout=w.Layout(width="280px"))
        self.refresh = w.Button(description="Reload", icon="refresh", tooltip="Reload the model list",
                                layout=w.Layout(width="100px"))
        self.endpoint = w.ToggleButtons(options=[("runtime", "runtime"), ("mantle", "mantle")], value=endpoint,
                                        style={"button_width": "100px"},
                                        tooltips=["bedrock-runtime: Converse, InvokeModel, OpenAI-compatible APIs",
                                                  "bedrock-mantle: OpenAI-compatible Responses and Chat Completions"])
        self.api = w.Dropdown(options=[(API_LABELS.get(a, a), a) for a in apis],
                              value=bm.api if bm.api in apis else apis[0], description="API", style=wide,
                              layout=w.Layout(width="280px"))
        self.filter = w.Text(value="", placeholder="filter: id, name or provider (e.g. haiku)", description="Filter",
                             continuous_update=True, style=wide, layout=w.Layout(width="520px"))
        self.sort = w.Dropdown(options=list(pickrules.SORTS), value="provider", description="Sort by",
                               layout=w.Layout(width="220px"))
        self.arns = w.Checkbox(value=False, description="ARNs (custom, provisioned)", indent=False)
        self.model = w.Select(options=[], value=None, rows=10, description="Model", style=wide,
                              layout=w.Layout(width="98%", min_width="720px"))
        self.system = w.Textarea(value=bm.system or "", placeholder="System prompt (optional)",
                                 description="System", style=wide, layout=w.Layout(width="720px", height="60px"))
        self.temperature = w.FloatSlider(
            value=_DEFAULT_TEMPERATURE if bm.temperature is None else float(bm.temperature), min=0.0, max=1.0,
            step=0.05, description="Temperature", style=wide, readout_format=".2f")
        self.max_tokens = w.BoundedIntText(value=int(bm.max_tokens or _DEFAULT_MAX_TOKENS), min=1, max=1_000_000,
                                           description="Max tokens", style=wide, layout=w.Layout(width="240px"))
        self.stream = w.Checkbox(value=bool(bm.streaming), description="Stream the answer", indent=False)
        self.status = w.HTML("")
        self.config = w.HTML("")
        for widget, hook in ((self.region, "region"), (self.endpoint, "endpoint"), (self.api, "api"),
                             (self.model, "model"), (self.filter, "filter"), (self.status, "status"),
                             (self.config, "config"), (self.refresh, "refresh"), (self.system, "system"),
                             (self.temperature, "temperature"), (self.max_tokens, "max-tokens"),
                             (self.stream, "stream"), (self.sort, "sort"), (self.arns, "arns")):
            widget.add_class(f"bedrock-picker-{hook}")

        settings = w.VBox([w.HTML("<i>Settings for later %%bedrock cells</i>"), self.system,
                           w.HBox([self.temperature, self.max_tokens, self.stream])])
        # ToggleButtons put their description above the buttons; a side label lines up with the rest.
        endpoint_label = w.HTML("<div style='text-align:right;padding-right:6px'>Endpoint</div>",
                                layout=w.Layout(width="96px"))
        self.box = _PickerBox([self.title, w.HBox([self.region, self.refresh]),
                               w.HBox([endpoint_label, self.endpoint]), self.api,
                               w.HBox([self.filter, self.sort, self.arns]), self.model, settings, self.status,
                               self.config])
        self.box._picker = self
        self.box.add_class("bedrock-picker")

    def _connect(self) -> None:
        """Widget -> bm observers, and bm -> widget (``%config`` while the picker is open)."""
        self.region.observe(self._on_region, names="value")
        self.endpoint.observe(self._on_endpoint, names="value")
        self.api.observe(self._on_api, names="value")
        self.filter.observe(self._on_filter, names="value")
        self.sort.observe(self._on_filter, names="value")
        self.arns.observe(self._on_filter, names="value")
        self.model.observe(self._on_model, names="value")
        self.system.observe(self._on_setting, names="value")
        self.temperature.observe(self._on_setting, names="value")
        self.max_tokens.observe(self._on_setting, names="value")
        self.stream.observe(self._on_setting, names="value")
        self.refresh.on_click(self._on_refresh)
        self.bm.observe(self._on_bm, names=list(TRAITS))

    # ------------------------------------------------------------------ public

    def load(self, region: str | None = None, refresh: bool = False) -> Future:
        """(Re)load the model list of ``region`` (default: the chosen one) in the background."""
        region = region or self.region.value
        with self._lock:
            self._generation += 1
            generation = self._generation
        self._error_text = None  # a new attempt: its outcome replaces any earlier error
        self._busy(True)
        self._set_status(f"Loading models for {html.escape(region)}…", busy=True)
        self._future = self._executor.submit(self._load, generation, region, refresh)
        return self._future

    def wait(self, timeout: float = 60) -> "Picker":
        """Block until the current model list has loaded (or failed); returns the picker."""
        future = self._future
        if future is not None:
            future.result(timeout=timeout)
        return self

    @property
    def model_options(self) -> list[str]:
        """The model ids the chooser offers right now."""
        return [value for _, value in self.model.options]

    @property
    def status_text(self) -> str:
        """The status line as plain text."""
        import re

        return html.unescape(re.sub(r"<[^>]+>", "", self.status.value))

    def text(self) -> str:
        """A plain-text summary of the choice and how to make it without widgets."""
        bm = self.bm
        head = (f"Bedrock picker: region {bm.region} · endpoint {bm.endpoint} · API {bm.api} · "
                f"model {_effective_model(bm) or '(none)'}")
        return "\n".join([head, "Without widgets, the same choice is:", *config_lines(bm)])

    def close(self) -> None:
        """Stop following ``bm``, close the widgets and the loader thread."""
        if self._closed:
            return
        self._closed = True
        try:
            self.bm.unobserve(self._on_bm, names=list(TRAITS))
        except ValueError:
            pass
        self._executor.shutdown(wait=False, cancel_futures=True)
        for widget in reversed(list(_walk(self.box))):
            widget.close()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return self.box._repr_mimebundle_()

    def __repr__(self) -> str:
        return self.text()

    # ------------------------------------------------------------------ loading

    def _load(self, generation: int, region: str, refresh: bool) -> None:
        try:
            frame = self.bm.models(region=region, refresh=refresh)
        except Exception as exc:
            if generation == self._generation and not self._closed:
                with self._lock:
                    self._frame, self._frame_region = None, region
                self._busy(False)
                self._set_model_options([], None)
                self._show_error(exc)
            return
        if generation != self._generation or self._closed:  # overtaken by a newer choice, or closed
            return
        try:
            with self._lock:
                self._frame, self._frame_region = frame, region
            self._busy(False)
            self._refresh_models()
        except Exception as exc:
            self._show_error(exc)

    def _busy(self, busy: bool) -> None:
        for widget in (self.region, self.endpoint, self.api, self.filter, self.model, self.refresh, self.sort, self.arns):
            widget.disabled = busy

    # ------------------------------------------------------------------ widget -> bm

    @_guarded
    def _on_region(self, change: dict) -> None:
        if id(change["owner"]) in self._muted or change["new"] is None:
            return
        self._region_chosen(change["new"])

    def _region_chosen(self, region: str) -> None:
        self._set_bm(region=region)
        self.load(region)

    @_guarded
    def _on_endpoint(self, change: dict) -> None:
        endpoint = change["new"]
        apis = combos()[endpoint]
        api = pickrules.api_for(endpoint, self._picked_api)
        # Mantle runs in fewer regions: narrow the list, moving off a region it does not serve.
        options = self._region_options(endpoint, self.region.value)
        region = self.region.value
        if region not in options:
            region = "us-east-1" if "us-east-1" in options else options[0]
        self._set_bm(endpoint=endpoint, api=api, region=region)
        self._replace_options(self.api, [(API_LABELS.get(a, a), a) for a in apis], api)
        if self._replace_options(self.region, options, region):
            self._region_chosen(region)  # a new region: reload (which refreshes the models)
        else:
            self._refresh_models()

    @_guarded
    def _on_api(self, change: dict) -> None:
        if id(change["owner"]) in self._muted or change["new"] is None:
            return
        self._picked_api[self.endpoint.value] = change["new"]
        self._set_bm(endpoint=self.endpoint.value, api=change["new"])
        self._refresh_models()

    @_guarded
    def _on_filter(self, change: dict) -> None:
        self._refresh_models()

    @_guarded
    def _on_model(self, change: dict) -> None:
        if id(change["owner"]) in self._muted:
            return
        if change["new"] is not None:  # an empty or filtered-out list keeps bm's model
            self._model_for[self.endpoint.value], self._replaced = change["new"], None
            self._set_bm(model=change["new"])
            self._summarise()

    @_guarded
    def _on_setting(self, change: dict) -> None:
        owner = change["owner"]
        if owner is self.system:
            self._set_bm(system=change["new"] or None)
        elif owner is self.temperature:
            self._set_bm(temperature=float(change["new"]))
        elif owner is self.max_tokens:
            self._set_bm(max_tokens=int(change["new"]))
        elif owner is self.stream:
            self._set_bm(streaming=bool(change["new"]))

    @_guarded
    def _on_refresh(self, button: Any) -> None:
        self.load(refresh=True)

    def _set_bm(self, **values: Any) -> None:
        """Write choices to ``bm`` together (validation that spans traits sees the final state)."""
        unknown = [k for k in values if not self.bm.has_trait(k)]
        if unknown:  # never shadow a method (or invent an attribute) on bm
            raise AttributeError(f"Bedrock has no setting {', '.join(unknown)}")
        changed = {k: v for k, v in values.items() if getattr(self.bm, k) != v}
        if not changed:
            return
        with self.bm.hold_trait_notifications():
            for name, value in changed.items():
                setattr(self.bm, name, value)
        self._error_text = None
        self._show_config()

    # ------------------------------------------------------------------ bm -> widgets

    @_guarded
    def _on_bm(self, change: dict) -> None:
        name, value = change["name"], change["new"]
        if name == "endpoint" and value in combos() and self.endpoint.value != value:
            self.endpoint.value = value
        elif name == "region" and value in self.region.options and self.region.value != value:
            self.region.value = value
        elif name == "api" and value in combos().get(self.endpoint.value, ()) and self.api.value != value:
            self.api.value = value
        elif name == "model" and value in self.model_options and self.model.value != value:
            self.model.value = value
        elif name == "system" and (value or "") != self.system.value:
            self.system.value = value or ""
        elif name == "temperature" and value is not None and float(value) != self.temperature.value:
            self.temperature.value = float(value)
        elif name == "max_tokens" and value is not None and int(value) != self.max_tokens.value:
            self.max_tokens.value = int(value)
        elif name == "streaming" and bool(value) != self.stream.value:
            self.stream.value = bool(value)
        self._show_config()

    # ------------------------------------------------------------------ model list

    def _region_options(self, endpoint: str, current: str | None) -> list[str]:
        options = pickrules.regions_for(endpoint, getattr(self.bm, "local_service", None))
        # A region set by %config that the list lacks (e.g. a new one) stays choosable for runtime.
        if current and current not in options and endpoint != "mantle" and not self._local():
            options = sorted([*options, current])
        return options

    def _local(self) -> bool:
        return getattr(self.bm, "local_service", None) is not None

    def _rows(self, arns: bool | None = None) -> list[dict[str, Any]]:
        """The rows for the route (every one with ``arns=True``; else those the checkbox allows)."""
        with self._lock:
            if self._frame_region != self.region.value:
                return []
            frame = self._frame
        return pickrules.route_rows(frame, self.endpoint.value, self.api.value,
                                    arns=self.arns.value if arns is None else arns, sort=self.sort.value)

    def _refresh_models(self) -> None:
        """List the route's models; write a model it offers when bm's is not (never an invalid pair)."""
        endpoint = self.endpoint.value
        rows = self._rows()
        model = _effective_model(self.bm, endpoint)
        replaced = None
        default = self.bm.mantle_model if endpoint == "mantle" else self.bm.trait_defaults("model")
        valid = pickrules.valid_model(self._rows(arns=True), model, self._model_for.get(endpoint), default)
        if valid is not None and valid != model:
            self._set_bm(model=valid)  # (its observers may select it in the list: _replaced is set after)
            replaced, model = model, valid
        self._replaced = replaced
        words = self.filter.value.lower().split()
        shown = [r for r in rows if pickrules.matches(r, words)]
        self._set_model_options(shown, model if model in {r["model_id"] for r in shown} else None)
        self._summarise()

    def _set_model_options(self, rows: Iterable[dict[str, Any]], value: str | None) -> None:
        self._replace_options(self.model, [(pickrules.label(r), r["model_id"]) for r in rows], value)

    def _replace_options(self, widget: Any, options: list[tuple[str, Any]], value: Any) -> bool:
        """Give ``widget`` new options and value without its observers seeing the steps in between.

        Returns True when the value ended up different from before (the caller reacts to it).
        """
        before = widget.value
        self._muted.add(id(widget))
        try:
            with widget.hold_sync():
                widget.options = options
                widget.value = value
        finally:
            self._muted.discard(id(widget))
        return widget.value != before

    def _summarise(self) -> None:
        """The status line after a load or a change: what is offered, and whether bm's model is."""
        if self._error_text:
            return
        with self._lock:
            frame, region = self._frame, self._frame_region
        if region != self.region.value or frame is None:
            return
        route = f"{self.endpoint.value}/{self.api.value}"
        offered = len(self._rows(arns=True))
        shown = len(self.model.options)
        parts = [f"{html.escape(region)}: {offered} models for {route} ({len(frame)} listed)"]
        if self.filter.value.strip():
            parts.append(f"{shown} match “{html.escape(self.filter.value.strip())}”")
        message = "; ".join(parts) + "."
        model = _effective_model(self.bm, self.endpoint.value)
        if offered == 0:
            other = "runtime" if self.endpoint.value == "mantle" else "another API"
            message += f" Nothing serves {route} here: choose {other} or another region."
        elif self._replaced:
            message += (f" {html.escape(str(self._replaced))} is not offered for {route} in {html.escape(region)}:"
                        f" chose <code>{html.escape(str(model))}</code> (pick another below).")
        elif model:
            hidden = " (hidden by the filter)" if self.model.value != model else ""
            message += f" Chosen: <code>{html.escape(str(model))}</code>{hidden}."
        mantle_error = frame.attrs.get("mantle_error") if hasattr(frame, "attrs") else None
        if mantle_error:
            message += f" <span class='bedrock-picker-warning'>mantle list unavailable: {html.escape(mantle_error)}</span>"
        self._set_status(message)

    # ------------------------------------------------------------------ status and config

    def _set_status(self, message: str, busy: bool = False) -> None:
        icon = "⏳ " if busy else ""
        self.status.value = f"<span class='bedrock-picker-message'>{icon}{message}</span>"

    def _show_error(self, exc: BaseException) -> None:
        self._error_text = _one_line(exc)
        try:
            self._busy(False)
        except Exception:
            pass
        self.status.value = (f"<span class='bedrock-picker-error' style='color:#b00020'>⚠ "
                             f"{html.escape(self._error_text)}</span>")

    def _show_config(self) -> None:
        lines = "\n".join(html.escape(line) for line in config_lines(self.bm))
        self.config.value = ("<div>Equivalent configuration (works without widgets):</div>"
                             f"<pre style='margin:2px 0'>{lines}</pre>")


def _walk(widget: Any) -> Iterable[Any]:
    """``widget`` and every widget inside it."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


@functools.lru_cache(maxsize=1)
def _picker_box_class() -> type:
    import ipywidgets as w

    class PickerBox(w.VBox):
        """The picker's container: a widget view, plus a text/plain summary for front ends without one."""
        _picker: Picker | None = None

        def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
            bundle = super()._repr_mimebundle_(**kwargs)
            if self._picker is not None:
                bundle["text/plain"] = self._picker.text()
            return bundle

    return PickerBox


def _PickerBox(children: list[Any]) -> Any:
    return _picker_box_class()(children)


# --------------------------------------------------------------------------------------------------
# Without widgets
# --------------------------------------------------------------------------------------------------


def describe(bm: Any, limit: int = _PREVIEW_MODELS) -> str:
    """The choices as text (terminal IPython): regions, endpoint/API pairs, a few models, %config lines."""
    wrap = functools.partial(textwrap.fill, width=100, subsequent_indent="    ", break_on_hyphens=False)
    lines = ["No widget front end here: these are the choices, and how to set them with %config."]
    local = getattr(bm, "local_service", None)
    lines.append(wrap("Regions (runtime): " + ", ".join(pickrules.regions_for("runtime", local))))
    lines.append(wrap("Regions (mantle):  " + ", ".join(pickrules.regions_for("mantle", local))))
    lines.append("Endpoint / API:    " + " · ".join(f"{e}: {', '.join(a)}" for e, a in combos().items()))
    route = f"{bm.endpoint}/{bm.api}"
    try:
        rows = pickrules.route_rows(bm.models(region=bm.region), bm.endpoint, bm.api)
        lines.append(f"Models in {bm.region} for {route} ({min(limit, len(rows))} of {len(rows)}; "
                     f"%bedrock models -r {bm.region} lists all):")
        lines += [f"    {r['model_id']}  ({r.get('name') or ''})" for r in rows[:limit]]
    except Exception as exc:  # the text still helps without the list
        lines.append(f"Models in {bm.region}: could not be listed: {_one_line(exc)}")
    lines.append("Current choice, as %config lines (change the values and run them):")
    lines += [f"    {line}" for line in config_lines(bm)]
    return "\n".join(lines)


# One live picker per Bedrock object: a new ``%bedrock pick`` closes the previous one, whose
# observers on ``bm`` would otherwise keep its widgets and loader thread alive for the session.
_live: "weakref.WeakKeyDictionary[Any, Picker]" = weakref.WeakKeyDictionary()


def pick(bm: Any) -> Picker | None:
    """Show the picker for ``bm`` (``%bedrock pick``); in a terminal, print the choices as text.

    Returns the ``Picker`` (displayed here already), or ``None`` where no widget front end exists.
    A picker shown earlier for the same ``bm`` is closed.
    """
    if not has_widget_frontend():
        print(describe(bm))
        return None
    from IPython.display import display

    previous = _live.pop(bm, None)
    if previous is not None:
        previous.close()
    picker = Picker(bm)
    _live[bm] = picker
    display(picker.box)
    return picker
