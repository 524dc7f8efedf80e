"""InvokeModel body codecs: one per model family, chosen from the model id.

InvokeModel carries each provider's native body. A ``Codec`` turns a ``Request`` (Converse-shaped
conversation) into that body (``encode``), reads the response body (``decode``) and reads stream
chunks (``stream()`` gives a ``StreamState``: ``feed(chunk)`` and ``finish()`` give the text deltas and
``Thinking`` pieces to show, then ``result()``). The reasoning read back: Claude's ``thinking`` blocks
(``_anthropic``), Nova 2's ``reasoningContent`` blocks, gpt-oss's ``<reasoning>…</reasoning>`` prefix.

Families (bedrock-protocols.md §3.6): ``anthropic`` (Messages, in ``_anthropic``), ``nova`` (messages-v1),
``titan-text``, ``llama`` (Llama 3 chat template in a prompt), ``mistral`` (``[INST]`` prompt),
``mistral-chat`` (chat completion), ``cohere-command`` (Command R chat), ``gpt-oss`` (OpenAI Chat
Completions body; also DeepSeek, Qwen, AI21 and other OpenAI-style bodies); the embedding families
``titan-embed`` and ``cohere-embed`` are handled by ``routes.embed``.

Attachments and ``--schema`` (``features.py`` allows them on these two families only): the Claude
body carries images as base64 ``image`` blocks and the schema as ``output_config.format`` or a
forced tool (``tool_choice: {"type": "tool"}``); the Nova body carries images and videos as
Converse's blocks with base64 ``bytes`` and the schema as a forced ``toolConfig.toolChoice.tool``.
The forced tool's input becomes the answer in ``routes.invoke`` (``_features.schema_tool_text``).

``modelids.family_of(model_id)`` reads the family from a model id, an inference-profile id (``us.``,
``eu.``, ``apac.``, ``jp.``, ``au.``, ``ca.``, ``global.``, ``us-gov.``) or an ARN
(``…/foundation-model/ID``, ``…/inference-profile/ID``, custom-model ARNs that embed their base
model). ARNs that do not name their model (provisioned models, application inference profiles,
imported models) have no family: ``codec_for`` then falls back to the Nova body, which mirrors
Converse, and warns once; pass ``request.extra["family"]`` (the catalog knows it) to choose exactly.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from ..errors import Note
from ..reply import Thinking
from ..modelids import EMBED_FAMILIES, family_of
from ..request import Request
from . import _common as c
from . import _features as f
from ._common import Decoded
from .converse import converse_kwargs

from ._anthropic import Anthropic  # the Claude Messages body (with its images and --schema)
from ._codec import DEFAULT_MAX_TOKENS, Codec, Piece, StreamState, _refuse, _settings, base64_media  # noqa: F401 - the codec interface


# --------------------------------------------------------------------------------------------------
# Amazon Nova (messages-v1: Converse's shape)
# --------------------------------------------------------------------------------------------------


class Nova(Codec):
    family = "nova"

    def encode(self, request: Request) -> dict[str, Any]:
        kwargs = converse_kwargs(request)  # with --schema, the forced tool in toolConfig (converse_fields)
        body: dict[str, Any] = {"schemaVersion": "messages-v1", "messages": base64_media(kwargs["messages"])}
        for key in ("system", "inferenceConfig", "toolConfig"):
            if key in kwargs:
                body[key] = kwargs[key]
        return body

    def decode(self, body: dict[str, Any]) -> Decoded:
        message = (body.get("output") or {}).get("message") or {}
        text = "".join(b.get("text", "") for b in message.get("content") or ())
        calls = [{"id": b["toolUse"].get("toolUseId", ""), "name": b["toolUse"].get("name", ""),
                  "input": b["toolUse"].get("input") or {}} for b in message.get("content") or () if "toolUse" in b]
        u = body.get("usage") or {}
        # Nova 2 Lite's reasoning: a reasoningContent block, "[REDACTED]" (nova2-userguide/reasoning-capabilities.html)
        return Decoded(text, calls, body.get("stopReason"), u.get("inputTokens"), u.get("outputTokens"),
                       reasoning=f.converse_reasoning(message) or "")

    def stream(self) -> StreamState:
        return _NovaStream()


class _NovaStream(StreamState):
    def __init__(self) -> None:
        super().__init__()
        self.tools: dict[int, dict[str, Any]] = {}

    def _feed(self, chunk: dict[str, Any]) -> Piece:
        d = self.decoded
        if "contentBlockStart" in chunk:
            start = chunk["contentBlockStart"]
            tool = (start.get("start") or {}).get("toolUse")
            if tool:
                self.tools[start.get("contentBlockIndex", 0)] = {"id": tool.get("toolUseId", ""),
                                                                  "name": tool.get("name", ""), "json": ""}
        elif "contentBlockDelta" in chunk:
            event = chunk["contentBlockDelta"]
            delta = event.get("delta") or {}
            if "text" in delta:
                return delta["text"]
            if "reasoningContent" in delta:
                # This body streams reasoningContent.reasoningText.text (nova2-userguide code library,
                # "InvokeModel API with reasoning"); ConverseStream's reasoningContent.text is read too.
                piece = delta["reasoningContent"] or {}
                return Thinking((piece.get("reasoningText") or {}).get("text") or piece.get("text") or "")
            if "toolUse" in delta:
                tool = self.tools.setdefault(event.get("contentBlockIndex", 0), {"id": "", "name": "", "json": ""})
                piece = (delta["toolUse"] or {}).get("input")
                tool["json"] += piece if isinstance(piece, str) else json.dumps(piece or {})
        elif "messageStop" in chunk:
            d.stop = chunk["messageStop"].get("stopReason")
        elif "metadata" in chunk:
            u = chunk["metadata"].get("usage") or {}
            d.input_tokens, d.output_tokens = u.get("inputTokens"), u.get("outputTokens")
        return ""

    def result(self) -> Decoded:
        self.decoded.tool_calls = [{"id": t["id"], "name": t["name"], "input": c.parse_arguments(t["json"])}
                                   for _, t in sorted(self.tools.items())]
        return super().result()


# --------------------------------------------------------------------------------------------------
# Prompt-string families: Titan Text, Llama, Mistral (text completion)
# --------------------------------------------------------------------------------------------------


def _turns(request: Request) -> list[tuple[str, str]]:
    """(role, text) per message; tool results become text (these families have no tool blocks)."""
    out = []
    for m in request.messages:
        parts = [c.text_of(m)] if c.text_of(m) else []
        parts += [c.tool_result_text(b["toolResult"]) for b in m.get("content") or () if "toolResult" in b]
        out.append((m["role"], "\n".join(parts)))
    return out


class TitanText(Codec):
    """Titan Text: one ``inputText``. A single user turn without system prompt is sent as is; a
    conversation as the documented ``User: …\\nBot: …`` transcript ending in ``Bot:``."""

    family = "titan-text"

    def encode(self, request: Request) -> dict[str, Any]:
        _refuse(request, "Titan Text", tools=True)
        turns = _turns(request)
        if len(turns) == 1 and not request.system:
            text = turns[0][1]
        else:
            lines = [request.system] if request.system else []
            lines += [f"{'User' if role == 'user' else 'Bot'}: {text}" for role, text in turns]
            text = "\n".join(lines + ["Bot:"])
        config = _settings(request, {"max_tokens": "maxTokenCount", "temperature": "temperature", "top_p": "topP",
                                     "stop": "stopSequences"})
        return {"inputText": text, "textGenerationConfig": config} if config else {"inputText": text}

    def decode(self, body: dict[str, Any]) -> Decoded:
        results = body.get("results") or [{}]
        return Decoded("".join(r.get("outputText", "") for r in results), [], results[-1].get("completionReason"),
                       body.get("inputTextTokenCount"), sum(int(r.get("tokenCount") or 0) for r in results))

    def stream(self) -> StreamState:
        return _FlatStream("outputText", "inputTextTokenCount", "totalOutputTextTokenCount", "completionReason")


class _FlatStream(StreamState):
    """Families whose every chunk is one flat object: text, running token counts, a stop reason."""

    def __init__(self, text: str, input_tokens: str, output_tokens: str, stop: str) -> None:
        super().__init__()
        self.keys = (text, input_tokens, output_tokens, stop)

    def _feed(self, chunk: dict[str, Any]) -> str:
        text, input_tokens, output_tokens, stop = self.keys
        d = self.decoded
        if chunk.get(input_tokens) is not None:
            d.input_tokens = chunk[input_tokens]
        if chunk.get(output_tokens) is not None:
            d.output_tokens = chunk[output_tokens]
        if chunk.get(stop):
            d.stop = chunk[stop]
        return chunk.get(text) or ""


class Llama(Codec):
    """Meta Llama 3/4: the chat template rendered into ``prompt``."""

    family = "llama"

    def encode(self, request: Request) -> dict[str, Any]:
        _refuse(request, "Meta Llama", tools=True, stop=True)
        parts = ["<|begin_of_text|>"]
        if request.system:
            parts.append(f"<|start_header_id|>system<|end_header_id|>\n\n{request.system}<|eot_id|>")
        for role, text in _turns(request):
            parts.append(f"<|start_header_id|>{role}<|end_header_id|>\n\n{text}<|eot_id|>")
        parts.append("<|start_header_id|>assistant<|end_header_id|>\n\n")
        body = {"prompt": "".join(parts)}
        body.update(_settings(request, {"max_tokens": "max_gen_len", "temperature": "temperature", "top_p": "top_p"}))
        return body

    def decode(self, body: dict[str, Any]) -> Decoded:
        return Decoded(body.get("generation") or "", [], body.get("stop_reason"), body.get("prompt_token_count"),
                       body.get("generation_token_count"))

    def stream(self) -> StreamState:
        return _FlatStream("generation", "prompt_token_count", "generation_token_count", "stop_reason")


class Mistral(Codec):
    """Mistral text completion: ``<s>[INST] … [/INST]``. Mistral's template has no system role; the
    system prompt opens the first turn inside ``<<SYS>>…<</SYS>>`` (the Llama 2 markers these
    instruct models understand), so it stays distinguishable from the user's text."""

    family = "mistral"
    label = "Mistral text-completion"
    output_key = "outputs"  # the list of {"text", "stop_reason"} in a response and in each stream chunk

    def prompt(self, request: Request) -> str:
        """The templated prompt of the conversation."""
        prompt, pending_system = "<s>", request.system
        for role, text in _turns(request):
            if role == "user":
                if pending_system:
                    text, pending_system = f"<<SYS>>\n{pending_system}\n<</SYS>>\n\n{text}", None
                prompt += f"[INST] {text} [/INST]"
            else:
                prompt += f"{text}</s>"
        return prompt

    def encode(self, request: Request) -> dict[str, Any]:
        _refuse(request, self.label, tools=True)
        body = {"prompt": self.prompt(request)}
        body.update(_settings(request, {"max_tokens": "max_tokens", "temperature": "temperature", "top_p": "top_p",
                                        "stop": "stop"}))
        return body

    def decode(self, body: dict[str, Any]) -> Decoded:
        outputs = body.get(self.output_key) or [{}]
        return Decoded("".join(o.get("text", "") for o in outputs), [], outputs[-1].get("stop_reason"))

    def stream(self) -> StreamState:
        return _MistralStream(self.output_key)


class _MistralStream(StreamState):
    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key  # the list of {"text", "stop_reason"} in each chunk

    def _feed(self, chunk: dict[str, Any]) -> str:
        outputs = chunk.get(self.key) or []
        text = "".join(o.get("text", "") for o in outputs)
        for o in outputs:
            if o.get("stop_reason"):
                self.decoded.stop = o["stop_reason"]
        return text


class DeepSeekR1(Mistral):
    """DeepSeek-R1 text completion (AWS, *DeepSeek models*, model-parameters-deepseek.html): DeepSeek's
    ``<｜User｜>``/``<｜Assistant｜>`` template in ``prompt``; ``choices[]`` of ``{"text", "stop_reason"}`` out."""

    family = "deepseek-r1"
    label = "DeepSeek-R1 text-completion"
    output_key = "choices"

    def prompt(self, request: Request) -> str:
        prompt = "<｜begin▁of▁sentence｜>" + (request.system or "")
        for role, text in _turns(request):
            prompt += f"<｜{'User' if role == 'user' else 'Assistant'}｜>{text}"
        return prompt + "<｜Assistant｜><think>\n"


# --------------------------------------------------------------------------------------------------
# Chat-completion bodies: Mistral chat and OpenAI-style (gpt-oss, DeepSeek, Qwen, …)
# --------------------------------------------------------------------------------------------------


class OpenAIChat(Codec):
    """An OpenAI Chat Completions body (gpt-oss and other OpenAI-style models on InvokeModel)."""

    family = "gpt-oss"
    max_tokens_name = "max_completion_tokens"

    def encode(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {"messages": c.openai_chat_messages(request)}
        body.update(_settings(request, {"max_tokens": self.max_tokens_name, "temperature": "temperature",
                                        "top_p": "top_p", "stop": "stop"}))
        if request.tools:
            body["tools"] = c.openai_chat_tools(request)
        return body

    def decode(self, body: dict[str, Any]) -> Decoded:
        choice = (body.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        u = body.get("usage") or {}
        reasoning, answer = c.split_reasoning(message.get("content") or "")  # gpt-oss: <reasoning>…</reasoning>
        return Decoded(answer, c.chat_completion_calls(message), choice.get("finish_reason") or choice.get("stop_reason"),
                       u.get("prompt_tokens"), u.get("completion_tokens"), body.get("id"),
                       reasoning=reasoning or message.get("reasoning") or message.get("reasoning_content") or "",
                       reasoning_tokens=_reasoning_tokens(u))

    def stream(self) -> StreamState:
        return _ChatStream()


class MistralChat(OpenAIChat):
    """Mistral chat completion (Mistral Large 24.07 and later): OpenAI-like messages and tools."""

    family = "mistral-chat"
    max_tokens_name = "max_tokens"


def _reasoning_tokens(usage: dict[str, Any]) -> int | None:
    """``completion_tokens_details.reasoning_tokens`` of a chat-completion usage, where reported."""
    return (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or None


class _ChatStream(StreamState):
    """Chat-completion chunks: ``choices[0].delta`` (OpenAI) or ``choices[0].message`` (Mistral).
    gpt-oss's ``<reasoning>…</reasoning>`` in the content is split off as it streams."""

    def __init__(self) -> None:
        super().__init__()
        self.tools: dict[int, dict[str, Any]] = {}
        self.inline = f.InlineReasoning()

    def _feed(self, chunk: dict[str, Any]) -> list[Piece]:
        d = self.decoded
        d.response_id = d.response_id or chunk.get("id")
        u = chunk.get("usage") or {}
        if u:
            d.input_tokens, d.output_tokens = u.get("prompt_tokens"), u.get("completion_tokens")
            d.reasoning_tokens = _reasoning_tokens(u)
        pieces: list[Piece] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or choice.get("message") or {}
            thought = delta.get("reasoning") or delta.get("reasoning_content")
            if thought:
                pieces.append(Thinking(thought))
            pieces += self.inline.feed(delta.get("content") or "")
            for i, call in enumerate(delta.get("tool_calls") or ()):
                tool = self.tools.setdefault(call.get("index", i), {"id": "", "name": "", "json": ""})
                fn = call.get("function") or {}
                tool["id"] = call.get("id") or tool["id"]
                tool["name"] = fn.get("name") or tool["name"]
                args = fn.get("arguments")
                tool["json"] += args if isinstance(args, str) else (json.dumps(args) if args else "")
            reason = choice.get("finish_reason") or choice.get("stop_reason")
            if reason:
                d.stop = reason
        return pieces

    def _finish(self) -> list[Piece]:
        return list(self.inline.finish())

    def result(self) -> Decoded:
        self.decoded.tool_calls = [{"id": t["id"], "name": t["name"], "input": c.parse_arguments(t["json"])}
                                   for _, t in sorted(self.tools.items())]
        return super().result()


# --------------------------------------------------------------------------------------------------
# Cohere Command R / R+
# --------------------------------------------------------------------------------------------------

_JSON_TO_COHERE = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "array": "list",
                   "object": "dict"}


class CohereCommand(Codec):
    """Cohere Command R chat: ``message`` + ``chat_history`` + ``preamble``; tools by name (no ids)."""

    family = "cohere-command"

    def encode(self, request: Request) -> dict[str, Any]:
        messages = list(request.messages)
        last = messages[-1] if messages else {"role": "user", "content": [{"text": ""}]}
        history = []
        for m in messages[:-1]:
            history.append({"role": "USER" if m["role"] == "user" else "CHATBOT", "message": c.text_of(m)})
        body: dict[str, Any] = {"message": c.text_of(last) if last["role"] == "user" else ""}
        if history:
            body["chat_history"] = history
        if request.system:
            body["preamble"] = request.system
        body.update(_settings(request, {"max_tokens": "max_tokens", "temperature": "temperature", "top_p": "p",
                                        "stop": "stop_sequences"}))
        if "p" in body:  # Cohere accepts 0.01 <= p <= 0.99 only
            body["p"] = min(max(body["p"], 0.01), 0.99)
        if request.tools:
            body["tools"] = [{"name": t.name, "description": t.description,
                              "parameter_definitions": _cohere_parameters(t.parameters)} for t in request.tools]
        results = [b["toolResult"] for b in last.get("content") or () if "toolResult" in b]
        if results:
            calls = {b["toolUse"]["toolUseId"]: b["toolUse"] for m in messages for b in m.get("content") or ()
                     if "toolUse" in b}
            body["tool_results"] = [
                {"call": {"name": calls.get(r["toolUseId"], {}).get("name", ""),
                          "parameters": calls.get(r["toolUseId"], {}).get("input") or {}},
                 "outputs": [{"result": c.tool_result_text(r)}]} for r in results]
        return body

    def decode(self, body: dict[str, Any]) -> Decoded:
        calls = [{"id": f"cohere-{i}", "name": call.get("name", ""), "input": call.get("parameters") or {}}
                 for i, call in enumerate(body.get("tool_calls") or ())]
        units = (body.get("meta") or {}).get("billed_units") or {}
        return Decoded(body.get("text") or "", calls, body.get("finish_reason"), units.get("input_tokens"),
                       units.get("output_tokens"), body.get("response_id") or body.get("generation_id"))

    def stream(self) -> StreamState:
        return _CohereStream(self)


def _cohere_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    required = set(schema.get("required") or ())
    return {name: {**({"description": prop["description"]} if prop.get("description") else {}),
                   "type": _JSON_TO_COHERE.get(prop.get("type", "string"), "str"), "required": name in required}
            for name, prop in (schema.get("properties") or {}).items()}


class _CohereStream(StreamState):
    def __init__(self, codec: CohereCommand) -> None:
        super().__init__()
        self.codec = codec

    def _feed(self, chunk: dict[str, Any]) -> str:
        kind = chunk.get("event_type")
        if kind == "text-generation":
            return chunk.get("text") or ""
        if kind == "tool-calls-generation":
            self.decoded.tool_calls = self.codec.decode({"tool_calls": chunk.get("tool_calls")}).tool_calls
        if kind == "stream-end" or chunk.get("is_finished"):
            self.decoded.stop = chunk.get("finish_reason") or self.decoded.stop
            final = chunk.get("response")
            if isinstance(final, dict):
                decoded = self.codec.decode(final)
                self.decoded.tool_calls = decoded.tool_calls or self.decoded.tool_calls
                self.decoded.input_tokens = decoded.input_tokens
                self.decoded.output_tokens = decoded.output_tokens
                self.decoded.response_id = decoded.response_id
        return ""


# --------------------------------------------------------------------------------------------------
# Fallback: a Converse-like body, and a decoder that recognises every family's response
# --------------------------------------------------------------------------------------------------


class Fallback(Nova):
    """For models whose family the id does not tell: send the Nova body (Converse's shape, which
    Nova, custom Nova models and Converse-compatible imports accept) and decode any known response."""

    family = "nova"
    fallback = True

    def decode(self, body: dict[str, Any]) -> Decoded:
        return _codec_for_body(body).decode(body)

    def stream(self) -> StreamState:
        return _SniffingStream()


def _codec_for_body(body: dict[str, Any]) -> Codec:
    if "output" in body:
        return Nova()
    if body.get("type") == "message" or "anthropic_version" in body:
        return Anthropic()
    if "choices" in body:
        return OpenAIChat()
    if "generation" in body:
        return Llama()
    if "outputs" in body:
        return Mistral()
    if "results" in body:
        return TitanText()
    if "finish_reason" in body or "chat_history" in body or "generation_id" in body:
        return CohereCommand()
    return Nova()


class _SniffingStream(StreamState):
    """Picks the right stream reader from the first chunk's shape."""

    def __init__(self) -> None:
        super().__init__()
        self.inner: StreamState | None = None

    def feed(self, chunk: dict[str, Any]) -> list[str | Thinking]:
        if self.inner is None:
            if "type" in chunk and str(chunk.get("type", "")).startswith(("message", "content_block")):
                self.inner = Anthropic().stream()
            elif "choices" in chunk:
                self.inner = _ChatStream()
            elif "generation" in chunk:
                self.inner = Llama().stream()
            elif "outputs" in chunk:
                self.inner = Mistral().stream()
            elif "outputText" in chunk:
                self.inner = TitanText().stream()
            elif "event_type" in chunk:
                self.inner = CohereCommand().stream()
            else:
                self.inner = Nova().stream()
        return self.inner.feed(chunk)

    def finish(self) -> list[str | Thinking]:
        return self.inner.finish() if self.inner is not None else []

    def result(self) -> Decoded:
        if self.inner is None:
            return Decoded()
        self.metrics = self.inner.metrics
        return self.inner.result()


_CODECS: dict[str, type[Codec]] = {
    "anthropic": Anthropic, "nova": Nova, "titan-text": TitanText, "llama": Llama, "mistral": Mistral,
    "deepseek-r1": DeepSeekR1, "mistral-chat": MistralChat, "cohere-command": CohereCommand, "gpt-oss": OpenAIChat,
}
_warned: set[str] = set()


class UnsupportedFamilyError(ValueError):
    """InvokeModel text generation was asked of a model that does not generate text."""


def codec_for(model_id: str, family: str | None = None) -> Codec:
    """The codec for ``model_id`` (or for ``family`` when given: the catalog's ``family`` field).

    Raises ``UnsupportedFamilyError`` for image/speech models and for embedding families (use
    ``routes.embed``); falls back to ``Fallback`` (with one warning per model) when the id tells
    no family.
    """
    family = family or family_of(model_id)
    if family in _CODECS:
        return _CODECS[family]()
    if family in EMBED_FAMILIES:
        raise UnsupportedFamilyError(f"{model_id} is an embedding model: embed a DataFrame column with "
                                     f"--df FRAME --embed COLUMN -m {model_id} (Bedrock.embed in Python)")
    if family in ("image", "speech"):
        raise UnsupportedFamilyError(f"{model_id} does not generate text ({family} model); this package sends text prompts")
    if model_id not in _warned:
        _warned.add(model_id)
        warnings.warn(
            f"InvokeModel: the body format of {model_id} is unknown (an ARN that does not name its model); "
            "sending a Converse-shaped (Amazon Nova) body. Use --api converse, or run %bedrock models first "
            "so the catalog can tell its model.", Note, stacklevel=3)
    return Fallback()
