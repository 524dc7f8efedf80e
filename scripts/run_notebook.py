"""Execute notebooks in a real Jupyter kernel and print what they show.

    python scripts/run_notebook.py notebooks/quickstart.ipynb [more.ipynb ...] [--aws] [--save DIR]

By default the kernel runs with BEDROCK_MAGICS_LOCAL=1, so every call goes to the local Bedrock
service; ``--aws`` leaves the environment alone (real AWS when credentials are present). Any error
output fails the run (exit code 1) unless its cell is tagged ``raises-exception``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def _text_of(output: dict) -> str:
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return f"{output.get('ename')}: {output.get('evalue')}"
    data = output.get("data", {})
    for mime in ("text/markdown", "text/plain"):
        if mime in data:
            value = data[mime]
            return value if isinstance(value, str) else "".join(value)
    return ""


def run(path: Path, *, local: bool, save: Path | None, quiet: bool = False) -> nbformat.NotebookNode:
    """Execute one notebook; raise CellExecutionError on the first failing cell."""
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ)
    if local:
        env["BEDROCK_MAGICS_LOCAL"] = "1"
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
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
        texts = [_text_of(o).strip() for o in cell.get("outputs", [])]
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
