"""The request features every wire format carries its own way, read into a ``Call``: structured output
(a JSON Schema), reasoning (a Claude thinking budget or an OpenAI effort), cache points, and media
(images and files as Converse-shaped blocks).

Each reader takes the part of the request its format uses and returns what the ``Call`` holds (see
the responder's docstring); the wire modules call them from their request readers.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..capabilities import capabilities
from ..http import AwsError

#: The image formats Converse names, by MIME type.
IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                 "image/webp": "webp"}
#: Document formats by MIME type (Converse's names).
DOCUMENT_FORMATS = {"application/pdf": "pdf", "text/plain": "txt", "text/csv": "csv", "text/markdown": "md",
                    "text/html": "html", "application/msword": "doc",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
                    "application/vnd.ms-excel": "xls",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}


# -- reasoning ----------------------------------------------------------------------------------------

def claude_thinking(model: Mapping[str, Any], thinking: Any) -> dict | None:
    """The reasoning of a Claude ``thinking`` setting (Converse ``additionalModelRequestFields`` or
    the Anthropic body): ``enabled`` with ``budget_tokens``, or ``adaptive``; None when off or when
    the model cannot think (its capabilities' ``reasoning`` is not ``thinking``: Claude 3 and 3.5
    Haiku). The budget's rules (minimum, below max tokens, temperature 1) are
    :func:`~bedrock_magics.local.refusals.check_thinking`'s, checked before the call is answered."""
    if not isinstance(thinking, Mapping) or capabilities(model).reasoning != "thinking":
        return None
    kind = thinking.get("type")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        return {"budget": budget if isinstance(budget, int) and not isinstance(budget, bool) else None,
                "effort": "medium", "signed": True}
    if kind == "adaptive":
        return {"effort": "medium", "signed": True}
    return None


def openai_effort(effort: Any) -> dict | None:
    """The reasoning of an OpenAI ``reasoning_effort`` / ``reasoning.effort`` (None when absent or
    ``none``)."""
    if isinstance(effort, str) and effort != "none":
        return {"effort": effort}
    return None


# -- structured output --------------------------------------------------------------------------------

def converse_schema(config: Any) -> Mapping[str, Any] | None:
    """The JSON Schema of Converse ``outputConfig.textFormat`` (``json_schema``; the schema is a JSON
    string), or None."""
    fmt = config.get("textFormat") if isinstance(config, Mapping) else None
    if not isinstance(fmt, Mapping) or fmt.get("type") != "json_schema":
        return None
    raw = ((fmt.get("structure") or {}).get("jsonSchema") or {}).get("schema")
    try:
        schema = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        schema = None
    if not isinstance(schema, dict):
        raise AwsError("ValidationException", "The JSON schema in outputConfig.textFormat.structure.jsonSchema.schema "
                                              "is not a valid JSON object. Provide a valid JSON schema and try again.")
    return schema


def anthropic_output_schema(output_config: Any) -> dict | None:
    """The JSON schema of an Anthropic body's ``output_config.format`` (``{"type": "json_schema",
    "schema": {...}}``; InvokeModel and bedrock-mantle's Messages API), if any."""
    fmt = output_config.get("format") if isinstance(output_config, Mapping) else None
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        return fmt["schema"]
    return None


def openai_format(call: Any, fmt: Any) -> None:
    """Set a call's structured output from Chat ``response_format`` or Responses ``text.format``:
    ``json_schema`` (``{"json_schema": {"schema"}}`` in Chat, a flat ``{"schema"}`` in Responses)
    sets ``call.schema``; ``json_object`` sets ``call.extra["json_object"]``."""
    if not isinstance(fmt, Mapping):
        return
    if fmt.get("type") == "json_object":
        call.extra["json_object"] = True
    elif fmt.get("type") == "json_schema":
        inner = fmt.get("json_schema") if isinstance(fmt.get("json_schema"), Mapping) else fmt
        schema = inner.get("schema")
        call.schema = schema if isinstance(schema, Mapping) else {"type": "object"}


# -- cache points -------------------------------------------------------------------------------------

def converse_cache_marks(body: Mapping[str, Any]) -> dict:
    """The cache points of Converse ``system`` blocks and ``toolConfig.tools`` (message cache points
    stay in the messages): ``{"system": [(offset in the joined system text, ttl)], "tools": [(tools
    before it, ttl)]}``."""
    marks: dict[str, list] = {}
    texts: list[str] = []
    for block in body.get("system") or []:
        if isinstance(block, Mapping) and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif isinstance(block, Mapping) and isinstance(block.get("cachePoint"), Mapping):
            marks.setdefault("system", []).append((len("\n".join(texts)), block["cachePoint"].get("ttl") or "5m"))
    config = body.get("toolConfig")
    n = 0
    for item in (config.get("tools") or []) if isinstance(config, Mapping) else []:
        if isinstance(item, Mapping) and "toolSpec" in item:
            n += 1
        elif isinstance(item, Mapping) and isinstance(item.get("cachePoint"), Mapping):
            marks.setdefault("tools", []).append((n, item["cachePoint"].get("ttl") or "5m"))
    return marks


def anthropic_cache_point(block: Any) -> dict | None:
    """The Converse ``cachePoint`` block of an Anthropic ``cache_control`` (after the block that has it)."""
    control = block.get("cache_control") if isinstance(block, Mapping) else None
    if not isinstance(control, Mapping):
        return None
    return {"cachePoint": {"type": "default", **({"ttl": control["ttl"]} if control.get("ttl") else {})}}


# -- media --------------------------------------------------------------------------------------------

def data_url(url: Any) -> tuple[str, str] | None:
    """(MIME type, base64 data) of a ``data:`` URL, or None."""
    if not isinstance(url, str) or not url.startswith("data:") or "," not in url:
        return None
    head, data = url[5:].split(",", 1)
    return head.split(";", 1)[0].lower(), data


def media_block(mime: str, data: str, name: str = "document", citations: Any = None) -> dict | None:
    """A Converse ``image`` or ``document`` block for base64 ``data`` of type ``mime`` (None for
    other types)."""
    if mime in IMAGE_FORMATS:
        return {"image": {"format": IMAGE_FORMATS[mime], "source": {"bytes": data}}}
    if mime in DOCUMENT_FORMATS or mime.startswith("text/"):
        block: dict = {"document": {"format": DOCUMENT_FORMATS.get(mime, "txt"), "name": name,
                                    "source": {"bytes": data}}}
        if citations is not None:
            block["document"]["citations"] = citations
        return block
    return None


def openai_media(part: Any) -> dict | None:
    """The Converse block of an OpenAI content part: Chat ``image_url`` / ``file``, Responses
    ``input_image`` / ``input_file`` (data URLs only), or None."""
    if not isinstance(part, Mapping):
        return None
    kind = part.get("type")
    if kind == "image_url":
        url = part.get("image_url")
        found = data_url(url.get("url") if isinstance(url, Mapping) else url)
    elif kind == "input_image":
        found = data_url(part.get("image_url"))
    elif kind in ("file", "input_file"):
        file = part.get("file") if kind == "file" and isinstance(part.get("file"), Mapping) else part
        found = data_url(file.get("file_data"))
        if found:
            return media_block(*found, name=str(file.get("filename") or "document").rsplit(".", 1)[0])
        return None
    else:
        return None
    return media_block(*found) if found else None


def anthropic_media(part: Mapping[str, Any]) -> dict | None:
    """The Converse block of an Anthropic ``image`` or ``document`` content block (base64 or text
    sources), or None."""
    source = part.get("source") if isinstance(part.get("source"), Mapping) else {}
    if part.get("type") == "image" and source.get("type") == "base64":
        return media_block(str(source.get("media_type", "")), source.get("data") or "")
    if part.get("type") == "document":
        name = str(part.get("title") or "document")
        if source.get("type") == "text":
            block = {"document": {"format": "txt", "name": name, "source": {"text": source.get("data") or ""}}}
            if part.get("citations") is not None:
                block["document"]["citations"] = part["citations"]
            return block
        if source.get("type") == "base64":
            return media_block(str(source.get("media_type", "")), source.get("data") or "", name, part.get("citations"))
    return None
