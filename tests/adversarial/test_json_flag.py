"""`--json FILE` writes that file only; `--json -` prints the JSON only to stdout (issue 17 item 6)."""

from __future__ import annotations

import json

from advisor.cli import main


def test_json_file_writes_only_that_file(tmp_path, log_file, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", str(log_file), "--json", "one.json"]) == 0
    assert main(["analyze", str(log_file), "--json", "two.json"]) == 0  # used to fail: analysis.json exists
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs", "one.json", "two.json"]
    one, two = (json.loads((tmp_path / n).read_text()) for n in ("one.json", "two.json"))
    assert one["inputs"] == two["inputs"] and one["cost"] == two["cost"]
    assert "Wrote two.json" in capsys.readouterr().err


def test_json_dash_prints_only_json_and_writes_nothing(tmp_path, log_file, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", str(log_file), "--json", "-"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out)["schema_version"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs"]


def test_json_and_output_both_given_write_both(tmp_path, log_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", str(log_file), "-q", "--json", "a.json", "-o", "b.json"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json", "logs"]


def test_default_output_without_json(tmp_path, log_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", str(log_file), "-q"]) == 0
    assert (tmp_path / "analysis.json").is_file()


def test_help_says_json_file_is_the_only_output(capsys):
    assert main(["analyze", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Also write the analysis JSON" not in text and "nowhere else" in text
