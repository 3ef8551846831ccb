"""LangSmith runs: exported runs (one per line, children nested or not) and create + update payloads.

Run fields: `id`, `run_type` (only `llm` runs are model calls; chain/tool/retriever runs are skipped
by reason), `start_time` / `end_time` (ISO from the Python SDK, naive = UTC; epoch milliseconds from
the JS SDK), `inputs` (`messages` as LangChain-serialised messages or role dicts, or `prompts`),
`outputs` (`generations`, an OpenAI-shaped completion, or a message), `extra.invocation_params.model`
/ `model_name`, `extra.metadata.ls_model_name` / `ls_provider`, `prompt_tokens`,
`completion_tokens`, `total_tokens`, `total_cost`, `error`, `feedback_stats`, `child_runs`.

Ingest payloads `{"post": [runs], "patch": [runs]}` (batch) or `{"post": run}` / `{"patch": run}`
are merged by run id: a run becomes a Record when its create and its update have both been seen
(or at once when the create already carries `end_time` / `outputs`). Runs still open at the end of
the file are skipped by reason. Usage: LangChain `usage_metadata` (input includes
`input_token_details.cache_read` / `cache_creation`, output includes
`output_token_details.reasoning`), else the run's `prompt_tokens` / `completion_tokens`.
`feedback_stats` → Feedback(source="langsmith"): the average as `score`; `ok` only when every score
of that key was 0 or 1 (a binary key with a unanimous verdict).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from advisor.ingest.common import (
    ANTHROPIC_FINISH,
    OPENAI_FINISH,
    Item,
    Skipped,
    as_dict,
    as_list,
    assumed_time,
    content_text,
    dict_list,
    fallback_id,
    finish,
    first_time,
    guarded,
    json_text,
    messages_of,
    objects,
    opt_float,
    opt_int,
    opt_number,
    opt_str,
    parse_error,
    tokens,
    usage_from_counts,
)
from advisor.kernel.errors import ParseError
from advisor.kernel.record import Feedback, FinishReason, Record, validated

NAME = "langsmith"
DESCRIPTION = "LangSmith runs (exported runs, or post/patch ingest payloads merged by id)"
SOURCE = "langsmith"
UNFINISHED = "LangSmith run never completed (create without update)"
ORPHAN_PATCH = "LangSmith update without its create payload"
_ROLES = {"system": "system", "human": "user", "user": "user", "ai": "assistant", "assistant": "assistant",
          "tool": "tool", "function": "tool", "developer": "developer", "chat": "user"}
_FINISH = {**OPENAI_FINISH, **ANTHROPIC_FINISH, "STOP": FinishReason.stop, "MAX_TOKENS": FinishReason.length}


def _is_run(obj: dict[str, Any]) -> bool:
    return "run_type" in obj and ("inputs" in obj or "start_time" in obj or "outputs" in obj)


def _is_sdk_create(obj: dict[str, Any]) -> bool:
    """A run-create body as an SDK sends it (RunTree.postRun: `session_name` / `dotted_order`), still open."""
    return ("session_name" in obj or "dotted_order" in obj) and not _done(obj)


def _is_sdk_update(obj: dict[str, Any]) -> bool:
    """A run-update body (JS RunTree.patchRun: the id is in the URL, so the body has only `dotted_order`,
    whose last segment ends with the run id, plus `end_time` / `outputs` / `error`)."""
    return "run_type" not in obj and _done(obj) and (_run_id(obj) is not None)


def _run_id(run: dict[str, Any]) -> str | None:
    """The run's id, or the one its dotted order ends with ({time}Z{uuid}, dot-separated from its parents')."""
    got = opt_str(run.get("id"))
    if got:
        return got
    dotted = opt_str(run.get("dotted_order"))
    last = dotted.rsplit(".", 1)[-1] if dotted else ""
    return last[-36:] if len(last) > 36 and last[-37] == "Z" else None


def sniff(obj: dict) -> bool:
    """A LangSmith run (run_type + inputs/start_time) or a post/patch ingest payload."""
    if _is_run(obj) or ("dotted_order" in obj and "trace_id" in obj):
        return True
    return any(isinstance(obj.get(k), list | dict) for k in ("post", "patch")) and \
        all(isinstance(r, dict) for k in ("post", "patch") for r in as_list(obj.get(k)))


# ------------------------------------------------------------------ messages


def _lc_message(m: Any) -> dict[str, Any] | None:
    """A LangChain message (serialised constructor, {type, data} or role dict) → OpenAI chat message dict."""
    m = as_dict(m)
    if not m:
        return None
    if m.get("lc") is not None and isinstance(m.get("kwargs"), dict):
        kind = str(as_list(m.get("id"))[-1] if as_list(m.get("id")) else "").removesuffix("MessageChunk") \
            .removesuffix("Message").lower()
        body = m["kwargs"]
    elif isinstance(m.get("data"), dict):
        kind, body = str(m.get("type") or ""), m["data"]
    else:
        kind, body = str(m.get("role") or m.get("type") or "user"), m
    role = _ROLES.get(kind, _ROLES.get(str(body.get("role") or ""), "user"))
    out: dict[str, Any] = {"role": role, "content": body.get("content")}
    calls = dict_list(body.get("tool_calls"))
    if calls:
        out["tool_calls"] = [c if "function" in c else {
            "id": opt_str(c.get("id")), "type": "function",
            "function": {"name": opt_str(c.get("name")) or "", "arguments": _args(c.get("args"))}} for c in calls]
    if opt_str(body.get("tool_call_id")):
        out["tool_call_id"] = body["tool_call_id"]
    return out


def _args(value: Any) -> str:
    return json_text(value if value is not None else {})


def _inputs(inputs: Any) -> tuple[str | None, list[dict[str, Any]]]:
    data = as_dict(inputs)
    raw = data.get("messages")
    if isinstance(raw, list) and raw and isinstance(raw[0], list):  # one conversation per batch entry
        raw = raw[0]
    if isinstance(raw, list):
        return messages_of([m for m in (_lc_message(x) for x in raw) if m])
    prompts = as_list(data.get("prompts"))
    if prompts:
        return None, [{"role": "user", "content": content_text(prompts[0])}]
    text = content_text(data.get("input") or data.get("prompt") or data.get("question"))
    return None, ([{"role": "user", "content": text}] if text else [])


def _generation(outputs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(first generation, its message kwargs) from `generations` ([[...]] or [...])."""
    gens = as_list(outputs.get("generations"))
    first = gens[0] if gens else None
    if isinstance(first, list):
        first = first[0] if first else None
    gen = as_dict(first)
    msg = as_dict(gen.get("message"))
    return gen, as_dict(msg.get("kwargs")) or as_dict(msg.get("data")) or msg


def _output(outputs: dict[str, Any]) -> tuple[str | None, list[dict[str, Any]] | None, Any, dict[str, Any]]:
    """(text, tool calls, raw finish reason, usage_metadata) from the run's outputs."""
    if "generations" in outputs:
        gen, msg = _generation(outputs)
        text = content_text(msg.get("content")) if "content" in msg else opt_str(gen.get("text"))
        converted = _lc_message({"role": "assistant", **msg}) if msg else None
        reason = as_dict(gen.get("generation_info") or gen.get("generationInfo")).get("finish_reason") or \
            as_dict(msg.get("response_metadata")).get("finish_reason") or \
            as_dict(msg.get("response_metadata")).get("stop_reason")
        return text, (converted or {}).get("tool_calls"), reason, as_dict(msg.get("usage_metadata"))
    if isinstance(outputs.get("choices"), list):  # wrap_openai: the ChatCompletion itself
        choice = as_dict(outputs["choices"][0]) if outputs["choices"] else {}
        message = as_dict(choice.get("message"))
        return content_text(message.get("content")), dict_list(message.get("tool_calls")), \
            choice.get("finish_reason"), {}
    msg = as_dict(outputs.get("output")) or outputs
    converted = _lc_message(msg) or {}
    text = content_text(converted.get("content")) if "content" in msg or "kwargs" in msg else \
        (content_text(outputs.get("output")) if outputs.get("output") is not None else None)
    meta = as_dict(msg.get("kwargs")) or msg
    return text, converted.get("tool_calls"), as_dict(meta.get("response_metadata")).get("finish_reason"), \
        as_dict(meta.get("usage_metadata")) or as_dict(outputs.get("usage_metadata"))


# ------------------------------------------------------------------ usage, feedback


def usage_of(run: dict[str, Any], usage_metadata: dict[str, Any], file: str,
             line: int) -> dict[str, int] | None:
    """LangChain usage_metadata (inclusive), else the run's own token columns (with their detail dicts)."""
    um = usage_metadata or as_dict(run.get("usage_metadata"))
    if um.get("input_tokens") is not None or um.get("output_tokens") is not None:
        ind, outd = as_dict(um.get("input_token_details")), as_dict(um.get("output_token_details"))
        return usage_from_counts(
            input_tokens=tokens(um.get("input_tokens"), "usage_metadata.input_tokens", file, line),
            output_tokens=tokens(um.get("output_tokens"), "usage_metadata.output_tokens", file, line),
            cache_read=tokens(ind.get("cache_read"), "usage_metadata.input_token_details.cache_read", file, line),
            cache_write=tokens(ind.get("cache_creation"), "usage_metadata.input_token_details.cache_creation",
                               file, line),
            cache_write_1h=tokens(ind.get("ephemeral_1h_input_tokens"),
                                  "usage_metadata.input_token_details.ephemeral_1h_input_tokens", file, line),
            reasoning=tokens(outd.get("reasoning"), "usage_metadata.output_token_details.reasoning", file, line))
    if run.get("prompt_tokens") is None and run.get("completion_tokens") is None:
        outputs = as_dict(run.get("outputs"))
        llm_output = as_dict(outputs.get("llm_output") or outputs.get("llmOutput"))  # LangChain JS: camelCase
        token_usage = as_dict(llm_output.get("token_usage")) or _camel_usage(llm_output) or \
            as_dict(outputs.get("usage"))
        if token_usage.get("prompt_tokens") is None and token_usage.get("completion_tokens") is None:
            return None
        run = token_usage
    ind, outd = as_dict(run.get("prompt_token_details")), as_dict(run.get("completion_token_details"))
    return usage_from_counts(
        input_tokens=tokens(run.get("prompt_tokens"), "prompt_tokens", file, line),
        output_tokens=tokens(run.get("completion_tokens"), "completion_tokens", file, line),
        cache_read=tokens(ind.get("cache_read"), "prompt_token_details.cache_read", file, line),
        cache_write=tokens(ind.get("cache_creation"), "prompt_token_details.cache_creation", file, line),
        reasoning=tokens(outd.get("reasoning"), "completion_token_details.reasoning", file, line),
        total=opt_int(run.get("total_tokens")))


def _camel_usage(llm_output: dict[str, Any]) -> dict[str, Any]:
    """LangChain JS `llmOutput.tokenUsage` {promptTokens, completionTokens, totalTokens} in snake case."""
    usage = as_dict(llm_output.get("tokenUsage") or llm_output.get("estimatedTokenUsage"))
    return {snake: usage[camel] for camel, snake in (("promptTokens", "prompt_tokens"),
                                                      ("completionTokens", "completion_tokens"),
                                                      ("totalTokens", "total_tokens")) if camel in usage}


def feedback_of(stats: Any) -> list[Feedback]:
    """`feedback_stats` {key: {n, avg, values}} → one Feedback per key (see module docstring for `ok`)."""
    out: list[Feedback] = []
    for key, entry in as_dict(stats).items():
        entry = as_dict(entry)
        avg = opt_float(entry.get("avg"))  # negative averages are legitimate scores
        n = opt_int(entry.get("n")) or 0
        if avg is None and not entry.get("values"):
            continue
        ok = (avg == 1.0) if avg in (0.0, 1.0) and n >= 1 else None
        out.append(Feedback(source=SOURCE, name=str(key), score=avg, ok=ok, note=f"n={n}" if n else None))
    return out


# ------------------------------------------------------------------ runs


def _record(run: dict[str, Any], file: str, line: int) -> Record | Skipped:
    kind = opt_str(run.get("run_type"))
    if kind != "llm":
        return Skipped(file, f"LangSmith {kind or 'untyped'} run (not an LLM call)")
    ts = first_time(file, line, ("start_time", run.get("start_time")))
    if ts is None:
        ts = assumed_time(file, line)
    end = first_time(file, line, ("end_time", run.get("end_time")))
    extra = as_dict(run.get("extra"))
    params, meta = as_dict(extra.get("invocation_params")), as_dict(extra.get("metadata"))
    outputs = as_dict(run.get("outputs"))
    text, calls, reason, usage_metadata = _output(outputs)
    system, messages = _inputs(run.get("inputs"))
    llm_output = as_dict(outputs.get("llm_output") or outputs.get("llmOutput"))
    model = (opt_str(params.get("model")) or opt_str(params.get("model_name")) or opt_str(meta.get("ls_model_name"))
             or opt_str(llm_output.get("model_name")) or opt_str(outputs.get("model")) or "")
    error = opt_str(run.get("error"))
    provider = opt_str(meta.get("ls_provider"))
    fmt = params.get("response_format")
    metadata = {k: v for k, v in {
        "trace_id": opt_str(run.get("trace_id")), "parent_run_id": opt_str(run.get("parent_run_id")),
        "name": opt_str(run.get("name")), "session_id": opt_str(run.get("session_id")),
        "tags": run.get("tags") if isinstance(run.get("tags"), list) and run.get("tags") else None,
    }.items() if v}
    return validated(Record, {
        "id": opt_str(run.get("id")) or fallback_id(file, line, run),
        "source_format": NAME,
        "source": {"file": file, "line": line},
        "timestamp": ts,
        "provider": provider.lower() if provider else None,
        "model": model,
        "system": system,
        "messages": messages,
        "tools": dict_list(params.get("tools")),
        "response_format": fmt if isinstance(fmt, dict) else None,
        "max_tokens": opt_int(params.get("max_tokens")) or opt_int(params.get("max_completion_tokens")),
        "output": text if outputs else None,
        "output_tool_calls": calls or None,
        "finish_reason": FinishReason.error if error else finish(reason, _FINISH),
        "usage": usage_of(run, usage_metadata, file, line),
        "cost_reported": opt_number(run.get("total_cost")),
        "latency_ms": (end - ts).total_seconds() * 1000 if end is not None and end >= ts else None,
        "status": "error" if error or run.get("status") == "error" else "ok",
        "error": error or ("LangSmith run status error" if run.get("status") == "error" else None),
        "feedback": feedback_of(run.get("feedback_stats")),
        "metadata": metadata,
    })


def _flatten(run: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield run
    for child in as_list(run.get("child_runs")):
        if isinstance(child, dict):
            yield from _flatten(child)


def _done(run: dict[str, Any]) -> bool:
    return run.get("end_time") is not None or run.get("outputs") is not None or run.get("error") is not None


class _Pending:
    """Creates waiting for their update (and updates that came first), keyed by run id."""

    def __init__(self) -> None:
        self.runs: dict[str, tuple[int, dict[str, Any], bool]] = {}  # id → (line, merged run, create seen)

    def add(self, run: dict[str, Any], line: int, create: bool) -> tuple[int, dict[str, Any]] | None:
        """Merge a payload; the finished run (with the create's line) once both halves are in."""
        run_id = _run_id(run)
        if not run_id:
            return (line, run) if create else None
        if run_id in self.runs:
            old_line, old, had_create = self.runs.pop(run_id)
            merged = {**old, **{k: v for k, v in run.items() if v is not None}} if had_create else \
                {**run, **{k: v for k, v in old.items() if v is not None}}
            merged.setdefault("id", run_id)
            return (old_line if had_create else line), merged
        if create and _done(run):
            return line, run
        self.runs[run_id] = (line, run, create)
        return None


def parse(items: Iterable[Item], file: str) -> Iterator[Record | ParseError | Skipped]:
    """One Record per LLM run; other runs and unfinished payloads are skipped by reason."""
    pending = _Pending()
    for got in objects(items, file):
        if isinstance(got, ParseError):
            yield got
            continue
        line, obj = got
        if (_is_sdk_create(obj) and _is_run(obj)) or _is_sdk_update(obj):  # one payload per line (JS SDK dumps)
            ready = pending.add(obj, line, "run_type" in obj)
            if ready is not None:
                yield guarded(_record, ready[1], file, ready[0])
            continue
        if _is_run(obj):
            for run in _flatten(obj):
                yield guarded(_record, run, file, line)
            continue
        payloads = [(r, True) for r in as_list(obj.get("post")) or [obj.get("post")]] + \
            [(r, False) for r in as_list(obj.get("patch")) or [obj.get("patch")]]
        payloads = [(r, c) for r, c in payloads if r is not None]
        if not payloads:
            yield parse_error(file, line, "not a LangSmith run", "expected run_type, or post/patch payloads",
                              hint="pass --format if this file is not a LangSmith export")
            continue
        for run, create in payloads:
            if not isinstance(run, dict):
                yield parse_error(file, line, "run payload is not a JSON object", field="post" if create else "patch")
                continue
            ready = pending.add(run, line, create)
            if ready is not None:
                yield guarded(_record, ready[1], file, ready[0])
    for _, _, create in pending.runs.values():
        yield Skipped(file, UNFINISHED if create else ORPHAN_PATCH)
