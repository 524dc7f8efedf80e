"""What each model of the local catalog can do: modalities, system prompt, tools, reasoning, caching, routes.

``capabilities(entry)`` answers for one catalog entry. It starts from the defaults of the entry's
``family`` (``FAMILY_DEFAULTS`` below, each with its source), derives what the wire fields already say
(``inputModalities``, ``responseStreamingSupported``, ``converse``, ``openai``, ``mantleId``) and
applies the entry's own ``capabilities`` object from ``data/catalog.json`` last. The keys of that
object are the camelCase names of :class:`Capabilities`' fields plus ``sources`` (a note naming the
page the override comes from)::

    "capabilities": {"toolChoice": ["auto", "any"], "sources": "API_runtime_ToolChoice: any for Mistral Large"}

Everything here is plain data: :meth:`Capabilities.to_json` gives the same facts as JSON, so that a
client can load them without importing the local service (see :func:`table`).

Routes are named as the client's catalog names them: ``runtime/converse``, ``runtime/invoke``,
``runtime/chat`` and ``runtime/responses`` (the runtime's ``/openai/v1``), ``mantle/chat`` and
``mantle/responses`` (bedrock-mantle, under the entry's ``mantle_prefix``), ``mantle/messages`` (bedrock-mantle's
Anthropic Messages API, ``/anthropic/v1/messages``, for entries with a ``mantleAnthropicId``).

Sources (AWS's Bedrock user guide unless named):

* ``conversation-inference-supported-models-features.html`` — system prompts, document chat,
  vision and tool use per model family in Converse;
* ``API_runtime_ToolChoice.html`` — ``tool`` only for Anthropic Claude 3+ and Amazon Nova; the
  older text of the same page: ``any``/``auto`` choices only for Claude 3+ and Mistral Large;
* ``claude-messages-extended-thinking.html`` and Anthropic's extended-thinking guide —
  ``budget_tokens`` at least 1,024 and below ``max_tokens``; thinking is not compatible with a
  changed ``temperature`` or ``top_k``, nor with forced tool use;
* ``prompt-caching.html`` — the minimum tokens per cache checkpoint of each model, and the ``1h``
  TTL of the Claude 4.5 models;
* ``model-parameters-openai.html`` — gpt-oss reasoning effort ``low``/``medium``/``high``;
* nova2-userguide ``extended-thinking.html`` — Amazon Nova 2 Lite's ``reasoningConfig`` (the entry's
  override); ``inference-reasoning.html`` — DeepSeek-R1 always reasons. AWS documents no reasoning
  switch for DeepSeek-V3.x or Qwen3 on Bedrock, so they have none here;
* mantle: gpt-oss on ``/v1`` (``/openai/v1/responses`` answers 404, openai/codex#23650), GPT-5.x
  Responses-only on ``/openai/v1`` (livekit/agents#5978; codex PR#19461 for GPT-5.4's effort levels);
  "only gpt-oss support Responses; all models support Chat Completions" (microsoft/PyRIT#1575).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Iterable, Mapping

#: Every route a model can be served on (see the module docstring).
ROUTES = ("runtime/converse", "runtime/invoke", "runtime/chat", "runtime/responses", "mantle/chat",
          "mantle/responses", "mantle/messages")
#: The ``toolChoice`` kinds of Converse (OpenAI's ``required`` is ``any``; a named function is ``tool``).
TOOL_CHOICES = ("auto", "any", "tool")


@dataclass(frozen=True)
class Capabilities:
    """What one model accepts and where it is served. Sets are frozensets of lower-case names."""

    model_id: str
    inputs: frozenset[str] = frozenset({"text"})  # text, image, document, video
    system_prompt: bool = True
    tool_use: bool = False
    tool_choice: frozenset[str] = frozenset()  # subset of TOOL_CHOICES; empty without tool use
    # "thinking" (Claude budget), "effort" (OpenAI levels), "reasoningConfig" (Nova 2's maxReasoningEffort),
    # "always", or None
    reasoning: str | None = None
    reasoning_efforts: tuple[str, ...] = ()
    thinking_min_budget: int | None = None  # Claude: budget_tokens >= this and < max tokens; temperature 1
    citations: bool = False
    prompt_caching: bool = False
    cache_min_tokens: int | None = None  # minimum tokens before a cache checkpoint takes effect
    cache_ttls: tuple[str, ...] = ()
    structured_output: bool = False
    # False: temperature, top_p and top_k are refused (Claude Sonnet 5 / Opus 5, whose thinking is adaptive)
    sampling: bool = True
    streaming: bool = True
    routes: frozenset[str] = frozenset()
    mantle_prefix: str | None = None  # "/v1" or "/openai/v1" on bedrock-mantle
    sources: tuple[str, ...] = field(default=(), compare=False)

    def serves(self, route: str) -> bool:
        """Whether the model answers on ``route`` (one of :data:`ROUTES`)."""
        return route in self.routes

    def to_json(self) -> dict[str, Any]:
        """The same facts as JSON (camelCase keys, sorted lists), for a data file the client reads."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, frozenset):
                value = sorted(value, key=_order)
            elif isinstance(value, tuple):
                value = list(value)
            out[_camel(f.name)] = value
        return out


def _order(name: str) -> tuple[int, str]:
    known = ("text", "image", "document", "video") + TOOL_CHOICES + ROUTES
    return (known.index(name) if name in known else len(known), name)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_CONVERSE = "conversation-inference-supported-models-features.html"
_TOOL_CHOICE = "API_runtime_ToolChoice.html"
_CACHING = "prompt-caching.html"

#: Defaults per catalog ``family``; an entry's ``capabilities`` object overrides them (keys as above).
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "anthropic": dict(document=True, tool_use=True, tool_choice=TOOL_CHOICES, reasoning="thinking",
                      thinking_min_budget=1024, citations=True, prompt_caching=True, cache_min_tokens=1024,
                      cache_ttls=("5m",),
                      sources=(_CONVERSE, _TOOL_CHOICE, "claude-messages-extended-thinking.html", _CACHING)),
    "nova": dict(document=True, tool_use=True, tool_choice=TOOL_CHOICES, prompt_caching=True, cache_min_tokens=1000,
                 cache_ttls=("5m",), sources=(_CONVERSE, _TOOL_CHOICE, _CACHING)),
    # "Amazon Titan models": no system prompts, document chat except Titan Text Premier, no tool use.
    "titan-text": dict(system_prompt=False, document=True, sources=(_CONVERSE,)),
    "llama": dict(document=True, tool_use=True, tool_choice=("auto",), sources=(_CONVERSE, _TOOL_CHOICE)),
    # "Mistral AI Instruct" (7B, Mixtral): no system prompts, no tool use.
    "mistral": dict(system_prompt=False, document=True, sources=(_CONVERSE,)),
    "mistral-chat": dict(document=True, tool_use=True, tool_choice=("auto",), sources=(_CONVERSE, _TOOL_CHOICE)),
    "cohere-command": dict(document=True, tool_use=True, tool_choice=("auto",), sources=(_CONVERSE, _TOOL_CHOICE)),
    # Bedrock's OpenAI-compatible engine (gpt-oss, Qwen, DeepSeek, Gemma, …): function tools, JSON schema output.
    "gpt-oss": dict(tool_use=True, tool_choice=("auto",), structured_output=True,
                    sources=("models-api-compatibility.html", _TOOL_CHOICE, "structured output: INFERRED")),
    # DeepSeek-R1's text-completion body (model-parameters-deepseek.html); Converse: no tool use.
    "deepseek-r1": dict(sources=(_CONVERSE, "model-parameters-deepseek.html")),
    "titan-embed": dict(system_prompt=False, sources=("models-supported.html",)),
    "cohere-embed": dict(system_prompt=False, sources=("models-supported.html",)),
    "image": dict(system_prompt=False, sources=("models-supported.html",)),
}

_MODALITIES = {"IMAGE": "image"}  # the wire enum has no VIDEO: video comes from overrides


def capabilities(entry: Mapping[str, Any]) -> Capabilities:
    """The capabilities of one catalog entry: family defaults, wire fields, then the entry's overrides."""
    defaults = dict(FAMILY_DEFAULTS.get(entry.get("family", ""), {}))
    document = defaults.pop("document", False)
    converse = bool(entry.get("converse")) and entry.get("runtime", True)
    inputs = {"text"} | {_MODALITIES[m] for m in entry.get("inputModalities", ()) if m in _MODALITIES}
    if document and converse:
        inputs.add("document")
    routes = set()
    if entry.get("runtime", True):
        routes.add("runtime/invoke")
        if converse:
            routes.add("runtime/converse")
        if entry.get("openai"):  # the runtime's /openai/v1 serves Chat Completions and Responses alike (INFERRED)
            routes |= {"runtime/chat", "runtime/responses"}
    if entry.get("mantleId"):
        routes.add("mantle/chat")
    if entry.get("mantleAnthropicId"):
        routes.add("mantle/messages")
    values: dict[str, Any] = dict(
        model_id=entry["modelId"], inputs=frozenset(inputs), streaming=bool(entry.get("responseStreamingSupported")),
        routes=frozenset(routes), mantle_prefix="/v1" if entry.get("mantleId") else None)
    values.update(defaults)
    overrides = dict(entry.get("capabilities") or {})
    note = overrides.pop("sources", None)
    for key, value in overrides.items():
        values[_snake(key)] = value
    if not values.get("tool_use"):
        values["tool_choice"] = ()  # no tools, no tool choice
    if note:
        values["sources"] = tuple(values.get("sources", ())) + (note,)
    return Capabilities(**_typed(values))


def _snake(name: str) -> str:
    out = "".join("_" + c.lower() if c.isupper() else c for c in name)
    if out not in _FIELDS:
        raise ValueError(f"unknown capabilities key {name!r} (known: {', '.join(sorted(map(_camel, _FIELDS)))})")
    return out


_FIELDS = {f.name for f in fields(Capabilities)}
_SETS = {f.name for f in fields(Capabilities) if f.type == "frozenset[str]"}
_TUPLES = {f.name for f in fields(Capabilities) if f.type.startswith("tuple")}


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if key in _SETS:
            value = frozenset(value)
        elif key in _TUPLES:
            value = tuple(value)
        out[key] = value
    return out


def table(models: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{model id: capabilities JSON}`` for catalog entries, keyed by ``modelId`` and by ``mantleId`` too.

    This is the shape proposed for a data file the client reads (``local/data/capabilities.json``)."""
    out: dict[str, dict[str, Any]] = {}
    for entry in models:
        facts = capabilities(entry).to_json()
        for key in (entry["modelId"], entry.get("mantleId")):
            if key:
                out[key] = facts
    return out


def document(models: Iterable[Mapping[str, Any]], date: str) -> dict[str, Any]:
    """The client's capabilities file: :func:`table` with a comment and the catalog snapshot's date."""
    return {"_comment": "Capabilities per model id (runtime and mantle ids), generated from the local catalog by "
                        "`python -m bedrock_magics.local.capabilities > bedrock_magics/local/data/capabilities.json`; "
                        "keys as in bedrock_magics/local/capabilities.py. Plain data: readable without importing "
                        "the local service.",
            "snapshot": date, "models": table(models)}


if __name__ == "__main__":
    import json
    import sys

    from .catalog import Catalog

    catalog = Catalog.load()
    json.dump(document(catalog.models, catalog.data["snapshot"]["date"]), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
