"""The wire shapes of structured output, reasoning, prompt caching and attachments, per API.

``request.schema``, ``request.reasoning`` (already mapped by ``features.py`` to ``{"budget": N}``,
``{"effort": "low"}`` or, for Nova 2, ``{"effort": …, "config": {reasoningConfig}}``, see
``Request.extra["reasoning"]``), ``request.prompt_cache`` and the image /
document blocks of the conversation become each API's own fields here; the replies' reasoning text
and cache/reasoning token counts are read back here. Nothing here does I/O or decides whether a
model may use a feature (``features.py`` does, before the request is built).

Wire references (AWS): Converse ``outputConfig.textFormat`` and ``cachePoint`` blocks
(API_runtime_Converse.html, prompt-caching.html), Claude ``thinking`` in
``additionalModelRequestFields`` (claude-messages-extended-thinking.html), gpt-oss
``reasoning_effort`` (model-parameters-openai.html); OpenAI Chat ``response_format`` /
``reasoning_effort`` and Responses ``text.format`` / ``reasoning`` (bedrock-mantle.html).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from ..reply import Thinking
from ..request import Request

#: Converse document format -> MIME type (for the OpenAI wires' data URLs).
DOCUMENT_MIME = {"pdf": "application/pdf", "csv": "text/csv", "doc": "application/msword",
                 "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 "xls": "application/vnd.ms-excel",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "html": "text/html", "txt": "text/plain", "md": "text/markdown"}
CACHE_POINT = {"cachePoint": {"type": "default"}}


def forced_tool(request: Request) -> bool:
    """True when ``--schema`` rides on a forced tool call (the model lacks native structured output)."""
    return request.schema is not None and bool(request.extra.get("schema_via_tool"))


# -- Converse ------------------------------------------------------------------------------------------

def converse_fields(request: Request, kwargs: dict[str, Any]) -> None:
    """Add the Converse fields of the request's features to ``kwargs`` (in place)."""
    schema = request.schema
    if schema is not None and forced_tool(request):
        tools = list((kwargs.get("toolConfig") or {}).get("tools") or [])
        tools.append({"toolSpec": {"name": schema.name, "description": "Give the answer in this tool's input.",
                                   "inputSchema": {"json": schema.json_schema}}})
        kwargs["toolConfig"] = {"tools": tools, "toolChoice": {"tool": {"name": schema.name}}}
    elif schema is not None:
        kwargs["outputConfig"] = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {
            "schema": json.dumps(schema.json_schema), "name": schema.name}}}}
    reasoning = request.extra.get("reasoning") or {}
    if reasoning:
        fields = dict(kwargs.get("additionalModelRequestFields") or {})
        if "budget" in reasoning:
            fields["thinking"] = {"type": "enabled", "budget_tokens": reasoning["budget"]}
        elif "config" in reasoning:  # Amazon Nova 2 (nova2-userguide/extended-thinking.html)
            fields["reasoningConfig"] = reasoning["config"]
        else:
            fields["reasoning_effort"] = reasoning["effort"]
        kwargs["additionalModelRequestFields"] = fields
    if request.prompt_cache:
        if kwargs.get("system"):
            kwargs["system"] = [*kwargs["system"], CACHE_POINT]
        if kwargs.get("toolConfig", {}).get("tools"):
            kwargs["toolConfig"] = {**kwargs["toolConfig"], "tools": [*kwargs["toolConfig"]["tools"], CACHE_POINT]}
        last = kwargs["messages"][-1]
        if len(kwargs["messages"]) > 1 or any("text" not in b for b in last["content"]):
            # Long context: the history and the attachments, before the new prompt text.
            content = list(last["content"])
            at = len(content) - 1 if content and "text" in content[-1] else len(content)
            last["content"] = [*content[:at], CACHE_POINT, *content[at:]]


def converse_usage(u: dict[str, Any]) -> dict[str, int]:
    """The cache counts of a Converse ``usage`` (``cacheReadInputTokens``, ``cacheWriteInputTokens``)."""
    return _present(cache_read_tokens=u.get("cacheReadInputTokens"), cache_write_tokens=u.get("cacheWriteInputTokens"))


def converse_reasoning(message: dict[str, Any]) -> str | None:
    """The text of a Converse message's ``reasoningContent`` blocks, or None."""
    parts = [((b["reasoningContent"].get("reasoningText") or {}).get("text") or "")
             for b in message.get("content") or () if "reasoningContent" in b]
    return "".join(parts) or None


def converse_reasoning_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A Converse message's ``reasoningContent`` blocks, as they are (to keep in the history)."""
    return [b for b in message.get("content") or () if "reasoningContent" in b]


def schema_tool_text(request: Request, text: str, calls: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """With a forced schema tool, the tool's input is the answer: ``(its JSON, the other calls)``."""
    if not forced_tool(request):
        return text, calls
    name = request.schema.name  # type: ignore[union-attr]
    mine = [c for c in calls if c["name"] == name]
    if not mine:
        return text, calls
    return json.dumps(mine[0]["input"], ensure_ascii=False), [c for c in calls if c["name"] != name]


# -- OpenAI Chat Completions and Responses ----------------------------------------------------------------

def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def openai_parts(blocks: Any, api: str) -> list[dict[str, Any]] | None:
    """The content parts of a user turn with attachments (None when it has none): Chat ``image_url``
    / ``file``, Responses ``input_image`` / ``input_file``, as data URLs, then the text."""
    media = [b for b in blocks or () if "image" in b or "document" in b]
    if not media:
        return None
    parts: list[dict[str, Any]] = []
    for b in media:
        if "image" in b:
            url = _data_url(f"image/{b['image']['format']}", b["image"]["source"]["bytes"])
            parts.append({"type": "image_url", "image_url": {"url": url}} if api == "chat"
                         else {"type": "input_image", "image_url": url})
        else:
            doc = b["document"]
            name = f"{doc['name']}.{doc['format']}"
            url = _data_url(DOCUMENT_MIME.get(doc["format"], "application/octet-stream"), doc["source"]["bytes"])
            parts.append({"type": "file", "file": {"filename": name, "file_data": url}} if api == "chat"
                         else {"type": "input_file", "filename": name, "file_data": url})
    text = "".join(b.get("text", "") for b in blocks if "text" in b)
    if text:
        parts.append({"type": "text", "text": text} if api == "chat" else {"type": "input_text", "text": text})
    return parts


#: A ``--reasoning`` token budget N as the OpenAI APIs' effort (they take no budget): the nearest level.
_EFFORT_BUDGETS = ((2048, "low"), (8192, "medium"))


def reasoning_effort(request: Request) -> str | None:
    """The effort level of the request's reasoning setting (``extra["reasoning"]``: the dict the
    ``--reasoning`` option sets, a level, or a token budget), or None when not asked for."""
    value = getattr(request, "reasoning", None) or request.extra.get("reasoning")
    if isinstance(value, dict):
        return value.get("effort")
    if value is None or value is False:
        return None
    if isinstance(value, str) and not value.strip().isdigit():
        return value.strip().lower()
    budget = int(value)
    return next((level for cap, level in _EFFORT_BUDGETS if budget <= cap), "high")


def chat_fields(request: Request, params: dict[str, Any]) -> None:
    """Add Chat Completions' ``response_format`` and ``reasoning_effort`` to ``params`` (in place)."""
    if request.schema is not None:
        params["response_format"] = {"type": "json_schema", "json_schema": {
            "name": request.schema.name, "schema": request.schema.json_schema, "strict": True}}
    effort = reasoning_effort(request)
    if effort:
        params["reasoning_effort"] = effort


def responses_fields(request: Request, params: dict[str, Any]) -> None:
    """Add Responses' ``text.format`` and ``reasoning`` to ``params`` (in place)."""
    if request.schema is not None:
        params["text"] = {"format": {"type": "json_schema", "name": request.schema.name,
                                     "schema": request.schema.json_schema, "strict": True}}
    effort = reasoning_effort(request)
    if effort:
        params["reasoning"] = {"effort": effort}


def openai_usage(u: dict[str, Any], input_key: str, output_key: str) -> dict[str, int]:
    """Cached and reasoning token counts of an OpenAI-style usage (Chat: ``prompt_tokens_details``,
    ``completion_tokens_details``; Responses: ``input_tokens_details``, ``output_tokens_details``)."""
    inp = u.get(f"{input_key}_details") or {}
    out = u.get(f"{output_key}_details") or {}
    return _present(cache_read_tokens=inp.get("cached_tokens"), cache_write_tokens=inp.get("cache_write_tokens"),
                    reasoning_tokens=out.get("reasoning_tokens"))


def uncached(usage: dict[str, int]) -> dict[str, int]:
    """An OpenAI usage counts cache reads and writes inside its prompt tokens; the Reply's
    ``input_tokens`` are the uncached part (Converse's convention, which ``prices.quote`` takes)."""
    cached = usage.get("cache_read_tokens", 0) + usage.get("cache_write_tokens", 0)
    if cached:
        usage["input_tokens"] = max(0, usage["input_tokens"] - cached)
    return usage


def responses_reasoning(raw: dict[str, Any]) -> str | None:
    """The text of a Responses object's ``reasoning`` items (their content, else their summary)."""
    parts = []
    for item in raw.get("output") or ():
        if item.get("type") == "reasoning":
            pieces = item.get("content") or item.get("summary") or ()
            parts.append("".join(p.get("text", "") for p in pieces))
    return "\n".join(p for p in parts if p) or None


class InlineReasoning:
    """Splits a gpt-oss stream's text into reasoning and answer as it arrives.

    On Bedrock gpt-oss puts its reasoning in ``<reasoning>…</reasoning>`` before the answer
    (``_common.split_reasoning``); streamed, the tags come inside the text deltas, possibly a
    block per delta and possibly cut between deltas. ``feed`` gives ``Thinking`` pieces for the
    reasoning (without tags) and text pieces for the answer, holding back only what might be a
    cut tag; ``finish`` gives what is held back. The answer pieces add up to what ``split_reasoning``
    gives for the whole text.
    """

    OPEN, CLOSE = "<reasoning>", "</reasoning>"

    def __init__(self) -> None:
        self.held = ""
        self.inside = False  # within a <reasoning> block
        self.answering = False  # past the reasoning: everything else is the answer
        self.reasoned = False  # a reasoning block was read (the answer's leading whitespace goes)

    def feed(self, text: str) -> list[str | Thinking]:
        """The pieces of one text delta."""
        if self.answering:
            return [text] if text else []
        self.held += text or ""
        out: list[str | Thinking] = []
        while self.held:
            if self.inside:
                end = self.held.find(self.CLOSE)
                if end < 0:  # all of it is reasoning, but a cut closing tag at its end
                    shown = len(self.held) - _cut_tag(self.held, self.CLOSE)
                    out.append(Thinking(self.held[:shown]))
                    self.held = self.held[shown:]
                    break
                out.append(Thinking(self.held[:end]))
                self.held, self.inside, self.reasoned = self.held[end + len(self.CLOSE):], False, True
                continue
            rest = self.held.lstrip()
            if rest.startswith(self.OPEN):
                self.held, self.inside = rest[len(self.OPEN):], True
            elif self.OPEN.startswith(rest):  # only whitespace, or a cut opening tag: wait for more
                break
            else:
                self.answering = True
                out.append(rest if self.reasoned else self.held)
                self.held = ""
        return [p for p in out if p and (not isinstance(p, Thinking) or p.text)]

    def finish(self) -> list[str | Thinking]:
        """What was held back, once the text has ended."""
        held, self.held = self.held, ""
        if self.inside:
            return [Thinking(held)] if held else []
        held = held.lstrip() if self.reasoned else held
        return [held] if held else []


def _cut_tag(text: str, tag: str) -> int:
    """The length of the longest end of ``text`` that begins ``tag`` (a tag cut between deltas)."""
    return next((n for n in range(min(len(tag) - 1, len(text)), 0, -1) if text.endswith(tag[:n])), 0)


def _present(**counts: Any) -> dict[str, int]:
    """The counts the call used (zeros left out: every route then gives one usage for one answer)."""
    return {name: int(value) for name, value in counts.items() if value}
