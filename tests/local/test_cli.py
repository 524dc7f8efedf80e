"""``python -m bedrock_magics.local``: the export lines, and clients that use nothing else."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

EXPECTED = ["AWS_ENDPOINT_URL_BEDROCK", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL_BEDROCK_MANTLE", "AWS_BEDROCK_BASE_URL",
            "ANTHROPIC_BEDROCK_MANTLE_BASE_URL",
            "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION",
            "AWS_CA_BUNDLE", "SSL_CERT_FILE"]
AWS_CLI = str(Path(sys.executable).with_name("aws"))


class Running:
    """The CLI as a child process, with the lines it printed before serving."""

    def __init__(self, *args: str, state_dir: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bedrock_magics.local", "--port", "0",
                                      "--state-dir", str(state_dir), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.stderr = ""
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line.rstrip("\n"))
            if line.startswith("#"):
                break
        self.env = {}
        for line in self.lines:
            if line.startswith("export "):
                name, _, value = shlex.split(line)[1].partition("=")
                self.env[name] = value

    def stop(self) -> int:
        """Interrupt it (Ctrl-C) and return its exit status; its stderr lands in ``self.stderr``."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        rest, self.stderr = self.proc.communicate(timeout=10)
        self.lines += rest.splitlines()
        return self.proc.returncode


@pytest.fixture
def run_cli(tmp_path):
    started: list[Running] = []

    def start(*args: str) -> Running:
        started.append(Running(*args, state_dir=tmp_path))
        return started[-1]

    yield start
    for r in started:
        if r.proc.poll() is None:
            r.proc.kill()
            r.proc.wait()


@pytest.fixture
def clean_env(monkeypatch):
    for name in EXPECTED + ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_prints_exports_then_a_comment_and_serves(run_cli, clean_env):
    cli = run_cli()
    names = [shlex.split(line)[1].split("=", 1)[0] for line in cli.lines if line.startswith("export ")]
    assert names == EXPECTED
    assert cli.lines[-1].startswith("# ") and "local Bedrock service" in cli.lines[-1] and "Ctrl-C" in cli.lines[-1]
    assert cli.env["AWS_ENDPOINT_URL_BEDROCK_MANTLE"] == cli.env["AWS_ENDPOINT_URL_BEDROCK"] + "/mantle"
    assert Path(cli.env["AWS_CA_BUNDLE"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    for name, value in cli.env.items():
        clean_env.setenv(name, value)
    # Bearer key (boto3 prefers it when AWS_BEARER_TOKEN_BEDROCK is set) and SigV4 both work.
    assert len(boto3.client("bedrock").list_foundation_models()["modelSummaries"]) >= 30
    sigv4 = boto3.client("bedrock", config=Config(signature_version="v4"))
    assert sigv4.get_foundation_model(modelIdentifier="amazon.nova-pro-v1:0")["modelDetails"]["modelName"] == "Nova Pro"
    assert cli.stop() == 0


def test_exports_work_when_evaluated_by_a_shell(run_cli, clean_env):
    cli = run_cli()
    script = "\n".join(cli.lines) + f"\n{shlex.quote(AWS_CLI)} bedrock list-foundation-models --by-provider cohere " \
                                    "--query 'modelSummaries[].modelId' --output text"
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if k not in EXPECTED})
    assert out.returncode == 0, out.stderr
    assert "cohere.command-r-v1:0" in out.stdout.split()
    assert cli.stop() == 0


def test_fault_flags(run_cli, clean_env):
    cli = run_cli("--throttle-rpm", "1")
    for name, value in cli.env.items():
        clean_env.setenv(name, value)
    client = boto3.client("bedrock", config=Config(retries={"total_max_attempts": 1}))
    client.list_foundation_models()
    with pytest.raises(ClientError) as err:
        client.list_foundation_models()
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
    assert cli.stop() == 0

    failing = run_cli("--error-rate", "1")
    for name, value in failing.env.items():
        clean_env.setenv(name, value)
    with pytest.raises(ClientError) as err:
        boto3.client("bedrock", config=Config(retries={"total_max_attempts": 1})).list_foundation_models()
    assert err.value.response["Error"]["Code"] == "ServiceUnavailableException"
    assert failing.stop() == 0


def test_quota_flags(run_cli, clean_env):
    import openai

    from bedrock_magics.local import credentials as local

    cli = run_cli("--quota-rpm", "1", "--mantle-input-tpm", "100")
    for name, value in cli.env.items():
        clean_env.setenv(name, value)
    runtime = boto3.client("bedrock-runtime", config=Config(retries={"total_max_attempts": 1}))
    hello = [{"role": "user", "content": [{"text": "Hello"}]}]
    runtime.converse(modelId="amazon.nova-micro-v1:0", messages=hello)
    with pytest.raises(ClientError) as err:
        runtime.converse(modelId="amazon.nova-micro-v1:0", messages=hello)
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
    mantle = openai.OpenAI(base_url=cli.env["AWS_ENDPOINT_URL_BEDROCK_MANTLE"] + "/v1", api_key=local.API_KEY,
                           max_retries=0)
    with pytest.raises(openai.RateLimitError):
        mantle.chat.completions.create(model="openai.gpt-oss-20b", messages=[{"role": "user", "content": "Hi"}],
                                       max_tokens=200)
    assert cli.stop() == 0


def test_plain_http(run_cli, clean_env):
    cli = run_cli("--http")
    assert cli.env["AWS_ENDPOINT_URL_BEDROCK"].startswith("http://127.0.0.1:")
    assert not {"AWS_BEARER_TOKEN_BEDROCK", "AWS_CA_BUNDLE", "SSL_CERT_FILE"} & set(cli.env)
    for name, value in cli.env.items():
        clean_env.setenv(name, value)
    assert boto3.client("bedrock").list_inference_profiles()["inferenceProfileSummaries"]
    assert cli.stop() == 0


def test_sigterm_stops_it(run_cli):
    cli = run_cli()
    cli.proc.send_signal(signal.SIGTERM)
    assert cli.stop() == 0


def test_quiet_by_default_and_verbose_logs_requests_without_secrets(run_cli, clean_env):
    from bedrock_magics.local import credentials as local

    quiet = run_cli()
    for name, value in quiet.env.items():
        clean_env.setenv(name, value)
    boto3.client("bedrock").list_foundation_models(byProvider="meta")
    assert quiet.stop() == 0 and quiet.stderr == ""

    loud = run_cli("--verbose")
    for name, value in loud.env.items():
        clean_env.setenv(name, value)
    boto3.client("bedrock").list_foundation_models(byProvider="meta")
    assert loud.stop() == 0
    assert "GET /foundation-models?byProvider=meta" in loud.stderr
    assert local.SECRET_ACCESS_KEY not in loud.stderr and local.API_KEY not in loud.stderr


@pytest.mark.parametrize("args,complaint", [
    (["--host", "0.0.0.0"], "--allow-remote"),
    (["--error-rate", "1.5"], "--error-rate"),
    (["--latency-ms", "-1"], "--latency-ms"),
    (["--throttle-rpm", "0"], "--throttle-rpm"),
    (["--quota-tpm", "0"], "--quota-tpm"),
    (["--mantle-output-tpm", "-5"], "--mantle-output-tpm"),
])
def test_bad_arguments_are_one_line_usage_errors(tmp_path, args, complaint):
    out = subprocess.run([sys.executable, "-m", "bedrock_magics.local", *args, "--state-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and not out.stdout
    assert complaint in out.stderr.splitlines()[-1] and "Traceback" not in out.stderr
