"""The responder's documented rules, called directly: closed sets, structured output, tool arguments,
shapes, reasoning, per-family token counts, media and the prompt cache."""

from __future__ import annotations

import io
import json
import re

import jsonschema
import pytest
from PIL import Image

from bedrock_magics.local import responder, tokens
from bedrock_magics.local.catalog import Catalog
from bedrock_magics.local.responder import cache as cache_mod
from bedrock_magics.local.responder import labels, media

CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
CACHING_HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"  # Claude 3 Haiku has no prompt caching on Bedrock
ENTRIES = {entry["modelId"]: entry for entry in Catalog.load().data["models"]}  # the bundled catalog
SENTIMENT = "Classify the sentiment of this review as positive, negative or mixed: "


def user(text: str) -> dict:
    return {"role": "user", "content": [{"text": text}]}


def say(text: str, model: str = CLAUDE, **settings) -> responder.Answer:
    return responder.respond(model, [user(text)], **settings)


def image_bytes(fmt: str, size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


# -- closed sets ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("review, label", [
    ("I loved the food and the staff were friendly.", "positive"),
    ("The soup was cold and the waiter was rude.", "negative"),
    ("Great pasta, but the service was terribly slow.", "mixed"),
    ("The food was not good.", "negative"),  # negation flips "good"
    ("It wasn't bad at all.", "positive"),  # ... and "bad"
    ("We arrived at seven.", "mixed"),  # no lexicon word, no neutral offered: the next in the documented order
])
def test_sentiment_labels_come_from_the_lexicon_with_negation(review, label):
    answer = say(SENTIMENT + review)
    assert answer.text == label and answer.rule == "closed set"
    assert answer.output_tokens == tokens.count(label, "claude")


def test_neutral_is_chosen_when_offered_and_nothing_scores():
    assert say("Reply with exactly one label from Positive, Negative, Neutral. Review: it came on Tuesday.").text \
        == "Neutral"  # spelled as the instruction spells it


def test_yes_no_follows_negation_and_sentiment():
    assert say("Answer yes or no: is the package fine? The box arrived on time.").text == "yes"
    assert say("Answer Yes or No: is the package fine? Nothing works and the box is broken.").text == "No"


def test_one_of_picks_the_option_sharing_most_words_first_on_tie():
    assert say("Answer with one of: sports, politics, technology. Text: a new technology chip.").text == "technology"
    assert say("Answer with one of: sports, politics, technology. Text: lunch was late.").text == "sports"
    assert say('Choose from "cat", "dog" or "bird": it barks like a dog').text == "dog"
    assert say("Label it [urgent | normal | low]. Text: the server is down, urgent").text == "urgent"


def test_one_word_answers_with_the_first_content_word_of_the_input():
    assert say("Answer with one word: what is the capital of France?").text == "capital"


def test_a_question_offering_options_is_a_closed_set_when_the_instruction_asks_for_an_answer():
    # The options sit in a question and the cue in the next sentence; a list of sentiments needs no cue.
    assert say("Is this review positive, negative or mixed? Answer with one word.\nGreat value, works well").text \
        == "positive"
    assert say("Is this review positive, negative or mixed?\nTerrible, it broke after a day").text == "negative"
    assert say("Is it spam or ham? Reply with the label.\nWin a free cruise now").text in ("spam", "ham")
    assert labels.find("", "Is it tea or coffee?") is None  # a question alone offers nothing


def test_the_system_prompt_can_hold_the_closed_set():
    answer = responder.respond(CLAUDE, [user("The staff were wonderful.")],
                               system="Classify the review. Reply with one of: positive, negative, neutral.")
    assert answer.text == "positive"


def test_prose_without_a_closed_set_is_free_text_from_the_local_service():
    for prompt in ("Tell me about the sea", "Should I use pandas or polars for this?"):
        assert say(prompt).text.startswith(f"Local Bedrock reply from {CLAUDE}: ")
    assert labels.find("", "Should I use pandas or polars for this?") is None


# -- structured output ------------------------------------------------------------------------------

PERSON = {
    "type": "object", "additionalProperties": False,
    "required": ["name", "age", "sentiment", "summary", "tags", "nickname", "address", "active", "score"],
    "properties": {
        "name": {"type": "string"}, "age": {"type": "integer", "minimum": 0},
        "sentiment": {"enum": ["positive", "negative", "neutral"]},
        "summary": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
        "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "address": {"type": "object", "required": ["city", "zip"], "properties": {
            "city": {"type": "string"}, "zip": {"type": "string"}}},
        "active": {"type": "boolean"}, "score": {"type": "number", "maximum": 5}}}


def test_structured_output_validates_and_takes_values_from_the_prompt():
    answer = say("Extract: the customer John Smith, age 42, city: Oslo, said the food was great. score 4.5",
                 schema=PERSON)
    data = json.loads(answer.text)
    jsonschema.validate(data, PERSON)
    assert (data["name"], data["age"], data["sentiment"], data["score"]) == ("John Smith", 42, "positive", 4.5)
    assert data["address"]["city"] == "Oslo"
    assert data["nickname"] is None and data["active"] is False  # nothing said: null, false
    assert answer.rule == "structured output"


def test_pydantic_style_refs_and_defaults_validate():
    schema = {"$defs": {"Mood": {"enum": ["happy", "sad"], "type": "string"},
                        "Item": {"type": "object", "properties": {"label": {"type": "string"},
                                                                  "count": {"type": "integer"}},
                                 "required": ["label", "count"]}},
              "type": "object", "required": ["mood", "items", "when", "note"],
              "properties": {"mood": {"$ref": "#/$defs/Mood"}, "items": {"type": "array", "minItems": 1,
                                                                         "items": {"$ref": "#/$defs/Item"}},
                             "when": {"type": "string", "format": "date"},
                             "note": {"type": "string", "default": "none"}}}
    data = json.loads(say("I was sad on 2026-03-01, two tickets.", schema=schema).text)
    jsonschema.validate(data, schema)
    assert data["mood"] == "sad" and data["when"] == "2026-03-01" and data["note"] == "none"


@pytest.mark.parametrize("schema", [
    {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"},
    {"type": "array", "items": {"type": "integer"}, "minItems": 2},
    {"type": ["string", "null"]}, {"enum": ["a", "b"]},
    {"type": "object", "properties": {"x": {"type": "object", "properties": {"y": {"type": "array", "items": {
        "type": "object", "properties": {"z": {"type": "integer"}}, "required": ["z"]}}}}}},
])
def test_every_supported_schema_shape_validates(schema):
    jsonschema.validate(json.loads(say("Nothing to extract here", schema=schema).text), schema)


# -- tool arguments -----------------------------------------------------------------------------------

TRANSLATE = {"name": "translate", "description": "Translate text", "parameters": {
    "type": "object", "required": ["text", "target_language"],
    "properties": {"text": {"type": "string", "description": "what to translate"},
                   "target_language": {"type": "string"}}}}
WEATHER = {"name": "get_weather", "parameters": {
    "type": "object", "required": ["city"],
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                   "units": {"enum": ["celsius", "fahrenheit"]}}}}


def test_tool_arguments_carry_names_numbers_and_any_script():
    call = say("Please translate 你好 into the language French", tools=[TRANSLATE]).tool_call
    assert call["input"] == {"text": "你好", "target_language": "French"}
    call = say("What's the weather in New York for the next 5 days in fahrenheit?", tools=[WEATHER]).tool_call
    assert call["input"] == {"city": "New York", "days": 5, "units": "fahrenheit"}
    call = say('translate "good morning" to target_language="Deutsch"', tools=[TRANSLATE]).tool_call
    assert call["input"] == {"text": "good morning", "target_language": "Deutsch"}


def test_an_explicit_pair_reaches_the_tool_even_outside_its_enum():
    tool = {"name": "convert_currency", "parameters": {"type": "object", "required": ["amount", "to"], "properties": {
        "amount": {"type": "number"}, "to": {"enum": ["USD", "GBP", "JPY"], "type": "string"}}}}
    assert say("Use convert_currency with amount=80 and to=CHF.", tools=[tool]).tool_call["input"] == {
        "amount": 80.0, "to": "CHF"}
    assert say("convert_currency amount=80 to=gbp", tools=[tool]).tool_call["input"]["to"] == "GBP"
    data = json.loads(say("amount=80 and to=CHF", schema=tool["parameters"]).text)
    jsonschema.validate(data, tool["parameters"])


def test_a_forced_tool_is_a_structured_output():
    call = say("Store this: the customer Ana Lima, age 31", tools=[{"name": "save", "parameters": PERSON}],
               tool_choice="save").tool_call
    jsonschema.validate(call["input"], PERSON)
    assert (call["input"]["name"], call["input"]["age"]) == ("Ana Lima", 31)


def test_free_text_fields_a_prompt_does_not_give_are_written_not_left_empty():
    joke = {"type": "object", "properties": {"setup": {"type": "string"}, "punchline": {"type": "string"},
                                             "city": {"type": "string"}}, "required": ["setup", "punchline", "city"]}
    value = responder.values.structured(joke, "Tell me a joke about cats. Keep it short.")
    assert value["setup"] == value["punchline"] == "Tell me a joke about cats."
    assert value["city"] == ""  # not free text: a type-correct default


def test_the_answer_after_a_tool_result_uses_the_result_text():
    first = say("weather in Lisbon?", tools=[WEATHER])
    convo = [user("weather in Lisbon?"),
             {"role": "assistant", "content": [{"toolUse": {"toolUseId": first.tool_call["id"], "name": "get_weather",
                                                            "input": first.tool_call["input"]}}]},
             {"role": "user", "content": [{"toolResult": {"toolUseId": first.tool_call["id"],
                                                          "content": [{"text": "19C and windy"}]}}]}]
    assert responder.respond(CLAUDE, convo, tools=[WEATHER]).text.endswith("the tool get_weather returned 19C and windy.")


# -- shapes -------------------------------------------------------------------------------------------

def test_bullet_points_sentence_json_table_and_word_count():
    bullets = say("Give me 4 bullet points about tides").text.splitlines()
    assert bullets[0] == f"Local Bedrock reply from {CLAUDE}:" and len(bullets) == 5
    assert all(b.startswith("- ") for b in bullets[1:])
    assert len(say("Explain tides in three bullet points").text.splitlines()) == 4
    one = say("Describe the sea in one sentence.").text
    assert len(re.split(r"(?<=[.!?])\s+", one.strip())) == 1
    assert one.startswith(f'Local Bedrock reply from {CLAUDE} on "Describe the sea in one sentence": ')
    two = say("What is Amazon Bedrock? Answer in two sentences.").text
    assert len(re.split(r"(?<=[.!?])\s+", two.strip())) == 2
    doc = json.loads(say("List the planets in JSON").text)
    assert doc["service"] == "local Bedrock" and doc["model"] == CLAUDE
    table = say("Compare cats and dogs in a table").text.splitlines()
    assert table[2:4] == ["| field | value |", "| --- | --- |"] and all(r.startswith("| ") for r in table[2:])
    for n in (3, 12):
        words = say(f"Summarize the news in {n} words").text.split()
        assert len(words) == n


# -- reasoning ----------------------------------------------------------------------------------------

def test_reasoning_names_the_rule_and_counts_as_output():
    answer = say(SENTIMENT + "I loved it.", reasoning={"budget": 1024, "effort": "medium", "signed": True})
    assert answer.text == "positive"
    assert answer.reasoning.startswith('1. The local Bedrock service reads the request: "Classify')
    assert 'answers by the rule "closed set"' in answer.reasoning
    assert answer.reasoning_tokens == tokens.count(answer.reasoning, "claude")
    assert answer.output_tokens == answer.reasoning_tokens + tokens.count("positive", "claude")
    assert answer.signature and answer.signature == say(SENTIMENT + "I loved it.", reasoning={
        "budget": 1024, "signed": True}).signature
    short = say(SENTIMENT + "I loved it.", reasoning={"budget": 5, "signed": True})
    assert short.reasoning_tokens == 5
    tight = say("Tell me about tides", max_tokens=60, reasoning={"budget": 1024, "signed": True})
    assert tight.stop_reason == "max_tokens" and tight.output_tokens == 60  # thinking counts towards the limit
    assert tight.text_tokens == 60 - tight.reasoning_tokens > 0
    high = say("hi", reasoning={"effort": "high"})
    assert "3. The answer is:" in high.reasoning and not high.signature


# -- tokens -------------------------------------------------------------------------------------------

def test_each_family_counts_its_own_way_and_cjk_is_one_token_a_character():
    sentence = "The quick brown fox jumps over the lazy dog."
    counts = {fam: tokens.count(sentence, fam) for fam in ("claude", "llama", "mistral", "gpt", "nova")}
    assert counts == {"claude": 13, "llama": 10, "mistral": 15, "gpt": 10, "nova": 10}
    assert tokens.count("你好世界", "claude") == 4 and tokens.count("2026", "llama") == 2
    assert tokens.family_of("us.anthropic.claude-haiku-4-5-20251001-v1:0") == "claude"
    assert tokens.family_of("meta.llama3-1-8b-instruct-v1:0") == "llama"
    assert tokens.family_of("some.model") == "words"
    text = "Internationalization matters"
    assert "".join(tokens.split(text, "mistral")) == text
    assert len(tokens.split(text, "mistral")) == tokens.count(text, "mistral")


# -- media --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_image_sizes_come_from_their_headers(fmt):
    assert media.image_size(image_bytes(fmt, (300, 150))) == (300, 150)


def test_image_and_document_blocks_count_in_input_tokens():
    png = image_bytes("PNG", (750, 100))
    convo = [{"role": "user", "content": [{"text": "Describe"}, {"image": {"format": "png", "source": {"bytes": png}}},
                                          {"document": {"format": "txt", "name": "notes",
                                                        "source": {"bytes": b"Tides rise twice a day."}}}]}]
    answer = responder.respond(CLAUDE, convo)
    expected = 3 + tokens.count("Describe", "claude") + 100 + tokens.count("Tides rise twice a day.", "claude") \
        + tokens.count("notes", "claude")
    assert answer.input_tokens == expected
    big = image_bytes("PNG", (4000, 3000))  # scaled to a 1568-pixel long edge, capped at 1600 tokens
    assert media.image_tokens(big) == 1600


def test_citations_quote_the_best_matching_sentence_with_char_offsets():
    text = "Tides rise twice a day. The moon pulls the water. Waves are made by wind."
    convo = [{"role": "user", "content": [
        {"document": {"format": "txt", "name": "notes", "source": {"bytes": text.encode()},
                      "citations": {"enabled": True}}},
        {"text": "What pulls the water?"}]}]
    answer = responder.respond(CLAUDE, convo)
    c = answer.citation
    assert text[c["start"]:c["end"]] == c["text"] == "The moon pulls the water."
    assert answer.text == f"Local Bedrock reply from {CLAUDE}: according to notes, The moon pulls the water."


def test_pdf_text_is_read_from_its_text_operators():
    pdf = b"%PDF-1.4\n1 0 obj<<>>stream\nBT /F1 12 Tf (Hello PDF world) Tj ET\nendstream\nendobj\n%%EOF"
    assert media.pdf_text(pdf) == "Hello PDF world"


# -- prompt cache -------------------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _cached_call(model: str, words: int, ttl: str | None = None) -> responder.Call:
    point = {"cachePoint": {"type": "default", **({"ttl": ttl} if ttl else {})}}
    long_text = " ".join(["word"] * words)
    return responder.Call(ENTRIES[model], [{"role": "user", "content": [{"text": long_text}, point,
                                                                            {"text": "Question?"}]}])


def admitted(cache, call, region, automatic=False):
    """What an admitted call reads and writes: settled, then committed, as the service does."""
    usage = cache.settle(call, region, automatic)
    cache.commit(usage)
    return usage


def test_a_call_settled_but_not_admitted_caches_nothing():
    cache = responder.PromptCache(Clock())
    assert cache.settle(_cached_call(CLAUDE, 1100), "us-east-1").write == 3 + 1100  # refused by a quota: no commit
    assert admitted(cache, _cached_call(CLAUDE, 1100), "us-east-1").write == 3 + 1100


def test_cache_writes_then_reads_within_the_ttl_then_expires():
    cache, clock = responder.PromptCache(Clock()), None
    clock = cache.clock
    first = admitted(cache, _cached_call(CLAUDE, 1100), "us-east-1")
    prefix = 3 + 1100  # the message framing + 1100 one-token words
    assert (first.read, first.write) == (0, prefix) and first.details() == [{"ttl": "5m", "inputTokens": prefix}]
    clock.now += 299
    again = admitted(cache, _cached_call(CLAUDE, 1100), "us-east-1")
    assert (again.read, again.write) == (prefix, 0)
    clock.now += 301  # the read refreshed the TTL at +299: now 301 s later it has expired
    assert admitted(cache, _cached_call(CLAUDE, 1100), "us-east-1").write == prefix
    other_region = admitted(cache, _cached_call(CLAUDE, 1100), "eu-west-1")
    assert other_region.write == prefix


def test_below_the_minimum_nothing_is_cached_and_haiku_needs_2048():
    cache = responder.PromptCache(Clock())
    assert admitted(cache, _cached_call(CLAUDE, 1000), "us-east-1").write == 0
    assert admitted(cache, _cached_call(CACHING_HAIKU, 1500), "us-east-1").write == 0
    assert admitted(cache, _cached_call(CACHING_HAIKU, 2100), "us-east-1").write == 2103
    assert cache_mod.minimum_tokens(ENTRIES[CACHING_HAIKU]) == 2048


def test_the_minimum_is_the_catalogs_and_a_model_without_caching_caches_nothing():
    # The minimum per cache point comes from the catalog's capabilities (prompt-caching.html).
    assert cache_mod.minimum_tokens(ENTRIES["amazon.nova-lite-v1:0"]) == 1000
    assert cache_mod.minimum_tokens(ENTRIES["anthropic.claude-opus-4-5-20251101-v1:0"]) == 4096
    assert cache_mod.minimum_tokens(ENTRIES[HAIKU]) is None
    assert responder.PromptCache(Clock()).settle(_cached_call(HAIKU, 5000), "us-east-1").write == 0


def test_the_answer_reports_only_the_uncached_input():
    call = _cached_call(CLAUDE, 1100)
    call.cache = responder.PromptCache(Clock()).settle(call, "us-east-1")
    answer = call.answer
    assert answer.input_tokens == answer.prompt_tokens - 1103 == tokens.count("Question?", "claude")
    assert call.input_tokens == answer.prompt_tokens  # CountTokens: the whole prompt


def test_automatic_caching_reads_whole_128_token_steps():
    cache = responder.PromptCache(Clock())
    call = responder.Call({"modelId": "openai.gpt-oss-120b-1:0"}, [user(" ".join(["word"] * 1300))])
    assert admitted(cache, call, "us-east-1", automatic=True).read == 0
    call.messages += [{"role": "assistant", "content": [{"text": "ok"}]}, user("more")]
    assert admitted(cache, call, "us-east-1", automatic=True).read == 1024 + 2 * 128  # 1303 tokens cached


# -- the notebooks' exercises ---------------------------------------------------------------------------

@pytest.mark.parametrize("review, label", [
    ("Boils fast, but the lid sticks and it is loud.", "mixed"),
    ("Great sound and the battery lasts two days.", "positive"),
    ("Too dim for reading, returned it.", "negative"),
    ("Light, cushioned, and my knees stopped hurting.", "positive"),
    ("Keys feel great, the software is a mess.", "mixed"),
])
def test_dataframes_notebook_reviews_get_plausible_labels(review, label):
    prompt = f"Classify the sentiment of this review of a kettle as positive, negative or mixed.\n\nReview: {review}"
    assert say(prompt, model="amazon.nova-lite-v1:0").text == label


@pytest.mark.parametrize("ticket, label", [
    ("I was charged twice for my subscription this month.", "billing"),
    ("The app crashes when I upload a photo larger than 10 MB.", "technical"),
    ("How do I change the email address on my account?", "account"),
    ("Your delivery driver left the parcel in the rain.", "delivery"),
    ("Password reset emails never arrive.", "account"),
])
def test_workshop_tickets_get_their_category(ticket, label):
    prompt = f"Classify this support ticket as billing, technical, account or delivery.\n\nTicket: {ticket}"
    assert say(prompt).text == label


def test_different_images_of_one_size_are_different_cache_prefixes():
    def call(color: tuple) -> responder.Call:
        buf = io.BytesIO()
        Image.new("RGB", (1400, 1400), color).save(buf, format="PNG")
        return responder.Call(ENTRIES[CLAUDE], [{"role": "user", "content": [
            {"image": {"format": "png", "source": {"bytes": buf.getvalue()}}}, {"cachePoint": {"type": "default"}},
            {"text": "What is this?"}]}])

    cache = responder.PromptCache(Clock())
    assert admitted(cache, call((255, 0, 0)), "us-east-1").write == 3 + 1600
    assert admitted(cache, call((0, 0, 255)), "us-east-1").read == 0  # same size, other pixels: no hit
    assert admitted(cache, call((255, 0, 0)), "us-east-1").read == 3 + 1600
