"""Helicone request exports: one request per line with the provider's own request and response bodies.

Fields: `request_id`, `request_created_at`, `request_body`, `response_body`, `response_status`
(or `status`), `provider`, `model` / `request_model` / `response_model`, `prompt_tokens`,
`completion_tokens`, `prompt_cache_read_tokens`, `prompt_cache_write_tokens`, `delay_ms` (or
`latency`, ms), `cost` / `costUSD`, `properties` / `request_properties`, `feedback_rating` /
`feedback`, `scores`. The bodies are parsed by the OpenAI Chat / Anthropic parsers (the provider's
usage semantics apply); when Helicone stored no body (large or streamed requests) its own token
columns are used: `prompt_tokens` includes cache reads/writes for OpenAI-style providers and excludes
them for Anthropic, and counts that cannot be inside `prompt_tokens` are added on top.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from advisor.ingest import anthropic, openai_chat
from advisor.ingest.common import (
    Item,
    anthropic_exchange,
    as_dict,
    assumed_time,
    drive,
    first_time,
    one_feedback,
    opt_number,
    opt_str,
    tokens,
    usage_from_counts,
)
from advisor.kernel.errors import ParseError
from advisor.kernel.record import Feedback, Record, Usage, replace

NAME = "helicone"
DESCRIPTION = "Helicone request exports (request_id, request_body, response_body, tokens, cost per line)"


def sniff(obj: dict) -> bool:
    """A Helicone row: request_id with request/response bodies or Helicone's own token columns."""
    return "request_id" in obj and any(k in obj for k in ("request_body", "response_body", "request_created_at",
                                                         "helicone_user", "request_properties"))


def _feedback(obj: dict[str, Any]) -> list[Feedback]:
    out: list[Feedback] = []
    rating = obj.get("feedback_rating")
    if rating is None and isinstance(obj.get("feedback"), dict):
        rating = obj["feedback"].get("rating")
    elif rating is None:
        rating = obj.get("feedback")
    if isinstance(rating, bool):
        out.append(Feedback(source=NAME, ok=rating, name="rating"))
    elif rating is not None:
        got = one_feedback(rating)
        if got is not None:
            out.append(Feedback(source=NAME, ok=got.ok, score=got.score, name="rating"))
    for name, value in as_dict(obj.get("scores")).items():
        got = one_feedback(value)
        if got is not None:
            out.append(Feedback(source=NAME, ok=got.ok, score=got.score, name=str(name)))
    return out


def _column_usage(obj: dict[str, Any], anthropic_style: bool, file: str, line: int) -> Usage | None:
    if obj.get("prompt_tokens") is None and obj.get("completion_tokens") is None:
        return None
    read = tokens(obj.get("prompt_cache_read_tokens"), "prompt_cache_read_tokens", file, line)
    write = tokens(obj.get("prompt_cache_write_tokens"), "prompt_cache_write_tokens", file, line)
    return Usage(**usage_from_counts(
        input_tokens=tokens(obj.get("prompt_tokens"), "prompt_tokens", file, line),
        output_tokens=tokens(obj.get("completion_tokens"), "completion_tokens", file, line),
        cache_read=read, cache_write=write, cache_in_input=False if anthropic_style else None))


def _build(obj: dict[str, Any], file: str, line: int) -> Record:
    req, resp = as_dict(obj.get("request_body")), as_dict(obj.get("response_body"))
    provider = (opt_str(obj.get("provider")) or "").lower()
    is_anthropic = "anthropic" in provider or anthropic_exchange(req, resp or None)
    ts = first_time(file, line, ("request_created_at", obj.get("request_created_at")),
                    ("created_at", obj.get("created_at")), ("response_created_at", obj.get("response_created_at")))
    if ts is None:
        ts = assumed_time(file, line)
    status = obj.get("response_status", obj.get("status"))
    model = (opt_str(obj.get("response_model")) or opt_str(obj.get("model")) or opt_str(obj.get("request_model"))
             or opt_str(resp.get("model")) or opt_str(req.get("model")))
    meta = {**as_dict(obj.get("request_properties")), **as_dict(obj.get("properties"))}
    for key in ("helicone_user", "request_user_id", "request_path", "cache_reference_id", "signed_body_url"):
        if opt_str(obj.get(key)):
            meta[key] = obj[key]
    log = {"timestamp": ts.isoformat(), "model": model, "status_code": status, "metadata": meta,
           "latency_ms": opt_number(obj.get("delay_ms", obj.get("latency"))),
           "cost": opt_number(obj.get("cost", obj.get("costUSD")))}
    if is_anthropic:
        line_obj = {**log, "request": {**req, "model": req.get("model") or model}, "response": resp or None}
        record = anthropic.record_of(line_obj, file, line)
    else:
        record = openai_chat.chat_record({**req, "model": req.get("model") or model}, resp, file=file, line=line,
                                         source_format=NAME, log=log, status_code=status,
                                         record_id=opt_str(obj.get("request_id")))
    usage = record.usage or _column_usage(obj, is_anthropic, file, line)
    return replace(record, source_format=NAME, id=opt_str(obj.get("request_id")) or record.id,
                   provider=provider or record.provider, usage=usage, feedback=record.feedback + _feedback(obj))


def parse(items: Iterable[Item], file: str) -> Iterator[Record | ParseError]:
    """One Record per exported request; malformed rows come out as ParseError with file:line."""
    yield from drive(items, file, _build)  # type: ignore[misc]
