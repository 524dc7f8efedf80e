"""Named conversations as a user meets them: history kept per name, reset, transcripts, and mantle
Responses continuing server-side by ``previous_response_id``; real calls to the local service."""

from __future__ import annotations

import pytest

from bedrock_magics.conversation import DEFAULT_NAME, UnknownConversation, chat_name, uses_server_state



def test_chat_names():
    assert chat_name(None) is None and chat_name(False) is None
    assert chat_name(True) == DEFAULT_NAME
    assert chat_name("notes") == "notes"


def test_only_mantle_responses_keeps_state_on_the_server():
    assert uses_server_state("mantle", "responses")
    assert not uses_server_state("runtime", "responses")
    assert not uses_server_state("runtime", "converse")
    assert not uses_server_state("mantle", "chat")


def test_history_grows_per_name_and_is_sent_with_the_next_turn(bm):
    bm.ask("echo: first answer", chat="a")
    bm.ask("echo: other", chat="b")
    bm.ask("echo: second answer", chat="a")
    a = bm.chats.get("a")
    assert a.turns == 2
    assert [m["role"] for m in a.messages] == ["user", "assistant", "user", "assistant"]
    assert a.messages[1]["content"][0]["text"] == "first answer"
    request = bm.request("and then?", chat="a")
    assert request.messages[:4] == tuple(a.messages)  # the history goes with the new prompt
    assert request.prompt == "and then?"
    assert bm.chats.names() == ["a", "b"]
    assert "first answer" in a.transcript()


def test_a_failed_turn_is_not_remembered(bm):
    bm.ask("echo: kept", chat="c")
    with pytest.raises(Exception):
        bm.ask("hi", chat="c", model="amazon.no-such-model-v9:0")
    assert bm.chats.get("c").turns == 1


def test_reset_forgets_one_or_all_and_unknown_names_are_refused(bm):
    bm.ask("echo: one", chat="x")
    bm.ask("echo: two", chat="y")
    assert bm.reset_chat("x") == ["x"]
    assert "x" not in bm.chats and "y" in bm.chats
    with pytest.raises(UnknownConversation, match="x"):
        bm.reset_chat("x")
    assert bm.reset_chat() == ["y"]
    assert bm.chats.names() == []


def test_mantle_responses_continues_by_previous_response_id(bm):
    first = bm.ask("My name is Ada.", chat="m", endpoint="mantle")
    request = bm.request("What is my name?", chat="m", endpoint="mantle")
    assert request.previous_response_id == first.response_id
    assert len(request.messages) == 1  # only the new turn is sent: the server has the rest
    second = bm.ask("What is my name?", chat="m", endpoint="mantle")
    assert second.ok and second.response_id != first.response_id
    assert bm.request("and now?", chat="m", endpoint="mantle").previous_response_id == second.response_id


def test_the_conversations_frame_lists_each_name(bm):
    bm.ask("echo: hi", chat="f")
    frame = bm.chats.frame()
    assert "f" in set(frame.iloc[:, 0]) or "f" in set(frame.get("name", []))
