"""A ``--df`` run's progress bar in a real browser (JupyterLab, Debian's chromium via Playwright, the
local service in the kernel): it counts to the end and says what the run did; a run stopped by the
circuit breaker (the first rows of 60 all failing alike) turns its bar red. The JupyterLab fixture and helpers are test_browser.py's.
"""

from __future__ import annotations

import pytest

from test_browser import KERNEL_IDLE, _run_cell, jupyter_lab, lab_page  # noqa: F401

pytestmark = pytest.mark.browser

ROWS = 12
RED = "rgb(255, 0, 0)"
# The background colours of everything in one cell's output (the bar is a div styled by tqdm's colour).
COLOURS = """(cell) => Array.from(document.querySelectorAll('.jp-Cell')[cell]
                  .querySelectorAll('.jp-OutputArea-output *')).map(e => getComputedStyle(e).backgroundColor)"""


def _notebook(path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (
        "%load_ext bedrock_magics",
        f"import pandas as pd\nreviews = pd.DataFrame({{'text': [f'Review {{i}}: great value, works well' "
        f"for i in range({ROWS})]}})",
        "%%bedrock labels --df reviews --out label --no-cache\n"
        "Is this review positive, negative or mixed? Answer with one word.\n{text}",
        "many = pd.concat([reviews] * 5, ignore_index=True)",
        "%%bedrock broken --df many --out label -m amazon.no-such-model-v1:0 --no-cache --concurrency 2\n{text}")]
    nbformat.write(nb, str(path))


def _cell_text(page, index: int) -> str:
    return page.locator(".jp-Cell").nth(index).locator(".jp-OutputArea").inner_text()


def test_a_df_bar_counts_to_the_end_and_a_stopped_run_turns_red(jupyter_lab):
    base, token, root = jupyter_lab
    _notebook(root / "bar.ipynb")
    with lab_page(base, token, "bar.ipynb", 1400, 1200) as page:
        _run_cell(page, 2, "notebook:run-all-above")
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        _run_cell(page, 2)
        page.wait_for_function(
            "() => (document.querySelectorAll('.jp-Cell')[2].innerText || '').includes('label_error')",
            timeout=90_000)
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        done = _cell_text(page, 2)
        assert f"{ROWS}/{ROWS}" in done and "100%" in done  # the bar ends full, with its counts
        assert f"{ROWS} rows" in done and "failed" not in done  # the summary line
        assert "positive" in done  # labels from the given set, in the frame shown
        assert RED not in page.evaluate(COLOURS, 2)

        _run_cell(page, 3)
        _run_cell(page, 4)
        page.wait_for_function(
            "() => (document.querySelectorAll('.jp-Cell')[4].innerText || '').includes('skipped')", timeout=90_000)
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        stopped = _cell_text(page, 4)
        assert "stopped" in stopped and "Unknown model amazon.no-such-model-v1:0" in stopped
        page.wait_for_function(f"() => ({COLOURS})(4).includes('{RED}')", timeout=30_000)
