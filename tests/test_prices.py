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


# -- one money formatter ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (0.0, "$0"), (0.000013, "$0.000013"), (0.0000131234, "$0.0000131"), (0.00024, "$0.00024"),
    (0.0123456, "$0.0123"), (0.5, "$0.5"), (0.999, "$0.999"), (0.9996, "$1.00"), (1.0, "$1.00"),
    (1234.567, "$1,234.57"), (float("nan"), "n/a"), (None, "n/a"),
])
def test_format_usd_keeps_the_significant_digits_of_small_amounts(value, text):
    assert prices.format_usd(value) == text


def test_format_usd_never_rounds_a_real_cost_to_zero():
    one_call = prices.cost(NOVA_LITE, 4, 56)  # a short answer: about a hundred-thousandth of a dollar
    assert one_call < 0.0001 and prices.format_usd(one_call) not in ("$0", "$0.0000")
    assert float(prices.format_usd(one_call)[1:]) == pytest.approx(one_call, rel=0.01)
    assert prices.format_usd(math.nan, unknown="price unknown") == "price unknown"


# -- ids that do not name their model, and failures --------------------------------------------------

def test_base_model_prices_an_id_that_does_not_name_its_model():
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/l0c4lapp1x2y"
    assert prices.lookup(arn) is None
    assert prices.lookup(arn, base_model=NOVA_LITE).model == NOVA_LITE
    assert prices.cost(arn, 1000, 1000, base_model=NOVA_LITE, tier="batch") == pytest.approx((0.00006 + 0.00024) / 2)
    # The user's override for the ARN itself wins over its base model.
    override = {arn: {"input_per_1k": 1.0, "output_per_1k": 1.0}}
    assert prices.cost(arn, 1000, 1000, override, base_model=NOVA_LITE) == 2.0


def test_cost_or_nan_turns_a_pricing_failure_into_nan_with_one_note():
    broken = {"acme.half-priced-v1": {"input_per_1k": 0.5}}  # no output price: edited past validation
    with pytest.warns(prices.PriceWarning, match="pricing 'acme.half-priced-v1' failed \\(KeyError"):
        assert math.isnan(prices.cost_or_nan("acme.half-priced-v1", 10, 10, broken))
    with pytest.raises(KeyError):
        prices.cost("acme.half-priced-v1", 10, 10, broken)  # cost() itself still says what is wrong


def test_an_unknown_price_is_one_short_line_once_not_a_warning_with_a_source_line():
    import subprocess
    import sys

    script = ("import warnings\n"
              "from bedrock_magics import prices\n"
              "for _ in range(3):\n"
              "    prices.cost('acme.unpriced-v1', 10, 10)\n"
              "warnings.warn('an ordinary warning')\n")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    lines = run.stderr.splitlines()
    notes = [line for line in lines if "acme.unpriced-v1" in line]
    assert notes == ["PriceWarning: no price known for model 'acme.unpriced-v1': its cost_usd is NaN "
                     "(set Bedrock.prices['acme.unpriced-v1'] = {'input_per_1k': ..., 'output_per_1k': ...} "
                     "to price it)"]
    assert "prices.py" not in run.stderr and "prices.cost(" not in run.stderr
    # Other warnings keep Python's usual format.
    assert any(line.startswith("<string>:5: UserWarning: an ordinary warning") for line in lines)
