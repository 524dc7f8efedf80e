"""Values from a prompt for a JSON Schema: tool-call inputs and structured output.

:func:`fill` walks the schema (``$ref`` to ``#/$defs`` or ``#/definitions`` followed; ``anyOf``/
``oneOf``: the first branch that is not ``null``, or ``null`` when the prompt gives nothing for it;
``type`` lists likewise) and takes each property's value from the prompt text:

1. an explicit pair naming the property: ``name=value``, ``name: value``, ``name is value`` (the
   property name with ``_`` read as a space, case-insensitive; a quoted value may hold spaces). A
   tool gets the pair's value even when the property's ``enum`` does not list it (as a model
   would pass ``to=CHF`` on; the tool then reports its error); structured output keeps to the enum;
2. by type, in the order the prompt gives them, each used once, preferring the first one after a
   mention of the property's name:

   * ``integer``/``number``: numbers (``42``, ``-3.5``), clamped to ``minimum``/``maximum``;
   * ``string`` with ``enum``: the value the prompt names, else the closed-set rules of
     :mod:`.labels` (sentiment for positive/negative/… sets, word overlap otherwise);
   * ``string``: quoted strings (``"…"``, ``'…'``, ``“…”``, ``「…」``), then names — runs of
     capitalised words (``New York``; a sentence's first word only when it is not an instruction
     or stop word, :data:`INSTRUCTION_WORDS`) — and runs of non-Latin letters (``你好``,
     ``Москва``); a ``format: date`` string takes an ISO date (``2026-03-01``) from the prompt;
   * ``boolean``: true when the property's name appears without a negation before it;
   * ``array``: every value of its item type the prompt gives (at least ``minItems``);
   * ``object``: its properties filled the same way;
3. otherwise the schema's ``const`` or ``default``, else a type-correct default: the first ``enum``
   value, for strings named like free text (:data:`FREE_TEXT`) the input's first sentence (80
   characters at most) else ``""``, ``0``, ``0.0``, ``false``, ``[]``, ``{}``, ``null``.

Structured output fills every property. A tool call fills the required ones, and an optional one
only when the prompt names it, gives a pair for it or names one of its enum values (the others are
left out, as a model would, so the tool's own defaults apply).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..http import parse_json
from . import labels

FREE_TEXT = frozenset("summary description text answer reason reasoning explanation comment content message "
                      "title query question input prompt note notes rationale justification setup punchline joke "
                      "story greeting response details statement advice solution".split())
DEFAULTS = {"string": "", "integer": 0, "number": 0.0, "boolean": False, "array": [], "object": {}, "null": None}
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”|「([^」]+)」|(?<!\w)\'([^\']+)\'(?!\w)')
_NAME = re.compile(r"(?<![\w'])([A-Z][\w'-]*(?:\s+(?:[A-Z][\w'-]*|de|la|del|van|von|of))*)")
_NON_LATIN = re.compile(r"[^\W\d_a-zA-Z\u00c0-\u024f]+(?:\s+[^\W\d_a-zA-Z\u00c0-\u024f]+)*")
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?Z?)?\b")


class Prompt:
    """The prompt text with its candidate values found once and consumed as properties take them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.numbers = [(m.start(), m.group()) for m in _NUMBER.finditer(text)]
        quoted = [(m.start(), next(g for g in m.groups() if g is not None)) for m in _QUOTED.finditer(text)]
        spans = [(m.start(), m.end()) for m in _QUOTED.finditer(text)]
        names = [(m.start(), m.group(1)) for m in _NAME.finditer(text)
                 if not _starts_sentence(text, m.start()) and not any(a <= m.start() < b for a, b in spans)]
        names += [(m.start(), m.group()) for m in _NON_LATIN.finditer(text)
                  if not any(a <= m.start() < b for a, b in spans)]
        self.strings = quoted + sorted(names)
        self.used: set[tuple[str, int]] = set()

    def pair(self, name: str) -> str | None:
        """The value of an explicit ``name=value`` / ``name: value`` / ``name is value`` pair."""
        spoken = re.escape(name).replace("_", "[ _]")
        m = re.search(rf"(?<![\w]){spoken}\s*(?:=|:|\bis\b|\bare\b)\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s,;]+))",
                      self.text, re.I)
        if not m:
            return None
        raw = next(g for g in m.groups() if g is not None)
        return raw.rstrip(".!?)") if m.group(3) is not None else raw

    def mentions(self, name: str) -> list[int]:
        """Where the property's name (or its last word) appears in the text."""
        if not name:
            return []
        words = [w for w in re.split(r"[_\W]+", name.lower()) if w]
        spoken = re.escape(name).replace("_", "[ _]")
        hits = [m.end() for m in re.finditer(rf"(?<!\w){spoken}(?!\w)", self.text, re.I)]
        if not hits and words:
            hits = [m.end() for m in re.finditer(rf"(?<!\w){re.escape(words[-1])}s?(?!\w)", self.text, re.I)]
        return hits

    def take(self, kind: str, name: str) -> str | None:
        """The next unused candidate of ``kind`` (``numbers``/``strings``), the first after a
        mention of ``name`` when there is one."""
        pool = [(pos, v) for pos, v in getattr(self, kind) if (kind, pos) not in self.used]
        if not pool:
            return None
        after = [c for c in pool if any(0 <= c[0] - at <= 40 for at in self.mentions(name))]
        pos, value = (after or pool)[0]
        self.used.add((kind, pos))
        return value

    def first_sentence(self) -> str:
        found = re.search(r"[^.!?\n]+[.!?]?", self.text.strip())
        return (found.group().strip() if found else "")[:80]


#: Capitalised words that start a sentence as instructions do, not as names.
INSTRUCTION_WORDS = labels.STOP_WORDS | frozenset("""extract translate get find show list describe summarize
summarise classify write book call use store save send look check compute calculate convert make create
add remove set fetch search weather yes no using please tell keep give explain answer limit respond""".split())


def _starts_sentence(text: str, at: int) -> bool:
    """Whether the capitalised word at ``at`` starts a sentence and reads as an instruction word."""
    before = text[:at].rstrip()
    first = not before or before[-1] in ".!?\n" or before.endswith(("\"", "“"))
    word = re.match(r"[\w-]+", text[at:])
    return first and bool(word) and word.group().lower() in INSTRUCTION_WORDS


def resolve(schema: Any, root: Mapping[str, Any]) -> Mapping[str, Any]:
    """``schema`` with a local ``$ref`` followed (``#/$defs/X``, ``#/definitions/X``)."""
    seen = 0
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < 32:
        target: Any = root
        for key in schema["$ref"].lstrip("#/").split("/"):
            target = target.get(key, {}) if isinstance(target, Mapping) else {}
        schema, seen = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}, seen + 1
    return schema if isinstance(schema, Mapping) else {}


def _kind(schema: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(the main type, whether null is allowed)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        nullable = "null" in kind
        kind = next((k for k in kind if k != "null"), "null")
        return kind, nullable
    if kind is None and "enum" in schema:
        return "string", None in schema["enum"]
    if kind is None and "properties" in schema:
        return "object", False
    return kind, False


def _coerce(raw: str, kind: str | None) -> Any:
    try:
        if kind == "integer":
            return int(float(raw))
        if kind == "number":
            return float(raw)
        if kind == "boolean":
            return raw.lower() in ("true", "yes", "1", "on")
        if kind == "array":
            return [v.strip() for v in raw.split(",") if v.strip()]
        if kind == "object":
            return parse_json(raw)
    except ValueError:
        pass
    return raw


def _clamp(value: float, schema: Mapping[str, Any]) -> float:
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    return value


def fill(schema: Any, prompt: Prompt, name: str = "", root: Any = None, *, every: bool = True) -> Any:
    """A value for ``schema`` from ``prompt`` (rules in the module docstring); ``every``: fill optional
    properties too (structured output) rather than only those the prompt gives (tool calls)."""
    root = schema if root is None else root
    schema = resolve(schema, root)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        options = [resolve(b, root) for b in branches]
        real = [b for b in options if _kind(b)[0] != "null"]
        nullable = len(real) < len(options)
        if real:
            value = _found(real[0], prompt, name, root, every)
            if value is not None or not nullable:
                return value if value is not None else fill(real[0], prompt, name, root, every=every)
        return None
    if "const" in schema:
        return schema["const"]
    kind, nullable = _kind(schema)
    value = _found(schema, prompt, name, root, every)
    if value is not None:
        return value
    if nullable:
        return None
    return _default(schema, kind, prompt, name, root, every)


def _found(schema: Mapping[str, Any], prompt: Prompt, name: str, root: Any, every: bool) -> Any:
    """The prompt's value for ``schema`` (None when it gives none)."""
    kind, _ = _kind(schema)
    if kind == "object":
        return _object(schema, prompt, root, every)
    raw = prompt.pair(name) if name else None
    if raw is not None and kind != "array":
        if schema.get("enum") and raw not in schema["enum"]:
            spelled = next((e for e in schema["enum"] if str(e).lower() == raw.lower()), None)
            raw = spelled if spelled is not None or every else raw  # a tool gets what the prompt says
        if raw is not None:
            value = _coerce(raw, kind)
            return _clamp(value, schema) if kind in ("integer", "number") else value
    if schema.get("enum"):
        return _enum(schema["enum"], prompt)
    if kind in ("integer", "number"):
        raw = prompt.take("numbers", name)
        return _clamp(_coerce(raw, kind), schema) if raw is not None else None
    if kind == "string":
        if schema.get("format") in ("date", "date-time"):
            m = _DATE.search(prompt.text)
            return m.group() if m else None
        raw = prompt.take("strings", name)
        return raw[:schema["maxLength"]] if raw is not None and "maxLength" in schema else raw
    if kind == "boolean":
        hits = prompt.mentions(name) if name else []
        if not hits:
            return None
        before = prompt.text[:hits[0]].lower().split()[-4:-1]
        return not any(w in labels.NEGATIONS or w.endswith("n't") for w in before)
    if kind == "array":
        item = resolve(schema.get("items") or {}, root)
        values = []
        while len(values) < schema.get("maxItems", 64):
            v = _found(item, prompt, name, root, every)
            if v is None or (item.get("enum") and v in values):
                break
            values.append(v)
        if values and len(values) < schema.get("minItems", 0):
            values += [fill(item, prompt, name, root, every=every) for _ in range(schema["minItems"] - len(values))]
        return values or None
    return None


def _enum(options: list, prompt: Prompt) -> Any:
    named = [o for o in options if isinstance(o, str)
             and re.search(rf"(?<!\w){re.escape(o)}(?!\w)", prompt.text, re.I)]
    strings = [o for o in options if isinstance(o, str)]
    if not strings:
        return options[0]
    closed = labels.ClosedSet(tuple(strings))
    if len(named) == 1 and not _is_sentiment(strings):
        return named[0]
    return labels.pick(closed, prompt.text)


def _names_enum(schema: Mapping[str, Any], prompt: Prompt) -> bool:
    """Whether the prompt names one of the schema's enum values."""
    return any(isinstance(o, str) and re.search(rf"(?<!\w){re.escape(o)}(?!\w)", prompt.text, re.I)
               for o in schema.get("enum") or ())


def _is_sentiment(options: list[str]) -> bool:
    return all(labels.SENTIMENTS.get(o.lower()[:3]) for o in options)


def _object(schema: Mapping[str, Any], prompt: Prompt, root: Any, every: bool) -> dict:
    props = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    out: dict[str, Any] = {}
    for prop, sub in props.items():
        sub = resolve(sub, root)
        if every or prop in required:
            out[prop] = fill(sub, prompt, prop, root, every=every)
        elif prompt.pair(prop) is not None or prompt.mentions(prop) or _names_enum(sub, prompt):
            value = _found(sub, prompt, prop, root, every)
            if value is not None:
                out[prop] = value
    return out


def _default(schema: Mapping[str, Any], kind: str | None, prompt: Prompt, name: str, root: Any, every: bool) -> Any:
    if "default" in schema:
        return schema["default"]
    if schema.get("enum"):
        return schema["enum"][0]
    if kind == "string":
        text = prompt.first_sentence() if name.lower() in FREE_TEXT else ""
        return text.ljust(schema.get("minLength", 0), ".")
    if kind == "array":
        item = resolve(schema.get("items") or {}, root)
        return [fill(item, prompt, name, root, every=every) for _ in range(schema.get("minItems", 0))]
    if kind == "object":
        return _object(schema, prompt, root, every)
    if kind in ("integer", "number"):
        return _clamp(DEFAULTS[kind], schema)
    return DEFAULTS.get(kind, None) if kind else {}


def structured(schema: Mapping[str, Any], text: str) -> Any:
    """Structured output: a value for every property of ``schema``, from ``text``."""
    return fill(schema, Prompt(text))


def tool_input(parameters: Mapping[str, Any], text: str) -> dict:
    """A tool call's input: required properties and those ``text`` gives."""
    value = fill(parameters or {"type": "object", "properties": {}}, Prompt(text), every=False)
    return value if isinstance(value, dict) else {}
