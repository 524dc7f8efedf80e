"""Multimodal embedding requests: the text and images of one embedding call, checked against the
model before anything is sent, and the single call behind ``%%bedrock --embed`` without ``--df``
(``Bedrock.embed("text", images=[...])``). ``batch.embed_rows`` builds each row's request here too.

An image is a path, bytes, a PIL image or a matplotlib figure (``attachments.attachment`` reads it),
held to the embedding model's own limits (``routes.embed.IMAGE_INPUTS``: Titan Multimodal takes
PNG or JPEG up to 25 MB and 2,048 px a side, one per call; Cohere v4 takes JPEG, PNG, WEBP or GIF up
to 5 MB, with text in one vector; Cohere v3 one PNG or JPEG without text). A text-only model (Titan
Text Embeddings) given an image is refused in one line that names a model taking images.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Sequence

from .attachments import attachment, labelled
from .request import Request
from .routes import embed as wire

if TYPE_CHECKING:  # pragma: no cover
    from .core import Bedrock

__all__ = ["EMBEDDING_MODELS", "check_model", "image_blocks", "request_for", "settings", "single_request"]

#: What to suggest when a model is not an embedding model.
EMBEDDING_MODELS = ("amazon.titan-embed-text-v2:0 (Titan Text Embeddings), amazon.titan-embed-image-v1 (Titan "
                    "Multimodal) or cohere.embed-english-v3 (Cohere Embed)")


def check_model(bm: "Bedrock", model: str | None, region: str | None, images: bool) -> str:
    """The model's body family (``titan-embed`` or ``cohere-embed``); ``ValueError`` (one line) when
    ``model`` is missing, is no embedding model, or takes no images and ``images`` are given."""
    if not model:
        raise ValueError(f"an embedding model is needed: add -m amazon.titan-embed-text-v2:0 "
                         f"(or -m {'amazon.titan-embed-image-v1' if images else 'cohere.embed-english-v3'}; "
                         f"model=... in Python)")
    # An ARN (an application profile routing to Titan Embeddings) is known by the catalog's base model.
    family = bm.family_of(model, region, fetch=True)
    if wire.kind_of(model, family) is None:
        raise ValueError(f"{model} is not an embedding model: use -m {EMBEDDING_MODELS}")
    if images:
        wire.takes_images(model, family)
    return family


def settings(model: str, family: str, region: str | None, dimensions: Any, normalize: Any,
             input_type: Any) -> dict[str, Any]:
    """The ``Bedrock.request`` keywords of an embedding call (dimensions checked for the model)."""
    wire.check_dimensions(model, dimensions, family)
    extra = {name: value for name, value in (("dimensions", dimensions), ("normalize", normalize),
                                             ("input_type", input_type)) if value is not None}
    out: dict[str, Any] = {"model": model, "endpoint": "runtime", "api": "invoke", "extra": extra}
    if region:
        out["region"] = region
    return out


def image_blocks(model: str, images: Sequence[tuple[str, Any]], family: str | None = None) -> tuple[dict, ...]:
    """The Converse image blocks of ``images`` (``(label, value)``), read under the model's size
    limits; ``ValueError`` (one line, naming the image) for a missing file or one it cannot take."""
    if not images:
        return ()
    spec = wire.takes_images(model, family)
    limits = {"bytes": spec.max_bytes, "pixels": spec.max_side}
    return tuple(attachment(value, "image", label, limits=limits) for label, value in images)


def request_for(base: Request, text: str, blocks: Sequence[dict[str, Any]], family: str | None = None) -> Request:
    """``base`` (a resolved embedding request) for ``text`` and image ``blocks``; ``ValueError``
    (one line) when there is nothing to embed or the model cannot take these images with this text."""
    text = text if isinstance(text, str) else ""
    if not text.strip() and not blocks:
        raise ValueError("nothing to embed: give a text, or an --image to a model that takes images")
    wire.check_images(base.model, list(blocks), bool(text.strip()), family)
    content = [*blocks, *([{"text": text}] if text.strip() else [])]
    return replace(base, messages=base.messages[:-1] + ({"role": "user", "content": content},),
                   extra=dict(base.extra))


def single_request(bm: "Bedrock", text: str | None = None, *, images: Any = None, model: str | None = None,
                   region: str | None = None, dimensions: int | None = None, normalize: bool | None = None,
                   input_type: str | None = None) -> Request:
    """The request of one embedding of ``text`` and/or ``images``, every setting and image checked
    (``ValueError``, one line, before anything is sent)."""
    if text is not None and not isinstance(text, str):
        raise ValueError(f"the text to embed must be a string, not {type(text).__name__}")
    pairs = labelled(images)
    family = check_model(bm, model, region, bool(pairs))
    base = bm.request_template(**settings(model, family, region, dimensions, normalize, input_type)).base
    return request_for(base, text or "", image_blocks(model, pairs, family), family)
