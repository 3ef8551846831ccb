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
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


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


class SourceRef(BaseModel):
    """Where a record came from, so every diagnostic can name file and line."""

    model_config = ConfigDict(frozen=True)
    file: str
    line: int  # 1-based line number (for single-document JSON: index of the item, 1-based)


class Message(BaseModel):
    """A chat turn with its content flattened to text (non-text parts are noted, not kept)."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class Usage(BaseModel):
    """Normalised token counts of one call (see module docstring for semantics)."""

    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cache_read_tokens: int = Field(default=0, ge=0)
    cache_write_tokens: int = Field(default=0, ge=0)  # all cache writes (5m + 1h)
    cache_write_1h_tokens: int = Field(default=0, ge=0)  # Anthropic 1-hour TTL subset, priced higher
    reasoning_tokens: int = Field(default=0, ge=0)
    origin: Origin = Origin.reported

    @model_validator(mode="after")
    def _subsets_fit(self) -> Usage:
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
        return self

    @property
    def uncached_input_tokens(self) -> int:
        return self.input_tokens - self.cache_read_tokens - self.cache_write_tokens


class Feedback(BaseModel):
    """A human or automated judgement found in the logs or a labels file."""

    source: str  # "labels-file", "log:thumbs", "langfuse-score", "helicone", ...
    ok: bool | None = None  # None when only a score without a threshold is known
    score: float | None = None
    name: str | None = None
    category: str | None = None  # format|schema|style|factual|outdated|refusal|other
    expected: str | None = None
    note: str | None = None


MAX_LATENCY_MS = 86_400_000.0  # 1 day


class Record(BaseModel):
    """One LLM call, whatever log format it came from."""

    id: str
    source_format: str
    source: SourceRef
    timestamp: datetime  # timezone-aware, UTC
    provider: str | None = None  # "openai", "anthropic", ...
    model: str
    system: str | None = None  # system/developer instructions (Anthropic top-level system, OpenAI system msgs)
    messages: list[Message] = Field(default_factory=list)  # conversation *excluding* system
    tools: list[dict[str, Any]] | None = None
    response_format: dict[str, Any] | None = None  # {"type": "json_object"} / {"type":"json_schema", ...}
    max_tokens: int | None = None
    output: str | None = None  # assistant text
    output_tool_calls: list[dict[str, Any]] | None = None
    refusal: str | None = None  # OpenAI message.refusal
    finish_reason: FinishReason | None = None
    usage: Usage | None = None  # None only before advisor.tokens fills estimates
    # cost written by the logging tool, USD; negative or inf is a broken log line, reported and skipped
    cost_reported: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    # one call taking over a day (batch windows are 24 h) is a unit or clock error, not a latency
    latency_ms: float | None = Field(default=None, ge=0, le=MAX_LATENCY_MS, allow_inf_nan=False)
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    batch: bool = False  # billed at the batch discount
    service_tier: str | None = None
    feedback: list[Feedback] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            from datetime import UTC

            return v.replace(tzinfo=UTC)
        return v

    @field_validator("model")
    @classmethod
    def _model_present(cls, v: str) -> str:
        if not v or not v.strip():
            raise ValueError("model is empty")
        return v.strip()

    def prompt_text(self) -> str:
        """System + messages as one string (for token estimates and hashing)."""
        parts = [self.system or ""]
        parts += [m.content for m in self.messages]
        return "\n".join(p for p in parts if p)
