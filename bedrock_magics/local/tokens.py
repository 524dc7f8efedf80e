"""The one tokenizer of the local Bedrock service.

A token is a run of word characters (letters, digits, underscore) or a single punctuation
character; whitespace is never a token. Every API of the service counts with this module, so the
same conversation has the same token count on Converse, InvokeModel, Chat Completions, Responses
and CountTokens.

>>> count("Hello, world!")
4
>>> split("Hello, world!")
['Hello', ',', ' world', '!']
>>> "".join(split("  two  words ")) == "  two  words "
True
"""

from __future__ import annotations

import re

# One token: a word or one non-space, non-word character.
_TOKEN = re.compile(r"\w+|[^\w\s]")
# One piece for streaming/cutting: the whitespace before a token plus the token itself.
_PIECE = re.compile(r"\s*(?:\w+|[^\w\s])")


def count(text: str) -> int:
    """The number of tokens in ``text`` (0 for an empty or all-whitespace string)."""
    return len(_TOKEN.findall(text or ""))


def split(text: str) -> list[str]:
    """``text`` cut into one piece per token, each keeping the whitespace before it.

    ``"".join(split(text)) == text`` always holds: whitespace after the last token is appended to
    the last piece (or is the only piece when the text has no token at all).
    """
    if not text:
        return []
    pieces = _PIECE.findall(text)
    tail = text[sum(map(len, pieces)):]
    if tail:
        if pieces:
            pieces[-1] += tail
        else:
            pieces = [tail]
    return pieces


def truncate(text: str, limit: int) -> str:
    """The first ``limit`` tokens of ``text``, with their original spacing."""
    return "".join(split(text)[: max(limit, 0)]) if count(text) > limit else text
