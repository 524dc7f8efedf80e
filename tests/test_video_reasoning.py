"""--video (Converse video blocks) and --reasoning for Amazon Nova 2 Lite and the always-reasoning models:
the real magic, ``Bedrock`` and real boto3 clients against the local service, refusals in one line, and
the service held to AWS's own limits.

The videos are made here: the service does not decode video, so a container's signature and a few
bytes after it are a real enough file (an MP4 is its ``ftyp`` box and an ``mdat`` box)."""

from __future__ import annotations

import base64
import json
import struct

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError

from bedrock_magics.attachments import attachment
from bedrock_magics.routes import converse

NOVA = "us.amazon.nova-lite-v1:0"  # reads video, no reasoning switch
NOVA2 = "us.amazon.nova-2-lite-v1:0"  # reads video, reasoningConfig
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"  # no video
GPT_OSS = "openai.gpt-oss-20b-1:0"


def mp4(payload: bytes = b"frames", brand: bytes = b"isom") -> bytes:
    """A minimal ISO base media file: an ``ftyp`` box (major brand ``brand``) and an ``mdat`` box."""
    ftyp = struct.pack(">I4s4sI", 24, b"ftyp", brand, 0x200) + b"isom" + b"mp41"
    return ftyp + struct.pack(">I4s", 8 + len(payload), b"mdat") + payload


def ebml(doctype: bytes, payload: bytes = b"clusters") -> bytes:
    """A minimal EBML (Matroska/WebM) header naming ``doctype``, then ``payload``."""
    element = b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(element)]) + element + payload


# -- the block: formats read from the bytes, else the extension ----------------------------------------

@pytest.mark.parametrize("data,fmt", [
    (mp4(), "mp4"), (mp4(brand=b"qt  "), "mov"), (mp4(brand=b"3gp5"), "three_gp"), (ebml(b"webm"), "webm"),
    (ebml(b"matroska"), "mkv"), (b"FLV\x01\x05" + b"\0" * 8, "flv"), (b"\x00\x00\x01\xba" + b"\0" * 8, "mpeg"),
    (bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + b"\0" * 8, "wmv")])
def test_the_container_is_read_from_its_signature(data, fmt):
    block = attachment(data, "video", "clip")
    assert block == {"video": {"format": fmt, "source": {"bytes": data}}}


def test_without_a_signature_the_extension_names_the_format(tmp_path):
    (tmp_path / "clip.3gp").write_bytes(b"opaque")
    (tmp_path / "clip.mpg").write_bytes(b"\x00\x00\x01\xba" + b"\0" * 8)
    assert attachment(str(tmp_path / "clip.3gp"), "video")["video"]["format"] == "three_gp"
    assert attachment(str(tmp_path / "clip.mpg"), "video")["video"]["format"] == "mpg"


def test_an_unknown_container_is_refused_in_one_line(tmp_path):
    avi = b"RIFF\x00\x00\x00\x00AVI LIST"
    with pytest.raises(ValueError, match=r"^--video clip: not one of mkv, mov, mp4, webm, flv, mpeg, mpg, wmv, 3gp"):
        attachment(avi, "video", "clip")
    with pytest.raises(ValueError, match="give a file path or bytes"):
        attachment(3.5, "video", "clip")


# -- Converse: sent, counted, answered ---------------------------------------------------------------------

def test_a_video_is_sent_as_a_converse_block_and_answered(bm, tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(mp4(b"x" * 5000))
    request = bm.request("What happens in this clip?", model=NOVA, videos=[str(clip)])
    kwargs = converse.converse_kwargs(request)
    assert kwargs["messages"][-1]["content"][0] == {"video": {"format": "mp4", "source": {"bytes": clip.read_bytes()}}}
    with_video = bm.ask("What happens in this clip?", model=NOVA, videos=[str(clip)])
    without = bm.ask("What happens in this clip?", model=NOVA)
    assert with_video.ok and with_video.text
    # The service counts a video at one token per 1,000 bytes: the bytes reached it.
    assert with_video.input_tokens - without.input_tokens == -(-len(clip.read_bytes()) // 1000)
    assert len(bm.usage()) == 2


def test_a_video_goes_in_novas_invoke_model_body(bm):
    plain = bm.ask("What happens?", model=NOVA, api="invoke")
    reply = bm.ask("What happens?", model=NOVA, api="invoke", videos=[mp4(b"v" * 3000)])
    assert reply.ok and reply.input_tokens - plain.input_tokens == -(-len(mp4(b"v" * 3000)) // 1000)


def test_a_video_streams_on_converse_stream(bm):
    *deltas, reply = list(bm.stream("Describe it", model=NOVA, videos=ebml(b"webm")))
    assert reply.ok and "".join(deltas) == reply.text


def test_a_video_is_estimated_by_its_size_for_dry_runs_and_pacing(bm):
    from bedrock_magics.request import estimate_tokens

    clip = mp4(b"\0" * 4_000_000)
    tokens = estimate_tokens(bm.request("Describe", model=NOVA, videos=[clip]))
    assert len(clip) / 4 <= tokens < len(clip) / 4 + 20  # its bytes at four to a token, not their repr


def test_video_refusals_are_one_line_and_send_nothing(bm):
    before = len(bm.usage())
    cases = [
        (dict(model=CLAUDE, videos=[mp4()]), "takes no videos"),
        (dict(model="us.amazon.nova-micro-v1:0", videos=[mp4()]), "takes no videos"),
        (dict(model=GPT_OSS, api="chat", videos=[mp4()]), r"Nova body\), not chat; use --api converse"),
        (dict(model=GPT_OSS, api="responses", videos=[mp4()]), r"Nova body\), not responses"),
        (dict(model=CLAUDE, api="invoke", videos=[mp4()]), "Nova's InvokeModel body only"),
        (dict(model=NOVA, videos=[mp4(), ebml(b"webm")]), "2 videos in one request; Bedrock takes one"),
        (dict(model=NOVA, videos=[mp4(b"\0" * 18_750_000)]), "25 MB encoded"),
        (dict(model=NOVA, videos=[b"RIFF\0\0\0\0AVI "]), "not one of mkv"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=message) as err:
            bm.ask("x", **options)
        assert "\n" not in str(err.value)
    assert len(bm.usage()) == before


def test_df_video_column_with_a_missing_file_errors_that_row_only(bm, tmp_path):
    (tmp_path / "a.mp4").write_bytes(mp4(b"a" * 100))
    (tmp_path / "b.webm").write_bytes(ebml(b"webm", b"b" * 100))
    frame = pd.DataFrame({"clip": [str(tmp_path / "a.mp4"), str(tmp_path / "gone.mp4"), str(tmp_path / "b.webm")],
                          "name": ["a", "gone", "b"]})
    result = bm.map(frame, "What happens in clip {name}?", model=NOVA, videos="{clip}", progress=False)
    assert result["answer_error"].isna().tolist() == [True, False, True]
    assert "no such file" in result["answer_error"].iloc[1] and "gone.mp4" in result["answer_error"].iloc[1]
    assert result["answer"].iloc[0] and result["answer"].iloc[2]
    assert len(bm.usage()) == 2  # the row whose file is missing was never sent


def test_df_video_column_on_top_of_a_video_is_each_rows_error(bm):
    frame = pd.DataFrame({"clip": [mp4(), mp4(b"other")]})
    result = bm.map(frame, "Compare", model=NOVA, videos=[ebml(b"webm"), "{clip}"], progress=False)
    assert all("2 videos in one request" in e for e in result["answer_error"])
    assert len(bm.usage()) == 0


def test_df_video_column_on_a_route_without_video_is_each_rows_error(bm):
    frame = pd.DataFrame({"clip": [mp4()]})
    result = bm.map(frame, "Describe", model=GPT_OSS, api="chat", videos="{clip}", progress=False)
    assert "not chat; use --api converse" in result["answer_error"].iloc[0]


@pytest.fixture
def ip(local_service, tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from test_magics import ip as magic_ip  # the shell of tests/test_magics.py, same setup

    yield from magic_ip.__wrapped__(InteractiveShell.instance(), local_service, tmp_path, monkeypatch)


def test_magic_video_option(ip, tmp_path):
    from test_magics import run_ok, usage_error

    ip.user_ns["clip"] = mp4(b"z" * 2000)
    run_ok(ip, f"%%bedrock ans --video clip -m {NOVA} -q\nWhat happens?")
    assert ip.user_ns["ans"].ok
    (tmp_path / "c.mov").write_bytes(mp4(brand=b"qt  "))
    run_ok(ip, f"%%bedrock ans --video {tmp_path / 'c.mov'} -m {NOVA} -q\nWhat happens?")
    assert ip.user_ns["ans"].ok
    assert "takes no videos" in usage_error(ip, f"%%bedrock --video clip -m {CLAUDE}\nhi")
    assert "no such file" in usage_error(ip, f"%%bedrock --video /nope/missing.mp4 -m {NOVA}\nhi")


def test_magic_df_video_column(ip, tmp_path):
    from test_magics import run_ok

    (tmp_path / "a.mp4").write_bytes(mp4())
    ip.user_ns["frame"] = pd.DataFrame({"clip": [str(tmp_path / "a.mp4"), str(tmp_path / "missing.mp4")]})
    run_ok(ip, f"%%bedrock out --df frame --video {{clip}} -m {NOVA}\nWhat happens?")
    errors = ip.user_ns["out"]["answer_error"]
    assert errors.isna().tolist() == [True, False] and "no such file" in errors.iloc[1]


# -- the service holds video to AWS's limits (real boto3) --------------------------------------------------

@pytest.fixture
def rt(local_env):
    return boto3.client("bedrock-runtime", region_name="us-east-1")


def refused(call, **kwargs) -> str:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    return err.value.response["Error"]["Message"]


def video(data: bytes = b"", fmt: str = "mp4") -> dict:
    return {"video": {"format": fmt, "source": {"bytes": data or mp4()}}}


def ask(*blocks: dict) -> list[dict]:
    return [{"role": "user", "content": [*blocks, {"text": "What happens?"}]}]


def test_service_answers_a_video_on_a_model_that_reads_video(rt):
    out = rt.converse(modelId=NOVA, messages=ask(video()))
    assert out["stopReason"] == "end_turn" and out["output"]["message"]["content"][0]["text"]


def test_service_refuses_a_format_outside_the_enum(rt):
    message = refused(rt.converse, modelId=NOVA, messages=ask(video(fmt="avi")))
    assert message == ("1 validation error detected: Value 'avi' at 'messages.1.member.content.1.member.video.format' "
                       "failed to satisfy constraint: Member must satisfy enum value set: "
                       "[mkv, mov, mp4, webm, flv, mpeg, mpg, wmv, three_gp]")


def test_service_refuses_a_second_video_and_an_oversized_one(rt):
    assert "single video" in refused(rt.converse, modelId=NOVA, messages=ask(video(), video(ebml(b"webm"), "webm")))
    big = mp4(b"\0" * 18_750_000)  # 25,000,024 bytes base64-encoded
    assert "less than 25MB base64-encoded" in refused(rt.converse, modelId=NOVA, messages=ask(video(big)))
    assert rt.converse(modelId=NOVA, messages=ask(video(mp4(b"\0" * 18_700_000))))["stopReason"] == "end_turn"


def test_service_refuses_video_in_a_nova_invoke_body_for_a_model_without_it(rt):
    body = {"messages": [{"role": "user", "content": [
        {"video": {"format": "mp4", "source": {"bytes": base64.b64encode(mp4()).decode()}}}, {"text": "Describe"}]}]}
    message = refused(rt.invoke_model, modelId="us.amazon.nova-micro-v1:0", body=json.dumps(body))
    assert message == "This model doesn't support the video field for user messages. Remove video and try again."
    out = json.loads(rt.invoke_model(modelId=NOVA, body=json.dumps(body))["body"].read())
    assert out["stopReason"] == "end_turn"


# -- reasoning: Amazon Nova 2 Lite's reasoningConfig -------------------------------------------------------

def test_nova2_reasoning_goes_in_reasoning_config_and_comes_back_redacted(bm):
    request = bm.request("Why is the sky blue?", model=NOVA2, reasoning="medium")
    kwargs = converse.converse_kwargs(request)
    assert kwargs["additionalModelRequestFields"] == {"reasoningConfig": {"type": "enabled",
                                                                          "maxReasoningEffort": "medium"}}
    plain = bm.ask("Why is the sky blue?", model=NOVA2)
    reply = bm.ask("Why is the sky blue?", model=NOVA2, reasoning="medium")
    assert reply.reasoning == "[REDACTED]" and reply.text == plain.text
    assert reply.output_tokens > plain.output_tokens  # the reasoning is billed though not shown


def test_nova2_reasoning_streams(bm):
    *deltas, reply = list(bm.stream("Why is the sky blue?", model=NOVA2, reasoning="low"))
    assert reply.reasoning == "[REDACTED]" and "".join(deltas) == reply.text


def test_nova2_high_effort_goes_without_max_tokens(bm):
    reply = bm.ask("Why is the sky blue?", model=NOVA2, reasoning="high")
    assert reply.ok and reply.reasoning == "[REDACTED]"
    kwargs = converse.converse_kwargs(bm.request("x", model=NOVA2, reasoning="high"))
    assert "maxTokens" not in kwargs.get("inferenceConfig", {})


def test_nova2_reasoning_on_invoke_model_is_in_the_body(bm):
    from bedrock_magics.routes import codecs

    request = bm.request("Why is the sky blue?", model=NOVA2, api="invoke", reasoning="low")
    assert request.extra["body"]["reasoningConfig"] == {"type": "enabled", "maxReasoningEffort": "low"}
    plain = bm.ask("Why is the sky blue?", model=NOVA2, api="invoke")
    reply = bm.ask("Why is the sky blue?", model=NOVA2, api="invoke", reasoning="low")
    assert reply.ok and reply.output_tokens > plain.output_tokens  # the service read the top-level reasoningConfig
    assert codecs.codec_for(NOVA2).family == "nova"
    *deltas, streamed = list(bm.stream("Why is the sky blue?", model=NOVA2, api="invoke", reasoning="low"))
    assert streamed.ok and "".join(deltas) == streamed.text == reply.text  # the reasoning is not the answer


def test_nova2_reasoning_constraints_are_one_line_before_sending(bm):
    before = len(bm.usage())
    for options, message in [
        (dict(reasoning="high", max_tokens=500), "takes no --max-tokens"),
        (dict(reasoning="high", temperature=0.3), "takes no --temperature"),
        (dict(reasoning="high", top_p=0.9), "takes no --top-p"),
        (dict(reasoning=2048), "a reasoning effort \\(low, medium, high\\), not a token budget"),
    ]:
        with pytest.raises(ValueError, match=message) as err:
            bm.ask("x", model=NOVA2, **options)
        assert "\n" not in str(err.value)
    # Below high, the inference settings stay the caller's.
    assert bm.ask("x", model=NOVA2, reasoning="low", max_tokens=500, temperature=0.3).ok
    assert len(bm.usage()) == before + 1


@pytest.mark.parametrize("model,endpoint", [("us.amazon.nova-pro-v1:0", "runtime"),
                                            ("deepseek.v3-v1:0", "runtime"), ("qwen.qwen3-32b-v1:0", "runtime")])
def test_models_without_a_documented_reasoning_switch_are_refused(bm, model, endpoint):
    with pytest.raises(ValueError, match="does not reason; --reasoning works with Claude"):
        bm.request("x", model=model, endpoint=endpoint, reasoning="low")


@pytest.mark.parametrize("model,endpoint", [("us.deepseek.r1-v1:0", "runtime"),
                                            ("moonshotai.kimi-k2-thinking", "mantle")])
def test_models_that_always_reason_take_no_setting(bm, model, endpoint):
    from bedrock_magics.errors import Note

    with pytest.warns(Note, match="always reasons"):
        request = bm.request("x", model=model, endpoint=endpoint, reasoning="high")
    assert request.reasoning is None and "reasoning" not in request.extra


def test_magic_nova2_reasoning(ip):
    from test_magics import run_ok, usage_error

    run_ok(ip, f"%%bedrock ans --reasoning low -m {NOVA2} -q\nWhy?")
    assert ip.user_ns["ans"].reasoning == "[REDACTED]"
    assert "takes no --max-tokens" in usage_error(ip, f"%%bedrock --reasoning high --max-tokens 100 -m {NOVA2}\nWhy?")


# -- the service holds reasoningConfig to AWS's rules (real boto3) ------------------------------------------

def config(effort: str = "low", kind: str = "enabled") -> dict:
    return {"reasoningConfig": {"type": kind, "maxReasoningEffort": effort}}


def test_service_answers_nova2_reasoning_redacted(rt):
    out = rt.converse(modelId=NOVA2, messages=ask(), additionalModelRequestFields=config())
    first = out["output"]["message"]["content"][0]
    assert first == {"reasoningContent": {"reasoningText": {"text": "[REDACTED]"}}}
    plain = rt.converse(modelId=NOVA2, messages=ask())
    assert out["usage"]["outputTokens"] > plain["usage"]["outputTokens"]
    off = rt.converse(modelId=NOVA2, messages=ask(), additionalModelRequestFields=config(kind="disabled"))
    assert off["usage"]["outputTokens"] == plain["usage"]["outputTokens"]


def test_service_refuses_reasoning_config_as_aws_does(rt):
    malformed = ("The model returned the following errors: Malformed input request: the provided reasoning config "
                 "value is invalid, please reformat your input and try again.")
    assert refused(rt.converse, modelId="us.amazon.nova-pro-v1:0", messages=ask(),
                   additionalModelRequestFields=config()) == malformed
    assert refused(rt.converse, modelId=NOVA2, messages=ask(), additionalModelRequestFields=config("max")) == malformed
    assert "Unknown parameter: 'reasoningConfig'" in refused(
        rt.converse, modelId=GPT_OSS, messages=ask(), additionalModelRequestFields=config())
    high = refused(rt.converse, modelId=NOVA2, messages=ask(), inferenceConfig={"maxTokens": 500},
                   additionalModelRequestFields=config("high"))
    assert high == ("The model returned the following errors: `maxTokens` must be unset when reasoningConfig type is "
                    "'enabled' and maxReasoningEffort is 'high'. Please consult our documentation at "
                    "https://docs.aws.amazon.com/nova/latest/userguide")
    assert "`temperature` must be unset" in refused(rt.converse, modelId=NOVA2, messages=ask(),
                                                    inferenceConfig={"temperature": 0.2},
                                                    additionalModelRequestFields=config("high"))
    assert "`topK` must be unset" in refused(rt.converse, modelId=NOVA2, messages=ask(), additionalModelRequestFields={
        **config("high"), "inferenceConfig": {"topK": 20}})
    assert rt.converse(modelId=NOVA2, messages=ask(), inferenceConfig={"maxTokens": 500},
                       additionalModelRequestFields=config("medium"))["stopReason"] == "end_turn"


def test_service_reads_reasoning_config_at_the_top_of_a_nova_invoke_body(rt):
    body = {"messages": [{"role": "user", "content": [{"text": "Why?"}]}],
            "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low"}}
    out = json.loads(rt.invoke_model(modelId=NOVA2, body=json.dumps(body))["body"].read())
    assert out["output"]["message"]["content"][0] == {"reasoningContent": {"reasoningText": {"text": "[REDACTED]"}}}
    body["reasoningConfig"]["maxReasoningEffort"] = "high"
    body["inferenceConfig"] = {"maxTokens": 100}
    assert "`maxTokens` must be unset" in refused(rt.invoke_model, modelId=NOVA2, body=json.dumps(body))
    del body["inferenceConfig"]
    assert "Malformed input request" in refused(rt.invoke_model, modelId="us.amazon.nova-lite-v1:0",
                                                body=json.dumps(body))


def test_service_streams_nova2_invoke_reasoning_as_its_docs_show(rt):
    body = {"messages": [{"role": "user", "content": [{"text": "Why?"}]}],
            "reasoningConfig": {"type": "enabled", "maxReasoningEffort": "low"}}
    events = [json.loads(e["chunk"]["bytes"]) for e in
              rt.invoke_model_with_response_stream(modelId=NOVA2, body=json.dumps(body))["body"]]
    deltas = [e["contentBlockDelta"]["delta"] for e in events if "contentBlockDelta" in e]
    reasoning = "".join(d["reasoningContent"]["reasoningText"]["text"] for d in deltas if "reasoningContent" in d)
    assert reasoning == "[REDACTED]" and "".join(d.get("text", "") for d in deltas)
