"""The OpenAI-compatible APIs of the local service: Chat Completions, Responses and ``/models``.

Where they live:

* runtime (``bedrock-runtime``): ``POST /openai/v1/chat/completions`` and ``POST /openai/v1/responses``
  for catalog model ids and inference-profile ids whose entry has ``openai: true``. Responses there
  are synchronous: ``background: true`` and server-side tools are refused, naming bedrock-mantle.
* mantle (``bedrock-mantle``), under both ``/v1`` and ``/openai/v1`` (the server strips the
  ``/mantle`` prefix): ``GET /models``, ``GET /models/{model}``, ``POST /chat/completions``,
  ``POST /responses``, ``GET|DELETE /responses/{id}``, ``GET /responses/{id}/input_items``,
  ``POST /responses/{id}/cancel``, for the catalog's ``mantleId``s.

Responses are stored (``store`` defaults to true) in ``app.state["openai.responses"]`` with the
normalized conversation they ended, so ``previous_response_id`` rebuilds the context (the earlier
``instructions`` are not carried over, as in OpenAI's API). A background response is answered at
once but walks ``queued → in_progress → completed`` on a worker thread, so polling shows the steps.
The answer itself is the responder's (see :mod:`bedrock_magics.local.responder`).
"""

from __future__ import annotations

import json
import time
import uuid
from calendar import timegm
from typing import Any, Callable, Iterable, Iterator

from . import responder
from .catalog import INVALID_MODEL, max_output_tokens
from .families import chat_chunks, chat_completion, chat_tool_calls, converse_content
from .http import MANTLE, RUNTIME, AwsError, OpenAIError, Request, Response, Router, aws_to_openai
from .responder import Answer, Call

STORE = "openai.responses"  # key in app.state: response id -> stored record
#: Tool types Bedrock runs server-side (mantle only); the responder only calls ``function`` tools.
SERVER_TOOLS = ("web_search", "web_search_preview", "file_search", "code_interpreter", "mcp", "image_generation",
                "computer_use_preview", "local_shell", "shell", "custom", "apply_patch")
#: How long a background response stays queued, then in progress (seconds) — long enough to poll.
BACKGROUND_STEPS = (0.05, 0.25)
#: Stored responses kept per service; the oldest go first (a workshop can run for days).
MAX_STORED = 10_000


# --------------------------------------------------------------------------------------------------
# Plumbing


def _request_ids() -> dict[str, str]:
    """A new request id, under OpenAI's header name and Bedrock's."""
    rid = "req_" + uuid.uuid4().hex
    return {"x-request-id": rid, "x-amzn-RequestId": rid}


def _json_ok(obj: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(obj, separators=(",", ":")).encode(),
                    {"Content-Type": "application/json", **_request_ids()})


def _sse(chunks: Iterable[bytes]) -> Response:
    return Response(200, chunks, {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache",
                                  **_request_ids()})


def _body(req: Request) -> dict:
    body = req.json()
    if not isinstance(body, dict):
        raise OpenAIError(400, "Failed to deserialize the JSON body into the target type: expected an object",
                          code="validation_error")
    return body


def _bad(message: str, param: str | None = None, code: str | None = "invalid_value", status: int = 400) -> OpenAIError:
    return OpenAIError(status, message, param=param, code=code)


def _model_not_found(name: str) -> OpenAIError:
    return OpenAIError(404, f"The model `{name}` does not exist or you do not have access to it.",
                       code="model_not_found", param="model")


def _resolve(req: Request, name: Any) -> dict:
    """The catalog entry behind the request's ``model`` (runtime ids/profiles, or mantle ids)."""
    if not isinstance(name, str) or not name:
        raise _bad("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    if req.surface == MANTLE:
        return req.app.catalog.resolve_mantle(req.region, name)
    try:
        entry = req.app.catalog.resolve(req.region, name).model
    except AwsError as exc:
        if exc.message == INVALID_MODEL:
            raise _model_not_found(name) from None
        raise aws_to_openai(exc) from None
    if not entry.get("openai"):
        raise _bad(f"model `{name}` isn't supported on this route. The OpenAI-compatible APIs of bedrock-runtime "
                   f"serve OpenAI-compatible models; call this model with Converse or InvokeModel.",
                   "model", "model_not_supported")
    return entry


_JSON_TYPES = {str: "a string", bool: "a boolean", int: "an integer", float: "a decimal", list: "an array",
               dict: "an object", type(None): "null"}
#: Expected JSON types of the request fields each API reads or echoes back.
CHAT_TYPES = {"messages": list, "tools": list, "tool_choice": (str, dict), "stream": bool, "stream_options": dict,
              "stop": (str, list), "n": int, "user": str, "metadata": dict, "parallel_tool_calls": bool}
RESPONSES_TYPES = {"input": (str, list), "instructions": str, "previous_response_id": str, "store": bool,
                   "background": bool, "stream": bool, "tools": list, "tool_choice": (str, dict), "metadata": dict,
                   "reasoning": dict, "text": dict, "parallel_tool_calls": bool, "max_tool_calls": int,
                   "truncation": str, "user": str, "top_logprobs": int}


def _check_types(body: dict, expected: dict) -> None:
    """OpenAI's ``invalid_type`` error for a field of the wrong JSON type (null means "not given")."""
    for name, kinds in expected.items():
        value = body.get(name)
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        if value is None or (isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)):
            continue
        want = " or ".join(_JSON_TYPES[k] for k in kinds)
        raise _bad(f"Invalid type for '{name}': expected {want}, but got {_JSON_TYPES.get(type(value), 'a value')} "
                   f"instead.", name, "invalid_type")


def _check_int(body: dict, name: str, minimum: int) -> None:
    value = body.get(name)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(f"Invalid type for '{name}': expected an integer, but got {type(value).__name__} instead.",
                   name, "invalid_type")
    if value < minimum:
        raise _bad(f"Invalid '{name}': integer below minimum value. Expected a value >= {minimum}, but got "
                   f"{value} instead.", name, "integer_below_min_value")


def _check_decimal(body: dict, name: str, low: float, high: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _bad(f"Invalid type for '{name}': expected a decimal, but got {type(value).__name__} instead.",
                   name, "invalid_type")
    if value < low:
        raise _bad(f"Invalid '{name}': decimal below minimum value. Expected a value >= {low:g}, but got "
                   f"{value:g} instead.", name, "decimal_below_min_value")
    if value > high:
        raise _bad(f"Invalid '{name}': decimal above maximum value. Expected a value <= {high:g}, but got "
                   f"{value:g} instead.", name, "decimal_above_max_value")


def _check_limit(entry: dict, value: int | None, name: str) -> None:
    limit = max_output_tokens(entry)
    if value is not None and value > limit:
        raise _bad(f"{name} is too large: {value}. This model supports at most {limit} completion tokens, "
                   f"whereas you provided {value}.", name)


def _check_function_tools(tools: Any, flat: bool) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise _bad("Invalid type for 'tools': expected an array.", "tools", "invalid_type")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or "type" not in tool:
            raise _bad(f"Missing required parameter: 'tools[{i}].type'.", f"tools[{i}].type",
                       "missing_required_parameter")
        if tool["type"] == "function":
            fn = tool if flat else tool.get("function") or {}
            if not isinstance(fn.get("name"), str) or not fn["name"]:
                where = f"tools[{i}].name" if flat else f"tools[{i}].function.name"
                raise _bad(f"Missing required parameter: '{where}'.", where, "missing_required_parameter")


# --------------------------------------------------------------------------------------------------
# Chat Completions


def chat_completions(req: Request) -> Response:
    """``POST …/chat/completions`` (JSON, or SSE with ``stream: true``)."""
    body = _body(req)
    entry = _resolve(req, body.get("model"))
    _check_types(body, CHAT_TYPES)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("Missing required parameter: 'messages'." if not messages else
                   "Invalid type for 'messages': expected an array.", "messages", "missing_required_parameter")
    for name in ("max_tokens", "max_completion_tokens"):
        _check_int(body, name, 1)
        _check_limit(entry, body.get(name), name)
    _check_decimal(body, "temperature", 0, 2)
    _check_decimal(body, "top_p", 0, 1)
    if body.get("n", 1) != 1:
        raise _bad("Invalid 'n': the local Bedrock service returns exactly one choice (n=1).", "n")
    stop = body.get("stop")
    if stop is not None and not (isinstance(stop, str) or (isinstance(stop, list) and len(stop) <= 4
                                                          and all(isinstance(x, str) for x in stop))):
        raise _bad("Invalid 'stop': expected a string or an array of at most 4 strings.", "stop")
    _check_function_tools(body.get("tools"), flat=False)
    try:
        call = responder.chat_call(body, entry)
    except ValueError as exc:
        raise _bad(f"Invalid 'messages': {exc}.", "messages") from None
    answer = call.answer
    if not body.get("stream"):
        return _json_ok(chat_completion(answer, body["model"]))
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise _bad("Invalid type for 'stream_options': expected an object.", "stream_options", "invalid_type")
    chunks = chat_chunks(answer, body["model"], include_usage=bool(options.get("include_usage")))

    def events() -> Iterator[bytes]:
        for chunk in chunks:
            yield b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"

    return _sse(events())


# --------------------------------------------------------------------------------------------------
# Responses: input items -> normalized conversation


def _content_text(content: Any) -> str:
    """The text of an input item's ``content`` or a ``function_call_output``'s ``output``."""
    try:
        if content is None:
            raise ValueError("no content")
        return responder.content_text(content)
    except ValueError:
        raise _bad("Invalid 'input': message content must be a string or an array of content parts.",
                   "input") from None


def input_conversation(items: Any) -> tuple[list[str], list[dict]]:
    """(system texts, Converse-shaped messages) from a Responses ``input``.

    Message items become messages; ``function_call`` items join the assistant message before them as
    ``toolUse`` blocks; consecutive ``function_call_output`` items form one user message of
    ``toolResult`` blocks — the same conversation the Chat Completions and Converse forms give.
    """
    if isinstance(items, str):
        return [], [{"role": "user", "content": [{"text": items}]}]
    if not isinstance(items, list):
        raise _bad("Invalid 'input': expected a string or an array of input items.", "input", "invalid_type")
    system: list[str] = []
    out: list[dict] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise _bad(f"Invalid 'input[{i}]': expected an object.", f"input[{i}]", "invalid_type")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role in ("system", "developer"):
                system.append(_content_text(item.get("content")))
            elif role in ("user", "assistant"):
                text = _content_text(item.get("content"))
                out.append({"role": role, "content": [{"text": text}] if text or role == "user" else []})
            else:
                raise _bad(f"Invalid value for 'input[{i}].role': expected one of user, assistant, system, developer.",
                           f"input[{i}].role")
        elif kind == "function_call":
            try:
                args = responder.arguments(item.get("arguments"))
            except ValueError:
                raise _bad(f"Invalid 'input[{i}].arguments': expected a JSON string.", f"input[{i}].arguments",
                           "invalid_type") from None
            block = {"toolUse": {"toolUseId": item.get("call_id"), "name": item.get("name", ""), "input": args}}
            if out and out[-1]["role"] == "assistant":
                out[-1]["content"].append(block)
            else:
                out.append({"role": "assistant", "content": [block]})
        elif kind == "function_call_output":
            responder.append_tool_result(out, item.get("call_id"), _content_text(item.get("output") or ""))
        # reasoning and other items carry nothing the responder reads
    return system, out


def _input_items(items: Any) -> list[dict]:
    """The request's input as stored items (with ids), for ``GET /responses/{id}/input_items``."""
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    out = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            content = item.get("content")
            parts = [{"type": "input_text", "text": content}] if isinstance(content, str) else content
            out.append({"id": item.get("id") or "msg_" + uuid.uuid4().hex, "type": "message",
                        "role": item.get("role"), "content": parts, "status": "completed"})
        else:
            out.append({"id": item.get("id") or uuid.uuid4().hex, **item, "status": item.get("status", "completed")})
    return out


# --------------------------------------------------------------------------------------------------
# Responses: output


def _store(app: Any) -> dict:
    """The stored responses (callers hold ``app.lock``)."""
    return app.state.setdefault(STORE, {})


def _keep(app: Any, rid: str, record: dict) -> None:
    """Store a response record, dropping the oldest beyond ``MAX_STORED``."""
    with app.lock:
        store = _store(app)
        store[rid] = record
        while len(store) > MAX_STORED:
            store.pop(next(iter(store)))


def _usage(answer: Answer) -> dict:
    return {"input_tokens": answer.input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": answer.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": answer.total_tokens}


def _output_items(answer: Answer) -> list[dict]:
    items: list[dict] = []
    if answer.text or not answer.tool_call:
        items.append({"id": "msg_" + uuid.uuid4().hex, "type": "message", "role": "assistant",
                      "status": "incomplete" if answer.stop_reason == "max_tokens" else "completed",
                      "content": [{"type": "output_text", "text": answer.text, "annotations": [], "logprobs": []}]})
    if answer.tool_call:
        (call,) = chat_tool_calls(answer)
        items.append({"id": "fc_" + uuid.uuid4().hex, "type": "function_call", "status": "completed",
                      "call_id": call["id"], **call["function"]})
    return items


def _echo_tools(tools: list[dict]) -> list[dict]:
    out = []
    for t in tools:
        if t.get("type") == "function":
            out.append({"type": "function", "name": t["name"], "description": t.get("description"),
                        "parameters": t.get("parameters") or {"type": "object", "properties": {}},
                        "strict": t.get("strict")})
        else:
            out.append(t)
    return out


def _response_object(rid: str, body: dict, created_at: int, status: str, previous: str | None,
                     output: list[dict], answer: Answer | None) -> dict:
    done = status in ("completed", "incomplete", "cancelled", "failed")
    incomplete = answer is not None and answer.stop_reason == "max_tokens" and status == "incomplete"
    return {
        "id": rid, "object": "response", "created_at": created_at, "status": status,
        "background": bool(body.get("background")), "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
        "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"), "model": body["model"], "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True), "previous_response_id": previous,
        "reasoning": {"effort": (body.get("reasoning") or {}).get("effort"), "summary": None},
        "service_tier": "default", "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0), "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"), "tools": _echo_tools(body.get("tools") or []),
        "top_logprobs": body.get("top_logprobs", 0), "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": _usage(answer) if answer is not None and done and status != "cancelled" else None,
        "user": body.get("user"), "metadata": body.get("metadata") or {},
        "completed_at": int(time.time()) if done else None,
    }


def _stream_events(response: dict) -> Iterator[dict]:
    """The Responses SSE events for a finished response, in the order the SDK's helper accepts."""
    start = {**response, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None,
             "completed_at": None}
    yield {"type": "response.created", "response": start}
    yield {"type": "response.in_progress", "response": start}
    for index, item in enumerate(response["output"]):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield {"type": "response.output_item.added", "output_index": index,
                   "item": {**item, "status": "in_progress", "content": []}}
            empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            where = {"item_id": item["id"], "output_index": index, "content_index": 0}
            yield {"type": "response.content_part.added", **where, "part": empty}
            for piece in responder.deltas(text):
                yield {"type": "response.output_text.delta", **where, "delta": piece, "logprobs": []}
            yield {"type": "response.output_text.done", **where, "text": text, "logprobs": []}
            yield {"type": "response.content_part.done", **where, "part": item["content"][0]}
        else:
            yield {"type": "response.output_item.added", "output_index": index,
                   "item": {**item, "status": "in_progress", "arguments": ""}}
            args = item["arguments"]
            for fragment in responder.fragments(args):
                yield {"type": "response.function_call_arguments.delta", "item_id": item["id"],
                       "output_index": index, "delta": fragment}
            yield {"type": "response.function_call_arguments.done", "item_id": item["id"], "output_index": index,
                   "name": item["name"], "arguments": args}
        yield {"type": "response.output_item.done", "output_index": index, "item": item}
    terminal = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
    yield {"type": terminal, "response": response}


def _refuse_on_runtime(body: dict, region: str) -> None:
    mantle = f"https://bedrock-mantle.{region}.api.aws/v1"
    if body.get("background"):
        raise _bad(f"Background mode is not supported on bedrock-runtime: Responses there are synchronous. "
                   f"Use the bedrock-mantle endpoint ({mantle}) for background responses.", "background",
                   "unsupported_parameter")
    for i, tool in enumerate(body.get("tools") or []):
        if isinstance(tool, dict) and tool.get("type") in SERVER_TOOLS:
            raise _bad(f"Tool type '{tool['type']}' runs server-side and is not supported on bedrock-runtime. "
                       f"Use the bedrock-mantle endpoint ({mantle}) for server-side tools.", f"tools[{i}].type",
                       "unsupported_parameter")


def _previous(req: Request, previous: Any) -> list[dict]:
    if previous is None:
        return []
    with req.app.lock:
        record = _store(req.app).get(previous) if isinstance(previous, str) else None
    if record is None or record["region"] != req.region:
        raise OpenAIError(404, f"Previous response with id '{previous}' not found.", param="previous_response_id",
                          code="previous_response_not_found")
    if record["response"]["status"] not in ("completed", "incomplete"):
        raise _bad(f"Previous response with id '{previous}' is not finished (status "
                   f"{record['response']['status']}).", "previous_response_id")
    return record["conversation"]


def responses_create(req: Request) -> Response:
    """``POST …/responses``: synchronous, streamed (SSE) or (mantle) background."""
    body = _body(req)
    entry = _resolve(req, body.get("model"))
    _check_types(body, RESPONSES_TYPES)
    if req.surface == RUNTIME:
        _refuse_on_runtime(body, req.region)
    if "input" not in body:
        raise _bad("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    _check_int(body, "max_output_tokens", 1)
    _check_limit(entry, body.get("max_output_tokens"), "max_output_tokens")
    _check_decimal(body, "temperature", 0, 2)
    _check_decimal(body, "top_p", 0, 1)
    _check_function_tools(body.get("tools"), flat=True)
    if body.get("background") and body.get("store") is False:
        raise _bad("Background responses must be stored: set 'store' to true.", "store")

    system, new_messages = input_conversation(body["input"])
    previous = body.get("previous_response_id")
    conversation = _previous(req, previous) + new_messages
    instructions = body.get("instructions")
    system_text = "\n".join(([instructions] if isinstance(instructions, str) and instructions else []) + system)
    answer = Call(entry, conversation, system_text, responder.from_chat_tools(body.get("tools") or []),
                  responder.chat_tool_choice(body.get("tool_choice")), body.get("max_output_tokens")).answer

    rid, created = "resp_" + uuid.uuid4().hex, int(time.time())
    output = _output_items(answer)
    status = "incomplete" if answer.stop_reason == "max_tokens" else "completed"
    final = _response_object(rid, body, created, status, previous, output, answer)
    record = {"response": final, "region": req.region, "input_items": _input_items(body["input"]),
              "conversation": conversation + [{"role": "assistant", "content": converse_content(answer, "call_")}]}

    if body.get("background") and not body.get("stream"):
        queued = _response_object(rid, body, created, "queued", previous, [], None)
        record["response"] = queued
        _keep(req.app, rid, record)
        req.app.workers.spawn(f"bedrock-background-{rid}", _run_background, req.app, rid, final)
        return _json_ok(queued)

    if body.get("store", True):
        _keep(req.app, rid, record)
    if not body.get("stream"):
        return _json_ok(final)

    def events() -> Iterator[bytes]:
        for seq, event in enumerate(_stream_events(final)):
            event = {**event, "sequence_number": seq}
            yield f"event: {event['type']}\ndata: ".encode() + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"

    return _sse(events())


def _run_background(app: Any, rid: str, final: dict) -> None:
    """Walk a background response through queued → in_progress → its final state (unless cancelled).

    The pauses wait on the service's ``stopping`` event: ``LocalService.stop()`` ends them at once
    and the response stays as it was."""
    queued, in_progress = BACKGROUND_STEPS
    if _advance(app, rid, queued, "queued", lambda response: {**response, "status": "in_progress"}):
        _advance(app, rid, in_progress, "in_progress", lambda _: {**final, "completed_at": int(time.time())})


def _advance(app: Any, rid: str, pause: float, status: str, change: Callable[[dict], dict]) -> bool:
    """After ``pause`` seconds, replace the stored response by ``change(response)`` if it is still
    in ``status``; False when it was not (cancelled, deleted) or the service is stopping."""
    if app.workers.stopping.wait(pause):
        return False
    with app.lock:
        record = _store(app).get(rid)
        if record is None or record["response"]["status"] != status:
            return False
        record["response"] = change(record["response"])
    return True


def _stored(req: Request) -> dict:
    """The stored record of ``{response_id}`` in the request's region (404 otherwise)."""
    rid = req.params["response_id"]
    with req.app.lock:
        record = _store(req.app).get(rid)
    if record is None or record["region"] != req.region:
        raise OpenAIError(404, f"Response with id '{rid}' not found.", param="response_id", code="not_found")
    return record


def responses_get(req: Request) -> Response:
    """``GET /responses/{id}``."""
    record = _stored(req)
    with req.app.lock:
        return _json_ok(record["response"])


def responses_delete(req: Request) -> Response:
    """``DELETE /responses/{id}``."""
    rid = _stored(req)["response"]["id"]
    with req.app.lock:
        _store(req.app).pop(rid, None)
    return _json_ok({"id": rid, "object": "response.deleted", "deleted": True})


def responses_cancel(req: Request) -> Response:
    """``POST /responses/{id}/cancel``: background responses that have not finished yet."""
    record = _stored(req)
    with req.app.lock:
        response = record["response"]
        if not response.get("background"):
            raise _bad("Only responses created with background=true can be cancelled.", None)
        if response["status"] in ("queued", "in_progress"):
            record["response"] = response = {**response, "status": "cancelled", "completed_at": int(time.time())}
        return _json_ok(response)


def responses_input_items(req: Request) -> Response:
    """``GET /responses/{id}/input_items`` (``order`` asc|desc, default desc, as in OpenAI's API)."""
    items = list(_stored(req)["input_items"])
    if (req.query_one("order") or "desc") == "desc":
        items.reverse()
    return _json_ok({"object": "list", "data": items, "first_id": items[0]["id"] if items else None,
                     "last_id": items[-1]["id"] if items else None, "has_more": False})


# --------------------------------------------------------------------------------------------------
# /models (mantle)


def _model_object(entry: dict) -> dict:
    created = timegm(time.strptime(entry.get("released", "2025-01-01T00:00:00Z"), "%Y-%m-%dT%H:%M:%SZ"))
    return {"id": entry["mantleId"], "object": "model", "created": created,
            "owned_by": entry["providerName"].lower().replace(" ", "")}


def models_list(req: Request) -> Response:
    """``GET /models``: the mantle models of the request's region."""
    return _json_ok({"object": "list", "data": [_model_object(e) for e in req.app.catalog.mantle_models(req.region)]})


def models_get(req: Request) -> Response:
    """``GET /models/{model}``."""
    return _json_ok(_model_object(req.app.catalog.resolve_mantle(req.region, req.params["model"])))


def register(router: Router) -> None:
    """Add the OpenAI-compatible routes: runtime ``/openai/v1`` and mantle ``/v1`` + ``/openai/v1``."""
    router.add(RUNTIME, "POST", "/openai/v1/chat/completions", chat_completions)
    router.add(RUNTIME, "POST", "/openai/v1/responses", responses_create)
    for prefix in ("/v1", "/openai/v1"):
        router.add(MANTLE, "GET", f"{prefix}/models", models_list)
        router.add(MANTLE, "GET", f"{prefix}/models/{{model}}", models_get)
        router.add(MANTLE, "POST", f"{prefix}/chat/completions", chat_completions)
        router.add(MANTLE, "POST", f"{prefix}/responses", responses_create)
        router.add(MANTLE, "GET", f"{prefix}/responses/{{response_id}}", responses_get)
        router.add(MANTLE, "DELETE", f"{prefix}/responses/{{response_id}}", responses_delete)
        router.add(MANTLE, "POST", f"{prefix}/responses/{{response_id}}/cancel", responses_cancel)
        router.add(MANTLE, "GET", f"{prefix}/responses/{{response_id}}/input_items", responses_input_items)
