"""bedrock-mantle's Anthropic Messages API (``/anthropic/v1/messages``) with the real anthropic SDK's
Bedrock mantle client (``AnthropicBedrockMantle``: API key and SigV4), plus raw httpx for what the
SDK never sends (a missing version header, the ``x-api-key`` header)."""

from __future__ import annotations

import json
import ssl

import anthropic
import httpx
import pytest
from anthropic import AnthropicBedrockMantle

from bedrock_magics.local import credentials as local

SONNET_5 = "anthropic.claude-sonnet-5"
HAIKU = "anthropic.claude-haiku-4-5"
WEATHER = {"name": "get_weather", "description": "Get the weather in a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.fixture
def base_url(local_service) -> str:
    return local_service.endpoints["mantle"] + "/anthropic"


@pytest.fixture
def client(local_env, base_url) -> AnthropicBedrockMantle:
    """The SDK's client with the local Bedrock API key (sent as ``Authorization: Bearer``)."""
    return AnthropicBedrockMantle(api_key=local.API_KEY, base_url=base_url, aws_region="us-east-1", max_retries=0)


def test_a_message_is_answered_with_usage(client):
    out = client.messages.create(model=SONNET_5, max_tokens=200,
                                 messages=[{"role": "user", "content": "Say hello in one word."}])
    assert out.type == "message" and out.role == "assistant" and out.model == SONNET_5
    assert out.content[0].type == "text" and out.content[0].text
    assert out.stop_reason == "end_turn"
    assert out.usage.input_tokens > 0 and out.usage.output_tokens > 0


def test_the_service_environment_alone_points_the_sdk_here(local_env):
    """``LocalService.env`` (what ``%bedrock local env`` exports) is all the SDK needs: base URL and key."""
    out = AnthropicBedrockMantle(max_retries=0).messages.create(
        model=HAIKU, max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
    assert out.content[0].type == "text" and out.usage.input_tokens > 0


def test_sigv4_for_bedrock_mantle_is_accepted(local_env, base_url):
    signed = AnthropicBedrockMantle(aws_access_key=local.ACCESS_KEY_ID, aws_secret_key=local.SECRET_ACCESS_KEY,
                                    aws_region="us-east-1", base_url=base_url, max_retries=0)
    out = signed.messages.create(model=HAIKU, max_tokens=50, messages=[{"role": "user", "content": "Hi"}])
    assert out.content[0].text


def test_streaming_sends_anthropic_events_that_add_up_to_the_message(client):
    with client.messages.stream(model=HAIKU, max_tokens=200,
                                messages=[{"role": "user", "content": "Name three colours."}]) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert {"content_block_start", "content_block_delta", "content_block_stop", "message_delta"} <= set(kinds)
    assert final.content[0].text and final.usage.output_tokens > 0 and final.stop_reason == "end_turn"


def test_a_tool_is_called_with_the_prompts_argument(client):
    out = client.messages.create(model=SONNET_5, max_tokens=300, tools=[WEATHER],
                                 messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    call = next(block for block in out.content if block.type == "tool_use")
    assert call.name == "get_weather" and call.input == {"city": "Paris"}
    assert out.stop_reason == "tool_use"


def test_thinking_comes_as_a_signed_thinking_block(client):
    out = client.messages.create(model=SONNET_5, max_tokens=3000, thinking={"type": "enabled", "budget_tokens": 1024},
                                 messages=[{"role": "user", "content": "Is 17 prime?"}])
    assert out.content[0].type == "thinking" and out.content[0].thinking and out.content[0].signature
    assert out.content[1].type == "text"


def test_structured_output_fits_the_schema(client):
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
              "required": ["name", "age"], "additionalProperties": False}
    out = client.messages.create(model=SONNET_5, max_tokens=300,
                                 output_config={"format": {"type": "json_schema", "schema": schema}},
                                 messages=[{"role": "user", "content": "Alice is 31 years old."}])
    value = json.loads(out.content[0].text)
    assert set(value) == {"name", "age"} and isinstance(value["age"], int)


def test_refusals_come_in_anthropics_error_shape(client):
    with pytest.raises(anthropic.BadRequestError) as err:  # Claude Sonnet 5 takes no sampling parameters
        client.messages.create(model=SONNET_5, max_tokens=50, extra_body={"temperature": 0.5},
                                messages=[{"role": "user", "content": "Hi"}])
    assert err.value.body["type"] == "error"
    assert err.value.body["error"]["type"] == "invalid_request_error"
    assert err.value.body["error"]["message"].startswith("`temperature` is not supported for this model")
    with pytest.raises(anthropic.NotFoundError) as err:
        client.messages.create(model="anthropic.claude-3-haiku-20240307-v1:0", max_tokens=50,
                               messages=[{"role": "user", "content": "Hi"}])
    assert err.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.BadRequestError, match="exceeds the model limit of 64000"):
        client.messages.create(model=HAIKU, max_tokens=65_000, messages=[{"role": "user", "content": "Hi"}], timeout=60)


def test_the_version_header_is_required_and_x_api_key_is_accepted(local_env, base_url):
    body = {"model": HAIKU, "max_tokens": 20, "messages": [{"role": "user", "content": "Hi"}]}
    with httpx.Client(verify=ssl.create_default_context(cafile=local_env["AWS_CA_BUNDLE"])) as http:
        missing = http.post(f"{base_url}/v1/messages", json=body, headers={"x-api-key": local.API_KEY})
        assert missing.status_code == 400 and missing.json()["error"]["type"] == "invalid_request_error"
        ok = http.post(f"{base_url}/v1/messages", json=body,
                       headers={"x-api-key": local.API_KEY, "anthropic-version": "2023-06-01"})
        assert ok.status_code == 200 and ok.json()["content"][0]["type"] == "text"
        wrong = http.post(f"{base_url}/v1/messages", json=body,
                          headers={"x-api-key": "not-a-key", "anthropic-version": "2023-06-01"})
        assert wrong.status_code in (401, 403)


def test_the_model_list_names_the_claude_models_mantle_serves(local_env, base_url):
    with httpx.Client(verify=ssl.create_default_context(cafile=local_env["AWS_CA_BUNDLE"])) as http:
        page = http.get(f"{base_url}/v1/models", headers={"x-api-key": local.API_KEY,
                                                          "anthropic-version": "2023-06-01"}).json()
    ids = [m["id"] for m in page["data"]]
    assert SONNET_5 in ids and HAIKU in ids
    assert all(i.startswith("anthropic.") for i in ids)


def test_a_document_with_citations_is_cited_sent_and_streamed(client):
    """Anthropic's own API takes ``document`` blocks (the runtime's InvokeModel refuses them)."""
    text = "Tides rise twice a day. The moon pulls the water. Waves are made by wind."
    messages = [{"role": "user", "content": [
        {"type": "document", "title": "notes", "citations": {"enabled": True},
         "source": {"type": "text", "media_type": "text/plain", "data": text}},
        {"type": "text", "text": "What pulls the water?"}]}]
    out = client.messages.create(model=SONNET_5, max_tokens=200, messages=messages)
    cite = out.content[1].citations[0]
    assert cite.type == "char_location" and cite.cited_text == "The moon pulls the water."
    assert text[cite.start_char_index:cite.end_char_index] == cite.cited_text
    with client.messages.stream(model=SONNET_5, max_tokens=200, messages=messages) as stream:
        events = list(stream)
        final = stream.get_final_message()
    cited = [e.delta.citation for e in events if e.type == "content_block_delta" and e.delta.type == "citations_delta"]
    assert [c.cited_text for c in cited] == [cite.cited_text]
    assert "".join(b.text for b in final.content) == "".join(b.text for b in out.content)
