"""Helpers shared by the route modules: timing, stop reasons, tool blocks, OpenAI message shapes,
stream request ids and the error for a stream that ends too early.

Nothing here does I/O. The conversation arrives in Converse's shape (see ``request.py``); the
OpenAI-shaped converters are used by chat.py, responses.py and the invoke codecs whose bodies are
OpenAI/Mistral chat bodies.
"""

from __future__ import annotations

import json
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from ..errors import BedrockError
from ..modelids import family_of
from ..reply import Reply
from ..request import Request


@dataclass
class Decoded:
    """What a response body (or an assembled stream) says, in wire-neutral terms."""

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    stop: Any = None  # the wire's own stop reason
    input_tokens: int | None = None
    output_tokens: int | None = None
    response_id: str | None = None
    reasoning: str = ""  # the model's thinking, apart from the answer
    # The thinking as Converse reasoningContent blocks to keep in the history (Claude's signed or
    # redacted thinking, which Anthropic wants sent back on a tool-use follow-up); [] when none.
    reasoning_blocks: list[dict[str, Any]] = field(default_factory=list)
    reasoning_tokens: int | None = None  # where the body reports them


# Every wire's stop/finish reason, lower-cased, -> Converse's vocabulary.
_STOP = {
    "end_turn": "end_turn", "stop": "end_turn", "complete": "end_turn", "finish": "end_turn",
    "finished": "end_turn", "completed": "end_turn", "eos": "end_turn", "eos_token": "end_turn",
    "endoftext": "end_turn",
    "max_tokens": "max_tokens", "length": "max_tokens", "max_output_tokens": "max_tokens",
    "max_tokens_reached": "max_tokens", "max_tokens_limit": "max_tokens",
    "stop_sequence": "stop_sequence", "stop_criteria_met": "stop_sequence",
    "tool_use": "tool_use", "tool_calls": "tool_use", "function_call": "tool_use", "tool_call": "tool_use",
    "content_filter": "content_filtered", "content_filtered": "content_filtered",
    "error_toxic": "content_filtered", "guardrail_intervened": "guardrail_intervened",
    "model_context_window_exceeded": "model_context_window_exceeded",
}


def body_family(request: Request) -> str | None:
    """The InvokeModel body family of the request's model: the catalog's (``extra["family"]``), else
    the one its id names (``modelids.family_of``)."""
    return request.extra.get("family") or family_of(request.model)


def normalize_stop(raw: Any) -> str | None:
    """A stop reason from any wire format in Converse's terms (``end_turn``, ``max_tokens``,
    ``stop_sequence``, ``tool_use``, …); unknown values are passed through lower-cased."""
    if raw is None or raw == "":
        return None
    key = str(raw).strip().lower()
    return _STOP.get(key, key)


class Clock:
    """Wall-clock latency of one call, in milliseconds."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def ms(self) -> float:
        """Milliseconds since the clock was made."""
        return round((time.perf_counter() - self.start) * 1000.0, 3)


def usage(input_tokens: Any, output_tokens: Any, total: Any = None, more: dict[str, int] | None = None) -> dict[str, int]:
    """The Reply usage dict (``total_tokens`` computed when the wire leaves it out); ``more`` adds
    the cache and reasoning counts a wire reports (``routes._features``)."""
    i, o = int(input_tokens or 0), int(output_tokens or 0)
    return {"input_tokens": i, "output_tokens": o, "total_tokens": int(total) if total else i + o, **(more or {})}


def assistant_message(text: str, tool_calls: Iterable[dict[str, Any]] = (),
                      reasoning_blocks: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """The assistant turn in Converse's shape (reasoningContent blocks, text block, then toolUse blocks)."""
    content: list[dict[str, Any]] = [*reasoning_blocks, *([{"text": text}] if text else [])]
    content += [{"toolUse": {"toolUseId": c["id"], "name": c["name"], "input": c["input"]}} for c in tool_calls]
    return {"role": "assistant", "content": content or [{"text": ""}]}


def reply(request: Request, api: str, *, text: str, usage_: dict[str, int], stop_raw: Any, raw: Any,
          latency_ms: float, request_id: str | None = None, response_id: str | None = None,
          tool_calls: list[dict[str, Any]] | None = None, streamed: bool = False,
          stop: str | None = None, reasoning: str | None = None,
          reasoning_blocks: Iterable[dict[str, Any]] = ()) -> Reply:
    """A successful Reply with every field a route fills (``reasoning_blocks``: the thinking to keep
    in the assistant turn, see ``Decoded``)."""
    calls = list(tool_calls or [])
    stop_reason = stop or normalize_stop(stop_raw)
    if calls and stop_reason in (None, "end_turn"):
        stop_reason = "tool_use"
    return Reply(
        text=text, model=request.model, region=request.region, endpoint=request.endpoint, api=api,
        usage=usage_, latency_ms=latency_ms, stop_reason=stop_reason, raw=raw, request_id=request_id,
        response_id=response_id, tool_calls=calls, message=assistant_message(text, calls, reasoning_blocks),
        streamed=streamed,
        reasoning=reasoning or None,
    )


def parse_arguments(arguments: Any) -> Any:
    """Tool-call arguments (a JSON string on the OpenAI wires) as an object; ``{}`` when empty."""
    if isinstance(arguments, (dict, list)):
        return arguments
    if not arguments:
        return {}
    try:
        return json.loads(arguments)
    except ValueError:
        return {"_raw": arguments}  # keep what the model said rather than lose it


def tool_result_text(result: dict[str, Any]) -> str:
    """The text of a Converse ``toolResult`` (JSON parts serialised compactly)."""
    # Space-joined, JSON with sorted keys: the same text whichever wire carries the result.
    parts = []
    for item in result.get("content") or ():
        if "text" in item:
            parts.append(str(item["text"]))
        elif "json" in item:
            parts.append(json.dumps(item["json"], sort_keys=True, ensure_ascii=False))
    return " ".join(parts)


def text_of(message: dict[str, Any]) -> str:
    """The text blocks of one Converse message, joined."""
    return "".join(b["text"] for b in message.get("content") or () if "text" in b)


def openai_chat_messages(request: Request, system_role: str = "system") -> list[dict[str, Any]]:
    """The conversation as OpenAI Chat Completions messages.

    ``toolUse`` blocks become the assistant's ``tool_calls``; each ``toolResult`` block becomes a
    ``{"role": "tool", "tool_call_id", "content"}`` message (placed before any user text of the
    same turn, as OpenAI requires tool messages right after the assistant's calls).
    """
    out: list[dict[str, Any]] = []
    if request.system:
        out.append({"role": system_role, "content": request.system})
    for message in request.messages:
        blocks = message.get("content") or ()
        if message["role"] == "assistant":
            calls = [{"id": b["toolUse"]["toolUseId"], "type": "function",
                      "function": {"name": b["toolUse"]["name"],
                                   "arguments": json.dumps(b["toolUse"].get("input") or {}, separators=(",", ":"))}}
                     for b in blocks if "toolUse" in b]
            entry: dict[str, Any] = {"role": "assistant", "content": text_of(message) or (None if calls else "")}
            if calls:
                entry["tool_calls"] = calls
            out.append(entry)
            continue
        for b in blocks:
            if "toolResult" in b:
                out.append({"role": "tool", "tool_call_id": b["toolResult"]["toolUseId"],
                            "content": tool_result_text(b["toolResult"])})
        text = text_of(message)
        if text or not any("toolResult" in b for b in blocks):
            out.append({"role": "user", "content": text})
    return out


def openai_settings(request: Request, max_tokens_key: str) -> dict[str, Any]:
    """The inference settings both OpenAI APIs share; only the name of the token cap differs
    (``max_completion_tokens`` on Chat Completions, ``max_output_tokens`` on Responses)."""
    given = {max_tokens_key: request.max_tokens, "temperature": request.temperature, "top_p": request.top_p}
    params = {key: value for key, value in given.items() if value is not None}
    if request.extra.get("body"):
        params["extra_body"] = dict(request.extra["body"])  # wire fields the SDK does not model
    return params


def openai_chat_tools(request: Request) -> list[dict[str, Any]]:
    """``request.tools`` in Chat Completions' ``tools`` shape."""
    return [{"type": "function", "function": {"name": t.name, **({"description": t.description} if t.description else {}),
                                              "parameters": t.parameters}} for t in request.tools]


def chat_completion_calls(message: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{"id", "name", "input"}]`` from a Chat Completions ``message.tool_calls``."""
    calls = []
    for call in message.get("tool_calls") or ():
        fn = call.get("function") or {}
        calls.append({"id": call.get("id") or "", "name": fn.get("name") or "",
                      "input": parse_arguments(fn.get("arguments"))})
    return calls


# One or more leading <reasoning>…</reasoning> blocks (a stream wraps each of its pieces).
_REASONING = re.compile(r"^\s*((?:<reasoning>.*?</reasoning>\s*)+)", re.DOTALL)
_TAGS = re.compile(r"</?reasoning>")


def split_reasoning(text: str) -> tuple[str, str]:
    """``(reasoning, answer)`` of a gpt-oss text: on Bedrock (InvokeModel, and the runtime's Chat
    Completions) it puts its reasoning in ``<reasoning>…</reasoning>`` before the answer
    (bedrock-features.md; promptfoo#9587). ``("", text)`` without."""
    text = text or ""
    match = _REASONING.match(text)
    if not match:
        return "", text
    return _TAGS.sub("", match.group(1)).strip(), text[match.end():]


def strip_reasoning(text: str) -> str:
    """The answer of a gpt-oss text, without its ``<reasoning>…</reasoning>`` prefix."""
    return split_reasoning(text)[1]


def dump(obj: Any) -> Any:
    """An openai SDK model (or anything) as plain JSON data, for ``Reply.raw``."""
    to_dict = getattr(obj, "model_dump", None)
    if callable(to_dict):
        return to_dict(mode="json", exclude_unset=False, warnings=False)  # mcp connector ids are ARNs, not OpenAI's names
    return obj


def stream_request_id(stream: Any) -> str | None:
    """The request id of an openai SDK stream, from its HTTP response headers (None if absent)."""
    headers = getattr(getattr(stream, "response", None), "headers", None) or {}
    return headers.get("x-request-id") or headers.get("x-amzn-requestid")


def incomplete_stream(what: str, request_id: str | None) -> Exception:
    """The error to raise when ``what`` (``"The ConverseStream response"``) ended before the
    model finished: no stop reason and no usage arrived, so the answer may be partial."""
    return BedrockError(f"{what} ended before the model finished.", code="IncompleteStream", request_id=request_id,
                        hint="Retry the call; if it keeps happening try without --stream.")


@contextmanager
def stream_errors(request_id: str | None, client: Any = None) -> Iterator[None]:
    """Tag an exception raised while reading a stream with the call's request id and endpoint.

    A connection cut mid-stream surfaces as a bare transport error that knows neither; the tags
    let ``explain.explain`` name them (attributes ``bedrock_request_id``/``bedrock_endpoint_url``).
    """
    try:
        yield
    except Exception as exc:
        url = getattr(getattr(client, "meta", None), "endpoint_url", None) or str(getattr(client, "base_url", "") or "")
        try:
            exc.bedrock_request_id = request_id  # type: ignore[attr-defined]
            exc.bedrock_endpoint_url = url or None  # type: ignore[attr-defined]
        except Exception:  # exceptions with __slots__: the explanation just has less detail
            pass
        raise
