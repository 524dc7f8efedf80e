"""What multimodal embeddings cost: Titan Multimodal Embeddings G1 bills its text tokens and each input
image at the rates of the bundled table (AWS's pricing page); Cohere Embed v4's images have no
sourced rate, so they cost NaN with one note unless ``Bedrock.prices`` gives ``input_per_image``.
Real boto3 and the real magic against the local service; the footer names the images and the cost."""

from __future__ import annotations

import io
import json
import math
import warnings
from importlib import resources

import pytest
from PIL import Image

from bedrock_magics import prices
from test_magics import ip, run_ok, shell, shown_text  # noqa: F401 - fixtures of the magic tests

TITAN_MM = "amazon.titan-embed-image-v1"
COHERE_V4 = "us.cohere.embed-v4:0"


def table_entry(model: str) -> dict:
    """The bundled table's entry, read from the file itself (the test checks the code against the data)."""
    text = resources.files("bedrock_magics").joinpath("data/prices.json").read_text(encoding="utf-8")
    return json.loads(text)["models"][model]


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "red.png"
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (220, 30, 30)).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return path


def test_the_table_has_awss_titan_multimodal_rates_and_says_where_they_come_from():
    entry = table_entry(TITAN_MM)
    # AWS's Bedrock pricing page, Amazon Titan, us-east-1: $0.0008 per 1,000 input tokens, $0.00006 per image.
    assert (entry["input_per_1k"], entry["input_per_image"]) == (0.0008, 0.00006)
    data = json.loads(resources.files("bedrock_magics").joinpath("data/prices.json").read_text(encoding="utf-8"))
    assert "https://aws.amazon.com/bedrock/pricing/" in data["image_note"] and "2026-12-07" in data["image_note"]
    assert "input_per_image" not in table_entry("cohere.embed-v4:0")  # no sourced rate: NaN, not a guess


def test_titan_multimodal_image_and_text_cost_exactly_the_tables_rates(bm, photo):
    entry = table_entry(TITAN_MM)
    reply = bm.embed("a red square", images=str(photo), model=TITAN_MM)
    assert reply.input_tokens > 0 and reply.input_images == 1
    expected = reply.input_tokens / 1000 * entry["input_per_1k"] + 1 * entry["input_per_image"]
    assert reply.cost_usd == pytest.approx(expected, rel=1e-12)
    assert reply.price_source == f"bundled table {prices.as_of()}"
    alone = bm.embed(images=photo.read_bytes(), model=TITAN_MM)
    assert alone.input_tokens == 0 and alone.cost_usd == pytest.approx(entry["input_per_image"], rel=1e-12)
    text = bm.embed("a red square", model=TITAN_MM)
    assert text.cost_usd == pytest.approx(text.input_tokens / 1000 * entry["input_per_1k"], rel=1e-12)
    ledger = bm.usage()
    assert ledger["cost_usd"].tolist() == pytest.approx([expected, entry["input_per_image"], text.cost_usd], rel=1e-12)
    assert set(ledger["price_source"]) == {f"bundled table {prices.as_of()}"}


def test_a_frame_of_images_costs_each_row_its_image(bm, photo):
    import pandas as pd

    frame = pd.DataFrame({"photo": [str(photo), str(photo)]})
    out = bm.embed(frame, images="{photo}", model=TITAN_MM, progress=False)
    assert out["photo_embedding_cost_usd"].tolist() == pytest.approx([table_entry(TITAN_MM)["input_per_image"]] * 2)


def test_cohere_v4_images_cost_nan_with_a_note_naming_the_fix(bm, photo):
    reply = bm.embed(images=str(photo), model=COHERE_V4)
    # The local service counts Cohere's image tokens in the input-token header, as Bedrock does.
    assert reply.input_images == 1 and reply.input_tokens > 0
    assert math.isnan(reply.cost_usd) and math.isnan(bm.usage()["cost_usd"].iloc[0])
    quote = prices.quote(reply.model, reply.input_tokens, 0, **reply.token_details)
    assert math.isnan(quote.cost_usd) and quote.source is None
    assert "has no per-image rate for the input images of 'cohere.embed-v4:0'" in quote.note
    assert "Bedrock.prices[...]['input_per_image']" in quote.note


def test_a_per_image_override_prices_cohere_v4_images(bm, photo):
    rates = {"input_per_1k": 0.00012, "output_per_1k": 0.0, "input_per_image": 0.0005}
    bm.prices = {"cohere.embed-v4:0": rates}
    reply = bm.embed("a red square", images=str(photo), model=COHERE_V4)
    expected = reply.input_tokens / 1000 * rates["input_per_1k"] + 1 * rates["input_per_image"]
    assert reply.cost_usd == pytest.approx(expected, rel=1e-12) and reply.price_source == "Bedrock.prices"
    assert bm.usage()["cost_usd"].iloc[0] == pytest.approx(expected, rel=1e-12)
    # An override replaces the table's entry: without a per-image rate its images are unpriced again.
    bm.prices = {TITAN_MM: {"input_per_1k": 0.001, "output_per_1k": 0.0}}
    with pytest.warns(prices.PriceWarning, match="Bedrock.prices has no per-image rate for the input images"):
        assert math.isnan(bm.embed(images=str(photo), model=TITAN_MM).cost_usd)


def test_per_image_rates_follow_the_batch_tier_and_validate_as_overrides():
    # AWS's batch column for Titan Multimodal: $0.0004 per 1,000 tokens and $0.00003 per image, half of on-demand.
    assert prices.quote(TITAN_MM, 1000, 0, input_images=2, tier="batch").cost_usd == pytest.approx(0.0004 + 2 * 0.00003)
    assert prices.cost(TITAN_MM, 0, 0, input_images=3) == pytest.approx(3 * 0.00006)
    with pytest.raises(ValueError, match=r"Bedrock.prices\['m'\]\['input_per_image'\] must be a number >= 0 "
                                         r"\(USD per image\), not -1"):
        prices.check_overrides({"m": {"input_per_1k": 0, "output_per_1k": 0, "input_per_image": -1}})
    with pytest.raises(ValueError, match="input_images must be a whole number >= 0, not 1.5"):
        prices.cost(TITAN_MM, 0, 0, input_images=1.5)
    rates = prices.rates_table()
    assert rates.loc[rates["model"] == TITAN_MM, "input_per_image_usd"].tolist() == [0.00006]
    assert rates.loc[rates["model"] == "cohere.embed-v4:0", "input_per_image_usd"].isna().all()


def test_an_unpriced_image_warns_once_in_one_line():
    override = {"acme.embed-img-v1": {"input_per_1k": 0.001, "output_per_1k": 0.0}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            assert math.isnan(prices.cost_or_nan("acme.embed-img-v1", 10, 0, override, input_images=1))
    notes = [str(w.message) for w in caught if issubclass(w.category, prices.PriceWarning)]
    assert len(notes) == 1 and "\n" not in notes[0] and "'acme.embed-img-v1' is NaN" in notes[0]


# -- the magic's footer ---------------------------------------------------------------------------------

def test_the_footer_of_an_image_embedding_names_the_image_and_its_cost(ip, photo):
    ip.user_ns["pic"] = str(photo)
    try:
        _, captured = run_ok(ip, f"%%bedrock vec --embed -m {TITAN_MM} --image pic\n# the picture alone")
        shown = shown_text(captured)
        assert "1 image · 0 tokens · " in shown and "0 in / 0 out tokens" not in shown
        assert f"$0.00006 (bundled table {prices.as_of()})" in shown
        assert ip.user_ns["vec"].cost_usd == pytest.approx(0.00006, rel=1e-12)
        _, captured = run_ok(ip, f"%%bedrock vec --embed -m {TITAN_MM} --image pic\nred")
        tokens = ip.user_ns["vec"].input_tokens
        cost = prices.format_usd(tokens / 1000 * 0.0008 + 0.00006)
        assert f"1 image · {tokens} tokens · " in shown_text(captured) and cost in shown_text(captured)
        _, captured = run_ok(ip, f"%%bedrock vec --embed -m {TITAN_MM}\nred")
        assert f"{tokens} in / 0 out tokens" in shown_text(captured) and " image · " not in shown_text(captured)
    finally:
        ip.user_ns.pop("pic", None)
        ip.user_ns.pop("vec", None)


def test_the_footer_of_an_unpriced_cohere_image_says_the_cost_is_unknown(ip, photo):
    ip.user_ns["pic"] = str(photo)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", prices.PriceWarning)
            _, captured = run_ok(ip, f"%%bedrock vec --embed -m {COHERE_V4} --image pic\n# the picture alone")
        tokens = ip.user_ns["vec"].input_tokens
        assert f"1 image · {tokens:,} tokens · " in shown_text(captured)
        assert "· cost unknown" in shown_text(captured) and "nan" not in shown_text(captured).lower()
    finally:
        ip.user_ns.pop("pic", None)
        ip.user_ns.pop("vec", None)
