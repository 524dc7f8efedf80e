"""The responder's behaviours as real clients see them: boto3 (Converse, ConverseStream, InvokeModel,
CountTokens), the aws CLI, and the openai SDK on the runtime (``/openai/v1``) and mantle (``/v1``),
streaming and not."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import jsonschema
import openai
import pytest
from PIL import Image

from bedrock_magics.local import credentials as local
from bedrock_magics.local import responder, tokens

CLAUDE_ID = "anthropic.claude-sonnet-4-5-20250929-v1:0"  # counts tokens (by its bare id)
CLAUDE = "us." + CLAUDE_ID  # invoked through its profile, as on AWS
HAIKU = "us.anthropic.claude-3-5-haiku-20241022-v1:0"  # caches from 2048 tokens (Claude 3 Haiku: no caching)
LLAMA = "us.meta.llama3-1-8b-instruct-v1:0"
OSS = "openai.gpt-oss-120b-1:0"
MANTLE_OSS = "openai.gpt-oss-120b"
REVIEW = "Classify the sentiment of this review as positive, negative or mixed: the pasta was great but the waiter was rude."
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["name", "age", "sentiment"],
          "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
                         "sentiment": {"type": "string", "enum": ["positive", "negative", "neutral"]}}}
EXTRACT = "Extract the person: Maria Garcia, age 37, loved the new library."
EXPECTED = {"name": "Maria Garcia", "age": 37, "sentiment": "positive"}
TRANSLATE = {"name": "translate", "description": "Translate a text",
             "parameters": {"type": "object", "required": ["text", "target_language"], "properties": {
                 "text": {"type": "string"}, "target_language": {"type": "string"}}}}
ASK_TRANSLATE = "Please translate 你好 into the language Spanish"


def msg(text: str, role: str = "user") -> dict:
    return {"role": role, "content": [{"text": text}]}


def png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def long_context(words: int = 1500) -> str:
    """A unique long text (its own cache entries), ``words`` one-token-each words for Claude."""
    return f"ctx{uuid.uuid4().hex[:3]} " + " ".join(["tide"] * words)


@pytest.fixture
def rt(local_env):
    return boto3.client("bedrock-runtime", region_name="us-east-1")


@pytest.fixture
def runtime_openai(local_env, local_service):
    return openai.OpenAI(base_url=local_service.endpoints["runtime"] + "/openai/v1", api_key=local.API_KEY,
                         max_retries=0)


@pytest.fixture
def mantle(local_env, local_service):
    return openai.OpenAI(base_url=local_service.endpoints["mantle"] + "/v1", api_key=local.API_KEY, max_retries=0)


@pytest.fixture
def clock(local_service, monkeypatch):
    """The service's prompt-cache clock, moved by the test instead of waiting."""
    class Clock:
        now = 10_000.0

        def __call__(self) -> float:
            return self.now

    fake = Clock()
    monkeypatch.setattr(responder.prompt_cache(local_service.app), "clock", fake)
    return fake


def converse_stream(rt, **kwargs) -> list[dict]:
    return list(rt.converse_stream(**kwargs)["stream"])


def stream_text(events: list[dict]) -> str:
    return "".join(e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e)


def invoke(rt, model: str, body: dict) -> dict:
    return json.loads(rt.invoke_model(modelId=model, body=json.dumps(body))["body"].read())


# -- closed sets --------------------------------------------------------------------------------------

def test_closed_set_labels_on_every_api(rt, runtime_openai, mantle):
    assert rt.converse(modelId=CLAUDE, messages=[msg(REVIEW)])["output"]["message"]["content"] == [{"text": "mixed"}]
    assert stream_text(converse_stream(rt, modelId=CLAUDE, messages=[msg(REVIEW)])) == "mixed"
    llama = invoke(rt, LLAMA, {"prompt": f"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{REVIEW}"
                                         "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"})
    assert llama["generation"] == "mixed"
    titan = invoke(rt, "amazon.titan-text-express-v1", {"inputText": "Answer yes or no: is it broken? It doesn't work."})
    assert titan["results"][0]["outputText"] == "no"
    for client, model in ((runtime_openai, OSS), (mantle, MANTLE_OSS)):
        chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": REVIEW}])
        assert chat.choices[0].message.content == "mixed"
        streamed = client.chat.completions.create(model=model, messages=[{"role": "user", "content": REVIEW}],
                                                  stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == "mixed"
    assert mantle.responses.create(model=MANTLE_OSS, input=REVIEW).output_text == "mixed"


# -- structured output --------------------------------------------------------------------------------

def test_converse_output_config_and_forced_tool_return_schema_json(rt):
    fmt = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {
        "schema": json.dumps(SCHEMA), "name": "person"}}}}
    r = rt.converse(modelId=CLAUDE, messages=[msg(EXTRACT)], outputConfig=fmt)
    data = json.loads(r["output"]["message"]["content"][0]["text"])
    jsonschema.validate(data, SCHEMA)
    assert data == EXPECTED
    assert json.loads(stream_text(converse_stream(rt, modelId=CLAUDE, messages=[msg(EXTRACT)],
                                                  outputConfig=fmt))) == EXPECTED
    tool = {"toolSpec": {"name": "person", "inputSchema": {"json": SCHEMA}}}
    r = rt.converse(modelId=CLAUDE, messages=[msg(EXTRACT)],
                    toolConfig={"tools": [tool], "toolChoice": {"tool": {"name": "person"}}})
    assert r["stopReason"] == "tool_use" and r["output"]["message"]["content"][0]["toolUse"]["input"] == EXPECTED


def test_openai_response_format_and_text_format_return_schema_json(runtime_openai, mantle):
    chat_format = {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA, "strict": True}}
    for client, model in ((runtime_openai, OSS), (mantle, MANTLE_OSS)):
        r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": EXTRACT}],
                                           response_format=chat_format)
        assert json.loads(r.choices[0].message.content) == EXPECTED
        chunks = client.chat.completions.create(model=model, messages=[{"role": "user", "content": EXTRACT}],
                                                response_format=chat_format, stream=True)
        assert json.loads("".join(c.choices[0].delta.content or "" for c in chunks if c.choices)) == EXPECTED
    obj = mantle.chat.completions.create(model=MANTLE_OSS, response_format={"type": "json_object"},
                                         messages=[{"role": "user", "content": "Reply in JSON: hi"}])
    assert json.loads(obj.choices[0].message.content)["service"] == "local Bedrock"
    text_format = {"format": {"type": "json_schema", "name": "person", "schema": SCHEMA, "strict": True}}
    r = mantle.responses.create(model=MANTLE_OSS, input=EXTRACT, text=text_format)
    assert json.loads(r.output_text) == EXPECTED
    with mantle.responses.stream(model=MANTLE_OSS, input=EXTRACT, text=text_format) as stream:
        assert json.loads(stream.get_final_response().output_text) == EXPECTED


# -- tools --------------------------------------------------------------------------------------------

def test_tool_calls_carry_the_prompts_arguments_and_the_answer_uses_the_result(rt, mantle):
    spec = {"toolSpec": {"name": "translate", "description": TRANSLATE["description"],
                         "inputSchema": {"json": TRANSLATE["parameters"]}}}
    first = [msg(ASK_TRANSLATE)]
    r = rt.converse(modelId=CLAUDE, messages=first, toolConfig={"tools": [spec]})
    use = r["output"]["message"]["content"][0]["toolUse"]
    assert use["input"] == {"text": "你好", "target_language": "Spanish"}
    convo = first + [r["output"]["message"], {"role": "user", "content": [{"toolResult": {
        "toolUseId": use["toolUseId"], "content": [{"text": "hola"}]}}]}]
    final = rt.converse(modelId=CLAUDE, messages=convo, toolConfig={"tools": [spec]})
    assert final["output"]["message"]["content"][0]["text"].endswith("the tool translate returned hola.")

    chat = mantle.chat.completions.create(model=MANTLE_OSS, messages=[{"role": "user", "content": ASK_TRANSLATE}],
                                          tools=[{"type": "function", "function": TRANSLATE}])
    call = chat.choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == {"text": "你好", "target_language": "Spanish"}
    resp = mantle.responses.create(model=MANTLE_OSS, input=ASK_TRANSLATE, tools=[{"type": "function", **TRANSLATE}])
    (fc,) = [o for o in resp.output if o.type == "function_call"]
    assert json.loads(fc.arguments) == {"text": "你好", "target_language": "Spanish"}
    after = mantle.responses.create(model=MANTLE_OSS, previous_response_id=resp.id, tools=[{"type": "function", **TRANSLATE}],
                                    input=[{"type": "function_call_output", "call_id": fc.call_id, "output": "hola"}])
    assert after.output_text.endswith("the tool translate returned hola.")


def test_streamed_tool_calls_carry_the_same_arguments(rt, runtime_openai, mantle):
    spec = {"toolSpec": {"name": "translate", "inputSchema": {"json": TRANSLATE["parameters"]}}}
    events = converse_stream(rt, modelId=CLAUDE, messages=[msg(ASK_TRANSLATE)], toolConfig={"tools": [spec]})
    fragments = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events
                 if "contentBlockDelta" in e and "toolUse" in e["contentBlockDelta"]["delta"]]
    assert json.loads("".join(fragments)) == {"text": "你好", "target_language": "Spanish"}
    for client, model in ((runtime_openai, OSS), (mantle, MANTLE_OSS)):
        chunks = client.chat.completions.create(model=model, messages=[{"role": "user", "content": ASK_TRANSLATE}],
                                                tools=[{"type": "function", "function": TRANSLATE}], stream=True)
        args = "".join(c.choices[0].delta.tool_calls[0].function.arguments or ""
                       for c in chunks if c.choices and c.choices[0].delta.tool_calls)
        assert json.loads(args) == {"text": "你好", "target_language": "Spanish"}


# -- reasoning ----------------------------------------------------------------------------------------

THINKING = {"thinking": {"type": "enabled", "budget_tokens": 1024}}


def test_converse_thinking_gives_a_signed_reasoning_block_first_and_streams_it(rt):
    r = rt.converse(modelId=CLAUDE, messages=[msg(REVIEW)], additionalModelRequestFields=THINKING,
                    inferenceConfig={"maxTokens": 2048})
    first, second = r["output"]["message"]["content"]
    reasoning = first["reasoningContent"]["reasoningText"]
    assert 'rule "closed set"' in reasoning["text"] and reasoning["signature"]
    assert second == {"text": "mixed"}
    assert r["usage"]["outputTokens"] == tokens.count(reasoning["text"], "claude") + tokens.count("mixed", "claude")
    events = converse_stream(rt, modelId=CLAUDE, messages=[msg(REVIEW)], additionalModelRequestFields=THINKING,
                             inferenceConfig={"maxTokens": 2048})
    deltas = [e["contentBlockDelta"] for e in events if "contentBlockDelta" in e]
    thought = [d["delta"]["reasoningContent"] for d in deltas if "reasoningContent" in d["delta"]]
    assert "".join(t.get("text", "") for t in thought) == reasoning["text"]
    assert thought[-1] == {"signature": reasoning["signature"]} and all(d["contentBlockIndex"] == 0 for d in deltas[:len(thought)])
    assert [d["delta"]["text"] for d in deltas if "text" in d["delta"]] == ["mixed"]


def test_anthropic_and_gpt_oss_invoke_bodies_carry_reasoning(rt):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 2048, "thinking": THINKING["thinking"],
            "messages": [{"role": "user", "content": REVIEW}]}
    out = invoke(rt, CLAUDE, body)
    assert [b["type"] for b in out["content"]] == ["thinking", "text"] and out["content"][0]["signature"]
    oss = invoke(rt, OSS, {"messages": [{"role": "user", "content": REVIEW}], "reasoning_effort": "high"})
    content = oss["choices"][0]["message"]["content"]
    assert content.startswith("<reasoning>1. The local Bedrock service reads") and content.endswith("</reasoning>mixed")
    assert oss["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0


def test_openai_reasoning_items_and_message_reasoning(runtime_openai, mantle):
    r = mantle.responses.create(model=MANTLE_OSS, input=REVIEW, reasoning={"effort": "high", "summary": "auto"})
    assert [o.type for o in r.output] == ["reasoning", "message"] and r.output_text == "mixed"
    item = r.output[0]
    assert item.content[0].type == "reasoning_text" and "The answer is: mixed" in item.content[0].text
    assert item.summary[0].text == item.content[0].text
    assert r.usage.output_tokens_details.reasoning_tokens == tokens.count(item.content[0].text, "gpt")
    with mantle.responses.stream(model=MANTLE_OSS, input=REVIEW, reasoning={"effort": "low"}) as stream:
        kinds = [e.type for e in stream]
        final = stream.get_final_response()
    assert "response.reasoning_text.delta" in kinds and final.output[0].type == "reasoning"
    for client, model in ((runtime_openai, OSS), (mantle, MANTLE_OSS)):
        chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": REVIEW}],
                                              reasoning_effort="medium")
        message = chat.choices[0].message
        assert message.content == "mixed" and 'rule "closed set"' in message.reasoning
        assert chat.usage.completion_tokens_details.reasoning_tokens == tokens.count(message.reasoning, "gpt")
        chunks = list(client.chat.completions.create(model=model, messages=[{"role": "user", "content": REVIEW}],
                                                     reasoning_effort="medium", stream=True))
        assert "".join(getattr(c.choices[0].delta, "reasoning", None) or "" for c in chunks if c.choices) \
            == message.reasoning


# -- prompt caching -----------------------------------------------------------------------------------

def test_converse_cache_point_writes_then_reads_then_expires(rt, clock):
    system = [{"text": long_context()}, {"cachePoint": {"type": "default"}}]
    prefix = tokens.count(system[0]["text"], "claude")
    first = rt.converse(modelId=CLAUDE, system=system, messages=[msg("What about tides?")])["usage"]
    assert (first["cacheWriteInputTokens"], first["cacheReadInputTokens"]) == (prefix, 0)
    assert first["cacheDetails"] == [{"ttl": "5m", "inputTokens": prefix}]
    assert first["inputTokens"] == 3 + tokens.count("What about tides?", "claude")
    clock.now += 60
    events = converse_stream(rt, modelId=CLAUDE, system=system, messages=[msg("And waves?")])
    usage = next(e["metadata"]["usage"] for e in events if "metadata" in e)
    assert (usage["cacheReadInputTokens"], usage["cacheWriteInputTokens"]) == (prefix, 0)
    clock.now += 301
    late = rt.converse(modelId=CLAUDE, system=system, messages=[msg("And waves?")])["usage"]
    assert late["cacheWriteInputTokens"] == prefix
    count = rt.count_tokens(modelId=CLAUDE_ID, input={"converse": {"system": system, "messages": [msg("And waves?")]}})
    assert count["inputTokens"] == late["inputTokens"] + prefix  # CountTokens counts the whole prompt


def test_converse_tool_cache_points_count_the_tools(rt, clock):
    described = {"toolSpec": {"name": "lookup", "description": long_context(1200),
                              "inputSchema": {"json": {"type": "object", "properties": {}}}}}
    config = {"tools": [described, {"cachePoint": {"type": "default", "ttl": "1h"}}]}
    first = rt.converse(modelId=CLAUDE, messages=[msg("Hi")], toolConfig=config)["usage"]
    tool_tokens = tokens.count(responder.as_tool(described).canonical(), "claude")
    assert first["cacheWriteInputTokens"] == tool_tokens and first["cacheDetails"][0]["ttl"] == "1h"
    clock.now += 1800  # within the hour
    assert rt.converse(modelId=CLAUDE, messages=[msg("Hi")], toolConfig=config)["usage"]["cacheReadInputTokens"] \
        == tool_tokens


def test_anthropic_cache_control_and_the_haiku_minimum(rt, clock):
    def body(words: int) -> dict:
        return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                "system": [{"type": "text", "text": long_context(words), "cache_control": {"type": "ephemeral"}}],
                "messages": [{"role": "user", "content": "Summarize"}]}

    small = invoke(rt, HAIKU, body(1500))["usage"]  # below Haiku's 2048
    assert small["cache_creation_input_tokens"] == small["cache_read_input_tokens"] == 0
    b = body(2500)
    written, read = invoke(rt, HAIKU, b)["usage"], invoke(rt, HAIKU, b)["usage"]
    assert written["cache_creation_input_tokens"] == read["cache_read_input_tokens"] > 2048
    assert read["input_tokens"] == 3 + tokens.count("Summarize", "claude")
    # InvokeModel also reports cache activity in its headers (below the minimum: no cache headers)
    headers = rt.invoke_model(modelId=HAIKU, body=json.dumps(b))["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-bedrock-cache-read-input-token-count"] == str(read["cache_read_input_tokens"])
    assert headers["x-amzn-bedrock-cache-write-input-token-count"] == "0"
    quiet = rt.invoke_model(modelId=HAIKU, body=json.dumps(body(1500)))["ResponseMetadata"]["HTTPHeaders"]
    assert "x-amzn-bedrock-cache-read-input-token-count" not in quiet


def test_nova_invoke_body_cache_points(rt, clock):
    body = {"schemaVersion": "messages-v1", "system": [{"text": long_context(1500)}, {"cachePoint": {"type": "default"}}],
            "messages": [msg("Summarize")], "inferenceConfig": {"maxTokens": 50}}
    written, read = invoke(rt, "amazon.nova-lite-v1:0", body)["usage"], invoke(rt, "amazon.nova-lite-v1:0", body)["usage"]
    prefix = tokens.count(body["system"][0]["text"], "nova")
    assert (written["cacheWriteInputTokenCount"], read["cacheReadInputTokenCount"]) == (prefix, prefix)
    assert read["inputTokens"] == 3 + tokens.count("Summarize", "nova")


def test_openai_routes_cache_repeated_prefixes(runtime_openai, mantle):
    for client, model in ((runtime_openai, OSS), (mantle, MANTLE_OSS)):
        messages = [{"role": "system", "content": long_context(1300)}, {"role": "user", "content": "Hi"}]
        first = client.chat.completions.create(model=model, messages=messages)
        assert first.usage.prompt_tokens_details.cached_tokens == 0
        again = client.chat.completions.create(model=model, messages=messages)
        cached = again.usage.prompt_tokens_details.cached_tokens
        assert cached >= 1024 and (cached - 1024) % 128 == 0 and again.usage.prompt_tokens == first.usage.prompt_tokens
    instructions = long_context(1300)
    mantle.responses.create(model=MANTLE_OSS, instructions=instructions, input="Hi")
    r = mantle.responses.create(model=MANTLE_OSS, instructions=instructions, input="Hi")
    assert r.usage.input_tokens_details.cached_tokens >= 1024


# -- images, documents, citations ---------------------------------------------------------------------

def test_images_and_documents_count_on_every_api(rt, mantle):
    image = png(750, 200)  # 200 tokens by width*height/750
    text_only = rt.converse(modelId=CLAUDE, messages=[msg("Describe")])["usage"]["inputTokens"]
    r = rt.converse(modelId=CLAUDE, messages=[{"role": "user", "content": [
        {"text": "Describe"}, {"image": {"format": "png", "source": {"bytes": image}}}]}])
    assert r["usage"]["inputTokens"] == text_only + 200
    count = rt.count_tokens(modelId=CLAUDE_ID, input={"converse": {"messages": [{"role": "user", "content": [
        {"text": "Describe"}, {"image": {"format": "png", "source": {"bytes": image}}}]}]}})
    assert count["inputTokens"] == r["usage"]["inputTokens"]
    anthropic = invoke(rt, CLAUDE, {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "image", "source": {
            "type": "base64", "media_type": "image/png", "data": base64.b64encode(image).decode()}}]}]})
    assert anthropic["usage"]["input_tokens"] == text_only + 200

    plain = mantle.chat.completions.create(model=MANTLE_OSS, messages=[{"role": "user", "content": "Describe"}])
    chat = mantle.chat.completions.create(model=MANTLE_OSS, messages=[{"role": "user", "content": [
        {"type": "text", "text": "Describe"}, {"type": "image_url", "image_url": {"url": data_url(image)}}]}])
    assert chat.usage.prompt_tokens == plain.usage.prompt_tokens + 200
    doc = b"Tides rise twice a day. The moon pulls the water."
    resp = mantle.responses.create(model=MANTLE_OSS, input=[{"role": "user", "content": [
        {"type": "input_text", "text": "Describe"}, {"type": "input_image", "image_url": data_url(image)},
        {"type": "input_file", "filename": "notes.txt", "file_data": data_url(doc, "text/plain")}]}])
    assert resp.usage.input_tokens == plain.usage.prompt_tokens + 200 + tokens.count(doc.decode(), "gpt") \
        + tokens.count("notes", "gpt")


def test_documents_with_citations_enabled_cite_a_quoted_span(rt):
    text = "Tides rise twice a day. The moon pulls the water. Waves are made by wind."
    content = [{"document": {"format": "txt", "name": "notes", "source": {"bytes": text.encode()},
                             "citations": {"enabled": True}}}, {"text": "What pulls the water?"}]
    r = rt.converse(modelId=CLAUDE, messages=[{"role": "user", "content": content}])
    lead, cited = r["output"]["message"]["content"]
    assert lead["text"] == f"Local Bedrock reply from {CLAUDE_ID}: according to notes, "
    citation = cited["citationsContent"]["citations"][0]
    where = citation["location"]["documentChar"]
    assert text[where["start"]:where["end"]] == "The moon pulls the water." == cited["citationsContent"]["content"][0]["text"]
    assert where["documentIndex"] == 0 and citation["sourceContent"] == [{"text": "The moon pulls the water."}]
    events = converse_stream(rt, modelId=CLAUDE, messages=[{"role": "user", "content": content}])
    assert any("citation" in e["contentBlockDelta"]["delta"] for e in events if "contentBlockDelta" in e)
    # InvokeModel takes no documents (AWS inference-api-restrictions.html); mantle's Messages API
    # does (tests/local/test_anthropic_api.py cites from one there).
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200, "messages": [
        {"role": "user", "content": [{"type": "document", "title": "notes", "citations": {"enabled": True},
                                      "source": {"type": "text", "media_type": "text/plain", "data": text}},
                                     {"type": "text", "text": "What pulls the water?"}]}]}
    for call in (rt.invoke_model, rt.invoke_model_with_response_stream):
        with pytest.raises(rt.exceptions.ValidationException, match="Input tag 'document' found using 'type'"):
            call(modelId=CLAUDE, body=json.dumps(body))


# -- tokens and shapes --------------------------------------------------------------------------------

def test_models_count_differently_and_every_api_agrees_for_one_model(rt, runtime_openai):
    prompt = "Internationalization requires extraordinary thoroughness."
    counts = {m: rt.converse(modelId=m, messages=[msg(prompt)])["usage"]["inputTokens"]
              for m in (CLAUDE, LLAMA, "mistral.mistral-7b-instruct-v0:2", "amazon.nova-lite-v1:0")}
    assert len(set(counts.values())) == 4
    assert counts[CLAUDE] == rt.count_tokens(modelId=CLAUDE_ID, input={"converse": {"messages": [msg(prompt)]}})[
        "inputTokens"]
    converse_oss = rt.converse(modelId=OSS, messages=[msg(prompt)])["usage"]["inputTokens"]
    chat = runtime_openai.chat.completions.create(model=OSS, messages=[{"role": "user", "content": prompt}])
    assert chat.usage.prompt_tokens == converse_oss == 3 + tokens.count(prompt, "gpt")


def test_shape_instructions_through_clients(rt, mantle):
    text = rt.converse(modelId=CLAUDE, messages=[msg("Give me 3 bullet points about tides")])[
        "output"]["message"]["content"][0]["text"]
    assert [line[:2] for line in text.splitlines()[1:]] == ["- "] * 3
    table = mantle.chat.completions.create(model=MANTLE_OSS, messages=[{"role": "user", "content": "Show it as a table"}])
    assert "| field | value |" in table.choices[0].message.content
    words = mantle.responses.create(model=MANTLE_OSS, input="Describe the sea in 7 words").output_text
    assert len(words.split()) == 7


AWS = str(Path(sys.executable).with_name("aws"))


@pytest.mark.skipif(not Path(AWS).exists(), reason="the aws CLI is not installed in this environment")
def test_aws_cli_converse_labels_and_structured_output(local_service, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(local_service.env, AWS_CONFIG_FILE=str(tmp_path / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"), AWS_PAGER="")

    def converse(*extra: str) -> dict:
        proc = subprocess.run([AWS, "bedrock-runtime", "converse", "--model-id", CLAUDE, *extra], env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    out = converse("--messages", json.dumps([msg(REVIEW)]))
    assert out["output"]["message"]["content"] == [{"text": "mixed"}]
    fmt = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": json.dumps(SCHEMA)}}}}
    out = converse("--messages", json.dumps([msg(EXTRACT)]), "--output-config", json.dumps(fmt))
    assert json.loads(out["output"]["message"]["content"][0]["text"]) == EXPECTED
