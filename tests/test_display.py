"""What a user sees of a reply: the rendering of answers, failures and footers, and the stream view,
for replies of real calls to the local service."""

from __future__ import annotations

import pytest

from bedrock_magics import display, streamview
from bedrock_magics.errors import BedrockError



def test_the_footer_names_model_route_tokens_latency_and_cost(bm):
    reply = bm.ask("echo: hello there", model="us.amazon.nova-lite-v1:0")
    line = display.footer(reply)
    parts = line.split(" · ")
    assert parts[0] == "us.amazon.nova-lite-v1:0"
    assert parts[1] == "runtime/converse"
    assert parts[2] == f"{reply.input_tokens:,} in / {reply.output_tokens:,} out tokens"
    assert parts[3].endswith(("ms", "s"))
    assert parts[4].startswith("est. $")  # the local model ids are priced from the bundled table


def test_markdown_and_plain_show_the_answer_then_the_footer(bm):
    reply = bm.ask("echo: **bold** answer")
    assert display.plain(reply) == f"**bold** answer\n{display.footer(reply)}"
    md = display.markdown(reply)
    assert md.startswith("**bold** answer")
    assert display.footer(reply) in md


def test_an_answer_cut_at_max_tokens_says_so_in_the_footer(bm):
    reply = bm.ask("Tell me a long story about a lighthouse keeper and the sea.", max_tokens=3)
    assert reply.cut_off
    assert "answer cut off; raise --max-tokens" in display.footer(reply)


def test_json_format_pretty_prints_valid_json_and_says_when_it_is_not(bm):
    good = bm.ask('echo: {"a": 1, "b": [2, 3]}')
    bundle = display.mimebundle(good, "json")
    assert bundle["application/json"] == {"a": 1, "b": [2, 3]}
    assert bundle["text/plain"].startswith('{\n  "a": 1,')
    bad = bm.ask("echo: {not json")
    assert "not valid JSON" in display.mimebundle(bad, "json")["text/plain"]


def test_html_format_is_sandboxed(bm):
    reply = bm.ask("echo: <script>alert(1)</script><b>hi</b>")
    html = display.mimebundle(reply, "html")["text/html"]
    assert '<iframe sandbox=""' in html
    assert "<script>" not in html  # escaped into srcdoc, never live in the notebook


def test_a_failed_call_renders_its_code_and_one_line(bm):
    with pytest.raises(BedrockError) as caught:
        bm.ask("hi", model="amazon.no-such-model-v9:0")
    reply = caught.value.reply
    text = display.plain(reply)
    first, footer = text.split("\n")
    assert first == f"{reply.error_code}: {reply.error}"
    assert footer == display.footer(reply)
    assert "Traceback" not in text


def test_the_stream_view_shows_the_pieces_and_returns_the_final_reply(bm):
    view = streamview.StreamView(label="us.amazon.nova-lite-v1:0", fmt="markdown", shell=None)
    reply = view.run(bm.stream("echo: streamed words arrive in order"))
    assert reply.text == "streamed words arrive in order"
    assert view.text == reply.text  # what was shown is what was answered
    assert reply.streamed


def test_tool_rounds_total_the_tokens_of_every_round(bm):
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    seen: list[str] = []
    rounds = display.ToolRounds(echo=seen.append)
    reply = bm.ask("What is 2 + 3? Use the add tool.", tools=[add], on_round=rounds)
    rounds.attach(reply)
    line = display.footer(reply)
    assert seen and seen[0].startswith("🔧 add(")  # each round is echoed as it happens
    rows = bm.usage()
    assert len(rows) == 2  # the local model calls the tool once, then answers
    assert line.split(" · ")[2:4] == [f"{int(rows['input_tokens'].sum()):,} in / "
                                      f"{int(rows['output_tokens'].sum()):,} out tokens", "2 rounds"]
