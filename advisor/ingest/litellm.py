"""LiteLLM logs: the StandardLoggingPayload its callbacks emit, and rows of the proxy's spend logs.

StandardLoggingPayload: `id`, `call_type`, `model`, `model_group`, `custom_llm_provider`, `messages`,
`response` (an OpenAI-shaped ModelResponse whatever the provider), `prompt_tokens`,
`completion_tokens`, `total_tokens`, `response_cost`, `startTime` / `endTime` (epoch seconds),
`response_time` (seconds), `status` (success | failure), `error_str` / `error_information`,
`metadata`, `model_parameters`, `cache_hit`. Spend logs (`LiteLLM_SpendLogs`): `request_id`,
`spend`, `startTime` / `endTime` as timezone-less datetime text (UTC), `messages`, `response`.

LiteLLM converts every provider's usage to OpenAI semantics (`prompt_tokens` includes cache reads,
reported as `prompt_tokens_details.cached_tokens` / `cache_read_input_tokens`); whether it also
includes Anthropic cache writes (`cache_creation_input_tokens`) changed between versions, so writes
that do not fit inside `prompt_tokens` are added on top.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from advisor.ingest.common import (
    Item,
    Skipped,
    as_dict,
    assumed_time,
    drive,
    first_time,
    opt_number,
    opt_str,
    tokens,
    usage_from_counts,
)
from advisor.ingest.openai_chat import chat_record
from advisor.kernel.errors import ParseError
from advisor.kernel.record import Record, Usage, replace

NAME = "litellm"
DESCRIPTION = "LiteLLM StandardLoggingPayload / proxy spend logs (call_type, response_cost/spend, tokens)"
NOT_CHAT = "LiteLLM non-chat call (embedding, image, audio...)"
_CHAT_CALLS = {"completion", "acompletion", "text_completion", "atext_completion", "responses", "aresponses",
               "anthropic_messages", "generate_content", "agenerate_content", ""}


def sniff(obj: dict) -> bool:
    """LiteLLM's markers: call_type with response_cost / spend / model_group / custom_llm_provider."""
    return "call_type" in obj and any(k in obj for k in ("response_cost", "spend", "model_group",
                                                         "custom_llm_provider", "api_base"))


def usage_of(obj: dict[str, Any], response: dict[str, Any], file: str, line: int) -> Usage | None:
    """The response's usage (OpenAI semantics, LiteLLM's cache fields) or the payload's token columns."""
    usage = as_dict(response.get("usage")) or as_dict(as_dict(obj.get("metadata")).get("usage_object"))
    where = "response.usage" if response.get("usage") else "metadata.usage_object"
    if not usage:
        usage, where = obj, ""
    if usage.get("prompt_tokens") is None and usage.get("completion_tokens") is None:
        return None

    def count(key: str, value: Any) -> int:
        return tokens(value, f"{where}.{key}" if where else key, file, line)

    prompt_details = as_dict(usage.get("prompt_tokens_details"))
    prompt = count("prompt_tokens", usage.get("prompt_tokens"))
    read = count("prompt_tokens_details.cached_tokens", prompt_details.get("cached_tokens")) or \
        count("cache_read_input_tokens", usage.get("cache_read_input_tokens"))
    write = count("cache_creation_input_tokens", usage.get("cache_creation_input_tokens"))
    output = count("completion_tokens", usage.get("completion_tokens"))
    reasoning = count("completion_tokens_details.reasoning_tokens",
                      as_dict(usage.get("completion_tokens_details")).get("reasoning_tokens"))
    counts = usage_from_counts(input_tokens=prompt, output_tokens=output, cache_read=min(read, prompt),
                               reasoning=reasoning, cache_in_input=True)
    if write:  # inside prompt_tokens when it fits beside the reads, else on top (older LiteLLM)
        inside = prompt - min(read, prompt) >= write
        counts["input_tokens"] += 0 if inside else write
        counts["cache_write_tokens"] = write
    return Usage(**counts)


def _error(obj: dict[str, Any]) -> str | None:
    if obj.get("status") not in ("failure", "error") and not obj.get("error_str"):
        return None
    info = as_dict(obj.get("error_information"))
    code = opt_str(info.get("error_code"))
    message = opt_str(obj.get("error_str")) or opt_str(info.get("error_message")) or "LiteLLM call failed"
    return f"HTTP {code}: {message}" if code else message


def _build(obj: dict[str, Any], file: str, line: int) -> Record | Skipped:
    call = opt_str(obj.get("call_type")) or ""
    if call not in _CHAT_CALLS:
        return Skipped(file, NOT_CHAT)
    ts = first_time(file, line, ("startTime", obj.get("startTime")), ("start_time", obj.get("start_time")))
    if ts is None:
        ts = assumed_time(file, line)
    end = first_time(file, line, ("endTime", obj.get("endTime")))
    latency = opt_number(obj.get("response_time"))
    latency = latency * 1000 if latency is not None else (
        (end - ts).total_seconds() * 1000 if end is not None and end >= ts else None)
    response = as_dict(obj.get("response"))
    params = as_dict(obj.get("model_parameters"))
    meta = {k: v for k, v in as_dict(obj.get("metadata")).items() if k not in ("usage_object", "feedback")}
    meta.update({k: obj[k] for k in ("model_group", "call_type", "cache_hit", "api_base", "user", "end_user",
                                     "team_id") if obj.get(k) not in (None, "", [])})
    error = _error(obj)
    request = {"model": obj.get("model"), "messages": obj.get("messages"), **{
        k: params[k] for k in ("tools", "response_format", "max_tokens", "max_completion_tokens") if k in params}}
    log = {"timestamp": ts.isoformat(), "model": obj.get("model"), "metadata": meta,
           "cost": opt_number(obj.get("response_cost", obj.get("spend"))), "latency_ms": latency,
           "feedback": as_dict(obj.get("metadata")).get("feedback"),
           "error": {"message": error} if error else None}
    record = chat_record(request, response if "choices" in response else {"model": response.get("model")},
                         file=file, line=line, source_format=NAME, log=log,
                         record_id=opt_str(obj.get("id")) or opt_str(obj.get("request_id")))
    provider = opt_str(obj.get("custom_llm_provider"))
    return replace(record, usage=usage_of(obj, response, file, line),
                   provider=provider.lower() if provider else record.provider)


def parse(items: Iterable[Item], file: str) -> Iterator[Record | ParseError | Skipped]:
    """One Record per chat call; non-chat calls are skipped by reason, malformed rows are ParseErrors."""
    yield from drive(items, file, _build)  # type: ignore[misc]
