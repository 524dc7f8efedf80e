"""(work in progress)"""

from __future__ import annotations


def register(router) -> None:
    """Add this module's routes to ``router``."""
