"""Multimodal embeddings from Python and from a cell: ``Bedrock.embed(text, images=...)``,
``Bedrock.embed(frame, images="{photo}")``, ``%%bedrock --embed --image X`` and ``--df FRAME --embed
--image {column}``, with Titan Multimodal Embeddings G1 and Cohere Embed v4 on the local service
(real boto3 over HTTPS). Every refusal is one line, before anything is sent."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from test_magics import ip, run_ok, shell, shown_text, usage_error  # noqa: F401 - fixtures of the magic tests

TITAN_MM = "amazon.titan-embed-image-v1"
COHERE_V4 = "us.cohere.embed-v4:0"


def picture(color, size=(32, 32), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def photos(tmp_path):
    """Paths of a red and a blue PNG."""
    paths = {}
    for name, color in (("red", (220, 30, 30)), ("blue", (30, 70, 220))):
        paths[name] = tmp_path / f"{name}.png"
        paths[name].write_bytes(picture(color))
    return paths


def cos(a, b) -> float:
    return float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))


# -- Python API -----------------------------------------------------------------------------------------

def test_one_image_embedding_is_a_recorded_reply(bm, photos):
    reply = bm.embed(images=str(photos["red"]), model=TITAN_MM)
    assert reply.ok and reply.api == "invoke" and reply.embedding.shape == (1024,)
    assert reply.usage["input_images"] == 1 and reply.input_tokens == 0
    again = bm.embed(images=photos["red"].read_bytes(), model=TITAN_MM)
    assert np.array_equal(again.embedding, reply.embedding)  # the file or its bytes: one image, one vector
    text = bm.embed("red", model=TITAN_MM)
    assert cos(reply.embedding, text.embedding) > 0.9  # the local service puts a picture near its colour
    usage = bm.usage()
    assert usage["model"].tolist() == [TITAN_MM] * 3 and usage["status"].tolist() == ["ok"] * 3
    # AWS bills Titan Multimodal's images apart from the text: $0.00006 per image on top of $0.0008 per
    # 1,000 text tokens (the bundled table; tests/test_embed_prices.py checks it to the last digit).
    assert reply.cost_usd == again.cost_usd == pytest.approx(0.00006, rel=1e-12)
    assert usage["cost_usd"].tolist() == pytest.approx([0.00006, 0.00006, text.input_tokens / 1000 * 0.0008])


def test_text_and_image_in_one_vector_with_dimensions(bm, photos):
    titan = bm.embed("a blue square", images=[str(photos["blue"])], model=TITAN_MM, dimensions=384)
    assert titan.embedding.shape == (384,) and titan.input_tokens > 0 and titan.usage["input_images"] == 1
    assert titan.raw["inputTextTokenCount"] == titan.input_tokens
    cohere = bm.embed("a blue square", images=str(photos["blue"]), model=COHERE_V4, dimensions=256)
    assert cohere.embedding.shape == (256,)
    text_only = bm.embed("a blue square", model=COHERE_V4)
    assert text_only.embedding.shape == (1536,) and text_only.cost_usd > 0  # text is priced
    assert math.isnan(cohere.cost_usd)  # images are not (their tokens have their own rate on AWS)


def test_a_frame_of_image_paths_gives_one_vector_per_row_and_a_bad_file_is_that_rows_error(bm, photos, tmp_path):
    frame = pd.DataFrame({"photo": [str(photos["red"]), str(tmp_path / "missing.png"), photos["blue"].read_bytes(),
                                    None],
                          "caption": ["red", "lost", "blue", "none"]})
    out = bm.embed(frame, images="{photo}", model=TITAN_MM, dimensions=256, progress=False)
    assert list(out.columns) == ["photo", "caption", "photo_embedding", "photo_embedding_input_tokens",
                                 "photo_embedding_cost_usd", "photo_embedding_error"]
    assert [v is not None for v in out["photo_embedding"]] == [True, False, True, False]
    assert out["photo_embedding"].iloc[0].shape == (256,)
    assert "no such file" in out["photo_embedding_error"].iloc[1]
    assert out["photo_embedding_error"].iloc[3] == "no image in column 'photo' (found None)"
    assert len(bm.usage()) == 2  # the rows without a usable image were never sent
    assert out.attrs["bedrock"]["failed"] == 2
    both = bm.embed(frame.iloc[[0, 2]], "caption", images="photo", model=COHERE_V4, out="vec", progress=False)
    assert both["vec"].iloc[0].shape == (1536,) and both["vec_error"].isna().all()
    assert both["vec_input_tokens"].iloc[0] > out["photo_embedding_input_tokens"].iloc[0]  # text and image tokens


def test_a_list_of_texts_with_as_many_images(bm, photos):
    out = bm.embed(["red", "blue"], images=[str(photos["red"]), str(photos["blue"])], model=TITAN_MM, progress=False)
    assert list(out.columns[:2]) == ["text", "image"] and out["text_embedding"].iloc[1].shape == (1024,)
    with pytest.raises(ValueError, match="one image per text: 2 texts, 1 images"):
        bm.embed(["red", "blue"], images=[str(photos["red"])], model=TITAN_MM)


@pytest.mark.parametrize("call, words", [
    (dict(model="amazon.titan-embed-text-v2:0"),
     "amazon.titan-embed-text-v2:0 embeds text only; for --image use amazon.titan-embed-image-v1 or cohere.embed-v4:0"),
    (dict(model="cohere.embed-english-v3", text="a red square"), "Cohere Embed v3 embeds a text or one image, not both"),
    (dict(model=TITAN_MM, dimensions=512), "amazon.titan-embed-image-v1 takes --dimensions 256, 384 or 1024, not 512"),
    (dict(model=TITAN_MM, extra=True), "Titan Multimodal Embeddings G1 embeds 1 image per call, not 2"),
    (dict(model=TITAN_MM, gif=True), "Titan Multimodal Embeddings G1 takes PNG or JPEG images, not GIF"),
    (dict(model=TITAN_MM, huge=True), "--image big: 26.00 MB is over Bedrock's 25 MB limit for one image"),
    (dict(model=TITAN_MM, wide=True), "--image wide: 2100x8 px is over Bedrock's 2048 px limit on a side"),
    (dict(model="us.amazon.nova-lite-v1:0"), "us.amazon.nova-lite-v1:0 is not an embedding model"),
    (dict(model=None), "an embedding model is needed: add -m amazon.titan-embed-text-v2:0 (or -m amazon.titan-embed-image-v1"),
])
def test_refusals_are_one_line_before_anything_is_sent(bm, photos, call, words):
    images = [str(photos["red"])]
    if call.pop("extra", False):
        images.append(str(photos["blue"]))
    if call.pop("gif", False):
        images = [picture("red", fmt="GIF")]
    if call.pop("huge", False):
        images = [("big", picture("red")[:100] + bytes(26_000_000))]
    if call.pop("wide", False):
        images = [("wide", picture("red", size=(2100, 8)))]
    with pytest.raises(ValueError) as info:
        bm.embed(call.pop("text", None), images=images, **call)
    assert words in str(info.value) and "\n" not in str(info.value)
    assert len(bm.usage()) == 0


def test_a_prompt_with_an_image_to_an_embedding_model_points_to_embed(bm, photos):
    with pytest.raises(ValueError, match=f"{TITAN_MM} is an embedding model: embed the text and image with --embed"):
        bm.ask("what is this?", model=TITAN_MM, api="invoke", images=[str(photos["red"])])
    assert len(bm.usage()) == 0


def test_dimensions_are_checked_for_text_embeddings_too(bm):
    with pytest.raises(ValueError, match="cohere.embed-english-v3 makes vectors of one fixed size; drop --dimensions"):
        bm.embed("hello", model="cohere.embed-english-v3", dimensions=256)
    assert bm.embed("hello", model=COHERE_V4, dimensions=512).embedding.shape == (512,)


# -- the magic ------------------------------------------------------------------------------------------

@pytest.fixture
def cells(ip):
    """The magic's shell (shared by the session): names these cells make never leak into other tests."""
    yield ip
    for name in ("pic", "red", "vec", "both", "txt", "vecs", "frame"):
        ip.user_ns.pop(name, None)


def test_cell_embeds_an_image_with_or_without_text(cells, photos):
    cells.user_ns["pic"] = str(photos["red"])
    _, captured = run_ok(cells, f"%%bedrock vec --embed -m {TITAN_MM} --image pic\n# the picture alone")
    vec = cells.user_ns["vec"]
    assert vec.embedding.shape == (1024,) and vec.usage["input_images"] == 1 and vec.input_tokens == 0
    assert "embedding of 1024 dimensions: [" in shown_text(captured)
    run_ok(cells, f"%%bedrock both --embed -m {COHERE_V4} --image {photos['blue']} --dimensions 256 --quiet\n"
               "a blue square")
    assert cells.user_ns["both"].embedding.shape == (256,) and cells.user_ns["both"].input_tokens > 0
    run_ok(cells, f"%%bedrock txt --embed -m {TITAN_MM} --quiet\nred")
    assert cos(cells.user_ns["txt"].embedding, vec.embedding) > 0.9
    rows = cells.run_line_magic("bedrock", "usage --full")
    assert rows["model"].tolist() == [TITAN_MM, COHERE_V4, TITAN_MM]


def test_cell_embeds_a_frames_image_column(cells, photos, tmp_path):
    cells.user_ns["frame"] = pd.DataFrame({"photo": [str(photos["red"]), str(tmp_path / "gone.png"), str(photos["blue"])]})
    _, captured = run_ok(cells, f"%%bedrock vecs --df frame --embed --image {{photo}} -m {TITAN_MM}\n# each row's photo")
    vecs = cells.user_ns["vecs"]
    assert [v is not None for v in vecs["photo_embedding"]] == [True, False, True]
    assert "no such file" in vecs["photo_embedding_error"].iloc[1]
    assert "3 rows · 1 failed" in captured.stdout


@pytest.mark.parametrize("cell, words", [
    (f"%%bedrock --embed -m amazon.titan-embed-text-v2:0 --image {{red}}\n# x", "embeds text only; for --image use"),
    (f"%%bedrock --embed -m {TITAN_MM}\n# only a comment", "nothing to embed: write the text in the cell, or add --image X"),
    (f"%%bedrock --embed -m {TITAN_MM} --dimensions 500\nred", "takes --dimensions 256, 384 or 1024, not 500"),
    (f"%%bedrock --embed -m {TITAN_MM} --dimensions big\nred", "--dimensions takes a vector size such as 256"),
    ("%%bedrock -m us.amazon.nova-lite-v1:0 --dimensions 256\nhi", "--dimensions sets the size of embeddings"),
    (f"%%bedrock --embed -m {TITAN_MM} --reasoning low\nred", "--reasoning doesn't apply to --embed"),
    (f"%%bedrock --df frame --embed -m {TITAN_MM}\n# x", "--embed with --df needs the column to embed"),
    (f"%%bedrock --embed -m {TITAN_MM} --dry-run\nred", "--dry-run estimates prompts; an --embed call costs its input"),
    (f"%%bedrock --df frame --embed --image {{photo}} -m {TITAN_MM} --max-cost 1\n# x",
     "--max-cost guards a --df run of prompts; an --embed run costs its input only"),
    (f"%%bedrock --df frame --embed --image {{photo}} -m {TITAN_MM}\nEmbed {{photo}}", "the cell body is not sent"),
])
def test_cell_refusals_are_one_usage_line(cells, photos, cell, words):
    cells.user_ns["red"] = str(photos["red"])
    cells.user_ns["frame"] = pd.DataFrame({"photo": [str(photos["red"])]})
    assert words in usage_error(cells, cell)
