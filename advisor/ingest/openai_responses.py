"""OpenAI Responses API logs: `{request, response, timestamp?, latency_ms?, metadata?}` per line, or a bare Response.

request: `model`, `instructions`, `input` (a string, or items with `role` + `content[]` of
`input_text`, plus `function_call` / `function_call_output` items), `tools`, `text.format`,
`max_output_tokens`. response (`"object": "response"`): `created_at`, `output[]` (`message` with
`output_text` / `refusal` parts, `reasoning`, `function_call`), `status` (completed | incomplete |
failed), `incomplete_details.reason`, `error`. Usage semantics match the Record's:
`usage.input_tokens` already *includes* `input_tokens_details.cached_tokens` and
`usage.output_tokens` includes `output_tokens_details.reasoning_tokens`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from advisor.ingest.common import (
    Item,
    as_dict,
    as_list,
    assumed_time,
    content_text,
    dict_list,
    drive,
    fallback_id,
    first_time,
    http_error,
    json_text,
    log_feedback,
    opt_int,
    opt_number,
    opt_str,
    split_metadata,
    tokens,
)
from advisor.kernel.errors import ParseError
from advisor.kernel.record import FinishReason, Record, validated

NAME = "openai_responses"
DESCRIPTION = "OpenAI Responses API request/response logs ({request, response} per line, or bare Response objects)"

_INCOMPLETE = {"max_output_tokens": FinishReason.length, "content_filter": FinishReason.content_filter}


def _is_response(resp: Any) -> bool:
    return isinstance(resp, dict) and (resp.get("object") == "response" or (
        isinstance(resp.get("output"), list) and "input_tokens_details" in as_dict(resp.get("usage"))))


def _is_request(req: Any) -> bool:
    return isinstance(req, dict) and "input" in req and "messages" not in req and (
        "model" in req or "instructions" in req)


def sniff(obj: dict) -> bool:
    """A Response object (`"object": "response"`), or a request with `input` (not chat `messages`)."""
    if _is_response(obj):
        return True
    req, resp = obj.get("request"), obj.get("response")
    return _is_response(resp) or (_is_request(req) and (resp is None or isinstance(as_dict(resp).get("error"), dict)))


def usage_of(usage: Any, file: str, line: int) -> dict[str, int] | None:
    """Responses usage → Usage fields; input already includes cached tokens, output includes reasoning."""
    if not isinstance(usage, dict) or ("input_tokens" not in usage and "output_tokens" not in usage):
        return None
    return {
        "input_tokens": tokens(usage.get("input_tokens"), "usage.input_tokens", file, line),
        "output_tokens": tokens(usage.get("output_tokens"), "usage.output_tokens", file, line),
        "cache_read_tokens": tokens(as_dict(usage.get("input_tokens_details")).get("cached_tokens"),
                                    "usage.input_tokens_details.cached_tokens", file, line),
        "reasoning_tokens": tokens(as_dict(usage.get("output_tokens_details")).get("reasoning_tokens"),
                                   "usage.output_tokens_details.reasoning_tokens", file, line),
    }


def response_format(fmt: Any) -> dict[str, Any] | None:
    """`text.format` in the Chat Completions `response_format` shape later stages read; plain text → None."""
    fmt = as_dict(fmt)
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    return None


def _call(item: dict[str, Any]) -> dict[str, Any]:
    """A `function_call` item in the chat tool-call shape every later stage reads."""
    return {"id": opt_str(item.get("call_id")) or opt_str(item.get("id")), "type": "function",
            "function": {"name": opt_str(item.get("name")) or "", "arguments": json_text(item.get("arguments", ""))}}


def input_messages(raw: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """`input` (string or items) → (system/developer texts, chat messages); tool calls keep their ids."""
    if isinstance(raw, str):
        return [], [{"role": "user", "content": raw}]
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for item in as_list(raw):
        if isinstance(item, str):
            out.append({"role": "user", "content": item})
            continue
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "function_call":
            out.append({"role": "assistant", "content": "", "tool_calls": [_call(item)]})
        elif kind == "function_call_output":
            out.append({"role": "tool", "content": content_text(item.get("output")),
                        "tool_call_id": opt_str(item.get("call_id"))})
        elif kind in (None, "message") and "role" in item:
            role, text = item.get("role"), content_text(item.get("content"))
            if role in ("system", "developer"):
                if text:
                    system.append(text)
            else:
                out.append({"role": role if role in ("user", "assistant") else "user", "content": text})
    return system, out


def _output(items: list[Any]) -> tuple[str | None, list[dict[str, Any]], str | None, bool]:
    """(text, tool calls, refusal, had reasoning) from the response's `output[]`."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    refusal: str | None = None
    reasoning = False
    seen_message = False
    for item in items:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            seen_message = True
            for part in as_list(item.get("content")):
                if isinstance(part, dict) and part.get("type") == "refusal":
                    refusal = opt_str(part.get("refusal")) or refusal
                elif isinstance(part, dict) and isinstance(part.get("text"), str):
                    texts.append(part["text"])
        elif kind == "function_call":
            calls.append(_call(item))
        elif kind == "reasoning":
            reasoning = True
    text = "\n".join(texts) if texts or seen_message else None
    return text, calls, refusal, reasoning


def _finish(resp: dict[str, Any], calls: list[dict[str, Any]], refusal: str | None,
            error: str | None) -> FinishReason | None:
    status = resp.get("status")
    if error or status == "failed":
        return FinishReason.error
    if status == "incomplete":
        reason = opt_str(as_dict(resp.get("incomplete_details")).get("reason"))
        return _INCOMPLETE.get(reason or "", FinishReason.other)
    if refusal:
        return FinishReason.refusal
    if calls:
        return FinishReason.tool_calls
    return FinishReason.stop if status == "completed" else None


def _build(obj: dict[str, Any], file: str, line: int) -> Record:
    bare = _is_response(obj) and "response" not in obj
    resp = obj if bare else as_dict(obj.get("response"))
    req = as_dict(obj.get("request")) if not bare else {}
    error = http_error(obj.get("status_code"), resp, obj.get("error") if not bare else None)
    if error is None and isinstance(resp.get("error"), dict):
        error = opt_str(resp["error"].get("message")) or "response failed"
    text, calls, refusal, reasoning = _output(as_list(resp.get("output")))

    ts = first_time(file, line, ("timestamp", obj.get("timestamp") if not bare else None),
                    ("response.created_at", resp.get("created_at")), ("created_at", obj.get("created_at")))
    if ts is None:
        ts = assumed_time(file, line)

    system, messages = input_messages(req.get("input"))
    instructions = content_text(req.get("instructions") if "instructions" in req else resp.get("instructions"))
    if instructions:
        system.insert(0, instructions)
    meta, meta_feedback = split_metadata(obj.get("metadata") if not bare else None)
    meta = {**as_dict(req.get("metadata")), **meta}
    if reasoning:
        meta.setdefault("reasoning", True)
    if opt_str(resp.get("previous_response_id") or req.get("previous_response_id")):
        meta.setdefault("previous_response_id", resp.get("previous_response_id") or req.get("previous_response_id"))
    fmt = response_format(as_dict(req.get("text") or resp.get("text")).get("format"))
    req_model, resp_model = opt_str(req.get("model")), opt_str(resp.get("model"))
    if req_model and resp_model and req_model != resp_model:
        meta.setdefault("request_model", req_model)
    return validated(Record, {
        "id": opt_str(resp.get("id")) or opt_str(obj.get("id")) or fallback_id(file, line, obj),
        "source_format": NAME,
        "source": {"file": file, "line": line},
        "timestamp": ts,
        "provider": "openai",
        "model": resp_model or req_model or opt_str(obj.get("model")) or "",
        "system": "\n\n".join(system) if system else None,
        "messages": messages,
        "tools": dict_list(req.get("tools") if "tools" in req else resp.get("tools")),
        "response_format": fmt,
        "max_tokens": opt_int(req.get("max_output_tokens")) or opt_int(resp.get("max_output_tokens")),
        "output": text,
        "output_tool_calls": calls or None,
        "refusal": refusal,
        "finish_reason": _finish(resp, calls, refusal, error),
        "usage": usage_of(resp.get("usage"), file, line),
        "cost_reported": opt_number(obj.get("cost", obj.get("cost_usd"))) if not bare else None,
        "latency_ms": opt_number(obj.get("latency_ms", obj.get("duration_ms"))) if not bare else None,
        "status": "error" if error else "ok",
        "error": error,
        "service_tier": opt_str(resp.get("service_tier")),
        "feedback": log_feedback(obj.get("feedback"), meta_feedback) if not bare else [],
        "metadata": meta,
    })


def parse(items: Iterable[Item], file: str) -> Iterator[Record | ParseError]:
    """One Record per log line; malformed lines come out as ParseError with file:line."""
    yield from drive(items, file, _build)  # type: ignore[misc]
