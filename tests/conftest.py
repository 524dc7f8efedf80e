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


@pytest.fixture
def local_env(local_service, monkeypatch):
    """The service's export variables applied to this test's environment (faults cleared)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in local_service.env.items():
        monkeypatch.setenv(name, value)
    local_service.faults.clear()
    yield local_service.env
    local_service.faults.clear()
