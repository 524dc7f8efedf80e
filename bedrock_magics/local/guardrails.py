"""Amazon Bedrock Guardrails in the local service: a small regional registry and a deterministic check.

Control plane, on the paths and shapes of botocore's ``bedrock`` model (requests checked against it,
see :mod:`.shapes`):

=======================  ===============================================================
CreateGuardrail          ``POST /guardrails`` (202; the guardrail's ``DRAFT``)
CreateGuardrailVersion   ``POST /guardrails/{guardrailIdentifier}`` (202; versions 1, 2, …)
GetGuardrail             ``GET  /guardrails/{guardrailIdentifier}[?guardrailVersion=]`` (id or ARN)
ListGuardrails           ``GET  /guardrails`` (every ``DRAFT``; with ``guardrailIdentifier``, its versions)
=======================  ===============================================================

Guardrails are regional, as on AWS: one made in us-east-1 does not exist in us-west-2. Every region
also holds the **preset** guardrail ``localpreset1`` (versions ``DRAFT`` and ``1``), made for tests
and workshops: it denies the topic *Investment advice* and blocks the words *confidential* and *top
secret*, answering ``Sorry, the model cannot answer this question.`` (the console's default).

Runtime: Converse and ConverseStream take ``guardrailConfig`` (``guardrailIdentifier``,
``guardrailVersion``, ``trace``); InvokeModel and InvokeModelWithResponseStream the headers
``X-Amzn-Bedrock-GuardrailIdentifier``/``-GuardrailVersion`` and ``X-Amzn-Bedrock-Trace``. An id or
version the region does not hold is AWS's ``ValidationException: The guardrail identifier or version
provided in the request does not exist.``

The check (deterministic; write tests against it):

* **What is read**: the text of every message, or only the ``guardContent`` blocks when a Converse
  request has any; the system prompt is not read. Then the model's answer, as output.
* **Denied topics** are detected when the text contains the topic's name or one of its examples;
  **words** when it contains a configured word or phrase — both case-insensitive, on word
  boundaries. Only policies enabled for that side (``inputEnabled``/``outputEnabled``, default on)
  are read; an action of ``NONE`` reports a detection without blocking.
* **Not evaluated locally** (accepted, stored and shown by GetGuardrail, never triggered): content
  filters, the managed profanity list, sensitive information, contextual grounding, automated
  reasoning.
* **Blocked input**: the model is not called. Converse answers the ``blockedInputMessaging`` with
  stop reason ``guardrail_intervened`` and zero tokens; **blocked output** replaces the answer with
  ``blockedOutputsMessaging`` (the tokens were spent). InvokeModel bodies carry the message as the
  model's text and ``"amazon-bedrock-guardrailAction": "INTERVENED"`` (``"NONE"`` when clean).
* **Trace** (Converse ``trace: enabled|enabled_full``, InvokeModel ``X-Amzn-Bedrock-Trace: ENABLED``):
  ``trace.guardrail`` with ``inputAssessment`` and ``outputAssessments`` keyed by guardrail id, each
  with its detections and ``invocationMetrics`` — the guardrail's usage in text units (one per
  1,000 characters read, for each configured policy) and its coverage.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from .control import page
from .credentials import ACCOUNT_ID
from .http import CONTROL, AwsError, Request, Response, Router, json_response
from .responder import Answer, Call
from .shapes import validate

STATE = "guardrails"  # key in app.state: region -> {guardrail id -> {version -> record}}
PRESET_ID = "localpreset1"
PRESET = {
    "name": "local-preset",
    "description": "The local service's preset guardrail: denies investment advice, blocks two words.",
    "topicPolicyConfig": {"topicsConfig": [{
        "name": "Investment advice", "type": "DENY",
        "definition": "Recommendations about investing money, such as which stocks, funds or crypto-currencies to buy.",
        "examples": ["Which stocks should I buy?", "Should I invest in bitcoin?"]}]},
    "wordPolicyConfig": {"wordsConfig": [{"text": "confidential"}, {"text": "top secret"}]},
    "blockedInputMessaging": "Sorry, the model cannot answer this question.",
    "blockedOutputsMessaging": "Sorry, the model cannot answer this question.",
}
NOT_FOUND = "The guardrail identifier or version provided in the request does not exist."
ACTION_INTERVENED, ACTION_NONE = "INTERVENED", "NONE"
_ID = re.compile(r"^(?:arn:aws(?:-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/)?([a-z0-9]+)$")
#: How each CreateGuardrail policy config is shown by GetGuardrail: (config key, policy key, {list renames}).
_POLICIES = (
    ("topicPolicyConfig", "topicPolicy", {"topicsConfig": "topics", "tierConfig": "tier"}),
    ("contentPolicyConfig", "contentPolicy", {"filtersConfig": "filters", "tierConfig": "tier"}),
    ("wordPolicyConfig", "wordPolicy", {"wordsConfig": "words", "managedWordListsConfig": "managedWordLists"}),
    ("sensitiveInformationPolicyConfig", "sensitiveInformationPolicy",
     {"piiEntitiesConfig": "piiEntities", "regexesConfig": "regexes"}),
    ("contextualGroundingPolicyConfig", "contextualGroundingPolicy", {"filtersConfig": "filters", "tierConfig": "tier"}),
    ("automatedReasoningPolicyConfig", "automatedReasoningPolicy", {}),
)
_TEXT_UNIT = 1000  # characters per guardrail text unit


# --------------------------------------------------------------------------------------------------
# The registry


def _now() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _arn(region: str, guardrail_id: str) -> str:
    return f"arn:aws:bedrock:{region}:{ACCOUNT_ID}:guardrail/{guardrail_id}"


def _record(region: str, guardrail_id: str, version: str, config: dict, created: str | None = None) -> dict:
    stamp = _now()
    return {"id": guardrail_id, "arn": _arn(region, guardrail_id), "version": version, "status": "READY",
            "config": config, "createdAt": created or stamp, "updatedAt": stamp}


def _region(app: Any, region: str) -> dict[str, dict[str, dict]]:
    """The guardrails of a region (callers hold ``app.lock``); the preset is always there."""
    regions = app.state.setdefault(STATE, {"tokens": {}})
    if region not in regions:
        preset = _record(region, PRESET_ID, "DRAFT", PRESET)
        regions[region] = {PRESET_ID: {"DRAFT": preset, "1": {**preset, "version": "1"}}}
    return regions[region]


def _versions(app: Any, region: str, identifier: str) -> dict[str, dict] | None:
    """The versions of the guardrail an id or ARN names in ``region`` (None when there is none)."""
    found = _ID.match(identifier or "")
    if not found or (identifier.startswith("arn:") and identifier != _arn(region, found.group(1))):
        return None
    with app.lock:
        return _region(app, region).get(found.group(1))


def find(app: Any, region: str, identifier: str, version: str) -> dict:
    """A guardrail version a runtime request names, or AWS's ``ValidationException``."""
    record = (_versions(app, region, identifier) or {}).get(version or "")
    if record is None:
        raise AwsError("ValidationException", NOT_FOUND)
    return record


# --------------------------------------------------------------------------------------------------
# Control-plane handlers


def create_guardrail(req: Request) -> Response:
    """CreateGuardrail: a new guardrail's ``DRAFT`` (202)."""
    body = req.json()
    validate("CreateGuardrail", body)
    with req.app.lock:
        guardrails = _region(req.app, req.region)
        tokens = req.app.state[STATE]["tokens"]
        token = (req.region, body.get("clientRequestToken"))
        if token[1] and token in tokens:  # a retried create: the same guardrail again
            draft = guardrails[tokens[token]]["DRAFT"]
        else:
            if any(v["DRAFT"]["config"]["name"] == body["name"] for v in guardrails.values()):
                raise AwsError("ConflictException", "A guardrail with this name already exists in this Region.")
            guardrail_id = secrets.token_hex(6)
            config = {k: v for k, v in body.items() if k not in ("clientRequestToken", "tags")}
            draft = _record(req.region, guardrail_id, "DRAFT", config)
            guardrails[guardrail_id] = {"DRAFT": draft}
            if token[1]:
                tokens[token] = guardrail_id
    return json_response({"guardrailId": draft["id"], "guardrailArn": draft["arn"], "version": "DRAFT",
                          "createdAt": draft["createdAt"]}, 202)


def create_guardrail_version(req: Request) -> Response:
    """CreateGuardrailVersion: the current ``DRAFT`` frozen as the next numbered version (202)."""
    body = req.json()
    validate("CreateGuardrailVersion", {**body, "guardrailIdentifier": req.params["guardrailIdentifier"]})
    versions = _versions(req.app, req.region, req.params["guardrailIdentifier"])
    if versions is None:
        raise AwsError("ResourceNotFoundException", "The guardrail identifier provided in the request does not exist.")
    with req.app.lock:
        number = str(1 + max((int(v) for v in versions if v.isdigit()), default=0))
        draft = versions["DRAFT"]
        versions[number] = {**_record(req.region, draft["id"], number, draft["config"]),
                            "description": body.get("description")}
    return json_response({"guardrailId": draft["id"], "version": number}, 202)


def _details(record: dict) -> dict:
    """GetGuardrail's answer for one version."""
    config = record["config"]
    out = {"name": config["name"], "guardrailId": record["id"], "guardrailArn": record["arn"],
           "version": record["version"], "status": record["status"], "createdAt": record["createdAt"],
           "updatedAt": record["updatedAt"], "blockedInputMessaging": config["blockedInputMessaging"],
           "blockedOutputsMessaging": config["blockedOutputsMessaging"]}
    description = record.get("description") or config.get("description")
    if description:
        out["description"] = description
    for config_key, policy_key, renames in _POLICIES:
        if config.get(config_key):
            out[policy_key] = {renames.get(k, k): v for k, v in config[config_key].items()}
    if "wordPolicy" in out:
        out["wordPolicy"] = {"words": [], "managedWordLists": [], **out["wordPolicy"]}
    if config.get("kmsKeyId", "").startswith("arn:aws:kms:"):
        out["kmsKeyArn"] = config["kmsKeyId"]
    return out


def get_guardrail(req: Request) -> Response:
    """GetGuardrail: one version (``DRAFT`` unless ``guardrailVersion`` names another)."""
    identifier, version = req.params["guardrailIdentifier"], req.query_one("guardrailVersion")
    validate("GetGuardrail", {"guardrailIdentifier": identifier, "guardrailVersion": version})
    record = (_versions(req.app, req.region, identifier) or {}).get(version or "DRAFT")
    if record is None:
        raise AwsError("ResourceNotFoundException",
                       "The guardrail identifier or version provided in the request does not exist.")
    return json_response(_details(record))


def list_guardrails(req: Request) -> Response:
    """ListGuardrails: each guardrail's ``DRAFT``, or every version of ``guardrailIdentifier``."""
    identifier = req.query_one("guardrailIdentifier")
    if identifier is not None:
        validate("ListGuardrails", {"guardrailIdentifier": identifier})
        records = list((_versions(req.app, req.region, identifier) or {}).values())
    else:
        with req.app.lock:
            records = [versions["DRAFT"] for versions in _region(req.app, req.region).values()]
    summaries = []
    for r in records:
        summary = {"id": r["id"], "arn": r["arn"], "status": r["status"], "name": r["config"]["name"],
                   "version": r["version"], "createdAt": r["createdAt"], "updatedAt": r["updatedAt"]}
        if r.get("description") or r["config"].get("description"):
            summary["description"] = r.get("description") or r["config"]["description"]
        summaries.append(summary)
    return page(req, summaries, "guardrails")


def register(router: Router) -> None:
    """Add the guardrail routes (surface CONTROL)."""
    router.add(CONTROL, "POST", "/guardrails", create_guardrail)
    router.add(CONTROL, "GET", "/guardrails", list_guardrails)
    router.add(CONTROL, "GET", "/guardrails/{guardrailIdentifier}", get_guardrail)
    router.add(CONTROL, "POST", "/guardrails/{guardrailIdentifier}", create_guardrail_version)


# --------------------------------------------------------------------------------------------------
# The check


def _contains(text: str, phrase: str) -> bool:
    return bool(phrase) and re.search(rf"(?<!\w){re.escape(phrase.strip())}(?!\w)", text, re.I) is not None


def _enabled(item: dict, side: str) -> bool:
    return item.get(f"{side}Enabled", True)


def _action(item: dict, side: str) -> str:
    return "NONE" if item.get(f"{side}Action") == "NONE" else "BLOCKED"


def assess(record: dict, text: str, side: str) -> tuple[bool, dict]:
    """(blocked, ``GuardrailAssessment``) of ``text`` on the ``input`` or ``output`` side."""
    config, assessment, blocked = record["config"], {}, False
    topics = [{"name": t["name"], "type": "DENY", "action": _action(t, side), "detected": True}
              for t in (config.get("topicPolicyConfig") or {}).get("topicsConfig", [])
              if _enabled(t, side) and any(_contains(text, p) for p in [t["name"], *t.get("examples", [])])]
    if topics:
        assessment["topicPolicy"] = {"topics": topics}
    words = [{"match": w["text"], "action": _action(w, side), "detected": True}
             for w in (config.get("wordPolicyConfig") or {}).get("wordsConfig", [])
             if _enabled(w, side) and _contains(text, w["text"])]
    if words:
        assessment["wordPolicy"] = {"customWords": words, "managedWordLists": []}
    blocked = any(f["action"] == "BLOCKED" for f in [*topics, *words])
    units = math.ceil(len(text) / _TEXT_UNIT) if text else 0

    def used(*keys: str) -> int:
        return units if any(config.get(k) for k in keys) else 0

    pii = config.get("sensitiveInformationPolicyConfig") or {}
    assessment["invocationMetrics"] = {
        "guardrailProcessingLatency": 1,
        "usage": {"topicPolicyUnits": used("topicPolicyConfig"), "contentPolicyUnits": used("contentPolicyConfig"),
                  "wordPolicyUnits": used("wordPolicyConfig"),
                  "sensitiveInformationPolicyUnits": units if pii.get("regexesConfig") else 0,
                  "sensitiveInformationPolicyFreeUnits": units if pii.get("piiEntitiesConfig") else 0,
                  "contextualGroundingPolicyUnits": used("contextualGroundingPolicyConfig")},
        "guardrailCoverage": {"textCharacters": {"guarded": len(text), "total": len(text)}},
    }
    return blocked, assessment


def conversation_text(messages: Iterable[dict]) -> str:
    """The text a guardrail reads: the ``guardContent`` blocks if any, else every text block."""
    guarded, plain = [], []
    for message in messages:
        for block in message.get("content") or []:
            if not isinstance(block, dict):
                continue
            if isinstance(block.get("text"), str):
                plain.append(block["text"])
            guard = block.get("guardContent")
            if isinstance(guard, dict) and isinstance((guard.get("text") or {}).get("text"), str):
                guarded.append(guard["text"]["text"])
    return "\n".join(guarded or plain)


@dataclass
class Verdict:
    """What a guardrail made of one call: whether it intervened, and its trace (``trace.guardrail``)."""

    intervened: bool
    trace: dict


def apply(record: dict, call: Call, *, stop_reason: str = "guardrail_intervened") -> Verdict:
    """Check ``call``'s input, then (unless blocked) its answer; a blocked side replaces ``call.answer``
    by the guardrail's message with ``stop_reason`` (InvokeModel bodies keep their own reasons)."""
    config, key = record["config"], record["id"]
    blocked, input_assessment = assess(record, conversation_text(call.messages), "input")
    trace: dict[str, Any] = {"inputAssessment": {key: input_assessment}}
    if blocked:
        call.answer = Answer(config["blockedInputMessaging"], None, stop_reason, 0, 0)
    else:
        answer = call.answer
        blocked, output_assessment = assess(record, answer.text, "output")
        trace["outputAssessments"] = {key: [output_assessment]}
        if blocked:
            trace["modelOutput"] = [answer.text]
            call.answer = Answer(config["blockedOutputsMessaging"], None, stop_reason, answer.prompt_tokens,
                                 answer.output_tokens, cache=answer.cache, family=answer.family)
    if blocked:
        trace["actionReason"] = "Guardrail blocked."
    return Verdict(blocked, trace)
