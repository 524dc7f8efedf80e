"""The real aws CLI (v1, a subprocess) against the local service, configured only by environment.

The CLI gets the variables ``local_service.env`` exports (what ``python -m bedrock_magics.local``
prints) and nothing from ``~/.aws``. Two authentication modes, as a user would set them up:

* ``sigv4``  — the documented local access key and secret, no API key in the environment;
* ``bearer`` — only ``AWS_BEARER_TOKEN_BEDROCK`` (the local long-term API key), no access key.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from bedrock_magics.local import credentials

AWS = str(Path(sys.executable).with_name("aws"))
ECHO = [{"role": "user", "content": [{"text": "echo: hello from the cli"}]}]
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
SECRETS = (credentials.SECRET_ACCESS_KEY, credentials.API_KEY)

pytestmark = pytest.mark.skipif(not Path(AWS).exists(), reason="the aws CLI is not installed in this environment")


@pytest.fixture(scope="module")
def base_env(local_service, s3_endpoint, tmp_path_factory):
    """The process environment minus any AWS settings, plus the service's exports."""
    home = tmp_path_factory.mktemp("aws-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(local_service.env)
    env.update(AWS_CONFIG_FILE=str(home / "config"), AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
               AWS_ENDPOINT_URL_S3=s3_endpoint, AWS_PAGER="")
    return env


def mode_env(base: dict, mode: str) -> dict:
    env = dict(base)
    if mode == "sigv4":
        env.pop("AWS_BEARER_TOKEN_BEDROCK", None)
    else:
        env.pop("AWS_ACCESS_KEY_ID", None)
        env.pop("AWS_SECRET_ACCESS_KEY", None)
    return env


@pytest.fixture(params=["sigv4", "bearer"])
def env(request, base_env, local_service):
    return mode_env(base_env, request.param)


def run(env: dict, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([AWS, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)
    for secret in SECRETS:  # never echoed back, in success or failure
        assert secret not in proc.stdout and secret not in proc.stderr
    return proc


def aws(env: dict, *args: str, cwd: Path | None = None) -> dict:
    """Run ``aws ARGS --output json``; its parsed stdout (the command must succeed)."""
    proc = run(env, *args, "--output", "json", cwd=cwd)
    assert proc.returncode == 0, f"aws {' '.join(args)} exited {proc.returncode}: {proc.stderr}"
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


# ---------------------------------------------------------------------------------------------


def test_list_foundation_models_by_provider(env):
    models = aws(env, "bedrock", "list-foundation-models", "--by-provider", "anthropic")["modelSummaries"]
    assert models and {m["providerName"] for m in models} == {"Anthropic"}
    assert CLAUDE in {m["modelId"] for m in models}
    embeddings = aws(env, "bedrock", "list-foundation-models", "--by-output-modality", "EMBEDDING")["modelSummaries"]
    assert embeddings and all(m["outputModalities"] == ["EMBEDDING"] for m in embeddings)


def test_get_foundation_model(env):
    details = aws(env, "bedrock", "get-foundation-model", "--model-identifier", CLAUDE)["modelDetails"]
    assert details["modelId"] == CLAUDE
    assert details["modelArn"] == f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE}"
    proc = run(env, "bedrock", "get-foundation-model", "--model-identifier", "acme.no-such-model-v1:0")
    assert proc.returncode in (254, 255)
    assert "ResourceNotFoundException" in proc.stderr


def test_list_inference_profiles_paginates(env):
    everything = aws(env, "bedrock", "list-inference-profiles")["inferenceProfileSummaries"]
    assert len(everything) > 5
    # Small pages: the CLI follows nextToken itself and must see the same profiles.
    small_pages = aws(env, "bedrock", "list-inference-profiles", "--page-size", "2")["inferenceProfileSummaries"]
    assert [p["inferenceProfileId"] for p in small_pages] == [p["inferenceProfileId"] for p in everything]
    first = aws(env, "bedrock", "list-inference-profiles", "--max-items", "3")
    assert len(first["inferenceProfileSummaries"]) == 3 and first["NextToken"]
    rest = aws(env, "bedrock", "list-inference-profiles", "--starting-token", first["NextToken"])
    ids = [p["inferenceProfileId"] for p in first["inferenceProfileSummaries"] + rest["inferenceProfileSummaries"]]
    assert ids == [p["inferenceProfileId"] for p in everything]


def test_converse(env):
    out = aws(env, "bedrock-runtime", "converse", "--model-id", "us.amazon.nova-micro-v1:0",
              "--messages", json.dumps(ECHO), "--inference-config", '{"maxTokens": 50}')
    assert out["output"]["message"]["content"][0]["text"] == "hello from the cli"
    assert out["stopReason"] == "end_turn"
    assert out["usage"]["totalTokens"] == out["usage"]["inputTokens"] + out["usage"]["outputTokens"]


def test_invoke_model_with_body_file_and_outfile(env, tmp_path):
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "echo: from a file"}]}]}
    (tmp_path / "body.json").write_text(json.dumps(body))
    meta = aws(env, "bedrock-runtime", "invoke-model", "--model-id", CLAUDE, "--body", "fileb://body.json",
               "--content-type", "application/json", "--accept", "application/json", "answer.json", cwd=tmp_path)
    assert meta["contentType"] == "application/json"
    answer = json.loads((tmp_path / "answer.json").read_text())
    assert answer["content"][0]["text"] == "from a file"
    assert answer["role"] == "assistant" and answer["stop_reason"] == "end_turn"


def test_count_tokens(env):
    request = {"converse": {"messages": ECHO}}
    counted = aws(env, "bedrock-runtime", "count-tokens", "--model-id", CLAUDE, "--input", json.dumps(request))
    conversed = aws(env, "bedrock-runtime", "converse", "--model-id", CLAUDE, "--messages", json.dumps(ECHO))
    assert counted["inputTokens"] == conversed["usage"]["inputTokens"] > 0


def test_a_wrong_secret_is_refused_with_invalid_signature(base_env):
    env = mode_env(base_env, "sigv4")
    env["AWS_SECRET_ACCESS_KEY"] = "not/the/local/secret/at/all0000000000000"
    proc = run(env, "bedrock", "list-foundation-models")
    assert proc.returncode in (254, 255)
    assert "InvalidSignatureException" in proc.stderr
    assert "The request signature we calculated does not match the signature you provided" in proc.stderr
    assert env["AWS_SECRET_ACCESS_KEY"] not in proc.stderr


def test_an_unknown_access_key_and_a_wrong_api_key_are_refused(base_env):
    env = mode_env(base_env, "sigv4")
    env["AWS_ACCESS_KEY_ID"] = "AKIAUNKNOWNKEY000000"
    proc = run(env, "bedrock-runtime", "converse", "--model-id", CLAUDE, "--messages", json.dumps(ECHO))
    assert proc.returncode in (254, 255) and "UnrecognizedClientException" in proc.stderr

    env = mode_env(base_env, "bearer")
    env["AWS_BEARER_TOKEN_BEDROCK"] = "ABSK" + "x" * 40
    proc = run(env, "bedrock-runtime", "converse", "--model-id", CLAUDE, "--messages", json.dumps(ECHO))
    assert proc.returncode in (254, 255) and "AccessDeniedException" in proc.stderr
    assert env["AWS_BEARER_TOKEN_BEDROCK"] not in proc.stderr


def test_batch_job_with_the_cli_and_s3(base_env, tmp_path):
    """The whole exported environment, as pasted into a shell: S3 signs SigV4, Bedrock uses the key."""
    env = base_env
    bucket = f"cli-{uuid.uuid4().hex[:12]}"
    records = [{"recordId": "r1", "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50,
                                                 "messages": [{"role": "user", "content": "echo: batched"}]}}]
    (tmp_path / "records.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert run(env, "s3", "mb", f"s3://{bucket}").returncode == 0
    assert run(env, "s3", "cp", "records.jsonl", f"s3://{bucket}/in/records.jsonl", cwd=tmp_path).returncode == 0

    arn = aws(env, "bedrock", "create-model-invocation-job", "--job-name", f"cli-{uuid.uuid4().hex[:8]}",
              "--role-arn", "arn:aws:iam::123456789012:role/batch", "--model-id", CLAUDE,
              "--input-data-config", json.dumps({"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/in/"}}),
              "--output-data-config", json.dumps({"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/out/"}}))["jobArn"]
    deadline = time.monotonic() + 60
    while (job := aws(env, "bedrock", "get-model-invocation-job", "--job-identifier", arn))["status"] not in (
            "Completed", "PartiallyCompleted", "Failed", "Stopped"):
        assert time.monotonic() < deadline, f"the job is still {job['status']}"
        time.sleep(0.1)
    assert job["status"] == "Completed" and job["successRecordCount"] == 1

    listed = aws(env, "bedrock", "list-model-invocation-jobs", "--name-contains", job["jobName"])
    assert [j["jobArn"] for j in listed["invocationJobSummaries"]] == [arn]
    key = f"s3://{bucket}/out/{arn.rsplit('/', 1)[-1]}/records.jsonl.out"
    out = run(env, "s3", "cp", key, "-")
    assert out.returncode == 0, out.stderr
    (line,) = [json.loads(x) for x in out.stdout.splitlines() if x.strip()]
    assert line["recordId"] == "r1" and line["modelOutput"]["content"][0]["text"] == "batched"

    proc = run(env, "bedrock", "stop-model-invocation-job", "--job-identifier", arn)
    assert proc.returncode in (254, 255) and "ValidationException" in proc.stderr
