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
:func:`vendor` the provider part (``anthropic``); :func:`region_of_arn` an ARN's region.
"""

from __future__ import annotations

__all__ = ["GEO_PREFIXES", "ARN_KINDS", "arn_kind", "base_model_id", "strip_geo", "vendor", "region_of_arn"]

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
