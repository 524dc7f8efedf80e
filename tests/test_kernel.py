"""%%bedrock in real Jupyter kernels (nbclient, jupyter_client) against the local Bedrock service.

The kernels get ``BEDROCK_MAGICS_LOCAL=1``, so ``%load_ext bedrock_magics`` starts the local service
inside the kernel, as in a workshop. What is asserted is what a notebook user would see and what a
saved notebook holds.
"""

from __future__ import annotations

import json
import os

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook

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
        cell("%bedrock usage"),
        cell("%bedrock status"),
        cell("%bedrock key", fails=True),
    ], kernel_env, tmp_path)
    load, plain, streamed, text, usage_err, failed, dest, usage, status, key = nb.cells

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

        km.restart_kernel(now=True)
        kc.wait_for_ready(timeout=60)
        run_interactive(kc, "%load_ext bedrock_magics")
        run_interactive(kc, "%%bedrock --no-stream\necho: after restart")
        reply, messages = run_interactive(kc, "u = %bedrock usage --all\nprint(len(u), sorted(set(u['session'])).__len__())")
        assert [m["content"]["text"] for m in messages if m["msg_type"] == "stream"] == ["2 2\n"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
