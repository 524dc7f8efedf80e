"""Price tiers: ``prices.cost(..., tier="batch")`` is half of on-demand, as the bundled table says."""

from __future__ import annotations

import json
import math
from importlib import resources

import pytest

from bedrock_magics import prices

NOVA_LITE = "amazon.nova-lite-v1:0"  # 0.00006 in / 0.00024 out per 1,000 tokens in the bundled table


def test_on_demand_is_the_default_tier():
    assert prices.cost(NOVA_LITE, 1000, 1000) == pytest.approx(0.00006 + 0.00024)
    assert prices.cost(NOVA_LITE, 1000, 1000, tier="on_demand") == prices.cost(NOVA_LITE, 1000, 1000)


def test_batch_tier_is_half_of_on_demand():
    assert prices.cost(NOVA_LITE, 1000, 1000, tier="batch") == pytest.approx((0.00006 + 0.00024) / 2)
    # Profile ids and ARNs find the same base price, discounted the same way.
    profile = "us.amazon.nova-lite-v1:0"
    assert prices.cost(profile, 12_345, 678, tier="batch") == pytest.approx(prices.cost(profile, 12_345, 678) / 2)


def test_batch_tier_scales_the_users_overrides_too():
    override = {"acme.model-v1": {"input_per_1k": 1.0, "output_per_1k": 3.0}}
    assert prices.cost("acme.model-v1", 1000, 1000, override) == 4.0
    assert prices.cost("acme.model-v1", 1000, 1000, override, tier="batch") == 2.0


def test_unknown_model_stays_nan_and_unknown_tier_is_an_error():
    with pytest.warns(prices.PriceWarning):
        assert math.isnan(prices.cost("acme.never-priced-v7", 10, 10, tier="batch"))
    with pytest.raises(ValueError, match="unknown price tier 'flex'; choose from on_demand, batch"):
        prices.cost(NOVA_LITE, 10, 10, tier="flex")


def test_the_bundled_table_documents_the_batch_discount():
    data = json.loads(resources.files("bedrock_magics").joinpath("data/prices.json").read_text(encoding="utf-8"))
    assert data["tiers"]["on_demand"]["factor"] == 1.0
    assert data["tiers"]["batch"]["factor"] == 0.5 and "50%" in data["tiers"]["batch"]["note"]
    assert prices.tier_factor("batch") == 0.5
