"""The OpenAI-compatible APIs of the local service: Chat Completions, Responses and ``/models``.

Where they live:

* runtime (``bedrock-runtime``): ``POST /openai/v1/chat/completions`` and ``POST /openai/v1/responses``
  for catalog model ids and inference-profile ids whose entry has ``openai: true``. Responses there
  are synchronous: ``background: true`` and server-side (``mcp``) tools are refused, naming
  bedrock-mantle. On both surfaces Responses takes only ``function`` and ``mcp`` tools, as Bedrock's.
* mantle (``bedrock-mantle``), under both ``/v1`` and ``/openai/v1`` (the server strips the
  ``/mantle`` prefix): ``GET /models``, ``GET /models/{model}``, ``POST /chat/completions``,
  ``POST /responses``, ``GET|DELETE /responses/{id}``, ``GET /responses/{id}/input_items``,
  ``POST /responses/{id}/cancel``, for the catalog's ``mantleId``s.

Responses are stored (``store`` defaults to true) in ``app.state["openai.responses"]`` with the
normalized conversation they ended, so ``previous_response_id`` rebuilds the context (the earlier
``instructions`` are not carried over, as in OpenAI's API). A background response is answered at
once but walks ``queued → in_progress → completed`` on a worker thread, so polling shows the steps.
The answer itself is the responder's (see :mod:`bedrock_magics.local.responder`); reading the
requests and writing the answers is :mod:`bedrock_magics.local.wire.chat` and
:mod:`~bedrock_magics.local.wire.responses`. This module routes, resolves models and keeps the
stored responses.
"""

from __future__ import annotations

import json
import time
import uuid
from calendar import timegm
from dataclasses import replace
from typing import Any, Callable, Iterable

from . import lambdas, mcp, refusals
from .catalog import INVALID_MODEL
from .http import MANTLE, RUNTIME, AwsError, OpenAIError, Request, Response, Router, aws_to_openai
from .quotas import admit_call
from .responder import settle
from .wire import chat, responses
from .wire.converse import converse_content
from .wire.openai import invalid

STORE = "openai.responses"  # key in app.state: response id -> stored record
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


def _model_not_found(name: str) -> OpenAIError:
    return OpenAIError(404, f"The model `{name}` does not exist or you do not have access to it.",
                       code="model_not_found", param="model")


def _resolve(req: Request, name: Any) -> dict:
    """The catalog entry behind the request's ``model`` (runtime ids/profiles, or mantle ids)."""
    if not isinstance(name, str) or not name:
        raise invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    if req.surface == MANTLE:
        return req.app.catalog.resolve_mantle(req.region, name)
    try:
        entry = req.app.catalog.resolve(req.region, name).model
    except AwsError as exc:
        if exc.message == INVALID_MODEL:
            raise _model_not_found(name) from None
        raise aws_to_openai(exc) from None
    if not entry.get("openai"):
        raise invalid(f"model `{name}` isn't supported on this route. The OpenAI-compatible APIs of bedrock-runtime "
                   f"serve OpenAI-compatible models; call this model with Converse or InvokeModel.",
                   "model", "model_not_supported")
    return entry


def _served(req: Request, name: Any, api: str) -> dict:
    """The entry behind ``model`` if this route (``chat`` or ``responses``, on this surface and, on
    mantle, this path prefix) serves it (:func:`~bedrock_magics.local.refusals.check_route`)."""
    entry = _resolve(req, name)
    surface = "mantle" if req.surface == MANTLE else "runtime"
    refusals.check_route(req.app.catalog.capabilities(entry), f"{surface}/{api}", name, req.path)
    return entry


# --------------------------------------------------------------------------------------------------
# Chat Completions


def chat_completions(req: Request) -> Response:
    """``POST …/chat/completions`` (JSON, or SSE with ``stream: true``)."""
    body = _body(req)
    entry = _served(req, body.get("model"), "chat")
    call = settle(req.app, chat.request_call(body, entry), req.region, automatic=True)
    admit_call(req, call, body["model"])
    answer = call.answer
    if not body.get("stream"):
        return _json_ok(chat.chat_completion(answer, body["model"]))
    options = body.get("stream_options") or {}
    return _sse(chat.sse_events(chat.chat_chunks(answer, body["model"],
                                                 include_usage=bool(options.get("include_usage")))))


# --------------------------------------------------------------------------------------------------
# Responses


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


def _previous(req: Request, previous: Any) -> list[dict]:
    if previous is None:
        return []
    with req.app.lock:
        record = _store(req.app).get(previous) if isinstance(previous, str) else None
    if record is None or record["region"] != req.region:
        raise OpenAIError(404, f"Previous response with id '{previous}' not found.", param="previous_response_id",
                          code="previous_response_not_found")
    if record["response"]["status"] not in ("completed", "incomplete"):
        raise invalid(f"Previous response with id '{previous}' is not finished (status "
                   f"{record['response']['status']}).", "previous_response_id")
    return record["conversation"]


def responses_create(req: Request) -> Response:
    """``POST …/responses``: synchronous, streamed (SSE) or (mantle) background."""
    body = _body(req)
    responses.check_tool_types(body)
    entry = _served(req, body.get("model"), "responses")
    responses.check_request(body, entry, req.region if req.surface == RUNTIME else None)
    previous = body.get("previous_response_id")
    call = settle(req.app, responses.request_call(body, entry, _previous(req, previous)), req.region, automatic=True)
    admit_call(req, call, body["model"])
    answer = call.answer
    turn = _server_tools(req, body, call, previous)
    if turn is not None:  # the server-side rounds: their items come first, their tokens count, they are context
        call, answer = replace(call, messages=turn.messages), turn.answer

    rid, created = "resp_" + uuid.uuid4().hex, int(time.time())
    output = responses.output_items(answer, bool(call.extra.get("reasoning_summary")))
    status = "incomplete" if answer.stop_reason == "max_tokens" else "completed"
    output = (turn.items if turn is not None else []) + output
    final = responses.response_object(rid, body, created, status, previous, output, answer)
    record = {"response": final, "region": req.region, "input_items": responses.input_items(body["input"]),
              "conversation": call.messages + [{"role": "assistant", "content": converse_content(answer, "call_")}]}
    record["mcp"] = turn.state if turn is not None else None  # notes/tasks memory, connectors listed

    if body.get("background") and not body.get("stream"):
        queued = responses.response_object(rid, body, created, "queued", previous, [], None)
        record["response"] = queued
        _keep(req.app, rid, record)
        req.app.workers.spawn(f"bedrock-background-{rid}", _run_background, req.app, rid, final)
        return _json_ok(queued)

    if body.get("store", True):
        _keep(req.app, rid, record)
    if not body.get("stream"):
        return _json_ok(final)
    return _sse(responses.sse_events(final))


def _server_tools(req: Request, body: dict, call: Any, previous: Any) -> "mcp.Turn | None":
    """On mantle, the answer with the request's server-side tools run (``mcp`` connectors, gpt-oss's
    notes and tasks: :mod:`.mcp`), continuing the state of ``previous``; None on the runtime."""
    if req.surface != MANTLE:
        return None
    with req.app.lock:
        state = (_store(req.app).get(previous) or {}).get("mcp") if isinstance(previous, str) else None
    return mcp.run(call, body, lambdas.registry(req.app), state)


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
            raise invalid("Only responses created with background=true can be cancelled.", None)
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
