"""`advise run`: stops after the report when fine-tuning does not win; end to end on the bundled example."""

import json
from pathlib import Path

import pytest

from advisor.cli import main
from tests.conftest import ROOT


def test_low_volume_example_stops_with_prompting_and_no_training(tmp_path: Path, capsys):
    """50 req/day, scattered one-off failures at USD 0.25 each (its advise.toml): a better prompt, never training."""
    out = tmp_path / "out"
    assert main(["run", str(ROOT / "examples" / "lowvolume"), "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trained"] is False and summary["winner"] == "prompting"
    assert "Improve the prompt" in summary["reason"]
    assert (out / "analysis.json").is_file() and (out / "report.html").is_file()
    assert not (out / "data").exists() and not (out / "run").exists() and not (out / "eval.json").exists()
    # resumable: a rerun reuses the unchanged stages
    assert main(["run", str(ROOT / "examples" / "lowvolume"), "-o", str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["stages_run"] == [] and set(again["stages_skipped"]) == {"analyze", "report"}


def test_report_file_created_during_the_run_is_not_replaced(tmp_path: Path, monkeypatch):
    """--report is checked up front; a file that appears there while the run works is kept, not overwritten,
    and the run directory's own report survives."""
    from advisor.cli import pipeline

    target, out = tmp_path / "report.html", tmp_path / "out"
    real = pipeline._report

    def someone_writes_first(*args, **kwargs):
        target.write_text("written by someone else")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_report", someone_writes_first)
    code = main(["run", str(ROOT / "examples" / "lowvolume"), "-o", str(out), "--report", str(target)])
    assert code == 1
    assert target.read_text() == "written by someone else"
    assert (out / "report.html").is_file() and (out / "analysis.json").is_file()


def test_run_refuses_a_foreign_output_directory(tmp_path: Path):
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["run", str(ROOT / "examples" / "lowvolume"), "-o", str(tmp_path)]) == 1
    assert (tmp_path / "precious.txt").read_text() == "keep me"


@pytest.mark.slow
def test_ecommerce_three_arms_measured_and_reported(tmp_path: Path, capsys):
    """The bundled example end to end: trained, three arms measured on the same inputs, reported as measured."""
    out = tmp_path / "out"
    report = tmp_path / "report.html"
    args = ["run", str(ROOT / "examples" / "ecommerce"), "-o", str(out), "--budget-minutes", "2",
            "--max-train-examples", "300", "--eval-examples", "24", "--report", str(report), "--json"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trained"] is True and summary["winner"].startswith("fine-tune")
    ev = json.loads((out / "eval.json").read_text())
    assert ev["schema_version"] == 3 and ev["significance"]["against"] == "incumbent"
    for arm in ("incumbent", "baseline", "finetuned"):
        lo, hi = ev[arm]["pass_rate_ci"]
        assert lo <= ev[arm]["pass_rate"] <= hi and ev[arm]["n"] == 24
    assert ev["finetuned"]["prompt_tokens_mean"] < ev["baseline"]["prompt_tokens_mean"]
    inc = ev["incumbent_logged"]
    assert inc["logs"] is not None and inc["logs_within_test_ci"]  # the test split estimates the logs' rate
    assert ev["measured_roi"]["proxy"] is True and ev["measured_roi"]["model_measured"] == ev["model_measured"]
    run = json.loads((out / "run" / "run.json").read_text())
    assert run["final_val_loss"] < run["initial_val_loss"]
    # --budget-minutes is a wall-clock limit (issue 16): the steps fit in it, whatever the machine's load
    # (the stop rule predicts the next step from the last one, hence the 10% slack for one slower step)
    assert run["train_seconds"] <= 2 * 60 * 1.1
    # the report shows the measured figures, exactly as in eval.json, and says they are a proxy
    html = report.read_text()
    for arm in ("incumbent", "baseline", "finetuned"):
        assert f"{100 * ev[arm]['pass_rate']:.1f}%" in html
    assert f"{ev['significance']['p_value']:.3g}" in html and "Proxy figures" in html
    # the decision inputs the measurement replaced: a failure kind measured on the test split is "measured", with
    # its test requests named, in eval.json and the report
    rows = {r["name"]: r for r in ev["measured_roi"]["assumptions"]}
    kinds = {f["kind"] for f in ev["fix_rates"].values() if f["kind"]}
    for kind in ("structural", "knowledge", "other"):
        row = rows[f"ft_fix_share_{kind}"]
        assert row["source"] == ("measured" if kind in kinds else "default")
        if kind in kinds:
            assert "measured on 24 test requests" in row["basis"] and row["basis"] in html.replace("&#39;", "'")
    assert 'id="measured-assumptions"' in html
    # rerun: every stage is reused
    assert main(args + ["--force"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["stages_run"] == []


def test_training_commands_name_the_missing_extra(monkeypatch, tmp_path: Path, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "peft" else real(name, *a))
    data = tmp_path / "train.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n')
    assert main(["train", "--data", str(data), "-o", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "peft" in err and "pip install 'advise[train]'" in err
