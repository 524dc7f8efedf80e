"""Issue 13 (items 2-6): the analyst's tables, in an in-process IPython shell against the local
Bedrock service over HTTPS (real boto3/openai clients): model columns, offline regions, the usage
views, readable comparisons, --df expressions, %bedrock embed, --limit and --max-cost.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from IPython.core.error import UsageError

from bedrock_magics.catalog import AVAILABLE, access_text
from bedrock_magics.errors import BedrockError
from test_magics import ip, run, run_ok, shell  # noqa: F401 - the shared shell fixtures

MODEL = "us.amazon.nova-lite-v1:0"
HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.fixture
def reviews(ip):
    frame = pd.DataFrame({"review": ["Great phone, lasts all day.", "Screen cracked in a week.",
                                     "Fine for the price.", "Très bon produit.", "Livraison lente."],
                          "lang": ["en", "en", "en", "fr", "fr"]})
    ip.user_ns["reviews"] = frame
    yield frame
    for name in ("reviews", "res", "emb", "u", "table"):
        ip.user_ns.pop(name, None)


def usage_error(ip, code: str) -> str:
    result, captured = run(ip, code)
    assert isinstance(result.error_in_exec, UsageError), result.error_in_exec
    message = str(result.error_in_exec)
    assert "\n" not in message and "Traceback" not in captured.stdout + captured.stderr
    return message


# -- item 2: %bedrock models columns ------------------------------------------------------------------

def test_models_has_prices_context_window_and_access(ip):
    result, _ = run_ok(ip, "%bedrock models -r us-east-1")
    frame = result.result
    for column in ("context_window", "input_per_1m_usd", "output_per_1m_usd", "access"):
        assert column in frame.columns
    haiku = frame[frame["model_id"] == HAIKU].iloc[0]
    assert haiku["context_window"] == 200_000
    assert haiku["input_per_1m_usd"] > 0 and haiku["output_per_1m_usd"] > haiku["input_per_1m_usd"]
    assert haiku["access"] == AVAILABLE  # the profile inherits its base model's availability
    foundation = frame[frame["kind"] == "foundation-model"]
    assert (foundation["access"] == AVAILABLE).all()  # the local service grants every listed model
    # The cost of a call is priced from the same source: 1M input tokens cost input_per_1m_usd.
    from bedrock_magics import prices
    assert prices.cost(HAIKU, 1_000_000, 0) == pytest.approx(haiku["input_per_1m_usd"])


@pytest.mark.parametrize("answer, expected", [
    ({"regionAvailability": "NOT_AVAILABLE", "authorizationStatus": "AUTHORIZED",
      "entitlementAvailability": "AVAILABLE", "agreementAvailability": {"status": "AVAILABLE"}},
     "not offered in this region"),
    ({"regionAvailability": "AVAILABLE", "authorizationStatus": "NOT_AUTHORIZED",
      "entitlementAvailability": "AVAILABLE", "agreementAvailability": {"status": "AVAILABLE"}}, "not authorized"),
    ({"regionAvailability": "AVAILABLE", "authorizationStatus": "AUTHORIZED",
      "entitlementAvailability": "NOT_AVAILABLE", "agreementAvailability": {"status": "NOT_AVAILABLE"}},
     "request access"),
    ({"regionAvailability": "AVAILABLE", "authorizationStatus": "AUTHORIZED",
      "entitlementAvailability": "AVAILABLE", "agreementAvailability": {"status": "PENDING"}}, "pending"),
])
def test_access_says_how_to_get_a_model(answer, expected):
    # The answers are GetFoundationModelAvailability's documented shapes (botocore's service model).
    assert expected in access_text(answer)


# -- item 3: a region the local service does not serve -------------------------------------------------

def test_an_offline_region_names_the_served_regions_not_the_secret_key(ip):
    result, captured = run(ip, "%%bedrock -r af-south-1 --no-stream\nhi")
    error = result.error_in_exec
    assert isinstance(error, BedrockError) and error.code == "RegionNotServed"
    shown = captured.stdout
    assert "doesn't serve af-south-1" in shown and "us-east-1" in shown and "us-west-2" in shown
    assert "secret access key" not in shown


# -- item 4: usage ------------------------------------------------------------------------------------

def _calls(ip):
    run_ok(ip, f"%%bedrock -m {MODEL} --no-stream\necho: one")
    run_ok(ip, f"%%bedrock -m {HAIKU} --no-stream\necho: two")
    run(ip, "%%bedrock -m amazon.nova-lte-v1:0 --no-stream\nthree")  # a failed call is a row too


def test_usage_is_compact_and_the_value_keeps_every_column(ip):
    _calls(ip)
    result, _ = run_ok(ip, "%bedrock usage")
    frame = result.result
    html = frame._repr_html_()
    header = [h for h in re.findall(r"<th>([^<]*)</th>", html) if h]
    assert header[:9] == ["time", "model", "route", "input_tokens", "output_tokens", "latency_ms", "cost_usd",
                          "status", "error"]
    assert "session" not in header and "request_id" not in header
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>", html)  # to the second, no microseconds
    assert "runtime/converse" in html and "--full" in html
    assert {"session", "request_id", "endpoint", "api"} <= set(frame.columns)  # the value: the whole frame
    full, _ = run_ok(ip, "%bedrock usage --full")
    assert "<th>request_id</th>" in full.result._repr_html_()


def test_usage_by_model_summarises(ip):
    _calls(ip)
    table = run_ok(ip, "%bedrock usage --by model")[0].result
    assert list(table.columns) == ["calls", "errors", "input_tokens", "output_tokens", "total_tokens", "cost_usd",
                                   "median_latency_ms"]
    assert table.loc[MODEL, "calls"] == 1 and table.loc["amazon.nova-lte-v1:0", "errors"] == 1
    assert table["calls"].sum() == 3
    by_day = run_ok(ip, "%bedrock usage --by day")[0].result
    assert by_day["calls"].sum() == 3 and len(by_day) == 1
    by_api = run_ok(ip, "%bedrock usage --by api")[0].result
    assert list(by_api.index) == ["runtime/converse"]


def test_usage_plot_draws_cost_and_tokens(ip):
    _calls(ip)
    result, captured = run_ok(ip, "%bedrock usage --by model --plot")
    (figure,) = [o for o in captured.outputs if "image/png" in o.data]
    assert len(figure.data["image/png"]) > 1000
    assert result.result["calls"].sum() == 3  # the summary is still the value


@pytest.mark.parametrize("line, words", [
    ("%bedrock usage --by week", "unknown value 'week'"),
    ("%bedrock usage --full --by model", "give one of the two"),
])
def test_usage_bad_input_is_one_line(ip, line, words):
    assert words in usage_error(ip, line)


# -- item 5: comparisons ------------------------------------------------------------------------------

def test_compare_shows_whole_answers_wrapped(ip):
    result, _ = run_ok(ip, f"%%bedrock -m {MODEL} -m {HAIKU} --max-tokens 200\nName a cat who likes statistics.")
    frame = result.result
    html = frame._repr_html_()
    for text in frame["text"]:
        assert len(text) > 50 and text in html  # not cut at 50 characters
    assert "white-space:pre-wrap" in html
    assert type(frame[["model"]]) is pd.DataFrame  # operations give a plain DataFrame


def test_compare_over_a_frame_in_long_form(ip, reviews):
    run_ok(ip, f"%%bedrock res --df reviews -m {MODEL} -m {HAIKU} --long --out label\nLabel: {{review}}")
    res = ip.user_ns["res"]
    assert len(res) == 2 * len(reviews)
    assert list(res.columns[:3]) == ["review", "lang", "model"]
    assert {"label", "label_input_tokens", "label_cost_usd", "label_error"} <= set(res.columns)
    assert list(res["model"][:2]) == [MODEL, HAIKU]  # row by row, the models in the order given
    assert list(res.index[:2]) == [0, 0]
    per_model = res.groupby("model")["label_output_tokens"].sum()
    assert set(per_model.index) == {MODEL, HAIKU} and (per_model > 0).all()


def test_long_needs_several_models(ip, reviews):
    assert "give several -m" in usage_error(ip, f"%%bedrock --df reviews -m {MODEL} --long\n{{review}}")


# -- item 6: --df expressions, embed, --limit, --max-cost --------------------------------------------------

def test_df_takes_an_expression(ip, reviews):
    run_ok(ip, "%%bedrock res --df reviews.head(3) --out a\necho: {review}")
    assert list(ip.user_ns["res"]["a"]) == list(reviews["review"][:3])
    run_ok(ip, '%%bedrock res --df reviews[reviews.lang == "fr"] --out a\necho: {review}')
    assert list(ip.user_ns["res"]["a"]) == ["Très bon produit.", "Livraison lente."]
    run_ok(ip, "%%bedrock res --df 'reviews[reviews.lang == \"en\"]' --out a\necho: {review}")  # quoted whole
    assert len(ip.user_ns["res"]) == 3


@pytest.mark.parametrize("expression, words", [
    ("reviews.nope", "AttributeError"),
    ("reviews[", "not a Python expression"),
    ("reviews.review", "is a Series, not a pandas DataFrame"),
    ("undefined_frame.head(2)", "NameError"),
])
def test_df_expression_errors_are_one_line(ip, reviews, expression, words):
    assert words in usage_error(ip, f"%%bedrock --df {expression}\n{{review}}")


def test_embed_line_command_needs_no_cell_body(ip, reviews):
    result, _ = run_ok(ip, "emb = %bedrock embed reviews.review -m amazon.titan-embed-text-v2:0 --out vec")
    emb = ip.user_ns["emb"]
    assert len(emb) == len(reviews) and emb["vec"].iloc[0].shape == (1024,)
    assert emb["vec_error"].isna().all()
    assert "no column 'reveiw' (did you mean review?)" in usage_error(
        ip, "%bedrock embed reviews.reveiw -m amazon.titan-embed-text-v2:0")
    assert "FRAME.COLUMN" in usage_error(ip, "%bedrock embed reviews -m amazon.titan-embed-text-v2:0")


def test_limit_sends_only_the_first_rows(ip, reviews):
    run_ok(ip, "%%bedrock res --df reviews --limit 2 --out a\necho: {review}")
    assert len(ip.user_ns["res"]) == 2
    assert len(current_usage(ip)) == 2
    assert "at least 1" in usage_error(ip, "%%bedrock --df reviews --limit 0\n{review}")
    assert "needs --df" in usage_error(ip, "%%bedrock --limit 2\nhi")


def current_usage(ip):
    from bedrock_magics.magics import current

    return current(ip).usage()


def run_over(ip, frame, options: str, template: str) -> str:
    """Run ``template`` over ``frame`` (as ``big``) into ``res`` with ``options``, two calls at a time,
    no cache; return what the cell printed."""
    ip.user_ns["big"] = frame
    try:
        _, captured = run_ok(ip, f"%%bedrock res --df big {options} --concurrency 2 --no-cache --out a\n{template}")
    finally:
        ip.user_ns.pop("big", None)
    return captured.stdout


def test_max_cost_shows_the_estimate_and_stops_before_the_cap(ip, reviews):
    big = pd.concat([reviews] * 8, ignore_index=True)  # 40 rows
    shown = run_over(ip, big, f"-m {HAIKU} --max-tokens 50 --max-cost 0.002", "Say something about: {review}")
    assert re.search(r"estimate: 40 calls, at most \$[\d.]+ with max_tokens \(over --max-cost \$0\.002", shown)
    assert "stopped at --max-cost $0.002" in shown
    res = ip.user_ns["res"]
    spent = current_usage(ip)["cost_usd"].sum()
    assert 0 < spent <= 0.002  # stopped before passing the cap
    sent = res["a_error"].ne("cancelled")
    assert 0 < sent.sum() < len(big) and (res.loc[~sent, "a"].isna()).all()


def test_max_cost_within_the_cap_runs_everything(ip, reviews):
    result, captured = run_ok(ip, "%%bedrock res --df reviews --max-tokens 20 --max-cost 5 --out a\n{review}")
    assert "(within --max-cost $5.00" in captured.stdout and "stopped at --max-cost" not in captured.stdout
    assert ip.user_ns["res"]["a_error"].isna().all()


@pytest.mark.parametrize("line, words", [
    ("%%bedrock --df reviews --max-cost abc\n{review}", "--max-cost takes an amount"),
    ("%%bedrock --df reviews --max-cost -1\n{review}", "--max-cost takes an amount"),
    ("%%bedrock --max-cost 1\nhi", "needs --df"),
    (f"%%bedrock --df reviews -m {HAIKU} --max-tokens 100000 --max-cost 0.0001\n{{review}}", "leaves no room"),
])
def test_max_cost_bad_input_is_one_line(ip, reviews, line, words):
    assert words in usage_error(ip, line)


def test_no_max_tokens_means_no_worst_case(ip, reviews):
    # Without a cap on each answer there is no worst case to hold the run under.
    message = usage_error(ip, "%%bedrock --df reviews --max-cost 1\n{review}")
    assert "--max-tokens" in message and "worst case" in message


def test_max_cost_guards_a_comparison_too(ip, reviews):
    big = pd.concat([reviews] * 6, ignore_index=True)  # 30 rows x 2 models
    shown = run_over(ip, big, f"-m {MODEL} -m {HAIKU} --long --max-tokens 40 --max-cost 0.0015", "About: {review}")
    assert "estimate: 60 calls" in shown and "stopped at --max-cost $0.0015" in shown
    assert 0 < current_usage(ip)["cost_usd"].sum() <= 0.0015
    res = ip.user_ns["res"]
    assert len(res) == 60 and set(res["model"]) == {MODEL, HAIKU}  # the long form of the partial run


def test_long_form_in_the_python_api(ip, reviews):
    from bedrock_magics.magics import current

    res = current(ip).compare("echo: {review}", models=[MODEL, HAIKU], frame=reviews.head(2), long=True,
                              progress=False)
    assert list(res["model"]) == [MODEL, HAIKU, MODEL, HAIKU]
    assert list(res["answer"]) == ["Great phone, lasts all day."] * 2 + ["Screen cracked in a week."] * 2
