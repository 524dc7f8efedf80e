"""--schema, --reasoning, --prompt-cache and --image/--document: real boto3 / openai clients against
the local service, per route; costs checked against the price table."""

from __future__ import annotations

import math
from typing import TypedDict

import pandas as pd
import pytest
from pydantic import BaseModel

from bedrock_magics import prices
from bedrock_magics.errors import BedrockError
from bedrock_magics.routes import converse
from bedrock_magics.schema import SchemaError, as_schema

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-lite-v1:0"  # no native structured output: a forced tool carries the schema
GPT_OSS = "openai.gpt-oss-120b"


class Review(BaseModel):
    sentiment: str
    stars: int


class ReviewDict(TypedDict):
    sentiment: str
    stars: int


ROUTES = [("runtime", "converse", CLAUDE), ("runtime", "converse", NOVA), ("runtime", "chat", "openai.gpt-oss-20b-1:0"),
          ("runtime", "responses", "openai.gpt-oss-20b-1:0"), ("mantle", "chat", GPT_OSS),
          ("mantle", "responses", GPT_OSS)]


# -- structured output ---------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint,api,model", ROUTES)
def test_schema_gives_a_validated_object_on_every_route(bm, endpoint, api, model):
    reply = bm.ask("Great phone, 5 stars", model=model, endpoint=endpoint, api=api, schema=Review)
    assert isinstance(reply.data, Review)
    assert isinstance(reply.data.stars, int)
    as_dict = bm.ask("Great phone, 5 stars", model=model, endpoint=endpoint, api=api, schema=ReviewDict)
    assert isinstance(as_dict.data, dict) and set(as_dict.data) == {"sentiment", "stars"}


def test_schema_rides_on_the_native_field_or_a_forced_tool(bm):
    native = converse.converse_kwargs(bm.request("x", model=CLAUDE, schema=Review))
    assert native["outputConfig"]["textFormat"]["type"] == "json_schema"
    forced = converse.converse_kwargs(bm.request("x", model=NOVA, schema=Review))
    assert "outputConfig" not in forced and forced["toolConfig"]["toolChoice"] == {"tool": {"name": "Review"}}


def test_a_json_schema_dict_gives_a_dict(bm):
    schema = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}
    reply = bm.ask("Label this", model=GPT_OSS, endpoint="mantle", schema=schema)
    assert isinstance(reply.data, dict) and isinstance(reply.data["label"], str)


def test_schema_refusals_are_one_line(bm):
    with pytest.raises(ValueError, match="InvokeModel"):  # Claude and Nova bodies carry it; Llama's cannot
        bm.request("x", model="meta.llama3-1-70b-instruct-v1:0", api="invoke", schema=Review)
    with pytest.raises(ValueError, match="JSON object"):
        bm.request("x", model=CLAUDE, schema={"type": "string"})
    with pytest.raises(ValueError, match="pydantic model, a TypedDict"):
        bm.request("x", model=CLAUDE, schema=42)


def test_an_answer_that_does_not_fit_names_the_field():
    schema = as_schema(Review)
    with pytest.raises(SchemaError, match="stars"):
        schema.validate('{"sentiment": "good", "stars": "many"}')
    with pytest.raises(SchemaError, match="not JSON"):
        schema.validate("I think it is good")
    assert schema.validate('```json\n{"sentiment": "good", "stars": 4}\n```').stars == 4


def test_df_schema_gives_typed_columns(bm):
    frame = pd.DataFrame({"review": ["Great phone, 5 stars", "Bad battery, 1 star", "Fine, 3 stars"]})
    result = bm.map(frame, "{review}", model=GPT_OSS, endpoint="mantle", schema=Review, progress=False)
    assert result["answer_error"].isna().all()
    assert str(result["stars"].dtype) == "Int64" and str(result["sentiment"].dtype) == "string"
    assert len(result) == 3


def test_df_schema_field_colliding_with_a_column_is_refused(bm):
    frame = pd.DataFrame({"stars": [1], "review": ["ok"]})
    with pytest.raises(ValueError, match="--out"):
        bm.map(frame, "{review}", model=GPT_OSS, endpoint="mantle", schema=Review, progress=False)
    result = bm.map(frame, "{review}", model=GPT_OSS, endpoint="mantle", schema=Review, out="r", progress=False)
    assert "r_stars" in result.columns and list(result["stars"]) == [1]


# -- reasoning -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint,api,model,level", [
    ("runtime", "converse", CLAUDE, "low"), ("runtime", "converse", CLAUDE, 2048),
    ("runtime", "chat", "openai.gpt-oss-20b-1:0", "high"), ("mantle", "responses", GPT_OSS, "low"),
    ("mantle", "chat", GPT_OSS, "medium")])
def test_reasoning_text_comes_back(bm, endpoint, api, model, level):
    reply = bm.ask("Why is the sky blue?", model=model, endpoint=endpoint, api=api, reasoning=level)
    assert reply.reasoning and "<reasoning>" not in reply.text
    assert reply.reasoning not in reply.text
    if api != "converse":
        assert 0 < reply.reasoning_tokens <= reply.output_tokens


def test_reasoning_streams_on_converse(bm):
    *deltas, reply = list(bm.stream("Why is the sky blue?", model=CLAUDE, reasoning="low"))
    assert reply.reasoning and "".join(deltas) == reply.text


def test_reasoning_constraints_are_checked_before_sending(bm):
    before = len(bm.usage())
    with pytest.raises(ValueError, match="temperature"):
        bm.ask("x", model=CLAUDE, reasoning="low", temperature=0.2)
    with pytest.raises(ValueError, match="at least 1024"):
        bm.ask("x", model=CLAUDE, reasoning=500)
    with pytest.raises(ValueError, match="below --max-tokens"):
        bm.ask("x", model=CLAUDE, reasoning=4096, max_tokens=2000)
    with pytest.raises(ValueError, match="effort"):
        bm.ask("x", model=GPT_OSS, endpoint="mantle", reasoning=2048)
    with pytest.raises(ValueError, match="does not reason"):
        bm.ask("x", model=NOVA, reasoning="low")
    with pytest.raises(ValueError, match="low, medium, high"):
        bm.ask("x", model=CLAUDE, reasoning="lots")
    assert len(bm.usage()) == before


def test_reasoning_tokens_are_billed_once_as_output(bm):
    reply = bm.ask("Why is the sky blue?", model=GPT_OSS, endpoint="mantle", reasoning="high")
    price = prices.lookup(GPT_OSS)
    expected = reply.input_tokens / 1000 * price.input_per_1k + reply.output_tokens / 1000 * price.output_per_1k
    assert reply.reasoning_tokens > 0
    assert reply.cost_usd == pytest.approx(expected, rel=1e-9)
    row = bm.usage().iloc[-1]
    assert row["reasoning_tokens"] == reply.reasoning_tokens and row["price_source"] == reply.price_source


# -- prompt caching ------------------------------------------------------------------------------------

def test_prompt_cache_writes_then_reads_and_prices_both(bm):
    system = "You are a careful assistant who answers in one sentence. " * 200
    first = bm.ask("hi", model=CLAUDE, system=system, prompt_cache=True)
    second = bm.ask("hello", model=CLAUDE, system=system, prompt_cache=True)
    assert first.cache_write_tokens > 0 and first.cache_read_tokens == 0
    assert second.cache_read_tokens == first.cache_write_tokens and second.cache_write_tokens == 0
    price = prices.lookup(CLAUDE)
    for reply in (first, second):
        expected = (reply.input_tokens * price.input_per_1k + reply.output_tokens * price.output_per_1k
                    + reply.cache_read_tokens * price.cache_read_per_1k
                    + reply.cache_write_tokens * price.cache_write_per_1k) / 1000
        assert reply.cost_usd == pytest.approx(expected, rel=1e-9)
        assert reply.price_source and reply.price_source.startswith(("genai-prices", "bundled table"))
    ledger = bm.usage().tail(2)
    assert list(ledger["cache_write_tokens"]) == [first.cache_write_tokens, 0]
    assert list(ledger["cache_read_tokens"]) == [0, second.cache_read_tokens]
    assert ledger["cost_usd"].tolist() == pytest.approx([first.cost_usd, second.cost_usd])
    assert second.cost_usd < first.cost_usd


def test_prompt_cache_below_the_minimum_is_a_note_not_an_error(bm):
    from bedrock_magics.errors import Note

    with pytest.warns(Note, match="caches from"):
        reply = bm.ask("hi", model=CLAUDE, system="short", prompt_cache=True)
    assert reply.ok and reply.cache_write_tokens == 0


def test_an_old_ledger_gains_the_new_columns(tmp_path):
    import sqlite3

    from bedrock_magics.ledger import Ledger

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE calls (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT, model TEXT)")
    ledger = Ledger(path)
    frame = ledger.frame()
    assert "price_source" in frame.columns  # the cache and reasoning columns appear once a call reports them
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(calls)")}
    assert {"cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "price_source"} <= columns
    ledger.close()


# -- attachments ---------------------------------------------------------------------------------------

def test_a_matplotlib_figure_is_described(bm):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [3, 1, 2])
    reply = bm.ask("Describe this chart", model=CLAUDE, images=[fig])
    plt.close(fig)
    assert reply.ok and reply.text


def test_documents_go_as_blocks(bm, tmp_path):
    doc = tmp_path / "notes.txt"
    doc.write_text("The meeting is on Tuesday.")
    request = bm.request("When is the meeting?", model=CLAUDE, documents=[str(doc)])
    blocks = request.messages[-1]["content"]
    assert blocks[0]["document"]["format"] == "txt" and blocks[0]["document"]["name"] == "notes"
    assert bm.ask("When is the meeting?", model=CLAUDE, documents=[str(doc)]).ok


def test_attachments_are_checked_before_sending(bm, tmp_path):
    with pytest.raises(ValueError, match="takes no images"):
        bm.request("x", model=GPT_OSS, endpoint="mantle", images=[b"\x89PNG\r\n\x1a\n" + b"0" * 10])
    with pytest.raises(ValueError, match="over Bedrock's 3.75 MB"):
        bm.request("x", model=CLAUDE, images=[b"\x89PNG\r\n\x1a\n" + b"0" * 3_800_000])
    with pytest.raises(ValueError, match="not a png"):
        bm.request("x", model=CLAUDE, images=[b"hello"])
    with pytest.raises(ValueError, match="no such file"):
        bm.request("x", model=CLAUDE, documents=[str(tmp_path / "missing.pdf")])
    with pytest.raises(ValueError, match="up to 5"):
        bm.request("x", model=CLAUDE, documents=[(f"d{i}", b"%PDF-1.4 x") for i in range(6)])


def test_a_schema_reply_is_priced(bm):
    reply = bm.ask("Great phone", model=GPT_OSS, endpoint="mantle", schema=Review)
    assert not math.isnan(reply.cost_usd) and reply.cost_usd > 0


def test_schema_failure_is_the_calls_error_and_a_rows_error(bm):
    # The local responder gives the empty string for a pattern it cannot fill: the answer does not
    # fit, so the call fails with the validation message, after its ledger row (tokens included).
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^[0-9]{40}$"}},
              "required": ["code"]}
    with pytest.raises(BedrockError, match="does not fit schema.*code") as err:
        bm.ask("give a code", model=GPT_OSS, endpoint="mantle", schema=schema)
    assert err.value.reply.status == "error" and err.value.reply.text
    row = bm.usage().iloc[-1]
    assert row["status"] == "error" and "code" in row["error"] and row["output_tokens"] > 0
    frame = pd.DataFrame({"q": ["give a code", "another code"]})
    result = bm.map(frame, "{q}", model=GPT_OSS, endpoint="mantle", schema=schema, progress=False)
    assert result["answer_error"].str.contains("does not fit schema").all()
    assert result["code"].isna().all()

# -- display and the magic -----------------------------------------------------------------------------

def test_reasoning_is_collapsed_under_the_answer_and_the_footer_names_usage(bm):
    from bedrock_magics import display

    reply = bm.ask("Why is the sky blue?", model=GPT_OSS, endpoint="mantle", reasoning="low")
    md = display.markdown(reply)
    assert md.index(reply.text[:20]) < md.index("<details><summary>Reasoning</summary>") < md.index("<sub>")
    plain = display.plain(reply)
    assert plain.startswith("\x1b[2m") and reply.text in plain
    line = display.footer(reply)
    assert f"{reply.reasoning_tokens:,} reasoning tokens" in line and f"({reply.price_source})" in line


def test_the_footer_shows_cache_tokens(bm):
    from bedrock_magics import display

    system = "You are a careful assistant who answers in one sentence. " * 200
    bm.ask("hi", model=CLAUDE, system=system, prompt_cache=True)
    second = bm.ask("hello", model=CLAUDE, system=system, prompt_cache=True)
    assert f"cache {second.cache_read_tokens:,} read / 0 written" in display.footer(second)


def test_stream_passes_reasoning_to_its_callback_only(bm):
    seen: list[str] = []
    *deltas, reply = list(bm.stream("Why is the sky blue?", model=GPT_OSS, endpoint="mantle", reasoning="low",
                                    on_reasoning=seen.append))
    assert "".join(seen) == reply.reasoning and "".join(deltas) == reply.text


@pytest.fixture
def ip(local_service, tmp_path, monkeypatch):
    from test_magics import ip as magic_ip  # the shell of tests/test_magics.py, same setup

    yield from magic_ip.__wrapped__(_shell(), local_service, tmp_path, monkeypatch)


def _shell():
    from IPython.core.interactiveshell import InteractiveShell

    return InteractiveShell.instance()


def test_magic_schema_over_a_frame(ip):
    from test_magics import run_ok

    ip.user_ns["Review"] = Review
    ip.user_ns["frame"] = pd.DataFrame({"review": ["Great, 5 stars", "Awful, 1 star"]})
    run_ok(ip, f"%%bedrock out --df frame --schema Review -m {GPT_OSS} -e mantle\nReview: {{review}}")
    out = ip.user_ns["out"]
    assert str(out["stars"].dtype) == "Int64" and out["answer_error"].isna().all()


def test_magic_refusals_are_usage_errors(ip):
    from test_magics import usage_error

    ip.user_ns["Review"] = Review
    assert "low, medium, high" in usage_error(ip, f"%%bedrock --reasoning lots -m {CLAUDE}\nhi")
    ip.user_ns["png"] = b"\x89PNG\r\n\x1a\n" + b"0" * 10
    assert "takes no images" in usage_error(ip, f"%%bedrock --image png -m {GPT_OSS} -e mantle\nhi")
    assert "no such file" in usage_error(ip, f"%%bedrock --document /nope/missing.pdf -m {CLAUDE}\nhi")
    assert "--schema" in usage_error(ip, "%%bedrock --schema Nope\nhi")


def test_magic_describes_a_figure_and_streams_reasoning_dimmed(ip, monkeypatch):
    import io
    import sys

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from test_magics import run_ok

    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1, 2])
    ip.user_ns["fig"] = fig
    run_ok(ip, f"%%bedrock ans --image fig -m {CLAUDE} --no-stream -q\nDescribe this chart")
    assert ip.user_ns["ans"].ok
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)  # the terminal: streamed text goes to stdout as it comes
    ip.run_cell(f"%%bedrock ans --reasoning low -m {GPT_OSS} -e mantle --stream\nWhy?").raise_error()
    reply = ip.user_ns["ans"]
    shown = out.getvalue()
    assert shown.startswith("\x1b[2m") and shown.replace("\x1b[2m", "").replace("\x1b[0m", "").startswith(
        reply.reasoning + "\n" + reply.text)
    plt.close(fig)


def test_dry_run_estimates_what_the_prompt_cache_saves(bm):
    system = "You are a careful assistant who answers in one sentence. " * 200
    frame = pd.DataFrame({"q": [f"question {i}" for i in range(10)]})
    estimate = bm.dry_run(frame, "{q}", model=CLAUDE, system=system, prompt_cache=True)
    info = estimate.attrs["bedrock"]
    price = prices.lookup(CLAUDE)
    from bedrock_magics.promptcache import cached_prefix_tokens

    tokens = cached_prefix_tokens(bm.request("q", model=CLAUDE, system=system, prompt_cache=True))
    expected = (10 * tokens * price.input_per_1k - tokens * price.cache_write_per_1k
                - 9 * tokens * price.cache_read_per_1k) / 1000
    assert info["cache_saving_usd"] == pytest.approx(expected) and expected > 0
    assert "--prompt-cache saves" in info["summary"] and "nothing sent" in info["summary"]
    assert len(bm.usage()) == 0


def _png(color: str) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_df_attaches_each_rows_file_from_a_column(bm, tmp_path):
    (tmp_path / "b.png").write_bytes(_png("blue"))
    frame = pd.DataFrame({"photo": [_png("red"), str(tmp_path / "b.png"), str(tmp_path / "missing.png")],
                          "name": ["red", "blue", "gone"]})
    result = bm.map(frame, "Describe the {name} picture", model=CLAUDE, images="{photo}", progress=False)
    assert result["answer_error"].isna().tolist() == [True, True, False]
    assert "no such file" in result["answer_error"].iloc[2]
    assert len(bm.usage()) == 2  # the row whose file is missing was never sent


def test_magic_df_image_column(ip):
    from test_magics import run_ok

    ip.user_ns["frame"] = pd.DataFrame({"photo": [_png("red"), _png("green")], "name": ["red", "green"]})
    run_ok(ip, f"%%bedrock out --df frame --image {{photo}} -m {CLAUDE}\nDescribe the {{name}} picture")
    assert ip.user_ns["out"]["answer_error"].isna().all()


def test_df_column_images_really_reach_the_service(bm):
    # A text-only model: the service refuses each row's image with Bedrock's own error, so the
    # images were sent (a dropped attachment would give two answers).
    frame = pd.DataFrame({"photo": [_png("red"), _png("blue")], "name": ["red", "blue"]})
    result = bm.map(frame, "Describe the {name} picture", model="openai.gpt-oss-20b-1:0", images="{photo}",
                    progress=False)
    assert result["answer_error"].notna().all()
    assert all("image" in e.lower() for e in result["answer_error"])


def test_a_schema_class_is_made_once_and_a_redefined_class_anew():
    """pydantic's JSON-Schema generation runs once per class, not once per call or row; a class
    redefined in a cell (a new class) gets its own schema."""
    from pydantic import BaseModel

    class Point(BaseModel):
        x: int

    assert as_schema(Point) is as_schema(Point)
    assert as_schema(Point, "p").name == "p" and as_schema(Point).name == "Point"

    class Point(BaseModel):  # noqa: F811 - the cell run again, with a field added
        x: int
        y: int

    assert set(as_schema(Point).json_schema["properties"]) == {"x", "y"}
