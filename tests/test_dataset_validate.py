"""`advise dataset validate`: every problem kind reported with its line number; recommended count."""

from __future__ import annotations

import json
from pathlib import Path

from advisor.cli import main
from trainer.dataset.validate import recommend_examples, validate_file

GOOD = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                     {"role": "assistant", "content": "Hello."}]}
TOOL_OK = {"messages": [{"role": "user", "content": "Stock of NW-1?"},
                        {"role": "assistant", "content": "", "tool_calls": [
                            {"id": "c1", "type": "function", "function": {"name": "stock", "arguments": "{\"sku\": 1}"}}]},
                        {"role": "tool", "tool_call_id": "c1", "content": "4"},
                        {"role": "assistant", "content": "Four in stock."}],
           "tools": [{"type": "function", "function": {"name": "stock", "parameters": {"type": "object"}}}]}

BAD_LINES = [
    ("invalid_json", "{not json"),
    ("bad_role", {"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "y"}]}),
    ("system_not_first", {"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "s"},
                                       {"role": "assistant", "content": "b"}]}),
    ("role_order", {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                                 {"role": "assistant", "content": "c"}]}),
    ("empty_turn", {"messages": [{"role": "user", "content": "  "}, {"role": "assistant", "content": "c"}]}),
    ("missing_assistant_target", {"messages": [{"role": "user", "content": "a"}]}),
    ("bad_tool_call", {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "r"}, {"role": "assistant", "content": "done"}]}),
    ("bad_tool", {**GOOD, "tools": [{"name": "f"}]}),
    ("unknown_key", {**GOOD, "extra": 1}),
    ("missing_messages", {"messages": []}),
    ("too_long", {"messages": [{"role": "user", "content": "word " * 400}, {"role": "assistant", "content": "ok"}]}),
]


def write(path: Path, items) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in items) + "\n")
    return path


def test_good_file_passes(tmp_path):
    report = validate_file(write(tmp_path / "ok.jsonl", [GOOD, TOOL_OK, GOOD]))
    assert report.ok and report.valid_examples == 3 and report.problems == []


def test_each_problem_is_reported_with_its_line_number(tmp_path):
    items = [GOOD]
    for _, bad in BAD_LINES:
        items += [bad, GOOD]
    report = validate_file(write(tmp_path / "bad.jsonl", items), max_tokens=200)
    assert not report.ok
    by_line: dict[int, set[str]] = {}
    for p in report.problems:
        by_line.setdefault(p.line, set()).add(p.kind)
    for k, (kind, _) in enumerate(BAD_LINES):
        line = 2 + 2 * k
        assert kind in by_line.get(line, set()), (kind, line, by_line.get(line))
    assert all(line % 2 == 0 for line in by_line)  # the good lines in between are clean
    assert report.valid_examples == len(BAD_LINES) + 1


def test_tool_result_before_call_and_missing_result_are_role_errors(tmp_path):
    orphan = {"messages": [{"role": "user", "content": "a"}, {"role": "tool", "tool_call_id": "x", "content": "r"},
                           {"role": "assistant", "content": "b"}]}
    unanswered = {"messages": [TOOL_OK["messages"][0], TOOL_OK["messages"][1], {"role": "assistant", "content": "b"}]}
    report = validate_file(write(tmp_path / "t.jsonl", [orphan, unanswered]))
    kinds = {(p.line, p.kind) for p in report.problems}
    assert (1, "role_order") in kinds and (2, "role_order") in kinds


def test_recommendation_by_task_kind_and_consistency():
    consistent = recommend_examples("format", 0.9, 300)
    scattered = recommend_examples("format", 0.1, 300)
    assert 500 <= consistent.recommended < scattered.recommended <= 1500
    assert "too few" in consistent.verdict
    knowledge = recommend_examples("knowledge", None, 4000)
    assert knowledge.range == (2000, 5000) and knowledge.recommended == 3500 and "enough" in knowledge.verdict


def test_inferred_task_kind_from_json_targets(tmp_path):
    item = {"messages": [{"role": "user", "content": "extract"}, {"role": "assistant", "content": '{"a": 1}'}]}
    report = validate_file(write(tmp_path / "j.jsonl", [item] * 3))
    assert report.recommendation.task_kind == "format" and report.recommendation.task_kind_source == "inferred"
    assert report.recommendation.current == 3


def test_cli_validate_exit_code_and_line_numbers(tmp_path, capsys):
    path = write(tmp_path / "bad.jsonl", [GOOD, BAD_LINES[3][1], "{not json"])
    assert main(["dataset", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: error: role_order" in err and f"{path}:3: error: invalid_json" in err
    assert "problem(s) on 2 line(s)" in err
    assert main(["dataset", "validate", str(tmp_path / "missing.jsonl")]) == 1
