"""Bedrock batch inference (model invocation jobs) in the local service, over S3 served by moto.

Four control-plane operations, on the paths of botocore's ``bedrock`` model:

=============================  ==============================================
CreateModelInvocationJob       ``POST /model-invocation-job``
GetModelInvocationJob          ``GET  /model-invocation-job/{jobIdentifier}`` (job id or full ARN)
ListModelInvocationJobs        ``GET  /model-invocation-jobs`` (filters, sort, ``nextToken`` pages)
StopModelInvocationJob         ``POST /model-invocation-job/{jobIdentifier}/stop``
=============================  ==============================================

A job runs on a background thread and walks Bedrock's statuses::

    Submitted -> Validating -> Scheduled -> InProgress -> Completed | PartiallyCompleted | Failed
                         (any of these, when stopped) -> Stopping -> Stopped

It reads every ``*.jsonl`` object under the input S3 URI (a prefix, or one ``.jsonl`` object), one
record per line ``{"recordId": ..., "modelInput": {...}}``, invokes the model on each record with
``runtime.invoke_for_batch`` and writes, under ``{output S3 URI}/{jobId}/``, one ``{file}.out`` per
input file, with lines ``{"recordId", "modelInput", "modelOutput"}`` or, for a record the model
rejected, ``{"recordId", "modelInput", "error": {"errorCode", "errorMessage"}}``, and a
``manifest.json.out`` with the record and token counts. The job's record counts are updated as it
goes, so ``GetModelInvocationJob`` shows its progress.

S3 is the service's ``App.s3_endpoint`` when it was given one, else moto's S3 on a loopback port,
started on first use by :func:`bedrock_magics.local.s3.ensure_s3`.

Relaxed quotas, so that jobs are usable in tests and workshops (documented deviations from AWS):

* no minimum number of records per job (AWS requires at least 100), and no maximum records per
  file or job, file size or input size limits, and no limit on concurrent jobs;
* a job takes seconds, not hours: each record costs ``app.state["job_record_delay_s"]`` seconds
  (default 0.01) and each status step ``app.state["job_step_delay_s"]`` (default 0.02);
* ``timeoutDurationInHours`` is validated (24–168) and reported, but never fires; ``Expired`` is
  never reached;
* the IAM role is only checked for the ARN pattern; ``vpcConfig``, KMS keys and bucket owners are
  echoed back, not enforced; output lines keep the input order;
* a line that is not a JSON object with a ``modelInput`` object fails the job while Validating,
  naming the file and line; a record that the model rejects becomes an error line instead, and
  the job ends PartiallyCompleted (Failed when every record failed).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .credentials import ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY
from .http import CONTROL, AwsError, Request, Response, Router, json_response, parse_json
from .s3 import ensure_s3
from .shapes import validate

log = logging.getLogger(__name__)

#: Statuses after which a job never changes again.
TERMINAL = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})
#: How long a job stays around before AWS would time it out, when the caller gives no timeout.
DEFAULT_TIMEOUT_HOURS = 168
DEFAULT_RECORD_DELAY_S = 0.01
DEFAULT_STEP_DELAY_S = 0.02

_ARN_PREFIX = "arn:aws:bedrock:{region}:{account}:model-invocation-job/"


def register(router: Router) -> None:
    """Add the four model-invocation-job operations to ``router`` (control-plane surface)."""
    router.add(CONTROL, "POST", "/model-invocation-job", create_job)
    router.add(CONTROL, "GET", "/model-invocation-job/{jobIdentifier}", get_job)
    router.add(CONTROL, "POST", "/model-invocation-job/{jobIdentifier}/stop", stop_job)
    router.add(CONTROL, "GET", "/model-invocation-jobs", list_jobs)


# --------------------------------------------------------------------------------------------------
# S3 and stopping


def stop_all(app: Any) -> None:
    """Ask every running job to stop; their threads are ``app.workers``' to join. Each job ends
    Stopped at its next record or status step, with what it did so far written to S3. For
    ``LocalService.stop()``, before it joins the workers and stops the S3 server."""
    store = app.state.get("jobs")
    if store is not None:
        store.stop_all()


def _s3_client(app: Any):
    import boto3
    from botocore.config import Config

    # A session of its own (sessions are not thread-safe) with the local credentials: moto accepts
    # any, and the documented ones keep the objects in the same moto account as the caller's.
    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                                    region_name="us-east-1")
    return session.client("s3", endpoint_url=ensure_s3(app),
                          config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))


def _split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


# --------------------------------------------------------------------------------------------------
# Jobs and their store


def _now() -> datetime:
    # Whole milliseconds, as the wire carries them: a time read back from a job and sent as
    # submitTimeAfter must compare equal to the job's own, not a few microseconds earlier.
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _iso(dt: datetime) -> str:
    """AWS's ISO 8601 timestamp with milliseconds, e.g. ``2026-11-24T10:00:00.123Z``."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@dataclass
class Record:
    """One input line: where it came from and what to send."""

    record_id: str
    model_input: Any


@dataclass
class Job:
    """One batch inference job. Mutable fields change only under the store's lock."""

    job_id: str
    arn: str
    region: str
    name: str
    model_id: str
    role_arn: str
    client_token: str | None
    input_config: dict
    output_config: dict
    invocation_type: str | None
    timeout_hours: int | None
    vpc_config: dict | None
    tags: list
    fingerprint: str  # the request minus its token: an idempotent retry must match it
    submit_time: datetime
    status: str = "Submitted"
    message: str | None = None
    last_modified: datetime | None = None
    end_time: datetime | None = None
    total: int | None = None
    processed: int = 0
    success: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    stop_requested: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def to_wire(self) -> dict:
        """The job as GetModelInvocationJob / ModelInvocationJobSummary send it."""
        out: dict[str, Any] = {
            "jobArn": self.arn, "jobName": self.name, "modelId": self.model_id, "roleArn": self.role_arn,
            "status": self.status, "submitTime": _iso(self.submit_time),
            "lastModifiedTime": _iso(self.last_modified or self.submit_time),
            "inputDataConfig": self.input_config, "outputDataConfig": self.output_config,
            "jobExpirationTime": _iso(self.submit_time + timedelta(hours=self.timeout_hours or DEFAULT_TIMEOUT_HOURS)),
        }
        optional = {"clientRequestToken": self.client_token, "message": self.message,
                    "vpcConfig": self.vpc_config, "timeoutDurationInHours": self.timeout_hours,
                    "modelInvocationType": self.invocation_type,
                    "endTime": _iso(self.end_time) if self.end_time else None}
        out.update({k: v for k, v in optional.items() if v is not None})
        if self.total is not None:  # known once the input has been read (Validating)
            out.update(totalRecordCount=self.total, processedRecordCount=self.processed,
                       successRecordCount=self.success, errorRecordCount=self.errors)
        return out

    def manifest(self) -> dict:
        """The content of ``manifest.json.out``."""
        return {"totalRecordCount": self.total or 0, "processedRecordCount": self.processed,
                "successRecordCount": self.success, "errorRecordCount": self.errors,
                "inputTokenCount": self.input_tokens, "outputTokenCount": self.output_tokens}


class JobStore:
    """Every job of one running service, with the lock that guards them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, Job] = {}
        self._last_submit: datetime | None = None

    def add(self, job: Job) -> Job:
        """Store ``job`` unless it repeats an earlier request; return the job that stands.

        Raises ConflictException for a reused name, or a reused token with other parameters."""
        with self.lock:
            for other in self.jobs.values():
                if other.region != job.region:
                    continue
                if job.client_token and other.client_token == job.client_token:
                    if other.fingerprint == job.fingerprint:
                        return other  # an idempotent retry: the same job, nothing new
                    raise AwsError("ConflictException", "The provided client request token was already used "
                                   "for a different request.")
                if other.name == job.name:
                    raise AwsError("ConflictException", "The provided job name is currently in use.")
            # Submit times on the wire have millisecond resolution; two jobs created within the same
            # millisecond would tie, and sorting by time or filtering with submitTimeAfter would then
            # depend on chance. Each job is submitted at least a millisecond after the one before.
            if self._last_submit is not None and job.submit_time <= self._last_submit:
                job.submit_time = job.last_modified = self._last_submit + timedelta(milliseconds=1)
            self._last_submit = job.submit_time
            self.jobs[job.job_id] = job
            return job

    def find(self, region: str, identifier: str) -> Job:
        """The job named by id or ARN in ``region``; ResourceNotFoundException if there is none."""
        job_id = identifier.rsplit("/", 1)[-1]
        job = self.jobs.get(job_id)
        if job is None or job.region != region or (identifier.startswith("arn:") and identifier != job.arn):
            raise AwsError("ResourceNotFoundException", f"The specified job {identifier} was not found.")
        return job

    def update(self, job: Job, **changes: Any) -> None:
        """Change fields of ``job`` atomically and stamp ``lastModifiedTime``."""
        with self.lock:
            for name, value in changes.items():
                setattr(job, name, value)
            job.last_modified = _now()

    def stop_all(self) -> None:
        """Ask every job to stop (a finished job ignores it)."""
        with self.lock:
            for job in self.jobs.values():
                job.stop_requested.set()


def _store(app: Any) -> JobStore:
    store = app.state.get("jobs")
    if store is None:
        with app.lock:
            store = app.state.setdefault("jobs", JobStore())
    return store


# --------------------------------------------------------------------------------------------------
# Handlers


def create_job(req: Request) -> Response:
    """CreateModelInvocationJob: validate, store, start the worker; ``{"jobArn"}``."""
    body = req.json()
    if not isinstance(body, dict):
        raise AwsError("ValidationException", "The request body must be a JSON object.")
    validate("CreateModelInvocationJob", body)  # the input/output configs are unions: S3 is their one member
    target = req.app.catalog.resolve(req.region, body["modelId"])  # raises Bedrock's own ValidationException
    if body.get("modelInvocationType") == "Converse" and not target.model.get("converse"):
        raise AwsError("ValidationException", f"The model {body['modelId']} doesn't support the Converse "
                                              "operation; use the modelInvocationType InvokeModel.")
    try:
        ensure_s3(req.app)  # before storing the job: without S3 it could never leave Submitted
    except ImportError:
        raise AwsError("InternalServerException", "Batch inference in the local service needs moto's S3 server: "
                                                  "pip install 'bedrock-magics[batch]'.", 500) from None

    token = body.get("clientRequestToken")
    fingerprint = json.dumps({k: v for k, v in body.items() if k != "clientRequestToken"}, sort_keys=True)
    job_id = uuid.uuid4().hex[:12]
    now = _now()
    job = Job(job_id=job_id, arn=_ARN_PREFIX.format(region=req.region, account=ACCOUNT_ID) + job_id,
              region=req.region, name=body["jobName"], model_id=body["modelId"], role_arn=body["roleArn"],
              client_token=token, input_config=body["inputDataConfig"], output_config=body["outputDataConfig"],
              invocation_type=body.get("modelInvocationType"), timeout_hours=body.get("timeoutDurationInHours"),
              vpc_config=body.get("vpcConfig"), tags=body.get("tags") or [], fingerprint=fingerprint,
              submit_time=now, last_modified=now)
    store = _store(req.app)
    stored = store.add(job)
    if stored is job:
        job.thread = req.app.workers.spawn(f"bedrock-job-{job_id}", _run, req.app, store, job)
    return json_response({"jobArn": stored.arn})


def get_job(req: Request) -> Response:
    """GetModelInvocationJob: the job by id or ARN."""
    ident = req.params["jobIdentifier"]
    validate("GetModelInvocationJob", {"jobIdentifier": ident})
    store = _store(req.app)
    with store.lock:
        return json_response(store.find(req.region, ident).to_wire())


def stop_job(req: Request) -> Response:
    """StopModelInvocationJob: ask a running job to stop (it goes Stopping, then Stopped)."""
    ident = req.params["jobIdentifier"]
    validate("StopModelInvocationJob", {"jobIdentifier": ident})
    store = _store(req.app)
    with store.lock:
        job = store.find(req.region, ident)
        if job.status in TERMINAL:
            raise AwsError("ValidationException",
                           f"The job {job.job_id} is in {job.status} status and can't be stopped.")
        if job.status != "Stopping":
            job.status, job.last_modified = "Stopping", _now()
        job.stop_requested.set()
    return json_response({})


def list_jobs(req: Request) -> Response:
    """ListModelInvocationJobs: filters, sort by submit time, ``maxResults``/``nextToken`` pages."""
    from botocore.utils import parse_timestamp

    q = {name: req.query_one(name) for name in
         ("statusEquals", "nameContains", "sortBy", "sortOrder", "maxResults", "nextToken",
          "submitTimeAfter", "submitTimeBefore")}
    params: dict[str, Any] = {k: v for k, v in q.items() if v is not None and not k.startswith("submitTime")}
    if "maxResults" in params:
        try:
            params["maxResults"] = int(params["maxResults"])
        except ValueError:
            raise AwsError("ValidationException", f"Value '{params['maxResults']}' at 'maxResults' failed to "
                                                  "satisfy constraint: Member must be a number") from None
    validate("ListModelInvocationJobs", params)
    bounds = {}
    for name in ("submitTimeAfter", "submitTimeBefore"):
        if q[name] is not None:
            try:
                bounds[name] = parse_timestamp(q[name])
            except (ValueError, TypeError):
                raise AwsError("ValidationException", f"Value '{q[name]}' at '{name}' failed to satisfy "
                                                      "constraint: Member must be a timestamp") from None

    store = _store(req.app)
    with store.lock:
        jobs = [j for j in store.jobs.values() if j.region == req.region]
        if q["statusEquals"]:
            jobs = [j for j in jobs if j.status == q["statusEquals"]]
        if q["nameContains"]:
            jobs = [j for j in jobs if q["nameContains"] in j.name]
        if "submitTimeAfter" in bounds:
            jobs = [j for j in jobs if j.submit_time > bounds["submitTimeAfter"]]
        if "submitTimeBefore" in bounds:
            jobs = [j for j in jobs if j.submit_time < bounds["submitTimeBefore"]]
        # Ties on submit time (same millisecond) are broken by id so that pages never overlap.
        jobs.sort(key=lambda j: (j.submit_time, j.job_id), reverse=(q["sortOrder"] or "Descending") == "Descending")
        start = _decode_token(q["nextToken"]) if q["nextToken"] else 0
        size = params.get("maxResults", 1000)
        page = jobs[start:start + size]
        out: dict[str, Any] = {"invocationJobSummaries": [j.to_wire() for j in page]}
    if start + size < len(jobs):
        out["nextToken"] = _encode_token(start + size)
    return json_response(out)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
        if isinstance(offset, int) and offset >= 0:
            return offset
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise AwsError("ValidationException", "The provided pagination token is invalid.")


# --------------------------------------------------------------------------------------------------
# The worker


class _JobFailed(Exception):
    """Ends a job with status Failed and this message."""


class _Stopped(Exception):
    """Ends a job with status Stopped."""


def _run(app: Any, store: JobStore, job: Job) -> None:
    """Run ``job`` to a terminal status. Never raises: every failure becomes the job's message."""
    try:
        _work(app, store, job)
    except _Stopped:
        store.update(job, status="Stopped", end_time=_now())
    except _JobFailed as exc:
        store.update(job, status="Failed", message=str(exc)[:2048], end_time=_now())
    except Exception as exc:  # a bug here must not leave the job "InProgress" forever
        log.exception("batch job %s failed", job.job_id)
        store.update(job, status="Failed", message=f"Internal error: {type(exc).__name__}", end_time=_now())


def _step(app: Any, store: JobStore, job: Job, status: str) -> None:
    """Pause one step, honour a stop request, then move to ``status``."""
    # Waiting on the stop flag, not sleeping: a stop (or the service's) ends the pause at once.
    job.stop_requested.wait(float(app.state.get("job_step_delay_s", DEFAULT_STEP_DELAY_S)))
    with store.lock:  # StopModelInvocationJob sets the flag under this lock: never undo its "Stopping"
        if job.stop_requested.is_set():
            raise _Stopped
        job.status, job.last_modified = status, _now()


def _work(app: Any, store: JobStore, job: Job) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = _s3_client(app)
    _step(app, store, job, "Validating")
    in_uri = job.input_config["s3InputDataConfig"]["s3Uri"]
    out_uri = job.output_config["s3OutputDataConfig"]["s3Uri"]
    try:
        files = _read_inputs(s3, in_uri)
    except ClientError as exc:
        raise _JobFailed(f"Unable to read the input from {in_uri}: {exc.response['Error'].get('Message') or exc}") from None
    if not files:
        raise _JobFailed(f"No .jsonl files were found at {in_uri}.")
    store.update(job, total=sum(len(records) for records in files.values()))

    _step(app, store, job, "Scheduled")
    _step(app, store, job, "InProgress")
    out_bucket, out_prefix = _split_s3_uri(out_uri)
    out_prefix = out_prefix if not out_prefix or out_prefix.endswith("/") else out_prefix + "/"
    folder = f"{out_prefix}{job.job_id}/"
    delay = float(app.state.get("job_record_delay_s", DEFAULT_RECORD_DELAY_S))
    try:
        for name, records in files.items():
            lines = []
            for record in records:
                if job.stop_requested.wait(delay):  # True: stopped during the pause
                    break
                lines.append(_process(app, store, job, record))
            if lines or not job.stop_requested.is_set():
                _put(s3, out_bucket, folder + name + ".out", "".join(lines))
            if job.stop_requested.is_set():
                break
        _put(s3, out_bucket, folder + "manifest.json.out", json.dumps(job.manifest()) + "\n")
    except (ClientError, BotoCoreError) as exc:
        raise _JobFailed(f"Unable to write the output to {out_uri}: {exc}") from None

    if job.stop_requested.is_set():
        raise _Stopped
    if job.success == 0 and job.errors > 0:
        raise _JobFailed(f"All {job.errors} records failed; see the error lines in the output files.")
    store.update(job, status="PartiallyCompleted" if job.errors else "Completed", end_time=_now())


def _process(app: Any, store: JobStore, job: Job, record: Record) -> str:
    """Invoke the model on one record; the output line, and the job's counts updated."""
    from . import runtime

    line: dict[str, Any] = {"recordId": record.record_id, "modelInput": record.model_input}
    try:
        output = runtime.invoke_for_batch(app, job.region, job.model_id, record.model_input,
                                          job.invocation_type or "InvokeModel")
    except AwsError as exc:
        line["error"] = {"errorCode": exc.status, "errorMessage": exc.message}
    except Exception as exc:  # the model failed, not the record: AWS reports it the same way
        log.exception("batch job %s: record %s", job.job_id, record.record_id)
        line["error"] = {"errorCode": 500, "errorMessage": f"Internal error: {type(exc).__name__}"}
    else:
        line["modelOutput"] = output
    tokens_in, tokens_out = _usage(line.get("modelOutput"))
    with store.lock:
        job.processed += 1
        job.success += "modelOutput" in line
        job.errors += "error" in line
        job.input_tokens += tokens_in
        job.output_tokens += tokens_out
        job.last_modified = _now()
    return json.dumps(line, separators=(",", ":")) + "\n"


def _read_inputs(s3: Any, uri: str) -> dict[str, list[Record]]:
    """Every ``*.jsonl`` under ``uri`` (relative name -> records), in key order.

    Raises _JobFailed for a malformed line (AWS rejects such input while validating)."""
    bucket, key = _split_s3_uri(uri)
    if key.endswith(".jsonl"):  # one object named directly
        keys = {key.rsplit("/", 1)[-1]: key}
    else:
        prefix = key if not key or key.endswith("/") else key + "/"
        keys = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith(".jsonl"):
                    keys[obj["Key"][len(prefix):]] = obj["Key"]
    files: dict[str, list[Record]] = {}
    counter = 0
    for name in sorted(keys):
        text = s3.get_object(Bucket=bucket, Key=keys[name])["Body"].read().decode("utf-8", errors="replace")
        records = []
        for number, raw in enumerate(text.splitlines(), 1):
            if not raw.strip():
                continue
            try:
                obj = parse_json(raw)
            except ValueError:
                raise _JobFailed(f"The input file {name} has a line that is not valid JSON (line {number}).") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("modelInput"), dict):
                raise _JobFailed(f"The input file {name} has a record without a modelInput object (line {number}).")
            counter += 1
            record_id = obj.get("recordId")
            # Bedrock names records the caller left unnamed.
            records.append(Record(str(record_id) if record_id is not None else f"RECORD{counter:07d}",
                                  obj["modelInput"]))
        files[name] = records
    return files


def _put(s3: Any, bucket: str, key: str, text: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode(), ContentType="application/jsonl")


# Where each model family (and Converse) reports token usage in its response body.
_USAGE_KEYS = (
    ("usage", "inputTokens", "outputTokens"),            # Converse, Nova
    ("usage", "input_tokens", "output_tokens"),          # Anthropic Messages
    ("usage", "prompt_tokens", "completion_tokens"),     # OpenAI chat (gpt-oss)
    (None, "prompt_token_count", "generation_token_count"),  # Llama
)


def _usage(output: Any) -> tuple[int, int]:
    """(input, output) tokens reported in a model output body; zeros when it reports none."""
    if not isinstance(output, dict):
        return 0, 0
    for container, tin, tout in _USAGE_KEYS:
        holder = output.get(container) if container else output
        if isinstance(holder, dict) and isinstance(holder.get(tin), int):
            return holder[tin], int(holder.get(tout) or 0)
    if isinstance(output.get("inputTextTokenCount"), int):  # Titan text and embeddings
        results = output.get("results") or []
        return output["inputTextTokenCount"], sum(int(r.get("tokenCount") or 0) for r in results if isinstance(r, dict))
    return 0, 0
