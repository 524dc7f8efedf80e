"""The documented rules of the local service's deterministic model, tokenizer and event-stream encoder."""

from __future__ import annotations

import json
import math
import re

import pytest
from botocore.eventstream import EventStreamBuffer

from bedrock_magics.local import eventstream, responder, tokens
from bedrock_magics.local.wire import chat as wire_chat

WEATHER = {"toolSpec": {"name": "get_weather", "description": "Weather for a city", "inputSchema": {"json": {
    "type": "object", "required": ["city"],
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": "boolean"},
                   "units": {"enum": ["celsius", "fahrenheit"]}}}}}}


def user(text: str) -> dict:
    return {"role": "user", "content": [{"text": text}]}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": [{"text": text}]}


# -- tokens ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, n", [("", 0), ("   ", 0), ("Hello, world!", 4), ("don't stop", 4),
                                     ("a-b_c 3.14", 6), ("Olá, mundo", 3)])
def test_count_counts_words_and_single_punctuation_marks(text, n):
    assert tokens.count(text) == n


@pytest.mark.parametrize("text", ["", "  leading", "trailing  ", "a  b\n\nc.", "x", "  ", "tab\tand, more!  "])
def test_split_pieces_join_back_to_the_text_one_token_each(text):
    pieces = tokens.split(text)
    assert "".join(pieces) == text
    assert all(tokens.count(p) == 1 for p in pieces if p.strip())
    assert len([p for p in pieces if p.strip()]) == tokens.count(text)


# -- what the model says ----------------------------------------------------------------------------

def test_default_reply_quotes_the_prompt_then_a_filler_sentence():
    answer = responder.respond("some.model-v1:0", [user("Hello there")])
    m = re.fullmatch(r'Local Bedrock reply from some\.model-v1:0: You said: "Hello there"\. ([A-Z][a-z]*(?: [a-z0-9]+)*)\.',
                     answer.text)
    assert m, answer.text
    assert 15 <= len(m.group(1).split()) <= 40
    assert answer.stop_reason == "end_turn" and answer.tool_call is None
    assert answer.output_tokens == tokens.count(answer.text)


def test_reply_is_a_pure_function_of_the_conversation():
    convo = [user("Name three rivers")]
    first = responder.respond("m", convo, system="Be brief")
    assert responder.respond("m", convo, system="Be brief").text == first.text
    assert responder.respond("m", convo, system="Be verbose").text != first.text
    assert responder.respond("m", [user("Name four rivers")]).text != first.text


def test_only_the_first_80_characters_of_the_last_user_text_are_quoted():
    prompt = "x" * 50 + " " + "y" * 50
    answer = responder.respond("m", [user("earlier"), assistant("ok"), user(prompt)])
    assert f'You said: "{prompt[:80]}".' in answer.text


def test_echo_returns_exactly_what_follows():
    answer = responder.respond("m", [user("Please echo:   exactly this, please.  ")])
    assert answer.text == "exactly this, please."
    assert answer.output_tokens == 5  # "exactly", "this", ",", "please", "."


def test_max_tokens_cuts_the_reply_to_that_many_tokens():
    full = responder.respond("m", [user("Tell me a story")]).text
    cut = responder.respond("m", [user("Tell me a story")], max_tokens=7)
    assert cut.stop_reason == "max_tokens"
    assert cut.output_tokens == tokens.count(cut.text) == 7
    assert full.startswith(cut.text)


def test_a_stop_sequence_cuts_before_its_first_occurrence():
    answer = responder.respond("m", [user("echo: one, two, three, two")], stop=["two", "zzz"])
    assert answer.text == "one, "
    assert answer.stop_reason == "stop_sequence" and answer.stop_sequence == "two"


def test_max_tokens_wins_when_the_stop_sequence_comes_later():
    answer = responder.respond("m", [user("echo: a b c d e f")], stop=["f"], max_tokens=2)
    assert (answer.text, answer.stop_reason) == ("a b", "max_tokens")


def test_input_tokens_count_system_messages_and_tool_schemas():
    convo = [user("Hi there"), assistant("Hello!"), user("Bye")]
    expected = tokens.count("Be nice") + (3 + 2) + (3 + 2) + (3 + 1)
    assert responder.respond("m", convo, system="Be nice").input_tokens == expected
    with_tool = responder.respond("m", convo, system="Be nice", tools=[WEATHER]).input_tokens
    assert with_tool == expected + tokens.count(responder.as_tool(WEATHER).canonical())
    assert responder.count_input(convo, "Be nice", [WEATHER]) == with_tool


def test_chunks_join_back_to_the_text_in_several_deltas():
    answer = responder.respond("m", [user("Stream please")])
    chunks = answer.chunks()
    assert len(chunks) > 3 and "".join(chunks) == answer.text


# -- tools ------------------------------------------------------------------------------------------

def test_naming_an_offered_tool_calls_it_with_typed_values_from_the_prompt():
    answer = responder.respond("m", [user("Use get_weather for city=Paris days=3 metric=yes.")], tools=[WEATHER])
    assert answer.stop_reason == "tool_use" and answer.text == ""
    call = answer.tool_call
    assert call["name"] == "get_weather" and call["id"].startswith("tooluse_")
    assert call["input"] == {"city": "Paris", "days": 3, "metric": True}  # optional "units" not asked for
    assert "".join(answer.tool_input_fragments()) == json.dumps(call["input"])


def test_quoted_values_and_placeholders():
    answer = responder.respond("m", [user('get_weather city="New York"')], tools=[WEATHER])
    assert answer.tool_call["input"] == {"city": "New York"}  # the optional properties are left out


def test_required_properties_get_defaults_or_type_correct_defaults():
    tool = {"toolSpec": {"name": "book", "inputSchema": {"json": {
        "type": "object", "required": ["city", "days", "metric", "units", "seats"],
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": "boolean"},
                       "units": {"enum": ["celsius", "fahrenheit"]}, "seats": {"type": "integer", "default": 2},
                       "note": {"type": "string"}}}}}}
    answer = responder.respond("m", [user("book it")], tools=[tool])
    assert answer.tool_call["input"] == {"city": "", "days": 0, "metric": False, "units": "celsius", "seats": 2}


def test_tool_choice_controls_whether_a_tool_is_called():
    no_name = [user("What should I wear?")]
    assert responder.respond("m", no_name, tools=[WEATHER]).tool_call is None
    # "weather" names get_weather: every word of the name but the verb "get"
    assert responder.respond("m", [user("What is the weather?")], tools=[WEATHER]).tool_call["name"] == "get_weather"
    # a CamelCase name splits into words the same way (GetWeather: "weather")
    camel = {"toolSpec": {**WEATHER["toolSpec"], "name": "GetWeather"}}
    assert responder.respond("m", [user("what's the weather in ny and la")], tools=[camel]).tool_call["name"] == \
        "GetWeather"
    # words that say what kind of thing a tool is (Dict, Schema, Model…) need not be named
    joke = {"toolSpec": {**WEATHER["toolSpec"], "name": "JokeDict"}}
    assert responder.respond("m", [user("Tell me a joke about cats.")], tools=[joke]).tool_call["name"] == "JokeDict"
    # one tool, asked for by no name: "using the tool" calls it, its free-text argument from the prompt
    styled = {"toolSpec": {"name": "greeting_generator", "description": "A greeting in a style", "inputSchema": {
        "json": {"type": "object", "properties": {"answer_style": {"type": "string"}}, "required": ["answer_style"]}}}}
    call = responder.respond("m", [user("Using the tool, generate a Pirate greeting.")], tools=[styled]).tool_call
    assert call["name"] == "greeting_generator" and call["input"] == {"answer_style": "Pirate"}
    assert responder.respond("m", [user("Using the tool, say hi.")], tools=[styled, WEATHER]).tool_call is None
    assert responder.respond("m", no_name, tools=[WEATHER], tool_choice="any").tool_call["name"] == "get_weather"
    assert responder.respond("m", no_name, tools=[WEATHER], tool_choice="get_weather").tool_call is not None
    named = [user("call get_weather city=Oslo")]
    assert responder.respond("m", named, tools=[WEATHER], tool_choice="none").tool_call is None
    assert responder.respond("m", named).tool_call is None  # not offered


def test_after_a_tool_result_the_reply_reports_it():
    first = responder.respond("m", [user("get_weather city=Oslo")], tools=[WEATHER])
    tc = first.tool_call
    convo = [user("get_weather city=Oslo"),
             {"role": "assistant", "content": [{"toolUse": {"toolUseId": tc["id"], "name": tc["name"],
                                                            "input": tc["input"]}}]},
             {"role": "user", "content": [{"toolResult": {"toolUseId": tc["id"], "content": [{"text": "-3C, snow"}]}}]}]
    answer = responder.respond("m", convo, tools=[WEATHER])
    assert answer.text == "Local Bedrock reply from m: the tool get_weather returned -3C, snow."
    assert answer.stop_reason == "end_turn"


def test_chat_messages_normalize_to_the_converse_conversation():
    tc = responder.respond("m", [user("get_weather city=Oslo")], tools=[WEATHER]).tool_call
    chat = [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "get_weather city=Oslo"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": json.dumps(tc["input"])}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "-3C"}]
    system, messages = wire_chat.from_chat(chat)
    converse = [user("get_weather city=Oslo"),
                {"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_x", "name": "get_weather",
                                                               "input": tc["input"]}}]},
                {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_x", "content": [{"text": "-3C"}]}}]}]
    a = responder.respond("m", messages, system, tools=[WEATHER])
    b = responder.respond("m", converse, "Be brief", tools=[WEATHER])
    assert (a.text, a.input_tokens) == (b.text, b.input_tokens)


def test_a_chat_body_makes_the_call_the_converse_form_makes():
    body = {"messages": [{"role": "developer", "content": "Be brief"},
                         {"role": "user", "content": "echo: one two three four"},
                         {"role": "assistant", "content": "one two"},
                         {"role": "tool", "tool_call_id": "call_1", "content": "-3C"},
                         {"role": "tool", "tool_call_id": "call_2", "content": "sunny"}],
            "max_tokens": 50, "max_completion_tokens": 2, "stop": "four",
            "tools": [{"type": "function", "function": {"name": "get_weather"}}], "tool_choice": "none"}
    call = wire_chat.chat_call(body, {"modelId": "m"})
    assert (call.system, call.max_tokens, call.stop, call.tool_choice) == ("Be brief", 2, ["four"], "none")
    assert [t.name for t in call.tools] == ["get_weather"]
    assert call.messages[-1] == {"role": "user", "content": [  # consecutive tool messages: one user message
        {"toolResult": {"toolUseId": "call_1", "content": [{"text": "-3C"}]}},
        {"toolResult": {"toolUseId": "call_2", "content": [{"text": "sunny"}]}}]}
    expected = responder.respond("m", call.messages, "Be brief", 2, ["four"], call.tools, "none")
    assert call.answer == expected and call.input_tokens == expected.input_tokens
    with pytest.raises(ValueError):
        wire_chat.chat_call({"messages": [{"role": "robot", "content": "Hi"}]}, {"modelId": "m"})


@pytest.mark.parametrize("text, parts", [("", 3), ("ab", 3), ('{"city": "Oslo"}', 3), ("abcdefg", 2)])
def test_fragments_join_back_in_at_most_the_parts_asked(text, parts):
    pieces = responder.fragments(text, parts)
    assert "".join(pieces) == text and len(pieces) <= parts


# -- embeddings -------------------------------------------------------------------------------------

def _cos(a, b):
    return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def test_embeddings_are_deterministic_unit_vectors_of_the_asked_size():
    v = responder.embed("the quick brown fox", 256)
    assert len(v) == 256 and v == responder.embed("the quick brown fox", 256)
    assert math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-4)
    raw = responder.embed("the quick brown fox", 256, normalize=False)
    assert not math.isclose(math.sqrt(sum(x * x for x in raw)), 1.0, rel_tol=1e-2)


def test_texts_sharing_words_are_closer():
    base = responder.embed("cats sleep on warm windows")
    assert _cos(base, responder.embed("cats sleep on the sofa")) > _cos(base, responder.embed("bond yields rose today"))


# -- event-stream framing (parsed by botocore itself) ------------------------------------------------

def test_event_frames_parse_with_botocore():
    buf = EventStreamBuffer()
    buf.add_data(eventstream.event("contentBlockDelta", {"delta": {"text": "hé"}, "contentBlockIndex": 0})
                 + eventstream.exception("throttlingException", "Too many requests, please wait before trying again."))
    event, exc = list(buf)
    assert event.headers == {":event-type": "contentBlockDelta", ":content-type": "application/json",
                             ":message-type": "event"}
    assert json.loads(event.payload) == {"delta": {"text": "hé"}, "contentBlockIndex": 0}
    assert exc.headers[":message-type"] == "exception" and exc.headers[":exception-type"] == "throttlingException"
    assert json.loads(exc.payload)["message"].startswith("Too many requests")
    assert eventstream.exception_type("ModelStreamErrorException") == "modelStreamErrorException"
