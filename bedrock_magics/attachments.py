"""Images, documents and videos for ``--image`` / ``--document`` / ``--video``: a path, bytes, a PIL
image or a matplotlib figure made into a Converse ``image`` / ``document`` / ``video`` block, checked
against Bedrock's documented limits before anything is sent.

Limits, from AWS's Bedrock API reference: a Converse message holds up to 20 images, each at most
3.75 MB and 8,000 x 8,000 px, and up to five documents, each at most 4.5 MB, in user turns only
(https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Message.html); an image is png,
jpeg, gif or webp (API_runtime_ImageBlock.html); a document is pdf, csv, doc, docx, xls, xlsx, html,
txt or md, and its name (1-200 characters) may hold only letters, digits, whitespace (never two in
a row), hyphens, parentheses and square brackets
(https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_DocumentBlock.html).

Videos: a video is mkv, mov, mp4, webm, flv, mpeg, mpg, wmv or three_gp (3GP) (API_runtime_VideoBlock.html;
nova2-userguide/request-response-schema.html); inline bytes must be "less than 25MB" base64-encoded
(API_runtime_VideoSource.html), and a request holds a single video (Amazon Nova user guide,
modalities-video.html: "include a single video in the payload"; nova2-userguide/using-multimodal-models.html:
25 MB, 1 object). The container is read from the file's first bytes where it has a signature (ISO
BMFF ``ftyp`` brands for mp4/mov/3gp, EBML for mkv/webm, ``FLV``, MPEG pack/sequence headers, the
ASF header GUID for wmv), else from the path's extension.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

__all__ = ["DOCUMENT_FORMATS", "IMAGE_FORMATS", "KINDS", "LIMITS", "VIDEO_FORMATS", "attachment", "base64_size",
           "check_count", "check_route", "labelled", "split_columns"]

IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
DOCUMENT_FORMATS = ("pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md")
VIDEO_FORMATS = ("mkv", "mov", "mp4", "webm", "flv", "mpeg", "mpg", "wmv", "three_gp")
#: A video's ``bytes`` limit is on its base64 encoding (what goes over the wire), see the docstring.
LIMITS = {"image": {"bytes": 3_750_000, "count": 20, "pixels": 8000},
          "document": {"bytes": 4_500_000, "count": 5},
          "video": {"base64_bytes": 25_000_000, "count": 1}}
#: The ``Bedrock.request`` keyword of each kind of attachment.
KINDS = {"images": "image", "documents": "document", "videos": "video"}
_SUFFIX = {"jpg": "jpeg", "htm": "html", "markdown": "md", "3gp": "three_gp", "3g2": "three_gp", "qt": "mov",
           "m4v": "mp4"}
_BAD_NAME = re.compile(r"[^A-Za-z0-9\s\-()\[\]]")


def _image_format(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _document_format(data: bytes, suffix: str | None) -> str | None:
    if data.startswith(b"%PDF"):
        return "pdf"
    return suffix if suffix in DOCUMENT_FORMATS else None


#: ASF (Windows Media) header object GUID, the first 16 bytes of a .wmv file.
_ASF = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


def _video_format(data: bytes, suffix: str | None) -> str | None:
    """The Converse video format of ``data`` by its signature, else by ``suffix``; None when neither
    names one of :data:`VIDEO_FORMATS`."""
    fmt = None
    if data[4:8] == b"ftyp":  # ISO base media: the major brand tells QuickTime and 3GPP from MP4
        brand = data[8:12]
        fmt = "mov" if brand == b"qt  " else "three_gp" if brand[:3] in (b"3gp", b"3g2") else "mp4"
    elif data[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska, or WebM by its DocType
        fmt = "webm" if b"webm" in data[:64] else "mkv"
    elif data[:3] == b"FLV":
        fmt = "flv"
    elif data[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):  # MPEG program stream / video sequence
        fmt = "mpg" if suffix == "mpg" else "mpeg"
    elif data[:16] == _ASF:
        fmt = "wmv"
    if fmt is None and suffix in VIDEO_FORMATS:
        fmt = suffix
    return fmt


def base64_size(n: int) -> int:
    """The length of ``n`` bytes base64-encoded."""
    return 4 * ((n + 2) // 3)


def _rendered(value: Any) -> bytes | None:
    """PNG bytes of a matplotlib figure or a PIL image (None for anything else)."""
    buffer = io.BytesIO()
    if hasattr(value, "savefig"):  # a matplotlib Figure
        value.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()
    if hasattr(value, "save") and hasattr(value, "size") and hasattr(value, "mode"):  # a PIL image
        value.save(buffer, format="PNG")
        return buffer.getvalue()
    return None


def _size_of_image(data: bytes) -> tuple[int, int] | None:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow comes with matplotlib; without it, size is not checked
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # noqa: BLE001 - an unreadable image is refused by the format check or by Bedrock
        return None


def _doc_name(label: str) -> str:
    name = _BAD_NAME.sub(" ", label)
    return re.sub(r"\s+", " ", name).strip()[:200] or "document"


def attachment(value: Any, kind: str, label: str = "attachment",
               limits: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Converse block (``{"image": ...}``, ``{"document": ...}`` or ``{"video": ...}``) of
    ``value``; ``ValueError`` (one line, naming ``label``) for a missing file, an unknown format or a
    file over the limits (Converse's :data:`LIMITS`; ``limits`` replaces some, e.g. an embedding
    model's own ``bytes``)."""
    suffix, name = None, label
    if isinstance(value, (str, Path)):
        path = Path(value).expanduser()
        if not path.is_file():
            raise ValueError(f"--{kind} {label}: no such file {str(path)!r}")
        data, suffix, name = path.read_bytes(), path.suffix.lower().lstrip("."), path.stem
        suffix = _SUFFIX.get(suffix, suffix)
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    else:
        rendered = _rendered(value)
        if rendered is None:
            what = ("a file path or bytes" if kind == "video"
                    else "a file path, bytes, a PIL image or a matplotlib figure")
            raise ValueError(f"--{kind} {label}: give {what}, not {type(value).__name__}")
        if kind != "image":
            raise ValueError(f"--{kind} {label}: a figure or image is an --image, not a {kind}")
        data = rendered
    limit = {**LIMITS[kind], **(limits or {})}
    if kind == "video":
        return _video(data, suffix, label)
    if len(data) > limit["bytes"]:
        raise ValueError(f"--{kind} {label}: {len(data) / 1e6:.2f} MB is over Bedrock's {limit['bytes'] / 1e6:g} MB "
                         f"limit for one {kind}")
    if kind == "image":
        fmt = _image_format(data)
        if fmt is None:
            raise ValueError(f"--image {label}: not a {', '.join(IMAGE_FORMATS)} image")
        size = _size_of_image(data)
        if size and limit["pixels"] and max(size) > limit["pixels"]:
            raise ValueError(f"--image {label}: {size[0]}x{size[1]} px is over Bedrock's {limit['pixels']} px "
                             f"limit on a side")
        return {"image": {"format": fmt, "source": {"bytes": data}}}
    fmt = _document_format(data, suffix)
    if fmt is None:
        raise ValueError(f"--document {label}: not one of {', '.join(DOCUMENT_FORMATS)} (give a path with its "
                         f"extension, or PDF bytes)")
    return {"document": {"format": fmt, "name": _doc_name(name), "source": {"bytes": data}}}


def _video(data: bytes, suffix: str | None, label: str) -> dict[str, Any]:
    fmt = _video_format(data, suffix)
    if fmt is None:
        names = ", ".join(f for f in VIDEO_FORMATS if f != "three_gp") + ", 3gp"
        raise ValueError(f"--video {label}: not one of {names} (give a path with its extension, or the bytes of "
                         f"one of these containers)")
    encoded, most = base64_size(len(data)), LIMITS["video"]["base64_bytes"]
    if encoded >= most:
        raise ValueError(f"--video {label}: {len(data) / 1e6:.2f} MB is {encoded / 1e6:.2f} MB base64-encoded; Bedrock "
                         f"takes an inline video under {most / 1e6:g} MB encoded (about {most * 3 / 4 / 1e6:.2f} MB "
                         f"of file): trim or compress it")
    return {"video": {"format": fmt, "source": {"bytes": data}}}


def check_count(blocks: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> None:
    """``ValueError`` when a request carries more images, documents or videos than Bedrock takes;
    documents' names must differ (Bedrock refuses two documents of one name)."""
    for kind, limit in LIMITS.items():
        count = sum(kind in b for b in blocks)
        if count > limit["count"]:
            most = "one" if limit["count"] == 1 else f"up to {limit['count']}"
            raise ValueError(f"{count} {kind}s in one request; Bedrock takes {most}")
    names = [b["document"]["name"] for b in blocks if "document" in b]
    if len(set(names)) < len(names):
        raise ValueError(f"two documents are named alike ({', '.join(names)}); Bedrock needs distinct names")


def check_route(blocks: list[dict[str, Any]] | tuple[dict[str, Any], ...], api: str) -> None:
    """``ValueError`` (one line) for a video on an API that does not carry one: Bedrock takes video
    blocks on Converse (API_runtime_VideoBlock.html) and in Nova's InvokeModel body
    (nova2-userguide/request-response-schema.html; ``features`` refuses the other bodies); the
    OpenAI-compatible APIs document none."""
    if api not in ("converse", "invoke") and any("video" in b for b in blocks):
        raise ValueError(f"--video is sent on the Converse API (or InvokeModel's Nova body), not {api}; use --api "
                         f"converse with a model that reads video (Amazon Nova Lite, Pro, Premier, Nova 2 Lite)")


def labelled(values: Any) -> list[tuple[str, Any]]:
    """``images``/``documents``/``videos`` as ``(label, value)`` pairs: one value or a list of them (paths,
    bytes, PIL images, figures), or pairs already; a path labels itself."""
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        values = [values]
    out = []
    for i, value in enumerate(values, 1):
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
            out.append(value)
        else:
            out.append((str(value) if isinstance(value, str) else f"#{i}", value))
    return out


_COLUMN = re.compile(r"^\{(\w+)\}$")


def split_columns(options: dict[str, Any], columns: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Take the ``{column}`` values of ``images`` / ``documents`` / ``videos`` out of ``options`` (a
    ``--df`` run attaches each row's file): ``(the other options, [(kind, column), ...])``."""
    names = {str(c) for c in columns}
    rest, refs = dict(options), []
    for key, kind in KINDS.items():
        values = rest.get(key)
        if values is None:
            continue
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        kept = []
        for value in values:
            text = value[1] if isinstance(value, tuple) else value
            found = _COLUMN.match(text) if isinstance(text, str) else None
            if found and found.group(1) in names:
                refs.append((kind, found.group(1)))
            else:
                kept.append(value)
        rest[key] = kept or None
    return rest, refs
