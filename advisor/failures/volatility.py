"""Knowledge volatility: does the user ask about facts that change (prices, dates, policies, "latest")?

Only *questions* count: a supplier line that merely contains a price is data to transform, not
a fact the model must know. A request is volatile when its last user turn is a question
(``?`` or an interrogative/request opening) and names a changeable fact. Such failures point
to retrieval (RAG), because fine-tuning would bake today's fact into the weights.
"""

from __future__ import annotations

import re

from advisor.kernel.record import Record

_QUESTION = re.compile(
    r"\?|^\W*(?:what|when|where|which|who|how|is|are|does|do|can|could|will|would|should|tell me|"
    r"please (?:tell|let me know|confirm)|i(?:['’]d| would) like to know)\b", re.I | re.M)
# _QUESTION without its "?" branch, anchored by `match` at each line start: `?` is found by a memchr-fast `in`
# and only line starts are tried, instead of both alternatives at every character of the text.
_QUESTION_OPENING = re.compile(_QUESTION.pattern.split("|", 1)[1].removeprefix("^"), re.I)
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
    if _QUESTION_OPENING.match(text):
        return True
    start = text.find("\n")
    while start != -1:
        if _QUESTION_OPENING.match(text, start + 1):
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
    return tuple(name for name, pattern in SIGNALS.items() if pattern.search(text))
