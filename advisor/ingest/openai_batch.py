"""OpenAI Batch API files: the uploaded input JSONL and the downloaded output JSONL, joined on `custom_id`.

Input line:  `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body": {chat request}}`
Output line: `{"id", "custom_id", "response": {"status_code", "request_id", "body": {chat completion}}, "error"}`

:func:`parse_group` joins the input and output files that sit in one directory: the input
files are indexed by `custom_id` (OpenAI caps one batch file at 200 MB, so the index stays
bounded), then the outputs stream through. A lone output file still yields Records with
usage and output but no prompt text; a lone input file has no responses, so its lines are
skipped with a reason. Every Record has ``batch=True`` (billed at the batch discount).
Output lines carry no time of their own except the completion's `created`; a failed line
borrows the previous line's time (or the file's modification time), noted in metadata.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from advisor.ingest.common import (
    Item,
    Skipped,
    as_dict,
    first_dict,
    guarded,
    objects,
    opt_str,
    parse_error,
    timestamp,
)
from advisor.ingest.openai_chat import chat_record
from advisor.kernel.errors import ParseError
from advisor.kernel.record import Record

NAME = "openai_batch"
DESCRIPTION = "OpenAI Batch API input + output files (joined on custom_id, batch-priced)"
CHAT_URLS = ("/v1/chat/completions", "/chat/completions")
NO_RESPONSE = "batch request without a response"


def is_input(obj: dict) -> bool:
    return "custom_id" in obj and isinstance(obj.get("body"), dict) and ("url" in obj or "method" in obj)


def is_output(obj: dict) -> bool:
    return "custom_id" in obj and ("response" in obj or "error" in obj) and "body" not in obj


def sniff(obj: dict) -> bool:
    """A batch input line (custom_id + body) or output line (custom_id + response/error)."""
    return is_input(obj) or is_output(obj)


def _file_time(file: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.path.getmtime(file), tz=UTC)
    except OSError:
        return None


class _Joiner:
    """Turns output lines into Records, joining each with its indexed request when there is one."""

    def __init__(self, requests: dict[str, tuple[str, int, dict[str, Any]]]) -> None:
        self.requests = requests
        self.used: set[str] = set()
        self.last_time: dict[str, datetime] = {}

    def build(self, obj: dict[str, Any], file: str, line: int) -> Record | ParseError:
        custom_id = opt_str(obj.get("custom_id"))
        if not custom_id:
            return parse_error(file, line, "batch line has no custom_id", field="custom_id")
        response = as_dict(obj.get("response"))
        body = as_dict(response.get("body"))
        meta: dict[str, Any] = {"custom_id": custom_id}
        if opt_str(response.get("request_id")):
            meta["request_id"] = response["request_id"]
        if opt_str(obj.get("id")):
            meta["batch_request_id"] = obj["id"]
        joined = self.requests.get(custom_id)
        request: dict[str, Any] = {}
        if joined is not None:
            in_file, in_line, request = joined
            self.used.add(custom_id)
            meta["batch_input"] = f"{in_file}:{in_line}"
        else:
            meta["batch_input"] = None  # prompt text unknown: only usage and output
        fallback = None
        try:
            created = timestamp(body.get("created"))
        except (ValueError, OverflowError, OSError):
            created = None
        if created is None:
            fallback = self.last_time.get(file) or _file_time(file)
            meta["timestamp_estimated"] = True
        record = chat_record(request, body, file=file, line=line, source_format=NAME, log={},
                             status_code=response.get("status_code"), top_error=obj.get("error"),
                             record_id=custom_id, fallback_time=fallback, batch=True, extra_metadata=meta)
        self.last_time[file] = record.timestamp
        return record


def _index_inputs(items: Iterable[Item], file: str, requests: dict[str, tuple[str, int, dict[str, Any]]],
                  outputs: list[tuple[int, dict[str, Any]]]) -> Iterator[ParseError | Skipped]:
    """Index an input file's requests by custom_id; output lines found in it are kept for later."""
    for got in objects(items, file):
        if isinstance(got, ParseError):
            yield got
            continue
        line, obj = got
        if is_output(obj):
            outputs.append((line, obj))
        elif not is_input(obj) or not opt_str(obj.get("custom_id")):
            yield parse_error(file, line, "not a batch line", "expected custom_id with body (input) or response",
                              hint="pass --format if this file is not an OpenAI Batch file")
        elif opt_str(obj.get("url")) and obj["url"] not in CHAT_URLS:
            yield Skipped(file, f"unsupported batch endpoint {obj['url']}")
        else:
            requests[str(obj["custom_id"])] = (file, line, obj["body"])


def parse_group(sources: Sequence[tuple[str, Iterable[Item]]]) -> Iterator[Record | ParseError | Skipped]:
    """Join the input and output files of one batch (one directory): outputs stream, inputs are indexed."""
    requests: dict[str, tuple[str, int, dict[str, Any]]] = {}
    out_files: list[tuple[str, Iterable[Item]]] = []
    stray: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for file, items in sources:
        first, items = first_dict(items)
        if first is not None and is_output(first):
            out_files.append((file, items))
        else:
            stray[file] = []
            yield from _index_inputs(items, file, requests, stray[file])
    joiner = _Joiner(requests)
    for file, lines in stray.items():
        for line, obj in lines:
            yield guarded(joiner.build, obj, file, line)
    for file, items in out_files:
        if not requests:
            yield Skipped(file, count=0, note=f"{file}: batch output without its input file: records have usage and "
                                              "output but no prompt text (put batch_input.jsonl beside it)")
        for got in objects(items, file):
            if isinstance(got, ParseError):
                yield got
            elif is_input(got[1]):
                yield parse_error(file, got[0], "batch input line among outputs", field="custom_id")
            else:
                yield guarded(joiner.build, got[1], file, got[0])
    unmatched: dict[str, int] = {}
    for custom_id, (file, _, _) in requests.items():
        if custom_id not in joiner.used:
            unmatched[file] = unmatched.get(file, 0) + 1
    for file, n in unmatched.items():
        why = "no output file beside it" if not out_files else "no line with its custom_id in the output files"
        yield Skipped(file, NO_RESPONSE, count=n,
                      note=f"{file}: {n} batch request(s) skipped: {why} (they have no response, usage or time)")


def parse(items: Iterable[Item], file: str) -> Iterator[Record | ParseError | Skipped]:
    """A single batch file on its own: outputs become Records without prompts, inputs are skipped."""
    yield from parse_group([(file, items)])
