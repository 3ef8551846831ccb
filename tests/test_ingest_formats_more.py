"""Fixture tests for the observability formats (issue 10): hand-checked tokens, costs, feedback, skips.

Token figures follow advisor.kernel.record semantics (input includes cache reads/writes, output includes
reasoning); costs use tests/fixtures/ingest_more/prices.toml (round numbers, per 1M tokens).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.ingest import (
    IngestReport,
    helicone,
    langfuse,
    langsmith,
    litellm,
    openai_responses,
    otel,
    read_records,
    registry,
)
from advisor.kernel.errors import ParseError
from advisor.kernel.record import FinishReason, Record

MORE = Path(__file__).parent / "fixtures" / "ingest_more"
NEW = (litellm, helicone, langsmith, langfuse, otel, openai_responses)
# Registry order the lead should use (most specific first): LiteLLM/Helicone rows carry OpenAI-shaped
# responses, so they must be asked before openai_chat.
ORDER = ["canonical", "openai_batch", "litellm", "helicone", "langsmith", "langfuse", "otel", "openai_responses",
         "anthropic", "openai_chat"]


@pytest.fixture(autouse=True)
def all_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the new formats (until the lead wires them into advisor/ingest/registry.py)."""
    mods = {**registry.FORMATS, **{m.NAME: m for m in NEW}}
    wanted = {n: mods[n] for n in ORDER if n in mods}
    wanted.update({n: m for n, m in mods.items() if n not in wanted})
    monkeypatch.setattr(registry, "FORMATS", registry.FORMATS)  # restore the same dict object afterwards
    saved = dict(registry.FORMATS)
    registry.FORMATS.clear()
    registry.FORMATS.update(wanted)
    yield
    registry.FORMATS.clear()
    registry.FORMATS.update(saved)


def read(path: Path, **kw) -> tuple[dict[str, Record], IngestReport, list[ParseError]]:
    report, errors = IngestReport(), []
    records = {r.id: r for r in read_records([path], report=report, on_error=errors.append, **kw)}
    return records, report, errors


def counts(r: Record) -> tuple[int, int, int, int, int]:
    u = r.usage
    assert u is not None
    return u.input_tokens, u.cache_read_tokens, u.cache_write_tokens, u.output_tokens, u.reasoning_tokens


def cost(r: Record) -> float:
    from advisor.pricing import PriceBook

    return PriceBook(MORE / "prices.toml").cost(r)


# ------------------------------------------------------------------ OpenAI Responses


def test_openai_responses_fixture() -> None:
    recs, report, errors = read(MORE / "openai_responses.jsonl")
    assert not errors and report.files[0].format == "openai_responses"
    r = recs["resp_001"]
    assert counts(r) == (1500, 1024, 0, 300, 0)  # input_tokens already includes cached_tokens
    assert r.system and r.system.startswith("You are a support assistant")
    assert r.messages[0].content == "Where is my order 1234?"
    assert r.response_format and r.response_format["json_schema"]["name"] == "answer"
    assert r.max_tokens == 400 and r.latency_ms == 812.5 and r.finish_reason == FinishReason.stop
    assert [f.ok for f in r.feedback] == [False]
    # (1500-1024)*0.15 + 1024*0.075 + 300*0.60 per 1M = 71.4 + 76.8 + 180 µ$ = $0.0003282
    assert cost(r) == pytest.approx(0.0003282)
    r2 = recs["resp_002"]  # bare Response: incomplete at max_output_tokens, reasoning inside output
    assert counts(r2) == (2000, 0, 0, 1000, 960)
    assert r2.finish_reason == FinishReason.length
    assert r2.output_tool_calls and r2.output_tool_calls[0]["function"]["name"] == "lookup_order"
    r3 = recs["resp_003"]
    assert r3.status == "error" and "failed to generate" in (r3.error or "") and r3.usage is None


# ------------------------------------------------------------------ OpenTelemetry


def test_otel_otlp_document() -> None:
    recs, report, errors = read(MORE / "otel_export.json")
    assert not errors
    assert report.files[0].skipped == {"not a GenAI model-call span": 1, "execute_tool span (not a model call)": 1}
    chat = recs["eee19b7ec3c1b174"]  # intValue strings, ns timestamps, new semconv messages
    assert counts(chat) == (1200, 1024, 0, 150, 0)
    assert chat.model == "gpt-4o-2024-08-06" and chat.max_tokens == 500
    assert chat.latency_ms == pytest.approx(1250.0)
    assert chat.timestamp.isoformat().startswith("2025-03-03T11:06:40.123456")
    assert chat.messages[0].content == "Track order 42" and chat.output == '{"answer": "in transit"}'
    assert chat.metadata["service"] == "support-bot" and chat.metadata["trace_id"].startswith("5b8efff7")
    claude = recs["ccc19b7ec3c1b174"]  # old gen_ai.system name; Anthropic-style cache on top of input
    assert claude.provider == "anthropic" and counts(claude) == (3050, 3000, 0, 200, 0)
    assert claude.finish_reason == FinishReason.length
    # 50*3 + 3000*0.30 + 200*15 per 1M = $0.00405
    assert cost(claude) == pytest.approx(0.00405)
    err = recs["ddd19b7ec3c1b174"]
    assert err.status == "error" and err.error == "429 Too Many Requests" and err.usage is None


def test_otel_flat_spans_old_names_and_events() -> None:
    recs, _, errors = read(MORE / "otel_spans.jsonl")
    assert not errors
    old = recs["1111aaaa2222bbbb"]  # OpenLLMetry: prompt_tokens names, indexed prompt attributes, OpenLit cost
    assert counts(old) == (900, 0, 0, 100, 0)
    assert old.system and old.messages[0].content == "Cancel order 7"
    assert old.cost_reported == pytest.approx(0.000195)
    assert cost(old) == pytest.approx(900 * 0.15e-6 + 100 * 0.6e-6)  # = $0.000195, matches the log
    ev = recs["2222aaaa2222bbbb"]  # console exporter JSON with message events
    assert ev.messages[0].content == "Refund?" and ev.output == "Refunds take"
    assert ev.finish_reason == FinishReason.length and ev.latency_ms == pytest.approx(640.0)
    assert ev.metadata["service"] == "billing-bot"


def test_usage_from_counts_decides_by_total() -> None:
    on_top = otel.usage_from_counts(input_tokens=100, output_tokens=10, cache_read=400, total=510)
    assert on_top["input_tokens"] == 500
    inside = otel.usage_from_counts(input_tokens=500, output_tokens=10, cache_read=400, total=510)
    assert inside["input_tokens"] == 500
    reasoning_apart = otel.usage_from_counts(input_tokens=5, output_tokens=20, reasoning=80, total=105)
    assert reasoning_apart["output_tokens"] == 100


# ------------------------------------------------------------------ Langfuse


def test_langfuse_export() -> None:
    recs, report, errors = read(MORE / "langfuse.jsonl")
    assert not errors
    assert report.files[0].skipped == {"Langfuse SPAN observation (not an LLM call)": 1}
    g1 = recs["obs-gen-1"]  # usageDetails with details apart: total 1580 = 476 + 1024 + 80
    assert counts(g1) == (1500, 1024, 0, 80, 0)
    assert g1.cost_reported == pytest.approx(0.0001962)
    assert cost(g1) == pytest.approx(476 * 0.15e-6 + 1024 * 0.075e-6 + 80 * 0.6e-6)  # $0.0001962, same as Langfuse
    assert [(f.source, f.name, f.ok) for f in g1.feedback] == [("langfuse-score", "user-feedback", False)]
    assert g1.latency_ms == pytest.approx(1250.0) and g1.max_tokens == 300
    g2 = recs["obs-gen-2"]  # Anthropic keys, no total: cache on top of input
    assert counts(g2) == (2520, 2000, 500, 40, 0) and g2.provider == "anthropic"
    # 20*3 + 2000*0.3 + 500*3.75 + 40*15 per 1M = $0.003135
    assert cost(g2) == pytest.approx(0.003135)
    assert g2.system and g2.messages[0].content == "Is it raining?"
    g3 = recs["obs-gen-3"]
    assert g3.status == "error" and g3.error == "Request timed out" and counts(g3) == (3, 0, 0, 0, 0)
    g4 = recs["obs-gen-4"]  # total 510 = input + output → output already includes the 480 reasoning tokens
    assert counts(g4) == (10, 0, 0, 500, 480)


def test_langfuse_scores_file_joined_in_directory() -> None:
    recs, report, errors = read(MORE / "langfuse_dir")
    assert not errors and report.records == 2
    assert [(f.name, f.ok, f.score) for f in recs["obs-A"].feedback] == [("correctness", True, 1.0)]
    b = {f.name: f for f in recs["obs-B"].feedback}
    assert b["helpfulness"].ok is None and b["helpfulness"].score == 0.25 and b["helpfulness"].note == "not helpful"
    assert b["sentiment"].ok is False


# ------------------------------------------------------------------ Helicone


def test_helicone_export() -> None:
    recs, _, errors = read(MORE / "helicone.jsonl")
    assert not errors
    h1 = recs["hel-1"]
    assert counts(h1) == (2048, 1920, 0, 12, 0) and h1.source_format == "helicone"
    assert h1.response_format == {"type": "json_object"} and h1.latency_ms == 640
    assert h1.metadata["Helicone-Property-Feature"] == "greeting"
    assert [(f.source, f.ok) for f in h1.feedback] == [("helicone", True)]
    # 128*0.15 + 1920*0.075 + 12*0.6 per 1M = $0.0001704
    assert cost(h1) == pytest.approx(0.0001704)
    h2 = recs["hel-2"]  # Anthropic body: input_tokens excludes cache reads
    assert counts(h2) == (1830, 1800, 0, 25, 0) and h2.provider == "anthropic"
    assert {(f.name, f.ok) for f in h2.feedback} == {("rating", False), ("accuracy", None)}
    h3 = recs["hel-3"]  # no stored body: Helicone's columns, Anthropic cache on top
    assert counts(h3) == (1300, 1000, 200, 50, 0)


# ------------------------------------------------------------------ LiteLLM


def test_litellm_payload_and_spend_logs() -> None:
    recs, report, errors = read(MORE / "litellm.jsonl")
    assert not errors
    assert report.files[0].skipped == {litellm.NOT_CHAT: 1}
    l1 = recs["chatcmpl-l1"]
    assert counts(l1) == (1800, 1024, 0, 600, 0) and l1.cost_reported == 0.00063
    assert l1.latency_ms == pytest.approx(1250.0) and l1.metadata["model_group"] == "support-small"
    assert l1.timestamp.isoformat() == "2025-03-03T14:00:00.250000+00:00"
    # 776*0.15 + 1024*0.075 + 600*0.6 per 1M = $0.0005532
    assert cost(l1) == pytest.approx(0.0005532)
    s2 = recs["spend-2"]  # timezone-less datetimes read as UTC; LiteLLM's OpenAI-style Anthropic usage
    assert s2.timestamp.isoformat() == "2025-03-03T15:00:00+00:00" and s2.latency_ms == pytest.approx(2500.0)
    assert counts(s2) == (2330, 2000, 300, 200, 0) and s2.cost_reported == 0.0021
    f3 = recs["fail-3"]
    assert f3.status == "error" and f3.error == "HTTP 408: litellm.Timeout: Request timed out"


# ------------------------------------------------------------------ LangSmith


def test_langsmith_runs_and_post_patch() -> None:
    recs, report, errors = read(MORE / "langsmith.jsonl")
    assert not errors
    assert report.files[0].skipped == {"LangSmith chain run (not an LLM call)": 1, langsmith.UNFINISHED: 1}
    r1 = recs["11111111-1111-4111-8111-111111111111"]
    assert counts(r1) == (1300, 1152, 0, 210, 0) and r1.model == "gpt-4o-mini"
    assert r1.system and r1.messages[0].content == "Warranty length?" and r1.output == '{"answer": "2 years"}'
    assert r1.latency_ms == pytest.approx(2000.0) and r1.timestamp.tzinfo is not None
    fb = {f.name: f for f in r1.feedback}
    assert fb["correctness"].ok is False and fb["user_score"].ok is None and fb["user_score"].score == 0.7
    r3 = recs["33333333-3333-4333-8333-333333333333"]  # JS SDK post + patch, epoch ms
    assert r3.source.line == 3 and r3.latency_ms == pytest.approx(3500.0)
    assert counts(r3) == (2520, 2000, 500, 30, 0) and r3.output == "Here is your label."
    assert r3.finish_reason == FinishReason.stop
    # 20*3 + 2000*0.3 + 500*3.75 + 30*15 per 1M = $0.002985
    assert cost(r3) == pytest.approx(0.002985)


# ------------------------------------------------------------------ detection, mixed directories


@pytest.mark.parametrize(("name", "fmt"), [
    ("openai_responses.jsonl", "openai_responses"), ("otel_export.json", "otel"), ("otel_spans.jsonl", "otel"),
    ("langfuse.jsonl", "langfuse"), ("helicone.jsonl", "helicone"), ("litellm.jsonl", "litellm"),
    ("langsmith.jsonl", "langsmith"),
])
def test_autodetect(name: str, fmt: str) -> None:
    _, report, _ = read(MORE / name)
    assert report.files[0].format == fmt


def test_mixed_directory_one_call() -> None:
    recs, report, errors = read(MORE / "mixed")
    assert not errors
    per_format: dict[str, int] = {}
    for f in report.files:
        per_format[f.format or "?"] = per_format.get(f.format or "?", 0) + f.records
    assert per_format == {"openai_chat": 1, "helicone": 3, "langfuse": 4, "langsmith": 2, "litellm": 3,
                          "openai_responses": 3, "otel": 5}
    assert sum(per_format.values()) == len(recs) == 21
    assert {r.source_format for r in recs.values()} == set(per_format)


def test_bad_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "lf.jsonl"
    good = (MORE / "langfuse.jsonl").read_text().splitlines()[1]
    p.write_text(good + "\n" + good.replace('"input": 20', '"input": -5') + "\n{not json\n")
    recs, report, errors = read(p)
    assert len(recs) == 1
    assert [(e.line, e.field) for e in errors] == [(2, "usageDetails.input"), (3, None)]
    assert report.files[0].skipped == {"negative token count": 1, "invalid JSON": 1}
