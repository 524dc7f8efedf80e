"""The tokenizers of the local Bedrock service: one rule per model family, the same on every API.

A token is one of:

* a run of at most ``k`` letters (word characters other than digits; underscore counts as a
  letter), where ``k`` is the family's *piece length* below — so a long word costs several tokens,
  as it does in a real BPE/SentencePiece vocabulary;
* a run of at most three digits (``2026`` is ``202`` + ``6``, as Llama 3 and o200k group digits);
* one CJK character (Han, Hiragana, Katakana, Hangul): ``你好`` is two tokens;
* one punctuation character.

Whitespace is never a token; it rides with the token after it. The piece lengths give each family
roughly its real tokenizer's characters per token on English prose (measured on the sentence
"The quick brown fox jumps over the lazy dog.": 13 tokens for Claude, 10 for Llama, 15 for Mistral):

=========== ============ =====================================================================
family      piece length models (by model-id prefix)
=========== ============ =====================================================================
claude      4            ``anthropic.`` (~3.5 characters per token)
titan       4            ``amazon.titan``
nova        5            ``amazon.nova``
cohere      5            ``cohere.``
llama       6            ``meta.`` (Llama 3's 128k tiktoken vocabulary)
gpt         7            ``openai.`` (o200k), ``deepseek.``, ``qwen.``, ``moonshotai.``, ``ai21.``
mistral     3            ``mistral.`` (a 32k SentencePiece vocabulary: short pieces)
words       unlimited    any other id: one token per word (the service's historical rule)
=========== ============ =====================================================================

Every API of the service counts a model's text with its family's rule, so the same conversation
has the same count on Converse, InvokeModel, Chat Completions, Responses and CountTokens, and
comparing two models' counts shows their tokenizers differ.

>>> count("Hello, world!")
4
>>> count("Hello, world!", "claude")
6
>>> split("Hello, world!", "claude")
['Hell', 'o', ',', ' worl', 'd', '!']
>>> "".join(split("  two  words ")) == "  two  words "
True
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Letters per token of each family (None: a whole word is one token).
PIECE_LENGTH: dict[str, int | None] = {"claude": 4, "titan": 4, "nova": 5, "cohere": 5, "llama": 6, "gpt": 7,
                                       "mistral": 3, "words": None}
#: Model-id prefix -> family (first match wins; geography prefixes such as ``us.`` are stripped first).
_PREFIXES = (("anthropic.", "claude"), ("amazon.titan", "titan"), ("amazon.nova", "nova"), ("cohere.", "cohere"),
             ("meta.", "llama"), ("mistral.", "mistral"), ("openai.", "gpt"), ("deepseek.", "gpt"),
             ("qwen.", "gpt"), ("moonshotai.", "gpt"), ("ai21.", "gpt"))
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff"


def family_of(model_id: str) -> str:
    """The tokenizer family of a model id (``words`` for ids the table does not know)."""
    model_id = re.sub(r"^(?:[a-z]{2,4}\.)(?=[a-z0-9-]+\.)", "", model_id or "")  # us.anthropic… -> anthropic…
    return next((fam for prefix, fam in _PREFIXES if model_id.startswith(prefix)), "words")


@lru_cache(maxsize=None)
def _patterns(family: str) -> tuple[re.Pattern, re.Pattern]:
    """(one token, one piece = the whitespace before a token plus the token) of a family."""
    k = PIECE_LENGTH.get(family, None)
    if k is None:
        token = rf"[{_CJK}]|(?:(?![{_CJK}])\w)+|[^\w\s]"
    else:
        token = rf"[{_CJK}]|\d{{1,3}}|(?:(?![{_CJK}\d])\w){{1,{k}}}|[^\w\s]"
    return re.compile(token), re.compile(rf"\s*(?:{token})")


def count(text: str, family: str = "words") -> int:
    """The number of tokens in ``text`` for ``family`` (0 for an empty or all-whitespace string)."""
    return len(_patterns(family)[0].findall(text or ""))


def split(text: str, family: str = "words") -> list[str]:
    """``text`` cut into one piece per token, each keeping the whitespace before it.

    ``"".join(split(text)) == text`` always holds: whitespace after the last token is appended to
    the last piece (or is the only piece when the text has no token at all).
    """
    if not text:
        return []
    pieces = _patterns(family)[1].findall(text)
    tail = text[sum(map(len, pieces)):]
    if tail:
        if pieces:
            pieces[-1] += tail
        else:
            pieces = [tail]
    return pieces


def truncate(text: str, limit: int, family: str = "words") -> str:
    """The first ``limit`` tokens of ``text``, with their original spacing."""
    return "".join(split(text, family)[: max(limit, 0)]) if count(text, family) > limit else text
