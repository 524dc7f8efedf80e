"""IPython magics and Jupyter widgets for Amazon Bedrock.

``%load_ext bedrock_magics`` registers ``%bedrock`` / ``%%bedrock``. Importing this package imports
IPython and traitlets only; boto3, openai, pandas and ipywidgets load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Bedrock", "Reply", "Request", "LocalService", "load_ipython_extension", "unload_ipython_extension"]

if TYPE_CHECKING:  # pragma: no cover
    from .core import Bedrock
    from .local import LocalService
    from .reply import Reply
    from .request import Request

_LAZY = {"Bedrock": ".core", "Reply": ".reply", "Request": ".request", "LocalService": ".local"}


def __getattr__(name: str) -> Any:
    # PEP 562: public names resolve on first access, keeping `import bedrock_magics` light.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'bedrock_magics' has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    """Called by ``%load_ext bedrock_magics``."""
    from . import logredact
    from .magics import load

    logredact.install()  # secrets masked in botocore/urllib3/httpx/openai debug logs (logredact.py)
    load(ipython)


def unload_ipython_extension(ipython) -> None:
    """Called by ``%unload_ext`` / ``%reload_ext``."""
    from . import logredact
    from .magics import unload

    unload(ipython)
    logredact.uninstall()
