"""What the local service checks in the media and structured-output fields of the Claude and Nova
InvokeModel bodies, before the responder answers (the rest of each body is checked by its family's
JSON schema in :mod:`.invoke`).

Claude (Anthropic Messages body; AWS model-parameters-anthropic-claude-messages-request-response.html,
Anthropic's vision guide for the limits):

* an ``image`` block is ``{"type": "image", "source": {"type": "base64", "media_type", "data"}}``
  with ``media_type`` one of ``image/jpeg``, ``image/png``, ``image/gif``, ``image/webp``; ``data``
  is valid base64 of an image of that type, at most 5 MB (5,242,880 bytes, counted on the base64
  text as Bedrock does: "image exceeds 5 MB maximum: 7167852 bytes > 5242880 bytes",
  aws-solutions-library-samples/accelerated-intelligent-document-processing-on-aws#778) and 8,000
  pixels a side; at most 100 images a request (Anthropic's API limit);
* ``output_config.format`` (``{"type": "json_schema", "schema"}``, AWS structured-output.html) only
  for models with structured output;
* no ``document`` blocks on the runtime's InvokeModel ("Including documents in the request body is
  not supported when using InvokeModel and InvokeModelWithResponseStream", AWS
  inference-api-restrictions.html; the error Bedrock gives, boto/boto3#4359: "Input tag 'document'
  found using 'type' does not match any of the expected tags: 'text', 'image', 'tool_use',
  'tool_result'"). Mantle's Anthropic Messages API, Anthropic's own, takes them.

Nova (messages-v1, Converse's shape; Nova user guide, request-response-schema.html and invoke.html):
``image`` (png, jpeg, gif, webp) and ``video`` (mkv, mov, mp4, webm, three_gp, flv, mpeg, mpg, wmv)
blocks with ``source.bytes`` a base64 string (or, for video, ``source.s3Location``); no ``document``
blocks ("Document Support is limited to only Converse API and is not supported in Invoke API").

Either body: an image or video for a model without that input modality is refused with Bedrock's
Converse sentence (:func:`~bedrock_magics.local.refusals.check_media`). Messages whose exact words
no AWS page or issue shows are marked INFERRED beside them.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..capabilities import Capabilities
from ..http import AwsError
from ..refusals import RELAYED, check_media
from ..responder.media import image_size, strict_decode
from ..validation import malformed

#: Anthropic's image media types.
CLAUDE_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
CLAUDE_IMAGE_BYTES = 5 * 1024 * 1024
CLAUDE_MAX_EDGE = 8000
CLAUDE_MAX_IMAGES = 100
NOVA_IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
NOVA_VIDEO_FORMATS = ("mkv", "mov", "mp4", "webm", "three_gp", "flv", "mpeg", "mpg", "wmv")
_MAGIC = {"png": lambda d: d.startswith(b"\x89PNG\r\n\x1a\n"), "jpeg": lambda d: d.startswith(b"\xff\xd8\xff"),
          "gif": lambda d: d[:6] in (b"GIF87a", b"GIF89a"), "webp": lambda d: d[:4] == b"RIFF" and d[8:12] == b"WEBP"}


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def check_claude(body: Mapping[str, Any], caps: Capabilities, documents: bool = False) -> None:
    """Refuse the image blocks and ``output_config`` of a (shape-valid) Anthropic body that Bedrock
    would, and its ``document`` blocks unless ``documents`` (mantle's Messages API takes them)."""
    images = 0
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, Mapping) else None
        for j, part in enumerate(content if isinstance(content, list) else []):
            if isinstance(part, Mapping) and part.get("type") == "document" and not documents:
                raise _invalid(f"{RELAYED}messages.{i}.content.{j}: Input tag 'document' found using 'type' does "
                               f"not match any of the expected tags: 'text', 'image', 'tool_use', 'tool_result'")
            if isinstance(part, Mapping) and part.get("type") == "image":
                images += 1
                _claude_image(part, f"messages.{i}.content.{j}")
                check_media(caps, "image", message.get("role", "user"))
    if images > CLAUDE_MAX_IMAGES:
        # INFERRED wording (Anthropic's limit of 100 images per request).
        raise _invalid(f"{RELAYED}messages: too many images: {images} > {CLAUDE_MAX_IMAGES}")
    config = body.get("output_config")
    if isinstance(config, Mapping) and config.get("format") is not None:
        fmt = config["format"]
        if not isinstance(fmt, Mapping) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), Mapping):
            raise _invalid(f"{RELAYED}output_config.format: Input should be an object with type 'json_schema' and "
                           f"a schema")  # INFERRED wording
        if not caps.structured_output:
            # INFERRED wording: AWS lists the Claude models with structured output (structured-output.html).
            raise _invalid(f"{RELAYED}output_config.format: structured outputs are not supported by this model")


def _claude_image(part: Mapping[str, Any], where: str) -> None:
    source = part.get("source")
    if not isinstance(source, Mapping) or source.get("type") != "base64":
        # Bedrock's InvokeModel takes base64 images only (no url or file sources). INFERRED wording.
        raise _invalid(f"{where}.image.source: Input tag '{(source or {}).get('type') if isinstance(source, Mapping) else None}' "
                       f"found using 'type' does not match any of the expected tags: 'base64'")
    media_type = source.get("media_type")
    if media_type not in CLAUDE_IMAGE_TYPES:
        # Anthropic's words (expectedparrot/edsl#2057).
        raise _invalid(f"{where}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
                       f"'image/gif' or 'image/webp'")
    data = source.get("data")
    if isinstance(data, str) and len(data) > CLAUDE_IMAGE_BYTES:
        raise _invalid(f"{RELAYED}{where}.image.source.base64: image exceeds 5 MB maximum: {len(data)} bytes > "
                       f"{CLAUDE_IMAGE_BYTES} bytes")
    raw = strict_decode(data) or None
    fmt = media_type.split("/", 1)[1]
    if raw is None or not _MAGIC[fmt](raw):
        # Anthropic's words for bytes that are not the declared type (INFERRED for bad base64).
        raise _invalid(f"{RELAYED}{where}.image.source.base64.data: The image was specified using the {media_type} "
                       f"media type, but does not appear to be a valid {fmt} image")
    size = image_size(raw)
    if size and max(size) > CLAUDE_MAX_EDGE:
        raise _invalid(f"{RELAYED}{where}.image.source.base64.data: At least one of the image dimensions exceed max "
                       f"allowed size: {CLAUDE_MAX_EDGE} pixels")


def check_nova(body: Mapping[str, Any], caps: Capabilities) -> None:
    """Refuse the media blocks of a (shape-valid) Nova body that Bedrock would."""
    for i, message in enumerate(body.get("messages") or []):
        for j, block in enumerate(message.get("content") or []):
            if not isinstance(block, Mapping):
                continue
            where = f"#/messages/{i}/content/{j}"
            if "document" in block:
                # Nova's Invoke API takes no documents (invoke.html); Bedrock's schema wording, INFERRED.
                raise malformed(f"{where}: extraneous key [document] is not permitted")
            for kind, formats in (("image", NOVA_IMAGE_FORMATS), ("video", NOVA_VIDEO_FORMATS)):
                if kind in block:
                    _nova_media(block[kind], kind, formats, f"{where}/{kind}")
                    check_media(caps, kind, message.get("role", "user"))


def _nova_media(media: Any, kind: str, formats: tuple[str, ...], where: str) -> None:
    # Malformed-input wording as for the body's JSON schema (validation.py); INFERRED for these fields.
    if not isinstance(media, Mapping) or media.get("format") not in formats:
        found = media.get("format") if isinstance(media, Mapping) else None
        raise malformed(f"{where}/format: {found} is not a valid enum value")
    source = media.get("source")
    if kind == "video" and isinstance(source, Mapping) and isinstance(source.get("s3Location"), Mapping):
        return
    raw = strict_decode(source.get("bytes") if isinstance(source, Mapping) else None) or None
    if raw is None:
        raise malformed(f"{where}/source/bytes: expected a Base64-encoded string")
    if kind == "image" and not _MAGIC[media["format"]](raw):
        raise _invalid(f"The provided image is not a valid {media['format']} image. Check the image format and "
                       f"try again.")  # INFERRED wording
