"""What Bedrock refuses because the model cannot do it, refused here with Bedrock's own words.

Each check reads the model's :class:`~bedrock_magics.local.capabilities.Capabilities` and runs after
the request's shape was checked (as on AWS, where shape errors come first):

* Converse (and ConverseStream) — :func:`check_converse`: a system prompt for a model without one
  (Titan Text), an image/document/video block for a model without that input, a ``toolChoice`` kind
  the model lacks, and Claude's extended-thinking rules;
* InvokeModel with an Anthropic body — :func:`check_anthropic_body`: the same thinking rules, and the
  thinking blocks sent back in the history (:func:`check_thinking_blocks`);
* InvokeModel with a Nova body — :func:`check_nova_body`: the video limits and Nova 2's
  ``reasoningConfig`` rules, as Converse;
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

Thinking blocks sent back (Anthropic's rules, as Bedrock relays them): a ``thinking`` block without its
signature, "messages.369.content.0.thinking.signature: Field required" (can1357/oh-my-pi#10486, an empty
signature too); with a signature Claude did not give, "messages.39.content.0: Invalid signature in thinking
block" (openclaw/openclaw#88020); with thinking on, a tool-use turn answered by tool results must start with
its thinking, "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`. When
`thinking` is enabled, a final `assistant` message must start with a thinking block …" (vercel/ai#4980).

Nova 2's extended thinking (``reasoningConfig``, nova2-userguide/extended-thinking.html): a model
without it answers "Malformed input request: the provided reasoning config value is invalid, please
reformat your input and try again." (Nova Micro and Nova Pro, recorded from AWS in vercel/ai's
amazon-bedrock-nova-micro-portable-reasoning.json and UKGovernmentBEIS/inspect_ai#5301); an OpenAI model
relays its ``unknown_parameter`` error (vercel/ai amazon-bedrock-openai-cris-reasoning-config-error.json);
at ``maxReasoningEffort: high`` a ``maxTokens`` is refused with "`maxTokens` must be unset when
reasoningConfig type is 'enabled' and maxReasoningEffort is 'high'. …" (vercel/ai
amazon-bedrock-nova-2-high-reasoning-validation-error.json), and so are temperature, topP and topK
(the Nova 2 model card, as quoted by third parties; their wording here is INFERRED from the
``maxTokens`` one).

Videos (API_runtime_VideoSource.html: inline bytes "less than 25MB" base64-encoded; Amazon Nova user
guide, modalities-video.html: "a single video in the payload"): the wording of both refusals is
INFERRED (no recorded AWS message).
"""

from __future__ import annotations

from typing import Any, Mapping

from .capabilities import Capabilities
from .http import AwsError, OpenAIError
from .responder.reasoning import signature

NO_SYSTEM = ("This model doesn't support system messages. Try again without a system message or use a model that "
             "supports system messages.")
RELAYED = "The model returned the following errors: "
_THINKING_DOCS = "https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking"
THINKING_TEMPERATURE = (f"{RELAYED}`temperature` may only be set to 1 when thinking is enabled. Please consult our "
                        f"documentation at {_THINKING_DOCS}#important-considerations-when-using-extended-thinking")
THINKING_MAX_TOKENS = (f"{RELAYED}`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                       f"documentation at {_THINKING_DOCS}#max-tokens-and-context-window-size")
THINKING_FORCED_TOOL = f"{RELAYED}Thinking may not be enabled when tool_choice forces tool use."
THINKING_FIRST = (f"{RELAYED}messages.{{index}}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
                  "found `{found}`. When `thinking` is enabled, a final `assistant` message must start with a "
                  "thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We "
                  "recommend you include thinking blocks from previous turns. To avoid this requirement, disable "
                  "`thinking`.")
#: Claude Sonnet 5 / Opus 5 take no sampling parameters (a 400 invalid_request_error, per langchain-aws's
#: test_anthropic_mantle.py); the wording is INFERRED from Anthropic's other parameter errors.
NO_SAMPLING = "`{name}` is not supported for this model; remove it and try again."
_MEDIA = ("image", "document", "video")
#: How a refusal names the APIs that do serve the model.
_API = {"runtime/chat": "Chat Completions", "runtime/responses": "the Responses API", "mantle/chat": "Chat Completions",
        "mantle/responses": "the Responses API", "runtime/converse": "Converse", "runtime/invoke": "InvokeModel"}


#: Nova 2's ``reasoningConfig`` values (nova2-userguide/request-response-schema.html).
REASONING_TYPES = ("enabled", "disabled")
REASONING_EFFORTS = ("low", "medium", "high")
BAD_REASONING_CONFIG = (f"{RELAYED}Malformed input request: the provided reasoning config value is invalid, please "
                        f"reformat your input and try again.")
UNKNOWN_REASONING_CONFIG = (RELAYED + '{"error":{"code":"unknown_parameter","message":"Unknown parameter: '
                            '\'reasoningConfig\'.","param":"reasoningConfig","type":"invalid_request_error"}}')
HIGH_EFFORT_UNSET = (f"{RELAYED}`{{name}}` must be unset when reasoningConfig type is 'enabled' and maxReasoningEffort "
                     f"is 'high'. Please consult our documentation at https://docs.aws.amazon.com/nova/latest/userguide")
#: Inline video bytes: under 25 MB base64-encoded (API_runtime_VideoSource.html); one video a request.
MAX_VIDEO_BASE64 = 25_000_000
MAX_VIDEOS = 1


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message)


def check_videos(messages: Any) -> None:
    """Refuse a second video, and inline video bytes of 25 MB or more base64-encoded (raw bytes, as
    the responder may hold them, are counted encoded)."""
    videos = 0
    for i, message in enumerate(messages or []):
        content = message.get("content") if isinstance(message, Mapping) else None
        for j, block in enumerate(content if isinstance(content, list) else []):
            video = block.get("video") if isinstance(block, Mapping) else None
            if not isinstance(video, Mapping):
                continue
            videos += 1
            if videos > MAX_VIDEOS:
                raise _invalid("This model accepts a single video per request. Remove the extra videos and try again.")
            source = video.get("source") if isinstance(video.get("source"), Mapping) else {}
            data = source.get("bytes")
            encoded = len(data) if isinstance(data, str) else 4 * ((len(data) + 2) // 3) if data else 0
            if encoded >= MAX_VIDEO_BASE64:
                raise _invalid(f"The video at messages.{i}.content.{j} is too large: inline video bytes must be less "
                               f"than 25MB base64-encoded. Use an Amazon S3 location for larger videos.")


def check_reasoning_config(caps: Capabilities, config: Any, settings: Mapping[str, Any]) -> None:
    """Nova 2's ``reasoningConfig`` (see the module docstring): refused on a model without it, with a
    value Nova does not take, and at ``high`` effort with any of ``settings`` (``maxTokens``,
    ``temperature``, ``topP``, ``topK`` as given, None when absent)."""
    if config is None:
        return
    if caps.reasoning != "reasoningConfig":
        if caps.model_id.startswith("openai."):
            raise _invalid(UNKNOWN_REASONING_CONFIG)
        raise _invalid(BAD_REASONING_CONFIG)
    if (not isinstance(config, Mapping) or config.get("type") not in REASONING_TYPES
            or config.get("maxReasoningEffort", "medium") not in REASONING_EFFORTS):
        raise _invalid(BAD_REASONING_CONFIG)
    if config["type"] == "enabled" and config.get("maxReasoningEffort") == "high":
        for name, value in settings.items():
            if value is not None:
                raise _invalid(HIGH_EFFORT_UNSET.format(name=name))


def check_nova_body(body: Mapping[str, Any], caps: Capabilities) -> None:
    """Refuse a Nova InvokeModel body over the video limits or with a ``reasoningConfig`` (top level in
    this body) the model refuses; its media blocks' formats and modalities are
    :func:`~bedrock_magics.local.wire.invoke_checks.check_nova`'s."""
    check_videos(body.get("messages"))
    config = body.get("inferenceConfig") if isinstance(body.get("inferenceConfig"), Mapping) else {}
    tokens = config.get("maxTokens", config.get("max_new_tokens"))
    check_reasoning_config(caps, body.get("reasoningConfig"), {
        "maxTokens": tokens, "temperature": config.get("temperature"), "topP": config.get("topP"),
        "topK": config.get("topK")})


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
    check_videos(body.get("messages"))
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
    if isinstance(extra, Mapping):  # Nova's topK rides in additionalModelRequestFields.inferenceConfig
        nova = extra.get("inferenceConfig") if isinstance(extra.get("inferenceConfig"), Mapping) else {}
        check_reasoning_config(caps, extra.get("reasoningConfig"), {
            "maxTokens": config.get("maxTokens"), "temperature": config.get("temperature"),
            "topP": config.get("topP"), "topK": nova.get("topK")})


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
    thinking = body.get("thinking")
    check_thinking_blocks(body.get("messages"), enabled=caps.reasoning == "thinking" and isinstance(thinking, Mapping)
                          and thinking.get("type") in ("enabled", "adaptive"))


def check_thinking_blocks(messages: Any, *, enabled: bool) -> None:
    """The thinking blocks of an Anthropic body's history: each signed with the signature its text was
    given (``responder.reasoning.signature``), and, with thinking ``enabled``, the assistant turn whose
    tool calls the last message answers opening with one (see the module docstring)."""
    messages = messages if isinstance(messages, list) else []
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, Mapping) else None
        for j, part in enumerate(content if isinstance(content, list) else []):
            if not isinstance(part, Mapping) or part.get("type") != "thinking":
                continue
            given = part.get("signature")
            if not isinstance(given, str) or not given:
                raise _invalid(f"{RELAYED}messages.{i}.content.{j}.thinking.signature: Field required")
            if given != signature(str(part.get("thinking") or "")):
                raise _invalid(f"{RELAYED}messages.{i}.content.{j}: Invalid signature in thinking block")
    if not enabled or len(messages) < 2:
        return
    turn, answer = messages[-2], messages[-1]
    blocks = [p for p in (turn.get("content") if isinstance(turn, Mapping) else None) or [] if isinstance(p, Mapping)]
    results = [p for p in (answer.get("content") if isinstance(answer, Mapping) else None) or []
               if isinstance(p, Mapping) and p.get("type") == "tool_result"]
    if turn.get("role") == "assistant" and results and any(p.get("type") == "tool_use" for p in blocks):
        first = blocks[0].get("type") if blocks else "nothing"
        if first not in ("thinking", "redacted_thinking"):
            raise _invalid(THINKING_FIRST.format(index=len(messages) - 2, found=first))


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
