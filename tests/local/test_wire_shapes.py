"""Wire conformance of the local Bedrock service against botocore's service models.

The rule under test: every response the service sends for a botocore operation parses into that
operation's output shape with no missing required member and no member of the wrong type —
checked against botocore's model (``client.meta.service_model``), for every operation the service
implements. "Implements" is derived from the service's own router: each AWS-native route is matched
against the ``http.method``/``http.requestUri`` of every operation of ``bedrock`` and
``bedrock-runtime``, so a route added without a driver here fails ``test_every_routed_operation_is_covered``.

Two checks run on every successful call:

* the *parsed* response (what boto3 hands the user) is walked against the output shape: required
  members present, scalar types as botocore produces them, unions with exactly one member, every
  event of an event stream against its event shape;
* the *raw* JSON body (non-streaming responses) is walked against the same shape by wire name: a
  key the model does not know is reported, since botocore silently drops it — the way a misspelled
  optional member would otherwise go unnoticed.

Error responses are checked too: their code must be one the operation's model lists (or one of the
generic auth errors every AWS service may send).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any, Callable

import pytest

# Values real Bedrock sends outside botocore's enums (bedrock-protocols.md §2.1): models callable
# only through an inference profile carry "INFERENCE_PROFILE" in inferenceTypesSupported.
ENUM_EXTENSIONS: dict[str, set[str]] = {"InferenceType": {"INFERENCE_PROFILE"}}
# Errors any AWS operation may return although no operation models them.
GENERIC_ERRORS = {"UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException",
                  "AccessDeniedException", "ThrottlingException", "InternalServerException",
                  "ServiceUnavailableException"}


# ---------------------------------------------------------------------------------------------
# The validator


def _is_json_value(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_is_json_value(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_value(v) for k, v in value.items())
    return False


def shape_problems(shape: Any, value: Any, path: str = "$") -> list[str]:
    """Every way the *parsed* ``value`` departs from botocore ``shape``; empty when it conforms."""
    from botocore.response import StreamingBody

    kind = shape.type_name
    where = f"{path} ({shape.name})"
    if kind == "structure" and shape.is_document_type:
        return [] if _is_json_value(value) else [f"{where}: document is not JSON-like: {value!r:.80}"]
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{where}: expected a structure, got {type(value).__name__}"]
        problems = []
        if "SDK_UNKNOWN_MEMBER" in value:
            problems.append(f"{where}: union member unknown to the model: {value['SDK_UNKNOWN_MEMBER']}")
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(f"{where}: required member {name!r} is missing")
        if shape.is_tagged_union and sum(v is not None for v in value.values()) != 1:
            problems.append(f"{where}: union must have exactly one member set, has {sorted(value)}")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                problems += shape_problems(member, value[name], f"{path}.{name}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        return [p for i, item in enumerate(value) for p in shape_problems(shape.member, item, f"{path}[{i}]")]
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{where}: expected a map, got {type(value).__name__}"]
        problems = [f"{where}: map key {k!r} is not a string" for k in value if not isinstance(k, str)]
        return problems + [p for k, v in value.items() for p in shape_problems(shape.value, v, f"{path}[{k!r}]")]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string, got {type(value).__name__} {value!r:.60}"]
        allowed = set(shape.enum or ()) | ENUM_EXTENSIONS.get(shape.name, set())
        if shape.enum and value not in allowed:
            return [f"{where}: {value!r} is not in the enum {shape.enum}"]
        return []
    if kind in ("integer", "long"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected an integer, got {type(value).__name__} {value!r:.60}"]
    if kind in ("float", "double"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return [] if ok else [f"{where}: expected a number, got {type(value).__name__} {value!r:.60}"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: expected a boolean, got {type(value).__name__}"]
    if kind == "timestamp":
        return [] if isinstance(value, dt.datetime) else [f"{where}: expected a timestamp, got {value!r:.60}"]
    if kind == "blob":
        ok = isinstance(value, (bytes, bytearray, StreamingBody))
        return [] if ok else [f"{where}: expected bytes, got {type(value).__name__}"]
    return [f"{where}: shape type {kind!r} is not handled by the validator"]


def event_stream_problems(shape: Any, events: list[dict], path: str) -> list[str]:
    """Problems of every event of an event stream (each a one-key dict: event name -> payload)."""
    problems = []
    if not events:
        problems.append(f"{path}: the event stream carried no events")
    for i, event in enumerate(events):
        if not isinstance(event, dict) or len(event) != 1:
            problems.append(f"{path}[{i}]: an event must have exactly one member, got {event!r:.80}")
            continue
        (name, payload), = event.items()
        if name not in shape.members:
            problems.append(f"{path}[{i}]: event {name!r} is not a member of {shape.name}")
            continue
        problems += shape_problems(shape.members[name], payload, f"{path}[{i}].{name}")
    return problems


def response_problems(operation: Any, response: dict) -> list[str]:
    """Problems of a parsed boto3 response (event streams already materialized into lists)."""
    shape = operation.output_shape
    if shape is None:
        return [] if set(response) <= {"ResponseMetadata"} else ["$: output without an output shape"]
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    problems = []
    for name in shape.required_members:
        if body.get(name) is None:
            problems.append(f"$ ({shape.name}): required member {name!r} is missing")
    for name, member in shape.members.items():
        if body.get(name) is None:
            continue
        if member.serialization.get("eventstream"):
            problems += event_stream_problems(member, body[name], f"$.{name}")
        else:
            problems += shape_problems(member, body[name], f"$.{name}")
    return problems


def raw_problems(shape: Any, raw: Any, path: str = "$") -> list[str]:
    """Keys of a raw JSON body that ``shape`` does not model (botocore would drop them silently)."""
    if shape.type_name == "structure" and not shape.is_document_type and isinstance(raw, dict):
        by_wire = {m.serialization.get("name", n): m for n, m in shape.members.items()
                   if m.serialization.get("location") is None}
        problems = []
        for key, value in raw.items():
            if key not in by_wire:
                problems.append(f"{path} ({shape.name}): member {key!r} is not in the model")
            elif value is not None:
                problems += raw_problems(by_wire[key], value, f"{path}.{key}")
        return problems
    if shape.type_name == "list" and isinstance(raw, list):
        return [p for i, v in enumerate(raw) for p in raw_problems(shape.member, v, f"{path}[{i}]")]
    if shape.type_name == "map" and isinstance(raw, dict):
        return [p for k, v in raw.items() for p in raw_problems(shape.value, v, f"{path}[{k!r}]")]
    return []


# ---------------------------------------------------------------------------------------------
# The validator finds what it must (a validator that cannot fail proves nothing)


@pytest.fixture(scope="module")
def models():
    import botocore.session

    session = botocore.session.get_session()
    return {name: session.get_service_model(name) for name in ("bedrock", "bedrock-runtime")}


def test_validator_reports_a_missing_required_member(models):
    op = models["bedrock"].operation_model("GetModelInvocationJob")
    good = {"jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefabcdef",
            "modelId": "m", "roleArn": "arn:aws:iam::123456789012:role/r",
            "submitTime": dt.datetime.now(dt.timezone.utc),
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://b/in/"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b/out/"}}}
    assert response_problems(op, good) == []
    missing = {k: v for k, v in good.items() if k != "roleArn"}
    assert response_problems(op, missing) == ["$ (GetModelInvocationJobResponse): required member 'roleArn' is missing"]
    nested = dict(good, inputDataConfig={"s3InputDataConfig": {"s3BucketOwner": "123456789012"}})
    assert any("'s3Uri' is missing" in p for p in response_problems(op, nested))


def test_validator_reports_wrong_types_enums_and_unions(models):
    op = models["bedrock"].operation_model("GetModelInvocationJob")
    bad = {"jobArn": 7, "modelId": "m", "roleArn": "r", "submitTime": "2026-01-01",
           "status": "Running", "totalRecordCount": "3",
           "inputDataConfig": {}, "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://b/o"}}}
    problems = "\n".join(response_problems(op, bad))
    assert "$.jobArn (ModelInvocationJobArn): expected a string" in problems
    assert "$.submitTime (Timestamp): expected a timestamp" in problems
    assert "'Running' is not in the enum" in problems
    assert "$.totalRecordCount (NonNegativeLong): expected an integer" in problems
    assert "union must have exactly one member set" in problems


def test_validator_checks_every_event_of_a_stream(models):
    op = models["bedrock-runtime"].operation_model("ConverseStream")
    good = {"stream": [{"messageStart": {"role": "assistant"}},
                       {"contentBlockDelta": {"delta": {"text": "hi"}, "contentBlockIndex": 0}},
                       {"messageStop": {"stopReason": "end_turn"}},
                       {"metadata": {"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
                                     "metrics": {"latencyMs": 3}}}]}
    assert response_problems(op, good) == []
    bad = {"stream": [{"contentBlockDelta": {"delta": {"text": "hi"}}},
                      {"metadata": {"usage": {"inputTokens": 1}, "metrics": {"latencyMs": 3}}},
                      {"bogus": {}}]}
    problems = "\n".join(response_problems(op, bad))
    assert "required member 'contentBlockIndex' is missing" in problems
    assert "required member 'outputTokens' is missing" in problems
    assert "event 'bogus' is not a member" in problems


def test_raw_check_reports_unmodelled_keys(models):
    shape = models["bedrock"].operation_model("ListFoundationModels").output_shape
    raw = {"modelSummaries": [{"modelArn": "a", "modelId": "b", "modelNmae": "typo"}]}
    assert raw_problems(shape, raw) == ["$.modelSummaries[0] (FoundationModelSummary): member 'modelNmae' is not in the model"]


# ---------------------------------------------------------------------------------------------
# Driving the service: every operation it routes, through real boto3


class Wire:
    """boto3 clients for the local service whose every answer is checked against the model."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.called: set[str] = set()  # "service:Operation" that answered and conformed
        self.raw_checked: set[str] = set()  # ... whose raw JSON body was checked as well
        self._raw: dict[str, bytes] = {}

    def client(self, service: str, region: str = "us-east-1", sigv4: bool = False):
        """A client from the environment (Bedrock API key), or signing SigV4 for ``region``."""
        import boto3
        from botocore.config import Config

        client = boto3.client(service, region_name=region, config=Config(signature_version="v4") if sigv4 else None)
        client.meta.events.register("before-parse", self._capture)
        return client

    def _capture(self, operation_model: Any, response_dict: dict, **_: Any) -> None:
        body = response_dict.get("body")
        if isinstance(body, bytes):
            self._raw[operation_model.name] = body

    def _operation(self, client: Any, method: str):
        return client.meta.service_model.operation_model(client.meta.method_to_api_mapping[method])

    def call(self, client: Any, method: str, **kwargs: Any) -> dict:
        """Call, materialize event streams, and fail on any departure from the output shape."""
        op = self._operation(client, method)
        self._raw.pop(op.name, None)
        return self._check(client, op, getattr(client, method)(**kwargs))

    def pages(self, client: Any, method: str, **kwargs: Any) -> list[dict]:
        """Every page of a paginated operation, each one checked."""
        op = self._operation(client, method)
        return [self._check(client, op, page) for page in client.get_paginator(method).paginate(**kwargs)]

    def error(self, client: Any, method: str, code: str, **kwargs: Any) -> dict:
        """Call expecting the error ``code``: modelled for the operation, with the modelled status."""
        from botocore.exceptions import ClientError

        op = self._operation(client, method)
        with pytest.raises(ClientError) as exc:
            response = getattr(client, method)(**kwargs)
            for name, member in (op.output_shape.members.items() if op.output_shape else ()):
                if member.serialization.get("eventstream"):
                    list(response[name])  # an error may come only once the stream has started
        error = exc.value.response
        assert error["Error"]["Code"] == code, error["Error"]
        modelled = {e.name: e.metadata.get("error", {}).get("httpStatusCode") for e in op.error_shapes}
        assert code in modelled or code in GENERIC_ERRORS, f"{op.name} does not model {code}"
        if code in modelled:
            assert error["ResponseMetadata"]["HTTPStatusCode"] == modelled[code]
        assert error["Error"]["Message"], "errors carry a message"
        return error

    def _check(self, client: Any, op: Any, response: dict) -> dict:
        for name, member in (op.output_shape.members.items() if op.output_shape else ()):
            if member.serialization.get("eventstream") and name in response:
                response[name] = list(response[name])
        problems = response_problems(op, response)
        raw = self._raw.pop(op.name, None)
        service = client.meta.service_model.service_name
        if raw is not None and not (op.has_streaming_output or op.has_event_stream_output):
            problems += raw_problems(op.output_shape, json.loads(raw)) if op.output_shape else []
            self.raw_checked.add(f"{service}:{op.name}")
        assert not problems, f"{service}:{op.name} does not match its output shape:\n" + "\n".join(problems)
        self.called.add(f"{service}:{op.name}")
        return response

    def streaming(self, operation: str) -> bool:
        """Whether ``service:Operation`` answers with a stream (no raw JSON body to check)."""
        import botocore.session

        service, name = operation.split(":")
        op = botocore.session.get_session().get_service_model(service).operation_model(name)
        return op.has_streaming_output or op.has_event_stream_output


@pytest.fixture
def wire(local_service, local_env):
    return Wire(local_service.app)


PROMPT = "Describe the wire format in one sentence."
REGIONS = ("us-east-1", "us-west-2", "eu-central-1")


def invoke_body(family: str, text: str = PROMPT) -> dict:
    """A minimal InvokeModel body for one model family of the catalog."""
    bodies = {
        "anthropic": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
                      "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]},
        "nova": {"schemaVersion": "messages-v1", "messages": [{"role": "user", "content": [{"text": text}]}],
                 "inferenceConfig": {"maxTokens": 200}},
        "titan-text": {"inputText": text, "textGenerationConfig": {"maxTokenCount": 200}},
        "llama": {"prompt": text, "max_gen_len": 200},
        "mistral": {"prompt": f"<s>[INST] {text} [/INST]", "max_tokens": 200},
        "mistral-chat": {"messages": [{"role": "user", "content": text}], "max_tokens": 200},
        "cohere-command": {"message": text, "max_tokens": 200},
        "gpt-oss": {"messages": [{"role": "user", "content": text}], "max_completion_tokens": 200},
        "deepseek-r1": {"prompt": f"<｜begin▁of▁sentence｜><｜User｜>{text}<｜Assistant｜><think>\n", "max_tokens": 200},
        "titan-embed": {"inputText": text},
        "cohere-embed": {"texts": [text], "input_type": "search_document"},
        "image": {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": text}},
    }
    if family not in bodies:
        pytest.fail(f"no InvokeModel body for the family {family!r}: add one to invoke_body()")
    return bodies[family]


def callable_models(wire: Wire, region: str = "us-east-1") -> list[tuple[str, dict]]:
    """(id to call, catalog entry) for every model the region lists: bare id when on demand, else
    its profile in the region's geography — learnt over the wire, as a user would."""
    control = wire.client("bedrock", region, sigv4=True)
    profiles = {p["inferenceProfileId"] for page in wire.pages(control, "list_inference_profiles")
                for p in page["inferenceProfileSummaries"]}
    out = []
    for summary in wire.call(control, "list_foundation_models")["modelSummaries"]:
        entry = wire.app.catalog.model(summary["modelId"])
        if "ON_DEMAND" in summary.get("inferenceTypesSupported", []):
            out.append((summary["modelId"], entry))
        else:
            geo = [p for p in profiles if p.partition(".")[2] == summary["modelId"]]
            if geo:
                out.append((sorted(geo)[0], entry))
    assert out, "the region offers no callable model"
    return out


#: Each driver, and the operations (``service:Operation``) it must get a conforming answer from.
DRIVERS: dict[Callable[..., None], tuple[str, ...]] = {}


def drives(*operations: str):
    """Register a driver for operations named ``service:Operation``."""
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        DRIVERS[fn] = operations
        return fn
    return register


@drives("bedrock:ListFoundationModels", "bedrock:GetFoundationModel", "bedrock:GetFoundationModelAvailability")
def drive_foundation_models(wire: Wire) -> None:
    for region in REGIONS:
        control = wire.client("bedrock", region, sigv4=True)
        summaries = wire.call(control, "list_foundation_models")["modelSummaries"]
        assert summaries
        for query in ({"byProvider": "Anthropic"}, {"byOutputModality": "EMBEDDING"},
                      {"byInferenceType": "PROVISIONED"}, {"byCustomizationType": "FINE_TUNING"}):
            wire.call(control, "list_foundation_models", **query)
        for summary in summaries if region == REGIONS[0] else summaries[:3]:
            details = wire.call(control, "get_foundation_model", modelIdentifier=summary["modelId"])["modelDetails"]
            assert details["modelId"] == summary["modelId"]
            wire.call(control, "get_foundation_model_availability", modelId=summary["modelId"])
        wire.call(control, "get_foundation_model", modelIdentifier=summaries[0]["modelArn"])
    control = wire.client("bedrock")
    wire.error(control, "list_foundation_models", "ValidationException", byOutputModality="VIDEO")
    wire.error(control, "get_foundation_model", "ResourceNotFoundException", modelIdentifier="acme.nothing-v1:0")
    wire.error(control, "get_foundation_model_availability", "ResourceNotFoundException", modelId="acme.nothing-v1:0")


@drives("bedrock:ListInferenceProfiles", "bedrock:GetInferenceProfile")
def drive_inference_profiles(wire: Wire) -> None:
    for region in REGIONS:
        control = wire.client("bedrock", region, sigv4=True)
        pages = wire.pages(control, "list_inference_profiles", PaginationConfig={"PageSize": 7})
        profiles = [p for page in pages for p in page["inferenceProfileSummaries"]]
        assert profiles and all(len(page["inferenceProfileSummaries"]) <= 7 for page in pages)
        for kind in ("SYSTEM_DEFINED", "APPLICATION"):
            wire.pages(control, "list_inference_profiles", typeEquals=kind)
        for profile in profiles:
            got = wire.call(control, "get_inference_profile", inferenceProfileIdentifier=profile["inferenceProfileId"])
            assert got["inferenceProfileArn"] == profile["inferenceProfileArn"]
        wire.call(control, "get_inference_profile", inferenceProfileIdentifier=profiles[-1]["inferenceProfileArn"])
    wire.error(wire.client("bedrock"), "get_inference_profile", "ResourceNotFoundException",
               inferenceProfileIdentifier="us.acme.nothing-v1:0")


def _account_resources(wire: Wire, list_method: str, get_method: str, key: str, ident: str, arg: str) -> None:
    found = 0
    for region in REGIONS:
        control = wire.client("bedrock", region, sigv4=True)
        items = [i for page in wire.pages(control, list_method, PaginationConfig={"PageSize": 1}) for i in page[key]]
        for item in items:
            wire.call(control, get_method, **{arg: item[ident]})
        found += len(items)
    assert found, f"the catalog has no resource for {list_method} in {REGIONS}: nothing to check"
    wire.error(wire.client("bedrock"), get_method, "ResourceNotFoundException", **{arg: "no-such-resource"})


@drives("bedrock:ListCustomModels", "bedrock:GetCustomModel")
def drive_custom_models(wire: Wire) -> None:
    _account_resources(wire, "list_custom_models", "get_custom_model", "modelSummaries", "modelArn",
                       "modelIdentifier")


@drives("bedrock:ListImportedModels", "bedrock:GetImportedModel")
def drive_imported_models(wire: Wire) -> None:
    _account_resources(wire, "list_imported_models", "get_imported_model", "modelSummaries", "modelArn",
                       "modelIdentifier")


@drives("bedrock:ListProvisionedModelThroughputs", "bedrock:GetProvisionedModelThroughput")
def drive_provisioned_throughputs(wire: Wire) -> None:
    _account_resources(wire, "list_provisioned_model_throughputs", "get_provisioned_model_throughput",
                       "provisionedModelSummaries", "provisionedModelArn", "provisionedModelId")


@drives("bedrock:CreateModelInvocationJob", "bedrock:GetModelInvocationJob", "bedrock:ListModelInvocationJobs",
        "bedrock:StopModelInvocationJob")
def drive_jobs(wire: Wire, s3_endpoint: str) -> None:
    import time

    import boto3

    from bedrock_magics.local import credentials

    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                      aws_access_key_id=credentials.ACCESS_KEY_ID, aws_secret_access_key=credentials.SECRET_ACCESS_KEY)
    bucket = f"shapes-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    records = [{"recordId": "good", "modelInput": invoke_body("anthropic")},
               {"recordId": "bad", "modelInput": {"messages": []}}]
    s3.put_object(Bucket=bucket, Key="in/records.jsonl", Body="\n".join(json.dumps(r) for r in records).encode())
    control = wire.client("bedrock")
    tag = uuid.uuid4().hex[:8]

    def create(name: str) -> str:
        return wire.call(control, "create_model_invocation_job", jobName=name,
                         roleArn="arn:aws:iam::123456789012:role/batch", modelId="anthropic.claude-3-haiku-20240307-v1:0",
                         inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/in/"}},
                         outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/out/"}},
                         timeoutDurationInHours=48, tags=[{"key": "k", "value": "v"}])["jobArn"]

    done, stopped = create(f"shapes-{tag}-done"), create(f"shapes-{tag}-stopped")
    wire.call(control, "stop_model_invocation_job", jobIdentifier=stopped)
    for arn in (done, stopped):  # every status a job passes through parses too
        deadline = time.monotonic() + 30
        while wire.call(control, "get_model_invocation_job", jobIdentifier=arn)["status"] not in (
                "Completed", "PartiallyCompleted", "Failed", "Stopped"):
            assert time.monotonic() < deadline, f"job {arn} did not finish"
            time.sleep(0.02)
    pages = wire.pages(control, "list_model_invocation_jobs", nameContains=tag, PaginationConfig={"PageSize": 1})
    assert len(pages) == 2
    wire.error(control, "get_model_invocation_job", "ResourceNotFoundException", jobIdentifier="abcdefabcdef")
    wire.error(control, "stop_model_invocation_job", "ValidationException", jobIdentifier=done)
    wire.error(control, "create_model_invocation_job", "ConflictException", jobName=f"shapes-{tag}-done",
               roleArn="arn:aws:iam::123456789012:role/batch", modelId="anthropic.claude-3-haiku-20240307-v1:0",
               inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/in/"}},
               outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/out/"}})


WEATHER_TOOL = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather of a city",
                                        "inputSchema": {"json": {"type": "object",
                                                                 "properties": {"city": {"type": "string"}},
                                                                 "required": ["city"]}}}}]}


def _account_model_ids(wire: Wire) -> list[str]:
    """ARNs of account resources that runtime calls accept: provisioned, custom, application profile."""
    control = wire.client("bedrock")
    ids = [p["provisionedModelArn"] for p in
           wire.call(control, "list_provisioned_model_throughputs")["provisionedModelSummaries"]]
    ids += [m["modelArn"] for m in wire.call(control, "list_custom_models")["modelSummaries"]]
    ids += [p["inferenceProfileArn"] for p in
            wire.call(control, "list_inference_profiles", typeEquals="APPLICATION")["inferenceProfileSummaries"]]
    return ids


@drives("bedrock:CreateGuardrail", "bedrock:CreateGuardrailVersion", "bedrock:GetGuardrail", "bedrock:ListGuardrails")
def drive_guardrails(wire: Wire) -> None:
    control = wire.client("bedrock")
    made = wire.call(control, "create_guardrail", name=f"shape-{uuid.uuid4().hex[:8]}", description="Shapes.",
                     topicPolicyConfig={"topicsConfig": [{"name": "Cooking", "definition": "Recipes and cooking.",
                                                          "examples": ["How do I bake bread?"], "type": "DENY"}]},
                     contentPolicyConfig={"filtersConfig": [{"type": "HATE", "inputStrength": "HIGH",
                                                             "outputStrength": "HIGH"}]},
                     wordPolicyConfig={"wordsConfig": [{"text": "pineapple"}],
                                       "managedWordListsConfig": [{"type": "PROFANITY"}]},
                     sensitiveInformationPolicyConfig={"piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}]},
                     blockedInputMessaging="Blocked input.", blockedOutputsMessaging="Blocked output.")
    gid = made["guardrailId"]
    version = wire.call(control, "create_guardrail_version", guardrailIdentifier=made["guardrailArn"])["version"]
    for kwargs in ({"guardrailIdentifier": gid}, {"guardrailIdentifier": gid, "guardrailVersion": version},
                   {"guardrailIdentifier": "localpreset1", "guardrailVersion": "1"}):
        assert wire.call(control, "get_guardrail", **kwargs)["status"] == "READY"
    assert gid in {g["id"] for g in wire.call(control, "list_guardrails")["guardrails"]}
    assert {g["version"] for g in wire.call(control, "list_guardrails", guardrailIdentifier=gid)["guardrails"]} \
        == {"DRAFT", version}
    wire.error(control, "get_guardrail", "ResourceNotFoundException", guardrailIdentifier="nosuchguardrail")
    wire.error(control, "create_guardrail", "ValidationException", name="bad name!", blockedInputMessaging="x",
               blockedOutputsMessaging="x")
    # The runtime's guardrail trace, in both its Converse shapes.
    runtime = wire.client("bedrock-runtime")
    config = {"guardrailIdentifier": gid, "guardrailVersion": version, "trace": "enabled"}
    for text in ("Tell me about pineapple", "Hello there"):
        out = wire.call(runtime, "converse", modelId="amazon.nova-micro-v1:0", guardrailConfig=config,
                        messages=[{"role": "user", "content": [{"text": text}]}])
        assert "guardrail" in out["trace"]
        events = wire.call(runtime, "converse_stream", modelId="amazon.nova-micro-v1:0", guardrailConfig=config,
                           messages=[{"role": "user", "content": [{"text": text}]}])["stream"]
        assert "guardrail" in events[-1]["metadata"]["trace"]


@drives("bedrock-runtime:Converse", "bedrock-runtime:ConverseStream")
def drive_converse(wire: Wire) -> None:
    runtime = wire.client("bedrock-runtime")
    user = [{"role": "user", "content": [{"text": PROMPT}]}]
    converse_ids = [mid for mid, entry in callable_models(wire) if entry["converse"]] + _account_model_ids(wire)
    for model_id in converse_ids:
        out = wire.call(runtime, "converse", modelId=model_id, messages=user)
        assert out["output"]["message"]["content"][0]["text"]
        events = wire.call(runtime, "converse_stream", modelId=model_id, messages=user)["stream"]
        assert "messageStop" in events[-2] and "metadata" in events[-1]

    model = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    ask = [{"role": "user", "content": [{"text": "Use get_weather for city=Paris"}]}]
    out = wire.call(runtime, "converse", modelId=model, messages=ask, toolConfig=WEATHER_TOOL,
                    system=[{"text": "Be brief."}], inferenceConfig={"maxTokens": 300, "temperature": 0.2})
    assert out["stopReason"] == "tool_use"
    use = next(b["toolUse"] for b in out["output"]["message"]["content"] if "toolUse" in b)
    events = wire.call(runtime, "converse_stream", modelId=model, messages=ask, toolConfig=WEATHER_TOOL)["stream"]
    assert any("contentBlockStart" in e for e in events)
    answer = ask + [out["output"]["message"],
                    {"role": "user", "content": [{"toolResult": {"toolUseId": use["toolUseId"],
                                                                 "content": [{"json": {"temperature": 21}}]}}]}]
    wire.call(runtime, "converse", modelId=model, messages=answer, toolConfig=WEATHER_TOOL)
    wire.call(runtime, "converse_stream", modelId=model, messages=answer, toolConfig=WEATHER_TOOL)
    cut = wire.call(runtime, "converse", modelId=model, messages=user, inferenceConfig={"maxTokens": 3})
    assert cut["stopReason"] == "max_tokens"
    wire.call(runtime, "converse_stream", modelId=model, messages=user, inferenceConfig={"stopSequences": ["the"]})

    wire.error(runtime, "converse", "ValidationException", modelId="acme.nothing-v1:0", messages=user)
    wire.error(runtime, "converse_stream", "ValidationException", modelId="acme.nothing-v1:0", messages=user)
    wire.error(runtime, "converse", "ValidationException", modelId=model, messages=user,
               requestMetadata={f"k{i}": "v" for i in range(17)})
    wire.error(runtime, "converse_stream", "ValidationException", modelId=model, messages=user,
               guardrailConfig={"guardrailIdentifier": "nosuchguardrail", "guardrailVersion": "1"})
    import boto3
    from botocore.config import Config

    once = boto3.client("bedrock-runtime", config=Config(retries={"total_max_attempts": 1}))  # no SDK retries
    wire.app.quotas.set(model, rpm=1)  # the quota's 429, as the operations model it
    try:
        wire.call(runtime, "converse", modelId=model, messages=user)
        wire.error(once, "converse", "ThrottlingException", modelId=model, messages=user)
        wire.error(once, "converse_stream", "ThrottlingException", modelId=model, messages=user)
    finally:
        wire.app.quotas.clear()


@drives("bedrock-runtime:InvokeModel", "bedrock-runtime:InvokeModelWithResponseStream")
def drive_invoke(wire: Wire) -> None:
    runtime = wire.client("bedrock-runtime")
    for model_id, entry in callable_models(wire):
        body = json.dumps(invoke_body(entry["family"]))
        out = wire.call(runtime, "invoke_model", modelId=model_id, body=body, contentType="application/json",
                        accept="application/json")
        assert out["contentType"] == "application/json"
        json.loads(out["body"].read())  # the body is what the content type says
        if entry["responseStreamingSupported"]:
            events = wire.call(runtime, "invoke_model_with_response_stream", modelId=model_id, body=body,
                               contentType="application/json")["body"]
            assert all(json.loads(e["chunk"]["bytes"]) for e in events)
    sigv4 = wire.client("bedrock-runtime", sigv4=True)  # without contentType/accept, the way boto3 allows
    wire.call(sigv4, "invoke_model", modelId="amazon.nova-micro-v1:0", body=json.dumps(invoke_body("nova")))
    wire.error(runtime, "invoke_model", "ValidationException", modelId="anthropic.claude-3-haiku-20240307-v1:0",
               body=json.dumps({"messages": []}))
    wire.error(runtime, "invoke_model_with_response_stream", "ValidationException",
               modelId="anthropic.claude-3-haiku-20240307-v1:0", body=json.dumps({"messages": []}))


@drives("bedrock-runtime:CountTokens")
def drive_count_tokens(wire: Wire) -> None:
    runtime = wire.client("bedrock-runtime")
    counted = 0
    for model_id, entry in callable_models(wire):
        if not entry.get("countTokens") or model_id != entry["modelId"]:
            continue
        user = [{"role": "user", "content": [{"text": PROMPT}]}]
        wire.call(runtime, "count_tokens", modelId=model_id, input={"converse": {"messages": user}})
        body = json.dumps(invoke_body(entry["family"])).encode()
        assert wire.call(runtime, "count_tokens", modelId=model_id,
                         input={"invokeModel": {"body": body}})["inputTokens"] > 0
        counted += 1
    assert counted, "no model of the region counts tokens"
    wire.error(runtime, "count_tokens", "ValidationException", modelId="amazon.nova-micro-v1:0",
               input={"converse": {"messages": [{"role": "user", "content": [{"text": PROMPT}]}]}})


@pytest.mark.parametrize("driver", list(DRIVERS), ids=lambda fn: fn.__name__.removeprefix("drive_"))
def test_operations_conform_to_their_output_shapes(driver, wire, request):
    import inspect

    # Drivers name the fixtures they need after ``wire`` (e.g. ``s3_endpoint``).
    extra = {name: request.getfixturevalue(name) for name in list(inspect.signature(driver).parameters)[1:]}
    driver(wire, **extra)
    unanswered = sorted(set(DRIVERS[driver]) - wire.called)
    assert not unanswered, f"{driver.__name__} never got a successful answer from {unanswered}"
    unread = sorted(op for op in DRIVERS[driver] if not wire.streaming(op) and op not in wire.raw_checked)
    assert not unread, f"the raw JSON bodies of {unread} were never checked"


# ---------------------------------------------------------------------------------------------
# Every routed operation is driven


def routed_operations(router: Any) -> dict[str, str]:
    """``service:Operation`` -> route pattern for every botocore operation ``router`` serves.

    Each operation's ``requestUri`` (labels filled with a sample value) is matched against the
    router's routes on the surface that serves that botocore service."""
    import botocore.session

    from bedrock_magics.local.http import CONTROL, RUNTIME

    session = botocore.session.get_session()
    found = {}
    for service, surface in (("bedrock", CONTROL), ("bedrock-runtime", RUNTIME)):
        model = session.get_service_model(service)
        for name in model.operation_names:
            http = model.operation_model(name).http
            sample = re.sub(r"\{[^}]+\}", "sample", http["requestUri"].split("?", 1)[0])
            for route in router.routes:
                if route.surface == surface and route.method == http["method"] and route.pattern.match(sample):
                    found[f"{service}:{name}"] = route.pattern.pattern
    return found


def test_every_routed_operation_is_covered(local_service):
    from bedrock_magics.local.server import build_router

    # The running service's router; a fresh one with every handler module if it keeps none.
    routed = routed_operations(getattr(local_service, "router", None) or build_router())
    assert "bedrock:ListFoundationModels" in routed and "bedrock-runtime:Converse" in routed  # the matching works
    driven = {op for ops in DRIVERS.values() for op in ops}
    missing = sorted(set(routed) - driven)
    assert not missing, f"operations the service routes but this test never checks: {missing}"
    stale = sorted(driven - set(routed))
    assert not stale, f"drivers for operations the service no longer routes: {stale}"
