"""Adversarial inputs for ingest and the analysed window (issue 18: items 4, 5, 11, 12).

Each test builds the hostile input it needs in tmp_path, so the suite is fast and runs in CI.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.analysis import analysis_json
from advisor.analyze import analyze_logs
from advisor.cli import cli
from advisor.metrics.window import isolated_bounds

BASE = datetime(2025, 3, 3, 12, tzinfo=UTC)


def canonical(i: int, ts: object, **extra: object) -> dict:
    rec = {"format": "advise", "advise_version": 1, "id": f"call-{i}", "timestamp": ts, "provider": "openai",
           "model": "gpt-4o-mini", "system": "You are a support assistant for ACME. " * 4,
           "messages": [{"role": "user", "content": f"question {i}"}], "output": f"answer {i}",
           "usage": {"input_tokens": 120, "output_tokens": 12}}
    rec.update(extra)
    return rec


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def bulk(n: int = 40, start: int = 0) -> list[dict]:
    """n calls every 5 hours from 2025-03-03 12:00 UTC: 9 calendar days."""
    return [canonical(start + i, (BASE + timedelta(hours=5 * i)).isoformat()) for i in range(n)]


def analysed(path: Path, **kw) -> dict:
    data = json.loads(analysis_json(analyze_logs([path], **kw)))
    data.pop("generated_at")
    return data


# ----------------------------------------------------------------------------- 18.4 out-of-window timestamps

STRAYS = [("2200-01-01T00:00:00Z", "future"), ("9999-12-31T00:00:00Z", "future"), (1e20, "future"),
          ("1970-01-01T00:00:00Z", "before floor"), ("0001-01-01T00:00:00Z", "before floor")]


@pytest.mark.parametrize(("ts", "reason"), STRAYS)
def test_one_stray_timestamp_is_excluded_and_reported(tmp_path, ts, reason):
    clean = analysed(write_jsonl(tmp_path / "clean.jsonl", bulk()))
    path = write_jsonl(tmp_path / "calls.jsonl", [*bulk(), canonical(99, ts)])
    got = analysed(path)
    ow = got["data_quality"]["out_of_window"]
    assert ow["records"] == 1
    assert ow[reason.replace(" ", "_")] == 1
    assert ow["examples"] == [f"{path}:41 {ow['examples'][0].split(' ')[1]} ({reason})"]
    # the stray stretches nothing: the window, volume per day and the daily series are those of the clean log
    assert got["window"] == clean["window"]
    assert got["volume"] == clean["volume"]
    assert len(got["daily"]) == 9
    assert got["data_quality"]["records"] == 40


def test_isolated_outlier_far_from_the_bulk_is_excluded(tmp_path):
    path = write_jsonl(tmp_path / "calls.jsonl", [canonical(98, "2023-06-01T10:00:00Z"), *bulk()])
    got = analysed(path)
    ow = got["data_quality"]["out_of_window"]
    assert (ow["records"], ow["isolated"]) == (1, 1)
    assert ow["examples"] == [f"{path}:1 2023-06-01T10:00:00+00:00 (isolated)"]
    assert got["window"]["first"] == "2025-03-03T12:00:00Z"
    assert got["volume"]["mean_per_day"] == pytest.approx(40 / 9)


def test_a_label_of_an_excluded_record_is_reported_unmatched(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    write_jsonl(logs / "calls.jsonl", [canonical(98, "2023-06-01T10:00:00Z"), *bulk()])
    (logs / "labels.jsonl").write_text('{"id": "call-98", "ok": false}\n{"id": "call-3", "ok": false}\n')
    got = analysed(logs)
    assert got["data_quality"]["out_of_window"]["isolated"] == 1
    assert got["failures"]["unknown_label_ids"]["examples"] == ["call-98"]


def test_explicit_window_is_respected_and_never_crashes(tmp_path):
    path = write_jsonl(tmp_path / "calls.jsonl", [*bulk(), canonical(99, "2200-01-01T00:00:00Z")])
    got = analysed(path, since="2024-01-01", until="2300-01-01")  # the user asked for it: kept, no overflow
    assert got["data_quality"]["out_of_window"]["records"] == 0
    assert got["data_quality"]["records"] == 41
    got = analysed(path, since="2025-03-04")
    assert got["data_quality"]["filtered_out"] == 3  # --since filters; the 2200 record is still out of window
    assert got["data_quality"]["out_of_window"]["future"] == 1


def test_window_exclusion_is_the_same_for_every_jobs(tmp_path):
    rows = []
    for k in range(6):  # a file big enough to split into several units, strays in different units
        rows += bulk(400, start=k * 400)
        rows.append(canonical(10_000 + k, ["1970-01-02T00:00:00Z", "2300-01-01T00:00:00Z",
                                           "2024-01-05T00:00:00Z"][k % 3]))
    path = write_jsonl(tmp_path / "calls.jsonl", rows)
    one = analysed(path, jobs=1, chunk_bytes=64 << 10)  # same pieces; only the number of processes varies
    for jobs in (2, 3):
        assert analysed(path, jobs=jobs, chunk_bytes=64 << 10) == one
    whole = analysed(path, jobs=1, chunk_bytes=1 << 30)  # one unit: the same records, counts and window
    assert whole["data_quality"] == one["data_quality"] and whole["window"] == one["window"]
    ow = one["data_quality"]["out_of_window"]
    assert (ow["before_floor"], ow["future"], ow["isolated"]) == (2, 2, 2)


def test_isolated_bounds_keeps_real_bursts():
    d0 = date(2025, 1, 1)
    # two real bursts 60 days apart: both kept
    assert isolated_bounds({d0: 50, d0 + timedelta(days=60): 50}) is None
    # a small cluster far before and one far after: both cut off
    days = {d0 + timedelta(days=i): 10 for i in range(100, 130)}
    assert isolated_bounds({d0: 1, **days, d0 + timedelta(days=400): 2}) == (d0 + timedelta(days=100),
                                                                             d0 + timedelta(days=129))
    # a small cluster inside the bulk's span stays (it does not stretch the window)
    assert isolated_bounds({d0: 50, d0 + timedelta(days=45): 1, d0 + timedelta(days=90): 50}) is None


def test_terminal_names_the_excluded_records(tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "calls.jsonl", [*bulk(), canonical(99, "9999-12-31T00:00:00Z")])
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["analyze", str(path), "-o", str(tmp_path / "a.json")])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "1 records with implausible timestamps excluded" in text
    assert "calls.jsonl:41" in text


# ----------------------------------------------------------------------------- 18.5 duplicates


def test_plain_and_gzip_copy_of_the_same_log_are_counted_once(tmp_path):
    import gzip

    logs = tmp_path / "logs"
    logs.mkdir()
    clean = analysed(write_jsonl(logs / "calls.jsonl", bulk()))
    (logs / "calls.jsonl.gz").write_bytes(gzip.compress((logs / "calls.jsonl").read_bytes()))
    got = analysed(logs)
    dup = got["data_quality"]["duplicates"]
    assert dup["identical_files"] == [[str(logs / "calls.jsonl.gz"), str(logs / "calls.jsonl")]]
    assert got["data_quality"]["records"] == 40
    assert got["cost"] == clean["cost"]
    assert any("same content as" in n for n in got["data_quality"]["notes"])


def test_repeated_ids_across_and_within_files_are_counted_once(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    rows = bulk()
    write_jsonl(logs / "a.jsonl", rows[:30])
    write_jsonl(logs / "b.jsonl", rows[20:] + [rows[35]])  # 10 ids overlap a.jsonl, one repeats inside b.jsonl
    clean = analysed(write_jsonl(tmp_path / "clean.jsonl", rows))
    got = analysed(logs)
    dup = got["data_quality"]["duplicates"]
    assert (dup["records"], dup["ids"]) == (11, 11)
    assert dup["by_file"] == {str(logs / "b.jsonl"): 11}
    assert dup["examples"][0] == f"{logs / 'b.jsonl'}:1 call-20"
    assert got["data_quality"]["records"] == 40
    assert got["volume"] == clean["volume"]
    assert got["cost"]["total"] == pytest.approx(clean["cost"]["total"])


def test_duplicates_give_the_same_result_for_every_jobs(tmp_path):
    rows = bulk(2400)
    path = write_jsonl(tmp_path / "calls.jsonl", rows + rows[::7])  # repeats land in other units than originals
    one = analysed(path, jobs=1, chunk_bytes=64 << 10)
    assert one["data_quality"]["duplicates"]["records"] == len(rows[::7])
    assert one["data_quality"]["records"] == 2400
    for jobs in (2, 4):
        assert analysed(path, jobs=jobs, chunk_bytes=64 << 10) == one


def test_duplicates_found_through_spilled_id_files_give_the_same_result(tmp_path, monkeypatch):
    """Past SPILL_AT ids the ledger moves them to temporary files (flat memory on long logs): same analysis."""
    import advisor.ingest.duplicates as dup

    rows = bulk(2400)
    path = write_jsonl(tmp_path / "calls.jsonl", rows + rows[::7])
    in_memory = analysed(path, jobs=1, chunk_bytes=64 << 10)
    spills: list[str] = []
    real = dup.IdLedger._spill

    def counted(self):
        real(self)
        spills.append(self._files._dir)

    monkeypatch.setattr(dup, "SPILL_AT", 300)
    monkeypatch.setattr(dup.IdLedger.__init__, "__defaults__", (300,))
    monkeypatch.setattr(dup.IdLedger, "_spill", counted)
    for jobs in (1, 2):
        assert analysed(path, jobs=jobs, chunk_bytes=64 << 10) == in_memory
    assert len(spills) >= 4
    assert not any(Path(d).exists() for d in spills)  # the files are gone with the analysis


def test_terminal_names_the_duplicates(tmp_path, monkeypatch):
    logs = tmp_path / "logs"
    logs.mkdir()
    write_jsonl(logs / "a.jsonl", bulk())
    write_jsonl(logs / "b.jsonl", bulk()[:3])
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["analyze", str(logs), "-o", str(tmp_path / "a.json")])
    assert res.exit_code == 0, res.output
    assert "3 records repeating an earlier id" in " ".join(res.output.split())


# ----------------------------------------------------------------------------- 18.11 hostile inputs beside the logs


def test_a_fifo_named_as_input_is_refused_not_waited_on(tmp_path):
    import os
    import subprocess
    import sys

    fifo = tmp_path / "calls.jsonl"
    os.mkfifo(fifo)
    res = subprocess.run([sys.executable, "-m", "advisor.cli", "analyze", str(fifo), "--json", "-"],
                         capture_output=True, text=True, timeout=60, env={**os.environ})
    assert res.returncode == 1, res.stderr
    assert "not a regular file" in res.stderr


def test_a_fifo_inside_a_directory_is_reported(tmp_path):
    import os

    write_jsonl(tmp_path / "a.jsonl", bulk())
    os.mkfifo(tmp_path / "b.jsonl")
    got = analysed(tmp_path)
    assert [str(tmp_path / "b.jsonl"), "not a regular file (FIFO, socket or device)"] in \
        got["data_quality"]["not_read"]


def test_an_unreadable_subdirectory_is_reported(tmp_path, monkeypatch):
    import os

    write_jsonl(tmp_path / "a.jsonl", bulk())
    locked = tmp_path / "locked"
    locked.mkdir()
    write_jsonl(locked / "b.jsonl", bulk(3, start=100))
    real_scandir = os.scandir

    def scandir(path=".", *a):  # root reads any directory: simulate the permission error it would not get
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path, *a)

    monkeypatch.setattr(os, "scandir", scandir)
    got = analysed(tmp_path)
    assert [str(locked), "unreadable directory (Permission denied)"] in got["data_quality"]["not_read"]
    assert any(str(locked) in n for n in got["data_quality"]["notes"])
    assert got["data_quality"]["records"] == 40


def test_advise_outputs_inside_the_log_directory_are_skipped(tmp_path, monkeypatch):
    logs = tmp_path / "logs"
    logs.mkdir()
    write_jsonl(logs / "calls.jsonl", bulk())
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    res = runner.invoke(cli, ["analyze", str(logs), "-q", "-o", str(logs / "analysis.json")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["dataset", "build", str(logs), "-o", str(logs / "data"),
                              "--analysis", str(logs / "analysis.json")])
    assert res.exit_code == 0, res.output
    (logs / "renamed").mkdir()  # recognised by the manifest, not the directory's name
    for f in (logs / "data").iterdir():
        (logs / "renamed" / f.name).write_bytes(f.read_bytes())
    got = analysed(logs)
    assert got["data_quality"]["records"] == 40
    skipped = dict(map(tuple, got["data_quality"]["not_read"]))
    assert "advise's own output" in skipped[str(logs / "data")]
    assert "advise's own output" in skipped[str(logs / "renamed")]


def test_a_bad_labels_line_is_skipped_reported_and_counted(tmp_path, monkeypatch):
    logs = tmp_path / "logs"
    logs.mkdir()
    write_jsonl(logs / "calls.jsonl", bulk())
    (logs / "labels.jsonl").write_text('{"id": "call-1", "ok": false, "category": "format"}\n{"id": \n'
                                       '{"id": "call-2", "ok": "maybe"}\n{"id": "call-3", "ok": true}\n')
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["analyze", str(logs), "-o", str(tmp_path / "a.json")])
    assert res.exit_code == 0, res.output
    assert "labels.jsonl:2" in res.output and "labels.jsonl:3" in res.output
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["failures"]["sources"]["label_lines_skipped"] == 2
    assert data["failures"]["sources"]["labels"] == 2
    res = CliRunner().invoke(cli, ["analyze", str(logs), "--strict", "-o", str(tmp_path / "b.json")])
    assert res.exit_code == 1 and "labels.jsonl:2" in str(res.exception)


# ----------------------------------------------------------------------------- 18.12 real export shapes

REAL = Path(__file__).resolve().parent / "fixtures" / "real_exports"  # sources: fixtures/real_exports/README.md


def test_bare_anthropic_response_is_dated_by_file_mtime_and_labelled_assumed(tmp_path):
    import os

    path = tmp_path / "anthropic_message.json"
    path.write_bytes((REAL / "anthropic_message.json").read_bytes())
    when = datetime(2025, 4, 2, 9, 30, tzinfo=UTC).timestamp()
    os.utime(path, (when, when))
    got = analysed(path)
    assert got["data_quality"]["records"] == 1
    assert got["window"]["first"] == "2025-04-02T09:30:00Z"
    assert got["data_quality"]["assumed_time"]["records"] == 1
    assert got["data_quality"]["assumed_time"]["source"] == "file modification time"
    assert got["inputs"][0]["assumed_time"] == 1
    assert got["models"]["claude-3-7-sonnet-20250219"]["tokens"]["tokens"]["input"]["total"] == 2095


def test_assume_time_dates_records_of_any_format_and_is_shown(tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "calls.jsonl", [{k: v for k, v in r.items() if k != "timestamp"} for r in bulk(3)])
    got = analysed(path, assume_time="2025-05-01")
    assert got["data_quality"]["assumed_time"]["source"] == "--assume-time 2025-05-01T00:00:00+00:00"
    assert (got["data_quality"]["records"], got["window"]["first"]) == (3, "2025-05-01T00:00:00Z")
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["analyze", str(path), "--assume-time", "2025-05-01", "-o", str(tmp_path / "a.json")])
    assert res.exit_code == 0, res.output
    assert "time ASSUMED for 3 records" in " ".join(res.output.split())
    res = CliRunner().invoke(cli, ["analyze", str(path), "-o", str(tmp_path / "b.json")])  # canonical: no fallback
    assert res.exit_code == 1


def test_otlp_json_with_protobufjs_long_integers():
    got = analysed(REAL / "otlp_protobufjs.json")
    assert got["data_quality"]["records"] == 1 and got["data_quality"]["skipped_lines"] == {}
    # high=395276536, low=-1013133952 → (395276536 << 32) + (2**32 - 1013133952) ns
    start_ns = (395276536 << 32) + (2**32 - 1013133952)
    assert got["window"]["first"] == datetime.fromtimestamp(start_ns // 10**9, tz=UTC).replace(
        microsecond=start_ns % 10**9 // 1000).isoformat().replace("+00:00", "Z")
    model = got["models"]["gpt-4o-mini-2024-07-18"]
    assert model["tokens"]["tokens"]["input"]["total"] == 1250 and model["tokens"]["tokens"]["output"]["total"] == 87
    assert model["reliability"]["latency_ms"]["p50"] == pytest.approx((-1011286551 + 1013133952) / 1e6)


def test_long_int_conversion():
    from advisor.ingest.common import long_int

    assert long_int({"low": -1, "high": -1, "unsigned": True}) == 2**64 - 1
    assert long_int({"low": -1, "high": -1}) == -1
    assert long_int({"low": 5, "high": 1}) == (1 << 32) + 5
    assert long_int("12") == "12"


def test_langsmith_js_sdk_post_then_patch_payloads():
    from advisor.ingest import IngestReport, read_records

    report = IngestReport()
    records = list(read_records([REAL / "langsmith_js_runs.jsonl"], report=report))
    assert report.files[0].format == "langsmith" and report.skipped == {}
    assert [r.id for r in records] == ["1b64098b-4ab7-43f6-afee-992304f198d8", "809ed3a2-0172-4f4d-8a02-a64e9b7a0f8a"]
    first, second = records
    assert first.timestamp == datetime(2025, 3, 3, 8, 20, 0, 123000, tzinfo=UTC)
    assert first.latency_ms == pytest.approx(864)
    assert first.output == "Paris." and first.system == "You are a geography assistant."
    assert (first.usage.input_tokens, first.usage.output_tokens) == (24, 2)  # AIMessage.usage_metadata
    assert (second.usage.input_tokens, second.usage.output_tokens) == (31, 2)  # llmOutput.tokenUsage (camelCase)
    assert second.usage.origin == "reported" and second.finish_reason == "stop"


# ----------------------------------------------------------------------------- 17.5 format modules stand alone

# A format module may use common helpers (common.py, and fastpath.py for its typed fast path) and the record model;
# wrapping another provider's body goes through that format's one public composition function, nothing else.
SHARED = ("advisor.ingest.common", "advisor.ingest.fastpath")
COMPOSITION = {("advisor.ingest.openai_chat", "chat_record"), ("advisor.ingest.anthropic", "record_of")}


def test_format_modules_import_only_common_helpers():
    import ast

    from advisor.ingest.registry import FORMATS

    root = Path(__file__).resolve().parent.parent
    bad = []
    for name, module in FORMATS.items():
        tree = ast.parse((root / "advisor" / "ingest" / f"{module.__name__.rsplit('.', 1)[1]}.py").read_text())
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("advisor.ingest"):
                if node.module == "advisor.ingest":  # `from advisor.ingest import anthropic`: check its uses
                    aliases.update({a.asname or a.name: f"advisor.ingest.{a.name}" for a in node.names})
                elif node.module not in SHARED:
                    bad += [f"{name}: {node.module}.{a.name}" for a in node.names
                            if (node.module, a.name) not in COMPOSITION]
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                if (aliases[node.value.id], node.attr) not in COMPOSITION:
                    bad.append(f"{name}: {node.value.id}.{node.attr}")
    assert bad == []


def test_repeats_are_noted_when_a_collector_cannot_read_twice(tmp_path):
    from advisor.analysis import build_analysis
    from advisor.failures import make_collector
    from advisor.kernel.config import AdviseConfig

    class OnePass:  # the failure collector without spawn/merge: the analysis cannot start over
        def __init__(self) -> None:
            self.inner = make_collector(AdviseConfig())

        def add(self, record) -> None:
            self.inner.add(record)

        def finish(self):
            return self.inner.finish()

    from advisor.ingest import read_records

    path = write_jsonl(tmp_path / "calls.jsonl", bulk(10) + bulk(10)[:2])
    got = build_analysis([], records=read_records([path]), collectors={"failures": OnePass()})
    assert got.failures.requests == 12 and got.data_quality.records == 12
    assert any("2 records repeat an earlier id" in n for n in got.data_quality.notes)
