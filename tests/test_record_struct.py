"""The msgspec Record accepts, rejects and normalises what the pydantic Record it replaced did.

The reference below is the pydantic model as it was (kept here only as the test oracle). Values are drawn
the way the format parsers hand them over (ints, floats, strings, datetimes, nested dicts), edge cases
included: negative and huge counts, NaN and infinite costs and latencies, over-a-day latencies, cache and
reasoning subsets larger than their totals, blank and padded model names, naive timestamps, unknown roles.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from advisor.ingest.common import from_validation
from advisor.kernel.record import FinishReason, Origin, Record, Usage, error_field, replace, validated

# ------------------------------------------------------------------ the pydantic oracle (the old Record)

class _Source(BaseModel):
    model_config = ConfigDict(frozen=True)
    file: str
    line: int


class _Message(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class _Usage(BaseModel):
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cache_read_tokens: int = Field(default=0, ge=0)
    cache_write_tokens: int = Field(default=0, ge=0)
    cache_write_1h_tokens: int = Field(default=0, ge=0)
    reasoning_tokens: int = Field(default=0, ge=0)
    origin: Origin = Origin.reported

    @model_validator(mode="after")
    def _subsets_fit(self) -> _Usage:
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            raise ValueError("cache")
        if self.reasoning_tokens > self.output_tokens:
            raise ValueError("reasoning")
        if self.cache_write_1h_tokens > self.cache_write_tokens:
            raise ValueError("1h")
        return self


class _Feedback(BaseModel):
    source: str
    ok: bool | None = None
    score: float | None = None
    name: str | None = None
    category: str | None = None
    expected: str | None = None
    note: str | None = None


class _Record(BaseModel):
    id: str
    source_format: str
    source: _Source
    timestamp: datetime
    provider: str | None = None
    model: str
    system: str | None = None
    messages: list[_Message] = Field(default_factory=list)
    tools: list[dict[str, Any]] | None = None
    response_format: dict[str, Any] | None = None
    max_tokens: int | None = None
    output: str | None = None
    output_tool_calls: list[dict[str, Any]] | None = None
    refusal: str | None = None
    finish_reason: FinishReason | None = None
    usage: _Usage | None = None
    cost_reported: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    latency_ms: float | None = Field(default=None, ge=0, le=86_400_000.0, allow_inf_nan=False)
    status: Literal["ok", "error"] = "ok"
    error: str | None = None
    batch: bool = False
    service_tier: str | None = None
    feedback: list[_Feedback] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v

    @field_validator("model")
    @classmethod
    def _model_present(cls, v: str) -> str:
        if not v or not v.strip():
            raise ValueError("model is empty")
        return v.strip()


# ------------------------------------------------------------------ values as parsers hand them over

counts = st.one_of(st.integers(-3, 2000), st.just(10**9), st.sampled_from([1.0, 2.5, -1.0]))
numbers = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**9),
                    st.sampled_from([86_400_000.0, 86_400_000.5, 0.0, -0.0]))
usage = st.fixed_dictionaries({"input_tokens": counts, "output_tokens": counts}, optional={
    "cache_read_tokens": counts, "cache_write_tokens": counts, "cache_write_1h_tokens": counts,
    "reasoning_tokens": counts, "origin": st.sampled_from(["reported", "estimated", "guessed"])})
message = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "tool", "system", "robot"])}, optional={
    "content": st.one_of(st.text(max_size=5), st.integers()), "tool_call_id": st.one_of(st.none(), st.text(max_size=3)),
    "tool_calls": st.one_of(st.none(), st.lists(st.fixed_dictionaries({"id": st.text(max_size=2)}), max_size=2)),
    "name": st.one_of(st.none(), st.text(max_size=3))})
feedback = st.fixed_dictionaries({"source": st.text(max_size=4)}, optional={
    "ok": st.one_of(st.none(), st.booleans()), "score": st.one_of(st.none(), st.floats(-2, 2)),
    "category": st.one_of(st.none(), st.sampled_from(["format", "style"])), "note": st.one_of(st.none(), st.text(max_size=4))})
times = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                     timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=2))]))
records = st.fixed_dictionaries({
    "id": st.text(max_size=6), "source_format": st.just("test"),
    "source": st.fixed_dictionaries({"file": st.just("f.jsonl"), "line": st.integers(1, 10**6)}),
    "timestamp": times, "model": st.sampled_from(["gpt-4o", "  gpt-4o  ", "", "   ", "claude\n"]),
}, optional={
    "provider": st.one_of(st.none(), st.sampled_from(["openai", "anthropic"])),
    "system": st.one_of(st.none(), st.text(max_size=5)),
    "messages": st.lists(message, max_size=3),
    "tools": st.one_of(st.none(), st.lists(st.fixed_dictionaries({"type": st.just("function")}), max_size=2)),
    "response_format": st.one_of(st.none(), st.just({"type": "json_object"})),
    "max_tokens": st.one_of(st.none(), st.integers(0, 10**6), st.sampled_from(["12", 3.0, 2.5])),
    "output": st.one_of(st.none(), st.text(max_size=8)),
    "refusal": st.one_of(st.none(), st.text(max_size=3)),
    "finish_reason": st.one_of(st.none(), st.sampled_from(list(FinishReason)), st.sampled_from(["stop", "halted"])),
    "usage": st.one_of(st.none(), usage),
    "cost_reported": numbers, "latency_ms": numbers,
    "status": st.sampled_from(["ok", "error", "fine"]),
    "error": st.one_of(st.none(), st.text(max_size=4)),
    "batch": st.booleans(), "service_tier": st.one_of(st.none(), st.just("default")),
    "feedback": st.lists(feedback, max_size=2),
    "metadata": st.dictionaries(st.text(max_size=3), st.one_of(st.integers(), st.text(max_size=3)), max_size=2),
})


def _plain(value: Any) -> Any:
    """Both records as plain data: nested models/structs → dicts, enums → their value."""
    if isinstance(value, BaseModel):
        return {k: _plain(getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, msgspec.Struct):
        return {k: _plain(getattr(value, k)) for k in value.__struct_fields__}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


@settings(max_examples=600, deadline=None)
@given(records)
def test_same_verdict_and_same_values_as_the_pydantic_record(data: dict[str, Any]) -> None:
    try:
        want: Any = _plain(_Record.model_validate(data))
    except ValidationError as exc:
        want = ("rejected", from_validation(exc, "f.jsonl", 1).field.split(".")[0])
    try:
        got: Any = _plain(validated(Record, data))
    except msgspec.ValidationError as exc:
        got = ("rejected", (from_validation(exc, "f.jsonl", 1).field or "record").split(".")[0])
    if isinstance(want, tuple) and isinstance(got, tuple):  # the first failing field may differ: both reject
        return
    assert got == want


@pytest.mark.parametrize(("change", "reason", "field"), [
    ({"model": "  "}, "record has no model", "model"),
    ({"cost_reported": -1.0}, "invalid cost_reported", "cost_reported"),
    ({"cost_reported": math.inf}, "invalid cost_reported", "cost_reported"),
    ({"latency_ms": math.nan}, "invalid latency_ms", "latency_ms"),
    ({"latency_ms": 86_400_001.0}, "invalid latency_ms", "latency_ms"),
    ({"usage": {"input_tokens": 5, "output_tokens": 1, "cache_read_tokens": 6}}, "invalid usage", "usage"),
    ({"usage": {"input_tokens": -5, "output_tokens": 1}}, "invalid usage", "usage.input_tokens"),
    ({"messages": [{"role": "user"}, {"role": "robot"}]}, "invalid messages", "messages.1.role"),
    ({"status": "fine"}, "invalid status", "status"),
])
def test_a_broken_value_names_its_field(change: dict[str, Any], reason: str, field: str) -> None:
    data = {"id": "a", "source_format": "t", "source": {"file": "f", "line": 1},
            "timestamp": datetime(2025, 1, 1, tzinfo=UTC), "model": "m", **change}
    with pytest.raises(msgspec.ValidationError) as exc:
        validated(Record, data)
    err = from_validation(exc.value, "f.jsonl", 3)
    assert (err.reason, err.field, err.line) == (reason, field, 3)  # type: ignore[attr-defined]
    assert error_field(exc.value)[0] == field


def test_constructor_and_replace_keep_the_cross_field_rules() -> None:
    r = Record(id="a", source_format="t", source={"file": "f", "line": 1}, timestamp=datetime(2025, 1, 1),
               model=" m ")
    assert r.model == "m" and r.timestamp.tzinfo is UTC
    with pytest.raises(ValueError, match="model is empty"):
        replace(r, model=" ")
    with pytest.raises(ValueError, match="exceed input_tokens"):
        Usage(input_tokens=1, output_tokens=1, cache_read_tokens=2)
    assert replace(r, usage=Usage(input_tokens=3, output_tokens=1)).usage.uncached_input_tokens == 3
