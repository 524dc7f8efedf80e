"""The wire formats of the local Bedrock service: one module per format, parsing and rendering together.

Each module turns its format's request into a :class:`~bedrock_magics.local.responder.Call` (checked
as the real service checks it) and writes the responder's answer back in that format:

* :mod:`.converse` — Converse / ConverseStream (and CountTokens ``converse``, batch Converse records);
* :mod:`.invoke` — the InvokeModel bodies, one codec per model family (text families), with the
  embedding and image families in :mod:`.invoke_media` and the codec interface in :mod:`.family`;
* :mod:`.openai` — what the two OpenAI formats share (errors, field checks, tools, message text);
* :mod:`.chat` — OpenAI Chat Completions (also the Mistral chat and gpt-oss InvokeModel bodies);
* :mod:`.responses` — OpenAI Responses.

The AWS event-stream framing is :mod:`bedrock_magics.local.eventstream`. Handlers (routing, the
catalog, stored state) live in ``runtime.py`` and ``openai_api.py``; these modules hold no state.
"""
