"""The Python API against the local Bedrock service over real HTTPS: every endpoint and API, streaming,
named conversations, tool loops, failures in the ledger, cost and secrets."""

from __future__ import annotations

import math
import warnings

import pytest

from bedrock_magics.core import Bedrock
from bedrock_magics.errors import BedrockError
from bedrock_magics.local import credentials, tokens
from bedrock_magics.prices import PriceWarning
from bedrock_magics.reply import Reply

# Every (endpoint, api) with a model the local catalog serves there.
ROUTES = [
    ("runtime", "converse", "us.amazon.nova-lite-v1:0"),
    ("runtime", "invoke", "us.amazon.nova-lite-v1:0"),
    ("runtime", "invoke", "anthropic.claude-3-haiku-20240307-v1:0"),
    ("runtime", "invoke", "us.meta.llama3-1-8b-instruct-v1:0"),
    ("runtime", "chat", "openai.gpt-oss-20b-1:0"),
    ("runtime", "responses", "openai.gpt-oss-20b-1:0"),
    ("mantle", "responses", "openai.gpt-oss-120b"),
    ("mantle", "chat", "openai.gpt-oss-120b"),
]



@pytest.mark.parametrize("endpoint, api, model", ROUTES)
def test_ask_on_every_endpoint_and_api(bm, endpoint, api, model):
    reply = bm.ask("echo: the same answer everywhere", endpoint=endpoint, api=api, model=model)
    assert reply.text == "the same answer everywhere"
    assert (reply.endpoint, reply.api, reply.model, reply.region) == (endpoint, api, model, "us-east-1")
    n_out = tokens.count("the same answer everywhere", tokens.family_of(model))  # the model's own tokenizer
    assert reply.input_tokens > 0 and reply.output_tokens == n_out and reply.stop_reason == "end_turn"
    assert reply.cost_usd > 0  # every model above has a bundled price
    row = bm.usage().iloc[-1]
    assert (row.endpoint, row.api, row.model, row.status) == (endpoint, api, model, "ok")
    assert row.output_tokens == n_out and row.cost_usd == pytest.approx(reply.cost_usd)
    assert row.session == bm.session and len(bm.usage()) == 1


@pytest.mark.parametrize("endpoint, api, model", [ROUTES[0], ROUTES[1], ROUTES[4], ROUTES[6]])
def test_stream_yields_deltas_then_the_reply(bm, endpoint, api, model):
    pieces = list(bm.stream("Tell me about the sea", endpoint=endpoint, api=api, model=model))
    *deltas, reply = pieces
    assert isinstance(reply, Reply) and reply.streamed and reply.ok
    assert len(deltas) > 1 and all(isinstance(d, str) for d in deltas)
    assert "".join(deltas) == reply.text
    assert reply.text.startswith("Local Bedrock reply from") and 'You said: "Tell me about the sea"' in reply.text
    usage = bm.usage()
    assert len(usage) == 1 and usage.iloc[0].output_tokens == reply.output_tokens > 0


def test_a_stream_closed_early_is_recorded_as_cancelled(bm):
    stream = bm.stream("Tell me a long story")
    first = next(stream)
    stream.close()  # what a `break` out of the loop, or an interrupt in the display, does
    row = bm.usage().iloc[-1]
    assert row.status == "cancelled" and row.error.startswith("cancelled")
    assert first and len(bm.usage()) == 1


def test_a_stream_cut_mid_way_fails_with_its_row(bm, local_service):
    local_service.faults.set(cut_stream_after=2)
    received = []
    with pytest.raises(BedrockError) as info:
        for piece in bm.stream("Tell me a long story"):
            received.append(piece)
    assert "\n" not in str(info.value)
    row = bm.usage().iloc[-1]
    assert row.status == "error" and row.error == str(info.value)


def test_an_interrupted_call_is_recorded_as_cancelled(bm, hold_calls):
    import threading

    from conftest import interrupt_main_thread

    bm.ask("warm up")  # the clients exist, so the interrupt lands in the call itself
    door = hold_calls()  # the next request waits at the service until released

    def stop_button() -> None:
        if door.wait_until_held(1):  # the call is in flight: the request reached the service
            interrupt_main_thread()

    pressing = threading.Thread(target=stop_button)
    pressing.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            bm.ask("a slow question")
    finally:
        door.release()
        pressing.join()
    row = bm.usage().iloc[-1]
    assert row.status == "cancelled" and row.model == bm.model and len(bm.usage()) == 2


def test_chat_on_converse_sends_the_history(bm):
    replies = [bm.ask(prompt, chat="notes") for prompt in ("My name is Ada.", "I like tea.", "What is my name?")]
    tokens = [r.input_tokens for r in replies]
    assert tokens[0] < tokens[1] < tokens[2]
    # The third turn's input is the whole conversation: both earlier answers are in it.
    assert tokens[2] > tokens[0] + replies[0].output_tokens + replies[1].output_tokens
    conversation = bm.chats.get("notes")
    assert conversation.turns == 3 and len(conversation.messages) == 6
    assert conversation.messages[-1]["content"][0]["text"] == replies[-1].text
    assert list(bm.usage()["chat"]) == ["notes"] * 3
    # Another name is another conversation.
    assert bm.ask("What is my name?", chat="other").input_tokens < tokens[2]


def test_chat_on_mantle_responses_uses_previous_response_id(bm):
    first = bm.ask("My name is Ada.", chat="m", endpoint="mantle")
    request = bm.request("I like tea.", chat="m", endpoint="mantle")
    assert request.previous_response_id == first.response_id  # only the new turn is sent ...
    assert len(request.messages) == 1
    second = bm.ask("I like tea.", chat="m", endpoint="mantle")
    third = bm.ask("What is my name?", chat="m", endpoint="mantle")
    assert second.raw["previous_response_id"] == first.response_id  # ... and the server saw the id
    assert third.raw["previous_response_id"] == second.response_id
    assert first.input_tokens < second.input_tokens < third.input_tokens  # the server kept the history
    assert bm.chats.get("m").last_response_id == third.response_id


def test_a_chat_can_move_between_routes(bm):
    first = bm.ask("My name is Ada.", chat="mix", endpoint="mantle")
    moved = bm.request("What is my name?", chat="mix")  # runtime converse: stateless, full history
    assert moved.previous_response_id is None and len(moved.messages) == 3
    second = bm.ask("What is my name?", chat="mix")
    assert second.input_tokens > first.input_tokens + first.output_tokens
    bm.reset_chat("mix")
    assert bm.ask("What is my name?", chat="mix").input_tokens < second.input_tokens


def test_a_failed_turn_does_not_enter_the_conversation(bm):
    bm.ask("My name is Ada.", chat="c")
    with pytest.raises(BedrockError):
        bm.ask("And now?", chat="c", model="us.amazon.no-such-model-v1:0")
    assert bm.chats.get("c").turns == 1


@pytest.mark.parametrize("endpoint, api, model", [ROUTES[0], ROUTES[2], ROUTES[4], ROUTES[6]])
def test_tool_loop_runs_python_functions_one_row_per_round(bm, endpoint, api, model):
    calls = []

    def convert(amount: float, currency: str = "EUR") -> dict:
        """Convert an amount of US dollars to another currency.

        Args:
            amount: How many dollars.
            currency: ISO code of the target currency.
        """
        calls.append((amount, currency))
        return {"amount": round(amount * 0.5, 2), "currency": currency}

    rounds = []
    reply = bm.ask("Use convert with amount=12 currency=GBP", tools=[convert], on_round=rounds.append,
                   endpoint=endpoint, api=api, model=model)
    assert calls == [(12.0, "GBP")]
    assert "the tool convert returned" in reply.text and '"amount"' in reply.text and "6.0" in reply.text
    assert [r.final for r in rounds] == [False, True]
    assert rounds[0].calls[0]["name"] == "convert" and rounds[0].calls[0]["status"] == "success"
    usage = bm.usage()
    assert list(usage["stop_reason"]) == ["tool_use", "end_turn"] and list(usage["status"]) == ["ok", "ok"]


def test_a_tool_that_raises_tells_the_model(bm):
    def divide(a: int, b: int) -> float:
        """Divide a by b."""
        return a / b

    reply = bm.ask("Use divide with a=1 b=0", tools=[divide])
    assert "ZeroDivisionError: division by zero" in reply.text


def test_tools_with_a_conversation_and_streaming(bm):
    def lookup(term: str) -> str:
        """Look a term up in the glossary."""
        return f"{term} means rock bed"

    *deltas, reply = list(bm.stream("Use lookup with term=bedrock", tools=[lookup], chat="t"))
    assert "bedrock means rock bed" in reply.text and "".join(deltas).endswith(reply.text)
    conversation = bm.chats.get("t")
    assert conversation.turns == 1 and len(conversation.messages) == 4  # user, toolUse, toolResult, answer
    follow = bm.ask("Thanks. What did you find?", chat="t")
    assert follow.input_tokens > reply.input_tokens


def test_unknown_model_fails_in_one_line_after_recording(bm):
    with pytest.raises(BedrockError) as info:
        bm.ask("hello", model="us.amazon.nova-lyte-v1:0")
    message = str(info.value)
    assert "\n" not in message and "us.amazon.nova-lite-v1:0" in message  # did you mean ...
    row = bm.usage().iloc[-1]
    assert row.status == "error" and row.error == message and row.cost_usd == 0.0
    assert row.model == "us.amazon.nova-lyte-v1:0" and row.input_tokens == 0


def test_throttling_is_recorded_with_retries_limited(local_service, tmp_path):
    bm = Bedrock(ledger_path=str(tmp_path / "ledger.sqlite"), retry_mode="standard", max_attempts=1)
    bm.use_local(service=local_service)
    local_service.faults.set(throttle_rpm=1)
    try:
        assert bm.ask("first").ok
        with pytest.raises(BedrockError) as info:
            bm.ask("second")
        assert info.value.code == "ThrottlingException"
        failed = bm.send(bm.request("third", endpoint="mantle"))  # send() returns failures, never raises
        assert failed.status == "error" and "throttled" in failed.error
    finally:
        local_service.faults.clear()
    assert list(bm.usage()["status"]) == ["ok", "error", "error"]


def test_send_is_the_quiet_low_level_call(bm):
    reply = bm.send(bm.request("echo: low level"), record=False)
    assert reply.text == "echo: low level".split(": ", 1)[1] and len(bm.usage()) == 0
    reply = bm.send(bm.request("echo: recorded"))
    assert reply.ok and len(bm.usage()) == 1 and reply.cost_usd > 0


def test_unknown_price_is_nan_until_overridden(bm):
    model = "minimax.minimax-m2"  # served locally, in neither genai-prices nor the bundled price table
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PriceWarning)  # warned once per process: maybe already
        reply = bm.ask("hello", model=model)
    assert math.isnan(reply.cost_usd) and math.isnan(bm.usage().iloc[-1].cost_usd)
    bm.prices = {"minimax.minimax-m2": {"input_per_1k": 0.001, "output_per_1k": 0.002}}
    priced = bm.ask("hello", model=model)
    assert priced.cost_usd == pytest.approx(priced.input_tokens / 1000 * 0.001 + priced.output_tokens / 1000 * 0.002)


def test_usage_is_per_session_unless_asked(bm, tmp_path):
    other = Bedrock(ledger_path=bm.ledger_path)
    other.use_local(service=bm.local_service)
    bm.ask("mine")
    other.ask("theirs")
    assert len(bm.usage()) == 1 and len(other.usage()) == 1
    assert set(bm.usage(all_sessions=True)["session"]) == {bm.session, other.session}
    other.close()


def test_bad_input_is_a_value_error_of_one_line(bm):
    cases = {
        "endpoint must be one of runtime, mantle, not 'mantel'. Did you mean 'mantle'?": dict(endpoint="mantel"),
        "the mantle endpoint does not serve the 'invoke' API; on mantle use responses or chat": dict(endpoint="mantle",
                                                                                                    api="invoke"),
        "unknown option 'temprature'": dict(temprature=0.5),
        "temperature must be a number from 0 to 1": dict(temperature=2),
        "max_tokens must be a whole number >= 1": dict(max_tokens=-3),
        "chat must be a conversation name": dict(chat=""),
    }
    for expected, options in cases.items():
        with pytest.raises(ValueError) as info:
            bm.ask("hello", **options)
        assert expected in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ValueError, match="the prompt is empty"):
        bm.ask("   ")
    assert len(bm.usage()) == 0  # nothing was sent, nothing recorded


def test_models_come_from_the_catalog(bm):
    frame = bm.models(provider="amazon")
    assert "us.amazon.nova-lite-v1:0" in set(frame["model_id"])
    assert set(frame["provider"]) == {"Amazon"}


def test_map_and_compare_delegate_to_batch(bm):
    import pandas as pd

    frame = pd.DataFrame({"word": ["alpha", "beta"]})
    out = bm.map(frame, "echo: {word}", out="answer", progress=False)
    assert list(out["answer"]) == ["alpha", "beta"]
    table = bm.compare("echo: same", models=["us.amazon.nova-lite-v1:0", "us.amazon.nova-micro-v1:0"], progress=False)
    assert list(table["text"]) == ["same", "same"]
    assert len(bm.usage()) == 4


def test_api_key_is_used_and_never_shown(bm, tmp_path):
    bm.set_api_key(credentials.API_KEY)
    assert bm.clients.credential_source()[0] == "bearer"
    assert bm.ask("echo: with a key").text == "with a key"
    bm.set_api_key("ABSKQmVkcm9ja0FQSUtleS13cm9uZy1hdC0xMjM0NTY3ODkwMTI6bm90LXRoZS1rZXk=")  # a wrong key
    with pytest.raises(BedrockError) as info:
        bm.ask("hello")
    texts = [str(info.value), repr(bm), repr(bm.clients), repr(bm.usage().iloc[-1].to_dict()), str(bm.sources())]
    data = b"".join(path.read_bytes() for path in tmp_path.glob("ledger.sqlite*"))  # the WAL file too
    for secret in (credentials.API_KEY, credentials.SECRET_ACCESS_KEY, "bm90LXRoZS1rZXk"):
        assert all(secret not in text for text in texts)
        assert secret.encode() not in data


def test_use_local_starts_one_shared_service():
    first, second = Bedrock(ledger_path=":memory:"), Bedrock(ledger_path=":memory:")
    try:
        svc = first.use_local()
        assert second.use_local(start=False) is svc  # one service per process
        assert second.ask("echo: shared").text == "shared"
    finally:
        first.stop_local()
    assert first.local is False
    with pytest.raises(RuntimeError, match="not running"):
        second.use_local(start=False)
    second.local = False


def test_prices_map_profiles_arns_and_mantle_ids_to_the_base_model():
    from bedrock_magics import prices

    base = prices.cost("amazon.nova-lite-v1:0", 1000, 1000)
    assert base == pytest.approx(0.00006 + 0.00024)
    for alias in ("us.amazon.nova-lite-v1:0", "global.amazon.nova-lite-v1:0",
                  "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
                  "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.amazon.nova-lite-v1:0"):
        assert prices.cost(alias, 1000, 1000) == base
    assert prices.cost("openai.gpt-oss-120b", 1000, 0) == prices.cost("openai.gpt-oss-120b-1:0", 1000, 0) > 0
    with pytest.warns(PriceWarning, match="no price known for model 'acme.unknown-model-v9'"):
        assert math.isnan(prices.cost("acme.unknown-model-v9", 10, 10))
    override = {"acme.unknown-model-v9": {"input_per_1k": 1.0, "output_per_1k": 2.0}}
    assert prices.cost("us.acme.unknown-model-v9", 1000, 500, override) == 2.0
    assert prices.as_of() == "2025-11-01" and "on-demand" in prices.source()


# --------------------------------------------------------------------------------------------------
# Pricing never fails a call; profiles are priced through the catalog; keys are explained by source

APP_PROFILE = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/l0c4lapp1x2y"


def test_a_pricing_failure_never_fails_the_call_or_loses_its_ledger_row(bm):
    # Editing the dict in place skips Bedrock.prices' validation: a malformed entry (no output price).
    bm.prices["us.amazon.nova-lite-v1:0"] = {"input_per_1k": 0.001}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = bm.ask("echo: still answered", model="us.amazon.nova-lite-v1:0")
        second = bm.ask("echo: again", model="us.amazon.nova-lite-v1:0")
    assert first.ok and first.text == "still answered" and math.isnan(first.cost_usd)
    assert math.isnan(second.cost_usd)
    usage = bm.usage()
    assert list(usage["status"]) == ["ok", "ok"] and usage["cost_usd"].isna().all()
    notes = [w for w in caught if issubclass(w.category, PriceWarning)]
    assert len(notes) == 1 and "pricing 'us.amazon.nova-lite-v1:0' failed (KeyError" in str(notes[0].message)


def test_an_application_profile_is_priced_as_its_model_once_the_catalog_is_loaded(bm):
    bm.models()  # the catalog of us-east-1 is now cached; pricing itself never fetches it
    reply = bm.ask("echo: profiled", model=APP_PROFILE)
    assert reply.text == "profiled"
    assert reply.cost_usd == pytest.approx(prices_cost("amazon.nova-lite-v1:0", reply))
    assert bm.usage().iloc[-1].cost_usd == pytest.approx(reply.cost_usd)
    assert bm.price_for(APP_PROFILE).model == "amazon.nova-lite-v1:0"


def test_without_a_loaded_catalog_an_unknown_profile_costs_nan_and_nothing_is_fetched(bm, local_service):
    local_service.app.reset_counters()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PriceWarning)
        reply = bm.ask("echo: unpriced", model=APP_PROFILE)
    assert math.isnan(reply.cost_usd)
    assert local_service.app.requests_total == 1  # the call itself: no control-plane listing for a price


def prices_cost(model: str, reply: Reply) -> float:
    from bedrock_magics import prices

    return prices.cost(model, reply.input_tokens, reply.output_tokens)


def test_a_rejected_key_from_bedrock_key_is_cleared_with_bedrock_key_clear(bm):
    bm.set_api_key("ABSK" + "Q" * 48)
    with pytest.raises(BedrockError) as info:
        bm.ask("hello", model="us.amazon.nova-lite-v1:0")
    err = info.value
    assert err.code == "InvalidApiKey"
    assert "%bedrock key --clear" in err.hint and "unset AWS_BEARER_TOKEN_BEDROCK" not in err.hint
    assert "QQQQ" not in str(err)


def test_a_prompt_to_an_embedding_model_suggests_embed(bm):
    with pytest.raises(BedrockError) as info:
        bm.ask("hello", model="amazon.titan-embed-text-v2:0")
    err = info.value
    assert err.code == "EmbeddingModel" and err.message.startswith("amazon.titan-embed-text-v2:0 is an embedding model")
    assert "--embed COLUMN -m amazon.titan-embed-text-v2:0" in err.hint and "--api invoke" not in err.hint


class _ControlCalls:
    """Counts the HTTP requests a boto3 control-plane client sends (a botocore event hook)."""

    def __init__(self, client) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-send.bedrock.*", lambda **kw: self.calls.append(kw["event_name"]))

    def __len__(self) -> int:
        return len(self.calls)


def test_a_burst_of_failed_rows_lists_a_failing_catalog_once(local_service, tmp_path):
    # Every row names an unknown model (a 400) while the model listing itself fails: the error hints
    # must not list the catalog again for each row (it used to: five list calls per failed row).
    import pandas as pd

    bad = "acme.no-such-model-v1:0"
    bm = Bedrock(ledger_path=str(tmp_path / "ledger.sqlite"), retry_mode="standard", max_attempts=1)
    bm.use_local(service=local_service)
    control = _ControlCalls(bm.clients.get("us-east-1", "control", "bedrock"))
    local_service.faults.set(error_rate=1.0, error_code="ServiceUnavailableException")  # the listings
    local_service.faults.set(model=bad, error_rate=0.0)  # the rows reach the service, which refuses them
    try:
        frame = pd.DataFrame({"n": range(10)})
        out = bm.map(frame, "echo: {n}", model=bad, concurrency=1, progress=False)
    finally:
        local_service.faults.clear()
        bm.close()
    assert out["answer_error"].notna().all()
    assert all(bad in error for error in out["answer_error"])
    assert 0 < len(control) <= 5  # one listing attempt (five list calls), not one per row


def test_a_burst_of_failed_rows_asks_the_catalog_once_for_hints(bm):
    bm.models()  # the catalog is loaded
    control = _ControlCalls(bm.clients.get("us-east-1", "control", "bedrock"))
    replies = [bm.send(bm.request(f"hi {i}", model="us.amazon.nova-lyte-v1:0")) for i in range(5)]
    assert all("us.amazon.nova-lite-v1:0" in r.error for r in replies)  # did you mean … on every row
    assert len(control) == 0
    # The same hints for every row of the burst.
    assert len({r.error for r in replies}) == 1


def test_family_of_reads_the_id_then_the_catalog(bm):
    app_profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/l0c4lapp1x2y"
    assert bm.family_of("us.anthropic.claude-3-haiku-20240307-v1:0") == "anthropic"  # no catalog needed
    assert bm.family_of(app_profile) is None  # not listed yet, and no listing without fetch
    assert bm.family_of(app_profile, fetch=True) == "nova"  # the catalog knows it routes to Nova Lite
    assert bm.family_of(app_profile) == "nova"  # from the list now cached


def test_an_interrupted_stream_hands_scripts_the_cancelled_reply(bm):
    from bedrock_magics.errors import Cancelled

    pieces = bm.stream("echo: one two three four five six seven eight")
    first = next(pieces)  # the call is under way: the interrupt lands inside it
    with pytest.raises(Cancelled) as caught:
        pieces.throw(KeyboardInterrupt())
    stop = caught.value
    assert isinstance(stop, KeyboardInterrupt)  # scripts and Run All stop as on any interrupt
    assert stop.reply.status == "cancelled" and stop.reply.text == first  # the text that arrived
    row = bm.usage().iloc[-1]
    assert row.status == "cancelled" and row.model == stop.reply.model


def test_dry_run_of_several_models_stacks_one_estimate_per_model(bm):
    models = ["us.amazon.nova-lite-v1:0", "us.anthropic.claude-3-haiku-20240307-v1:0"]
    result = bm.dry_run("How tall is Everest?", models=models, max_tokens=100)
    assert list(result["model"]) == models
    assert set(result.attrs["bedrock"]["models"]) == set(models)
    assert (result["input_tokens"] > 0).all()
    with pytest.raises(ValueError, match="given twice"):
        bm.dry_run("hi", models=[models[0], models[0]])
    assert len(bm.usage()) == 0  # nothing billable was sent


def test_a_request_template_fills_in_prompts_exactly_as_request_resolves_them(bm):
    def lookup(city: str) -> str:
        """Look a city up."""
        return city

    bm.ask("echo: remembered", chat="t")
    bm.ask("echo: server side", chat="s", endpoint="mantle")
    earlier = [{"role": "user", "content": [{"text": "before"}]}, {"role": "assistant", "content": [{"text": "ok"}]}]
    cases = [{}, {"model": "us.anthropic.claude-3-haiku-20240307-v1:0", "max_tokens": 50, "temperature": 0.2},
             {"api": "invoke", "stop": ["END"], "system": "Be brief."}, {"chat": "t"}, {"chat": "s", "endpoint": "mantle"},
             {"tools": [lookup]}, {"messages": earlier}, {"endpoint": "mantle", "api": "chat"}]
    for options in cases:
        template = bm.request_template(**options)
        for prompt in ("What is 2 + 2?", "Name a colour."):
            assert template.fill(prompt) == bm.request(prompt, **options), options
    with pytest.raises(ValueError, match="the prompt is empty"):
        bm.request_template().fill("   ")
    with pytest.raises(ValueError, match="max_tokens"):
        bm.request_template(max_tokens=-1)  # bad settings fail once, when the template is made
