"""Shared fixtures: one local Bedrock service per test session, and its environment."""

from __future__ import annotations

import os

import pytest


def _has_real_aws() -> bool:
    import boto3

    try:
        creds = boto3.Session().get_credentials()
    except Exception:
        return False
    return creds is not None and not os.environ.get("BEDROCK_MAGICS_LOCAL")


def pytest_collection_modifyitems(config, items):
    if any("aws" in item.keywords for item in items) and not _has_real_aws():
        skip = pytest.mark.skip(reason="no AWS credentials: the aws suite runs only against real AWS")
        for item in items:
            if "aws" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def local_service(tmp_path_factory):
    """The local Bedrock service over HTTPS on a free loopback port, for the whole session."""
    from bedrock_magics.local import LocalService

    svc = LocalService(port=0, state_dir=str(tmp_path_factory.mktemp("local-state")))
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture(scope="session")
def s3_endpoint(local_service):
    """The S3 (moto's server) that the service's batch inference jobs read and write."""
    return local_service.ensure_s3()


@pytest.fixture
def s3(s3_endpoint):
    """A boto3 S3 client on the service's moto S3, with the local credentials."""
    import boto3

    from bedrock_magics.local import credentials

    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                        aws_access_key_id=credentials.ACCESS_KEY_ID,
                        aws_secret_access_key=credentials.SECRET_ACCESS_KEY)


@pytest.fixture
def bucket(s3):
    """A new, empty bucket for one test."""
    import uuid

    name = f"test-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(autouse=True)
def _clear_faults(request):
    """Faults one test injects into the shared service never leak into the next test."""
    if "local_service" not in request.fixturenames:
        yield
        return
    service = request.getfixturevalue("local_service")
    service.faults.clear()
    yield
    service.faults.clear()


@pytest.fixture
def local_env(local_service, monkeypatch):
    """The service's export variables applied to this test's environment."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in local_service.env.items():
        monkeypatch.setenv(name, value)
    yield local_service.env


@pytest.fixture
def bm(local_service, tmp_path, monkeypatch):
    """A Bedrock on the session's local service, with its own ledger; no AWS environment leaks in."""
    from bedrock_magics.core import Bedrock

    for name in ("AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    bm = Bedrock(ledger_path=str(tmp_path / "ledger.sqlite"), retry_mode="standard")
    bm.use_local(service=local_service)
    yield bm
    bm.close()
