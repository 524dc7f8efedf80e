"""Bedrock runtime's native APIs on the local service, driven by real boto3 over HTTPS.

Converse, ConverseStream, InvokeModel for every model family, InvokeModelWithResponseStream and
CountTokens; model ids, profile ids and ARNs (with ``:`` and ``/``); and the error paths with the
messages real Bedrock sends.
"""

from __future__ import annotations

import json
import re

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bedrock_magics.local import credentials as local
from bedrock_magics.local import tokens
from bedrock_magics.local.runtime import invoke_for_batch

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"  # on-demand, supports CountTokens
HAIKU_PROFILE = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-lite-v1:0"
WEATHER_TOOL = {"toolSpec": {"name": "get_weather", "description": "Current weather for a city",
                             "inputSchema": {"json": {"type": "object", "required": ["city"], "properties": {
                                 "city": {"type": "string"}, "days": {"type": "integer"}}}}}}


def msg(text: str, role: str = "user") -> dict:
    return {"role": role, "content": [{"text": text}]}


@pytest.fixture
def rt(local_env):
    """bedrock-runtime as a user gets it from the local service's environment (API key, HTTPS)."""
    return boto3.client("bedrock-runtime", region_name="us-east-1")


@pytest.fixture
def rt_sigv4_west(local_env):
    """bedrock-runtime in us-west-2 signing with SigV4 instead of the API key."""
    return boto3.client("bedrock-runtime", region_name="us-west-2", config=Config(signature_version="v4"))


def error_of(excinfo) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def invoke(rt, model_id: str, body: dict, **kwargs) -> tuple[dict, dict]:
    """(decoded body, Bedrock headers) of one InvokeModel call."""
    r = rt.invoke_model(modelId=model_id, body=json.dumps(body), **kwargs)
    assert r["contentType"] == "application/json"
    headers = {k: v for k, v in r["ResponseMetadata"]["HTTPHeaders"].items() if k.startswith("x-amzn-bedrock")}
    return json.loads(r["body"].read()), headers


def stream_chunks(rt, model_id: str, body: dict) -> list[dict]:
    r = rt.invoke_model_with_response_stream(modelId=model_id, body=json.dumps(body))
    assert r["contentType"] == "application/json"
    return [json.loads(event["chunk"]["bytes"]) for event in r["body"]]


# -- Converse ----------------------------------------------------------------------------------------

def test_converse_answers_with_usage_and_metrics(rt):
    r = rt.converse(modelId=HAIKU_PROFILE, messages=[msg("Hello there")], system=[{"text": "Be kind."}])
    text = r["output"]["message"]["content"][0]["text"]
    assert r["output"]["message"]["role"] == "assistant"
    assert text.startswith('Local Bedrock reply from anthropic.claude-haiku-4-5-20251001-v1:0: You said: "Hello there".')
    assert r["stopReason"] == "end_turn"
    usage = r["usage"]
    assert usage["inputTokens"] == tokens.count("Be kind.", "claude") + 3 + tokens.count("Hello there", "claude")
    assert usage["outputTokens"] == tokens.count(text, "claude")
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert usage["cacheReadInputTokens"] == usage["cacheWriteInputTokens"] == 0
    assert isinstance(r["metrics"]["latencyMs"], int)
    assert re.fullmatch(r"[0-9a-f-]{36}", r["ResponseMetadata"]["RequestId"])


@pytest.mark.parametrize("model_id", [
    f"arn:aws:bedrock:us-east-1:{local.ACCOUNT_ID}:inference-profile/{HAIKU_PROFILE}",
    f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA}",
    NOVA,
])
def test_converse_accepts_ids_and_arns_with_colons_and_slashes(rt, model_id):
    r = rt.converse(modelId=model_id, messages=[msg("echo: routed")])
    assert r["output"]["message"]["content"] == [{"text": "routed"}]


def test_converse_with_sigv4_in_another_region(rt_sigv4_west):
    arn = f"arn:aws:bedrock:us-west-2:{local.ACCOUNT_ID}:inference-profile/{HAIKU_PROFILE}"
    r = rt_sigv4_west.converse(modelId=arn, messages=[msg("echo: from Oregon")])
    assert r["output"]["message"]["content"][0]["text"] == "from Oregon"


def test_converse_multi_turn_is_deterministic(rt):
    convo = [msg("Name a river"), msg("The Nile.", "assistant"), msg("Another one?")]
    a = rt.converse(modelId=NOVA, messages=convo)
    b = rt.converse(modelId=NOVA, messages=convo)
    assert a["output"] == b["output"]
    assert 'You said: "Another one?"' in a["output"]["message"]["content"][0]["text"]
    assert a["usage"]["inputTokens"] == 3 * 3 + tokens.count("Name a river The Nile. Another one?", "nova")


def test_converse_max_tokens_and_stop_sequences(rt):
    r = rt.converse(modelId=NOVA, messages=[msg("Write a long answer")], inferenceConfig={"maxTokens": 5})
    assert r["stopReason"] == "max_tokens" and r["usage"]["outputTokens"] == 5
    assert r["output"]["message"]["content"][0]["text"] == "Local Bedrock reply from"  # "Bedro" "ck": 5 Nova tokens
    r = rt.converse(modelId=NOVA, messages=[msg("echo: alpha beta STOP gamma")],
                    inferenceConfig={"stopSequences": ["STOP"], "temperature": 0.2, "topP": 0.9})
    assert r["stopReason"] == "stop_sequence"
    assert r["output"]["message"]["content"][0]["text"] == "alpha beta "


def test_converse_tool_use_round_trip(rt):
    tools = {"tools": [WEATHER_TOOL]}
    first = [msg("Please call get_weather with city=Paris days=2")]
    r = rt.converse(modelId=CLAUDE, messages=first, toolConfig=tools)
    assert r["stopReason"] == "tool_use"
    (block,) = r["output"]["message"]["content"]
    use = block["toolUse"]
    assert use["name"] == "get_weather" and use["input"] == {"city": "Paris", "days": 2}
    assert use["toolUseId"].startswith("tooluse_")
    convo = first + [r["output"]["message"], {"role": "user", "content": [{"toolResult": {
        "toolUseId": use["toolUseId"], "content": [{"json": {"temp_c": 18}}]}}]}]
    r = rt.converse(modelId=CLAUDE, messages=convo, toolConfig=tools)
    assert r["stopReason"] == "end_turn"
    assert r["output"]["message"]["content"][0]["text"] == (
        f'Local Bedrock reply from {CLAUDE}: the tool get_weather returned {{"temp_c": 18}}.')


def test_converse_forced_tool_choice(rt):
    r = rt.converse(modelId=CLAUDE, messages=[msg("What's it like outside?")],
                    toolConfig={"tools": [WEATHER_TOOL], "toolChoice": {"tool": {"name": "get_weather"}}})
    assert r["stopReason"] == "tool_use"
    assert r["output"]["message"]["content"][0]["toolUse"]["input"] == {"city": ""}  # required, not given: ""


@pytest.mark.parametrize("kwargs, message", [
    ({"inferenceConfig": {"temperature": 1.5}},
     "1 validation error detected: Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: "
     "Member must have value less than or equal to 1"),
    ({"inferenceConfig": {"temperature": 2, "topP": 1.2}},
     "2 validation errors detected: Value '2' at 'inferenceConfig.temperature' failed to satisfy constraint: "
     "Member must have value less than or equal to 1; Value '1.2' at 'inferenceConfig.topP' failed to satisfy "
     "constraint: Member must have value less than or equal to 1"),
    ({"inferenceConfig": {"maxTokens": 20000}},
     "The maximum tokens you requested exceeds the model limit of 10000. Try again with a maximum tokens value "
     "that is lower than 10000."),
    ({"messages": [msg("Hi", "assistant")]},
     "A conversation must start with a user message. Try again with a conversation that starts with a user message."),
    ({"messages": [msg("Hi"), msg("Again")]},
     "A conversation must alternate between user and assistant roles. Make sure the conversation alternates "
     "between user and assistant roles and try again."),
    ({"messages": [msg("  ")]},
     "The text field in the ContentBlock object at messages.0.content.0 is blank. Add text to the text field, "
     "and try again."),
    ({"messages": [{"role": "user", "content": []}]},
     "The content field in the Message object at messages.0 is empty. Add a ContentBlock object to the content "
     "field and try again."),
    ({"messages": [msg("Hi"), {"role": "assistant", "content": [
        {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}}]}]},
     "The toolConfig field must be defined when using toolUse and toolResult content blocks."),
])
def test_converse_validation_errors(rt, kwargs, message):
    kwargs.setdefault("messages", [msg("Hello")])
    with pytest.raises(ClientError) as excinfo:
        rt.converse(modelId=NOVA, **kwargs)
    assert error_of(excinfo) == ("ValidationException", message)
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("model_id, limit", [
    (NOVA, 10000),  # the Nova family's limit
    ("us.amazon.nova-premier-v1:0", 25000),  # Nova models with limits of their own
    ("us.amazon.nova-2-lite-v1:0", 65535),
    (CLAUDE, 4096),  # Claude 3 Haiku: below the Anthropic family's 64000
    ("global.anthropic.claude-opus-4-6-v1", 128000),  # above it
    ("us.anthropic.claude-opus-4-1-20250805-v1:0", 32000),
    ("amazon.titan-text-premier-v1:0", 3072),
    ("mistral.mixtral-8x7b-instruct-v0:1", 4096),
    ("ai21.jamba-1-5-mini-v1:0", 4096),
])
def test_converse_max_tokens_limit_is_the_models(rt, model_id, limit):
    at_limit = rt.converse(modelId=model_id, messages=[msg("echo: fits")], inferenceConfig={"maxTokens": limit})
    assert at_limit["output"]["message"]["content"] == [{"text": "fits"}]
    with pytest.raises(ClientError) as excinfo:
        rt.converse(modelId=model_id, messages=[msg("echo: too long")], inferenceConfig={"maxTokens": limit + 1})
    assert error_of(excinfo) == ("ValidationException", f"The maximum tokens you requested exceeds the model limit "
                                                        f"of {limit}. Try again with a maximum tokens value that is "
                                                        f"lower than {limit}.")


@pytest.mark.parametrize("model_id, message", [
    ("amazon.titan-embed-text-v2:0",
     "This action doesn't support the model that you provided. Try again with a supported text or chat model."),
    ("amazon.nova-canvas-v1:0",
     "This action doesn't support the model that you provided. Try again with a supported text or chat model."),
    ("acme.no-such-model-v1:0", "The provided model identifier is invalid."),
    ("anthropic.claude-haiku-4-5-20251001-v1:0",
     "Invocation of model ID anthropic.claude-haiku-4-5-20251001-v1:0 with on-demand throughput isn't supported. "
     "Retry your request with the ID or ARN of an inference profile that contains this model."),
])
def test_converse_rejects_models_it_cannot_call(rt, model_id, message):
    for call in (rt.converse, rt.converse_stream):
        with pytest.raises(ClientError) as excinfo:
            call(modelId=model_id, messages=[msg("Hello")])
        assert error_of(excinfo) == ("ValidationException", message)


# -- ConverseStream ----------------------------------------------------------------------------------

def test_converse_stream_events_match_converse(rt):
    kwargs = {"modelId": HAIKU_PROFILE, "messages": [msg("Stream me a reply")]}
    expected = rt.converse(**kwargs)
    events = list(rt.converse_stream(**kwargs)["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    deltas = [e["contentBlockDelta"] for e in events if "contentBlockDelta" in e]
    assert len(deltas) > 3 and {d["contentBlockIndex"] for d in deltas} == {0}
    assert "".join(d["delta"]["text"] for d in deltas) == expected["output"]["message"]["content"][0]["text"]
    assert events[0]["messageStart"] == {"role": "assistant"}
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    meta = events[-1]["metadata"]
    assert meta["usage"] == expected["usage"] and isinstance(meta["metrics"]["latencyMs"], int)


def test_converse_stream_tool_use(rt):
    events = list(rt.converse_stream(modelId=CLAUDE, messages=[msg("get_weather city=Rome")],
                                     toolConfig={"tools": [WEATHER_TOOL]})["stream"])
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"]["name"] == "get_weather" and start["contentBlockIndex"] == 0
    fragments = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e]
    assert len(fragments) > 1
    assert json.loads("".join(fragments)) == {"city": "Rome"}
    assert next(e["messageStop"] for e in events if "messageStop" in e)["stopReason"] == "tool_use"


def test_converse_stream_validation_error_is_a_plain_http_error(rt):
    with pytest.raises(ClientError) as excinfo:
        rt.converse_stream(modelId=NOVA, messages=[msg("Hi")], inferenceConfig={"topP": 3})
    assert error_of(excinfo)[0] == "ValidationException"


# -- InvokeModel, one test per family ----------------------------------------------------------------

def check_usage_headers(headers: dict, n_in: int, n_out: int) -> None:
    assert headers["x-amzn-bedrock-input-token-count"] == str(n_in)
    assert headers["x-amzn-bedrock-output-token-count"] == str(n_out)
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0


def test_invoke_anthropic_messages(rt):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "system": "Be brief.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello"}]}]}
    out, headers = invoke(rt, CLAUDE, body)
    assert out["id"].startswith("msg_bdrk_") and out["type"] == "message" and out["role"] == "assistant"
    assert out["model"] == "claude-3-haiku-20240307"
    assert out["content"][0]["type"] == "text"
    assert out["content"][0]["text"].startswith(f'Local Bedrock reply from {CLAUDE}: You said: "Hello".')
    assert out["stop_reason"] == "end_turn" and out["stop_sequence"] is None
    check_usage_headers(headers, out["usage"]["input_tokens"], out["usage"]["output_tokens"])


def test_invoke_anthropic_tool_use_and_stop_sequence(rt):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
            "tools": [{"name": "get_weather", "description": "w", "input_schema": {
                "type": "object", "properties": {"city": {"type": "string"}}}}],
            "messages": [{"role": "user", "content": "get_weather city=Lima"}]}
    out, _ = invoke(rt, CLAUDE, body)
    assert out["stop_reason"] == "tool_use"
    assert out["content"][0]["type"] == "tool_use" and out["content"][0]["id"].startswith("toolu_bdrk_")
    assert out["content"][0]["input"] == {"city": "Lima"}
    out, _ = invoke(rt, CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                                 "stop_sequences": ["three"], "messages": [{"role": "user", "content": "echo: one two three"}]})
    assert (out["content"][0]["text"], out["stop_reason"], out["stop_sequence"]) == ("one two ", "stop_sequence", "three")


def test_invoke_nova(rt):
    body = {"schemaVersion": "messages-v1", "system": [{"text": "Be brief."}], "messages": [msg("Hello")],
            "inferenceConfig": {"maxTokens": 4, "temperature": 0.5}}
    out, headers = invoke(rt, NOVA, body)
    assert out["output"]["message"]["content"] == [{"text": "Local Bedrock reply"}]  # 4 Nova tokens: "Bedr" "ock"
    assert out["stopReason"] == "max_tokens"
    assert out["usage"]["outputTokens"] == 4
    assert out["usage"]["totalTokens"] == out["usage"]["inputTokens"] + 4
    check_usage_headers(headers, out["usage"]["inputTokens"], 4)


def test_invoke_titan_text(rt):
    out, headers = invoke(rt, "amazon.titan-text-express-v1",
                          {"inputText": "echo: Titan speaks", "textGenerationConfig": {"maxTokenCount": 50}})
    (result,) = out["results"]
    n_out = tokens.count("Titan speaks", "titan")
    assert n_out == 4  # "Tita" "n" "spea" "ks"
    assert result == {"tokenCount": n_out, "outputText": "Titan speaks", "completionReason": "FINISH"}
    assert out["inputTextTokenCount"] == 3 + tokens.count("echo: Titan speaks", "titan")
    check_usage_headers(headers, out["inputTextTokenCount"], n_out)


def test_invoke_llama_reads_the_chat_template(rt):
    prompt = ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nHello llama<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n")
    out, headers = invoke(rt, "us.meta.llama3-1-8b-instruct-v1:0", {"prompt": prompt, "max_gen_len": 512})
    assert out["generation"].startswith('Local Bedrock reply from meta.llama3-1-8b-instruct-v1:0: You said: "Hello llama".')
    assert out["stop_reason"] == "stop"
    # The same conversation through Converse costs the same input tokens.
    conv = rt.converse(modelId="us.meta.llama3-1-8b-instruct-v1:0", messages=[msg("Hello llama")],
                       system=[{"text": "Be brief."}])
    assert out["prompt_token_count"] == conv["usage"]["inputTokens"]
    assert out["generation"] == conv["output"]["message"]["content"][0]["text"]
    check_usage_headers(headers, out["prompt_token_count"], out["generation_token_count"])


def test_invoke_mistral_text_completion(rt):
    out, headers = invoke(rt, "mistral.mistral-7b-instruct-v0:2",
                          {"prompt": "<s>[INST] echo: bonjour [/INST]", "max_tokens": 3})  # "bon" "jou" "r"
    assert out == {"outputs": [{"text": "bonjour", "stop_reason": "stop"}]}
    out, _ = invoke(rt, "mistral.mistral-7b-instruct-v0:2", {"prompt": "<s>[INST] Hello [/INST]", "max_tokens": 3})
    assert out["outputs"][0]["stop_reason"] == "length"


def test_invoke_deepseek_r1_text_completion(rt):
    """DeepSeek-R1's body as AWS documents it (model-parameters-deepseek.html): prompt in, choices[].text out."""
    prompt = "<｜begin▁of▁sentence｜><｜User｜>echo: bonjour<｜Assistant｜><think>\n"
    out, headers = invoke(rt, "us.deepseek.r1-v1:0", {"prompt": prompt, "max_tokens": 3, "temperature": 0.5,
                                                      "top_p": 0.9, "stop": ["###"]})
    assert out == {"choices": [{"text": "bonjour", "stop_reason": "stop"}]}
    conv = rt.converse(modelId="us.deepseek.r1-v1:0", messages=[msg("echo: bonjour")])
    check_usage_headers(headers, conv["usage"]["inputTokens"], conv["usage"]["outputTokens"])
    with pytest.raises(ClientError) as excinfo:  # a chat body is not DeepSeek-R1's
        rt.invoke_model(modelId="us.deepseek.r1-v1:0", body=json.dumps({"messages": [{"role": "user",
                                                                                       "content": "Hi"}]}))
    assert error_of(excinfo)[1].startswith("Malformed input request: #: required key [prompt] not found")


def test_invoke_mistral_chat(rt_sigv4_west):
    out, headers = invoke(rt_sigv4_west, "mistral.mistral-large-2407-v1:0",
                          {"messages": [{"role": "user", "content": "echo: ciao"}], "max_tokens": 20})
    choice = out["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "ciao", "refusal": None, "tool_calls": None}
    assert choice["stop_reason"] == "stop"
    check_usage_headers(headers, out["usage"]["prompt_tokens"], tokens.count("ciao", "mistral"))


def test_invoke_cohere_command_r(rt):
    body = {"message": "echo: hola", "preamble": "Be brief.",
            "chat_history": [{"role": "USER", "message": "Hi"}, {"role": "CHATBOT", "message": "Hello!"}]}
    out, headers = invoke(rt, "cohere.command-r-v1:0", body)
    assert out["text"] == "hola" and out["finish_reason"] == "COMPLETE"
    assert out["chat_history"][-2:] == [{"role": "USER", "message": "echo: hola"}, {"role": "CHATBOT", "message": "hola"}]
    assert out["meta"]["billed_units"] == {"input_tokens": int(headers["x-amzn-bedrock-input-token-count"]),
                                           "output_tokens": 1}
    tool = {"name": "get_weather", "description": "w",
            "parameter_definitions": {"city": {"type": "str", "description": "City", "required": True}}}
    out, _ = invoke(rt, "cohere.command-r-v1:0", {"message": "get_weather city=Oslo", "tools": [tool]})
    assert out["tool_calls"] == [{"name": "get_weather", "parameters": {"city": "Oslo"}}]
    out, _ = invoke(rt, "cohere.command-r-v1:0", {"message": "get_weather city=Oslo", "tools": [tool], "tool_results": [
        {"call": {"name": "get_weather", "parameters": {"city": "Oslo"}}, "outputs": [{"temp": -2}]}]})
    assert out["text"] == 'Local Bedrock reply from cohere.command-r-v1:0: the tool get_weather returned {"temp": -2}.'


def test_invoke_gpt_oss_openai_body(rt):
    body = {"messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
            "max_completion_tokens": 200}
    out, headers = invoke(rt, "openai.gpt-oss-20b-1:0", body)
    assert out["object"] == "chat.completion" and out["id"].startswith("chatcmpl-")
    assert out["choices"][0]["finish_reason"] == "stop"
    assert out["choices"][0]["message"]["content"].startswith("Local Bedrock reply from openai.gpt-oss-20b-1:0")
    check_usage_headers(headers, out["usage"]["prompt_tokens"], out["usage"]["completion_tokens"])


def test_invoke_titan_embeddings_v2(rt):
    out, headers = invoke(rt, "amazon.titan-embed-text-v2:0", {"inputText": "hello world", "dimensions": 256,
                                                               "embeddingTypes": ["float", "binary"]})
    assert len(out["embedding"]) == 256
    assert abs(sum(v * v for v in out["embedding"]) - 1) < 1e-3
    assert out["embeddingsByType"]["float"] == out["embedding"]
    assert out["embeddingsByType"]["binary"] == [1 if v > 0 else 0 for v in out["embedding"]]
    assert out["inputTextTokenCount"] == tokens.count("hello world", "titan") == 4
    check_usage_headers(headers, 4, 0)
    again, _ = invoke(rt, "amazon.titan-embed-text-v2:0", {"inputText": "hello world", "dimensions": 256})
    assert again["embedding"] == out["embedding"]
    raw, _ = invoke(rt, "amazon.titan-embed-text-v2:0", {"inputText": "hello world", "normalize": False})
    assert len(raw["embedding"]) == 1024 and abs(sum(v * v for v in raw["embedding"]) - 1) > 1e-2


def test_invoke_titan_embeddings_v1(rt):
    out, _ = invoke(rt, "amazon.titan-embed-text-v1", {"inputText": "hello"})
    assert set(out) == {"embedding", "inputTextTokenCount"} and len(out["embedding"]) == 1536


def test_invoke_cohere_embed(rt):
    out, headers = invoke(rt, "cohere.embed-english-v3", {"texts": ["hello", "big world"], "input_type": "search_document"})
    assert out["response_type"] == "embeddings_floats" and out["texts"] == ["hello", "big world"]
    assert [len(v) for v in out["embeddings"]] == [1024, 1024]
    check_usage_headers(headers, 3, 0)
    typed, _ = invoke(rt, "cohere.embed-english-v3", {"texts": ["hello"], "input_type": "search_query",
                                                       "embedding_types": ["float", "int8", "ubinary"]})
    assert typed["response_type"] == "embeddings_by_type"
    assert typed["embeddings"]["float"][0] == out["embeddings"][0]
    assert all(-128 <= v <= 127 for v in typed["embeddings"]["int8"][0])
    assert len(typed["embeddings"]["ubinary"][0]) == 1024 // 8


def test_invoke_image_model(rt):
    import base64
    out, _ = invoke(rt, "amazon.nova-canvas-v1:0", {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a cat"},
                                                    "imageGenerationConfig": {"numberOfImages": 2}})
    assert len(out["images"]) == 2
    assert base64.b64decode(out["images"][0]).startswith(b"\x89PNG")


@pytest.mark.parametrize("model_id, body, message", [
    (CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "Hi"}]},
     "Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again."),
    (CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "stream": True,
              "messages": [{"role": "user", "content": "Hi"}]},
     "Malformed input request: #: extraneous key [stream] is not permitted, please reformat your input and try again."),
    (CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "temperature": 1.5,
              "messages": [{"role": "user", "content": "Hi"}]},
     "Malformed input request: #/temperature: 1.5 is not less or equal to 1, please reformat your input and try again."),
    (HAIKU_PROFILE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100000,
                     "messages": [{"role": "user", "content": "Hi"}]},
     "The maximum tokens you requested exceeds the model limit of 64000. Try again with a maximum tokens value "
     "that is lower than 64000."),
    (CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5000,
              "messages": [{"role": "user", "content": "Hi"}]},
     "The maximum tokens you requested exceeds the model limit of 4096. Try again with a maximum tokens value "
     "that is lower than 4096."),
    ("amazon.titan-text-premier-v1:0", {"inputText": "x", "textGenerationConfig": {"maxTokenCount": 3073}},
     "The maximum tokens you requested exceeds the model limit of 3072. Try again with a maximum tokens value "
     "that is lower than 3072."),
    ("amazon.titan-embed-text-v2:0", {"inputText": "x", "dimensions": 100},
     "Malformed input request: #/dimensions: 100 is not a valid enum value, please reformat your input and try again."),
    ("amazon.titan-text-express-v1", {"prompt": "x"},
     "Malformed input request: #: required key [inputText] not found#: extraneous key [prompt] is not permitted, "
     "please reformat your input and try again."),
    ("cohere.embed-english-v3", {"texts": ["a"]},
     "Malformed input request: #: required key [input_type] not found, please reformat your input and try again."),
    ("us.meta.llama3-1-8b-instruct-v1:0", {"prompt": 42},
     "Malformed input request: #/prompt: expected type: String, found: Integer, please reformat your input and try again."),
])
def test_invoke_malformed_bodies(rt, model_id, body, message):
    with pytest.raises(ClientError) as excinfo:
        rt.invoke_model(modelId=model_id, body=json.dumps(body))
    assert error_of(excinfo) == ("ValidationException", message)


def test_invoke_body_that_is_not_json(rt):
    with pytest.raises(ClientError) as excinfo:
        rt.invoke_model(modelId=CLAUDE, body=b"not json")
    code, message = error_of(excinfo)
    assert code == "ValidationException" and message.startswith("Malformed input request: ")


# -- InvokeModelWithResponseStream -------------------------------------------------------------------

STREAM_CASES = [
    (CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 300,
              "messages": [{"role": "user", "content": "Hello stream"}]},
     lambda cs: "".join(c["delta"]["text"] for c in cs if c["type"] == "content_block_delta")),
    (NOVA, {"messages": [msg("Hello stream")]},
     lambda cs: "".join(c["contentBlockDelta"]["delta"]["text"] for c in cs if "contentBlockDelta" in c)),
    ("amazon.titan-text-express-v1", {"inputText": "Hello stream"}, lambda cs: "".join(c["outputText"] for c in cs)),
    ("us.meta.llama3-1-8b-instruct-v1:0", {"prompt": "Hello stream"}, lambda cs: "".join(c["generation"] for c in cs)),
    ("mistral.mistral-7b-instruct-v0:2", {"prompt": "[INST] Hello stream [/INST]"},
     lambda cs: "".join(c["outputs"][0]["text"] for c in cs)),
    ("us.deepseek.r1-v1:0", {"prompt": "<｜User｜>Hello stream<｜Assistant｜>"},
     lambda cs: "".join(c["choices"][0]["text"] for c in cs)),
    ("us.mistral.pixtral-large-2502-v1:0", {"messages": [{"role": "user", "content": "Hello stream"}]},
     lambda cs: "".join(c["choices"][0]["delta"].get("content") or "" for c in cs)),
    ("cohere.command-r-v1:0", {"message": "Hello stream"},
     lambda cs: "".join(c.get("text", "") for c in cs if c["event_type"] == "text-generation")),
    ("openai.gpt-oss-20b-1:0", {"messages": [{"role": "user", "content": "Hello stream"}]},
     lambda cs: "".join((c["choices"][0]["delta"].get("content") or "") for c in cs if c["choices"])),
]


@pytest.mark.parametrize("model_id, body, text_of", STREAM_CASES, ids=[c[0] for c in STREAM_CASES])
def test_invoke_stream_chunks_rebuild_the_invoke_text(rt, model_id, body, text_of):
    chunks = stream_chunks(rt, model_id, body)
    assert len(chunks) > 3
    streamed = text_of(chunks)
    reply = rt.converse(modelId=model_id, messages=[msg("Hello stream")])
    assert streamed == reply["output"]["message"]["content"][0]["text"]
    metrics = chunks[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == reply["usage"]["inputTokens"]
    assert metrics["outputTokenCount"] == reply["usage"]["outputTokens"]
    assert {"invocationLatency", "firstByteLatency"} <= set(metrics)
    assert all("amazon-bedrock-invocationMetrics" not in c for c in chunks[:-1])


def test_invoke_stream_anthropic_event_sequence(rt):
    chunks = stream_chunks(rt, CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
                                        "messages": [{"role": "user", "content": "Hello"}]})
    kinds = [c["type"] for c in chunks]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert chunks[-2]["delta"]["stop_reason"] == "max_tokens" and chunks[-2]["usage"]["output_tokens"] == 5


@pytest.mark.parametrize("model_id", ["amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"])
def test_invoke_stream_refuses_models_without_streaming(rt, model_id):
    with pytest.raises(ClientError) as excinfo:
        rt.invoke_model_with_response_stream(modelId=model_id, body=json.dumps({"inputText": "x"}))
    assert error_of(excinfo) == ("ValidationException", "The model is unsupported for streaming.")


# -- CountTokens -------------------------------------------------------------------------------------

def test_count_tokens_matches_the_usage_of_the_call(rt):
    messages = [msg("How many tokens is this?"), msg("Some.", "assistant"), msg("And now?")]
    system = [{"text": "Count carefully."}]
    used = rt.converse(modelId=CLAUDE, messages=messages, system=system)["usage"]["inputTokens"]
    counted = rt.count_tokens(modelId=CLAUDE, input={"converse": {"messages": messages, "system": system}})
    assert counted["inputTokens"] == used

    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "system": "Count carefully.",
            "messages": [{"role": "user", "content": "How many tokens is this?"},
                         {"role": "assistant", "content": "Some."}, {"role": "user", "content": "And now?"}]}
    _, headers = invoke(rt, CLAUDE, body)
    counted = rt.count_tokens(modelId=CLAUDE, input={"invokeModel": {"body": json.dumps(body).encode()}})
    assert counted["inputTokens"] == used == int(headers["x-amzn-bedrock-input-token-count"])


def test_count_tokens_includes_tool_schemas(rt):
    messages = [msg("Hello")]
    plain = rt.count_tokens(modelId=CLAUDE, input={"converse": {"messages": messages}})["inputTokens"]
    with_tools = rt.count_tokens(modelId=CLAUDE, input={"converse": {"messages": messages,
                                                                     "toolConfig": {"tools": [WEATHER_TOOL]}}})
    assert with_tools["inputTokens"] > plain


@pytest.mark.parametrize("model_id", [HAIKU_PROFILE, NOVA, f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA}"])
def test_count_tokens_refuses_unsupported_models_and_profile_ids(rt, model_id):
    with pytest.raises(ClientError) as excinfo:
        rt.count_tokens(modelId=model_id, input={"converse": {"messages": [msg("Hi")]}})
    assert error_of(excinfo) == ("ValidationException", "The provided model doesn't support counting tokens.")


def test_count_tokens_works_by_bare_id_for_profile_only_models(rt):
    r = rt.count_tokens(modelId="anthropic.claude-haiku-4-5-20251001-v1:0",
                        input={"converse": {"messages": [msg("Hi")]}})
    assert r["inputTokens"] == 4


# -- batch helper ------------------------------------------------------------------------------------

def test_invoke_for_batch_returns_the_model_output(local_service):
    app = local_service.app
    out = invoke_for_batch(app, "us-east-1", NOVA, {"messages": [msg("echo: batch")]})
    assert out["output"]["message"]["content"] == [{"text": "batch"}]
    out = invoke_for_batch(app, "us-east-1", NOVA, {"messages": [msg("echo: conv")]}, "Converse")
    assert out["output"]["message"]["content"] == [{"text": "conv"}] and "metrics" in out
    with pytest.raises(Exception) as excinfo:
        invoke_for_batch(app, "us-east-1", CLAUDE, {"messages": []})
    assert excinfo.value.code == "ValidationException"


def test_a_batch_anthropic_record_meets_the_thinking_rules(local_service):
    # A batch record is held to the same extended-thinking rules as InvokeModel.
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 3000, "temperature": 0.7,
            "thinking": {"type": "enabled", "budget_tokens": 2000}, "messages": [{"role": "user", "content": "Hi"}]}
    with pytest.raises(Exception) as excinfo:
        invoke_for_batch(local_service.app, "us-east-1", HAIKU_PROFILE, body)
    assert excinfo.value.code == "ValidationException" and "`temperature` may only be set to 1" in str(excinfo.value)
    body.pop("temperature")
    assert invoke_for_batch(local_service.app, "us-east-1", HAIKU_PROFILE, body)["content"][0]["type"] == "thinking"
