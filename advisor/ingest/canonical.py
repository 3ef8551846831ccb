"""advise canonical JSONL: one call per line, fields close to :class:`advisor.kernel.record.Record`.

The format for teams whose logs are in none of the supported shapes: write this and advise
reads it. Documented in ``docs/canonical-format.md``. Token semantics are already
normalised (``usage.input_tokens`` counts every prompt token, cached ones included;
``output_tokens`` includes reasoning). A line is recognised by ``"format": "advise"`` (or
``"advise_version"``), or by its shape (``model`` + ``messages`` + ``output``, no
provider request/response wrapper).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict

from advisor.ingest.common import (
    OPENAI_FINISH,
    Item,
    as_list,
    assumed_time,
    content_text,
    dict_list,
    drive,
    fallback_id,
    finish,
    first_time,
    log_feedback,
    messages_of,
    opt_number,
    opt_str,
    parse_error,
    split_metadata,
    tokens,
)
from advisor.ingest.fastpath import (
    UNSET,
    ChatMessage,
    Decode,
    Int64,
    Number,
    Raw,
    Refuse,
    chat_messages,
    raw_value,
    shared_value,
)
from advisor.kernel.errors import ParseError
from advisor.kernel.record import Feedback, FinishReason, Origin, Record, SourceRef, Usage, validated

NAME = "canonical"
DESCRIPTION = 'advise canonical JSONL (docs/canonical-format.md; "format": "advise")'
MARKER = {"format": "advise"}
_WRAPPERS = ("request", "response", "body", "custom_id", "choices", "content", "input", "inputs", "request_body")


class CanonicalUsage(BaseModel):
    """Token counts as advise means them (input includes cache reads/writes; output includes reasoning)."""

    model_config = ConfigDict(extra="ignore")
    input_tokens: Any = 0
    output_tokens: Any = 0
    cache_read_tokens: Any = 0
    cache_write_tokens: Any = 0
    cache_write_1h_tokens: Any = 0
    reasoning_tokens: Any = 0
    origin: Literal["reported", "estimated"] = "reported"


class CanonicalLine(BaseModel):
    """One line of the canonical format; see docs/canonical-format.md for each field."""

    model_config = ConfigDict(extra="ignore")
    format: str | None = None
    advise_version: int | None = None
    id: str | int | None = None
    timestamp: Any = None
    provider: str | None = None
    model: Any = None
    system: str | None = None
    messages: list[Any] = []
    tools: list[Any] | None = None
    response_format: dict[str, Any] | None = None
    max_tokens: int | None = None
    output: Any = None
    output_tool_calls: list[Any] | None = None
    refusal: str | None = None
    finish_reason: str | None = None
    usage: CanonicalUsage | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    status: Literal["ok", "error"] | None = None
    error: str | None = None
    batch: bool = False
    service_tier: str | None = None
    feedback: Any = None
    metadata: dict[str, Any] | None = None


def sniff(obj: dict) -> bool:
    """The explicit marker, or the flat shape: model + messages + output without a provider wrapper."""
    if obj.get("format") == "advise" or "advise_version" in obj:
        return True
    return (isinstance(obj.get("model"), str) and isinstance(obj.get("messages"), list) and "output" in obj
            and not any(k in obj for k in _WRAPPERS))


def _usage(u: CanonicalUsage | _Usage | None, file: str, line: int) -> dict[str, Any] | None:
    """Usage fields of a canonical line's usage (the pydantic model or the fast path's struct: same names)."""
    if u is None:
        return None
    return {  # spelled out, not a loop over the names: this runs once per line
        "input_tokens": tokens(u.input_tokens, "usage.input_tokens", file, line),
        "output_tokens": tokens(u.output_tokens, "usage.output_tokens", file, line),
        "cache_read_tokens": tokens(u.cache_read_tokens, "usage.cache_read_tokens", file, line),
        "cache_write_tokens": tokens(u.cache_write_tokens, "usage.cache_write_tokens", file, line),
        "cache_write_1h_tokens": tokens(u.cache_write_1h_tokens, "usage.cache_write_1h_tokens", file, line),
        "reasoning_tokens": tokens(u.reasoning_tokens, "usage.reasoning_tokens", file, line),
        "origin": Origin(u.origin),
    }


def _messages(raw: list[Any], system: str | None) -> tuple[str | None, list[dict[str, Any]]]:
    """Canonical messages are OpenAI-shaped: split them the same way, top-level `system` first."""
    inline, out = messages_of(raw)
    parts = [t for t in (system, inline) if t]
    return ("\n\n".join(parts) if parts else None), out


def _feedback(value: Any) -> list[Feedback]:
    out: list[Feedback] = []
    for entry in as_list(value) if isinstance(value, list) else [value]:
        if isinstance(entry, dict) and "source" in entry and ("ok" in entry or "score" in entry):
            out.append(validated(Feedback, entry))
        else:
            out.extend(log_feedback(entry))
    return out


def _build(obj: dict[str, Any], file: str, line: int) -> Record:
    c = CanonicalLine.model_validate(obj)
    if c.format is not None and c.format != "advise":
        raise parse_error(file, line, "not an advise canonical line", f"format is {c.format!r}", field="format")
    ts = first_time(file, line, ("timestamp", c.timestamp))
    if ts is None:
        ts = assumed_time(file, line)
    system, messages = _messages(c.messages, c.system)
    meta, meta_feedback = split_metadata(c.metadata)
    status = c.status or ("error" if c.error else "ok")
    reason = finish(c.finish_reason, OPENAI_FINISH) or (FinishReason.error if status == "error" else None)
    return validated(Record, {
        "id": str(c.id) if c.id not in (None, "") else fallback_id(file, line, obj),
        "source_format": NAME,
        "source": {"file": file, "line": line},
        "timestamp": ts,
        "provider": c.provider,
        "model": opt_str(c.model) or "",
        "system": system,
        "messages": messages,
        "tools": dict_list(c.tools),
        "response_format": c.response_format,
        "max_tokens": c.max_tokens,
        "output": content_text(c.output) if c.output is not None else None,
        "output_tool_calls": dict_list(c.output_tool_calls),
        "refusal": c.refusal,
        "finish_reason": reason,
        "usage": _usage(c.usage, file, line),
        "cost_reported": opt_number(c.cost_usd),
        "latency_ms": c.latency_ms,
        "status": status,
        "error": c.error,
        "batch": c.batch,
        "service_tier": c.service_tier,
        "feedback": _feedback(c.feedback) + log_feedback(meta_feedback),
        "metadata": meta,
    })


def parse(items: Iterable[Item], file: str) -> Iterator[Record | ParseError]:
    """One Record per line; malformed lines come out as ParseError with file:line."""
    yield from drive(items, file, _build)  # type: ignore[misc]


# ------------------------------------------------------------------ typed fast path (see advisor.ingest.fastpath)
# A canonical line as CanonicalLine reads it, with the narrow types a writer normally uses (a count given as
# "12", a list of content parts, a non-object metadata: the general path takes the line).


class _Usage(msgspec.Struct):
    input_tokens: Int64 | None = None
    output_tokens: Int64 | None = None
    cache_read_tokens: Int64 | None = None
    cache_write_tokens: Int64 | None = None
    cache_write_1h_tokens: Int64 | None = None
    reasoning_tokens: Int64 | None = None
    origin: Literal["reported", "estimated"] = "reported"


class _Line(msgspec.Struct):
    id: str | Int64 | None = None
    model: str | None = None
    timestamp: Number | str | None = None
    format: str | None = None
    advise_version: Int64 | None = None
    provider: str | None = None
    system: str | None = None
    messages: list[ChatMessage] = []
    tools: Raw | Refuse = UNSET
    response_format: Raw | Refuse = UNSET
    max_tokens: Int64 | None = None
    output: str | None = None
    output_tool_calls: Raw | Refuse = UNSET
    refusal: str | None = None
    finish_reason: str | None = None
    usage: _Usage | None = None
    cost_usd: Number | None = None
    latency_ms: Number | None = None
    status: Literal["ok", "error"] | None = None
    error: str | None = None
    batch: bool = False
    service_tier: str | None = None
    feedback: Raw | Refuse = UNSET
    metadata: Raw | Refuse = UNSET


def fast_reader(file: str) -> Decode:
    """The typed decoder of this file's usual lines (see advisor.ingest.fastpath); None: not that shape."""
    decode = msgspec.json.Decoder(_Line).decode

    def build(raw: Any, line: int) -> Record | None:
        try:
            c = decode(raw)
            if c.id is None or c.id == "" or not c.model or c.format not in (None, "advise"):
                return None  # a content-hash id, a missing model, another format: the general path's
            ts = first_time(file, line, ("timestamp", c.timestamp))
            meta_raw, tools, fmt = raw_value(c.metadata), shared_value(c.tools), raw_value(c.response_format)
            calls = raw_value(c.output_tool_calls)
            latency = None if c.latency_ms is None else float(c.latency_ms)
            cost = opt_number(c.cost_usd)
            if (ts is None or not isinstance(meta_raw, dict | None) or not isinstance(tools, list | None)
                    or not isinstance(fmt, dict | None) or not isinstance(calls, list | None)):
                return None  # an assumed time or a shape CanonicalLine refuses (a broken value: Record raises)
            inline, messages = chat_messages(c.messages)
            fields = _usage(c.usage, file, line)
            parts = [t for t in (c.system, inline) if t]
            meta, meta_feedback = split_metadata(meta_raw)
            status = c.status or ("error" if c.error else "ok")
            reason = finish(c.finish_reason, OPENAI_FINISH) or (FinishReason.error if status == "error" else None)
            return Record(
                id=str(c.id), source_format=NAME, source=SourceRef(file=file, line=line), timestamp=ts,
                provider=c.provider, model=c.model, system="\n\n".join(parts) if parts else None,
                messages=messages, tools=dict_list(tools), response_format=fmt, max_tokens=c.max_tokens,
                output=c.output, output_tool_calls=dict_list(calls), refusal=c.refusal, finish_reason=reason,
                usage=None if fields is None else Usage(**fields), cost_reported=cost, latency_ms=latency, status=status,
                error=c.error, batch=c.batch, service_tier=c.service_tier,
                feedback=_feedback(raw_value(c.feedback)) + log_feedback(meta_feedback), metadata=meta,
            )
        except Exception:  # noqa: BLE001 - any doubt: the general path decides, with its own error message
            return None

    return build
