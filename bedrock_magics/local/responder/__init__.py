"""The deterministic "model" of the local Bedrock service: what it answers, and how it counts.

Every inference API of the local service (Converse, ConverseStream, InvokeModel for every model
family, Chat Completions, Responses, batch jobs) translates its request into one *normalized
conversation* and asks :func:`respond`. The answer is a pure function of that conversation, so the
same prompt gives the same text and the same token counts whichever API carries it. Write test
assertions against the rules below.

The normalized conversation
---------------------------
* ``system``: the system prompt text (several system blocks are joined with a newline; Converse
  ``system`` blocks, Anthropic ``system``, Nova ``system``, Cohere ``preamble``, Chat ``system`` and
  ``developer`` messages, Responses ``instructions`` and system/developer input items).
* ``messages``: Converse-shaped messages ``{"role": "user"|"assistant", "content": [block, ...]}``
  where a block is ``{"text": str}``, ``{"toolUse": {"toolUseId", "name", "input"}}`` or
  ``{"toolResult": {"toolUseId", "content": [{"text": str} | {"json": value}], "status"?}}``,
  ``{"image": {"format", "source": {"bytes"}}}``, ``{"document": {"format", "name", "source",
  "citations"?}}``, ``{"video": …}`` and ``{"cachePoint": {"type", "ttl"?}}`` (bytes raw or base64;
  every API maps its images, files and cache markers to these). Reasoning blocks are ignored.
* ``tools``: :class:`Tool` (name, description, JSON-Schema parameters), from Converse ``toolSpec``,
  Anthropic ``tools``, OpenAI ``function`` tools, Cohere ``tools``...

A :class:`Call` carries the three, with the model and the settings (``max_tokens``, ``stop``, the
tool choice, the structured-output ``schema``, the ``reasoning`` asked for, the cache points of the
tools and system text); ``Call.answer`` is the answer to it.

Where each API puts the settings: structured output is Converse ``outputConfig.textFormat``
(``json_schema``, schema given as a JSON string), Chat ``response_format`` (``json_schema``, or
``json_object``: any object), Responses ``text.format``, the Anthropic body's ``output_config.format``
(InvokeModel and mantle's Messages API); a forced tool (Converse ``toolChoice.tool``, Anthropic
``tool_choice: {type: tool}``, OpenAI named ``tool_choice``) is a tool call. Reasoning is Converse ``additionalModelRequestFields.thinking`` and the Anthropic body's
``thinking`` (``{"type": "enabled", "budget_tokens": N}``; ``adaptive`` counts as medium effort),
Responses ``reasoning.effort``, Chat and the gpt-oss InvokeModel body's ``reasoning_effort``.

How each API builds it (so the same conversation costs the same input tokens everywhere):

* Converse / ConverseStream / CountTokens ``converse``: taken as is (``system``-role messages join
  the system text).
* InvokeModel bodies: Anthropic ``system`` + ``messages`` (string content is one text block,
  ``tool_use``/``tool_result`` blocks map to toolUse/toolResult); Nova as Converse; Titan Text's
  ``inputText`` is one user message; Llama 3's ``<|start_header_id|>role<|end_header_id|>`` turns
  (the empty assistant header at the end is the cue, not a message) and Mistral/Llama 2 ``[INST] …
  [/INST]`` turns (``<<SYS>>`` is the system) are split into messages, any other prompt is one user
  message; Mistral chat and gpt-oss bodies as Chat Completions; Cohere ``preamble`` (+ SYSTEM turns)
  is the system, ``chat_history`` then ``message`` the messages, and ``tool_results`` add an
  assistant message of tool calls and a user message of their results.
* Chat Completions (:func:`~bedrock_magics.local.wire.chat.chat_call`): ``system``/``developer``
  messages are the system text; an assistant's ``tool_calls`` are toolUse blocks; consecutive
  ``tool`` messages are one user message of toolResults.
* Responses: ``instructions`` then system/developer input items are the system text; the stored
  conversation of ``previous_response_id`` (its inputs and outputs, not its instructions) comes
  first; ``function_call`` items join the assistant message before them and consecutive
  ``function_call_output`` items form one user message.

What the model says (first rule that applies)
---------------------------------------------
``{user}`` below is the text blocks of the last user message joined by a newline, ``{model_id}``
the foundation-model id the request resolved to (``anthropic.claude-…-v1:0``,
``openai.gpt-oss-120b-1:0``), whether it was called by model id, profile id, ARN or mantle id.

1. **Tool calls.** When tools are offered (and the tool choice is not ``none``), the last user
   message carries no tool result, and ``{user}`` names a tool — its name as a whole word, or every
   word of its name except verbs such as get/set/fetch/find/search and words of kind such as
   dict/schema/model/output (``get_weather`` and ``WeatherDict`` are named by "weather"), or one tool is offered and ``{user}`` asks for it unnamed ("using the tool", "call your
   tool") — the answer is a call of that tool (the one named earliest; with tool choice ``any``
   the first offered tool if none is named; with a specific tool choice, that tool). Its ``input``
   comes from ``{user}`` by the rules of :mod:`.values` (explicit ``key=value`` / ``key: value`` /
   ``key is value`` pairs; numbers, quoted strings, capitalised names and runs of any non-Latin
   script such as 你好 matched to the properties by type and by the nearest mention of their name;
   enums by the closed-set rules). Required properties the prompt does not give get the schema's
   ``default``, else the first ``enum`` value, else a type-correct default (``""`` — or the
   input's first sentence for a free-text name such as ``summary`` —, ``0``, ``0.0``, ``false``,
   ``[]``, ``{}``); optional ones it does not give are left out. The stop reason is ``tool_use``, the text
   empty.
2. **Tool results.** When the last user message carries tool results (and neither a schema nor a
   closed set applies), the reply is ``Local Bedrock reply from {model_id}: the tool {name} returned
   {result}.`` (several joined with ``; ``), ``{name}`` the tool of the matching earlier call
   (``unknown`` if none), ``{result}`` the result's text blocks joined by a space, a JSON result as
   JSON with sorted keys. With a schema or a closed set, the result text (then ``{user}``) is the
   input the rules below read.
3. **Echo.** When ``{user}`` contains ``echo:``, the reply is exactly what follows the first
   ``echo:``, stripped.
4. **Structured output.** With a schema, the reply is exactly one JSON document that validates
   against it, filled from the input by :mod:`.values` (every property; enums by the closed-set
   rules, e.g. a ``sentiment`` enum by the sentiment lexicon). Chat's ``json_object`` format gives the
   JSON object of rule 7's "in JSON".
5. **Closed sets.** When the instruction (``{user}``, then the system text) offers a closed set of
   answers — "positive, negative or mixed", "yes or no", "one of: a, b, c", "Reply with exactly
   one label from …", "answer with one word" — the reply is exactly one option, by the rules of
   :mod:`.labels` (a sentiment lexicon with negation handling; yes/no by negation and sentiment;
   otherwise word overlap, first option on a tie).
6. **Citations.** When a document block asks for citations (``citations: {enabled: true}``), the
   reply is ``Local Bedrock reply from {model_id}: according to {name}, `` followed by the
   document's sentence that shares the most words with ``{user}`` (the first on a tie), and that
   sentence is cited by its character offsets (Converse ``citationsContent`` with a
   ``documentChar`` location; Anthropic ``char_location`` citations).
7. **Shapes and the default reply** (:mod:`.shapes`): "in JSON" gives one JSON object, "N bullet
   points" ``N`` lines ``- …``, "a table" a markdown table, "N words" exactly ``N`` words, "one
   sentence" / "N sentences" that many sentences; otherwise ``Local Bedrock reply from
   {model_id}: You said: "{first 80 characters of {user}}". {filler}``, the filler one sentence
   of 15–40 words from a fixed vocabulary chosen by a SHA-256 of the conversation (system +
   messages, tool ids excluded). Free text always says it comes from the local service; labels
   and JSON are exactly the label or the JSON.

Reasoning (:mod:`.reasoning`)
-----------------------------
When the request asks for it, the answer carries a reasoning text that names the request, the
rule above that answered it and (at high effort) the answer, cut to a Claude thinking budget.
Its tokens are part of the output tokens and reported as reasoning tokens: Converse gives a
``reasoningContent {reasoningText {text, signature}}`` block first (streamed as its own
``reasoningContent`` deltas, text then signature); the Anthropic body a ``thinking`` block;
Responses a ``reasoning`` output item (``content`` ``reasoning_text``, and ``summary``
``summary_text`` when ``reasoning.summary`` is set) and ``output_tokens_details.reasoning_tokens``;
Chat ``message.reasoning`` (``delta.reasoning`` when streaming) and
``completion_tokens_details.reasoning_tokens``; the gpt-oss InvokeModel body wraps it in
``<reasoning>…</reasoning>`` before the answer.

Stop sequences and max tokens (text replies only)
-------------------------------------------------
A stop sequence cuts the reply just before its earliest occurrence (stop reason ``stop_sequence``).
If the reply is then longer than ``max_tokens`` tokens (less the reasoning tokens: thinking counts
towards the limit, and is itself cut to it) it is cut to that many tokens (stop reason
``max_tokens``). Otherwise the stop reason is ``end_turn``.

Token counts (see :mod:`bedrock_magics.local.tokens`: one rule per model family)
---------------------------------------------------------------------------------
Every count uses the tokenizer family of the model (Claude, Titan, Nova, Cohere, Llama, gpt,
Mistral; one token per word for unknown ids).
``input_tokens`` = tokens of the system text
+ for every message: 3 + tokens of its text blocks + for each tool call the tool name and its input
as JSON + for each tool result its result text + for each image ``ceil(width*height/750)`` (after
scaling to a 1568-pixel long edge, at most 1600), for each document its text and name, for each
video one per 1,000 bytes (:mod:`.media`)
+ for every offered tool: tokens of ``{"description", "name", "parameters"}`` as JSON.
``output_tokens`` = tokens of the reply text (+ the tool name and input JSON of a tool call)
+ the reasoning tokens.
CountTokens returns the same ``input_tokens`` as the call would report without caching.
Embedding models count the tokens of their input texts (no per-message tokens) and report no
output tokens.

Prompt caching (:mod:`.cache`)
------------------------------
Cache points (Converse ``cachePoint``, Anthropic ``cache_control``) whose prefix reaches the
model's minimum (2048 tokens for Haiku-class models, 1024 for the others) write the prefix to the
service instance's cache (``cacheWriteInputTokens``) and a repeat within the TTL reads it
(``cacheReadInputTokens``); ``inputTokens`` then counts only the rest. The OpenAI APIs cache
automatically at message boundaries from 1024 tokens and report ``cached_tokens``.

Embeddings
----------
:func:`embed` returns a deterministic vector: the sum of one pseudo-random vector per lower-cased
token (seeded by a BLAKE2 hash of the token), L2-normalised when ``normalize`` is true. Texts that
share words therefore have a higher cosine similarity than texts that do not.
"""

from __future__ import annotations

from .cache import CacheUsage, PromptCache, commit, prompt_cache, settle
from .conversation import (PER_MESSAGE_TOKENS, Tool, as_tool, count_input, message_parts, result_text,
                           system_text)
from .core import STOP_REASONS, Answer, Call, deltas, fragments, respond
from .embed import embed
from .shapes import VOCABULARY
from .values import tool_input

__all__ = ["PER_MESSAGE_TOKENS", "STOP_REASONS", "VOCABULARY", "Answer", "CacheUsage", "Call", "PromptCache",
           "Tool", "as_tool", "commit", "count_input", "deltas", "embed", "fragments", "message_parts", "prompt_cache",
           "respond", "result_text", "settle", "system_text", "tool_input"]
