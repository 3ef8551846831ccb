"""Recognizers: each finds candidate spans of one kind in a text, validates them, and reports them.

The design follows Microsoft Presidio's recognizers (pattern → validation → context words) but
without a model or network: a cheap precondition skips texts that cannot hold the kind, a regex
proposes candidates, and a validator from a maintained library decides —
:mod:`phonenumbers` (Google's libphonenumber metadata) for phones, :mod:`stdnum` for IBAN / US SSN /
Luhn, :mod:`detect_secrets` for provider key shapes and ``password = …`` style assignments.
Context-gated kinds (dates of birth, passports, names, bare SSNs and bare digit phones) only fire
near their cue words, which keeps precision on product data (SKUs, dates, prices, ids).

Every recognizer returns ``(start, end, kind)`` spans over the *decoded* text; :mod:`.core`
resolves overlaps by recognizer priority and replaces spans with placeholders.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from advisor.textgate import Gate, folded, gate

Span = tuple[int, int, str]

# ------------------------------------------------------------------ helpers


def luhn_ok(digits: str) -> bool:
    """Luhn checksum (python-stdnum): what every payment card number satisfies."""
    from stdnum import luhn

    return digits.isdigit() and luhn.is_valid(digits)


def iban_ok(text: str) -> bool:
    """ISO 13616 mod-97 and the country's registered BBAN structure (python-stdnum), any case.

    National check digits inside the BBAN are not required: a mistyped account is still personal data.
    """
    from stdnum import iban

    return iban.is_valid(text.upper(), check_country=False)


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


PLACEHOLDER = re.compile(r"<[A-Z_]+_\d+>")
_HEX = re.compile(r"[0-9a-f]{32,}|[0-9A-F]{32,}")


_SEPARATORS = re.compile(r"[-_/.:]+")
_RUNS = re.compile(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|[a-z]+|\d+")
_WORD = re.compile(r"[A-Za-z]?[a-z]{3,}")


def looks_like_name(token: str) -> bool:
    """A dashed/slashed name built of words and version numbers, not a key.

    Model and product names (``Qwen3-14B-Instruct-2507``, ``accounts/fireworks/models/llama-v3p1-8b-instruct``,
    ``SmolLM2-135M-Instruct``) mix classes like keys do, but each part is a word, an acronym or a number (at
    most four class runs, at most two parts mixing classes like ``Qwen3`` or ``14B``) and at least one part is a
    real lowercase word. A key keeps one long random part
    (``sk-proj-abcD3fGh1jKlmN0pQrStUvWx``), and a code of only short upper/digit groups
    (``X7KQ-9MZP-…``) has no word, so both stay secrets.
    """
    parts = [p for p in _SEPARATORS.split(token) if p]
    if len(parts) < 2 or not any(_WORD.fullmatch(p) for p in parts):
        return False
    runs = [_RUNS.findall(p) for p in parts]
    if any(len(p) > 16 or len(r) > 4 or "".join(r) != p for p, r in zip(parts, runs, strict=True)):
        return False
    mixed = [p for p, r in zip(parts, runs, strict=True) if len(r) > 1]  # "Qwen3", "14B", "v3p1"
    return len(mixed) <= 2 and sum(map(len, mixed)) <= 12


def looks_random(token: str) -> bool:
    """High-entropy rule: ≥ 20 chars mixing classes, short class runs, entropy ≥ min(4, log2(len) − 0.8);
    or ≥ 32 hex digits with entropy ≥ 3 (keys, digests). Names made of words and versions are not random."""
    if len(token) < 20 or PLACEHOLDER.fullmatch(token) or looks_like_name(token):
        return False
    digits = sum(c.isdigit() for c in token)
    if _HEX.fullmatch(token):
        return 2 <= digits <= len(token) - 2 and shannon_entropy(token) >= 3.0
    classes = sum((any(c.islower() for c in token), any(c.isupper() for c in token), digits > 0))
    if classes < 2 or (classes == 2 and digits < 2) or _mean_run(token) > 3.0:
        return False
    return shannon_entropy(token) >= min(4.0, math.log2(len(token)) - 0.8)


def _near(text: str, start: int, cue: re.Pattern[str], window: int = 40) -> bool:
    """Presidio-style context: a cue word within `window` characters before the candidate."""
    return cue.search(text, max(0, start - window), start) is not None


_DIGIT = re.compile(r"\d")


def _has_digit(t: str) -> bool:
    return _DIGIT.search(t) is not None


# ------------------------------------------------------------------ the recognizer type


@dataclass(frozen=True)
class Recognizer:
    """One kind: `find(text)` yields spans; `digits` / `needed(text)` are cheap tests that skip most texts."""

    kind: str
    find: Callable[[str], Iterator[Span]]
    needed: Callable[[str], bool] | None = None
    digits: bool = False  # only texts with a digit can hold this kind (tested once per text)


def _regex(kind: str, pattern: re.Pattern[str], valid: Callable[[str], bool] | None = None,
           group: int = 0) -> Callable[[str], Iterator[Span]]:
    def find(text: str) -> Iterator[Span]:
        for m in pattern.finditer(text):
            value = m.group(group)
            if value and (valid is None or valid(value)):
                yield m.start(group), m.end(group), kind
    return find


# ------------------------------------------------------------------ secrets

_PEM = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"  # the whole block …
    r"|[A-Za-z0-9+/=\s\\:,.-]*)",  # … or, cut off before END, the whole base64 body that follows
    re.DOTALL)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# shapes detect-secrets does not know (Anthropic, Google, Hugging Face, OpenAI's current key forms, …)
_API_KEY = re.compile(
    r"(?<![A-Za-z0-9_])(?:"
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
# detect-secrets plugins whose patterns are specific enough for free text (group holding the secret)
_DETECT_SECRETS_PLUGINS = {
    "AWSKeyDetector": 0, "AzureStorageKeyDetector": 0, "BasicAuthDetector": 1, "DiscordBotTokenDetector": 0,
    "GitHubTokenDetector": 0, "GitLabTokenDetector": 0, "MailchimpDetector": 0, "NpmDetector": 0,
    "OpenAIDetector": 0, "PypiTokenDetector": 0, "SendGridDetector": 0, "SlackDetector": 0,
    "SquareOAuthDetector": 0, "StripeDetector": 0, "TelegramBotTokenDetector": 0, "TwilioKeyDetector": 0,
}


@cache
def _provider_patterns() -> tuple[tuple[re.Pattern[str], int, Gate | None], ...]:
    """detect-secrets' maintained provider key regexes, compiled once and run in-process, each with its gate
    (:func:`advisor.textgate.gate`: the literal text every match contains; None: always run).

    Its ``scan_line`` costs ~0.6 ms a line (every plugin, no positions); the plugins' own
    ``denylist`` patterns give the same detections with match positions at regex speed.
    """
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    out = []
    for cls in get_mapping_from_secret_type_to_class().values():
        group = _DETECT_SECRETS_PLUGINS.get(cls.__name__)
        if group is None:
            continue
        for pat in cls().denylist:
            g = group
            if cls.__name__ == "AWSKeyDetector" and pat.groups:
                g = 1  # the `aws … key = "…"` form: the quoted value
            out.append((pat, g, gate(pat)))
    return tuple(out)


# Every provider shape in _DETECT_SECRETS_PLUGINS is a run of ≥ 20 key characters (or a URL with
# credentials): one cheap scan for such a run replaces ~30 pattern scans on ordinary prose.
_LONG_RUN = re.compile(r"[\w.:/+=@-]{20}")


def _find_provider(text: str) -> Iterator[Span]:
    if "://" not in text and _LONG_RUN.search(text) is None:
        return
    for pat, g, needed in _provider_patterns():
        if needed is not None and not needed(text):
            continue
        for m in pat.finditer(text):
            if m.group(g):
                end = m.end(g)
                while end < len(text) and (text[end].isalnum() or text[end] in "_-"):
                    end += 1  # a key is the whole token: a longer variant must not leave its tail behind
                yield m.start(g), end, "api_key"


_BEARER = re.compile(r"(?i)(\bbearer\s+|\bauthorization\s*[:=]\s*(?:basic\s+|token\s+)?)([A-Za-z0-9._~+/-]{12,}=*)")
# header / assignment forms with any value shape (a UUID after x-api-key is a key, not a record id)
_KEY_HEADER = re.compile(
    r"(?i)\b(?:x-)?(?:api[-_ ]?key|api[-_ ]?token|access[-_ ]?token|auth[-_ ]?token|secret[-_ ]?key|"
    r"client[-_ ]?secret|private[-_ ]?token|x-auth-token|session[-_ ]?token|refresh[-_ ]?token)"
    r"[\"']?\s*[:=]\s*[\"']?([^\s\"',;]{6,})")
_PASSWORD_TEXT = re.compile(
    r"(?i)\b(?:password|passwort|passcode|passphrase|pass ?word|pwd|passwd|mot de passe|contrase(?:ñ|n)a|"
    r"(?:pin|pin code))\s*(?:is|was|=|:|:=|->)\s*[\"'`]?([^\s\"'`]{3,})")
_PASSWORD_WORDS = ("pass", "pwd", "contrase", "pin")
# KeywordDetector needs `keyword … = / : value`; prose lines ("reset your password") skip it
_ASSIGN_HINT = re.compile(r"(?i)(?:pass|pwd|secret|key|token|contrase|auth)[\w-]*[\"'\]]?\s*(?::|=|=>|->)")
_PASSWORDISH = re.compile(r"(?i)pass|pwd|contrase")


def _strip_trailing(text: str, start: int, end: int) -> int:
    """A value at the end of a sentence keeps its full stop / comma outside the placeholder."""
    while end > start + 1 and text[end - 1] in ".,;:!?)]}>":
        end -= 1
    return end


# words that follow "password is" / "password:" in prose, not in a credential
_PROSE = frozenset("""
a an the not no is are be was were been being must should will would can could may might has have had
do does did incorrect wrong required invalid expired too correct missing empty reset changed stored hashed
now still also case case-sensitive sensitive weak strong short long different same my your their our his
her its set saved sent locked blocked valid ok okay fine working broken forgotten lost unknown in on at for
to of and or with without that this these those which what when where here there please enter type
none null nil true false undefined redacted hidden masked secret password token key protected encrypted
""".split())


def _real_secret(value: str) -> bool:
    """Reject prose words, empty/None markers, masks (`******`) and template references (`${TOKEN}`)."""
    v = value.strip("\"'`.,;:!?")
    if len(v) < 3 or v.lower() in _PROSE or v[0] in "<${%[(":
        return False
    return len(set(v)) > 1 or v[0] not in "*x•#X.-_"


def _find_keyword_secrets(text: str) -> Iterator[Span]:
    """`password = …`, `"password": "…"`, "my password is …", `x-api-key: …` and friends.

    detect-secrets' KeywordDetector (its YAML/INI flavour, the most permissive one) judges each
    line that mentions a keyword; the two regexes above add the natural-language and header forms
    it does not cover.
    """
    low = folded(text)  # substring tests on it are far cheaper than case-insensitive regex scans
    pw = any(map(low.__contains__, _PASSWORD_WORDS))
    key = "key" in low or "token" in low or "secret" in low
    if not (pw or key or "auth" in low):
        return
    for pattern, kind, wanted in ((_PASSWORD_TEXT, "password", pw), (_KEY_HEADER, "api_key", key)):
        for m in pattern.finditer(text) if wanted else ():
            if _real_secret(m.group(1)):
                yield m.start(1), _strip_trailing(text, m.start(1), m.end(1)), kind
    if ":" not in text and "=" not in text and "->" not in text:
        return
    kd = _keyword_detector()
    pos = 0
    for line in text.split("\n"):
        if _ASSIGN_HINT.search(line):
            for secret in kd.analyze_line(filename="advise.yaml", line=line, line_number=0):
                value = secret.secret_value or ""
                i = line.find(value) if value else -1
                quoted = i > 0 and line[i - 1] in "\"'`"
                # YAML reads the rest of the line as the value: unquoted words are prose, not a password
                if i >= 0 and _real_secret(value) and (quoted or not any(c.isspace() for c in value)):
                    kind = "password" if _PASSWORDISH.search(line[:i]) else "secret"
                    yield pos + i, _strip_trailing(text, pos + i, pos + i + len(value)), kind
        pos += len(line) + 1


@cache
def _keyword_detector():
    from detect_secrets.plugins.keyword import KeywordDetector

    return KeywordDetector()


_TOKENISH = re.compile(r"(?<![A-Za-z0-9_+/-])[A-Za-z0-9_+/-]{20,}=*(?![A-Za-z0-9_+/=-])")


def _find_random(text: str) -> Iterator[Span]:
    for m in _TOKENISH.finditer(text):
        start, value = m.start(), m.group(0)
        if start > 0 and text[start - 1] == "\\" and value[0] in "nrtbfu":
            start, value = start + 1, value[1:]  # a literal "\n" before the token is not part of it
        if looks_random(value):
            yield start, m.end(), "secret"


# ------------------------------------------------------------------ contact data

_TLDS = ("com|org|net|edu|gov|mil|int|io|co|uk|de|fr|it|es|nl|be|at|ch|se|no|dk|fi|pl|pt|ie|cz|ru|ua|jp|cn|kr|"
         "in|au|nz|ca|us|br|mx|ar|za|eu|info|biz|me|ai|app|dev|tech|online|xyz")
_EMAIL = re.compile(
    r"(?<![\w.%+-])[\w.%+-]+(?:@|＠|&#0*64;|&#x0*40;|&commat;|%40)[\w-]+(?:\.[\w-]+)*\.(?:[^\W\d_]{2,}|xn--[\w-]+)\b")
_DOT = r"(?:\s*[\[(]\s*dot\s*[\])]\s*|\s+dot\s+|\.)"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?i)\b[\w+-]+(?:{_DOT}[\w+-]+){{0,3}}(?:\s*[\[(]\s*at\s*[\])]\s*|\s+at\s+)[\w-]+(?:{_DOT}[\w-]+){{0,3}}"
    rf"{_DOT}(?:{_TLDS})\b")  # bounded repeats: linear time on "a dot a dot a dot …"
_SPELLED = re.compile(r"(?i)[\[(]\s*(?:at|dot)\s*[\])]|\sdot\s")


def _obfuscated_ok(m: str) -> bool:
    """'name dot surname at example dot com' / 'ann [at] example [dot] com', not 'look at example.com'."""
    return _SPELLED.search(m) is not None


_IPV4 = re.compile(
    r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?!\d|\.\d)")
_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")


def _ipv6_ok(m: str) -> bool:
    if m.count(":") < 2 or not re.search(r"[0-9A-Fa-f]", m):
        return False
    try:
        ipaddress.IPv6Address(m)
    except ValueError:
        return False
    return True


PHONE_REGIONS = ("US", "GB", "DE", "FR", "JP", "IN", "BR", "AU", "ES", "IT", "NL", "CN", "MX")
_PHONE = re.compile(
    r"(?<![A-Za-z0-9_+.:/-])(?:\+|00)?(?:\(\d{1,5}\)[ .-]?)?\d[\d .()/-]{5,20}\d(?![A-Za-z0-9_-]|[.:,]\d)")
_PHONE_CUE = re.compile(r"(?i)phone|tel\b|tel\.|call|mobile|cell|fax|whatsapp|sms|text me|ring|電話|携帯|телефон")
_DATE_SHAPE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")


def _decimal(cand: str) -> bool:
    """'3.14159265' or '1234.567890': one dot and no other separator is a number, not a phone."""
    return cand.count(".") == 1 and not any(c in cand for c in " -()/")


def _find_phones(text: str) -> Iterator[Span]:
    """Candidates by shape, validated by libphonenumber (international or any of PHONE_REGIONS).

    International numbers (+CC / 00CC) need only be valid. National ones written with separators
    must also be grouped the way that region writes its numbers (PhoneNumberMatcher's
    STRICT_GROUPING leniency): "03-1234-5678" is Tokyo, "2025-0312-4471" is an order number. A bare
    digit run counts only next to a cue word such as "phone" or "call": libphonenumber accepts most
    10-digit strings in *some* region.
    """
    import phonenumbers

    for m in _PHONE.finditer(text):
        cand = m.group(0).rstrip(" .(/-")
        digits = sum(c.isdigit() for c in cand)
        if not 8 <= digits <= 15 or _DATE_SHAPE.search(cand) or _decimal(cand):
            continue
        intl = cand.startswith(("+", "00"))
        bare = cand.isdigit()
        if not intl and bare and not _near(text, m.start(), _PHONE_CUE):
            continue
        num = "+" + cand[2:] if cand.startswith("00") else cand
        regions: tuple[str | None, ...] = (None,) if intl else PHONE_REGIONS
        for region in regions:
            try:
                parsed = phonenumbers.parse(num, region)
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_valid_number(parsed):
                continue
            if not intl and not bare and not _grouped_as_in(cand, region):
                continue
            yield m.start(), m.start() + len(cand), "phone"
            break


def _grouped_as_in(cand: str, region: str | None) -> bool:
    from phonenumbers import Leniency, PhoneNumberMatcher

    return any(pm.start == 0 and pm.end == len(cand)
               for pm in PhoneNumberMatcher(cand, region, leniency=Leniency.STRICT_GROUPING))


# ------------------------------------------------------------------ financial and national ids

_IBAN = re.compile(r"(?i)\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")


def _find_ibans(text: str) -> Iterator[Span]:
    """Case-insensitive candidates; when the full run fails, trailing space-separated groups are
    dropped one by one (in "… 3836 today" the word is not part of the account)."""
    for m in _IBAN.finditer(text):
        cand = m.group(0)
        while len(cand.replace(" ", "")) >= 15:
            if iban_ok(cand):
                yield m.start(), m.start() + len(cand), "iban"
                break
            cut = cand.rfind(" ")
            if cut < 0:
                break
            cand = cand[:cut]


_CARD = re.compile(r"(?<![\d.-])(?:\d[ .-]?){12,18}\d(?![\d-]|\.\d)")


def _card_ok(m: str) -> bool:
    digits = re.sub(r"[ .-]", "", m)
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_ok(digits)


_SSN = re.compile(r"(?<![\d-])(\d{3})([- ]?)(\d{2})\2(\d{4})(?![\d-])")
_SSN_CUE = re.compile(r"(?i)\bssn\b|social security|\bss#|\bsocial sec")


def _find_ssn(text: str) -> Iterator[Span]:
    """US SSNs: dashed form anywhere, spaced/bare form only near "SSN"; area/group/serial rules (stdnum)."""
    from stdnum.us import ssn

    for m in _SSN.finditer(text):
        if m.group(2) != "-" and not _near(text, m.start(), _SSN_CUE):
            continue
        if ssn.is_valid(m.group(1) + m.group(3) + m.group(4)):
            yield m.start(), m.end(), "ssn"


# ------------------------------------------------------------------ context-gated personal data

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DATE = (rf"(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}|"
         rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+\d{{4}}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})")
_DOB = re.compile(
    rf"(?i)\b(?:born(?:\s+on)?|d\.?o\.?b\.?|date\s+of\s+birth|birth\s*date|birthday(?:\s+is)?|geboren(?:\s+am)?|"
    rf"n[ée]e?\s+le)\s*[:\-]?\s*(?:on\s+|is\s+)?({_DATE})")
_PASSPORT = re.compile(
    r"(?i)\bpass(?:port|nummer)(?:\s*(?:no\.?|number|num\.?|nr\.?|#|id))?\s*(?:is\s+)?[:#]?\s*([A-Z0-9]{6,9})\b")
_STREET_TYPES = (r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|"
                 r"Square|Sq|Parkway|Pkwy|Highway|Hwy|Close|Crescent|Row|Gardens|Grove|Mews")
_ADDRESS = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'’.-]*\s+){{1,4}}(?:{_STREET_TYPES})\b\.?"
    rf"(?:,?\s+(?:Apt|Apartment|Suite|Unit|Flat)\.?\s*#?\w+)?"
    r"|\b[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm)\s+\d{1,4}[a-z]?\b"
    r"|\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?i:rue|avenue|av\.|boulevard|bd|place|allée|chemin|impasse|quai)\s+"
    r"(?:(?:de|du|des|la|le|l'|d')\s*)*[A-ZÉ][\w'’-]*(?:\s+[A-ZÉ][\w'’-]*){0,3}"
    r"|\b(?i:via|viale|piazza|calle|avenida|rua)\s+(?:(?:de|del|della|da|do|la)\s+)*[A-Z][\w'’-]*"
    r"(?:\s+[A-Z][\w'’-]*){0,3},?\s+\d{1,4}\b")
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’]+(?:-[A-ZÀ-ÖØ-Þ]?[a-zà-öø-ÿ'’]+)*"
_TITLE = r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau|Mme|Mlle|Sr|Sra)\.?\s+"
_NAME = re.compile(
    rf"(?:(?i:\bmy\s+name\s+is|\bi\s+am\s+called|\bname\s*:|\bfull\s+name\s*:|\bcustomer\s*:|\bdear|\bsincerely,?"
    rf"|\bregards,?|\bje\s+m'appelle|\bich\s+hei(?:ß|ss)e|\bme\s+llamo|\bmi\s+chiamo)\s+(?:{_TITLE})?"
    rf"|{_TITLE})"
    rf"({_NAME_WORD}(?:\s+(?:(?:van|von|de|der|da|di|le|la)\s+)?{_NAME_WORD}){{0,2}})")
_NOT_NAMES = frozenset("The A An This That It Team Customer Sir Madam All Everyone Support Sales Manager Friend "
                       "Valued User Colleagues Hello Thanks Thank Please".split())


def _find_names(text: str) -> Iterator[Span]:
    for m in _NAME.finditer(text):
        first = m.group(1).split()[0]
        if first not in _NOT_NAMES:
            yield m.start(1), m.end(1), "name"


def _group1(kind: str, pattern: re.Pattern[str], valid: Callable[[str], bool] | None = None):
    return _regex(kind, pattern, valid, group=1)


# ------------------------------------------------------------------ gates
# A recognizer's regex that opens with an assertion (a look-behind, a word boundary) is tried at every position
# of the text: ~30-60 µs on a 1,000-character message, whether or not anything is there. Each gate below is a
# cheaper *necessary* condition — a substring test, or a regex that opens with a character class (which the
# regex engine skips to in C) and is the recognizer's own shape with its assertions and alternatives relaxed —
# so a text the gate rejects cannot give a span, and one it lets through is scanned exactly as before.
# tests/test_scrub_gates.py checks every gate against its recognizer on generated and real texts.


def _search(pattern: str, flags: int = 0) -> Callable[[str], bool]:
    compiled = re.compile(pattern, flags)
    return lambda t: compiled.search(t) is not None


def _literal_gate(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    """advisor.textgate's gate, read off the pattern itself (so it follows the pattern when that changes)."""
    test = gate(pattern)
    assert test is not None, f"no literal text to gate {pattern.pattern!r} on"
    return test


def _lower_cues(cues: tuple[str, ...], also: re.Pattern[str] | None = None) -> Callable[[str], bool]:
    """Gate for a case-insensitive pattern with ASCII cue words: any cue in the folded text, or `also` found in it."""
    def needed(t: str) -> bool:
        low = folded(t)
        return any(map(low.__contains__, cues)) or (also is not None and also.search(low) is not None)
    return needed


# every alternative of _API_KEY starts with one of these (the (?:sk|rk|pk)_(?:live|test)_ one with "_live_"/"_test_")
_API_KEY_STARTS = ("sk-", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "AIza", "xox",
                   "_live_", "_test_", "hf_")
_IPV4_GATE = _search(r"\d\.\d{1,3}\.\d{1,3}\.\d")  # octet "." octet "." octet "." octet: its middle
_IPV6_GATE = _search(r":[0-9A-Fa-f]{0,4}:")  # (?:hex{0,4}:){2,} holds two colons at most 4 hex digits apart
_CARD_GATE = _search(r"\d(?:[ .-]?\d){12}")  # (?:\d[ .-]?){12,18}\d: its first 13 digits
_SSN_GATE = _search(r"\d{3}[- ]?\d{2}[- ]?\d{4}")  # the shape without the back-reference and boundaries
_IBAN_GATE = _search(r"\d{2} ?[A-Z0-9]{4} ?[A-Z0-9]{4}", re.IGNORECASE)  # check digits and two BBAN groups
_PHONE_GATE = _search(r"\d[\d .()/-]{5,20}\d")  # the part of _PHONE every candidate has
_TOKENISH_GATE = _search(r"[A-Za-z0-9_+/-]{20}")  # _TOKENISH without its boundaries
_DOB_GATE = _lower_cues(("born", "dob", "d.ob", "do.b", "d.o.b", "birth", "geboren"), re.compile(r"n[ée]e?\s+le"))

_TITLE_GATE = re.compile(r"(?:Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau|Mme|Mlle|Sr|Sra)\.?\s+[A-ZÀ-ÖØ-Þ]")  # title + name word
_NAME_CUES = ("called", "dear", "sincerely", "regards", "appelle", "heiss", "heiß", "llamo", "chiamo")
_NAME_CUE_RE = re.compile(r"name\s*:|name\s+is|customer\s*:")  # "my name is", "(full) name:", "customer:"


def _name_gate(t: str) -> bool:
    """_NAME's case-insensitive cues (in the folded text), or a title and a capitalised word (case-sensitive)."""
    low = folded(t)
    return (any(map(low.__contains__, _NAME_CUES)) or _NAME_CUE_RE.search(low) is not None
            or _TITLE_GATE.search(t) is not None)


# _ADDRESS's four alternatives, each as a necessary condition: (1) "12 Main Street": a street type word and a number
# before capitalised words; (2) "Hauptstraße 5"; (3) "12 rue de Rivoli"; (4) "Via Roma 10".
_STREET_TYPE = re.compile(rf"(?:{_STREET_TYPES})\b")
_NUMBER_THEN_CAPITAL = re.compile(r"\d[A-Za-z]?,?\s+[A-Z]")
_GERMAN_STREET = re.compile(r"(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm)\s+\d")
_FRENCH_WORDS = ("rue", "avenue", "av.", "boulevard", "bd", "place", "allée", "chemin", "impasse", "quai")
_NUMBER_THEN_SPACE = re.compile(r"\d(?:\s?(?:bis|ter))?,?\s")
_SOUTHERN_WORDS = ("via", "piazza", "calle", "avenida", "rua")
_SPACE_THEN_NUMBER = re.compile(r"\s\d")


def _address_gate(t: str) -> bool:
    if _STREET_TYPE.search(t) is not None and _NUMBER_THEN_CAPITAL.search(t) is not None:
        return True
    if _GERMAN_STREET.search(t) is not None:
        return True
    low = folded(t)
    if any(map(low.__contains__, _FRENCH_WORDS)) and _NUMBER_THEN_SPACE.search(t) is not None:
        return True
    return any(map(low.__contains__, _SOUTHERN_WORDS)) and _SPACE_THEN_NUMBER.search(t) is not None


def _spelled_email_gate(t: str) -> bool:
    """'at' in any case, and what `_obfuscated_ok` asks for: a bracket, or 'dot' in any case."""
    low = folded(t)
    return "at" in low and ("dot" in low or "[" in t or "(" in t)

# Order = priority when spans overlap (most specific first: a JWT is not half-eaten by the entropy rule).
RECOGNIZERS: tuple[Recognizer, ...] = (
    Recognizer("private_key", _regex("private_key", _PEM), lambda t: "PRIVATE KEY" in t),
    Recognizer("jwt", _regex("jwt", _JWT), _literal_gate(_JWT)),
    Recognizer("api_key", _regex("api_key", _API_KEY), lambda t: any(map(t.__contains__, _API_KEY_STARTS))),
    Recognizer("api_key", _find_provider),
    Recognizer("bearer", _regex("bearer", _BEARER, group=2), _literal_gate(_BEARER)),
    Recognizer("password", _find_keyword_secrets),
    Recognizer("email", _regex("email", _EMAIL), lambda t: "@" in t or "&#" in t or "&commat;" in t or "%40" in t
               or "＠" in t),
    Recognizer("email", _regex("email", _OBFUSCATED_EMAIL, _obfuscated_ok), _spelled_email_gate),
    Recognizer("iban", _find_ibans, _IBAN_GATE, digits=True),
    Recognizer("ssn", _find_ssn, _SSN_GATE, digits=True),
    Recognizer("card", _regex("card", _CARD, _card_ok), _CARD_GATE, digits=True),
    Recognizer("ip", _regex("ip", _IPV4), lambda t: "." in t and _IPV4_GATE(t), True),
    Recognizer("ip", _regex("ip", _IPV6, _ipv6_ok), lambda t: ("::" in t or t.count(":") >= 2) and _IPV6_GATE(t)),
    Recognizer("date_of_birth", _group1("date_of_birth", _DOB), _DOB_GATE, digits=True),
    Recognizer("passport", _group1("passport", _PASSPORT, _has_digit), _literal_gate(_PASSPORT), True),
    Recognizer("phone", _find_phones, _PHONE_GATE, digits=True),
    Recognizer("address", _regex("address", _ADDRESS), _address_gate, digits=True),
    Recognizer("name", _find_names, _name_gate),
    Recognizer("secret", _find_random, _TOKENISH_GATE),
)

KINDS: tuple[str, ...] = tuple(dict.fromkeys(r.kind for r in RECOGNIZERS))
