"""Titan Multimodal Embeddings G1 and Cohere Embed v3/v4 image inputs on the local service, driven by
real boto3 over HTTPS: the bodies AWS documents are answered, with deterministic vectors that put an
image near a text naming its colours, and what AWS refuses is refused with its error shape."""

from __future__ import annotations

import base64
import io
import json

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from PIL import Image

from bedrock_magics.local import tokens

TITAN_MM = "amazon.titan-embed-image-v1"
COHERE_V4 = "us.cohere.embed-v4:0"  # served through inference profiles only
COHERE_V3 = "cohere.embed-english-v3"


@pytest.fixture
def rt(local_env):
    return boto3.client("bedrock-runtime", region_name="us-east-1")


def picture(color, size=(64, 64), fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{b64(data)}"


def invoke(rt, model: str, body: dict) -> tuple[dict, dict]:
    r = rt.invoke_model(modelId=model, body=json.dumps(body))
    headers = {k: v for k, v in r["ResponseMetadata"]["HTTPHeaders"].items() if k.startswith("x-amzn-bedrock")}
    return json.loads(r["body"].read()), headers


def refused(rt, model: str, body: dict) -> str:
    with pytest.raises(ClientError) as info:
        rt.invoke_model(modelId=model, body=json.dumps(body))
    error = info.value.response["Error"]
    assert error["Code"] == "ValidationException" and info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Message"]


def cos(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


# -- Titan Multimodal Embeddings G1 --------------------------------------------------------------------

def test_titan_multimodal_image_vectors_are_deterministic_and_near_their_colour(rt):
    red = b64(picture((220, 30, 30)))
    out, headers = invoke(rt, TITAN_MM, {"inputImage": red})
    assert set(out) == {"embedding", "inputTextTokenCount"} and len(out["embedding"]) == 1024
    assert out["inputTextTokenCount"] == 0 and headers["x-amzn-bedrock-input-token-count"] == "0"
    again, _ = invoke(rt, TITAN_MM, {"inputImage": red})
    assert again["embedding"] == out["embedding"]  # same image, same vector
    other_red, _ = invoke(rt, TITAN_MM, {"inputImage": b64(picture((225, 25, 35), size=(32, 48)))})
    assert other_red["embedding"] != out["embedding"]  # another image, another vector ...
    assert cos(other_red["embedding"], out["embedding"]) > 0.8  # ... close to it: both are red
    text_red, _ = invoke(rt, TITAN_MM, {"inputText": "red"})
    text_blue, _ = invoke(rt, TITAN_MM, {"inputText": "blue"})
    assert cos(out["embedding"], text_red["embedding"]) > 0.9 > 0.2 > cos(out["embedding"], text_blue["embedding"])


def test_titan_multimodal_text_and_image_average_and_take_an_output_length(rt):
    image = b64(picture((30, 70, 220)))
    both, headers = invoke(rt, TITAN_MM, {"inputText": "a blue square", "inputImage": image,
                                          "embeddingConfig": {"outputEmbeddingLength": 384}})
    assert len(both["embedding"]) == 384
    n = tokens.count("a blue square", tokens.family_of(TITAN_MM))
    assert both["inputTextTokenCount"] == n and headers["x-amzn-bedrock-input-token-count"] == str(n)
    text, _ = invoke(rt, TITAN_MM, {"inputText": "a blue square", "embeddingConfig": {"outputEmbeddingLength": 384}})
    alone, _ = invoke(rt, TITAN_MM, {"inputImage": image, "embeddingConfig": {"outputEmbeddingLength": 384}})
    mean = np.add(text["embedding"], alone["embedding"]) / 2
    assert cos(both["embedding"], mean) > 0.999
    small, _ = invoke(rt, TITAN_MM, {"inputImage": image, "embeddingConfig": {"outputEmbeddingLength": 256}})
    assert len(small["embedding"]) == 256


@pytest.mark.parametrize("body, words", [
    ({}, "at least one of [inputText, inputImage]"),
    ({"inputImage": "not base64!"}, "#/inputImage: invalid base64"),
    ({"inputImage": b64(picture("red", fmt="GIF"))}, "PNG or JPEG"),
    ({"inputText": "x", "embeddingConfig": {"outputEmbeddingLength": 512}}, "512 is not a valid enum value"),
    ({"inputText": "x", "dimensions": 256}, "extraneous key [dimensions]"),
    ({"inputText": "word " * 300}, "Max input tokens: 256"),
    ({"inputImage": b64(picture("red", size=(2049, 8)))}, "at most 2048x2048 px"),
])
def test_titan_multimodal_refuses_what_aws_refuses(rt, body, words):
    assert words in refused(rt, TITAN_MM, body)


def test_text_only_embedding_models_refuse_an_image(rt):
    image = b64(picture("red"))
    assert "extraneous key [inputImage]" in refused(rt, "amazon.titan-embed-text-v2:0",
                                                    {"inputText": "x", "inputImage": image})
    assert "extraneous key [inputImage]" in refused(rt, "amazon.titan-embed-text-v1", {"inputText": "x", "inputImage": image})
    assert "extraneous key [inputs]" in refused(rt, COHERE_V3, {"input_type": "search_document", "inputs": [
        {"content": [{"type": "image_url", "image_url": uri(picture("red"))}]}]})


# -- Cohere Embed v4 ------------------------------------------------------------------------------------

def test_cohere_v4_texts_images_and_mixed_inputs(rt):
    red = picture((220, 30, 30))
    texts, _ = invoke(rt, COHERE_V4, {"input_type": "search_document", "texts": ["red", "blue"]})
    assert texts["response_type"] == "embeddings_by_type" and texts["texts"] == ["red", "blue"]
    assert [len(v) for v in texts["embeddings"]["float"]] == [1536, 1536]  # v4 answers by type, float by default
    images, headers = invoke(rt, COHERE_V4, {"input_type": "search_document", "images": [uri(red)],
                                             "output_dimension": 256, "embedding_types": ["float", "int8"]})
    assert images["texts"] == [] and images["images"] == [{"width": 64, "height": 64, "format": "png", "bit_depth": 8}]
    assert len(images["embeddings"]["float"][0]) == 256 and len(images["embeddings"]["int8"][0]) == 256
    assert int(headers["x-amzn-bedrock-input-token-count"]) == 26  # 64 x 64 px: about 1,610 tokens per 512 x 512
    mixed, headers = invoke(rt, COHERE_V4, {"input_type": "search_document", "inputs": [{"content": [
        {"type": "text", "text": "red"}, {"type": "image_url", "image_url": uri(red)}]}]})
    assert len(mixed["embeddings"]["float"]) == 1  # text and image in one vector
    assert int(headers["x-amzn-bedrock-input-token-count"]) == 26 + tokens.count("red", tokens.family_of(COHERE_V4))
    assert cos(mixed["embeddings"]["float"][0], texts["embeddings"]["float"][0]) > 0.9


@pytest.mark.parametrize("body, words", [
    ({"texts": ["a"], "images": ["data:image/png;base64,AAAA"]}, "exactly one of [texts, images, inputs]"),
    ({"images": ["iVBORw0KGgo="]}, "expected a data URI"),
    ({"images": ["data:image/bmp;base64,Qk0="]}, "unsupported image type image/bmp"),
    ({"images": ["data:image/png;base64,@@@"]}, "invalid base64"),
    ({"texts": ["a"], "output_dimension": 100}, "100 is not a valid enum value"),
    ({"texts": ["a"], "truncate": "START"}, '"START" is not a valid enum value'),
    ({"inputs": [{"content": [{"type": "video", "text": "a"}]}]}, '"video" is not a valid enum value'),
    ({"inputs": [{"content": [{"type": "image_url"}]}]}, "required key [image_url] not found"),
])
def test_cohere_v4_refuses_what_aws_refuses(rt, body, words):
    assert words in refused(rt, COHERE_V4, {"input_type": "search_document", **body})


def test_cohere_v4_takes_no_image_input_type_and_v3_takes_one_image(rt):
    assert "is not a valid enum value" in refused(rt, COHERE_V4, {"input_type": "image", "texts": ["a"]})
    out, _ = invoke(rt, COHERE_V3, {"input_type": "image", "images": [uri(picture("red"))]})
    assert len(out["embeddings"]) == 1 and len(out["embeddings"][0]) == 1024 and out["texts"] == []
    two = [uri(picture("red")), uri(picture("blue"))]
    assert "expected maximum item count: 1" in refused(rt, COHERE_V3, {"input_type": "image", "images": two})
    webp = uri(picture("red", fmt="WEBP"), "image/webp")
    assert "unsupported image type image/webp" in refused(rt, COHERE_V3, {"input_type": "image", "images": [webp]})


@pytest.fixture
def quotas(local_service):
    local_service.quotas.clear()
    yield local_service.quotas
    local_service.quotas.clear()


def test_image_embeddings_draw_on_the_models_runtime_quota(local_env, quotas):
    """Image calls go through the quotas of every InvokeModel call: Cohere's image tokens count
    against tokens per minute, Titan Multimodal's calls against requests per minute."""
    rt = boto3.client("bedrock-runtime", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    quotas.set(COHERE_V4, tpm=40)
    body = {"input_type": "search_document", "images": [uri(picture("red"))]}  # 26 tokens
    invoke(rt, COHERE_V4, body)
    with pytest.raises(ClientError) as info:
        rt.invoke_model(modelId=COHERE_V4, body=json.dumps(body))
    assert info.value.response["Error"] == {"Code": "ThrottlingException",
                                            "Message": "Too many tokens, please wait before trying again."}
    quotas.set(TITAN_MM, rpm=1)
    invoke(rt, TITAN_MM, {"inputImage": b64(picture("red"))})
    with pytest.raises(ClientError) as info:
        rt.invoke_model(modelId=TITAN_MM, body=json.dumps({"inputImage": b64(picture("blue"))}))
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
