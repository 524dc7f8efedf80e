"""Closed sets of answers: finding the options an instruction offers, and picking one.

An instruction offers a closed set when it says (case-insensitively, options comma-, ``or``-,
``|``- or ``/``-separated, optionally quoted or bracketed):

* ``one of: a, b, c`` / ``one of a, b or c`` / ``exactly one label from a, b, c`` / ``labels: a | b``
  / ``choose from a, b`` / ``pick from …``;
* ``yes or no`` (also ``yes/no``, ``Yes or No``);
* a list of two to eight one- or two-word options ``a, b or c`` / ``a or b`` in a sentence that also
  says answer, reply, respond, classify, label, categorize, choose, pick, either, return, output or
  sentiment;
* ``answer with one word`` / ``in one word`` / ``a single word`` without options: the set is every
  word of the input.

How one is picked (the reply is exactly that option, spelled as the instruction spells it):

* **sentiment** — when every option is one of positive/negative/neutral/mixed (by their first three
  letters: ``pos``, ``neg``, ``neu``, ``mix``): the words of the input are scored with a small
  lexicon (:data:`POSITIVE`, :data:`NEGATIVE`); a word preceded within three words by a negation
  (:data:`NEGATIONS`, or a word ending in ``n't``; "stopped hurting" is positive) counts for the
  other side. Both sides scored:
  *mixed* (else *neutral*, else the larger side, positive on a tie); one side: that side; none:
  *neutral* (else *mixed*, else the first option);
* **yes/no** — *no* when the input has a negation or scores negative on the lexicon, else *yes*;
* **one word** — the first word of the input that is not a stop word (:data:`STOP_WORDS`), as
  written;
* **otherwise** — the option sharing the most words with the input (lower-cased, a trailing ``s``
  ignored; an option's words include those :data:`RELATED` lists for it, e.g. *invoice* for
  *billing*, *parcel* for *delivery*), the first option on a tie.

The input is the last user text with the instruction's options span removed, so the options'
own words do not vote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

POSITIVE = frozenset("""good great love loved loves lovely excellent amazing awesome happy wonderful best better
fantastic delicious friendly recommend recommended perfect nice enjoy enjoyed enjoyable pleasant helpful
beautiful like liked likes superb brilliant outstanding fast fresh clean comfortable glad pleased satisfied
impressive impressed favorite favourite tasty fun cheap reliable easy smooth positive exceptional gorgeous
incredible thank thanks worth cozy polite attentive works sturdy durable solid survived cushioned light lasts
fine quiet""".split())
NEGATIVE = frozenset("""bad terrible awful hate hated hates worst worse poor slow rude disappointing disappointed
broken horrible boring dirty late waste wasted refund angry sad ugly expensive overpriced problem problems
issue issues fail failed fails failure cold bland stale noisy crowded unhelpful unfriendly useless mediocre
annoying annoyed dreadful disgusting gross negative wrong lost lacking missing never_again complaint
complain complained cancel cancelled crash crashed buggy nasty inedible unacceptable died dead broke leaks
leaking defective faulty damaged crushed flimsy unreliable returned dim loud sticks uneven mess hurting hurts
pain""".split())
NEGATIONS = frozenset("not no never none nothing neither nor without hardly barely stopped".split())
#: Words that count as an option's own words when matching an input (common ticket and topic categories).
RELATED = {
    "billing": "charge charged charges invoice invoices payment paid pay refund bill billed subscription price vat "
               "receipt card",
    "technical": "crash crashes crashed error bug app upload install freeze frozen broken load loading software",
    "account": "email password login log sign username profile reset",
    "delivery": "parcel package driver shipping shipped arrive arrived courier tracking delivered",
    "sports": "match game team score goal player league",
    "politics": "election government minister vote parliament policy",
    "technology": "software chip computer app ai gpu device",
}
STOP_WORDS = frozenset("""a an the and or but if then so of to in on at by for with from about as into is are was
were be been being it its this that these those i you he she we they me my your our their what which who whom
how why when where do does did can could would should will shall may might must please tell give answer
reply respond word one single only just classify label say describe name return output following text
here there""".split())
SENTIMENTS = {"pos": "positive", "neg": "negative", "neu": "neutral", "mix": "mixed"}

_EXPLICIT = re.compile(
    r"(?:\bone of(?: the (?:labels|options|categories|following))?|\blabels?|\bcategories|\boptions|"
    r"\b(?:choose|pick|select) (?:one )?(?:from|among)|\bone label from|\bexactly one label from)"
    r"\s*(?:from|among|in)?\s*[:\-]?\s*(?P<list>[^.:\n?!]+)", re.I)
_YES_NO = re.compile(r"\b(?P<yes>yes)\s*(?:or|/|\|)\s*(?P<no>no)\b", re.I)
_WORD = r"[\"'“‘`]?[\w-]+[\"'”’`]?"
_IMPLICIT = re.compile(rf"(?<![\w'])(?P<list>(?:{_WORD}\s*,\s*){{0,6}}{_WORD},?\s+or\s+{_WORD})(?![\w'])", re.I)
_CUES = re.compile(r"\b(answer|reply|respond|classify|label|categori[sz]e|choose|pick|either|return|output|"
                   r"sentiment|select)\w*", re.I)
_ONE_WORD = re.compile(r"\b(?:(?:with|in|using) (?:one|a single|1) word|one[- ]word answer|a single word)\b", re.I)


@dataclass(frozen=True)
class ClosedSet:
    """The options an instruction offers, and where the options span was in the user text."""

    options: tuple[str, ...]
    span: tuple[int, int] = (0, 0)  # in the user text; (0, 0) when the set came from the system text
    one_word: bool = False


def _items(raw: str) -> list[str]:
    parts = re.split(r"\s*(?:,\s*or\b|,|\bor\b|\||/|;)\s*", raw.strip().strip("[](){}"), flags=re.I)
    out = []
    for p in parts:
        p = p.strip().strip("\"'“”‘’`[](){}.").strip()
        if p and p.lower() not in ("or", "and") and p not in out:
            out.append(p)
    return out


def find(system: str, user: str) -> ClosedSet | None:
    """The closed set the instruction (system text, then the last user text) offers, or None."""
    for text, in_user in ((user, True), (system, False)):
        for finder in (_explicit, _yes_no, _implicit):
            found = finder(text)
            if found:
                options, span = found
                return ClosedSet(tuple(options), span if in_user else (0, 0))
    for text in (user, system):
        if _ONE_WORD.search(text):
            return ClosedSet((), (0, 0), one_word=True)
    return None


def _explicit(text: str) -> tuple[list[str], tuple[int, int]] | None:
    m = _EXPLICIT.search(text)
    if m:
        raw = m.group("list")
        inner = re.search(r"[\[{(]([^\]})]*)[\]})]", raw)
        items = _items(inner.group(1) if inner else raw)
        if len(items) >= 2 and all(len(i.split()) <= 3 for i in items):
            return items, m.span()
    return None


def _yes_no(text: str) -> tuple[list[str], tuple[int, int]] | None:
    m = _YES_NO.search(text)
    return ([m.group("yes"), m.group("no")], m.span()) if m else None


def _implicit(text: str) -> tuple[list[str], tuple[int, int]] | None:
    for sentence in re.finditer(r"[^.?!\n]+[.?!]?", text):
        if not _CUES.search(sentence.group()):
            continue
        for m in _IMPLICIT.finditer(sentence.group()):
            items = _items(m.group("list"))
            if 2 <= len(items) <= 8 and all(len(i.split()) <= 2 for i in items):
                start = sentence.start() + m.start()
                return items, (start, start + len(m.group()))
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def sentiment_score(text: str) -> tuple[int, int]:
    """(positive, negative) lexicon hits of ``text``, negations flipping the word they precede."""
    words, pos, neg = _words(text), 0, 0
    for i, w in enumerate(words):
        polarity = 1 if w in POSITIVE else -1 if w in NEGATIVE else 0
        if not polarity:
            continue
        if any(v in NEGATIONS or v.endswith("n't") for v in words[max(0, i - 3):i]):
            polarity = -polarity
        pos, neg = pos + (polarity > 0), neg + (polarity < 0)
    return pos, neg


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def pick(closed: ClosedSet, text: str) -> str:
    """The option for ``text`` (the input), by the rules of the module docstring."""
    if closed.one_word:
        words = re.findall(r"[^\W_][\w'-]*", text)
        return next((w for w in words if w.lower() not in STOP_WORDS), words[0] if words else "Local")
    options = closed.options
    kinds = {SENTIMENTS.get(o.lower()[:3]) for o in options}
    if None not in kinds and len(kinds) == len(options):
        by_kind = {SENTIMENTS[o.lower()[:3]]: o for o in options}
        return by_kind[sentiment(text, tuple(by_kind))]
    lowered = [o.lower() for o in options]
    if sorted(lowered) == ["no", "yes"]:
        pos, neg = sentiment_score(text)
        negated = any(w in NEGATIONS or w.endswith("n't") for w in _words(text))
        return options[lowered.index("no" if negated or neg > pos else "yes")]
    said = {_stem(w) for w in _words(text)}
    scores = [len({_stem(w) for w in _words(o + " " + RELATED.get(o.lower(), ""))} & said) for o in options]
    return options[scores.index(max(scores))]


def sentiment(text: str, offered: tuple[str, ...] = ("positive", "negative", "neutral", "mixed")) -> str:
    """The sentiment class of ``text`` among ``offered`` (positive/negative/neutral/mixed)."""
    pos, neg = sentiment_score(text)
    larger = "negative" if neg > pos else "positive"
    if pos and neg:
        order = ("mixed", "neutral", larger)
    elif pos or neg:
        order = (larger, "mixed", "neutral")
    else:
        order = ("neutral", "mixed")
    return next((k for k in order if k in offered), offered[0])


def without(text: str, span: tuple[int, int]) -> str:
    """``text`` with the options span cut out."""
    return text[:span[0]] + " " + text[span[1]:] if span != (0, 0) else text
