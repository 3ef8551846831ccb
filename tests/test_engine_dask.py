"""`--engine dask` runs the same units on a Dask cluster and gives the local analysis byte for byte (issue 20).

The test starts a LocalCluster of 2 worker processes (processes=True: the units, the shipped pass and the
pieces really cross process boundaries, as on a cluster) and analyses the bundled examples through it.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import distributed  # the cluster extra, which setup.sh installs
import pytest
from click.testing import CliRunner

from advisor.analysis import analysis_json
from advisor.analyze import analyze_logs
from advisor.cli import cli
from advisor.cluster import DaskEngine, measure_task, ship
from advisor.ingest import Unit
from advisor.kernel.errors import AdviseError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SMALL_CHUNK = 256 << 10


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


def _text(path: Path, **kw) -> str:
    """analysis.json without its one line that names the moment it was written."""
    text = analysis_json(analyze_logs([path], **kw))
    return "\n".join(line for line in text.splitlines() if '"generated_at"' not in line)


def _plain_copy(scenario: str, dest: Path) -> Path:
    """The example unzipped (plain JSONL is split into many units) beside its config and labels."""
    dest.mkdir()
    for f in (EXAMPLES / scenario).iterdir():
        if f.name.endswith(".jsonl.gz") and not f.name.startswith("labels."):
            with gzip.open(f, "rb") as fin, open(dest / f.name.removesuffix(".gz"), "wb") as fout:
                shutil.copyfileobj(fin, fout)
        else:
            shutil.copy(f, dest / f.name)
    return dest


@pytest.mark.parametrize("scenario", ["support", "ecommerce", "caching", "lowvolume", "plant-structural",
                                      "formats/openai_batch", "formats/canonical", "formats/anthropic"])
def test_engine_gives_the_local_analysis_byte_for_byte(cluster, scenario: str) -> None:
    path = EXAMPLES / scenario
    local = _text(path, jobs=1)
    assert _text(path, engine="dask", address=cluster.scheduler_address) == local


def test_engine_on_split_files_equals_every_local_run(cluster, tmp_path: Path) -> None:
    logs = _plain_copy("support", tmp_path / "support")
    one = _text(logs, jobs=1, chunk_bytes=SMALL_CHUNK)
    two = _text(logs, jobs=2, chunk_bytes=SMALL_CHUNK)
    on_cluster = _text(logs, engine="dask", address=cluster.scheduler_address, chunk_bytes=SMALL_CHUNK)
    assert one == two == on_cluster
    assert '"labelled_records": 0' not in on_cluster  # labels travelled to the workers


def test_cli_engine_option(cluster, tmp_path: Path) -> None:
    out = tmp_path / "analysis.json"
    got = CliRunner().invoke(cli, ["analyze", str(EXAMPLES / "ecommerce"), "--engine", "dask", "--address",
                                   cluster.scheduler_address, "-o", str(out), "-q"])
    assert got.exit_code == 0, got.output
    local = _text(EXAMPLES / "ecommerce")
    assert "\n".join(x for x in out.read_text().splitlines() if '"generated_at"' not in x) == local
    usage = CliRunner().invoke(cli, ["analyze", str(EXAMPLES / "ecommerce"), "--address", "tcp://x:1"])
    assert usage.exit_code == 2 and "--engine dask" in usage.output


def test_a_worker_that_cannot_see_the_input_says_so(tmp_path: Path) -> None:
    missing = str(tmp_path / "not-mounted.jsonl")
    with pytest.raises(AdviseError) as err:
        measure_task("x", b"", Unit(0, (missing,), "openai_chat"), False)
    assert err.value.file == missing and "shared" in (err.value.hint or "")


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    engine = DaskEngine("tcp://127.0.0.1:9", connect_timeout="1s")
    with pytest.raises(AdviseError) as err, engine._client():
        pass
    assert "cannot reach the Dask scheduler" in err.value.message and err.value.field == "--address"


def test_the_shipped_pass_keeps_what_a_returned_piece_leaves_out() -> None:
    import pickle

    from advisor.analyze import resolve_config
    from advisor.failures import make_collector
    from advisor.pricing import PriceBook
    from advisor.scan import Pass, PassSettings

    cfg = resolve_config([EXAMPLES / "support"], None)
    collector = make_collector(cfg, labels=EXAMPLES / "support" / "labels.jsonl.gz")
    proto = Pass(PassSettings(book=PriceBook(None), allow_unpriced=False, scale=1.0, sample_rate=1.0,
                              start=None, stop=None), {"failures": collector})
    back = pickle.loads(ship(proto))
    assert back.settings is not None and back.money.prices is not None
    assert back.extra["failures"].labels is not None and back.extra["failures"].config is not None
    assert pickle.loads(pickle.dumps(proto)).settings is None  # a piece sent back stays small


def test_engine_reads_parquet_like_the_local_run(cluster, tmp_path: Path) -> None:
    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = EXAMPLES / "ecommerce" / "openai_chat.jsonl.gz"
    rows = [orjson.loads(line) for line in gzip.open(src) if line.strip()]
    logs = tmp_path / "logs"
    logs.mkdir()
    for part in range(3):  # three files: three units, spread over both workers
        chunk = rows[part::3]
        pq.write_table(pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(chunk))]),
                       logs / f"part-{part}.parquet")
    assert _text(logs, engine="dask", address=cluster.scheduler_address) == _text(logs, jobs=1)


def test_assume_time_reaches_the_workers(cluster, tmp_path: Path) -> None:
    """--assume-time is set in the client process; Dask workers are other processes (not forked from it),
    so the time travels with each task: records without a time are dated the same as in the local run."""
    import json

    src = _plain_copy("formats/canonical", tmp_path / "logs")
    for f in src.glob("*.jsonl"):
        rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
        f.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "timestamp"}) + "\n" for r in rows))
    local = _text(src, jobs=1, assume_time="2025-05-01")
    assert '"source": "--assume-time 2025-05-01T00:00:00+00:00"' in local
    assert _text(src, engine="dask", address=cluster.scheduler_address, assume_time="2025-05-01") == local


def test_second_reading_keeps_the_same_client_and_equals_the_local_run(cluster, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Overlapping exports are read twice; both readings go through one client (a local cluster would otherwise
    be started twice), and the analysis is the local one byte for byte."""
    logs = _plain_copy("support", tmp_path / "overlap")
    log = max(logs.glob("*.jsonl"), key=lambda p: p.stat().st_size)
    lines = log.read_bytes().splitlines(keepends=True)
    (logs / "export-2.jsonl").write_bytes(b"".join(lines[len(lines) // 3: len(lines) // 2]))
    local = _text(logs, jobs=1, chunk_bytes=SMALL_CHUNK)
    assert json.loads(local)["data_quality"]["duplicates"]["records"] > 0  # repeats found: two readings
    clients: list[str] = []
    real = DaskEngine._client

    def counted(self):  # noqa: ANN001, ANN202
        clients.append(self.address)
        return real(self)

    monkeypatch.setattr(DaskEngine, "_client", counted)
    assert _text(logs, engine="dask", address=cluster.scheduler_address, chunk_bytes=SMALL_CHUNK) == local
    assert clients == [cluster.scheduler_address]
