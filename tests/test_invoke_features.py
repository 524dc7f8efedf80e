"""--image and --schema on the InvokeModel API (--api invoke): the Claude and Nova bodies, sent and
streamed, through real boto3 and the real magic against the local service; the refusals, in one line,
of what those bodies (and the other families') cannot carry; and the local service's checks of the
same bodies sent raw with boto3."""

from __future__ import annotations

import base64
import io
import json

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError
from PIL import Image
from pydantic import BaseModel

from bedrock_magics.local.responder import media
from bedrock_magics.routes import codecs, invoke

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"  # structured output: output_config.format
CLAUDE_37 = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"  # none: a forced tool
HAIKU_35 = "us.anthropic.claude-3-5-haiku-20241022-v1:0"  # reads no images
NOVA = "us.amazon.nova-lite-v1:0"  # a forced toolChoice.tool
NOVA_MICRO = "us.amazon.nova-micro-v1:0"  # text only
LLAMA = "meta.llama3-1-70b-instruct-v1:0"
FAMILIES = [CLAUDE, CLAUDE_37, NOVA]


class Review(BaseModel):
    sentiment: str
    stars: int


def png(width: int = 300, height: int = 200, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


# -- images --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", [CLAUDE, NOVA])
def test_an_image_costs_what_it_costs_on_converse(bm, model):
    # The same conversation costs the same input tokens whichever API carries it: the image reached
    # the model through the InvokeModel body, as on Converse.
    image = png()
    plain = bm.ask("Describe this picture", model=model, api="invoke")
    sent = bm.ask("Describe this picture", model=model, api="invoke", images=[image])
    conversed = bm.ask("Describe this picture", model=model, api="converse", images=[image])
    assert sent.ok and sent.api == "invoke"
    assert sent.input_tokens == conversed.input_tokens == plain.input_tokens + media.image_tokens(image) > plain.input_tokens
    *deltas, streamed = list(bm.stream("Describe this picture", model=model, api="invoke", images=[image]))
    assert streamed.streamed and "".join(deltas) == streamed.text
    assert streamed.input_tokens == sent.input_tokens


def test_the_bodies_carry_the_image_in_their_own_shape(bm):
    image = png(8, 8)
    claude = codecs.codec_for(CLAUDE).encode(bm.request("Describe", model=CLAUDE, api="invoke", images=[image]))
    assert claude["messages"][0]["content"][0] == {"type": "image", "source": {
        "type": "base64", "media_type": "image/png", "data": base64.b64encode(image).decode()}}
    assert claude["messages"][0]["content"][1] == {"type": "text", "text": "Describe"}
    nova = codecs.codec_for(NOVA).encode(bm.request("Describe", model=NOVA, api="invoke", images=[image]))
    assert nova["messages"][0]["content"][0] == {"image": {"format": "png",
                                                           "source": {"bytes": base64.b64encode(image).decode()}}}
    json.dumps(nova)  # the body is JSON: no raw bytes left in it


# -- structured output ---------------------------------------------------------------------------------

@pytest.mark.parametrize("model", FAMILIES)
def test_schema_gives_a_validated_object_sent_and_streamed(bm, model):
    reply = bm.ask("Great phone, 5 stars", model=model, api="invoke", schema=Review)
    assert reply.data == Review(sentiment="Great", stars=5) and reply.tool_calls == []
    *deltas, streamed = list(bm.stream("Great phone, 5 stars", model=model, api="invoke", schema=Review))
    assert streamed.data == reply.data and streamed.tool_calls == [] and streamed.stop_reason == reply.stop_reason
    with_image = bm.ask("Great phone, 5 stars", model=model, api="invoke", schema=Review, images=[png()])
    assert with_image.data == reply.data


def test_schema_rides_on_output_config_or_a_forced_tool(bm):
    native = codecs.codec_for(CLAUDE).encode(bm.request("x", model=CLAUDE, api="invoke", schema=Review))
    assert native["output_config"]["format"]["type"] == "json_schema"
    assert native["output_config"]["format"]["schema"]["required"] == ["sentiment", "stars"]
    assert "tool_choice" not in native
    forced = codecs.codec_for(CLAUDE_37).encode(bm.request("x", model=CLAUDE_37, api="invoke", schema=Review))
    assert forced["tool_choice"] == {"type": "tool", "name": "Review"} and "output_config" not in forced
    assert forced["tools"][-1]["input_schema"]["properties"].keys() == {"sentiment", "stars"}
    nova = codecs.codec_for(NOVA).encode(bm.request("x", model=NOVA, api="invoke", schema=Review))
    assert nova["toolConfig"]["toolChoice"] == {"tool": {"name": "Review"}}


def test_the_forced_tool_streams_as_input_json_deltas(bm, local_env):
    # What the route reads: Claude's stream carries the schema tool's input in input_json_delta chunks.
    body = invoke._body(codecs.codec_for(CLAUDE_37), bm.request("Great phone, 5 stars", model=CLAUDE_37,
                                                                api="invoke", schema=Review))
    rt = boto3.client("bedrock-runtime", region_name="us-east-1")
    chunks = [json.loads(e["chunk"]["bytes"]) for e in
              rt.invoke_model_with_response_stream(modelId=CLAUDE_37, body=body)["body"]]
    start = next(c for c in chunks if c["type"] == "content_block_start")
    assert start["content_block"]["type"] == "tool_use" and start["content_block"]["name"] == "Review"
    parts = [c["delta"]["partial_json"] for c in chunks
             if c["type"] == "content_block_delta" and c["delta"]["type"] == "input_json_delta"]
    assert len(parts) > 1 and Review.model_validate_json("".join(parts)) == Review(sentiment="Great", stars=5)


def test_df_schema_on_invoke_gives_typed_columns(bm):
    frame = pd.DataFrame({"review": ["Great phone, 5 stars", "Bad battery, 1 star", "Fine, 3 stars"]})
    result = bm.map(frame, "{review}", model=CLAUDE_37, api="invoke", schema=Review, progress=False)
    assert result["answer_error"].isna().all()
    assert str(result["stars"].dtype) == "Int64" and result["stars"].tolist() == [5, 1, 3]
    assert set(bm.usage()["api"]) == {"invoke"}


def test_batch_records_carry_the_same_bodies(bm):
    request = bm.request("Great phone, 5 stars", model=CLAUDE, api="invoke", schema=Review, images=[png(8, 8)])
    record = invoke.record_encoder(request, "anthropic")(request)
    assert record == codecs.codec_for(CLAUDE).encode(request)
    assert record["output_config"]["format"]["type"] == "json_schema"
    assert record["messages"][0]["content"][0]["type"] == "image"


# -- refusals, in one line, before sending -------------------------------------------------------------

def test_what_invoke_bodies_cannot_carry_is_refused_before_sending(bm, tmp_path):
    doc = tmp_path / "notes.txt"
    doc.write_text("The meeting is on Tuesday.")
    refusals = [
        (dict(model=CLAUDE, documents=[str(doc)]), "--document is not sent on the InvokeModel API"),
        (dict(model=NOVA, documents=[str(doc)]), "use --api converse"),
        (dict(model=LLAMA, images=[png()]), "Claude and Amazon Nova bodies"),
        (dict(model=LLAMA, schema=Review), "--schema on the InvokeModel API works with Claude and Amazon Nova"),
        (dict(model="mistral.mistral-large-2407-v1:0", schema=Review), "use --api converse"),
        (dict(model=NOVA_MICRO, images=[png()]), "takes no images"),
        (dict(model=CLAUDE_37, schema=Review, reasoning="low"), "forced tool, which Claude refuses while thinking"),
    ]
    for options, message in refusals:
        with pytest.raises(ValueError, match=message) as err:
            bm.ask("Describe", api="invoke", **options)
        assert "\n" not in str(err.value)
    assert len(bm.usage()) == 0  # nothing was sent
    # Claude Sonnet 4.5 has structured output: no forced tool, so thinking and --schema go together.
    assert bm.ask("Great phone, 5 stars", model=CLAUDE, api="invoke", schema=Review, reasoning="low").data.stars == 5


@pytest.fixture
def ip(local_service, tmp_path, monkeypatch):
    from test_features import ip as features_ip

    yield from features_ip.__wrapped__(local_service, tmp_path, monkeypatch)


def test_magic_df_schema_and_image_on_invoke(ip):
    from test_magics import run_ok, usage_error

    ip.user_ns["Review"] = Review
    ip.user_ns["frame"] = pd.DataFrame({"review": ["Great, 5 stars", "Awful, 1 star"]})
    run_ok(ip, f"%%bedrock out --df frame --schema Review --api invoke -m {NOVA}\nReview: {{review}}")
    out = ip.user_ns["out"]
    assert out["answer_error"].isna().all() and out["stars"].tolist() == [5, 1]
    ip.user_ns["chart"] = png()
    run_ok(ip, f"%%bedrock ans --image chart --api invoke -m {CLAUDE} --stream -q\nDescribe this chart")
    assert ip.user_ns["ans"].ok and ip.user_ns["ans"].api == "invoke"
    assert "Claude and Amazon Nova" in usage_error(ip, f"%%bedrock --image chart --api invoke -m {LLAMA}\nhi")
    assert "--api converse" in usage_error(ip, f"%%bedrock --schema Review --api invoke -m {LLAMA}\nhi")


# -- the local service: the same bodies, raw, with boto3 -------------------------------------------------

def _claude_body(*parts: dict, **extra) -> str:
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200, **extra,
                       "messages": [{"role": "user", "content": [*parts, {"type": "text", "text": "Describe"}]}]})


def _image(media_type: str, data: bytes | str) -> dict:
    text = data if isinstance(data, str) else base64.b64encode(data).decode()
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": text}}


def _refused(rt, model: str, body: str) -> str:
    with pytest.raises(ClientError) as err:
        rt.invoke_model(modelId=model, body=body)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    return err.value.response["Error"]["Message"]


def test_the_service_checks_claude_images_and_output_config(local_env):
    rt = boto3.client("bedrock-runtime", region_name="us-east-1")
    assert "media_type: Input should be 'image/jpeg'" in _refused(rt, CLAUDE, _claude_body(_image("image/bmp", png())))
    assert "does not appear to be a valid png image" in _refused(rt, CLAUDE, _claude_body(_image("image/png", "%%%")))
    assert "valid jpeg image" in _refused(rt, CLAUDE, _claude_body(_image("image/jpeg", png())))
    assert "image exceeds 5 MB maximum" in _refused(rt, CLAUDE, _claude_body(_image("image/png", "A" * 5_300_000)))
    assert "dimensions exceed max allowed size: 8000" in _refused(rt, CLAUDE, _claude_body(_image("image/png", png(8001, 2))))
    assert "doesn't support the image field" in _refused(rt, HAIKU_35, _claude_body(_image("image/png", png())))
    schema = {"format": {"type": "json_schema", "schema": Review.model_json_schema()}}
    assert "structured outputs are not supported" in _refused(rt, CLAUDE_37, _claude_body(output_config=schema))
    answer = json.loads(rt.invoke_model(modelId=CLAUDE, body=_claude_body(output_config=schema))["body"].read())
    assert Review.model_validate_json(answer["content"][0]["text"])


def test_the_service_checks_nova_media(local_env):
    rt = boto3.client("bedrock-runtime", region_name="us-east-1")

    def body(block: dict) -> str:
        return json.dumps({"schemaVersion": "messages-v1",
                           "messages": [{"role": "user", "content": [block, {"text": "Describe"}]}]})

    image = base64.b64encode(png()).decode()
    ok = json.loads(rt.invoke_model(modelId=NOVA, body=body({"image": {"format": "png", "source": {"bytes": image}}}))
                    ["body"].read())
    assert ok["output"]["message"]["content"][0]["text"]
    assert "doesn't support the image field" in _refused(
        rt, NOVA_MICRO, body({"image": {"format": "png", "source": {"bytes": image}}}))
    assert "extraneous key [document]" in _refused(rt, NOVA, body({"document": {
        "format": "txt", "name": "notes", "source": {"bytes": base64.b64encode(b"hello").decode()}}}))
    assert "Base64" in _refused(rt, NOVA, body({"image": {"format": "png", "source": {"bytes": "%%%"}}}))
    assert "format" in _refused(rt, NOVA, body({"image": {"format": "bmp", "source": {"bytes": image}}}))


def test_a_claude_body_never_drops_a_document_of_the_conversation(bm, tmp_path):
    # A conversation begun on Converse may hold a document: the Claude InvokeModel body refuses it in
    # one line rather than send the prompt without it.
    doc = tmp_path / "notes.txt"
    doc.write_text("The meeting is on Tuesday.")
    history = bm.request("When is the meeting?", model=CLAUDE, documents=[str(doc)]).messages
    request = bm.request("And where?", model=CLAUDE, api="invoke",
                         messages=[*history, {"role": "assistant", "content": [{"text": "On Tuesday."}]}])
    with pytest.raises(ValueError, match="takes no document blocks; use --api converse"):
        codecs.codec_for(CLAUDE).encode(request)
