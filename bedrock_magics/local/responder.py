"""The deterministic "model" of the local Bedrock service: what it answers, and how it counts.

Every inference API of the local service (Converse, ConverseStream, InvokeModel for every model
family, Chat Completions, Responses, batch jobs) translates its request into one *normalized
conversation* and asks :func:`respond`. The answer is a pure function of that conversation, so the
same prompt gives the same text and the same token counts whichever API carries it. Write test
assertions against the rules below.

The normalized conversation
---------------------------
* ``system``: the system prompt text (several system blocks are joined with a newline; Converse
  ``system`` blocks, Anthropic ``system``, Nova ``system``, Cohere ``preamble``, Chat ``system`` and
  ``developer`` messages, Responses ``instructions`` and system/developer input items).
* ``messages``: Converse-shaped messages ``{"role": "user"|"assistant", "content": [block, ...]}``
  where a block is ``{"text": str}``, ``{"toolUse": {"toolUseId", "name", "input"}}`` or
  ``{"toolResult": {"toolUseId", "content": [{"text": str} | {"json": value}], "status"?}}``. Other
  blocks (images, documents, cache points, reasoning) are ignored by the responder.
* ``tools``: :class:`Tool` (name, description, JSON-Schema parameters), from Converse ``toolSpec``,
  Anthropic ``tools``, OpenAI ``function`` tools, Cohere ``tools``...

A :class:`Call` carries the three, with the model and the settings (``max_tokens``, ``stop``, the
tool choice); ``Call.answer`` is :func:`respond`'s answer to it.

How each API builds it (so the same conversation costs the same input tokens everywhere):

* Converse / ConverseStream / CountTokens ``converse``: taken as is (``system``-role messages join
  the system text).
* InvokeModel bodies: Anthropic ``system`` + ``messages`` (string content is one text block,
  ``tool_use``/``tool_result`` blocks map to toolUse/toolResult); Nova as Converse; Titan Text's
  ``inputText`` is one user message; Llama 3's ``<|start_header_id|>role<|end_header_id|>`` turns
  (the empty assistant header at the end is the cue, not a message) and Mistral/Llama 2 ``[INST] …
  [/INST]`` turns (``<<SYS>>`` is the system) are split into messages, any other prompt is one user
  message; Mistral chat and gpt-oss bodies as Chat Completions; Cohere ``preamble`` (+ SYSTEM turns)
  is the system, ``chat_history`` then ``message`` the messages, and ``tool_results`` add an
  assistant message of tool calls and a user message of their results.
* Chat Completions (:func:`~bedrock_magics.local.wire.chat.chat_call`): ``system``/``developer``
  messages are the system text; an assistant's ``tool_calls`` are toolUse blocks; consecutive
  ``tool`` messages are one user message of toolResults.
* Responses: ``instructions`` then system/developer input items are the system text; the stored
  conversation of ``previous_response_id`` (its inputs and outputs, not its instructions) comes
  first; ``function_call`` items join the assistant message before them and consecutive
  ``function_call_output`` items form one user message.

What the model says (first rule that applies)
---------------------------------------------
1. **Tool results.** When the last user message carries tool results, the reply is
   ``Local Bedrock reply from {model_id}: the tool {name} returned {result}.`` (several results are
   joined with ``; ``). ``{name}`` is the tool of the matching earlier tool call (``unknown`` if
   none matches), ``{result}`` the result's text blocks joined by a space, a JSON result as JSON
   with sorted keys (``{"a": 1}``).
2. **Tool calls.** When tools are offered (and the tool choice is not ``none``) and the last user
   text names one of them as a whole word, the answer is a call of that tool (the earliest named in
   the text; with tool choice ``any`` the first offered tool if none is named; with a specific tool
   choice, that tool). Its ``input`` has an entry for each property of the tool's schema that the
   prompt gives as a ``key=value`` pair (``city=Paris``, ``city="New York"``; converted to the
   property's JSON type) and for each *required* property, which, when the prompt does not give
   it, gets the schema's ``default``, else a placeholder of its type: the first ``enum`` value,
   ``"example"``, ``1``, ``1.0``, ``true``, ``[]`` or ``{}``. Optional properties the prompt does not
   give are left out, as a model would, so the tool's own defaults apply. The stop reason is
   ``tool_use`` and the text empty.
3. **Echo.** When the last user text contains ``echo:``, the reply is exactly what follows the first
   ``echo:``, stripped of surrounding whitespace.
4. **Otherwise** the reply is
   ``Local Bedrock reply from {model_id}: You said: "{first 80 characters of the last user text}".``
   followed by one sentence of 15–40 filler words from a fixed vocabulary, chosen by a SHA-256 hash
   of the normalized conversation (system + messages, tool ids excluded), first word capitalised,
   ending with ``.``. The last user text is the text blocks of the last user message joined by a
   newline.

``{model_id}`` is the foundation-model id the request resolved to (``anthropic.claude-…-v1:0``,
``openai.gpt-oss-120b-1:0``), whether it was called by model id, inference-profile id, ARN or
mantle id.

Stop sequences and max tokens (text replies only)
-------------------------------------------------
A stop sequence cuts the reply just before its earliest occurrence (stop reason ``stop_sequence``).
If the reply is then longer than ``max_tokens`` tokens it is cut to its first ``max_tokens`` tokens
(stop reason ``max_tokens``). Otherwise the stop reason is ``end_turn``.

Token counts (see :mod:`bedrock_magics.local.tokens`: words and single punctuation marks)
------------------------------------------------------------------------------------------
``input_tokens`` = tokens of the system text
+ for every message: 3 + tokens of its text blocks + for each tool call the tool name and its input
as JSON + for each tool result its result text
+ for every offered tool: tokens of ``{"description", "name", "parameters"}`` as JSON.
``output_tokens`` = tokens of the reply text (+ the tool name and input JSON of a tool call).
CountTokens returns the same ``input_tokens`` as the call would report. Embedding models count
the tokens of their input texts (no per-message tokens) and report no output tokens.

Embeddings
----------
:func:`embed` returns a deterministic vector: the sum of one pseudo-random vector per lower-cased
token (seeded by a BLAKE2 hash of the token), L2-normalised when ``normalize`` is true. Texts that
share words therefore have a higher cosine similarity than texts that do not.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from . import tokens
from .http import parse_json

#: Fixed vocabulary of the filler sentence.
VOCABULARY = (
    "local", "bedrock", "service", "answers", "deterministic", "offline", "notebook", "cell", "token",
    "model", "prompt", "reply", "stream", "region", "endpoint", "runtime", "mantle", "converse",
    "invoke", "catalog", "profile", "latency", "usage", "ledger", "cost", "estimate", "table",
    "frame", "column", "row", "batch", "job", "bucket", "schema", "tool", "result", "message",
    "system", "turn", "context", "window", "temperature", "sampling", "stop", "sequence", "delta",
    "chunk", "event", "header", "signature", "credential", "key", "retry", "throttle",
    "quiet", "careful", "steady", "simple", "clear", "small", "quick", "bright", "calm", "exact",
    "tests", "assertions", "examples", "workshop", "students", "teacher", "laptop", "kernel",
    "and", "with", "for", "the", "a", "of", "in", "on", "from", "each", "every", "then", "so",
)
PLACEHOLDERS = {"string": "example", "integer": 1, "number": 1.0, "boolean": True, "array": [], "object": {}}
STOP_REASONS = ("end_turn", "max_tokens", "stop_sequence", "tool_use")
#: Tokens added for every message, whatever its content (role and framing).
PER_MESSAGE_TOKENS = 3
_PAIR = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s,;]+))""")


@dataclass(frozen=True)
class Tool:
    """A tool the caller offers: name, description and JSON Schema of its input."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def canonical(self) -> str:
        """The tool as canonical JSON: what its input tokens are counted on."""
        doc = {"name": self.name, "parameters": dict(self.parameters or {})}
        if self.description:
            doc["description"] = self.description
        return json.dumps(doc, sort_keys=True)


@dataclass
class Answer:
    """What the model says to one conversation."""

    text: str
    tool_call: dict[str, Any] | None
    stop_reason: str
    input_tokens: int
    output_tokens: int
    stop_sequence: str | None = None  # the stop sequence that ended the text, if any

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def chunks(self, size: int = 3) -> list[str]:
        """The text as streaming deltas of ``size`` tokens each; they join back to ``text``."""
        return deltas(self.text, size)

    def tool_call_id(self, prefix: str | None = None) -> str:
        """The id of the tool call: the responder's ``tooluse_…``, or spelled with ``prefix``
        (``call_`` for OpenAI's APIs, ``toolu_bdrk_`` for Anthropic's)."""
        call_id = self.tool_call["id"]
        return call_id if prefix is None else prefix + call_id.split("_", 1)[1]

    def tool_input_fragments(self, parts: int = 3) -> list[str]:
        """The tool call's input as JSON, cut into about ``parts`` fragments (for streaming)."""
        return fragments(json.dumps(self.tool_call["input"]), parts) if self.tool_call else []


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

    @property
    def model_id(self) -> str:
        return self.model["modelId"]

    @cached_property
    def answer(self) -> Answer:
        """The responder's answer (computed once)."""
        return respond(self.model_id, self.messages, self.system, self.max_tokens, self.stop, self.tools,
                       self.tool_choice)

    @property
    def input_tokens(self) -> int:
        """What CountTokens reports for the call (the same as ``answer.input_tokens``)."""
        return count_input(self.messages, self.system, self.tools)


def deltas(text: str, size: int = 3) -> list[str]:
    """``text`` as streaming deltas of ``size`` tokens each (they join back to ``text``)."""
    pieces = tokens.split(text)
    return ["".join(pieces[i:i + size]) for i in range(0, len(pieces), size)]


def fragments(text: str, parts: int = 3) -> list[str]:
    """``text`` cut into about ``parts`` equal fragments (how tool-call arguments are streamed)."""
    step = max(1, math.ceil(len(text) / parts))
    return [text[i:i + step] for i in range(0, len(text), step)]


def as_tool(spec: Any) -> Tool:
    """A :class:`Tool` from a Converse ``{"toolSpec": …}``, its inner dict, a ``bedrock_magics``
    ``ToolSpec`` or a ``{"name", "description", "parameters"}`` dict."""
    if isinstance(spec, Tool):
        return spec
    if not isinstance(spec, Mapping):  # request.ToolSpec and look-alikes
        return Tool(spec.name, spec.description or "", spec.parameters or {"type": "object", "properties": {}})
    spec = spec.get("toolSpec", spec)
    params = spec.get("parameters")
    if params is None:
        params = (spec.get("inputSchema") or {}).get("json")
    return Tool(spec["name"], spec.get("description") or "", params or {"type": "object", "properties": {}})


def system_text(system: str | Sequence[Mapping[str, Any]] | None) -> str:
    """System prompt text from a string or Converse ``system`` blocks (text blocks, newline-joined)."""
    if system is None:
        return ""
    if isinstance(system, str):
        return system
    return "\n".join(b["text"] for b in system if isinstance(b, Mapping) and isinstance(b.get("text"), str))


def result_text(result: Mapping[str, Any]) -> str:
    """The text of a Converse ``toolResult``: text blocks space-joined, JSON blocks as JSON."""
    parts = []
    for block in result.get("content") or []:
        if not isinstance(block, Mapping):
            continue
        if isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif "json" in block:
            parts.append(json.dumps(block["json"], sort_keys=True))
    return " ".join(parts)


def _message_parts(message: Mapping[str, Any]) -> list[tuple]:
    """A message's blocks the responder reads: ("text", t), ("use", id, name, input), ("result", id, t)."""
    parts: list[tuple] = []
    content = message.get("content")
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, Mapping):
            continue  # the API in front of the responder reports malformed blocks; here they say nothing
        if isinstance(block.get("text"), str):
            parts.append(("text", block["text"]))
        elif isinstance(block.get("toolUse"), Mapping):
            use = block["toolUse"]
            parts.append(("use", use.get("toolUseId"), use.get("name", ""), use.get("input")))
        elif isinstance(block.get("toolResult"), Mapping):
            res = block["toolResult"]
            parts.append(("result", res.get("toolUseId"), result_text(res)))
    return parts


def _message_tokens(parts: list[tuple]) -> int:
    n = PER_MESSAGE_TOKENS
    for part in parts:
        if part[0] == "text":
            n += tokens.count(part[1])
        elif part[0] == "use":
            n += tokens.count(part[2]) + tokens.count(json.dumps(part[3], sort_keys=True))
        else:
            n += tokens.count(part[2])
    return n


def count_input(messages: Sequence[Mapping[str, Any]], system: Any = None, tools: Iterable[Any] = ()) -> int:
    """``input_tokens`` of a conversation (what CountTokens returns)."""
    total = tokens.count(system_text(system))
    total += sum(_message_tokens(_message_parts(m)) for m in messages)
    total += sum(tokens.count(as_tool(t).canonical()) for t in tools)
    return total


def _digest(system: str, messages: Sequence[Mapping[str, Any]]) -> bytes:
    """SHA-256 of the conversation (tool-call ids left out: each API spells them its own way)."""
    norm = [[m.get("role"), [[p[0], *p[2:]] if p[0] != "text" else list(p) for p in _message_parts(m)]]
            for m in messages]
    return hashlib.sha256(json.dumps([system, norm], sort_keys=True, default=str).encode()).digest()


def _filler(digest: bytes) -> str:
    seed = int.from_bytes(digest[:8], "big")
    n = 15 + seed % 26  # 15..40 words
    words = []
    for i in range(n):
        h = hashlib.sha256(digest + i.to_bytes(2, "big")).digest()
        k = int.from_bytes(h[:4], "big") % len(VOCABULARY)
        if words and VOCABULARY[k] == words[-1]:  # "the the" reads like a bug
            k = (k + 1) % len(VOCABULARY)
        words.append(VOCABULARY[k])
    sentence = " ".join(words)
    return sentence[0].upper() + sentence[1:] + "."


def _last_user(messages: Sequence[Mapping[str, Any]]) -> list[tuple]:
    for m in reversed(messages):
        if m.get("role") == "user":
            return _message_parts(m)
    return []


def _coerce(value: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            return value.lower() in ("true", "yes", "1", "on")
        if kind == "array":
            return [v.strip() for v in value.split(",") if v.strip()]
        if kind == "object":
            return parse_json(value)
    except ValueError:
        pass
    return value


def tool_input(tool: Tool, text: str) -> dict[str, Any]:
    """The input of a call to ``tool`` asked for by ``text`` (``key=value`` pairs, required
    properties filled with defaults or placeholders)."""
    given = {}
    for m in _PAIR.finditer(text):
        raw = next(g for g in m.groups()[1:] if g is not None)
        if m.group(4) is not None:
            raw = raw.rstrip(".!?)")  # "city=Paris." ends a sentence, it is not part of the value
        given.setdefault(m.group(1), raw)
    props = (tool.parameters or {}).get("properties") or {}
    required = set((tool.parameters or {}).get("required") or ())
    out: dict[str, Any] = {}
    for name, schema in props.items():
        schema = schema if isinstance(schema, Mapping) else {}
        if name in given:
            out[name] = _coerce(given[name], schema)
        elif name not in required:
            continue  # optional and not asked for: the tool's default applies
        elif "default" in schema:
            out[name] = schema["default"]
        elif schema.get("enum"):
            out[name] = schema["enum"][0]
        else:
            kind = schema.get("type")
            kind = kind[0] if isinstance(kind, list) and kind else kind
            out[name] = PLACEHOLDERS.get(kind, "example")
    return out


def _pick_tool(tools: list[Tool], text: str, choice: str) -> Tool | None:
    if not tools or choice == "none":
        return None
    if choice not in ("auto", "any"):
        return next((t for t in tools if t.name == choice), None)
    found = [(m.start(), t) for t in tools
             if (m := re.search(rf"(?<!\w){re.escape(t.name)}(?!\w)", text))]
    if found:
        return min(found, key=lambda f: f[0])[1]
    return tools[0] if choice == "any" else None


def respond(model_id: str, messages: Sequence[Mapping[str, Any]], system: Any = None,
            max_tokens: int | None = None, stop: Iterable[str] = (), tools: Iterable[Any] = (),
            tool_choice: str = "auto") -> Answer:
    """The answer to a normalized conversation (rules in the module docstring).

    ``tool_choice`` is ``"auto"``, ``"any"`` (must call a tool), ``"none"`` or a tool name.
    """
    sys_text = system_text(system)
    offered = [as_tool(t) for t in tools]
    input_tokens = count_input(messages, sys_text, offered)
    last = _last_user(messages)
    last_text = "\n".join(p[1] for p in last if p[0] == "text")
    prefix = f"Local Bedrock reply from {model_id}: "

    results = [p for p in last if p[0] == "result"]
    if results:
        names = {}
        for m in messages:
            for p in _message_parts(m):
                if p[0] == "use":
                    names[p[1]] = p[2]
        said = "; ".join(f"the tool {names.get(r[1], 'unknown')} returned {r[2]}" for r in results)
        text = prefix + said + "."
    else:
        tool = _pick_tool(offered, last_text, tool_choice)
        if tool is not None:
            digest = _digest(sys_text, messages)
            call = {"id": "tooluse_" + digest.hex()[:22], "name": tool.name, "input": tool_input(tool, last_text)}
            out = tokens.count(tool.name) + tokens.count(json.dumps(call["input"], sort_keys=True))
            return Answer("", call, "tool_use", input_tokens, out)
        if "echo:" in last_text:
            text = last_text.split("echo:", 1)[1].strip()
        else:
            text = f'{prefix}You said: "{last_text[:80]}". {_filler(_digest(sys_text, messages))}'

    stop_reason, matched = "end_turn", None
    hits = [(text.find(s), s) for s in stop if s and s in text]
    if hits:
        at, matched = min(hits)
        text, stop_reason = text[:at], "stop_sequence"
    if max_tokens is not None and tokens.count(text) > max_tokens:
        text, stop_reason, matched = tokens.truncate(text, max_tokens), "max_tokens", None
    return Answer(text, None, stop_reason, input_tokens, tokens.count(text), matched)


@lru_cache(maxsize=4096)
def _token_vector(token: str, dimensions: int) -> np.ndarray:
    """A fixed pseudo-random vector in [-1, 1) for one token (BLAKE2b in counter mode)."""
    need, blocks, i = dimensions * 2, [], 0
    while sum(map(len, blocks)) < need:
        blocks.append(hashlib.blake2b(f"{token}\x00{i}".encode(), digest_size=64).digest())
        i += 1
    raw = np.frombuffer(b"".join(blocks)[:need], dtype=">u2").astype(np.float64)
    return raw / 32768.0 - 1.0


def embed(text: str, dimensions: int = 1024, normalize: bool = True) -> list[float]:
    """A deterministic embedding of ``text`` with ``dimensions`` components (see module docstring)."""
    words = [w.lower() for w in re.findall(r"\w+|[^\w\s]", text or "")] or [""]
    vec = np.zeros(dimensions)
    for w in words:
        vec += _token_vector(w, dimensions)
    if normalize:
        norm = float(np.linalg.norm(vec))
        vec = vec / norm if norm else vec
    else:
        vec = vec / len(words)
    return [round(float(x), 6) for x in vec]
