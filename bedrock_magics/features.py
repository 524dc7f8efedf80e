"""``--schema``, ``--reasoning``, ``--prompt-cache``, ``--image``, ``--document`` and ``--video`` checked
against the model and the route before anything is sent, and set on the :class:`Request`.

Each refusal is a ``ValueError`` of one line naming the cause and the fix; what only limits a
feature (a prompt below the model's caching minimum, a route that caches by itself) is a one-line
:class:`~bedrock_magics.errors.Note` and the call goes ahead. The wire shapes are the routes'
(``routes/_features.py``, and ``routes/codecs.py`` for InvokeModel bodies); what a model can do comes
from ``modelcaps``.

On the InvokeModel API (``--api invoke``) the body is the model family's own: ``--image`` goes in
the Claude and Amazon Nova bodies, ``--schema`` in Claude's ``output_config.format`` (models with
structured output) or as a forced tool (older Claude models, Nova); other families, and documents
(which Bedrock takes on Converse only), are refused in one line pointing to ``--api converse``.

Reasoning, per family (the capability data's ``reasoning`` kind; AWS docs:
``claude-messages-extended-thinking.html``, ``model-parameters-openai.html``,
nova2-userguide ``extended-thinking.html`` and its code library):

* ``thinking`` (Claude): a thinking budget of at least 1,024 tokens, below ``max_tokens``, with
  temperature unset or 1 and top_p unset; ``low``/``medium``/``high`` give budgets of
  1,024/4,096/16,384;
* ``effort`` (gpt-oss, GPT-5.x): a reasoning effort (``low``/``medium``/``high``; no token budget);
* ``reasoningConfig`` (Amazon Nova 2 Lite): ``{"type": "enabled", "maxReasoningEffort": level}``, in
  Converse's ``additionalModelRequestFields`` and at the top of the InvokeModel body; at ``high``
  Bedrock refuses ``maxTokens`` ("`maxTokens` must be unset when reasoningConfig type is 'enabled'
  and maxReasoningEffort is 'high'", as recorded from AWS in vercel/ai's
  amazon-bedrock-nova-2-high-reasoning-validation-error.json) and the Nova 2 model card adds
  temperature, topP and topK; the reasoning comes back redacted (``[REDACTED]``,
  nova2-userguide/reasoning-capabilities.html);
* ``always`` (DeepSeek-R1, Kimi K2 Thinking): no setting (inference-reasoning.html: "Reasoning is
  always enabled for this model").

AWS documents no reasoning switch for DeepSeek-V3.x or Qwen3 on Bedrock: they are refused.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any, Mapping, Sequence

from .attachments import attachment, check_count, check_route, labelled
from .errors import BedrockError, Note
from .modelcaps import capabilities
from .modelids import EMBED_FAMILIES
from .promptcache import cached_prefix_tokens
from .reply import Reply
from .request import Request
from .routes._common import body_family
from .schema import as_schema

__all__ = ["BUDGETS", "apply", "labelled", "parse_reasoning", "validated"]

#: The InvokeModel body families that carry ``--image`` (Anthropic Messages image blocks; Nova's
#: messages-v1 image blocks, base64 ``bytes``: nova2-userguide/request-response-schema.html).
INVOKE_IMAGE_FAMILIES = ("anthropic", "nova")
#: The InvokeModel body families that carry ``--schema``: Claude's ``output_config.format``
#: (structured-output.html) or a forced tool, Nova's forced ``toolConfig.toolChoice.tool``.
INVOKE_SCHEMA_FAMILIES = ("anthropic", "nova")
#: ``--reasoning low|medium|high`` as a Claude thinking budget (tokens).
BUDGETS = {"low": 1024, "medium": 4096, "high": 16384}
_LEVELS = tuple(BUDGETS)
_noted: set[str] = set()


def _note(key: str, message: str) -> None:
    if key not in _noted:
        _noted.add(key)
        warnings.warn(message, Note, stacklevel=4)


def parse_reasoning(value: Any) -> str | int | None:
    """``low``/``medium``/``high`` or a positive token budget; ``ValueError`` (one line) otherwise."""
    if value is None or value is False:
        return None
    if isinstance(value, str) and value.strip().lower() in _LEVELS:
        return value.strip().lower()
    text = str(value).strip().replace("_", "")
    if not isinstance(value, bool) and text.isdigit() and int(text) > 0:
        return int(text)
    raise ValueError(f"--reasoning takes low, medium, high or a token budget (e.g. 2048), not {value!r}")


def _kind(model: str, caps: dict[str, Any] | None) -> str | None:
    if caps is not None:
        return caps.get("reasoning")
    low = model.lower()  # a model the capability file does not know: go by its family
    if "nova-2-lite" in low:
        return "reasoningConfig"
    return "thinking" if "anthropic." in low else "effort" if "openai." in low else None


def _nova_reasoning(request: Request, value: str | int, body: dict[str, Any]) -> dict[str, Any]:
    """Nova 2's ``reasoningConfig`` (module docstring): a level, and at ``high`` no sampling or token limit."""
    if not isinstance(value, str):
        raise ValueError(f"{request.model} takes a reasoning effort (low, medium, high), not a token budget")
    if value == "high":
        given = [name for name, v in (("--max-tokens", request.max_tokens), ("--temperature", request.temperature),
                                      ("--top-p", request.top_p)) if v is not None]
        if given:
            raise ValueError(f"--reasoning high with {request.model} takes no {', '.join(given)} (Bedrock refuses "
                             f"them at high effort); leave them unset or use --reasoning medium")
    config = {"type": "enabled", "maxReasoningEffort": value}
    if request.api == "invoke":
        body["reasoningConfig"] = config
    return {"effort": value, "config": config}


def _reasoning(request: Request, value: str | int, caps: dict[str, Any] | None) -> Request:
    kind = _kind(request.model, caps)
    if kind == "always":
        _note(f"always\0{request.model}", f"{request.model} always reasons; --reasoning has nothing to set")
        return request
    if kind is None:
        raise ValueError(f"{request.model} does not reason; --reasoning works with Claude (a thinking budget), "
                         f"gpt-oss, GPT-5.x and Amazon Nova 2 Lite (an effort)")
    body = dict(request.extra.get("body") or {})
    if kind == "reasoningConfig":
        if request.api not in ("converse", "invoke"):
            raise ValueError(f"{request.model} reasons on Converse and InvokeModel; use --api converse")
        mapped: dict[str, Any] = _nova_reasoning(request, value, body)
    elif kind == "effort":
        efforts = (caps or {}).get("reasoningEfforts") or list(_LEVELS)
        if not isinstance(value, str) or value not in efforts:
            raise ValueError(f"{request.model} takes a reasoning effort ({', '.join(efforts)}), not a token budget")
        mapped = {"effort": value}
        if request.api == "invoke":
            body["reasoning_effort"] = value
    else:
        budget = BUDGETS[value] if isinstance(value, str) else value
        least = (caps or {}).get("thinkingMinBudget") or 1024
        if budget < least:
            raise ValueError(f"--reasoning {budget}: Claude's thinking budget is at least {least} tokens")
        if request.temperature not in (None, 1, 1.0):
            raise ValueError(f"--reasoning with Claude needs --temperature unset or 1 (it is {request.temperature})")
        if request.top_p is not None:
            raise ValueError("--reasoning with Claude takes no --top-p; leave it unset")
        max_tokens = request.max_tokens
        if max_tokens is None:
            max_tokens = budget + 4096  # room for the answer after the thinking
        elif budget >= max_tokens:
            raise ValueError(f"--reasoning {budget}: the thinking budget must be below --max-tokens ({max_tokens}); "
                             f"raise --max-tokens to more than {budget}")
        request = replace(request, max_tokens=max_tokens)
        mapped = {"budget": budget}
        if request.api == "invoke":
            body["thinking"] = {"type": "enabled", "budget_tokens": budget}
    extra = {**request.extra, "reasoning": mapped}
    if body:
        extra["body"] = body
    return replace(request, reasoning=value, extra=extra)


def _schema(request: Request, value: Any, caps: dict[str, Any] | None) -> Request:
    schema = as_schema(value)
    extra = dict(request.extra)
    if request.api == "invoke":
        family = body_family(request)
        if family not in INVOKE_SCHEMA_FAMILIES:
            raise ValueError(f"--schema on the InvokeModel API works with Claude and Amazon Nova bodies, not "
                             f"{family or 'this model'}'s; use --api converse for {request.model}")
        if family == "nova" or (caps is not None and not caps.get("structuredOutput")):
            if caps is not None and not caps.get("toolUse", True):
                raise ValueError(f"{request.model} has neither structured output nor tool use: --schema cannot be sent")
            extra["schema_via_tool"] = True  # Nova's body has no output format; older Claude models neither
        return replace(request, schema=schema, extra=extra)
    if caps is not None and not caps.get("structuredOutput"):
        if request.api != "converse":
            raise ValueError(f"{request.model} has no structured output on the {request.api} API; use --api converse "
                             f"(it asks for the answer as a tool call)")
        if not caps.get("toolUse", True):
            raise ValueError(f"{request.model} has neither structured output nor tool use: --schema cannot be sent")
        extra["schema_via_tool"] = True
    return replace(request, schema=schema, extra=extra)


def _prompt_cache(request: Request, caps: dict[str, Any] | None) -> Request:
    if request.api in ("chat", "responses"):
        _note(f"cache-openai\0{request.api}", f"the {request.api} API caches long prompts by itself; --prompt-cache "
                                              f"adds nothing there (cached tokens are still counted)")
        return request
    if caps is not None and not caps.get("promptCaching"):
        _note(f"cache\0{request.model}", f"{request.model} has no prompt caching; --prompt-cache is ignored")
        return request
    least = (caps or {}).get("cacheMinTokens") or 0
    size = cached_prefix_tokens(request)
    if size < least:
        _note(f"cache-min\0{request.model}\0{size // 100}",
              f"about {size} tokens come before the prompt; {request.model} caches from {least}: no cache point added")
        return request
    return replace(request, prompt_cache=True)


def _attach(request: Request, images: Sequence[Any], documents: Sequence[Any],
            caps: dict[str, Any] | None, videos: Sequence[Any] = ()) -> Request:
    blocks = [attachment(v, "image", label) for label, v in images] + \
        [attachment(v, "document", label) for label, v in documents]
    blocks += [attachment(v, "video", label) for label, v in videos]
    if not blocks:
        return request
    check_count(blocks)
    check_route(blocks, request.api)
    if request.api == "invoke":
        _invoke_attachments(request, blocks)
    inputs = (caps or {}).get("inputs")
    for kind in ("image", "document", "video"):
        if inputs is not None and kind not in inputs and any(kind in b for b in blocks):
            raise ValueError(f"{request.model} takes no {kind}s (its inputs: {', '.join(inputs)}); "
                             f"choose a model that reads {kind}s")
    last = request.messages[-1]
    message = {"role": "user", "content": [*blocks, *last["content"]]}
    return replace(request, messages=request.messages[:-1] + (message,))


def _invoke_attachments(request: Request, blocks: list[dict[str, Any]]) -> None:
    """InvokeModel carries images in the Claude and Nova bodies only, and no documents at all
    (AWS, inference-api-restrictions.html: "Including documents in the request body is not supported
    when using InvokeModel and InvokeModelWithResponseStream"; Nova, userguide/invoke.html)."""
    if any("document" in b for b in blocks):
        raise ValueError(f"--document is not sent on the InvokeModel API (Bedrock takes documents on Converse "
                         f"only); use --api converse for {request.model}")
    family = body_family(request)
    if family in EMBED_FAMILIES:  # an embedding model: --embed sends its images in the model's own body
        raise ValueError(f"{request.model} is an embedding model: embed the text and image with --embed "
                         f"(Bedrock.embed(text, images=...) in Python)")
    if family not in INVOKE_IMAGE_FAMILIES:
        raise ValueError(f"--image on the InvokeModel API works with Claude and Amazon Nova bodies, not "
                         f"{family or 'this model'}'s; use --api converse for {request.model}")
    if family != "nova" and any("video" in b for b in blocks):
        raise ValueError(f"a video goes in Amazon Nova's InvokeModel body only; use --api converse for {request.model}")


def _forced_tool_thinking(request: Request) -> None:
    """Claude refuses a forced tool while thinking ("Thinking may not be enabled when tool_choice
    forces tool use", claude-messages-extended-thinking.html): say so before sending."""
    if request.extra.get("schema_via_tool") and "budget" in (request.extra.get("reasoning") or {}):
        raise ValueError(f"--schema with --reasoning: {request.model} would answer the schema through a forced "
                         f"tool, which Claude refuses while thinking; drop --reasoning, or use a model with "
                         f"structured output (Claude Sonnet 4.5 and later)")


def apply(request: Request, options: Mapping[str, Any]) -> Request:
    """``request`` with the features among ``options`` (``schema``, ``reasoning``, ``prompt_cache``,
    ``images``, ``documents``, ``videos``) set, after checking them against the model and the route.

    Raises ``ValueError`` (one line) for what Bedrock would refuse; notes what it would ignore."""
    if not any(options.get(name) for name in ("schema", "reasoning", "prompt_cache", "images", "documents",
                                              "videos")):
        return request
    caps = capabilities(request.model)
    images, documents = labelled(options.get("images")), labelled(options.get("documents"))
    videos = labelled(options.get("videos"))
    schema, reasoning, prompt_cache = options.get("schema"), options.get("reasoning"), options.get("prompt_cache")
    if images or documents or videos:
        request = _attach(request, images, documents, caps, videos)
    if schema is not None:
        request = _schema(request, schema, caps)
    level = parse_reasoning(reasoning)
    if level is not None:
        request = _reasoning(request, level, caps)
    if schema is not None and level is not None:
        _forced_tool_thinking(request)
    if prompt_cache:
        request = _prompt_cache(request, caps)
    return request


def validated(request: Request, reply: Reply) -> BedrockError | None:
    """With ``--schema``: set ``reply.data`` to the validated answer, or make the reply a failure
    whose error is the validation message (returned, for the caller to raise). None otherwise."""
    if request.schema is None or not reply.ok:
        return None
    from .schema import SchemaError

    try:
        reply.data = request.schema.validate(reply.text)
        return None
    except SchemaError as exc:
        error = BedrockError(str(exc), code="SchemaValidation", request_id=reply.request_id,
                             hint="The model's text is in reply.text: retry, or loosen the schema.")
        reply.status, reply.error, reply.error_code = "error", str(error), "SchemaValidation"
        error.reply = reply  # type: ignore[attr-defined]
        return error
