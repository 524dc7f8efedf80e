"""The quota pacer against the local service's own quota windows, on a simulated clock.

The service side is the real ``local.faults.Faults`` (sliding one-minute windows of requests and
tokens), driven on the same fake clock as the pacer: a run of minutes takes milliseconds, and the
figures are exact rather than timed.
"""

from __future__ import annotations

import threading

import pytest

from bedrock_magics import pacing
from bedrock_magics.local.faults import Faults
from bedrock_magics.local.http import AwsError
from bedrock_magics.pacing import Pacer, pacer_for, throttle_kind


class Clock:
    """Time that passes only when somebody waits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, stop: threading.Event, seconds: float) -> None:
        self.now += seconds


def run(rows: int, *, rpm: int | None = None, tpm: int | None = None, tokens: int = 100) -> dict:
    """Send ``rows`` calls one after another through a pacer into a throttling service.

    A throttled call is sent again (as the runner does); returns the finish time, throttles and
    what the pacer learned."""
    clock = Clock()
    service = Faults(throttle_rpm=rpm, throttle_tpm=tpm, clock=clock, sleep=lambda s: None)
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    start, throttles = clock.now, 0
    for _ in range(rows):
        while True:
            ticket = pacer.reserve(tokens)
            try:
                service.admit(["m"], tokens=lambda: tokens)
            except AwsError as err:
                throttles += 1
                pacer.throttled(ticket, throttle_kind(str(err)))
                continue
            pacer.succeeded(ticket)
            break
    return {"seconds": clock.now - start, "throttles": throttles, "pacer": pacer}


def ideal(rows: int, per_minute: int) -> float:
    """What a client that knew the quota would need: one window per full quota after the first."""
    return (rows - 1) // per_minute * 60.0


@pytest.mark.parametrize("rows,rpm", [(150, 100), (150, 60), (1000, 300), (5000, 900)])
def test_a_request_quota_is_learned_from_the_first_throttle_and_paced_within_a_tenth_of_the_ideal(rows, rpm):
    result = run(rows, rpm=rpm)
    assert result["pacer"].request_limit in range(rpm, rpm + rpm // 10 + 2)
    assert result["seconds"] <= 1.1 * ideal(rows, rpm)
    # one throttle to learn the limit, then at most one per upward probe (one per quiet minute)
    assert result["throttles"] <= 1 + result["seconds"] / 60 + 1


@pytest.mark.parametrize("rows,tpm,tokens", [(150, 10_000, 100), (1000, 50_000, 250)])
def test_a_token_quota_is_learned_and_paced_the_same_way(rows, tpm, tokens):
    result = run(rows, tpm=tpm, tokens=tokens)
    assert result["pacer"].token_limit is not None and result["pacer"].request_limit is None
    assert result["seconds"] <= 1.1 * ideal(rows, tpm // tokens)
    assert result["throttles"] <= 2 + result["seconds"] / 60


def test_no_quota_means_no_waiting():
    result = run(500)
    assert result["seconds"] == 0 and result["throttles"] == 0
    assert result["pacer"].describe() == ""


def test_throttles_reported_out_of_order_learn_the_earliest_count():
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    tickets = [pacer.reserve() for _ in range(8)]
    # the service accepted the first 5; calls 6..8 were in flight together and throttled, and the
    # reply of the 8th arrives first
    pacer.throttled(tickets[7])
    pacer.throttled(tickets[5])
    pacer.throttled(tickets[6])
    assert pacer.request_limit == 5
    assert pacer.describe() == "5 requests/min"
    assert pacer.delay() == pytest.approx(60.0 + pacing.MARGIN)


def test_a_throttle_with_none_of_our_calls_in_the_window_backs_off_and_a_success_ends_it():
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.throttled(None)
    assert pacer.request_limit is None and pacer.delay() == pytest.approx(pacing.FIRST_BACKOFF)
    pacer.throttled(None)
    assert pacer.delay() == pytest.approx(2 * pacing.FIRST_BACKOFF)
    clock.now += 5
    pacer.succeeded(pacer.reserve())
    clock.now += pacing.WINDOW + 1  # our call has left the window again
    pacer.throttled(None)
    assert pacer.delay() == pytest.approx(pacing.FIRST_BACKOFF)


def test_a_stop_ends_a_wait_for_the_quota():
    pacer = Pacer()
    pacer.throttled(pacer.reserve())  # learned: no call fits for a minute
    stop = threading.Event()
    got = []
    waiter = threading.Thread(target=lambda: got.append(pacer.reserve(stop=stop)))
    waiter.start()
    while not pacer.waiting:  # wait for the event "a call is waiting", not for time
        threading.Event().wait(0.001)
    stop.set()
    waiter.join(timeout=30)
    assert got == [None] and not pacer.waiting


def test_one_pacer_per_owner_model_and_region_shared_across_runs():
    pacing.forget_pacers()
    owner = ("aws", "default", None)
    a = pacer_for(owner, "runtime", "us-east-1", "m")
    assert pacer_for(owner, "runtime", "us-east-1", "m") is a
    assert pacer_for(owner, "runtime", "us-west-2", "m") is not a
    assert pacer_for(owner, "mantle", "us-east-1", "m") is not a
    assert pacer_for(("aws", "other-account", None), "runtime", "us-east-1", "m") is not a
    pacing.forget_pacers()
    assert pacer_for(owner, "runtime", "us-east-1", "m") is not a


def test_throttle_messages_name_their_quota():
    assert throttle_kind("Too many tokens, please wait before trying again.") == "tokens"
    assert throttle_kind("Too many requests, please wait before trying again.") == "requests"
    assert throttle_kind("Rate limit reached for input tokens per min") == "tokens"
