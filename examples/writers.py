"""Log writers: one neutral call dict in, the exact JSON a real tool would have logged out.

Each writer declares the files it fills (``roles`` → file name) and renders one call into
one JSON object per file. :func:`open_sink` does the rest (streaming, gzip, atomic
replace), so adding a format (Responses API, OTel, Langfuse, Helicone, LiteLLM, LangSmith)
is one subclass with ``render``/``record_id`` plus an entry in :data:`WRITERS`.

Token semantics follow each provider: OpenAI ``prompt_tokens`` *includes*
``prompt_tokens_details.cached_tokens``; Anthropic ``input_tokens`` *excludes* cache reads
and writes. The neutral call's ``usage.input_tokens`` is every prompt token (as in
:class:`advisor.kernel.record.Usage`).
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson

from advisor.kernel.io import atomic_open

Call = dict[str, Any]


def iso(ts: datetime) -> str:
    """UTC ISO 8601 with milliseconds and a Z, as most logging tools write it."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _token(call_id: str, salt: str, n: int) -> str:
    """A provider-looking id derived from the call id (deterministic, no RNG state consumed)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789"
    digest = hashlib.sha256(f"{salt}:{call_id}".encode()).digest()
    num = int.from_bytes(digest, "big")
    out = []
    for _ in range(n):
        num, r = divmod(num, len(alphabet))
        out.append(alphabet[r])
    return "".join(out)


class LogWriter:
    """Base class: subclasses set ``name``/``roles`` and implement ``render`` and ``record_id``."""

    name: ClassVar[str]
    roles: ClassVar[dict[str, str]]  # role -> file name (without .gz)
    description: ClassVar[str]

    def record_id(self, call: Call) -> str:
        """The id advise's ingest gives this record (labels.jsonl joins on it)."""
        raise NotImplementedError

    def render(self, call: Call) -> dict[str, dict[str, Any]]:
        """One JSON object per role for this call."""
        raise NotImplementedError


# ---------------------------------------------------------------- OpenAI Chat Completions


def openai_request(call: Call) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if call["system"]:
        messages.append({"role": "system", "content": call["system"]})
    messages += [{"role": m["role"], "content": m["content"]} for m in call["messages"]]
    req: dict[str, Any] = {"model": call["model"], "messages": messages}
    if call.get("response_format"):
        req["response_format"] = call["response_format"]
    req["max_tokens"] = call["max_tokens"]
    req["temperature"] = call["temperature"]
    return req


def openai_completion(call: Call, completion_id: str) -> dict[str, Any]:
    u = call["usage"]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(call["timestamp"].timestamp()),
        "model": call["model"],
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": call["output"], "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": call["finish_reason"],
        }],
        "usage": {
            "prompt_tokens": u["input_tokens"],  # includes cached_tokens
            "completion_tokens": u["output_tokens"],  # includes reasoning_tokens
            "total_tokens": u["input_tokens"] + u["output_tokens"],
            "prompt_tokens_details": {"cached_tokens": u["cache_read_tokens"], "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": u["reasoning_tokens"], "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_" + _token(call["model"], "fp", 10).lower(),
    }


_OPENAI_ERRORS = {
    429: ("rate_limit_exceeded", "requests", "Rate limit reached for requests. Please try again in 2s."),
    500: ("server_error", "server_error", "The server had an error while processing your request. Sorry about that!"),
    503: ("service_unavailable", "server_error", "The engine is currently overloaded, please try again later."),
}


def openai_error(call: Call) -> dict[str, Any]:
    code, typ, msg = _OPENAI_ERRORS.get(call["error"]["status_code"], _OPENAI_ERRORS[500])
    return {"error": {"message": msg, "type": typ, "param": None, "code": code}}


class OpenAIChatWriter(LogWriter):
    name = "openai_chat"
    roles = {"log": "openai_chat.jsonl"}
    description = ("OpenAI Chat Completions request/response pairs: {request, response, timestamp, latency_ms, "
                   "metadata}; failed calls carry status_code and the API's error body as response.")

    def record_id(self, call: Call) -> str:
        return "chatcmpl-" + _token(call["id"], "openai", 29)

    def render(self, call: Call) -> dict[str, dict[str, Any]]:
        line: dict[str, Any] = {"request": openai_request(call)}
        if call["status"] == "ok":
            line["response"] = openai_completion(call, self.record_id(call))
        else:
            line["response"] = openai_error(call)
            line["status_code"] = call["error"]["status_code"]
        line["timestamp"] = iso(call["timestamp"])
        line["latency_ms"] = call["latency_ms"]
        line["metadata"] = call["metadata"]
        return {"log": line}


class OpenAIBatchWriter(LogWriter):
    """Batch API files: the uploaded input JSONL and the downloaded output JSONL, joined on custom_id."""

    name = "openai_batch"
    roles = {"input": "batch_input.jsonl", "output": "batch_output.jsonl"}
    description = "OpenAI Batch API input and output files (joined on custom_id; billed at the batch discount)."

    def record_id(self, call: Call) -> str:
        return "request-" + call["id"][:16]

    def render(self, call: Call) -> dict[str, dict[str, Any]]:
        custom_id = self.record_id(call)
        request_id = _token(call["id"], "batch-req", 32).lower()
        out: dict[str, Any] = {"id": "batch_req_" + _token(call["id"], "batch", 24).lower(), "custom_id": custom_id}
        if call["status"] == "ok":
            body = openai_completion(call, "chatcmpl-" + _token(call["id"], "openai", 29))
            out["response"] = {"status_code": 200, "request_id": request_id, "body": body}
            out["error"] = None
        else:
            out["response"] = {"status_code": call["error"]["status_code"], "request_id": request_id,
                               "body": openai_error(call)}
            out["error"] = None  # HTTP errors live in response; `error` is for batch-level failures
        return {
            "input": {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                      "body": openai_request(call)},
            "output": out,
        }


# ---------------------------------------------------------------- Anthropic Messages

_ANTHROPIC_ERRORS = {
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    503: ("overloaded_error", "Overloaded"),
    529: ("overloaded_error", "Overloaded"),
}
_STOP = {"stop": "end_turn", "length": "max_tokens", "refusal": "refusal", "tool_calls": "tool_use"}


class AnthropicWriter(LogWriter):
    name = "anthropic"
    roles = {"log": "anthropic.jsonl"}
    description = ("Anthropic Messages request/response pairs: {request, response, timestamp, latency_ms, metadata}; "
                   "usage.input_tokens excludes cache reads/writes.")

    def record_id(self, call: Call) -> str:
        return "msg_01" + _token(call["id"], "anthropic", 22)

    def render(self, call: Call) -> dict[str, dict[str, Any]]:
        req: dict[str, Any] = {"model": call["model"], "max_tokens": call["max_tokens"]}
        if call["system"]:
            req["system"] = call["system"]
        req["messages"] = [{"role": m["role"], "content": m["content"]} for m in call["messages"]]
        req["temperature"] = call["temperature"]
        line: dict[str, Any] = {"request": req}
        if call["status"] == "ok":
            u = call["usage"]
            cache_read, cache_write = u["cache_read_tokens"], u["cache_write_tokens"]
            line["response"] = {
                "id": self.record_id(call),
                "type": "message",
                "role": "assistant",
                "model": call["model"],
                "content": [{"type": "text", "text": call["output"]}],
                "stop_reason": _STOP.get(call["finish_reason"], "end_turn"),
                "stop_sequence": None,
                "usage": {
                    "input_tokens": u["input_tokens"] - cache_read - cache_write,  # excludes cache
                    "cache_creation_input_tokens": cache_write,
                    "cache_read_input_tokens": cache_read,
                    "cache_creation": {"ephemeral_5m_input_tokens": cache_write, "ephemeral_1h_input_tokens": 0},
                    "output_tokens": u["output_tokens"],
                    "service_tier": "standard",
                },
            }
        else:
            status = call["error"]["status_code"]
            typ, msg = _ANTHROPIC_ERRORS.get(status, _ANTHROPIC_ERRORS[500])
            line["response"] = {"type": "error", "error": {"type": typ, "message": msg}}
            line["status_code"] = 529 if status == 503 else status
        line["timestamp"] = iso(call["timestamp"])
        line["latency_ms"] = call["latency_ms"]
        line["metadata"] = call["metadata"]
        return {"log": line}


# ---------------------------------------------------------------- advise canonical JSONL


class CanonicalWriter(LogWriter):
    """advise's own JSONL: one normalised record per line (fields of advisor.kernel.record.Record)."""

    name = "canonical"
    roles = {"log": "canonical.jsonl"}
    description = "advise canonical JSONL (one advisor.kernel.record.Record per line, token semantics already normalised)."

    def record_id(self, call: Call) -> str:
        return call["id"]

    def render(self, call: Call) -> dict[str, dict[str, Any]]:
        ok = call["status"] == "ok"
        u = call["usage"]
        rec: dict[str, Any] = {
            "id": self.record_id(call),
            "timestamp": iso(call["timestamp"]),
            "provider": call["provider"],
            "model": call["model"],
            "system": call["system"],
            "messages": call["messages"],
        }
        if call.get("response_format"):
            rec["response_format"] = call["response_format"]
        rec["max_tokens"] = call["max_tokens"]
        rec["output"] = call["output"] if ok else None
        rec["finish_reason"] = call["finish_reason"] if ok else "error"
        rec["usage"] = None if u is None else {
            "input_tokens": u["input_tokens"], "output_tokens": u["output_tokens"],
            "cache_read_tokens": u["cache_read_tokens"], "cache_write_tokens": u["cache_write_tokens"],
            "reasoning_tokens": u["reasoning_tokens"], "origin": "reported",
        }
        rec["latency_ms"] = call["latency_ms"]
        rec["status"] = call["status"]
        if not ok:
            rec["error"] = f"HTTP {call['error']['status_code']}: {call['error']['kind']}"
        rec["metadata"] = call["metadata"]
        return {"log": rec}


WRITERS: dict[str, LogWriter] = {w.name: w for w in (OpenAIChatWriter(), OpenAIBatchWriter(), AnthropicWriter(),
                                                     CanonicalWriter())}


def get_writer(name: str) -> LogWriter:
    from advisor.kernel.errors import AdviseError

    if name not in WRITERS:
        raise AdviseError(f"unknown log format {name!r}", field="--format",
                          hint="one of: " + ", ".join(WRITERS) + ", all")
    return WRITERS[name]


@contextmanager
def open_sink(writer: LogWriter, out_dir: Path, compress: bool) -> Iterator[tuple[Callable[[Call], None], list[Path]]]:
    """Stream calls into the writer's files; each file appears atomically when the block exits."""
    paths = [out_dir / (fname + (".gz" if compress else "")) for fname in writer.roles.values()]
    with ExitStack() as stack:
        handles: dict[str, Any] = {}
        for role, path in zip(writer.roles, paths, strict=True):
            raw = stack.enter_context(atomic_open(path, "wb"))
            if compress:  # mtime=0 and no file name: identical bytes for identical content
                raw = stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                        compresslevel=9))
            handles[role] = raw

        def write(call: Call) -> None:
            for role, obj in writer.render(call).items():
                handles[role].write(orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE))

        yield write, paths
