"""%bedrock / %%bedrock in an in-process IPython shell, against the local Bedrock service over HTTPS.

What a user sees is asserted: the rich outputs (``capture_output`` records every display and
update), stdout/stderr lines, the value stored in DEST and ``_``, and the ledger rows.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import uuid

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from bedrock_magics import display, streamview
from bedrock_magics.errors import BedrockError
from bedrock_magics.local import credentials
from bedrock_magics import magics as magics_module
from bedrock_magics.magics import LOCAL_BANNER, current
from bedrock_magics.reply import Reply
from conftest import Hostile, interrupt_main_thread

RUNTIME_MODEL = "us.amazon.nova-lite-v1:0"
OPENAI_MODEL = "openai.gpt-oss-120b-1:0"  # served by runtime /openai/v1 too
MANTLE_MODEL = "openai.gpt-oss-120b"
SECRETS = (credentials.SECRET_ACCESS_KEY, credentials.API_KEY)


# -- fixtures --------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def shell(tmp_path_factory):
    """One in-process InteractiveShell (a process-wide singleton), history off, its own IPYTHONDIR."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    os.environ.setdefault("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
    config = Config()
    config.HistoryAccessor.enabled = False  # else: "too many open files" over many shells/cells
    return InteractiveShell.instance(config=config)


@pytest.fixture
def ip(shell, local_service, tmp_path, monkeypatch):
    """The shell with bedrock_magics loaded, using the local service and a fresh ledger."""
    monkeypatch.delenv("BEDROCK_MAGICS_LOCAL", raising=False)
    shell.run_line_magic("load_ext", "bedrock_magics")
    bm = current(shell)
    bm.ledger_path = str(tmp_path / "ledger.sqlite")
    bm.use_local(service=local_service)
    yield shell
    shell.run_line_magic("unload_ext", "bedrock_magics")
    shell.config.pop("Bedrock", None)  # %config in one test must not carry over to the next
    magics_module._was_local.pop(shell, None)  # nor local mode, which a reload would keep
    for name in ("ans", "out", "frame", "get_weather", "topic", "person"):
        shell.user_ns.pop(name, None)


def run(ip, code: str):
    """Run a cell; return (result, captured)."""
    with capture_output() as captured:
        result = ip.run_cell(code)
    return result, captured


def run_ok(ip, code: str):
    result, captured = run(ip, code)
    result.raise_error()
    return result, captured


def rows(ip) -> pd.DataFrame:
    return current(ip).usage()


def usage_error(ip, code: str) -> str:
    """Run a cell that must fail with exactly one UsageError line on stderr, sending nothing."""
    before = len(rows(ip))
    result, captured = run(ip, code)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    lines = captured.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("UsageError: "), captured.stderr
    assert "Traceback" not in captured.stdout
    assert len(rows(ip)) == before  # nothing was sent
    return lines[0]


def bundles(captured) -> list[dict]:
    return [o.data for o in captured.outputs]


def shown_text(captured) -> str:
    """Everything a cell showed: stdout, stderr and every display (readable, not JSON-escaped)."""
    return "\n".join([captured.stdout, captured.stderr] + [json.dumps(b, ensure_ascii=False) for b in bundles(captured)])


class interrupt_when:
    """What the notebook's stop button does: SIGINT to the kernel's main thread, sent as soon as
    ``ready()`` (polled from a thread) says the cell is where the test wants it interrupted."""

    def __init__(self, ready) -> None:
        self.ready, self.stopped = ready, threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self.stopped.wait(0.01):
            if self.ready():
                interrupt_main_thread()
                return

    def __enter__(self) -> "interrupt_when":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()


def no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


# -- loading -----------------------------------------------------------------------------------------

def test_reload_ext_keeps_one_configurable_and_one_magic(ip):
    ip.run_line_magic("reload_ext", "bedrock_magics")
    ip.run_line_magic("reload_ext", "bedrock_magics")
    ip.run_line_magic("load_ext", "bedrock_magics")  # already loaded: a no-op
    assert [type(c).__name__ for c in ip.configurables].count("Bedrock") == 1
    assert "bedrock" in ip.magics_manager.magics["line"] and "bedrock" in ip.magics_manager.magics["cell"]


def test_reload_ext_keeps_local_mode_instead_of_switching_to_aws(ip, tmp_path):
    assert current(ip).local
    ip.run_line_magic("reload_ext", "bedrock_magics")
    bm = current(ip)
    bm.ledger_path = str(tmp_path / "after-reload.sqlite")
    assert bm.local
    _, captured = run_ok(ip, "%%bedrock --no-stream\necho: still local")
    assert "still local" in shown_text(captured)
    assert list(rows(ip)["status"]) == ["ok"]


def test_unload_removes_magic_configurable_and_printer(shell, local_service):
    shell.run_line_magic("load_ext", "bedrock_magics")
    shell.run_line_magic("unload_ext", "bedrock_magics")
    assert "bedrock" not in shell.magics_manager.magics["line"]
    assert "bedrock" not in shell.magics_manager.magics["cell"]
    assert not any(type(c).__name__ == "Bedrock" for c in shell.configurables)
    with pytest.raises(KeyError):
        shell.display_formatter.ipython_display_formatter.lookup_by_type(Reply)


def test_load_ext_imports_no_heavy_library():
    code = textwrap.dedent("""
        import sys
        from IPython.core.interactiveshell import InteractiveShell
        ip = InteractiveShell.instance()
        ip.run_line_magic("load_ext", "bedrock_magics")
        assert "bedrock" in ip.magics_manager.magics["cell"]
        print(sorted(m for m in ("boto3", "botocore", "openai", "pandas", "ipywidgets", "numpy", "tqdm")
                     if m in sys.modules))
    """)
    env = {k: v for k, v in os.environ.items() if k != "BEDROCK_MAGICS_LOCAL"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_local_env_starts_the_service_at_load_and_unload_stops_it(shell, tmp_path, monkeypatch):
    monkeypatch.setenv("BEDROCK_MAGICS_LOCAL", "1")
    monkeypatch.setenv("BEDROCK_MAGICS_LEDGER", str(tmp_path / "ledger.sqlite"))
    with capture_output() as captured:
        shell.run_cell("%load_ext bedrock_magics").raise_error()
    try:
        assert LOCAL_BANNER in captured.stdout
        # The service starts on a thread once the loading cell has finished, with no further call.
        (starter,) = [t for t in threading.enumerate() if t.name == "bedrock-local-start"] or [None]
        if starter is not None:
            starter.join()
        assert current(shell).local_service is not None
        # The notebooks' switch cell: the banner already said where calls go; `local auto` adds nothing.
        _, captured = run_ok(shell, "%bedrock local auto")
        assert captured.stdout == ""
        result, _ = run_ok(shell, "%%bedrock ans --no-stream\necho: local hello")
        assert shell.user_ns["ans"].text == "local hello"
        service = current(shell).local_service
        assert service is not None and service.url.startswith("https://127.0.0.1:")
    finally:
        shell.run_line_magic("unload_ext", "bedrock_magics")
    with pytest.raises(OSError):  # the service this load started is gone
        import socket

        socket.create_connection(("127.0.0.1", int(service.url.rsplit(":", 1)[1])), timeout=2).close()


def test_a_local_start_error_is_shown_without_its_secrets(ip):
    from bedrock_magics.magics import _loaded

    # What a failed background start leaves for the next command (a message that quotes a key).
    _loaded[ip]._start_error = RuntimeError(f"bind failed (key {credentials.API_KEY}, "
                                            f"secret {credentials.SECRET_ACCESS_KEY})")
    _, captured = run_ok(ip, "%bedrock status")
    text = shown_text(captured)
    assert "The local service failed to start: RuntimeError: bind failed (key ****" in text, text
    no_secret(text)
    line = usage_error(ip, "%%bedrock --no-stream\necho: hi")
    assert line.startswith("UsageError: the local Bedrock service did not start (RuntimeError: bind failed (key ****")
    assert line.endswith("try %bedrock local start")
    no_secret(line)


# -- configuration ---------------------------------------------------------------------------------

def test_percent_config_region_takes_effect(ip):
    run_ok(ip, "%config Bedrock.region = 'us-west-2'")
    run_ok(ip, "%%bedrock ans --no-stream\necho: west")
    assert ip.user_ns["ans"].region == "us-west-2"
    assert rows(ip)["region"].tolist() == ["us-west-2"]
    run_ok(ip, "%%bedrock ans --no-stream -r eu-central-1 -m eu.amazon.nova-lite-v1:0\necho: line wins")
    assert ip.user_ns["ans"].region == "eu-central-1"


def test_status_names_sources_and_no_secret(ip):
    run_ok(ip, "%config Bedrock.region = 'us-west-2'")
    _, captured = run_ok(ip, "%bedrock status")
    (text,) = [b["text/markdown"] for b in bundles(captured) if "text/markdown" in b] or [captured.stdout]
    assert "us-west-2" in text and "%config" in text
    assert "local service" in text
    no_secret(text, captured.stdout)


# -- every route from a cell -------------------------------------------------------------------------

ROUTES = [
    ("runtime", "converse", RUNTIME_MODEL),
    ("runtime", "invoke", RUNTIME_MODEL),
    ("runtime", "chat", OPENAI_MODEL),
    ("runtime", "responses", OPENAI_MODEL),
    ("mantle", "responses", MANTLE_MODEL),
    ("mantle", "chat", MANTLE_MODEL),
]


@pytest.mark.parametrize("endpoint, api, model", ROUTES)
def test_route_without_streaming(ip, endpoint, api, model):
    result, captured = run_ok(ip, f"%%bedrock ans -e {endpoint} -a {api} -m {model} --no-stream\nWhat are tides?")
    reply = ip.user_ns["ans"]
    assert reply.ok and (reply.endpoint, reply.api) == (endpoint, api)
    assert result.result is reply and ip.user_ns["_"] is reply
    (bundle,) = bundles(captured)  # drawn once, as the cell's value
    assert "Local Bedrock reply from" in bundle["text/markdown"]
    assert 'You said: "What are tides?"' in bundle["text/markdown"]
    assert f"{model} · {endpoint}/{api} · {reply.input_tokens} in / {reply.output_tokens} out tokens" in bundle["text/markdown"]
    assert len(rows(ip)) == 1


@pytest.mark.parametrize("endpoint, api, model", ROUTES)
def test_route_streamed_into_one_output(ip, endpoint, api, model):
    result, captured = run_ok(ip, f"%%bedrock -e {endpoint} -a {api} -m {model} --stream\nWhat are tides?")
    reply = result.result
    assert isinstance(reply, Reply) and reply.ok and reply.streamed and ip.user_ns["_"] is reply
    outputs = captured.outputs
    ids = {o.transient["display_id"] for o in outputs}
    assert len(ids) == 1  # one display, updated in place
    assert [o.update for o in outputs].count(False) == 1  # the placeholder; the rest are updates
    assert len(outputs) >= 3  # placeholder, the first delta at once, the finished rendering
    final = outputs[-1].data["text/markdown"]
    assert final.startswith(reply.text) and display.footer(reply) in final and "▍" not in final
    assert len(rows(ip)) == 1


def test_streaming_in_a_terminal_prints_the_text_then_the_footer(ip, monkeypatch):
    # No capture: the shell's own terminal display publisher and displayhook are in place.
    import io

    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    result = ip.run_cell("%%bedrock --stream\necho: streamed words arrive", store_history=True)
    result.raise_error()
    reply = result.result
    lines = out.getvalue().splitlines()
    assert lines == ["streamed words arrive", display.footer(reply)]  # never drawn twice, no empty Out[n]:
    assert isinstance(reply, Reply) and ip.user_ns["_"] is reply  # still the cell's value
    out.truncate(0), out.seek(0)
    result = ip.run_cell("%%bedrock ans -q\necho: quietly", store_history=True)
    result.raise_error()
    assert out.getvalue() == "" and ip.user_ns["_"] is ip.user_ns["ans"]
    result = ip.run_cell("%%bedrock --no-stream\necho: once", store_history=True)  # not streamed: shown as Out
    assert out.getvalue().count("once") == 1 and re.search(r"Out\[\d+\]: once", out.getvalue())


def test_a_failed_stream_in_a_terminal_shows_only_the_error(ip, monkeypatch):
    import io

    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    result = ip.run_cell("%%bedrock -m amazon.nova-lte-v1:0 --stream\nhi", store_history=True)
    error = result.error_in_exec
    assert isinstance(error, BedrockError)
    assert out.getvalue().strip().splitlines() == error._render_traceback_()


# -- templating ------------------------------------------------------------------------------------

def test_body_interpolation(ip):
    ip.user_ns.update(topic="tides", person={"name": "Ada"})
    run_ok(ip, "%%bedrock ans --no-stream\necho: {topic} for {person[name]}, not {{topic}}; JSON {\"a\": 1}")
    assert ip.user_ns["ans"].text == 'tides for Ada, not {topic}; JSON {"a": 1}'
    # {{ and }} are literal braces, as in str.format; nested JSON's closing }} is left alone.
    run_ok(ip, '%%bedrock ans --no-stream\necho: {{"a": 1}} and {"b": {"c": 2}}')
    assert ip.user_ns["ans"].text == '{"a": 1} and {"b": {"c": 2}}'


def test_no_format_sends_the_text_as_is(ip):
    run_ok(ip, "%%bedrock ans --no-format --no-stream\necho: {missing} stays")
    assert ip.user_ns["ans"].text == "{missing} stays"


def test_attribute_access_is_refused_before_sending(ip):
    ip.user_ns["topic"] = "tides"
    line = usage_error(ip, "%%bedrock --no-stream\necho: {topic.upper}")
    assert "attribute access isn't allowed" in line and "{{topic.upper}}" in line


def test_unknown_name_is_refused_before_sending(ip):
    line = usage_error(ip, "%%bedrock --no-stream\nTell me about {nothing_here}")
    assert "'nothing_here'" in line and "{{nothing_here}}" in line


def test_a_template_error_is_a_value_error_in_python_and_the_same_usage_error_line_in_the_magic(ip):
    from bedrock_magics.templating import TemplateError, render

    ip.user_ns["frame"] = pd.DataFrame({"city": ["Oslo"]})
    with pytest.raises(TemplateError) as info:  # the Python API: a ValueError, nothing of IPython's
        current(ip).map(ip.user_ns["frame"], "echo: {missing}", namespace=ip.user_ns, progress=False)
    assert isinstance(info.value, ValueError) and not isinstance(info.value, UsageError)
    assert usage_error(ip, "%%bedrock out --df frame\necho: {missing}") == f"UsageError: {info.value}"
    with pytest.raises(TemplateError) as info:
        render("echo: {missing}", ip.user_ns)  # what the magic does with a cell body
    assert usage_error(ip, "%%bedrock --no-stream\necho: {missing}") == f"UsageError: {info.value}"


@pytest.mark.parametrize("code, expected", [
    ("%%bedrock --temprature 0.5\nhi", "did you mean --temperature?"),
    ("%%bedrock -e mantle -a converse\nhi", "isn't served by the mantle endpoint"),
    ("%%bedrock --df nowhere\n{x}", "no variable named 'nowhere' in the notebook"),
    ("%%bedrock\n   ", "the cell has no prompt"),
    ("%bedrock modles", "did you mean %bedrock models?"),
])
def test_bad_input_is_one_usage_error_line(ip, code, expected):
    assert expected in usage_error(ip, code)


# -- DEST, quiet, formats ------------------------------------------------------------------------------

def test_quiet_stores_without_showing(ip):
    result, captured = run_ok(ip, "%%bedrock ans --quiet\necho: silent")
    assert ip.user_ns["ans"].text == "silent" and result.result is ip.user_ns["ans"]
    assert captured.outputs == [] and "silent" not in captured.stdout


def test_json_format(ip):
    run_ok(ip, '%%bedrock ans -f json --no-stream\necho: {"a": [1, 2]}')  # JSON braces need no escaping
    _, captured = run_ok(ip, "ans")
    (bundle,) = bundles(captured)
    assert bundle["application/json"] == {"a": [1, 2]}
    assert bundle["text/markdown"].startswith('```json\n{\n  "a": [')


def test_json_format_falls_back_to_text_with_a_note(ip):
    _, captured = run_ok(ip, "%%bedrock -f json --no-stream\necho: not json at all")
    (bundle,) = bundles(captured)
    assert "application/json" not in bundle
    assert bundle["text/plain"].startswith("not json at all\n") and "not valid JSON" in bundle["text/plain"]


def test_code_and_html_formats(ip):
    _, captured = run_ok(ip, "%%bedrock -f code --no-stream\necho: print('hi')")
    (bundle,) = bundles(captured)
    assert "```python\nprint('hi')\n```" in bundle["text/markdown"] and "<div class=\"highlight" in bundle["text/html"]
    _, captured = run_ok(ip, "%%bedrock -f html --no-stream\necho: <b>bold</b><script>alert(1)</script>")
    (bundle,) = bundles(captured)
    html_out = bundle["text/html"]
    assert html_out.startswith('<iframe sandbox=""') and "<script>" not in html_out  # escaped inside srcdoc
    assert "&lt;script&gt;" in html_out


def test_max_tokens_cut_is_named_in_the_footer(ip):
    _, captured = run_ok(ip, "%%bedrock ans --max-tokens 3 --no-stream\nWhat are tides?")
    assert ip.user_ns["ans"].stop_reason == "max_tokens"
    assert "stopped: max_tokens (answer cut off; raise --max-tokens)" in bundles(captured)[0]["text/markdown"]


# -- chat and tools -----------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint, api, model", [("runtime", "converse", RUNTIME_MODEL),
                                                  ("mantle", "responses", MANTLE_MODEL)])
def test_chat_over_three_turns(ip, endpoint, api, model):
    inputs = []
    for turn in ("My name is Ada.", "I like tides.", "What is my name?"):
        run_ok(ip, f"%%bedrock ans --chat trip -e {endpoint} -a {api} -m {model} --no-stream\n{turn}")
        inputs.append(ip.user_ns["ans"].input_tokens)
    assert inputs[0] < inputs[1] < inputs[2]  # each turn carries the conversation so far
    _, captured = run_ok(ip, "%bedrock chat trip")
    text = captured.outputs[0].data["text/markdown"] if captured.outputs else captured.stdout
    assert "trip: 3 turns" in text and "My name is Ada." in text and "What is my name?" in text
    _, captured = run_ok(ip, "%bedrock chat trip --reset")
    assert "Forgot 1 conversation: trip" in captured.stdout
    assert "no conversation named 'trip'" in usage_error(ip, "%bedrock chat trip")


@pytest.mark.parametrize("stream", ["--no-stream", "--stream"])
def test_tool_loop_shows_rounds_and_records_each(ip, stream):
    ip.run_cell(textwrap.dedent('''
        def get_weather(city: str) -> str:
            """The weather in a city."""
            return f"sunny in {city}"
    ''')).raise_error()
    result, captured = run_ok(ip, f"%%bedrock ans --tools get_weather {stream}\nUse get_weather with city=Paris")
    reply = ip.user_ns["ans"]
    assert "the tool get_weather returned sunny in Paris" in reply.text
    shown = shown_text(captured)
    assert "get_weather(city='Paris')" in shown and "sunny in Paris" in shown
    ledger = rows(ip)
    assert len(ledger) == 2  # one ledger row per round
    # The footer counts the whole loop, not its last round.
    tokens = f"{ledger['input_tokens'].sum():,} in / {ledger['output_tokens'].sum():,} out tokens · 2 rounds"
    assert tokens in shown, shown
    cost = re.search(re.escape(tokens) + r" · [\d,]+ ms · est\. \$([\d.]+)", shown)
    assert cost and float(cost.group(1)) == pytest.approx(ledger["cost_usd"].sum(), rel=0.05)


# -- errors: one short error, a ledger row, DEST still set ------------------------------------------------

def failed(ip, code: str) -> tuple[BedrockError, str]:
    before = len(rows(ip))
    result, captured = run(ip, code)
    error = result.error_in_exec
    assert isinstance(error, BedrockError), error
    shown = captured.stdout.strip().splitlines()
    assert 1 <= len(shown) <= 3 and shown[0].startswith(f"BedrockError ({error.code})"), captured.stdout
    assert "Traceback" not in captured.stdout + captured.stderr
    assert "stream failed" not in shown_text(captured)  # the error says it: no extra line before it
    frame = rows(ip)
    assert len(frame) == before + 1 and frame["status"].iloc[-1] == "error"
    assert ip.user_ns["ans"].status == "error" and ip.user_ns["ans"].error
    no_secret(captured.stdout, captured.stderr)
    return error, captured.stdout


def test_unknown_model_error(ip):
    error, _ = failed(ip, "%%bedrock ans -m amazon.nova-lte-v1:0 --no-stream\nhi")
    assert error.code == "UnknownModel"


def test_model_without_the_api_error(ip):
    error, text = failed(ip, f"%%bedrock ans -a chat -m {RUNTIME_MODEL} --no-stream\nhi")
    assert error.code in ("UnsupportedApi", "UnknownModel")
    assert RUNTIME_MODEL in text


@pytest.mark.parametrize("stream", ["--no-stream", "--stream"])
def test_throttling_error(ip, local_service, stream):
    run_ok(ip, "%config Bedrock.max_attempts = 1")
    local_service.faults.set(error_rate=1.0, error_code="ThrottlingException")
    error, _ = failed(ip, f"%%bedrock ans {stream}\nhi")
    assert error.code == "ThrottlingException"


def test_no_credentials_error(ip, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_BEARER_TOKEN_BEDROCK", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    _, captured = run_ok(ip, "%bedrock local stop")
    error, _ = failed(ip, "%%bedrock ans --no-stream\nhi")
    assert error.code == "NoCredentials"


# -- table modes ----------------------------------------------------------------------------------

def test_df_run_stores_the_frame_and_previews_it(ip):
    ip.user_ns["frame"] = pd.DataFrame({"city": ["Paris", "Oslo", "Lima"]})
    result, captured = run_ok(ip, "%%bedrock out --df frame --out reply\necho: hello {city}")
    out = ip.user_ns["out"]
    assert result.result is None
    assert out["reply"].tolist() == ["hello Paris", "hello Oslo", "hello Lima"]
    assert {"reply_input_tokens", "reply_output_tokens", "reply_latency_ms", "reply_cost_usd", "reply_error"} <= set(out.columns)
    assert "out: DataFrame, 3 rows" in captured.stdout and "3 rows" in captured.stdout
    assert len(rows(ip)) == 3


def test_df_typo_in_a_column_fails_before_sending(ip):
    ip.user_ns["frame"] = pd.DataFrame({"city": ["Paris"]})
    assert "no column or variable named 'cty'" in usage_error(ip, "%%bedrock --df frame\nhello {cty}")


def test_compare_models(ip):
    result, captured = run_ok(ip, f"%%bedrock -m {RUNTIME_MODEL} -m us.amazon.nova-micro-v1:0\necho: same prompt")
    frame = result.result
    assert frame["model"].tolist() == [RUNTIME_MODEL, "us.amazon.nova-micro-v1:0"]
    assert frame["text"].tolist() == ["same prompt", "same prompt"]


def test_dry_run_sends_nothing_billable(ip):
    result, _ = run_ok(ip, "%%bedrock est --dry-run\nHow many tokens is this?")
    frame = ip.user_ns["est"]
    assert int(frame["input_tokens"].iloc[0]) > 0
    assert len(rows(ip)) == 0


# -- key -----------------------------------------------------------------------------------------------

def test_key_is_asked_with_getpass_and_never_shown(ip, monkeypatch):
    import getpass

    monkeypatch.setattr(getpass, "getpass", lambda prompt="": credentials.API_KEY)
    _, captured = run_ok(ip, "%bedrock key")
    assert "API key set for this session" in captured.stdout
    run_ok(ip, "%%bedrock ans --no-stream\necho: with a key")
    _, status = run_ok(ip, "%bedrock status")
    shown = captured.stdout + status.stdout + json.dumps(bundles(status))
    assert "%bedrock key" in shown
    no_secret(shown)
    _, captured = run_ok(ip, "%bedrock key --clear")
    assert "forgotten" in captured.stdout


def test_df_compare_and_embed(ip):
    ip.user_ns["frame"] = pd.DataFrame({"city": ["Paris", "Oslo"]})
    run_ok(ip, f"%%bedrock out --df frame -m {RUNTIME_MODEL} -m us.amazon.nova-micro-v1:0\necho: hi {{city}}")
    out = ip.user_ns["out"]
    assert out["answer_nova_lite_v1_0"].tolist() == ["hi Paris", "hi Oslo"]
    assert out["answer_nova_micro_v1_0"].tolist() == ["hi Paris", "hi Oslo"]
    run_ok(ip, "%%bedrock vecs --df frame --embed city -m amazon.titan-embed-text-v2:0 --quiet\n# the city names")
    vectors = ip.user_ns["vecs"]["city_embedding"]
    assert len(vectors) == 2 and len(vectors.iloc[0]) == 1024
    assert "the cell body is not sent" in usage_error(ip, "%%bedrock --df frame --embed city\nEmbed {city}")


def test_stream_cut_mid_way_keeps_what_arrived_and_fails_the_cell(ip, local_service):
    run_ok(ip, "%config Bedrock.max_attempts = 1")
    local_service.faults.set(cut_stream_after=2)
    before = len(rows(ip))
    result, captured = run(ip, "%%bedrock ans --stream\nWhat are tides?")
    error = result.error_in_exec
    assert isinstance(error, BedrockError)
    final = captured.outputs[-1].data["text/markdown"]
    partial = ip.user_ns["ans"].text
    assert partial and final.strip() == partial.strip()  # what arrived stays, without the cursor or a note
    assert captured.stdout.strip().splitlines() == error._render_traceback_()  # then only the error's lines
    assert len(rows(ip)) == before + 1 and rows(ip)["status"].iloc[-1] == "error"
    assert ip.user_ns["ans"].status == "error"


def test_a_stream_that_fails_before_any_text_leaves_no_placeholder(ip):
    result, captured = run(ip, "%%bedrock ans -m amazon.nova-lte-v1:0 --stream\nhi")
    assert isinstance(result.error_in_exec, BedrockError)
    # Issue 13 item 8: not even an emptied display stays behind (a saved notebook would show an
    # empty output above the error): the error is the cell's only output.
    assert captured.outputs == [], [o.data for o in captured.outputs]


def test_stream_view_coalesces_updates(ip):
    with capture_output() as captured:
        view = streamview.StreamView(label="m", rate=1e-9)  # at most one update per ~30 years
        for i in range(50):
            view.add(f"w{i} ")
        assert view.updates == 1  # only the first delta, at once
        view.finish(Reply(text=view.text, model="m", endpoint="runtime", api="converse"))
    assert view.updates == 2 and len(captured.outputs) == 3
    assert captured.outputs[-1].data["text/markdown"].startswith("w0 w1 ") and "w49" in captured.outputs[-1].data["text/markdown"]
    with capture_output() as captured:
        view = streamview.StreamView(label="m", rate=0)  # no coalescing: one update per delta
        for i in range(5):
            view.add(f"w{i} ")
    assert view.updates == 5


def test_line_magic_values_come_from_the_callers_locals(ip):
    ip.run_cell(textwrap.dedent("""
        def models_in(region):
            return get_ipython().run_line_magic("bedrock", "models -r $region")
    """)).raise_error()
    result, _ = run_ok(ip, "models_in('us-west-2')")
    assert set(result.result["region"]) == {"us-west-2"}


def test_footer_rules():
    reply = Reply(text="hi", model="m", endpoint="mantle", api="responses",
                  usage={"input_tokens": 1200, "output_tokens": 3, "total_tokens": 1203},
                  latency_ms=12.4, cost_usd=float("nan"), stop_reason="end_turn")
    assert display.footer(reply) == "m · mantle/responses · 1,200 in / 3 out tokens · 12 ms · cost unknown"
    assert not reply.cut_off
    # Routes hand over Converse's stop words whatever the wire ("length", "MAX_TOKENS"… are "max_tokens").
    reply.stop_reason, reply.cost_usd = "max_tokens", 0.0123
    assert reply.cut_off
    assert display.footer(reply).endswith("$0.0123 · stopped: max_tokens (answer cut off; raise --max-tokens)")
    reply.stop_reason = "stop_sequence"  # ended early, but not cut by the token limit
    assert display.footer(reply).endswith("$0.0123 · stopped: stop_sequence")
    reply.stop_reason = "max_tokens"
    reply.text = "```python\nprint(1)"  # cut inside a code block: the fence is closed before the footer
    assert display.markdown(reply).startswith("```python\nprint(1)\n```\n\n<sub>")


def test_small_line_commands(ip):
    _, captured = run_ok(ip, "%bedrock local status")
    assert "running at https://127.0.0.1:" in captured.stdout
    _, captured = run_ok(ip, "%bedrock local")  # start, but it runs already: nothing else is started
    assert "already running at https://127.0.0.1:" in captured.stdout
    _, captured = run_ok(ip, "%bedrock help")
    assert "--max-tokens" in captured.stdout and "%bedrock usage" in captured.stdout
    assert "usage: %%bedrock [DEST] [options]" in captured.stdout
    assert "``" not in captured.stdout and "::" not in captured.stdout  # plain text, no reST
    assert re.search(r"%bedrock local \[start\|stop\|status\|auto\] +start the local Bedrock service", captured.stdout)
    assert "%bedrock status takes no arguments" in usage_error(ip, "%bedrock status extra")
    _, captured = run_ok(ip, "%bedrock pick")  # no widget front end in a plain shell: text instead
    assert captured.stdout.strip()
    assert "no batch inference job named 'nightly'" in usage_error(ip, "%bedrock job status nightly")


def test_the_inspector_shows_every_option_and_sub_command(ip):
    # `%bedrock?` and a notebook's Shift-Tab: IPython's inspector, which reads the help (formatted
    # when first asked for, not at %load_ext) through the magic's getdoc().
    text = ip.object_inspect("%bedrock")["docstring"]
    assert text.startswith("Amazon Bedrock from a notebook cell.")
    assert "usage: %%bedrock [DEST] [options]" in text and "--max-tokens" in text
    assert "%bedrock sub-commands (line mode):" in text and "%bedrock usage" in text
    assert text == magics_module.help_text().strip()


def test_streaming_default_comes_from_config(ip):
    run_ok(ip, "%config Bedrock.streaming = False")
    result, captured = run_ok(ip, "%%bedrock\necho: not streamed")
    assert not result.result.streamed and len(captured.outputs) == 1 and not captured.outputs[0].update
    result, _ = run_ok(ip, "%%bedrock --stream\necho: streamed anyway")
    assert result.result.streamed


# -- QA regressions ----------------------------------------------------------------------------------

def test_profile_option_runs_the_cell_under_that_profile_and_restores_it(ip, local_service, tmp_path, monkeypatch):
    # AWS mode aimed at the local service's endpoints, where the only credentials are profile qa's.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "AWS_BEARER_TOKEN_BEDROCK", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ENDPOINT_URL_BEDROCK", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_CA_BUNDLE"):
        monkeypatch.setenv(name, local_service.env[name])
    (tmp_path / "config").write_text("[profile qa]\nregion = us-west-2\n")
    (tmp_path / "credentials").write_text(f"[qa]\naws_access_key_id = {credentials.ACCESS_KEY_ID}\n"
                                          f"aws_secret_access_key = {credentials.SECRET_ACCESS_KEY}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    run_ok(ip, "%bedrock local stop")
    bm = current(ip)
    before = bm.sources()
    run_ok(ip, "%%bedrock ans --profile qa --no-stream\necho: through qa")
    reply = ip.user_ns["ans"]
    assert reply.ok and reply.text == "through qa" and reply.region == "us-west-2"  # the profile's region
    after = bm.sources()
    assert (after["profile"], after["region"]) == (before["profile"], before["region"])  # restored, same source
    assert not re.search(r"profile\W+(qa\W+)?set in Python", shown_text(run_ok(ip, "%bedrock status")[1]))
    error, _ = failed(ip, "%%bedrock ans --no-stream\nhi")  # without --profile there are no credentials
    assert error.code == "NoCredentials"


def test_dry_run_with_several_models_estimates_each(ip):
    nova_micro = "us.amazon.nova-micro-v1:0"
    run_ok(ip, f"%%bedrock est --dry-run -m {RUNTIME_MODEL} -m {nova_micro}\nHow many tokens is this?")
    est = ip.user_ns["est"]
    assert est["model"].tolist() == [RUNTIME_MODEL, nova_micro] and (est["input_tokens"] > 0).all()
    ip.user_ns["frame"] = pd.DataFrame({"city": ["Paris", "Oslo"]})
    _, captured = run_ok(ip, f"%%bedrock est --dry-run --df frame -m {RUNTIME_MODEL} -m {nova_micro}\nhello {{city}}")
    est = ip.user_ns["est"]
    assert est["model"].tolist() == [RUNTIME_MODEL] * 2 + [nova_micro] * 2
    assert est["city"].tolist() == ["Paris", "Oslo"] * 2 and est["prompt"].tolist()[:2] == ["hello Paris", "hello Oslo"]
    assert f"{RUNTIME_MODEL}: 2 rows" in captured.stdout and f"{nova_micro}: 2 rows" in captured.stdout
    assert len(rows(ip)) == 0


def test_ledger_rows_name_the_cell_that_made_them(ip):
    with capture_output():
        first = ip.run_cell("%%bedrock --no-stream\necho: numbered", store_history=True)
        second = ip.run_cell("%%bedrock --stream\necho: numbered too", store_history=True)
    first.raise_error(), second.raise_error()
    assert rows(ip)["cell"].tolist() == [first.execution_count, second.execution_count]


def test_interrupting_a_streamed_call_is_one_line_and_stops_the_cell(ip, local_service):
    run_ok(ip, "%%bedrock --no-stream\necho: warm up")  # the clients exist: the interrupt lands in the call
    local_service.faults.set(latency_ms=3000)
    try:
        with interrupt_when(lambda: local_service.app.in_flight > 0):  # the call waits for its answer
            result, captured = run(ip, "%%bedrock ans --stream\nA slow question")
    finally:
        local_service.faults.clear()
    error = result.error_in_exec
    assert isinstance(error, KeyboardInterrupt)  # Run All, nbclient and papermill stop on it
    assert isinstance(error.__cause__, KeyboardInterrupt)  # %tb still has the real one
    assert "Traceback" not in captured.stdout + captured.stderr
    (line,) = error._render_traceback_()
    assert captured.stdout.strip() == line
    assert "interrupted" in line and "ans" in line and "cancelled" in line
    assert rows(ip)["status"].iloc[-1] == "cancelled" and ip.user_ns["ans"].status == "cancelled"


def test_interrupting_a_df_run_is_short_keeps_the_partial_frame_and_stops_the_cell(ip, local_service):
    ip.user_ns["frame"] = pd.DataFrame({"city": [f"town {i}" for i in range(20)]})
    run_ok(ip, "%%bedrock --no-stream\necho: warm up")
    local_service.faults.set(latency_ms=100)
    start = local_service.app.requests_total
    try:
        with interrupt_when(lambda: local_service.app.requests_total >= start + 4):  # a few rows were sent
            result, captured = run(ip, "%%bedrock out --df frame --concurrency 1\necho: {city}")
    finally:
        local_service.faults.clear()
    error = result.error_in_exec
    assert isinstance(error, KeyboardInterrupt)
    assert "Traceback" not in captured.stdout + captured.stderr
    rendered = error._render_traceback_()
    assert 1 <= len(rendered) <= 2 and "partial results in out" in " ".join(rendered)
    assert all(line in captured.stdout for line in rendered)
    out = ip.user_ns["out"]
    assert len(out) == 20 and (out["answer_error"] == "cancelled").any() and out["answer"].notna().any()


def test_local_auto_prints_the_banner_when_nothing_said_it_yet(ip):
    _, captured = run_ok(ip, "%bedrock local auto")  # local mode was set from Python: no banner so far
    assert captured.stdout.strip() == LOCAL_BANNER


def test_bare_local_starts_the_service_and_status_names_the_magic(ip):
    run_ok(ip, "%bedrock local stop")
    _, captured = run_ok(ip, "%bedrock local")
    assert LOCAL_BANNER in captured.stdout
    bm = current(ip)
    assert bm.local and bm.local_service is not None  # a service of its own: unload stops it
    status = shown_text(run_ok(ip, "%bedrock status")[1])
    assert re.search(r"local\W+True\W+%bedrock local\b", status), status
    assert not re.search(r"local\W+True\W+set in Python", status)


def test_models_of_an_unknown_provider_is_a_usage_error_listing_providers(ip):
    line = usage_error(ip, "%bedrock models --provider NoSuch")
    assert f"no models from provider 'NoSuch' in {current(ip).region}; providers: " in line
    listed = line.split("providers: ", 1)[1].split(", ")
    assert {"Amazon", "Anthropic", "Meta"} <= set(listed)
    assert "did you mean Cohere?" in usage_error(ip, "%bedrock models --provider cohre")


def test_df_template_can_name_a_column_with_spaces(ip):
    ip.user_ns["frame"] = pd.DataFrame({"review text": ["great", "poor"]})
    run_ok(ip, "%%bedrock out --df frame -q\necho: {review text}")
    assert ip.user_ns["out"]["answer"].tolist() == ["great", "poor"]
    assert "did you mean {review text}?" in usage_error(ip, "%%bedrock --df frame\necho: {review txt}")


def test_batch_job_submit_and_status_read_as_lines_not_a_dict(ip, s3_endpoint):
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                      aws_access_key_id=credentials.ACCESS_KEY_ID,
                      aws_secret_access_key=credentials.SECRET_ACCESS_KEY)
    bucket = f"magics-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    ip.user_ns["frame"] = pd.DataFrame({"city": ["Paris", "Oslo"]})
    _, captured = run_ok(ip, f"%%bedrock job --df frame --job s3://{bucket}/in/ "
                             "--role arn:aws:iam::123456789012:role/Batch -m anthropic.claude-3-haiku-20240307-v1:0\n"
                             "echo: {city}")
    job = ip.user_ns.pop("job")
    assert job["status"] == "Submitted" and job["records"] == 2  # DEST is still the dict
    for shown in (shown_text(captured), shown_text(run_ok(ip, f"%bedrock job status {job['name']}")[1])):
        assert job["name"] in shown and "s3://" in shown
        assert "{'name'" not in shown and "datetime.datetime" not in shown and "tzlocal" not in shown, shown


def test_an_embedding_model_on_invoke_shows_its_vector_not_an_empty_answer(ip):
    _, captured = run_ok(ip, "%%bedrock vec --no-stream -m amazon.titan-embed-text-v2:0 -a invoke\nhello")
    assert "embedding of 1024 dimensions: [" in shown_text(captured)
    assert len(ip.user_ns["vec"].embedding) == 1024
    ip.user_ns.pop("vec", None)


@pytest.mark.parametrize("code, expected", [
    ("%%bedrock --no-stream\necho: {bad}", "{bad} in the prompt: formatting bad raised RuntimeError: format failed"),
    ("%%bedrock --no-stream\necho: {bad[0]}", "{bad[0]} in the prompt: bad[0] raised LookupError: getitem failed"),
    ("%%bedrock -m $bad --no-stream\nhi", "$bad in the --model option: str() of bad raised RuntimeError: str failed"),
    ("%%bedrock -s {bad} --no-stream\nhi",
     "{bad} in the --system option: formatting bad raised RuntimeError: format failed"),
    ("%%bedrock out --df frame\necho: {city}",
     "{city} in the prompt: formatting city raised RuntimeError: format failed"),
])
def test_a_user_object_that_raises_in_a_template_is_one_usage_error_line(ip, code, expected):
    ip.user_ns["bad"] = Hostile()
    ip.user_ns["frame"] = pd.DataFrame({"city": [Hostile(), "Lima"]})
    try:
        assert usage_error(ip, code) == "UsageError: " + expected
    finally:
        ip.user_ns.pop("bad", None)
