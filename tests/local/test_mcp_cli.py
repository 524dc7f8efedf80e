"""``python -m bedrock_magics.local --lambda NAME=MODULE:FUNCTION``: local Lambdas from the command line,
used by the openai SDK through the printed exports and ARN lines alone."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys

import httpx
import openai

TOOLS_MODULE = '''
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()
'''


def _run(tmp_path, *args: str) -> subprocess.Popen:
    (tmp_path / "cli_mcp_tools.py").write_text(TOOLS_MODULE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "bedrock_magics.local", "--port", "0", "--state-dir",
                             str(tmp_path / "state"), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def test_lambda_option_prints_each_arn_and_serves_them(tmp_path):
    proc = _run(tmp_path, "--lambda", "weather=cli_mcp_tools:get_weather", "--lambda", "loud=cli_mcp_tools:shout")
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("# local Bedrock service"):
                break
        exports = dict(shlex.split(line)[1].split("=", 1) for line in lines if line.startswith("export "))
        arns = [line.rsplit(" ", 1)[1] for line in lines if line.startswith("# local Lambda function")]
        region = exports["AWS_DEFAULT_REGION"]
        assert arns == [f"arn:aws:lambda:{region}:123456789012:function:weather",
                        f"arn:aws:lambda:{region}:123456789012:function:loud"]
        assert lines.index(next(line for line in lines if line.startswith("# local Lambda"))) > max(
            i for i, line in enumerate(lines) if line.startswith("export "))
        client = openai.OpenAI(base_url=exports["AWS_BEDROCK_BASE_URL"], api_key=exports["AWS_BEARER_TOKEN_BEDROCK"],
                               http_client=httpx.Client(verify=exports["SSL_CERT_FILE"]), max_retries=0)
        r = client.responses.create(model="openai.gpt-oss-20b", input="shout text=hello", tools=[
            {"type": "mcp", "server_label": "loud", "connector_id": arns[1], "require_approval": "never"}])
        assert [i.type for i in r.output] == ["mcp_list_tools", "mcp_call", "message"]
        assert r.output[1].output == "HELLO"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_bad_lambda_options_are_one_line_errors(tmp_path):
    for spec, words in (("weather", "expected NAME=MODULE:FUNCTION"),
                        ("w=no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
                        ("w=cli_mcp_tools:missing", "has no function 'missing'"),
                        ("bad name=cli_mcp_tools:shout", "is not valid")):
        proc = _run(tmp_path, "--lambda", spec)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 2 and out == ""
        assert words in err and "Traceback" not in err
