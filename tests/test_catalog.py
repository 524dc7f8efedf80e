"""The model catalog: control plane + mantle /v1/models merged, against the local service over HTTPS."""

from __future__ import annotations

import pandas as pd
import pytest

from bedrock_magics.auth import Clients
from bedrock_magics.catalog import COLUMNS, KINDS, Catalog
from bedrock_magics.errors import BedrockError
from bedrock_magics.local import credentials as local

CONTRACT_COLUMNS = ("model_id", "provider", "name", "input_modalities", "output_modalities", "streaming",
                    "inference_types", "apis", "region")


def sigv4_clients(**kwargs) -> Clients:
    # The local service takes the region of a call from the SigV4 scope (a long-term API key carries
    # none), so region-sensitive tests sign with the documented local credentials.
    return Clients(credentials=(local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY), **kwargs)


class Counter:
    """Counts the HTTP requests a boto3 client sends, by operation (a botocore event hook)."""

    def __init__(self, client) -> None:
        self.calls: list[str] = []
        client.meta.events.register("before-send.bedrock.*", self._seen)

    def _seen(self, request, **kwargs) -> None:
        self.calls.append(kwargs["event_name"].rsplit(".", 1)[-1])

    def __len__(self) -> int:
        return len(self.calls)


@pytest.fixture
def clients(local_env):
    c = sigv4_clients()
    yield c
    c.close()


@pytest.fixture
def catalog(clients):
    return Catalog(clients)


def row(frame, model_id):
    hit = frame[frame["model_id"] == model_id]
    assert len(hit) == 1, f"{model_id} not (uniquely) in the frame"
    return hit.iloc[0]


def test_frame_merges_every_kind_with_the_contract_columns(catalog):
    frame = catalog.models("us-east-1")
    assert tuple(frame.columns) == COLUMNS
    assert set(CONTRACT_COLUMNS) <= set(frame.columns)
    assert set(frame["kind"]) == set(KINDS)
    assert (frame["region"] == "us-east-1").all()
    assert not frame.duplicated(["model_id", "kind"]).any()
    assert frame.attrs["mantle_error"] is None and frame.attrs["mantle"] is True

    haiku = row(frame, "anthropic.claude-3-haiku-20240307-v1:0")
    assert haiku["provider"] == "Anthropic" and haiku["name"] == "Claude 3 Haiku"
    assert haiku["input_modalities"] == ["TEXT", "IMAGE"] or "TEXT" in haiku["input_modalities"]
    assert haiku["output_modalities"] == ["TEXT"] and bool(haiku["streaming"]) is True
    assert "ON_DEMAND" in haiku["inference_types"]
    assert haiku["arn"] == "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"

    profile = row(frame, "us.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert profile["kind"] == "inference-profile" and profile["status"] == "ACTIVE"
    assert profile["base_model"] == "anthropic.claude-haiku-4-5-20251001-v1:0"
    assert profile["provider"] == "Anthropic" and profile["inference_types"] == ["INFERENCE_PROFILE"]
    assert profile["arn"].endswith(":inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0")

    provisioned = frame[frame["kind"] == "provisioned-model"].iloc[0]
    assert provisioned["model_id"].startswith("arn:aws:bedrock:us-east-1:") and provisioned["status"] == "InService"
    assert provisioned["base_model"] == "anthropic.claude-3-haiku-20240307-v1:0"

    mantle = row(frame, "openai.gpt-oss-120b")
    assert mantle["kind"] == "mantle-model" and mantle["provider"] == "OpenAI" and pd.isna(mantle["arn"])


def test_apis_rule_examples(catalog):
    frame = catalog.models("us-east-1")
    apis = {m: list(a) for m, a in zip(frame["model_id"], frame["apis"]) if not m.startswith("arn:")}
    # Profile-only models: nothing by bare id; their profiles carry the routes.
    assert apis["anthropic.claude-haiku-4-5-20251001-v1:0"] == []
    assert apis["us.anthropic.claude-haiku-4-5-20251001-v1:0"] == ["runtime/converse", "runtime/invoke"]
    # Embeddings and images: the native body only.
    assert apis["amazon.titan-embed-text-v2:0"] == ["runtime/invoke"]
    assert apis["amazon.nova-canvas-v1:0"] == ["runtime/invoke"]
    # The OpenAI family on runtime, and a model mantle also serves (qwen.qwen3-32b on mantle).
    full = ["runtime/converse", "runtime/invoke", "runtime/chat", "runtime/responses"]
    assert apis["openai.gpt-oss-120b-1:0"] == full
    assert apis["qwen.qwen3-32b-v1:0"] == full
    assert apis["cohere.command-r-v1:0"] == ["runtime/converse", "runtime/invoke"]
    # Mantle rows: mantle routes only; Responses for the OpenAI family.
    assert apis["openai.gpt-oss-120b"] == ["mantle/chat", "mantle/responses"]
    assert apis["qwen.qwen3-32b"] == ["mantle/chat"]
    # Account targets are called by ARN on the native APIs.
    for kind in ("provisioned-model", "custom-model", "imported-model"):
        target = frame[frame["kind"] == kind].iloc[0]
        assert list(target["apis"]) == ["runtime/converse", "runtime/invoke"], kind

    assert catalog.apis_for("us-east-1", "us.amazon.nova-lite-v1:0") == ["runtime/converse", "runtime/invoke"]
    assert catalog.apis_for("us-east-1", "anthropic.claude-sonnet-4-6") == []
    assert catalog.apis_for("us-east-1", "no.such-model") == []
    arn = row(frame, "us.amazon.nova-lite-v1:0")["arn"]
    assert catalog.apis_for("us-east-1", arn) == ["runtime/converse", "runtime/invoke"]


def test_every_listed_converse_and_chat_route_answers(catalog, clients):
    """The apis column is a promise: each listed Converse, Chat Completions and Responses route works."""
    region = "us-east-1"
    frame = catalog.models(region)
    runtime = clients.get(region, "runtime", "bedrock-runtime")
    converse = [m for m, a in zip(frame["model_id"], frame["apis"]) if "runtime/converse" in a]
    assert len(converse) > 20
    for model_id in converse:
        out = runtime.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": "echo: ok"}]}])
        assert out["output"]["message"]["content"][0]["text"] == "ok", model_id
    # And a model without runtime/converse by its bare id is refused, as the rule says.
    with pytest.raises(runtime.exceptions.ValidationException, match="on-demand throughput"):
        runtime.converse(modelId="anthropic.claude-haiku-4-5-20251001-v1:0",
                         messages=[{"role": "user", "content": [{"text": "hi"}]}])

    for surface, route in (("runtime", "runtime/chat"), ("mantle", "mantle/chat")):
        client = clients.get(region, surface, "openai")
        models = [m for m, a in zip(frame["model_id"], frame["apis"]) if route in a]
        assert models, route
        for model_id in models:
            reply = client.chat.completions.create(model=model_id, messages=[{"role": "user", "content": "echo: ok"}])
            assert reply.choices[0].message.content == "ok", (route, model_id)
    for surface, route in (("runtime", "runtime/responses"), ("mantle", "mantle/responses")):
        client = clients.get(region, surface, "openai")
        models = [m for m, a in zip(frame["model_id"], frame["apis"]) if route in a]
        assert models, route
        for model_id in models:
            assert client.responses.create(model=model_id, input="echo: ok").output_text == "ok", (route, model_id)


def test_provider_filter(catalog):
    anthropic = catalog.models("us-east-1", provider="anthropic")
    assert len(anthropic) > 10 and set(anthropic["provider"]) == {"Anthropic"}
    assert set(anthropic["kind"]) >= {"foundation-model", "inference-profile", "provisioned-model"}
    by_name = catalog.models("us-east-1", provider="Mistral AI")
    assert len(by_name) and set(by_name["provider"]) == {"Mistral AI"}
    assert by_name["model_id"].tolist() == catalog.models("us-east-1", provider="mistral")["model_id"].tolist()
    nobody = catalog.models("us-east-1", provider="nobody")
    assert len(nobody) == 0 and tuple(nobody.columns) == COLUMNS


def test_regions_differ(catalog):
    east, west, paris = (catalog.models(r) for r in ("us-east-1", "us-west-2", "eu-west-3"))
    assert (west["region"] == "us-west-2").all()
    assert "mistral.mistral-large-2407-v1:0" in set(west["model_id"]) - set(east["model_id"])
    assert "amazon.titan-text-premier-v1:0" in set(east["model_id"]) - set(west["model_id"])
    # Account targets live in one region each.
    assert (east["kind"] == "provisioned-model").sum() == 1 and (west["kind"] == "provisioned-model").sum() == 0
    assert any("local-distilled-llama-8b" == n for n in west[west["kind"] == "custom-model"]["name"])
    # Llama 3.1 8B is on demand in us-west-2 only: callable there by bare id, not in us-east-1.
    assert "runtime/converse" in row(west, "meta.llama3-1-8b-instruct-v1:0")["apis"]
    assert list(row(east, "meta.llama3-1-8b-instruct-v1:0")["apis"]) == []
    # Paris has no mantle endpoint: no mantle rows, and mantle was not asked.
    assert paris.attrs["mantle"] is False and "mantle-model" not in set(paris["kind"])
    assert paris.attrs["mantle_error"] is None


def test_cache_hits_within_ttl_and_misses_after(clients):
    now = [1000.0]
    catalog = Catalog(clients, ttl=60, clock=lambda: now[0])
    counter = Counter(clients.get("us-west-2", "control", "bedrock"))

    first = catalog.models("us-west-2")
    assert sorted(set(counter.calls)) == ["GetFoundationModelAvailability", "ListCustomModels",
                                          "ListFoundationModels", "ListImportedModels",
                                          "ListInferenceProfiles", "ListProvisionedModelThroughputs"]
    sent = len(counter)
    now[0] += 59
    again = catalog.models("us-west-2", provider="meta")
    catalog.model_ids("us-west-2")
    catalog.apis_for("us-west-2", "us.meta.llama3-3-70b-instruct-v1:0")
    assert len(counter) == sent, "a cache hit must not call the control plane"
    assert len(again) < len(first)

    catalog.models("us-west-2", refresh=True)
    assert len(counter) == 2 * sent, "refresh=True bypasses the cache"
    now[0] += 61
    catalog.models("us-west-2")
    assert len(counter) == 3 * sent, "an entry older than the TTL is fetched again"
    catalog.models("us-west-2")
    assert len(counter) == 3 * sent


def test_inference_profiles_are_read_from_every_page(clients):
    whole = Catalog(clients).models("us-east-1")
    paged_catalog = Catalog(clients, page_size=5)
    counter = Counter(clients.get("us-east-1", "control", "bedrock"))
    paged = paged_catalog.models("us-east-1")
    profiles = (whole["kind"] == "inference-profile").sum()
    assert profiles > 10
    assert counter.calls.count("ListInferenceProfiles") == -(-profiles // 5)
    assert sorted(paged["model_id"]) == sorted(whole["model_id"])


def test_model_ids_and_close_matches(catalog):
    ids = catalog.model_ids("us-east-1")
    assert "us.amazon.nova-lite-v1:0" in ids and "openai.gpt-oss-20b" in ids
    assert catalog.close_matches("us-east-1", "amazon.nova-lite-v1")[0] == "amazon.nova-lite-v1:0"
    assert catalog.close_matches("us-east-1", "amazon.nova-lite-v1:1")[0] == "amazon.nova-lite-v1:0"  # fuzzy
    haiku = catalog.close_matches("us-east-1", "claude-haiku-4-5")
    assert haiku and all("claude-haiku-4-5" in m for m in haiku)
    # A profile-only model is suggested through its profiles (its bare id is not callable).
    bare = catalog.close_matches("us-east-1", "anthropic.claude-sonnet-4-6")
    assert bare and all(m.endswith("anthropic.claude-sonnet-4-6") and m != "anthropic.claude-sonnet-4-6" for m in bare)
    assert catalog.close_matches("us-east-1", "zzzz-qqqq") == []


def test_control_plane_failure_is_one_line_bedrock_error(local_env, local_service):
    clients = sigv4_clients(max_attempts=1)
    local_service.faults.set(error_rate=1.0, error_code="ServiceUnavailableException")
    with pytest.raises(BedrockError) as info:
        Catalog(clients).models("us-east-1")
    message = str(info.value)
    assert "\n" not in message and "temporarily unavailable" in message
    assert local.SECRET_ACCESS_KEY not in message and local.API_KEY not in message


def test_unreachable_control_plane_is_one_line_bedrock_error(local_env):
    clients = sigv4_clients(max_attempts=1, endpoint_urls={"control": "https://127.0.0.1:9"})
    with pytest.raises(BedrockError) as info:
        Catalog(clients).models("us-east-1")
    assert info.value.code == "ConnectionError" and "\n" not in str(info.value)
    assert "127.0.0.1:9" in str(info.value)


def test_mantle_failure_keeps_the_control_plane_rows(local_env, local_service):
    clients = sigv4_clients(max_attempts=1, endpoint_urls={"mantle": "https://127.0.0.1:9/mantle"})
    frame = Catalog(clients).models("us-east-1")
    assert "mantle-model" not in set(frame["kind"])
    assert {"foundation-model", "inference-profile"} <= set(frame["kind"])
    error = frame.attrs["mantle_error"]
    assert error and "\n" not in error and "127.0.0.1:9" in error
    # Without the mantle listing, only the OpenAI family keeps the runtime's OpenAI routes.
    assert list(row(frame, "qwen.qwen3-32b-v1:0")["apis"]) == ["runtime/converse", "runtime/invoke"]
    assert "runtime/chat" in row(frame, "openai.gpt-oss-20b-1:0")["apis"]


def test_unknown_region_is_one_line_bedrock_error(local_env):
    # Regions are checked against where Bedrock runs only for real AWS hosts; with the local
    # service's endpoint overrides, botocore still needs a well-formed region.
    with pytest.raises(BedrockError) as info:
        Catalog(Clients()).models("not a region")
    assert "\n" not in str(info.value)


def test_base_model_maps_profiles_and_targets_without_fetching_unless_asked(clients):
    catalog = Catalog(clients)
    counter = Counter(clients.get("us-east-1", "control", "bedrock"))
    app_profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/l0c4lapp1x2y"
    assert catalog.cached("us-east-1") is None
    assert catalog.base_model("us-east-1", app_profile) is None and len(counter) == 0  # nothing cached: no I/O
    assert catalog.base_model("us-east-1", app_profile, fetch=True) == "amazon.nova-lite-v1:0"
    sent = len(counter)
    assert catalog.cached("us-east-1") is not None
    assert catalog.base_model("us-east-1", "us.amazon.nova-lite-v1:0") == "amazon.nova-lite-v1:0"
    assert catalog.base_model("us-east-1", "amazon.nova-lite-v1:0") == "amazon.nova-lite-v1:0"
    provisioned = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/z7x5c3v1b9nm"
    assert catalog.base_model("us-east-1", provisioned) == "anthropic.claude-3-haiku-20240307-v1:0"
    # Pricing asks only for targets billed per token as their base model (not hourly throughput).
    priced = ("foundation-model", "inference-profile")
    assert catalog.base_model("us-east-1", provisioned, kinds=priced) is None
    assert catalog.base_model("us-east-1", app_profile, kinds=priced) == "amazon.nova-lite-v1:0"
    assert catalog.base_model("us-east-1", "acme.unknown-v1") is None
    assert len(counter) == sent


def test_a_throttled_listing_names_the_region_not_a_placeholder_model(local_env, local_service):
    clients = sigv4_clients(max_attempts=1)
    local_service.faults.set(error_rate=1.0, error_code="ThrottlingException")
    with pytest.raises(BedrockError) as info:
        Catalog(clients).models("us-east-1")
    assert info.value.message == "Bedrock throttled the calls in us-east-1."
    assert "model list" not in str(info.value)


def test_importing_the_catalog_does_not_import_pandas():
    import subprocess
    import sys

    code = "import sys, bedrock_magics.catalog; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_failed_listing_is_remembered_for_hints_and_retried_by_models(local_env, local_service):
    clients = sigv4_clients(max_attempts=1)
    catalog = Catalog(clients)
    local_service.faults.set(error_rate=1.0, error_code="ServiceUnavailableException")
    try:
        with pytest.raises(BedrockError):
            catalog.models("us-east-1")
    finally:
        local_service.faults.clear()
    assert catalog.failed_recently("us-east-1") and not catalog.failed_recently("us-west-2")
    assert len(catalog.models("us-east-1")) > 0  # an explicit listing tries again
    assert not catalog.failed_recently("us-east-1")
