"""The local service refuses what Bedrock refuses, before it costs anything: malformed numbers, JSON
nested too deep, bytes that are not HTTP, bodies over the limit and unauthenticated uploads.

Each refusal is driven by the real client that would send it (boto3, the openai SDK) where that
client can send it at all; what no SDK sends (NaN through the openai SDK, garbage on the port, a
body held back by ``Expect: 100-continue``) goes over a raw socket or urllib3.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import threading
import urllib.parse

import boto3
import openai
import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from bedrock_magics.local import credentials as local
from bedrock_magics.local.http import MAX_JSON_DEPTH

MODEL = "amazon.nova-micro-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
HELLO = [{"role": "user", "content": [{"text": "Hello"}]}]
ONE_TRY = Config(retries={"total_max_attempts": 1}, read_timeout=60)
MB = 1024 * 1024


@pytest.fixture
def runtime(local_env):
    return boto3.client("bedrock-runtime", config=ONE_TRY)


def nested(depth: int) -> object:
    """A JSON value whose arrays nest ``depth`` deep."""
    value: object = "deep"
    for _ in range(depth):
        value = [value]
    return value


def signed(svc, path: str, body: bytes, service: str = "bedrock") -> urllib3.BaseHTTPResponse:
    """A raw POST signed with SigV4 the way botocore signs (for bodies no SDK would serialize)."""
    req = AWSRequest(method="POST", url=svc.url + path, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY), service, "us-east-1").add_auth(req)
    prepared = req.prepare()
    pool = urllib3.PoolManager(ca_certs=svc.ca_file)
    return pool.request("POST", prepared.url, body=body, headers=dict(prepared.headers), retries=False)


def raw_exchange(svc, data: bytes, send_after_headers: bytes = b"") -> tuple[str, dict, bytes]:
    """Send ``data`` over a fresh TLS connection and read one response: (status line, headers, body).

    The read waits on the server's answer (a socket timeout only turns a hang into a failure)."""
    context = ssl.create_default_context(cafile=svc.ca_file)
    with socket.create_connection((svc.host, svc.port), timeout=30) as raw:
        with context.wrap_socket(raw, server_hostname=svc.host) as conn:
            conn.sendall(data)
            stream = conn.makefile("rb")
            status = stream.readline().decode().strip()
            headers = {}
            while (line := stream.readline().decode()) not in ("\r\n", ""):
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if status.split()[1] == "100":  # told to go on: send the body and read the real answer
                conn.sendall(send_after_headers)
                return (status, headers, b"") if not send_after_headers else _read_rest(stream)
            body = stream.read(int(headers.get("content-length", 0)))
            return status, headers, body


def _read_rest(stream) -> tuple[str, dict, bytes]:
    status = stream.readline().decode().strip()
    headers = {}
    while (line := stream.readline().decode()) not in ("\r\n", ""):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, stream.read(int(headers.get("content-length", 0)))


# -- numbers and nesting -------------------------------------------------------------------------------


def test_nan_and_infinity_are_refused_on_converse(runtime, local_service):
    # boto3 sends a float NaN as the string "NaN" (Smithy's spelling): not a temperature in [0, 1].
    for value in (float("nan"), float("inf")):
        with pytest.raises(ClientError) as exc:
            runtime.converse(modelId=MODEL, messages=HELLO, inferenceConfig={"temperature": value})
        error = exc.value.response
        assert error["Error"]["Code"] == "ValidationException"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "at 'inferenceConfig.temperature' failed to satisfy constraint" in error["Error"]["Message"]
    # The bare tokens, as Python's json.dumps writes them, are not JSON at all.
    for token in ("NaN", "Infinity", "-Infinity"):
        body = ('{"messages": [{"role": "user", "content": [{"text": "Hi"}]}], "inferenceConfig": {"temperature": %s}}'
                % token).encode()
        reply = signed(local_service, f"/model/{MODEL}/converse", body)
        assert reply.status == 400 and reply.headers["x-amzn-ErrorType"].startswith("ValidationException")
        assert "NaN and Infinity are not JSON numbers" in json.loads(reply.data)["message"]


def test_nan_is_refused_in_an_invoke_model_body(runtime):
    body = '{"anthropic_version": "bedrock-2023-05-31", "max_tokens": NaN, "messages": [{"role": "user", "content": "Hi"}]}'
    with pytest.raises(ClientError) as exc:
        runtime.invoke_model(modelId=HAIKU, body=body)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert exc.value.response["Error"]["Message"].startswith("Malformed input request")


def test_nan_is_refused_on_the_openai_routes(local_service):
    # The openai SDK refuses to serialize NaN itself, so the body goes over urllib3 with the API key.
    pool = urllib3.PoolManager(ca_certs=local_service.ca_file)
    for path, model in (("/mantle/v1/chat/completions", "openai.gpt-oss-120b"),
                        ("/openai/v1/chat/completions", "openai.gpt-oss-120b-1:0")):
        body = ('{"model": "%s", "temperature": Infinity, "messages": [{"role": "user", "content": "Hi"}]}'
                % model).encode()
        reply = pool.request("POST", local_service.url + path, body=body, retries=False,
                             headers={"Authorization": f"Bearer {local.API_KEY}", "Content-Type": "application/json"})
        error = json.loads(reply.data)["error"]
        assert reply.status == 400 and error["code"] == "validation_error"
        assert "NaN and Infinity" in error["message"]


def test_json_nested_too_deep_is_a_400_not_a_500(runtime, local_service):
    # Just over the limit, through boto3 (a tool's input schema is a free JSON document).
    schema = {"type": "object", "properties": {"x": nested(MAX_JSON_DEPTH)}}
    tools = {"tools": [{"toolSpec": {"name": "deep", "inputSchema": {"json": schema}}}]}
    with pytest.raises(ClientError) as exc:
        runtime.converse(modelId=MODEL, messages=HELLO, toolConfig=tools)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "nested too deeply" in exc.value.response["Error"]["Message"]
    # Far beyond Python's recursion limit (no SDK serializes that deep: a raw signed request).
    deep = ('{"messages": %s, "additionalModelRequestFields": %s"deep"%s}'
            % (json.dumps(HELLO), "[" * 50_000, "]" * 50_000)).encode()
    reply = signed(local_service, f"/model/{MODEL}/converse", deep)
    assert reply.status == 400 and reply.headers["x-amzn-ErrorType"].startswith("ValidationException")
    assert "nested too deeply" in json.loads(reply.data)["message"]
    # The service is unharmed and a sane depth still works.
    shallow = {"tools": [{"toolSpec": {"name": "fine", "inputSchema": {"json": {"type": "object"}}}}]}
    assert runtime.converse(modelId=MODEL, messages=HELLO, toolConfig=shallow)["stopReason"] == "end_turn"


def test_json_nested_too_deep_on_mantle_with_the_openai_sdk(local_env, local_service):
    client = openai.OpenAI(base_url=local_service.endpoints["mantle"] + "/v1", api_key=local.API_KEY, max_retries=0)
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="openai.gpt-oss-120b", messages=[{"role": "user", "content": "Hi"}],
                                       extra_body={"metadata_deep": nested(MAX_JSON_DEPTH + 5)})
    assert exc.value.status_code == 400 and "nested too deeply" in exc.value.message


# -- garbage on the port ------------------------------------------------------------------------------


@pytest.mark.parametrize("garbage", [b"\x00\x01\x02 not http at all\r\n\r\n", b"GET\r\n\r\n",
                                     b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", b"GET / HTTP/7.0\r\n\r\n"])
def test_garbage_on_the_port_gets_an_aws_error_not_an_html_page(local_service, garbage):
    status, headers, body = raw_exchange(local_service, garbage)
    code = int(status.split()[1])
    assert status.startswith("HTTP/1.1 ") and 400 <= code < 600
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    assert re.match(r"(ValidationException|UnknownOperationException):", headers["x-amzn-errortype"])
    assert b"<html" not in body.lower() and json.loads(body)["message"]


# -- body limits and unauthenticated uploads -----------------------------------------------------------


def test_an_invoke_body_over_botocores_limit_is_refused(runtime):
    import botocore.session

    limit = (botocore.session.get_session().get_service_model("bedrock-runtime")
             .operation_model("InvokeModel").input_shape.members["body"].metadata["max"])
    with pytest.raises(ClientError) as exc:
        runtime.invoke_model(modelId=HAIKU, body=b"x" * (limit + 1))
    error = exc.value.response
    assert error["Error"]["Code"] == "ValidationException" and error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert f"Member must have length less than or equal to {limit}" in error["Error"]["Message"]


def test_an_oversized_body_is_refused_from_its_content_length_before_it_is_sent(local_service):
    # Only the headers go out; the answer comes anyway, so the server never waited for the body.
    request = (f"POST /model/{HAIKU}/invoke HTTP/1.1\r\nHost: {local_service.host}\r\n"
               f"Authorization: Bearer {local.API_KEY}\r\nContent-Length: {30 * MB}\r\n\r\n").encode()
    status, headers, body = raw_exchange(local_service, request)
    assert status.split()[1] == "400" and headers["connection"] == "close"
    assert "less than or equal to 25000000" in json.loads(body)["message"]


def test_an_unauthenticated_request_is_refused_before_its_body_is_read(local_service):
    request = (f"POST /model/{MODEL}/converse HTTP/1.1\r\nHost: {local_service.host}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {60 * MB}\r\n\r\n").encode()
    status, headers, body = raw_exchange(local_service, request)  # no body sent: the answer is already due
    assert status.split()[1] == "403" and headers["x-amzn-errortype"].startswith("AccessDeniedException")
    assert json.loads(body) == {"Message": "Authorization header is missing"}


def test_an_unknown_access_key_is_refused_and_boto3_reads_the_error_while_uploading(local_env):
    client = boto3.client("bedrock-runtime", aws_access_key_id="AKIAUNKNOWNKEY000000", aws_secret_access_key="x",
                          config=Config(signature_version="v4", retries={"total_max_attempts": 1}))
    big = [{"role": "user", "content": [{"text": "word " * (4 * MB)}]}]  # a 20 MB body
    with pytest.raises(ClientError) as exc:
        client.converse(modelId=MODEL, messages=big)
    assert exc.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_expect_100_continue_is_answered_only_for_an_authenticated_request(local_service):
    payload = json.dumps({"messages": [{"role": "user", "content": [{"text": "echo: sent after 100"}]}]}).encode()
    head = (f"POST /model/{MODEL}/converse HTTP/1.1\r\nHost: {local_service.host}\r\nExpect: 100-continue\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n")
    refused, _, body = raw_exchange(local_service, (head + "\r\n").encode())
    assert refused.split()[1] == "403"  # no "100 Continue": the body is never asked for
    status, _, body = raw_exchange(local_service, (head + f"Authorization: Bearer {local.API_KEY}\r\n\r\n").encode(),
                                   send_after_headers=payload)
    assert status.split()[1] == "200"
    assert json.loads(body)["output"]["message"]["content"][0]["text"] == "sent after 100"


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the server's peak RSS from /proc")
def test_eight_unauthenticated_60_mb_uploads_do_not_grow_the_server(tmp_path):
    # The service in a process of its own, so its peak resident memory (VmHWM) is its alone.
    proc = subprocess.Popen([sys.executable, "-m", "bedrock_magics.local", "--port", "0", "--http",
                             "--state-dir", str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        url = next(shlex.split(line)[1].partition("=")[2] for line in proc.stdout  # type: ignore[union-attr]
                   if line.startswith("export AWS_ENDPOINT_URL_BEDROCK_RUNTIME="))
        host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
        before = _peak_rss_mb(proc.pid)
        answers: list[bytes] = []

        def upload() -> None:
            with socket.create_connection((host, port), timeout=60) as conn:
                conn.sendall((f"POST /model/{MODEL}/converse HTTP/1.1\r\nHost: {host}\r\n"
                              f"Content-Length: {60 * MB}\r\n\r\n").encode())
                chunk = b"x" * MB
                try:
                    for _ in range(60):
                        conn.sendall(chunk)
                except OSError:
                    pass  # the server may close once it has answered and drained enough
                answers.append(conn.recv(200))

        threads = [threading.Thread(target=upload) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        grown = _peak_rss_mb(proc.pid) - before
        assert all(a.startswith(b"HTTP/1.1 403") for a in answers), answers
        assert grown < 30, f"the server's peak RSS grew by {grown:.0f} MB for 8 refused uploads"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)


# -- requestMetadata -----------------------------------------------------------------------------------


def _metadata_shape():
    import botocore.session

    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return model.operation_model("Converse").input_shape.members["requestMetadata"]


def test_request_metadata_limits_are_botocores(runtime):
    shape = _metadata_shape()
    high = shape.metadata["max"]
    key_max, value_max = shape.key.metadata["max"], shape.value.metadata["max"]
    key_pattern, value_pattern = shape.key.metadata["pattern"], shape.value.metadata["pattern"]

    def refused(metadata: dict) -> str:
        with pytest.raises(ClientError) as exc:
            runtime.converse(modelId=MODEL, messages=HELLO, requestMetadata=metadata)
        error = exc.value.response
        assert error["Error"]["Code"] == "ValidationException" and error["ResponseMetadata"]["HTTPStatusCode"] == 400
        message = error["Error"]["Message"]
        assert message.startswith("1 validation error detected: Value at 'requestMetadata' failed to satisfy")
        assert "s3cr3t" not in message  # the map is sensitive: never echoed
        return message

    fine = {f"k{i}": "s3cr3t" for i in range(high)}
    assert runtime.converse(modelId=MODEL, messages=HELLO, requestMetadata=fine)["stopReason"] == "end_turn"
    assert f"Member must have length less than or equal to {high}" in refused({**fine, "one-more": "s3cr3t"})
    assert f"pattern: {key_pattern}]" in refused({"no!bang": "s3cr3t"})
    assert f"pattern: {key_pattern}]" in refused({"k" * (key_max + 1): "s3cr3t"})
    assert f"pattern: {value_pattern}]" in refused({"team": "s3cr3t" + "v" * value_max})
    assert f"pattern: {value_pattern}]" in refused({"team": "s3cr3t|pipe"})
    assert runtime.converse(modelId=MODEL, messages=HELLO, requestMetadata={"team": ""})  # values may be empty


def test_empty_request_metadata_is_refused(runtime):
    # botocore checks no map's minimum size itself: the empty map reaches the service.
    with pytest.raises(ClientError) as exc:
        runtime.converse(modelId=MODEL, messages=HELLO, requestMetadata={})
    assert exc.value.response["Error"]["Message"] == (
        "1 validation error detected: Value at 'requestMetadata' failed to satisfy constraint: Member must have "
        f"length greater than or equal to {_metadata_shape().metadata['min']}")
