"""Labels file I/O, the `advise failures` command, and the committed plant examples."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.failures import LabelIndex, make_collector
from advisor.kernel.errors import AdviseError

ROOT = Path(__file__).resolve().parent.parent


def test_labels_file_loads_and_joins_on_id(fixtures, tmp_path):
    idx = LabelIndex.load(fixtures / "failures" / "labels.jsonl")
    assert len(idx) == 3
    assert idx.take("42").ok is True  # integer ids join as text
    assert idx.unknown_ids() == ["a1", "a3"]
    gz = tmp_path / "labels.jsonl.gz"
    with gzip.open(gz, "wb") as fh:
        fh.write((fixtures / "failures" / "labels.jsonl").read_bytes())
    assert len(LabelIndex.load(gz)) == 3


def test_bad_label_line_names_file_line_and_field(fixtures, tmp_path):
    with pytest.raises(AdviseError) as e:
        LabelIndex.load(fixtures / "failures" / "labels_bad.jsonl")
    assert e.value.line == 2 and e.value.field == "ok" and e.value.file.endswith("labels_bad.jsonl")
    broken = tmp_path / "l.jsonl"
    broken.write_text('{"id": "x", "ok": true}\n{"id": \n')
    with pytest.raises(AdviseError) as e:
        LabelIndex.load(broken)
    assert e.value.line == 2 and e.value.hint
    with pytest.raises(AdviseError, match="not found"):
        LabelIndex.load(tmp_path / "nope.jsonl")


PLANTS = ["plant-structural", "plant-random", "plant-knowledge"]
DETECTED = {"auto:invalid-json": "format:json_code_fence"}


def _analyse(name: str):
    from advisor.ingest import read_records
    from advisor.kernel.config import load_config

    d = ROOT / "examples" / name
    cfg = load_config(d / "advise.toml") if (d / "advise.toml").exists() else None
    col = make_collector(cfg, labels=d / "labels.jsonl.gz")
    for r in read_records([d]):
        col.add(r)
    return col.finish(), json.loads((d / "truth.json").read_text())


@pytest.mark.parametrize("name", PLANTS)
def test_committed_plants_are_recovered(name):
    fa, truth = _analyse(name)
    assert fa.failure_rate == pytest.approx(truth["failure_share"], abs=0.03)
    assert fa.shares.knowledge * fa.failure_rate == pytest.approx(truth["knowledge_failure_share"], abs=0.03)
    assert fa.consistency.consistency == pytest.approx(truth["consistency"], abs=0.05)
    by_sig = {s.signature: s for s in fa.signatures}
    for p in truth["planted_signatures"]:
        sig = DETECTED.get(p["detected_by"], p["detected_by"])
        if sig.startswith("labels:"):
            continue  # label-only plants are scattered notes; covered by the bucket shares above
        assert by_sig[sig].share_of_requests == pytest.approx(p["share"], abs=0.03), sig
    expected = {"plant-structural": "structural", "plant-random": "random", "plant-knowledge": "knowledge"}[name]
    assert fa.consistency.verdict == expected
    assert fa.unknown_label_ids.count == 0


def _write_analysis(tmp_path: Path) -> Path:
    fa, _ = _analyse("plant-structural")
    path = tmp_path / "analysis.json"
    path.write_text(json.dumps({"schema_version": 1, "failures": fa.model_dump(mode="json")}))
    return path


def test_failures_command_tables_cluster_examples_and_json(tmp_path, capsys):
    path = _write_analysis(tmp_path)
    assert main(["failures", str(path)]) == 0
    out = capsys.readouterr().out
    assert "check:required-fields" in out and "structural" in out
    assert main(["failures", str(path), "--cluster", "1"]) == 0
    out = capsys.readouterr().out
    assert "Examples of cluster 1" in out and "chatcmpl-" in out
    assert main(["failures", str(path), "--signature", "check:price-number", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["signature"] == "check:price-number" and row["examples"]
    assert main(["failures", str(path), "--cluster", "999"]) == 1
    assert "no cluster 999" in capsys.readouterr().err


def test_failures_command_without_section_explains(tmp_path, capsys):
    p = tmp_path / "analysis.json"
    p.write_text('{"schema_version": 1}')
    assert main(["failures", str(p)]) == 1
    assert "no failures section" in capsys.readouterr().err
    shutil.copy(p, tmp_path / "b.json")
    assert main(["failures", str(tmp_path / "missing.json")]) == 1
