"""The layering of the client package (``docs/architecture.md``): every import, also those inside
functions, goes down the layer list, never up or sideways; ``bedrock_magics.local`` imports
nothing from the client, and the client imports only local's public start/stop and credentials.

Read from the source with ``ast`` (nothing is imported), so a lazy import cannot hide an arrow.
Imports under ``if TYPE_CHECKING:`` are annotations only and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bedrock_magics"

# Top to bottom; a module may import modules on lower lines only. Modules on one line are
# siblings that do not import each other. Mirrors docs/architecture.md.
LAYERS = [
    ["magics"],
    ["linecommands", "modes"],
    ["options"],
    ["streamview"],
    ["display", "picker", "workshop", "frameview"],
    ["core", "toolview"],
    ["batch", "dryrun", "jobs", "overrides", "session", "costcap", "mantle", "features"],
    ["rows", "embedding"],
    ["runner"],
    ["conversation", "tools", "catalog", "pickrules"],
    ["explain", "hints"],
    ["config"],
    ["ledger", "prices", "auth", "localservice", "usage"],
    ["endpoints"],
    ["routes"],
    ["reply"],
    ["toolspec", "servertools", "templating", "pacing", "genaiprices", "optvalues", "magicparser", "schema",
     "attachments", "modelcaps", "promptcache", "footnotes", "cellfeatures", "tables", "money"],
    ["request", "errors", "modelids", "logredact"],
    ["redact"],
]
# The one documented exception: a reply renders itself through display (``_repr_*``), the usual
# presentation hook (pandas does the same).
ALLOWED_UP = {("reply", "display")}
# What the client may use of the local service: its public start/stop and credentials.
LOCAL_PUBLIC = {"local", "local.credentials", "local.server"}
# The one documented exception the other way: the local service's Lambda functions (local/mcp.py)
# describe Python functions with the schema builder client-side tools use, so a function is the
# same tool on both sides. toolspec is a leaf (it imports only request's ToolSpec dataclass).
LOCAL_MAY_IMPORT = {"toolspec"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every package-internal import in ``path`` (relative to the package)."""
    tree = ast.parse(path.read_text(), str(path))
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                target = [*base, *(node.module.split(".") if node.module else [])]
                if node.module is None:  # from . import a, b
                    found += [(node.lineno, ".".join([*target, alias.name])) for alias in node.names]
                    continue
                found.append((node.lineno, ".".join(target)))
            elif node.module and node.module.startswith("bedrock_magics"):
                found.append((node.lineno, node.module.partition(".")[2]))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name.partition(".")[2]) for a in node.names if a.name.startswith("bedrock_magics.")]
    return [(line, name) for line, name in found if name]


def _layer_of(module: str) -> tuple[int, str] | None:
    """(layer index, layer name) of a client module: ``routes.converse`` is in ``routes``."""
    top = module.split(".")[0]
    for index, names in enumerate(LAYERS):
        if top in names:
            return index, top
    return None


CLIENT = sorted(p for p in PACKAGE.rglob("*.py") if not _module_name(p).startswith("local") and p.name != "__init__.py"
                or p.parent.name == "routes")
LOCAL = sorted(p for p in (PACKAGE / "local").rglob("*.py"))


def test_every_client_module_has_a_layer():
    missing = sorted({_module_name(p).split(".")[0] for p in CLIENT} - {m for names in LAYERS for m in names})
    assert missing == [], f"add these modules to LAYERS (and docs/architecture.md): {missing}"


@pytest.mark.parametrize("path", CLIENT, ids=lambda p: _module_name(p))
def test_client_imports_go_down_the_layers(path):
    me = _layer_of(_module_name(path))
    assert me is not None
    wrong = []
    for line, target in _imports(path):
        if target.split(".")[0] == "local":
            if target not in LOCAL_PUBLIC:
                wrong.append(f"line {line}: {target} (the client may use only local's start/stop and credentials)")
            continue
        other = _layer_of(target)
        if other is None:
            continue  # bedrock_magics/__init__ itself
        if other[1] == me[1]:
            continue  # within one module or package (routes.invoke -> routes.codecs)
        if other[0] <= me[0] and (me[1], other[1]) not in ALLOWED_UP:
            how = "a sibling" if other[0] == me[0] else "a higher layer"
            wrong.append(f"line {line}: {target} is {how}")
    assert wrong == [], f"{_module_name(path)} imports upward or sideways: {wrong}"


def test_what_local_may_import_stays_a_leaf():
    # The exception holds only while toolspec pulls nothing else of the client in with it.
    for name in LOCAL_MAY_IMPORT:
        below = {target.split(".")[0] for _, target in _imports(PACKAGE / f"{name}.py")}
        assert below <= {"request"}, f"{name} imports {below}: local would load the client with it"


@pytest.mark.parametrize("path", LOCAL, ids=lambda p: _module_name(p))
def test_the_local_service_imports_nothing_from_the_client(path):
    client = [f"line {line}: {target}" for line, target in _imports(path)
              if not target.startswith("local") and target not in LOCAL_MAY_IMPORT]
    assert client == []


def test_no_module_is_over_600_lines():
    long = {_module_name(p): n for p in CLIENT if (n := len(p.read_text().splitlines())) > 600}
    assert long == {}, f"split these modules (one module, one job): {long}"


def test_load_ext_imports_the_feature_modules_on_first_use_only():
    # %load_ext pays for the shell, the settings and the route table; the feature modules (and the
    # option grammar, the route modules, the body codecs, sqlite3, the SDKs) load when a cell first
    # needs them. Their
    # imports are inside the functions that use them, and still checked by the tests above; the
    # route modules load through the route table (routes.Route.module), each read from its own file.
    import subprocess
    import sys

    code = ("import sys\n"
            "from IPython.core.interactiveshell import InteractiveShell\n"
            "InteractiveShell.instance().run_line_magic('load_ext', 'bedrock_magics')\n"
            "names = ('batch', 'dryrun', 'jobs', 'rows', 'runner', 'catalog', 'tools', 'toolspec', 'explain', 'hints',\n"
            "         'features', 'attachments', 'schema', 'picker', 'options', 'optvalues', 'magicparser', 'cellfeatures',\n"
            "         'auth', 'ledger', 'prices', 'endpoints', 'routes.codecs', 'routes.embed', 'routes.converse',\n"
            "         'routes.invoke', 'routes.chat', 'routes.responses', 'routes._features', 'local.server')\n"
            "print(sorted(n for n in names if 'bedrock_magics.' + n in sys.modules))\n"
            "print(sorted(m for m in ('boto3', 'botocore', 'openai', 'pandas', 'numpy', 'ipywidgets')\n"
            "             if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.splitlines() == ["[]", "[]"], out.stdout + out.stderr
