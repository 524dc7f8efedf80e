"""DataFrames at scale against the local Bedrock service over real HTTPS: one call per row with
injected throttling and errors, resume without paying twice, Ctrl-C, model comparison, dry runs
and embeddings.

"Service requests" below are the local service's own count of HTTP requests it handled
(``App.requests_total``), so a test sees exactly what was sent, retries included.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bedrock_magics import batch, runner
from bedrock_magics.batch import BatchInterrupted
from bedrock_magics.core import Bedrock
from bedrock_magics.local import tokens as local_tokens
from bedrock_magics.templating import TemplateError

NOVA = "us.amazon.nova-lite-v1:0"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"  # CountTokens by bare id in the local catalog
LLAMA = "us.meta.llama3-1-8b-instruct-v1:0"
CITIES = ["Lisbon", "Oslo", "Quito", "Hanoi", "Lagos", "Perth", "Cusco", "Tartu", "Dakar", "Kyoto", "Split", "Turku"]


def distinct(n: int) -> pd.DataFrame:
    """``n`` rows with distinct prompts (equal prompts would share one cached reply)."""
    return pd.DataFrame({"city": [f"{CITIES[i % len(CITIES)]} {i}" for i in range(n)]})


@pytest.fixture
def svc(local_service):
    local_service.faults.clear()
    local_service.app.reset_counters()
    yield local_service
    local_service.faults.clear()


def make_bm(svc, tmp_path, monkeypatch, **settings) -> Bedrock:
    for name in ("AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    bm = Bedrock(ledger_path=str(tmp_path / "ledger.sqlite"), model=NOVA, **settings)
    bm.use_local(service=svc)
    return bm


@pytest.fixture
def bm(svc, tmp_path, monkeypatch):
    bm = make_bm(svc, tmp_path, monkeypatch)
    yield bm
    bm.close()


@pytest.fixture
def cities() -> pd.DataFrame:
    # A non-default, unordered index: results must keep it, row for row.
    return pd.DataFrame({"city": CITIES, "n": range(len(CITIES))},
                        index=pd.Index([f"c{i:02d}" for i in range(len(CITIES))][::-1], name="key"))


def expected(frame: pd.DataFrame) -> list[str]:
    """What the local responder answers to "echo: {city}": exactly the city."""
    return list(frame["city"])


def ledger_ok(bm: Bedrock) -> pd.DataFrame:
    usage = bm.usage()
    return usage[usage.status == "ok"]


# --------------------------------------------------------------------------------------------------
# map_rows


def test_every_row_answered_with_the_contract_columns(bm, svc, cities, capsys):
    svc.faults.set(latency_ms=60)  # long enough that the rows really overlap
    out = bm.map(cities, "echo: {city}", out="reply", concurrency=4)

    assert list(out.index) == list(cities.index) and out.index.name == "key"
    assert list(out.columns) == ["city", "n", "reply", "reply_input_tokens", "reply_output_tokens",
                                 "reply_latency_ms", "reply_cost_usd", "reply_stop_reason", "reply_error"]
    assert list(out["reply"]) == expected(cities)
    assert out["reply_error"].isna().all() and set(out["reply_stop_reason"]) == {"end_turn"}
    # each city's own token count with Nova's tokenizer (a long name is several tokens)
    assert (out["reply_input_tokens"] > 0).all()
    assert list(out["reply_output_tokens"]) == [local_tokens.count(city, "nova") for city in out["city"]]
    assert (out["reply_cost_usd"] > 0).all() and (out["reply_latency_ms"] > 0).all()
    # The input frame is untouched.
    assert list(cities.columns) == ["city", "n"]

    # One ledger row per call, each cost in the frame is the ledger's.
    ok = ledger_ok(bm)
    assert len(ok) == len(cities) == svc.app.requests_total
    assert ok["cost_usd"].sum() == pytest.approx(out["reply_cost_usd"].sum())
    # Several calls in flight at once, never more than asked for.
    assert 1 < svc.app.peak_in_flight <= 4

    printed = capsys.readouterr()
    tokens = int(out["reply_input_tokens"].sum() + out["reply_output_tokens"].sum())
    assert f"12 rows · {tokens:,} tokens · $" in printed.out
    assert "12/12" in printed.err  # the tqdm bar, finished
    assert out.attrs["bedrock"]["ok"] == 12 and out.attrs["bedrock"]["failed"] == 0


@pytest.mark.parametrize("endpoint, api, model", [
    ("runtime", "converse", NOVA),
    ("runtime", "invoke", HAIKU),
    ("runtime", "invoke", LLAMA),
    ("runtime", "chat", "openai.gpt-oss-20b-1:0"),
    ("mantle", "responses", "openai.gpt-oss-120b"),
])
def test_map_rows_works_on_every_route(bm, cities, endpoint, api, model):
    frame = cities.head(3)
    out = bm.map(frame, "echo: {city}", endpoint=endpoint, api=api, model=model, progress=False)
    assert list(out["answer"]) == expected(frame)
    assert out["answer_error"].isna().all()
    usage = bm.usage()
    assert set(zip(usage.endpoint, usage.api, usage.model)) == {(endpoint, api, model)}


def test_namespace_values_and_row_values_fill_the_template(bm, cities):
    out = bm.map(cities.head(2), "echo: {greeting} {city}", namespace={"greeting": "hello"}, progress=False)
    assert list(out["answer"]) == ["hello Lisbon", "hello Oslo"]


def test_a_template_naming_a_missing_column_fails_before_anything_is_sent(bm, svc, cities):
    with pytest.raises(TemplateError, match="country"):  # the magic shows it as a UsageError line
        bm.map(cities, "echo: {country}", progress=False)
    with pytest.raises(ValueError, match="api"):
        bm.map(cities, "echo: {city}", api="telepathy", progress=False)
    assert svc.app.requests_total == 0 and len(bm.usage()) == 0


def test_a_row_without_a_prompt_is_an_error_row_and_the_others_go_on(bm, svc):
    frame = pd.DataFrame({"text": ["one", "   ", "three"]})
    out = bm.map(frame, "{text}", progress=False)
    assert out["answer_error"].isna().tolist() == [True, False, True]
    assert "empty" in out["answer_error"].iloc[1]
    assert svc.app.requests_total == 2 and len(bm.usage()) == 2  # the empty row was never sent


def test_error_rate_failures_are_recorded_and_a_rerun_sends_only_them(bm, svc, capsys):
    frame = distinct(24)
    svc.faults.set(error_rate=0.3, error_code="ModelErrorException", seed=7)
    first = bm.map(frame, "echo: {city}", concurrency=4)
    failed = first["answer_error"].notna()
    n_failed = int(failed.sum())
    assert 0 < n_failed < len(frame)
    # Nothing lost: every row has its answer or its error.
    assert (first["answer"].notna() ^ failed).all()
    assert first.loc[~failed, "answer"].tolist() == frame.loc[~failed, "city"].tolist()
    assert first.loc[failed, "answer_error"].str.contains("model returned an error").all()
    assert f"{n_failed} failed (ModelErrorException ×{n_failed})" in capsys.readouterr().out
    assert len(bm.usage()) == len(frame) == svc.app.requests_total  # failures are ledger rows too

    svc.faults.clear()
    svc.app.reset_counters()
    second = bm.map(frame, "echo: {city}", concurrency=4)
    assert svc.app.requests_total == n_failed  # only the failed rows were sent again
    assert list(second["answer"]) == list(frame["city"]) and second["answer_error"].isna().all()
    assert second.attrs["bedrock"]["cached"] == len(frame) - n_failed
    assert f"{len(frame) - n_failed} from cache" in capsys.readouterr().out
    # Nothing billed twice: one ok ledger row per row, and cached rows keep their first cost.
    ok = ledger_ok(bm)
    assert len(ok) == len(frame)
    assert ok["cost_usd"].sum() == pytest.approx(second["answer_cost_usd"].sum())
    assert second.loc[~failed, "answer_cost_usd"].tolist() == first.loc[~failed, "answer_cost_usd"].tolist()


def test_throttled_rows_are_slowed_down_and_retried_until_answered(svc, tmp_path, monkeypatch, short_window):
    # No SDK retries (and no botocore client-side rate limiter), so every throttle reaches the run's
    # own pacing: it learns the quota from the calls in flight when the first throttle came (at most
    # the concurrency), then waits for the window instead of sending into it.
    bm = make_bm(svc, tmp_path, monkeypatch, max_attempts=1, retry_mode="standard")
    frame = pd.DataFrame({"city": CITIES})
    throttles = []

    def watch(http_response, **_):
        if http_response.status_code == 429:
            throttles.append(1)

    bm.clients.get("us-east-1", "runtime", "bedrock-runtime").meta.events.register(
        "after-call.bedrock-runtime.Converse", watch)
    svc.faults.set(throttle_rpm=6)
    out = bm.map(frame, "echo: {city}", concurrency=3, progress=False)

    assert 1 <= len(throttles) <= 3 + 1  # the first burst's in-flight calls, and at most one probe
    assert list(out["answer"]) == CITIES and out["answer_error"].isna().all()
    assert svc.app.requests_total == len(frame) + len(throttles)
    usage = bm.usage()
    assert (usage.status == "ok").sum() == len(frame)
    assert (usage.status == "error").sum() == len(throttles)  # each throttled attempt is in the ledger, at no cost
    assert usage.loc[usage.status == "error", "cost_usd"].fillna(0).sum() == 0
    bm.close()


def test_sporadic_throttles_are_absorbed_by_the_sdk_retries(bm, svc):
    # The defaults: botocore's standard retry mode (3 attempts) takes the throttles first.
    frame = distinct(6)
    svc.faults.set(error_rate=0.25, error_code="ThrottlingException", seed=3)
    out = bm.map(frame, "echo: {city}", concurrency=4, progress=False)
    assert list(out["answer"]) == list(frame["city"]) and out["answer_error"].isna().all()
    assert svc.app.requests_total > len(frame)  # some calls were throttled and retried
    assert len(ledger_ok(bm)) == len(frame)


@pytest.fixture
def short_window(monkeypatch):
    """The service's quota window and the pacer's, shortened alike from a minute to two seconds:
    the same arithmetic, in test time."""
    from bedrock_magics import pacing
    from bedrock_magics.local import faults

    monkeypatch.setattr(faults, "WINDOW_SECONDS", 2.0)
    monkeypatch.setattr(pacing, "WINDOW", 2.0)
    pacing.forget_pacers()
    yield 2.0
    pacing.forget_pacers()


@pytest.mark.parametrize("api, model", [("converse", NOVA), ("chat", "openai.gpt-oss-20b-1:0")])
def test_a_quota_is_waited_for_and_no_row_fails_for_throttling(svc, tmp_path, monkeypatch, short_window, api, model):
    # boto3's ThrottlingException and the openai SDK's RateLimitError (429) are paced alike; with the
    # SDKs' own retries off, the pacer alone learns the quota (3 a window) and waits for it.
    bm = make_bm(svc, tmp_path, monkeypatch, max_attempts=1, retry_mode="standard")
    frame = distinct(7)
    svc.faults.set(throttle_rpm=3)
    out = bm.map(frame, "echo: {city}", api=api, model=model, concurrency=2, progress=False)
    assert out["answer_error"].isna().all() and list(out["answer"]) == list(frame["city"])
    assert out.attrs["bedrock"]["errors"] == {}
    # Learned from the first throttle(s) only: the throttles that reached the service are few, not
    # one per retry of every row.
    throttled = svc.app.requests_total - len(frame)
    assert 1 <= throttled <= 4
    assert len(ledger_ok(bm)) == len(frame)
    bm.close()


def test_a_quota_that_never_reopens_fails_the_row_saying_how_long_it_waited(svc, tmp_path, monkeypatch):
    from bedrock_magics import pacing, runner

    monkeypatch.setattr(runner, "THROTTLE_PATIENCE_S", 0.0)  # give up after the first throttle
    pacing.forget_pacers()
    bm = make_bm(svc, tmp_path, monkeypatch, max_attempts=1, retry_mode="standard")
    frame = distinct(4)
    svc.faults.set(throttle_rpm=3)
    out = bm.map(frame, "echo: {city}", concurrency=1, progress=False)
    errors = out["answer_error"].dropna()
    assert len(errors) == 1 and "throttled" in errors.iloc[0] and "throttled 1 times over 0 s" in errors.iloc[0]
    assert out["answer"].notna().sum() == 3
    assert out.attrs["bedrock"]["errors"] == {"ThrottlingException": 1}
    pacing.forget_pacers()
    bm.close()


def test_a_run_whose_first_rows_all_fail_alike_stops_and_skips_the_rest(bm, svc, capsys):
    frame = distinct(40)
    out = bm.map(frame, "echo: {city}", model="amazon.no-such-model-v1:0", concurrency=2)
    sent = len(bm.usage())  # one ledger row per call sent
    errors = out["answer_error"]
    failed = errors[~errors.str.startswith("skipped", na=False)]
    skipped = errors[errors.str.startswith("skipped", na=False)]
    assert len(failed) == sent and runner.BREAKER_ROWS <= sent < runner.BREAKER_ROWS + 2 * 2
    assert len(skipped) == len(frame) - sent
    cause = failed.iloc[0]
    assert (skipped == f"skipped: {cause}").all()
    stats = out.attrs["bedrock"]
    assert stats["stopped"] == cause and stats["ok"] == 0
    summary = capsys.readouterr().out
    assert f"{len(skipped)} skipped: stopped after the first rows all failed with {cause}" in summary
    # A rerun with the model fixed resumes: every row is sent and answered.
    again = bm.map(out.drop(columns=[c for c in out.columns if c.startswith("answer")]), "echo: {city}",
                   model=NOVA, concurrency=2, progress=False)
    assert again["answer_error"].isna().all() and list(again["answer"]) == list(frame["city"])


def test_a_run_whose_first_row_got_through_is_never_stopped(bm, svc):
    # Failures after a success are rows' own troubles: every row is still sent.
    frame = distinct(12)
    before = svc.app.requests_total

    def deny_after_first(done, total, reply):
        if done == 1:
            svc.faults.set(error_rate=1.0, error_code="AccessDeniedException")

    out = bm.map(frame, "echo: {city}", concurrency=1, on_row=deny_after_first, progress=False)
    assert svc.app.requests_total - before == len(frame)
    # The row after the first may already be in flight when on_row denies access: it may get through.
    assert out.attrs["bedrock"]["stopped"] is None and out.attrs["bedrock"]["failed"] in (len(frame) - 2, len(frame) - 1)
    assert not out["answer_error"].str.startswith("skipped", na=False).any()


def test_ctrl_c_keeps_finished_rows_and_a_rerun_completes_without_paying_twice(bm, svc):
    frame = distinct(24)
    svc.faults.set(latency_ms=50)

    def stop_after_five(done, total, reply):
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(BatchInterrupted) as caught:
        bm.map(frame, "echo: {city}", concurrency=2, on_row=stop_after_five, progress=False)
    assert isinstance(caught.value, KeyboardInterrupt)
    partial = caught.value.frame
    answered = partial["answer"].notna()
    cancelled = partial["answer_error"] == "cancelled"
    # Nothing lost: each row is answered or cancelled; the calls in flight were waited for.
    assert (answered ^ cancelled).all()
    assert answered.sum() >= 5 and cancelled.sum() >= 1
    assert partial.loc[answered, "answer"].tolist() == frame.loc[answered, "city"].tolist()
    assert partial.attrs["bedrock"]["interrupted"] is True
    assert partial["answer_input_tokens"][cancelled].isna().all()
    assert svc.app.requests_total == answered.sum() == len(ledger_ok(bm))

    svc.app.reset_counters()
    full = bm.map(frame, "echo: {city}", concurrency=2, progress=False)
    assert list(full["answer"]) == list(frame["city"])
    assert svc.app.requests_total == cancelled.sum()
    assert len(ledger_ok(bm)) == len(frame)


def test_a_real_interrupt_signal_mid_run_is_handled_the_same_way(bm, svc, hold_calls):
    # SIGINT to the main thread while it waits for rows, as the notebook's stop button sends it: three
    # rows answered, the next two calls certainly in flight (held at the service), the rest not sent.
    import threading

    from conftest import interrupt_main_thread

    frame = distinct(36)
    door = hold_calls(let_through=3)
    answered = threading.Event()

    def stop_button() -> None:
        if answered.wait(120) and door.wait_until_held(2):
            interrupt_main_thread()
        door.release()  # the two calls in flight finish: they are billed, so the run keeps them

    def on_row(done, total, reply):
        if done == 3:
            answered.set()

    pressing = threading.Thread(target=stop_button)
    pressing.start()
    try:
        with pytest.raises(BatchInterrupted) as caught:
            bm.map(frame, "echo: {city}", concurrency=2, on_row=on_row, progress=False)
    finally:
        door.release()
        pressing.join()
    partial = caught.value.frame
    assert (partial["answer"].notna() ^ (partial["answer_error"] == "cancelled")).all()
    # The 3 answered and the 2 in flight; at most the 2 queued behind them (window = 2 × concurrency)
    # may start before the stop reaches the workers. Every call sent is answered and in the ledger.
    sent = partial["answer"].notna().sum()
    assert 5 <= sent <= 7 and svc.app.requests_total == sent and len(ledger_ok(bm)) == sent


def test_use_cache_false_sends_every_row_again(bm, svc, cities):
    bm.map(cities, "echo: {city}", progress=False)
    svc.app.reset_counters()
    again = bm.map(cities, "echo: {city}", use_cache=False, progress=False)
    assert svc.app.requests_total == len(cities)
    assert again.attrs["bedrock"]["cached"] == 0
    assert len(ledger_ok(bm)) == 2 * len(cities)


def test_answers_cut_at_max_tokens_are_counted_in_the_summary_not_silent(bm, cities, capsys):
    out = bm.map(cities.head(3), "Tell me about {city}", max_tokens=5)
    assert set(out["answer_stop_reason"]) == {"max_tokens"}
    assert (out["answer_output_tokens"] == 5).all()
    assert out.attrs["bedrock"]["max_tokens"] == 3
    summary = capsys.readouterr().out
    assert "3 rows stopped at max tokens" in summary and "--max-tokens" in summary
    full = bm.map(cities.head(3), "echo: {city}", progress=False)
    assert "stopped at max tokens" not in full.attrs["bedrock"]["summary"]


def test_summary_costs_keep_their_significant_digits(bm, cities, capsys):
    # Three one-token answers cost about a hundred-thousandth of a dollar: never "$0.0000".
    out = bm.map(cities.head(3), "echo: {city}")
    total = out["answer_cost_usd"].sum()
    assert 0 < total < 0.0001
    printed = capsys.readouterr()
    from bedrock_magics.prices import format_usd

    assert printed.out.strip().endswith(format_usd(total)) and "$0.0000 " not in printed.out + " "
    assert f"cost={format_usd(total)}" in printed.err  # the progress bar's postfix says the same
    assert format_usd(total) != "$0" and float(format_usd(total)[1:]) == pytest.approx(total, rel=0.01)


def test_an_out_that_names_an_input_column_is_refused_before_anything_is_sent(bm, svc):
    reviews = pd.DataFrame({"review": ["Great kettle", "Lid sticks"], "answer_error": ["x", "y"]})
    with pytest.raises(ValueError, match=r"--out review would overwrite the frame's column 'review'; "
                                         r"choose another --out .*e\.g\. --out review_answer$"):
        bm.map(reviews, "Summarise: {review}", out="review", progress=False)
    # A generated column (answer_error) colliding is refused too, naming that column.
    with pytest.raises(ValueError, match="'answer_error' \\(one of the result columns it adds\\)"):
        bm.map(reviews, "Summarise: {review}", progress=False)
    with pytest.raises(ValueError, match="would overwrite the frame's column 'review_nova_lite_v1_0'"):
        bm.compare(None, [NOVA, HAIKU], frame=reviews.rename(columns={"review": "review_nova_lite_v1_0"}),
                   template="{review_nova_lite_v1_0}", out="review", progress=False)
    with pytest.raises(ValueError, match="would overwrite the frame's column 'review_embedding'"):
        bm.embed(reviews.assign(review_embedding=1), "review", model="amazon.titan-embed-text-v2:0",
                 progress=False)
    assert svc.app.requests_total == 0 and len(bm.usage()) == 0

    # Running over an earlier run's result with the same --out replaces its answers, as before.
    first = bm.map(reviews[["review"]], "echo: {review}", progress=False)
    again = bm.map(first, "echo: again {review}", progress=False)
    assert list(again["answer"]) == ["again Great kettle", "again Lid sticks"]
    assert list(again.columns).count("answer") == 1


def test_an_empty_frame_gives_the_columns_and_a_zero_rows_summary(bm, svc, capsys):
    empty = pd.DataFrame({"city": pd.Series([], dtype=object)})
    out = bm.map(empty, "echo: {city}")
    assert len(out) == 0
    assert list(out.columns) == ["city", "answer", "answer_input_tokens", "answer_output_tokens",
                                 "answer_latency_ms", "answer_cost_usd", "answer_stop_reason", "answer_error"]
    assert capsys.readouterr().out.strip() == "0 rows · 0 tokens · $0"
    assert out.attrs["bedrock"]["rows"] == 0 and svc.app.requests_total == 0


def test_a_changed_setting_is_not_served_from_the_cache(bm, svc, cities):
    bm.map(cities.head(3), "echo: {city}", progress=False)
    svc.app.reset_counters()
    bm.map(cities.head(3), "echo: {city}", max_tokens=50, progress=False)
    assert svc.app.requests_total == 3


# --------------------------------------------------------------------------------------------------
# compare


def test_compare_three_models_keeps_the_failing_one_as_a_row(bm, svc):
    broken = "us.meta.llama3-1-8b-instruct-v1:0"
    svc.faults.set(model=broken, error_rate=1.0, error_code="AccessDeniedException")
    svc.faults.set(latency_ms=80)
    out = bm.compare("echo: same question", [NOVA, HAIKU, broken])
    assert list(out.columns[:7]) == ["model", "text", "input_tokens", "output_tokens", "latency_ms", "cost_usd",
                                     "error"]
    assert list(out["model"]) == [NOVA, HAIKU, broken]
    assert out["text"].tolist()[:2] == ["same question", "same question"]
    assert out["error"].isna().tolist() == [True, True, False]
    assert "access" in out["error"].iloc[2].lower()
    assert (out["cost_usd"].iloc[:2] > 0).all() and out["cost_usd"].iloc[2] == 0
    assert svc.app.peak_in_flight >= 2  # the models were asked at the same time
    assert len(bm.usage()) == 3


def test_compare_over_a_frame_gives_one_column_set_per_model(bm, cities):
    frame = cities.head(4)
    out = bm.compare(None, [NOVA, HAIKU], frame=frame, template="echo: {city}", progress=False)
    assert out.attrs["bedrock"]["columns"] == {NOVA: "nova_lite_v1_0", HAIKU: "claude_3_haiku_20240307_v1_0"}
    for slug in ("nova_lite_v1_0", "claude_3_haiku_20240307_v1_0"):
        assert list(out[f"answer_{slug}"]) == expected(frame)
        for suffix in ("input_tokens", "output_tokens", "latency_ms", "cost_usd", "stop_reason", "error"):
            assert f"answer_{slug}_{suffix}" in out.columns
    assert list(out.index) == list(frame.index)
    assert len(bm.usage()) == 8


def test_the_same_model_twice_is_refused_not_silently_merged(bm, svc, cities):
    with pytest.raises(ValueError, match=f"^-m {NOVA} is given twice"):
        bm.compare("echo: hi", [NOVA, HAIKU, NOVA])
    with pytest.raises(ValueError, match="given twice"):
        bm.compare(None, [NOVA, NOVA], frame=cities, template="echo: {city}")
    assert svc.app.requests_total == 0


def test_compare_reports_answers_cut_at_max_tokens(bm, cities):
    single = bm.compare("Tell me about Lisbon", [NOVA, HAIKU], max_tokens=4, progress=False)
    assert list(single["stop_reason"]) == ["max_tokens", "max_tokens"]
    assert "2 models stopped at max tokens" in single.attrs["bedrock"]["summary"]
    framed = bm.compare(None, [NOVA, HAIKU], frame=cities.head(2), template="Tell me about {city}",
                        max_tokens=4, progress=False)
    assert set(framed["answer_nova_lite_v1_0_stop_reason"]) == {"max_tokens"}
    assert "4 calls stopped at max tokens" in framed.attrs["bedrock"]["summary"]


def test_model_slugs_stay_unique():
    models = ["us.amazon.nova-lite-v1:0", "eu.amazon.nova-lite-v1:0"]
    slugs = {batch.model_slug(m, models) for m in models}
    assert len(slugs) == 2


# --------------------------------------------------------------------------------------------------
# dry_run


def test_dry_run_counts_with_count_tokens_where_supported_and_sends_nothing_billable(bm, svc, cities):
    frame = cities.head(3)
    dry = bm.dry_run(frame, "Tell me about {city}", model=HAIKU, max_tokens=100)
    assert (dry["count_method"] == "count_tokens").all()
    assert len(bm.usage()) == 0  # nothing billable, nothing in the ledger

    # CountTokens says exactly what the call is then billed for.
    real = bm.map(frame, "Tell me about {city}", model=HAIKU, max_tokens=100, progress=False)
    assert dry["input_tokens"].tolist() == real["answer_input_tokens"].tolist()
    assert (dry["input_cost_usd"] > 0).all()
    assert (dry["max_cost_usd"] > dry["input_cost_usd"]).all()
    assert dry.attrs["bedrock"]["input_tokens"] == int(dry["input_tokens"].sum())


def test_dry_run_uses_the_bare_model_id_of_a_profile_and_estimates_elsewhere(bm, svc, cities):
    frame = cities.head(3)
    profile = bm.dry_run(frame, "Tell me about {city}", model="us.anthropic.claude-3-5-haiku-20241022-v1:0")
    assert (profile["count_method"] == "count_tokens").all()

    nova = bm.dry_run(frame, "Tell me about {city}", model=NOVA)
    assert (nova["count_method"] == "estimate").all()
    real = bm.map(frame, "Tell me about {city}", model=NOVA, progress=False)
    # The estimate is an estimate: the right size, not the exact count.
    ratio = nova["input_tokens"].sum() / real["answer_input_tokens"].sum()
    assert 0.5 < ratio < 2
    assert "count_tokens" not in nova.attrs["bedrock"]["count_methods"]
    assert len(ledger_ok(bm)) == 3  # only the real run


def test_dry_run_of_a_single_prompt(bm):
    dry = bm.dry_run("How long is the Douro river?", model=HAIKU)
    assert len(dry) == 1 and dry["count_method"].iloc[0] == "count_tokens"
    assert dry["prompt"].iloc[0] == "How long is the Douro river?"
    assert dry["input_tokens"].iloc[0] > 0 and math.isnan(dry["max_cost_usd"].iloc[0])


def multiply(a: int, b: int) -> int:
    """Multiply two whole numbers."""
    return a * b


@pytest.mark.parametrize("model, method", [(HAIKU, "count_tokens"), (NOVA, "estimate")])
def test_dry_run_counts_the_tool_schemas_the_call_sends(bm, model, method):
    bare = bm.dry_run("What is a=6 times b=7?", model=model)
    dry = bm.dry_run("What is a=6 times b=7?", model=model, tools=[multiply])
    assert dry["count_method"].iloc[0] == method
    assert dry["input_tokens"].iloc[0] > bare["input_tokens"].iloc[0] + 20  # the schema is input
    bm.ask("What is a=6 times b=7?", model=model, tools=[multiply])
    first_round = bm.usage().iloc[0]
    if method == "count_tokens":
        assert dry["input_tokens"].iloc[0] == first_round.input_tokens  # exactly what was billed
    else:
        assert 0.5 < dry["input_tokens"].iloc[0] / first_round.input_tokens < 2


@pytest.mark.parametrize("model, endpoint, api", [(HAIKU, None, None), ("openai.gpt-oss-120b", "mantle", "responses")])
def test_dry_run_counts_the_conversation_history(bm, model, endpoint, api):
    route = {k: v for k, v in (("endpoint", endpoint), ("api", api)) if v}
    bm.ask("My name is Ada and I collect maps of rivers.", model=model, chat="notes", **route)
    alone = bm.dry_run("What do I collect?", model=model, **route)
    dry = bm.dry_run("What do I collect?", model=model, chat="notes", **route)
    assert dry["input_tokens"].iloc[0] > alone["input_tokens"].iloc[0] + 20
    second = bm.ask("What do I collect?", model=model, chat="notes", **route)
    if api is None:  # CountTokens: exact
        assert dry["input_tokens"].iloc[0] == second.input_tokens
    else:  # mantle keeps the history server-side and bills it: the estimate includes it
        assert 0.5 < dry["input_tokens"].iloc[0] / second.input_tokens < 2
    # An estimate never creates a conversation.
    bm.dry_run("hello", chat="never-used")
    assert "never-used" not in bm.chats


# --------------------------------------------------------------------------------------------------
# embeddings


@pytest.mark.parametrize("model, dims", [("amazon.titan-embed-text-v2:0", 256), ("cohere.embed-english-v3", None)])
def test_embeddings_column_of_vectors(bm, svc, model, dims):
    frame = pd.DataFrame({"doc": ["the sea is blue", "", "the sea is blue", "mountains are tall"]})
    out = bm.embed(frame, "doc", model=model, dimensions=dims, normalize=True if dims else None, progress=False)
    vectors = out["doc_embedding"]
    assert vectors.iloc[1] is None and "no text" in out["doc_embedding_error"].iloc[1]
    for i in (0, 2, 3):
        v = vectors.iloc[i]
        assert isinstance(v, np.ndarray) and v.ndim == 1 and v.shape[0] == (dims or v.shape[0])
        assert out["doc_embedding_input_tokens"].iloc[i] > 0
    np.testing.assert_allclose(vectors.iloc[0], vectors.iloc[2])  # same text, same vector
    assert not np.allclose(vectors.iloc[0], vectors.iloc[3])
    if dims:
        assert np.linalg.norm(vectors.iloc[0]) == pytest.approx(1.0, abs=1e-3)
    # The duplicate text came from the cache of its twin or was sent: never more than 3 calls.
    assert svc.app.requests_total <= 3
    assert set(bm.usage()["model"]) == {model}


def test_embeddings_refuse_a_text_model(bm):
    with pytest.raises(ValueError, match="not an embedding model: use -m amazon.titan-embed-text-v2:0"):
        bm.embed(pd.DataFrame({"t": ["x"]}), "t", model=NOVA)


def test_embeddings_without_a_model_say_which_option_to_add(bm):
    with pytest.raises(ValueError) as info:
        bm.embed(pd.DataFrame({"t": ["x"]}), "t")
    assert str(info.value).startswith("an embedding model is needed: add -m amazon.titan-embed-text-v2:0")
    assert "embed_rows" not in str(info.value)
    with pytest.raises(ValueError, match="--embed COLUMN"):
        bm.embed(pd.DataFrame({"t": ["x"]}), "nope", model="amazon.titan-embed-text-v2:0")


def test_a_throttled_count_estimates_that_row_only(svc, tmp_path, monkeypatch, cities):
    # A throttle (or a dropped connection) says nothing about whether the model supports
    # CountTokens: the later rows are counted again, not all estimated.
    bm = make_bm(svc, tmp_path, monkeypatch, retry_mode="standard", max_attempts=1)
    svc.faults.set(model=HAIKU, error_rate=0.5, error_code="ThrottlingException", seed=11)
    try:
        dry = bm.dry_run(cities, "Tell me about {city}", model=HAIKU, concurrency=1)
    finally:
        svc.faults.clear()
        bm.close()
    methods = dry["count_method"].tolist()
    assert "estimate" in methods  # the throttled rows
    first_estimate = methods.index("estimate")
    assert "count_tokens" in methods[first_estimate + 1:]  # counted again after a throttle
    assert "failed for some rows" in dry.attrs["bedrock"]["notes"][HAIKU]


def test_a_model_without_count_tokens_is_estimated_after_its_first_refusal(bm, svc, cities):
    dry = bm.dry_run(cities.head(4), "Tell me about {city}", model=NOVA, concurrency=1)
    assert (dry["count_method"] == "estimate").all()
    assert "CountTokens unavailable" in dry.attrs["bedrock"]["notes"][NOVA]
    assert svc.app.requests_total == 1  # one refusal, then the estimate without asking


def test_after_ctrl_c_the_pool_collects_what_is_in_flight_then_stops():
    """``runner.pooled``: a Ctrl-C while results are handled sets stop, cancels what has not started,
    collects the calls in flight (``draining=True``) and re-raises; the drain ends when the live
    futures are done, whatever the counter said when the interrupt landed."""
    import threading

    from bedrock_magics.runner import pooled

    gate, started = threading.Event(), threading.Semaphore(0)
    seen: list[tuple[int, bool]] = []
    told: list[int] = []

    def work(n: int) -> int:
        started.release()
        if n > 0:
            gate.wait(30)  # in flight until the interrupt has landed
        return n

    def accept(n: int, draining: bool) -> None:
        seen.append((n, draining))
        if n == 0:
            for _ in range(3):
                started.acquire()  # task 0 ran, tasks 1 and 2 are running on the two workers
            raise KeyboardInterrupt

    def interrupted(in_flight: int) -> None:
        told.append(in_flight)
        gate.set()  # the calls in flight finish while the pool drains

    stop = threading.Event()
    with pytest.raises(KeyboardInterrupt):
        pooled(range(50), work, accept, concurrency=2, stop=stop, on_interrupt=interrupted)
    assert stop.is_set() and told == [2]
    drained = sorted(n for n, draining in seen if draining)
    assert seen[0] == (0, False) and drained[:2] == [1, 2] and len(seen) <= 1 + 2 * 2  # the queued rest cancelled


@pytest.mark.timeout(60)
def test_a_ctrl_c_landing_just_as_a_result_arrives_loses_no_row_and_does_not_hang(monkeypatch):
    """The stop button's SIGINT can land on any bytecode; under load it often lands just as a call
    finishes: here right after the pool's wait returned a finished task (simulated by raising there
    once, in the main thread). That row is still collected, with the call still in flight, and the
    drain ends (results are read from the futures, not taken off a queue)."""
    import threading
    from concurrent.futures import wait as real_wait

    from bedrock_magics import runner

    gate = threading.Event()
    armed = [True]

    def wait_then_signal(*args, **kwargs):
        done, rest = real_wait(*args, **kwargs)
        if done and armed[0] and threading.current_thread() is threading.main_thread():
            armed[0] = False
            gate.set()  # the other calls in flight may now finish
            raise KeyboardInterrupt
        return done, rest

    monkeypatch.setattr(runner, "wait", wait_then_signal)
    seen: list[tuple[int, bool]] = []
    with pytest.raises(KeyboardInterrupt):
        runner.pooled(range(10), lambda n: n if n == 0 else (gate.wait(30), n)[1],
                      lambda n, draining: seen.append((n, draining)), concurrency=2)
    assert (0, True) in seen and (1, True) in seen  # the arrived row and the one in flight
    assert len({n for n, _ in seen}) == len(seen)  # each once
