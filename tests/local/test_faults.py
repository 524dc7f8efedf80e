"""Injected faults of the local Bedrock service, as real clients experience them."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bedrock_magics.local import credentials as local
from bedrock_magics.local import tokens

ONE_TRY = Config(retries={"total_max_attempts": 1})
MESSAGES = [{"role": "user", "content": [{"text": "echo: fault test"}]}]


@pytest.fixture
def control(local_env):
    return boto3.client("bedrock", config=ONE_TRY)


@pytest.fixture
def runtime(local_env):
    return boto3.client("bedrock-runtime", config=ONE_TRY)


def code_of(call) -> str | None:
    """The AWS error code a call fails with, or None when it succeeds."""
    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return None


def test_latency_delays_each_request(local_service, runtime):
    local_service.faults.set(latency_ms=150)
    # Converse reports its latency counted from the request's arrival, before the injected wait:
    # every request, not just the first, must have been held at least 150 ms.
    for _ in range(2):
        assert runtime.converse(modelId="amazon.nova-lite-v1:0", messages=MESSAGES)["metrics"]["latencyMs"] >= 150


def test_throttle_rpm_gives_throttling_exception(local_service, control):
    local_service.faults.set(throttle_rpm=2)
    control.list_foundation_models()
    control.list_foundation_models()
    with pytest.raises(ClientError) as err:
        control.list_foundation_models()
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert err.value.response["Error"]["Message"] == "Too many requests, please wait before trying again."
    assert "retry-after" not in err.value.response["ResponseMetadata"]["HTTPHeaders"]


def test_boto3_retries_throttling_then_gives_up(local_service, local_env):
    local_service.faults.set(throttle_rpm=1)
    client = boto3.client("bedrock", config=Config(retries={"mode": "standard", "total_max_attempts": 2}))
    client.list_foundation_models()
    local_service.app.reset_counters()
    with pytest.raises(ClientError) as err:
        client.list_foundation_models()
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
    assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert local_service.app.requests_total == 2  # the service saw the retry


def test_per_model_throttle_leaves_other_models_alone(local_service, runtime):
    # Set on the model id; a call through its inference profile counts against it too.
    local_service.faults.set(model="amazon.nova-lite-v1:0", throttle_rpm=1)
    runtime.converse(modelId="us.amazon.nova-lite-v1:0", messages=MESSAGES)
    assert code_of(lambda: runtime.converse(modelId="amazon.nova-lite-v1:0", messages=MESSAGES)) == \
        "ThrottlingException"
    for _ in range(3):
        runtime.converse(modelId="amazon.nova-pro-v1:0", messages=MESSAGES)


def test_throttle_tpm_counts_tokens(local_service, runtime):
    local_service.faults.set(throttle_tpm=50)
    long = [{"role": "user", "content": [{"text": "word " * 40}]}]
    runtime.converse(modelId="amazon.nova-micro-v1:0", messages=long)
    with pytest.raises(ClientError) as err:
        runtime.converse(modelId="amazon.nova-micro-v1:0", messages=long)
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
    assert err.value.response["Error"]["Message"] == "Too many tokens, please wait before trying again."


def test_throttle_tpm_counts_the_models_own_tokens(local_service, runtime):
    # 20 words, but 80 tokens to Nova's tokenizer (the responder's per-family counts): over a 50 TPM
    # limit on the first call, as the quota of a model counts that model's tokens.
    long_words = [{"role": "user", "content": [{"text": "internationalization " * 20}]}]
    assert tokens.count(long_words[0]["content"][0]["text"], tokens.family_of("amazon.nova-micro-v1:0")) > 50
    local_service.faults.set(throttle_tpm=50)
    with pytest.raises(ClientError) as err:
        runtime.converse(modelId="amazon.nova-micro-v1:0", messages=long_words)
    assert err.value.response["Error"]["Code"] == "ThrottlingException"


def test_error_rate_one_fails_every_call(local_service, control):
    local_service.faults.set(error_rate=1.0)
    with pytest.raises(ClientError) as err:
        control.list_foundation_models()
    assert err.value.response["Error"]["Code"] == "ServiceUnavailableException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert "local Bedrock service" in err.value.response["Error"]["Message"]


def test_error_code_is_configurable_per_model(local_service, runtime):
    local_service.faults.set(model="amazon.nova-pro-v1:0", error_rate=1.0, error_code="ModelTimeoutException")
    with pytest.raises(ClientError) as err:
        runtime.converse(modelId="amazon.nova-pro-v1:0", messages=MESSAGES)
    assert err.value.response["Error"]["Code"] == "ModelTimeoutException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 408
    runtime.converse(modelId="amazon.nova-lite-v1:0", messages=MESSAGES)


def test_seeded_error_rate_is_deterministic(local_service, control):
    def outcomes() -> list[str | None]:
        local_service.faults.set(error_rate=0.5, seed=1234)
        return [code_of(control.list_foundation_models) for _ in range(12)]

    first, second = outcomes(), outcomes()
    assert first == second
    assert None in first and "ServiceUnavailableException" in first


def test_cut_stream_breaks_the_connection_mid_stream(local_service, runtime):
    local_service.faults.set(cut_stream_after=2)
    stream = runtime.converse_stream(modelId="amazon.nova-lite-v1:0",
                                     messages=[{"role": "user", "content": [{"text": "tell me a story"}]}])["stream"]
    events = []
    with pytest.raises(Exception) as err:
        for event in stream:
            events.append(event)
    assert len(events) == 2
    assert "IncompleteRead" in repr(err.value) or "Connection broken" in str(err.value)
    local_service.faults.clear()
    full = runtime.converse_stream(modelId="amazon.nova-lite-v1:0", messages=MESSAGES)["stream"]
    assert "messageStop" in {key for event in full for key in event}


def test_throttle_on_openai_route_is_rate_limit_error(local_service, local_env):
    import openai
    from openai.providers import bedrock

    local_service.faults.set(throttle_rpm=1)
    client = openai.OpenAI(provider=bedrock(endpoint="mantle", region="us-east-1",
                                            base_url=local_service.endpoints["mantle"] + "/v1",
                                            api_key=local.API_KEY), max_retries=0)
    ask = lambda: client.chat.completions.create(model="openai.gpt-oss-20b",  # noqa: E731
                                                 messages=[{"role": "user", "content": "echo: ok"}])
    assert ask().choices[0].message.content == "ok"
    with pytest.raises(openai.RateLimitError) as err:
        ask()
    assert err.value.status_code == 429 and err.value.code == "rate_limit_exceeded"


def test_clear_restores_the_start_settings(local_service, control):
    local_service.faults.set(error_rate=1.0, latency_ms=5)
    local_service.faults.set(model="amazon.nova-pro-v1:0", throttle_rpm=1)
    local_service.faults.clear()
    assert local_service.faults.settings("amazon.nova-pro-v1:0").throttle_rpm is None
    control.list_foundation_models()


def test_invalid_settings_are_refused(local_service):
    with pytest.raises(ValueError):
        local_service.faults.set(error_rate=1.5)
    with pytest.raises(ValueError):
        local_service.faults.set(latency_ms=-1)
