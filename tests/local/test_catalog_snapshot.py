"""``catalog --from-aws``: a real account's catalog in the local format, read here from the local service
itself over plain HTTP with real boto3 (control plane) and SigV4-signed mantle requests, then served
again with ``--catalog`` and compared."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bedrock_magics.local import LocalService, credentials
from bedrock_magics.local.catalog import Catalog
from bedrock_magics.local.snapshot import SnapshotError, from_aws, guess_family

REGIONS = list(Catalog.load().regions)  # all of them: a profile routes to every region of its geography
SIGV4 = Config(signature_version="v4", retries={"total_max_attempts": 1})


@pytest.fixture(scope="module")
def plain_service(tmp_path_factory):
    """The local service over plain HTTP (boto3 signs with SigV4; no CA, no bearer key)."""
    svc = LocalService(port=0, tls=False, state_dir=str(tmp_path_factory.mktemp("snapshot-state")))
    svc.start()
    yield svc
    svc.stop()


def point_at(monkeypatch, svc: LocalService) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                 "AWS_BEARER_TOKEN_BEDROCK", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in svc.env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def snapshot(plain_service):
    with pytest.MonkeyPatch.context() as mp:
        point_at(mp, plain_service)
        return from_aws(REGIONS, boto3.Session())


def listing(region: str) -> dict[str, list]:
    """What a client sees in a region: foundation models, system profiles and mantle model ids."""
    control = boto3.client("bedrock", region_name=region, config=SIGV4)
    models = sorted(control.list_foundation_models()["modelSummaries"], key=lambda m: m["modelId"])
    pages = control.get_paginator("list_inference_profiles").paginate(typeEquals="SYSTEM_DEFINED")
    profiles = sorted((p for page in pages for p in page["inferenceProfileSummaries"]),
                      key=lambda p: p["inferenceProfileId"])
    for p in profiles:
        p.pop("createdAt"), p.pop("updatedAt")  # the profile's dates are the model's release, kept to the day
    return {"models": models, "profiles": profiles}


def test_snapshot_has_the_catalog_format_and_every_listed_model(snapshot):
    document, warnings = snapshot
    assert warnings == []  # eu-west-3 has no mantle: not a warning, mantle false
    assert list(document["regions"]) == REGIONS
    assert document["regions"]["eu-west-3"] == {"name": "Europe (Paris)", "mantle": False}
    assert document["regions"]["us-east-1"]["mantle"] is True
    bundled = Catalog.load()
    expected = {e["modelId"] for r in REGIONS for e in bundled.entries(r)}
    runtime = {e["modelId"] for e in document["models"] if e.get("runtime", True)}
    assert runtime == expected
    by_id = {e["modelId"]: e for e in document["models"]}
    haiku = by_id["anthropic.claude-haiku-4-5-20251001-v1:0"]
    assert haiku["inferenceTypesSupported"] == ["INFERENCE_PROFILE"] and set(haiku["profiles"]) == {"global", "us", "eu"}
    assert haiku["family"] == "anthropic" and haiku["capabilities"]["cacheMinTokens"] == 4096
    # A model on-demand in one region and profile-only in another keeps both, as AWS lists them.
    micro = by_id["amazon.nova-micro-v1:0"]
    assert micro["inferenceTypesSupported"] == ["ON_DEMAND"]
    assert micro["regionInferenceTypes"] == {r: ["INFERENCE_PROFILE"] for r in
                                             ("us-east-2", "eu-west-1", "eu-west-3", "ap-northeast-3")}
    # Mantle ids join their runtime model; mantle-only models are their own rows.
    assert by_id["openai.gpt-oss-120b-1:0"]["mantleId"] == "openai.gpt-oss-120b"
    assert by_id["qwen.qwen3-32b-v1:0"]["mantleId"] == "qwen.qwen3-32b" and by_id["qwen.qwen3-32b-v1:0"]["openai"]
    large3 = by_id["mistral.mistral-large-3-675b-instruct"]
    assert large3["runtime"] is False and large3["mantleId"] == large3["modelId"]
    assert document["geographies"]["us"]["label"] == "US" and document["geographies"]["global"]["label"] == "Global"
    json.dumps(document)  # plain JSON all the way down


def test_snapshot_served_again_lists_the_same(plain_service, snapshot, tmp_path, monkeypatch):
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(snapshot[0], indent=1))
    point_at(monkeypatch, plain_service)
    before = {r: listing(r) for r in REGIONS}
    mantle_before = {r: sorted(e["mantleId"] for e in Catalog.load().mantle_models(r)) for r in REGIONS}
    served = LocalService(port=0, tls=False, state_dir=str(tmp_path), catalog=path)
    served.start()
    try:
        point_at(monkeypatch, served)
        after = {r: listing(r) for r in REGIONS}
        document, _ = from_aws(REGIONS, boto3.Session())
    finally:
        served.stop()
    for region in REGIONS:
        assert after[region]["models"] == before[region]["models"], region
        assert after[region]["profiles"] == before[region]["profiles"], region
    mantle_after = {r: sorted(e["mantleId"] for e in Catalog.load(path).mantle_models(r)) for r in REGIONS}
    assert mantle_after == mantle_before
    # And a snapshot of the served snapshot is the snapshot (dates aside).
    assert document["models"] == snapshot[0]["models"]


def test_a_refused_listing_is_one_line(plain_service, monkeypatch):
    point_at(monkeypatch, plain_service)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong" + credentials.SECRET_ACCESS_KEY)
    with pytest.raises(SnapshotError) as err:
        from_aws(["us-east-1"], boto3.Session())
    message = str(err.value)
    assert message.startswith("ListFoundationModels in us-east-1 failed: ")
    assert "\n" not in message and credentials.SECRET_ACCESS_KEY not in message


@pytest.mark.parametrize("model_id, outputs, family", [
    ("anthropic.claude-new-v1:0", ["TEXT"], "anthropic"),
    ("amazon.nova-3-pro-v1:0", ["TEXT"], "nova"),
    ("cohere.embed-v5:0", ["EMBEDDING"], "cohere-embed"),
    ("stability.sd4-v1:0", ["IMAGE"], "image"),
    ("mistral.mistral-7b-instruct-v0:2", ["TEXT"], "mistral"),
    ("mistral.magistral-medium-2600", ["TEXT"], "mistral-chat"),
    ("zai.glm-5", ["TEXT"], "gpt-oss"),
])
def test_guess_family_of_unknown_models(model_id, outputs, family):
    assert guess_family(model_id, outputs) == family


def cli(*args: str, env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bedrock_magics.local", *args], env=env, capture_output=True,
                          text=True, timeout=120, **kw)


def test_cli_writes_a_snapshot_and_serves_it(plain_service, tmp_path, monkeypatch):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | dict(plain_service.env)
    done = cli("catalog", "--from-aws", "--regions", "us-east-1", "eu-west-3", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    document = json.loads(done.stdout)
    assert list(document["regions"]) == ["us-east-1", "eu-west-3"]
    path = tmp_path / "snapshot.json"
    path.write_text(done.stdout)

    served = subprocess.Popen([sys.executable, "-m", "bedrock_magics.local", "--http", "--port", "0",
                               "--state-dir", str(tmp_path), "--catalog", str(path)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        exports = {}
        for line in served.stdout:  # type: ignore[union-attr]
            if line.startswith("#"):
                break
            name, _, value = line.removeprefix("export ").strip().partition("=")
            exports[name] = value.strip("'")
        point_at(monkeypatch, plain_service)
        for name, value in exports.items():
            monkeypatch.setenv(name, value)
        east = boto3.client("bedrock", region_name="us-east-1", config=SIGV4)
        ids = {m["modelId"] for m in east.list_foundation_models()["modelSummaries"]}
        assert ids == {e["modelId"] for e in Catalog.load().entries("us-east-1")}
        # A region the snapshot did not read is not served.
        with pytest.raises(ClientError, match="us-west-2"):
            boto3.client("bedrock", region_name="us-west-2", config=SIGV4).list_foundation_models()
    finally:
        served.send_signal(signal.SIGINT)
        served.communicate(timeout=10)


def test_cli_refuses_a_file_that_is_not_a_catalog(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"models": []}')
    done = cli("--catalog", str(bad), env=dict(os.environ))
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m bedrock_magics.local: error: --catalog ") and "--from-aws" in last
    assert "Traceback" not in done.stderr


def test_cli_catalog_without_credentials_is_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", AWS_ENDPOINT_URL_BEDROCK="http://127.0.0.1:9")
    done = cli("catalog", "--from-aws", "--regions", "us-east-1", env=env)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: ListFoundationModels in us-east-1 failed: ")
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
