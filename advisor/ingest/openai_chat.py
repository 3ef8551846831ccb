"""OpenAI Chat Completions logs: `{request, response, timestamp?, latency_ms?, metadata?}` per line.

Also reads a bare chat completion (`{"object": "chat.completion", "choices": ...}`) with the
request's `messages` beside it. Usage semantics: `prompt_tokens` already *includes*
`prompt_tokens_details.cached_tokens` and `completion_tokens` includes
`completion_tokens_details.reasoning_tokens`, so both map straight onto :class:`Usage`.
Azure OpenAI quirks (`prompt_filter_results`, deployment names as model) are tolerated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import msgspec

from advisor.ingest.common import (
    OPENAI_FINISH,
    Item,
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
    log_feedback,
    messages_of,
    opt_int,
    opt_number,
    opt_str,
    split_metadata,
    tokens,
)
from advisor.ingest.fastpath import (
    UNSET,
    ChatMessage,
    Decode,
    Envelope,
    Int64,
    Number,
    Raw,
    Refuse,
    chat_messages,
    envelope_values,
    raw_value,
    shared_value,
    unset_none,
)
from advisor.kernel.errors import ParseError
from advisor.kernel.record import FinishReason, Record, SourceRef, Usage, validated

NAME = "openai_chat"
DESCRIPTION = "OpenAI Chat Completions request/response logs ({request, response, ...} per line)"


def _is_chat_response(resp: Any) -> bool:
    return isinstance(resp, dict) and (isinstance(resp.get("choices"), list)
                                       or resp.get("object") == "chat.completion")


def _is_openai_error(resp: Any) -> bool:
    return isinstance(resp, dict) and isinstance(resp.get("error"), dict) and resp.get("type") != "error"


def sniff(obj: dict) -> bool:
    """A request with `messages`, or a response with `choices` (error lines: an OpenAI `error` body)."""
    if _is_chat_response(obj):
        return True
    req, resp = obj.get("request"), obj.get("response")
    if _is_chat_response(resp):
        return True
    return isinstance(req, dict) and isinstance(req.get("messages"), list) and (
        resp is None or _is_openai_error(resp))


def usage_of(usage: Any, file: str, line: int) -> dict[str, int] | None:
    """OpenAI usage → Usage fields. prompt_tokens includes cached; completion_tokens includes reasoning."""
    if not isinstance(usage, dict) or ("prompt_tokens" not in usage and "completion_tokens" not in usage):
        return None
    return usage_fields(usage.get("prompt_tokens"), usage.get("completion_tokens"),
                        as_dict(usage.get("prompt_tokens_details")).get("cached_tokens"),
                        as_dict(usage.get("completion_tokens_details")).get("reasoning_tokens"), file, line)


def usage_fields(prompt: Any, completion: Any, cached: Any, reasoning: Any, file: str, line: int) -> dict[str, int]:
    """The counts of an OpenAI usage → Usage fields, each through `tokens`. Shared by usage_of and the fast path."""
    return {
        "input_tokens": tokens(prompt, "usage.prompt_tokens", file, line),
        "output_tokens": tokens(completion, "usage.completion_tokens", file, line),
        "cache_read_tokens": tokens(cached, "usage.prompt_tokens_details.cached_tokens", file, line),
        "reasoning_tokens": tokens(reasoning, "usage.completion_tokens_details.reasoning_tokens", file, line),
    }


def chat_record(request: Any, response: Any, *, file: str, line: int, source_format: str,
                log: dict[str, Any] | None = None, status_code: Any = None, top_error: Any = None,
                record_id: str | None = None, fallback_time: datetime | None = None,
                batch: bool = False, extra_metadata: dict[str, Any] | None = None) -> Record:
    """Build one Record from a chat request and its response (either may be missing); shared with Batch."""
    req, resp, log = as_dict(request), as_dict(response), log or {}
    choices = as_list(resp.get("choices"))
    choice = as_dict(choices[0]) if choices else {}
    message = as_dict(choice.get("message"))

    error = http_error(status_code if status_code is not None else log.get("status_code"), resp,
                       top_error if top_error is not None else log.get("error"))
    reason = finish(choice.get("finish_reason"), OPENAI_FINISH)
    if error:
        code = opt_str(as_dict(resp.get("error")).get("code"))
        reason = FinishReason.content_filter if code == "content_filter" else FinishReason.error

    ts = first_time(file, line, ("timestamp", log.get("timestamp")), ("created_at", log.get("created_at")),
                    ("response.created", resp.get("created"))) or fallback_time
    if ts is None:
        ts = assumed_time(file, line)

    system, messages = messages_of(req.get("messages") if "messages" in req else log.get("messages"))
    meta, meta_feedback = split_metadata(log.get("metadata"))
    meta = {**as_dict(req.get("metadata")), **meta, **(extra_metadata or {})}
    req_model, resp_model = opt_str(req.get("model")), opt_str(resp.get("model"))
    if req_model and resp_model and req_model != resp_model:
        meta.setdefault("request_model", req_model)
    if "prompt_filter_results" in resp or "content_filter_results" in choice:
        meta.setdefault("azure", True)
    if len(choices) > 1:
        meta.setdefault("choices", len(choices))

    output = message.get("content")
    calls = dict_list(message.get("tool_calls"))
    if calls is None and isinstance(message.get("function_call"), dict):
        calls = [{"type": "function", "function": message["function_call"]}]
    return validated(Record, {
        "id": record_id or opt_str(resp.get("id")) or opt_str(log.get("id")) or opt_str(log.get("request_id"))
        or fallback_id(file, line, log or resp),
        "source_format": source_format,
        "source": {"file": file, "line": line},
        "timestamp": ts,
        "provider": "openai",
        "model": resp_model or req_model or opt_str(log.get("model")) or "",
        "system": system,
        "messages": messages,
        "tools": dict_list(req.get("tools")),
        "response_format": req.get("response_format") if isinstance(req.get("response_format"), dict) else None,
        "max_tokens": opt_int(req.get("max_completion_tokens")) or opt_int(req.get("max_tokens")),
        "output": None if output is None else content_text(output),
        "output_tool_calls": calls,
        "refusal": opt_str(message.get("refusal")),
        "finish_reason": reason,
        "usage": usage_of(resp.get("usage"), file, line),
        "cost_reported": opt_number(log.get("cost", log.get("cost_usd"))),
        "latency_ms": opt_number(log.get("latency_ms", log.get("duration_ms"))),
        "status": "error" if error else "ok",
        "error": error,
        "batch": batch,
        "service_tier": opt_str(resp.get("service_tier")),
        "feedback": log_feedback(log.get("feedback"), meta_feedback),
        "metadata": meta,
    })


def _build(obj: dict[str, Any], file: str, line: int) -> Record:
    if _is_chat_response(obj) and "request" not in obj:
        request = obj.get("request") or {"messages": obj.get("messages"), "model": obj.get("model")}
        return chat_record(request, obj, file=file, line=line, source_format=NAME, log=obj)
    return chat_record(obj.get("request"), obj.get("response"), file=file, line=line, source_format=NAME, log=obj)


def parse(items: Iterable[Item], file: str) -> Iterator[Record | ParseError]:
    """One Record per log line; malformed lines come out as ParseError with file:line."""
    yield from drive(items, file, _build)  # type: ignore[misc]


# ------------------------------------------------------------------ typed fast path (see advisor.ingest.fastpath)
# The usual `{request, response, timestamp, latency_ms, metadata}` line. Every key chat_record reads is declared;
# the ones left to it are `Refuse` (present: the general path takes the line).


class _Request(msgspec.Struct):
    model: str | None = None
    messages: list[ChatMessage] | Refuse = UNSET  # absent: the line's own `messages` (refused below)
    tools: Raw | Refuse = UNSET
    response_format: Raw | Refuse = UNSET
    max_tokens: Number | None = None
    max_completion_tokens: Number | None = None
    metadata: Raw | Refuse = UNSET


class _ResponseMessage(msgspec.Struct):
    content: str | None = None
    tool_calls: Raw | Refuse = UNSET
    refusal: str | None = None
    function_call: Refuse = UNSET


class _Choice(msgspec.Struct):
    message: _ResponseMessage | None = None
    finish_reason: str | None = None
    content_filter_results: Refuse = UNSET


class _TokenDetails(msgspec.Struct):
    cached_tokens: Int64 | None = None
    reasoning_tokens: Int64 | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: Int64 | None | Refuse = UNSET  # absent and null differ: usage_of needs one of the two keys
    completion_tokens: Int64 | None | Refuse = UNSET
    prompt_tokens_details: _TokenDetails | None = None
    completion_tokens_details: _TokenDetails | None = None


def _typed_usage(u: _Usage | None, file: str, line: int) -> Usage | None:
    """usage_of on the typed counts (a bad count raises, so the line falls back)."""
    if u is None or (u.prompt_tokens is UNSET and u.completion_tokens is UNSET):
        return None
    prompt = u.prompt_tokens_details or _TokenDetails()
    completion = u.completion_tokens_details or _TokenDetails()
    return Usage(**usage_fields(unset_none(u.prompt_tokens), unset_none(u.completion_tokens), prompt.cached_tokens,
                                completion.reasoning_tokens, file, line))


class _Response(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    choices: list[_Choice] | None = None
    usage: _Usage | None = None
    created: Number | str | None = None
    service_tier: str | None = None
    error: Refuse = UNSET
    prompt_filter_results: Refuse = UNSET


class _Line(Envelope, kw_only=True):
    request: _Request
    response: _Response
    messages: Refuse = UNSET


def fast_reader(file: str) -> Decode:
    """The typed decoder of this file's usual lines (see advisor.ingest.fastpath); None: not that shape."""
    decode = msgspec.json.Decoder(_Line).decode
    source_format = NAME

    def build(raw: Any, line: int) -> Record | None:
        try:
            obj = decode(raw)
            req, resp = obj.request, obj.response
            record_id, model = resp.id, resp.model or req.model
            if not record_id or not model:
                return None  # the general path looks further (line id, line model, a content hash)
            got = envelope_values(obj, file, line, ("response.created", resp.created))
            if got is None:
                return None  # an assumed time (counted by the general path) or a value it rejects
            ts, latency, cost = got
            choices = resp.choices or []
            choice = choices[0] if choices else _Choice()
            message = choice.message or _ResponseMessage()
            system, messages = (None, []) if req.messages is UNSET else chat_messages(req.messages)
            meta, meta_feedback = split_metadata(raw_value(obj.metadata))
            meta = {**as_dict(raw_value(req.metadata)), **meta}
            if req.model and resp.model and req.model != resp.model:
                meta.setdefault("request_model", req.model)
            if len(choices) > 1:
                meta.setdefault("choices", len(choices))
            fmt = raw_value(req.response_format)
            return Record(
                id=record_id, source_format=source_format, source=SourceRef(file=file, line=line), timestamp=ts,
                provider="openai", model=model, system=system, messages=messages,
                tools=dict_list(shared_value(req.tools)),
                response_format=fmt if isinstance(fmt, dict) else None,
                max_tokens=opt_int(req.max_completion_tokens) or opt_int(req.max_tokens),
                output=message.content, output_tool_calls=dict_list(raw_value(message.tool_calls)),
                refusal=message.refusal, finish_reason=finish(choice.finish_reason, OPENAI_FINISH),
                usage=_typed_usage(resp.usage, file, line), cost_reported=cost, latency_ms=latency,
                feedback=log_feedback(raw_value(obj.feedback), meta_feedback), metadata=meta,
                service_tier=resp.service_tier,
            )
        except Exception:  # noqa: BLE001 - any doubt: the general path decides, with its own error message
            return None

    return build
