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


def test_label_index_keeps_labels_packed_and_gives_back_the_same_labels(tmp_path):
    from advisor.failures import FailureCollector, Label

    lines = [{"id": f"c{i}", "ok": True} for i in range(50)]
    lines += [{"id": "f1", "ok": False, "category": "format"}, {"id": "f2", "ok": False, "category": "format"},
              {"id": "f3", "ok": False, "category": "factual", "expected": "42", "note": "wrong total"},
              {"id": "c7", "ok": False, "category": "style"}]  # a repeated id: the last label wins
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    idx = LabelIndex.load(path)
    assert len(idx) == 53 and idx.duplicates == 1
    assert idx._labels["c0"] is idx._labels["c49"] and idx._labels["f1"] is idx._labels["f2"]  # one tuple each
    for x in lines[:7] + lines[50:]:
        want = Label.model_validate(x if x["id"] != "c7" else lines[-1])
        got = idx.take(x["id"])
        assert got == want and got.model_dump() == want.model_dump()
    assert idx.take("nope") is None
    assert set(idx.unknown_ids()) == {f"c{i}" for i in range(7, 50)} - {"c7"}
    # a worker's piece reports the ids it matched itself, not every match its process made before it
    first, second = FailureCollector(labels=idx), FailureCollector(labels=idx)
    for rid, piece in (("c3", first), ("f3", second), ("nope", second)):
        piece.add(_record(rid))
    assert first.label_hits == ["c3"] and second.label_hits == ["f3"]
    parent = FailureCollector(labels=LabelIndex.load(path))
    import pickle

    for piece in (first, second):
        parent.merge(pickle.loads(pickle.dumps(piece)))
    assert parent.labels.matched == 2 and "c3" not in parent.labels.unknown_ids()


def _record(rid: str):
    from datetime import UTC, datetime

    from advisor.kernel.record import Message, Record, SourceRef, Usage

    return Record(id=rid, source_format="canonical", source=SourceRef(file="x", line=1),
                  timestamp=datetime(2025, 1, 1, tzinfo=UTC), model="gpt-4o", output="fine",
                  messages=[Message(role="user", content="hi")], usage=Usage(input_tokens=3, output_tokens=1))


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
