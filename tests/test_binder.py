"""Binder's recipe works from binder/'s files alone: a fresh virtual environment built the way
repo2docker builds one runs the quickstart notebook on the local Bedrock service.

The steps are repo2docker's: ``pip install -r binder/requirements.txt``, then ``binder/postBuild``,
then every process started through ``binder/start``. They run on a copy of the repository (so that
building the package leaves nothing in the working tree), with the new environment first on
``PATH``, and an IPython/Jupyter configuration of their own. pip uses whatever index the machine
is configured with. One environment is built; it takes a minute or two.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[1]
# What repo2docker sees of the repository that matters here.
COPIED = ("pyproject.toml", "README.md", "bedrock_magics", "binder", "notebooks", "scripts")


def _run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


@pytest.mark.timeout(900)
def test_binder_environment_runs_the_quickstart(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(source, repo / name)
    # The quickstart as committed, plus one cell that says which Python the kernel runs.
    quickstart = repo / "notebooks" / "quickstart.ipynb"
    nb = nbformat.read(quickstart, as_version=4)
    nb.cells.append(new_code_cell("import sys, bedrock_magics\nprint('kernel python:', sys.prefix)\n"
                                  "print('bedrock_magics from:', bedrock_magics.__file__)"))
    nbformat.write(nb, quickstart)

    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "BEDROCK_MAGICS_", "JUPYTER", "IPYTHON", "PYTHON", "VIRTUAL_ENV"))}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv),
        IPYTHONDIR=str(tmp_path / "ipython"), JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"), JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        BEDROCK_MAGICS_LEDGER=str(tmp_path / "ledger.sqlite"), AWS_EC2_METADATA_DISABLED="true",
    )
    _run([sys.executable, "-m", "venv", str(venv)], env, tmp_path, 120)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", "binder/requirements.txt"],
         env, repo, 600)
    _run(["bash", "binder/postBuild"], env, repo, 300)

    # Execute through binder/start, which must supply BEDROCK_MAGICS_LOCAL: --aws leaves the runner's
    # environment as it is.
    out = tmp_path / "executed"
    done = _run(["binder/start", "python", "scripts/run_notebook.py", "--aws", "--save", str(out),
                 "notebooks/quickstart.ipynb"], env, repo, 300)
    assert "executed without errors" in done.stdout
    assert "local Bedrock service" in done.stdout
    assert f"kernel python: {venv}" in done.stdout
    assert f"bedrock_magics from: {venv}" in done.stdout  # installed by postBuild, not this checkout
    executed = nbformat.read(out / "quickstart.ipynb", as_version=4)
    usage = next(c for c in executed.cells if c.cell_type == "code" and c.source.startswith("usage = %bedrock usage"))
    table = usage.outputs[0]["data"]["text/html"]
    assert table.split("<tbody>")[1].count("<tr>") == 4
    assert "openai.gpt-oss-120b" in table and "us.amazon.nova-lite-v1:0" in table
    assert "4 calls" in done.stdout
