"""Every failure a user can meet becomes one line naming the cause and the fix.

Real failures from the local Bedrock service (faults, bad credentials, unknown models, cut streams)
through the real boto3 and openai clients, explained by ``errors.explain``.
"""

from __future__ import annotations

import os
import socket

import pytest

from bedrock_magics import routes
from bedrock_magics.auth import Clients
from bedrock_magics.errors import BedrockError, explain
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
    embed = failure(clients, make("amazon.titan-embed-text-v2:0"), hints={"supported_apis": ["runtime/invoke"]})
    assert embed.code == "UnsupportedApi"
    assert str(embed) == ("amazon.titan-embed-text-v2:0 does not support the converse API on runtime. "
                          "Use --endpoint runtime --api invoke (it supports: runtime/invoke).")
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
