"""Ingest: every format parsed field by field, usage normalisation hand-checked, bad input reported."""

from __future__ import annotations

import gzip
import shutil
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import orjson
import pytest

from advisor.ingest import FileStats, IngestReport, format_names, read_records
from advisor.ingest.reader import iter_items
from advisor.kernel.errors import AdviseError, ParseError
from advisor.kernel.record import FinishReason, Origin, Record, replace

FIX = Path(__file__).parent / "fixtures" / "ingest"


def read(*paths: Path | str, **kw) -> tuple[list[Record], IngestReport, list[ParseError]]:
    report, errors = IngestReport(), []
    records = list(read_records([Path(p) for p in paths], report=report, on_error=errors.append, **kw))
    return records, report, errors


def by_id(records: list[Record]) -> dict[str, Record]:
    return {r.id: r for r in records}


# ------------------------------------------------------------------ OpenAI Chat Completions


def test_openai_chat_fields_and_usage() -> None:
    records, report, errors = read(FIX / "openai_chat" / "chat.jsonl")
    assert errors == [] and len(records) == 7
    assert report.files[0].format == "openai_chat" and report.files[0].records == 7
    r = records[0]
    assert r.id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
    assert r.source_format == "openai_chat" and r.source.line == 1 and r.provider == "openai"
    assert r.timestamp == datetime(2025, 3, 10, 1, 25, 52, 412000, tzinfo=UTC)
    assert r.model == "gpt-4o-mini-2024-07-18" and r.metadata["request_model"] == "gpt-4o-mini"
    # system and developer messages move to Record.system, in order; images are placeholders
    assert r.system == "You extract order details as JSON.\n\nNever invent fields."
    assert [m.role for m in r.messages] == ["user"]
    assert r.messages[0].content == "Order #4411: 2x walnut shelf, ship to Oslo.\n[image]"
    assert b"base64" not in msgspec.json.encode(r)
    assert r.response_format and r.response_format["type"] == "json_schema"
    assert r.max_tokens == 300 and r.latency_ms == 612.5 and r.service_tier == "default"
    assert r.output == '{"order_id":"4411","items":[{"sku":"walnut-shelf","qty":2}]}'
    assert r.finish_reason is FinishReason.stop and r.status == "ok" and not r.batch
    # prompt_tokens (2006) already includes the 1920 cached tokens
    assert r.usage is not None
    assert (r.usage.input_tokens, r.usage.cache_read_tokens, r.usage.uncached_input_tokens) == (2006, 1920, 86)
    assert (r.usage.output_tokens, r.usage.reasoning_tokens, r.usage.origin) == (31, 0, Origin.reported)
    assert [(f.source, f.ok, f.note) for f in r.feedback] == [("log:thumbs", False, "missing ship_to")]
    assert "feedback" not in r.metadata and r.metadata["app"] == "orders"


def test_openai_reasoning_tool_calls_refusal_error_azure_bare() -> None:
    recs = read(FIX / "openai_chat" / "chat.jsonl")[0]
    o3, tools, refusal, err, azure, bare = recs[1:]
    # o-series: reasoning tokens are a subset of completion tokens, billed as output
    assert o3.usage and (o3.usage.output_tokens, o3.usage.reasoning_tokens) == (1450, 1450)
    assert o3.finish_reason is FinishReason.length and o3.max_tokens == 1450 and o3.output == ""
    assert o3.timestamp == datetime.fromtimestamp(1741570000, tz=UTC)  # from response.created
    assert o3.system == "Answer with a number only."

    assert tools.finish_reason is FinishReason.tool_calls and tools.output is None
    assert tools.output_tool_calls and tools.output_tool_calls[0]["function"]["arguments"] == '{"city":"Oslo"}'
    assert [m.role for m in tools.messages] == ["user", "assistant", "tool", "user"]
    assert tools.messages[1].tool_calls and tools.messages[2].tool_call_id == "call_a1"
    assert tools.tools and tools.tools[0]["function"]["name"] == "get_weather"
    assert tools.timestamp == datetime(2025, 3, 10, 1, 28, 20, 250000, tzinfo=UTC)  # epoch milliseconds

    assert refusal.refusal == "I'm sorry, I can't help with that." and refusal.feedback[0].ok is True

    assert err.status == "error" and err.finish_reason is FinishReason.error and err.usage is None
    assert err.error and err.error.startswith("HTTP 429 rate_limit_exceeded: Rate limit reached")
    assert err.id == "log-000005" and err.model == "gpt-4o" and err.latency_ms == 88

    assert azure.model == "gpt-4o-2024-11-20" and azure.metadata["azure"] is True
    assert azure.finish_reason is FinishReason.content_filter and azure.metadata["deployment"] == "reviews-prod-4o"

    assert bare.id == "chatcmpl-BareResponse0000000000000000001" and bare.output == "Hi!"
    assert [m.content for m in bare.messages] == ["Say hi."]


# ------------------------------------------------------------------ Anthropic


def test_anthropic_usage_adds_cache_reads_and_writes() -> None:
    records, report, errors = read(FIX / "anthropic" / "messages.jsonl")
    assert errors == [] and len(records) == 5 and report.files[0].format == "anthropic"
    r = records[0]
    assert r.id == "msg_01XFDUDYJgAACzvnptvVoYEL" and r.provider == "anthropic"
    # input_tokens 24 excludes 1800 cache reads and 300 cache writes: Record input = 24 + 1800 + 300
    assert r.usage is not None
    assert (r.usage.input_tokens, r.usage.cache_read_tokens, r.usage.cache_write_tokens) == (2124, 1800, 300)
    assert (r.usage.cache_write_1h_tokens, r.usage.uncached_input_tokens, r.usage.output_tokens) == (100, 24, 350)
    assert r.service_tier == "standard" and r.latency_ms == 2310
    assert r.system == "You are Northwind's support assistant.\nPOLICY: refunds within 30 days. (long policy text)"
    assert r.finish_reason is FinishReason.stop and r.max_tokens == 1024
    assert [(f.source, f.ok, f.score, f.name) for f in r.feedback] == [
        ("log:thumbs", True, None, None), ("log:score", None, 0.9, "helpfulness")]


def test_anthropic_tools_thinking_stop_reasons_and_errors() -> None:
    _, tool, trunc, err, refusal = read(FIX / "anthropic" / "messages.jsonl")[0]
    assert tool.finish_reason is FinishReason.tool_calls
    assert tool.output == "Order 77 has shipped. Checking 78."  # thinking is not output text
    assert tool.metadata["thinking"] is True
    assert tool.output_tool_calls == [{"id": "toolu_01B", "type": "function",
                                       "function": {"name": "get_order", "arguments": '{"order_id":"78"}'}}]
    assert [m.role for m in tool.messages] == ["user", "assistant", "tool", "user"]
    assert tool.messages[2].tool_call_id == "toolu_01A" and tool.messages[2].content == '{"status":"shipped"}'
    assert tool.messages[3].content == "Also check order 78.\n[image]"
    assert tool.timestamp == datetime(2025, 3, 10, 9, 1, 0, 500000, tzinfo=UTC)  # epoch seconds (float)
    assert tool.usage and tool.usage.input_tokens == 512 and tool.usage.reasoning_tokens == 0

    assert trunc.finish_reason is FinishReason.length and trunc.usage and trunc.usage.output_tokens == 64
    assert err.status == "error" and err.error == "HTTP 529 overloaded_error: Overloaded"
    assert err.usage is None and err.id.startswith("line-")
    assert refusal.finish_reason is FinishReason.refusal and refusal.output == ""


# ------------------------------------------------------------------ OpenAI Batch


def test_batch_joins_input_and_output_on_custom_id() -> None:
    records, report, errors = read(FIX / "openai_batch")
    assert errors == []
    recs = by_id(records)
    assert list(recs) == ["request-2", "request-1", "request-3"]  # output order, not input order
    assert all(r.batch and r.source_format == "openai_batch" for r in records)
    two = recs["request-2"]
    assert two.system == "Tag the product category." and two.messages[0].content == "Linen duvet cover, king"
    assert two.response_format == {"type": "json_object"} and two.max_tokens == 10
    assert two.usage and (two.usage.input_tokens, two.usage.cache_read_tokens, two.usage.output_tokens) == (1500, 1280, 8)
    assert two.output == '{"category":"bedding"}' and two.source.file.endswith("batch_output.jsonl")
    assert two.metadata["batch_input"].endswith("batch_input.jsonl:2")
    assert two.timestamp == datetime.fromtimestamp(1741600000, tz=UTC)
    failed = recs["request-3"]
    assert failed.status == "error" and failed.error and failed.error.startswith("HTTP 500 server_error")
    assert failed.model == "gpt-4o-mini"  # from the joined request
    assert failed.timestamp == recs["request-1"].timestamp and failed.metadata["timestamp_estimated"]
    stats = {Path(f.path).name: f for f in report.files}
    assert stats["batch_input.jsonl"].skipped == {"unsupported batch endpoint /v1/embeddings": 1,
                                                  "batch request without a response": 1}
    assert stats["batch_output.jsonl"].records == 3 and stats["batch_input.jsonl"].lines == 5
    assert any("request(s) skipped" in n for n in report.notes)


def test_batch_output_only_keeps_usage_and_notes_missing_prompts() -> None:
    records, report, errors = read(FIX / "openai_batch" / "batch_output.jsonl")
    assert [r.id for r in records] == ["request-2", "request-1"]
    assert records[0].messages == [] and records[0].usage and records[0].usage.input_tokens == 1500
    assert any("no prompt text" in n for n in report.notes)
    # the failed line names no model without its input file: reported, not guessed
    assert [(e.line, e.field) for e in errors] == [(3, "model")]


def test_batch_input_only_is_skipped_with_a_reason() -> None:
    records, report, errors = read(FIX / "openai_batch" / "batch_input.jsonl")
    assert records == [] and errors == []
    assert report.files[0].skipped["batch request without a response"] == 4
    assert any("no output file" in n for n in report.notes)


# ------------------------------------------------------------------ canonical


def test_canonical_fields() -> None:
    records, report, errors = read(FIX / "canonical" / "calls.jsonl")
    assert errors == [] and report.files[0].format == "canonical"
    one, two, three, four = records
    assert one.id == "call-001" and one.model == "o4-mini" and one.provider == "openai"
    assert one.usage and (one.usage.input_tokens, one.usage.cache_read_tokens) == (1200, 1024)
    assert (one.usage.output_tokens, one.usage.reasoning_tokens) == (900, 832)
    assert one.cost_reported == pytest.approx(0.00528) and one.response_format == {"type": "json_object"}
    assert [(f.source, f.ok, f.category) for f in one.feedback] == [("log:reviewer", False, "schema")]
    assert two.timestamp == datetime(2025, 3, 11, 8, 1, tzinfo=UTC)  # epoch ms
    assert two.usage and (two.usage.cache_write_tokens, two.usage.cache_write_1h_tokens) == (300, 100)
    assert [m.role for m in two.messages] == ["user", "assistant", "user"] and two.feedback[0].ok is True
    assert three.status == "error" and three.finish_reason is FinishReason.error and three.usage is None
    assert four.system == "Be terse." and four.usage and four.usage.origin is Origin.estimated


# ------------------------------------------------------------------ reader, detection, directories


def test_gzip_gives_the_same_records_as_plain() -> None:
    plain = read(FIX / "openai_chat" / "chat.jsonl")[0]
    packed, report, _ = read(FIX / "openai_chat" / "chat.jsonl.gz")
    assert report.files[0].format == "openai_chat" and len(report.files[0].sha256 or "") == 64
    assert [replace(r, source=None) for r in packed] == [replace(r, source=None) for r in plain]


def test_gzip_is_sniffed_by_magic_not_suffix(tmp_path: Path) -> None:
    odd = tmp_path / "calls.jsonl"  # gzip bytes without .gz
    odd.write_bytes((FIX / "openai_chat" / "chat.jsonl.gz").read_bytes())
    assert len(read(odd)[0]) == 7


def test_truncated_gzip_is_a_reported_line_not_a_crash(tmp_path: Path) -> None:
    data = gzip.compress((FIX / "anthropic" / "messages.jsonl").read_bytes() * 50)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    records, report, errors = read(cut)
    assert records and errors and "truncated gzip" in errors[-1].message


def test_directory_mixed_formats_ignores_non_logs() -> None:
    records, report, errors = read(FIX / "mixed")
    assert errors == []
    formats = {Path(f.path).relative_to(FIX / "mixed").as_posix(): f.format for f in report.files}
    assert formats == {"canonical.json": "canonical", "nested/anthropic.jsonl": "anthropic",
                       "openai.jsonl.gz": "openai_chat"}  # sorted, recursive
    assert [Path(p).name for p, _ in report.ignored] == ["labels.jsonl", "truth.json"]
    assert len(records) == 6 and report.records == 6
    assert [r.source.line for r in records if r.source_format == "canonical"] == [1, 2]


def test_forced_format_and_unknown_format_name() -> None:
    records, report, _ = read(FIX / "anthropic" / "messages.jsonl", format="anthropic")
    assert len(records) == 5
    with pytest.raises(AdviseError, match="unknown format 'nope'"):
        list(read_records([FIX / "anthropic" / "messages.jsonl"], format="nope"))
    names = format_names()
    assert names[:2] == ["canonical", "openai_batch"] and names[-2:] == ["anthropic", "openai_chat"]
    assert {"openai_responses", "otel", "langfuse", "helicone", "litellm", "langsmith"} <= set(names)


def test_unknown_format_error_names_file_keys_and_formats(tmp_path: Path) -> None:
    f = tmp_path / "weird.jsonl"
    f.write_text('{"prompt_id": 1, "text": "hi"}\n')
    with pytest.raises(AdviseError) as exc:
        list(read_records([f]))
    text = exc.value.render()
    assert str(f) in text and "prompt_id, text" in text and "openai_chat" in text and "--format" in text


def test_empty_missing_and_unreadable_inputs(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(AdviseError, match="file is empty") as exc:
        list(read_records([empty]))
    assert exc.value.file == str(empty)
    with pytest.raises(AdviseError, match="no such file"):
        list(read_records([tmp_path / "missing.jsonl"]))
    (tmp_path / "d").mkdir()
    with pytest.raises(AdviseError, match="no log files"):
        list(read_records([tmp_path / "d"]))
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("not json\nnor this\n")
    with pytest.raises(AdviseError, match="cannot tell the log format"):
        list(read_records([garbage]))


def test_malformed_lines_reported_with_line_numbers_and_counted() -> None:
    path = FIX / "malformed" / "chat_malformed.jsonl"
    records, report, errors = read(path)
    assert [r.source.line for r in records] == [1, 7, 11]
    got = [(e.line, getattr(e, "reason", None), e.field) for e in errors]
    assert got == [
        (2, "invalid JSON", None),
        (4, "not a JSON object", None),
        (5, "record has no model", "model"),
        (6, "negative token count", "usage.prompt_tokens"),
        (8, "invalid UTF-8", None),
        (9, "invalid usage", "usage"),
        (10, "record has no timestamp", "timestamp"),
    ]
    assert all(e.file == str(path) for e in errors)
    assert errors[0].render().startswith(f"{path}:2: invalid JSON")
    stats = report.files[0]
    assert isinstance(stats, FileStats) and stats.lines == 10 and stats.records == 3
    assert sum(stats.skipped.values()) == 7 and report.error_count == 7 and len(report.errors) == 7


def test_strict_raises_the_first_malformed_line() -> None:
    path = FIX / "malformed" / "chat_malformed.jsonl"
    seen = []
    with pytest.raises(ParseError) as exc:
        for r in read_records([path], strict=True):
            seen.append(r.id)
    assert exc.value.line == 2 and seen == ["chatcmpl-ok1"]


def test_single_json_document_and_wrapper(tmp_path: Path) -> None:
    lines = (FIX / "canonical" / "calls.jsonl").read_text().splitlines()
    doc = tmp_path / "export.json"
    doc.write_text(orjson.dumps({"data": [orjson.loads(x) for x in lines]}, option=orjson.OPT_INDENT_2).decode())
    assert [i for i, _ in iter_items(doc)] == [1, 2, 3, 4]
    assert [r.id for r in read(doc)[0]] == ["call-001", "call-002", "call-003", "call-004"]
    jsonl_named_json = tmp_path / "lines.json"
    jsonl_named_json.write_text("\n".join(lines) + "\n")
    assert len(read(jsonl_named_json)[0]) == 4


def test_reader_skips_blank_lines_and_bom(tmp_path: Path) -> None:
    f = tmp_path / "bom.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + b'{"a": 1}\n\n   \n{"b": 2}\n')
    assert list(iter_items(f)) == [(1, {"a": 1}), (4, {"b": 2})]


def test_read_records_is_lazy_and_streams(tmp_path: Path) -> None:
    line = (FIX / "openai_chat" / "chat.jsonl").read_text().splitlines()[6]
    big = tmp_path / "big.jsonl"
    with big.open("w") as fh:
        for _ in range(20_000):
            fh.write(line + "\n")
    gen = read_records([tmp_path / "not-there-yet.jsonl"])  # nothing happens until iterated
    with pytest.raises(AdviseError):
        next(gen)
    report = IngestReport()
    stream = read_records([big], report=report)
    first = next(stream)
    assert first.source.line == 1
    # only the sniffing head has been read, not the 20,000 lines
    assert report.files[0].lines <= 21
    stream.close()


def test_stable_fallback_ids(tmp_path: Path) -> None:
    a = tmp_path / "elsewhere" / "messages.jsonl"
    a.parent.mkdir()
    shutil.copy(FIX / "anthropic" / "messages.jsonl", a)
    ids_here = [r.id for r in read(a)[0]]
    ids_there = [r.id for r in read(FIX / "anthropic" / "messages.jsonl")[0]]
    assert ids_here == ids_there  # an id-less error line keeps its id when the file moves
