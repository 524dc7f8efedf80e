"""Bedrock batch inference jobs from a DataFrame: submit, watch, collect.

The client side of ``CreateModelInvocationJob`` (the local service's side is
``bedrock_magics/local/jobs.py``). Like :mod:`bedrock_magics.batch` it takes a
:class:`~bedrock_magics.core.Bedrock` (``bm``) and uses its public contract only (``bm.request``,
``bm.clients``, ``bm.record``, ``bm.ledger``); the per-row helpers — prompt rendering, input checks,
result columns, run statistics — are :mod:`~bedrock_magics.batch`'s, shared, never copied.

A job's life (:func:`submit_job`, :func:`job_status`, :func:`wait_job`, :func:`collect_job`):

* **Records.** Each row's prompt becomes one JSONL line ``{"recordId": "ROW00000042",
  "modelInput": body}``: the row's position is its id, and ``body`` is the model's native
  InvokeModel body (``modelInvocationType`` ``InvokeModel``, the default) or a Converse request
  body (``api="converse"``: ``modelInvocationType`` ``Converse``).
* **S3 layout**, under the caller's prefix ``s3://bucket/prefix/{name}/``: ``input/records-NNNNN.jsonl``
  (at most :data:`RECORDS_PER_FILE` records each), ``output/`` (Bedrock writes
  ``output/{job id}/*.jsonl.out`` and ``manifest.json.out`` there) and ``bedrock-magics.json``, a
  small sidecar that remembers the row count, ``out`` column and body type for ``collect_job``.
* **Results** are joined back to rows by ``recordId``, never by line order (Bedrock does not promise
  it). Records missing from the output (a stopped job) become error rows.
* **Cost and ledger.** Records are priced by ``Bedrock.price(reply, tier="batch")`` (50 % of
  on-demand) and written to the ledger (``api="batch"``) once per job, however often it is collected.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable, Mapping

from . import routes
from .errors import code_of
from .modelids import region_of_arn, split_s3_uri
from .reply import Reply
from .request import Request
from .routes import INVOCATION_TYPES, _common
from .rows import Columns, base_frame, check_frame, check_inputs, check_out, row_tasks
from .runner import Stats, close_bar, open_bar

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .core import Bedrock
    from .routes.codecs import Decoded

__all__ = ["RECORDS_PER_FILE", "MIN_RECORDS", "TERMINAL", "INVOCATION_TYPES",
           "submit_job", "job_status", "wait_job", "collect_job", "record_id", "split_s3_uri"]

#: Bedrock's default quota of records per input file (and per job); larger frames are split in files.
RECORDS_PER_FILE = 50_000
#: The usual minimum of records per job on AWS (per model, adjustable); below it AWS fails the job.
MIN_RECORDS = 100
#: Job statuses after which nothing changes.
TERMINAL = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})

_SIDE_CAR = "bedrock-magics.json"
_JOB_NAME = re.compile(r"[a-zA-Z0-9]{1,63}(-*[a-zA-Z0-9\+\-\.]){0,63}")
_JOB_ID = re.compile(r"[a-z0-9]{12}")
_RECORD_ID = re.compile(r"ROW(\d{8})")


# ==================================================================================================
# Record ids and bodies


def record_id(pos: int) -> str:
    """The ``recordId`` of the row at position ``pos`` (``ROW00000042``: 11 characters, like
    Bedrock's own ``CALL0000001``). Results are joined back by it, never by line order."""
    return f"ROW{pos:08d}"


def _position(rid: Any) -> int | None:
    match = _RECORD_ID.fullmatch(str(rid))
    return int(match.group(1)) if match else None


def _invocation_type(api: str | None, endpoint: str | None = None) -> str:
    """``InvokeModel`` or ``Converse`` for the ``api`` setting (None: InvokeModel, as before Converse jobs).

    Batch jobs run on the runtime's InvokeModel or Converse only: mantle and the OpenAI-compatible
    APIs are refused with one line, never silently replaced."""
    if endpoint not in (None, "runtime"):
        raise ValueError(f"batch jobs run on the runtime's InvokeModel or Converse only, not on the {endpoint} "
                         f"endpoint: drop -e {endpoint} (endpoint= in Python), or drop --job to run the rows "
                         f"on {endpoint} one call each")
    if api is None:
        return "InvokeModel"
    if api not in INVOCATION_TYPES:
        raise ValueError(f"batch job records are InvokeModel or Converse bodies: use --api invoke (the default) "
                         f"or --api converse (api= in Python), not {api!r}")
    return INVOCATION_TYPES[api]


def _encoder(invocation_type: str, first: Request, family: str | None = None,
             notes: list[str] | None = None) -> Callable[[Request], dict[str, Any]]:
    """``request -> modelInput`` for every record of a job: the route of the job's body says how."""
    return routes.batch_route(invocation_type).record_encoder(first, family, notes)


def _decoder(invocation_type: str, model: str,
             family: str | None = None) -> "Callable[[dict[str, Any]], Decoded] | None":
    """``modelOutput -> Decoded`` for a job's records (None: embedding models, whose output is no text)."""
    return routes.batch_route(invocation_type).record_decoder(model, family)


# ==================================================================================================
# S3 and the control plane


def _s3_client(bm: "Bedrock", region: str) -> Any:
    """The S3 client of ``bm``'s identity (``auth.Clients`` kind ``"s3"``: cached, refreshing its
    credentials, trusting the same CA bundle; the local service's S3 in local mode)."""
    return bm.clients.get(region, "s3", "s3")


def _control(bm: "Bedrock", region: str) -> Any:
    return bm.clients.get(region, "control", "bedrock")


def _explained(bm: "Bedrock", exc: Exception, what: str, **context: Any) -> Exception:
    """A boto3 failure as the package's one-line BedrockError, prefixed with what was being done.

    ``context`` names what the failure may be about (``model``, ``region``, ``s3_uri`` …) so the
    message names it too, and ``Bedrock.explain`` adds the catalog's and the credentials' hints."""
    error = bm.explain(exc, None, **context)
    error.message = f"{what}: {error.message}"
    return error


def _s3_context(uri: str, region: str, option: str | None = None) -> dict[str, Any]:
    """``explain`` context for an S3 call on ``uri`` (never a model: S3 errors are about S3)."""
    bucket, _ = split_s3_uri(uri)
    context: dict[str, Any] = {"s3_uri": uri, "bucket": bucket, "region": region, "endpoint": "s3"}
    if option:
        context["s3_option"] = option
    return context


# ==================================================================================================
# submit_job


def submit_job(bm: "Bedrock", frame: "pd.DataFrame", template: str, *, s3_uri: str, role_arn: str,
               model: str | None = None, name: str | None = None, out: str = "answer",
               namespace: Mapping[str, Any] | None = None, timeout_hours: int | None = None,
               progress: bool = True, **overrides: Any) -> dict[str, Any]:
    """Submit the rows of ``frame`` as a Bedrock batch inference job (50 % of on-demand prices).

    Each row's prompt (``template`` rendered as in :func:`~bedrock_magics.batch.map_rows`) becomes
    one JSONL record ``{"recordId": "ROW00000042", "modelInput": body}`` (the id is the row's
    position in ``frame``). ``body`` is the model's InvokeModel body, or with ``api="converse"`` a
    Converse request body (the job's ``modelInvocationType`` is then ``Converse``); other APIs
    raise ValueError. Records are written under ``{s3_uri}/{name}/input/`` (files of at most
    50,000 records), results go to ``{s3_uri}/{name}/output/``, and a small
    ``{s3_uri}/{name}/bedrock-magics.json`` remembers the row count and ``out`` for
    :func:`collect_job`. ``role_arn`` is the service role Bedrock assumes to read and write there.
    The bucket must exist.

    Returns ``{"name", "arn", "job_id", "status", "model", "region", "records", "input_uri",
    "output_uri", "invocation_type", "notes"}`` and prints one status line (and each note) when
    ``progress``. ``notes`` are one-line remarks (a job under Bedrock's usual minimum of records, a
    body format that had to be guessed). Follow it with :func:`job_status`, :func:`wait_job` and
    :func:`collect_job`.

    Refused with one line (ValueError) before anything is written: ``endpoint="mantle"`` (jobs
    run on the runtime only), an ``api`` other than invoke/converse, a missing ``role_arn``, and an
    ``out`` whose columns would overwrite the frame's own.
    """
    check_frame(frame)
    out = check_out(out, frame)
    bucket, key = split_s3_uri(s3_uri)
    if not isinstance(role_arn, str) or not role_arn.startswith("arn:"):
        given = "it is missing" if role_arn is None else f"got {role_arn!r}"
        raise ValueError(f"a batch job needs --role ARN (role_arn= in Python): the IAM service role Bedrock assumes "
                         f"to read and write {s3_uri}, e.g. arn:aws:iam::123456789012:role/BedrockBatch; {given}")
    name = name or f"bedrock-magics-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:4]}"
    if not _JOB_NAME.fullmatch(name):
        raise ValueError(f"job name {name!r} is not valid: up to 63 letters, digits and hyphens, starting with a "
                         "letter or digit")
    if len(frame) == 0:
        raise ValueError("the frame has no rows: nothing to submit")
    invocation_type = _invocation_type(overrides.get("api"), overrides.get("endpoint"))
    api = "converse" if invocation_type == "Converse" else "invoke"
    settings = {**overrides, "api": api, "endpoint": "runtime", **({"model": model} if model else {})}
    templates, _ = check_inputs(bm, frame, template, namespace, [settings])

    lines: list[str] = []
    notes: list[str] = []
    first: Request | None = None
    encode: Callable[[Request], dict[str, Any]] | None = None
    for task in row_tasks(templates, frame, template, namespace, [settings]):
        if task.request is None:
            raise ValueError(f"row {task.pos} cannot be submitted: {task.failed.error if task.failed else ''}")
        request = task.request
        if encode is None:
            first = request
            family = None if invocation_type == "Converse" else \
                bm.family_of(request.model, request.region, fetch=True)
            encode = _encoder(invocation_type, request, family, notes)
        lines.append(json.dumps({"recordId": record_id(task.pos), "modelInput": encode(request)},
                                separators=(",", ":"), ensure_ascii=False))
    assert first is not None
    region = first.region

    folder = (key.rstrip("/") + "/" if key.strip("/") else "") + name + "/"
    input_uri = f"s3://{bucket}/{folder}input/"
    output_uri = f"s3://{bucket}/{folder}output/"
    s3 = _s3_client(bm, region)
    try:
        for number, start in enumerate(range(0, len(lines), RECORDS_PER_FILE), 1):
            chunk = "\n".join(lines[start:start + RECORDS_PER_FILE]) + "\n"
            s3.put_object(Bucket=bucket, Key=f"{folder}input/records-{number:05d}.jsonl", Body=chunk.encode())
        sidecar = {"version": 1, "name": name, "records": len(lines), "out": out, "model": first.model,
                   "region": region, "template": template, "invocation_type": invocation_type}
        s3.put_object(Bucket=bucket, Key=folder + _SIDE_CAR, Body=json.dumps(sidecar).encode())
    except Exception as exc:  # noqa: BLE001 - explained in one line
        raise _explained(bm, exc, f"writing the records to s3://{bucket}/{folder}",
                         **_s3_context(f"s3://{bucket}/{folder}", region, "--job (s3_uri=)")) from None

    params: dict[str, Any] = {
        "jobName": name, "roleArn": role_arn, "modelId": first.model,
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": input_uri, "s3InputFormat": "JSONL"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": output_uri}},
    }
    if invocation_type != "InvokeModel":  # InvokeModel is the default: leave the field out, as before
        params["modelInvocationType"] = invocation_type
    if timeout_hours is not None:
        params["timeoutDurationInHours"] = int(timeout_hours)
    try:
        arn = _control(bm, region).create_model_invocation_job(**params)["jobArn"]
    except Exception as exc:  # noqa: BLE001
        raise _explained(bm, exc, f"creating batch job {name}", model=first.model, region=region,
                         endpoint="control", api="CreateModelInvocationJob") from None
    if len(lines) < MIN_RECORDS:
        notes.append(f"Bedrock usually requires at least {MIN_RECORDS} records per job (a per-model quota); "
                     "smaller jobs may fail validation on AWS: run small frames with --df without --job "
                     "(bm.map in Python)")
    info = {"name": name, "arn": arn, "job_id": arn.rsplit("/", 1)[-1], "status": "Submitted",
            "model": first.model, "region": region, "records": len(lines), "input_uri": input_uri,
            "output_uri": output_uri, "invocation_type": invocation_type, "notes": notes}
    if progress:
        print(f"batch job {name} submitted: {len(lines):,} records · {first.model} · {region} · "
              f"results to {output_uri}")
        for note in notes:
            print(f"note: {note}")
    return info


# ==================================================================================================
# job_status and wait_job


def _find_job(bm: "Bedrock", name_or_arn: str, region: str | None) -> tuple[Any, dict[str, Any]]:
    """``(control client, GetModelInvocationJob response)`` for a job name, id or ARN."""
    if not isinstance(name_or_arn, str) or not name_or_arn.strip():
        raise ValueError("give a batch job name, id or ARN")
    ident = name_or_arn.strip()
    region = region_of_arn(ident) or region or bm.region
    client = _control(bm, region)
    try:
        if ident.startswith("arn:") or _JOB_ID.fullmatch(ident):
            try:
                return client, client.get_model_invocation_job(jobIdentifier=ident)
            except Exception as exc:  # noqa: BLE001 - a 12-character name looks like an id: try the name
                if ident.startswith("arn:") or code_of(exc) != "ResourceNotFoundException":
                    raise
        matches = []
        for page in client.get_paginator("list_model_invocation_jobs").paginate(nameContains=ident):
            matches += [job for job in page.get("invocationJobSummaries", []) if job.get("jobName") == ident]
        if not matches:
            raise ValueError(f"no batch inference job named {ident!r} in {region}")
        newest = max(matches, key=lambda job: job.get("submitTime") or 0)
        return client, client.get_model_invocation_job(jobIdentifier=newest["jobArn"])
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _explained(bm, exc, f"looking up batch job {ident}", region=region, endpoint="control") from None


def _status_dict(job: dict[str, Any]) -> dict[str, Any]:
    arn = job.get("jobArn", "")
    total = job.get("totalRecordCount")
    processed = job.get("processedRecordCount")
    return {
        "name": job.get("jobName"), "arn": arn, "job_id": arn.rsplit("/", 1)[-1], "status": job.get("status"),
        "message": job.get("message"), "model": job.get("modelId"),
        "region": region_of_arn(arn),
        "submitted": job.get("submitTime"), "ended": job.get("endTime"),
        "total": total, "processed": processed, "succeeded": job.get("successRecordCount"),
        "failed": job.get("errorRecordCount"),
        "input_uri": ((job.get("inputDataConfig") or {}).get("s3InputDataConfig") or {}).get("s3Uri"),
        "output_uri": ((job.get("outputDataConfig") or {}).get("s3OutputDataConfig") or {}).get("s3Uri"),
        "invocation_type": job.get("modelInvocationType") or "InvokeModel",
    }


def job_status(bm: "Bedrock", name_or_arn: str, *, region: str | None = None) -> dict[str, Any]:
    """The state of a batch job (by name, id or ARN): ``{"name", "arn", "job_id", "status",
    "message", "model", "region", "submitted", "ended", "total", "processed", "succeeded",
    "failed", "input_uri", "output_uri", "invocation_type"}``. Record counts read 0 or None while
    AWS validates."""
    _, job = _find_job(bm, name_or_arn, region)
    return _status_dict(job)


def wait_job(bm: "Bedrock", name_or_arn: str, *, poll_s: float = 30.0, timeout_s: float | None = None,
             progress: bool = True, region: str | None = None) -> dict[str, Any]:
    """Poll a batch job until it ends (Completed, PartiallyCompleted, Failed, Stopped or Expired),
    showing a progress bar of processed records; returns the final :func:`job_status` dict.

    Polls quickly at first, then every ``poll_s`` seconds (AWS jobs take minutes to hours).
    ``timeout_s`` stops waiting (the job goes on) with ``TimeoutError``. Ctrl-C stops waiting too;
    the job keeps running on Bedrock.
    """
    client, job = _find_job(bm, name_or_arn, region)
    arn = job["jobArn"]
    status = _status_dict(job)
    bar = None
    if progress:
        bar = open_bar(status["total"] or None, f"job {status['name']}", "record")
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    delay = 0.2
    try:
        while True:
            if bar is not None:
                if status["total"] and bar.total != status["total"]:
                    bar.total = status["total"]
                bar.n = status["processed"] or 0
                bar.set_postfix_str(f"{status['status']}, failed={status['failed'] or 0}", refresh=False)
                bar.refresh()
            if status["status"] in TERMINAL:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"batch job {status['name']} is still {status['status']} after {timeout_s:g} s "
                                   "(it keeps running; wait again or check job_status)")
            time.sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(poll_s, delay * 1.5)
            try:
                status = _status_dict(client.get_model_invocation_job(jobIdentifier=arn))
            except Exception as exc:  # noqa: BLE001
                raise _explained(bm, exc, f"polling batch job {status['name']}", region=status["region"],
                                 endpoint="control") from None
    finally:
        if bar is not None:
            close_bar(bar)


# ==================================================================================================
# collect_job


def _read_outputs(s3: Any, output_uri: str, job_id: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None]:
    """``({recordId: output line}, manifest)`` from ``{output_uri}/{job_id}/*.jsonl.out``."""
    bucket, key = split_s3_uri(output_uri)
    prefix = (key.rstrip("/") + "/" if key.strip("/") else "") + job_id + "/"
    lines: dict[str, dict[str, Any]] = {}
    manifest = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            name = obj["Key"]
            if name.endswith("manifest.json.out"):
                manifest = json.loads(s3.get_object(Bucket=bucket, Key=name)["Body"].read() or b"{}")
            elif name.endswith(".jsonl.out"):
                body = s3.get_object(Bucket=bucket, Key=name)["Body"].read().decode("utf-8", errors="replace")
                for raw in body.splitlines():
                    if raw.strip():
                        line = json.loads(raw)
                        lines[str(line.get("recordId"))] = line
    return lines, manifest


def _read_sidecar(s3: Any, input_uri: str | None) -> dict[str, Any] | None:
    """The ``bedrock-magics.json`` submit_job wrote next to the input folder (None for other jobs)."""
    if not input_uri or not input_uri.rstrip("/").endswith("/input"):
        return None
    bucket, key = split_s3_uri(input_uri.rstrip("/")[: -len("input")] + _SIDE_CAR)
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except Exception:  # noqa: BLE001 - not ours, or removed: collect without it
        return None


def collect_job(bm: "Bedrock", name_or_arn: str, frame: "pd.DataFrame | None" = None, *, out: str | None = None,
                record: bool = True, progress: bool = True, region: str | None = None) -> "pd.DataFrame":
    """Read a finished batch job's results back into a DataFrame.

    Output lines are matched to rows by ``recordId`` (never by order). With ``frame`` (the frame
    that was submitted) the result has its index and columns plus ``out``,
    ``{out}_input_tokens``, ``{out}_output_tokens``, ``{out}_latency_ms`` (NaN: Bedrock does not
    report per-record latency), ``{out}_cost_usd`` (at batch prices, half of on-demand),
    ``{out}_stop_reason`` and ``{out}_error``; without it, one row per record with a ``record_id``
    column. Records missing from the output (a stopped or partially completed job) are error rows,
    so a rerun can resubmit them. InvokeModel and Converse jobs are both read (the job says which
    it is). With ``frame``, an ``out`` whose columns would overwrite the frame's own is refused.

    With ``record``, each record's usage becomes one ledger row (``api="batch"``) — once per job:
    collecting the same job again adds nothing. Raises ``RuntimeError`` if the job has not ended.
    """
    import pandas as pd

    _, job = _find_job(bm, name_or_arn, region)
    status = _status_dict(job)
    if status["status"] not in TERMINAL:
        raise RuntimeError(f"batch job {status['name']} is {status['status']}: wait for it to finish "
                           "(wait_job) before collecting")
    if not status["output_uri"]:
        raise RuntimeError(f"batch job {status['name']} has no output location")
    s3 = _s3_client(bm, status["region"] or bm.region)
    try:
        lines, manifest = _read_outputs(s3, status["output_uri"], status["job_id"])
        sidecar = _read_sidecar(s3, status["input_uri"])
    except Exception as exc:  # noqa: BLE001
        raise _explained(bm, exc, f"reading the results of batch job {status['name']}",
                         **_s3_context(status["output_uri"], status["region"] or bm.region)) from None

    out = check_out(out or (sidecar or {}).get("out") or "answer")
    if sidecar is not None:
        n = int(sidecar["records"])
    else:
        positions = [_position(rid) for rid in lines]
        n = max((p for p in positions if p is not None), default=-1) + 1 if all(p is not None for p in positions) \
            else len(lines)
    if frame is not None:
        check_frame(frame)
        check_out(out, frame)
        if len(frame) != n:
            raise ValueError(f"the frame has {len(frame):,} rows but batch job {status['name']} has {n:,} records: "
                             "pass the frame that was submitted (or none)")
    # Records not named ROW########: numbered in id order (jobs this module did not submit).
    foreign = sorted(rid for rid in lines if _position(rid) is None)
    index_of = {rid: n - len(foreign) + i for i, rid in enumerate(foreign)} if foreign else {}

    model = status["model"] or ""
    family = None if status["invocation_type"] == "Converse" else \
        bm.family_of(model, status["region"] or bm.region, fetch=True)
    decode = _decoder(status["invocation_type"], model, family)
    columns = Columns(out, n)
    replies: list[Reply] = []
    ended = status["ended"]
    for rid, line in lines.items():
        pos = _position(rid)
        pos = index_of.get(rid) if pos is None else pos
        if pos is None or pos >= n:
            continue
        reply = Reply(model=model, region=status["region"] or "", endpoint="runtime", api="batch",
                      request_id=f"{status['job_id']}:{rid}", latency_ms=math.nan)
        if ended is not None:
            reply.time = ended
        if "modelOutput" in line and decode is not None:
            decoded = decode(line["modelOutput"] or {})
            reply.text = decoded.text
            reply.usage = _common.usage(decoded.input_tokens, decoded.output_tokens)
            reply.stop_reason = _common.normalize_stop(decoded.stop)
            reply.raw = line["modelOutput"]
            bm.price(reply, tier="batch")  # NaN, never an exception, when the price is unknown
        else:
            err = line.get("error") or {}
            reply.status = "error"
            reply.error_code = str(err.get("errorCode") or "RecordError")
            reply.error = f"{err.get('errorCode', '')}: {err.get('errorMessage', 'the record failed')}".strip(": ")
            reply.cost_usd = 0.0
        columns.put(pos, reply)
        replies.append(reply)
    columns.error[~columns.filled] = f"missing from the output of batch job {status['name']} ({status['status']})"

    if frame is not None:
        result = base_frame(frame, columns.names())
    else:
        ids = [None] * n
        for rid in lines:
            pos = _position(rid)
            pos = index_of.get(rid) if pos is None else pos
            if pos is not None and pos < n:
                ids[pos] = rid
        result = pd.DataFrame({"record_id": [rid or record_id(i) for i, rid in enumerate(ids)]})
    columns.attach(result)

    recorded = False
    if record and replies:
        recorded = _record_once(bm, status["arn"], replies)
    stats = Stats(total=n)
    for reply in replies:
        stats.count(reply)
    summary = stats.summary("records") + f" · batch job {status['name']} {status['status']}"
    if record and not recorded and replies:
        summary += " · already in the ledger"
    result.attrs["bedrock"] = {**stats.as_dict(), "summary": summary, "job": status, "manifest": manifest}
    if progress:
        print(summary)
    return result


def _record_once(bm: "Bedrock", arn: str, replies: list[Reply]) -> bool:
    """Append the records' usage to the ledger unless this job was collected before.

    ``Ledger.append_once`` writes the job's marker (its ARN, in the ``jobs_collected`` table) and
    its rows in one transaction: the marker survives restarts and ``cache_clear()``, and is shared
    by every notebook using the same ledger file, so two kernels collecting at once bill once."""
    for reply in replies:
        bm.price(reply, tier="batch")  # already priced above; a no-op unless a record was not
    return bm.ledger.append_once(arn, replies, bm.session, bm.cell)
