"""pytest plugin: serve the test inputs the upstream tests download, from ``fixtures/``.

langchain-aws's tests and langchain-tests' standard suite fetch a sample PDF and PNG with
``httpx.get`` (``test_bedrock_converse.py`` even at import). The harness runs offline, so those
exact URLs answer from the files in ``fixtures/`` (made for this harness: a one-page PDF saying
"Dummy PDF file" like the w3.org original, and a small PNG; no test asserts on their content).
Any other URL goes to the real ``httpx.get`` -- and fails offline, which the triage then shows.
"""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# upstream URL -> bundled file standing in for it
OFFLINE_FILES = {
    "https://www.w3.org/WAI/ER/tests/xhtml/testfiles/resources/pdf/dummy.pdf": "dummy.pdf",
    "https://raw.githubusercontent.com/langchain-ai/docs/4d11d08b6b0e210bd456943f7a22febbd168b543"
    "/src/images/agentic-rag-output.png": "image.png",
}


def pytest_configure(config) -> None:  # noqa: ARG001 - pytest hook signature
    """Wrap ``httpx.get`` before collection imports the test modules."""
    import httpx

    real_get = httpx.get

    def get(url, *args, **kwargs):
        name = OFFLINE_FILES.get(str(url))
        if name is None:
            return real_get(url, *args, **kwargs)
        return httpx.Response(200, content=(FIXTURES / name).read_bytes(),
                              request=httpx.Request("GET", str(url)))

    httpx.get = get
