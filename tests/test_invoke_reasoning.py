"""--reasoning read back on the InvokeModel API (--api invoke): Claude's thinking blocks, Amazon Nova 2
Lite's reasoningContent and gpt-oss's <reasoning>…</reasoning> prefix, sent and streamed, through real
boto3 and the real magic against the local service; Claude's thinking kept in the history and sent back
(with its signature) on tool-use rounds and chat follow-ups; and the local service's checks of thinking
blocks sent back raw with boto3."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from bedrock_magics import display
from bedrock_magics.routes import codecs
from bedrock_magics.routes._features import InlineReasoning
from bedrock_magics.reply import Thinking

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA2 = "us.amazon.nova-2-lite-v1:0"
GPT_OSS = "openai.gpt-oss-120b-1:0"
MODELS = [CLAUDE, NOVA2, GPT_OSS]
QUESTION = "Why is the sky blue?"


def lookup(term: str) -> str:
    """Look a term up in the glossary."""
    return f"{term}: a fully managed service for foundation models"


# -- sent and streamed ---------------------------------------------------------------------------------

@pytest.mark.parametrize("model", MODELS)
def test_the_reasoning_comes_back_apart_from_the_answer(bm, model):
    plain = bm.ask(QUESTION, model=model, api="invoke")
    reply = bm.ask(QUESTION, model=model, api="invoke", reasoning="low")
    assert reply.ok and reply.reasoning and reply.api == "invoke"
    assert reply.text == plain.text  # the reasoning is not part of the answer
    assert "<reasoning>" not in reply.text and reply.reasoning not in reply.text
    if model == NOVA2:
        assert reply.reasoning == "[REDACTED]"  # nova2-userguide/reasoning-capabilities.html
    else:
        assert reply.reasoning.startswith("1. The local Bedrock service reads the request")


@pytest.mark.parametrize("model", MODELS)
def test_the_reasoning_streams_to_its_callback_not_into_the_answer(bm, model):
    sent = bm.ask(QUESTION, model=model, api="invoke", reasoning="low")
    seen: list[str] = []
    *deltas, reply = list(bm.stream(QUESTION, model=model, api="invoke", reasoning="low", on_reasoning=seen.append))
    assert reply.streamed and reply.ok
    assert "".join(deltas) == reply.text == sent.text
    assert "".join(seen) == reply.reasoning == sent.reasoning
    assert not any("reasoning>" in d for d in deltas)


def test_reasoning_tokens_only_where_the_body_reports_them(bm):
    for stream in (False, True):
        gpt = (list(bm.stream(QUESTION, model=GPT_OSS, api="invoke", reasoning="high"))[-1] if stream
               else bm.ask(QUESTION, model=GPT_OSS, api="invoke", reasoning="high"))
        assert 0 < gpt.reasoning_tokens < gpt.output_tokens  # completion_tokens_details.reasoning_tokens
        row = bm.usage().iloc[-1]
        assert row["reasoning_tokens"] == gpt.reasoning_tokens
    claude = bm.ask(QUESTION, model=CLAUDE, api="invoke", reasoning="low")
    assert claude.reasoning and claude.reasoning_tokens == 0  # Claude's usage does not count thinking apart
    assert "reasoning_tokens" not in claude.usage


def test_claudes_thinking_is_kept_signed_in_the_assistant_turn(bm):
    for reply in (bm.ask(QUESTION, model=CLAUDE, api="invoke", reasoning="low"),
                  list(bm.stream(QUESTION, model=CLAUDE, api="invoke", reasoning="low"))[-1]):
        first, *rest = reply.message["content"]
        thought = first["reasoningContent"]["reasoningText"]
        assert thought["text"] == reply.reasoning and thought["signature"]
        assert rest == [{"text": reply.text}]


# -- Claude's thinking sent back ---------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True])
def test_a_tool_round_with_thinking_sends_the_signed_thinking_back(bm, stream):
    # The service refuses a tool-result turn whose tool-use turn lost its thinking, as Claude does.
    args = dict(model=CLAUDE, api="invoke", reasoning="low", tools=[lookup])
    reply = (list(bm.stream("Use lookup with term=bedrock", **args))[-1] if stream
             else bm.ask("Use lookup with term=bedrock", **args))
    assert reply.ok and reply.reasoning and not reply.tool_calls
    assert list(bm.usage()["status"]) == ["ok", "ok"]


def test_a_chat_follow_up_on_invoke_model_sends_the_thinking_back(bm):
    first = bm.ask("Use lookup with term=bedrock", model=CLAUDE, api="invoke", reasoning="low", tools=[lookup],
                   chat="t")
    second = bm.ask("And what did you find?", model=CLAUDE, api="invoke", reasoning="low", chat="t")
    assert first.ok and second.ok and second.reasoning
    history = bm.chats.get("t").messages
    signed = [b for m in history for b in m["content"] if "reasoningContent" in b]
    assert len(signed) == 3  # the tool-use turn's, the answer's and the follow-up's
    body = codecs.Anthropic().encode(bm.request("again", model=CLAUDE, api="invoke", reasoning="low", chat="t"))
    kinds = [[p["type"] for p in m["content"]] for m in body["messages"] if m["role"] == "assistant"]
    assert kinds == [["thinking", "tool_use"], ["thinking", "text"], ["thinking", "text"]]


def test_unsigned_reasoning_from_another_model_is_not_sent_to_claude(bm):
    bm.ask("hello", model=GPT_OSS, api="converse", reasoning="low", chat="mix")
    reply = bm.ask("and again", model=CLAUDE, api="invoke", reasoning="low", chat="mix")
    assert reply.ok
    body = codecs.Anthropic().encode(bm.request("x", model=CLAUDE, api="invoke", chat="mix"))
    assert all(p["type"] != "thinking" or p["signature"] for m in body["messages"] for p in m["content"])


def test_redacted_thinking_is_kept_and_sent_back_as_it_came():
    # Claude's redacted_thinking (claude-messages-extended-thinking.html): opaque data, no text to show.
    codec = codecs.Anthropic()
    body = {"id": "msg_1", "type": "message", "role": "assistant", "stop_reason": "end_turn",
            "usage": {"input_tokens": 5, "output_tokens": 9},
            "content": [{"type": "redacted_thinking", "data": "EmwKAhgBEgy"}, {"type": "text", "text": "Blue."}]}
    decoded = codec.decode(body)
    assert decoded.text == "Blue." and decoded.reasoning == ""
    assert decoded.reasoning_blocks == [{"reasoningContent": {"redactedContent": "EmwKAhgBEgy"}}]
    stream = codec.stream()
    pieces = [p for chunk in (
        {"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 5, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "redacted_thinking", "data": "EmwKAhgBEgy"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Blue."}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}},
    ) for p in stream.feed(chunk)]
    assert pieces == ["Blue."] and stream.result().reasoning_blocks == decoded.reasoning_blocks


# -- the magic ---------------------------------------------------------------------------------------------

@pytest.fixture
def ip(local_service, tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    from test_magics import ip as magic_ip  # the shell of tests/test_magics.py, same setup

    yield from magic_ip.__wrapped__(InteractiveShell.instance(), local_service, tmp_path, monkeypatch)


@pytest.mark.parametrize("model", MODELS)
def test_magic_shows_the_reasoning_collapsed_sent_and_streamed(ip, model):
    from test_magics import bundles, run_ok

    _, sent = run_ok(ip, f"%%bedrock ans --api invoke --reasoning low -m {model} --no-stream\n{QUESTION}")
    reply = ip.user_ns["ans"]
    final = bundles(sent)[-1]["text/markdown"]
    assert final.index(reply.text[:20]) < final.index("<details><summary>Reasoning</summary>") < final.index("<sub>")
    assert display.reasoning_md(reply) in final and "&lt;reasoning&gt;" not in final

    _, streamed = run_ok(ip, f"%%bedrock ans --api invoke --reasoning low -m {model} --stream\n{QUESTION}")
    reply = ip.user_ns["ans"]
    assert reply.streamed and reply.reasoning
    markdown = [b["text/markdown"] for b in bundles(streamed) if "text/markdown" in b]
    assert "<details><summary>Reasoning</summary>" in markdown[-1]  # the finished rendering
    # The first piece (the reasoning, which comes first) is shown at once, dimmed, before any answer.
    assert markdown[1].startswith('<div style="opacity:0.6;white-space:pre-wrap">') and reply.text[:10] not in markdown[1]
    assert all("reasoning&gt;" not in m and "<reasoning>" not in m for m in markdown)


# -- reading gpt-oss's tags as they stream ------------------------------------------------------------------

@pytest.mark.parametrize("pieces", [
    ["<reasoning>think</reasoning>", "The answer."],
    ["<reasoning>th", "ink</reasoning><reasoning> more</reasoning>", "\n\nThe", " answer."],
    ["<reas", "oning>think</reas", "oning>The answer."],
    ["The answer."],
])
def test_inline_reasoning_is_split_however_the_deltas_cut_it(pieces):
    reader = InlineReasoning()
    out = [p for piece in pieces for p in reader.feed(piece)] + reader.finish()
    answer = "".join(p for p in out if isinstance(p, str))
    thought = "".join(p.text for p in out if isinstance(p, Thinking))
    assert answer == "The answer."
    assert thought.strip() in ("think", "think more", "")


# -- the local service holds returned thinking blocks to Claude's rules (real boto3) ------------------------

@pytest.fixture
def rt(local_env):
    return boto3.client("bedrock-runtime", region_name="us-east-1")


def _claude(rt, messages: list[dict], thinking: bool = True) -> dict:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 4000, "messages": messages,
            "tools": [{"name": "lookup", "description": "Look up", "input_schema": {
                "type": "object", "properties": {"term": {"type": "string"}}, "required": ["term"]}}]}
    if thinking:
        body["thinking"] = {"type": "enabled", "budget_tokens": 1024}
    return json.loads(rt.invoke_model(modelId=CLAUDE, body=json.dumps(body))["body"].read())


def _refused(rt, messages: list[dict], thinking: bool = True) -> str:
    with pytest.raises(ClientError) as info:
        _claude(rt, messages, thinking)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    return info.value.response["Error"]["Message"]


def test_service_wants_the_signed_thinking_before_a_tool_result(rt):
    ask = {"role": "user", "content": "Use lookup with term=bedrock"}
    first = _claude(rt, [ask])
    thinking, *rest = first["content"]
    assert thinking["type"] == "thinking" and thinking["signature"] and rest[-1]["type"] == "tool_use"
    result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": rest[-1]["id"],
                                           "content": [{"type": "text", "text": "found"}]}]}
    assert _claude(rt, [ask, {"role": "assistant", "content": first["content"]}, result])["stop_reason"] == "end_turn"

    without = _refused(rt, [ask, {"role": "assistant", "content": rest}, result])
    assert without.startswith("The model returned the following errors: messages.1.content.0.type: Expected "
                              "`thinking` or `redacted_thinking`, but found `tool_use`.")
    assert _claude(rt, [ask, {"role": "assistant", "content": rest}, result], thinking=False)  # thinking off: fine

    unsigned = [{**thinking, "signature": ""}, *rest]
    assert "messages.1.content.0.thinking.signature: Field required" in _refused(
        rt, [ask, {"role": "assistant", "content": unsigned}, result])
    forged = [{**thinking, "thinking": thinking["thinking"] + " (edited)"}, *rest]
    assert "messages.1.content.0: Invalid signature in thinking block" in _refused(
        rt, [ask, {"role": "assistant", "content": forged}, result])


def test_service_streams_gpt_oss_reasoning_in_tags_per_piece(rt):
    body = {"messages": [{"role": "user", "content": QUESTION}], "reasoning_effort": "low"}
    sent = json.loads(rt.invoke_model(modelId=GPT_OSS, body=json.dumps(body))["body"].read())
    content = sent["choices"][0]["message"]["content"]
    assert content.startswith("<reasoning>") and content.count("</reasoning>") == 1  # one block, then the answer
    events = rt.invoke_model_with_response_stream(modelId=GPT_OSS, body=json.dumps(body))["body"]
    chunks = [json.loads(e["chunk"]["bytes"]) for e in events if "chunk" in e]
    texts = [c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")]
    tagged = [t for t in texts if t.startswith("<reasoning>")]
    assert len(tagged) > 1 and all(t.endswith("</reasoning>") for t in tagged)
