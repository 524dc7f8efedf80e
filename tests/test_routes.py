"""Every route, streamed and not, against the local Bedrock service with the real boto3/openai clients.

The local responder is deterministic (``bedrock_magics/local/responder.py``): the same conversation
gives the same text and token counts on every API, which is what these tests lean on.
"""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

from bedrock_magics import routes
from bedrock_magics.auth import Clients
from bedrock_magics.explain import explain
from bedrock_magics.local import credentials as local
from bedrock_magics.local import tokens
from bedrock_magics.reply import Reply
from bedrock_magics.request import Request, ToolSpec, user_message
from bedrock_magics.routes import _common, codecs, converse, embed, invoke

REGION = "us-east-1"
PROMPT = "Tell me something about notebooks and regions, please."
GPT_RUNTIME, GPT_MANTLE, GPT_BASE = "openai.gpt-oss-20b-1:0", "openai.gpt-oss-20b", "openai.gpt-oss-20b-1:0"
WEATHER = ToolSpec("get_weather", "Current weather for a city",
                   {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})

#: (model id, region, foundation model the reply names) for every InvokeModel family.
INVOKE_MODELS = [
    ("anthropic.claude-3-haiku-20240307-v1:0", REGION, "anthropic.claude-3-haiku-20240307-v1:0"),
    ("us.anthropic.claude-haiku-4-5-20251001-v1:0", REGION, "anthropic.claude-haiku-4-5-20251001-v1:0"),
    ("amazon.nova-lite-v1:0", REGION, "amazon.nova-lite-v1:0"),
    ("us.amazon.nova-lite-v1:0", REGION, "amazon.nova-lite-v1:0"),
    ("amazon.titan-text-express-v1", REGION, "amazon.titan-text-express-v1"),
    ("us.meta.llama3-1-8b-instruct-v1:0", REGION, "meta.llama3-1-8b-instruct-v1:0"),
    ("mistral.mistral-7b-instruct-v0:2", REGION, "mistral.mistral-7b-instruct-v0:2"),
    ("mistral.mistral-large-2407-v1:0", "us-west-2", "mistral.mistral-large-2407-v1:0"),
    ("cohere.command-r-v1:0", REGION, "cohere.command-r-v1:0"),
    ("openai.gpt-oss-20b-1:0", REGION, "openai.gpt-oss-20b-1:0"),
    ("us.deepseek.r1-v1:0", REGION, "deepseek.r1-v1:0"),
]


@pytest.fixture(scope="module")
def clients(local_service):
    """SigV4 clients for the local service, passed explicitly (no environment needed)."""
    c = Clients(endpoint_urls=local_service.endpoints, ca_bundle=local_service.ca_file,
                credentials=(local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY))
    yield c
    c.close()


def call(clients: Clients, request: Request, streamed: bool = False) -> Reply:
    """Send ``request`` on its route; when streamed, check the deltas add up to the final text."""
    module = routes.get(request.endpoint, request.api)
    client = clients.get(request.region, request.endpoint, routes.client_kind(request.api))
    if not streamed:
        return module.send(client, request)
    pieces = list(module.stream(client, request))
    final = pieces[-1]
    assert isinstance(final, Reply) and final.streamed
    assert all(isinstance(p, str) for p in pieces[:-1])
    assert "".join(pieces[:-1]) == final.text or final.tool_calls
    return final


def make(model: str, endpoint: str = "runtime", api: str = "converse", prompt: str = PROMPT, **kw) -> Request:
    return Request.from_prompt(prompt, model, endpoint=endpoint, api=api, region=kw.pop("region", REGION), **kw)


def expected_start(model_id: str, prompt: str = PROMPT) -> str:
    return f'Local Bedrock reply from {model_id}: You said: "{prompt[:80]}".'


# --------------------------------------------------------------------------------------------------
# every route, streamed and not: same text, same usage
# --------------------------------------------------------------------------------------------------

ROUTE_MODELS = {("runtime", "converse"): GPT_RUNTIME, ("runtime", "invoke"): GPT_RUNTIME,
                ("runtime", "chat"): GPT_RUNTIME, ("runtime", "responses"): GPT_RUNTIME,
                ("mantle", "chat"): GPT_MANTLE, ("mantle", "responses"): GPT_MANTLE}


def test_importing_routes_imports_no_sdk_and_no_route_module_until_a_call_needs_it():
    # %load_ext must stay fast: the route table is plain data, a route module loads on the first
    # call that needs it, and boto3/openai load only when a call first needs a client.
    code = ("import sys, bedrock_magics.routes as r\n"
            "print(sorted(m for m in ('boto3', 'botocore', 'openai', 'httpx', 'numpy', 'pandas') if m in sys.modules))\n"
            "print(sorted(m for m in sys.modules if m.startswith('bedrock_magics.routes.')))\n"
            "print(r.APIS['mantle'], r.client_kind('chat'), r.uses_server_state('mantle', 'responses'))\n"
            "print(sorted(m for m in sys.modules if m.startswith('bedrock_magics.routes.')))\n"
            "print(r.get('runtime', 'converse') is sys.modules['bedrock_magics.routes.converse'])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:5] == ["[]", "[]", "('responses', 'chat') openai True", "[]", "True"], \
        out.stdout + out.stderr


def test_the_route_table_is_what_the_route_modules_declare():
    from bedrock_magics.routes import chat, converse, invoke, responses

    assert routes.APIS == {"runtime": ("converse", "invoke", "chat", "responses"), "mantle": ("responses", "chat")}
    assert routes.DEFAULT_APIS == {"runtime": "converse", "mantle": "responses"}
    assert routes.INVOCATION_TYPES == {"converse": "Converse", "invoke": "InvokeModel"}
    assert [routes.client_kind(a) for a in ("converse", "invoke", "chat", "responses", "embed")] == \
        ["bedrock-runtime", "bedrock-runtime", "openai", "openai", "bedrock-runtime"]
    assert [(e, a) for e, a in routes.SUPPORTED if routes.uses_server_state(e, a)] == [("mantle", "responses")]
    for module in (chat, converse, invoke, responses):
        for route in (r for r in routes.TABLE if r.api == module.API):
            assert route.module is module and route.label == module.LABEL and route.client == module.CLIENT
    assert routes.get("runtime", "embed") is embed


def test_the_plain_data_table_says_what_each_route_module_declares():
    # routes/__init__ writes the declarations out as data (so %load_ext imports no wire code):
    # every row must equal its module's constants, and every route module must have a row.
    from pathlib import Path

    fields = ("API", "LABEL", "CLIENT", "ENDPOINTS", "DEFAULT_ON", "SERVER_STATE", "BATCH_TYPE", "CAPABILITIES")
    for row in routes._DECLARED:
        module = routes.get(row["endpoints"][0], row["api"])
        assert row == {name.lower(): getattr(module, name) for name in fields}, module.__name__
    modules = {p.stem for p in Path(routes.__file__).parent.glob("*.py") if not p.stem.startswith("_")}
    # embed is reached through invoke (its own API is InvokeModel's), codecs holds the InvokeModel bodies
    assert modules - {"embed", "codecs"} == {row["api"] for row in routes._DECLARED}
    assert routes.batch_route("Converse") is converse and routes.batch_route("InvokeModel") is invoke
    with pytest.raises(ValueError, match="records are Converse or InvokeModel bodies, not .Chat."):
        routes.batch_route("Chat")


def test_supported_pairs():
    assert set(routes.SUPPORTED) == set(ROUTE_MODELS)
    with pytest.raises(ValueError, match="choose one of: responses, chat"):
        routes.get("mantle", "converse")


@pytest.mark.parametrize("streamed", [False, True], ids=["send", "stream"])
def test_every_route_gives_the_same_answer_and_usage(clients, streamed):
    replies = {}
    for (endpoint, api), model in ROUTE_MODELS.items():
        request = make(model, endpoint, api, max_tokens=200, temperature=0.5, top_p=0.9)
        reply = call(clients, request, streamed)
        assert (reply.endpoint, reply.api, reply.model, reply.region) == (endpoint, api, model, REGION)
        assert reply.ok and reply.stop_reason == "end_turn"
        assert reply.text.startswith(expected_start(GPT_BASE)), (endpoint, api, reply.text)
        assert reply.request_id and reply.latency_ms > 0 and reply.raw
        assert reply.message == {"role": "assistant", "content": [{"text": reply.text}]}
        assert reply.usage["total_tokens"] == reply.input_tokens + reply.output_tokens > 0
        replies[endpoint, api] = reply
    texts = {r.text for r in replies.values()}
    usages = {tuple(sorted(r.usage.items())) for r in replies.values()}
    assert len(texts) == 1 and len(usages) == 1, (texts, usages)
    assert replies["mantle", "responses"].response_id.startswith("resp_")


def test_every_route_with_an_api_key(local_service, clients):
    # The secret is wrong on purpose: only the bearer key can make these calls succeed.
    keyed = Clients(endpoint_urls=local_service.endpoints, ca_bundle=local_service.ca_file, api_key=local.API_KEY,
                    credentials=(local.ACCESS_KEY_ID, "not/the/secret/not/the/secret/not/the/00"))
    try:
        for (endpoint, api), model in ROUTE_MODELS.items():
            for streamed in (False, True):
                request = make(model, endpoint, api)
                assert call(keyed, request, streamed).text == call(clients, request).text
    finally:
        keyed.close()


def test_stream_yields_several_deltas(clients):
    pieces = list(converse.stream(clients.get(REGION, "runtime", "bedrock-runtime"),
                                         make("us.amazon.nova-lite-v1:0")))
    assert len(pieces) > 3 and isinstance(pieces[-1], Reply)


# --------------------------------------------------------------------------------------------------
# every InvokeModel family
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model,region,base", INVOKE_MODELS, ids=[m[0] for m in INVOKE_MODELS])
def test_invoke_family(clients, model, region, base):
    converse = call(clients, make(model, region=region))
    sent = call(clients, make(model, api="invoke", region=region))
    streamed = call(clients, make(model, api="invoke", region=region), streamed=True)
    for reply in (sent, streamed):
        assert reply.text == converse.text and reply.text.startswith(expected_start(base))
        assert reply.usage == converse.usage
        assert reply.stop_reason == "end_turn" and reply.request_id and reply.raw


# Converse refuses a system prompt for Titan Text and Mistral's Instruct models (7B, Mixtral), as AWS's
# "Supported models and model features" table says; their InvokeModel prompts have no system part to compare.
WITH_SYSTEM = [m for m in INVOKE_MODELS if "titan" not in m[0] and "mistral-7b" not in m[0]]


@pytest.mark.parametrize("model,region,base", WITH_SYSTEM, ids=[m[0] for m in WITH_SYSTEM])
def test_invoke_family_system_prompt_and_history(clients, model, region, base):
    messages = (user_message("My name is Ada."), {"role": "assistant", "content": [{"text": "Hello Ada."}]},
                user_message("echo: remembered"))
    request = Request(model=model, messages=messages, region=region, system="Answer briefly.")
    converse = call(clients, request)
    for streamed in (False, True):
        reply = call(clients, Request(model=model, messages=messages, region=region, api="invoke",
                                      system="Answer briefly."), streamed)
        assert reply.text == "remembered" and reply.usage == converse.usage


def test_invoke_limits_and_stop_sequences(clients):
    for model in ("anthropic.claude-3-haiku-20240307-v1:0", "amazon.nova-lite-v1:0", "amazon.titan-text-express-v1",
                  "us.meta.llama3-1-8b-instruct-v1:0", "cohere.command-r-v1:0", GPT_RUNTIME):
        for streamed in (False, True):
            short = call(clients, make(model, api="invoke", max_tokens=4), streamed)
            assert short.stop_reason == "max_tokens" and short.cut_off and short.output_tokens == 4, model
    stopped = call(clients, make("anthropic.claude-3-haiku-20240307-v1:0", api="invoke", stop=("You said",)))
    assert stopped.stop_reason == "stop_sequence" and stopped.text.endswith("reply from anthropic.claude-3-haiku-20240307-v1:0: ")
    assert stopped.raw["stop_reason"] == "stop_sequence"


def test_invoke_by_arn(clients):
    fm = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"
    profile = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert call(clients, make(fm, api="invoke")).text.startswith(expected_start("amazon.nova-lite-v1:0"))
    assert call(clients, make(profile, api="invoke"), streamed=True).text.startswith(
        expected_start("anthropic.claude-haiku-4-5-20251001-v1:0"))


def test_invoke_arn_without_family_falls_back_to_converse_shape(clients):
    app_profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/l0c4lapp1x2y"
    assert codecs.family_of(app_profile) is None
    with pytest.warns(UserWarning, match="body format of .* is unknown"):
        reply = call(clients, make(app_profile, api="invoke"))
    assert reply.text.startswith(expected_start("amazon.nova-lite-v1:0"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per model only
        assert call(clients, make(app_profile, api="invoke"), streamed=True).text == reply.text


def test_family_of_ids_profiles_and_arns():
    cases = {
        "us.anthropic.claude-haiku-4-5-20251001-v1:0": "anthropic", "global.amazon.nova-2-lite-v1:0": "nova",
        "apac.amazon.nova-pro-v1:0": "nova", "jp.anthropic.claude-sonnet-4-6": "anthropic",
        "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0": "anthropic", "amazon.titan-text-premier-v1:0": "titan-text",
        "eu.meta.llama3-2-11b-instruct-v1:0": "llama", "mistral.mixtral-8x7b-instruct-v0:1": "mistral",
        "us.mistral.pixtral-large-2502-v1:0": "mistral-chat", "cohere.command-r-plus-v1:0": "cohere-command",
        "cohere.embed-english-v3": "cohere-embed", "amazon.titan-embed-text-v2:0": "titan-embed",
        "us.deepseek.r1-v1:0": "deepseek-r1", "deepseek.v3-v1:0": "gpt-oss", "amazon.nova-canvas-v1:0": "image",
        "arn:aws:bedrock:us-west-2::foundation-model/meta.llama3-3-70b-instruct-v1:0": "llama",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-lite-v1:0:300k/k4x8q2m7w1zt": "nova",
        "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/z7x5c3v1b9nm": None,
    }
    assert {k: codecs.family_of(k) for k in cases} == cases


# --------------------------------------------------------------------------------------------------
# tools
# --------------------------------------------------------------------------------------------------

TOOL_ROUTES = [("runtime", "converse", GPT_RUNTIME), ("runtime", "chat", GPT_RUNTIME),
               ("runtime", "responses", GPT_RUNTIME), ("mantle", "chat", GPT_MANTLE),
               ("mantle", "responses", GPT_MANTLE), ("runtime", "invoke", GPT_RUNTIME),
               ("runtime", "invoke", "anthropic.claude-3-haiku-20240307-v1:0"),
               ("runtime", "invoke", "amazon.nova-lite-v1:0"), ("runtime", "invoke", "cohere.command-r-v1:0"),
               ("runtime", "converse", "anthropic.claude-3-haiku-20240307-v1:0")]


@pytest.mark.parametrize("streamed", [False, True], ids=["send", "stream"])
@pytest.mark.parametrize("endpoint,api,model", TOOL_ROUTES, ids=[f"{e}-{a}-{m}" for e, a, m in TOOL_ROUTES])
def test_tool_round_trip(clients, endpoint, api, model, streamed):
    first = make(model, endpoint, api, prompt="What is the weather? Use get_weather with city=Paris",
                 tools=(WEATHER,))
    asked = call(clients, first, streamed)
    assert asked.stop_reason == "tool_use"
    assert [(c["name"], c["input"]) for c in asked.tool_calls] == [("get_weather", {"city": "Paris"})]
    tool_use = [b["toolUse"] for b in asked.message["content"] if "toolUse" in b]
    assert tool_use == [{"toolUseId": asked.tool_calls[0]["id"], "name": "get_weather", "input": {"city": "Paris"}}]
    result = {"role": "user", "content": [{"toolResult": {"toolUseId": asked.tool_calls[0]["id"],
                                                          "content": [{"text": "22C and sunny"}]}}]}
    answered = call(clients, first.with_messages([*first.messages, asked.message, result]), streamed)
    assert answered.stop_reason == "end_turn" and not answered.tool_calls
    base = model if endpoint == "runtime" else GPT_BASE
    if model.startswith("cohere."):  # Command R sends tool outputs as JSON objects
        assert answered.text == f'Local Bedrock reply from {base}: the tool get_weather returned {{"result": "22C and sunny"}}.'
    else:
        assert answered.text == f"Local Bedrock reply from {base}: the tool get_weather returned 22C and sunny."


# --------------------------------------------------------------------------------------------------
# mantle's stored responses
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True], ids=["send", "stream"])
def test_mantle_previous_response_id(clients, streamed):
    first = make(GPT_MANTLE, "mantle", "responses", prompt="My favourite colour is teal.")
    r1 = call(clients, first, streamed)
    history = [*first.messages, r1.message, user_message("echo: noted")]
    full = call(clients, make(GPT_MANTLE, "mantle", "responses").with_messages(history))
    chained_request = Request(model=GPT_MANTLE, messages=tuple(history), endpoint="mantle", api="responses",
                              previous_response_id=r1.response_id)
    chained = call(clients, chained_request, streamed)
    # Only the new turn went over the wire, yet the service saw the same conversation.
    assert chained.text == full.text == "noted"
    assert chained.usage == full.usage
    assert chained.raw["previous_response_id"] == r1.response_id
    wrong = Request(model=GPT_MANTLE, messages=tuple(history), endpoint="mantle", api="responses",
                    previous_response_id="resp_doesnotexist")
    with pytest.raises(Exception) as err:
        call(clients, wrong)
    gone = explain(err.value, wrong)
    assert gone.status == 404 and gone.code == "PreviousResponseNotFound"


def test_responses_refuses_stop_sequences(clients):
    with pytest.raises(ValueError, match="no stop sequences"):
        call(clients, make(GPT_MANTLE, "mantle", "responses", stop=("x",)))
    assert "no stop sequences" in str(explain(ValueError("The Responses API has no stop sequences; use …")))


def test_openai_routes_stop_reasons(clients):
    for endpoint, api, model in (("runtime", "chat", GPT_RUNTIME), ("mantle", "responses", GPT_MANTLE)):
        for streamed in (False, True):
            short = call(clients, make(model, endpoint, api, max_tokens=3), streamed)
            assert short.stop_reason == "max_tokens" and short.cut_off  # the wire said "length" / "incomplete"


def test_every_wire_word_for_a_cut_answer_is_max_tokens():
    for raw in ("max_tokens", "length", "LENGTH", "MAX_TOKENS", "max_output_tokens"):
        assert _common.normalize_stop(raw) == "max_tokens", raw
    for raw in ("stop", "COMPLETE", "FINISH", "endoftext", "completed"):
        assert _common.normalize_stop(raw) == "end_turn", raw


def test_a_stream_that_ends_without_a_stop_is_one_incomplete_stream_error():
    from bedrock_magics.errors import BedrockError

    err = _common.incomplete_stream("The ConverseStream response", "req-1")
    assert isinstance(err, BedrockError) and err.code == "IncompleteStream" and err.request_id == "req-1"
    assert err.message == "The ConverseStream response ended before the model finished."


# --------------------------------------------------------------------------------------------------
# embeddings
# --------------------------------------------------------------------------------------------------


def test_titan_embeddings(clients):
    client = clients.get(REGION, "runtime", "bedrock-runtime")
    v2 = embed.send(client, make("amazon.titan-embed-text-v2:0", prompt="cats and dogs", extra={"dimensions": 256}))
    assert isinstance(v2.embedding, np.ndarray) and v2.embedding.shape == (256,)
    assert math.isclose(float(np.linalg.norm(v2.embedding)), 1.0, rel_tol=1e-4)
    assert v2.input_tokens == 3 and v2.output_tokens == 0 and v2.request_id
    v1 = invoke.send(client, make("amazon.titan-embed-text-v1", api="invoke", prompt="cats and dogs"))
    assert v1.embedding.shape == (1536,) and v1.input_tokens == 3
    [streamed] = list(invoke.stream(client, make("amazon.titan-embed-text-v2:0", api="invoke", prompt="x")))
    assert streamed.embedding.shape == (1024,)


def test_cohere_embeddings_batch(clients):
    client = clients.get(REGION, "runtime", "bedrock-runtime")
    texts = ["cats and dogs", "dogs and cats play", "quarterly tax filing"]
    reply = embed.send(client, make("cohere.embed-english-v3", extra={"texts": texts, "input_type": "clustering"}))
    assert reply.embedding.shape == (3, 1024) and reply.input_tokens == sum(tokens.count(t, "cohere") for t in texts) == 12
    a, b, c = (v / np.linalg.norm(v) for v in reply.embedding)
    assert float(a @ b) > float(a @ c)


def test_invoke_refuses_what_a_body_cannot_carry(clients):
    with pytest.raises(ValueError, match="Meta Llama InvokeModel body has no tool use; use --api converse"):
        call(clients, make("us.meta.llama3-1-8b-instruct-v1:0", api="invoke", tools=(WEATHER,)))
    with pytest.raises(ValueError) as err:
        call(clients, make("us.meta.llama3-1-8b-instruct-v1:0", api="invoke", stop=("x",)))
    assert explain(err.value).code == "InvalidRequest" and "stop sequences" in str(explain(err.value))
    with pytest.raises(codecs.UnsupportedFamilyError, match="does not generate text"):
        call(clients, make("amazon.nova-canvas-v1:0", api="invoke"))
