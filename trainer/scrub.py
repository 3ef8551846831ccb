"""PII and secret scrubbing for training data: nothing personal or secret may reach a dataset file.

Training data is copied into adapters, shared with vendors and kept for years, so every text
written by ``advise dataset`` passes through :class:`Scrubber` first. Detectors run in a fixed
order (most specific first, so a JWT is not half-eaten by the entropy rule) and each match is
replaced by a *consistent* placeholder: the same value gets the same ``<EMAIL_3>`` everywhere in
one run, so conversations stay coherent and static prompts stay identical across requests.

Kinds and how they are recognised (pure regex + validators, no network, no model):

* ``email`` — RFC-ish local@domain.tld.
* ``jwt`` — three base64url segments, the first starting ``eyJ`` (a JSON header).
* ``api_key`` — provider key shapes: OpenAI ``sk-…``/``sk-proj-…``, Anthropic ``sk-ant-…``, AWS
  ``AKIA``/``ASIA`` + 16, GitHub ``ghp_``/``gho_``/``ghs_``/``ghu_``/``ghr_``/``github_pat_``,
  Google ``AIza`` + 35, Slack ``xox[abprs]-``, Stripe ``sk_/rk_/pk_live|test_``, Hugging Face ``hf_``.
* ``bearer`` — the token after ``Bearer`` / ``Authorization:``.
* ``iban`` — country code + check digits + BBAN, accepted only when ISO 13616 mod-97 == 1.
* ``card`` — 13–19 digits (spaces/dashes allowed), a known first digit and a valid Luhn checksum.
* ``ip`` — IPv4 dotted quads and IPv6 addresses validated by :mod:`ipaddress`.
* ``phone`` — international ``+CC …`` numbers and common national shapes, 8–15 digits in all.
* ``secret`` — any other long token that looks random: ≥ 20 characters of ``[A-Za-z0-9_+/-]``
  (plus ``=`` padding) mixing lower/upper/digits (two classes need ≥ 2 digits), character-class
  runs ≤ 3 long on average (``NorthwindSpring2025`` has long lowercase runs, keys do not) and
  Shannon entropy ≥ ``min(4.0, log2(len) − 0.8)`` bits/char (random base62 of length 20 ≈ 4.0);
  or ≥ 32 hex digits with entropy ≥ 3.0 (hex keys, digests — git SHAs are scrubbed too).

Prices (``€39``), SKUs (``NW-82213``), dates, times, version numbers and UUID-shaped record ids
are deliberately left alone (see the false-positive tests).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

KINDS = ("jwt", "api_key", "bearer", "email", "iban", "card", "ip", "phone", "secret")

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
_API_KEY = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"sk-ant-[A-Za-z0-9_-]{20,}"
    r"|sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|github_pat_[A-Za-z0-9_]{22,}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"
    r"|hf_[A-Za-z0-9]{30,}"
    r")(?![A-Za-z0-9_-])"
)
_BEARER = re.compile(r"(?i)(\bbearer\s+|\bauthorization\s*[:=]\s*(?:basic\s+|token\s+)?)([A-Za-z0-9._~+/-]{12,}=*)")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?![\d.])")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"  # +44 20 7946 0958, +1-415-555-0132
    r"|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}"  # (415) 555-0132
    r"|\d{3}[ .-]\d{3}[ .-]\d{4}"  # 415-555-0132
    r"|0\d{2,4}[ -]\d{3,4}[ -]\d{3,4}"  # 020 7946 0958
    r")(?![\w-])"
)
_TOKENISH = re.compile(r"(?<![A-Za-z0-9_+/-])[A-Za-z0-9_+/-]{20,}=*(?![A-Za-z0-9_+/=-])")
_PLACEHOLDER = re.compile(r"<[A-Z_]+_\d+>")


def luhn_ok(digits: str) -> bool:
    """Luhn checksum: what every payment card number satisfies (and 90 % of random digit runs do not)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, letters → numbers, mod 97 == 1."""
    s = text.replace(" ", "").upper()
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    rearranged = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in rearranged)
    return int(num) % 97 == 1


def shannon_entropy(s: str) -> float:
    """Bits per character of the string's own character distribution."""
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def _mean_run(token: str) -> float:
    """Mean length of runs of one character class (lower/upper/digit/other): words run long, keys short."""
    def cls(c: str) -> int:
        return 0 if c.islower() else 1 if c.isupper() else 2 if c.isdigit() else 3
    runs = 1 + sum(cls(a) != cls(b) for a, b in zip(token, token[1:], strict=False))
    return len(token) / runs


_HEX = re.compile(r"[0-9a-f]{32,}|[0-9A-F]{32,}")


def looks_random(token: str) -> bool:
    """The high-entropy rule documented in the module docstring."""
    if len(token) < 20 or _PLACEHOLDER.fullmatch(token):
        return False
    digits = sum(c.isdigit() for c in token)
    if _HEX.fullmatch(token):
        return 2 <= digits <= len(token) - 2 and shannon_entropy(token) >= 3.0
    classes = sum((any(c.islower() for c in token), any(c.isupper() for c in token), digits > 0))
    if classes < 2 or (classes == 2 and digits < 2) or _mean_run(token) > 3.0:
        return False
    return shannon_entropy(token) >= min(4.0, math.log2(len(token)) - 0.8)


def _card_ok(m: str) -> bool:
    digits = re.sub(r"[ -]", "", m)
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_ok(digits)


def _ipv6_ok(m: str) -> bool:
    if m.count(":") < 2 or not re.search(r"[0-9A-Fa-f]", m):
        return False
    try:
        ipaddress.IPv6Address(m)
    except ValueError:
        return False
    return True


def _phone_ok(m: str) -> bool:
    return 8 <= sum(c.isdigit() for c in m) <= 15


class ScrubReport(BaseModel):
    """What was scrubbed: occurrences and distinct values per kind (values themselves are never kept)."""

    enabled: bool = True
    occurrences: dict[str, int] = Field(default_factory=dict, description="matches replaced, per kind")
    distinct: dict[str, int] = Field(default_factory=dict, description="distinct values replaced, per kind")

    @property
    def total(self) -> int:
        return sum(self.occurrences.values())


_DIGIT = re.compile(r"\d")


def _has_digit(t: str) -> bool:
    return _DIGIT.search(t) is not None


def _has_auth(t: str) -> bool:
    low = t.lower()
    return "bearer" in low or "authorization" in low


# (kind, pattern, validator or None, capture group holding the sensitive part, cheap precondition)
_Detector = tuple[str, re.Pattern[str], Callable[[str], bool] | None, int, Callable[[str], bool]]
_DETECTORS: tuple[_Detector, ...] = (
    ("jwt", _JWT, None, 0, lambda t: "eyJ" in t),
    ("api_key", _API_KEY, None, 0, lambda t: True),
    ("bearer", _BEARER, None, 2, _has_auth),
    ("email", _EMAIL, None, 0, lambda t: "@" in t),
    ("iban", _IBAN, iban_ok, 0, _has_digit),
    ("card", _CARD, _card_ok, 0, _has_digit),
    ("ip", _IPV4, None, 0, lambda t: "." in t),
    ("ip", _IPV6, _ipv6_ok, 0, lambda t: "::" in t or t.count(":") >= 2),
    ("phone", _PHONE, _phone_ok, 0, _has_digit),
    ("secret", _TOKENISH, looks_random, 0, lambda t: True),
)
CACHE_MIN_CHARS = 256  # long texts (system prompts, few-shot blocks) repeat: scrub each once
CACHE_MAX_ENTRIES = 512


class Scrubber:
    """Replaces PII/secrets with consistent placeholders and counts them.

    One instance per run: the value → placeholder map is keyed by a salted digest (not the value),
    so memory holds no raw secrets and grows only with the number of *distinct* sensitive values.
    """

    def __init__(self) -> None:
        self._ids: dict[str, dict[bytes, int]] = {k: {} for k in KINDS}
        self._occurrences: Counter[str] = Counter()
        self._cache: dict[bytes, tuple[str, Counter[str]]] = {}  # digest of a long text → (scrubbed, its counts)

    def _placeholder(self, kind: str, value: str) -> str:
        seen = self._ids[kind]
        key = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=12, key=b"advise-scrub").digest()
        n = seen.get(key)
        if n is None:
            n = seen[key] = len(seen) + 1
        self._occurrences[kind] += 1
        return f"<{kind.upper()}_{n}>"

    def text(self, text: str) -> str:
        """Scrub one string (long repeated strings are scrubbed once and their counts replayed)."""
        if not text:
            return text
        key = None
        if len(text) >= CACHE_MIN_CHARS:
            key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
            hit = self._cache.get(key)
            if hit is not None:
                self._occurrences.update(hit[1])
                return hit[0]
        before = Counter(self._occurrences)
        out = text
        for kind, pattern, valid, group, needed in _DETECTORS:
            if not needed(out):
                continue

            def repl(m: re.Match[str], kind: str = kind, valid: Any = valid, group: int = group) -> str:
                value = m.group(group)
                if valid is not None and not valid(value):
                    return m.group(0)
                if group == 0:
                    return self._placeholder(kind, value)
                return m.group(0)[: m.start(group) - m.start(0)] + self._placeholder(kind, value)
            out = pattern.sub(repl, out)
        if key is not None:
            if len(self._cache) >= CACHE_MAX_ENTRIES:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = (out, self._occurrences - before)
        return out

    def obj(self, value: Any) -> Any:
        """Scrub every string inside JSON-like data (tool arguments, metadata, tool schemas' examples)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.obj(v) for v in value]
        if isinstance(value, dict):
            return {k: self.obj(v) for k, v in value.items()}
        return value

    def report(self) -> ScrubReport:
        return ScrubReport(
            enabled=True,
            occurrences={k: self._occurrences[k] for k in KINDS if self._occurrences[k]},
            distinct={k: len(self._ids[k]) for k in KINDS if self._ids[k]},
        )


def scrub_text(text: str) -> tuple[str, ScrubReport]:
    """One-off convenience: scrub a single string with a fresh placeholder map."""
    s = Scrubber()
    return s.text(text), s.report()
