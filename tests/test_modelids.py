"""Model identifiers: one parser for ids, profile ids and every ARN form, which the codecs, prices,
dry runs (CountTokens) and the catalog all agree on."""

from __future__ import annotations

import pytest

from bedrock_magics import modelids, prices
from bedrock_magics.dryrun import _bare_model
from bedrock_magics.routes import codecs

ACCOUNT = "arn:aws:bedrock:us-east-1:123456789012"
CUSTOM = f"{ACCOUNT}:custom-model/amazon.nova-lite-v1:0:300k/abc123"


@pytest.mark.parametrize("model, base", [
    ("amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"),
    ("us.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"),
    ("us-gov.anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0"),
    ("global.anthropic.claude-sonnet-4-6", "anthropic.claude-sonnet-4-6"),
    ("openai.gpt-oss-120b", "openai.gpt-oss-120b"),
    ("arn:aws:bedrock:us-west-2::foundation-model/meta.llama3-1-8b-instruct-v1:0", "meta.llama3-1-8b-instruct-v1:0"),
    (f"{ACCOUNT}:inference-profile/eu.amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0"),
    (CUSTOM, "amazon.nova-lite-v1:0:300k"),
    (f"{ACCOUNT}:provisioned-model/z7x5c3v1b9nm", None),
    (f"{ACCOUNT}:imported-model/q8w2e4r6t0yz", None),
    (f"{ACCOUNT}:application-inference-profile/l0c4lapp1x2y", None),
    (f"{ACCOUNT}:custom-model/abc123", None),  # a custom model that does not name its base
    ("arn:aws:bedrock:us-east-1", None),  # not a whole ARN
    ("", None),
])
def test_base_model_id_of_every_form(model, base):
    assert modelids.base_model_id(model) == base


def test_the_custom_model_arn_is_read_the_same_everywhere():
    # Three parsers used to disagree: 'abc123', the base id, and the whole tail.
    assert _bare_model(CUSTOM) == "amazon.nova-lite-v1:0:300k"  # what CountTokens is asked about
    assert codecs.family_of(CUSTOM) == "nova"
    # Pricing: a custom model is billed at its own rates, so no base-model price is applied to it...
    assert prices.lookup(CUSTOM) is None
    # ...while ids billed as their base model find its price (a context variant included).
    assert prices.normalize(f"{ACCOUNT}:inference-profile/us.amazon.nova-lite-v1:0") == "amazon.nova-lite-v1:0"
    assert prices.normalize("amazon.nova-lite-v1:0:300k") == "amazon.nova-lite-v1:0"


@pytest.mark.parametrize("model, vendor", [
    ("us.anthropic.claude-3-haiku-20240307-v1:0", "anthropic"),
    ("openai.gpt-oss-120b", "openai"),
    ("deepseek.v3.1", "deepseek"),
    (CUSTOM, "amazon"),
    (f"{ACCOUNT}:application-inference-profile/l0c4lapp1x2y", ""),
    ("plainname", ""),
])
def test_vendor(model, vendor):
    assert modelids.vendor(model) == vendor


def test_region_of_arn():
    assert modelids.region_of_arn(f"{ACCOUNT}:model-invocation-job/abc123def456") == "us-east-1"
    assert modelids.region_of_arn("arn:aws:bedrock:::foundation-model/x") is None
    assert modelids.region_of_arn("us.amazon.nova-lite-v1:0") is None
    assert modelids.region_of_arn(None) is None
