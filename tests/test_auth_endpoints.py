"""Endpoints and credentials: which URL each surface uses, which credentials sign, clients reused.

Everything talks to the local Bedrock service over HTTPS with the real boto3 and openai clients.
"""

from __future__ import annotations

import os
import threading

import pytest

from bedrock_magics import endpoints
from bedrock_magics.auth import Clients, redact, short_term_key
from bedrock_magics.errors import BedrockError
from bedrock_magics.explain import explain
from bedrock_magics.local import credentials as local

REGION = "us-east-1"
NOVA = "us.amazon.nova-lite-v1:0"
GPT = "openai.gpt-oss-20b-1:0"
MANTLE_GPT = "openai.gpt-oss-20b"
SECRETS = (local.SECRET_ACCESS_KEY, local.API_KEY)


@pytest.fixture
def bare_env(monkeypatch, tmp_path):
    """An environment with no AWS configuration at all (no keys, no profiles, no CA, no IMDS)."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name in ("SSL_CERT_FILE", "BEDROCK_MAGICS_LOCAL"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def local_clients(svc, **kw) -> Clients:
    """Clients pointed at the local service by explicit overrides (what `%bedrock local` does)."""
    kw.setdefault("ca_bundle", svc.ca_file)
    return Clients(endpoint_urls=svc.endpoints, **kw)


def converse_text(client, prompt: str = "echo: hello", model: str = NOVA) -> str:
    out = client.converse(modelId=model, messages=[{"role": "user", "content": [{"text": prompt}]}])
    return out["output"]["message"]["content"][0]["text"]


def chat_text(client, model: str, prompt: str = "echo: hello") -> str:
    completion = client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}])
    return completion.choices[0].message.content


# --------------------------------------------------------------------------------------------------
# endpoints
# --------------------------------------------------------------------------------------------------


def test_real_hosts_by_default(bare_env):
    assert endpoints.base_url("eu-west-1", "control") == "https://bedrock.eu-west-1.amazonaws.com"
    assert endpoints.base_url("eu-west-1", "runtime") == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    assert endpoints.base_url("eu-west-1", "mantle") == "https://bedrock-mantle.eu-west-1.api.aws"
    assert endpoints.openai_base_url("us-west-2", "runtime") == "https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1"
    assert endpoints.openai_base_url("us-west-2", "mantle") == "https://bedrock-mantle.us-west-2.api.aws/v1"
    assert endpoints.base_url("eusc-de-east-1", "runtime") == "https://bedrock-runtime.eusc-de-east-1.amazonaws.eu"


def test_precedence_override_then_env_then_default(bare_env, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "https://runtime.example:8443/")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_MANTLE", "https://mantle.example")
    env = endpoints.resolve(REGION, "runtime")
    assert (env.url, env.source, env.boto3_endpoint_url) == ("https://runtime.example:8443",
                                                             "AWS_ENDPOINT_URL_BEDROCK_RUNTIME", None)
    assert endpoints.resolve(REGION, "mantle").url == "https://mantle.example"
    assert endpoints.resolve(REGION, "control").source == "default"
    override = endpoints.resolve(REGION, "runtime", {"runtime": "https://127.0.0.1:9/"})
    assert (override.url, override.source, override.boto3_endpoint_url) == (
        "https://127.0.0.1:9", "override", "https://127.0.0.1:9")
    assert override.is_local
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    assert endpoints.resolve(REGION, "runtime").source == "default"


def test_regions_and_did_you_mean():
    assert "us-east-1" in endpoints.regions("runtime") and "us-gov-west-1" in endpoints.regions("control")
    assert "us-west-1" in endpoints.regions("runtime") and "us-west-1" not in endpoints.regions("mantle")
    with pytest.raises(endpoints.UnknownRegionError, match="Did you mean us-east-1 or"):
        endpoints.check_region("us-esat-1")
    with pytest.raises(endpoints.UnknownRegionError, match="mantle endpoint is not offered in us-west-1"):
        endpoints.check_region("us-west-1", "mantle")
    assert endpoints.check_region("eu-central-1", "mantle") == "eu-central-1"


def test_unknown_region_refused_before_any_client(bare_env):
    with pytest.raises(endpoints.UnknownRegionError, match="Did you mean"):
        Clients().get("eu-wets-1", "runtime", "bedrock-runtime")
    with pytest.raises(ValueError, match="valid pairs"):
        Clients().get(REGION, "mantle", "bedrock-runtime")


def test_check_for_checks_real_hosts_only(bare_env, monkeypatch):
    with pytest.raises(endpoints.UnknownRegionError, match="mantle endpoint is not offered"):
        endpoints.check_for("ca-central-1", "mantle")
    # An override (the local service) or an environment variable serves whatever it serves.
    assert endpoints.check_for("ca-central-1", "mantle", {"mantle": "https://127.0.0.1:1/m"}).source == "override"
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_MANTLE", "https://proxy.example/m")
    assert endpoints.check_for("ca-central-1", "mantle").url == "https://proxy.example/m"


def test_s3_client_is_cached_signs_sigv4_and_finds_its_endpoint(local_service, bare_env, monkeypatch):
    creds = (local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY)
    asked: list[int] = []

    def local_s3() -> str:
        asked.append(1)
        return local_service.s3_endpoint

    clients = local_clients(local_service, credentials=creds, api_key=local.API_KEY, s3_endpoint=local_s3)
    assert asked == []  # asked on first S3 use only (the local service starts its S3 lazily)
    s3 = clients.get(REGION, "s3", "s3")
    assert asked
    assert clients.get(REGION, "s3", "s3") is s3
    assert s3.meta.endpoint_url == local_service.s3_endpoint
    # S3 takes no Bedrock API key: it signs with the SigV4 credentials of the same settings.
    assert s3.meta.config.signature_version == "s3v4"
    s3.list_buckets()
    # AWS_ENDPOINT_URL_S3 wins (boto3 reads it), as for any S3-compatible store.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", local_service.s3_endpoint)
    assert clients.get(REGION, "s3", "s3") is not s3
    with pytest.raises(ValueError, match="valid pairs"):
        clients.get(REGION, "runtime", "s3")


# --------------------------------------------------------------------------------------------------
# clients: built once, reused, configured
# --------------------------------------------------------------------------------------------------


def test_clients_are_reused_and_configured(local_service, bare_env):
    clients = local_clients(local_service, credentials=(local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY))
    runtime = clients.get(REGION, "runtime", "bedrock-runtime")
    assert clients.get(REGION, "runtime", "bedrock-runtime") is runtime
    assert clients.get(REGION, "runtime", "openai") is clients.get(REGION, "runtime", "openai")
    assert clients.get(REGION, "mantle", "openai") is not clients.get(REGION, "runtime", "openai")
    assert clients.get("us-west-2", "runtime", "bedrock-runtime") is not runtime
    assert runtime.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert runtime.meta.config.max_pool_connections == 64
    assert runtime.meta.endpoint_url == local_service.url
    assert converse_text(runtime) == "hello"
    assert clients.get(REGION, "runtime", "bedrock-runtime") is runtime  # a call does not rebuild it


def test_clients_shared_across_threads(local_service, bare_env):
    clients = local_clients(local_service, api_key=local.API_KEY)
    seen, barrier = [], threading.Barrier(8)

    def grab():
        barrier.wait()
        seen.append(clients.get(REGION, "runtime", "openai"))

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 1


def test_new_key_gives_new_clients(local_service, bare_env):
    clients = local_clients(local_service, api_key="ABSK" + "A" * 40)
    first = clients.get(REGION, "runtime", "bedrock-runtime")
    clients.api_key = local.API_KEY
    second = clients.get(REGION, "runtime", "bedrock-runtime")
    assert second is not first
    assert converse_text(second) == "hello"


# --------------------------------------------------------------------------------------------------
# which credentials sign
# --------------------------------------------------------------------------------------------------


def test_sigv4_on_every_surface(local_service, bare_env):
    clients = local_clients(local_service, credentials=(local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY))
    assert clients.get(REGION, "control", "bedrock").list_foundation_models()["modelSummaries"]
    assert converse_text(clients.get(REGION, "runtime", "bedrock-runtime")) == "hello"
    assert chat_text(clients.get(REGION, "runtime", "openai"), GPT) == "hello"
    assert chat_text(clients.get(REGION, "mantle", "openai"), MANTLE_GPT) == "hello"


def test_api_key_on_every_surface_without_touching_environ(local_service, bare_env):
    # A deliberately wrong secret: only the key can make these calls succeed.
    clients = local_clients(local_service, api_key=local.API_KEY,
                            credentials=(local.ACCESS_KEY_ID, "wrong-secret-wrong-secret-wrong-secret00"))
    assert clients.get(REGION, "control", "bedrock").list_foundation_models()["modelSummaries"]
    assert converse_text(clients.get(REGION, "runtime", "bedrock-runtime")) == "hello"
    assert chat_text(clients.get(REGION, "runtime", "openai"), GPT) == "hello"
    assert chat_text(clients.get(REGION, "mantle", "openai"), MANTLE_GPT) == "hello"
    assert "AWS_BEARER_TOKEN_BEDROCK" not in os.environ


def test_wrong_api_key_is_refused_on_boto3_and_openai(local_service, bare_env):
    clients = local_clients(local_service, api_key="ABSK" + "Z" * 40,
                            credentials=(local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY))
    with pytest.raises(Exception) as boto_err:
        converse_text(clients.get(REGION, "runtime", "bedrock-runtime"))
    with pytest.raises(Exception) as openai_err:
        chat_text(clients.get(REGION, "mantle", "openai"), MANTLE_GPT)
    for exc in (boto_err.value, openai_err.value):
        assert explain(exc).code == "InvalidApiKey"


def test_environment_key_and_environment_endpoints(local_service, local_env, monkeypatch):
    # Only the service's exported variables: boto3 and the openai provider pick them up themselves.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    clients = Clients()
    runtime = clients.get(REGION, "runtime", "bedrock-runtime")
    assert runtime.meta.endpoint_url == local_service.url
    assert converse_text(runtime) == "hello"
    assert chat_text(clients.get(REGION, "mantle", "openai"), MANTLE_GPT) == "hello"
    rows = {row["surface"]: row for row in clients.describe(REGION)}
    assert rows["runtime"]["credentials"].startswith("API key from AWS_BEARER_TOKEN_BEDROCK")
    assert rows["mantle"]["url_source"] == "AWS_ENDPOINT_URL_BEDROCK_MANTLE"


def test_explicit_sigv4_beats_environment_key(local_service, local_env, monkeypatch):
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "ABSK" + "Q" * 40)  # a bad key that must not be used
    clients = Clients(credentials=(local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY))
    assert converse_text(clients.get(REGION, "runtime", "bedrock-runtime")) == "hello"
    assert chat_text(clients.get(REGION, "runtime", "openai"), GPT) == "hello"


def test_profile(local_service, bare_env, monkeypatch):
    (bare_env / "credentials").write_text(
        f"[teach]\naws_access_key_id = {local.ACCESS_KEY_ID}\naws_secret_access_key = {local.SECRET_ACCESS_KEY}\n")
    clients = local_clients(local_service, profile="teach")
    assert converse_text(clients.get(REGION, "runtime", "bedrock-runtime")) == "hello"
    assert chat_text(clients.get(REGION, "mantle", "openai"), MANTLE_GPT) == "hello"
    assert clients.credential_source()[1] == "local service credentials (SigV4)"


def test_ca_bundle_reaches_the_openai_client(local_service, bare_env, monkeypatch):
    clients = local_clients(local_service, credentials=(local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY), ca_bundle=None,
                            max_attempts=1)
    with pytest.raises(Exception) as untrusted:
        chat_text(clients.get(REGION, "runtime", "openai"), GPT)
    assert explain(untrusted.value).code in ("SSLError", "ConnectionError")
    monkeypatch.setenv("AWS_CA_BUNDLE", local_service.ca_file)  # new env -> new client that trusts it
    assert chat_text(clients.get(REGION, "runtime", "openai"), GPT) == "hello"
    assert converse_text(clients.get(REGION, "runtime", "bedrock-runtime")) == "hello"


def test_short_term_key(local_service, bare_env):
    signer = local_clients(local_service, credentials=(local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY))
    key = short_term_key(REGION, signer)
    assert key.startswith("bedrock-api-key-")
    clients = local_clients(local_service, api_key=key)
    assert converse_text(clients.get(REGION, "runtime", "bedrock-runtime")) == "hello"
    assert key not in redact(f"Authorization: Bearer {key}")


# --------------------------------------------------------------------------------------------------
# describe / repr / redact never show a secret
# --------------------------------------------------------------------------------------------------


def test_describe_sources(local_service, bare_env, monkeypatch):
    assert Clients().credential_source() == ("none", "none found")
    keyed = local_clients(local_service, api_key=local.API_KEY)
    assert keyed.credential_source()[1].startswith("API key from %bedrock key")
    assert local_clients(local_service, credentials=(local.ACCESS_KEY_ID, local.SECRET_ACCESS_KEY)
                         ).credential_source() == ("sigv4", "local service credentials (SigV4)")
    other = ("AKIAOTHERKEY00000001", "x" * 40)
    assert "SigV4 with credentials passed in" in Clients(credentials=other).credential_source()[1]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", other[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", other[1])
    assert Clients().credential_source() == ("sigv4", "SigV4 from environment")
    rows = keyed.describe(REGION)
    assert [r["surface"] for r in rows] == ["control", "runtime", "mantle"]
    assert rows[2]["url"] == local_service.endpoints["mantle"] and rows[2]["url_source"] == "local service"
    for text in (repr(rows), repr(keyed), str(keyed)):
        assert not any(secret in text for secret in (*SECRETS, other[1]))


def test_redact():
    text = (f"key={local.API_KEY} secret {local.SECRET_ACCESS_KEY} aws_secret_access_key = {'k' * 40} "
            "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249 ABSKQmVkcm9ja0FQSUtleS1hYmNkLWF0LTEyMzQ= "
            "Authorization: Bearer abcdefghijklmnop")
    clean = redact(text)
    for secret in (local.API_KEY, local.SECRET_ACCESS_KEY, "k" * 40, "YmVkcm9jay5hbWF6", "QmVkcm9ja0FQSUtl",
                   "abcdefghijklmnop"):
        assert secret not in clean
    assert "aws_secret_access_key = ****" in clean
    assert redact("nothing secret here") == "nothing secret here"
    assert local.API_KEY not in str(explain(RuntimeError(f"boom {local.API_KEY}")))
    assert isinstance(explain(RuntimeError("x")), BedrockError)
