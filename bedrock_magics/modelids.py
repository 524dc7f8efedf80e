"""Reading Bedrock model identifiers: the one parser of ids, profile ids and ARNs (no I/O).

What you may pass as ``--model`` takes many forms, and several modules need the foundation model
behind it (the body family, the price, CountTokens, the provider):

* a foundation-model id: ``amazon.nova-lite-v1:0`` (a context variant: ``amazon.nova-lite-v1:0:300k``);
* a cross-region inference-profile id: ``us.amazon.nova-lite-v1:0`` (prefixes :data:`GEO_PREFIXES`);
* a mantle id: ``openai.gpt-oss-120b``;
* an ARN ``arn:aws:bedrock:REGION:ACCOUNT:KIND/REST``, where ``KIND/REST`` is
  ``foundation-model/ID``, ``inference-profile/PROFILE-ID``,
  ``custom-model/BASE-ID/SUFFIX`` (a custom model names its base model), or one that names no
  model: ``provisioned-model/ID``, ``imported-model/ID``, ``application-inference-profile/ID``
  (only the catalog knows what those route to).

:func:`base_model_id` gives the foundation-model id, or None when the ARN names none;
:func:`vendor` the provider part (``anthropic``); :func:`region_of_arn` an ARN's region;
:func:`family_of` the InvokeModel body family. :func:`split_s3_uri` reads the other identifiers a
call names, S3 locations (batch inference jobs).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["GEO_PREFIXES", "ARN_KINDS", "EMBED_FAMILIES", "TEXT_FAMILIES", "arn_kind", "base_model_id", "family_of",
           "strip_geo", "vendor", "region_of_arn", "split_s3_uri"]

#: Prefixes of cross-region (geographic and global) inference-profile ids. ``us-gov.`` comes
#: before ``us.`` so that the longer prefix is tried first.
GEO_PREFIXES = ("us-gov.", "us.", "eu.", "apac.", "jp.", "au.", "ca.", "global.")

#: ARN resource kinds whose resource names the model (the others name only themselves).
_NAMING_KINDS = ("foundation-model", "inference-profile", "custom-model")
#: Every model-like ARN resource kind Bedrock has.
ARN_KINDS = _NAMING_KINDS + ("provisioned-model", "imported-model", "application-inference-profile")


def strip_geo(model: str) -> str:
    """``model`` without its cross-region prefix (``us.amazon.nova-lite-v1:0`` -> ``amazon.nova-lite-v1:0``)."""
    for prefix in GEO_PREFIXES:
        if model.startswith(prefix):
            return model[len(prefix):]
    return model


def _arn_parts(arn: str) -> tuple[str, str, str] | None:
    """``(region, kind, rest)`` of ``arn:PARTITION:bedrock:REGION:ACCOUNT:KIND/REST``, else None."""
    fields = arn.split(":", 5)
    if len(fields) < 6 or fields[0] != "arn":
        return None
    kind, _, rest = fields[5].partition("/")
    return fields[3], kind, rest


def arn_kind(model: str | None) -> str | None:
    """The resource kind of an ARN (``custom-model``, ``application-inference-profile`` …), None for an id."""
    parts = _arn_parts((model or "").strip())
    return parts[1] if parts else None


def base_model_id(model: str | None) -> str | None:
    """The foundation-model id that ``model`` (an id, profile id or ARN) names, or None.

    None for an empty ``model`` and for ARNs that do not name their model (provisioned models,
    imported models, application inference profiles, anything unknown).

    >>> base_model_id("arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-lite-v1:0:300k/abc123")
    'amazon.nova-lite-v1:0:300k'
    >>> base_model_id("eu.anthropic.claude-3-haiku-20240307-v1:0")
    'anthropic.claude-3-haiku-20240307-v1:0'
    """
    ident = (model or "").strip()
    if ident.startswith("arn:"):
        parts = _arn_parts(ident)
        if parts is None:
            return None
        _, kind, rest = parts
        if kind not in _NAMING_KINDS or not rest:
            return None
        if kind == "custom-model":
            # custom-model/{base model id}/{suffix}: the base id may itself hold ":" but never "/".
            base, slash, _ = rest.rpartition("/")
            if not slash or not base:
                return None
            rest = base
        ident = rest
    return strip_geo(ident) or None


def vendor(model: str | None) -> str:
    """The provider part of the model ``model`` names (``anthropic`` from ``us.anthropic.claude…``
    or its ARN); ``""`` when it names none."""
    base = base_model_id(model)
    if not base or "." not in base:
        return ""
    return base.split(".", 1)[0]


def region_of_arn(arn: str | None) -> str | None:
    """The region of an ARN (``us-east-1``), or None for an id that is not an ARN (or has no region)."""
    parts = _arn_parts((arn or "").strip())
    return (parts[0] or None) if parts else None


TEXT_FAMILIES = ("anthropic", "nova", "titan-text", "llama", "mistral", "mistral-chat", "cohere-command", "gpt-oss",
                 "deepseek-r1")
EMBED_FAMILIES = ("titan-embed", "cohere-embed")
_MISTRAL_CHAT = re.compile(r"mistral-large-(24(07|11)|3)|pixtral|mistral-small-2[45]|ministral|magistral|devstral|"
                           r"mistral-medium")


def family_of(model_id: str) -> str | None:
    """The InvokeModel body family of ``model_id`` (an id, a profile id or an ARN that names its model),
    or ``None`` when unknown (``routes.codecs`` has one codec per family)."""
    mid = (base_model_id(model_id) or "").lower()
    if not mid:
        return None
    provider, _, name = mid.partition(".")
    if provider == "anthropic":
        return "anthropic"
    if provider == "amazon":
        if name.startswith("nova-canvas") or name.startswith("nova-reel") or name.startswith("titan-image"):
            return "image"
        if name.startswith("nova-sonic"):
            return "speech"
        if name.startswith("nova"):
            return "nova"
        if name.startswith("titan-embed"):
            return "titan-embed"
        if name.startswith("titan-text") or name.startswith("titan-tg1"):
            return "titan-text"
        return None
    if provider == "meta":
        return "llama"
    if provider == "mistral":
        return "mistral-chat" if _MISTRAL_CHAT.search(name) else "mistral"
    if provider == "cohere":
        return "cohere-embed" if name.startswith("embed") else "cohere-command"
    if provider == "deepseek" and name.startswith("r1-"):
        return "deepseek-r1"  # a text-completion body, unlike DeepSeek V3's chat body
    if provider in ("openai", "deepseek", "qwen", "ai21", "moonshotai", "moonshot", "zai", "minimax", "google",
                    "nvidia", "writer"):
        return "gpt-oss"
    return None


def split_s3_uri(uri: Any) -> tuple[str, str]:
    """``(bucket, key)`` of ``s3://bucket/key``; ValueError (one line) for anything else.

    The package's one S3 URI parser (``explain`` reads a failure's bucket with it too)."""
    if not isinstance(uri, str) or not uri.startswith("s3://") or len(uri) <= 5:
        raise ValueError(f"s3_uri must look like s3://bucket/prefix/, not {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key
