"""Refusals by capability, as Bedrock refuses them: real boto3 (Converse, InvokeModel) and the real openai
SDK (runtime /openai/v1, mantle /v1 and /openai/v1) against the local service over HTTPS."""

from __future__ import annotations

import json

import boto3
import openai
import pytest
from botocore.exceptions import ClientError

from bedrock_magics.local import credentials as local

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100ffff03000006000557bfabd40000000049454e44ae426082")
TOOL = {"toolSpec": {"name": "lookup", "description": "Look a word up",
                     "inputSchema": {"json": {"type": "object", "properties": {"word": {"type": "string"}}}}}}


@pytest.fixture
def rt(local_env):
    return boto3.client("bedrock-runtime", region_name="us-east-1")


@pytest.fixture
def rt_west(local_env):
    return boto3.client("bedrock-runtime", region_name="us-east-2")


def user(*blocks: dict) -> list[dict]:
    return [{"role": "user", "content": [{"text": "Describe it."}, *blocks]}]


def refused(call, *args, **kwargs) -> tuple[int, str, str]:
    """(HTTP status, error code, message) of a call that must fail."""
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    response = err.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


# -- modalities and system prompts (Converse) --------------------------------------------------


@pytest.mark.parametrize("model_id, block", [
    ("us.meta.llama3-3-70b-instruct-v1:0", {"image": {"format": "png", "source": {"bytes": PNG}}}),
    ("amazon.nova-micro-v1:0", {"document": {"format": "txt", "name": "notes", "source": {"bytes": b"hello"}}}),
    ("anthropic.claude-3-haiku-20240307-v1:0", {"video": {"format": "mp4", "source": {"bytes": b"\0\0\0\x18ftyp"}}}),
])
def test_a_media_block_the_model_cannot_read_is_refused(rt, model_id, block):
    kind = next(iter(block))
    status, code, message = refused(rt.converse, modelId=model_id, messages=user(block))
    assert (status, code) == (400, "ValidationException")
    assert message == f"This model doesn't support the {kind} field for user messages. Remove {kind} and try again."


def test_media_the_model_reads_is_answered(rt):
    image = {"image": {"format": "png", "source": {"bytes": PNG}}}
    assert rt.converse(modelId="amazon.nova-lite-v1:0", messages=user(image))["stopReason"] == "end_turn"
    video = {"video": {"format": "mp4", "source": {"bytes": b"\0\0\0\x18ftyp"}}}
    assert rt.converse(modelId="amazon.nova-lite-v1:0", messages=user(video))["stopReason"] == "end_turn"
    document = {"document": {"format": "txt", "name": "notes", "source": {"bytes": b"hello"}}}
    assert rt.converse(modelId="us.anthropic.claude-haiku-4-5-20251001-v1:0",
                       messages=user(document))["stopReason"] == "end_turn"


@pytest.mark.parametrize("model_id", ["amazon.titan-text-express-v1", "mistral.mistral-7b-instruct-v0:2"])
def test_a_system_prompt_for_a_model_without_one_is_refused(rt, model_id):
    status, code, message = refused(rt.converse, modelId=model_id, system=[{"text": "Be brief."}],
                                    messages=[{"role": "user", "content": [{"text": "Hi"}]}])
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("This model doesn't support system messages.")
    # The same conversation without the system prompt is answered, streamed too.
    plain = rt.converse_stream(modelId=model_id, messages=[{"role": "user", "content": [{"text": "echo: ok"}]}])
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in plain["stream"] if "contentBlockDelta" in e) == "ok"


# -- toolChoice ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model_id, choice", [
    ("us.meta.llama3-3-70b-instruct-v1:0", {"any": {}}),
    ("us.meta.llama3-3-70b-instruct-v1:0", {"tool": {"name": "lookup"}}),
    ("cohere.command-r-v1:0", {"any": {}}),
    ("mistral.mistral-large-2402-v1:0", {"tool": {"name": "lookup"}}),
])
def test_a_tool_choice_the_model_lacks_is_refused(rt, model_id, choice):
    kind = next(iter(choice))
    status, code, message = refused(rt.converse, modelId=model_id, messages=user(),
                                    toolConfig={"tools": [TOOL], "toolChoice": choice})
    assert (status, code) == (400, "ValidationException")
    assert message == (f"This model doesn't support the toolConfig.toolChoice.{kind} field. Remove "
                       f"toolConfig.toolChoice.{kind} and try again.")


def test_tool_choices_the_model_has_are_answered(rt):
    for model_id, choice in (("us.anthropic.claude-haiku-4-5-20251001-v1:0", {"tool": {"name": "lookup"}}),
                             ("amazon.nova-lite-v1:0", {"any": {}}),
                             ("us.meta.llama3-3-70b-instruct-v1:0", {"auto": {}})):
        out = rt.converse(modelId=model_id, messages=user(), toolConfig={"tools": [TOOL], "toolChoice": choice})
        assert out["ResponseMetadata"]["HTTPStatusCode"] == 200, model_id


# -- Claude's extended thinking -----------------------------------------------------------------

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def thinking(budget: int) -> dict:
    return {"thinking": {"type": "enabled", "budget_tokens": budget}}


@pytest.mark.parametrize("config, extra, tool_choice, expected", [
    ({"maxTokens": 4000, "temperature": 0.5}, thinking(2000), None, "`temperature` may only be set to 1 when thinking"),
    ({"maxTokens": 2000}, thinking(2000), None, "`max_tokens` must be greater than `thinking.budget_tokens`"),
    ({"maxTokens": 4000}, thinking(512), None, "thinking.enabled.budget_tokens: Input should be greater than or "
                                                "equal to 1024"),
    ({"maxTokens": 4000}, thinking(2000), {"any": {}}, "Thinking may not be enabled when tool_choice forces tool use."),
])
def test_thinking_rules_are_enforced_on_converse(rt, config, extra, tool_choice, expected):
    kwargs = {"toolConfig": {"tools": [TOOL], "toolChoice": tool_choice}} if tool_choice else {}
    status, code, message = refused(rt.converse, modelId=SONNET, messages=user(), inferenceConfig=config,
                                    additionalModelRequestFields=extra, **kwargs)
    assert (status, code) == (400, "ValidationException")
    assert message.startswith("The model returned the following errors: ") and expected in message


def test_thinking_within_the_rules_is_answered(rt):
    out = rt.converse(modelId=SONNET, messages=user(), inferenceConfig={"maxTokens": 4000, "temperature": 1},
                      additionalModelRequestFields=thinking(1024))
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "reasoningContent" in out["output"]["message"]["content"][0]  # the responder thinks when allowed
    # Models without extended thinking do not read the field at all (Claude 3 Haiku): no rule, no reasoning.
    haiku = rt.converse(modelId="anthropic.claude-3-haiku-20240307-v1:0", messages=user(),
                        inferenceConfig={"temperature": 0.2}, additionalModelRequestFields=thinking(1024))
    assert haiku["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert all("reasoningContent" not in block for block in haiku["output"]["message"]["content"])


def test_thinking_rules_are_enforced_on_invoke_model(rt):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 3000, "temperature": 0.7,
            "thinking": {"type": "enabled", "budget_tokens": 2000},
            "messages": [{"role": "user", "content": "Hi"}]}
    for call in (rt.invoke_model, rt.invoke_model_with_response_stream):
        status, code, message = refused(call, modelId=SONNET, body=json.dumps(body))
        assert (status, code) == (400, "ValidationException") and "`temperature` may only be set to 1" in message
    body.pop("temperature")
    assert json.loads(rt.invoke_model(modelId=SONNET, body=json.dumps(body))["body"].read())["type"] == "message"


# -- Claude Sonnet 5 / Opus 5: no sampling parameters -------------------------------------------


@pytest.mark.parametrize("config, extra, name", [
    ({"temperature": 0}, {}, "temperature"), ({"topP": 0.9}, {}, "top_p"), ({}, {"top_k": 5}, "top_k")])
def test_sampling_parameters_are_refused_for_claude_5_on_converse(rt, config, extra, name):
    status, code, message = refused(rt.converse, modelId="us.anthropic.claude-sonnet-5", messages=user(),
                                    inferenceConfig=config, additionalModelRequestFields=extra)
    assert (status, code) == (400, "ValidationException") and f"`{name}` is not supported for this model" in message
    out = rt.converse(modelId="us.anthropic.claude-sonnet-5", messages=user(), inferenceConfig={"maxTokens": 50})
    assert out["output"]["message"]["content"][0]["text"]


def test_sampling_parameters_are_refused_for_claude_5_on_invoke_model(rt):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "temperature": 0.2,
            "messages": [{"role": "user", "content": "Hi"}]}
    status, code, message = refused(rt.invoke_model, modelId="us.anthropic.claude-opus-5", body=json.dumps(body))
    assert (status, code) == (400, "ValidationException") and "`temperature` is not supported" in message
    body.pop("temperature")
    assert json.loads(rt.invoke_model(modelId="us.anthropic.claude-opus-5", body=json.dumps(body))["body"].read())[
        "type"] == "message"


# -- OpenAI-compatible routes -------------------------------------------------------------------


@pytest.fixture
def mantle_v1(local_env, local_service):
    return openai.OpenAI(base_url=local_service.endpoints["mantle"] + "/v1", api_key=local.API_KEY, max_retries=0)


@pytest.fixture
def mantle_openai_v1(local_env, local_service):
    return openai.OpenAI(base_url=local_service.endpoints["mantle"] + "/openai/v1", api_key=local.API_KEY,
                         max_retries=0)


@pytest.fixture
def mantle_east2(local_service, local_env):
    """The SDK's Bedrock provider in us-east-2 (where GPT-5.5 is), SigV4, at its default ``/openai/v1``."""
    import ssl

    from openai.providers import bedrock

    provider = bedrock(endpoint="mantle", region="us-east-2", base_url=local_service.endpoints["mantle"] + "/openai/v1",
                       access_key_id=local.ACCESS_KEY_ID, secret_access_key=local.SECRET_ACCESS_KEY)
    verify = ssl.create_default_context(cafile=local_service.ca_file)
    return openai.OpenAI(provider=provider, http_client=openai.DefaultHttpx2Client(verify=verify), max_retries=0)


def test_gpt_oss_under_the_openai_v1_prefix_is_a_404(mantle_openai_v1, mantle_v1):
    for create in (lambda: mantle_openai_v1.responses.create(model="openai.gpt-oss-120b", input="Hi"),
                   lambda: mantle_openai_v1.chat.completions.create(model="openai.gpt-oss-120b",
                                                                    messages=[{"role": "user", "content": "Hi"}])):
        with pytest.raises(openai.NotFoundError) as err:
            create()
        assert err.value.status_code == 404 and err.value.code == "model_not_found"
    assert mantle_v1.responses.create(model="openai.gpt-oss-120b", input="echo: ok").output_text == "ok"


def test_gpt5_serves_responses_only_under_openai_v1(mantle_east2, local_service, local_env):
    import ssl

    from openai.providers import bedrock

    reply = mantle_east2.responses.create(model="openai.gpt-5.5", input="echo: five", reasoning={"effort": "low"})
    assert reply.output_text == "five"
    with pytest.raises(openai.BadRequestError) as err:
        mantle_east2.chat.completions.create(model="openai.gpt-5.5", messages=[{"role": "user", "content": "Hi"}])
    assert err.value.code == "model_not_supported" and "Responses API" in err.value.message
    # Under /v1 GPT-5.5 does not exist.
    verify = ssl.create_default_context(cafile=local_service.ca_file)
    v1 = openai.OpenAI(provider=bedrock(endpoint="mantle", region="us-east-2",
                                        base_url=local_service.endpoints["mantle"] + "/v1",
                                        access_key_id=local.ACCESS_KEY_ID, secret_access_key=local.SECRET_ACCESS_KEY),
                       http_client=openai.DefaultHttpx2Client(verify=verify), max_retries=0)
    with pytest.raises(openai.NotFoundError):
        v1.responses.create(model="openai.gpt-5.5", input="Hi")


def test_responses_on_mantle_for_a_chat_only_model_is_refused(mantle_v1):
    with pytest.raises(openai.BadRequestError) as err:
        mantle_v1.responses.create(model="qwen.qwen3-32b", input="Hi")
    assert err.value.status_code == 400 and err.value.code == "model_not_supported" and err.value.param == "model"
    assert "Chat Completions" in err.value.message  # names what does work
    chat = mantle_v1.chat.completions.create(model="qwen.qwen3-32b", messages=[{"role": "user", "content": "echo: ok"}])
    assert chat.choices[0].message.content == "ok"


def test_openai_routes_refuse_models_they_do_not_serve_on_the_runtime(local_env, local_service):
    runtime = openai.OpenAI(base_url=local_service.endpoints["runtime"] + "/openai/v1", api_key=local.API_KEY,
                            max_retries=0)
    with pytest.raises(openai.BadRequestError) as err:
        runtime.responses.create(model="us.anthropic.claude-haiku-4-5-20251001-v1:0", input="Hi")
    assert err.value.code == "model_not_supported"
    with pytest.raises(openai.NotFoundError):  # mantle-only: the runtime has no such model
        runtime.responses.create(model="openai.gpt-5.5", input="Hi")
