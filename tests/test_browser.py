"""The picker in a real browser: JupyterLab on loopback, Debian's chromium driven by Playwright.

One test, end to end: a notebook in local mode (``BEDROCK_MAGICS_LOCAL=1`` in the kernel's
environment) shows ``%bedrock pick``; the browser chooses a region and a model; a ``%%bedrock``
cell then answers with that model, and its footer names it. A screenshot goes to the test's tmp
dir; with ``UPDATE_SCREENSHOT=1`` also to ``docs/picker.png`` (the README shows it).

Never runs ``playwright install``: the browser is Debian's ``/usr/bin/chromium``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from bedrock_magics.local import credentials as local

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "picker.png"
REGION = "us-west-2"
# Offered in us-west-2 only (the local catalog), so answering with it proves the region was used.
MODEL = "mistral.mistral-large-2407-v1:0"
PROMPT = "Which model answers when the picker chooses?"

if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); the browser test needs Debian's chromium",
                allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="Python playwright is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext bedrock_magics"),
        nbformat.v4.new_code_cell("%bedrock pick"),
        nbformat.v4.new_code_cell(f"%%bedrock\n{PROMPT}"),
    ]
    nbformat.write(nb, str(path))


def _lab_settings(settings_dir: Path) -> None:
    # No news or update checks: there is no network, and their toasts would cover the screenshot.
    target = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


@pytest.fixture
def jupyter_lab(tmp_path):
    """JupyterLab on 127.0.0.1 with a random token, serving a tmp dir; yields (base_url, token, root)."""
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    _notebook(root / "picker.ipynb")
    settings = home / "lab-settings"
    _lab_settings(settings)
    token, port = secrets.token_hex(16), _free_port()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BEDROCK_MAGICS_", "JUPYTER"))}
    env.update({
        "BEDROCK_MAGICS_LOCAL": "1",  # the kernel starts and uses the local Bedrock service
        "BEDROCK_MAGICS_LEDGER": str(home / "ledger.sqlite"),
        "JUPYTER_CONFIG_DIR": str(home / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        "PYTHONUNBUFFERED": "1",
    })
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        "--LabApp.extension_manager=readonly",  # no PyPI queries from the extension manager
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        command.append("--allow-root")
    log = open(tmp_path / "jupyter-lab.log", "wb")
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited ({proc.returncode}):\n{_tail(tmp_path / 'jupyter-lab.log')}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer on {base}:\n{_tail(tmp_path / 'jupyter-lab.log')}")
            time.sleep(0.3)
        yield base, token, root
    finally:
        proc.terminate()  # the server shuts its kernels down (and with them the local service)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle';
}"""


def _run_cell(page, index: int, command: str = "notebook:run-cell") -> None:
    page.evaluate(
        """([index, command]) => {
             const panel = window.jupyterapp.shell.currentWidget;
             panel.content.activeCellIndex = index;
             return window.jupyterapp.commands.execute(command);
           }""",
        [index, command],
    )


@contextlib.contextmanager
def lab_page(base: str, token: str, notebook: str, width: int = 1280, height: int = 1200) -> Iterator[Any]:
    """A chromium page on ``notebook`` in JupyterLab, once its kernel is idle; the browser closes after."""
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{base}/lab/tree/{notebook}?token={token}", wait_until="domcontentloaded")
            page.wait_for_function(KERNEL_IDLE, timeout=90_000)
            yield page
        finally:
            browser.close()


def test_pick_region_and_model_then_ask(jupyter_lab, tmp_path):
    base, token, root = jupyter_lab
    with lab_page(base, token, "picker.ipynb") as page:
        # Cells 1-2: load the extension (which starts the local service) and show the picker.
        _run_cell(page, 2, "notebook:run-all-above")
        status = page.locator(".bedrock-picker-status")
        status.wait_for(timeout=60_000)
        page.wait_for_function(
            "() => (document.querySelector('.bedrock-picker-status') || {}).innerText?.includes('models for')",
            timeout=60_000)

        # Choose the region; the list reloads for it (widgets disabled meanwhile).
        page.select_option(".bedrock-picker-region select", REGION)
        page.wait_for_function(
            f"() => document.querySelector('.bedrock-picker-status').innerText.startsWith('{REGION}:')",
            timeout=60_000)
        # Narrow the list with the filter, then choose the model.
        page.fill(".bedrock-picker-filter input", "mistral large")
        # Select by index only once the kernel has sent the filtered list (ipywidgets syncs a
        # Select's *index*: choosing in the stale full list would pick by the wrong position).
        page.wait_for_function(
            "() => document.querySelector('.bedrock-picker-status').innerText.includes('match “mistral large”')",
            timeout=30_000)
        option = page.locator(".bedrock-picker-model select option", has_text=MODEL)
        option.wait_for(state="attached", timeout=30_000)
        page.select_option(".bedrock-picker-model select", value=option.get_attribute("value"))
        config = page.locator(".bedrock-picker-config")
        config.get_by_text(f"%config Bedrock.model = '{MODEL}'").wait_for(timeout=30_000)
        assert f"%config Bedrock.region = '{REGION}'" in config.inner_text()

        # Cell 3 uses the picks as its defaults.
        _run_cell(page, 2)
        answer = page.locator(".jp-Cell").nth(2).locator(".jp-OutputArea-output")
        answer.get_by_text(f"Local Bedrock reply from {MODEL}").wait_for(timeout=60_000)
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        text = answer.inner_text()
        assert f'You said: "{PROMPT}"' in text
        footer = next(line for line in text.splitlines() if " · " in line)
        assert footer.startswith(f"{MODEL} · runtime/converse · ")
        assert "Error" not in page.locator(".jp-Cell").nth(1).inner_text()

        # The saved notebook (outputs, and widget state if saved) holds no secret.
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
        saved = (root / "picker.ipynb").read_text()
        assert f"Local Bedrock reply from {MODEL}" in saved
        for secret in (local.SECRET_ACCESS_KEY, local.API_KEY):
            assert secret not in saved

        page.locator(".jp-Cell").nth(1).scroll_into_view_if_needed()
        shot = tmp_path / "picker.png"
        page.locator(".jp-NotebookPanel").screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000  # a real rendering, not a blank page
        if os.environ.get("UPDATE_SCREENSHOT"):  # refresh the README's picture on purpose only
            shutil.copyfile(shot, DOCS_SCREENSHOT)
