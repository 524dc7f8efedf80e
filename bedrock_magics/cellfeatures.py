"""The ``%%bedrock`` options of structured output, reasoning, prompt caching and attachments:
``--schema NAME``, ``--reasoning low|medium|high|N``, ``--prompt-cache``, ``--image X``,
``--document X`` and ``--video X`` (repeatable). ``options`` adds them to its parser and hands over its own namespace
lookup (one-line ``UsageError`` for an unknown name), so the grammar of ``$name``/``{name}`` stays
in one place. The values are checked against the model later, by ``features.apply``."""

from __future__ import annotations

import argparse
import re
from typing import Any, Callable, Mapping

__all__ = ["add_arguments", "parse"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the six options to the ``%%bedrock`` parser."""
    p.add_argument("--schema", metavar="NAME", help="structured output: a pydantic model, TypedDict, dataclass or "
                                                    "JSON-Schema dict from the notebook; reply.data is the object")
    p.add_argument("--reasoning", metavar="low|medium|high|N", help="extended thinking / reasoning effort")
    p.add_argument("--prompt-cache", action="store_true", help="cache points after the system prompt, tools and "
                                                               "long context (not --no-cache)")
    p.add_argument("--image", action="append", default=[], metavar="X",
                   help="attach an image: a path, or a variable holding bytes, a PIL image or a figure (repeatable)")
    p.add_argument("--document", action="append", default=[], metavar="X",
                   help="attach a document: a path, or a variable holding bytes (repeatable)")
    p.add_argument("--video", action="append", default=[], metavar="X",
                   help="attach a video (mp4, mov, mkv, webm, …; Converse): a path, or a variable holding bytes")


def parse(ns: argparse.Namespace, namespace: Mapping[str, Any], df: Any, expand: Callable[[str, str], str],
          lookup: Callable[[str, Mapping[str, Any], str], Any], whole_ref: re.Pattern[str]) -> dict[str, Any]:
    """The options given, as ``Bedrock.request`` keywords (``schema``, ``reasoning``, ``prompt_cache``,
    ``images``, ``documents``, ``videos``). ``lookup(name, namespace, what)`` finds a notebook variable;
    ``whole_ref`` matches a whole ``$name``/``{name}`` token (both from ``options``)."""
    columns = {str(c) for c in df.columns} if df is not None else set()

    def attachment(value: str, what: str) -> tuple[str, Any]:
        # {column} of --df (each row's file, kept as text for the run), a notebook variable (name,
        # $name or {name}), else a file path.
        text = value.strip()
        ref = whole_ref.match(text)
        name = (ref.group(1) or ref.group(2)) if ref else text
        if (ref and text.startswith("{") and name in columns) or (not ref and name not in namespace):
            return text, text
        return name, lookup(name, namespace, what)

    given = {
        "schema": lookup(_name(ns.schema, whole_ref), namespace, "--schema") if ns.schema is not None else None,
        "reasoning": expand(ns.reasoning, "--reasoning").strip() if ns.reasoning is not None else None,
        "prompt_cache": True if ns.prompt_cache else None,
        "images": [attachment(v, "--image") for v in ns.image] or None,
        "documents": [attachment(v, "--document") for v in ns.document] or None,
        "videos": [attachment(v, "--video") for v in ns.video] or None,
    }
    return {key: value for key, value in given.items() if value is not None}


def _name(value: str, whole_ref: re.Pattern[str]) -> str:
    ref = whole_ref.match(value.strip())
    return (ref.group(1) or ref.group(2)) if ref else value.strip()
