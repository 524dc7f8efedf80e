"""Authentication of the local Bedrock service, exercised with real clients.

SigV4 from boto3, the aws CLI and the openai SDK's Bedrock provider; bearer keys from the
environment (long-term) and from ``aws-bedrock-token-generator`` (short-term). Wrong credentials
must get AWS's error shapes on AWS routes and OpenAI's on the OpenAI routes — and no secret may
appear in any of the messages.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import urllib3
from aws_bedrock_token_generator import provide_token
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import CredentialProvider, Credentials
from botocore.exceptions import ClientError

from bedrock_magics.local import credentials as local

AWS_CLI = str(Path(sys.executable).with_name("aws"))
SIGV4 = Config(signature_version="v4", retries={"total_max_attempts": 1})
ONE_TRY = Config(retries={"total_max_attempts": 1})
SECRETS = (local.SECRET_ACCESS_KEY, local.API_KEY)


def send(svc, method: str, path: str, body: bytes = b"", headers: dict | None = None, *, service: str | None = None,
         region: str = "us-east-1", secret: str = local.SECRET_ACCESS_KEY, send_body: bytes | None = None):
    """One raw HTTPS request, optionally SigV4-signed by botocore's own signer."""
    req = AWSRequest(method=method, url=svc.url + path, data=body, headers=dict(headers or {}))
    if service:
        SigV4Auth(Credentials(local.ACCESS_KEY_ID, secret), service, region).add_auth(req)
    prepared = req.prepare()
    pool = urllib3.PoolManager(ca_certs=svc.ca_file)
    return pool.request(method, prepared.url, body=send_body if send_body is not None else body,
                        headers=dict(prepared.headers), redirect=False, retries=False)


def error_of(exc: ClientError) -> tuple[str, int, str]:
    err = exc.response["Error"]
    return err["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"], err["Message"]


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


@pytest.fixture
def bearer_only(local_env, monkeypatch):
    """The environment with the access keys removed: boto3 can only use AWS_BEARER_TOKEN_BEDROCK."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    return monkeypatch


class _Creds(CredentialProvider):
    """A credential provider for aws-bedrock-token-generator (the environment has no keys here)."""

    def __init__(self, secret: str = local.SECRET_ACCESS_KEY) -> None:
        self.secret = secret

    def load(self) -> Credentials:
        return Credentials(local.ACCESS_KEY_ID, self.secret)


def short_term(region: str = "us-east-1", seconds: int = 43200, secret: str = local.SECRET_ACCESS_KEY) -> str:
    """A short-term Bedrock API key made by aws-bedrock-token-generator."""
    return provide_token(region=region, aws_credentials_provider=_Creds(secret), expiry=dt.timedelta(seconds=seconds))


def model_ids(client) -> set[str]:
    return {m["modelId"] for m in client.list_foundation_models()["modelSummaries"]}


# -- SigV4 ------------------------------------------------------------------------------------


def test_sigv4_accepted_and_scope_region_decides(local_env):
    west = model_ids(boto3.client("bedrock", region_name="us-west-2", config=SIGV4))
    east = model_ids(boto3.client("bedrock", region_name="us-east-1", config=SIGV4))
    assert "mistral.mistral-large-2407-v1:0" in west - east


def test_wrong_secret_is_invalid_signature(local_env):
    wrong = "x" * 40
    client = boto3.client("bedrock", config=SIGV4, aws_access_key_id=local.ACCESS_KEY_ID,
                          aws_secret_access_key=wrong)
    with pytest.raises(ClientError) as err:
        client.list_foundation_models()
    code, status, message = error_of(err.value)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert "The Canonical String for this request should have been" in message
    assert_no_secrets(message, str(err.value))
    assert wrong not in message


def test_unknown_access_key_is_unrecognized_client(local_env):
    client = boto3.client("bedrock", config=SIGV4, aws_access_key_id="AKIAUNKNOWNKEY000000",
                          aws_secret_access_key=local.SECRET_ACCESS_KEY)
    with pytest.raises(ClientError) as err:
        client.list_foundation_models()
    assert error_of(err.value)[:2] == ("UnrecognizedClientException", 403)
    assert error_of(err.value)[2] == "The security token included in the request is invalid."


def test_missing_authorization(local_env, local_service):
    client = boto3.client("bedrock", config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as err:
        client.list_foundation_models()
    assert error_of(err.value) == ("AccessDeniedException", 403, "Authorization header is missing")
    raw = send(local_service, "GET", "/foundation-models")
    assert raw.status == 403
    assert raw.headers["x-amzn-ErrorType"].startswith("AccessDeniedException:")
    assert json.loads(raw.data) == {"Message": "Authorization header is missing"}


def test_wrong_signing_service_is_refused(local_service, local_env):
    control = send(local_service, "GET", "/foundation-models", service="bedrock-runtime")
    assert control.status == 403
    assert control.headers["x-amzn-ErrorType"].startswith("InvalidSignatureException:")
    assert "correct service: 'bedrock'" in json.loads(control.data)["message"]
    runtime = send(local_service, "POST", "/model/amazon.nova-lite-v1%3A0/converse", b"{}",
                   {"Content-Type": "application/json"}, service="bedrock-mantle")
    assert runtime.status == 403 and "correct service: 'bedrock'" in json.loads(runtime.data)["message"]
    # mantle expects bedrock-mantle; a runtime-style signature is refused in the OpenAI shape (401).
    mantle = send(local_service, "GET", "/mantle/v1/models", service="bedrock")
    assert mantle.status == 401
    error = json.loads(mantle.data)["error"]
    assert error["type"] == "authentication_error" and "correct service: 'bedrock-mantle'" in error["message"]


def test_region_the_service_does_not_serve_is_refused(local_env):
    client = boto3.client("bedrock", region_name="sa-east-1", config=SIGV4)
    with pytest.raises(ClientError) as err:
        client.list_foundation_models()
    code, status, message = error_of(err.value)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert "sa-east-1" in message and "us-east-1" in message


def test_signature_from_a_skewed_clock_is_expired(local_env, monkeypatch):
    import botocore.auth

    skewed = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=6)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: skewed)
    with pytest.raises(ClientError) as err:
        boto3.client("bedrock", config=SIGV4).list_foundation_models()
    code, status, message = error_of(err.value)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert message.startswith("Signature expired: ") and "- 5 min." in message


def test_content_sha256_must_match_the_body(local_service):
    signed_body = b'{"messages": []}'
    resp = send(local_service, "POST", "/model/amazon.nova-lite-v1%3A0/converse", signed_body,
                {"Content-Type": "application/json",
                 "X-Amz-Content-SHA256": hashlib.sha256(signed_body).hexdigest()},
                service="bedrock", send_body=b'{"messages": [1]}')
    assert resp.status == 403
    assert "x-amz-content-sha256" in json.loads(resp.data)["message"]


def test_signed_raw_path_with_encoded_arn(local_service):
    arn = "arn%3Aaws%3Abedrock%3Aus-east-1%3A%3Afoundation-model%2Famazon.nova-pro-v1%3A0"
    resp = send(local_service, "GET", f"/foundation-models/{arn}", service="bedrock")
    assert resp.status == 200, resp.data
    assert json.loads(resp.data)["modelDetails"]["modelId"] == "amazon.nova-pro-v1:0"


def test_aws_cli_with_wrong_secret_fails_cleanly(local_env):
    env = {**os.environ, "AWS_SECRET_ACCESS_KEY": "y" * 40, "AWS_PAGER": ""}
    env.pop("AWS_BEARER_TOKEN_BEDROCK")
    out = subprocess.run([AWS_CLI, "bedrock", "list-foundation-models"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0
    assert "InvalidSignatureException" in out.stderr
    assert_no_secrets(out.stdout, out.stderr)
    assert "y" * 40 not in out.stderr


# -- bearer keys on AWS routes ----------------------------------------------------------------


def test_long_term_api_key_accepted(bearer_only):
    assert "amazon.nova-pro-v1:0" in model_ids(boto3.client("bedrock", config=ONE_TRY))


def test_bad_api_key_is_access_denied(bearer_only):
    bad = "ABSK" + base64.b64encode(b"BedrockAPIKey-abcd-at-123456789012:not-the-secret").decode()
    bearer_only.setenv("AWS_BEARER_TOKEN_BEDROCK", bad)
    with pytest.raises(ClientError) as err:
        boto3.client("bedrock", config=ONE_TRY).list_foundation_models()
    code, status, message = error_of(err.value)
    assert (code, status) == ("AccessDeniedException", 403)
    assert "API Key" in message and bad not in message and bad not in str(err.value)


def test_short_term_key_accepted_in_its_region(bearer_only):
    token = short_term("us-west-2")
    assert token.startswith("bedrock-api-key-")
    bearer_only.setenv("AWS_BEARER_TOKEN_BEDROCK", token)
    # The key belongs to us-west-2: the service answers for that region.
    assert "mistral.mistral-large-2407-v1:0" in model_ids(boto3.client("bedrock", config=ONE_TRY))


def _edit(token: str, edit) -> str:
    """The key with its presigned URL changed by ``edit`` (and re-encoded)."""
    url = base64.b64decode(token[len("bedrock-api-key-"):]).decode()
    changed = edit(url)
    assert changed != url
    return "bedrock-api-key-" + base64.b64encode(changed.encode()).decode()


def _flip_signature(url: str) -> str:
    head, sig = url.split("X-Amz-Signature=")
    return f"{head}X-Amz-Signature={'0' if sig[0] != '0' else '1'}{sig[1:]}"


@pytest.mark.parametrize("make", [
    pytest.param(lambda: _edit(short_term(), lambda u: u.replace("X-Amz-Expires=43200", "X-Amz-Expires=86400")),
                 id="longer-expiry"),
    pytest.param(lambda: _edit(short_term(), _flip_signature), id="signature-changed"),
    pytest.param(lambda: _edit(short_term(), lambda u: u.replace("%2Fus-east-1%2F", "%2Fus-west-2%2F")),
                 id="region-changed"),
    pytest.param(lambda: "bedrock-api-key-" + "not base64!", id="garbage"),
    pytest.param(lambda: short_term("sa-east-1"), id="region-not-served"),
])
def test_tampered_short_term_key_refused(bearer_only, make):
    bearer_only.setenv("AWS_BEARER_TOKEN_BEDROCK", make())
    with pytest.raises(ClientError) as err:
        boto3.client("bedrock", config=ONE_TRY).list_foundation_models()
    assert error_of(err.value)[:2] == ("AccessDeniedException", 403)


def test_expired_short_term_key_refused(bearer_only):
    import botocore.auth

    # Minted two minutes ago for one minute: already expired, with no wait.
    minted = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(minutes=2)
    with bearer_only.context() as clock:
        clock.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: minted)
        token = short_term(seconds=60)
    bearer_only.setenv("AWS_BEARER_TOKEN_BEDROCK", token)
    with pytest.raises(ClientError) as err:
        boto3.client("bedrock", config=ONE_TRY).list_foundation_models()
    code, status, message = error_of(err.value)
    assert (code, status) == ("AccessDeniedException", 403) and "expired" in message


def test_short_term_key_from_other_credentials_refused(bearer_only):
    bearer_only.setenv("AWS_BEARER_TOKEN_BEDROCK", short_term(secret="z" * 40))
    with pytest.raises(ClientError) as err:
        boto3.client("bedrock", config=ONE_TRY).list_foundation_models()
    assert error_of(err.value)[:2] == ("AccessDeniedException", 403)


# -- the OpenAI routes (runtime /openai/v1 and mantle) ----------------------------------------


def openai_client(svc, endpoint: str, path: str, **auth):
    from openai import OpenAI
    from openai.providers import bedrock

    return OpenAI(provider=bedrock(endpoint=endpoint, region="us-east-1", base_url=svc.url + path, **auth),
                  max_retries=0)


def sigv4_keys() -> dict:
    return {"api_key": None, "access_key_id": local.ACCESS_KEY_ID, "secret_access_key": local.SECRET_ACCESS_KEY}


def test_openai_provider_sigv4_on_mantle_and_runtime(local_service, local_env):
    mantle = openai_client(local_service, "mantle", "/mantle/v1", **sigv4_keys())
    assert "openai.gpt-oss-120b" in {m.id for m in mantle.models.list()}
    runtime = openai_client(local_service, "runtime", "/openai/v1", **sigv4_keys())
    reply = runtime.chat.completions.create(model="openai.gpt-oss-20b-1:0",
                                            messages=[{"role": "user", "content": "echo: signed"}])
    assert reply.choices[0].message.content == "signed"


def test_openai_provider_with_short_term_key_on_mantle(local_service, local_env):
    mantle = openai_client(local_service, "mantle", "/mantle/v1", api_key=short_term())
    assert "openai.gpt-oss-20b" in {m.id for m in mantle.models.list()}


@pytest.mark.parametrize("endpoint,path", [("mantle", "/mantle/v1"), ("mantle", "/mantle/openai/v1"),
                                           ("runtime", "/openai/v1")])
def test_bad_api_key_on_openai_routes_is_401(local_service, local_env, endpoint, path):
    import openai

    bad = "ABSK" + base64.b64encode(b"BedrockAPIKey-wxyz-at-123456789012:wrong").decode()
    client = openai_client(local_service, endpoint, path, api_key=bad)
    with pytest.raises(openai.AuthenticationError) as err:
        client.chat.completions.create(model="openai.gpt-oss-20b" if endpoint == "mantle" else "openai.gpt-oss-20b-1:0",
                                       messages=[{"role": "user", "content": "hi"}])
    assert err.value.status_code == 401
    assert err.value.code == "invalid_api_key" and err.value.type == "authentication_error"
    assert bad not in str(err.value)


def test_openai_sigv4_with_the_wrong_service_is_refused(local_service, local_env):
    import openai

    # A runtime-configured provider signs as "bedrock"; pointed at mantle it must be refused.
    wrong = openai_client(local_service, "runtime", "/mantle/v1", **sigv4_keys())
    with pytest.raises(openai.AuthenticationError) as err:
        wrong.models.list()
    assert "bedrock-mantle" in str(err.value)


def test_openai_sigv4_with_a_wrong_secret_is_401(local_service, local_env):
    import openai

    wrong = "w" * 40
    client = openai_client(local_service, "mantle", "/mantle/v1", api_key=None, access_key_id=local.ACCESS_KEY_ID,
                           secret_access_key=wrong)
    with pytest.raises(openai.AuthenticationError) as err:
        client.models.list()
    assert err.value.status_code == 401 and err.value.code == "invalid_signature"
    assert wrong not in str(err.value)
    assert_no_secrets(str(err.value))
