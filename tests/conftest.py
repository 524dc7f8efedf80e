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


@pytest.fixture(scope="session", autouse=True)
def _ctrl_c_raises_keyboard_interrupt():
    """SIGINT raises KeyboardInterrupt in this process, as in a Jupyter kernel (the stop button).

    A process started in the background without job control (``cmd &`` in a script, some CI
    runners) inherits SIGINT *ignored*, and Python then never installs its handler: every
    interrupt test would fail there and pass in a terminal.
    """
    import signal

    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, signal.SIG_DFL):
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


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


class HeldCalls:
    """Requests reaching the local service wait at its door until :meth:`release`.

    The first ``let_through`` requests pass; later ones are counted and held (the service's real
    ``faults.admit`` still runs once they are released). Tests wait on these arrivals (events),
    never on timers, to interrupt a call that is certainly in flight.
    """

    def __init__(self, admit, let_through: int) -> None:
        import threading

        self._admit, self._let_through = admit, let_through
        self._changed = threading.Condition()
        self._released = False
        self.seen = 0  # requests that reached the door
        self.held = 0  # requests waiting now

    def __call__(self, *args, **kwargs):
        with self._changed:
            self.seen += 1
            if self.seen > self._let_through and not self._released:
                self.held += 1
                self._changed.notify_all()
                self._changed.wait_for(lambda: self._released, timeout=120)  # bounded: never hang the suite
                self.held -= 1
        return self._admit(*args, **kwargs)

    def wait_until_held(self, count: int, timeout: float = 120) -> bool:
        """Block until ``count`` requests are held (False if that never happens)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.held >= count, timeout=timeout)

    def release(self) -> None:
        with self._changed:
            self._released = True
            self._changed.notify_all()


@pytest.fixture
def hold_calls(local_service, monkeypatch):
    """``hold_calls(let_through=0)``: hold the local service's requests after the first ones (see HeldCalls)."""
    made: list[HeldCalls] = []

    def hold(let_through: int = 0) -> HeldCalls:
        held = HeldCalls(local_service.faults.admit, let_through)
        monkeypatch.setattr(local_service.faults, "admit", held)
        made.append(held)
        return held

    yield hold
    for held in made:
        held.release()


def interrupt_main_thread() -> None:
    """SIGINT to the main thread, as the notebook's stop button sends it to the kernel (a signal sent
    to the process may land on another thread, leaving a blocked read in the main thread asleep)."""
    import signal
    import threading

    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


class Hostile:
    """A notebook object whose every hook raises (its message has two lines; errors show the first)."""

    def __str__(self):
        raise RuntimeError("str failed\nsecond line")

    def __repr__(self):
        raise RuntimeError("repr failed")

    def __format__(self, spec):
        raise RuntimeError("format failed")

    def __getitem__(self, key):
        raise LookupError("getitem failed")


@pytest.fixture(autouse=True)
def fresh_pacers():
    """Quotas learned by one test's runs never pace another's (pacers are process-wide)."""
    from bedrock_magics import pacing

    pacing.forget_pacers()
    yield
    pacing.forget_pacers()
