"""Absurd latencies and negative or infinite reported costs are bad lines (file:line, field), and a report
built with --allow-unpriced says its totals are incomplete, as the terminal does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from advisor.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _canonical_line() -> dict:
    return json.loads((FIXTURES / "ingest" / "canonical" / "calls.jsonl").read_text().splitlines()[0])


@pytest.mark.parametrize(("field", "value", "log_field"), [
    ("latency_ms", 1e308, "latency_ms"),
    ("latency_ms", 90_000_000, "latency_ms"),  # 25 hours
    ("latency_ms", -1, "latency_ms"),
    ("cost_usd", -3.5, "cost_reported"),
    ("cost_usd", "inf", "cost_reported"),
])
def test_bad_latency_or_cost_is_a_bad_line(tmp_path, capsys, field, value, log_field):
    good = _canonical_line()
    bad = dict(good, id="call-bad", **{field: value})
    log = tmp_path / "calls.jsonl"
    log.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    assert main(["analyze", str(log), "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert f"{log}:2:" in captured.err and f"(field: {log_field})" in captured.err
    a = json.loads(captured.out)
    assert a["volume"]["requests"] == 1 and a["inputs"][0]["skipped"]
    assert main(["analyze", str(log), "--json", "-", "--strict"]) == 1


def _unpriced_log(tmp_path: Path) -> Path:
    good = _canonical_line()
    lines = [dict(good, id=f"k-{i}") for i in range(3)]
    lines += [dict(good, id=f"u-{i}", model="acme-private-7b") for i in range(5)]
    log = tmp_path / "calls.jsonl"
    log.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return log


@pytest.mark.parametrize("suffix", [".html", ".md"])
def test_report_says_totals_are_incomplete(tmp_path, capsys, suffix):
    log = _unpriced_log(tmp_path)
    a = tmp_path / "analysis.json"
    assert main(["analyze", str(log), "-q", "-o", str(a), "--allow-unpriced"]) == 0
    out = tmp_path / f"report{suffix}"
    assert main(["report", str(a), "-o", str(out)]) == 0
    text = out.read_text()
    if suffix == ".md":  # Markdown escapes the punctuation that came from data; a renderer shows it plain
        text = text.replace("\\(", "(").replace("\\)", ")")
    assert "incomplete: 5 requests of model acme-private-7b unpriced" in text
    assert "(incomplete)" in text  # the cost figures themselves are flagged


def test_report_without_gaps_has_no_note(tmp_path):
    log = tmp_path / "calls.jsonl"
    log.write_text(json.dumps(_canonical_line()) + "\n")
    a = tmp_path / "analysis.json"
    assert main(["analyze", str(log), "-q", "-o", str(a)]) == 0
    out = tmp_path / "report.md"
    assert main(["report", str(a), "-o", str(out)]) == 0
    assert "incomplete" not in out.read_text()
