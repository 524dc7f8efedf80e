"""Execute notebooks in a real Jupyter kernel and print what they show.

    python scripts/run_notebook.py notebooks/quickstart.ipynb [more.ipynb ...] [--aws] [--save DIR]

By default the kernel runs with BEDROCK_MAGICS_LOCAL=1, so every call goes to the local Bedrock
service; ``--aws`` leaves the environment alone (real AWS when credentials are present). Any error
output fails the run (exit code 1) unless its cell is tagged ``raises-exception``.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets.config import Config


# A repr that says nothing (``<IPython.core.display.Markdown object>``): the markdown is the content.
_BARE_REPR = re.compile(r"^<[\w.]+ object( at 0x[0-9a-f]+)?>$")
_TAG = re.compile(r"<[^>]+>")


def _text_of(output: dict) -> str:
    """What a terminal should print for one output.

    ``text/plain`` first: replies, tables and DataFrames all have a readable one (aligned
    columns). Markdown is used when the plain text is missing or a bare ``<… object>`` repr, with
    its HTML tags (the ``<sub>`` footer, ``<br>``) removed so it reads as text.
    """
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return f"{output.get('ename')}: {output.get('evalue')}"
    data = output.get("data", {})
    plain = _joined(data.get("text/plain"))
    markdown = _joined(data.get("text/markdown"))
    if plain and not (_BARE_REPR.match(plain.strip()) and markdown):
        return plain
    if markdown:
        return html.unescape(_TAG.sub("", markdown))
    return plain


def _joined(value: str | list[str] | None) -> str:
    return "".join(value) if isinstance(value, list) else (value or "")


def _trimmed(text: str) -> str:
    """``text`` without blank lines around it; the first line keeps its indent (a table's header
    row is indented to line up with the rows below it)."""
    return text.strip("\n").rstrip()


def _ipc_config(folder: str) -> Config:
    """Talk to the kernel over Unix sockets in ``folder`` rather than TCP on localhost: private to
    this user, and the kernel has no "running over TCP without encryption" warning to print."""
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = os.path.join(folder, "kernel")
    return config


def run(path: Path, *, local: bool, save: Path | None, quiet: bool = False) -> nbformat.NotebookNode:
    """Execute one notebook; raise CellExecutionError on the first failing cell."""
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    if local:
        env["BEDROCK_MAGICS_LOCAL"] = "1"
    with tempfile.TemporaryDirectory(prefix="bedrock-kernel-") as sockets:
        client = NotebookClient(nb, timeout=300, kernel_name="python3", config=_ipc_config(sockets),
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute(env=env)  # start_kernel(env=...) gives the kernel its environment
    if save:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save / path.name)
    if not quiet:
        _show(path, nb)
    return nb


def _show(path: Path, nb: nbformat.NotebookNode) -> None:
    print(f"==> {path} ({len(nb.cells)} cells) executed without errors")
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code_cells:
        texts = [_trimmed(_text_of(o)) for o in cell.get("outputs", [])]
        texts = [t for t in texts if t]
        if texts:
            first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            print(f"\n--- In: {first_line}")
            print("\n".join(texts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--aws", action="store_true", help="do not force the local Bedrock service")
    parser.add_argument("--save", type=Path, help="write executed notebooks into this folder")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.notebooks:
        try:
            run(path, local=not args.aws, save=args.save)
        except CellExecutionError as exc:
            failed += 1
            print(f"==> {path} FAILED\n{exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
