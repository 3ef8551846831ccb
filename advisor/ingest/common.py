"""Helpers every format parser shares: errors with file:line, numbers, times, content, feedback.

Parsers stay small because the tricky, provider-neutral parts live here once: turning any
exception on one line into a :class:`ParseError` (so a parser never crashes the run),
strict token integers (never negative), timestamps in any of the shapes logs use, and
message content flattened to text.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any

import msgspec
import orjson
from pydantic import ValidationError

from advisor.kernel.errors import ParseError
from advisor.kernel.record import Feedback, FinishReason, Record, error_field

Item = tuple[int, object]
Parsed = Record | ParseError


@dataclass(frozen=True)
class Skipped:
    """Lines left out on purpose (not malformed): counted per reason, never fatal, noted once."""

    file: str
    reason: str = ""
    count: int = 1
    note: str | None = None


def parse_error(file: str, line: int | None, reason: str, detail: str | None = None, *,
                field: str | None = None, hint: str | None = None) -> ParseError:
    """A ParseError whose short `reason` (the key skipped lines are counted under) is kept apart from detail."""
    err = ParseError(f"{reason}: {detail}" if detail else reason, file=file, line=line, field=field, hint=hint)
    err.reason = reason  # type: ignore[attr-defined]
    return err


def reason_of(err: ParseError) -> str:
    """The counting key of an error: its short reason when a parser set one, else its message."""
    return str(getattr(err, "reason", None) or err.message)


def from_validation(exc: ValidationError | msgspec.ValidationError, file: str, line: int) -> ParseError:
    """Turn a complaint about a built Record (msgspec) or a format's own model (pydantic) into a one-line
    error naming the field."""
    if isinstance(exc, msgspec.ValidationError):
        loc, msg = error_field(exc)
    else:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or None
        msg = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if loc == "model":
        return parse_error(file, line, "record has no model", field="model",
                           hint="every call needs the model it was sent to; check the line (or --format if mis-detected)")
    top = loc.split(".")[0] if loc else "record"
    return parse_error(file, line, f"invalid {top}", msg, field=loc)


def objects(items: Iterable[Item], file: str) -> Iterator[tuple[int, dict[str, Any]] | ParseError]:
    """Pass reader errors through and reject items that are not JSON objects."""
    for line, obj in items:
        if isinstance(obj, ParseError):
            yield obj
        elif isinstance(obj, dict):
            yield line, obj
        else:
            yield parse_error(file, line, "not a JSON object", f"got {type(obj).__name__}",
                              hint="each line must be one JSON object")


def drive(items: Iterable[Item], file: str,
          build: Callable[[dict[str, Any], str, int], Record | ParseError | Skipped | None]
          ) -> Iterator[Record | ParseError | Skipped]:
    """Run a per-line builder so that whatever a line contains, the result is a Record or a ParseError."""
    for line, obj in items:  # `objects` inlined: this loop runs once per log line
        if type(obj) is dict:
            yield guarded(build, obj, file, line)
        elif type(obj) is Record:  # already built by the format's typed fast path (advisor.ingest.fastpath)
            yield obj
        elif isinstance(obj, ParseError):
            yield obj
        elif isinstance(obj, dict):
            yield guarded(build, obj, file, line)
        else:
            yield parse_error(file, line, "not a JSON object", f"got {type(obj).__name__}",
                              hint="each line must be one JSON object")


def first_dict(items: Iterable[Item]) -> tuple[dict[str, Any] | None, Iterable[Item]]:
    """Peek at the first JSON object of a stream without losing anything."""
    head: list[Item] = []
    it = iter(items)
    for item in it:
        head.append(item)
        if isinstance(item[1], dict):
            return item[1], chain(head, it)
    return None, head


def guarded(build: Callable[[dict[str, Any], str, int], Any], obj: dict[str, Any], file: str,
            line: int) -> Any:
    """Call a builder on one object; any failure becomes a ParseError for that line."""
    try:
        out = build(obj, file, line)
    except ParseError as exc:
        if exc.line is None:
            exc.line = line
        return exc
    except (ValidationError, msgspec.ValidationError) as exc:
        return from_validation(exc, file, line)
    except Exception as exc:  # noqa: BLE001 - a malformed line must never stop the run
        return parse_error(file, line, "unreadable record", f"{type(exc).__name__}: {exc}",
                           hint="the line does not have the shape this format expects")
    if out is None:
        return parse_error(file, line, "empty record")
    return out


# ------------------------------------------------------------------ values


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def opt_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


MAX_TOKENS_PER_CALL = 10**9  # far above any context window; beyond it a count is corruption, not traffic


def tokens(value: Any, field: str, file: str, line: int) -> int:
    """A token count: absent is 0; a non-integer or negative count is a ParseError, never a silent 0."""
    if value is None:
        return 0
    if type(value) is int and 0 <= value <= MAX_TOKENS_PER_CALL:  # the common case, checked first
        return value
    if isinstance(value, bool):
        raise parse_error(file, line, "invalid token count", f"{value!r}", field=field)
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise parse_error(file, line, "invalid token count", f"{value!r}", field=field)
        value = int(value)
    elif isinstance(value, str):
        if not value.strip().isdigit():
            raise parse_error(file, line, "invalid token count", f"{value!r}", field=field)
        value = int(value.strip())
    elif not isinstance(value, int):
        raise parse_error(file, line, "invalid token count", f"{type(value).__name__}", field=field)
    if value < 0:
        raise parse_error(file, line, "negative token count", f"{value}", field=field,
                          hint="token counts are never negative; the log may be corrupt")
    if value > MAX_TOKENS_PER_CALL:
        raise parse_error(file, line, "implausible token count", f"{value}", field=field,
                          hint=f"no single call uses more than {MAX_TOKENS_PER_CALL:,} tokens; the log may be corrupt")
    return value


def long_int(value: Any) -> Any:
    """A 64-bit integer as protobufjs' Long writes it to JSON (`{"low": int32, "high": int32, "unsigned"?}`,
    e.g. OTLP `startTimeUnixNano` from @opentelemetry/exporter-trace-otlp-http 0.44) → int; anything else as is."""
    if type(value) is not dict or not isinstance(value.get("low"), int) or not isinstance(value.get("high"), int):
        return value
    n = ((value["high"] & 0xFFFFFFFF) << 32) | (value["low"] & 0xFFFFFFFF)
    if not value.get("unsigned") and n >= 1 << 63:
        n -= 1 << 64
    return n


def opt_number(value: Any) -> float | None:
    """A number or None (latency, cost). Range checks (negative, inf, absurd) are the Record's: a bad
    value makes the line a reported bad line with its field, instead of silently vanishing here."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float):
        return float(value)
    return None


def opt_float(value: Any) -> float | None:
    """A finite number (negative allowed: scores such as -1 = thumbs down), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def opt_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, float) and math.isfinite(value) and value >= 0 and value == int(value):
        return int(value)
    return None


def timestamp(value: Any) -> datetime | None:
    """ISO 8601 text, or epoch seconds / ms / µs / ns (number or numeric text) → aware UTC; None if absent.

    Raises ValueError on a value that is present but not a time.
    """
    if type(value) is int and 0 <= value <= 1e11:  # epoch seconds, the common case: as the general path below
        return datetime.fromtimestamp(value, tz=UTC)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if len(text) >= 10 and text[4] == "-" and text[:4].isdigit():  # ISO 8601 (never a number): skip the
            parsed = datetime.fromisoformat(text.replace(" UTC", "+00:00"))  # failed float() below, ~1.5 µs
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        try:
            value = float(text)
        except ValueError:
            parsed = datetime.fromisoformat(text.replace(" UTC", "+00:00"))
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"not a timestamp: {value!r}")
        size = abs(value)
        seconds = value / 1e9 if size > 1e17 else value / 1e6 if size > 1e14 else value / 1e3 if size > 1e11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    raise ValueError(f"not a timestamp: {type(value).__name__}")


def first_time(file: str, line: int, *candidates: tuple[str, Any]) -> datetime | None:
    """The first present timestamp among (field, value) pairs; a malformed one is a ParseError naming it."""
    for field, value in candidates:
        try:
            got = timestamp(value)
        except (ValueError, OverflowError, OSError) as exc:
            raise parse_error(file, line, "invalid timestamp", str(exc), field=field,
                              hint="use ISO 8601 (2025-03-03T12:00:00Z) or epoch seconds/milliseconds") from None
        if got is not None:
            return got
    return None


class _Assumed:
    """Times given to records that carry none, per process: `--assume-time`, or the file's modification time.

    Set once before reading (forked workers inherit it); `take(file)` hands a unit's count to its report."""

    def __init__(self) -> None:
        self.value: datetime | None = None
        self.counts: dict[str, int] = {}
        self._mtimes: dict[str, datetime] = {}

    def mtime(self, file: str) -> datetime:
        got = self._mtimes.get(file)
        if got is None:
            got = self._mtimes[file] = datetime.fromtimestamp(Path(file).stat().st_mtime, tz=UTC)
        return got

    def take(self, file: str) -> int:
        return self.counts.pop(file, 0)


ASSUMED = _Assumed()


def assumed_time(file: str, line: int, *, mtime: bool = False) -> datetime:
    """The time of a record that carries none: `--assume-time` when given, else the file's modification time
    where the format's exports never carry one (`mtime`: Anthropic's API puts no time in a Messages body);
    else the record is refused. Each assumed time is counted, so the analysis can say so."""
    if ASSUMED.value is not None:
        got = ASSUMED.value
    elif mtime:
        try:
            got = ASSUMED.mtime(file)
        except OSError:
            raise no_time(file, line) from None
    else:
        raise no_time(file, line)
    ASSUMED.counts[file] = ASSUMED.counts.get(file, 0) + 1
    return got


def no_time(file: str, line: int) -> ParseError:
    return parse_error(file, line, "record has no timestamp", field="timestamp",
                       hint="add a 'timestamp' (ISO 8601 or epoch) to each log line, or pass --assume-time "
                            "2025-03-01 to date every such record (labelled as assumed)")


def fallback_id(file: str, line: int, obj: Any) -> str:
    """A stable id for a line that carries none: same file name + line + content → same id."""
    h = hashlib.sha256(f"{Path(file).name}:{line}:".encode())
    try:
        h.update(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS))
    except (TypeError, orjson.JSONEncodeError):
        h.update(repr(obj).encode())
    return "line-" + h.hexdigest()[:24]


# ------------------------------------------------------------------ usage

def usage_from_counts(*, input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0,
                      cache_write_1h: int = 0, reasoning: int = 0, total: int | None = None,
                      cache_in_input: bool | None = None, reasoning_in_output: bool | None = None) -> dict[str, int]:
    """Counts whose cache/reasoning semantics vary by exporter → Record semantics (input ⊇ cache, output ⊇ reasoning).

    When the caller does not know (None), the counts decide: a subset larger than its total cannot be
    inside it, and a reported `total` that only adds up with the subsets on top shows they were separate.
    """
    cache = cache_read + cache_write
    if cache_in_input is None:
        cache_in_input = not (cache > input_tokens or (
            total is not None and cache > 0 and total - output_tokens - reasoning in (input_tokens + cache,)
            and total not in (input_tokens + output_tokens, input_tokens + output_tokens + reasoning)))
    full_input = input_tokens if cache_in_input else input_tokens + cache
    if reasoning_in_output is None:
        reasoning_in_output = not (reasoning > output_tokens or (
            total is not None and reasoning > 0 and total == full_input + output_tokens + reasoning
            and total != full_input + output_tokens))
    return {
        "input_tokens": full_input,
        "output_tokens": output_tokens if reasoning_in_output else output_tokens + reasoning,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": min(cache_write_1h, cache_write),
        "reasoning_tokens": reasoning,
    }


# ------------------------------------------------------------------ content

_PLACEHOLDERS = {
    "image_url": "[image]", "image": "[image]", "input_image": "[image]",
    "input_audio": "[audio]", "audio": "[audio]",
    "file": "[file]", "input_file": "[file]", "document": "[document]",
}


def content_text(content: Any) -> str:
    """Message content (string or parts list) as text; non-text parts become placeholders, never data."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return str(content)
    out: list[str] = []
    for part in content:
        if isinstance(part, str):
            out.append(part)
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("thinking", "redacted_thinking", "tool_use", "tool_result"):
            continue  # handled (or deliberately dropped) by the provider parser
        if kind == "refusal" and isinstance(part.get("refusal"), str):
            out.append(part["refusal"])
        elif isinstance(part.get("text"), str):
            out.append(part["text"])
        elif kind in _PLACEHOLDERS:
            out.append(_PLACEHOLDERS[kind])
        elif isinstance(kind, str):
            out.append(f"[{kind}]")
    return "\n".join(out)


def chat_role(role: Any) -> str:
    """A chat message's role in the Record's terms: "system" for system and developer turns (their text joins the
    system prompt), "tool" for a legacy function result, anything unknown as "user"."""
    if role in ("system", "developer"):
        return "system"
    if role == "function":  # legacy function-calling result
        return "tool"
    return role if role in ("user", "assistant", "tool") else "user"


def messages_of(raw: Any) -> tuple[str | None, list[dict[str, Any]]]:
    """Split chat messages into the system text (system + developer, joined) and the rest."""
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for m in as_list(raw):
        if not isinstance(m, dict):
            continue
        role = chat_role(m.get("role"))
        text = content_text(m.get("content"))
        if role == "system":
            if text:
                system.append(text)
            continue
        msg: dict[str, Any] = {"role": role, "content": text}
        raw_calls = m.get("tool_calls")
        calls = None if raw_calls is None else dict_list(raw_calls)
        if calls is None and isinstance(m.get("function_call"), dict):
            calls = [{"type": "function", "function": m["function_call"]}]
        if calls:
            msg["tool_calls"] = calls
        call_id = opt_str(m.get("tool_call_id"))
        if call_id:
            msg["tool_call_id"] = call_id
        name = opt_str(m.get("name"))
        if name:
            msg["name"] = name
        out.append(msg)
    return ("\n\n".join(system) if system else None), out


def json_text(value: Any) -> str:
    """Tool arguments as the JSON string OpenAI uses."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return str(value)


def dict_list(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    items = [v for v in as_list(value) if isinstance(v, dict)]
    return items or None


# ------------------------------------------------------------------ provider bodies


def is_anthropic_message(resp: Any) -> bool:
    """An Anthropic Messages response body (type "message", or stop_reason with a content list)."""
    return isinstance(resp, dict) and (resp.get("type") == "message" or (
        "stop_reason" in resp and isinstance(resp.get("content"), list)))


def anthropic_exchange(req: Any, resp: Any, outer: dict[str, Any] | None = None) -> bool:
    """A request/response pair in Anthropic's shape: a message or error response, or (no response) a request
    with a top-level `system` / `anthropic_version` (or an `anthropic-version` header beside it in `outer`)."""
    if is_anthropic_message(resp):
        return True
    if isinstance(resp, dict) and resp.get("type") == "error" and isinstance(resp.get("error"), dict):
        return True
    return (isinstance(req, dict) and isinstance(req.get("messages"), list) and resp is None
            and ("system" in req or "anthropic_version" in req or "anthropic-version" in (outer or {})))


# ------------------------------------------------------------------ finish reasons

OPENAI_FINISH: dict[str, FinishReason] = {
    "stop": FinishReason.stop, "length": FinishReason.length, "tool_calls": FinishReason.tool_calls,
    "function_call": FinishReason.tool_calls, "content_filter": FinishReason.content_filter,
}
ANTHROPIC_FINISH: dict[str, FinishReason] = {
    "end_turn": FinishReason.stop, "stop_sequence": FinishReason.stop, "max_tokens": FinishReason.length,
    "model_context_window_exceeded": FinishReason.length, "tool_use": FinishReason.tool_calls,
    "refusal": FinishReason.refusal, "pause_turn": FinishReason.other,
}


def finish(value: Any, table: dict[str, FinishReason]) -> FinishReason | None:
    if not isinstance(value, str) or not value:
        return None
    if value in table:
        return table[value]
    try:
        return FinishReason(value)
    except ValueError:
        return FinishReason.other


# ------------------------------------------------------------------ feedback

_UP = {"up", "thumbs_up", "thumbsup", "+1", "positive", "good", "yes", "true", "like", "👍"}
_DOWN = {"down", "thumbs_down", "thumbsdown", "-1", "negative", "bad", "no", "false", "dislike", "👎"}


def _verdict(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (1, -1):
        return value == 1
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _UP:
            return True
        if v in _DOWN:
            return False
    return None


def one_feedback(value: Any) -> Feedback | None:
    """One feedback entry in any of the loose shapes logging code writes (thumbs, score, ok, comment)."""
    if isinstance(value, bool | str):
        ok = _verdict(value)
        return None if ok is None else Feedback(source="log:thumbs", ok=ok)
    if isinstance(value, int | float):
        return Feedback(source="log:score", score=float(value)) if math.isfinite(value) else None
    if not isinstance(value, dict):
        return None
    thumbs = next((value[k] for k in ("thumbs", "thumb", "rating", "vote", "value") if k in value), None)
    ok = value["ok"] if isinstance(value.get("ok"), bool) else _verdict(thumbs)
    score = opt_number(value.get("score"))
    if score is None and isinstance(value.get("score"), int | float) and not isinstance(value.get("score"), bool):
        score = float(value["score"]) if math.isfinite(value["score"]) else None
    if ok is None and score is None:
        return None
    source = value.get("source") if isinstance(value.get("source"), str) else (
        "log:thumbs" if thumbs is not None else "log:score" if score is not None and ok is None else "log:feedback")
    return Feedback(source=source, ok=ok, score=score, name=opt_str(value.get("name")),
                    category=opt_str(value.get("category")), expected=opt_str(value.get("expected")),
                    note=opt_str(value.get("note") or value.get("comment")))


def log_feedback(*values: Any) -> list[Feedback]:
    """Feedback found in a log line (`feedback`, `metadata.feedback`, ...): one entry or a list of them."""
    out: list[Feedback] = []
    if all(v is None for v in values):  # most lines carry none
        return out
    for value in values:
        for entry in value if isinstance(value, list) else [value]:
            fb = one_feedback(entry)
            if fb is not None:
                out.append(fb)
    return out


def split_metadata(meta: Any) -> tuple[dict[str, Any], Any]:
    """Metadata without its feedback entry, and that entry (it becomes Record.feedback)."""
    if not isinstance(meta, dict):
        return {}, None
    rest = {k: v for k, v in meta.items() if k != "feedback"}
    return rest, meta.get("feedback")


def http_error(status: Any, body: Any, top_error: Any = None) -> str | None:
    """'HTTP 429 rate_limit_exceeded: message' for a failed call; None when the call succeeded."""
    if status is None and top_error is None and (not isinstance(body, dict) or body.get("error") is None):
        return None  # no status, no error anywhere: a success (the common case, decided without the rules below)
    code = opt_int(status)
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict) and isinstance(top_error, dict):
        err = top_error
    elif err is None and isinstance(top_error, str) and top_error:
        err = {"message": top_error}
    if isinstance(err, str):
        err = {"message": err}
    failed = (code is not None and code >= 400) or isinstance(err, dict)
    if not failed:
        return None
    err = err if isinstance(err, dict) else {}
    kind = opt_str(err.get("code")) or opt_str(err.get("type"))
    message = opt_str(err.get("message")) or "request failed"
    head = " ".join(p for p in (f"HTTP {code}" if code else "", kind or "") if p)
    return f"{head}: {message}" if head else message
