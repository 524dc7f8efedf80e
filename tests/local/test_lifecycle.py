"""Starting and stopping the local service: stop() releases every thread, socket and the S3 server.

Each test runs a service of its own (the session's shared one must keep running), drives it with
real clients — boto3 over HTTPS with keep-alive, boto3 on moto's S3, the openai SDK on mantle —
and checks what is left in this process once ``stop()`` returns.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import uuid

import boto3
import openai
import pytest

from bedrock_magics.local import LocalService
from bedrock_magics.local import credentials as local
from bedrock_magics.local import openai_api

ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
KEYS = {"aws_access_key_id": local.ACCESS_KEY_ID, "aws_secret_access_key": local.SECRET_ACCESS_KEY,
        "region_name": "us-east-1"}


def refuses(url: str) -> bool:
    """True when nothing listens any more at ``url``'s port."""
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def start_job(svc: LocalService) -> tuple[object, object, str]:
    """A batch job stuck in its first record (an hour per record): (S3 client, control client, ARN)."""
    s3 = boto3.client("s3", endpoint_url=svc.ensure_s3(), **KEYS)
    bucket = f"life-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    record = {"recordId": "1", "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20,
                                              "messages": [{"role": "user", "content": "echo: hi"}]}}
    s3.put_object(Bucket=bucket, Key="in/a.jsonl", Body=(json.dumps(record) + "\n").encode())
    svc.app.state["job_record_delay_s"] = 3600
    control = boto3.client("bedrock", endpoint_url=svc.url, verify=svc.ca_file, **KEYS)
    arn = control.create_model_invocation_job(
        jobName="lifecycle", roleArn=ROLE, modelId="anthropic.claude-3-haiku-20240307-v1:0",
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/in/"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/out/"}})["jobArn"]
    for _ in range(3000):  # a bound on the loop, not a timing assertion
        if control.get_model_invocation_job(jobIdentifier=arn)["status"] == "InProgress":
            return s3, control, arn
        time.sleep(0.01)
    pytest.fail("the job never reached InProgress")


def test_stop_leaves_no_thread_behind(tmp_path, monkeypatch):
    # The background response waits an hour in each step, so it is surely running when the test
    # looks; its waits are on the service's stopping event, so stop() still ends it at once.
    monkeypatch.setattr(openai_api, "BACKGROUND_STEPS", (3600.0, 3600.0))
    before = set(threading.enumerate())
    svc = LocalService(port=0, state_dir=str(tmp_path)).start()
    try:
        s3, control, arn = start_job(svc)
        mantle = openai.OpenAI(base_url=svc.endpoints["mantle"] + "/v1", api_key=local.API_KEY, max_retries=0,
                               http_client=openai.DefaultHttpx2Client(verify=ssl.create_default_context(cafile=svc.ca_file)))
        background = mantle.responses.create(model="openai.gpt-oss-120b", input="Work", background=True)
        assert background.status == "queued"
        s3_url = svc.ensure_s3()
        s3.list_buckets()
        # moto's S3 (werkzeug) closes each connection after its response, so boto3's leaves no thread
        # behind for long: a request left half-sent keeps one S3 connection thread open for stop().
        half_sent = socket.create_connection(("127.0.0.1", int(s3_url.rsplit(":", 1)[1])))
        half_sent.sendall(b"GET / HTTP/1.1\r\nHost: s3\r\n")
        deadline = time.monotonic() + 60  # waits for the server to accept it (bounded, not a timing guess)
        while not any(t.name.startswith("bedrock-local-s3-connection") for t in threading.enumerate()):
            assert time.monotonic() < deadline, "the S3 server never accepted the connection"
            time.sleep(0.01)
        # Everything this test must see stopped is running now: the job, the background response,
        # the keep-alive connections of the clients to the service and a connection to S3.
        names = {t.name for t in set(threading.enumerate()) - before}
        assert any(n.startswith("bedrock-job-") for n in names)
        assert f"bedrock-background-{background.id}" in names
        assert any(n.startswith("bedrock-local-connection") for n in names)
        assert any(n.startswith("bedrock-local-s3-connection") for n in names)
    finally:
        svc.stop()
    half_sent.close()

    assert [t.name for t in set(threading.enumerate()) - before] == []
    assert not svc.running and refuses(svc.url) and refuses(s3_url)
    # The job was stopped, not abandoned: it ended Stopped before the service let go of S3.
    (job,) = svc.app.state["jobs"].jobs.values()
    assert job.status == "Stopped" and job.arn == arn
    assert "AWS_ENDPOINT_URL_S3" not in svc.env
    svc.stop()  # a second stop is harmless


def test_a_stopped_service_starts_again_with_a_fresh_s3(tmp_path):
    svc = LocalService(port=0, state_dir=str(tmp_path))
    first_s3 = svc.ensure_s3()  # before start(): stop() must still stop it
    with svc:
        assert svc.s3_endpoint == first_s3  # the property is the same S3, not a second one
    assert refuses(first_s3)
    with svc:
        # Background work runs again after a restart: the stop event was reset.
        mantle = openai.OpenAI(base_url=svc.endpoints["mantle"] + "/v1", api_key=local.API_KEY, max_retries=0,
                               http_client=openai.DefaultHttpx2Client(verify=ssl.create_default_context(cafile=svc.ca_file)))
        rid = mantle.responses.create(model="openai.gpt-oss-120b", input="Again", background=True).id
        for worker in [t for t in threading.enumerate() if t.name == f"bedrock-background-{rid}"]:
            worker.join(timeout=30)
        assert mantle.responses.retrieve(rid).status == "completed"
        second_s3 = svc.ensure_s3()
    assert refuses(second_s3)
