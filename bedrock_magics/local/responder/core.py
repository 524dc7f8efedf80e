"""The responder's answer to one normalized call (the rules are in the package docstring)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Mapping, Sequence

from .. import tokens
from . import labels, reasoning, shapes, values
from .cache import CacheUsage
from .conversation import Tool, as_tool, count_input, documents, last_user, message_parts, system_text
from .media import quoted_span

STOP_REASONS = ("end_turn", "max_tokens", "stop_sequence", "tool_use")
#: Words of a tool's name that do not have to appear in the prompt for it to name the tool.
TOOL_VERBS = frozenset("get set fetch lookup look up find search query list create make do run call read".split())
#: Words of a tool's name that say what kind of thing it is, not what it is about (JokeDict, AnswerSchema):
#: a prompt need not name them.
TOOL_KIND_WORDS = frozenset("dict schema model output response result object data info tool typed".split())


@dataclass
class Answer:
    """What the model says to one conversation.

    ``prompt_tokens`` counts the whole prompt; ``input_tokens`` only its uncached part (what
    Converse and Anthropic report beside the cache fields; OpenAI's APIs report ``prompt_tokens``).
    """

    text: str
    tool_call: dict[str, Any] | None
    stop_reason: str
    prompt_tokens: int
    output_tokens: int
    stop_sequence: str | None = None  # the stop sequence that ended the text, if any
    reasoning: str = ""  # the reasoning text, when the request asked for it
    reasoning_tokens: int = 0  # included in output_tokens
    signature: str = ""  # Claude's signature of the reasoning
    cache: CacheUsage = field(default_factory=CacheUsage)
    citation: dict | None = None  # {"lead", "text", "title", "document_index", "start", "end"}
    rule: str = "default"  # the rule that made the answer
    family: str = "words"  # the tokenizer family

    @property
    def input_tokens(self) -> int:
        """The uncached input tokens."""
        return self.prompt_tokens - self.cache.read - self.cache.write

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens

    @property
    def text_tokens(self) -> int:
        """Output tokens of the text alone (no reasoning)."""
        return self.output_tokens - self.reasoning_tokens

    def chunks(self, size: int = 3) -> list[str]:
        """The text as streaming deltas of ``size`` tokens each; they join back to ``text``."""
        return deltas(self.text, size, self.family)

    def reasoning_chunks(self, size: int = 3) -> list[str]:
        """The reasoning as streaming deltas."""
        return deltas(self.reasoning, size, self.family)

    def tool_call_id(self, prefix: str | None = None) -> str:
        """The id of the tool call: the responder's ``tooluse_…``, or spelled with ``prefix``
        (``call_`` for OpenAI's APIs, ``toolu_bdrk_`` for Anthropic's)."""
        call_id = self.tool_call["id"]
        return call_id if prefix is None else prefix + call_id.split("_", 1)[1]

    def tool_input_fragments(self, parts: int = 3) -> list[str]:
        """The tool call's input as JSON, cut into about ``parts`` fragments (for streaming)."""
        return fragments(json.dumps(self.tool_call["input"], ensure_ascii=False), parts) if self.tool_call else []


@dataclass
class Call:
    """One inference request, normalized: the model, the conversation and the settings it is answered with.

    Every API of the local service turns its request into a ``Call`` (Converse as is, each InvokeModel
    family through its codec, Chat Completions and Responses from their messages or input items; see
    :mod:`bedrock_magics.local.wire`) and writes ``answer`` back in its own wire shape.
    """

    model: dict  # the catalog entry of the foundation model
    messages: list[dict] = field(default_factory=list)  # Converse-shaped
    system: str = ""
    tools: list[Tool] = field(default_factory=list)
    tool_choice: str = "auto"
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # family-specific (embedding options, echoed fields…)
    schema: Mapping[str, Any] | None = None  # structured output: the JSON Schema the reply must fit
    # {"budget": N, "signed": True} (Claude thinking), {"effort": "low"|…} or, Nova 2, {"effort": …, "redacted": True}
    reasoning: dict | None = None
    cache_marks: dict = field(default_factory=dict)  # {"tools": [(n, ttl)], "system": [(offset, ttl)]}
    cache: CacheUsage | None = None  # set by cache.settle before the call is answered

    @property
    def model_id(self) -> str:
        return self.model["modelId"]

    @property
    def family(self) -> str:
        """The tokenizer family of the model."""
        return tokens.family_of(self.model_id)

    @cached_property
    def answer(self) -> Answer:
        """The responder's answer (computed once)."""
        return answer(self)

    @property
    def input_tokens(self) -> int:
        """What CountTokens reports for the call (the whole prompt)."""
        return count_input(self.messages, self.system, self.tools, self.family)


def deltas(text: str, size: int = 3, family: str = "words") -> list[str]:
    """``text`` as streaming deltas of ``size`` tokens each (they join back to ``text``)."""
    pieces = tokens.split(text, family)
    return ["".join(pieces[i:i + size]) for i in range(0, len(pieces), size)]


def fragments(text: str, parts: int = 3) -> list[str]:
    """``text`` cut into about ``parts`` equal fragments (how tool-call arguments are streamed)."""
    step = max(1, math.ceil(len(text) / parts))
    return [text[i:i + step] for i in range(0, len(text), step)]


def _digest(system: str, messages: Sequence[Mapping[str, Any]]) -> bytes:
    """SHA-256 of the conversation (tool-call ids left out: each API spells them its own way)."""
    norm = [[m.get("role"), [[p[0], *p[2:]] if p[0] in ("use", "result") else list(p) for p in message_parts(m)]]
            for m in messages]
    return hashlib.sha256(json.dumps([system, norm], sort_keys=True, default=str).encode()).digest()


def _names_tool(tool: Tool, text: str) -> int | None:
    """Where ``text`` names ``tool`` (its name, or every word of it but the verbs), or None."""
    found = re.search(rf"(?<!\w){re.escape(tool.name)}(?!\w)", text)
    if found:
        return found.start()
    words = [w.lower() for w in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", tool.name)
             if w and w.lower() not in TOOL_VERBS | TOOL_KIND_WORDS]
    spots = [re.search(rf"(?<!\w){re.escape(w)}(?:s|es)?(?!\w)", text, re.I) for w in words]
    return min(s.start() for s in spots) if words and all(spots) else None


#: A prompt that asks for "the tool" (or "your tool", "a tool") by no name.
_ASKS_FOR_THE_TOOL = re.compile(r"\b(?:use|using|call|with)\s+(?:the|your|a|an)\s+tools?\b", re.I)


def _pick_tool(tools: list[Tool], text: str, choice: str) -> Tool | None:
    if not tools or choice == "none":
        return None
    if choice not in ("auto", "any"):
        return next((t for t in tools if t.name == choice), None)
    found = [(at, i, t) for i, t in enumerate(tools) if (at := _names_tool(t, text)) is not None]
    if found:
        return min(found, key=lambda f: f[:2])[2]
    if choice == "any" or (len(tools) == 1 and _ASKS_FOR_THE_TOOL.search(text)):
        return tools[0]
    return None


def _tool_names(messages: Sequence[Mapping[str, Any]]) -> dict:
    return {p[1]: p[2] for m in messages for p in message_parts(m) if p[0] == "use"}


def _text(call: Call, user: str, parts: list[tuple]) -> tuple[str, str, dict | None]:
    """(text, rule, citation) of a reply that is not a tool call."""
    model_id, system = call.model_id, call.system
    results = [p for p in parts if p[0] == "result"]
    source = "\n".join(p[2] for p in results) + ("\n" + user if user else "") if results else user
    if results and call.schema is None and not call.extra.get("json_object") and labels.find(system, user) is None:
        names = _tool_names(call.messages)
        said = "; ".join(f"the tool {names.get(r[1], 'unknown')} returned {r[2]}" for r in results)
        return f"Local Bedrock reply from {model_id}: {said}.", "tool result", None
    if not results and "echo:" in user:
        return user.split("echo:", 1)[1].strip(), "echo", None
    if call.extra.get("json_object"):
        return shapes.json_reply(model_id, user, _digest(system, call.messages)), "structured output", None
    if call.schema is not None:
        value = values.structured(call.schema, source)
        return json.dumps(value, ensure_ascii=False), "structured output", None
    closed = labels.find(system, user)
    if closed is not None:
        return labels.pick(closed, labels.without(source, closed.span)), "closed set", None
    docs = documents(call.messages)
    cited = next((i for i, d in enumerate(docs) if d.citations), None)
    if cited is not None:
        doc = docs[cited]
        start, end = quoted_span(doc, user)
        lead = f"Local Bedrock reply from {model_id}: according to {doc.name}, "
        citation = {"lead": lead, "text": doc.text[start:end], "title": doc.name, "document_index": cited,
                    "start": start, "end": end}
        return lead + citation["text"], "citation", citation
    text, rule = shapes.reply(model_id, user, system, _digest(system, call.messages))
    return text, rule, None


def answer(call: Call) -> Answer:
    """The answer to a call (rules in the package docstring)."""
    family = call.family
    prompt_tokens = count_input(call.messages, call.system, call.tools, family)
    cache = call.cache or CacheUsage()
    parts = last_user(call.messages)
    user = "\n".join(p[1] for p in parts if p[0] == "text")
    has_results = any(p[0] == "result" for p in parts)
    tool = None if has_results else _pick_tool(list(call.tools), user, call.tool_choice)
    tool_call, citation = None, None
    if tool is not None:
        digest = _digest(call.system, call.messages)
        tool_call = {"id": "tooluse_" + digest.hex()[:22], "name": tool.name,
                     "input": values.tool_input(tool.parameters, user)}
        text, rule = "", "tool call"
    else:
        text, rule, citation = _text(call, user, parts)

    thought, thought_tokens, signature = "", 0, ""
    if call.reasoning:  # it thinks about the whole answer before the answer is cut
        shown = json.dumps(tool_call["input"], ensure_ascii=False) if tool_call else text
        thought = reasoning.text(user, rule, shown, call.reasoning.get("effort", "medium"))
        limits = [n for n in (call.reasoning.get("budget"), call.max_tokens) if n]
        if limits:
            thought = tokens.truncate(thought, min(limits), family)
        thought_tokens = tokens.count(thought, family)
        signature = reasoning.signature(thought) if call.reasoning.get("signed") else ""
        if call.reasoning.get("redacted"):  # billed in full, shown as Nova 2 Lite shows it
            thought = reasoning.REDACTED

    stop_reason, matched = ("tool_use", None) if tool_call else ("end_turn", None)
    if not tool_call:
        hits = [(text.find(s), s) for s in call.stop if s and s in text]
        if hits:
            at, matched = min(hits)
            text, stop_reason = text[:at], "stop_sequence"
            citation = None
        room = None if call.max_tokens is None else call.max_tokens - thought_tokens  # thinking counts too
        if room is not None and tokens.count(text, family) > room:
            text, stop_reason, matched = tokens.truncate(text, room, family), "max_tokens", None
            citation = None

    out = tokens.count(text, family) + thought_tokens
    if tool_call:
        out += tokens.count(tool_call["name"], family) + tokens.count(json.dumps(tool_call["input"],
                                                                                   sort_keys=True), family)
    return Answer(text, tool_call, stop_reason, prompt_tokens, out, matched, thought, thought_tokens, signature,
                  cache, citation, rule, family)


def respond(model_id: str, messages: Sequence[Mapping[str, Any]], system: Any = None,
            max_tokens: int | None = None, stop: Iterable[str] = (), tools: Iterable[Any] = (),
            tool_choice: str = "auto", **settings: Any) -> Answer:
    """The answer to a normalized conversation (rules in the package docstring).

    ``tool_choice`` is ``"auto"``, ``"any"`` (must call a tool), ``"none"`` or a tool name;
    ``settings`` are further :class:`Call` fields (``schema``, ``reasoning``).
    """
    return Call({"modelId": model_id}, list(messages), system_text(system), [as_tool(t) for t in tools],
                tool_choice, max_tokens, list(stop), **settings).answer
