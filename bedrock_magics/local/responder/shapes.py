"""Free-text replies: the default sentence, and the shapes an instruction can ask for.

Every free-text reply says it comes from the local service. Its words come from a fixed
vocabulary, chosen by a SHA-256 digest of the conversation (:func:`filler`), so the same prompt
always gets the same reply. Shape instructions, looked for in the last user text then the system
text (first match wins, in this order):

* ``in JSON`` / ``as JSON`` / ``JSON object`` / ``valid JSON`` -> exactly one JSON object
  ``{"service": "local Bedrock", "model": …, "prompt": <first 80 characters>, "answer": <filler>}``;
* ``N bullet points`` / ``N bullets`` (``N`` a digit or a word up to ten; ``bullet points`` alone
  is 3) -> a line ``Local Bedrock reply from {model_id}:`` then ``N`` lines ``- …``;
* ``a table`` / ``markdown table`` / ``as a table`` / ``in a table`` -> that line, then a markdown
  table ``| field | value |`` with the rows ``model``, ``prompt`` and ``answer``;
* ``N words`` (``in N words``, ``exactly N words``, ``N-word``) -> exactly ``N`` words
  (whitespace-separated), beginning ``Local Bedrock reply from {model_id}`` and cut there when ``N``
  is smaller, ending with ``.``;
* ``one sentence`` / ``a single sentence`` / ``in a sentence`` / ``N sentences`` -> that many
  sentences: ``Local Bedrock reply from {model_id} on "<first 80 characters, without sentence
  punctuation>": <filler>`` then further fillers;
* otherwise ``Local Bedrock reply from {model_id}: You said: "<first 80 characters>". <filler>``.

The filler is one sentence of 15–40 words from :data:`VOCABULARY`, first word capitalised, ending
with ``.``; bullets and table rows each get their own filler of the same kind.
"""

from __future__ import annotations

import hashlib
import json
import re

VOCABULARY = (
    "local", "bedrock", "service", "answers", "deterministic", "offline", "notebook", "cell", "token",
    "model", "prompt", "reply", "stream", "region", "endpoint", "runtime", "mantle", "converse",
    "invoke", "catalog", "profile", "latency", "usage", "ledger", "cost", "estimate", "table",
    "frame", "column", "row", "batch", "job", "bucket", "schema", "tool", "result", "message",
    "system", "turn", "context", "window", "temperature", "sampling", "stop", "sequence", "delta",
    "chunk", "event", "header", "signature", "credential", "key", "retry", "throttle",
    "quiet", "careful", "steady", "simple", "clear", "small", "quick", "bright", "calm", "exact",
    "tests", "assertions", "examples", "workshop", "students", "teacher", "laptop", "kernel",
    "and", "with", "for", "the", "a", "of", "in", "on", "from", "each", "every", "then", "so",
)
NUMBER_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}
_N = r"(\d+|" + "|".join(NUMBER_WORDS) + r")"
_JSON = re.compile(r"\b(?:in|as|into|valid|with|using) json\b|\bjson (?:object|format)\b", re.I)
_BULLETS = re.compile(rf"\b(?:{_N}\s+)?bullet(?:ed)?(?: points?|s| list)\b", re.I)
_TABLE = re.compile(r"\b(?:a|as a|in a|markdown) table\b", re.I)
_WORDS = re.compile(rf"\b{_N}[- ]words?\b", re.I)
_SENTENCE = re.compile(rf"\b(?:(?:a single|in a) sentence|{_N} sentences?)\b", re.I)


def filler(digest: bytes, salt: int = 0) -> str:
    """One sentence of 15–40 vocabulary words chosen by ``digest`` (and ``salt``, for a second one)."""
    digest = hashlib.sha256(digest + salt.to_bytes(2, "big")).digest() if salt else digest
    seed = int.from_bytes(digest[:8], "big")
    n = 15 + seed % 26  # 15..40 words
    words: list[str] = []
    for i in range(n):
        h = hashlib.sha256(digest + i.to_bytes(2, "big")).digest()
        k = int.from_bytes(h[:4], "big") % len(VOCABULARY)
        if words and VOCABULARY[k] == words[-1]:  # "the the" reads like a bug
            k = (k + 1) % len(VOCABULARY)
        words.append(VOCABULARY[k])
    sentence = " ".join(words)
    return sentence[0].upper() + sentence[1:] + "."


def _number(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    return NUMBER_WORDS.get(raw.lower(), int(raw) if raw.isdigit() else default)


def json_reply(model_id: str, user: str, digest: bytes) -> str:
    """The JSON object of an "in JSON" instruction (and of Chat's ``json_object`` format)."""
    return json.dumps({"service": "local Bedrock", "model": model_id, "prompt": user[:80], "answer": filler(digest)})


def reply(model_id: str, user: str, system: str, digest: bytes) -> tuple[str, str]:
    """(the free-text reply, the name of the shape rule that made it)."""
    prefix = f"Local Bedrock reply from {model_id}:"
    for text in (user, system):
        if _JSON.search(text):
            return json_reply(model_id, user, digest), "json"
        m = _BULLETS.search(text)
        if m:
            n = max(1, min(_number(m.group(1), 3), 50))
            lines = [f"- {filler(digest, i + 1)}" for i in range(n)]
            return "\n".join([prefix, *lines]), "bullets"
        if _TABLE.search(text):
            rows = [("model", model_id), ("prompt", user[:80].replace("|", "/").replace("\n", " ")),
                    ("answer", filler(digest))]
            table = ["| field | value |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows)]
            return "\n".join([prefix, "", *table]), "table"
        m = _WORDS.search(text)
        if m:
            n = max(1, min(_number(m.group(1), 10), 500))
            words = prefix.rstrip(":").split()
            i = 1
            while len(words) < n:
                words += filler(digest, i).rstrip(".").lower().split()
                i += 1
            return " ".join(words[:n]).rstrip(".:") + ".", "words"
        m = _SENTENCE.search(text)
        if m:
            n = max(1, min(_number(m.group(1), 1), 20))
            first = filler(digest)
            more = [filler(digest, i) for i in range(1, n)]
            topic = re.sub(r"[.!?\n]+", " ", user[:80]).strip()
            opening = f'{prefix[:-1]} on "{topic}": {first[0].lower()}{first[1:]}'
            return " ".join([opening, *more]), "sentences"
    return f'{prefix} You said: "{user[:80]}". {filler(digest)}', "default"
