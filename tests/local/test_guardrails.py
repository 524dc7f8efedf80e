"""Guardrails in the local service: the control-plane registry, the documented preset, and what
Converse, ConverseStream and InvokeModel do with a guardrail — driven by boto3 and the aws CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bedrock_magics.local import tokens
from bedrock_magics.local.guardrails import NOT_FOUND, PRESET, PRESET_ID

NOVA = "amazon.nova-micro-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
BLOCKED = PRESET["blockedInputMessaging"]
AWS = Path(sys.executable).with_name("aws")


def user(*blocks: dict) -> list[dict]:
    return [{"role": "user", "content": list(blocks)}]


def text(value: str) -> dict:
    return {"text": value}


@pytest.fixture
def control(local_env):
    return boto3.client("bedrock", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def runtime(local_env):
    return boto3.client("bedrock-runtime", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def fruit(control):
    """A guardrail of this test's own: the word "pineapple" blocked both ways, "mango" only reported,
    a denied topic "Gardening" with an example; published as version 1."""
    made = control.create_guardrail(
        name=f"fruit-{uuid.uuid4().hex[:8]}", blockedInputMessaging="No fruit talk.",
        blockedOutputsMessaging="The answer mentioned fruit.",
        wordPolicyConfig={"wordsConfig": [{"text": "pineapple"}, {"text": "mango", "inputAction": "NONE",
                                                                   "outputAction": "NONE"}]},
        topicPolicyConfig={"topicsConfig": [{"name": "Gardening", "definition": "Growing plants.", "type": "DENY",
                                             "examples": ["how do I prune roses"]}]})
    version = control.create_guardrail_version(guardrailIdentifier=made["guardrailId"])["version"]
    return {"id": made["guardrailId"], "arn": made["guardrailArn"], "version": version}


def converse_with(runtime, guardrail: dict, messages: list[dict], trace: str = "enabled", **kwargs) -> dict:
    config = {"guardrailIdentifier": guardrail["id"], "guardrailVersion": guardrail["version"], "trace": trace}
    return runtime.converse(modelId=NOVA, messages=messages, guardrailConfig=config, **kwargs)


# -- the registry -------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1"])
def test_the_documented_preset_is_in_every_region(local_env, region):
    control = boto3.client("bedrock", region_name=region, config=Config(signature_version="v4"))
    listed = {g["id"]: g for g in control.list_guardrails()["guardrails"]}
    assert listed[PRESET_ID]["version"] == "DRAFT" and listed[PRESET_ID]["status"] == "READY"
    preset = control.get_guardrail(guardrailIdentifier=PRESET_ID, guardrailVersion="1")
    assert preset["topicPolicy"]["topics"][0]["name"] == "Investment advice"
    assert [w["text"] for w in preset["wordPolicy"]["words"]] == ["confidential", "top secret"]
    assert preset["blockedInputMessaging"] == BLOCKED
    versions = control.list_guardrails(guardrailIdentifier=PRESET_ID)["guardrails"]
    assert sorted(v["version"] for v in versions) == ["1", "DRAFT"]


def test_create_get_and_version_a_guardrail(control, fruit):
    draft = control.get_guardrail(guardrailIdentifier=fruit["arn"])
    assert (draft["guardrailId"], draft["version"], draft["status"]) == (fruit["id"], "DRAFT", "READY")
    assert draft["wordPolicy"]["words"][0] == {"text": "pineapple"}
    assert draft["topicPolicy"]["topics"][0]["examples"] == ["how do I prune roses"]
    assert fruit["version"] == "1"
    assert control.get_guardrail(guardrailIdentifier=fruit["id"], guardrailVersion="1")["version"] == "1"
    with pytest.raises(ClientError) as exc:
        control.get_guardrail(guardrailIdentifier=fruit["id"], guardrailVersion="2")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_create_guardrail_is_checked_against_botocores_model_without_echoing_sensitive_values(control):
    with pytest.raises(ClientError) as exc:
        control.create_guardrail(name="secret name!", blockedInputMessaging="x", blockedOutputsMessaging="x")
    error = exc.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == ("1 validation error detected: Value at 'name' failed to satisfy constraint: "
                                "Member must satisfy regular expression pattern: [0-9a-zA-Z-_]+")


def test_names_are_unique_and_a_retried_create_is_the_same_guardrail(control):
    name, token = f"once-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    args = dict(name=name, blockedInputMessaging="x", blockedOutputsMessaging="y", clientRequestToken=token)
    first = control.create_guardrail(**args)
    assert control.create_guardrail(**args)["guardrailId"] == first["guardrailId"]
    with pytest.raises(ClientError) as exc:
        control.create_guardrail(**{**args, "clientRequestToken": uuid.uuid4().hex})
    assert exc.value.response["Error"]["Code"] == "ConflictException"


def test_guardrails_are_regional(local_env, fruit, runtime):
    # SigV4 names the region (the long-term API key names none: it means the default region).
    other = boto3.client("bedrock-runtime", region_name="us-west-2", config=Config(signature_version="v4"))
    with pytest.raises(ClientError) as exc:
        converse_with(other, fruit, user(text("Hello")))
    assert exc.value.response["Error"]["Message"] == NOT_FOUND
    assert converse_with(runtime, fruit, user(text("Hello")))["stopReason"] == "end_turn"


# -- Converse -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("identifier, version", [("nosuchguardrail", "1"), (PRESET_ID, "7"),
                                                 ("arn:aws:bedrock:us-east-1:123456789012:guardrail/nosuch", "DRAFT")])
def test_an_unknown_guardrail_or_version_is_awss_validation_error(runtime, identifier, version):
    with pytest.raises(ClientError) as exc:
        runtime.converse(modelId=NOVA, messages=user(text("Hello")),
                         guardrailConfig={"guardrailIdentifier": identifier, "guardrailVersion": version})
    error = exc.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"]) == ("ValidationException", NOT_FOUND)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_malformed_guardrail_config_is_refused_by_its_constraints(runtime):
    with pytest.raises(ClientError) as exc:
        runtime.converse(modelId=NOVA, messages=user(text("Hello")),
                         guardrailConfig={"guardrailIdentifier": "Bad_Id", "guardrailVersion": "v1", "trace": "loud"})
    message = exc.value.response["Error"]["Message"]
    assert message.startswith("3 validation errors detected: Value 'Bad_Id' at 'guardrailConfig.guardrailIdentifier'")
    assert "Member must satisfy enum value set: [enabled, disabled, enabled_full]" in message


def test_a_denied_topic_intervenes_with_the_blocked_message_and_no_model_tokens(runtime):
    preset = {"id": PRESET_ID, "version": "1"}
    out = converse_with(runtime, preset, user(text("Can you give me investment advice for 2027?")), trace="disabled")
    assert out["stopReason"] == "guardrail_intervened"
    assert out["output"]["message"]["content"] == [{"text": BLOCKED}]
    assert (out["usage"]["inputTokens"], out["usage"]["outputTokens"]) == (0, 0)
    assert "trace" not in out  # only when asked for
    traced = converse_with(runtime, preset, user(text("Which stocks should I buy?")))
    assessment = traced["trace"]["guardrail"]["inputAssessment"][PRESET_ID]
    assert assessment["topicPolicy"]["topics"] == [{"name": "Investment advice", "type": "DENY", "action": "BLOCKED",
                                                    "detected": True}]
    usage = assessment["invocationMetrics"]["usage"]
    assert (usage["topicPolicyUnits"], usage["wordPolicyUnits"], usage["contentPolicyUnits"]) == (1, 1, 0)
    assert assessment["invocationMetrics"]["guardrailCoverage"]["textCharacters"] == {"guarded": 26, "total": 26}


def test_a_blocked_word_intervenes_and_a_reported_one_does_not(runtime, fruit):
    out = converse_with(runtime, fruit, user(text("I love PINEAPPLE pizza")))
    assert out["stopReason"] == "guardrail_intervened"
    assert out["output"]["message"]["content"][0]["text"] == "No fruit talk."
    words = out["trace"]["guardrail"]["inputAssessment"][fruit["id"]]["wordPolicy"]["customWords"]
    assert words == [{"match": "pineapple", "action": "BLOCKED", "detected": True}]
    reported = converse_with(runtime, fruit, user(text("A mango, please")))
    assert reported["stopReason"] == "end_turn" and "mango" in reported["output"]["message"]["content"][0]["text"]
    detected = reported["trace"]["guardrail"]["inputAssessment"][fruit["id"]]["wordPolicy"]["customWords"]
    assert detected == [{"match": "mango", "action": "NONE", "detected": True}]


def test_clean_input_is_answered_and_traced_on_both_sides(runtime, fruit):
    out = converse_with(runtime, fruit, user(text("echo: all clear")))
    assert (out["stopReason"], out["output"]["message"]["content"][0]["text"]) == ("end_turn", "all clear")
    trace = out["trace"]["guardrail"]
    assert set(trace["inputAssessment"][fruit["id"]]) == {"invocationMetrics"}
    assert set(trace["outputAssessments"][fruit["id"]][0]) == {"invocationMetrics"}


def test_guard_content_limits_what_is_read_and_a_blocked_answer_is_replaced(runtime, fruit):
    # Only the guardContent block is read as input; the answer then says the blocked word.
    messages = user({"guardContent": {"text": {"text": "Please repeat the next line."}}}, text("echo: pineapple"))
    out = converse_with(runtime, fruit, messages)
    assert out["stopReason"] == "guardrail_intervened"
    assert out["output"]["message"]["content"][0]["text"] == "The answer mentioned fruit."
    # The model did answer "pineapple": its tokens (Nova's tokenizer) count.
    assert out["usage"]["outputTokens"] == tokens.count("pineapple", tokens.family_of(NOVA)) > 0
    trace = out["trace"]["guardrail"]
    assert trace["modelOutput"] == ["pineapple"]
    assert trace["outputAssessments"][fruit["id"]][0]["wordPolicy"]["customWords"][0]["match"] == "pineapple"


def test_converse_stream_streams_the_blocked_message_and_traces_it(runtime):
    config = {"guardrailIdentifier": PRESET_ID, "guardrailVersion": "DRAFT", "trace": "enabled"}
    events = list(runtime.converse_stream(modelId=NOVA, messages=user(text("top secret plans")),
                                          guardrailConfig=config)["stream"])
    streamed = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert streamed == BLOCKED
    assert next(e["messageStop"]["stopReason"] for e in events if "messageStop" in e) == "guardrail_intervened"
    words = events[-1]["metadata"]["trace"]["guardrail"]["inputAssessment"][PRESET_ID]["wordPolicy"]["customWords"]
    assert words[0]["match"] == "top secret"


# -- InvokeModel --------------------------------------------------------------------------------------


def _claude(prompt: str) -> str:
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
                       "messages": [{"role": "user", "content": prompt}]})


def test_invoke_model_with_guardrail_headers(runtime):
    out = json.loads(runtime.invoke_model(modelId=HAIKU, body=_claude("Is this confidential?"), trace="ENABLED",
                                          guardrailIdentifier=PRESET_ID, guardrailVersion="1")["body"].read())
    assert out["content"] == [{"type": "text", "text": BLOCKED}]
    assert out["amazon-bedrock-guardrailAction"] == "INTERVENED"
    assert out["amazon-bedrock-trace"]["guardrail"]["inputAssessment"][PRESET_ID]["wordPolicy"]["customWords"][0][
        "match"] == "confidential"
    clean = json.loads(runtime.invoke_model(modelId=HAIKU, body=_claude("echo: fine"), guardrailIdentifier=PRESET_ID,
                                            guardrailVersion="1")["body"].read())
    assert clean["content"][0]["text"] == "fine" and clean["amazon-bedrock-guardrailAction"] == "NONE"
    assert "amazon-bedrock-trace" not in clean
    with pytest.raises(ClientError) as exc:
        runtime.invoke_model(modelId=HAIKU, body=_claude("Hi"), guardrailIdentifier="nosuch", guardrailVersion="1")
    assert exc.value.response["Error"]["Message"] == NOT_FOUND


def test_invoke_model_stream_with_a_guardrail(runtime):
    events = list(runtime.invoke_model_with_response_stream(
        modelId=HAIKU, body=_claude("Which stocks should I buy?"), guardrailIdentifier=PRESET_ID,
        guardrailVersion="DRAFT")["body"])
    chunks = [json.loads(e["chunk"]["bytes"]) for e in events]
    streamed = "".join(c["delta"]["text"] for c in chunks if c["type"] == "content_block_delta")
    assert streamed == BLOCKED and chunks[-1]["amazon-bedrock-guardrailAction"] == "INTERVENED"


# -- the aws CLI --------------------------------------------------------------------------------------


@pytest.mark.skipif(not AWS.exists(), reason="the aws CLI is not installed in this environment")
def test_the_aws_cli_creates_a_guardrail_and_converses_through_it(local_service, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(local_service.env, AWS_CONFIG_FILE=str(tmp_path / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"), AWS_PAGER="")

    def aws(*args: str) -> dict:
        proc = subprocess.run([str(AWS), *args, "--output", "json"], env=env, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    made = aws("bedrock", "create-guardrail", "--name", f"cli-{uuid.uuid4().hex[:8]}",
               "--blocked-input-messaging", "Not here.", "--blocked-outputs-messaging", "Not there.",
               "--word-policy-config", json.dumps({"wordsConfig": [{"text": "kumquat"}]}))
    out = aws("bedrock-runtime", "converse", "--model-id", NOVA,
              "--messages", json.dumps(user(text("One kumquat, please"))),
              "--guardrail-config", json.dumps({"guardrailIdentifier": made["guardrailId"],
                                                "guardrailVersion": "DRAFT"}))
    assert out["stopReason"] == "guardrail_intervened"
    assert out["output"]["message"]["content"][0]["text"] == "Not here."
