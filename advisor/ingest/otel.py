"""OpenTelemetry GenAI spans: OTLP JSON exports and flat span JSONL, old and new semantic-convention names.

Accepted shapes (any mix, per line or as one `.json` document):

* OTLP JSON: ``{"resourceSpans": [{"resource", "scopeSpans": [{"spans": [...]}]}]}`` — attributes as
  ``[{"key", "value": {"stringValue" | "intValue" (a string!) | "doubleValue" | "boolValue" |
  "arrayValue" | "kvlistValue"}}]``, times in ``startTimeUnixNano`` strings.
* One span per line: an OTLP span, the Python ``ConsoleSpanExporter`` JSON (``attributes`` as a dict,
  ISO ``start_time``), or just the attribute dict (``{"gen_ai.request.model": ...}``).

Names moved between semconv versions: ``gen_ai.provider.name`` (older ``gen_ai.system``),
``gen_ai.usage.input_tokens`` (older ``gen_ai.usage.prompt_tokens`` / ``llm.usage.prompt_tokens``).
Messages come from ``gen_ai.system_instructions`` / ``gen_ai.input.messages`` /
``gen_ai.output.messages`` (new), span events (older: ``gen_ai.user.message``, ``gen_ai.choice``,
OpenLIT's ``gen_ai.content.prompt``) or indexed ``gen_ai.prompt.N.content`` attributes (OpenLLMetry).
Cache semantics: the convention says ``input_tokens`` includes cached tokens; when the cache counts
exceed it, or ``total_tokens`` shows them added on top, they are added (Anthropic-style exporters).
Spans that are not model calls (HTTP, tools, agents, embeddings) are skipped and counted by reason.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from advisor.ingest.common import (
    ANTHROPIC_FINISH,
    OPENAI_FINISH,
    Item,
    Skipped,
    as_dict,
    as_list,
    assumed_time,
    content_text,
    fallback_id,
    finish,
    first_time,
    guarded,
    json_text,
    long_int,
    objects,
    opt_int,
    opt_number,
    opt_str,
    tokens,
    usage_from_counts,
)
from advisor.kernel.errors import ParseError
from advisor.kernel.record import FinishReason, Record, validated

NAME = "otel"
DESCRIPTION = "OpenTelemetry GenAI spans (OTLP JSON export or one span / attribute dict per line)"

FINISH_REASONS = {**OPENAI_FINISH, **ANTHROPIC_FINISH, "max_output_tokens": FinishReason.length,
                  "tool_call": FinishReason.tool_calls, "error": FinishReason.error}
NOT_MODEL_CALLS = {"execute_tool", "invoke_agent", "create_agent", "embeddings", "embedding"}
NOT_GENAI = "not a GenAI model-call span"

# (Record field, attribute names newest first)
_USAGE_NAMES: dict[str, tuple[str, ...]] = {
    "input": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.usage.prompt_tokens"),
    "output": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.usage.completion_tokens"),
    "cache_read": ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
                   "gen_ai.usage.input_tokens.cached", "gen_ai.usage.cached_tokens"),
    "cache_write": ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens"),
    "reasoning": ("gen_ai.usage.reasoning_tokens", "gen_ai.usage.output_tokens.reasoning",
                  "gen_ai.usage.reasoning.output_tokens"),
    "total": ("gen_ai.usage.total_tokens", "llm.usage.total_tokens"),
}
_MODEL_NAMES = ("gen_ai.response.model", "gen_ai.request.model", "llm.response.model", "llm.request.model")
_INDEXED = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.(role|content|finish_reason)$")
_ERROR_CODES = (2, "2", "STATUS_CODE_ERROR", "ERROR")


# ------------------------------------------------------------------ usage (shared with other observability formats)




# ------------------------------------------------------------------ attribute values


def any_value(value: Any) -> Any:
    """An OTLP AnyValue (`{"intValue": "12"}` ...) → plain Python; anything else is returned as is."""
    if not isinstance(value, dict) or len(value) != 1:
        return value
    (kind, inner), = value.items()
    if kind in ("stringValue", "boolValue", "doubleValue"):
        return inner
    if kind == "intValue":
        inner = long_int(inner)
        return int(inner) if isinstance(inner, str) and inner.lstrip("-").isdigit() else inner
    if kind == "arrayValue":
        return [any_value(v) for v in as_list(as_dict(inner).get("values"))]
    if kind == "kvlistValue":
        return attributes(as_dict(inner).get("values"))
    if kind == "bytesValue":
        return inner
    return value


def attributes(raw: Any) -> dict[str, Any]:
    """OTLP `[{"key", "value"}]` or an already flat dict → {key: plain value}."""
    if isinstance(raw, dict):
        return {k: any_value(v) for k, v in raw.items()}
    out: dict[str, Any] = {}
    for kv in as_list(raw):
        if isinstance(kv, dict) and isinstance(kv.get("key"), str):
            out[kv["key"]] = any_value(kv.get("value"))
    return out


def _json(value: Any) -> Any:
    """Structured attributes are often JSON text; decode them, leave anything else alone."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _hex_id(value: Any) -> str | None:
    """Span/trace ids: hex as written, or base64 (protobuf JSON mapping) turned into hex."""
    text = opt_str(value)
    if not text:
        return None
    text = text.removeprefix("0x")
    if re.fullmatch(r"[0-9a-fA-F]+", text):
        return text.lower()
    try:
        return base64.b64decode(text, validate=True).hex() or text
    except ValueError:
        return text


# ------------------------------------------------------------------ spans


def _is_genai_attrs(attrs: Any) -> bool:
    keys = attrs.keys() if isinstance(attrs, dict) else [kv.get("key") for kv in as_list(attrs) if isinstance(kv, dict)]
    return any(isinstance(k, str) and (k.startswith("gen_ai.") or k.startswith("llm.")) for k in keys)


def sniff(obj: dict) -> bool:
    """OTLP (`resourceSpans` / `scopeSpans`), or a span / attribute dict carrying `gen_ai.*` attributes."""
    if isinstance(obj.get("resourceSpans"), list) or isinstance(obj.get("scopeSpans"), list):
        return True
    if "attributes" in obj and _is_genai_attrs(obj.get("attributes")):
        return True
    return any(isinstance(k, str) and k.startswith("gen_ai.") for k in obj)


def spans_of(obj: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(span, resource attributes) for every span an item holds, whatever its nesting."""
    if isinstance(obj.get("resourceSpans"), list):
        for rs in obj["resourceSpans"]:
            if isinstance(rs, dict):
                yield from spans_of(rs)
        return
    scopes = obj.get("scopeSpans", obj.get("instrumentationLibrarySpans"))
    if isinstance(scopes, list):
        resource = attributes(as_dict(obj.get("resource")).get("attributes"))
        for scope in scopes:
            for span in as_list(as_dict(scope).get("spans")):
                if isinstance(span, dict):
                    yield span, resource
        return
    if "attributes" in obj:
        yield obj, attributes(as_dict(obj.get("resource")).get("attributes"))
    else:  # flat attribute dict: the line itself is the attributes
        yield {"attributes": obj, "flat": True}, {}


def _first(attrs: dict[str, Any], names: Iterable[str]) -> tuple[str, Any]:
    for name in names:
        if attrs.get(name) is not None:
            return name, attrs[name]
    return "", None


def _count(attrs: dict[str, Any], kind: str, file: str, line: int) -> int | None:
    name, value = _first(attrs, _USAGE_NAMES[kind])
    return tokens(value, name, file, line) if name else None


def _usage(attrs: dict[str, Any], file: str, line: int) -> dict[str, int] | None:
    inp, out = _count(attrs, "input", file, line), _count(attrs, "output", file, line)
    if inp is None and out is None:
        return None
    return usage_from_counts(input_tokens=inp or 0, output_tokens=out or 0,
                             cache_read=_count(attrs, "cache_read", file, line) or 0,
                             cache_write=_count(attrs, "cache_write", file, line) or 0,
                             reasoning=_count(attrs, "reasoning", file, line) or 0,
                             total=_count(attrs, "total", file, line))


def _parts(parts: Any) -> tuple[str, list[dict[str, Any]], list[tuple[str, str | None]]]:
    """Semconv message parts → (text, tool calls, tool responses as (text, call id))."""
    if not isinstance(parts, list):
        return content_text(parts), [], []
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    results: list[tuple[str, str | None]] = []
    for part in parts:
        if isinstance(part, str):
            texts.append(part)
            continue
        part = as_dict(part)
        kind = part.get("type")
        if kind == "tool_call":
            calls.append({"id": opt_str(part.get("id")), "type": "function",
                          "function": {"name": opt_str(part.get("name")) or "",
                                       "arguments": json_text(part.get("arguments", ""))}})
        elif kind == "tool_call_response":
            results.append((content_text(part.get("response", part.get("result"))), opt_str(part.get("id"))))
        elif isinstance(part.get("content"), str):
            texts.append(part["content"])
        elif isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(kind, str) and kind != "reasoning":
            texts.append(f"[{kind}]")
    return "\n".join(texts), calls, results


def _message(role: Any, content: Any, calls: Any = None, call_id: Any = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": role if role in ("user", "assistant", "tool") else "user",
                           "content": content_text(content)}
    if isinstance(calls, list) and calls:
        msg["tool_calls"] = [c for c in calls if isinstance(c, dict)] or None
    if opt_str(call_id):
        msg["tool_call_id"] = opt_str(call_id)
    return msg


class _Conversation:
    """Collects system text, messages and output from whichever place this exporter put them."""

    def __init__(self) -> None:
        self.system: list[str] = []
        self.messages: list[dict[str, Any]] = []
        self.output: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.finish: list[str] = []
        self.seen_output = False

    def add_input(self, role: Any, content: Any, calls: Any = None, call_id: Any = None) -> None:
        if role in ("system", "developer"):
            text = content_text(content)
            if text:
                self.system.append(text)
        else:
            self.messages.append(_message(role, content, calls, call_id))

    def add_semconv_input(self, raw: Any) -> None:
        for m in as_list(_json(raw)):
            m = as_dict(m)
            if "parts" not in m:
                self.add_input(m.get("role"), m.get("content"), m.get("tool_calls"), m.get("tool_call_id"))
                continue
            text, calls, results = _parts(m.get("parts"))
            for result, call_id in results:
                self.messages.append(_message("tool", result, None, call_id))
            if text or calls or not results:
                self.add_input(m.get("role"), text, calls)

    def add_output(self, content: Any, calls: Any = None, reason: Any = None) -> None:
        self.seen_output = True
        text = content_text(content)
        if text:
            self.output.append(text)
        self.calls += [c for c in as_list(calls) if isinstance(c, dict)]
        if isinstance(reason, str):
            self.finish.append(reason)

    def add_semconv_output(self, raw: Any) -> None:
        for m in as_list(_json(raw)):
            m = as_dict(m)
            if "parts" in m:
                text, calls, _ = _parts(m.get("parts"))
                self.add_output(text, calls, m.get("finish_reason"))
            else:
                self.add_output(m.get("content"), m.get("tool_calls"), m.get("finish_reason"))

    def add_event(self, name: str, attrs: dict[str, Any]) -> None:
        body = as_dict(_json(attrs.get("gen_ai.event.content") or attrs.get("body")))
        merged = {**attrs, **body}
        if name in ("gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message",
                    "gen_ai.tool.message"):
            role = merged.get("role") or name.split(".")[1]
            self.add_input(role, _json(merged.get("content")), _json(merged.get("tool_calls")), merged.get("id"))
        elif name == "gen_ai.choice":
            msg = as_dict(_json(merged.get("message")))
            self.add_output(_json(msg.get("content", merged.get("content"))), _json(msg.get("tool_calls")),
                            merged.get("finish_reason"))
        elif name == "gen_ai.content.prompt" and merged.get("gen_ai.prompt") is not None:
            self.add_semconv_input(merged["gen_ai.prompt"]) if isinstance(_json(merged["gen_ai.prompt"]), list) \
                else self.add_input("user", merged["gen_ai.prompt"])
        elif name == "gen_ai.content.completion" and merged.get("gen_ai.completion") is not None:
            done = _json(merged["gen_ai.completion"])
            self.add_semconv_output(done) if isinstance(done, list) else self.add_output(done)

    def add_indexed(self, attrs: dict[str, Any]) -> None:
        """OpenLLMetry: gen_ai.prompt.0.role / .content, gen_ai.completion.0.content / .finish_reason."""
        slots: dict[tuple[str, int], dict[str, Any]] = {}
        for key, value in attrs.items():
            m = _INDEXED.match(key)
            if m:
                slots.setdefault((m.group(1), int(m.group(2))), {})[m.group(3)] = value
        for (kind, _), slot in sorted(slots.items()):
            if kind == "prompt":
                self.add_input(slot.get("role"), slot.get("content"))
            else:
                self.add_output(slot.get("content"), None, slot.get("finish_reason"))


def _conversation(attrs: dict[str, Any], events: list[Any]) -> _Conversation:
    conv = _Conversation()
    if attrs.get("gen_ai.system_instructions") is not None:
        text, _, _ = _parts(_json(attrs["gen_ai.system_instructions"]))
        if text:
            conv.system.append(text)
    if attrs.get("gen_ai.input.messages") is not None:
        conv.add_semconv_input(attrs["gen_ai.input.messages"])
    if attrs.get("gen_ai.output.messages") is not None:
        conv.add_semconv_output(attrs["gen_ai.output.messages"])
    if not conv.messages and not conv.system and attrs.get("gen_ai.prompt") is not None:
        prompt = _json(attrs["gen_ai.prompt"])
        conv.add_semconv_input(prompt) if isinstance(prompt, list) else conv.add_input("user", prompt)
    if not conv.seen_output and attrs.get("gen_ai.completion") is not None:
        done = _json(attrs["gen_ai.completion"])
        conv.add_semconv_output(done) if isinstance(done, list) else conv.add_output(done)
    for event in events:
        event = as_dict(event)
        if isinstance(event.get("name"), str):
            conv.add_event(event["name"], attributes(event.get("attributes")))
    if not conv.messages and not conv.seen_output:
        conv.add_indexed(attrs)
    return conv


def _times(span: dict[str, Any], attrs: dict[str, Any], file: str, line: int) -> tuple[datetime, float | None]:
    start_raw, end_raw = long_int(span.get("startTimeUnixNano")), long_int(span.get("endTimeUnixNano"))
    start = first_time(file, line, ("startTimeUnixNano", start_raw),
                       ("start_time", span.get("start_time")), ("timestamp", span.get("timestamp")),
                       ("timestamp", attrs.get("timestamp") if span.get("flat") else None),
                       ("start_time", attrs.get("start_time") if span.get("flat") else None))
    if start is None:
        start = assumed_time(file, line)
    latency = opt_number(attrs.get("gen_ai.latency_ms") if span.get("flat") else None)
    start_ns, end_ns = opt_int(_num(start_raw)), opt_int(_num(end_raw))
    if start_ns is not None and start_ns < 10**19:  # exact to the microsecond (floats round 19-digit ns)
        start = datetime.fromtimestamp(start_ns // 10**9, tz=UTC) + timedelta(microseconds=start_ns % 10**9 // 1000)
    if start_ns is not None and end_ns is not None and end_ns >= start_ns:
        latency = (end_ns - start_ns) / 1e6
    elif span.get("end_time") is not None:
        end = first_time(file, line, ("end_time", span.get("end_time")))
        if end is not None and end >= start:
            latency = (end - start).total_seconds() * 1000
    return start, latency


def _num(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _status(span: dict[str, Any], attrs: dict[str, Any]) -> str | None:
    status = as_dict(span.get("status"))
    code = status.get("code", status.get("status_code"))
    if code in _ERROR_CODES or attrs.get("error.type") is not None:
        return (opt_str(status.get("message")) or opt_str(status.get("description"))
                or opt_str(attrs.get("error.type")) or "span status ERROR")
    return None


def _provider(attrs: dict[str, Any]) -> str | None:
    raw = opt_str(attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system"))
    if not raw:
        return None
    low = raw.lower()
    return next((p for p in ("anthropic", "openai") if p in low), low)


def _build(span: dict[str, Any], resource: dict[str, Any], file: str, line: int,
           index: int) -> Record | Skipped:
    attrs = attributes(span.get("attributes"))
    op = opt_str(attrs.get("gen_ai.operation.name"))
    if op in NOT_MODEL_CALLS:
        return Skipped(file, f"{op} span (not a model call)")
    _, model = _first(attrs, _MODEL_NAMES)
    if not opt_str(model) and not any(_first(attrs, _USAGE_NAMES[k])[0] for k in ("input", "output")):
        return Skipped(file, NOT_GENAI)
    ts, latency = _times(span, attrs, file, line)
    conv = _conversation(attrs, as_list(span.get("events")))
    reasons = _json(attrs.get("gen_ai.response.finish_reasons"))
    reasons = [reasons] if isinstance(reasons, str) else as_list(reasons)
    error = _status(span, attrs)
    reason = FinishReason.error if error else finish(next(iter(reasons + conv.finish), None), FINISH_REASONS)
    span_id = _hex_id(span.get("spanId") or as_dict(span.get("context")).get("span_id")
                      or (attrs.get("span_id") if span.get("flat") else None))
    trace_id = _hex_id(span.get("traceId") or as_dict(span.get("context")).get("trace_id")
                       or (attrs.get("trace_id") if span.get("flat") else None))
    meta: dict[str, Any] = {k: v for k, v in {
        "trace_id": trace_id, "span_name": opt_str(span.get("name")), "operation": op,
        "service": opt_str(resource.get("service.name")), "response_id": opt_str(attrs.get("gen_ai.response.id")),
        "request_model": opt_str(attrs.get("gen_ai.request.model")),
    }.items() if v}
    if index:
        meta["span_index"] = index
    output_type = opt_str(attrs.get("gen_ai.output.type"))
    return validated(Record, {
        "id": span_id or opt_str(attrs.get("gen_ai.response.id")) or fallback_id(file, line, [index, attrs]),
        "source_format": NAME,
        "source": {"file": file, "line": line},
        "timestamp": ts,
        "provider": _provider(attrs),
        "model": opt_str(model) or "",
        "system": "\n\n".join(conv.system) if conv.system else None,
        "messages": conv.messages,
        "response_format": {"type": "json_object"} if output_type == "json" else None,
        "max_tokens": opt_int(_num(attrs.get("gen_ai.request.max_tokens"))),
        "output": "\n".join(conv.output) if conv.seen_output else None,
        "output_tool_calls": conv.calls or None,
        "finish_reason": reason,
        "usage": _usage(attrs, file, line),
        "cost_reported": opt_number(attrs.get("gen_ai.usage.cost")),
        "latency_ms": latency,
        "status": "error" if error else "ok",
        "error": error,
        "metadata": meta,
    })


def parse(items: Iterable[Item], file: str) -> Iterator[Record | ParseError | Skipped]:
    """One Record per GenAI model-call span (several per OTLP line); other spans skipped by reason."""
    for got in objects(items, file):
        if isinstance(got, ParseError):
            yield got
            continue
        line, obj = got
        spans = guarded(lambda o, _f, _ln: list(spans_of(o)) or None, obj, file, line)
        if isinstance(spans, ParseError):
            if getattr(spans, "reason", None) == "empty record":
                yield Skipped(file, "OTLP item without spans")
            else:
                yield spans
            continue
        for index, (span, resource) in enumerate(spans):
            yield guarded(lambda o, f, ln, s=span, r=resource, i=index: _build(s, r, f, ln, i), obj, file, line)
