"""Knowledge volatility: does the user ask about facts that change (prices, dates, policies, "latest")?

Only *questions* count: a supplier line that merely contains a price is data to transform, not
a fact the model must know. A request is volatile when its last user turn is a question
(``?`` or an interrogative/request opening) and names a changeable fact. Such failures point
to retrieval (RAG), because fine-tuning would bake today's fact into the weights.
"""

from __future__ import annotations

import operator
import re

from advisor.kernel.record import Record
from advisor.textgate import IGNORECASE_ASCII

_QUESTION = re.compile(
    r"\?|^\W*(?:what|when|where|which|who|how|is|are|does|do|can|could|will|would|should|tell me|"
    r"please (?:tell|let me know|confirm)|i(?:['’]d| would) like to know)\b", re.I | re.M)
# _QUESTION without its "?" branch, anchored by `match` at each line start: `?` is found by a memchr-fast `in`
# and only line starts are tried, instead of both alternatives at every character of the text.
_QUESTION_OPENING = re.compile(_QUESTION.pattern.split("|", 1)[1].removeprefix("^"), re.I)
# ASCII word characters no opening starts with: \W* cannot skip them, so a line starting with one is not an opening
# (a set lookup instead of a ~0.3 µs regex attempt)
_NO_OPENING = frozenset(c for c in map(chr, range(128)) if (c.isalnum() or c == "_") and c.lower() not in "whiadcstp")
SIGNALS: dict[str, re.Pattern[str]] = {
    "price": re.compile(r"[€$£]\s?\d|\b(?:price|prices|pricing|cost|costs|fee|fees|charge|charges|rate|rates|"
                        r"tariff|how much|discount|refund|compensation)\b", re.I),
    "date": re.compile(r"\b(?:19|20)\d\d\b|\b\d{4}-\d\d-\d\d\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|"
                       r"nov|dec)[a-z]*\.? \d{1,2}\b|\b\d{1,2}\.? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
                       re.I),
    "as_of": re.compile(r"\bas of\b|\bsince\b|\bany more\b|\banymore\b|\bstill\b|\bchanged?\b", re.I),
    "recency": re.compile(r"\b(?:latest|current|currently|today|now|new|newest|recent|recently|this (?:week|month|"
                          r"year)|upcoming|deadline)\b", re.I),
    "policy": re.compile(r"\b(?:policy|policies|terms|plan|plans|opening hours|hours|availability|available|in stock|"
                         r"release|version|schedule|rules?|regulations?|law)\b", re.I),
}


def last_user_text(record: Record) -> str:
    for m in reversed(record.messages):
        if m.role == "user":
            return m.content
    return ""


def is_question(text: str) -> bool:
    """Same answer as `_QUESTION.search(text)`: a "?" anywhere, or an interrogative opening a line."""
    if "?" in text:
        return True
    if text[:1] not in _NO_OPENING and _QUESTION_OPENING.match(text):
        return True
    start = text.find("\n")
    while start != -1:
        if text[start + 1:start + 2] not in _NO_OPENING and _QUESTION_OPENING.match(text, start + 1):
            return True
        start = text.find("\n", start + 1)
    return False


def volatility_signals(record: Record) -> tuple[str, ...]:
    """Names of the changing-fact cues in the last user question; empty when it is not a question."""
    for m in reversed(record.messages):  # last_user_text, inline: this runs once per analysed record
        if m.role == "user":
            text = m.content[:2000]
            break
    else:
        return ()
    if not text or not is_question(text):
        return ()
    return question_signals(text)


# Each SIGNALS pattern is whole words (\b…\b) or a few multi-word/number branches, and costs 3–15 µs per question
# (five of them ~45 µs, on most requests of a support log). The words of the text as \b sees them (maximal runs of
# \w) compared in lower case answer the one-word branches exactly (re.I is lower-casing, once the four characters
# it folds otherwise are mapped: see advisor.textgate.IGNORECASE_ASCII); a pattern is run only when one of its other branches could
# match (their words, digits or currency signs are there).
_WORDS = {
    "price": frozenset("price prices pricing cost costs fee fees charge charges rate rates tariff discount refund "
                       "compensation".split()),
    "date": frozenset(),
    "as_of": frozenset("since anymore still change changed".split()),
    "recency": frozenset("latest current currently today now new newest recent recently upcoming deadline".split()),
    "policy": frozenset("policy policies terms plan plans hours availability available release version schedule "
                        "rule rules regulation regulations law".split()),
}
_MONTHS = frozenset(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))  # sept: sep
_FIRST_3 = operator.itemgetter(slice(3))
_NOT_WORD = bytes(c if chr(c).isalnum() and c < 128 or c == 0x5F else 0x20 for c in range(256))  # → space
_WORD = re.compile(r"\w+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def words_of(text: str) -> set[str]:
    """The text's words as \\b…\\b sees them (maximal runs of \\w), lower-cased as re.I compares letters."""
    if text.isascii() or not any(c.isalnum() or c == "_" for c in _NON_ASCII.findall(text)):
        # only ASCII word characters ([A-Za-z0-9_]; curly quotes, € and emoji are not word characters): one C pass
        # maps every other character to a space
        return set(text.encode("ascii", "replace").lower().translate(_NOT_WORD).decode("ascii").split())
    if any(chr(c) in text for c in IGNORECASE_ASCII):
        text = text.translate(IGNORECASE_ASCII)  # word characters to word characters: the runs stay the same
    return {w.lower() for w in _WORD.findall(text)}


def _other_branches(name: str, text: str, words: set[str]) -> bool:
    """Could SIGNALS[name] match the text other than by one of its single words? (False: it cannot.)"""
    if name == "price":  # [€$£]\s?\d | how much
        return "$" in text or "€" in text or "£" in text or ("how" in words and "much" in words)
    if name == "date":  # 19xx/20xx · dddd-dd-dd · a month-like word and a 1–2 digit number (digits are not cased)
        numbers = list(filter(str.isdigit, words))  # every \d run is one (isdigit holds for all of \d)
        if not numbers:
            return False
        short = any(len(w) <= 2 for w in numbers)
        return any(len(w) == 4 and (w[:2] in ("19", "20") or (short and w + "-" in text)) for w in numbers) or (
            short and not _MONTHS.isdisjoint(map(_FIRST_3, words)))
    if name == "as_of":  # as of | any more
        return ("as" in words and "of" in words) or ("any" in words and "more" in words)
    if name == "recency":  # this week|month|year
        return "this" in words and ("week" in words or "month" in words or "year" in words)
    if name == "policy":  # in stock (opening hours holds the word hours)
        return "in" in words and "stock" in words
    return True  # a signal without a shortcut: ask its pattern


def question_signals(text: str) -> tuple[str, ...]:
    """`tuple(name for name, p in SIGNALS.items() if p.search(text))`, with the word shortcut."""
    words = words_of(text)
    return tuple(name for name, pattern in SIGNALS.items()
                 if not words.isdisjoint(_WORDS.get(name, ())) or (
                     _other_branches(name, text, words) and pattern.search(text)))
