"""Issue 13 in a real browser (JupyterLab, Debian's chromium via Playwright, the local service in the
kernel): the picker's rules -- local regions only, the columns of each row, a filter that never calls
the chosen model "not offered", mantle and back restoring Converse with a valid model -- and
``%bedrock usage --plot`` drawing its chart.

The JupyterLab fixture and helpers are test_browser.py's.
"""

from __future__ import annotations

import pytest

from test_browser import KERNEL_IDLE, _run_cell, jupyter_lab, lab_page  # noqa: F401

pytestmark = pytest.mark.browser

LOCAL_REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-central-1", "eu-west-1", "eu-west-3", "ap-northeast-1",
                 "ap-northeast-3"]
STATUS = "(document.querySelector('.bedrock-picker-status') || {}).innerText || ''"
CONFIG = "(document.querySelector('.bedrock-picker-config') || {}).innerText || ''"


def _notebook(path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (
        "%load_ext bedrock_magics", "%bedrock pick", "%%bedrock --no-stream\necho: hello",
        "%bedrock usage --by model --plot")]
    nbformat.write(nb, str(path))


def _status_has(page, text: str) -> None:
    page.wait_for_function(f"(t) => ({STATUS}).includes(t)", arg=text, timeout=60_000)


def test_picker_rules_and_usage_plot_in_jupyterlab(jupyter_lab):
    base, token, root = jupyter_lab
    _notebook(root / "rules.ipynb")
    with lab_page(base, token, "rules.ipynb", 1400, 1300) as page:
        _run_cell(page, 2, "notebook:run-all-above")
        page.locator(".bedrock-picker-status").wait_for(timeout=60_000)
        _status_has(page, "models for runtime/converse")

        # Local mode: only the regions the local service serves (no af-south-1 to fail on).
        regions = page.eval_on_selector_all(".bedrock-picker-region select option", "os => os.map(o => o.value)")
        assert regions == LOCAL_REGIONS

        # Each row shows price per 1M in/out, context window and modalities; no local test ARNs.
        options = page.eval_on_selector_all(".bedrock-picker-model select option",
                                            "os => os.map(o => o.text.replace(/\\u00a0/g, ' '))")
        haiku = next(o for o in options if o.startswith("us.anthropic.claude-haiku-4-5-20251001-v1:0"))
        assert "per 1M in/out" in haiku and "200K ctx" in haiku and "text+image→text" in haiku
        assert not any("arn:aws" in o for o in options)

        # The filter hides the chosen model without calling it "not offered".
        page.fill(".bedrock-picker-filter input", "haiku")
        _status_has(page, "match “haiku”")
        status = page.evaluate(f"() => {STATUS}")
        assert "hidden by the filter" in status and "is not offered" not in status
        page.fill(".bedrock-picker-filter input", "")
        _status_has(page, "Chosen: us.amazon.nova-lite-v1:0.")

        # Mantle and back: Responses on mantle, Converse again on runtime, and a model it offers.
        page.locator(".bedrock-picker-endpoint button", has_text="mantle").click()
        _status_has(page, "models for mantle/responses")
        page.locator(".bedrock-picker-endpoint button", has_text="runtime").click()
        _status_has(page, "models for runtime/converse")
        _status_has(page, "Chosen: us.amazon.nova-lite-v1:0")
        page.wait_for_function(f"() => ({CONFIG}).includes(\"%config Bedrock.api = 'converse'\")", timeout=30_000)
        assert "is not offered" not in page.evaluate(f"() => {STATUS}")
        assert page.eval_on_selector(".bedrock-picker-api select", "s => s.value") is not None

        # A call with the picks, then the usage chart.
        _run_cell(page, 2)
        _run_cell(page, 3)
        plot = page.locator(".jp-Cell").nth(3).locator(".jp-OutputArea-output img")
        plot.wait_for(timeout=60_000)
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        box = plot.bounding_box()
        assert box and box["width"] > 400 and box["height"] > 100  # a real chart, not a broken image
        table = page.locator(".jp-Cell").nth(3).inner_text()
        assert "median_latency_ms" in table and "us.amazon.nova-lite-v1:0" in table
