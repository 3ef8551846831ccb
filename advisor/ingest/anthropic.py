"""Anthropic Messages logs: `{request, response, timestamp?, latency_ms?, metadata?}` per line.

Usage semantics differ from OpenAI: `usage.input_tokens` *excludes* cache reads
(`cache_read_input_tokens`) and cache writes (`cache_creation_input_tokens`), so the
Record's input is the sum of the three. `cache_creation.ephemeral_1h_input_tokens` is the
1-hour-TTL share of the writes (priced higher). Thinking is billed inside `output_tokens`;
Anthropic does not report it separately, so `reasoning_tokens` stays 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from advisor.ingest.common import (
    ANTHROPIC_FINISH,
    Item,
    anthropic_exchange,
    as_dict,
    as_list,
    assumed_time,
    content_text,
    dict_list,
    drive,
    fallback_id,
    finish,
    first_time,
    http_error,
    is_anthropic_message,
    json_text,
    log_feedback,
    opt_int,
    opt_number,
    opt_str,
    split_metadata,
    tokens,
)
from advisor.ingest.fastpath import (
    UNSET,
    Decode,
    Envelope,
    Int64,
    Number,
    Raw,
    Refuse,
    envelope_values,
    raw_value,
    shared_value,
    unset_none,
)
from advisor.kernel.errors import ParseError
from advisor.kernel.record import FinishReason, Message, Record, SourceRef, Usage, validated

NAME = "anthropic"
DESCRIPTION = "Anthropic Messages request/response logs ({request, response, ...} per line)"


def sniff(obj: dict) -> bool:
    """An Anthropic message (type "message" / stop_reason) or error body, or a request with top-level system."""
    return is_anthropic_message(obj) or anthropic_exchange(obj.get("request"), obj.get("response"), obj)


def usage_of(usage: Any, file: str, line: int) -> dict[str, int] | None:
    """Anthropic usage → Usage fields: input = uncached + cache reads + cache writes."""
    if not isinstance(usage, dict) or not any(k in usage for k in ("input_tokens", "output_tokens")):
        return None
    split = as_dict(usage.get("cache_creation"))
    return usage_fields(usage.get("input_tokens"), usage.get("output_tokens"), usage.get("cache_read_input_tokens"),
                        split.get("ephemeral_5m_input_tokens"), split.get("ephemeral_1h_input_tokens"),
                        usage.get("cache_creation_input_tokens"), file, line)


def usage_fields(uncached: Any, output: Any, read: Any, w5: Any, w1h: Any, write: Any, file: str,
                 line: int) -> dict[str, int]:
    """The counts of an Anthropic usage → Usage fields (each through `tokens`; the writes are the reported total,
    else the 5-minute + 1-hour split). Shared by usage_of and the typed fast path."""
    uncached = tokens(uncached, "usage.input_tokens", file, line)
    read = tokens(read, "usage.cache_read_input_tokens", file, line)
    w5 = tokens(w5, "usage.cache_creation.ephemeral_5m_input_tokens", file, line)
    w1h = tokens(w1h, "usage.cache_creation.ephemeral_1h_input_tokens", file, line)
    write = w5 + w1h if write is None else tokens(write, "usage.cache_creation_input_tokens", file, line)
    return {
        "input_tokens": uncached + read + write,
        "output_tokens": tokens(output, "usage.output_tokens", file, line),
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "cache_write_1h_tokens": w1h,
    }


def _tool_call(block: dict[str, Any]) -> dict[str, Any]:
    """An Anthropic tool_use block in OpenAI's tool-call shape, so later stages see one shape."""
    return {"id": opt_str(block.get("id")), "type": "function",
            "function": {"name": opt_str(block.get("name")) or "", "arguments": json_text(block.get("input", {}))}}


def system_text(system: Any) -> str | None:
    """Top-level `system`: a string or a list of text blocks (often with cache_control)."""
    text = content_text(system)
    return text or None


def messages_of(raw: Any) -> list[dict[str, Any]]:
    """Anthropic turns as chat messages: tool_use → tool_calls, each tool_result → its own tool message."""
    out: list[dict[str, Any]] = []
    for m in as_list(raw):
        if not isinstance(m, dict):
            continue
        role = m.get("role") if m.get("role") in ("user", "assistant") else "user"
        content = m.get("content")
        blocks = [b for b in as_list(content) if isinstance(b, dict)]
        for block in blocks:
            if block.get("type") == "tool_result":
                out.append({"role": "tool", "content": content_text(block.get("content")),
                            "tool_call_id": opt_str(block.get("tool_use_id"))})
        calls = [_tool_call(b) for b in blocks if b.get("type") == "tool_use"]
        text = content_text(content)
        if text or calls or not blocks:
            msg: dict[str, Any] = {"role": role, "content": text}
            if calls:
                msg["tool_calls"] = calls
            out.append(msg)
    return out


def _build(obj: dict[str, Any], file: str, line: int) -> Record:
    bare = is_anthropic_message(obj) and "request" not in obj
    req = as_dict(obj.get("request")) if not bare else {"messages": obj.get("messages")}
    resp = obj if bare else as_dict(obj.get("response"))
    blocks = [b for b in as_list(resp.get("content")) if isinstance(b, dict)]

    error = http_error(obj.get("status_code"), resp, obj.get("error") if not bare else None)
    reason = FinishReason.error if error else finish(resp.get("stop_reason"), ANTHROPIC_FINISH)
    ts = first_time(file, line, ("timestamp", obj.get("timestamp")), ("created_at", obj.get("created_at")))
    if ts is None:
        ts = assumed_time(file, line, mtime=True)

    meta, meta_feedback = split_metadata(obj.get("metadata"))
    req_model, resp_model = opt_str(req.get("model")), opt_str(resp.get("model"))
    if req_model and resp_model and req_model != resp_model:
        meta.setdefault("request_model", req_model)
    if any(b.get("type") in ("thinking", "redacted_thinking") for b in blocks):
        meta.setdefault("thinking", True)
    usage = as_dict(resp.get("usage"))
    calls = [_tool_call(b) for b in blocks if b.get("type") == "tool_use"]
    has_output = "content" in resp
    return validated(Record, {
        "id": opt_str(resp.get("id")) or opt_str(obj.get("id")) or opt_str(obj.get("request_id"))
        or fallback_id(file, line, obj),
        "source_format": NAME,
        "source": {"file": file, "line": line},
        "timestamp": ts,
        "provider": "anthropic",
        "model": resp_model or req_model or opt_str(obj.get("model")) or "",
        "system": system_text(req.get("system")),
        "messages": messages_of(req.get("messages")),
        "tools": dict_list(req.get("tools")),
        "max_tokens": opt_int(req.get("max_tokens")),
        "output": content_text(blocks) if has_output else None,
        "output_tool_calls": calls or None,
        "finish_reason": reason,
        "usage": usage_of(resp.get("usage"), file, line),
        "cost_reported": opt_number(obj.get("cost", obj.get("cost_usd"))),
        "latency_ms": opt_number(obj.get("latency_ms", obj.get("duration_ms"))),
        "status": "error" if error else "ok",
        "error": error,
        "service_tier": opt_str(usage.get("service_tier")),
        "feedback": log_feedback(obj.get("feedback"), meta_feedback),
        "metadata": meta,
    })


def record_of(obj: dict[str, Any], file: str, line: int) -> Record:
    """The Record of one `{request, response, ...}` exchange (for formats that wrap Anthropic bodies)."""
    return _build(obj, file, line)


def parse(items: Iterable[Item], file: str) -> Iterator[Record | ParseError]:
    """One Record per log line; malformed lines come out as ParseError with file:line."""
    yield from drive(items, file, _build)  # type: ignore[misc]


# ------------------------------------------------------------------ typed fast path (see advisor.ingest.fastpath)
# The usual `{request, response, timestamp, latency_ms, metadata}` line. Every key _build reads is declared; the
# ones left to it are `Refuse`. The response content is kept Raw and read by _build's own code (blocks, tool
# calls, thinking), so the output is the same text; a request message with content blocks is left to _build.


class _RequestMessage(msgspec.Struct):
    role: str | None = None
    content: str | None = None  # blocks (tool_use, tool_result, images): no match


class _Request(msgspec.Struct):
    model: str | None = None
    system: Raw | Refuse = UNSET
    messages: list[_RequestMessage] | None = None
    tools: Raw | Refuse = UNSET
    max_tokens: Number | None = None


class _CacheCreation(msgspec.Struct):
    ephemeral_5m_input_tokens: Int64 | None = None
    ephemeral_1h_input_tokens: Int64 | None = None


class _Usage(msgspec.Struct):
    input_tokens: Int64 | None | Refuse = UNSET  # absent and null differ: usage_of needs one of the two keys
    output_tokens: Int64 | None | Refuse = UNSET
    cache_read_input_tokens: Int64 | None = None
    cache_creation_input_tokens: Int64 | None = None
    cache_creation: _CacheCreation | None = None
    service_tier: str | None = None


def _typed_usage(u: _Usage, file: str, line: int) -> Usage | None:
    """usage_of on the typed counts (a bad count raises, so the line falls back)."""
    if u.input_tokens is UNSET and u.output_tokens is UNSET:
        return None
    split = u.cache_creation or _CacheCreation()
    return Usage(**usage_fields(unset_none(u.input_tokens), unset_none(u.output_tokens), u.cache_read_input_tokens,
                                split.ephemeral_5m_input_tokens, split.ephemeral_1h_input_tokens,
                                u.cache_creation_input_tokens, file, line))


class _Response(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    content: Raw | Refuse = UNSET
    stop_reason: str | None = None
    usage: _Usage | None = None
    error: Refuse = UNSET


class _Line(Envelope, kw_only=True):
    request: _Request
    response: _Response


def fast_reader(file: str) -> Decode:
    """The typed decoder of this file's usual lines (see advisor.ingest.fastpath); None: not that shape."""
    decode = msgspec.json.Decoder(_Line).decode

    def build(raw: Any, line: int) -> Record | None:
        try:
            obj = decode(raw)
            req, resp = obj.request, obj.response
            model = resp.model or req.model
            if not resp.id or not model:
                return None  # the general path looks further (line id, line model, a content hash)
            got = envelope_values(obj, file, line)
            if got is None:
                return None  # an assumed time (counted by the general path) or a value it rejects
            ts, latency, cost = got
            has_output = resp.content is not UNSET
            blocks = [b for b in as_list(raw_value(resp.content)) if isinstance(b, dict)]
            meta, meta_feedback = split_metadata(raw_value(obj.metadata))
            if req.model and resp.model and req.model != resp.model:
                meta.setdefault("request_model", req.model)
            if any(b.get("type") in ("thinking", "redacted_thinking") for b in blocks):
                meta.setdefault("thinking", True)
            calls = [_tool_call(b) for b in blocks if b.get("type") == "tool_use"]
            messages = [Message(role=m.role if m.role in ("user", "assistant") else "user",  # type: ignore[arg-type]
                                content=m.content or "") for m in req.messages or ()]
            return Record(
                id=resp.id, source_format=NAME, source=SourceRef(file=file, line=line), timestamp=ts,
                provider="anthropic", model=model, system=system_text(raw_value(req.system)), messages=messages,
                tools=dict_list(shared_value(req.tools)), max_tokens=opt_int(req.max_tokens),
                output=content_text(blocks) if has_output else None, output_tool_calls=calls or None,
                finish_reason=finish(resp.stop_reason, ANTHROPIC_FINISH),
                usage=None if resp.usage is None else _typed_usage(resp.usage, file, line), cost_reported=cost,
                latency_ms=latency, service_tier=None if resp.usage is None else resp.usage.service_tier,
                feedback=log_feedback(raw_value(obj.feedback), meta_feedback), metadata=meta,
            )
        except Exception:  # noqa: BLE001 - any doubt: the general path decides, with its own error message
            return None

    return build
