"""Automatic and user checks, one behaviour each; config validation errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from advisor.failures.checks import check_record, error_kind, parse_json_leniently
from advisor.failures.config import FailureConfig, failure_config
from advisor.kernel.errors import AdviseError
from advisor.kernel.record import Message, Record, SourceRef

JSON_MODE = {"type": "json_object"}


def rec(output: str | None = "fine", **kw) -> Record:
    base = dict(id="r1", source_format="test", source=SourceRef(file="t.jsonl", line=1),
                timestamp=datetime(2025, 3, 3, 12, tzinfo=UTC), model="gpt-4o",
                messages=[Message(role="user", content="hi")], output=output, finish_reason="stop")
    base.update(kw)
    return Record(**base)


def sigs(record: Record, cfg: FailureConfig | None = None) -> list[str]:
    return [f.signature for f in check_record(record, cfg or FailureConfig())]


def test_clean_text_passes():
    assert sigs(rec("All good, here is your answer.")) == []


def test_valid_json_passes_and_invalid_json_is_flagged_only_when_json_was_requested():
    assert sigs(rec('{"a": 1}', response_format=JSON_MODE)) == []
    assert sigs(rec("not json at all", response_format=JSON_MODE)) == ["format:invalid_json"]
    assert sigs(rec("not json at all")) == []  # JSON not requested


def test_user_json_flag_requests_json_without_response_format():
    cfg = failure_config({"json": True})
    assert sigs(rec("plain words"), cfg) == ["format:invalid_json"]


def test_code_fence_and_prose_around_json_get_their_own_signatures():
    assert sigs(rec('```json\n{"a": 1}\n```', response_format=JSON_MODE)) == ["format:json_code_fence"]
    assert sigs(rec('Sure! Here it is: {"a": 1}', response_format=JSON_MODE)) == ["format:json_with_prose"]
    assert parse_json_leniently('```\n{"a": 2}\n```') == ({"a": 2}, "json_code_fence")


def test_schema_from_response_format_names_missing_and_mistyped_fields():
    schema = {"type": "object", "required": ["sku", "price"],
              "properties": {"sku": {"type": "string"}, "price": {"type": "number"}},
              "additionalProperties": False}
    rf = {"type": "json_schema", "json_schema": {"name": "p", "schema": schema, "strict": True}}
    assert sigs(rec('{"sku": "A-1", "price": 3}', response_format=rf)) == []
    assert sigs(rec('{"sku": "A-1"}', response_format=rf)) == ["schema:missing:price"]
    assert sigs(rec('{"sku": "A-1", "price": "3 EUR"}', response_format=rf)) == ["schema:type:price"]
    assert sigs(rec('{"sku": "A-1", "price": 3, "x": 1}', response_format=rf)) == ["schema:extra:x"]


def test_user_schema_file_wins_and_is_validated(tmp_path):
    good = tmp_path / "schema.json"
    good.write_text('{"type": "object", "required": ["name"]}')
    cfg = failure_config({"schema": "schema.json"}, base_dir=tmp_path)
    assert cfg.wants_json
    assert sigs(rec('{"title": "x"}'), cfg) == ["schema:missing:name"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": 12}')
    with pytest.raises(AdviseError) as e:
        failure_config({"schema": "bad.json"}, base_dir=tmp_path, config_file="advise.toml")
    assert e.value.field == "failures.schema"
    with pytest.raises(AdviseError, match="not found"):
        failure_config({"schema": "missing.json"}, base_dir=tmp_path, config_file="advise.toml")


def test_truncation_is_reported_and_not_doubled_as_invalid_json():
    r = rec('{"a": [1, 2', response_format=JSON_MODE, finish_reason="length", max_tokens=5)
    assert sigs(r) == ["truncation:max_tokens"]


def test_content_filter_refusals_empty_and_errors():
    assert sigs(rec("", finish_reason="content_filter")) == ["content_filter"]
    assert sigs(rec(None, refusal="I can't help with that.")) == ["refusal:field"]
    assert sigs(rec("", finish_reason="refusal")) == ["refusal:stop_reason"]
    assert sigs(rec("I'm sorry, but I can't assist with that request.")) == ["refusal:phrase"]
    assert sigs(rec("   ")) == ["empty:output"]
    assert sigs(rec(None, output_tool_calls=[{"id": "c1", "function": {"name": "f"}}], finish_reason="tool_calls")) == []
    assert sigs(rec(None, status="error", finish_reason="error", error="HTTP 429 rate_limit_exceeded")) == [
        "provider:rate_limit"]
    assert error_kind("HTTP 529 overloaded_error") == "overloaded"
    assert error_kind("HTTP 503 Service Unavailable") == "server_error"


def test_dont_know_phrasing_is_a_knowledge_failure():
    f = check_record(rec("I don't have information about the current fees, sorry."), FailureConfig())
    assert [(x.signature, x.category) for x in f] == [("knowledge:no_answer", "factual")]


def test_user_checks_regex_max_chars_and_required_fields():
    cfg = failure_config({"checks": [
        {"name": "bullets", "category": "format", "must_match": r"(?m)^• .+\.$"},
        {"name": "no-hype", "category": "style", "must_not_match": r"(?i)\b(amazing|stunning)\b|!"},
        {"name": "short", "max_chars": 40},
        {"name": "fields", "category": "schema", "required_fields": ["sku", "name"]},
    ]})
    ok_text = "• Soft linen.\n"
    got = sigs(rec(ok_text), cfg)
    assert "check:bullets" not in got and "check:no-hype" not in got and "check:short" not in got
    assert "check:fields" in got  # not JSON at all
    assert "check:bullets" in sigs(rec("- Soft linen."), cfg)
    assert "check:no-hype" in sigs(rec("• An amazing pillow."), cfg)
    assert "check:short" in sigs(rec("• " + "x" * 60 + "."), cfg)
    assert "check:fields" not in sigs(rec('{"sku": "A", "name": "B"}'), cfg)
    fence = sigs(rec('```json\n{"sku": "A", "name": "B"}\n```'), cfg)
    assert "check:fields" not in fence  # the fence is a format problem, not a missing field
    detail = [f.detail for f in check_record(rec('{"sku": "A"}'), cfg) if f.signature == "check:fields"]
    assert detail == ["missing: name"]


@pytest.mark.parametrize("raw, field", [
    ({"checks": [{"name": "x", "must_match": "("}]}, "failures.checks.0.must_match"),
    ({"checks": [{"name": "x"}]}, "failures.checks.0"),
    ({"checks": [{"name": "x", "max_chars": 3, "category": "vibes"}]}, "failures.checks.0.category"),
    ({"unknown": 1}, "failures.unknown"),
])
def test_bad_config_names_the_field(raw, field):
    with pytest.raises(AdviseError) as e:
        failure_config(raw, config_file="advise.toml")
    assert e.value.file == "advise.toml"
    assert e.value.field == field
    assert e.value.hint


def test_toml_section_from_the_generator_schema(tmp_path):
    from advisor.failures import from_advise_config
    from advisor.kernel.config import load_config

    (tmp_path / "advise.toml").write_text(
        '[failures]\njson = false\n[[failures.checks]]\nname = "bullets"\ncategory = "format"\n'
        "must_match = '(?m)^• .+\\.$'\ndescription = \"Three bullets.\"\n", encoding="utf-8")
    cfg = from_advise_config(load_config(tmp_path / "advise.toml"))
    assert [c.signature for c in cfg.checks] == ["check:bullets"]
    assert sigs(rec("• Fine."), cfg) == []


def test_one_bullet_answer_fails_a_three_bullet_rule():
    cfg = failure_config({"checks": [{"name": "bullets", "count_pattern": r"(?m)^• [A-Z].*\.$", "count": 3}]})
    three = "Lamp — quiet order.\n• Dimmable.\n• Oak base.\n• Cable cut-out.\nMade to last."
    one = "Lamp — quiet order.\n• Dimmable, oak base and a cable cut-out.\nMade to last."
    four = three.replace("Made", "• Extra.\nMade")
    assert sigs(rec(three), cfg) == []
    assert sigs(rec(one), cfg) == ["check:bullets"]
    assert sigs(rec(four), cfg) == ["check:bullets"]
    detail = check_record(rec(one), cfg)[0].detail
    assert "1 matches" in detail and "exactly 3" in detail
    # the old regex search is satisfied by the single bullet: that is why counts exist
    search = failure_config({"checks": [{"name": "b", "must_match": r"(?m)^• .+\.$"}]})
    assert sigs(rec(one), search) == []


def test_min_max_count_full_match_and_each_line():
    cfg = failure_config({"checks": [
        {"name": "few", "count_pattern": r"\d", "min_count": 1, "max_count": 2},
        {"name": "whole", "full_match": r"[a-z0-9 ]+"},
        {"name": "lines", "each_line_match": r"[a-z]+ \d"},
    ]})
    assert sigs(rec("abc 1\nxyz 2"), cfg) == ["check:whole"]  # newline is outside the full-match class
    assert sigs(rec("abc 1 2 3"), cfg) == ["check:few", "check:lines"]
    assert sigs(rec("abc 1"), cfg) == []
    assert sigs(rec("abc 1\n\nABC 2"), cfg) == ["check:whole", "check:lines"]  # blank lines are skipped


def test_count_rules_are_validated():
    with pytest.raises(AdviseError, match="count_pattern"):
        failure_config({"checks": [{"name": "x", "count": 3}]})
    with pytest.raises(AdviseError, match="needs count"):
        failure_config({"checks": [{"name": "x", "count_pattern": "a"}]})
    with pytest.raises(AdviseError, match="not both"):
        failure_config({"checks": [{"name": "x", "count_pattern": "a", "count": 1, "max_count": 2}]})
    with pytest.raises(AdviseError, match="invalid regular expression"):
        failure_config({"checks": [{"name": "x", "full_match": "("}]})
