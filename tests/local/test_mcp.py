"""Mantle's server-side tools on the local service, driven by the openai SDK alone.

A Python function registered as a local Lambda (``LocalService.register_lambda``) is an ``mcp``
connector: the local mantle lists and calls it over MCP JSON-RPC and answers with
``mcp_list_tools`` / ``mcp_call`` items, streamed and not; gpt-oss has the built-in ``notes`` and
``tasks`` tools. No project code runs on the client side of these tests.
"""

from __future__ import annotations

import json
import time
import uuid

import openai
import pytest

from bedrock_magics.local import credentials as local

MODEL = "openai.gpt-oss-120b"
REPLY = "Local Bedrock reply from openai.gpt-oss-120b-1:0: "
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string", "description": "the city name"}},
                  "required": ["city"]}


def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: the city name
    """
    return f"Sunny in {city}, 21 C"


def convert(amount: float, currency: str = "EUR") -> dict:
    """Convert US dollars to another currency."""
    return {"amount": round(amount * 0.9, 2), "currency": currency}


def broken(x: int) -> int:
    """A tool whose disk is on fire."""
    raise ValueError("disk on fire")


def aws_example_handler(event, context):
    """AWS's documented example function (*Server-side tool use*, step 1), unchanged in substance."""
    method, params, request_id = event.get("method"), event.get("params", {}), event.get("id")
    if method == "tools/list":
        return {"jsonrpc": "2.0", "id": request_id, "result": {"tools": [{
            "name": "my_custom_tool", "description": "My custom business logic tool",
            "inputSchema": {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}}]}}
    if method == "tools/call" and params.get("name") == "my_custom_tool":
        text = f"Processed: {params.get('arguments', {}).get('input', '')}"
        return {"jsonrpc": "2.0", "id": request_id, "result": {"content": [{"type": "text", "text": text}]}}
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": -32601, "message": "Method not found"}}


@pytest.fixture
def mantle(local_env, local_service):
    """A plain openai client on the local mantle's ``/v1`` with the local API key."""
    return openai.OpenAI(base_url=local_service.endpoints["mantle"] + "/v1", api_key=local.API_KEY, max_retries=0)


@pytest.fixture
def lam(local_service):
    """Register a function as a local Lambda under a fresh name; returns its ARN."""
    arns = []

    def register(func, **kw):
        arns.append(local_service.register_lambda(f"t-{uuid.uuid4().hex[:12]}", func, **kw))
        return arns[-1]

    yield register
    for arn in arns:
        local_service.unregister_lambda(arn)


def mcp_tool(arn: str, label: str = "tools", **extra) -> dict:
    return {"type": "mcp", "server_label": label, "connector_id": arn, "require_approval": "never", **extra}


def types(response) -> list[str]:
    return [item.type for item in response.output]


# -- the Lambda as a connector ------------------------------------------------------------------------------

def test_register_lambda_gives_a_lambda_arn_of_the_local_account(local_service, lam):
    arn = lam(get_weather)
    name = arn.rsplit(":", 1)[1]
    assert arn == f"arn:aws:lambda:{local_service.default_region}:{local.ACCOUNT_ID}:function:{name}"
    assert arn in local_service.lambda_arns
    assert local_service.register_lambda(name, get_weather, region="us-west-2").startswith("arn:aws:lambda:us-west-2:")
    local_service.unregister_lambda(arn.replace(local_service.default_region, "us-west-2"))


def test_mantle_lists_and_calls_a_local_lambda(mantle, lam):
    arn = lam(get_weather)
    r = mantle.responses.create(model=MODEL, input="What is the weather? get_weather city=Paris",
                                tools=[mcp_tool(arn, "weather")])
    assert types(r) == ["mcp_list_tools", "mcp_call", "message"]
    listed, called, message = r.output
    assert listed.server_label == "weather" and listed.error is None
    (tool,) = listed.tools
    assert (tool.name, tool.description, tool.input_schema) == ("get_weather", "Current weather for a city.",
                                                                 WEATHER_SCHEMA)
    assert (called.server_label, called.name, json.loads(called.arguments)) == ("weather", "get_weather",
                                                                                 {"city": "Paris"})
    assert (called.output, called.error, called.status) == ("Sunny in Paris, 21 C", None, "completed")
    assert r.output_text == REPLY + "the tool get_weather returned Sunny in Paris, 21 C."
    assert message.status == "completed" and r.status == "completed"
    assert r.tools[0].type == "mcp" and r.tools[0].connector_id == arn


def test_a_json_result_reaches_the_model_as_json(mantle, lam):
    r = mantle.responses.create(model=MODEL, input="convert amount=10", tools=[mcp_tool(lam(convert))])
    assert json.loads(r.output[1].output) == {"amount": 9.0, "currency": "EUR"}
    assert r.output_text == REPLY + 'the tool convert returned {"amount": 9.0, "currency": "EUR"}.'


def test_a_prompt_that_names_no_tool_lists_but_does_not_call(mantle, lam):
    r = mantle.responses.create(model=MODEL, input="Hello there", tools=[mcp_tool(lam(get_weather))])
    assert types(r) == ["mcp_list_tools", "message"]
    r = mantle.responses.create(model=MODEL, input="get_weather city=Oslo", tools=[mcp_tool(lam(get_weather))],
                                tool_choice="none")
    assert types(r) == ["mcp_list_tools", "message"]


def test_usage_is_what_the_same_two_client_side_rounds_cost(mantle, lam):
    """The tool definition, the call and its result are billed as if the caller had run the tool."""
    prompt = "get_weather city=Lima"
    server = mantle.responses.create(model=MODEL, input=prompt, tools=[mcp_tool(lam(get_weather))])
    function = {"type": "function", "name": "get_weather", "description": "Current weather for a city.",
                "parameters": WEATHER_SCHEMA}
    first = mantle.responses.create(model=MODEL, input=prompt, tools=[function])
    call = first.output[0]
    second = mantle.responses.create(model=MODEL, previous_response_id=first.id, tools=[function], input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny in Lima, 21 C"}])
    assert second.output_text == server.output_text
    assert server.usage.input_tokens == first.usage.input_tokens + second.usage.input_tokens
    assert server.usage.output_tokens == first.usage.output_tokens + second.usage.output_tokens
    assert server.usage.total_tokens == server.usage.input_tokens + server.usage.output_tokens


def test_streamed_items_and_events(mantle, lam):
    arn = lam(get_weather)
    events = list(mantle.responses.create(model=MODEL, input="get_weather city=Paris", tools=[mcp_tool(arn)],
                                          stream=True))
    kinds = [e.type for e in events]
    assert kinds[:10] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.mcp_list_tools.in_progress", "response.mcp_list_tools.completed",
        "response.output_item.done",
        "response.output_item.added", "response.mcp_call.in_progress", "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.delta"]
    at = kinds.index("response.mcp_call_arguments.done")
    assert kinds[at + 1:at + 4] == ["response.mcp_call.completed", "response.output_item.done",
                                    "response.output_item.added"]
    assert kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    added = [e for e in events if e.type == "response.output_item.added"]
    assert added[1].item.type == "mcp_call" and added[1].item.status == "in_progress" and added[1].item.output is None
    call_id = added[1].item.id
    deltas = "".join(e.delta for e in events if e.type == "response.mcp_call_arguments.delta")
    done = next(e for e in events if e.type == "response.mcp_call_arguments.done")
    assert deltas == done.arguments and json.loads(deltas) == {"city": "Paris"} and done.item_id == call_id
    assert all(e.item_id == call_id for e in events if e.type.startswith("response.mcp_call"))
    final = events[-1].response
    assert [i.type for i in final.output] == ["mcp_list_tools", "mcp_call", "message"]
    assert final.output[1].output == "Sunny in Paris, 21 C"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == final.output_text == REPLY + "the tool get_weather returned Sunny in Paris, 21 C."
    assert final.usage.input_tokens > 0


def test_the_sdk_stream_helper_accumulates_the_items(mantle, lam):
    with mantle.responses.stream(model=MODEL, input="get_weather city=Rome", tools=[mcp_tool(lam(get_weather))]) as s:
        final = s.get_final_response()
    assert types(final) == ["mcp_list_tools", "mcp_call", "message"]
    assert final.output_text.endswith("returned Sunny in Rome, 21 C.")


def test_previous_response_id_keeps_the_listing_and_the_conversation(mantle, lam):
    arn = lam(get_weather)
    first = mantle.responses.create(model=MODEL, input="get_weather city=Paris", tools=[mcp_tool(arn)])
    second = mantle.responses.create(model=MODEL, input="And get_weather city=Rome", tools=[mcp_tool(arn)],
                                     previous_response_id=first.id)
    assert types(second) == ["mcp_call", "message"]  # listed earlier in the conversation: not again
    assert second.output[0].output == "Sunny in Rome, 21 C"
    assert second.usage.input_tokens > first.usage.input_tokens  # the earlier rounds are context now
    stored = mantle.responses.retrieve(second.id)
    assert types(stored) == ["mcp_call", "message"] and stored.output_text == second.output_text
    # a new connector label in the same conversation is listed
    third = mantle.responses.create(model=MODEL, input="Hello", tools=[mcp_tool(arn, "other")],
                                    previous_response_id=second.id)
    assert types(third) == ["mcp_list_tools", "message"]


def test_store_false_with_the_listing_passed_back_is_not_listed_again(mantle, lam):
    arn = lam(get_weather)
    first = mantle.responses.create(model=MODEL, input="Hi", tools=[mcp_tool(arn)], store=False)
    listing = first.output[0].model_dump()
    again = mantle.responses.create(model=MODEL, store=False, tools=[mcp_tool(arn)],
                                    input=[listing, {"role": "user", "content": "get_weather city=Bern"}])
    assert types(again) == ["mcp_call", "message"]
    with pytest.raises(openai.NotFoundError):
        mantle.responses.retrieve(first.id)


def test_store_false_with_the_items_passed_back_is_the_same_conversation(mantle, lam):
    arn = lam(get_weather)
    stored = mantle.responses.create(model=MODEL, input="get_weather city=Paris", tools=[mcp_tool(arn)])
    follow_up = mantle.responses.create(model=MODEL, input="Thanks!", tools=[mcp_tool(arn)],
                                        previous_response_id=stored.id)
    unstored = mantle.responses.create(model=MODEL, input="get_weather city=Paris", tools=[mcp_tool(arn)], store=False)
    passed_back = [{"role": "user", "content": "get_weather city=Paris"}] + [
        item.model_dump(exclude_none=True) for item in unstored.output] + [{"role": "user", "content": "Thanks!"}]
    again = mantle.responses.create(model=MODEL, input=passed_back, tools=[mcp_tool(arn)], store=False)
    assert types(again) == types(follow_up) == ["message"]
    assert again.usage.input_tokens == follow_up.usage.input_tokens  # the call and its output are context
    assert again.output_text == follow_up.output_text


def test_a_background_response_runs_its_server_side_tools(mantle, lam):
    arn = lam(get_weather)
    r = mantle.responses.create(model=MODEL, input="get_weather city=Quito", tools=[mcp_tool(arn)], background=True)
    assert r.status == "queued" and r.output == []
    for _ in range(2000):  # a bound on polling, not a timing assertion
        done = mantle.responses.retrieve(r.id)
        if done.status not in ("queued", "in_progress"):
            break
        time.sleep(0.01)
    assert done.status == "completed"
    assert types(done) == ["mcp_list_tools", "mcp_call", "message"]
    assert done.output[1].output == "Sunny in Quito, 21 C"


def test_client_function_tools_mix_with_server_tools(mantle, lam):
    arn = lam(get_weather)
    local_fn = {"type": "function", "name": "send_email", "description": "Send an e-mail",
                "parameters": {"type": "object", "properties": {"to": {"type": "string"}}, "required": ["to"]}}
    tools = [mcp_tool(arn), local_fn]
    r = mantle.responses.create(model=MODEL, input="send_email to=ada@example.com", tools=tools)
    assert types(r) == ["mcp_list_tools", "function_call"]
    call = r.output[1]
    assert (call.name, json.loads(call.arguments)) == ("send_email", {"to": "ada@example.com"})
    done = mantle.responses.create(model=MODEL, previous_response_id=r.id, tools=tools, input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "sent"}])
    assert types(done) == ["message"] and done.output_text == REPLY + "the tool send_email returned sent."
    server = mantle.responses.create(model=MODEL, input="get_weather city=Kyiv", tools=tools,
                                     previous_response_id=done.id)
    assert types(server) == ["mcp_call", "message"]


def test_allowed_tools_keeps_only_those(mantle, lam):
    arn = lam([get_weather, convert])
    r = mantle.responses.create(model=MODEL, input="Hi", tools=[mcp_tool(arn)])
    assert [t.name for t in r.output[0].tools] == ["get_weather", "convert"]
    r = mantle.responses.create(model=MODEL, input="convert amount=3",
                                tools=[mcp_tool(arn, allowed_tools=["get_weather"])])
    assert [t.name for t in r.output[0].tools] == ["get_weather"]
    assert types(r) == ["mcp_list_tools", "message"]  # convert was not offered to the model


def test_tool_choice_can_name_a_server_tool(mantle, lam):
    arn = lam(get_weather)
    r = mantle.responses.create(model=MODEL, input="hello there", tools=[mcp_tool(arn, "wx")],
                                tool_choice={"type": "mcp", "server_label": "wx", "name": "get_weather"})
    assert types(r) == ["mcp_list_tools", "mcp_call", "message"]
    # The prompt names no city: the responder's type-correct default for a required string (responder.values).
    assert json.loads(r.output[1].arguments) == {"city": ""}


def test_the_module_level_helper(local_service, mantle):
    from bedrock_magics.local import register_lambda

    arn = register_lambda(local_service, "module-helper", get_weather)
    try:
        assert mantle.responses.create(model=MODEL, input="get_weather city=Nice",
                                       tools=[mcp_tool(arn)]).output[1].output == "Sunny in Nice, 21 C"
    finally:
        local_service.unregister_lambda(arn)


def test_an_mcp_handler_function_runs_as_on_aws(mantle, lam):
    arn = lam(aws_example_handler, handler=True)
    r = mantle.responses.create(model=MODEL, input="my_custom_tool input=hello", tools=[mcp_tool(arn, "xamzn_arn")])
    assert types(r) == ["mcp_list_tools", "mcp_call", "message"]
    assert r.output[1].output == "Processed: hello"


def test_a_local_agentcore_gateway_of_several_lambdas(local_service, mantle, lam):
    weather, money, fails = lam(get_weather), lam(convert), lam(broken)
    arn = local_service.register_gateway("travel-tools", {"Weather": weather, "Money": money, "Bad": fails})
    try:
        assert arn.startswith(f"arn:aws:bedrock-agentcore:{local_service.default_region}:{local.ACCOUNT_ID}:"
                              f"gateway/travel-tools-")
        tool = mcp_tool(arn, "agentcore_tools", server_description="Travel tools")
        r = mantle.responses.create(model=MODEL, input="Weather___get_weather city=Oslo", tools=[tool])
        assert [t.name for t in r.output[0].tools] == ["Weather___get_weather", "Money___convert", "Bad___broken"]
        assert r.output[0].tools[0].input_schema == WEATHER_SCHEMA
        call = r.output[1]
        assert (call.name, call.output, call.status) == ("Weather___get_weather", "Sunny in Oslo, 21 C", "completed")
        assert r.output_text == REPLY + "the tool Weather___get_weather returned Sunny in Oslo, 21 C."
        failed = mantle.responses.create(model=MODEL, input="Bad___broken x=2", tools=[tool]).output[1]
        assert failed.status == "failed" and failed.error.message == "Tool execution failed: ValueError: disk on fire"
    finally:
        local_service.unregister_lambda(arn)
    with pytest.raises(openai.APIStatusError) as err:
        mantle.responses.create(model=MODEL, input="Hi", tools=[mcp_tool(arn)])
    assert err.value.status_code == 424 and "register_gateway" in err.value.body["message"]


def test_register_gateway_refuses_unknown_targets_and_bad_names(local_service, lam):
    with pytest.raises(ValueError, match="not a registered local Lambda function"):
        local_service.register_gateway("gw", {"T": f"arn:aws:lambda:us-east-1:{local.ACCOUNT_ID}:function:nope"})
    with pytest.raises(ValueError, match="gateway name 'bad_name' is not valid"):
        local_service.register_gateway("bad_name", {"T": lam(get_weather)})
    with pytest.raises(ValueError, match="needs targets"):
        local_service.register_gateway("gw", {})
    with pytest.raises(ValueError, match="is not a local Lambda function in us-west-2"):
        local_service.register_gateway("gw", {"T": lam(get_weather)}, region="us-west-2")


# -- errors and limits --------------------------------------------------------------------------------------

def test_a_tool_that_raises_is_a_failed_mcp_call(mantle, lam):
    arn = lam(broken)
    r = mantle.responses.create(model=MODEL, input="broken x=1", tools=[mcp_tool(arn)])
    assert types(r) == ["mcp_list_tools", "mcp_call", "message"]
    call = r.output[1]
    assert call.status == "failed" and call.output is None
    assert (call.error.type, call.error.code) == ("mcp_protocol_error", -32000)
    assert call.error.message == "Tool execution failed: ValueError: disk on fire"
    assert r.output_text == REPLY + "the tool broken returned Tool execution failed: ValueError: disk on fire."
    events = [e.type for e in mantle.responses.create(model=MODEL, input="broken x=1", tools=[mcp_tool(arn)],
                                                      stream=True)]
    assert "response.mcp_call.failed" in events and "response.mcp_call.completed" not in events


def test_a_handler_that_raises_is_a_failed_mcp_call(mantle, lam):
    def handler(event, context):
        if event["method"] == "tools/list":
            return aws_example_handler(event, context)
        raise RuntimeError("out of memory")

    arn = lam(handler, handler=True)
    r = mantle.responses.create(model=MODEL, input="my_custom_tool input=x", tools=[mcp_tool(arn)])
    assert r.output[1].status == "failed"
    assert r.output[1].error.message == "Tool execution failed: RuntimeError: out of memory"


def test_unknown_lambda_is_a_424_naming_the_fix(mantle, local_service):
    arn = f"arn:aws:lambda:us-east-1:{local.ACCOUNT_ID}:function:no-such-function"
    with pytest.raises(openai.APIStatusError) as err:
        mantle.responses.create(model=MODEL, input="Hi", tools=[mcp_tool(arn, "missing")])
    assert err.value.status_code == 424
    body = err.value.body
    assert body["type"] == "external_connector_error"
    assert body["message"].startswith(f"Error retrieving tool list from MCP server: 'missing'. "
                                      f"Function not found: {arn}.")
    assert "register_lambda" in body["message"]
    other_account = arn.replace(local.ACCOUNT_ID, "999999999999")
    with pytest.raises(openai.APIStatusError) as err:
        mantle.responses.create(model=MODEL, input="Hi", tools=[mcp_tool(other_account)], stream=True)
    assert err.value.status_code == 424


def test_an_unregistered_lambda_is_gone(mantle, local_service):
    arn = local_service.register_lambda("short-lived", get_weather)
    assert mantle.responses.create(model=MODEL, input="Hi", tools=[mcp_tool(arn)]).output[0].type == "mcp_list_tools"
    assert local_service.unregister_lambda(arn) and not local_service.unregister_lambda(arn)
    with pytest.raises(openai.APIStatusError) as err:
        mantle.responses.create(model=MODEL, input="Hi", tools=[mcp_tool(arn)])
    assert err.value.status_code == 424


def test_a_server_whose_listing_fails_is_a_424(mantle, lam):
    def handler(event, context):
        return {"jsonrpc": "2.0", "id": event["id"], "error": {"code": -32601, "message": "Method not found"}}

    with pytest.raises(openai.APIStatusError) as err:
        mantle.responses.create(model=MODEL, input="Hi", tools=[mcp_tool(lam(handler, handler=True), "bad")])
    assert err.value.status_code == 424
    assert err.value.body["message"] == ("Error retrieving tool list from MCP server: 'bad'. "
                                         "tools/list failed: Method not found")


def test_agentcore_gateway_without_a_local_gateway(mantle):
    arn = "arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/agentcore-intro-gateway-v2-swvq44sovp"
    with pytest.raises(openai.APIStatusError) as err:
        mantle.responses.create(model=MODEL, input="What is the weather in Seattle?",
                                tools=[mcp_tool(arn, "agentcore_tools", server_description="AgentCore tools")])
    assert err.value.status_code == 424
    assert err.value.body["message"].startswith(
        f"Error retrieving tool list from MCP server: 'agentcore_tools'. Gateway not found: {arn}.")


@pytest.mark.parametrize("change, param, words", [
    ({"require_approval": "always"}, "require_approval", 'supports only "never"'),
    ({"require_approval": {"never": {"tool_names": ["x"]}}}, "require_approval", 'supports only "never"'),
    ({"require_approval": None}, "require_approval", "Missing required parameter"),
    ({"connector_id": "arn:aws:s3:::my-bucket"}, "connector_id", "Expected a Lambda function ARN"),
    ({"connector_id": "get_weather"}, "connector_id", "Expected a Lambda function ARN"),
    ({"connector_id": "arn:aws:lambda:us-east-1:12345:function:f"}, "connector_id", "Expected a Lambda function ARN"),
    ({"connector_id": None, "server_url": "https://mcp.example.com"}, "connector_id", "server_url is not supported"),
    ({"server_label": None}, "server_label", "Missing required parameter"),
    ({"allowed_tools": "get_weather"}, "allowed_tools", "expected an array"),
])
def test_bad_mcp_tools_are_refused(mantle, change, param, words):
    tool = {k: v for k, v in {**mcp_tool("arn:aws:lambda:us-east-1:123456789012:function:f"), **change}.items()
            if v is not None}
    with pytest.raises(openai.BadRequestError) as err:
        mantle.responses.create(model=MODEL, input="Hi", tools=[tool])
    assert err.value.body["param"] == f"tools[0].{param}"
    assert words in err.value.body["message"]


def test_approval_items_are_refused(mantle):
    for kind in ({"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": True},
                 {"type": "mcp_approval_request", "id": "mcpr_1", "server_label": "x", "name": "y", "arguments": "{}"}):
        with pytest.raises(openai.BadRequestError) as err:
            mantle.responses.create(model=MODEL, input=[{"role": "user", "content": "Hi"}, kind])
        assert err.value.body["param"] == "input[1].type" and 'require_approval must be "never"' in \
            err.value.body["message"]


def test_duplicate_server_labels_are_refused(mantle, lam):
    arn = lam(get_weather)
    with pytest.raises(openai.BadRequestError) as err:
        mantle.responses.create(model=MODEL, input="Hi", tools=[mcp_tool(arn, "same"), mcp_tool(arn, "same")])
    assert err.value.body["param"] == "tools[1].server_label"


def test_mcp_tools_are_mantle_responses_only(local_env, local_service, lam):
    arn = lam(get_weather)
    runtime = openai.OpenAI(base_url=local_service.endpoints["runtime"] + "/openai/v1", api_key=local.API_KEY,
                            max_retries=0)
    mantle = openai.OpenAI(base_url=local_service.endpoints["mantle"] + "/v1", api_key=local.API_KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as err:
        runtime.responses.create(model="openai.gpt-oss-120b-1:0", input="get_weather city=Paris", tools=[mcp_tool(arn)])
    message = err.value.body["message"]
    assert "not supported on bedrock-runtime" in message and "bedrock-mantle" in message
    chat_tools = [mcp_tool(arn)]
    for client, model in ((mantle, MODEL), (runtime, "openai.gpt-oss-120b-1:0")):
        with pytest.raises(openai.BadRequestError) as err:
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}], tools=chat_tools)
        assert err.value.body["param"] == "tools[0].type"
        assert "only with the Responses API on bedrock-mantle" in err.value.body["message"]


def test_register_lambda_refuses_bad_names_and_undocumented_functions(local_service):
    with pytest.raises(ValueError, match="not valid"):
        local_service.register_lambda("has space", get_weather)
    def nodoc(city: str) -> str:
        return city

    with pytest.raises(ValueError, match="has no docstring"):
        local_service.register_lambda("nodoc", nodoc)
    with pytest.raises(ValueError, match="must be callable"):
        local_service.register_lambda("nohandler", "not a function", handler=True)


# -- gpt-oss's built-in notes and tasks ---------------------------------------------------------------------

def test_tasks_tool_pushes_and_remembers_along_the_conversation(mantle):
    pushed = mantle.responses.create(model=MODEL, input="Use the tasks tool to push a task: review the API docs")
    assert types(pushed) == ["mcp_call", "message"]
    call = pushed.output[0]
    assert (call.name, call.status) == ("tasks", "completed")
    assert json.loads(call.arguments) == {"method": "push", "task": {"title": "review the API docs"}}
    assert call.output == "Pushed task: review the API docs (1 on the stack)"
    assert pushed.output_text == REPLY + "the tool tasks returned " + call.output + "."
    second = mantle.responses.create(model=MODEL, input="Add a task to call the client", previous_response_id=pushed.id)
    assert second.output[0].output == "Pushed task: call the client (2 on the stack)"
    nxt = mantle.responses.create(model=MODEL, input="What's the next task I need to do?",
                                  previous_response_id=second.id)
    assert nxt.output[0].output == "Next task: call the client"
    popped = mantle.responses.create(model=MODEL, input="Pop a task from the stack", previous_response_id=nxt.id)
    assert popped.output[0].output == "Popped task: call the client"
    listed = mantle.responses.create(model=MODEL, input="Show my tasks", previous_response_id=popped.id)
    assert json.loads(listed.output[0].output) == [{"title": "review the API docs", "description": ""}]
    # memory is per conversation: a branch from an earlier response sees that response's memory
    branch = mantle.responses.create(model=MODEL, input="Show my tasks", previous_response_id=pushed.id)
    assert json.loads(branch.output[0].output) == [{"title": "review the API docs", "description": ""}]
    fresh = mantle.responses.create(model=MODEL, input="Show my tasks")
    assert fresh.output[0].output == "The task stack is empty."


def test_notes_tool_stores_and_recalls(mantle):
    noted = mantle.responses.create(model="openai.gpt-oss-20b",
                                    input="Use the notes tool to store that my preferred language is Python.")
    call = noted.output[0]
    assert (call.type, call.name, json.loads(call.arguments)) == (
        "mcp_call", "notes", {"method": "add", "note": "my preferred language is Python"})
    recalled = mantle.responses.create(model="openai.gpt-oss-20b", input="Check my notes: what language do I like?",
                                       previous_response_id=noted.id)
    assert json.loads(recalled.output[0].output) == ["my preferred language is Python"]
    assert recalled.output_text.endswith('the tool notes returned ["my preferred language is Python"].')
    events = [e.type for e in mantle.responses.create(model=MODEL, input="Remember that I like tea", stream=True)]
    assert "response.mcp_call.completed" in events and "response.mcp_list_tools.in_progress" not in events


def test_builtins_are_gpt_oss_mantle_only_and_not_used_unasked(local_env, local_service, mantle):
    from bedrock_magics.local.mcp import has_builtins

    with_builtins = {e["mantleId"] for region in local_service.catalog.mantle_regions
                     for e in local_service.catalog.mantle_models(region) if has_builtins(e)}
    assert with_builtins == {"openai.gpt-oss-20b", "openai.gpt-oss-120b"}  # AWS: "built into" these two
    prompt = "Use the notes tool to store that I like tea."
    assert types(mantle.responses.create(model=MODEL, input="I'm writing notes for a talk.")) == ["message"]
    assert types(mantle.responses.create(model=MODEL, input=prompt, tool_choice="none")) == ["message"]
    runtime = openai.OpenAI(base_url=local_service.endpoints["runtime"] + "/openai/v1", api_key=local.API_KEY,
                            max_retries=0)
    assert types(runtime.responses.create(model="openai.gpt-oss-120b-1:0", input=prompt)) == ["message"]


def test_a_failing_builtin_call_is_a_failed_item(mantle):
    r = mantle.responses.create(model=MODEL, input="Use the notes tool method=add note=\"\"")
    assert r.output[0].status == "failed" and r.output[0].error.code == -32000
    assert "a note to add needs a text" in r.output[0].error.message
