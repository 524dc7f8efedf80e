"""%%bedrock in real Jupyter kernels (nbclient, jupyter_client) against the local Bedrock service.

The kernels get ``BEDROCK_MAGICS_LOCAL=1``, so ``%load_ext bedrock_magics`` starts the local service
inside the kernel, as in a workshop. What is asserted is what a notebook user would see and what a
saved notebook holds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook

from bedrock_magics.ledger import Ledger
from bedrock_magics.local import credentials

pytestmark = pytest.mark.kernel

SECRETS = (credentials.SECRET_ACCESS_KEY, credentials.API_KEY)
FOOTER = "us.amazon.nova-lite-v1:0 · runtime/converse · "


@pytest.fixture
def kernel_env(tmp_path):
    """The kernel's environment: local mode, a ledger file of this test, its own IPython dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BEDROCK_MAGICS_"))}
    env.update(BEDROCK_MAGICS_LOCAL="1", BEDROCK_MAGICS_LEDGER=str(tmp_path / "ledger.sqlite"),
               IPYTHONDIR=str(tmp_path / "ipython"), AWS_EC2_METADATA_DISABLED="true")
    return env


def cell(source: str, fails: bool = False):
    return new_code_cell(source, metadata={"tags": ["raises-exception"]} if fails else {})


def execute(cells, env, tmp_path) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
    return nb


def markdown(output) -> str:
    return output["data"]["text/markdown"]


def test_notebook_answers_streams_fails_and_keeps_no_secret(kernel_env, tmp_path):
    nb = execute([
        cell("%load_ext bedrock_magics"),
        cell("%%bedrock ans --no-stream\necho: Hello **kernel**"),
        cell("%%bedrock --stream\nWhat are tides?"),
        cell("ans.text"),
        cell("%%bedrock --temprature 0.5\nhi", fails=True),
        cell("%%bedrock bad -m amazon.nova-lte-v1:0 --no-stream\nhi", fails=True),
        cell("bad.status, bad.error_code"),
        cell("%bedrock usage --full"),  # the whole ledger frame (the default view is compact)
        cell("%bedrock status"),
        cell("%bedrock key", fails=True),
        cell("%%bedrock -m amazon.nova-lte-v1:0 --stream\nhi", fails=True),
    ], kernel_env, tmp_path)
    load, plain, streamed, text, usage_err, failed, dest, usage, status, key, failed_stream = nb.cells

    assert "Replies come from the local Bedrock service" in load.outputs[0]["text"]

    (out,) = plain.outputs
    assert markdown(out).startswith("Hello **kernel**\n\n<sub>" + FOOTER)
    assert "in / " in markdown(out) and " out tokens · " in markdown(out) and " ms · est. $" in markdown(out)

    (out,) = streamed.outputs  # the streamed answer is one output: updates were folded into it
    assert out["output_type"] == "display_data"
    assert 'You said: "What are tides?"' in markdown(out) and FOOTER in markdown(out) and "▍" not in markdown(out)

    assert text.outputs[0]["data"]["text/plain"] == "'Hello **kernel**'"

    (out,) = usage_err.outputs  # a UsageError is one stderr line, no traceback
    assert out["output_type"] == "stream" and out["name"] == "stderr"
    assert out["text"].strip().splitlines() == ["UsageError: %%bedrock: unknown option --temprature "
                                                "(did you mean --temperature?)"]

    (out,) = failed.outputs  # a failed call is an error output of 1-3 short lines
    assert out["output_type"] == "error" and out["ename"] == "BedrockError"
    assert 1 <= len(out["traceback"]) <= 3 and out["traceback"][0].startswith("BedrockError (UnknownModel)")
    assert dest.outputs[0]["data"]["text/plain"] == "('error', 'UnknownModel')"

    table = usage.outputs[0]["data"]["text/html"]
    for column in ("time", "region", "endpoint", "api", "model", "input_tokens", "output_tokens", "total_tokens",
                   "latency_ms", "cost_usd", "stop_reason", "status", "error"):
        assert f"<th>{column}</th>" in table
    assert table.count("<tr>") == 3  # body rows: two answers and the failed call
    assert table.count("<td>ok</td>") == 2 and table.count("<td>error</td>") == 1

    assert "local service" in json.dumps(status.outputs)
    assert "can't prompt for input" in key.outputs[0]["text"]

    # A failed stream: the error's 1-3 lines, nothing more (the placeholder is cleared away).
    assert "stream failed" not in json.dumps(failed_stream.outputs) and "waiting" not in json.dumps(failed_stream.outputs)
    (error,) = failed_stream.outputs
    assert error["output_type"] == "error"
    assert error["traceback"][0].startswith("BedrockError (UnknownModel)") and len(error["traceback"]) <= 3

    # Each ledger row names the cell that made it, as the notebook numbers it.
    ledger = Ledger(kernel_env["BEDROCK_MAGICS_LEDGER"])
    try:
        cells = [row["cell"] for row in ledger.rows()]
    finally:
        ledger.close()
    assert cells == [plain.execution_count, streamed.execution_count, failed.execution_count,
                     failed_stream.execution_count]

    saved = nbformat.writes(nb)
    for secret in SECRETS:
        assert secret not in saved


def test_usage_error_stops_run_all(kernel_env, tmp_path):
    nb = new_notebook(cells=[cell("%load_ext bedrock_magics"), cell("%%bedrock -f mkd\nhi"), cell("1 + 1")])
    client = NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(CellExecutionError) as info:
        client.execute(env=kernel_env)
    assert info.value.ename == "UsageError"
    assert "did you mean markdown?" in info.value.evalue
    assert nb.cells[2].outputs == [] and nb.cells[2].execution_count is None  # Run All stopped


def run_interactive(kc, code: str) -> tuple[dict, list[dict]]:
    messages: list[dict] = []
    reply = kc.execute_interactive(code, timeout=120, output_hook=messages.append)
    return reply, messages


def test_streaming_updates_in_place_and_ledger_survives_restart(kernel_env):
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", env=kernel_env)
    try:
        reply, _ = run_interactive(kc, "%load_ext bedrock_magics")
        assert reply["content"]["status"] == "ok"
        reply, messages = run_interactive(kc, "%%bedrock --stream\nWhat are tides?")
        assert reply["content"]["status"] == "ok"
        kinds = [m["msg_type"] for m in messages if m["msg_type"] != "status"]
        assert kinds.count("display_data") == 1 and "execute_result" not in kinds  # never drawn twice
        updates = [m for m in messages if m["msg_type"] == "update_display_data"]
        assert len(updates) >= 2  # the first delta at once, then the finished answer
        (shown,) = [m for m in messages if m["msg_type"] == "display_data"]
        display_id = shown["content"]["transient"]["display_id"]
        assert {m["content"]["transient"]["display_id"] for m in updates} == {display_id}
        final = updates[-1]["content"]["data"]["text/markdown"]
        assert FOOTER in final and "▍" not in final

        reply, messages = run_interactive(kc, "print(len(_.text) > 0, _.streamed)")  # `_` is the reply
        assert [m["content"]["text"] for m in messages if m["msg_type"] == "stream"] == ["True True\n"]

        # ■ during a slow streamed call: one error line, the cell fails, the call is recorded as cancelled.
        run_interactive(kc, "from bedrock_magics.magics import current\n"
                            "current().local_service.faults.set(latency_ms=5000)")
        timer = threading.Timer(0.5, km.interrupt_kernel)  # started once the call is under way

        def interrupt_once_waiting(message: dict) -> None:
            messages.append(message)
            if message["msg_type"] == "display_data" and timer.ident is None:  # the "waiting for…" placeholder
                timer.start()

        messages = []
        try:
            reply = kc.execute_interactive("%%bedrock cut --stream\nA slow question", timeout=120,
                                           output_hook=interrupt_once_waiting)
        finally:
            timer.cancel()
            run_interactive(kc, "current().local_service.faults.clear()")
        assert reply["content"]["status"] == "error"
        (error,) = [m["content"] for m in messages if m["msg_type"] == "error"]
        (line,) = error["traceback"]
        assert line.startswith("KeyboardInterrupt: interrupted") and "cancelled" in line and "cut" in line
        reply, messages = run_interactive(kc, "print(cut.status, current().usage()['status'].iloc[-1])")
        assert [m["content"]["text"] for m in messages if m["msg_type"] == "stream"] == ["cancelled cancelled\n"]

        km.restart_kernel(now=True)
        kc.wait_for_ready(timeout=60)
        run_interactive(kc, "%load_ext bedrock_magics")
        run_interactive(kc, "%%bedrock --no-stream\necho: after restart")
        reply, messages = run_interactive(kc, "u = %bedrock usage --all\nprint(len(u), sorted(set(u['session'])).__len__())")
        assert [m["content"]["text"] for m in messages if m["msg_type"] == "stream"] == ["3 2\n"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _runner():
    path = Path(__file__).resolve().parents[1] / "scripts" / "run_notebook.py"
    spec = importlib.util.spec_from_file_location("run_notebook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_notebook_prints_plain_text_and_keeps_a_tables_first_line_indented(capsys):
    """scripts/run_notebook.py (``make demo``) prints what a newcomer can read: no HTML tags, no
    bare object reprs, tables whose header lines up with their rows."""
    table = "   model  tokens\n0  nova       12\n1  gpt        60"
    nb = new_notebook(cells=[
        new_code_cell("%%bedrock", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/markdown": "An **answer**\n\n<sub>m · runtime/converse · 1 in / 2 out tokens</sub>",
                                  "text/plain": "An **answer**\nm · runtime/converse · 1 in / 2 out tokens"})]),
        new_code_cell("Markdown('x')", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/markdown": "Only <b>markdown</b> &amp; tags<br>",
                                    "text/plain": "<IPython.core.display.Markdown object>"}, execution_count=2)]),
        new_code_cell("usage", outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/html": "<table></table>", "text/plain": table}, execution_count=3)]),
    ])
    _runner()._show(Path("demo.ipynb"), nb)
    out = capsys.readouterr().out
    assert "<sub>" not in out and "<b>" not in out and "object>" not in out
    assert "An **answer**\nm · runtime/converse · 1 in / 2 out tokens" in out
    assert "Only markdown & tags" in out
    assert "\n" + table + "\n" in out  # the header keeps its indent
