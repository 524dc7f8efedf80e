"""Reasoning text, for requests that ask the model to think first.

A request asks for reasoning with a Claude ``thinking`` budget (Converse
``additionalModelRequestFields.thinking``, the Anthropic InvokeModel body's ``thinking``) or an
OpenAI reasoning effort (Responses ``reasoning.effort``, Chat ``reasoning_effort``, the gpt-oss
InvokeModel body's ``reasoning_effort``). The reasoning says, in numbered steps, what the local
service read and which of its rules gave the answer:

1. ``The local Bedrock service reads the request: "<first 80 characters of the last user text>".``
2. ``It answers by the rule "<rule>".`` (``tool call``, ``tool result``, ``structured output``,
   ``closed set``, ``citation``, ``echo`` or a shape: ``default``, ``json``, ``bullets``…)
3. ``The answer is: <the first 80 characters of the answer>.``

Effort ``minimal``/``low`` keeps step 1, ``medium`` (the default, and any thinking budget) steps
1–2, ``high``/``xhigh`` all three. A thinking budget cuts the text to ``budget_tokens`` tokens.
The Claude signature is the base64 of the SHA-256 of the reasoning text.

Amazon Nova 2 Lite (Converse ``additionalModelRequestFields.reasoningConfig``, the Nova InvokeModel
body's ``reasoningConfig``) reasons the same way and is billed for it, but its reasoning text comes
back as :data:`REDACTED` ("reasoning content is redacted in the output and displays as [REDACTED],
though you are still charged for these tokens", nova2-userguide/reasoning-capabilities.html).
"""

from __future__ import annotations

import base64
import hashlib

#: The reasoning text Nova 2 Lite shows (module docstring).
REDACTED = "[REDACTED]"
STEPS = {"none": 0, "minimal": 1, "low": 1, "medium": 2, "high": 3, "xhigh": 3}


def text(user: str, rule: str, answer: str, effort: str = "medium") -> str:
    """The reasoning for an answer made by ``rule`` (see the module docstring)."""
    steps = [f'The local Bedrock service reads the request: "{user[:80]}".',
             f'It answers by the rule "{rule}".',
             f"The answer is: {answer[:80]}."]
    n = STEPS.get(effort, 2)
    return " ".join(f"{i + 1}. {s}" for i, s in enumerate(steps[:n]))


def signature(reasoning: str) -> str:
    """The opaque signature of a reasoning text (base64 of its SHA-256)."""
    return base64.b64encode(hashlib.sha256(reasoning.encode()).digest()).decode()
