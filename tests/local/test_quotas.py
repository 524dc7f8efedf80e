"""Bedrock's per-model quotas in the local service, as boto3 and the openai SDK meet them.

bedrock-runtime: requests and tokens per minute per model, shared by every runtime API, with
``max_tokens`` counted up front and ``ThrottlingException`` (429) over a limit. bedrock-mantle: input
and output tokens per minute, no request quota, and OpenAI-shaped 429s.
"""

from __future__ import annotations

import uuid

import boto3
import botocore.session
import openai
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bedrock_magics.local import credentials as local
from bedrock_magics.local import tokens
from bedrock_magics.local.http import MANTLE, RUNTIME
from bedrock_magics.local.quotas import TOO_MANY_REQUESTS, TOO_MANY_TOKENS, Quotas

NOVA = "amazon.nova-micro-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
OSS_RUNTIME, OSS_MANTLE = "openai.gpt-oss-120b-1:0", "openai.gpt-oss-120b"
HELLO = [{"role": "user", "content": [{"text": "Hello"}]}]
NO_RETRY = Config(retries={"total_max_attempts": 1})


@pytest.fixture
def quotas(local_service):
    """The shared service's quotas, cleared again after the test."""
    local_service.quotas.clear()
    yield local_service.quotas
    local_service.quotas.clear()


@pytest.fixture
def runtime(local_env):
    return boto3.client("bedrock-runtime", config=NO_RETRY)


@pytest.fixture
def mantle(local_env, local_service):
    return openai.OpenAI(base_url=local_service.endpoints["mantle"] + "/v1", api_key=local.API_KEY, max_retries=0)


@pytest.fixture
def runtime_openai(local_env, local_service):
    return openai.OpenAI(base_url=local_service.endpoints["runtime"] + "/openai/v1", api_key=local.API_KEY,
                         max_retries=0)


def throttled(call, *args, **kwargs) -> dict:
    """The ``ThrottlingException`` a boto3 call fails with, checked against botocore's model."""
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    error = exc.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    operation = botocore.session.get_session().get_service_model("bedrock-runtime").operation_model(
        exc.value.operation_name)
    modelled = {e.name: e.metadata["error"]["httpStatusCode"] for e in operation.error_shapes}
    assert modelled["ThrottlingException"] == 429  # the operation models it, with that status
    return error


# -- bedrock-runtime ----------------------------------------------------------------------------------


def test_runtime_requests_per_minute_per_model_shared_by_every_api(quotas, runtime):
    quotas.set(NOVA, rpm=2)
    runtime.converse(modelId=NOVA, messages=HELLO)
    body = '{"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}'
    runtime.invoke_model(modelId=NOVA, body=body)  # the same model's quota, another API
    error = throttled(runtime.converse_stream, modelId=NOVA, messages=HELLO)
    assert error["Error"]["Message"] == TOO_MANY_REQUESTS
    assert runtime.converse(modelId=HAIKU, messages=HELLO)["stopReason"] == "end_turn"  # another model: its own


def test_runtime_tokens_per_minute_count_max_tokens_up_front(quotas, runtime):
    quotas.set(NOVA, tpm=300)
    assert runtime.converse(modelId=NOVA, messages=HELLO, inferenceConfig={"maxTokens": 100})["usage"]
    # A small prompt whose max_tokens would not fit is refused before anything is generated.
    error = throttled(runtime.converse, modelId=NOVA, messages=HELLO, inferenceConfig={"maxTokens": 290})
    assert error["Error"]["Message"] == TOO_MANY_TOKENS
    # Without maxTokens the model's own output limit is reserved, far over 300.
    throttled(runtime.converse, modelId=NOVA, messages=HELLO)


def test_runtime_tokens_are_the_models_own_tokens(quotas, runtime):
    # 20 words that Nova's tokenizer (the responder's per-family counts) makes 80 tokens: a 60-TPM
    # quota refuses them for Nova, which counts its own tokens, not words.
    words = [{"role": "user", "content": [{"text": "internationalization " * 20}]}]
    assert tokens.count(words[0]["content"][0]["text"], tokens.family_of(NOVA)) > 60
    quotas.set(NOVA, tpm=60)
    error = throttled(runtime.converse, modelId=NOVA, messages=words, inferenceConfig={"maxTokens": 5})
    assert error["Error"]["Message"] == TOO_MANY_TOKENS


def test_runtime_tokens_count_what_was_used_not_what_was_reserved(quotas, runtime):
    quotas.set(NOVA, tpm=300)
    echo = [{"role": "user", "content": [{"text": "echo: hi"}]}]
    for _ in range(3):  # each reserves 206 tokens but uses 7: had the reservations stayed, the second would fail
        usage = runtime.converse(modelId=NOVA, messages=echo, inferenceConfig={"maxTokens": 200})["usage"]
        assert (usage["inputTokens"], usage["outputTokens"]) == (6, 1)


def test_runtime_openai_routes_share_the_models_runtime_quota(quotas, runtime_openai, runtime):
    quotas.set(OSS_RUNTIME, rpm=1)
    runtime.converse(modelId=OSS_RUNTIME, messages=HELLO)
    with pytest.raises(openai.RateLimitError) as exc:
        runtime_openai.chat.completions.create(model=OSS_RUNTIME, messages=[{"role": "user", "content": "Hi"}])
    assert exc.value.status_code == 429 and exc.value.code == "rate_limit_exceeded"
    assert exc.value.body["message"] == TOO_MANY_REQUESTS


# -- bedrock-mantle -----------------------------------------------------------------------------------


def test_mantle_has_no_request_quota(quotas, mantle):
    quotas.set(rpm=1, tpm=1)  # runtime limits, for every model: mantle does not know them
    for _ in range(4):
        mantle.chat.completions.create(model=OSS_MANTLE, messages=[{"role": "user", "content": "Hi"}],
                                       max_tokens=50)


def test_mantle_input_tpm_counts_max_tokens_up_front(quotas, mantle, local_service):
    quotas.set(OSS_MANTLE, input_tpm=500)
    mantle.responses.create(model=OSS_MANTLE, input="Hi", max_output_tokens=100)
    with pytest.raises(openai.RateLimitError) as exc:
        mantle.chat.completions.create(model=OSS_MANTLE, messages=[{"role": "user", "content": "Hi"}],
                                       max_tokens=495)  # 4 used + 4 input + 495 > 500
    error = exc.value.body
    assert exc.value.status_code == 429
    assert (error["type"], error["code"]) == ("tokens", "rate_limit_exceeded")
    assert error["message"].startswith(f"Rate limit reached for {OSS_MANTLE} on input tokens per min (TPM): "
                                       "Limit 500, Used ")
    # The runtime's quota of the same model is another one.
    boto3.client("bedrock-runtime", config=NO_RETRY).converse(modelId=OSS_RUNTIME, messages=HELLO,
                                                              inferenceConfig={"maxTokens": 490})


def test_mantle_output_tpm_refuses_once_the_minutes_output_is_used(quotas, mantle):
    quotas.set(OSS_MANTLE, output_tpm=20)
    first = mantle.chat.completions.create(model=OSS_MANTLE, messages=[{"role": "user", "content": "Tell me more"}],
                                           max_tokens=100)
    assert first.usage.completion_tokens >= 20  # the reply used the minute's output
    with pytest.raises(openai.RateLimitError) as exc:
        mantle.responses.create(model=OSS_MANTLE, input="Again")
    assert "on output tokens per min (TPM): Limit 20" in exc.value.body["message"]


# -- the windows ----------------------------------------------------------------------------------------


def test_quota_windows_slide_over_one_minute():
    now = [1000.0]
    quotas = Quotas(clock=lambda: now[0], rpm=1)
    entry = {"modelId": NOVA}
    quotas.admit(RUNTIME, "us-east-1", entry, NOVA, 5, 10, 5)
    with pytest.raises(Exception) as exc:
        quotas.admit(RUNTIME, "us-east-1", entry, NOVA, 5, 10, 5)
    assert exc.value.code == "ThrottlingException"
    quotas.admit(RUNTIME, "us-west-2", entry, NOVA, 5, 10, 5)  # per region
    quotas.admit(MANTLE, "us-east-1", entry, NOVA, 5, 10, 5)  # mantle: no request quota
    now[0] += 60
    quotas.admit(RUNTIME, "us-east-1", entry, NOVA, 5, 10, 5)  # a minute later the request has left


def test_quota_limits_must_be_positive(quotas):
    with pytest.raises(ValueError, match="rpm must be a positive integer"):
        quotas.set(rpm=0)
    with pytest.raises(ValueError, match="input_tpm"):
        Quotas(input_tpm=-3)


def test_a_quota_set_for_an_inference_profile_counts_apart_from_the_models_own(quotas, runtime):
    profile = "us." + NOVA
    quotas.set(profile, rpm=1)
    runtime.converse(modelId=profile, messages=HELLO)
    throttled(runtime.converse, modelId=profile, messages=HELLO)
    for _ in range(3):  # the bare model id: on-demand, not limited
        runtime.converse(modelId=NOVA, messages=HELLO)


def test_a_throttled_call_writes_nothing_to_the_prompt_cache(quotas, runtime):
    """AWS caches the prompt of a call it answers; a 429 leaves the cache as it was, so the retry
    writes the prefix (and pays the write rate) instead of reading it."""
    claude = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    context = f"ctx{uuid.uuid4().hex[:6]} " + " ".join(["tide"] * 1500)
    system = [{"text": context}, {"cachePoint": {"type": "default"}}]
    quotas.set(claude, rpm=1)
    runtime.converse(modelId=claude, messages=HELLO)  # the minute's one request
    throttled(runtime.converse, modelId=claude, system=system, messages=HELLO)
    quotas.clear()
    usage = runtime.converse(modelId=claude, system=system, messages=HELLO)["usage"]
    prefix = tokens.count(context, "claude")
    assert (usage["cacheWriteInputTokens"], usage.get("cacheReadInputTokens", 0)) == (prefix, 0)
    again = runtime.converse(modelId=claude, system=system, messages=HELLO)["usage"]
    assert (again["cacheReadInputTokens"], again.get("cacheWriteInputTokens", 0)) == (prefix, 0)
