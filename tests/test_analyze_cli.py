"""`advise analyze` end to end through advisor.cli.main on small OpenAI-chat fixture logs."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from advisor.analysis import SCHEMA_VERSION, Analysis, load_analysis
from advisor.cli import main

FIX = Path(__file__).parent / "fixtures" / "analyze"
CHAT = FIX / "openai_chat.jsonl"
SYSTEM_TOKENS_O200K = 54  # the fixture's system prompt in o200k_base (gpt-4o-mini's tokenizer)


@pytest.fixture
def logs(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    dst = tmp_path / "logs" / "calls.jsonl"
    dst.parent.mkdir()
    shutil.copy(CHAT, dst)
    return dst


def run(*args: str) -> int:
    return main(["analyze", *args])


def test_analyze_writes_valid_analysis_json(logs, capsys):
    assert run(str(logs)) == 0
    out, err = capsys.readouterr()
    a = load_analysis("analysis.json")
    assert a.schema_version == SCHEMA_VERSION
    assert a.data_quality.records == 8 and a.volume.requests == 8
    assert a.inputs[0].records == 8 and a.inputs[0].lines == 9 and sum(a.inputs[0].skipped.values()) == 1
    assert len(a.inputs[0].sha256) == 64
    assert a.window.days == 3 and a.volume.per_day == {"2025-03-03": 3, "2025-03-04": 3, "2025-03-05": 2}
    fam = a.prompt_families[0]
    assert fam.requests == 8 and fam.segments_static == ["system"]
    assert fam.static_prefix_tokens == SYSTEM_TOKENS_O200K
    m = a.models["gpt-4o-mini-2024-07-18"]  # the response's model snapshot
    assert m.cost.priced and m.cost.total > 0
    assert a.cost.per_month == pytest.approx(a.cost.per_day * 30)
    assert a.cost.per_request * 8 == pytest.approx(a.cost.total)
    assert sum(d.cost for d in a.daily) == pytest.approx(a.cost.total)
    assert m.reliability.latency_ms.p50 == pytest.approx(950, rel=0.01)
    # the summary has units and the price source; the malformed line is named on stderr
    assert "/month" in out and "USD" in out and "Prices:" in out
    assert f"{logs}:5:" in err and "skipped" in err
    # analysis.json validates against its own JSON schema
    import jsonschema

    jsonschema.validate(json.loads(Path("analysis.json").read_text()), Analysis.model_json_schema())


def test_refuses_to_overwrite_without_force(logs, capsys):
    Path("analysis.json").write_text("keep me")
    assert run(str(logs)) == 1
    assert "already exists" in capsys.readouterr().err
    assert Path("analysis.json").read_text() == "keep me"
    assert run(str(logs), "--force", "-q") == 0
    assert load_analysis("analysis.json").volume.requests == 8


def test_json_dash_prints_only_json(logs, capsys):
    assert run(str(logs), "--json", "-") == 0
    out = capsys.readouterr().out
    data = json.loads(out)  # nothing but JSON on stdout
    assert Analysis.model_validate(data).volume.requests == 8
    assert not Path("analysis.json").exists()  # not written unless -o is given


def test_json_file_and_output_path(logs, capsys):
    assert run(str(logs), "-q", "-o", "out/a.json", "--json", "copy.json") == 0
    assert load_analysis("out/a.json").volume.requests == load_analysis("copy.json").volume.requests == 8


def test_since_until_filter(logs, capsys):
    assert run(str(logs), "--since", "2025-03-04", "--until", "2025-03-04", "--json", "-") == 0
    a = Analysis.model_validate_json(capsys.readouterr().out)
    assert a.volume.requests == 3 and a.data_quality.filtered_out == 5


def test_sample_rate_from_advise_toml_beside_logs(logs, capsys):
    (logs.parent / "advise.toml").write_text("[traffic]\nsample_rate = 0.25\n")
    assert run(str(logs), "--json", "-") == 0
    a = Analysis.model_validate_json(capsys.readouterr().out)
    assert a.sampling.scale == 4 and a.sampling.label == "scaled from a 25% sample"
    assert a.volume.requests == 8 and a.volume.requests_scaled == 32
    assert a.cost.per_day == pytest.approx(a.cost.total * 4 / 3)


def test_strict_makes_malformed_line_fatal(logs, capsys):
    assert run(str(logs), "--strict", "-q") == 1
    assert f"{logs}:5:" in capsys.readouterr().err
    assert not Path("analysis.json").exists()


def test_bad_inputs_exit_1(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.jsonl").write_text("")
    assert run("empty.jsonl") == 1
    assert run("missing.jsonl") != 0
    assert run(str(CHAT), "--format", "no-such-format") == 2  # a usage error, like -j 0 (issue 18)
    assert run(str(CHAT), "--since", "yesterday") == 2  # an unreadable option value is a usage error
    assert run(str(CHAT), "--since", "2030-01-01") == 1  # nothing left to analyse
    err = capsys.readouterr().err
    assert "advise: error:" in err and "Traceback" not in err
    assert not Path("analysis.json").exists()


def test_unpriced_model_error_then_unknown(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    lines = CHAT.read_text().splitlines()
    odd = [re.sub(r'"model": "gpt-4o-mini[^"]*"', '"model": "acme-private-llm-7"', ln) for ln in lines]
    (tmp_path / "odd.jsonl").write_text("\n".join(odd) + "\n")
    assert run("odd.jsonl", "-q") == 1
    assert "acme-private-llm-7" in capsys.readouterr().err
    assert run("odd.jsonl", "--allow-unpriced", "--json", "-") == 0
    a = Analysis.model_validate_json(capsys.readouterr().out)
    assert a.cost.unpriced_models == ["acme-private-llm-7"] and not a.cost.complete
    assert a.models["acme-private-llm-7"].cost.total is None  # unknown, never $0
    assert run("odd.jsonl", "--allow-unpriced", "--force") == 0
    assert "unknown" in capsys.readouterr().out


def test_load_analysis_rejects_other_schema_version(tmp_path):
    p = tmp_path / "a.json"
    p.write_text(json.dumps({"schema_version": 999}))
    with pytest.raises(Exception, match="schema_version 999"):
        load_analysis(p)
    p.write_text("not json")
    with pytest.raises(Exception, match="not a readable JSON"):
        load_analysis(p)


def test_help_has_examples(capsys):
    assert main(["analyze", "--help"]) == 0
    assert "Examples:" in capsys.readouterr().out
    assert main(["--version"]) == 0
