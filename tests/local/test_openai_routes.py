"""The OpenAI-compatible APIs of the local service, driven by the real openai SDK over HTTPS.

Clients: a plain ``openai.OpenAI`` with the local API key (trusting the local CA through
``SSL_CERT_FILE``), and the SDK's Bedrock provider signing with SigV4 (trusting it through an explicit
``http_client``) — on the runtime (``/openai/v1``) and on mantle (``/v1``; ``/openai/v1`` serves GPT-5.x only).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request

import boto3
import openai
import pytest
from openai.providers import bedrock

from bedrock_magics.local import credentials as local
from bedrock_magics.local import tokens

MANTLE_MODEL = "openai.gpt-oss-120b"
RUNTIME_MODEL = "openai.gpt-oss-120b-1:0"
REPLY_PREFIX = "Local Bedrock reply from openai.gpt-oss-120b-1:0: "
WEATHER_CHAT = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
WEATHER_RESP = {"type": "function", "name": "get_weather", "description": "Current weather for a city",
                "parameters": WEATHER_CHAT["function"]["parameters"]}


def _sigv4_client(svc, endpoint: str, base_url: str, region: str = "us-east-1") -> openai.OpenAI:
    verify = ssl.create_default_context(cafile=svc.ca_file)
    provider = bedrock(endpoint=endpoint, region=region, base_url=base_url,
                       access_key_id=local.ACCESS_KEY_ID, secret_access_key=local.SECRET_ACCESS_KEY)
    return openai.OpenAI(provider=provider, http_client=openai.DefaultHttpx2Client(verify=verify), max_retries=0)


@pytest.fixture
def mantle(local_env, local_service):
    """Plain openai client on mantle ``/v1`` with the local API key."""
    return openai.OpenAI(base_url=local_service.endpoints["mantle"] + "/v1", api_key=local.API_KEY, max_retries=0)


@pytest.fixture
def mantle_sigv4(local_service):
    """The SDK's Bedrock provider on mantle, SigV4 (service bedrock-mantle). Under ``/v1``, where gpt-oss
    lives: its default ``/openai/v1`` serves only GPT-5.x and answers 404 for gpt-oss, as AWS does."""
    return _sigv4_client(local_service, "mantle", local_service.endpoints["mantle"] + "/v1")


@pytest.fixture
def runtime(local_env, local_service):
    """Plain openai client on the runtime's ``/openai/v1`` with the local API key."""
    return openai.OpenAI(base_url=local_service.endpoints["runtime"] + "/openai/v1", api_key=local.API_KEY,
                         max_retries=0)


@pytest.fixture
def runtime_sigv4(local_service):
    """The SDK's Bedrock provider on the runtime, SigV4 (service bedrock)."""
    return _sigv4_client(local_service, "runtime", local_service.endpoints["runtime"] + "/openai/v1")


@pytest.fixture(params=["mantle", "mantle_sigv4", "runtime", "runtime_sigv4"])
def any_client(request):
    """(client, model id) on each endpoint with each way of authenticating."""
    client = request.getfixturevalue(request.param)
    return client, MANTLE_MODEL if request.param.startswith("mantle") else RUNTIME_MODEL


# -- /models -----------------------------------------------------------------------------------------

def test_mantle_lists_and_gets_models(mantle, mantle_sigv4):
    ids = [m.id for m in mantle.models.list()]
    assert MANTLE_MODEL in ids and all(":" not in i for i in ids)
    model = mantle_sigv4.models.retrieve(MANTLE_MODEL)
    assert (model.id, model.object, model.owned_by) == (MANTLE_MODEL, "model", "openai")
    assert isinstance(model.created, int)
    with pytest.raises(openai.NotFoundError) as excinfo:
        mantle.models.retrieve("acme.nothing")
    assert excinfo.value.code == "model_not_found"


# -- Chat Completions --------------------------------------------------------------------------------

def test_chat_completion(any_client):
    client, model = any_client
    r = client.chat.completions.create(model=model, messages=[{"role": "system", "content": "Be brief."},
                                                              {"role": "user", "content": "Hello chat"}])
    assert r.id.startswith("chatcmpl-") and r.object == "chat.completion" and r.model == model
    (choice,) = r.choices
    assert choice.finish_reason == "stop" and choice.index == 0 and choice.message.role == "assistant"
    assert choice.message.content.startswith(REPLY_PREFIX + 'You said: "Hello chat".')
    assert choice.message.tool_calls is None
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert r.usage.prompt_tokens == 3 + 3 + 2  # "Be brief." + 3 for the user message + "Hello chat"


@pytest.mark.parametrize("client_name, model", [("mantle", MANTLE_MODEL), ("runtime_sigv4", RUNTIME_MODEL)])
def test_chat_stream_with_usage(request, client_name, model):
    client = request.getfixturevalue(client_name)
    kwargs = {"model": model, "messages": [{"role": "user", "content": "Stream it"}]}
    whole = client.chat.completions.create(**kwargs)
    chunks = list(client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True}))
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 3
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.model_dump() == whole.usage.model_dump()
    plain = list(client.chat.completions.create(**kwargs, stream=True))
    assert all(c.choices for c in plain) and all(c.usage is None for c in plain)


def test_chat_tool_calls_round_trip(any_client):
    client, model = any_client
    messages = [{"role": "user", "content": "Call get_weather for city=Lisbon"}]
    r = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_CHAT])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather" and call.id.startswith("call_")
    assert json.loads(call.function.arguments) == {"city": "Lisbon"}
    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "24C and sunny"}]
    r = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_CHAT])
    assert r.choices[0].message.content == REPLY_PREFIX + "the tool get_weather returned 24C and sunny."


def test_chat_tool_call_streamed(mantle):
    chunks = list(mantle.chat.completions.create(
        model=MANTLE_MODEL, messages=[{"role": "user", "content": "get_weather city=Kyoto"}], tools=[WEATHER_CHAT],
        tool_choice="required", stream=True))
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].id.startswith("call_") and calls[0].function.name == "get_weather"
    assert json.loads("".join(tc.function.arguments or "" for tc in calls)) == {"city": "Kyoto"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_chat_max_tokens_and_stop(runtime):
    r = runtime.chat.completions.create(model=RUNTIME_MODEL, messages=[{"role": "user", "content": "Go on"}],
                                        max_completion_tokens=6)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 6
    r = runtime.chat.completions.create(model=RUNTIME_MODEL, stop=["three"],
                                        messages=[{"role": "user", "content": "echo: one two three four"}])
    assert (r.choices[0].message.content, r.choices[0].finish_reason) == ("one two ", "stop")


@pytest.mark.parametrize("client_name, model, kwargs, error, code", [
    ("mantle", "acme.nothing", {}, openai.NotFoundError, "model_not_found"),
    ("runtime", "acme.nothing-v1:0", {}, openai.NotFoundError, "model_not_found"),
    ("mantle", RUNTIME_MODEL, {}, openai.NotFoundError, "model_not_found"),  # runtime ids are not mantle ids
    ("runtime", "anthropic.claude-3-haiku-20240307-v1:0", {}, openai.BadRequestError, "model_not_supported"),
    ("runtime", "amazon.titan-embed-text-v2:0", {}, openai.BadRequestError, "model_not_supported"),
    ("mantle", MANTLE_MODEL, {"temperature": 3}, openai.BadRequestError, "decimal_above_max_value"),
    ("mantle", MANTLE_MODEL, {"top_p": -0.5}, openai.BadRequestError, "decimal_below_min_value"),
    ("runtime", RUNTIME_MODEL, {"max_tokens": 0}, openai.BadRequestError, "integer_below_min_value"),
    ("runtime", RUNTIME_MODEL, {"max_completion_tokens": 10 ** 6}, openai.BadRequestError, "invalid_value"),
    ("mantle", MANTLE_MODEL, {"n": 2}, openai.BadRequestError, "invalid_value"),
    ("mantle", MANTLE_MODEL, {"stream_options": {"include_usage": True}, "tools": "get_weather"},
     openai.BadRequestError, "invalid_type"),
])
def test_chat_errors(request, client_name, model, kwargs, error, code):
    client = request.getfixturevalue(client_name)
    with pytest.raises(error) as excinfo:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}], **kwargs)
    assert excinfo.value.code == code
    assert excinfo.value.request_id and excinfo.value.message


def test_completion_token_limits_are_the_models(runtime, mantle):
    """qwen3-32b allows 8192 output tokens (its catalog entry), less than the gpt-oss family's 32768."""
    ok = runtime.chat.completions.create(model="qwen.qwen3-32b-v1:0", max_completion_tokens=8192,
                                         messages=[{"role": "user", "content": "echo: fits"}])
    assert ok.choices[0].message.content == "fits"
    with pytest.raises(openai.BadRequestError) as excinfo:
        runtime.chat.completions.create(model="qwen.qwen3-32b-v1:0", max_completion_tokens=8193,
                                        messages=[{"role": "user", "content": "Hi"}])
    assert excinfo.value.param == "max_completion_tokens"
    assert "at most 8192 completion tokens" in excinfo.value.message
    with pytest.raises(openai.BadRequestError) as excinfo:  # mantle serves Responses for gpt-oss only: the runtime's
        runtime.responses.create(model="qwen.qwen3-32b-v1:0", input="Hi", max_output_tokens=8193)
    assert excinfo.value.param == "max_output_tokens"
    assert "at most 8192 completion tokens" in excinfo.value.message
    assert mantle.responses.create(model=MANTLE_MODEL, input="echo: fits", max_output_tokens=32768).output_text == "fits"


def test_a_body_that_is_not_json_gets_an_openai_error(local_env, local_service):
    req = urllib.request.Request(local_service.endpoints["mantle"] + "/v1/chat/completions", data=b"{not json",
                                 method="POST", headers={"Authorization": f"Bearer {local.API_KEY}",
                                                         "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(req, context=ssl.create_default_context(cafile=local_service.ca_file))
    assert excinfo.value.code == 400
    error = json.loads(excinfo.value.read())["error"]
    assert error["code"] == "validation_error" and error["message"].startswith("Failed to deserialize the JSON body")


# -- Responses ---------------------------------------------------------------------------------------

def test_responses_create_retrieve_delete(mantle):
    r = mantle.responses.create(model=MANTLE_MODEL, input="Hello responses", instructions="Be brief.")
    assert r.id.startswith("resp_") and r.object == "response" and r.status == "completed"
    assert r.model == MANTLE_MODEL and r.instructions == "Be brief." and r.store is True
    assert r.output_text.startswith(REPLY_PREFIX + 'You said: "Hello responses".')
    assert r.output[0].type == "message" and r.output[0].content[0].type == "output_text"
    assert r.usage.input_tokens == tokens.count("Be brief.", "gpt") + 3 + tokens.count("Hello responses", "gpt") \
        and r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    assert r.usage.input_tokens_details.cached_tokens == 0
    got = mantle.responses.retrieve(r.id)
    assert got.model_dump() == r.model_dump()
    items = mantle.responses.input_items.list(r.id)
    assert [(i.type, i.role, i.content[0].text) for i in items.data] == [("message", "user", "Hello responses")]
    mantle.responses.delete(r.id)
    with pytest.raises(openai.NotFoundError):
        mantle.responses.retrieve(r.id)


def test_responses_store_false_is_not_kept(mantle):
    r = mantle.responses.create(model=MANTLE_MODEL, input="Forget me", store=False)
    assert r.store is False
    with pytest.raises(openai.NotFoundError):
        mantle.responses.retrieve(r.id)


@pytest.mark.parametrize("client_name, model", [("mantle", MANTLE_MODEL), ("runtime_sigv4", RUNTIME_MODEL)])
def test_responses_stream_helper(request, client_name, model):
    client = request.getfixturevalue(client_name)
    expected = client.responses.create(model=model, input="Stream a response").output_text
    with client.responses.stream(model=model, input="Stream a response") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done",
                          "response.completed"]
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 3 and "".join(deltas) == expected
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert final.output_text == expected and final.status == "completed" and final.usage.output_tokens > 0


def test_previous_response_id_over_three_turns(mantle_sigv4):
    turns = ["My name is Ada.", "What is my name?", "And what did I ask before?"]
    chat_messages: list[dict] = []
    previous = None
    for text in turns:
        r = mantle_sigv4.responses.create(model=MANTLE_MODEL, input=text, previous_response_id=previous)
        assert r.previous_response_id == previous
        chat_messages.append({"role": "user", "content": text})
        # The stored context is exactly what a Chat Completions caller would resend.
        chat = mantle_sigv4.chat.completions.create(model=MANTLE_MODEL, messages=chat_messages)
        assert r.output_text == chat.choices[0].message.content
        assert r.usage.input_tokens == chat.usage.prompt_tokens
        chat_messages.append({"role": "assistant", "content": r.output_text})
        previous = r.id
    assert r.usage.input_tokens == 5 * 3 + sum(tokens.count(m["content"], "gpt") for m in chat_messages[:-1])
    with pytest.raises(openai.NotFoundError) as excinfo:
        mantle_sigv4.responses.create(model=MANTLE_MODEL, input="Hi", previous_response_id="resp_doesnotexist")
    assert excinfo.value.code == "previous_response_not_found"


def test_responses_function_calls(any_client):
    client, model = any_client
    r = client.responses.create(model=model, input="Use get_weather with city=Quito", tools=[WEATHER_RESP])
    (call,) = r.output
    assert call.type == "function_call" and call.name == "get_weather" and call.call_id.startswith("call_")
    assert json.loads(call.arguments) == {"city": "Quito"}
    assert r.output_text == ""
    # Stateless: resend the whole conversation, with the call and its output.
    r2 = client.responses.create(model=model, tools=[WEATHER_RESP], input=[
        {"role": "user", "content": "Use get_weather with city=Quito"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "15C"}])
    assert r2.output_text == REPLY_PREFIX + "the tool get_weather returned 15C."


def test_responses_function_call_output_with_previous_response_id(mantle):
    r = mantle.responses.create(model=MANTLE_MODEL, input="get_weather city=Cairo", tools=[WEATHER_RESP])
    call = r.output[0]
    r2 = mantle.responses.create(model=MANTLE_MODEL, previous_response_id=r.id, tools=[WEATHER_RESP], input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "35C"}])
    assert r2.output_text == REPLY_PREFIX + "the tool get_weather returned 35C."


def test_responses_function_call_streamed(mantle):
    with mantle.responses.stream(model=MANTLE_MODEL, input="get_weather city=Lima", tools=[WEATHER_RESP]) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds and "response.function_call_arguments.done" in kinds
    assert final.output[0].type == "function_call" and json.loads(final.output[0].arguments) == {"city": "Lima"}


def test_responses_max_output_tokens_is_incomplete(runtime):
    r = runtime.responses.create(model=RUNTIME_MODEL, input="Keep talking", max_output_tokens=4)
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_output_tokens"
    assert r.usage.output_tokens == 4 and r.output_text == "Local Bedrock reply from"


def _poll(client, rid: str) -> list[str]:
    statuses = []
    for _ in range(500):  # a bound on the loop, not a timing assertion
        status = client.responses.retrieve(rid).status
        if not statuses or statuses[-1] != status:
            statuses.append(status)
        if status not in ("queued", "in_progress"):
            return statuses
        time.sleep(0.01)
    raise AssertionError(f"background response stuck: {statuses}")


def test_background_response_completes_on_a_worker(mantle):
    expected = mantle.responses.create(model=MANTLE_MODEL, input="Work in the background").output_text
    r = mantle.responses.create(model=MANTLE_MODEL, input="Work in the background", background=True)
    assert r.status == "queued" and r.background is True and r.output == []
    statuses = _poll(mantle, r.id)
    assert statuses[-1] == "completed"
    assert statuses == [s for s in ["queued", "in_progress", "completed"] if s in statuses]
    done = mantle.responses.retrieve(r.id)
    assert done.output_text == expected and done.usage.output_tokens > 0


def test_background_response_can_be_cancelled(mantle):
    r = mantle.responses.create(model=MANTLE_MODEL, input="Never mind", background=True)
    assert mantle.responses.cancel(r.id).status == "cancelled"
    # Wait for the worker itself (the service runs in this process): once it has ended, it must
    # have left the cancelled response alone.
    for worker in [t for t in threading.enumerate() if t.name == f"bedrock-background-{r.id}"]:
        worker.join(timeout=30)
        assert not worker.is_alive()
    assert mantle.responses.retrieve(r.id).status == "cancelled"
    done = mantle.responses.create(model=MANTLE_MODEL, input="Sync")
    with pytest.raises(openai.BadRequestError):
        mantle.responses.cancel(done.id)


MCP_TOOL = {"type": "mcp", "server_label": "lookup", "require_approval": "never",
            "connector_id": "arn:aws:lambda:us-east-1:123456789012:function:lookup"}


@pytest.mark.parametrize("kwargs", [{"background": True}, {"tools": [MCP_TOOL]}])
def test_runtime_responses_refuse_mantle_only_features(runtime, kwargs):
    with pytest.raises(openai.BadRequestError) as excinfo:
        runtime.responses.create(model=RUNTIME_MODEL, input="Hi", **kwargs)
    assert "bedrock-mantle" in excinfo.value.message
    assert excinfo.value.code == "unsupported_parameter"


@pytest.mark.parametrize("kind", ["namespace", "web_search", "code_interpreter", "file_search", "custom"])
def test_responses_refuse_tool_types_bedrock_does_not_know(any_client, kind):
    # Bedrock's Responses deserializer takes only `function` and `mcp` tools, on mantle and runtime alike;
    # it refuses before looking at anything else (here not even the model exists).
    client, _ = any_client
    tools = [{"type": kind, "name": "x", "tools": []}]
    for model in (MANTLE_MODEL, "acme.no-such-model"):
        with pytest.raises(openai.BadRequestError) as excinfo:
            client.responses.create(model=model, input="Hi", tools=tools)
        assert excinfo.value.status_code == 400
        assert excinfo.value.body["message"] == ("Failed to deserialize the JSON body into the target type: Invalid "
                                                 f"'tools': unknown variant `{kind}`, expected `function` or `mcp`")


@pytest.mark.parametrize("kwargs, param, code", [
    ({"reasoning": "high"}, "reasoning", "invalid_type"),
    ({"max_output_tokens": 0}, "max_output_tokens", "integer_below_min_value"),
    ({"temperature": 2.5}, "temperature", "decimal_above_max_value"),
    ({"input": [{"role": "robot", "content": "Hi"}]}, "input[0].role", "invalid_value"),
    ({"background": True, "store": False}, "store", "invalid_value"),
])
def test_responses_bad_requests(mantle, kwargs, param, code):
    with pytest.raises(openai.BadRequestError) as excinfo:
        mantle.responses.create(**{"model": MANTLE_MODEL, "input": "Hi", **kwargs})
    assert (excinfo.value.param, excinfo.value.code) == (param, code)


def test_responses_unknown_model(mantle, runtime):
    for client, model in ((mantle, "acme.nothing"), (runtime, "acme.nothing-v1:0")):
        with pytest.raises(openai.NotFoundError) as excinfo:
            client.responses.create(model=model, input="Hi")
        assert excinfo.value.code == "model_not_found"


# -- one conversation, every API ---------------------------------------------------------------------

def test_same_prompt_same_text_and_input_tokens_on_every_api(local_env, runtime):
    system, prompt = "Answer in one line.", "What is the tallest mountain?"
    rt = boto3.client("bedrock-runtime", region_name="us-east-1")
    claude = "anthropic.claude-3-haiku-20240307-v1:0"

    conv = rt.converse(modelId=claude, system=[{"text": system}], messages=[{"role": "user", "content": [{"text": prompt}]}])
    conv_text = conv["output"]["message"]["content"][0]["text"]
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 500, "system": system,
            "messages": [{"role": "user", "content": prompt}]}
    inv = json.loads(rt.invoke_model(modelId=claude, body=json.dumps(body))["body"].read())
    counted = rt.count_tokens(modelId=claude, input={"converse": {
        "system": [{"text": system}], "messages": [{"role": "user", "content": [{"text": prompt}]}]}})
    chat = runtime.chat.completions.create(model=RUNTIME_MODEL, messages=[
        {"role": "system", "content": system}, {"role": "user", "content": prompt}])
    resp = runtime.responses.create(model=RUNTIME_MODEL, instructions=system, input=prompt)
    conv_oss = rt.converse(modelId=RUNTIME_MODEL, system=[{"text": system}],
                           messages=[{"role": "user", "content": [{"text": prompt}]}])

    assert inv["content"][0]["text"] == conv_text
    oss_text = conv_oss["output"]["message"]["content"][0]["text"]
    assert chat.choices[0].message.content == resp.output_text == oss_text
    assert oss_text.removeprefix(REPLY_PREFIX) == conv_text.removeprefix(f"Local Bedrock reply from {claude}: ")
    # one count per model on every API; each model counts with its own tokenizer
    n = conv["usage"]["inputTokens"]
    assert n == inv["usage"]["input_tokens"] == counted["inputTokens"] == 3 + tokens.count(system, "claude") \
        + tokens.count(prompt, "claude")
    n_oss = conv_oss["usage"]["inputTokens"]
    assert n_oss == chat.usage.prompt_tokens == resp.usage.input_tokens == 3 + tokens.count(system, "gpt") \
        + tokens.count(prompt, "gpt")
    assert n != n_oss


# -- every object validates strictly against the SDK's types -------------------------------------------

def _sse_data(raw) -> list[dict]:
    raw.http_response.read()
    return [json.loads(line[6:]) for line in raw.text.splitlines() if line.startswith("data: {")]


@pytest.mark.parametrize("kwargs", [{}, {"tools": [WEATHER_RESP], "input": "get_weather city=Oslo"},
                                    {"max_output_tokens": 3}])
def test_responses_objects_and_events_validate_against_sdk_types(mantle, kwargs):
    import pydantic
    from openai.types.responses import Response, ResponseStreamEvent

    kwargs = {"model": MANTLE_MODEL, "input": "Hi", **kwargs}
    Response.model_validate(json.loads(mantle.responses.with_raw_response.create(**kwargs).text))
    events = _sse_data(mantle.responses.with_raw_response.create(stream=True, **kwargs))
    adapter = pydantic.TypeAdapter(ResponseStreamEvent)
    assert [adapter.validate_python(e).type for e in events][-1] in ("response.completed", "response.incomplete")


@pytest.mark.parametrize("kwargs", [{}, {"tools": [WEATHER_CHAT], "messages": [{"role": "user", "content": "get_weather"}]}])
def test_chat_objects_validate_against_sdk_types(runtime, kwargs):
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    kwargs = {"model": RUNTIME_MODEL, "messages": [{"role": "user", "content": "Hi"}], **kwargs}
    ChatCompletion.model_validate(json.loads(runtime.chat.completions.with_raw_response.create(**kwargs).text))
    chunks = _sse_data(runtime.chat.completions.with_raw_response.create(
        stream=True, stream_options={"include_usage": True}, **kwargs))
    assert all(ChatCompletionChunk.model_validate(c) for c in chunks)
