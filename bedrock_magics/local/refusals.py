"""What Bedrock refuses because the model cannot do it, refused here with Bedrock's own words.

Each check reads the model's :class:`~bedrock_magics.local.capabilities.Capabilities` and runs after
the request's shape was checked (as on AWS, where shape errors come first):

* Converse (and ConverseStream) — :func:`check_converse`: a system prompt for a model without one
  (Titan Text), an image/document/video block for a model without that input, a ``toolChoice`` kind
  the model lacks, and Claude's extended-thinking rules;
* InvokeModel with an Anthropic body — :func:`check_anthropic_body`: the same thinking rules;
* the OpenAI-compatible routes — :func:`check_route`: Chat Completions or Responses for a model that
  route does not serve, and on bedrock-mantle a model called under the other path prefix (gpt-oss
  lives under ``/v1``, GPT-5.x under ``/openai/v1``; the other prefix answers 404).

Messages (sources): "This model doesn't support system messages. …" (Mintplex-Labs/anything-llm#2486,
Titan Text Express); "This model doesn't support the image field for user messages. Remove image and
try again." (anomalyco/opencode#49443); "This model doesn't support the toolConfig.toolChoice.any field.
Remove toolConfig.toolChoice.any and try again." (strands-agents/harness-sdk#1241, vercel/ai#4396 for
``tool``); Anthropic's thinking errors as Bedrock relays them, prefixed "The model returned the
following errors: " (workglow-dev/libs#746, danny-avila/LibreChat#8346,
aws-samples/sample-voice-of-customer-datalake#323).
"""

from __future__ import annotations

from typing import Any, Mapping

from .capabilities import Capabilities
from .http import AwsError, OpenAIError

NO_SYSTEM = ("This model doesn't support system messages. Try again without a system message or use a model that "
             "supports system messages.")
RELAYED = "The model returned the following errors: "
_THINKING_DOCS = "https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking"
THINKING_TEMPERATURE = (f"{RELAYED}`temperature` may only be set to 1 when thinking is enabled. Please consult our "
                        f"documentation at {_THINKING_DOCS}#important-considerations-when-using-extended-thinking")
THINKING_MAX_TOKENS = (f"{RELAYED}`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                       f"documentation at {_THINKING_DOCS}#max-tokens-and-context-window-size")
THINKING_FORCED_TOOL = f"{RELAYED}Thinking may not be enabled when tool_choice forces tool use."
#: Claude Sonnet 5 / Opus 5 take no sampling parameters (a 400 invalid_request_error, per langchain-aws's
#: test_anthropic_mantle.py); the wording is INFERRED from Anthropic's other parameter errors.
NO_SAMPLING = "`{name}` is not supported for this model; remove it and try again."
_MEDIA = ("image", "document", "video")
#: How a refusal names the APIs that do serve the model.
_API = {"runtime/chat": "Chat Completions", "runtime/responses": "the Responses API", "mantle/chat": "Chat Completions",
        "mantle/responses": "the Responses API", "runtime/converse": "Converse", "runtime/invoke": "InvokeModel"}


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def check_converse(body: Mapping[str, Any], caps: Capabilities, max_tokens: int) -> None:
    """Refuse a (shape-valid) Converse body that asks ``caps``' model for what it cannot do.

    ``max_tokens``: the request's ``inferenceConfig.maxTokens``, else the model's limit."""
    if body.get("system") and not caps.system_prompt:
        raise _invalid(NO_SYSTEM)
    for message in body.get("messages") or []:
        for block in message.get("content") or []:
            for kind in _MEDIA:
                if kind in block:
                    check_media(caps, kind, message.get("role", "user"))
    choice = next(iter((body.get("toolConfig") or {}).get("toolChoice") or {}), None)
    if choice and choice not in caps.tool_choice:
        raise _invalid(f"This model doesn't support the toolConfig.toolChoice.{choice} field. Remove "
                       f"toolConfig.toolChoice.{choice} and try again.")
    extra = body.get("additionalModelRequestFields") or {}
    config = body.get("inferenceConfig") or {}
    check_sampling(caps, {"temperature": config.get("temperature"), "top_p": config.get("topP"),
                          "top_k": extra.get("top_k") if isinstance(extra, Mapping) else None}, relayed=True)
    check_thinking(caps, extra.get("thinking") if isinstance(extra, Mapping) else None, max_tokens,
                   config.get("temperature"), forced_tool=choice in ("any", "tool"))


def check_media(caps: Capabilities, kind: str, role: str = "user") -> None:
    """Refuse an ``image``/``document``/``video`` for a model without that input modality (Converse's
    words; InvokeModel's Claude and Nova bodies get the same sentence, INFERRED there)."""
    if kind not in caps.inputs:
        raise _invalid(f"This model doesn't support the {kind} field for {role} messages. Remove {kind} and try again.")


def check_anthropic_body(body: Mapping[str, Any], caps: Capabilities) -> None:
    """Refuse an Anthropic InvokeModel body that breaks the extended-thinking rules."""
    choice = body.get("tool_choice") if isinstance(body.get("tool_choice"), Mapping) else {}
    check_sampling(caps, {name: body.get(name) for name in ("temperature", "top_p", "top_k")}, relayed=True)
    check_thinking(caps, body.get("thinking"), body.get("max_tokens"), body.get("temperature"),
                   forced_tool=choice.get("type") in ("any", "tool"))


def check_sampling(caps: Capabilities, values: Mapping[str, Any], *, relayed: bool) -> None:
    """Refuse ``temperature``/``top_p``/``top_k`` (given as not None in ``values``) for a model that takes
    none (``caps.sampling`` false). ``relayed``: worded as Bedrock relays the model's error (runtime)."""
    if caps.sampling:
        return
    for name, value in values.items():
        if value is not None:
            raise _invalid((RELAYED if relayed else "") + NO_SAMPLING.format(name=name))


def check_thinking(caps: Capabilities, thinking: Any, max_tokens: Any, temperature: Any, *, forced_tool: bool) -> None:
    """Claude's extended thinking (``{"type": "enabled", "budget_tokens": N}``): N at least the model's
    minimum and below the max tokens, temperature 1 or unset, and no forced tool use."""
    if caps.reasoning != "thinking" or not isinstance(thinking, Mapping) or thinking.get("type") != "enabled":
        return
    budget = thinking.get("budget_tokens")
    minimum = caps.thinking_min_budget or 0
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < minimum:
        raise _invalid(f"{RELAYED}thinking.enabled.budget_tokens: Input should be greater than or equal to {minimum}")
    if isinstance(max_tokens, int) and budget >= max_tokens:
        raise _invalid(THINKING_MAX_TOKENS)
    if temperature is not None and temperature != 1:
        raise _invalid(THINKING_TEMPERATURE)
    if forced_tool:
        raise _invalid(THINKING_FORCED_TOOL)


def mantle_prefix(path: str) -> str:
    """The bedrock-mantle path prefix a (routed) request path is under: ``/openai/v1`` or ``/v1``."""
    return "/openai/v1" if path.startswith("/openai/v1/") else "/v1"


def check_route(caps: Capabilities, route: str, name: str, path: str) -> None:
    """Refuse an OpenAI-compatible call (``route`` as in :data:`~.capabilities.ROUTES`) the model does not
    serve; on mantle, a model under the other path prefix does not exist there (404, as AWS answers)."""
    if route.startswith("mantle/") and caps.mantle_prefix and mantle_prefix(path) != caps.mantle_prefix:
        raise OpenAIError(404, f"The model `{name}` does not exist or you do not have access to it.",
                          code="model_not_found", param="model")
    if not caps.serves(route):
        api = "Chat Completions" if route.endswith("/chat") else "Responses"
        served = [r for r in caps.routes if r.startswith(route.split("/")[0] + "/")]
        hint = (f"call it with {' or '.join(_API[r] for r in sorted(served))}" if served
                else "call it with Converse or InvokeModel")
        raise OpenAIError(400, f"model `{name}` isn't supported on this route: it does not serve the {api} API "
                               f"here; {hint}.", param="model", code="model_not_supported")
