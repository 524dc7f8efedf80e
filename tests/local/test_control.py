"""The control plane of the local Bedrock service, through real boto3 and the real aws CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from bedrock_magics.local.credentials import ACCOUNT_ID

AWS_CLI = str(Path(sys.executable).with_name("aws"))
SIGV4 = Config(signature_version="v4", retries={"total_max_attempts": 1})


@pytest.fixture
def bedrock(local_env):
    """A control-plane client signing with SigV4 in us-east-1."""
    return boto3.client("bedrock", region_name="us-east-1", config=SIGV4)


def client(region: str):
    return boto3.client("bedrock", region_name=region, config=SIGV4)


def ids(summaries, key="modelId"):
    return {s[key] for s in summaries}


# -- ListFoundationModels ---------------------------------------------------------------------


def test_list_foundation_models_has_realistic_catalog(bedrock):
    models = bedrock.list_foundation_models()["modelSummaries"]
    providers = {m["providerName"] for m in models}
    assert len(models) >= 30
    assert {"Anthropic", "Amazon", "Meta", "Mistral AI", "Cohere", "OpenAI", "DeepSeek", "Qwen", "AI21 Labs"} <= providers
    haiku = next(m for m in models if m["modelId"] == "anthropic.claude-3-haiku-20240307-v1:0")
    assert haiku["modelArn"] == "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
    assert haiku["inferenceTypesSupported"] == ["ON_DEMAND", "PROVISIONED"]
    assert haiku["modelLifecycle"]["status"] == "ACTIVE"
    # Local keys of the catalog never leak onto the wire.
    assert "family" not in haiku and "regions" not in haiku
    embed = next(m for m in models if m["modelId"] == "amazon.titan-embed-text-v2:0")
    assert embed["outputModalities"] == ["EMBEDDING"] and embed["responseStreamingSupported"] is False
    legacy = [m for m in models if m["modelLifecycle"]["status"] == "LEGACY"]
    assert legacy and all(m["modelLifecycle"].get("endOfLifeTime") for m in legacy)
    profile_only = next(m for m in models if m["modelId"] == "anthropic.claude-sonnet-4-5-20250929-v1:0")
    assert profile_only["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]


def test_by_provider_is_case_insensitive_and_matches_the_id_prefix(bedrock):
    upper = bedrock.list_foundation_models(byProvider="Anthropic")["modelSummaries"]
    lower = bedrock.list_foundation_models(byProvider="anthropic")["modelSummaries"]
    assert upper == lower and upper
    assert {m["providerName"] for m in upper} == {"Anthropic"}
    mistral = bedrock.list_foundation_models(byProvider="mistral")["modelSummaries"]
    assert mistral and {m["providerName"] for m in mistral} == {"Mistral AI"}
    assert bedrock.list_foundation_models(byProvider="Mistral AI")["modelSummaries"] == mistral
    assert bedrock.list_foundation_models(byProvider="nobody")["modelSummaries"] == []


def test_filters_by_modality_inference_type_and_customization(bedrock):
    embeddings = bedrock.list_foundation_models(byOutputModality="EMBEDDING")["modelSummaries"]
    assert ids(embeddings) >= {"amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"}
    assert all(m["outputModalities"] == ["EMBEDDING"] for m in embeddings)
    images = ids(bedrock.list_foundation_models(byOutputModality="IMAGE")["modelSummaries"])
    assert images == {"amazon.nova-canvas-v1:0", "amazon.titan-image-generator-v2:0"}  # the snapshot's image models

    on_demand = bedrock.list_foundation_models(byInferenceType="ON_DEMAND")["modelSummaries"]
    assert all("ON_DEMAND" in m["inferenceTypesSupported"] for m in on_demand)
    assert "anthropic.claude-sonnet-4-5-20250929-v1:0" not in ids(on_demand)
    provisioned = ids(bedrock.list_foundation_models(byInferenceType="PROVISIONED")["modelSummaries"])
    assert provisioned == {"anthropic.claude-3-haiku-20240307-v1:0"}

    fine_tunable = bedrock.list_foundation_models(byCustomizationType="FINE_TUNING")["modelSummaries"]
    assert fine_tunable and all("FINE_TUNING" in m["customizationsSupported"] for m in fine_tunable)
    both = bedrock.list_foundation_models(byProvider="amazon", byOutputModality="TEXT",
                                          byCustomizationType="CONTINUED_PRE_TRAINING")["modelSummaries"]
    assert ids(both) == {"amazon.titan-text-express-v1"}


def test_bad_filter_value_is_a_validation_error(bedrock):
    with pytest.raises(ClientError) as err:
        bedrock.list_foundation_models(byOutputModality="SMELL")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "byOutputModality" in err.value.response["Error"]["Message"]


def test_regions_differ(local_env):
    east = ids(client("us-east-1").list_foundation_models()["modelSummaries"])
    west = ids(client("us-west-2").list_foundation_models()["modelSummaries"])
    paris = client("eu-west-3").list_foundation_models()["modelSummaries"]
    assert "mistral.mistral-large-2407-v1:0" in west and "mistral.mistral-large-2407-v1:0" not in east
    assert "amazon.titan-text-premier-v1:0" in east and "amazon.titan-text-premier-v1:0" not in west
    assert len(paris) < len(east)
    assert all(m["modelArn"].startswith("arn:aws:bedrock:eu-west-3::") for m in paris)
    # Nova Micro is on-demand in us-east-1 but only reachable through a profile in eu-west-3.
    micro = next(m for m in paris if m["modelId"] == "amazon.nova-micro-v1:0")
    assert micro["inferenceTypesSupported"] == ["INFERENCE_PROFILE"]


# -- GetFoundationModel / availability --------------------------------------------------------


@pytest.mark.parametrize("identifier", [
    "anthropic.claude-3-haiku-20240307-v1:0",
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
])
def test_get_foundation_model_by_id_or_arn(bedrock, identifier):
    details = bedrock.get_foundation_model(modelIdentifier=identifier)["modelDetails"]
    assert details["modelId"] == "anthropic.claude-3-haiku-20240307-v1:0"
    assert details["modelName"] == "Claude 3 Haiku" and details["providerName"] == "Anthropic"


@pytest.mark.parametrize("identifier", [
    "anthropic.claude-nonexistent-v9:0",
    "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",  # other region
    "amazon.titan-text-premier-v1:0/../x",
])
def test_get_foundation_model_unknown_is_404(local_env, identifier):
    with pytest.raises(ClientError) as err:
        client("us-east-1").get_foundation_model(modelIdentifier=identifier)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_get_foundation_model_not_offered_in_region_is_404(local_env):
    with pytest.raises(ClientError) as err:
        client("us-west-2").get_foundation_model(modelIdentifier="amazon.titan-text-premier-v1:0")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_foundation_model_availability(local_env):
    here = client("us-east-1").get_foundation_model_availability(modelId="amazon.titan-text-premier-v1:0")
    assert here["modelId"] == "amazon.titan-text-premier-v1:0"
    assert here["regionAvailability"] == "AVAILABLE" and here["authorizationStatus"] == "AUTHORIZED"
    assert here["agreementAvailability"]["status"] == "AVAILABLE"
    elsewhere = client("us-west-2").get_foundation_model_availability(modelId="amazon.titan-text-premier-v1:0")
    assert elsewhere["regionAvailability"] == "NOT_AVAILABLE"
    with pytest.raises(ClientError) as err:
        client("us-east-1").get_foundation_model_availability(modelId="nobody.nothing-v1:0")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


# -- inference profiles -----------------------------------------------------------------------


def test_inference_profiles_paginate_with_boto3_paginator(bedrock):
    everything = bedrock.list_inference_profiles(maxResults=1000)["inferenceProfileSummaries"]
    pages = list(bedrock.get_paginator("list_inference_profiles").paginate(PaginationConfig={"PageSize": 7}))
    assert len(pages) == -(-len(everything) // 7) and len(pages) > 2
    assert all("nextToken" in p for p in pages[:-1]) and "nextToken" not in pages[-1]
    paged = [s for p in pages for s in p["inferenceProfileSummaries"]]
    assert ids(paged, "inferenceProfileId") == ids(everything, "inferenceProfileId")
    assert len(paged) == len(everything)


def test_inference_profile_prefixes_and_destinations(bedrock):
    profiles = {p["inferenceProfileId"]: p
                for p in bedrock.list_inference_profiles(maxResults=1000)["inferenceProfileSummaries"]}
    assert {pid.split(".", 1)[0] for pid in profiles} >= {"us", "global"}
    haiku = profiles["us.anthropic.claude-haiku-4-5-20251001-v1:0"]
    assert haiku["inferenceProfileArn"] == (
        f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert [m["modelArn"].split(":")[3] for m in haiku["models"]] == ["us-east-1", "us-east-2", "us-west-2"]
    assert haiku["type"] == "SYSTEM_DEFINED" and haiku["status"] == "ACTIVE"
    assert "local Bedrock service" in haiku["description"]
    assert "eu.anthropic.claude-haiku-4-5-20251001-v1:0" not in profiles  # EU profiles start in EU regions
    eu = client("eu-central-1").list_inference_profiles(maxResults=1000)["inferenceProfileSummaries"]
    assert "eu.anthropic.claude-haiku-4-5-20251001-v1:0" in ids(eu, "inferenceProfileId")
    tokyo = ids(client("ap-northeast-1").list_inference_profiles(maxResults=1000)["inferenceProfileSummaries"],
                "inferenceProfileId")
    assert {"jp.anthropic.claude-sonnet-4-6", "apac.anthropic.claude-sonnet-4-20250514-v1:0"} <= tokyo


def test_inference_profiles_filter_by_type(bedrock):
    apps = bedrock.list_inference_profiles(typeEquals="APPLICATION")["inferenceProfileSummaries"]
    assert [p["type"] for p in apps] == ["APPLICATION"]
    assert apps[0]["inferenceProfileArn"].startswith(f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:application-inference-profile/")
    system = bedrock.list_inference_profiles(typeEquals="SYSTEM_DEFINED", maxResults=1000)["inferenceProfileSummaries"]
    assert system and {p["type"] for p in system} == {"SYSTEM_DEFINED"}


@pytest.mark.parametrize("identifier", [
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0",
])
def test_get_inference_profile_by_id_or_arn(bedrock, identifier):
    profile = bedrock.get_inference_profile(inferenceProfileIdentifier=identifier)
    assert profile["inferenceProfileId"] == "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    assert profile["inferenceProfileName"] == "Global Anthropic Claude Sonnet 4.5"
    assert len(profile["models"]) >= 6


def test_get_inference_profile_unknown_is_404(bedrock):
    with pytest.raises(ClientError) as err:
        bedrock.get_inference_profile(inferenceProfileIdentifier="eu.anthropic.claude-haiku-4-5-20251001-v1:0")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_bad_pagination_token_is_a_validation_error(bedrock):
    with pytest.raises(ClientError) as err:
        bedrock.list_inference_profiles(nextToken="not a token")
    assert err.value.response["Error"]["Code"] == "ValidationException"


# -- account-owned models ---------------------------------------------------------------------


def test_custom_models_list_filter_and_get_by_arn(local_env):
    east, west = client("us-east-1"), client("us-west-2")
    [tone] = east.list_custom_models()["modelSummaries"]
    assert tone["modelName"] == "local-support-tone-nova-lite" and tone["customizationType"] == "FINE_TUNING"
    assert tone["baseModelArn"].endswith("foundation-model/amazon.nova-lite-v1:0")
    # The ARN carries ":" and "/" — it must survive the trip through the URL path.
    full = east.get_custom_model(modelIdentifier=tone["modelArn"])
    assert full["modelArn"] == tone["modelArn"] and full["jobName"] == "local-support-tone-ft"
    assert east.get_custom_model(modelIdentifier="local-support-tone-nova-lite")["modelArn"] == tone["modelArn"]
    [distilled] = west.list_custom_models(nameContains="distilled")["modelSummaries"]
    assert distilled["customizationType"] == "DISTILLATION"
    assert west.list_custom_models(nameContains="no-such-name")["modelSummaries"] == []
    with pytest.raises(ClientError) as err:
        west.get_custom_model(modelIdentifier=tone["modelArn"])  # it lives in us-east-1
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_imported_models_list_and_get(bedrock):
    [imported] = bedrock.list_imported_models()["modelSummaries"]
    assert imported["modelArn"] == f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:imported-model/q8w2e4r6t0yz"
    assert bedrock.get_imported_model(modelIdentifier=imported["modelArn"])["modelArchitecture"] == "llama3"
    pages = list(bedrock.get_paginator("list_imported_models").paginate())
    assert [m["modelName"] for p in pages for m in p["modelSummaries"]] == ["local-imported-llama-3b"]


def test_provisioned_throughputs_list_filter_paginate(bedrock):
    [pt] = bedrock.list_provisioned_model_throughputs()["provisionedModelSummaries"]
    assert pt["status"] == "InService" and pt["modelUnits"] == 1
    assert pt["provisionedModelArn"].startswith(f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:provisioned-model/")
    assert bedrock.list_provisioned_model_throughputs(statusEquals="Creating")["provisionedModelSummaries"] == []
    same = bedrock.list_provisioned_model_throughputs(modelArnEquals=pt["modelArn"])["provisionedModelSummaries"]
    assert same == [pt]
    pages = list(bedrock.get_paginator("list_provisioned_model_throughputs").paginate(
        PaginationConfig={"PageSize": 1}))
    assert [p["provisionedModelSummaries"] for p in pages] == [[pt]]
    got = bedrock.get_provisioned_model_throughput(provisionedModelId=pt["provisionedModelArn"])
    assert got["provisionedModelName"] == "local-haiku-provisioned"


def test_creation_time_filters(local_env):
    import datetime as dt

    west = client("us-west-2")
    cut = dt.datetime(2025, 8, 1, tzinfo=dt.timezone.utc)
    assert [m["modelName"] for m in west.list_custom_models(creationTimeAfter=cut)["modelSummaries"]] == [
        "local-distilled-llama-8b"]
    assert west.list_custom_models(creationTimeBefore=cut)["modelSummaries"] == []


def test_client_side_validation_still_applies(bedrock):
    # boto3 itself rejects maxResults=0 before sending: the local service's limits match the model.
    with pytest.raises(ParamValidationError):
        bedrock.list_inference_profiles(maxResults=0)


# -- the aws CLI ------------------------------------------------------------------------------


def test_aws_cli_lists_and_gets_models(local_env):
    env = {**os.environ, "AWS_PAGER": ""}
    out = subprocess.run([AWS_CLI, "bedrock", "list-foundation-models", "--by-provider", "meta", "--output", "json"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    models = json.loads(out.stdout)["modelSummaries"]
    assert models and {m["providerName"] for m in models} == {"Meta"}
    arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:inference-profile/us.meta.llama3-3-70b-instruct-v1:0"
    got = subprocess.run([AWS_CLI, "bedrock", "get-inference-profile", "--inference-profile-identifier", arn,
                          "--query", "inferenceProfileId", "--output", "text"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == "us.meta.llama3-3-70b-instruct-v1:0"


# -- what model identifiers resolve to (seen through Converse) --------------------------------

ECHO = [{"role": "user", "content": [{"text": "echo: resolved"}]}]


@pytest.fixture
def runtime(local_env):
    return boto3.client("bedrock-runtime", region_name="us-east-1", config=SIGV4)


@pytest.mark.parametrize("identifier", [
    "amazon.nova-lite-v1:0",
    "us.amazon.nova-lite-v1:0",
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:application-inference-profile/l0c4lapp1x2y",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:custom-model/amazon.nova-lite-v1:0:300k/k4x8q2m7w1zt",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:imported-model/q8w2e4r6t0yz",
    f"arn:aws:bedrock:us-east-1:{ACCOUNT_ID}:provisioned-model/z7x5c3v1b9nm",
])
def test_identifiers_that_resolve(runtime, identifier):
    reply = runtime.converse(modelId=identifier, messages=ECHO)
    assert reply["output"]["message"]["content"][0]["text"] == "resolved"


@pytest.mark.parametrize("identifier,message", [
    ("anthropic.claude-sonnet-4-5-20250929-v1:0",
     "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn't supported. "
     "Retry your request with the ID or ARN of an inference profile that contains this model."),
    ("anthropic.claude-nonexistent-v9:0", "The provided model identifier is invalid."),
    ("mistral.mistral-large-2407-v1:0", "The provided model identifier is invalid."),  # only in us-west-2
    ("eu.anthropic.claude-haiku-4-5-20251001-v1:0", "The provided model identifier is invalid."),  # EU profile
    ("arn:aws:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0", "The provided model identifier is invalid."),
    (f"arn:aws:bedrock:us-west-2:{ACCOUNT_ID}:custom-model/meta.llama3-1-8b-instruct-v1:0:128k/b6n2t8y4u0ie",
     "The provided model identifier is invalid."),
    ("arn:aws:bedrock:us-east-1:999999999999:inference-profile/us.amazon.nova-lite-v1:0",
     "The provided model identifier is invalid."),
    ("moonshotai.kimi-k2-thinking", "The provided model identifier is invalid."),  # mantle only
])
def test_identifiers_that_do_not_resolve(runtime, identifier, message):
    with pytest.raises(ClientError) as err:
        runtime.converse(modelId=identifier, messages=ECHO)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert err.value.response["Error"]["Message"] == message


def test_profile_only_model_differs_per_region(local_env):
    # Nova Micro is on demand in us-east-1 and profile-only in us-east-2.
    east = boto3.client("bedrock-runtime", region_name="us-east-1", config=SIGV4)
    assert east.converse(modelId="amazon.nova-micro-v1:0", messages=ECHO)["output"]
    ohio = boto3.client("bedrock-runtime", region_name="us-east-2", config=SIGV4)
    with pytest.raises(ClientError) as err:
        ohio.converse(modelId="amazon.nova-micro-v1:0", messages=ECHO)
    assert "on-demand throughput isn't supported" in err.value.response["Error"]["Message"]
    assert ohio.converse(modelId="us.amazon.nova-micro-v1:0", messages=ECHO)["output"]


def test_catalog_data_contract():
    from bedrock_magics.local.catalog import Catalog

    cat = Catalog.load()
    local_keys = {"family", "converse", "countTokens", "regions", "profiles", "mantleId", "openai"}
    entries = [cat.model(m["modelId"]) for region in cat.regions for m in cat.foundation_models(region)]
    assert all(local_keys <= set(e) for e in entries)
    assert len({e["modelId"] for e in entries}) >= 30 and len(cat.regions) >= 3
    for e in entries:
        if "EMBEDDING" in e["outputModalities"] or "IMAGE" in e["outputModalities"]:
            assert not e["responseStreamingSupported"] and not e["converse"]
    assert set(cat.mantle_regions) < set(cat.regions)  # mantle is not offered everywhere
    assert cat.mantle_models("eu-west-3") == []
    assert {e["mantleId"] for e in cat.mantle_models("us-east-1")} >= {"openai.gpt-oss-120b", "openai.gpt-oss-20b"}
    assert cat.resolve_mantle("us-west-2", "openai.gpt-oss-20b")["modelId"] == "openai.gpt-oss-20b-1:0"
