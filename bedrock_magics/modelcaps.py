"""What a model can take and do, read from the local service's data file
``local/data/capabilities.json`` (plain JSON, compiled from AWS's model pages; each entry names its
sources). The client reads the file as data and never imports the local service's code.

Used before sending, so that a feature a model lacks is refused (or worked around) in one line
rather than by a ValidationException after a round trip. An id the file does not know gives
``None``: the call is then sent and Bedrock decides.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from .modelids import base_model_id

__all__ = ["capabilities"]


@lru_cache(maxsize=1)
def _models() -> dict[str, dict[str, Any]]:
    try:
        text = resources.files("bedrock_magics").joinpath("local/data/capabilities.json").read_text()
    except (FileNotFoundError, OSError):
        return {}
    return dict(json.loads(text).get("models") or {})


def capabilities(model: str) -> dict[str, Any] | None:
    """The capabilities of ``model`` (an id or a geographic profile id), or None when unknown.

    Keys: ``inputs`` (``text``, ``image``, ``document``, ``video``), ``structuredOutput``,
    ``reasoning`` (``thinking`` | ``effort`` | ``reasoningConfig`` | ``always`` | None), ``reasoningEfforts``,
    ``thinkingMinBudget``, ``promptCaching``, ``cacheMinTokens``, ``routes``."""
    models = _models()
    found = models.get(model)
    if found is None:
        try:
            found = models.get(base_model_id(model))
        except Exception:  # noqa: BLE001 - an id we cannot read is simply unknown
            found = None
    return found
