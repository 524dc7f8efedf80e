"""Prices: genai-prices first, the bundled table as fallback, overrides above both; cache and reasoning
tokens exact against the documented rates; the batch tier is half of on-demand; nothing fetched."""

from __future__ import annotations

import json
import math
import warnings
from importlib import resources

import pytest

from bedrock_magics import genaiprices, prices

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


# -- genai-prices first, the bundled table as fallback; cache and reasoning tokens ---------------------
#
# Rates below are AWS's published on-demand rates in USD per million tokens (the AWS Bedrock pricing
# page; genai-prices takes them from the AWS price list API). Claude Haiku 4.5 costs 10 % more in
# Region and through geographic profiles than through its global profile.

HAIKU_45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
HAIKU_45_REGIONAL = {"input": 1.1, "output": 5.5, "cache_read": 0.11, "cache_write": 1.375, "cache_write_1h": 2.2}
HAIKU_45_GLOBAL = {"input": 1.0, "output": 5.0, "cache_read": 0.10, "cache_write": 1.25, "cache_write_1h": 2.0}
EXACT = 1e-12


def genai_source() -> str:
    from importlib.metadata import version

    return f"genai-prices {version('genai-prices')}"


def by_hand(rates, input_tokens=0, output_tokens=0, cache_read=0, cache_write=0, cache_write_1h=0):
    """The documented arithmetic: every kind of token at its own rate (per million)."""
    return (input_tokens * rates["input"] + output_tokens * rates["output"] + cache_read * rates["cache_read"]
            + (cache_write - cache_write_1h) * rates["cache_write"] + cache_write_1h * rates["cache_write_1h"]) / 1e6


@pytest.mark.parametrize("model, rates", [
    (HAIKU_45, HAIKU_45_REGIONAL),
    (f"us.{HAIKU_45}", HAIKU_45_REGIONAL),
    (f"eu.{HAIKU_45}", HAIKU_45_REGIONAL),
    (f"jp.{HAIKU_45}", HAIKU_45_REGIONAL),
    (f"apac.{HAIKU_45}", HAIKU_45_REGIONAL),
    (f"global.{HAIKU_45}", HAIKU_45_GLOBAL),
    (f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU_45}", HAIKU_45_REGIONAL),
    (f"arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.{HAIKU_45}", HAIKU_45_REGIONAL),
    (f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.{HAIKU_45}", HAIKU_45_GLOBAL),
])
def test_cache_reads_and_writes_cost_exactly_their_documented_rates(model, rates):
    usage = dict(cache_read=20_000, cache_write=3_000, cache_write_1h=1_000)
    quote = prices.quote(model, 1_234, 567, cache_read_tokens=20_000, cache_write_tokens=3_000,
                         cache_write_1h_tokens=1_000)
    assert quote.cost_usd == pytest.approx(by_hand(rates, 1_234, 567, **usage), rel=EXACT)
    assert quote.source == genai_source() and quote.known
    # Each kind alone, so that one wrong rate cannot hide behind another.
    for kind in ("cache_read", "cache_write", "cache_write_1h"):
        alone = {"cache_read": 0, "cache_write": 0, "cache_write_1h": 0, kind: 10_000}
        if kind == "cache_write_1h":
            alone["cache_write"] = 10_000  # 1-hour writes are part of the cache writes
        got = prices.cost(model, 0, 0, cache_read_tokens=alone["cache_read"], cache_write_tokens=alone["cache_write"],
                          cache_write_1h_tokens=alone["cache_write_1h"])
        assert got == pytest.approx(10_000 * rates[kind] / 1e6, rel=EXACT), kind


def test_reasoning_tokens_are_billed_once_as_output():
    plain = prices.quote(HAIKU_45, 1_000, 800)
    thinking = prices.quote(HAIKU_45, 1_000, 800, reasoning_tokens=600)  # 600 of the 800 were reasoning
    assert thinking.cost_usd == plain.cost_usd == pytest.approx(by_hand(HAIKU_45_REGIONAL, 1_000, 800), rel=EXACT)
    # Reasoning counted outside output_tokens is a caller's mistake: NaN and one line, never a wrong cost.
    with pytest.warns(prices.PriceWarning, match=r"reasoning_tokens \(900\) are part of output_tokens \(800\)"):
        assert math.isnan(prices.quote(HAIKU_45, 1_000, 800, reasoning_tokens=900).cost_usd)


def test_nova_cache_reads_are_a_quarter_of_input_and_writes_cost_the_input_rate():
    # Nova Lite: $0.06 in, $0.24 out, $0.015 cache read per million; no cache-write rate.
    got = prices.cost(NOVA_LITE, 1_000, 2_000, cache_read_tokens=40_000, cache_write_tokens=5_000)
    assert got == pytest.approx((1_000 * 0.06 + 2_000 * 0.24 + 40_000 * 0.015 + 5_000 * 0.06) / 1e6, rel=EXACT)


def test_a_token_kind_without_a_rate_is_nan_never_a_guess():
    claude_3_haiku = "anthropic.claude-3-haiku-20240307-v1:0"  # no prompt caching on Bedrock: no cache rates
    with pytest.warns(prices.PriceWarning, match="has no cache-read rate"):
        quote = prices.quote(claude_3_haiku, 100, 100, cache_read_tokens=1_000)
    assert math.isnan(quote.cost_usd) and quote.source is None and "cache-read rate" in quote.note
    with pytest.warns(prices.PriceWarning, match="has no 1-hour cache-write rate"):
        assert math.isnan(prices.cost_or_nan(NOVA_LITE, 10, 10, cache_write_tokens=10, cache_write_1h_tokens=10))


def test_the_batch_tier_halves_every_kind_of_token_and_says_so():
    on_demand = prices.quote(f"global.{HAIKU_45}", 1_000, 500, cache_read_tokens=9_000, cache_write_tokens=2_000)
    batch = prices.quote(f"global.{HAIKU_45}", 1_000, 500, cache_read_tokens=9_000, cache_write_tokens=2_000,
                         tier="batch")
    assert batch.cost_usd == pytest.approx(on_demand.cost_usd / 2, rel=EXACT)
    assert batch.source == f"{genai_source()} · batch 50%" and batch.tier == "batch"


def test_each_source_is_named_with_its_date():
    assert prices.quote(NOVA_LITE, 1, 1).source == genai_source()
    assert prices.quote("cohere.command-r-v1:0", 1, 1).source == "bundled table 2025-11-01"  # genai-prices lacks it
    override = {NOVA_LITE: {"input_per_1k": 1.0, "output_per_1k": 2.0}}
    assert prices.quote(NOVA_LITE, 1000, 1000, overrides=override).source == "Bedrock.prices"
    assert prices.quote(NOVA_LITE, 1000, 1000, overrides=override).cost_usd == 3.0
    assert prices.genai_prices_source() == genai_source()


def test_dated_price_changes_are_applied_by_the_day_of_the_call():
    from datetime import datetime, timezone

    # AWS cut GPT-5.6 Luna's in-Region price on 2026-07-30 ($1.10/$6.60 -> $0.22/$1.32 per million).
    luna = "us.openai.gpt-5.6-luna"
    before = prices.quote(luna, 100_000, 100_000, when=datetime(2026, 7, 1, tzinfo=timezone.utc))
    after = prices.quote(luna, 100_000, 100_000, when=datetime(2026, 8, 1, tzinfo=timezone.utc))
    assert before.cost_usd == pytest.approx((1.1 + 6.6) / 10, rel=EXACT) and before.source == genai_source()
    assert after.cost_usd == pytest.approx((0.22 + 1.32) / 10, rel=EXACT)
    assert after.source == f"{genai_source()} (rates of 2026-07-30)"


def test_long_prompts_are_priced_at_the_long_context_tier():
    # Claude Haiku 5.5 (global): $0.10/$0.50 per million, $0.50/$2.50 once the prompt exceeds 100,000 tokens.
    model = "global.anthropic.claude-haiku-5-5"
    assert prices.cost(model, 100_000, 1_000) == pytest.approx((100_000 * 0.10 + 1_000 * 0.50) / 1e6, rel=EXACT)
    assert prices.cost(model, 60_000, 1_000, cache_read_tokens=50_000) == pytest.approx(
        (60_000 * 0.50 + 50_000 * 0.05 + 1_000 * 2.50) / 1e6, rel=EXACT)  # 110,000 prompt tokens in all
    assert prices.lookup(model).long_context


@pytest.mark.parametrize("model, priced_as", [
    ("anthropic.claude-opus-4-6-v1", "regional.anthropic.claude-opus-4-6-v1:0"),  # no ":0" revision
    ("anthropic.claude-opus-4-5-20251101-v1:0", "regional.anthropic.claude-opus-4-5-v1:0"),  # dated id
    ("openai.gpt-oss-120b", "openai.gpt-oss-120b-1:0"),  # mantle id
    ("amazon.nova-premier-v1:0:1000k", "amazon.nova-premier-v1:0"),  # context variant
    ("us.cohere.embed-v4:0", "cohere.embed-v4:0"),  # only the bundled table prices it
])
def test_every_form_of_id_finds_its_model(model, priced_as):
    assert prices.lookup(model).model == priced_as


@pytest.mark.parametrize("model", [
    "amazon.nova-lite-v2:0",  # a later version must not take v1's price (genai-prices matches by substring)
    "deepseek.r1-distill-llama-70b-v1:0",  # nor a different model that shares a prefix
    "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-lite-v1:0/abc123",  # billed at its own rates
    "acme.unknown-v1:0",
])
def test_a_model_neither_source_knows_is_nan(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", prices.PriceWarning)
        quote = prices.quote(model, 10, 10)
    assert prices.lookup(model) is None and math.isnan(quote.cost_usd) and quote.source is None


def test_overrides_may_carry_cache_rates():
    override = prices.check_overrides({"acme.model-v1": {"input_per_1k": 0.01, "output_per_1k": 0.03,
                                                          "cache_read_per_1k": 0.001, "cache_write_per_1k": 0.0125}})
    got = prices.cost("acme.model-v1", 1_000, 1_000, override, cache_read_tokens=10_000, cache_write_tokens=2_000)
    assert got == pytest.approx(0.01 + 0.03 + 10 * 0.001 + 2 * 0.0125, rel=EXACT)
    # A cache-read rate without a cache-write rate: writes cost the input rate (as on Nova); 1-hour writes
    # need their own rate.
    nova_like = {"acme.nova-like-v1": {"input_per_1k": 0.01, "output_per_1k": 0.03, "cache_read_per_1k": 0.0025,
                                       "cache_write_1h_per_1k": 0.02}}
    got = prices.cost("acme.nova-like-v1", 0, 0, nova_like, cache_read_tokens=4_000, cache_write_tokens=3_000,
                      cache_write_1h_tokens=1_000)
    assert got == pytest.approx(4 * 0.0025 + 2 * 0.01 + 1 * 0.02, rel=EXACT)
    with pytest.raises(ValueError, match="unknown key\\(s\\) 'cache_per_1k'"):
        prices.check_overrides({"m": {"input_per_1k": 1, "output_per_1k": 1, "cache_per_1k": 1}})


def test_context_windows_and_picker_columns():
    assert prices.context_window(NOVA_LITE) == 300_000
    assert prices.context_window(f"us.{HAIKU_45}") == 200_000
    assert prices.context_window("ai21.jamba-1-5-mini-v1:0") == 256_000  # from the bundled table
    app = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/l0c4lapp1x2y"
    assert prices.context_window(app) is None and prices.context_window(app, base_model=NOVA_LITE) == 300_000
    assert prices.model_columns(NOVA_LITE) == {"context_window": 300_000, "input_per_1m_usd": 0.06,
                                               "output_per_1m_usd": 0.24, "price_source": genai_source()}
    unknown = prices.model_columns("acme.unknown-v1:0")
    assert unknown["context_window"] is None and math.isnan(unknown["input_per_1m_usd"])
    frame = prices.rates_table()
    assert {"genai-prices", "bundled"} <= {s.split()[0] for s in frame["source"]}
    assert frame.loc[frame["model"] == "global.anthropic.claude-haiku-4-5-20251001-v1:0"].iloc[0][
        ["input_per_1m_usd", "cache_write_1h_per_1m_usd"]].tolist() == [1.0, 2.0]


# -- nothing is fetched, and nothing is imported by %load_ext -------------------------------------------

def run_python(script: str) -> str:
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_pricing_works_with_the_network_blocked_and_never_starts_an_update():
    script = (
        "import sys\n"
        "attempts = []\n"
        "def no_network(event, args):\n"
        "    if event in ('socket.connect', 'socket.getaddrinfo', 'urllib.Request', 'http.client.connect'):\n"
        "        attempts.append(event)\n"
        "        raise OSError('network blocked by the test')\n"
        "sys.addaudithook(no_network)\n"
        "from bedrock_magics import prices\n"
        "q = prices.quote('global.anthropic.claude-haiku-4-5-20251001-v1:0', 1000, 1000, cache_read_tokens=10)\n"
        "assert q.source.startswith('genai-prices ') and q.cost_usd > 0, q\n"
        "assert prices.context_window('amazon.nova-lite-v1:0') == 300000\n"
        "prices.rates_table()\n"
        "from genai_prices import update_prices\n"
        "assert update_prices._shared_updater.thread is None and update_prices._shared_updater.ref_count == 0\n"
        "print('attempts', attempts)\n")
    assert run_python(script).strip() == "attempts []"


def test_a_snapshot_another_library_downloaded_is_ignored():
    from genai_prices import data_snapshot

    before = prices.lookup(NOVA_LITE)
    # What a running UpdatePrices (Logfire's, pydantic-ai's) leaves behind: downloaded data, here empty.
    data_snapshot.set_custom_snapshot(data_snapshot.DataSnapshot(providers=[], from_auto_update=True))
    try:
        genaiprices.find.cache_clear()
        assert prices.lookup(NOVA_LITE) == before and before.source == genai_source()
    finally:
        data_snapshot.set_custom_snapshot(None)


def test_load_ext_does_not_import_genai_prices():
    script = ("import sys, bedrock_magics, bedrock_magics.magics, bedrock_magics.prices, bedrock_magics.core\n"
              "print(sorted(m for m in ('genai_prices', 'pydantic', 'httpx2') if m in sys.modules))\n"
              "bedrock_magics.prices.cost('amazon.nova-lite-v1:0', 1, 1)\n"
              "print('genai_prices' in sys.modules)\n")
    assert run_python(script).split("\n")[:2] == ["[]", "True"]


def test_flat_rates_bill_exactly_what_genai_prices_computes():
    """Calls at flat rates are billed from the rates themselves (genai-prices' per-call Usage machinery
    is kept for tiered, long-context rates): the same amount, for every flat Bedrock entry."""
    from datetime import datetime, timezone

    from genai_prices import Usage

    _, aws, _ = genaiprices.snapshot()
    when = datetime(2026, 1, 15, tzinfo=timezone.utc)
    checked = 0
    for info in aws.models:
        price = prices.Price(**genaiprices.rates(info, when))
        if price.long_context:
            continue
        read = 1200 if price.cache_read_per_1k is not None else 0
        write = 900 if price.cache_write_per_1k is not None else 0
        write_1h = 300 if write and price.cache_write_1h_per_1k is not None else 0
        ours = prices._on_demand(price, None, when, 4321, 765, read, write, write_1h, 100)
        usage = Usage(input_tokens=4321 + read + write, output_tokens=765, cache_read_tokens=read,
                      cache_write_tokens=write, cache_write_1h_tokens=write_1h, output_reasoning_tokens=100)
        theirs = float(info.calc_price(usage, aws, genai_request_timestamp=when).total_price)
        assert math.isclose(ours, theirs, rel_tol=1e-12), info.id
        checked += 1
    assert checked > 50
