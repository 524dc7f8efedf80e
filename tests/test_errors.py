"""Every failure a user can meet becomes one line naming the cause and the fix.

Real failures from the local Bedrock service (faults, bad credentials, unknown models, cut streams)
through the real boto3 and openai clients, explained by ``explain.explain``.
"""

from __future__ import annotations

import os
import socket

import pytest

from bedrock_magics import routes
from bedrock_magics.auth import Clients
from bedrock_magics.errors import BedrockError, code_of, one_line, status_of
from bedrock_magics.explain import explain
from bedrock_magics.local import credentials as local
from bedrock_magics.request import Request

REGION = "us-east-1"
NOVA = "us.amazon.nova-lite-v1:0"
NOVA_BASE = "amazon.nova-lite-v1:0"
GPT_MANTLE = "openai.gpt-oss-20b"
GPT_BASE = "openai.gpt-oss-20b-1:0"
GOOD = (local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY)
WRONG_SECRET = "wrong/secret/wrong/secret/wrong/secret/00"


def make(model: str = NOVA, endpoint: str = "runtime", api: str = "converse", **kw) -> Request:
    return Request.from_prompt("Hello there", model, endpoint=endpoint, api=api, region=REGION, **kw)


#: One request per client library: boto3 (Converse) and openai (mantle Chat Completions).
WIRES = {"boto3": make(), "openai": make(GPT_MANTLE, "mantle", "chat")}
FAULT_MODELS = {"boto3": NOVA_BASE, "openai": GPT_BASE}


def local_clients(svc, **kw) -> Clients:
    kw.setdefault("ca_bundle", svc.ca_file)
    kw.setdefault("retry_mode", "standard")
    kw.setdefault("max_attempts", 2)  # one retry keeps the retry tests quick
    return Clients(endpoint_urls=svc.endpoints, **kw)


def failure(clients: Clients, request: Request, streamed: bool = False, hints: dict | None = None) -> BedrockError:
    """Run ``request``; it must fail; return the explanation."""
    module = routes.get(request.endpoint, request.api)
    client = clients.get(request.region, request.endpoint, routes.client_kind(request.api))
    with pytest.raises(Exception) as info:
        list(module.stream(client, request)) if streamed else module.send(client, request)
    err = explain(info.value, request, hints)
    assert isinstance(err, BedrockError) and err.__cause__ is info.value
    assert "\n" not in str(err)
    lines = err._render_traceback_()
    assert 1 <= len(lines) <= 3 and all(len(line) < 400 for line in lines)
    text = "\n".join(lines) + str(err)
    assert local.SECRET_ACCESS_KEY not in text and local.API_KEY not in text and WRONG_SECRET not in text
    return err


@pytest.fixture
def clients(local_service):
    c = local_clients(local_service, credentials=GOOD)
    yield c
    c.close()


@pytest.fixture
def bare_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


# --------------------------------------------------------------------------------------------------
# the model and the route
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
def test_access_not_enabled(clients, local_service, wire):
    local_service.faults.set(FAULT_MODELS[wire], error_rate=1.0, error_code="AccessDeniedException")
    request = WIRES[wire]
    err = failure(clients, request)
    assert err.code == "AccessDeniedException" and err.status == 403 and err.request_id
    assert err.message == f"Access to {request.model} is not enabled in us-east-1."
    assert "Model access" in err.hint


def test_model_without_the_chosen_api(clients):
    # An embedding model answers no prompt on any API: --embed is the mode that fits, not --api invoke.
    embed = failure(clients, make("amazon.titan-embed-text-v2:0"), hints={"supported_apis": ["runtime/invoke"]})
    assert embed.code == "EmbeddingModel"
    assert str(embed) == ("amazon.titan-embed-text-v2:0 is an embedding model: it turns text into vectors and does "
                          "not answer prompts. Embed a DataFrame column with --df FRAME --embed COLUMN "
                          "-m amazon.titan-embed-text-v2:0 (bm.embed(frame, column, model=...) in Python).")
    image = failure(clients, make("amazon.nova-canvas-v1:0"), hints={"supported_apis": ["runtime/invoke"]})
    assert image.code == "UnsupportedApi" and "--api invoke" in image.hint
    chat = failure(clients, make(NOVA_BASE, api="chat"), hints={"supported_apis": ["runtime/converse", "runtime/invoke"]})
    assert chat.code == "UnsupportedApi" and "--api converse" in chat.hint
    plain = failure(clients, make(NOVA_BASE, api="responses"))
    assert plain.code == "UnsupportedApi" and "%bedrock models" in plain.hint


@pytest.mark.parametrize("wire", WIRES)
def test_unknown_model(clients, wire):
    request = WIRES[wire]
    typo = make("amazon.nova-lite-v9:0") if wire == "boto3" else make("openai.gpt-oss-21b", "mantle", "chat")
    err = failure(clients, typo, hints={"close_models": [request.model]})
    assert err.code == "UnknownModel"
    assert str(err) == f"Unknown model {typo.model} in us-east-1. Did you mean {request.model}?"
    assert "%bedrock models -r us-east-1" in failure(clients, typo).hint


@pytest.mark.parametrize("api", ["converse", "invoke"])
def test_on_demand_not_supported_suggests_profiles(clients, api):
    bare = "anthropic.claude-haiku-4-5-20251001-v1:0"
    err = failure(clients, make(bare, api=api))
    assert err.code == "OnDemandNotSupported"
    assert err.message == f"{bare} can only be called through an inference profile."
    assert f"--model us.{bare}" in err.hint
    hinted = failure(clients, make(bare, api=api), hints={"profiles": [f"eu.{bare}", f"global.{bare}"]})
    assert hinted.hint == f"Use --model eu.{bare} or global.{bare}."
    from_catalog = failure(clients, make(bare, api=api), hints={"close_models": [f"jp.{bare}", "amazon.nova-lite-v1:0"]})
    assert from_catalog.hint == f"Use --model jp.{bare}."


def test_invalid_setting(clients):
    err = failure(clients, make(max_tokens=1_000_000))
    assert err.code == "ValidationException" and "model limit of 10000" in err.message and "--max-tokens" in err.hint


# --------------------------------------------------------------------------------------------------
# service health
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
def test_throttling_after_retries(clients, local_service, wire):
    local_service.faults.set(FAULT_MODELS[wire], error_rate=1.0, error_code="ThrottlingException")
    err = failure(clients, WIRES[wire])
    assert err.code == "ThrottlingException" and err.status == 429
    assert "after 1 retry" in err.message and "--concurrency" in err.hint


@pytest.mark.parametrize("wire", WIRES)
def test_service_unavailable_after_retries(clients, local_service, wire):
    local_service.faults.set(FAULT_MODELS[wire], error_rate=1.0, error_code="ServiceUnavailableException")
    err = failure(clients, WIRES[wire])
    assert err.status == 503 and "after 1 retry" in err.message and "Retry in a moment" in err.hint


def test_model_timeout(clients, local_service):
    local_service.faults.set(NOVA_BASE, error_rate=1.0, error_code="ModelTimeoutException")
    err = failure(clients, make())
    assert err.code == "ModelTimeoutException" and "timed out" in err.message


@pytest.mark.parametrize("endpoint,api,model", [("runtime", "converse", NOVA), ("runtime", "invoke", NOVA),
                                                ("mantle", "chat", GPT_MANTLE), ("mantle", "responses", GPT_MANTLE)])
def test_stream_cut_midway(clients, local_service, endpoint, api, model):
    local_service.faults.set(cut_stream_after=2)
    err = failure(clients, make(model, endpoint, api), streamed=True)
    assert err.code == "IncompleteStream" and err.request_id
    assert err.message == f"The response stream from {local_service.url} was cut off before it finished."


# --------------------------------------------------------------------------------------------------
# credentials
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
def test_expired_credentials(clients, local_service, wire):
    local_service.faults.set(FAULT_MODELS[wire], error_rate=1.0, error_code="ExpiredTokenException")
    err = failure(clients, WIRES[wire])
    assert err.code == "ExpiredToken" and err.message == "Your AWS credentials have expired."


@pytest.mark.parametrize("wire", WIRES)
def test_no_credentials_at_all(local_service, bare_env, wire):
    err = failure(local_clients(local_service), WIRES[wire])
    assert err.code == "NoCredentials"
    assert "%bedrock key" in err.hint and "%bedrock local" in err.hint


@pytest.mark.parametrize("wire", WIRES)
def test_wrong_secret(local_service, wire):
    err = failure(local_clients(local_service, credentials=(local.ACCESS_KEY_ID, WRONG_SECRET)), WIRES[wire])
    assert err.code == "InvalidSignature" and "secret access key is wrong" in err.message


def test_unknown_access_key(local_service):
    err = failure(local_clients(local_service, credentials=("AKIAUNKNOWNKEY000001", WRONG_SECRET)), make())
    assert err.code == "UnrecognizedClient" and "AWS_ACCESS_KEY_ID" in err.hint


@pytest.mark.parametrize("wire", WIRES)
def test_invalid_api_key(local_service, wire):
    err = failure(local_clients(local_service, api_key="ABSK" + "Y" * 48), WIRES[wire])
    assert err.code == "InvalidApiKey" and "%bedrock key" in err.hint
    assert "ABSKYYYY" not in str(err)


@pytest.mark.parametrize("source, says, never", [
    ("API key from %bedrock key", "%bedrock key --clear", "unset AWS_BEARER_TOKEN_BEDROCK"),
    ("API key from AWS_BEARER_TOKEN_BEDROCK", "unset AWS_BEARER_TOKEN_BEDROCK", "--clear"),
])
def test_invalid_api_key_fix_follows_where_the_key_came_from(local_service, source, says, never):
    clients = local_clients(local_service, api_key="ABSK" + "Y" * 48)
    assert clients.credential_source()[1] == "API key from %bedrock key"  # what Clients reports for a key
    err = failure(clients, make(), hints={"credential_source": source})
    assert says in err.hint and never not in err.hint


# --------------------------------------------------------------------------------------------------
# S3 (batch jobs) and calls without a model: never "the model in this region"
# --------------------------------------------------------------------------------------------------


def no_placeholders(err: BedrockError) -> None:
    import re

    text = "\n".join(err._render_traceback_())
    assert not re.search(r"\bthe model\b|\bthis region\b", text), text


def test_a_missing_bucket_is_not_an_unknown_model(s3):
    with pytest.raises(Exception) as info:
        s3.put_object(Bucket="qa-bucket-that-is-not-there", Key="jobs/x.jsonl", Body=b"{}")
    # With the job's context, and with none at all: S3's code decides, not its 404.
    for hints in ({"s3_uri": "s3://qa-bucket-that-is-not-there/jobs/", "s3_option": "--job", "region": REGION},
                  None):
        err = explain(info.value, None, hints)
        assert err.code == "NoSuchBucket"
        assert err.message == "Bucket qa-bucket-that-is-not-there does not exist."
        assert err.hint.startswith("Create it (aws s3 mb s3://qa-bucket-that-is-not-there)")
        no_placeholders(err)
    assert "check --job" in explain(info.value, None, {"s3_option": "--job"}).hint


def test_a_missing_s3_key_is_named(s3):
    bucket = f"errors-{os.getpid()}"
    s3.create_bucket(Bucket=bucket)
    with pytest.raises(Exception) as info:
        s3.get_object(Bucket=bucket, Key="out/manifest.json.out")
    err = explain(info.value, None, {"s3_uri": f"s3://{bucket}/out/"})
    assert err.code == "NoSuchKey" and err.message == f"s3://{bucket}/out/manifest.json.out does not exist."
    no_placeholders(err)


def test_s3_access_denied_is_about_s3_not_model_access():
    from botocore.exceptions import ClientError

    # S3's AccessDenied as botocore parses it (the local S3 does not enforce IAM policies).
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                          "ResponseMetadata": {"HTTPStatusCode": 403, "RequestId": "R1"}}, "PutObject")
    err = explain(denied, None, {"s3_uri": "s3://team-bucket/jobs/", "region": REGION})
    assert err.code == "AccessDenied" and err.message == "Access to s3://team-bucket/ was denied."
    assert "s3:PutObject" in err.hint and "Model access" not in err.hint
    no_placeholders(err)


def test_an_unknown_batch_job_is_not_an_unknown_model(local_service, clients):
    control = clients.get(REGION, "control", "bedrock")
    with pytest.raises(Exception) as info:
        control.get_model_invocation_job(jobIdentifier=f"arn:aws:bedrock:{REGION}:123456789012:"
                                                       "model-invocation-job/abcdefabcdef")
    err = explain(info.value, None, {"region": REGION, "endpoint": "control"})
    assert err.code == "ResourceNotFoundException" and err.message.startswith("Not found")
    no_placeholders(err)


@pytest.mark.parametrize("wire", WIRES)
def test_messages_leave_out_what_they_do_not_know(clients, local_service, wire):
    local_service.faults.set(FAULT_MODELS[wire], error_rate=1.0, error_code="ThrottlingException")
    request = WIRES[wire]
    err = failure(clients, request)
    bare = explain(err.__cause__)  # no request, no hints
    assert bare.message == "Bedrock throttled the calls after 1 retry."
    no_placeholders(bare)
    typo = failure(clients, make("amazon.nova-lite-v9:0"))
    unknown = explain(typo.__cause__)
    assert unknown.message == "The model identifier is not valid." and unknown.hint.startswith("Run %bedrock models ")
    assert "-r" not in unknown.hint


# --------------------------------------------------------------------------------------------------
# transport
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
def test_cannot_connect(bare_env, wire):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"https://127.0.0.1:{port}"
    clients = Clients(endpoint_urls={"control": url, "runtime": url, "mantle": url + "/mantle"}, credentials=GOOD,
                      max_attempts=1)
    err = failure(clients, WIRES[wire])
    assert err.code == "ConnectionError" and err.message == f"Cannot connect to {url}."
    assert "%bedrock local" in err.hint


@pytest.mark.parametrize("wire", WIRES)
def test_untrusted_certificate(local_service, bare_env, wire):
    err = failure(local_clients(local_service, credentials=GOOD, ca_bundle=None, max_attempts=1), WIRES[wire])
    assert err.code == "SSLError" and "AWS_CA_BUNDLE" in err.hint


# --------------------------------------------------------------------------------------------------
# the error object itself
# --------------------------------------------------------------------------------------------------


def test_bedrock_error_renders_in_one_or_two_lines():
    err = BedrockError("Something broke.", code="X", hint="Do this.", request_id="req-1")
    assert str(err) == "Something broke. Do this."
    assert err._render_traceback_() == ["BedrockError (X): Something broke.", "  → Do this.", "  request id: req-1"]
    assert BedrockError("Only a cause.")._render_traceback_() == ["BedrockError (BedrockError): Only a cause."]
    assert explain(err) is err


def test_secrets_never_reach_the_message():
    secret_texts = [f"signature mismatch for {local.SECRET_ACCESS_KEY}", f"bad key {local.API_KEY}",
                    "aws_secret_access_key=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789ABCD"]
    for text in secret_texts:
        err = explain(RuntimeError(text))
        rendered = str(err) + "".join(err._render_traceback_())
        assert local.SECRET_ACCESS_KEY not in rendered and local.API_KEY not in rendered
        assert "AbCdEfGhIjKlMnOp" not in rendered
    long = explain(RuntimeError("first line\n" + "canonical request " * 100))
    assert str(long) == "Bedrock call failed: first line"


def test_missing_profile(local_service, bare_env):
    clients = local_clients(local_service, profile="no-such-profile")
    with pytest.raises(Exception) as info:
        clients.get(REGION, "runtime", "bedrock-runtime")
    err = explain(info.value, make())
    assert err.code == "ProfileNotFound" and err.message == "The AWS profile 'no-such-profile' does not exist."
    assert clients.credential_source()[0] == "none"


def test_code_status_and_one_line_of_real_client_errors(local_service):
    clients = Clients(endpoint_urls=local_service.endpoints, ca_bundle=local_service.ca_file, credentials=GOOD,
                      max_attempts=1)
    runtime = clients.get(REGION, "runtime", "bedrock-runtime")
    with pytest.raises(Exception) as info:
        runtime.converse(modelId="acme.unknown-v1:0", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    exc = info.value
    assert code_of(exc) in ("ValidationException", "ResourceNotFoundException")
    assert status_of(exc) in (400, 404)
    line = one_line(exc)
    assert "\n" not in line and line
    explained = explain(exc, make("acme.unknown-v1:0"))
    assert code_of(explained) == explained.code and status_of(explained) == status_of(exc)
    assert one_line(ValueError()) == "ValueError" and one_line(None) == ""
    assert one_line("first\nsecond " + local.SECRET_ACCESS_KEY) == "first"
    assert local.SECRET_ACCESS_KEY not in one_line(f"key {local.SECRET_ACCESS_KEY}")
