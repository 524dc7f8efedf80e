"""Mantle from the client: server-side tools (``lambda:``/``gateway:`` connectors and gpt-oss's
built-ins), the per-model path prefix, ``reasoning.effort``, background and stored responses, and
a ``--chat`` that resumes from the ledger. Through the Python API and the magics, against the local
service over HTTPS with the real openai SDK.
"""

from __future__ import annotations

import uuid

import pytest

from bedrock_magics import endpoints, toolview
from bedrock_magics.core import Bedrock
from bedrock_magics.errors import BedrockError
from bedrock_magics.local import credentials
from bedrock_magics.servertools import ServerTool, connector_failure, parse, split
from test_magics import bundles, ip, rows, run, run_ok, shell, shown_text, usage_error  # noqa: F401 - fixtures

MODEL = "openai.gpt-oss-120b"
MANTLE = {"endpoint": "mantle", "api": "responses", "model": MODEL}
GPT5 = {"endpoint": "mantle", "api": "responses", "model": "openai.gpt-5.4", "region": "us-west-2"}


def get_weather(city: str) -> str:
    """Current weather for a city.

    Args:
        city: the city name
    """
    return f"Sunny in {city}, 21 C"


def broken(x: int) -> int:
    """A tool whose disk is on fire."""
    raise ValueError("disk on fire")


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def weather(bm):
    """A local Lambda serving get_weather, registered through the Python API; its name."""
    name = unique("weather")
    arn = bm.local_lambda(name, get_weather)
    assert arn == f"arn:aws:lambda:us-east-1:{credentials.ACCOUNT_ID}:function:{name}"
    return name


# -- server-side tools, Python API --------------------------------------------------------------------

def test_a_lambda_tool_is_called_by_mantle_and_its_result_answers(bm, weather):
    reply = bm.ask("get_weather city=Paris", tools=[f"lambda:{weather}"], **MANTLE)
    assert reply.ok and reply.text.endswith("the tool get_weather returned Sunny in Paris, 21 C.")
    listed, call = reply.server_calls
    assert (listed.kind, listed.server, listed.tools) == ("list_tools", weather, ("get_weather",))
    assert (call.kind, call.server, call.tool, call.arguments, call.output, call.status) == \
        ("call", weather, "get_weather", {"city": "Paris"}, "Sunny in Paris, 21 C", "completed")
    assert not call.failed
    sent = reply.raw["tools"]
    assert sent == [{**sent[0], "type": "mcp", "server_label": weather, "require_approval": "never",
                     "connector_id": f"arn:aws:lambda:us-east-1:{credentials.ACCOUNT_ID}:function:{weather}"}]
    frame = bm.usage()
    assert len(frame) == 1 and frame.iloc[0]["status"] == "ok" and frame.iloc[0]["input_tokens"] > 0


def test_a_full_lambda_arn_is_sent_as_given(bm, weather):
    arn = f"arn:aws:lambda:us-east-1:{credentials.ACCOUNT_ID}:function:{weather}"
    reply = bm.ask("get_weather city=Lima", tools=[f"lambda:{arn}"], **MANTLE)
    assert reply.raw["tools"][0]["connector_id"] == arn and "Sunny in Lima" in reply.text


def test_streaming_yields_each_server_tool_item_before_the_answer(bm, weather):
    pieces = list(bm.stream("get_weather city=Rome", tools=[f"lambda:{weather}"], **MANTLE))
    kinds = [type(p).__name__ for p in pieces]
    assert kinds[:2] == ["ServerCall", "ServerCall"] and kinds[-1] == "Reply" and set(kinds[2:-1]) == {"str"}
    assert pieces[1].output == "Sunny in Rome, 21 C" and pieces[-1].server_calls == pieces[:2]
    assert "".join(p for p in pieces if isinstance(p, str)) == pieces[-1].text  # items are not text
    assert len(bm.usage()) == 1


def test_a_failing_tool_is_a_failed_call_the_model_reads_and_one_line_naming_the_fix(bm):
    name = unique("broken")
    bm.local_lambda(name, broken)
    reply = bm.ask("broken x=3", tools=[f"lambda:{name}"], **MANTLE)
    call = reply.server_calls[-1]
    assert call.failed and call.status == "failed" and "disk on fire" in call.error
    assert "disk on fire" in reply.text  # the model read the error
    line = toolview.server_call_line(call)
    assert "\n" not in line and "⚠ failed" in line and "fix the function broken" in line


def test_an_unknown_lambda_is_one_line_naming_the_fix_and_still_a_ledger_row(bm):
    with pytest.raises(BedrockError) as err:
        bm.ask("get_weather city=Paris", tools=["lambda:nobody-home"], **MANTLE)
    message = str(err.value)
    assert message.startswith("Mantle could not reach the server-side tool 'nobody-home': Function not found")
    assert "%bedrock local lambda nobody-home FUNC" in message and "\n" not in err.value.args[0]
    (row,) = bm.usage().to_dict("records")
    assert row["status"] == "error" and row["error"].startswith("Mantle could not reach")


def test_a_missing_permission_is_one_line_naming_it():
    text = ("User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: "
            "lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:f")
    message, code, fix = connector_failure(403, "AccessDeniedException", text, "us-east-1")
    assert code == "AccessDeniedException" and "lambda:InvokeFunction" in message and "lambda:InvokeFunction" in fix
    assert connector_failure(400, "ValidationException", "bad temperature", "us-east-1") is None
    assert connector_failure(424, "ModelErrorException", "The model failed", "us-east-1") is None  # 424 too


def test_python_tools_and_server_tools_mix_in_one_call(bm, weather):
    rounds = []
    reply = bm.ask("add a=2 b=3", tools=[add, f"lambda:{weather}"], on_round=rounds.append, **MANTLE)
    assert reply.text.endswith("the tool add returned 5.") and len(rounds) == 2
    for round_ in rounds:  # every round offers both: the function and the connector
        types = sorted(t["type"] for t in round_.reply.raw["tools"])
        assert types == ["function", "mcp"]
    assert len(bm.usage()) == 2  # a ledger row per round
    reply = bm.ask("get_weather city=Oslo", tools=[add, f"lambda:{weather}"], **MANTLE)
    assert "Sunny in Oslo" in reply.text and reply.server_calls[-1].tool == "get_weather"


def test_a_local_gateway_of_lambdas_is_a_gateway_tool(bm, local_service, weather):
    target = f"arn:aws:lambda:us-east-1:{credentials.ACCOUNT_ID}:function:{weather}"
    arn = local_service.register_gateway(unique("gw"), {"Weather": target})
    reply = bm.ask("Weather___get_weather city=Kyiv", tools=[f"gateway:{arn}"], **MANTLE)
    assert reply.server_calls[-1].tool == "Weather___get_weather" and "Sunny in Kyiv" in reply.text


def test_gpt_oss_built_in_notes_are_shown_as_server_calls(bm):
    reply = bm.ask("remember that: the sky is blue", **MANTLE)
    (call,) = reply.server_calls
    assert (call.server, call.tool, call.status) == ("notes", "notes", "completed")
    assert "the sky is blue" in call.output and "the sky is blue" in toolview.server_call_line(call)


@pytest.mark.parametrize("endpoint, api", [("runtime", "responses"), ("runtime", "converse"), ("mantle", "chat")])
def test_server_tools_off_mantle_responses_are_refused_before_sending(bm, endpoint, api):
    with pytest.raises(ValueError, match="run on mantle's Responses API.*--endpoint mantle --api responses"):
        bm.ask("hi", endpoint=endpoint, api=api, model="openai.gpt-oss-120b-1:0", tools=["lambda:f"])
    assert len(bm.usage()) == 0


@pytest.mark.parametrize("bad, says", [
    ("lambda:no spaces", "a Lambda tool is lambda:NAME"),
    ("lambda:" + "x" * 65, "a Lambda tool is lambda:NAME"),
    ("lambda:arn:aws:s3:::bucket", "a Lambda tool is lambda:NAME"),
    ("gateway:my-gateway", "a gateway tool is gateway:arn:aws:bedrock-agentcore"),
    ("gateway:arn:aws:lambda:us-east-1:123456789012:function:f", "a gateway tool is gateway:arn"),
])
def test_bad_server_tools_are_one_line(bad, says):
    with pytest.raises(ValueError, match=says):
        parse(bad)


def test_server_tools_are_split_from_functions_and_labels_are_unique():
    functions, server = split([add, "lambda:f", "gateway:arn:aws:bedrock-agentcore:us-east-1:123456789012:gateway/g1"])
    assert functions == [add] and [s.kind for s in server] == ["lambda", "gateway"]
    assert server[0].arn("eu-west-1", "111122223333") == "arn:aws:lambda:eu-west-1:111122223333:function:f"
    assert ServerTool("lambda", "f").arn("cn-north-1", "1" * 12).startswith("arn:aws-cn:lambda:cn-north-1:")
    with pytest.raises(ValueError, match="would share the server label 'f'"):
        split(["lambda:f", "lambda:arn:aws:lambda:us-east-1:123456789012:function:f"])
    with pytest.raises(ValueError, match="a string tool must be lambda:NAME_OR_ARN or gateway:ARN"):
        split(["get_weather"])
    with pytest.raises(ValueError, match="needs your account id"):
        ServerTool("lambda", "f").arn("us-east-1", None)


def test_the_account_of_a_bare_name_is_the_local_services(bm):
    assert bm.account_id() == credentials.ACCOUNT_ID
    request = bm.request("hi", tools=["lambda:f", "lambda:f"], **MANTLE)  # the same connector once
    assert request.extra["server_tools"] == [
        {"label": "f", "connector_id": f"arn:aws:lambda:us-east-1:{credentials.ACCOUNT_ID}:function:f"}]


def test_local_lambda_needs_the_local_service(tmp_path):
    bm = Bedrock(ledger_path=str(tmp_path / "l.sqlite"), local=False)
    with pytest.raises(ValueError, match="%bedrock local start"):
        bm.local_lambda("f", add)


# -- the path prefix, reasoning effort -----------------------------------------------------------------

def test_each_model_has_its_mantle_path_prefix():
    assert endpoints.mantle_prefix("openai.gpt-5.4") == endpoints.mantle_prefix("openai.gpt-5.5") == "/openai/v1"
    assert endpoints.mantle_prefix("openai.gpt-oss-120b") == "/v1"
    assert endpoints.mantle_prefix("some.future-model") == "/v1"
    url = endpoints.openai_base_url("us-west-2", "mantle", prefix="/openai/v1")
    assert url == "https://bedrock-mantle.us-west-2.api.aws/openai/v1"
    assert endpoints.openai_base_url("us-west-2", "mantle") == "https://bedrock-mantle.us-west-2.api.aws/v1"
    with pytest.raises(ValueError, match="path prefixes"):
        endpoints.openai_base_url("us-west-2", "mantle", prefix="/v2")


def test_gpt5_goes_to_openai_v1_on_mantle_with_its_reasoning_effort(bm):
    # The local mantle refuses GPT-5.x on /v1 (404) as Bedrock does: an answer proves the prefix.
    client = bm.client_for(bm.request("hi", **GPT5))
    assert str(client.base_url).rstrip("/").endswith("/mantle/openai/v1")
    reply = bm.ask("Plan a picnic", extra={"reasoning": "high"}, **GPT5)
    assert reply.ok and reply.model == "openai.gpt-5.4"
    assert reply.raw["reasoning"]["effort"] == "high"
    from bedrock_magics.routes.responses import reasoning_effort

    request = bm.request("hi", extra={"reasoning": 20000}, **GPT5)
    assert reasoning_effort(request) == "high"
    assert reasoning_effort(bm.request("hi", extra={"reasoning": 1024}, **GPT5)) == "low"
    assert reasoning_effort(bm.request("hi", **GPT5)) is None


# -- background and stored responses ---------------------------------------------------------------------

def test_background_returns_at_once_and_its_usage_is_recorded_once(bm, tmp_path):
    queued = bm.ask("Write a long essay on tides", extra={"background": True}, **MANTLE)
    assert queued.status in ("queued", "in_progress") and queued.response_id.startswith("resp_")
    assert queued.cost_usd == 0.0 and queued.text == ""
    assert "%bedrock response " + queued.response_id in toolview.pending_line(queued)
    done = bm.response(queued.response_id, wait=True, poll_s=0.05)
    assert done.ok and "tides" in done.text and done.output_tokens > 0 and done.cost_usd > 0
    bm.response(queued.response_id)  # fetched again: nothing more to bill
    other = Bedrock(ledger_path=bm.ledger_path)  # another kernel on the same ledger
    other.use_local(service=bm.local_service)
    other.response(queued.response_id)
    frame = bm.usage(all_sessions=True)
    assert list(frame["status"]) == ["queued", "ok"]
    assert list(frame["output_tokens"]) == [0, done.output_tokens]
    listed = bm.responses().set_index("response_id")
    assert listed.loc[queued.response_id, "background"] and listed.loc[queued.response_id, "status"] == "ok"


def test_background_is_refused_where_it_cannot_work(bm):
    with pytest.raises(ValueError, match="--background run on mantle's Responses API"):
        bm.ask("hi", endpoint="runtime", api="converse", extra={"background": True})
    with pytest.raises(ValueError, match="cannot continue a --chat"):
        bm.ask("hi", chat="c", extra={"background": True}, **MANTLE)
    with pytest.raises(ValueError, match="Python --tools need the answer"):  # scripts get the check too
        bm.ask("hi", tools=[add], extra={"background": True}, **MANTLE)
    with pytest.raises(BedrockError, match="drop --stream"):  # the route's refusal, explained
        list(bm.stream("hi", extra={"background": True}, **MANTLE))


def test_stored_responses_are_listed_shown_and_deleted(bm):
    first = bm.ask("one", **MANTLE)
    second = bm.ask("two", chat="notes", **MANTLE)
    listed = bm.responses()
    assert list(listed["response_id"]) == [first.response_id, second.response_id]
    assert list(listed["chat"].fillna("")) == ["", "notes"] and list(listed["model"]) == [MODEL, MODEL]
    again = bm.response(first.response_id)
    assert again.text == first.text
    bm.delete_response(first.response_id)
    assert list(bm.responses()["response_id"]) == [second.response_id]
    with pytest.raises(BedrockError) as err:
        bm.response(first.response_id)
    assert err.value.status == 404
    with pytest.raises(ValueError, match="not a response id"):
        bm.response("two words")


def test_a_mantle_chat_resumes_from_the_ledger_in_a_new_kernel(bm):
    bm.ask("echo: my name is Ann", chat="trip", **MANTLE)
    last = bm.ask("echo: I like tea", chat="trip", **MANTLE)
    restarted = Bedrock(ledger_path=bm.ledger_path)  # a new kernel: nothing in memory, the same ledger
    restarted.use_local(service=bm.local_service)
    request = restarted.request("What do I like?", chat="trip", **MANTLE)
    assert request.previous_response_id == last.response_id and len(request.messages) == 1
    reply = restarted.ask("What do I like?", chat="trip", **MANTLE)
    assert reply.ok and reply.raw["previous_response_id"] == last.response_id
    fresh = restarted.request("hi", chat="another", **MANTLE)
    assert fresh.previous_response_id is None


# -- the magics ---------------------------------------------------------------------------------------------

def test_local_lambda_then_a_cell_with_a_lambda_tool(ip):
    name = unique("weather")
    ip.user_ns["get_weather"] = get_weather
    _, captured = run_ok(ip, f"%bedrock local lambda {name} get_weather")
    assert captured.stdout.splitlines()[0] == f"arn:aws:lambda:us-east-1:{credentials.ACCOUNT_ID}:function:{name}"
    _, captured = run_ok(ip, f"%%bedrock ans -e mantle -a responses -m {MODEL} --tools lambda:{name} --no-stream\n"
                             "get_weather city=Paris")
    reply = ip.user_ns["ans"]
    assert reply.text.endswith("the tool get_weather returned Sunny in Paris, 21 C.")
    (bundle,) = bundles(captured)
    assert f"🧰 {name} offers get_weather" in bundle["text/plain"]
    assert f"🛰 {name}.get_weather(city='Paris') → Sunny in Paris, 21 C" in bundle["text/plain"]
    assert len(rows(ip)) == 1


def test_a_streamed_cell_shows_server_tools_as_they_arrive_and_mixes_python_tools(ip):
    name = unique("weather")
    ip.user_ns.update(get_weather=get_weather, add=add)
    run_ok(ip, f"%bedrock local lambda {name} get_weather")
    _, captured = run_ok(ip, f"%%bedrock ans -e mantle -a responses -m {MODEL} --tools add,lambda:{name} --stream\n"
                             "get_weather city=Rome")
    texts = [o.data.get("text/plain", "") for o in captured.outputs]
    live = [t for t in texts if "🛰" in t and "Sunny in Rome" in t]
    assert live and texts.index(live[0]) < len(texts) - 1  # shown before the finished rendering
    assert texts[-1].count("🛰") == 1 and "the tool get_weather returned Sunny in Rome" in texts[-1]
    _, captured = run_ok(ip, f"%%bedrock -e mantle -a responses -m {MODEL} --tools add,lambda:{name} --no-stream\n"
                             "add a=2 b=3")
    assert "🔧 add(a=2, b=3) → 5" in shown_text(captured)
    assert len(rows(ip)) == 3  # one round, then two rounds


def test_magic_errors_are_one_line(ip):
    assert "run on mantle's Responses API" in usage_error(ip, "%%bedrock -e runtime --tools lambda:f\nhi")
    assert "a gateway tool is gateway:arn" in usage_error(ip, "%%bedrock -e mantle --tools gateway:nope\nhi")
    assert "drop --stream" in usage_error(ip, "%%bedrock -e mantle --background --stream\nhi")
    ip.user_ns["add"] = add
    assert "Python --tools need the answer" in usage_error(ip, "%%bedrock -e mantle --background --tools add\nhi")
    assert "no variable named 'nothing_here'" in usage_error(ip, "%bedrock local lambda f nothing_here")
    ip.user_ns["add"] = add
    assert "a Lambda name is letters" in usage_error(ip, "%bedrock local lambda bad.name add")
    result, captured = run(ip, "%%bedrock -e mantle -a responses --tools lambda:nobody-home\nget_weather city=X")
    assert isinstance(result.error_in_exec, BedrockError)
    assert "%bedrock local lambda nobody-home FUNC" in shown_text(captured)
    assert len(rows(ip)) == 1  # the failed call is a row


def test_background_cell_then_response_and_responses(ip):
    _, captured = run_ok(ip, f"%%bedrock job -e mantle -a responses -m {MODEL} --background\nA long story")
    queued = ip.user_ns["job"]
    assert queued.status in ("queued", "in_progress")
    assert f"%bedrock response {queued.response_id}" in shown_text(captured)
    result, _ = run_ok(ip, f"%bedrock response {queued.response_id} --wait")
    assert result.result.ok and "A long story" in result.result.text
    run_ok(ip, f"%bedrock response {queued.response_id}")
    assert list(rows(ip)["status"]) == ["queued", "ok"]  # usage recorded once
    result, _ = run_ok(ip, "%bedrock responses")
    assert list(result.result["response_id"]) == [queued.response_id]
    _, captured = run_ok(ip, f"%bedrock responses --delete {queued.response_id}")
    assert f"Deleted stored response {queued.response_id}" in captured.stdout
    result, _ = run_ok(ip, "%bedrock responses")
    assert result.result.empty


def test_a_reset_chat_does_not_come_back_in_a_new_kernel(ip):
    run_ok(ip, f"%%bedrock -e mantle -a responses -m {MODEL} --chat trip\necho: my name is Ann")
    _, captured = run_ok(ip, "%bedrock chat --reset trip")
    assert "Forgot 1 conversation: trip." in captured.stdout
    restarted = Bedrock(ledger_path=current_bm(ip).ledger_path)
    restarted.use_local(service=current_bm(ip).local_service)
    assert restarted.request("hi", chat="trip", **MANTLE).previous_response_id is None


def current_bm(ip):
    from bedrock_magics.magics import current

    return current(ip)
