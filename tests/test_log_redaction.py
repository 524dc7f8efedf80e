"""Secrets never reach the cell output through the HTTP and AWS libraries' debug logging.

``boto3.set_stream_logger('')`` used to print the bearer key and the session token into the cell
(and so into the saved notebook). These tests turn every library's debug logging on, make real
calls on every route against the local service with sentinel credentials, and look for the
secrets in what was printed.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
from datetime import timedelta

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from bedrock_magics import logredact
from bedrock_magics.local import credentials

NOVA = "us.amazon.nova-lite-v1:0"
SESSION_TOKEN = "SENTINELSESSIONtokenFwoGZXIvYXdzEJr0000000000SENTINEL"
# A signature in clear (SigV4's header and botocore's "Signature:" debug line).
SIGNATURE = re.compile(r"Signature\W{0,4}[0-9a-f]{64}", re.IGNORECASE)


def _short_term_key(session_token: str | None) -> str:
    """A short-term Bedrock API key the local service accepts, made from the local credentials."""
    from aws_bedrock_token_generator import provide_token
    from botocore.credentials import Credentials

    creds = Credentials(credentials.ACCESS_KEY_ID, credentials.SECRET_ACCESS_KEY, session_token)

    class _Provider:
        def load(self):
            return creds

    return provide_token(region="us-east-1", aws_credentials_provider=_Provider(), expiry=timedelta(hours=1))


def _secrets(bearer: str) -> list[str]:
    secrets = [SESSION_TOKEN, bearer, bearer[len("bedrock-api-key-"):][:40], credentials.SECRET_ACCESS_KEY,
               credentials.API_KEY, credentials.API_KEY[4:40]]
    return [secret for secret in secrets if secret]


def _assert_no_secret(text: str, bearer: str) -> None:
    for secret in _secrets(bearer):
        assert secret not in text
    assert "bedrock-api-key-" not in text  # a short-term key is masked whole
    assert not SIGNATURE.search(text)


# -- in process --------------------------------------------------------------------------------------


@pytest.fixture
def debug_log(monkeypatch):
    """What ``boto3.set_stream_logger('')`` prints, captured; redaction installed as the extension does."""
    import boto3

    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)  # set_stream_logger's handler writes to sys.stderr
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    logredact.install()
    boto3.set_stream_logger("")  # a handler added after the redaction was installed
    yield stream
    logredact.uninstall()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def aws_env(local_service, monkeypatch):
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in local_service.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK")
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)


def test_sigv4_session_token_and_signature_are_masked_in_botocore_debug_logs(aws_env, debug_log):
    import boto3

    client = boto3.Session().client("bedrock-runtime", region_name="us-east-1")  # not the default session: its credentials are cached
    reply = client.converse(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "echo: hi"}]}])
    assert reply["output"]["message"]["content"][0]["text"] == "hi"
    printed = debug_log.getvalue()
    _assert_no_secret(printed, "")
    # The lines that held them are still there, masked: the log stays useful and this test can fail.
    assert "x-amz-security-token:****" in printed and "'X-Amz-Security-Token': b'****'" in printed
    assert "'Authorization': b'****'" in printed and "botocore.auth [DEBUG] Signature:\n****" in printed


def test_a_bearer_key_is_masked_and_the_previous_factory_comes_back_on_uninstall(aws_env, debug_log, monkeypatch):
    import boto3

    key = _short_term_key(SESSION_TOKEN)
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", key)
    client = boto3.Session().client("bedrock-runtime", region_name="us-east-1")  # not the default session: its credentials are cached
    client.converse(modelId=NOVA, messages=[{"role": "user", "content": [{"text": "echo: hi"}]}])
    printed = debug_log.getvalue()
    _assert_no_secret(printed, key)
    assert "'Authorization': b'****'" in printed

    factory = logging.getLogRecordFactory()
    logredact.uninstall()
    assert not logredact.installed() and logging.getLogRecordFactory() is not factory
    record = logging.getLogger("botocore.endpoint").makeRecord(
        "botocore.endpoint", logging.DEBUG, __file__, 1, "headers=%s", ({"Authorization": "Bearer " + key},), None)
    assert key in record.getMessage()  # unloaded: records are left alone
    logredact.install()


def test_records_keep_being_masked_when_another_factory_wraps_ours():
    logredact.install()
    ours = logging.getLogRecordFactory()

    def theirs(*args, **kwargs):
        record = ours(*args, **kwargs)
        record.wrapped = True
        return record

    logging.setLogRecordFactory(theirs)
    try:
        record = logging.getLogger("urllib3.connectionpool").makeRecord(
            "urllib3.connectionpool", logging.DEBUG, __file__, 1, "%s", ("Authorization: Bearer " + credentials.API_KEY,),
            None)
        assert record.getMessage() == "Authorization: ****" and record.wrapped
        logredact.uninstall()  # ours can't leave the chain: it stops masking instead
        record = logging.getLogger("urllib3").makeRecord("urllib3", logging.DEBUG, __file__, 1, "x-api-key: abc123456789",
                                                         (), None)
        assert record.getMessage() == "x-api-key: abc123456789"
    finally:
        logging.setLogRecordFactory(ours.previous)
        logredact.uninstall()


def test_tracebacks_in_log_records_are_masked_and_other_loggers_are_left_alone():
    logredact.install()
    try:
        try:
            raise RuntimeError(f"bad header Authorization: Bearer {credentials.API_KEY}")
        except RuntimeError:
            record = logging.getLogger("httpx").makeRecord("httpx", logging.ERROR, __file__, 1, "failed", (),
                                                           sys.exc_info())
        formatted = logging.Formatter().format(record)
        assert "RuntimeError: bad header Authorization: ****" in formatted and credentials.API_KEY not in formatted
        mine = logging.getLogger("myapp").makeRecord("myapp", logging.INFO, __file__, 1, "%s and %s", ("a", "b"), None)
        assert mine.args == ("a", "b")  # not ours to rewrite
    finally:
        logredact.uninstall()


# -- in a real kernel, on every route ---------------------------------------------------------------

pytest_kernel = pytest.mark.kernel

GPT = "openai.gpt-oss-120b-1:0"  # serves all six routes (Nova serves Converse and InvokeModel only)
ROUTES = [
    "%%bedrock a --no-stream\necho: converse",
    "%%bedrock b --stream\necho: converse stream",
    "%%bedrock c -a invoke --no-stream\necho: invoke",
    "%%bedrock d -a invoke --stream\necho: invoke stream",
    f"%%bedrock e -m {GPT} -a chat --no-stream\necho: runtime chat",
    f"%%bedrock f -m {GPT} -a responses --stream\necho: runtime responses stream",
    "%%bedrock g -m openai.gpt-oss-120b -e mantle -a responses --no-stream\necho: mantle responses",
    "%%bedrock h -m openai.gpt-oss-120b -e mantle -a chat --stream\necho: mantle chat stream",
    "%%bedrock t -m us.amazon.nova-lite-v1:0 -m us.amazon.nova-micro-v1:0\necho: compare",
    "%%bedrock est --df frame --dry-run\necho: {city}",
    "%%bedrock vec -m amazon.titan-embed-text-v2:0 --df frame --embed city --out v -q\n# the city column is embedded",
    "%bedrock models",
]


@pytest_kernel
def test_debug_logging_on_every_route_leaves_no_secret_in_the_saved_notebook(local_service, tmp_path):
    bearer = _short_term_key(SESSION_TOKEN)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BEDROCK_MAGICS_", "OPENAI_"))}
    env.update(local_service.env, BEDROCK_MAGICS_LEDGER=str(tmp_path / "ledger.sqlite"),
               IPYTHONDIR=str(tmp_path / "ipython"), AWS_EC2_METADATA_DISABLED="true", OPENAI_LOG="debug",
               AWS_SESSION_TOKEN=SESSION_TOKEN, SENTINEL_BEARER=bearer)
    del env["AWS_BEARER_TOKEN_BEDROCK"]  # first SigV4 with the session token, then the bearer key
    setup = ("import logging, os\nimport boto3, pandas as pd\n"
             "boto3.set_stream_logger('')\n"
             "for name in ('openai', 'httpx', 'httpcore', 'urllib3'):\n"
             "    logging.getLogger(name).setLevel(logging.DEBUG)\n"
             "frame = pd.DataFrame({'city': ['Lima', 'Oslo']})")
    cells = [setup, "%load_ext bedrock_magics", "%bedrock status", *ROUTES,
             "os.environ['AWS_BEARER_TOKEN_BEDROCK'] = os.environ.pop('SENTINEL_BEARER')", *ROUTES,
             "from bedrock_magics.magics import current\ncurrent().set_api_key(__import__('bedrock_magics.local.credentials')"
             ".local.credentials.API_KEY)",
             ROUTES[0], ROUTES[4], ROUTES[6],
             "%bedrock usage"]
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute(
        env=env)
    saved = nbformat.writes(nb)

    _assert_no_secret(saved, bearer)
    # Every call was answered and logged, so the secrets were there to leak.
    errors = [o for c in nb.cells for o in c.outputs if o["output_type"] == "error"]
    assert not errors, errors
    assert saved.count("botocore.endpoint [DEBUG] Sending http request") >= 12
    assert "x-amz-security-token:****" in saved  # SigV4 with the session token
    assert "'Authorization': b'****'" in saved  # the bearer key
    assert "openai._base_client" in saved and "HTTP Request: POST" in saved  # the openai SDK's and httpx's logs
    usage = nb.cells[-1].outputs[0]["data"]["text/html"]
    assert "<td>error</td>" not in usage and usage.count("<td>ok</td>") >= 2 * 8 + 3  # the single calls at least
