"""Parquet exports are read as the JSON objects their JSONL twins carry (issue 20).

Each bundled example's logs are written to Parquet here (pyarrow infers a column per top-level field, with
nested structs and lists) and analysed beside the JSONL they came from: the analysis is the same except
for the `inputs` section, which names the files.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import timedelta
from pathlib import Path

import orjson
import pyarrow as pa  # the parquet extra, which setup.sh installs
import pyarrow.parquet as pq
import pytest

from advisor.analysis import analysis_json
from advisor.analyze import analyze_logs
from advisor.ingest import IngestReport, plan_units, read_records
from advisor.ingest.reader import iter_items
from advisor.kernel.errors import AdviseError, ParseError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _to_parquet(src: Path, dest: Path, row_group_size: int = 300) -> None:
    rows = [orjson.loads(line) for line in gzip.open(src) if line.strip()]
    table = pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(rows))])  # columns of every row
    pq.write_table(table, dest, row_group_size=row_group_size)


def _twins(scenario: str, tmp: Path) -> tuple[Path, Path]:
    """The example as given (JSONL) and the same logs as Parquet, each beside the example's config and labels."""
    src = EXAMPLES / scenario
    jsonl, parquet = tmp / "jsonl", tmp / "parquet"
    jsonl.mkdir()
    parquet.mkdir()
    for f in src.iterdir():
        if f.name.startswith("labels.") or f.name == "advise.toml":
            shutil.copy(f, jsonl / f.name)
            shutil.copy(f, parquet / f.name)
        elif f.name.endswith(".jsonl.gz"):
            shutil.copy(f, jsonl / f.name)
            _to_parquet(f, parquet / f.name.replace(".jsonl.gz", ".parquet"))
    return jsonl, parquet


def _analysis(path: Path) -> dict:
    """The analysis with the directory's own name replaced (the labels and config files are named by path)."""
    return _analysis_kw(path)


def _analysis_kw(path: Path, **kw) -> dict:
    data = json.loads(analysis_json(analyze_logs([path], **kw)).replace(str(path), "LOGS"))
    data.pop("generated_at")
    return data


@pytest.mark.parametrize("scenario", ["support", "ecommerce", "formats/canonical", "formats/openai_batch"])
def test_parquet_gives_the_analysis_of_its_jsonl(tmp_path: Path, scenario: str) -> None:
    jsonl, parquet = _twins(scenario, tmp_path)
    want, got = _analysis(jsonl), _analysis(parquet)
    want_inputs, got_inputs = want.pop("inputs"), got.pop("inputs")
    assert got == want
    assert [f["path"].endswith(".parquet") for f in got_inputs] == [True] * len(want_inputs)
    assert [(f["format"], f["lines"], f["records"]) for f in got_inputs] == \
        [(f["format"], f["lines"], f["records"]) for f in want_inputs]
    assert want["data_quality"]["records"] > 0


def test_rows_are_the_json_objects_nulls_left_out(tmp_path: Path) -> None:
    path = tmp_path / "calls.parquet"
    rows = [{"a": 1, "b": {"c": "x", "d": None}, "t": [1, 2]}, {"a": 2, "b": None, "t": None}]
    table = pa.Table.from_pylist(rows)
    table = table.append_column("when", pa.array([0, 86_400_000_000], pa.timestamp("us", tz="UTC")))
    pq.write_table(table, path, row_group_size=1)
    assert list(iter_items(path)) == [
        (1, {"a": 1, "b": {"c": "x"}, "t": [1, 2], "when": "1970-01-01T00:00:00+00:00"}),
        (2, {"a": 2, "when": "1970-01-02T00:00:00+00:00"}),
    ]
    assert [u.whole for u in plan_units([tmp_path], format="canonical")] == [True]
    units = plan_units([tmp_path], format="canonical", chunk_bytes=1)  # one unit per row group here
    assert [(u.start, u.end, u.first_line) for u in units] == [(0, 1, 1), (1, 2, 2)]


def test_big_parquet_is_read_in_row_groups_by_several_processes(tmp_path: Path) -> None:
    from tests.test_parallel import _same_but_rounding

    _, parquet = _twins("support", tmp_path)
    (log,) = parquet.glob("*.parquet")
    _to_parquet(EXAMPLES / "support" / "anthropic.jsonl.gz", log, row_group_size=50)
    chunk = log.stat().st_size // 6
    units = plan_units([log], chunk_bytes=chunk)
    assert len(units) > 3 and units[0].first_line == 1
    assert [u.first_line for u in units[1:]] == [1 + 50 * u.start for u in units[1:]]
    one = _analysis_kw(parquet, jobs=1, chunk_bytes=chunk)
    two = _analysis_kw(parquet, jobs=2, chunk_bytes=chunk)
    assert one == two  # byte for byte, whatever the number of processes
    whole = _analysis_kw(parquet, jobs=1, chunk_bytes=1 << 40)
    _same_but_rounding(whole, two)  # pieces sum floats in another order, nothing else changes
    assert two["inputs"][0]["lines"] == two["data_quality"]["records"] == 867


def test_a_value_without_json_form_names_row_and_field(tmp_path: Path) -> None:
    src = EXAMPLES / "formats" / "openai_chat" / "openai_chat.jsonl.gz"
    rows = [orjson.loads(line) for line in gzip.open(src) if line.strip()][:5]
    table = pa.Table.from_pylist(rows)
    odd = pa.array([None, None, timedelta(seconds=3), None, None], pa.duration("s"))
    table = table.append_column("elapsed", odd)
    path = tmp_path / "calls.parquet"
    pq.write_table(table, path)
    errors: list[ParseError] = []
    report = IngestReport()
    got = list(read_records([path], report=report, on_error=errors.append))
    assert len(got) == 4 and [e.line for e in errors] == [3]
    assert errors[0].file == str(path) and errors[0].field == "elapsed"
    assert report.files[0].skipped == {"unreadable Parquet value": 1}


def test_a_damaged_parquet_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "calls.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(AdviseError) as err:
        list(read_records([path]))
    assert err.value.file == str(path) and "Parquet" in err.value.message
