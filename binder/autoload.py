"""Make every IPython kernel of this environment load ``bedrock_magics`` (run by ``binder/postBuild``).

Writes a startup file into the default IPython profile (``$IPYTHONDIR``, else ``~/.ipython``), so
``%%bedrock`` works in a new notebook without ``%load_ext bedrock_magics``; ``binder/start`` sets
``BEDROCK_MAGICS_LOCAL=1``, so its calls go to the local Bedrock service.

The startup file loads the extension when the first cell runs (IPython's ``pre_run_cell`` event),
not while the kernel starts: what the extension prints on loading (with the local service, "Replies
come from the local Bedrock service …") then shows under that first cell, as it does under a
``%load_ext`` cell; printed during start-up, it would reach no notebook.

Why ``load_ipython_extension`` rather than ``c.InteractiveShellApp.extensions = ["bedrock_magics"]``:
an extension IPython loaded from its configuration makes the ``%load_ext bedrock_magics`` that
opens every notebook print "The bedrock_magics extension is already loaded". Loading it directly
leaves IPython's list of loaded extensions alone, and the extension's own load is idempotent, so
that first cell stays quiet.

    python binder/autoload.py          # prints the file it wrote
"""

from __future__ import annotations

from pathlib import Path

from IPython.paths import get_ipython_dir

NAME = "00-bedrock-magics.py"
STARTUP = '''\
# Written by binder/autoload.py: %bedrock / %%bedrock in every notebook, without %load_ext.
# The extension loads as the first cell runs, so its "where calls go" line shows under that cell.
# (%load_ext bedrock_magics still works, quietly: loading twice changes nothing.)


def _autoload_bedrock_magics():
    shell = get_ipython()

    def load(info=None):
        shell.events.unregister("pre_run_cell", load)  # once
        __import__("bedrock_magics").load_ipython_extension(shell)

    shell.events.register("pre_run_cell", load)


_autoload_bedrock_magics()
del _autoload_bedrock_magics
'''


def write_startup(ipython_dir: str | None = None) -> Path:
    """Write the startup file into ``ipython_dir``'s default profile; return its path."""
    folder = Path(ipython_dir or get_ipython_dir()) / "profile_default" / "startup"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NAME
    path.write_text(STARTUP, encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"bedrock_magics loads in every kernel: {write_startup()}")
