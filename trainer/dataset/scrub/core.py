"""The scrubber: recognizer spans → consistent placeholders, applied to decoded strings only.

Training data is copied into adapters, shared with vendors and kept for years, so every string
written by ``advise dataset`` passes through :class:`Scrubber` first. Each match is replaced by a
*consistent* placeholder: the same value gets the same ``<EMAIL_3>`` everywhere in one run, so
conversations stay coherent and static prompts stay identical across requests.

Strings that hold JSON (tool-call ``arguments``, JSON tool results) are parsed, scrubbed value by
value and re-serialised: scrubbing the serialized text would let a match swallow part of an
escape (``\\n`` → ``\\<SECRET_1>``) and leave invalid JSON behind.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

from trainer.dataset.scrub.recognizers import KINDS, PLACEHOLDER, RECOGNIZERS

COVERAGE: dict[str, str] = {
    "private_key": "PEM private key blocks (BEGIN … END, or the body up to the end of a cut-off block)",
    "jwt": "JSON Web Tokens",
    "api_key": "provider keys (OpenAI, Anthropic, AWS, GitHub, GitLab, Google, Slack, Stripe, Hugging Face, "
               "Twilio, SendGrid, … via detect-secrets' patterns) and any value after x-api-key / api_key / "
               "access_token style headers",
    "bearer": "the token after Bearer / Authorization:",
    "password": "values after password / passwd / pwd / secret keywords (detect-secrets KeywordDetector) "
                "and 'my password is …'",
    "email": "addresses incl. internationalised (IDN) ones, HTML-entity / %40 at-signs and "
             "'name dot surname at example dot com' / '[at]' spellings",
    "iban": "IBANs in any case, spaced or not (registered BBAN structure and mod-97 via python-stdnum)",
    "ssn": "US social security numbers (dashed anywhere; spaced/bare next to 'SSN'; python-stdnum rules)",
    "card": "payment cards, 13–19 digits with spaces, dashes or dots (Luhn via python-stdnum)",
    "ip": "IPv4 (also at the end of a sentence) and IPv6 addresses",
    "phone": "phone numbers valid for libphonenumber: international +CC / 00CC, or national numbers of "
             "US GB DE FR JP IN BR AU ES IT NL CN MX grouped the way that region writes them; bare digit runs "
             "only next to 'phone' / 'call'",
    "date_of_birth": "dates next to 'born', 'DOB', 'date of birth', 'birthday', 'geboren', 'né le'",
    "passport": "6–9 character passport numbers next to 'passport (no./number)'",
    "address": "street addresses of the shapes '12 Main Street', 'Hauptstraße 5', '12 rue de Rivoli', "
               "'Via Roma 10'",
    "name": "person names after 'my name is', 'Name:', 'Dear', 'Regards,', titles (Mr/Ms/Dr/Herr/Mme …)",
    "secret": "other long random-looking tokens (entropy rule) and keyword-assigned secrets",
}
NOT_DETECTED: list[str] = [
    "person names without a cue word ('Ann called about her order')",
    "street addresses of other shapes, cities, postcodes and countries on their own",
    "dates of birth without a cue word, ages",
    "passport and national id numbers without a cue word, other than US SSNs",
    "national phone numbers of regions outside the list, written as bare digits without a cue word",
    "passwords not introduced by a keyword",
    "keys shaped like dashed names (words and version numbers: 'acme-prod-Key3-v2-build')",
    "free-text personal facts (health, religion, workplace, …) and pictures or audio",
    "PII inside base64, URL-encoded or otherwise encoded blobs",
]
CACHE_MIN_CHARS = 256  # long texts (system prompts, few-shot blocks) repeat: scrub each once
CACHE_MAX_ENTRIES = 512
CLEAN_MAX_CHARS = 64  # short strings that held nothing (roles, model names, ids, keys) are remembered …
CLEAN_MAX_ENTRIES = 50_000  # … up to this many, so memory stays bounded
# JSON keys whose string value is sensitive whatever its shape ({"password": "…"} in tool arguments)
_KEY_KINDS = {
    **dict.fromkeys(("password", "passwd", "pwd", "passcode", "passphrase", "pin", "pincode"), "password"),
    **dict.fromkeys(("secret", "clientsecret", "secretkey", "privatekey", "credential", "credentials"), "secret"),
    **dict.fromkeys(("apikey", "xapikey", "apitoken", "accesstoken", "authtoken", "refreshtoken", "sessiontoken",
                     "token", "accesskey", "authorization", "xauthtoken"), "api_key"),
    **dict.fromkeys(("ssn", "socialsecuritynumber"), "ssn"),
    **dict.fromkeys(("dob", "dateofbirth", "birthdate", "birthday"), "date_of_birth"),
    **dict.fromkeys(("passport", "passportnumber", "passportno"), "passport"),
}


_ID_SKIP = frozenset({"secret"})
_DIGIT = re.compile(r"\d")
_INDENT = re.compile(r"^[\[{]\s*\n( +)\S")


class ScrubReport(BaseModel):
    """What was scrubbed: occurrences and distinct values per kind (values themselves are never kept)."""

    enabled: bool = True
    occurrences: dict[str, int] = Field(default_factory=dict, description="matches replaced, per kind")
    distinct: dict[str, int] = Field(default_factory=dict, description="distinct values replaced, per kind")
    coverage: list[str] = Field(default_factory=lambda: list(COVERAGE),
                                description="kinds the scrubber detects (README: 'What the scrubber detects')")
    not_detected: list[str] = Field(default_factory=lambda: list(NOT_DETECTED),
                                    description="what it does not detect: review the data for these yourself")

    def model_post_init(self, _context: Any) -> None:
        if not self.enabled:  # --no-scrub: nothing was detected, so claim no coverage
            self.coverage, self.not_detected = [], []

    @property
    def total(self) -> int:
        return sum(self.occurrences.values())


def find_spans(text: str, skip: frozenset[str] = frozenset()) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, kind) spans; on overlap the earlier recognizer, then the longer span wins."""
    found = []
    digit = _DIGIT.search(text) is not None
    for prio, rec in enumerate(RECOGNIZERS):
        if (rec.digits and not digit) or (rec.needed is not None and not rec.needed(text)) or rec.kind in skip:
            continue
        for start, end, kind in rec.find(text):
            if end > start:
                found.append((prio, start, end, kind))
    if not found:
        return []
    found.sort(key=lambda f: (f[0], f[1] - f[2], f[1]))
    taken: list[tuple[int, int, str]] = []
    for _prio, start, end, kind in found:
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, kind))
    taken.sort()
    return taken


class Scrubber:
    """Replaces PII/secrets with consistent placeholders and counts them.

    One instance per run: the value → placeholder map is keyed by a salted digest (not the value),
    so memory holds no raw secrets and grows only with the number of *distinct* sensitive values.
    """

    def __init__(self) -> None:
        self._ids: dict[str, dict[bytes, int]] = {k: {} for k in KINDS}
        self._occurrences: Counter[str] = Counter()
        self._cache: dict[bytes, tuple[str, Counter[str]]] = {}  # digest of a long text → (scrubbed, its counts)
        self._clean: set[str] = set()  # short strings with nothing to scrub
        self._clean_ids: set[str] = set()  # the same for identifier()

    def _placeholder(self, kind: str, value: str) -> str:
        seen = self._ids[kind]
        key = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=12, key=b"advise-scrub").digest()
        n = seen.get(key)
        if n is None:
            n = seen[key] = len(seen) + 1
        self._occurrences[kind] += 1
        return f"<{kind.upper()}_{n}>"

    def _plain(self, text: str, skip: frozenset[str] = frozenset()) -> str:
        spans = find_spans(text, skip)
        if not spans:
            return text
        parts, pos = [], 0
        for start, end, kind in spans:
            parts.append(text[pos:start])
            parts.append(self._placeholder(kind, text[start:end]))
            pos = end
        parts.append(text[pos:])
        return "".join(parts)

    def text(self, text: str) -> str:
        """Scrub one decoded string (long repeated strings are scrubbed once and their counts replayed).

        A string that is itself a JSON object or array is scrubbed value by value (see module doc).
        """
        if not text:
            return text
        if len(text) < CACHE_MIN_CHARS:
            if text in self._clean:
                return text
            out = self._scrub(text)
            if out == text and len(text) <= CLEAN_MAX_CHARS and len(self._clean) < CLEAN_MAX_ENTRIES:
                self._clean.add(text)
            return out
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        hit = self._cache.get(key)
        if hit is not None:
            self._occurrences.update(hit[1])
            return hit[0]
        before = Counter(self._occurrences)
        out = self._scrub(text)
        if len(self._cache) >= CACHE_MAX_ENTRIES:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (out, self._occurrences - before)
        return out

    def _scrub(self, text: str) -> str:
        out = self._json_text(text)
        return self._plain(text) if out is None else out

    def identifier(self, value: str) -> str:
        """Scrub a record id / model name / label: every kind but the entropy rule.

        Provider ids (``chatcmpl-…``, ``msg_01…``) are random by design and must stay joinable with
        the logs; an id that embeds an e-mail, a key shape or a phone number is still scrubbed.
        """
        if not value or value in self._clean_ids:
            return value
        out = self._plain(value, _ID_SKIP)
        if out == value and len(value) <= CLEAN_MAX_CHARS and len(self._clean_ids) < CLEAN_MAX_ENTRIES:
            self._clean_ids.add(value)
        return out

    def _json_text(self, text: str) -> str | None:
        """Scrubbed re-serialisation of a JSON object/array string; None when `text` is not one."""
        head = text.lstrip()[:1]
        if head not in ("{", "["):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        if not isinstance(value, dict | list):
            return None
        scrubbed = self.obj(value)
        if scrubbed == value:
            return text  # nothing found: keep the original formatting byte for byte
        indent = _INDENT.search(text)
        if indent is not None:  # pretty-printed: keep its indent width
            return json.dumps(scrubbed, ensure_ascii=False, indent=len(indent.group(1)))
        compact = '": ' not in text and '", "' not in text
        return json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":") if compact else None)

    def obj(self, value: Any) -> Any:
        """Scrub every string inside JSON-like data, keys included (tool arguments, metadata, schemas)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.obj(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self._field(k, v) for k, v in value.items()}
        return value

    def _field(self, key: Any, value: Any) -> Any:
        kind = _KEY_KINDS.get(key.lower().replace("-", "").replace("_", "")) if isinstance(key, str) else None
        if kind is not None and isinstance(value, str) and value.strip() and not PLACEHOLDER.fullmatch(value):
            return self._placeholder(kind, value)
        return self.obj(value)

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
