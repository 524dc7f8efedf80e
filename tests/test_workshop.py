"""The workshop as a student and a teacher meet it.

* ``check(N)`` (``bedrock_magics.workshop``): a green ✓ line for an answer of the right shape, a red
  ✗ line with a hint otherwise — first on answers built in Python, then in a real kernel: the
  workshop as committed (every exercise empty: every check fails with its hint) and the workshop with
  each exercise's cell replaced by its worked solution from ``workshop-solutions.ipynb`` (every check
  passes).
* The two-hour agenda of ``docs/notebooks.md`` is the notebook's.
* On Binder, a new notebook needs no ``%load_ext`` (``binder/autoload.py``'s startup file).
* The README's "Thirty seconds" cells run as pasted.

Kernel runs go through ``tests/notebook_runs.py`` (once per session, shared with test_notebooks.py).
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from datetime import date

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from notebook_runs import NOTEBOOKS_DIR, ROOT, execute, execute_committed

from bedrock_magics.reply import Reply
from bedrock_magics.workshop import CHECKS, TICKET_CATEGORIES, check

EXERCISES = sorted(CHECKS)
#: Checks that read the words of an answer, which the local service's filler replies cannot pass yet:
#: with the solution, the only complaint left is about those words.
FOOTER = re.compile(r"us\.amazon\.nova-lite-v1:0 · runtime/converse · \d+ in / \d+ out tokens · ")


def _reply(text: str = "An answer.", **fields) -> Reply:
    fields = {"model": "us.amazon.nova-lite-v1:0", "endpoint": "runtime", "api": "converse", **fields}
    usage = fields.pop("usage", {"input_tokens": 9, "output_tokens": 20, "total_tokens": 29})
    return Reply(text=text, usage=usage, **fields)


def _tickets() -> pd.DataFrame:
    return pd.read_csv(NOTEBOOKS_DIR / "data" / "tickets.csv")


# -- check() on answers built in Python --------------------------------------------------------------

def test_a_passing_check_is_one_green_line():
    result = check(1, {"language": "Python", "description": _reply()})
    assert result and result.passed
    assert result.line == "✓ Exercise 1: `description` holds a reply of 20 output tokens about Python"
    assert repr(result) == result.line
    assert 'color: #1a7f37' in result._repr_html_() and result.line in result._repr_html_()


def test_a_failing_check_names_what_is_missing_and_gives_a_hint():
    result = check(1, {"language": "Python"})
    assert not result
    assert result.line.startswith("✗ Exercise 1: there is no variable `description` yet. Hint: ")
    assert "%%bedrock description" in result.hint
    shown = result._repr_html_()
    assert 'color: #cf222e' in shown and "there is no variable `description` yet.</span> Hint: " in shown


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_check_fails_with_a_hint_when_nothing_was_done(exercise):
    result = check(exercise, {"tickets": _tickets()})
    assert not result.passed and result.hint and "there is no variable" in result.message


def test_an_unknown_exercise_is_one_clear_error():
    with pytest.raises(ValueError, match="there is no exercise 9; the workshop has exercises 1 to 7"):
        check(9, {})


def test_check_1_wants_a_string_and_a_successful_reply():
    assert "non-empty string" in check(1, {"language": 3}).message
    assert "is a str, not a reply" in check(1, {"language": "Go", "description": "Go is..."}).message
    failed = _reply(text="", status="error", error="boom", error_code="ThrottlingException")
    result = check(1, {"language": "Go", "description": failed})
    assert "failed (ThrottlingException)" in result.message and "run it again" in result.hint


def test_check_2_counts_bullets_tokens_and_streaming():
    bullets = "- one\n- two\n- three"
    assert check(2, {"overfitting": _reply(bullets)}).passed
    assert "2 bullet points, not 3" in check(2, {"overfitting": _reply("- one\n- two")}).message
    long = _reply(bullets, usage={"input_tokens": 9, "output_tokens": 150, "total_tokens": 159})
    assert "150 output tokens, more than 120" in check(2, {"overfitting": long}).message


def test_check_3_wants_each_reply_from_its_model_and_route():
    claude = _reply(model="us.anthropic.claude-haiku-4-5-20251001-v1:0", endpoint="runtime", api="invoke")
    oss = _reply(model="openai.gpt-oss-120b", endpoint="mantle", api="chat")
    assert check(3, {"q_claude": claude, "q_oss": oss}).passed
    on_converse = _reply(model=claude.model, endpoint="runtime", api="converse")
    result = check(3, {"q_claude": on_converse, "q_oss": oss})
    assert "runtime/converse, not runtime/invoke" in result.message and "-a invoke" in result.hint
    result = check(3, {"q_claude": claude, "q_oss": _reply(model="openai.gpt-oss-120b", endpoint="runtime",
                                                            api="chat")})
    assert "not mantle/chat" in result.message and "-e mantle -a chat" in result.hint
    result = check(3, {"q_claude": _reply(), "q_oss": oss})
    assert "came from us.amazon.nova-lite-v1:0, not anthropic.claude-haiku-4-5" in result.message


def test_check_4_wants_one_allowed_label_per_ticket():
    tickets = _tickets()
    labels = ["Billing", "technical", "account.", "delivery", "billing", "technical"]
    good = tickets.assign(category=labels, category_error=None)
    result = check(4, {"tickets": tickets, "categorised": good})
    assert result.passed and "2 billing" in result.message
    assert "no column `category`" in check(4, {"tickets": tickets, "categorised": tickets}).message
    assert "has 2 rows, `tickets` 6" in check(4, {"tickets": tickets, "categorised": good.head(2)}).message
    failing = good.assign(category_error=["ThrottlingException"] + [None] * 5)
    assert "1 of 6 rows failed" in check(4, {"tickets": tickets, "categorised": failing}).message
    chatty = good.assign(category=["The category is billing"] + labels[1:])
    result = check(4, {"tickets": tickets, "categorised": chatty})
    assert "1 labels are not one of billing, technical, account, delivery" in result.message
    assert "category only" in result.hint
    assert TICKET_CATEGORIES == ("billing", "technical", "account", "delivery")


def _estimate(model: str, per_row: float) -> pd.DataFrame:
    return pd.DataFrame({"model": [model] * 6, "input_cost_usd": [per_row / 2] * 6, "max_cost_usd": [per_row] * 6})


def test_check_5_wants_two_estimates_and_their_ratio():
    nova = _estimate("us.amazon.nova-lite-v1:0", 1e-5)
    claude = _estimate("us.anthropic.claude-haiku-4-5-20251001-v1:0", 1.5e-4)
    ns = {"tickets": _tickets(), "est_nova": nova, "est_claude": claude}
    assert check(5, {**ns, "ratio": 15.0}).passed
    assert "the estimates give 15" in check(5, {**ns, "ratio": 1 / 15}).message
    assert "should be a number" in check(5, {**ns, "ratio": "15x"}).message
    assert "not amazon.nova-lite" in check(5, {**ns, "est_nova": claude, "ratio": 1.0}).message
    plain = nova.drop(columns=["max_cost_usd"])
    assert "add --dry-run" in check(5, {**ns, "est_nova": plain, "ratio": 15.0}).hint


def test_check_6_runs_the_students_function_and_reads_the_answer():
    def days_until(date: str) -> int:
        """Days until an ISO date."""
        from datetime import date as d

        return (d.fromisoformat(date) - d.today()).days

    days = (date(2030, 1, 1) - date.today()).days
    answer = _reply(f"There are {days:,} days left.")
    assert check(6, {"days_until": days_until, "countdown": answer}).passed

    def no_doc(date: str) -> int:
        return 0

    assert "has no docstring" in check(6, {"days_until": no_doc, "countdown": answer}).message

    def broken(date: str) -> int:
        """Broken."""
        return int(date)

    assert "raised ValueError" in check(6, {"days_until": broken, "countdown": answer}).message

    def off_by_one(date: str) -> int:
        """Off by one."""
        return days_until(date) + 1

    assert f"returned {days + 1}, not {days}" in check(6, {"days_until": off_by_one, "countdown": answer}).message
    guess = _reply("About a thousand days.")
    result = check(6, {"days_until": days_until, "countdown": guess})
    assert f"does not mention {days} days" in result.message and "--tools days_until" in result.hint


def test_check_7_compares_the_answers_with_the_usage_table():
    import matplotlib

    matplotlib.use("Agg")
    usage = pd.DataFrame({"cell": [3, 3, 5], "model": ["a", "b", "a"], "cost_usd": [0.001, 0.002, 0.0025]})
    ax = usage.groupby("model").cost_usd.sum().plot.barh()
    ns = {"usage": usage, "total": usage.cost_usd.sum(), "priciest_cell": 3, "ax": ax}
    result = check(7, ns)
    assert result.passed and "cell [3]" in result.message and "2 bars" in result.message
    assert "adds up to 0.005500" in check(7, {**ns, "total": 0.004}).message
    assert "`priciest_cell` is 5" in check(7, {**ns, "priciest_cell": 5}).message
    assert not math.isnan(ns["total"])


# -- the workshop in a kernel, as a student runs it --------------------------------------------------

def _check_cells(run) -> dict[int, object]:
    found = {}
    for cell in run.code_cells:
        match = re.fullmatch(r"check\((\d+)\)", cell.source.strip())
        if match:
            found[int(match.group(1))] = cell
    return found


def _with_solutions() -> nbformat.NotebookNode:
    """workshop.ipynb with each exercise's "Your turn" cell replaced by its worked solution's cells."""
    workshop = nbformat.read(NOTEBOOKS_DIR / "workshop.ipynb", as_version=4)
    solutions = nbformat.read(NOTEBOOKS_DIR / "workshop-solutions.ipynb", as_version=4)
    cells = []
    for cell in workshop.cells:
        tags = cell.metadata.get("tags", [])
        if "exercise" in tags:
            number = next(t for t in tags if t.startswith("exercise-"))
            cells += [new_code_cell(c.source) for c in solutions.cells
                      if "solution" in c.metadata.get("tags", []) and number in c.metadata.tags]
        else:
            cells.append(cell)
    return new_notebook(cells=cells, metadata=workshop.metadata)


@pytest.fixture(scope="module")
def as_committed(tmp_path_factory):
    return execute_committed("workshop.ipynb", tmp_path_factory)


@pytest.fixture(scope="module")
def with_solutions(tmp_path_factory):
    return execute("workshop-with-solutions.ipynb", _with_solutions(), tmp_path_factory)


@pytest.mark.kernel
def test_every_exercise_has_a_check_and_the_checks_are_the_modules(as_committed):
    assert sorted(_check_cells(as_committed)) == EXERCISES


@pytest.mark.kernel
@pytest.mark.parametrize("exercise", EXERCISES)
def test_an_empty_answer_fails_its_check_with_a_hint(exercise, as_committed):
    cell = _check_cells(as_committed)[exercise]
    shown = as_committed.plain(cell)
    assert shown.startswith(f"✗ Exercise {exercise}: ") and "Hint: " in shown
    assert "#cf222e" in as_committed.text(cell)  # red in JupyterLab
    assert not [o for o in cell.outputs if o.output_type == "error"]  # Run All carries on


@pytest.mark.kernel
@pytest.mark.parametrize("exercise", EXERCISES)  # 2 and 4 too: the responder answers in the asked form
def test_the_worked_solution_passes_its_check(exercise, with_solutions):
    shown = with_solutions.plain(_check_cells(with_solutions)[exercise])
    assert shown.startswith(f"✓ Exercise {exercise}: "), shown


@pytest.mark.kernel
def test_the_workshop_with_solutions_runs_like_the_committed_one(with_solutions):
    for cell in with_solutions.code_cells:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert bool(errors) == ("raises-exception" in cell.metadata.get("tags", [])), cell.source[:60]
    assert FOOTER.search(with_solutions.text(with_solutions.cell("%%bedrock description")))


# -- the two-hour agenda ------------------------------------------------------------------------------

def _agenda_rows(text: str) -> list[tuple[str, int, str]]:
    """(part, minutes, clock) rows of the first table with a ``clock`` column."""
    rows = re.findall(r"^\| (\d|—) \| [^|]+ \| (\d+) \| (\d:\d\d) \|$", text, flags=re.M)
    return [(part, int(minutes), clock) for part, minutes, clock in rows]


def test_the_agenda_takes_two_hours_and_matches_the_notebook():
    docs = _agenda_rows((ROOT / "docs" / "notebooks.md").read_text(encoding="utf-8"))
    nb = nbformat.read(NOTEBOOKS_DIR / "workshop.ipynb", as_version=4)
    assert docs and docs == _agenda_rows(nb.cells[0].source)
    assert sum(minutes for _, minutes, _ in docs) == 120
    elapsed = 0
    for _, minutes, clock in docs:  # each row starts when the one before ends
        assert clock == f"{elapsed // 60}:{elapsed % 60:02d}"
        elapsed += minutes
    headings = {m.group(1): int(m.group(2)) for c in nb.cells if c.cell_type == "markdown"
                for m in re.finditer(r"^## (?:Part (\d)|(?:Break)).*?\((\d+) min\)", c.source, flags=re.M)}
    assert {part: minutes for part, minutes, _ in docs if part != "—"} == {
        part: minutes for part, minutes in headings.items() if part}


# -- Binder: a new notebook needs no %load_ext ------------------------------------------------------

@pytest.mark.kernel
def test_on_binder_a_new_notebook_needs_no_load_ext(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "BEDROCK_MAGICS_", "IPYTHON", "JUPYTER"))}
    env.update(HOME=str(tmp_path / "home"), IPYTHONDIR=str(tmp_path / "ipython"), AWS_EC2_METADATA_DISABLED="true",
               BEDROCK_MAGICS_LEDGER=str(tmp_path / "ledger.sqlite"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"))
    wrote = subprocess.run([sys.executable, "binder/autoload.py"], cwd=ROOT, env=env, capture_output=True,
                           text=True, check=True)
    assert str(tmp_path / "ipython" / "profile_default" / "startup") in wrote.stdout
    new = tmp_path / "Untitled.ipynb"
    nbformat.write(new_notebook(cells=[
        new_code_cell("%bedrock status"),
        new_code_cell("%%bedrock hello --max-tokens 50\nHello from a new notebook."),
        new_code_cell("%load_ext bedrock_magics"),  # what every workshop notebook starts with
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), new)
    # As Binder starts Jupyter: through binder/start (no AWS settings: --aws leaves the environment alone).
    done = subprocess.run([str(ROOT / "binder" / "start"), sys.executable, str(ROOT / "scripts" / "run_notebook.py"),
                           "--aws", "--save", str(tmp_path / "out"), str(new)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    status, hello, load_ext = [c for c in nbformat.read(tmp_path / "out" / new.name, as_version=4).cells]
    shown = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in status.outputs)
    assert "Replies come from the local Bedrock service" in shown  # the banner, under the first cell
    assert re.search(r"runtime endpoint\s+https://127\.0\.0\.1:\d+\s+local service", shown)  # and the status
    answer = "\n".join(str(o.get("data", {}).get("text/markdown", "")) for o in hello.outputs)
    assert "Local Bedrock reply from amazon.nova-lite-v1:0" in answer and FOOTER.search(answer)
    assert load_ext.outputs == []  # quiet: no "The bedrock_magics extension is already loaded"


# -- README: "Thirty seconds" runs as pasted ------------------------------------------------------------

def _thirty_seconds_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Thirty seconds", 1)[1].split("\n## ", 1)[0]
    return [block.strip("\n") for block in re.findall(r"^```[a-z]*\n(.*?)^```", section, flags=re.M | re.S)]


@pytest.mark.kernel
def test_the_readme_thirty_seconds_runs_as_pasted(tmp_path_factory):
    blocks = _thirty_seconds_blocks()
    assert len(blocks) == 2 and blocks[1].startswith("%%bedrock answer")
    nb = new_notebook(cells=[new_code_cell(b) for b in blocks]
                      + [new_code_cell("print(type(answer).__name__, answer.usage['output_tokens'] > 0)")],
                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    run = execute("readme-thirty-seconds.ipynb", nb, tmp_path_factory)
    switch, prompt, after = run.code_cells
    assert "local Bedrock service" in run.text(switch)
    shown = run.text(prompt)
    # The responder's "N sentences" rule: the local-service prefix and the topic, then the sentences.
    assert 'Local Bedrock reply from amazon.nova-lite-v1:0 on "Explain gradient boosting to a data scientist' in shown
    assert FOOTER.search(shown)
    assert run.plain(after).strip() == "Reply True"
    assert len(run.rows) == 1 and run.rows[0]["status"] == "ok"
