"""The unified record every log format is normalised into.

One `Record` is one LLM call. Token semantics are normalised on ingest so that the
rest of the code never needs to know which provider wrote the log:

* ``Usage.input_tokens`` is **every** prompt token of the call, billed at any rate:
  uncached + cache reads + cache writes (OpenAI's ``prompt_tokens`` already means this;
  Anthropic's ``input_tokens`` excludes cache reads/writes, so the Anthropic parser adds them).
* ``Usage.output_tokens`` is every generated token including reasoning/thinking
  (reasoning bills as output); ``reasoning_tokens`` is the subset.
* ``origin`` says whether the counts came from the provider (``reported``) or were
  counted/estimated offline by :mod:`advisor.tokens` (``estimated``).

These are msgspec Structs, not pydantic models: one is built per log line, and msgspec builds and
checks one in about a third of pydantic's time (the pydantic Record was ~13 µs of every chat line).
They are internal: the user-facing contracts (analysis.json, configs) stay pydantic. Build one from
untrusted values with :func:`validated` (types, ranges and the cross-field rules below are checked
there and raise :class:`msgspec.ValidationError` naming the field); the plain constructor checks the
rules of ``__post_init__`` (ranges, cross-field rules) but not the types, for values the code made itself. :func:`replace` is ``model_copy(update=...)``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct, field

T = TypeVar("T")

Count = Annotated[int, Meta(ge=0)]


class Origin(StrEnum):
    reported = "reported"
    estimated = "estimated"


class FinishReason(StrEnum):
    """Provider stop reasons mapped onto one vocabulary."""

    stop = "stop"  # natural end (OpenAI stop, Anthropic end_turn / stop_sequence)
    length = "length"  # truncated by max_tokens
    tool_calls = "tool_calls"
    content_filter = "content_filter"
    refusal = "refusal"
    error = "error"
    other = "other"


class FieldError(ValueError):
    """A cross-field rule broken by one field's value; `field` names it for the line's error."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SourceRef(Struct, frozen=True, kw_only=True):
    """Where a record came from, so every diagnostic can name file and line."""

    file: str
    line: int  # 1-based line number (for single-document JSON: index of the item, 1-based)


class Message(Struct, kw_only=True):
    """A chat turn with its content flattened to text (non-text parts are noted, not kept)."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class Usage(Struct, kw_only=True):
    """Normalised token counts of one call (see module docstring for semantics)."""

    input_tokens: Count
    output_tokens: Count
    cache_read_tokens: Count = 0
    cache_write_tokens: Count = 0  # all cache writes (5m + 1h)
    cache_write_1h_tokens: Count = 0  # Anthropic 1-hour TTL subset, priced higher
    reasoning_tokens: Count = 0
    origin: Origin = Origin.reported

    def __post_init__(self) -> None:
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError(
                f"cache tokens ({self.cache_read_tokens} read + {self.cache_write_tokens} write) "
                f"exceed input_tokens ({self.input_tokens})"
            )
        if self.reasoning_tokens > self.output_tokens:
            raise ValueError(
                f"reasoning_tokens ({self.reasoning_tokens}) exceed output_tokens ({self.output_tokens})"
            )
        if self.cache_write_1h_tokens > self.cache_write_tokens:
            raise ValueError("cache_write_1h_tokens exceed cache_write_tokens")

    @property
    def uncached_input_tokens(self) -> int:
        return self.input_tokens - self.cache_read_tokens - self.cache_write_tokens


class Feedback(Struct, kw_only=True):
    """A human or automated judgement found in the logs or a labels file."""

    source: str  # "labels-file", "log:thumbs", "langfuse-score", "helicone", ...
    ok: bool | None = None  # None when only a score without a threshold is known
    score: float | None = None
    name: str | None = None
    category: str | None = None  # format|schema|style|factual|outdated|refusal|other
    expected: str | None = None
    note: str | None = None


MAX_LATENCY_MS = 86_400_000.0  # 1 day


class Record(Struct, kw_only=True):
    """One LLM call, whatever log format it came from."""

    id: str
    source_format: str
    source: SourceRef
    timestamp: datetime  # timezone-aware, UTC
    provider: str | None = None  # "openai", "anthropic", ...
    model: str
    system: str | None = None  # system/developer instructions (Anthropic top-level system, OpenAI system msgs)
    messages: list[Message] = field(default_factory=list)  # conversation *excluding* system
    tools: list[dict[str, Any]] | None = None
    response_format: dict[str, Any] | None = None  # {"type": "json_object"} / {"type":"json_schema", ...}
    max_tokens: int | None = None
    output: str | None = None  # assistant text
    output_tool_calls: list[dict[str, Any]] | None = None
    refusal: str | None = None  # OpenAI message.refusal
    finish_reason: FinishReason | None = None
    usage: Usage | None = None  # None only before advisor.tokens fills estimates
    # cost written by the logging tool, USD; negative, NaN or inf is a broken log line, reported and skipped
    cost_reported: float | None = None
    # one call taking over a day (batch windows are 24 h) is a unit or clock error, not a latency
    latency_ms: float | None = None
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    batch: bool = False  # billed at the batch discount
    service_tier: str | None = None
    feedback: list[Feedback] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """The rules beyond field types, here so that `validated`, the constructor and `replace` all keep them."""
        if self.timestamp.tzinfo is None:
            self.timestamp = self.timestamp.replace(tzinfo=UTC)
        model = self.model.strip()
        if not model:
            raise FieldError("model", "model is empty")
        if model is not self.model:
            self.model = model
        cost, latency = self.cost_reported, self.latency_ms
        if cost is not None and not (cost >= 0 and math.isfinite(cost)):
            raise FieldError("cost_reported", f"cost must be a finite number ≥ 0, got {cost!r}")
        if latency is not None and not 0 <= latency <= MAX_LATENCY_MS:  # NaN and inf fail this too
            raise FieldError("latency_ms", f"latency must be 0–{MAX_LATENCY_MS:.0f} ms (one day), got {latency!r}")

    def prompt_text(self) -> str:
        """System + messages as one string (for token estimates and hashing)."""
        parts = [self.system or ""]
        parts += [m.content for m in self.messages]
        return "\n".join(p for p in parts if p)


def validated(kind: type[T], data: Any) -> T:
    """`data` (a dict of log values) as a checked `kind`; lax like a JSON reader ("12" → 12, 3.0 → 3).

    Raises :class:`msgspec.ValidationError`; :func:`error_field` says which field it was about.
    """
    return msgspec.convert(data, kind, strict=False)


def error_field(exc: msgspec.ValidationError) -> tuple[str | None, str]:
    """(dotted field path or None, message) of a validation error, e.g. ("usage.input_tokens", "Expected...")."""
    cause = exc.__cause__
    text = str(exc)
    msg, sep, where = text.rpartition(" - at `")
    if not sep:
        msg, where = text, ""
    path = where.rstrip("`").removeprefix("$").removeprefix(".").replace("[", ".").replace("]", "") or None
    if isinstance(cause, FieldError):
        path = f"{path}.{cause.field}" if path else cause.field
    elif path is None and msg.startswith("Object missing required field `"):
        path = msg.removeprefix("Object missing required field `").rstrip("`")
        msg = "missing"
    return path, msg


def replace(struct: T, **changes: Any) -> T:
    """A copy with some fields changed (the cross-field rules run again, the types are the caller's)."""
    return msgspec.structs.replace(struct, **changes)  # type: ignore[type-var]
