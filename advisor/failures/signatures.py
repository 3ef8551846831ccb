"""Failure vocabulary and signature normalisation.

A *signature* names one recurring problem: ``<check>:<normalised detail>``. Details are
normalised (ids, quoted values and numbers replaced by placeholders, lower-cased, cut to a few
words) so the same defect on different records shares one signature, while genuinely different
one-offs stay apart.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

Category = Literal["format", "schema", "style", "factual", "outdated", "refusal", "other",
                   "truncation", "content_filter", "empty", "error"]
Bucket = Literal["structural", "knowledge", "other"]

LABEL_CATEGORIES = ("format", "schema", "style", "factual", "outdated", "refusal", "other")
STRUCTURAL = frozenset({"format", "schema", "style"})  # what fine-tuning fixes
KNOWLEDGE = frozenset({"factual", "outdated"})  # what retrieval fixes

URL_RE = re.compile(r"https?://\S+|\b[\w.+-]+@[\w-]+\.[\w.]+\b")
ID_RE = re.compile(r"\b(?=[A-Za-z_-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)+\b"  # ACME-4471, chatcmpl-x1
                 r"|\b[0-9a-f]{8,}\b|\b[A-Z]{2,}\d{2,}\b")
QUOTED_RE = re.compile(r"'[^'\n]{1,80}'|\"[^\"\n]{1,80}\"|`[^`\n]{1,80}`|‘[^’\n]{1,80}’|“[^”\n]{1,80}”")
_NUMBER = re.compile(r"[€$£¥]?\d[\d.,:/]*%?")
_WORD = re.compile(r"<[a-z]+>|[a-z][a-z'_-]*")
MAX_DETAIL_WORDS = 8


def bucket_of(category: str) -> Bucket:
    """structural (format/schema/style) · knowledge (factual/outdated) · other."""
    if category in STRUCTURAL:
        return "structural"
    if category in KNOWLEDGE:
        return "knowledge"
    return "other"


@functools.lru_cache(maxsize=1024)
def normalise_detail(text: str, max_words: int = MAX_DETAIL_WORDS) -> str:
    """Free text → short slug with ids/quotes/numbers as placeholders, e.g. ``required_field_<q>_missing``.

    Remembered (bounded): it runs per failing record, four regex passes each, and reviewers' notes and feedback
    sources repeat (41 distinct notes over 154 labelled failures in examples/support)."""
    t = URL_RE.sub(" <url> ", text)
    t = QUOTED_RE.sub(" <q> ", t)
    t = ID_RE.sub(" <id> ", t)
    t = _NUMBER.sub(" <n> ", t)
    words = _WORD.findall(t.lower())
    return "_".join(words[:max_words]) or "unspecified"


def json_path(parts: object) -> str:
    """A jsonschema error path as dotted keys, array indices collapsed to ``[]`` (so rows share a signature)."""
    out: list[str] = []
    for p in parts:  # type: ignore[attr-defined]
        if isinstance(p, int):
            out.append("[]")
        else:
            out.append(("." if out else "") + str(p))
    return "".join(out) or "$"
