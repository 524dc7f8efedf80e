"""The same kind of checks as the local-service tests, against REAL Amazon Bedrock.

Runs only when AWS credentials are present (``tests/conftest.py`` skips every ``aws``-marked test
otherwise) and costs a few cents at most: a handful of short calls to a cheap model.

Settings (environment):

* ``BEDROCK_MAGICS_AWS_REGION`` — region, default ``us-east-1``;
* ``BEDROCK_MAGICS_AWS_MODEL`` — Converse/InvokeModel model, default ``us.amazon.nova-micro-v1:0``;
* ``BEDROCK_MAGICS_AWS_OPENAI_MODEL`` — model for Chat Completions on the runtime's ``/openai/v1``
  (documented for OpenAI's models), default ``openai.gpt-oss-20b-1:0``;
* ``BEDROCK_MAGICS_AWS_LAMBDA_ARN`` — an MCP Lambda function for the server-side tools block at the end
  (skipped without it); ``BEDROCK_MAGICS_AWS_MANTLE_MODEL`` — its model, default ``openai.gpt-oss-120b``.

Run with ``pytest -m aws tests/test_aws_suite.py``. Local-service endpoint overrides left in the
environment (``AWS_ENDPOINT_URL_BEDROCK*``, ``AWS_BEDROCK_BASE_URL`` and, when those pointed at
loopback, the local CA variables) are removed for these tests so that they reach AWS itself.
"""

from __future__ import annotations

import json
import os
from typing import Callable
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.aws

REGION = os.environ.get("BEDROCK_MAGICS_AWS_REGION", "us-east-1")
MODEL = os.environ.get("BEDROCK_MAGICS_AWS_MODEL", "us.amazon.nova-micro-v1:0")
OPENAI_MODEL = os.environ.get("BEDROCK_MAGICS_AWS_OPENAI_MODEL", "openai.gpt-oss-20b-1:0")

# Geography prefixes of system-defined inference profiles (bedrock-protocols.md §2.4).
_GEO_PREFIXES = ("us", "eu", "apac", "jp", "au", "ca", "global", "us-gov")
_STOP_REASONS = {"end_turn", "max_tokens", "stop_sequence"}
PROMPT = "Reply with exactly one word: pong"


def base_model_id(model: str) -> str:
    """The foundation-model id behind a model or inference-profile id (``us.x.y`` -> ``x.y``)."""
    model = model.rsplit("/", 1)[-1]  # an ARN ends with the id
    head, _, rest = model.partition(".")
    return rest if head in _GEO_PREFIXES and rest else model


@pytest.fixture
def aws_env(monkeypatch):
    """The environment with any local-service endpoint overrides removed."""
    overrides = [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")] + ["AWS_BEDROCK_BASE_URL",
                                                                             "ANTHROPIC_BEDROCK_MANTLE_BASE_URL"]
    local = any(urlparse(os.environ.get(n, "")).hostname in ("127.0.0.1", "localhost", "::1") for n in overrides)
    for name in overrides:
        monkeypatch.delenv(name, raising=False)
    if local:  # the local service's exports were applied: its CA is not the one AWS is signed by
        for name in ("AWS_CA_BUNDLE", "SSL_CERT_FILE"):
            monkeypatch.delenv(name, raising=False)
    from bedrock_magics.local import credentials

    if os.environ.get("AWS_BEARER_TOKEN_BEDROCK") == credentials.API_KEY:
        monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK")
    if os.environ.get("AWS_ACCESS_KEY_ID") == credentials.ACCESS_KEY_ID:
        pytest.skip("the environment holds the local service's credentials, not AWS ones")
    yield


@pytest.fixture
def control(aws_env):
    import boto3

    return boto3.client("bedrock", region_name=REGION)


@pytest.fixture
def runtime(aws_env):
    import boto3

    return boto3.client("bedrock-runtime", region_name=REGION)


def test_list_foundation_models_includes_the_model(control):
    summaries = control.list_foundation_models()["modelSummaries"]
    ids = {s["modelId"] for s in summaries}
    assert base_model_id(MODEL) in ids
    for summary in summaries:
        assert summary["modelArn"].startswith(f"arn:aws:bedrock:{REGION}::foundation-model/")
        assert summary["modelArn"].endswith(summary["modelId"])
    by_provider = control.list_foundation_models(byProvider="Amazon")["modelSummaries"]
    assert by_provider and all(s["providerName"] == "Amazon" for s in by_provider)


def test_get_foundation_model(control):
    details = control.get_foundation_model(modelIdentifier=base_model_id(MODEL))["modelDetails"]
    assert details["modelId"] == base_model_id(MODEL)
    assert "TEXT" in details["outputModalities"]


def test_converse(runtime):
    out = runtime.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": PROMPT}]}],
                           inferenceConfig={"maxTokens": 20, "temperature": 0})
    text = "".join(block.get("text", "") for block in out["output"]["message"]["content"])
    assert out["output"]["message"]["role"] == "assistant"
    assert text.strip()
    assert out["stopReason"] in _STOP_REASONS
    usage = out["usage"]
    assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0
    assert usage["totalTokens"] >= usage["inputTokens"] + usage["outputTokens"]
    assert out["metrics"]["latencyMs"] >= 0
    assert out["ResponseMetadata"]["RequestId"]


def test_converse_stream(runtime):
    out = runtime.converse_stream(modelId=MODEL, messages=[{"role": "user", "content": [{"text": PROMPT}]}],
                                  inferenceConfig={"maxTokens": 20, "temperature": 0})
    events = list(out["stream"])
    names = [next(iter(e)) for e in events]
    assert names[0] == "messageStart" and events[0]["messageStart"]["role"] == "assistant"
    text = "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)
    assert text.strip()
    assert "messageStop" in names and names.index("messageStop") > names.index("contentBlockDelta")
    stop = next(e["messageStop"] for e in events if "messageStop" in e)
    assert stop["stopReason"] in _STOP_REASONS
    metadata = next(e["metadata"] for e in events if "metadata" in e)
    assert metadata["usage"]["outputTokens"] > 0 and metadata["metrics"]["latencyMs"] >= 0


def _invoke_body(model: str) -> tuple[dict, Callable[[dict], str]]:
    """A minimal InvokeModel body for the model's family and a function that reads the reply text."""
    family = base_model_id(model)
    if family.startswith("amazon.nova"):
        # Nova (v1) documents snake-case max_new_tokens in native bodies, unlike Converse's maxTokens.
        body = {"schemaVersion": "messages-v1", "messages": [{"role": "user", "content": [{"text": PROMPT}]}],
                "inferenceConfig": {"max_new_tokens": 20, "temperature": 0}}
        return body, lambda out: out["output"]["message"]["content"][0]["text"]
    if family.startswith("anthropic."):
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20,
                "messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}]}
        return body, lambda out: out["content"][0]["text"]
    if family.startswith("meta.llama"):
        prompt = ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n" + PROMPT +
                  "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        return {"prompt": prompt, "max_gen_len": 20, "temperature": 0}, lambda out: out["generation"]
    pytest.skip(f"no InvokeModel body in this suite for {model}")


def test_invoke_model(runtime):
    body, text_of = _invoke_body(MODEL)
    out = runtime.invoke_model(modelId=MODEL, body=json.dumps(body), contentType="application/json",
                               accept="application/json")
    assert out["contentType"].startswith("application/json")
    assert text_of(json.loads(out["body"].read())).strip()
    headers = out["ResponseMetadata"]["HTTPHeaders"]
    assert int(headers["x-amzn-bedrock-input-token-count"]) > 0
    assert int(headers["x-amzn-bedrock-output-token-count"]) > 0


def test_count_tokens_rejects_or_counts(runtime):
    """CountTokens: a count for models that support it, else Bedrock's ValidationException."""
    from botocore.exceptions import ClientError

    request = {"converse": {"messages": [{"role": "user", "content": [{"text": PROMPT}]}]}}
    try:
        out = runtime.count_tokens(modelId=base_model_id(MODEL), input=request)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ValidationException"
    else:
        assert out["inputTokens"] > 0


def test_chat_completions_via_the_openai_bedrock_provider(aws_env):
    from openai import OpenAI
    from openai.providers import bedrock

    # base_url=None: the canonical runtime URL for REGION, whatever AWS_BEDROCK_BASE_URL says.
    client = OpenAI(provider=bedrock(endpoint="runtime", region=REGION, base_url=None))
    completion = client.chat.completions.create(
        model=OPENAI_MODEL, messages=[{"role": "user", "content": PROMPT}], max_completion_tokens=200)
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.finish_reason in {"stop", "length"}
    assert (choice.message.content or "").strip() or choice.finish_reason == "length"
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


# =====================================================================================================
# Strictness, guardrails and quotas (branch `local`, issue 10): the refusals the local service
# copies, confirmed against real Bedrock. Refused requests cost no tokens; the guardrail test makes
# one small guardrail and deletes it again. Keep additions of other branches outside this block.
# =====================================================================================================

MANTLE_OPENAI_MODEL = os.environ.get("BEDROCK_MAGICS_AWS_MANTLE_MODEL", "openai.gpt-oss-20b")
_HELLO = [{"role": "user", "content": [{"text": PROMPT}]}]


def _refusal(call, *args, **kwargs) -> dict:
    """The ClientError response of a call that Bedrock must refuse."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    return exc.value.response


def _signed_post(path: str, body: bytes, headers: dict | None = None, sign: bool = True):
    """A raw POST to the runtime, SigV4-signed with the environment's credentials (for bodies no SDK
    serializes: NaN tokens, nesting deeper than Python recurses)."""
    import boto3
    import urllib3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    url = f"https://bedrock-runtime.{REGION}.amazonaws.com{path}"
    req = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    if sign:
        SigV4Auth(boto3.Session().get_credentials().get_frozen_credentials(), "bedrock", REGION).add_auth(req)
    prepared = req.prepare()
    return urllib3.PoolManager().request("POST", prepared.url, body=body, headers=dict(prepared.headers),
                                         retries=False)


def test_request_metadata_over_16_entries_is_refusal(runtime):
    error = _refusal(runtime.converse, modelId=MODEL, messages=_HELLO,
                     requestMetadata={f"k{i}": "v" for i in range(17)})
    assert error["Error"]["Code"] == "ValidationException"
    assert "requestMetadata" in error["Error"]["Message"] and "16" in error["Error"]["Message"]


def test_empty_request_metadata_is_refusal(runtime):
    error = _refusal(runtime.converse, modelId=MODEL, messages=_HELLO, requestMetadata={})
    assert error["Error"]["Code"] == "ValidationException" and "requestMetadata" in error["Error"]["Message"]


def test_request_metadata_with_a_character_outside_its_pattern_is_refusal(runtime):
    error = _refusal(runtime.converse, modelId=MODEL, messages=_HELLO, requestMetadata={"team": "a|b"})
    assert error["Error"]["Code"] == "ValidationException"


def test_nan_in_a_converse_body_is_a_400(aws_env):
    body = b'{"messages": [{"role": "user", "content": [{"text": "Hi"}]}], "inferenceConfig": {"temperature": NaN}}'
    reply = _signed_post(f"/model/{MODEL}/converse", body)
    assert reply.status == 400


def test_json_nested_far_too_deep_is_a_400_not_a_500(aws_env):
    body = ('{"messages": [{"role": "user", "content": [{"text": "Hi"}]}], "additionalModelRequestFields": '
            '{"x": %s0%s}}' % ("[" * 50_000, "]" * 50_000)).encode()
    reply = _signed_post(f"/model/{MODEL}/converse", body)
    assert 400 <= reply.status < 500


def test_an_unauthenticated_upload_is_refused_before_its_body_is_sent(aws_env):
    import socket
    import ssl

    host = f"bedrock-runtime.{REGION}.amazonaws.com"
    context = ssl.create_default_context()
    with socket.create_connection((host, 443), timeout=30) as raw, context.wrap_socket(raw, server_hostname=host) as conn:
        conn.sendall((f"POST /model/{MODEL}/converse HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {60 * 1024 * 1024}\r\n\r\n").encode())
        status = conn.makefile("rb").readline().decode()  # answered although no body byte was sent
    assert status.split()[1] == "403", status


def test_an_invoke_body_over_25_mb_is_refusal(runtime):
    error = _refusal(runtime.invoke_model, modelId=MODEL, body=b"x" * 25_000_001)
    assert error["ResponseMetadata"]["HTTPStatusCode"] in (400, 413)


def test_an_unknown_guardrail_is_awss_validation_error(runtime):
    error = _refusal(runtime.converse, modelId=MODEL, messages=_HELLO,
                     guardrailConfig={"guardrailIdentifier": "nosuchguardrail0", "guardrailVersion": "1"})
    assert error["Error"]["Code"] == "ValidationException"
    assert error["Error"]["Message"] == "The guardrail identifier or version provided in the request does not exist."


def test_get_guardrail_of_an_unknown_id_is_not_found(control):
    error = _refusal(control.get_guardrail, guardrailIdentifier="nosuchguardrail0")
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert "guardrails" in control.list_guardrails()


def test_create_guardrail_with_a_bad_name_is_refusal(control):
    error = _refusal(control.create_guardrail, name="bad name!", blockedInputMessaging="x", blockedOutputsMessaging="x")
    assert error["Error"]["Code"] == "ValidationException" and "name" in error["Error"]["Message"]


def test_a_denied_word_intervenes_with_the_blocked_message_trace_and_usage(control, runtime):
    import time
    import uuid

    made = control.create_guardrail(name=f"bm-suite-{uuid.uuid4().hex[:8]}", blockedInputMessaging="No kumquats.",
                                    blockedOutputsMessaging="No kumquats out.",
                                    wordPolicyConfig={"wordsConfig": [{"text": "kumquat"}]})
    try:
        while control.get_guardrail(guardrailIdentifier=made["guardrailId"])["status"] != "READY":
            time.sleep(1)  # AWS creates guardrails asynchronously: poll its documented status
        out = runtime.converse(modelId=MODEL, messages=[{"role": "user", "content": [{"text": "One kumquat please"}]}],
                               guardrailConfig={"guardrailIdentifier": made["guardrailId"],
                                                "guardrailVersion": "DRAFT", "trace": "enabled"})
        assert out["stopReason"] == "guardrail_intervened"
        assert out["output"]["message"]["content"][0]["text"] == "No kumquats."
        assessment = out["trace"]["guardrail"]["inputAssessment"][made["guardrailId"]]
        assert assessment["wordPolicy"]["customWords"][0]["match"].lower() == "kumquat"
        assert assessment["invocationMetrics"]["usage"]["wordPolicyUnits"] >= 1
    finally:
        control.delete_guardrail(guardrailIdentifier=made["guardrailId"])


def test_mantle_responses_refuse_tool_types_other_than_function_and_mcp(aws_env):
    import openai
    from openai.providers import bedrock

    client = openai.OpenAI(provider=bedrock(endpoint="mantle", region=REGION, base_url=None), max_retries=0)
    with pytest.raises(openai.BadRequestError) as exc:
        client.responses.create(model=MANTLE_OPENAI_MODEL, input="Hi",
                                tools=[{"type": "namespace", "name": "x", "tools": []}])
    assert "unknown variant `namespace`, expected `function` or `mcp`" in str(exc.value)


# ==================================================================================================
# Capability refusals (issue 10): the cases of tests/local/test_catalog_refusals.py, against AWS.
# Each confirms a documented fact the local catalog's capabilities rest on; refused calls cost nothing.
# ==================================================================================================

_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                     "1f15c4890000000d49444154789c6360000002000100ffff03000006000557bfabd40000000049454e44ae426082")
_TOOL = {"toolSpec": {"name": "lookup", "description": "Look a word up",
                      "inputSchema": {"json": {"type": "object", "properties": {"word": {"type": "string"}}}}}}
_CLAUDE = os.environ.get("BEDROCK_MAGICS_AWS_CLAUDE_MODEL", "us.anthropic.claude-sonnet-4-5-20250929-v1:0")


def _refused(call, **kwargs) -> str:
    """The message of a call AWS must refuse with a 400 ValidationException."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as err:
        call(**kwargs)
    response = err.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert response["Error"]["Code"] == "ValidationException"
    return response["Error"]["Message"]


def _user(*blocks: dict) -> list[dict]:
    return [{"role": "user", "content": [{"text": "Describe it."}, *blocks]}]


def test_aws_refuses_an_image_for_a_text_only_model(runtime):
    message = _refused(runtime.converse, modelId="us.meta.llama3-3-70b-instruct-v1:0",
                       messages=_user({"image": {"format": "png", "source": {"bytes": _PNG}}}))
    assert "image" in message


def test_aws_refuses_a_system_prompt_for_titan_text_express(runtime):
    message = _refused(runtime.converse, modelId="amazon.titan-text-express-v1", system=[{"text": "Be brief."}],
                       messages=[{"role": "user", "content": [{"text": "Hi"}]}])
    assert "system messages" in message


@pytest.mark.parametrize("choice", [{"any": {}}, {"tool": {"name": "lookup"}}])
def test_aws_refuses_a_tool_choice_llama_lacks(runtime, choice):
    message = _refused(runtime.converse, modelId="us.meta.llama3-3-70b-instruct-v1:0", messages=_user(),
                       toolConfig={"tools": [_TOOL], "toolChoice": choice})
    assert f"toolChoice.{next(iter(choice))}" in message


@pytest.mark.parametrize("config, budget, expected", [
    ({"maxTokens": 4000, "temperature": 0.5}, 2000, "temperature"),
    ({"maxTokens": 2000}, 2000, "max_tokens"),
    ({"maxTokens": 4000}, 512, "1024"),
])
def test_aws_enforces_claude_thinking_rules(runtime, config, budget, expected):
    message = _refused(runtime.converse, modelId=_CLAUDE, messages=_user(), inferenceConfig=config,
                       additionalModelRequestFields={"thinking": {"type": "enabled", "budget_tokens": budget}})
    assert expected in message


def _mantle(prefix: str, region: str = REGION):
    from openai import OpenAI
    from openai.providers import bedrock

    return OpenAI(provider=bedrock(endpoint="mantle", region=region,
                                   base_url=f"https://bedrock-mantle.{region}.api.aws{prefix}"), max_retries=0)


def test_aws_mantle_serves_gpt_oss_under_v1_only(aws_env):
    import openai

    with pytest.raises(openai.NotFoundError):
        _mantle("/openai/v1").responses.create(model="openai.gpt-oss-20b", input=PROMPT, max_output_tokens=50)
    reply = _mantle("/v1").responses.create(model="openai.gpt-oss-20b", input=PROMPT, max_output_tokens=200)
    assert reply.status in ("completed", "incomplete")


def test_aws_mantle_refuses_responses_for_a_chat_only_model(aws_env):
    import openai

    with pytest.raises(openai.APIStatusError) as err:
        _mantle("/v1").responses.create(model="qwen.qwen3-32b", input=PROMPT, max_output_tokens=50)
    assert 400 <= err.value.status_code < 500


def test_aws_gpt5_serves_responses_only(aws_env):
    import openai

    client = _mantle("/openai/v1", region="us-east-2")
    with pytest.raises(openai.APIStatusError) as err:
        client.chat.completions.create(model="openai.gpt-5.5", messages=[{"role": "user", "content": PROMPT}])
    assert 400 <= err.value.status_code < 500


# ==================================================================================================
# Mantle server-side tools (issue 11): an `mcp` connector to a real Lambda function.
#
# Needs BEDROCK_MAGICS_AWS_LAMBDA_ARN: a Lambda function implementing MCP JSON-RPC (tools/list,
# tools/call; AWS's "Server-side tool use" example works) that the caller may invoke, in REGION.
# BEDROCK_MAGICS_AWS_MANTLE_MODEL picks the model (default openai.gpt-oss-120b, on mantle's /v1).

LAMBDA_ARN = os.environ.get("BEDROCK_MAGICS_AWS_LAMBDA_ARN")
MANTLE_MODEL = os.environ.get("BEDROCK_MAGICS_AWS_MANTLE_MODEL", "openai.gpt-oss-120b")


@pytest.fixture
def aws_mantle(aws_env):
    if not LAMBDA_ARN:
        pytest.skip("set BEDROCK_MAGICS_AWS_LAMBDA_ARN to an MCP Lambda function's ARN to check server-side tools")
    from openai import OpenAI
    from openai.providers import bedrock

    # gpt-oss serves Responses on mantle's /v1 (its /openai/v1/responses answers 404: openai/codex#23650).
    return OpenAI(provider=bedrock(endpoint="mantle", region=REGION,
                                   base_url=f"https://bedrock-mantle.{REGION}.api.aws/v1"))


def _mcp_tool(arn: str) -> dict:
    return {"type": "mcp", "server_label": "bm_check", "connector_id": arn, "require_approval": "never"}


def test_mantle_lists_and_calls_a_lambda_connector(aws_mantle):
    listed = aws_mantle.responses.create(model=MANTLE_MODEL, input="Which tools do you have? Answer in one line.",
                                         tools=[_mcp_tool(LAMBDA_ARN)], max_output_tokens=400)
    kinds = [item.type for item in listed.output]
    assert kinds[0] == "mcp_list_tools", kinds
    tools = listed.output[0].tools
    assert listed.output[0].server_label == "bm_check" and tools and all(t.name for t in tools)
    prompt = f"Call the {tools[0].name} tool once with suitable arguments, then tell me what it returned."
    stream = aws_mantle.responses.create(model=MANTLE_MODEL, input=prompt, tools=[_mcp_tool(LAMBDA_ARN)],
                                         max_output_tokens=800, stream=True)
    events = [e.type for e in stream]
    assert "response.mcp_list_tools.completed" in events and events[-1] in ("response.completed", "response.incomplete")
    if "response.mcp_call.in_progress" in events:  # a real model may decline; when it calls, the events are there
        assert "response.mcp_call_arguments.done" in events
        assert "response.mcp_call.completed" in events or "response.mcp_call.failed" in events


def test_mantle_refuses_an_unknown_lambda_and_approval(aws_mantle):
    from openai import APIStatusError, BadRequestError

    account = LAMBDA_ARN.split(":")[4]
    missing = f"arn:aws:lambda:{REGION}:{account}:function:bedrock-magics-no-such-function"
    with pytest.raises(APIStatusError) as err:
        aws_mantle.responses.create(model=MANTLE_MODEL, input="Hi", tools=[_mcp_tool(missing)], max_output_tokens=50)
    assert 400 <= err.value.status_code < 500  # the local service answers 424 (OpenAI's connector error)
    with pytest.raises(BadRequestError):
        aws_mantle.responses.create(model=MANTLE_MODEL, input="Hi", max_output_tokens=50,
                                    tools=[{**_mcp_tool(LAMBDA_ARN), "require_approval": "always"}])


# ==================================================================================================
# Mantle server-side tools from the client (issue 11, items 1 and 3): the Python API and the magic
# turn `lambda:NAME_OR_ARN` into the connector above, show Bedrock's items and record the call.
# Same settings as the block above (skipped without BEDROCK_MAGICS_AWS_LAMBDA_ARN).

@pytest.fixture
def aws_bm(aws_mantle, tmp_path):
    from bedrock_magics.core import Bedrock

    bm = Bedrock(region=REGION, ledger_path=str(tmp_path / "ledger.sqlite"), local=False)
    yield bm
    bm.close()


def test_python_api_lambda_tool_on_mantle_shows_the_items_and_records_the_call(aws_bm):
    function = LAMBDA_ARN.split(":function:")[1]
    bare = aws_bm.request("hi", endpoint="mantle", api="responses", model=MANTLE_MODEL, tools=[f"lambda:{function}"])
    if LAMBDA_ARN.split(":")[3] == REGION:  # a bare name is the function of the caller's account (STS), in REGION
        assert bare.extra["server_tools"][0]["connector_id"] == LAMBDA_ARN
    reply = aws_bm.ask("Which tools do you have? Answer in one line.", endpoint="mantle", api="responses",
                       model=MANTLE_MODEL, tools=[f"lambda:{LAMBDA_ARN}"], max_tokens=400)
    assert reply.ok and reply.server_calls and reply.server_calls[0].kind == "list_tools"
    assert reply.server_calls[0].tools
    (row,) = aws_bm.usage().to_dict("records")
    assert row["endpoint"] == "mantle" and row["status"] == "ok" and row["input_tokens"] > 0


def test_magic_lambda_tool_on_mantle_and_an_unknown_lambda_is_one_line(aws_bm):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from bedrock_magics.errors import BedrockError
    from bedrock_magics.magics import current

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "bedrock_magics")
    try:
        bm = current(shell)
        bm.ledger_path, bm.region, bm.local = aws_bm.ledger_path, REGION, False
        with capture_output() as captured:
            shell.run_cell_magic("bedrock", f"ans -e mantle -a responses -m {MANTLE_MODEL} --tools lambda:{LAMBDA_ARN} "
                                            "--max-tokens 400 --no-stream", "Which tools do you have? One line.")
        assert "🧰 " in shell.user_ns["ans"]._repr_mimebundle_()["text/plain"] or "🧰 " in captured.stdout
        missing = LAMBDA_ARN.rsplit(":", 1)[0] + ":bedrock-magics-no-such-function"
        with pytest.raises(BedrockError) as err:
            bm.ask("Hi", endpoint="mantle", api="responses", model=MANTLE_MODEL, tools=[f"lambda:{missing}"],
                   max_tokens=50)
        assert "\n" not in err.value.args[0]
        assert len(bm.usage()) == 2  # the answer and the failed call
    finally:
        shell.run_line_magic("unload_ext", "bedrock_magics")


# ======================================================================================================
# Structured output, reasoning, prompt caching, attachments (issue 12): the Python API against real
# Bedrock, the same calls tests/test_features.py makes against the local service.

@pytest.fixture
def aws_features_bm(aws_env, tmp_path):
    from bedrock_magics.core import Bedrock

    bm = Bedrock(ledger_path=str(tmp_path / "ledger.sqlite"), region=REGION)
    yield bm
    bm.close()


def _review_model():
    from pydantic import BaseModel

    class Review(BaseModel):
        sentiment: str
        stars: int

    return Review


@pytest.mark.parametrize("model,api", [(_CLAUDE, "converse"), (MODEL, "converse"), (OPENAI_MODEL, "chat")])
def test_aws_schema_gives_a_validated_object(aws_features_bm, model, api):
    reply = aws_features_bm.ask("Great phone, five stars.", model=model, api=api, schema=_review_model(), max_tokens=300)
    assert reply.data is not None and 1 <= reply.data.stars <= 5


def test_aws_claude_thinking_comes_back_as_reasoning(aws_features_bm):
    reply = aws_features_bm.ask("Is 1001 prime?", model=_CLAUDE, reasoning=1024, max_tokens=3000)
    assert reply.ok and reply.reasoning


def test_aws_gpt_oss_reasoning_tokens_are_counted(aws_features_bm):
    reply = aws_features_bm.ask("Is 1001 prime?", model=OPENAI_MODEL, api="chat", reasoning="low", max_tokens=2000)
    assert reply.ok and reply.reasoning


@pytest.mark.parametrize("model", [_CLAUDE, OPENAI_MODEL])
def test_aws_invoke_model_reads_the_reasoning_back_sent_and_streamed(aws_features_bm, model):
    # tests/test_invoke_reasoning.py against the local service: Claude's thinking blocks, gpt-oss's
    # <reasoning>…</reasoning> prefix (whose streamed shape AWS does not document).
    bm = aws_features_bm
    sent = bm.ask("Is 1001 prime?", model=model, api="invoke", reasoning="low", max_tokens=3000)
    assert sent.ok and sent.reasoning and "<reasoning>" not in sent.text
    seen: list[str] = []
    *deltas, streamed = list(bm.stream("Is 1001 prime?", model=model, api="invoke", reasoning="low", max_tokens=3000,
                                       on_reasoning=seen.append))
    assert streamed.ok and streamed.reasoning == "".join(seen) and "".join(deltas) == streamed.text
    assert not any("reasoning>" in d for d in deltas)


def test_aws_claude_invoke_model_tool_round_with_thinking(aws_features_bm):
    def lookup(term: str) -> str:
        """Look a term up in the glossary."""
        return f"{term}: a fully managed service for foundation models"

    reply = aws_features_bm.ask("Use the lookup tool on the term 'bedrock', then say what it is.", model=_CLAUDE,
                                api="invoke", reasoning="low", max_tokens=3000, tools=[lookup])
    assert reply.ok and reply.reasoning  # the tool-result round sent the signed thinking back


def test_aws_prompt_cache_writes_then_reads(aws_features_bm):
    system = "You answer in one short sentence about Amazon Bedrock prompt caching. " * 250
    first = aws_features_bm.ask("What is caching?", model=_CLAUDE, system=system, prompt_cache=True, max_tokens=100)
    second = aws_features_bm.ask("Why cache?", model=_CLAUDE, system=system, prompt_cache=True, max_tokens=100)
    assert first.cache_write_tokens + first.cache_read_tokens > 0
    assert second.cache_read_tokens > 0 and second.price_source


def test_aws_reads_a_matplotlib_figure(aws_features_bm):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.bar(["red", "blue"], [3, 7], color=["red", "blue"])
    reply = aws_features_bm.ask("Which bar is taller, red or blue? One word.", model=_CLAUDE, images=[fig], max_tokens=20)
    plt.close(fig)
    assert "blue" in reply.text.lower()


# ======================================================================================================
# InvokeModel attachments and schemas, video, Nova 2 reasoning, multimodal embeddings: what the local
# service refuses or answers here, checked against real Bedrock.

_NOVA2 = os.environ.get("BEDROCK_MAGICS_AWS_NOVA2_MODEL", "us.amazon.nova-2-lite-v1:0")
_NOVA_VIDEO = os.environ.get("BEDROCK_MAGICS_AWS_NOVA_VIDEO_MODEL", "us.amazon.nova-lite-v1:0")
_CLAUDE_BODY = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50}


def test_aws_invoke_model_refuses_a_claude_document_block(runtime):
    """inference-api-restrictions.html: no documents in InvokeModel bodies (local: invoke_checks)."""
    body = {**_CLAUDE_BODY, "messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Tides rise."}},
        {"type": "text", "text": "Summarize."}]}]}
    assert "document" in _refused(runtime.invoke_model, modelId=_CLAUDE, body=json.dumps(body))


def test_aws_invoke_model_takes_a_claude_image_and_output_config(runtime):
    import base64

    body = {**_CLAUDE_BODY, "max_tokens": 200, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": base64.b64encode(_PNG).decode()}},
        {"type": "text", "text": "Give the picture's size class."}]}],
        "output_config": {"format": {"type": "json_schema", "schema": {
            "type": "object", "additionalProperties": False, "required": ["size"],
            "properties": {"size": {"type": "string", "enum": ["tiny", "large"]}}}}}}
    out = json.loads(runtime.invoke_model(modelId=_CLAUDE, body=json.dumps(body))["body"].read())
    assert json.loads(out["content"][-1]["text"])["size"] in ("tiny", "large")


def test_aws_nova_invoke_model_refuses_a_document_block(runtime):
    body = {"schemaVersion": "messages-v1", "messages": [{"role": "user", "content": [
        {"document": {"format": "txt", "name": "notes", "source": {"bytes": "VGlkZXMgcmlzZS4="}}},
        {"text": "Summarize."}]}], "inferenceConfig": {"maxTokens": 50}}
    _refused(runtime.invoke_model, modelId=MODEL, body=json.dumps(body))


def test_aws_refuses_a_video_format_outside_its_list(runtime):
    message = _refused(runtime.converse, modelId=_NOVA_VIDEO,
                       messages=_user({"video": {"format": "avi", "source": {"bytes": b"RIFF0000AVI "}}}))
    assert "format" in message


def test_aws_nova2_reasoning_config_is_answered_and_refused_at_high_with_max_tokens(runtime):
    fields = {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low"}}
    out = runtime.converse(modelId=_NOVA2, messages=_user(), additionalModelRequestFields=fields)
    assert any("reasoningContent" in b for b in out["output"]["message"]["content"])
    high = {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}}
    _refused(runtime.converse, modelId=_NOVA2, messages=_user(), inferenceConfig={"maxTokens": 500},
             additionalModelRequestFields=high)
    _refused(runtime.converse, modelId=MODEL, messages=_user(), additionalModelRequestFields=fields)  # Nova 1


@pytest.mark.parametrize("model", ["amazon.titan-embed-image-v1", "us.cohere.embed-v4:0"])
def test_aws_embeds_an_image(aws_features_bm, model):
    reply = aws_features_bm.embed(images=_PNG_LARGE(), model=model)
    assert reply.ok and reply.embedding.ndim == 1 and reply.embedding.size >= 256


def _PNG_LARGE() -> bytes:  # noqa: N802 - a constant made on demand (Pillow comes with matplotlib)
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()
