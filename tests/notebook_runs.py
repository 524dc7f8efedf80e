"""Notebooks executed in a real Jupyter kernel on the local Bedrock service, once per test session.

Shared by ``test_notebooks.py`` and ``test_workshop.py``: the cache is this module's, so a notebook
both files look at runs once. Each run uses ``scripts/run_notebook.py``'s ``run`` (what
``make notebooks`` and CI use): ``BEDROCK_MAGICS_LOCAL=1``, its own ledger file
(``BEDROCK_MAGICS_LEDGER``), its own IPython directory and no AWS variables from the host.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from bedrock_magics.ledger import Ledger

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
_DONE: dict[str, "Executed"] = {}


def _load_runner():
    spec = importlib.util.spec_from_file_location("run_notebook", ROOT / "scripts" / "run_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Executed:
    """One executed notebook: its cells with outputs, and the rows of its ledger."""

    def __init__(self, nb: nbformat.NotebookNode, ledger_path: Path) -> None:
        self.nb = nb
        self.ledger_path = ledger_path
        ledger = Ledger(str(ledger_path))
        try:
            self.rows = ledger.rows()
        finally:
            ledger.close()

    @property
    def code_cells(self) -> list:
        return [c for c in self.nb.cells if c.cell_type == "code"]

    def cell(self, starts_with: str, nth: int = 0):
        """The ``nth`` code cell whose source starts with ``starts_with``."""
        found = [c for c in self.code_cells if c.source.startswith(starts_with)]
        assert len(found) > nth, f"no code cell starting with {starts_with!r}"
        return found[nth]

    def text(self, cell) -> str:
        """Everything the cell shows, as text (stream text, markdown/plain/html data, errors)."""
        parts = []
        for out in cell.outputs:
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type == "error":
                parts.append("\n".join(out.traceback))
            else:
                data = out.get("data", {})
                for mime in ("text/markdown", "text/html", "text/plain"):
                    if mime in data:
                        parts.append(data[mime])
        return "\n".join(parts)

    def plain(self, cell) -> str:
        """The cell's ``text/plain`` and stream output: what a viewer without HTML or widgets shows."""
        parts = []
        for out in cell.outputs:
            if out.output_type == "stream":
                parts.append(out.text)
            elif "text/plain" in out.get("data", {}):
                parts.append(out.data["text/plain"])
        return "\n".join(parts)

    def bedrock_cells(self) -> list:
        return [c for c in self.code_cells if c.source.startswith("%%bedrock")]


def execute(key: str, nb: nbformat.NotebookNode, tmp_path_factory: pytest.TempPathFactory) -> Executed:
    """Run ``nb`` (as if it sat in ``notebooks/``, beside ``notebooks/data``) once per session under ``key``."""
    if key not in _DONE:
        work = tmp_path_factory.mktemp(Path(key).stem)
        folder = work / "notebooks"
        folder.mkdir()
        if (NOTEBOOKS_DIR / "data").is_dir():
            shutil.copytree(NOTEBOOKS_DIR / "data", folder / "data")
        path = folder / key
        nbformat.write(nb, path)
        ledger = work / "ledger.sqlite"
        with pytest.MonkeyPatch.context() as mp:
            # run() gives the kernel os.environ (plus BEDROCK_MAGICS_LOCAL=1): keep the host's
            # AWS settings, IPython profile and ledger out of it.
            for name in list(os.environ):
                if name.startswith(("AWS_", "BEDROCK_MAGICS_")):
                    mp.delenv(name)
            mp.setenv("BEDROCK_MAGICS_LEDGER", str(ledger))
            mp.setenv("IPYTHONDIR", str(work / "ipython"))
            mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
            mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
            executed = _load_runner().run(path, local=True, save=None, quiet=True)
        _DONE[key] = Executed(executed, ledger)
    return _DONE[key]


def execute_committed(name: str, tmp_path_factory: pytest.TempPathFactory) -> Executed:
    """The notebook ``notebooks/name`` as committed, run once per session."""
    return execute(name, nbformat.read(NOTEBOOKS_DIR / name, as_version=4), tmp_path_factory)
