"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel on the local Bedrock service.

Each notebook is executed once per test session with ``scripts/run_notebook.py``'s ``run`` (what
``make notebooks`` and CI use): ``BEDROCK_MAGICS_LOCAL=1``, its own ledger file
(``BEDROCK_MAGICS_LEDGER``), its own IPython directory and no AWS variables from the host. The
assertions are about what a student sees in the executed notebook and what its ledger recorded.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import nbformat
import pytest

from bedrock_magics.ledger import Ledger
from bedrock_magics.local import credentials

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SWITCH = "%load_ext bedrock_magics\n%bedrock local auto"
SECRETS = (credentials.SECRET_ACCESS_KEY, credentials.API_KEY)
FOOTER = re.compile(r"· (runtime|mantle)/(converse|invoke|chat|responses) · \d+ in / \d+ out tokens · ")
SIX_ROUTES = {("runtime", "converse"), ("runtime", "invoke"), ("runtime", "chat"), ("runtime", "responses"),
              ("mantle", "responses"), ("mantle", "chat")}


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

    def bedrock_cells(self) -> list:
        return [c for c in self.code_cells if c.source.startswith("%%bedrock")]


@pytest.fixture(scope="session")
def executed(tmp_path_factory):
    """``executed(name)``: the notebook ``notebooks/name`` run in a kernel (once per session)."""
    runner = _load_runner()
    done: dict[str, Executed] = {}

    def run(name: str) -> Executed:
        if name not in done:
            work = tmp_path_factory.mktemp(Path(name).stem)
            ledger = work / "ledger.sqlite"
            with pytest.MonkeyPatch.context() as mp:
                # run() gives the kernel os.environ (plus BEDROCK_MAGICS_LOCAL=1): keep the host's
                # AWS settings, IPython profile and ledger out of it.
                for key in list(os.environ):
                    if key.startswith(("AWS_", "BEDROCK_MAGICS_")):
                        mp.delenv(key)
                mp.setenv("BEDROCK_MAGICS_LEDGER", str(ledger))
                mp.setenv("IPYTHONDIR", str(work / "ipython"))
                mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
                mp.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
                nb = runner.run(ROOT / "notebooks" / name, local=True, save=None, quiet=True)
            done[name] = Executed(nb, ledger)
        return done[name]

    return run


def test_there_are_notebooks():
    names = {p.name for p in NOTEBOOKS}
    assert {"quickstart.ipynb", "endpoints-and-apis.ipynb", "dataframes.ipynb", "chat-and-tools.ipynb",
            "workshop.ipynb", "batch-jobs.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_clean(path):
    """Committed without outputs, valid, and starting with the one local/AWS switch cell."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source == SWITCH
    assert nb.metadata.kernelspec.name == "python3"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"outputs committed in: {cell.source[:60]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_without_errors_and_keeps_no_secret(path, executed):
    run = executed(path.name)
    for cell in run.code_cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            # A deliberate teaching error must still happen, and be short (no traceback of internals).
            assert errors, f"the cell tagged raises-exception did not fail: {cell.source[:60]!r}"
            assert len(errors[0].traceback) <= 4
        else:
            assert not errors, f"{cell.source[:60]!r}: {errors[0].ename}: {errors[0].evalue}"
    # Every %%bedrock cell shows the footer (or a table-mode summary), and its calls are in the ledger.
    for cell in run.bedrock_cells():
        shown = run.text(cell)
        if "raises-exception" in cell.metadata.get("tags", []):
            continue
        table = any(opt in cell.source.splitlines()[0] for opt in ("--df", "-m $", " --dry-run"))
        table = table or cell.source.splitlines()[0].count(" -m ") > 1
        if not table:
            assert FOOTER.search(shown), f"no footer under {cell.source.splitlines()[0]!r}:\n{shown[:300]}"
    assert run.rows, "the notebook made no call"
    # Executed notebook and ledger: no local secret anywhere.
    saved = json.dumps(run.nb)
    ledger_bytes = b"".join(p.read_bytes() for p in run.ledger_path.parent.glob("ledger.sqlite*"))
    for secret in SECRETS:
        assert secret not in saved
        assert secret.encode() not in ledger_bytes


def test_quickstart_shows_a_usage_table_with_a_row_per_call(executed):
    run = executed("quickstart.ipynb")
    calls = run.bedrock_cells()
    assert len(run.rows) == len(calls) == 4
    table = run.cell("usage = %bedrock usage").outputs[0].data["text/html"]
    assert table.split("<tbody>")[1].count("<tr>") == len(calls)
    for model in ("us.amazon.nova-lite-v1:0", "openai.gpt-oss-120b"):
        assert model in table
    assert "Local Bedrock reply from amazon.nova-lite-v1:0" in run.text(calls[0])
    assert "gradient boosting" in run.text(run.cell("%%bedrock answer"))  # {topic} was filled in
    assert re.search(r"4 calls, [\d,]+ tokens, \$0\.\d+ in total", run.text(run.cell('print(f"{len(usage)}')))
    assert "local Bedrock service" in run.text(run.code_cells[0])  # the switch says where calls go


def test_six_routes_give_six_ledger_rows_with_the_same_usage(executed):
    run = executed("endpoints-and-apis.ipynb")
    six = run.rows[:6]
    assert {(r["endpoint"], r["api"]) for r in six} == SIX_ROUTES
    assert len({r["input_tokens"] for r in six}) == 1 and len({r["output_tokens"] for r in six}) == 1
    assert all(r["status"] == "ok" for r in six)
    assert "6 distinct routes" in run.text(run.cell("print(f\"{routes"))
    wire = run.text(run.cell("import json"))
    for spelling in ('"inputTokens"', '"prompt_tokens"', '"input_tokens"'):
        assert spelling in wire


def test_dataframes_notebook_maps_compares_estimates_embeds_and_plots(executed):
    run = executed("dataframes.ipynb")
    first, again = run.cell("%%bedrock labelled", 0), run.cell("%%bedrock labelled", 1)
    assert "8 rows" in run.text(first)
    assert "8 from cache" in run.text(again)
    assert "3 models" in run.text(run.cell("%%bedrock side_by_side"))
    assert "24 calls" in run.text(run.cell("%%bedrock per_model"))
    assert "nothing sent" in run.text(run.cell("%%bedrock estimate"))
    assert "8 vectors of 1024 dimensions" in run.text(run.cell("import numpy as np"))
    plot = run.cell("fig, axes")
    assert any("image/png" in o.get("data", {}) for o in plot.outputs)
    # Eight rows + one comparison + eight rows x three models: the cached rerun added nothing.
    text_rows = [r for r in run.rows if r["api"] == "converse"]
    assert len(text_rows) == 8 + 3 + 24
    assert sum(r["model"] == "amazon.titan-embed-text-v2:0" for r in run.rows) == 8


def test_chat_and_tools_notebook_keeps_history_and_calls_python_tools(executed):
    run = executed("chat-and-tools.ipynb")
    trip = [r["input_tokens"] for r in run.rows if r["chat"] == "trip"]
    notes = [r["input_tokens"] for r in run.rows if r["chat"] == "notes"]
    assert len(trip) == 3 and trip == sorted(trip) and trip[0] < trip[-1]  # the history is sent each turn
    assert len(notes) == 2 and notes[0] < notes[1]
    weather = run.text(run.cell("%%bedrock weather"))
    assert "get_weather(city=" in weather and "the tool get_weather returned" in weather
    stops = [r["stop_reason"] for r in run.rows]
    assert stops.count("tool_use") >= 4  # one tool round before each of the four tool answers
    assert "KeyError" in run.text(run.cell("%%bedrock --tools convert_currency --max-tokens"))
    transcript = run.text(run.cell("%bedrock chat travel"))
    assert "convert_currency" in transcript and "get_weather" in transcript


def test_batch_jobs_notebook_runs_a_job_through_s3(executed):
    run = executed("batch-jobs.ipynb")
    assert "Completed, 100 of 100 records succeeded" in run.text(run.cell("from bedrock_magics import jobs"))
    listing = run.text(run.cell("job_folder = "))
    assert "input/records-00001.jsonl" in listing and ".jsonl.out" in listing and "manifest.json.out" in listing
    batch_rows = [r for r in run.rows if r["api"] == "batch"]
    assert len(batch_rows) == 100  # collected twice, recorded once
    assert "already in the ledger" in run.text(run.cell("answers = jobs.collect_job"))


def test_workshop_has_exercises_and_collapsed_solutions_that_run(executed):
    path = ROOT / "notebooks" / "workshop.ipynb"
    committed = nbformat.read(path, as_version=4)
    solutions = [c for c in committed.cells if "solution" in c.metadata.get("tags", [])]
    exercises = [c for c in committed.cells if "exercise" in c.metadata.get("tags", [])]
    assert len(exercises) >= 6 and len(solutions) >= len(exercises)
    assert all(c.metadata.get("jupyter", {}).get("source_hidden") for c in solutions)
    assert all(line.startswith("#") for c in exercises for line in c.source.splitlines())
    run = executed("workshop.ipynb")
    ran = [c for c in run.code_cells if "solution" in c.metadata.get("tags", [])]
    assert all(c.execution_count for c in ran)
    deliberate = [c for c in run.code_cells if "raises-exception" in c.metadata.get("tags", [])]
    assert len(deliberate) == 1 and "Unknown model" in run.text(deliberate[0])
    assert any(r["status"] == "error" for r in run.rows)  # the failed call is in the ledger too
