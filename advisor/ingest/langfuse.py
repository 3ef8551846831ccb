"""Langfuse exports: observations (GENERATION = one LLM call), `{trace, observations}` wrappers, and scores.

Shapes read, one per line or inside a `.json` document:

* an observation: `id`, `traceId`, `type`, `startTime`, `endTime`, `model`, `input` (often the chat
  messages), `output`, `usageDetails` / `usage`, `costDetails`, `calculatedTotalCost`, `level`,
  `statusMessage`, `metadata`;
* `{"trace": {...}, "observations": [...]}` or a trace with its `observations` and `scores` embedded;
* a score: `traceId`, `observationId`?, `name`, `value`, `stringValue`, `dataType`, `comment`.

Only GENERATION observations are LLM calls; SPAN/EVENT/... are skipped and counted by reason.
Scores become :class:`Feedback` (source "langfuse-score"): BOOLEAN → `ok`, NUMERIC → `score` only
(Langfuse documents no threshold), CATEGORICAL → `ok` when the label reads as a verdict (good/bad,
thumbs up/down...). A score names its observation, or only the trace: a trace-level score goes to the
trace's last generation inside a wrapper, and to every generation of the trace when scores come in a
file of their own (:func:`parse_group` reads score files first, then streams the observations).

`usageDetails` keys are free-form per integration. Langfuse's own integrations subtract the details
(`input_cached_tokens`, `output_reasoning_tokens`, Anthropic's `cache_read_input_tokens`...) from
`input`/`output` so that `total` is the sum of every key; others keep `input` inclusive. The `total`
decides when present; without it, cache keys larger than `input` are on top and Langfuse's documented
convention (details separate) is assumed otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from advisor.ingest.common import (
    Item,
    Skipped,
    as_dict,
    as_list,
    assumed_time,
    content_text,
    dict_list,
    fallback_id,
    first_dict,
    first_time,
    guarded,
    log_feedback,
    messages_of,
    objects,
    one_feedback,
    opt_float,
    opt_int,
    opt_number,
    opt_str,
    parse_error,
    split_metadata,
    tokens,
)
from advisor.kernel.errors import ParseError
from advisor.kernel.record import Feedback, FinishReason, Record, validated

NAME = "langfuse"
DESCRIPTION = "Langfuse observation/generation exports ({trace, observations} or one observation per line; scores)"
OBSERVATION_TYPES = {"GENERATION", "SPAN", "EVENT", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "EVALUATOR",
                     "EMBEDDING", "GUARDRAIL"}
SOURCE = "langfuse-score"


def is_score(obj: dict[str, Any]) -> bool:
    return "traceId" in obj and "name" in obj and ("dataType" in obj or "value" in obj) and "type" not in obj


def is_observation(obj: dict[str, Any]) -> bool:
    kind = obj.get("type")
    return "traceId" in obj and isinstance(kind, str) and kind in OBSERVATION_TYPES and ("startTime" in obj or "start_time" in obj)


def _is_wrapper(obj: dict[str, Any]) -> bool:
    return isinstance(obj.get("observations"), list) and (isinstance(obj.get("trace"), dict) or "id" in obj)


def sniff(obj: dict) -> bool:
    """A Langfuse observation (traceId + type + startTime), a {trace, observations} wrapper, or a score."""
    return is_observation(obj) or _is_wrapper(obj) or is_score(obj)


# ------------------------------------------------------------------ scores → feedback


def score_feedback(score: dict[str, Any]) -> Feedback | None:
    """One Langfuse score as Feedback; None for a score without a usable value."""
    kind = opt_str(score.get("dataType")) or ""
    value, label = score.get("value"), opt_str(score.get("stringValue"))
    number = opt_float(value)
    ok: bool | None = None
    if kind == "BOOLEAN" or isinstance(value, bool):
        ok = bool(number) if number is not None else _verdict(label)
    elif kind == "CATEGORICAL" or (label and number is None):
        ok = _verdict(label if label is not None else value)
    if ok is None and number is None:
        return None
    return Feedback(source=SOURCE, ok=ok, score=number, name=opt_str(score.get("name")),
                    note=opt_str(score.get("comment")) or (label if kind == "CATEGORICAL" else None))




def _verdict(label: Any) -> bool | None:
    """A label that reads as a verdict (true/false, good/bad, thumbs up/down) via the shared feedback rules."""
    got = one_feedback(label) if isinstance(label, str) else None
    return got.ok if got is not None else None


class Scores:
    """Scores by observation id and by trace id (trace-level ones), for joining onto generations."""

    def __init__(self) -> None:
        self.by_observation: dict[str, list[Feedback]] = {}
        self.by_trace: dict[str, list[Feedback]] = {}

    def add(self, score: dict[str, Any]) -> None:
        fb = score_feedback(score)
        if fb is None:
            return
        obs, trace = opt_str(score.get("observationId")), opt_str(score.get("traceId"))
        if obs:
            self.by_observation.setdefault(obs, []).append(fb)
        elif trace:
            self.by_trace.setdefault(trace, []).append(fb)

    def of(self, obs: dict[str, Any]) -> list[Feedback]:
        return (self.by_observation.get(opt_str(obs.get("id")) or "", [])
                + self.by_trace.get(opt_str(obs.get("traceId")) or "", []))


# ------------------------------------------------------------------ usage


def _classify(key: str) -> str:
    k = key.lower()
    if k in ("total", "total_tokens", "totaltokens"):
        return "total"
    if "reasoning" in k:
        return "reasoning"
    if "cache_read" in k or "cached" in k or "cache_hit" in k:
        return "cache_read"
    if "cache_creation" in k or "cache_write" in k:
        return "cache_write"
    if k.startswith(("input", "prompt")):
        return "input"
    if k.startswith(("output", "completion")):
        return "output"
    return "other"


_BASE_IN = {"input", "prompttokens", "prompt_tokens", "input_tokens"}
_BASE_OUT = {"output", "completiontokens", "completion_tokens", "output_tokens"}


def usage_of(obs: dict[str, Any], file: str, line: int) -> dict[str, int] | None:
    """`usageDetails` (free-form keys), else legacy `usage` / `promptTokens` → Record usage semantics.

    Each side is tried with its details separate (Langfuse's convention) or inside the base count; the
    reading whose sum matches the reported `total` wins, separate first.
    """
    details, field = as_dict(obs.get("usageDetails")), "usageDetails"
    if not details:
        usage = as_dict(obs.get("usage"))
        details = {k: v for k, v in usage.items() if _classify(k) != "other" and not k.lower().endswith("cost")}
        field = "usage"
    if not details:
        details = {k: obs[k] for k in ("promptTokens", "completionTokens", "totalTokens") if obs.get(k) is not None}
        field = ""
    if not details:
        return None
    sums = {"base_in": 0, "extra_in": 0, "base_out": 0, "extra_out": 0, "cache_read": 0, "cache_write": 0,
            "cache_write_1h": 0, "reasoning": 0}
    total: int | None = None
    for key, value in details.items():
        kind = _classify(key)
        if kind == "other":
            continue
        count = tokens(value, f"{field}.{key}" if field else key, file, line)
        low = key.lower()
        if kind == "total":
            total = count
        elif kind == "input":
            sums["base_in" if low in _BASE_IN else "extra_in"] += count
        elif kind == "output":
            sums["base_out" if low in _BASE_OUT else "extra_out"] += count
        else:
            sums[kind] += count
            if kind == "cache_write" and "1h" in low:
                sums["cache_write_1h"] += count
    in_details = sums["extra_in"] + sums["cache_read"] + sums["cache_write"]
    out_details = sums["extra_out"] + sums["reasoning"]
    readings = [(in_sep, out_sep) for in_sep in (True, False) for out_sep in (True, False)
                if (in_sep or sums["base_in"] >= in_details) and (out_sep or sums["base_out"] >= out_details)]
    def size(r: tuple[bool, bool]) -> int:
        return (sums["base_in"] + in_details * r[0]) + (sums["base_out"] + out_details * r[1])
    chosen = next((r for r in readings if total is not None and size(r) == total), readings[0])
    return {
        "input_tokens": sums["base_in"] + (in_details if chosen[0] else 0),
        "output_tokens": sums["base_out"] + (out_details if chosen[1] else 0),
        "cache_read_tokens": sums["cache_read"],
        "cache_write_tokens": sums["cache_write"],
        "cache_write_1h_tokens": min(sums["cache_write_1h"], sums["cache_write"]),
        "reasoning_tokens": sums["reasoning"],
    }


# ------------------------------------------------------------------ content


def _conversation(raw: Any) -> tuple[str | None, list[dict[str, Any]], dict[str, Any] | None, list[Any] | None]:
    """Generation `input` → (system, messages, response_format, tools) for the shapes integrations write."""
    if isinstance(raw, str):
        return None, [{"role": "user", "content": raw}], None, None
    if isinstance(raw, list):
        system, messages = messages_of(raw)
        return system, messages, None, None
    data = as_dict(raw)
    if isinstance(data.get("messages"), list):
        system, messages = messages_of(data["messages"])
        extra = content_text(data.get("system")) if data.get("system") is not None else ""
        system = "\n\n".join(s for s in (extra, system) if s) or None
        fmt = data.get("response_format") if isinstance(data.get("response_format"), dict) else None
        return system, messages, fmt, dict_list(data.get("tools"))
    if data:
        text = content_text(data.get("prompt") or data.get("input") or data.get("content"))
        return None, ([{"role": "user", "content": text}] if text else []), None, None
    return None, [], None, None


def _output(raw: Any) -> tuple[str | None, list[dict[str, Any]] | None]:
    if raw is None:
        return None, None
    if isinstance(raw, str):
        return raw, None
    data = as_dict(raw)
    if isinstance(data.get("choices"), list) and data["choices"]:
        data = as_dict(as_dict(data["choices"][0]).get("message"))
    elif isinstance(raw, list):  # a list of messages or content parts
        last = raw[-1] if raw else None
        data = last if isinstance(last, dict) and "role" in last else {"content": raw}
    calls = dict_list(data.get("tool_calls"))
    if "content" in data or "text" in data:
        return content_text(data.get("content", data.get("text"))), calls
    return content_text(raw if not data else None) or None, calls


def _provider(model: str | None, meta: dict[str, Any]) -> str | None:
    named = opt_str(meta.get("ls_provider") or meta.get("provider"))
    if named:
        return named.lower()
    low = (model or "").lower()
    if "claude" in low:
        return "anthropic"
    if low.startswith(("gpt-", "o1", "o3", "o4", "chatgpt")):
        return "openai"
    return None


def _record(obs: dict[str, Any], file: str, line: int, feedback: list[Feedback]) -> Record | Skipped:
    kind = obs.get("type")
    if kind != "GENERATION":
        return Skipped(file, f"Langfuse {kind or 'untyped'} observation (not an LLM call)")
    ts = first_time(file, line, ("startTime", obs.get("startTime")), ("timestamp", obs.get("timestamp")))
    if ts is None:
        ts = assumed_time(file, line)
    end = first_time(file, line, ("endTime", obs.get("endTime")))
    latency = (end - ts).total_seconds() * 1000 if end is not None and end >= ts else None
    if latency is None and opt_number(obs.get("latency")) is not None:
        latency = opt_number(obs.get("latency")) * 1000  # type: ignore[operator] - Langfuse API: seconds
    model = opt_str(obs.get("model"))
    meta, meta_feedback = split_metadata(obs.get("metadata"))
    system, messages, fmt, tools = _conversation(obs.get("input"))
    output, calls = _output(obs.get("output"))
    params = as_dict(obs.get("modelParameters"))
    error = None
    if obs.get("level") == "ERROR":
        error = opt_str(obs.get("statusMessage")) or "Langfuse level ERROR"
    cost = as_dict(obs.get("costDetails"))
    meta.update({k: v for k, v in {"trace_id": opt_str(obs.get("traceId")), "name": opt_str(obs.get("name")),
                                   "prompt_name": opt_str(obs.get("promptName"))}.items() if v})
    fb = list(feedback) + log_feedback(meta_feedback)
    return validated(Record, {
        "id": opt_str(obs.get("id")) or fallback_id(file, line, obs),
        "source_format": NAME,
        "source": {"file": file, "line": line},
        "timestamp": ts,
        "provider": _provider(model, meta),
        "model": model or "",
        "system": system,
        "messages": messages,
        "tools": tools,
        "response_format": fmt,
        "max_tokens": opt_int(params.get("max_tokens")) or opt_int(params.get("max_completion_tokens")),
        "output": output,
        "output_tool_calls": calls,
        "finish_reason": FinishReason.error if error else None,
        "usage": usage_of(obs, file, line),
        "cost_reported": next((c for c in (opt_number(obs.get("calculatedTotalCost")), opt_number(cost.get("total")),
                                           opt_number(obs.get("totalCost"))) if c), None),
        "latency_ms": latency,
        "status": "error" if error else "ok",
        "error": error,
        "feedback": fb,
        "metadata": meta,
    })


def _time_key(obs: dict[str, Any]) -> str:
    return str(obs.get("endTime") or obs.get("startTime") or "")


def _wrapper(obj: dict[str, Any], file: str, line: int, scores: Scores) -> Iterator[Record | ParseError | Skipped]:
    """`{trace, observations}` (or a trace with them embedded): trace-level scores go to its last generation."""
    trace = as_dict(obj.get("trace")) or obj
    local = Scores()
    for s in chain(as_list(trace.get("scores")), as_list(obj.get("scores")) if obj is not trace else []):
        if isinstance(s, dict):
            local.add({**s, "traceId": s.get("traceId") or trace.get("id")})
    observations = [o for o in obj["observations"] if isinstance(o, dict)]
    gens = [o for o in observations if o.get("type") == "GENERATION"]
    last = max(gens, key=_time_key) if gens else None
    trace_level = local.by_trace.get(opt_str(trace.get("id")) or "", [])
    for obs in observations:
        if not obs.get("traceId") and trace.get("id"):
            obs = {**obs, "traceId": trace["id"]}
        fb = local.by_observation.get(opt_str(obs.get("id")) or "", []) + scores.of(obs)
        if obs is last or (last is not None and obs.get("id") == last.get("id")):
            fb = fb + trace_level
        yield guarded(lambda o, f, ln, fb=fb: _record(o, f, ln, fb), obs, file, line)
    stray = len(obj["observations"]) - len(observations)
    if stray:
        yield parse_error(file, line, "observation is not a JSON object", f"{stray} item(s)", field="observations")


def _lines(items: Iterable[Item], file: str, scores: Scores) -> Iterator[Record | ParseError | Skipped]:
    for got in objects(items, file):
        if isinstance(got, ParseError):
            yield got
            continue
        line, obj = got
        if is_score(obj):
            scores.add(obj)
        elif _is_wrapper(obj):
            try:
                yield from _wrapper(obj, file, line, scores)
            except Exception as exc:  # noqa: BLE001 - a malformed wrapper must never stop the run
                yield parse_error(file, line, "unreadable record", f"{type(exc).__name__}: {exc}",
                                  hint="the trace/observations wrapper does not have the shape Langfuse writes")
        elif is_observation(obj) or "type" in obj:
            yield guarded(lambda o, f, ln: _record(o, f, ln, scores.of(o)), obj, file, line)
        else:
            yield parse_error(file, line, "not a Langfuse observation", "expected traceId, type and startTime",
                              hint="pass --format if this file is not a Langfuse export")


def parse_group(sources: Sequence[tuple[str, Iterable[Item]]]) -> Iterator[Record | ParseError | Skipped]:
    """All Langfuse files of one directory: score files are read first so observations stream with their feedback."""
    scores = Scores()
    later: list[tuple[str, Iterable[Item]]] = []
    for file, items in sources:
        first, items = first_dict(items)
        if first is not None and is_score(first):
            yield from _lines(items, file, scores)
        else:
            later.append((file, items))
    for file, items in later:
        yield from _lines(items, file, scores)


def parse(items: Iterable[Item], file: str) -> Iterator[Record | ParseError | Skipped]:
    """One Record per GENERATION; scores in the same file are joined onto the generations after them."""
    yield from _lines(items, file, Scores())
