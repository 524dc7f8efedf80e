"""The InvokeModel body formats of the local Bedrock service: one codec per model family.

A catalog entry's ``family`` names its codec in ``FAMILIES``. A codec (:class:`~.family.Family`) does three
things for its native JSON body:

* ``load``: check the request body against the family's JSON schema (errors in Bedrock's
  ``Malformed input request`` words, see :mod:`bedrock_magics.local.validation`) and normalize it
  into a :class:`~bedrock_magics.local.responder.Call`: the conversation, system text, tools and
  settings the responder reads (how each family maps is in the responder's docstring);
* ``render``: the responder's answer as the family's InvokeModel response body;
* ``chunks``: the answer as the family's InvokeModelWithResponseStream chunks (the runtime adds the
  invocation metrics to the last one).

The Claude and Nova bodies' images, videos and ``output_config`` (structured output) are checked by
:mod:`.invoke_checks` before they are read. This module holds the text families; the embedding and
image families are in :mod:`.invoke_media`.
Two output shapes come from other formats: Nova's body is Converse-shaped (:mod:`.converse`), and
the Mistral chat and gpt-oss bodies are OpenAI Chat Completions (:mod:`.chat`).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from .. import responder, tokens
from ..responder import Answer, Call, Tool
from ..validation import Violations, malformed, strict
from .chat import chat_call, chat_chunks, chat_completion, new_completion_id
from ..capabilities import capabilities
from . import features, invoke_checks
from .converse import converse_body, converse_tools, converse_usage, message_events
from .family import Family
from .invoke_media import CohereEmbed, Image, TitanEmbed

# --------------------------------------------------------------------------------------------------
# Schema pieces the families share

_UNIT = {"type": "number", "minimum": 0, "maximum": 1}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_STOP = {"type": ["string", "array"], "items": {"type": "string"}}  # OpenAI's stop: one string or several
_NAMED = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1},
                                                                 "description": {"type": "string"}}}
_OPENAI_TOOLS = {"type": "array", "items": {"type": "object", "required": ["type", "function"], "properties": {
    "type": {"enum": ["function"]},
    "function": {**_NAMED, "properties": {**_NAMED["properties"], "parameters": {"type": "object"}}}}}}


# --------------------------------------------------------------------------------------------------
# Model families: body → Call, answer → native body / native stream chunks


def _text_blocks(content: Any) -> list[dict]:
    """Converse text blocks from a string or a list of ``{"type": "text", "text"}`` parts."""
    if isinstance(content, str):
        return [{"text": content}]
    return [{"text": p["text"]} for p in content or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]


def _tool_choice_name(choice: Any) -> str:
    """Anthropic / Converse-like tool choice objects → responder tool choice."""
    if not isinstance(choice, dict):
        return "auto"
    kind = choice.get("type")
    return {"any": "any", "none": "none", "tool": choice.get("name") or "auto"}.get(kind, "auto")


def _claude_model_name(model_id: str) -> str:
    return re.sub(r"-v\d+(:\d+)?$", "", model_id.removeprefix("anthropic."))


class Anthropic(Family):
    """Anthropic Claude Messages API bodies (``anthropic_version``, ``max_tokens``, ``messages``…)."""

    #: InvokeModel takes no ``document`` blocks (``invoke_checks``); mantle's Messages API does.
    takes_documents = False

    schema = strict(
        ["anthropic_version", "max_tokens", "messages"],
        anthropic_version={"type": "string"}, anthropic_beta=_STRINGS,
        max_tokens={"type": "integer", "minimum": 1},
        messages={"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["role", "content"],
            "properties": {"role": {"enum": ["user", "assistant"]}, "content": {"type": ["string", "array"]}}}},
        system={"type": ["string", "array"]}, temperature=_UNIT, top_p=_UNIT,
        top_k={"type": "integer", "minimum": 0}, stop_sequences=_STRINGS,
        tools={"type": "array", "items": {**_NAMED, "properties": {**_NAMED["properties"],
                                                                   "input_schema": {"type": "object"}}}},
        tool_choice={"type": "object"}, metadata={"type": "object"}, thinking={"type": "object"},
        output_config={"type": "object", "additionalProperties": False, "properties": {"format": {"type": "object"}}},
    )

    def parse(self, body: dict, model: dict) -> Call:
        invoke_checks.check_claude(body, capabilities(model), self.takes_documents)  # images, documents, output_config
        messages = []
        for m in body["messages"]:
            content = m["content"]
            blocks: list[dict] = []
            for part in ([{"type": "text", "text": content}] if isinstance(content, str) else content):
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text":
                    blocks.append({"text": part.get("text", "")})
                elif kind == "tool_use":
                    blocks.append({"toolUse": {"toolUseId": part.get("id"), "name": part.get("name"),
                                               "input": part.get("input", {})}})
                elif kind == "tool_result":
                    blocks.append({"toolResult": {"toolUseId": part.get("tool_use_id"),
                                                  "content": _text_blocks(part.get("content"))}})
                elif kind in ("image", "document"):
                    media = features.anthropic_media(part)
                    blocks += [media] if media else []
                point = features.anthropic_cache_point(part)
                blocks += [point] if point else []
            messages.append({"role": m["role"], "content": blocks})
        system = body.get("system")
        tools = [Tool(t.get("name", ""), t.get("description") or "", t.get("input_schema") or {})
                 for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")]
        call = Call(model, messages, responder.system_text(_text_blocks(system)) if system else "", tools,
                    _tool_choice_name(body.get("tool_choice")), body["max_tokens"], body.get("stop_sequences") or [])
        call.reasoning = features.claude_thinking(model, body.get("thinking"))
        call.schema = features.anthropic_output_schema(body.get("output_config"))
        call.cache_marks = self._cache_marks(body)
        return call

    @staticmethod
    def _cache_marks(body: dict) -> dict:
        """The ``cache_control`` marks of the system blocks and tools (as Converse cache points)."""
        marks: dict[str, list] = {}
        texts: list[str] = []
        for block in body.get("system") if isinstance(body.get("system"), list) else []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                texts.append(block["text"])
            point = features.anthropic_cache_point(block)
            if point:
                marks.setdefault("system", []).append((len("\n".join(texts)), point["cachePoint"].get("ttl", "5m")))
        named = [t for t in body.get("tools") or [] if isinstance(t, dict) and t.get("name")]
        for i, tool in enumerate(named):
            point = features.anthropic_cache_point(tool)
            if point:
                marks.setdefault("tools", []).append((i + 1, point["cachePoint"].get("ttl", "5m")))
        return marks

    @staticmethod
    def _text_blocks(call: Call) -> list[dict]:
        """The answer's text blocks: one, or the lead and the cited text with its citation."""
        answer = call.answer
        if answer.citation:
            c = answer.citation
            return [{"type": "text", "text": c["lead"]}, {"type": "text", "text": c["text"], "citations": [{
                "type": "char_location", "cited_text": c["text"], "document_index": c["document_index"],
                "document_title": c["title"], "start_char_index": c["start"], "end_char_index": c["end"]}]}]
        return [{"type": "text", "text": answer.text}] if answer.text else []

    def _content(self, call: Call) -> list[dict]:
        answer, content = call.answer, []
        if answer.reasoning:
            content.append({"type": "thinking", "thinking": answer.reasoning, "signature": answer.signature})
        content += self._text_blocks(call)
        if answer.tool_call:
            tc = answer.tool_call
            content.append({"type": "tool_use", "id": answer.tool_call_id("toolu_bdrk_"), "name": tc["name"],
                            "input": tc["input"]})
        return content

    def _message(self, call: Call, content: list[dict], stop_reason: str | None, output_tokens: int) -> dict:
        answer = call.answer
        return {"id": call.extra.setdefault("id", "msg_bdrk_" + uuid.uuid4().hex[:24]), "type": "message",
                "role": "assistant", "model": _claude_model_name(call.model_id), "content": content,
                "stop_reason": stop_reason, "stop_sequence": answer.stop_sequence if stop_reason else None,
                "usage": {"input_tokens": answer.input_tokens, "output_tokens": output_tokens,
                          "cache_creation_input_tokens": answer.cache.write,
                          "cache_read_input_tokens": answer.cache.read}}

    def render(self, call: Call) -> dict:
        return self._message(call, self._content(call), call.answer.stop_reason, call.answer.output_tokens)

    def chunks(self, call: Call) -> list[dict]:
        answer = call.answer
        out: list[dict] = [{"type": "message_start", "message": self._message(call, [], None, 1)}]
        index = 0
        if answer.reasoning:
            out.append({"type": "content_block_start", "index": index,
                        "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
            out += [{"type": "content_block_delta", "index": index, "delta": {"type": "thinking_delta", "thinking": p}}
                    for p in answer.reasoning_chunks()]
            out.append({"type": "content_block_delta", "index": index,
                        "delta": {"type": "signature_delta", "signature": answer.signature}})
            out.append({"type": "content_block_stop", "index": index})
            index += 1
        for block in self._text_blocks(call):  # the cited text streams its citation first (citations_delta)
            out.append({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
            out += [{"type": "content_block_delta", "index": index, "delta": {"type": "citations_delta", "citation": c}}
                    for c in block.get("citations", [])]
            out += [{"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}}
                    for piece in responder.deltas(block["text"], family=answer.family)]
            out.append({"type": "content_block_stop", "index": index})
            index += 1
        if answer.tool_call:
            tc = answer.tool_call
            out.append({"type": "content_block_start", "index": index, "content_block": {
                "type": "tool_use", "id": answer.tool_call_id("toolu_bdrk_"), "name": tc["name"], "input": {}}})
            out += [{"type": "content_block_delta", "index": index,
                     "delta": {"type": "input_json_delta", "partial_json": fragment}}
                    for fragment in answer.tool_input_fragments()]
            out.append({"type": "content_block_stop", "index": index})
        out.append({"type": "message_delta", "delta": {"stop_reason": answer.stop_reason,
                                                       "stop_sequence": answer.stop_sequence},
                    "usage": {"output_tokens": answer.output_tokens}})
        out.append({"type": "message_stop"})
        return out


class Nova(Family):
    """Amazon Nova understanding models: a Converse-like body with ``schemaVersion: messages-v1``."""

    schema = strict(
        ["messages"], schemaVersion={"type": "string"}, system={"type": "array"},
        messages={"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["role", "content"],
            "properties": {"role": {"enum": ["user", "assistant"]},
                           "content": {"type": "array", "items": {"type": "object"}}}}},
        inferenceConfig={"type": "object", "properties": {
            "maxTokens": {"type": "integer", "minimum": 1}, "max_new_tokens": {"type": "integer", "minimum": 1},
            "temperature": _UNIT, "topP": _UNIT, "topK": {"type": "integer", "minimum": 0},
            "stopSequences": _STRINGS}},
        toolConfig={"type": "object"},
    )

    def parse(self, body: dict, model: dict) -> Call:
        invoke_checks.check_nova(body, capabilities(model))  # images and videos as base64; no documents
        cfg = body.get("inferenceConfig") or {}
        errors = Violations()
        tools, choice = converse_tools(body.get("toolConfig"), errors)
        if errors.items:
            raise malformed(*(f"#/toolConfig: {e}" for e in errors.items))
        call = Call(model, body["messages"], responder.system_text(body.get("system")), tools, choice,
                    cfg.get("maxTokens", cfg.get("max_new_tokens")), cfg.get("stopSequences") or [])
        call.cache_marks = features.converse_cache_marks(body)
        return call

    def render(self, call: Call) -> dict:
        return converse_body(call.answer, "InputTokenCount")

    def chunks(self, call: Call) -> list[dict]:
        out = [{kind: payload} for kind, payload in message_events(call.answer)]
        return out + [{"metadata": {"usage": converse_usage(call.answer, "InputTokenCount"), "metrics": {},
                                    "trace": {}}}]


class TitanText(Family):
    """Amazon Titan Text: ``inputText`` + ``textGenerationConfig``."""

    schema = strict(
        ["inputText"], inputText={"type": "string"},
        textGenerationConfig={"type": "object", "additionalProperties": False, "properties": {
            "temperature": _UNIT, "topP": _UNIT, "maxTokenCount": {"type": "integer", "minimum": 0},
            "stopSequences": _STRINGS}},
    )
    REASONS = {"end_turn": "FINISH", "max_tokens": "LENGTH", "stop_sequence": "STOP_CRITERIA_MET"}

    def parse(self, body: dict, model: dict) -> Call:
        cfg = body.get("textGenerationConfig") or {}
        return Call(model, [{"role": "user", "content": [{"text": body["inputText"]}]}],
                    max_tokens=cfg.get("maxTokenCount"), stop=cfg.get("stopSequences") or [])

    def render(self, call: Call) -> dict:
        a = call.answer
        return {"inputTextTokenCount": a.input_tokens, "results": [
            {"tokenCount": a.output_tokens, "outputText": a.text, "completionReason": self.REASONS[a.stop_reason]}]}

    def chunks(self, call: Call) -> list[dict]:
        a, pieces = call.answer, _pieces(call.answer)
        out = []
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            out.append({"outputText": piece, "index": 0,
                        "totalOutputTextTokenCount": a.output_tokens if last else None,
                        "completionReason": self.REASONS[a.stop_reason] if last else None,
                        "inputTextTokenCount": a.input_tokens if i == 0 else None})
        return out


_LLAMA_TURN = re.compile(r"<\|start_header_id\|>(\w+)<\|end_header_id\|>(.*?)(?=<\|eot_id\|>|<\|start_header_id\|>|$)",
                         re.S)
_INST_TURN = re.compile(r"\[INST\](.*?)\[/INST\](.*?)(?=\[INST\]|$)", re.S)
_SYS = re.compile(r"<<SYS>>(.*?)<</SYS>>", re.S)
# DeepSeek-R1's template: <｜System｜>…<｜User｜>…<｜Assistant｜>… (full-width bars as DeepSeek writes them, ASCII
# bars as langchain-aws writes them)
_DEEPSEEK_TURN = re.compile(r"<[|｜](System|User|Assistant)[|｜]>(.*?)(?=<[|｜](?:System|User|Assistant)[|｜]>|$)", re.S)
_DEEPSEEK_NOISE = re.compile(r"<[|｜](?:begin[▁_]of[▁_]sentence|end[▁_]of[▁_]sentence)[|｜]>|</?think>")


def prompt_conversation(prompt: str) -> tuple[str, list[dict]]:
    """(system, messages) from a templated prompt: Llama 3 headers, ``[INST]`` turns, DeepSeek's
    ``<｜User｜>`` turns, or plain text."""
    def msg(role: str, text: str) -> dict:
        return {"role": role, "content": [{"text": text}]}

    system, messages = "", []
    turns = _LLAMA_TURN.findall(prompt)
    if turns:
        for role, text in turns:
            text = text.strip()
            if role == "system":
                system = text
            elif text:  # the empty assistant header at the end is the generation cue
                messages.append(msg("assistant" if role == "assistant" else "user", text))
        return system, messages
    turns = _INST_TURN.findall(prompt)
    if turns:
        for user, reply in turns:
            found = _SYS.search(user)
            if found:
                system, user = found.group(1).strip(), _SYS.sub("", user)
            messages.append(msg("user", user.strip()))
            reply = reply.replace("</s>", "").replace("<s>", "").strip()
            if reply:
                messages.append(msg("assistant", reply))
        return system, messages
    turns = _DEEPSEEK_TURN.findall(prompt)
    if turns:
        # DeepSeek's own template puts the system prompt untagged before the first turn
        system = _DEEPSEEK_NOISE.sub("", prompt[:_DEEPSEEK_TURN.search(prompt).start()]).strip()
        for role, text in turns:
            text = _DEEPSEEK_NOISE.sub("", text).strip()
            if role == "System":
                system = text
            elif text:  # the empty assistant turn at the end is the generation cue
                messages.append(msg(role.lower(), text))
        return system, messages
    return "", [msg("user", prompt.replace("<|begin_of_text|>", "").strip())]


def _finish(answer: Answer) -> str:
    """The stop reason of the Llama and Mistral text-completion bodies."""
    return "length" if answer.stop_reason == "max_tokens" else "stop"


def _pieces(answer: Answer) -> list[str]:
    """The text deltas of a text-completion stream (one empty delta for an empty text)."""
    return answer.chunks() or [""]


class Llama(Family):
    """Meta Llama: a templated ``prompt`` with ``max_gen_len``."""

    schema = strict(["prompt"], prompt={"type": "string"}, temperature=_UNIT, top_p=_UNIT,
                    max_gen_len={"type": "integer", "minimum": 1, "maximum": 2048}, images=_STRINGS)

    def parse(self, body: dict, model: dict) -> Call:
        system, messages = prompt_conversation(body["prompt"])
        return Call(model, messages, system, max_tokens=body.get("max_gen_len"))

    def render(self, call: Call) -> dict:
        a = call.answer
        return {"generation": a.text, "prompt_token_count": a.input_tokens,
                "generation_token_count": a.output_tokens, "stop_reason": _finish(a)}

    def chunks(self, call: Call) -> list[dict]:
        a, pieces = call.answer, _pieces(call.answer)
        out, produced = [], 0
        for i, piece in enumerate(pieces):
            produced += tokens.count(piece, call.family)
            out.append({"generation": piece, "prompt_token_count": a.input_tokens if i == 0 else None,
                        "generation_token_count": produced,
                        "stop_reason": _finish(a) if i == len(pieces) - 1 else None})
        return out


class Mistral(Family):
    """Mistral text completion: ``<s>[INST] … [/INST]`` prompt."""

    schema = strict(["prompt"], prompt={"type": "string"}, max_tokens={"type": "integer", "minimum": 1},
                    stop=_STRINGS, temperature=_UNIT, top_p=_UNIT, top_k={"type": "integer", "minimum": 0})
    output_key = "outputs"  # the list of ``{"text", "stop_reason"}`` in the response

    def parse(self, body: dict, model: dict) -> Call:
        system, messages = prompt_conversation(body["prompt"])
        return Call(model, messages, system, max_tokens=body.get("max_tokens"), stop=body.get("stop") or [])

    def render(self, call: Call) -> dict:
        return {self.output_key: [{"text": call.answer.text, "stop_reason": _finish(call.answer)}]}

    def chunks(self, call: Call) -> list[dict]:
        pieces, reason = _pieces(call.answer), _finish(call.answer)
        return [{self.output_key: [{"text": p, "stop_reason": reason if i == len(pieces) - 1 else None}]}
                for i, p in enumerate(pieces)]


class DeepSeekR1(Mistral):
    """DeepSeek-R1: ``prompt``, ``max_tokens``, ``temperature``, ``top_p``, ``stop`` in; ``choices[]`` of
    ``{"text", "stop_reason"}`` out (AWS, *DeepSeek models*, model-parameters-deepseek.html)."""

    schema = strict(["prompt"], prompt={"type": "string"}, max_tokens={"type": "integer", "minimum": 1},
                    stop=_STRINGS, temperature=_UNIT, top_p=_UNIT)
    output_key = "choices"


# -- OpenAI Chat bodies (the shapes are in .chat) -----------------------------------------------------


class ChatBody(Family):
    """A family whose body is an OpenAI Chat Completions request, answered with ``chat.completion``
    objects (``chat.completion.chunk`` when streaming)."""

    reason_key = "finish_reason"
    stream_usage = False  # whether the stream ends with a usage chunk
    inline_reasoning = False  # reasoning in the content as <reasoning>…</reasoning> (gpt-oss)

    def new_id(self) -> str:
        """The id of a new completion."""
        return new_completion_id()

    def parse(self, body: dict, model: dict) -> Call:
        try:
            return chat_call(body, model)
        except ValueError as exc:
            raise malformed(f"#/messages: {exc}") from None

    def render(self, call: Call) -> dict:
        return chat_completion(call.answer, call.model_id, self.new_id(), reason_key=self.reason_key,
                               inline=self.inline_reasoning)

    def chunks(self, call: Call) -> list[dict]:
        return chat_chunks(call.answer, call.model_id, self.new_id(), reason_key=self.reason_key,
                           include_usage=self.stream_usage, inline=self.inline_reasoning)


class MistralChat(ChatBody):
    """Mistral chat completion (Mistral Large 2407 and later): OpenAI-like messages; ``stop_reason``."""

    schema = strict(["messages"], messages={"type": "array", "minItems": 1, "items": {"type": "object"}},
                    tools=_OPENAI_TOOLS, tool_choice={"type": ["string", "object"]},
                    max_tokens={"type": "integer", "minimum": 1}, top_p=_UNIT, temperature=_UNIT,
                    response_format={"type": "object"}, stop=_STOP)

    reason_key = "stop_reason"

    def new_id(self) -> str:
        return uuid.uuid4().hex  # Mistral's ids have no prefix


class GptOss(ChatBody):
    """OpenAI-compatible models (gpt-oss, DeepSeek, Qwen…): an OpenAI Chat Completions request body."""

    schema = {"type": "object", "required": ["messages"], "properties": {
        "model": {"type": "string"}, "messages": {"type": "array", "minItems": 1, "items": {"type": "object"}},
        "max_completion_tokens": {"type": "integer", "minimum": 1}, "max_tokens": {"type": "integer", "minimum": 1},
        "temperature": {"type": "number", "minimum": 0, "maximum": 2}, "top_p": _UNIT,
        "stream": {"type": "boolean"}, "stop": _STOP, "tools": _OPENAI_TOOLS,
        "reasoning_effort": {"enum": ["low", "medium", "high"]}, "response_format": {"type": "object"}}}
    stream_usage = True
    inline_reasoning = True

    def load(self, body: Any, model: dict, streaming: bool = False) -> Call:
        call = super().load(body, model, streaming)
        if body.get("stream") and not streaming:
            raise malformed("#/stream: stream must be false or omitted for InvokeModel")
        if body.get("model") not in (None, model["modelId"], model.get("mantleId")):
            raise malformed(f"#/model: the model in the body must match the model ID {model['modelId']} or be omitted")
        return call


_COHERE_TYPES = {"str": "string", "string": "string", "int": "integer", "integer": "integer",
                 "float": "number", "number": "number", "bool": "boolean", "boolean": "boolean",
                 "list": "array", "dict": "object"}


class CohereCommand(Family):
    """Cohere Command R / R+: ``message`` + ``chat_history`` + ``preamble``; tools with parameter_definitions."""

    schema = strict(
        ["message"], message={"type": "string"},
        chat_history={"type": "array", "items": {"type": "object", "required": ["role"], "properties": {
            "role": {"enum": ["USER", "CHATBOT", "SYSTEM", "TOOL"]}}}},
        documents={"type": "array"}, preamble={"type": "string"}, max_tokens={"type": "integer", "minimum": 1},
        temperature=_UNIT, p={"type": "number", "minimum": 0.01, "maximum": 0.99},
        k={"type": "integer", "minimum": 0, "maximum": 500},
        stop_sequences={"type": "array", "maxItems": 4, "items": {"type": "string"}},
        seed={"type": "integer"},
        tools={"type": "array", "items": {**_NAMED, "properties": {
            **_NAMED["properties"], "parameter_definitions": {"type": "object", "additionalProperties": {
                "type": "object"}}}}},
        tool_results={"type": "array", "items": {"type": "object", "properties": {
            "call": {"type": "object", "properties": {"name": {"type": "string"}, "parameters": {"type": "object"}}},
            "outputs": {"type": "array", "items": {"type": "object"}}}}},
        search_queries_only={"type": "boolean"}, return_prompt={"type": "boolean"}, raw_prompting={"type": "boolean"},
        force_single_step={"type": "boolean"}, frequency_penalty=_UNIT, presence_penalty=_UNIT,
        prompt_truncation={"enum": ["OFF", "AUTO_PRESERVE_ORDER"]},
    )

    def parse(self, body: dict, model: dict) -> Call:
        system = [body["preamble"]] if body.get("preamble") else []
        messages: list[dict] = []
        for turn in body.get("chat_history") or []:
            text = turn.get("message") or ""
            if turn["role"] == "SYSTEM":
                system.append(text)
            elif text:
                messages.append({"role": "assistant" if turn["role"] == "CHATBOT" else "user",
                                 "content": [{"text": text}]})
        if body["message"]:
            messages.append({"role": "user", "content": [{"text": body["message"]}]})
        results = body.get("tool_results") or []
        if results:  # the second step of tool use: the calls made, then their outputs
            uses, outs = [], []
            for i, result in enumerate(results):
                call_ = result.get("call") or {}
                uid = f"cohere_call_{i}"
                uses.append({"toolUse": {"toolUseId": uid, "name": call_.get("name", ""),
                                         "input": call_.get("parameters", {})}})
                outs.append({"toolResult": {"toolUseId": uid, "content": [{"json": o} for o in result.get("outputs") or []]}})
            messages += [{"role": "assistant", "content": uses}, {"role": "user", "content": outs}]
        tools = []
        for t in body.get("tools") or []:
            defs = t.get("parameter_definitions") or {}
            props = {n: {"type": _COHERE_TYPES.get(str(d.get("type", "str")).lower(), "string"),
                         **({"description": d["description"]} if d.get("description") else {})} for n, d in defs.items()}
            required = [n for n, d in defs.items() if d.get("required")]
            tools.append(Tool(t.get("name", ""), t.get("description") or "",
                              {"type": "object", "properties": props, **({"required": required} if required else {})}))
        return Call(model, messages, "\n".join(system), tools, "auto", body.get("max_tokens"),
                    body.get("stop_sequences") or [], extra={"history": body.get("chat_history") or [],
                                                             "message": body["message"]})

    REASONS = {"end_turn": "COMPLETE", "tool_use": "COMPLETE", "max_tokens": "MAX_TOKENS",
               "stop_sequence": "STOP_SEQUENCE"}

    def render(self, call: Call) -> dict:
        a = call.answer
        history = list(call.extra["history"]) + [{"role": "USER", "message": call.extra["message"]}]
        out: dict[str, Any] = {
            "response_id": call.extra.setdefault("response_id", str(uuid.uuid4())), "text": a.text,
            "generation_id": call.extra.setdefault("generation_id", str(uuid.uuid4())),
            "finish_reason": self.REASONS[a.stop_reason],
            "meta": {"api_version": {"version": "1"},
                     "billed_units": {"input_tokens": a.input_tokens, "output_tokens": a.output_tokens}},
        }
        if a.tool_call:
            out["tool_calls"] = [{"name": a.tool_call["name"], "parameters": a.tool_call["input"]}]
            history.append({"role": "CHATBOT", "message": a.text, "tool_calls": out["tool_calls"]})
        else:
            history.append({"role": "CHATBOT", "message": a.text})
        out["chat_history"] = history
        return out

    def chunks(self, call: Call) -> list[dict]:
        a, final = call.answer, self.render(call)
        out = [{"is_finished": False, "event_type": "stream-start", "generation_id": final["generation_id"]}]
        out += [{"is_finished": False, "event_type": "text-generation", "text": p} for p in a.chunks()]
        if a.tool_call:
            out.append({"is_finished": False, "event_type": "tool-calls-generation", "text": a.text,
                        "tool_calls": final["tool_calls"]})
        out.append({"is_finished": True, "event_type": "stream-end", "finish_reason": final["finish_reason"],
                    "response": final})
        return out


#: The InvokeModel body codec of each catalog ``family``.
FAMILIES: dict[str, Family] = {
    "anthropic": Anthropic(), "nova": Nova(), "titan-text": TitanText(), "llama": Llama(), "mistral": Mistral(),
    "deepseek-r1": DeepSeekR1(), "mistral-chat": MistralChat(), "cohere-command": CohereCommand(), "gpt-oss": GptOss(),
    "titan-embed": TitanEmbed(), "cohere-embed": CohereEmbed(), "image": Image(),
}


def family(model: dict) -> Family:
    """The codec of a catalog entry."""
    return FAMILIES[model["family"]]


def load(model: dict, body: Any, streaming: bool = False) -> Call:
    """An InvokeModel body for ``model``, checked and normalized by its family's codec."""
    return family(model).load(body, model, streaming)
