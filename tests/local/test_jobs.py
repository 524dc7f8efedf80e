"""Batch inference jobs end to end: real boto3 against the local service, S3 from moto's server.

Each test puts JSONL input into its own S3 bucket, creates a job with ``create_model_invocation_job``,
polls it with ``get_model_invocation_job`` until it ends, and reads what a user would read: the job's
status and counts, the ``.out`` files and ``manifest.json.out`` under ``{output}/{jobId}/``.
"""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"  # on demand in us-east-1: InvokeModel bodies
NOVA = "amazon.nova-micro-v1:0"
TERMINAL = {"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"}
# Statuses in the order a job may pass them (Stopping/Stopped may cut in anywhere before the end).
ORDER = ["Submitted", "Validating", "Scheduled", "InProgress"]



@pytest.fixture(params=["bearer", "sigv4"])
def control(request, local_env):
    """The control-plane client, once with the Bedrock API key (the env default), once with SigV4."""
    config = Config(signature_version="v4") if request.param == "sigv4" else None
    return boto3.client("bedrock", config=config)


@pytest.fixture
def sigv4(local_env):
    """A SigV4 control-plane client; the region comes from the signature (bearer keys fix it)."""
    def make(region: str = "us-east-1"):
        return boto3.client("bedrock", region_name=region, config=Config(signature_version="v4"))
    return make


@pytest.fixture
def job_delay(local_service):
    """Set the per-record delay of jobs for one test (restored afterwards)."""
    state = local_service.app.state
    before = state.get("job_record_delay_s")

    def set_delay(seconds: float) -> None:
        state["job_record_delay_s"] = seconds
    yield set_delay
    if before is None:
        state.pop("job_record_delay_s", None)
    else:
        state["job_record_delay_s"] = before


def claude_input(text: str) -> dict:
    return {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]}


def put_jsonl(s3, bucket: str, key: str, records: list) -> None:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    s3.put_object(Bucket=bucket, Key=key, Body=("\n".join(lines) + "\n").encode())


def read_jsonl(s3, bucket: str, key: str) -> list[dict]:
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def create(control, bucket: str, name: str | None = None, model: str = CLAUDE, **extra) -> str:
    return control.create_model_invocation_job(
        jobName=name or f"job-{uuid.uuid4().hex[:8]}", roleArn=ROLE, modelId=model,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/input/", "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/output/"}}, **extra)["jobArn"]


def wait(control, arn: str, until=TERMINAL) -> tuple[dict, list[str]]:
    """Poll the job until its status is in ``until``; the last answer and every status seen."""
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while True:
        job = control.get_model_invocation_job(jobIdentifier=arn)
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if job["status"] in until:
            return job, seen
        if time.monotonic() > deadline:
            pytest.fail(f"job {arn} still {job['status']} after 60 s (seen {seen})")
        time.sleep(0.02)


def job_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------------------------


def test_job_completes_and_writes_outputs_and_manifest(control, s3, bucket):
    put_jsonl(s3, bucket, "input/a.jsonl", [{"recordId": "A1", "modelInput": claude_input("echo: first")},
                                            {"recordId": "A2", "modelInput": claude_input("echo: second")}])
    put_jsonl(s3, bucket, "input/more/b.jsonl", [{"modelInput": claude_input("echo: unnamed")}])
    s3.put_object(Bucket=bucket, Key="input/notes.txt", Body=b"not a jsonl file: ignored")

    arn = create(control, bucket, timeoutDurationInHours=24)
    assert arn.startswith("arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/")
    assert len(job_id(arn)) == 12
    job, seen = wait(control, arn)

    assert job["status"] == "Completed", job.get("message")
    assert seen == [s for s in ORDER + ["Completed"] if s in seen]  # never backwards
    assert (job["totalRecordCount"], job["processedRecordCount"], job["successRecordCount"],
            job["errorRecordCount"]) == (3, 3, 3, 0)
    assert job["modelId"] == CLAUDE and job["roleArn"] == ROLE and job["timeoutDurationInHours"] == 24
    assert job["submitTime"] <= job["lastModifiedTime"] and job["endTime"] >= job["submitTime"]
    assert job["jobExpirationTime"] > job["submitTime"]
    assert job["inputDataConfig"]["s3InputDataConfig"]["s3Uri"] == f"s3://{bucket}/input/"

    folder = f"output/{job_id(arn)}/"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=folder)["Contents"]}
    assert keys == {folder + "a.jsonl.out", folder + "more/b.jsonl.out", folder + "manifest.json.out"}

    a = read_jsonl(s3, bucket, folder + "a.jsonl.out")
    assert [line["recordId"] for line in a] == ["A1", "A2"]
    assert a[0]["modelInput"] == claude_input("echo: first")
    assert a[0]["modelOutput"]["content"][0]["text"] == "first"
    assert a[1]["modelOutput"]["content"][0]["text"] == "second"
    (b,) = read_jsonl(s3, bucket, folder + "more/b.jsonl.out")
    assert b["recordId"]  # Bedrock names records that came without an id
    assert b["modelOutput"]["content"][0]["text"] == "unnamed"
    assert all("error" not in line for line in a + [b])

    (manifest,) = read_jsonl(s3, bucket, folder + "manifest.json.out")
    assert {k: manifest[k] for k in ("totalRecordCount", "processedRecordCount", "successRecordCount",
                                     "errorRecordCount")} == {"totalRecordCount": 3, "processedRecordCount": 3,
                                                              "successRecordCount": 3, "errorRecordCount": 0}
    usage = [line["modelOutput"]["usage"] for line in a + [b]]
    assert manifest["inputTokenCount"] == sum(u["input_tokens"] for u in usage) > 0
    assert manifest["outputTokenCount"] == sum(u["output_tokens"] for u in usage) > 0


def test_converse_jobs_take_converse_bodies(control, s3, bucket):
    put_jsonl(s3, bucket, "input/records.jsonl", [
        {"recordId": "c1", "modelInput": {"messages": [{"role": "user", "content": [{"text": "echo: via converse"}]}],
                                          "inferenceConfig": {"maxTokens": 100}}}])
    arn = create(control, bucket, model=NOVA, modelInvocationType="Converse")
    job, _ = wait(control, arn)
    assert job["status"] == "Completed", job.get("message")
    assert job["modelInvocationType"] == "Converse"
    (line,) = read_jsonl(s3, bucket, f"output/{job_id(arn)}/records.jsonl.out")
    assert line["modelOutput"]["output"]["message"]["content"][0]["text"] == "via converse"
    assert line["modelOutput"]["stopReason"] == "end_turn"


def test_bad_records_become_error_lines_and_the_job_partially_completes(control, s3, bucket):
    no_max_tokens = {k: v for k, v in claude_input("echo: broken").items() if k != "max_tokens"}
    put_jsonl(s3, bucket, "input/mixed.jsonl", [{"recordId": "ok", "modelInput": claude_input("echo: fine")},
                                                {"recordId": "bad", "modelInput": no_max_tokens}])
    arn = create(control, bucket)
    job, _ = wait(control, arn)

    assert job["status"] == "PartiallyCompleted"
    assert (job["processedRecordCount"], job["successRecordCount"], job["errorRecordCount"]) == (2, 1, 1)
    folder = f"output/{job_id(arn)}/"
    ok, bad = read_jsonl(s3, bucket, folder + "mixed.jsonl.out")
    assert ok["modelOutput"]["content"][0]["text"] == "fine"
    assert bad["recordId"] == "bad" and bad["modelInput"] == no_max_tokens and "modelOutput" not in bad
    assert bad["error"]["errorCode"] == 400
    assert "max_tokens" in bad["error"]["errorMessage"]
    (manifest,) = read_jsonl(s3, bucket, folder + "manifest.json.out")
    assert (manifest["successRecordCount"], manifest["errorRecordCount"]) == (1, 1)


def test_a_job_whose_every_record_fails_has_failed(control, s3, bucket):
    put_jsonl(s3, bucket, "input/bad.jsonl", [{"recordId": "x", "modelInput": {"messages": []}}])
    job, _ = wait(control, create(control, bucket))
    assert job["status"] == "Failed"
    assert job["errorRecordCount"] == 1 and job["successRecordCount"] == 0
    assert "failed" in job["message"]


def test_missing_or_malformed_input_fails_the_job_with_a_message(sigv4, s3, bucket):
    control = sigv4()
    job, seen = wait(control, create(control, bucket))
    assert job["status"] == "Failed" and "InProgress" not in seen
    assert f"s3://{bucket}/input/" in job["message"]

    put_jsonl(s3, bucket, "input/broken.jsonl", [{"recordId": "1", "modelInput": claude_input("hi")}, "{not json"])
    job, _ = wait(control, create(control, bucket))
    assert job["status"] == "Failed"
    assert "broken.jsonl" in job["message"] and "line 2" in job["message"]


def test_stop_a_running_job(sigv4, s3, bucket, job_delay):
    control = sigv4()
    # An hour per record: the job cannot finish by itself, and only a stop that interrupts the
    # pause at once ends it within wait()'s 60 s bound.
    job_delay(3600)
    put_jsonl(s3, bucket, "input/many.jsonl",
              [{"recordId": f"r{i}", "modelInput": claude_input(f"echo: {i}")} for i in range(5)])
    arn = create(control, bucket)
    assert wait(control, arn, until={"InProgress"} | TERMINAL)[0]["status"] == "InProgress"

    assert control.stop_model_invocation_job(jobIdentifier=job_id(arn))["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert control.get_model_invocation_job(jobIdentifier=arn)["status"] in {"Stopping", "Stopped"}
    job, _ = wait(control, arn)

    assert job["status"] == "Stopped" and "endTime" in job
    processed = job["processedRecordCount"]
    assert job["totalRecordCount"] == 5 and processed < 5
    folder = f"output/{job_id(arn)}/"
    (manifest,) = read_jsonl(s3, bucket, folder + "manifest.json.out")
    assert manifest["processedRecordCount"] == processed
    if processed:
        assert len(read_jsonl(s3, bucket, folder + "many.jsonl.out")) == processed
    with pytest.raises(ClientError) as exc:
        control.stop_model_invocation_job(jobIdentifier=arn)
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_list_jobs_filters_sorts_and_paginates(control, s3, bucket):
    put_jsonl(s3, bucket, "input/one.jsonl", [{"recordId": "1", "modelInput": claude_input("echo: x")}])
    tag = uuid.uuid4().hex[:8]
    arns = [create(control, bucket, name=f"list-{tag}-{i}") for i in range(3)]
    finished = [wait(control, arn)[0] for arn in arns]

    paginator = control.get_paginator("list_model_invocation_jobs")
    pages = list(paginator.paginate(nameContains=tag, sortOrder="Ascending", PaginationConfig={"PageSize": 1}))
    assert [len(p["invocationJobSummaries"]) for p in pages] == [1, 1, 1]
    assert [p["invocationJobSummaries"][0]["jobArn"] for p in pages] == arns
    assert "nextToken" not in pages[-1]

    newest_first = control.list_model_invocation_jobs(nameContains=tag)["invocationJobSummaries"]
    assert [j["jobName"] for j in newest_first] == [f"list-{tag}-{i}" for i in (2, 1, 0)]
    summary = newest_first[-1]
    assert summary["status"] == "Completed" and summary["successRecordCount"] == 1
    assert summary["submitTime"] == finished[0]["submitTime"]

    after = control.list_model_invocation_jobs(nameContains=tag, submitTimeAfter=finished[0]["submitTime"])
    assert {j["jobArn"] for j in after["invocationJobSummaries"]} == set(arns[1:])
    before = control.list_model_invocation_jobs(nameContains=tag, submitTimeBefore=finished[1]["submitTime"])
    assert [j["jobArn"] for j in before["invocationJobSummaries"]] == arns[:1]
    assert control.list_model_invocation_jobs(nameContains=tag, statusEquals="Failed")["invocationJobSummaries"] == []
    assert len(control.list_model_invocation_jobs(nameContains=tag, statusEquals="Completed")
               ["invocationJobSummaries"]) == 3

    with pytest.raises(ClientError) as exc:
        control.list_model_invocation_jobs(nextToken="not-a-token")
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_get_by_id_or_arn_and_only_in_its_region(sigv4, s3, bucket):
    put_jsonl(s3, bucket, "input/one.jsonl", [{"recordId": "1", "modelInput": claude_input("echo: x")}])
    control = sigv4()
    arn = create(control, bucket)
    assert control.get_model_invocation_job(jobIdentifier=job_id(arn))["jobArn"] == arn
    assert control.get_model_invocation_job(jobIdentifier=arn)["jobArn"] == arn
    wait(control, arn)

    with pytest.raises(ClientError) as exc:
        sigv4("us-west-2").get_model_invocation_job(jobIdentifier=job_id(arn))
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        control.get_model_invocation_job(jobIdentifier="abcdefabcdef")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as exc:
        control.get_model_invocation_job(jobIdentifier="Not-A-Job-Id")
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_client_request_token_makes_create_idempotent_and_names_are_unique(control, s3, bucket):
    put_jsonl(s3, bucket, "input/one.jsonl", [{"recordId": "1", "modelInput": claude_input("echo: x")}])
    name, token = f"idem-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    first = create(control, bucket, name=name, clientRequestToken=token)
    assert create(control, bucket, name=name, clientRequestToken=token) == first
    assert control.get_model_invocation_job(jobIdentifier=first)["clientRequestToken"] == token
    listed = control.list_model_invocation_jobs(nameContains=name)["invocationJobSummaries"]
    assert [j["jobArn"] for j in listed] == [first]

    with pytest.raises(ClientError) as exc:
        create(control, bucket, name=name)  # a new token: a second job by the same name
    assert exc.value.response["Error"]["Code"] == "ConflictException"
    assert "name" in exc.value.response["Error"]["Message"]
    wait(control, first)


@pytest.mark.parametrize("change, code, text", [
    ({"roleArn": "not-a-role"}, "ValidationException", "roleArn"),
    ({"modelId": "acme.no-such-model-v1:0"}, "ValidationException", "model identifier is invalid"),
    ({"timeoutDurationInHours": 169}, "ValidationException", "less than or equal to 168"),
    ({"jobName": "bad name!"}, "ValidationException", "jobName"),
    ({"modelId": "amazon.titan-embed-text-v2:0", "modelInvocationType": "Converse"}, "ValidationException",
     "Converse"),
    ({"inputDataConfig": {"s3InputDataConfig": {"s3Uri": "https://bucket/x"}}}, "ValidationException",
     "inputDataConfig.s3InputDataConfig.s3Uri"),
])
def test_create_rejects_invalid_requests(sigv4, change, code, text):
    request = dict(jobName="valid-name", roleArn=ROLE, modelId=CLAUDE,
                   inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://some-bucket/in/"}},
                   outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://some-bucket/out/"}})
    with pytest.raises(ClientError) as exc:
        sigv4().create_model_invocation_job(**{**request, **change})
    assert exc.value.response["Error"]["Code"] == code
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert text in exc.value.response["Error"]["Message"]
