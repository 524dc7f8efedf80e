"""The picker's logic without a browser: widgets as Python objects, the local service over HTTPS.

Without a kernel ipywidgets talks to no front end, so setting ``widget.value`` here runs exactly the
observers a browser change would run. Model lists load on a worker thread; ``picker.wait()`` joins it.
"""

from __future__ import annotations

import json

import pytest

from bedrock_magics import endpoints
from bedrock_magics.local import credentials as local
from bedrock_magics.picker import Picker, config_lines, describe, has_widget_frontend, pick


@pytest.fixture
def sigv4_env(local_env, monkeypatch):
    # Sign with the local access key: the service reads the region of a call from the SigV4 scope
    # (a long-term API key carries none), and the picker is all about regions.
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("BEDROCK_MAGICS_LOCAL", raising=False)
    return local_env


def make_bm(**settings):
    from bedrock_magics import Bedrock

    settings = {"region": "us-east-1", "ledger_path": ":memory:", "max_attempts": 1, **settings}
    return Bedrock(**settings)


@pytest.fixture
def bm(sigv4_env):
    bm = make_bm()
    yield bm
    close = getattr(bm, "close", None)
    if callable(close):
        close()


@pytest.fixture
def picker(bm):
    p = Picker(bm)
    p.wait()
    yield p
    p.close()


def choose(widget, value, picker):
    """Set a widget's value as the browser would, then wait for any reload it started."""
    widget.value = value
    picker.wait()


def catalog_rows(bm, region, route):
    frame = bm.models(region=region)
    return {m for m, a in zip(frame["model_id"], frame["apis"]) if route in a}


def test_lists_what_serves_the_chosen_route_in_the_region(picker, bm):
    options = picker.model_options
    every = catalog_rows(bm, "us-east-1", "runtime/converse")
    # Account targets (ARNs: the local service's custom/provisioned/imported test models and its
    # application profile) are listed only when asked for (issue 13).
    assert set(options) == {m for m in every if not m.startswith("arn:")} and any(m.startswith("arn:") for m in every)
    choose(picker.arns, True, picker)
    assert set(picker.model_options) == every
    choose(picker.arns, False, picker)
    assert "us.amazon.nova-lite-v1:0" in options  # inference profiles are offered
    assert "anthropic.claude-haiku-4-5-20251001-v1:0" not in options  # profile-only: only via its profiles
    assert "amazon.titan-embed-text-v2:0" not in options  # embeddings have no Converse
    assert picker.model.value == bm.model == "us.amazon.nova-lite-v1:0"
    assert "us-east-1:" in picker.status_text and "runtime/converse" in picker.status_text
    assert not picker.model.disabled and not picker.region.disabled

    choose(picker.api, "invoke", picker)
    assert "amazon.titan-embed-text-v2:0" in picker.model_options
    choose(picker.api, "chat", picker)
    assert set(picker.model_options) == catalog_rows(bm, "us-east-1", "runtime/chat")
    assert "openai.gpt-oss-120b-1:0" in picker.model_options
    assert bm.api == "chat"


def test_loading_shows_a_busy_state(sigv4_env, local_service):
    local_service.faults.set(latency_ms=400)
    p = Picker(make_bm())
    try:
        assert "Loading models for us-east-1…" in p.status_text
        assert p.model.disabled and p.region.disabled and p.api.disabled and p.filter.disabled
        p.wait()
        assert not p.model.disabled and "Loading" not in p.status_text and p.model_options
    finally:
        p.close()


def test_choices_become_traits_and_config_lines(picker, bm):
    choose(picker.region, "us-west-2", picker)
    assert bm.region == "us-west-2"
    # Mistral Large (24.07) is offered in us-west-2 only.
    assert "mistral.mistral-large-2407-v1:0" in picker.model_options
    choose(picker.model, "mistral.mistral-large-2407-v1:0", picker)
    picker.system.value = "Answer in one sentence."
    picker.temperature.value = 0.3
    picker.max_tokens.value = 200
    picker.stream.value = False
    assert (bm.model, bm.system, bm.temperature, bm.max_tokens, bm.streaming) == (
        "mistral.mistral-large-2407-v1:0", "Answer in one sentence.", 0.3, 200, False)

    expected = [
        "%config Bedrock.region = 'us-west-2'",
        "%config Bedrock.endpoint = 'runtime'",
        "%config Bedrock.api = 'converse'",
        "%config Bedrock.model = 'mistral.mistral-large-2407-v1:0'",
        "%config Bedrock.system = 'Answer in one sentence.'",
        "%config Bedrock.temperature = 0.3",
        "%config Bedrock.max_tokens = 200",
        "%config Bedrock.streaming = False",
    ]
    assert config_lines(bm) == expected
    import html

    shown = html.unescape(picker.config.value)
    assert all(line in shown for line in expected)
    assert "Chosen: mistral.mistral-large-2407-v1:0" in picker.status_text

    # The lines really reproduce the choice: replayed on a fresh Bedrock they give the same settings.
    from traitlets.config import Config

    config = Config()
    for line in expected:
        name, value = line.removeprefix("%config Bedrock.").split(" = ")
        config.Bedrock[name] = eval(value)  # the values are Python literals by construction
    from bedrock_magics import Bedrock

    fresh = Bedrock(config=config, ledger_path=":memory:")
    assert [getattr(fresh, n) for n in ("region", "model", "system", "temperature", "max_tokens", "streaming")] == [
        "us-west-2", "mistral.mistral-large-2407-v1:0", "Answer in one sentence.", 0.3, 200, False]


def test_model_missing_in_new_region_is_replaced_and_said(picker, bm):
    # Issue 13: the picker never leaves a configuration that its own status calls invalid; the
    # replacement is said (the default model here, since the one chosen is not offered).
    choose(picker.region, "us-west-2", picker)
    choose(picker.model, "mistral.mistral-large-2407-v1:0", picker)
    choose(picker.region, "us-east-1", picker)
    assert picker.model.value == bm.model == "us.amazon.nova-lite-v1:0"
    assert ("mistral.mistral-large-2407-v1:0 is not offered for runtime/converse in us-east-1: chose "
            "us.amazon.nova-lite-v1:0") in picker.status_text
    assert "%config Bedrock.model = 'us.amazon.nova-lite-v1:0'" in config_lines(bm)


def test_filter_narrows_the_models(picker, bm):
    picker.filter.value = "haiku"
    labels = [label for label, _ in picker.model.options]
    assert labels and all("haiku" in label.lower() for label in labels)
    assert "us.anthropic.claude-haiku-4-5-20251001-v1:0" in picker.model_options
    assert f"{len(picker.model_options)} match “haiku”" in picker.status_text
    picker.filter.value = "meta llama3-3"  # every word must match id, name or provider
    assert picker.model_options == ["us.meta.llama3-3-70b-instruct-v1:0"]
    picker.filter.value = "no-such-model"
    assert picker.model_options == [] and bm.model == "us.amazon.nova-lite-v1:0"
    picker.filter.value = ""
    assert picker.model.value == "us.amazon.nova-lite-v1:0"


def test_mantle_restricts_regions_apis_and_models(picker, bm):
    choose(picker.region, "eu-west-3", picker)  # Paris: Bedrock yes, mantle no
    runtime_regions = set(picker.region.options)
    assert {"us-east-1", "us-west-2", "eu-west-3", "ca-central-1"} <= runtime_regions
    assert not any(r.startswith("bedrock-") for r in runtime_regions)  # hostnames, not regions
    choose(picker.endpoint, "mantle", picker)
    assert list(picker.region.options) == list(endpoints.MANTLE_REGIONS)
    assert picker.region.value == "us-east-1" and bm.region == "us-east-1"
    assert [v for _, v in picker.api.options] == ["responses", "chat"]
    assert (bm.endpoint, bm.api) == ("mantle", picker.api.value)
    assert picker.model_options and all(":" not in m for m in picker.model_options)
    assert set(picker.model_options) == catalog_rows(bm, "us-east-1", f"mantle/{picker.api.value}")

    choose(picker.api, "chat", picker)
    assert "qwen.qwen3-32b" in picker.model_options
    choose(picker.model, "qwen.qwen3-32b", picker)
    assert (bm.endpoint, bm.api, bm.model) == ("mantle", "chat", "qwen.qwen3-32b")
    assert "%config Bedrock.endpoint = 'mantle'" in config_lines(bm)

    choose(picker.endpoint, "runtime", picker)
    assert set(picker.region.options) == runtime_regions
    assert [v for _, v in picker.api.options] == ["converse", "invoke", "chat", "responses"]
    # Chat was picked on mantle: back on runtime the API is runtime's own again (issue 13), and the
    # mantle model gives way to the runtime model chosen before.
    assert (bm.endpoint, bm.api, bm.model) == ("runtime", "converse", "us.amazon.nova-lite-v1:0")
    assert picker.model.value == bm.model and "not offered" not in picker.status_text.split("chose")[-1]


def test_config_changes_follow_into_the_widgets(picker, bm):
    bm.region = "us-west-2"  # what %config Bedrock.region = 'us-west-2' does
    picker.wait()
    assert picker.region.value == "us-west-2"
    assert "mistral.mistral-large-2407-v1:0" in picker.model_options
    bm.model = "us.meta.llama3-3-70b-instruct-v1:0"
    assert picker.model.value == "us.meta.llama3-3-70b-instruct-v1:0"
    bm.temperature = 0.2
    assert picker.temperature.value == 0.2
    assert "%config Bedrock.temperature = 0.2" in picker.config.value


def test_control_plane_fault_is_shown_inline_and_reload_recovers(sigv4_env, local_service):
    local_service.faults.set(error_rate=1.0, error_code="ServiceUnavailableException")
    p = Picker(make_bm())
    try:
        p.wait()  # the error is shown, never raised
        assert "⚠" in p.status_text and "temporarily unavailable" in p.status_text
        assert "\n" not in p.status_text
        assert p.model_options == [] and not p.region.disabled
        local_service.faults.clear()
        p.refresh.click()
        p.wait()
        assert p.status_text.startswith("us-east-1: ") and "us.amazon.nova-lite-v1:0" in p.model_options
    finally:
        p.close()


def test_unreachable_endpoint_is_shown_inline(sigv4_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", "https://127.0.0.1:9")
    p = Picker(make_bm())
    try:
        p.wait()
        assert "⚠ Cannot connect to https://127.0.0.1:9" in p.status_text
        assert p.model_options == []
    finally:
        p.close()


def test_an_error_in_a_callback_lands_in_the_status_line(picker, bm):
    def refuse(change):
        raise RuntimeError("model changes are frozen in this notebook")

    bm.observe(refuse, names="model")
    picker.model.value = "us.amazon.nova-pro-v1:0"  # no exception escapes the handler
    assert "⚠ model changes are frozen in this notebook" in picker.status_text


def test_no_secret_in_any_widget_state(sigv4_env):
    # Widget state goes to the browser and into saved notebooks: even with an API key entered
    # (%bedrock key) and SigV4 keys in the environment, none of it may appear there.
    bm = make_bm()
    bm.set_api_key(local.API_KEY)
    p = Picker(bm).wait()
    try:
        assert "us.amazon.nova-lite-v1:0" in p.model_options  # the key was used, and worked

        def walk(widget):
            yield widget
            for child in getattr(widget, "children", ()):
                yield from walk(child)

        state = json.dumps([w.get_state() for w in walk(p.box)], default=str)
        for secret in (local.SECRET_ACCESS_KEY, local.API_KEY, "ABSK"):
            assert secret not in state
        assert local.API_KEY not in repr(p) + p.text() + p.box._repr_mimebundle_()["text/plain"]
    finally:
        p.close()


def test_text_fallbacks(picker, bm, capsys):
    bundle = picker.box._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("Bedrock picker: region us-east-1")
    assert "%config Bedrock.model = 'us.amazon.nova-lite-v1:0'" in bundle["text/plain"]

    assert not has_widget_frontend()  # pytest: no kernel
    assert pick(bm) is None
    out = capsys.readouterr().out
    mantle_regions = out.split("Regions (mantle):")[1].split("Endpoint / API:")[0]
    assert "eu-central-1" in mantle_regions and "eu-west-3" not in mantle_regions
    assert "runtime: converse, invoke, chat, responses" in out
    assert "us.amazon.nova-lite-v1:0" in out and "%config Bedrock.region = 'us-east-1'" in out


def test_terminal_ipython_gets_text(sigv4_env, capsys):
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryAccessor.enabled = False  # no SQLite history file per test shell
    shell = InteractiveShell.instance(config=config)
    try:
        shell.extension_manager.load_extension("bedrock_magics")
        result = shell.run_cell("%bedrock pick")
        result.raise_error()
        out = capsys.readouterr().out
        assert "No widget front end here" in out and "%config Bedrock.model" in out
    finally:
        shell.extension_manager.unload_extension("bedrock_magics")
        InteractiveShell.clear_instance()


def test_describe_survives_a_failing_control_plane(sigv4_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", "https://127.0.0.1:9")
    text = describe(make_bm())
    assert "could not be listed: Cannot connect" in text and "%config Bedrock.region" in text


# -- issue 13: the picker's rules ---------------------------------------------------------------------

def test_mantle_and_back_restores_converse_and_a_valid_model(picker, bm):
    """Shot 11: runtime -> mantle -> runtime left Responses and a model runtime/responses lacks."""
    choose(picker.endpoint, "mantle", picker)
    assert (bm.endpoint, bm.api) == ("mantle", "responses") and picker.api.value == "responses"
    choose(picker.endpoint, "runtime", picker)
    assert (bm.endpoint, bm.api, bm.model) == ("runtime", "converse", "us.amazon.nova-lite-v1:0")
    assert picker.model.value == bm.model and "is not offered" not in picker.status_text
    assert bm.model in catalog_rows(bm, bm.region, "runtime/converse")  # the written pair works


def test_an_api_the_user_picked_on_an_endpoint_stays_with_it(picker, bm):
    choose(picker.api, "invoke", picker)
    choose(picker.endpoint, "mantle", picker)
    choose(picker.endpoint, "runtime", picker)
    assert bm.api == picker.api.value == "invoke"


def test_the_filter_never_says_a_hidden_model_is_not_offered(picker, bm):
    """Shot 02: typing a filter made the status say the chosen model "is not offered"."""
    picker.filter.value = "haiku"
    assert "is not offered" not in picker.status_text
    assert "Chosen: us.amazon.nova-lite-v1:0 (hidden by the filter)" in picker.status_text
    assert bm.model == "us.amazon.nova-lite-v1:0"


def test_rows_show_price_context_modalities_and_legacy(picker, bm):
    labels = dict((value, label) for label, value in picker.model.options)
    haiku = labels["us.anthropic.claude-haiku-4-5-20251001-v1:0"]
    assert "per 1M in/out" in haiku and "200K ctx" in haiku and "text+image→text" in haiku
    row = bm.models()[lambda f: f["model_id"] == "us.anthropic.claude-haiku-4-5-20251001-v1:0"].iloc[0]
    assert f"${row['input_per_1m_usd']:,.2f}/${row['output_per_1m_usd']:,.2f}" in haiku
    legacy = [label for label in labels.values() if label.endswith("legacy")]
    assert legacy and all("3-5-haiku" in l or "3-7-sonnet" in l or "titan-text-express" in l or "LEGACY" not in l
                          for l in legacy)
    choose(picker.sort, "input price", picker)
    frame = bm.models().drop_duplicates("model_id")
    price_of = dict(zip(frame["model_id"], frame["input_per_1m_usd"]))
    prices = [price_of[m] for m in picker.model_options]
    known = [p for p in prices if p == p]
    assert known == sorted(known) and prices[:len(known)] == known  # cheapest first, unknown prices last


def test_local_mode_offers_only_the_local_regions(sigv4_env, local_service):
    bm = make_bm()
    bm.use_local(service=local_service)
    try:
        picker = Picker(bm).wait()
        assert list(picker.region.options) == list(local_service.catalog.regions)
        assert "af-south-1" not in picker.region.options
        choose(picker.endpoint, "mantle", picker)
        assert list(picker.region.options) == list(local_service.catalog.mantle_regions)
        picker.close()
    finally:
        bm.close()
