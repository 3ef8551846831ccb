"""Automatic and user checks on one record: pure, records in, failures out.

Order matters: provider errors end the checks (there is no output to judge); a truncated
output is not also reported as invalid JSON (the truncation is the cause).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from advisor.failures.config import FailureConfig, UserCheck
from advisor.failures.signatures import json_path
from advisor.kernel.record import FinishReason, Record
from advisor.textgate import IGNORECASE_ASCII, Gate, gate


@dataclass(frozen=True, slots=True)
class Failure:
    """One detected problem: `signature` groups recurring problems, `detail` is for people."""

    signature: str
    category: str
    detail: str


_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.S)
_REFUSAL = re.compile(
    r"^\W*(?:i['’]m sorry,? but i can(?:not|['’]t)|i can(?:not|['’]t) (?:help|assist|comply|provide|do that)"
    r"|i(?: am|['’]m) (?:unable|not able) to (?:help|assist|comply|provide)|i won['’]t be able to help"
    r"|sorry, (?:but )?i can(?:not|['’]t)|as an ai(?: language model)?,? i can(?:not|['’]t))", re.I)
_NO_ANSWER = re.compile(
    r"\b(?:i don['’]t (?:have|know)(?: (?:any|that|this|the|enough))? ?(?:information|details|data|access)?"
    r"|i do not have (?:any |that |this )?(?:information|details|data|access)"
    r"|i(?: am|['’]m) not sure (?:about|what|whether|if)|(?:as of|since) my (?:last|knowledge) (?:update|cutoff)"
    r"|my knowledge cut-?off|i (?:cannot|can['’]t) (?:browse|access real-time|check (?:the )?current))", re.I)
_PHRASE_CUES = ("sorry", "i can", "i am", "i'm", "i won", "as an ai", "i don", "i do not", "my knowledge",
                "my last")
_ERROR_KINDS = (
    ("rate_limit", re.compile(r"\b429\b|rate.?limit|too many requests", re.I)),
    ("overloaded", re.compile(r"\b529\b|overloaded", re.I)),
    ("timeout", re.compile(r"time ?out|timed out|\b504\b|\b408\b", re.I)),
    ("context_length", re.compile(r"context.?length|maximum context|too many tokens|prompt is too long", re.I)),
    ("auth", re.compile(r"\b40[13]\b|unauthori[sz]ed|forbidden|api key", re.I)),
    ("server_error", re.compile(r"\b50[0-3]\b|server.?error|service unavailable|bad gateway", re.I)),
    ("bad_request", re.compile(r"\b4\d\d\b|invalid request|bad request", re.I)),
)
_VALIDATORS: dict[str, Any] = {}
MAX_SCHEMA_ERRORS = 3


def error_kind(message: str | None) -> str:
    """Provider error text → a short kind (rate_limit, server_error, …) so errors group by cause."""
    for kind, pattern in _ERROR_KINDS:
        if message and pattern.search(message):
            return kind
    return "other"


def wants_json(record: Record, config: FailureConfig) -> bool:
    rf = (record.response_format or {}).get("type")
    return config.wants_json or rf in ("json_object", "json_schema")


def requested_schema(record: Record, config: FailureConfig) -> dict[str, Any] | None:
    """The user's --schema/config schema wins over the one sent in response_format."""
    if config.output_schema is not None:
        return config.output_schema
    rf = record.response_format or {}
    if rf.get("type") == "json_schema":
        js = rf.get("json_schema") or {}
        schema = js.get("schema") if isinstance(js, dict) else None
        return schema if isinstance(schema, dict) else None
    return None


_LAX_JSON = re.compile(r"NaN|Infinity|\\[uU][dD][89a-fA-F]|\d{19}|[eE][+-]?\d{3}")
_DIGITS_AS_0 = bytes.maketrans(b"0123456789E", b"0000000000e")


def needs_json_module(text: str) -> bool:
    """`bool(_LAX_JSON.search(text))`: does the text hold what only json reads as json does?

    The regex costs ~6 µs on a 200-character output (it tries its branches at every e and digit); C substring
    tests on a copy with digits as 0 and E as e answer the same in well under 1 µs. Non-ASCII text (\\d also
    matches other scripts' digits) and the rare \\u escape ask the regex itself.
    """
    if not text.isascii():
        return _LAX_JSON.search(text) is not None
    if ("N" in text and "NaN" in text) or ("I" in text and "Infinity" in text):
        return True
    if "\\" in text and ("\\u" in text or "\\U" in text):
        return _LAX_JSON.search(text) is not None
    t = text.encode("ascii").translate(_DIGITS_AS_0)
    return b"000" in t and (b"e000" in t or b"e+000" in t or b"e-000" in t or b"0000000000000000000" in t)


def parse_json_leniently(text: str) -> tuple[Any, str | None]:
    """(value, problem): problem is None for clean JSON, else a format signature suffix; value None if unparseable."""
    # orjson is the fast path; json reads what orjson refuses or reads differently (NaN/Infinity, lone
    # surrogates, integers beyond 64 bits, which orjson turns into floats), so the outcome is json's
    try:
        return (json.loads(text) if needs_json_module(text) else orjson.loads(text)), None
    except ValueError:  # orjson.JSONDecodeError is a ValueError too
        pass
    m = _FENCE.match(text)
    if m:
        try:
            return json.loads(m.group(1)), "json_code_fence"
        except ValueError:
            return None, "invalid_json"
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            return json.loads(text[start:end + 1]), "json_with_prose"
        except ValueError:
            pass
    return None, "invalid_json"


def _schema_failures(value: Any, schema: dict[str, Any]) -> list[Failure]:
    from jsonschema import Draft202012Validator

    key = json.dumps(schema, sort_keys=True)
    validator = _VALIDATORS.get(key)
    if validator is None:
        if len(_VALIDATORS) > 64:
            _VALIDATORS.clear()
        validator = _VALIDATORS[key] = Draft202012Validator(schema)
    out: list[Failure] = []
    for err in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path))):
        path = json_path(err.absolute_path)
        if err.validator == "required":
            field = re.search(r"'([^']+)' is a required property", err.message)
            name = field.group(1) if field else "?"
            sig = f"schema:missing:{(path + '.') if path != '$' else ''}{name}"
        elif err.validator == "additionalProperties":
            extra = re.findall(r"'([^']+)'", err.message)
            sig = f"schema:extra:{(path + '.') if path != '$' else ''}{extra[0] if extra else '?'}"
        else:
            sig = f"schema:{err.validator}:{path}"
        if all(f.signature != sig for f in out):
            out.append(Failure(sig, "schema", err.message[:200]))
        if len(out) >= MAX_SCHEMA_ERRORS:
            break
    return out


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A UserCheck flattened for the per-record loop (pydantic attribute access is slow at 100k records)."""

    signature: str
    category: str
    must: re.Pattern[str] | None
    must_match: str | None
    must_not: re.Pattern[str] | None
    max_chars: int | None
    required_fields: tuple[str, ...]
    full: re.Pattern[str] | None = None
    each_line: re.Pattern[str] | None = None
    counted: re.Pattern[str] | None = None
    count_min: int = 0
    count_max: int | None = None
    # advisor.textgate gates of must / full / counted / must_not: False proves the pattern finds nothing there
    must_gate: Gate | None = None
    full_gate: Gate | None = None
    counted_gate: Gate | None = None
    must_not_gate: Gate | None = None


_COMPILED: dict[int, tuple[FailureConfig, _Plan]] = {}


@dataclass(frozen=True, slots=True)
class _Plan:
    """What check_record needs from a FailureConfig, read once per configuration instead of once per record."""

    checks: tuple[_Compiled, ...]
    any_fields: bool  # some user check reads fields, so every output is parsed as JSON
    json_always: bool  # config.wants_json: every output must be JSON, whatever its response_format
    schema: dict[str, Any] | None  # config.output_schema


def _compiled(config: FailureConfig) -> _Plan:
    hit = _COMPILED.get(id(config))
    if hit is None or hit[0] is not config:
        checks = tuple(_compile(c) for c in config.checks)
        if len(_COMPILED) > 16:
            _COMPILED.clear()
        plan = _Plan(checks, any(c.required_fields for c in checks), config.wants_json, config.output_schema)
        hit = _COMPILED[id(config)] = (config, plan)
    return hit[1]


def _compile(c: UserCheck) -> _Compiled:
    lo, hi = c.count_range
    gates = [gate(p) if p is not None else None for p in (c.must, c.full, c.counted, c.must_not)]
    return _Compiled(c.signature, c.category, c.must, c.must_match, c.must_not, c.max_chars,
                     tuple(c.required_fields or ()), c.full, c.each_line, c.counted, lo, hi, *gates)


def _user_check(check: _Compiled, text: str, parsed: Any, parse_problem: str | None) -> str | None:
    """The first violated rule of one user check, as a detail string; None when it passes."""
    if check.must is not None and not ((check.must_gate is None or check.must_gate(text)) and check.must.search(text)):
        return f"does not match {check.must_match!r}"
    if check.full is not None and not ((check.full_gate is None or check.full_gate(text))
                                       and check.full.fullmatch(text.strip())):
        return f"the whole output does not match {check.full.pattern!r}"
    if check.each_line is not None:
        for i, line in enumerate(text.splitlines(), 1):
            if line.strip() and not check.each_line.fullmatch(line.rstrip()):
                return f"line {i} {line[:60]!r} does not match {check.each_line.pattern!r}"
    if check.counted is not None:
        k = sum(1 for _ in check.counted.finditer(text)) if check.counted_gate is None or check.counted_gate(text) else 0
        if k < check.count_min or (check.count_max is not None and k > check.count_max):
            want = (f"exactly {check.count_min}" if check.count_max == check.count_min else
                    f"at least {check.count_min}" if check.count_max is None else
                    f"{check.count_min}–{check.count_max}")
            return f"{k} matches of {check.counted.pattern!r}, want {want}"
    if check.must_not is not None:
        m = check.must_not.search(text) if check.must_not_gate is None or check.must_not_gate(text) else None
        if m:
            return f"matches forbidden {m.group(0)[:60]!r}"
    if check.max_chars is not None and len(text) > check.max_chars:
        return f"{len(text)} chars > max {check.max_chars}"
    if check.required_fields:
        if parse_problem == "invalid_json" or not isinstance(parsed, dict):
            return "output is not a JSON object"
        missing = [f for f in check.required_fields if f not in parsed]
        if missing:
            return "missing: " + ", ".join(missing)
    return None


_ERROR, _LENGTH, _FILTERED, _REFUSED = (FinishReason.error, FinishReason.length, FinishReason.content_filter,
                                         FinishReason.refusal)  # enum attribute lookups cost ~0.1 µs each
_JSON_TYPES = ("json_object", "json_schema")


def _has_cue(head: str) -> bool:
    """`any(cue in head for cue in _PHRASE_CUES)` with fewer scans (each costs ~0.2 µs on an answer): the "i …" cues
    are looked for only when the head holds "i " (or a quote, for "i'm"). tests/test_stage_fast_paths.py pins it to
    _PHRASE_CUES."""
    return (("i " in head and ("i can" in head or "i am" in head or "i won" in head or "i don" in head
                               or "i do not" in head))
            or ("'" in head and "i'm" in head) or "sorry" in head or "as an ai" in head or "my knowledge" in head
            or "my last" in head)


def _may_say_no_answer(head: str, window: str) -> bool:
    """False only when _NO_ANSWER cannot match `window` (head = its lower-case with ’ as '): every branch holds one
    of these phrases, letter for letter in lower case. The regex costs ~20 µs on a 250-character answer, and
    "I can"/"I am"/"I'm" (which open the cue gate) are common in ordinary answers."""
    if not window.isascii() and any(chr(c) in window for c in IGNORECASE_ASCII):  # see advisor.textgate
        head = window.translate(IGNORECASE_ASCII).lower().replace("’", "'")
    return ("i don't" in head or "not sure" in head or "i cannot" in head or "i can't" in head
            or "i do not have" in head or "my last" in head or "my knowledge" in head)


def check_record(record: Record, config: FailureConfig) -> list[Failure]:
    """Every automatic and user check that fails on `record`, most decisive first."""
    fr = record.finish_reason
    if fr == _ERROR or record.status == "error":
        kind = error_kind(record.error)
        return [Failure(f"provider:{kind}", "error", (record.error or "provider error")[:200])]
    out: list[Failure] = []
    if fr == _FILTERED:
        out.append(Failure("content_filter", "content_filter", "finish_reason content_filter"))
    refusal = record.refusal
    if refusal:
        out.append(Failure("refusal:field", "refusal", refusal[:200]))
    elif fr == _REFUSED:
        out.append(Failure("refusal:stop_reason", "refusal", "stop_reason refusal"))
    text = record.output or ""
    max_tokens = record.max_tokens
    truncated = fr == _LENGTH or (
        fr is None and max_tokens is not None and record.usage is not None
        and record.usage.output_tokens >= max_tokens)
    if truncated:
        out.append(Failure("truncation:max_tokens", "truncation",
                           f"stopped at max_tokens={max_tokens}" if max_tokens else "finish_reason length"))
    if not text or text.isspace():  # `not text.strip()` without the copy
        if not record.output_tool_calls and not out:
            out.append(Failure("empty:output", "empty", "no text and no tool calls"))
        return out
    window = text[:600]
    head = window.lower().replace("’", "'")
    cue = _has_cue(head)  # cheap gate: the phrase regexes are the costly part at 100k records
    if cue and not refusal and fr != _REFUSED and _REFUSAL.search(text[:300]):
        out.append(Failure("refusal:phrase", "refusal", text[:120]))
    elif cue and _may_say_no_answer(head, window) and _NO_ANSWER.search(window):
        out.append(Failure("knowledge:no_answer", "factual", text[:120]))
    parsed: Any = None
    problem: str | None = None
    plan = _compiled(config)
    rf = record.response_format
    json_wanted = plan.json_always or (rf.get("type") in _JSON_TYPES if rf else False)
    if json_wanted or plan.any_fields:
        parsed, problem = parse_json_leniently(text)
    if json_wanted and not truncated:
        if problem is not None:
            out.append(Failure(f"format:{problem}", "format", text[:120]))
        schema = plan.schema if plan.schema is not None else requested_schema(record, config)
        if schema is not None and parsed is not None:
            out.extend(_schema_failures(parsed, schema))
    for check in plan.checks:
        detail = _user_check(check, text, parsed, problem)
        if detail is not None:
            out.append(Failure(check.signature, check.category, detail))
    return out
