"""Bedrock batch inference jobs from a DataFrame, end to end: the rows go to moto's S3 server as
JSONL, the local service runs the job (CreateModelInvocationJob over real HTTPS), and the results
come back into the frame by ``recordId`` — with usage in the ledger, once."""

from __future__ import annotations

import json
import math
import uuid
import warnings

import pandas as pd
import pytest

from bedrock_magics import jobs, prices
from bedrock_magics.core import Bedrock
from bedrock_magics.errors import BedrockError
from bedrock_magics.local import tokens as tokenizers

ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
LLAMA = "us.meta.llama3-1-8b-instruct-v1:0"
# The local catalog's application inference profile (called by ARN) routes to Nova Lite.
APP_PROFILE = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/l0c4lapp1x2y"
IMPORTED = "arn:aws:bedrock:us-east-1:123456789012:imported-model/q8w2e4r6t0yz"  # its ARN names no family
WORDS = ["amber", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper"]


@pytest.fixture
def bm(local_service, s3_endpoint, tmp_path, monkeypatch):
    for name in ("AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    local_service.faults.clear()
    bm = Bedrock(ledger_path=str(tmp_path / "ledger.sqlite"), model=CLAUDE)
    bm.use_local(service=local_service)
    yield bm
    bm.close()


@pytest.fixture
def words() -> pd.DataFrame:
    return pd.DataFrame({"word": WORDS, "n": range(len(WORDS))}, index=[f"w{i}" for i in range(len(WORDS))][::-1])


def lines(s3, bucket: str, prefix: str, suffix: str) -> dict[str, list[dict]]:
    found = {}
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        if obj["Key"].endswith(suffix):
            text = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode()
            found[obj["Key"]] = [json.loads(line) for line in text.splitlines() if line.strip()]
    return found


def rewrite(s3, bucket: str, key: str, records: list[dict]) -> None:
    body = "".join(json.dumps(r) + "\n" for r in records)
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())


def test_a_frame_runs_as_a_batch_job_and_comes_back_by_record_id(bm, s3, bucket, words, capsys):
    info = jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/runs", role_arn=ROLE,
                           name="words-1", max_tokens=64)
    assert "batch job words-1 submitted: 10 records" in capsys.readouterr().out
    assert info["model"] == CLAUDE and info["records"] == 10
    assert info["input_uri"] == f"s3://{bucket}/runs/words-1/input/"

    # The input is JSONL: one record per row, recordId from the row position, the model's own body.
    (key, records), = lines(s3, bucket, "runs/words-1/input/", ".jsonl").items()
    assert [r["recordId"] for r in records] == [jobs.record_id(i) for i in range(10)]
    first = records[0]["modelInput"]
    assert first["anthropic_version"] and first["max_tokens"] == 64
    assert first["messages"][0]["content"][0]["text"] == "echo: amber"

    done = jobs.wait_job(bm, "words-1", poll_s=0.2, progress=False)
    assert done["status"] == "Completed" and done["processed"] == done["succeeded"] == 10

    # Bedrock does not promise output order: reverse the output file before reading it back.
    output_prefix = f"runs/words-1/output/{info['job_id']}/"
    (out_key, out_records), = lines(s3, bucket, output_prefix, ".jsonl.out").items()
    rewrite(s3, bucket, out_key, out_records[::-1])

    result = jobs.collect_job(bm, "words-1", words)
    assert list(result.index) == list(words.index)
    assert list(result["answer"]) == WORDS
    assert result["answer_error"].isna().all()
    assert (result["answer_input_tokens"] > 0).all()
    # Each echoed word counted by Claude's tokenizer (the responder's per-family counts).
    assert list(result["answer_output_tokens"]) == [tokenizers.count(w, tokenizers.family_of(CLAUDE)) for w in WORDS]
    # Batch prices: half of on-demand.
    tokens = zip(result["answer_input_tokens"], result["answer_output_tokens"])
    on_demand = [prices.cost(CLAUDE, i, o) for i, o in tokens]
    assert result["answer_cost_usd"].tolist() == pytest.approx([c * 0.5 for c in on_demand])

    usage = bm.usage()
    assert len(usage) == 10 and set(usage["api"]) == {"batch"} and set(usage["status"]) == {"ok"}
    assert usage["cost_usd"].sum() == pytest.approx(result["answer_cost_usd"].sum())

    # Collecting again gives the same frame and bills nothing twice.
    again = jobs.collect_job(bm, info["arn"], words, progress=False)
    assert list(again["answer"]) == WORDS
    assert len(bm.usage()) == 10


def test_failed_and_missing_records_are_error_rows(bm, s3, bucket, words):
    info = jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/", role_arn=ROLE, progress=False)
    assert jobs.wait_job(bm, info["name"], poll_s=0.2, progress=False)["status"] == "Completed"
    prefix = f"{info['name']}/output/{info['job_id']}/"
    (out_key, out_records), = lines(s3, bucket, prefix, ".jsonl.out").items()
    # As AWS reports them: one record rejected by the model, one never processed (a stopped job).
    by_id = {r["recordId"]: r for r in out_records}
    rejected = by_id[jobs.record_id(3)]
    rejected.pop("modelOutput")
    rejected["error"] = {"errorCode": 400, "errorMessage": "Malformed input request"}
    del by_id[jobs.record_id(7)]
    rewrite(s3, bucket, out_key, list(by_id.values()))

    result = jobs.collect_job(bm, info["name"], words, progress=False)
    errors = result["answer_error"]
    assert errors.notna().tolist() == [i in (3, 7) for i in range(10)]
    assert "Malformed input request" in errors.iloc[3]
    assert "missing from the output" in errors.iloc[7]
    assert result["answer"].notna().sum() == 8
    usage = bm.usage()
    assert (usage.status == "ok").sum() == 8 and (usage.status == "error").sum() == 1


def test_a_job_is_found_by_name_id_or_arn_and_collects_without_the_frame(bm, s3, bucket, words, monkeypatch,
                                                                          s3_endpoint):
    # S3 through the standard AWS_ENDPOINT_URL_S3 variable, as with any S3-compatible store.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_endpoint)
    info = jobs.submit_job(bm, words.head(4), "echo: {word}", s3_uri=f"s3://{bucket}/x", role_arn=ROLE,
                            model=LLAMA, name="by-name", progress=False)
    assert info["model"] == LLAMA
    for ident in ("by-name", info["job_id"], info["arn"]):
        assert jobs.job_status(bm, ident)["arn"] == info["arn"]
    jobs.wait_job(bm, info["arn"], poll_s=0.2, progress=False)
    status = jobs.job_status(bm, "by-name")
    assert status["status"] == "Completed" and status["total"] == 4

    result = jobs.collect_job(bm, "by-name", progress=False, record=False)
    assert list(result["record_id"]) == [jobs.record_id(i) for i in range(4)]
    assert list(result["answer"]) == WORDS[:4]
    assert len(bm.usage()) == 0  # record=False


def test_bad_job_input_fails_before_anything_is_sent(bm, s3, bucket, words):
    with pytest.raises(ValueError, match="s3://"):
        jobs.submit_job(bm, words, "echo: {word}", s3_uri="bucket/prefix", role_arn=ROLE)
    with pytest.raises(ValueError, match="role"):
        jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/", role_arn="BedrockBatch")
    with pytest.raises(ValueError, match="not valid"):
        jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/", role_arn=ROLE, name="no spaces")
    with pytest.raises(ValueError, match="no batch inference job named"):
        jobs.job_status(bm, "never-submitted")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_a_running_job_cannot_be_collected_yet(bm, s3, bucket, words, local_service):
    local_service.app.state["job_record_delay_s"] = 0.5
    try:
        info = jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/", role_arn=ROLE, progress=False)
        with pytest.raises(RuntimeError, match="wait for it to finish"):
            jobs.collect_job(bm, info["name"], words)
        bm.clients.get("us-east-1", "control", "bedrock").stop_model_invocation_job(jobIdentifier=info["arn"])
        final = jobs.wait_job(bm, info["name"], poll_s=0.2, progress=False)
    finally:
        local_service.app.state.pop("job_record_delay_s", None)
    assert final["status"] == "Stopped"
    result = jobs.collect_job(bm, info["name"], words, progress=False)
    missing = result["answer_error"].dropna()
    assert len(missing) >= 1 and missing.str.contains(r"missing from the output .*\(Stopped\)").all()
    assert (result["answer"].notna() | result["answer_error"].notna()).all()


def no_placeholders(err: BedrockError) -> None:
    import re

    text = "\n".join(err._render_traceback_())
    assert not re.search(r"\bthe model\b|\bthis region\b", text), text


def test_a_missing_bucket_is_named_as_such_not_as_an_unknown_model(bm, words):
    missing = f"missing-{uuid.uuid4().hex[:8]}"
    with pytest.raises(BedrockError) as info:
        jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{missing}/jobs/", role_arn=ROLE,
                        model="amazon.nova-lite-v1:0", name="nobucket", progress=False)
    err = info.value
    assert err.code == "NoSuchBucket"
    assert err.message == f"writing the records to s3://{missing}/jobs/nobucket/: Bucket {missing} does not exist."
    assert "Create it" in err.hint and "--job" in err.hint
    no_placeholders(err)


def test_an_unknown_model_names_the_model_and_region(bm, s3, bucket, words):
    model = f"nosuch.model-{uuid.uuid4().hex[:6]}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(BedrockError) as info:
            jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/", role_arn=ROLE, model=model,
                            name="unknown-model", progress=False)
    err = info.value
    assert err.code == "UnknownModel"
    assert err.message == f"creating batch job unknown-model: Unknown model {model} in us-east-1."
    assert "%bedrock models -r us-east-1" in err.hint
    no_placeholders(err)
    # No raw Python warning (file path, source line) about the body format on the way.
    assert not [w for w in caught if "body format" in str(w.message)]


def test_a_job_without_a_role_or_on_mantle_is_refused_in_the_magics_words(bm, s3, bucket, words):
    with pytest.raises(ValueError, match=r"^a batch job needs --role ARN \(role_arn= in Python\)"):
        jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/", role_arn=None)
    with pytest.raises(ValueError, match="^batch jobs run on the runtime's InvokeModel or Converse only, not on "
                                         "the mantle endpoint: drop -e mantle"):
        jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/", role_arn=ROLE, endpoint="mantle",
                        model="openai.gpt-oss-120b")
    with pytest.raises(ValueError, match="--out word would overwrite the frame's column 'word'"):
        jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/", role_arn=ROLE, out="word")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_notes_are_lines_in_the_job_info_never_python_warnings(bm, s3, bucket, words, capsys):
    # The catalog knows which model an application profile routes to: its body format, no guess.
    info = jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/", role_arn=ROLE, model=APP_PROFILE,
                           name="profiled-1")
    (small,) = info["notes"]
    assert "run small frames with --df without --job (bm.map in Python)" in small and "map_rows" not in small
    assert f"note: {small}" in capsys.readouterr().out

    # An ARN that names no model and that the catalog cannot place: the body format is guessed,
    # and that is said in a note, not in a Python warning with a file path (the service then
    # refuses the imported model for batch).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(BedrockError, match="creating batch job imported-1"):
            jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/", role_arn=ROLE, model=IMPORTED,
                            name="imported-1")
    assert not [w for w in caught if "body format" in str(w.message)]


def test_collect_prices_an_application_profile_and_reports_cut_answers(bm, s3, bucket, words, capsys):
    info = jobs.submit_job(bm, words, "Tell me about {word}", s3_uri=f"s3://{bucket}/", role_arn=ROLE,
                           model=APP_PROFILE, max_tokens=3, name="cut-1", progress=False)
    jobs.wait_job(bm, info["name"], poll_s=0.2, progress=False)
    result = jobs.collect_job(bm, info["name"], words)
    assert set(result["answer_stop_reason"]) == {"max_tokens"}
    # Priced as Nova Lite (the catalog's base model of the profile), at the batch tier.
    tokens = zip(result["answer_input_tokens"], result["answer_output_tokens"])
    nova = [prices.cost("amazon.nova-lite-v1:0", i, o, tier="batch") for i, o in tokens]
    assert result["answer_cost_usd"].tolist() == pytest.approx(nova)
    summary = capsys.readouterr().out
    assert "10 records stopped at max tokens" in summary
    assert prices.format_usd(sum(nova)) in summary and "$0.0000 " not in summary
    assert not math.isnan(bm.usage()["cost_usd"].sum())


# -- Converse jobs -------------------------------------------------------------------------------------

def test_api_converse_submits_a_converse_job_with_converse_records(bm, s3, bucket, words):
    info = jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/conv", role_arn=ROLE,
                           name="conv-1", api="converse", system="Be brief.", max_tokens=32, progress=False)
    assert info["invocation_type"] == "Converse"
    # The control plane got modelInvocationType=Converse (the local service rejects Converse bodies otherwise).
    assert jobs.job_status(bm, "conv-1")["invocation_type"] == "Converse"

    (_, records), = lines(s3, bucket, "conv/conv-1/input/", ".jsonl").items()
    body = records[2]["modelInput"]
    assert body == {"messages": [{"role": "user", "content": [{"text": "echo: cedar"}]}],
                    "system": [{"text": "Be brief."}], "inferenceConfig": {"maxTokens": 32}}

    assert jobs.wait_job(bm, "conv-1", poll_s=0.2, progress=False)["status"] == "Completed"
    (_, outputs), = lines(s3, bucket, f"conv/conv-1/output/{info['job_id']}/", ".jsonl.out").items()
    assert all("message" in o["modelOutput"]["output"] for o in outputs)  # Converse responses

    result = jobs.collect_job(bm, "conv-1", words, progress=False)
    assert list(result["answer"]) == WORDS and result["answer_error"].isna().all()
    tokens = zip(result["answer_input_tokens"], result["answer_output_tokens"])
    assert result["answer_cost_usd"].tolist() == pytest.approx([prices.cost(CLAUDE, i, o) * 0.5 for i, o in tokens])
    assert (result["answer_input_tokens"] > 0).all()


def test_apis_without_a_batch_body_are_refused_before_anything_is_written(bm, s3, bucket, words):
    for api in ("chat", "responses"):
        with pytest.raises(ValueError, match="InvokeModel or Converse"):
            jobs.submit_job(bm, words, "echo: {word}", s3_uri=f"s3://{bucket}/", role_arn=ROLE, api=api)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


# -- the magics: %%bedrock --job -a converse, %bedrock job collect NAME --df FRAME ----------------------

@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    """The in-process InteractiveShell (a process-wide singleton, shared with test_magics), history off."""
    import os

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    os.environ.setdefault("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
    config = Config()
    config.HistoryAccessor.enabled = False
    return InteractiveShell.instance(config=config)


@pytest.fixture
def ip(shell, local_service, s3_endpoint, tmp_path, monkeypatch):
    """The shell with bedrock_magics on the local service and a fresh ledger."""
    from bedrock_magics.magics import current

    for name in ("BEDROCK_MAGICS_LOCAL", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    shell.run_line_magic("load_ext", "bedrock_magics")
    bm = current(shell)
    bm.ledger_path = str(tmp_path / "ledger.sqlite")
    bm.model = CLAUDE
    bm.use_local(service=local_service)
    yield shell
    shell.run_line_magic("unload_ext", "bedrock_magics")
    for name in ("words", "other", "job", "name", "collected", "S3", "ROLE"):
        shell.user_ns.pop(name, None)


def run_cell(ip, code: str):
    """Run a cell; return (result, captured stdout/stderr/outputs)."""
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = ip.run_cell(code)
    return result, captured


def test_job_magics_submit_converse_and_collect_into_the_users_frame(ip, s3, bucket, words):
    from bedrock_magics.magics import current

    ip.user_ns.update(words=words, other=words.head(3), S3=f"s3://{bucket}/magic/", ROLE=ROLE)
    result, captured = run_cell(ip, "%%bedrock job --df words --job $S3 --role $ROLE -a converse --max-tokens 16\n"
                                    "echo: {word}")
    result.raise_error()
    assert "submitted: 10 records" in captured.stdout
    job = ip.user_ns["job"]
    assert job["invocation_type"] == "Converse"
    (_, records), = lines(s3, bucket, f"magic/{job['name']}/input/", ".jsonl").items()
    assert records[0]["modelInput"]["inferenceConfig"] == {"maxTokens": 16}
    ip.user_ns["name"] = job["name"]
    jobs.wait_job(current(ip), job["name"], poll_s=0.2, progress=False)

    # --df names the submitted frame (as a name, or $name): its index and columns come back with the answers.
    for line in ("%bedrock job collect $name --df words", "%bedrock job collect {name} --df $words"):
        result, _ = run_cell(ip, f"collected = {line}")
        result.raise_error()
        collected = ip.user_ns["collected"]
        assert list(collected.index) == list(words.index)
        assert list(collected["word"]) == WORDS and list(collected["n"]) == list(words["n"])
        assert list(collected["answer"]) == WORDS
    assert len(current(ip).usage()) == 10  # recorded once, at the first collect

    # Without --df: one row per record, as before.
    result, _ = run_cell(ip, "collected = %bedrock job collect $name")
    result.raise_error()
    assert list(ip.user_ns["collected"]["record_id"]) == [jobs.record_id(i) for i in range(10)]


@pytest.mark.parametrize("code, message", [
    ("%%bedrock --df words --job $S3 --role $ROLE -a chat\necho: {word}", "InvokeModel or Converse"),
    ("%bedrock job collect $name --df other", "the frame has 3 rows but batch job"),
    ("%bedrock job collect $name --df missing", "--df: no variable named 'missing'"),
    ("%bedrock job status $name --df words", "--df applies to collect"),
])
def test_job_magics_refuse_bad_input_in_one_line(ip, s3, bucket, words, code, message):
    from bedrock_magics.magics import current

    ip.user_ns.update(words=words, other=words.head(3), S3=f"s3://{bucket}/bad/", ROLE=ROLE)
    info = jobs.submit_job(current(ip), words, "echo: {word}", s3_uri=f"s3://{bucket}/ok/", role_arn=ROLE,
                           progress=False)
    ip.user_ns["name"] = info["name"]
    jobs.wait_job(current(ip), info["name"], poll_s=0.2, progress=False)
    result, captured = run_cell(ip, code)
    assert type(result.error_in_exec).__name__ == "UsageError", result.error_in_exec
    lines_ = captured.stderr.strip().splitlines()
    assert len(lines_) == 1 and lines_[0].startswith("UsageError: ") and message in lines_[0], captured.stderr
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="bad/")
    assert len(current(ip).usage()) == 0  # nothing collected into the ledger


def test_collecting_again_after_clearing_the_reply_cache_bills_nothing_twice(bm, bucket, words):
    info = jobs.submit_job(bm, words.head(3), "echo: {word}", s3_uri=f"s3://{bucket}/again", role_arn=ROLE,
                           progress=False)
    jobs.wait_job(bm, info["arn"], poll_s=0.2, progress=False)
    jobs.collect_job(bm, info["arn"], progress=False)
    assert len(bm.usage()) == 3
    bm.ledger.cache_clear()  # the job's marker is not a cached reply: it survives this
    again = jobs.collect_job(bm, info["arn"], progress=False)
    assert "already in the ledger" in again.attrs["bedrock"]["summary"]
    assert len(bm.usage()) == 3


def test_s3_is_one_cached_client_signed_with_sigv4_when_an_api_key_is_set(bm, bucket, words):
    from bedrock_magics.local import credentials

    bm.set_api_key(credentials.API_KEY)  # %bedrock key: Bedrock calls go out with the bearer key
    s3 = bm.clients.get("us-east-1", "s3", "s3")
    assert bm.clients.get("us-east-1", "s3", "s3") is s3  # cached like the other clients
    assert s3.meta.endpoint_url == bm.local_service.s3_endpoint
    info = jobs.submit_job(bm, words.head(2), "echo: {word}", s3_uri=f"s3://{bucket}/key", role_arn=ROLE,
                           progress=False)
    jobs.wait_job(bm, info["arn"], poll_s=0.2, progress=False)
    assert list(jobs.collect_job(bm, info["arn"], progress=False)["answer"]) == WORDS[:2]
    assert bm.clients.get("us-east-1", "s3", "s3") is s3
