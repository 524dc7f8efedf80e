"""pytest plugin: point langchain-aws's ``ChatOpenAIMantle`` at the local mantle endpoint.

Every other client in the third-party tests reads its endpoint from the environment
(botocore: ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``; the anthropic SDK: ``ANTHROPIC_BEDROCK_BASE_URL``
and ``ANTHROPIC_BEDROCK_MANTLE_BASE_URL``), so ``run.py`` only sets variables. ``ChatOpenAIMantle``
alone builds its base URL from a module constant (``https://bedrock-mantle.{region}.api.aws/v1``)
and reads no variable for it, so this plugin swaps that constant -- the endpoint and nothing
else -- for ``LOCAL_MANTLE_OPENAI_BASE_URL`` when run.py sets it. The tests themselves are untouched.
"""

from __future__ import annotations

import os


def pytest_configure(config) -> None:  # noqa: ARG001 - pytest hook signature
    """Swap the mantle base-URL template before any test builds a model."""
    base_url = os.environ.get("LOCAL_MANTLE_OPENAI_BASE_URL")
    if not base_url:
        return
    from langchain_aws.chat_models import openai as mantle_openai

    # The template is formatted with ``region=``; a URL without ``{region}`` formats to itself.
    mantle_openai._MANTLE_BASE_URL_TEMPLATE = base_url
