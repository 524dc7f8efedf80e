"""The HTTP(S) server of the local Bedrock service: surfaces, routing, errors, concurrency, streaming."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from bedrock_magics.local import LocalService
from bedrock_magics.local import credentials as local
from bedrock_magics.local.http import CONTROL, MANTLE, RUNTIME, AwsError, Response, json_response

ONE_TRY = Config(retries={"total_max_attempts": 1})


def send(svc, method: str, path: str, body: bytes = b"", headers: dict | None = None, service: str | None = "bedrock",
         **kwargs):
    """One raw request (SigV4-signed by botocore unless ``service`` is None)."""
    req = AWSRequest(method=method, url=svc.url + path, data=body, headers=dict(headers or {}))
    if service:
        SigV4Auth(Credentials(local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY), service, "us-east-1").add_auth(req)
    pool = urllib3.PoolManager(ca_certs=svc.ca_file) if svc.tls else urllib3.PoolManager()
    prepared = req.prepare()
    return pool.request(method, prepared.url, body=body, headers=dict(prepared.headers), retries=False, **kwargs)


@pytest.fixture
def private_service(tmp_path):
    """A service of this test's own, free to get extra routes."""
    svc = LocalService(port=0, state_dir=str(tmp_path))
    svc.start()
    yield svc
    svc.stop()


# -- the Python API ---------------------------------------------------------------------------


def test_env_and_endpoints(local_service):
    env = local_service.env
    assert local_service.url.startswith("https://127.0.0.1:")
    assert local_service.endpoints == {"control": local_service.url, "runtime": local_service.url,
                                       "mantle": local_service.url + "/mantle"}
    assert env["AWS_ENDPOINT_URL_BEDROCK"] == env["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] == local_service.url
    assert env["AWS_ENDPOINT_URL_BEDROCK_MANTLE"] == local_service.url + "/mantle"
    assert env["AWS_ACCESS_KEY_ID"] == local.ACCESS_KEY_ID and env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_BEARER_TOKEN_BEDROCK"] == local.API_KEY
    assert env["AWS_CA_BUNDLE"] == env["SSL_CERT_FILE"] == local_service.ca_file
    with open(local_service.ca_file) as fh:
        assert fh.read().startswith("-----BEGIN CERTIFICATE-----")
    assert local.SECRET_ACCESS_KEY not in repr(local_service) + repr(local_service.faults)


def test_non_loopback_host_is_refused():
    with pytest.raises(ValueError, match="allow_remote"):
        LocalService(host="0.0.0.0")


def test_ca_survives_restarts(tmp_path):
    with LocalService(port=0, state_dir=str(tmp_path)) as first:
        ca_file = first.ca_file
        with open(ca_file, "rb") as fh:
            ca = fh.read()
    with LocalService(port=0, state_dir=str(tmp_path)) as second:
        assert second.ca_file == ca_file
        with open(second.ca_file, "rb") as fh:
            assert fh.read() == ca
        # The CA exported by the first run verifies the second run's certificate.
        ctx = ssl.create_default_context(cafile=ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", second.port, context=ctx)
        conn.request("GET", "/foundation-models")
        assert conn.getresponse().status == 403  # TLS fine; no credentials sent
        conn.close()


def test_plain_http_mode(tmp_path, monkeypatch):
    with LocalService(port=0, tls=False, state_dir=str(tmp_path)) as svc:
        assert svc.url.startswith("http://") and svc.ca_file is None
        assert not {"AWS_BEARER_TOKEN_BEDROCK", "AWS_CA_BUNDLE", "SSL_CERT_FILE"} & set(svc.env)
        for name in ("AWS_BEARER_TOKEN_BEDROCK", "AWS_CA_BUNDLE", "SSL_CERT_FILE", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        for name, value in svc.env.items():
            monkeypatch.setenv(name, value)
        models = boto3.client("bedrock", config=ONE_TRY).list_foundation_models()["modelSummaries"]
        assert len(models) >= 30


# -- routing and errors -----------------------------------------------------------------------


def test_unknown_aws_path_is_unknown_operation(local_service):
    resp = send(local_service, "GET", "/no-such-operation")
    assert resp.status == 404
    assert resp.headers["x-amzn-ErrorType"].startswith("UnknownOperationException:")
    assert "message" in json.loads(resp.data)
    wrong_method = send(local_service, "DELETE", "/foundation-models")
    assert wrong_method.status == 404
    assert wrong_method.headers["x-amzn-ErrorType"].startswith("UnknownOperationException:")


def test_unknown_openai_path_is_openai_404(local_service):
    resp = send(local_service, "GET", "/mantle/v1/no-such-thing", service="bedrock-mantle")
    assert resp.status == 404
    error = json.loads(resp.data)["error"]
    assert error["type"] == "invalid_request_error" and "/mantle/v1/no-such-thing" in error["message"]


def test_mantle_is_only_offered_in_its_regions(local_service):
    req = AWSRequest(method="GET", url=local_service.url + "/mantle/v1/models")
    SigV4Auth(Credentials(local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY), "bedrock-mantle", "eu-west-3").add_auth(req)
    prepared = req.prepare()
    resp = urllib3.PoolManager(ca_certs=local_service.ca_file).request("GET", prepared.url,
                                                                      headers=dict(prepared.headers))
    assert resp.status == 404
    assert "not available in eu-west-3" in json.loads(resp.data)["error"]["message"]


def test_handler_exception_is_500_and_server_keeps_serving(private_service, caplog):
    def broken(req):
        raise RuntimeError("handler bug")

    def aws_error_on_openai(req):
        raise AwsError("ThrottlingException", "Too many requests, please wait before trying again.")

    private_service.router.add(CONTROL, "GET", "/broken", broken)
    private_service.router.add(MANTLE, "GET", "/v1/broken", broken)
    private_service.router.add(MANTLE, "GET", "/v1/throttled", aws_error_on_openai)
    with caplog.at_level("ERROR", logger="bedrock_magics.local"):
        aws = send(private_service, "GET", "/broken")
    assert aws.status == 500 and aws.headers["x-amzn-ErrorType"].startswith("InternalServerException:")
    assert "handler bug" in caplog.text  # logged for the operator, not sent to the client
    assert "handler bug" not in aws.data.decode()
    openai_style = send(private_service, "GET", "/mantle/v1/broken", service="bedrock-mantle")
    assert openai_style.status == 500 and json.loads(openai_style.data)["error"]["type"] == "api_error"
    converted = send(private_service, "GET", "/mantle/v1/throttled", service="bedrock-mantle")
    assert converted.status == 429 and json.loads(converted.data)["error"]["code"] == "rate_limit_exceeded"
    assert send(private_service, "GET", "/foundation-models").status == 200


def test_mantle_prefix_is_stripped_for_routing_but_signed_raw(private_service):
    seen = {}

    def echo(req):
        seen.update(path=req.path, surface=req.surface, region=req.region, auth=req.auth)
        return json_response({"ok": True})

    private_service.router.add(MANTLE, "GET", "/v1/echo", echo)
    private_service.router.add(RUNTIME, "GET", "/openai/v1/echo", echo)
    assert send(private_service, "GET", "/mantle/v1/echo?x=%2F", service="bedrock-mantle").status == 200
    assert seen == {"path": "/v1/echo", "surface": MANTLE, "region": "us-east-1", "auth": "sigv4"}
    assert send(private_service, "GET", "/openai/v1/echo", service="bedrock").status == 200
    assert seen["surface"] == RUNTIME


def test_keep_alive_reuses_the_connection(local_service):
    ctx = ssl.create_default_context(cafile=local_service.ca_file)
    conn = http.client.HTTPSConnection("127.0.0.1", local_service.port, context=ctx)
    headers = {"Authorization": f"Bearer {local.API_KEY}"}
    conn.request("GET", "/foundation-models", headers=headers)
    first = conn.getresponse()
    assert first.status == 200 and first.getheader("Connection") != "close"
    first.read()
    sock = conn.sock
    conn.request("GET", "/inference-profiles", headers=headers)
    second = conn.getresponse()
    assert second.status == 200 and json.loads(second.read())["inferenceProfileSummaries"]
    assert conn.sock is sock  # same TCP connection, not a reconnect
    conn.close()


def test_chunked_request_body_is_read(local_service):
    ctx = ssl.create_default_context(cafile=local_service.ca_file)
    conn = http.client.HTTPSConnection("127.0.0.1", local_service.port, context=ctx)
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "echo: chunked"}]}]}).encode()
    conn.request("POST", "/model/amazon.nova-lite-v1%3A0/converse", body=iter([body[:10], body[10:]]),
                 headers={"Authorization": f"Bearer {local.API_KEY}", "Content-Type": "application/json"},
                 encode_chunked=True)
    resp = conn.getresponse()
    assert resp.status == 200
    assert json.loads(resp.read())["output"]["message"]["content"][0]["text"] == "chunked"
    conn.close()


# -- streaming --------------------------------------------------------------------------------


def test_streaming_body_is_flushed_chunk_by_chunk(private_service):
    client_has_first = threading.Event()

    def stream(req):
        def chunks():
            yield b"first"
            # Only reachable quickly if "first" reached the client before we went on.
            yield b"second" if client_has_first.wait(5) else b"not-flushed"
        return Response(200, chunks(), {"Content-Type": "application/octet-stream"})

    private_service.router.add(RUNTIME, "GET", "/model/{modelId}/stream-test", stream)
    resp = send(private_service, "GET", "/model/x/stream-test", preload_content=False)
    assert resp.headers["Transfer-Encoding"] == "chunked"
    pieces = resp.read_chunked()
    assert next(pieces) == b"first"
    client_has_first.set()
    assert list(pieces) == [b"second"]


def test_cut_stream_drops_the_connection_mid_chunk(private_service):
    def stream(req):
        return Response(200, iter([b"a" * 10, b"b" * 10, b"c" * 10, b"d" * 10]), {})

    private_service.router.add(RUNTIME, "GET", "/model/{modelId}/stream-test", stream)
    private_service.faults.set(model="cut-me", cut_stream_after=2)
    resp = send(private_service, "GET", "/model/cut-me/stream-test", preload_content=False)
    got = []
    with pytest.raises(urllib3.exceptions.ProtocolError):
        for piece in resp.read_chunked():
            got.append(piece)
    assert got[:2] == [b"a" * 10, b"b" * 10] and b"d" * 10 not in got
    # Other models stream in full.
    whole = send(private_service, "GET", "/model/other/stream-test")
    assert whole.data == b"a" * 10 + b"b" * 10 + b"c" * 10 + b"d" * 10


def test_stream_failing_before_its_first_chunk_is_a_proper_error(private_service):
    def lazy(req):
        def chunks():
            raise AwsError("ValidationException", "The provided model identifier is invalid.")
            yield b"never"  # noqa: unreachable - makes this a generator
        return Response(200, chunks(), {"Content-Type": "application/vnd.amazon.eventstream"})

    def breaks_midway(req):
        def chunks():
            yield b"one"
            raise RuntimeError("stream bug")
        return Response(200, chunks(), {})

    private_service.router.add(RUNTIME, "POST", "/model/{modelId}/lazy", lazy)
    private_service.router.add(RUNTIME, "POST", "/model/{modelId}/midway", breaks_midway)
    resp = send(private_service, "POST", "/model/x/lazy", b"{}")
    assert resp.status == 400 and resp.headers["x-amzn-ErrorType"].startswith("ValidationException:")
    broken = send(private_service, "POST", "/model/x/midway", b"{}", preload_content=False)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        list(broken.read_chunked())
    assert send(private_service, "GET", "/foundation-models").status == 200


# -- concurrency ------------------------------------------------------------------------------


def test_32_handlers_run_at_the_same_time(private_service):
    # Every handler waits until all 32 are inside: only a server that runs them in parallel passes.
    barrier = threading.Barrier(32, timeout=20)

    def gathering(req):
        return json_response({"arrived": barrier.wait()})

    private_service.router.add(RUNTIME, "GET", "/model/{modelId}/gather", gathering)
    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(lambda i: send(private_service, "GET", f"/model/m{i}/gather").status, range(32)))
    assert statuses == [200] * 32
    assert private_service.app.peak_in_flight == 32


def test_injected_latency_does_not_serialise_boto3_calls(local_service, local_env):
    client = boto3.client("bedrock", config=Config(max_pool_connections=32, retries={"total_max_attempts": 1}))
    call = lambda _: client.list_foundation_models(byProvider="cohere")["modelSummaries"]  # noqa: E731
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(call, range(32)))  # warm up: 32 pooled TLS connections
        # Long enough that even a loaded 2-core machine sends all 32 before the first one returns
        # (benchmarks/bench_local_service.py measures the 100 ms case).
        local_service.faults.set(latency_ms=300)
        local_service.app.reset_counters()
        results = list(pool.map(call, range(32)))
    assert all(results)
    assert local_service.app.requests_total == 32
    # Sleeping requests count as in flight: a serialising server would never hold more than one.
    assert local_service.app.peak_in_flight == 32


def test_env_shows_no_secret_when_displayed_but_exports_them(local_service):
    from bedrock_magics.local import credentials

    env = local_service.env
    assert credentials.SECRET_ACCESS_KEY not in repr(env) and credentials.API_KEY not in repr(env)
    assert env["AWS_SECRET_ACCESS_KEY"] == credentials.SECRET_ACCESS_KEY  # still what the export lines carry


def test_the_openai_bedrock_provider_needs_nothing_but_the_exported_environment(local_env):
    from openai import OpenAI
    from openai.providers import bedrock

    client = OpenAI(provider=bedrock(region="us-east-1"))  # base URL, key and CA all from the environment
    reply = client.responses.create(model="openai.gpt-oss-120b", input="echo: hello from the provider")
    assert reply.output_text == "hello from the provider"
