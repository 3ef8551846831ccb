"""Reading the logs in pieces and in several processes gives the analysis of one plain pass.

Big plain JSONL files are split into line-aligned pieces (advisor.ingest.plan_units) and measured by
worker processes (advisor.scan); every accumulator merges deterministically. Two promises are tested:
the analysis does not depend on the number of processes at all (byte-identical JSON), and splitting
changes nothing but the rounding of float sums (same counts, prefixes, failures, samples).
"""

from __future__ import annotations

import gzip
import json
import math
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from advisor.analysis import analysis_json
from advisor.analyze import analyze_logs
from advisor.cli import cli
from advisor.failures.cluster import TextItem, TextReservoir
from advisor.ingest import IngestReport, plan_units, read_records
from advisor.kernel.errors import ParseError
from advisor.metrics.sketch import QuantileSketch
from advisor.metrics.static_prompt import _Family

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SMALL_CHUNK = 256 << 10  # ~20 pieces for a 5 MB log


def _plain_copy(scenario: str, dest: Path) -> Path:
    """The example's logs unzipped (only plain files can be split) beside its advise.toml and labels."""
    dest.mkdir()
    src = EXAMPLES / scenario
    for f in src.iterdir():
        if f.name.endswith(".jsonl.gz"):
            target = dest / f.name.removesuffix(".gz")
            with gzip.open(f, "rb") as fin, open(target, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        elif f.name == "advise.toml":
            shutil.copy(f, dest / f.name)
    return dest


def _analysis(path: Path, **kw) -> dict:
    data = json.loads(analysis_json(analyze_logs([path], **kw)))
    data.pop("generated_at")
    return data


def _same_but_rounding(a: object, b: object, where: str = "") -> None:
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), where
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same_but_rounding(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_but_rounding(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.fixture(scope="module")
def support_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _plain_copy("support", tmp_path_factory.mktemp("parallel") / "support")


def test_big_file_is_planned_as_line_aligned_pieces(support_logs: Path) -> None:
    log = next(support_logs.glob("*.jsonl"))
    units = plan_units([log], chunk_bytes=SMALL_CHUNK)
    assert len(units) > 4
    data = log.read_bytes()
    assert units[0].start == 0 and units[-1].end == len(data)
    for before, after in zip(units, units[1:], strict=False):
        assert before.end == after.start and data[after.start - 1:after.start] == b"\n"
        assert after.first_line == before.first_line + data[before.start:before.end].count(b"\n")


def test_jobs_do_not_change_the_analysis(support_logs: Path) -> None:
    one = _analysis(support_logs, jobs=1, chunk_bytes=SMALL_CHUNK)
    two = _analysis(support_logs, jobs=2, chunk_bytes=SMALL_CHUNK)
    assert one == two  # byte for byte, floats included
    assert one["failures"]["failures"] > 0 and one["failures"]["sources"]["labelled_records"] > 0


def test_pieces_give_the_analysis_of_one_pass(support_logs: Path) -> None:
    whole = _analysis(support_logs, jobs=1, chunk_bytes=1 << 40)
    pieces = _analysis(support_logs, jobs=2, chunk_bytes=SMALL_CHUNK)
    assert any(f["static_prefix_tokens"] for f in whole["prompt_families"])
    _same_but_rounding(whole, pieces)


def test_parallel_reports_malformed_lines_with_their_line_numbers(tmp_path: Path) -> None:
    src = _plain_copy("ecommerce", tmp_path / "ecommerce")
    log = next(src.glob("*.jsonl"))
    lines = log.read_bytes().split(b"\n")
    bad = [7, 500, 1500]
    for n in bad:
        lines[n - 1] = b'{"request": {"model": "gpt-4o", "messages": [tru'
    log.write_bytes(b"\n".join(lines))
    seen: list[tuple[int | None, str]] = []
    analysis = analyze_logs([src], jobs=2, chunk_bytes=SMALL_CHUNK, on_error=lambda e: seen.append((e.line, e.file)))
    assert [line for line, _ in seen] == bad and {f for _, f in seen} == {str(log)}
    assert analysis.data_quality.skipped_lines == {"invalid JSON": 3}
    serial: list[int | None] = []
    list(read_records([log], on_error=lambda e: serial.append(e.line)))
    assert serial == bad
    with pytest.raises(ParseError) as err:
        analyze_logs([src], jobs=2, chunk_bytes=SMALL_CHUNK, strict=True)
    assert err.value.line == 7 and err.value.file == str(log)


def test_cli_jobs_option_gives_the_same_file(support_logs: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"a{jobs}.json"
        res = runner.invoke(cli, ["analyze", str(support_logs), "-o", str(out), "-q", "--jobs", jobs])
        assert res.exit_code == 0, res.output
        data = json.loads(out.read_text())
        data.pop("generated_at")
        outs.append(data)
    assert outs[0] == outs[1]


def test_split_file_still_gets_its_sha256(support_logs: Path) -> None:
    import hashlib

    log = next(support_logs.glob("*.jsonl"))
    report = IngestReport()
    units = plan_units([log], report=report, chunk_bytes=SMALL_CHUNK)
    assert len(units) > 1
    data = _analysis(support_logs, jobs=2, chunk_bytes=SMALL_CHUNK)
    (entry,) = [i for i in data["inputs"] if i["path"] == str(log)]
    assert entry["sha256"] == hashlib.sha256(log.read_bytes()).hexdigest()
    assert entry["lines"] == log.read_bytes().count(b"\n")


# ----------------------------------------------------------------------------- merges, one by one


@given(st.lists(st.one_of(st.integers(0, 5000), st.floats(0, 1e6)), max_size=3000), st.integers(0, 3000))
@settings(max_examples=40, deadline=None)
def test_sketch_merge_equals_adding_one_by_one(values: list[float], cut: int) -> None:
    whole, left, right = QuantileSketch(), QuantileSketch(), QuantileSketch()
    for v in values:
        whole.add(v)
    for v in values[:cut]:
        left.add(v)
    for v in values[cut:]:
        right.add(v)
    left.merge(right)
    assert left.count == whole.count and left.min == whole.min and left.max == whole.max
    assert math.isclose(left.total, whole.total, rel_tol=1e-9, abs_tol=1e-9)
    for q in (0.01, 0.5, 0.95, 1.0):
        assert left.quantile(q) == whole.quantile(q)


def test_text_sample_does_not_depend_on_where_the_stream_is_cut() -> None:
    items = [TextItem(f"r{i}", f"note {i % 97} about the {i % 13} fee", f"e{i}", "format") for i in range(3000)]
    whole = TextReservoir(capacity=200)
    for it in items:
        whole.add(it)
    merged = TextReservoir(capacity=200)
    for lo, hi in ((0, 700), (700, 701), (701, 3000)):
        piece = TextReservoir(capacity=200)
        for it in items[lo:hi]:
            piece.add(it)
        merged.merge(piece)
    assert merged.items == whole.items and merged.seen == whole.seen == 3000
    assert [it.record_id for it in whole.items] == sorted((it.record_id for it in whole.items),
                                                          key=lambda r: int(r[1:]))  # stream order


_SEG_TEXT = st.sampled_from(["You are Acme's assistant. Be brief.", "You are Acme's assistant. Be kind.",
                             "You are Acme's helper.", "Hi", "Hi there", ""])
_REQUEST = st.lists(st.tuples(st.sampled_from(["system", "user", "tool"]), _SEG_TEXT), min_size=0, max_size=4)


@given(st.lists(_REQUEST, min_size=1, max_size=12), st.integers(0, 12))
# the later piece's reference equals our full segment and its witness shrinks it (found by hypothesis)
@example([[("system", "")], [("system", "")], [("system", "You are Acme's assistant. Be brief.")]], 1)
@settings(max_examples=300, deadline=None)
def test_prefix_merge_equals_updating_request_by_request(requests: list, cut: int) -> None:
    def state(fam: _Family) -> list:
        return [(s.kind, s.text, s.common, s.full, s.witness) for s in fam.segs or []]

    whole = _Family("m", "k")
    for segs in requests:
        whole.update_prefix(list(segs))
    left, right = _Family("m", "k"), _Family("m", "k")
    for segs in requests[:cut]:
        left.update_prefix(list(segs))
    for segs in requests[cut:]:
        right.update_prefix(list(segs))
    left.merge_prefix(right)
    assert state(left) == state(whole)


def test_family_merge_adds_counts_and_keeps_times() -> None:
    rng = random.Random(3)
    a, b = _Family("m", "k"), _Family("m", "k")
    for fam, n in ((a, 30), (b, 50)):
        for _ in range(n):
            fam.requests += 1
            fam.times.append(rng.randrange(10**6))
    before = list(a.times) + list(b.times)
    a.merge(b)
    assert a.requests == 80 and list(a.times) == before


def test_a_dying_worker_is_a_clear_error_not_a_hang(support_logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import advisor.scan as scan
    from advisor.kernel.errors import AdviseError

    def die(self: object) -> None:
        os._exit(9)  # as if the OOM killer took the worker

    monkeypatch.setattr(scan.Pass, "spawn", die)  # called in the workers only when jobs > 1
    with pytest.raises(AdviseError, match="worker process") as err:
        analyze_logs([support_logs], jobs=2, chunk_bytes=SMALL_CHUNK)
    assert "--jobs 1" in (err.value.hint or "")


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_counts_bytes_up_to_the_total(support_logs: Path, jobs: int) -> None:
    seen: list[tuple[int, int]] = []
    analyze_logs([support_logs], jobs=jobs, chunk_bytes=SMALL_CHUNK,
                 progress=lambda done, total: seen.append((done, total)))
    size = sum(f.stat().st_size for f in support_logs.glob("*.jsonl") if not f.name.startswith("labels"))
    assert len(seen) > 4 and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1][0] == seen[-1][1] >= size


def test_signatures_past_the_cap_fold_into_other_in_one_pass_and_across_pieces(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime
    from itertools import product

    import advisor.failures.collector as collector
    from advisor.kernel.record import Feedback, Record, SourceRef, Usage

    monkeypatch.setattr(collector, "MAX_SIGNATURES", 3)
    notes = ["".join(p) for p in product("qxz", repeat=3)][:8]  # distinct one-word notes: distinct signatures
    records = [Record(id=f"r{i}", source_format="canonical", source=SourceRef(file="f.jsonl", line=i + 1),
                      timestamp=datetime(2025, 3, 1, tzinfo=UTC), model="gpt-4o-mini", output="hello",
                      usage=Usage(input_tokens=10, output_tokens=2),
                      feedback=[Feedback(source="thumbs", ok=False, category="style", note=note)])
               for i, note in enumerate(notes)]

    def counts(pieces: list[list[Record]]) -> dict[str, int]:
        whole = collector.FailureCollector()
        for piece in pieces:
            part = whole.spawn()
            for r in piece:
                part.add(r)
            whole.merge(part)
        return {sig: st.count for sig, st in whole.sigs.items()}

    one_pass = counts([records])
    assert len(one_pass) == 4 and one_pass.pop("feedback:style:other") == 5  # 3 kept, the rest folded
    assert list(one_pass.values()) == [1, 1, 1]
    assert counts([records[:2], records[2:5], records[5:]]) == counts([records])


def _overlapping(support_logs: Path, dest: Path, first: float, last: float) -> Path:
    """The support logs plus lines [first, last) (fractions of its log) exported again as another file."""
    shutil.copytree(support_logs, dest)
    log = max(dest.glob("*.jsonl"), key=lambda p: p.stat().st_size)
    lines = log.read_bytes().splitlines(keepends=True)
    (dest / "export-2.jsonl").write_bytes(b"".join(lines[int(len(lines) * first): int(len(lines) * last)]))
    return dest


def _spy(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, pick: Callable[..., Any]) -> list[Any]:
    """`owner.name` left working, with `pick(*its arguments)` of every call recorded in order."""
    seen: list[Any] = []
    real = getattr(owner, name)

    def spied(*args: Any, **kw: Any) -> Any:
        seen.append(pick(*args, **kw))
        return real(*args, **kw)

    monkeypatch.setattr(owner, name, spied)
    return seen


@pytest.fixture
def pool_starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The worker count of every fork of a WorkerPool's workers, in order."""
    from advisor import scan

    return _spy(monkeypatch, scan.WorkerPool, "_start", lambda self, jobs, proto, strict: jobs)


def test_second_reading_reuses_the_workers_and_changes_nothing(support_logs: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               pool_starts: list[int]) -> None:
    """Repeated ids (an overlapping export) make advise read the logs twice. The second reading runs on the
    first one's worker processes, which restart their own collectors (labels count as unmatched again) from the
    settings file the parent writes: the analysis is the one-process analysis, byte for byte."""
    import tempfile

    logs = _overlapping(support_logs, tmp_path / "overlap", 1 / 3, 1 / 2)
    one = _analysis(logs, jobs=1, chunk_bytes=SMALL_CHUNK)
    dup = one["data_quality"]["duplicates"]
    assert dup["records"] > 100 and dup["ids"] == dup["records"]
    assert dup["by_file"] == {str(logs / "export-2.jsonl"): dup["records"]}
    assert one["failures"]["sources"]["labelled_records"] > 0

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    two = _analysis(logs, jobs=2, chunk_bytes=SMALL_CHUNK)
    assert two == one
    assert pool_starts == [2]  # forked once, for both readings
    assert list((tmp_path / "tmp").iterdir()) == []  # the second reading's settings file is gone


def test_a_pool_asked_for_another_shape_starts_fresh_workers(support_logs: Path) -> None:
    from advisor import scan

    log = next(support_logs.glob("*.jsonl"))
    units = plan_units([log], chunk_bytes=SMALL_CHUNK)[:4]
    from advisor.pricing import PriceBook

    proto = scan.Pass(scan.PassSettings(book=PriceBook(None), allow_unpriced=True, scale=1.0, sample_rate=1.0,
                                        start=None, stop=None), {})
    with scan.WorkerPool() as pool:
        with pool.measure(units, proto, False, 2) as pieces:
            assert scan._WORKER == {}  # the workers hold the pass; this process keeps no reference to it
            first = [piece.volume.result().requests for piece, _ in pieces]
        pids = set(pool._pool._processes)
        with pool.measure(units, proto, False, 3) as pieces:  # another number of workers: a new pool
            assert [piece.volume.result().requests for piece, _ in pieces] == first
        assert not pids & set(pool._pool._processes)
    assert pool._pool is None


def test_second_reading_without_a_temporary_file_forks_fresh_workers(support_logs: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     pool_starts: list[int]) -> None:
    """Where the later pass's settings file cannot be written, the second reading forks new workers (the
    earlier way, more memory) and gives the same analysis."""
    from advisor import scan

    logs = _overlapping(support_logs, tmp_path / "overlap", 0, 1 / 4)
    one = _analysis(logs, jobs=1, chunk_bytes=SMALL_CHUNK)

    def unwritable(self, settings):  # noqa: ANN001, ANN202
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(scan.WorkerPool, "_settings_file", unwritable)
    assert _analysis(logs, jobs=2, chunk_bytes=SMALL_CHUNK) == one
    assert one["data_quality"]["duplicates"]["records"] > 0 and pool_starts == [2, 2]


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of units each reading of the logs reads, in order."""
    from advisor import analysis

    return _spy(monkeypatch, analysis, "run_units", lambda units, *a, **kw: len(units))


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("export", ["export-2.jsonl", "0-export.jsonl"])  # read after the log, or before it
def test_second_reading_starts_at_the_first_repeat_and_changes_nothing(support_logs: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      export: str, jobs: int) -> None:
    """The second reading starts at the first unit that holds a repeated id, from the first reading's merge of
    the units before it (scan.Checkpoint): the analysis is the one a second reading of everything gives, byte
    for byte, with labels, and with the arrival seconds and id hashes spilled to files before and after."""
    import tempfile

    from advisor import analysis
    from advisor.ingest import duplicates
    from advisor.metrics import static_prompt

    logs = _overlapping(support_logs, tmp_path / "overlap", 1 / 3, 1 / 2)
    (logs / "export-2.jsonl").rename(logs / export)
    monkeypatch.setattr(static_prompt, "TIMES_SPILL_AT", 300)
    monkeypatch.setattr(duplicates.IdLedger.__init__, "__defaults__", (700,))
    monkeypatch.setattr(analysis, "RESUME_SECOND_READING", False)
    everything = _analysis(logs, jobs=jobs, chunk_bytes=SMALL_CHUNK)
    assert everything["failures"]["sources"]["labelled_records"] > 0
    assert everything["data_quality"]["duplicates"]["by_file"] == {
        str(logs / (export if export > "anthropic" else "anthropic.jsonl")):
            everything["data_quality"]["duplicates"]["records"]}

    monkeypatch.setattr(analysis, "RESUME_SECOND_READING", True)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    reads = _reads(monkeypatch)
    assert _analysis(logs, jobs=jobs, chunk_bytes=SMALL_CHUNK) == everything
    first, second = reads
    assert 0 < second < first  # only from the first unit holding a repeat
    if export == "export-2.jsonl":
        assert second == len(plan_units([logs / export], chunk_bytes=SMALL_CHUNK))  # just the export read last
    assert list((tmp_path / "tmp").iterdir()) == []  # the checkpoint file is gone


def _taken(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The units each checkpoint of the first reading was taken at, in order."""
    from advisor import scan

    return _spy(monkeypatch, scan.Checkpoint, "_take", lambda self, proto, unit, offset: unit)


@pytest.mark.parametrize("bits", [64, 1 << 11])  # every unit flagged in doubt; or full, yet telling an export
def test_a_full_filter_still_resumes_near_the_first_repeat(support_logs: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, bits: int) -> None:
    """A Bloom filter grown full (past a few million ids with the real 8 MiB) flags units that repeat nothing.
    The checkpoints then come spaced (1/SPACING of the input apart) until a flag is beyond doubt, and the second
    reading starts at the latest one before the first real repeat, the ledger's: it re-reads at most ~1/SPACING
    of the input for nothing, where the first false alarm alone would have re-read from near the start. A filter
    that is full but still tells (bits=2**13: a unit of the export hits on every id) resumes at the export
    itself. Byte for byte the analysis of a second reading of everything."""
    import math
    import tempfile

    from advisor import analysis, scan
    from advisor.ingest import duplicates

    chunk = 64 << 10  # ~40 units of ~30 records
    logs = _overlapping(support_logs, tmp_path / "overlap", 1 / 3, 1 / 2)
    monkeypatch.setattr(analysis, "RESUME_SECOND_READING", False)
    everything = _analysis(logs, jobs=1, chunk_bytes=chunk)

    monkeypatch.setattr(analysis, "RESUME_SECOND_READING", True)
    monkeypatch.setattr(duplicates.RepeatWatch.__init__, "__defaults__", (bits,))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    reads, taken = _reads(monkeypatch), _taken(monkeypatch)
    assert _analysis(logs, jobs=1, chunk_bytes=chunk) == everything
    units = plan_units([logs], chunk_bytes=chunk)
    export = [u.index for u in units if Path(u.files[0]).name == "export-2.jsonl"]
    first, second = reads
    assert first == len(units) and taken[0] < export[0] - 2  # a false alarm well before the export
    assert len(taken) <= scan.Checkpoint.SPACING + 2 and list((tmp_path / "tmp").iterdir()) == []
    if bits == 64:  # every unit in doubt: the latest spaced checkpoint before the export
        spacing = math.ceil(len(units) / scan.Checkpoint.SPACING) + 1
        assert len(export) < second <= len(export) + spacing
        assert second < first - taken[0]
    else:
        assert taken[-1] == export[0] and second == len(export)


def test_no_checkpoint_file_or_a_false_alarm_changes_nothing(support_logs: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle
    import tempfile

    from advisor import scan

    logs = _overlapping(support_logs, tmp_path / "overlap", 1 / 3, 1 / 2)
    want = _analysis(logs, jobs=1, chunk_bytes=SMALL_CHUNK)
    reads = _reads(monkeypatch)

    def no_space(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:  # no checkpoint can be written: everything is read again
        m.setattr(tempfile, "mkstemp", no_space)
        assert _analysis(logs, jobs=1, chunk_bytes=SMALL_CHUNK) == want
    assert reads[0] == reads[1]

    def unpicklable(self, obj):  # noqa: ANN001, ANN202
        raise pickle.PicklingError("a caller's collector holds a lambda")

    reads.clear()
    with monkeypatch.context() as m:  # nor pickled: the same
        m.setattr(scan._KeepShared, "dump", unpicklable)
        assert _analysis(logs, jobs=1, chunk_bytes=SMALL_CHUNK) == want
    assert reads[0] == reads[1]
    # a false alarm at the second unit of logs without repeats: a checkpoint, and no second reading
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(max(support_logs.glob("*.jsonl"), key=lambda p: p.stat().st_size), alone / "log.jsonl")
    clean = _analysis(alone, jobs=1, chunk_bytes=SMALL_CHUNK)
    calls: list[int] = []

    def alarm(self, hashes):  # noqa: ANN001, ANN202
        calls.append(1)
        return 0.5 if len(calls) == 2 else None  # a flag in doubt

    monkeypatch.setattr(scan.RepeatWatch, "check", alarm)
    reads.clear()
    assert _analysis(alone, jobs=1, chunk_bytes=SMALL_CHUNK) == clean
    assert len(calls) > 2 and len(reads) == 1  # the watch went on past the doubtful flag


def test_sigterm_stops_the_workers_and_removes_temporary_files(tmp_path: Path) -> None:
    """`kill PID` (SIGTERM, what a scheduler sends) unwinds like Ctrl-C: exit 143 with a one-line message, the
    forked workers gone, nothing left in TMPDIR, no half-written output."""
    import os
    import signal
    import subprocess
    import sys
    import time

    psutil = pytest.importorskip("psutil")
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "bench"))
    from gen_logs import write_logs  # type: ignore[import-not-found]

    logs = tmp_path / "logs"
    write_logs(logs, 20_000)  # four files: four units, ~1 s of work per worker
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "analysis.json"
    env = dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "advisor.cli", "analyze", str(logs), "--jobs", "2", "-q",
                             "--allow-unpriced", "--json", str(out)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    workers: list = []
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and len(workers) < 2:
        try:
            workers = parent.children(recursive=True)
        except psutil.Error:
            break
        time.sleep(0.01)
    assert len(workers) >= 2, "the analysis ended before its workers were seen; make the input bigger"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip() == "advise: terminated"
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive
    assert list(tmp.iterdir()) == [] and not out.exists()
