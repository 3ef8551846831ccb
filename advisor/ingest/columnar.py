"""Rows of Parquet exports as the JSON objects the log formats parse (one column per top-level field).

Many observability tools export call logs to Parquet: the same objects their JSONL exports carry, a
column per top-level field with nested structs and lists. The file is read one batch of rows at a
time through pyarrow (memory stays one batch, whatever the file size) and each row becomes the dict
the JSONL line would have been: a null — how Parquet spells a field a row does not have — is left
out (so ``"key" in obj`` means what it means for JSON), timestamps become ISO 8601 text, decimals
floats, map columns dicts, binary columns UTF-8 text. Rows are numbered from 1 in file order; a
value that cannot be turned into JSON is a :class:`ParseError` naming file, row and field.
pyarrow is the optional ``[parquet]`` extra, imported only when a Parquet file is read.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from advisor.ingest.common import Item, parse_error
from advisor.kernel.errors import AdviseError, MissingExtraError

PARQUET_SUFFIXES = (".parquet", ".parq")
BATCH_ROWS = 2048  # rows converted at a time: bounded memory, few calls into pyarrow


def is_parquet(path: str | Path) -> bool:
    return Path(path).name.lower().endswith(PARQUET_SUFFIXES)


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingExtraError("parquet", "pyarrow") from None
    return pq


class _BadValue(Exception):
    def __init__(self, field: str, why: str) -> None:
        super().__init__(why)
        self.field, self.why = field, why


def _plain(value: Any) -> Any:
    """A pyarrow Python value as what orjson.loads would have given for it."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if v is None:
                continue
            try:
                out[k] = _plain(v)
            except _BadValue as exc:
                raise _BadValue(f"{k}.{exc.field}" if exc.field else str(k), exc.why) from None
        return out
    if isinstance(value, list):
        out_list = []
        for i, v in enumerate(value):
            try:
                out_list.append(_plain(v))
            except _BadValue as exc:
                raise _BadValue(f"[{i}].{exc.field}".replace(".[", "[") if exc.field else f"[{i}]",
                                exc.why) from None
        return out_list
    if isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, tuple):  # a map entry list comes as [(key, value), ...] where dicts are not asked for
        return [_plain(v) for v in value]
    raise _BadValue("", f"a {type(value).__name__} value has no JSON form")


def _row_items(batch: Any, first_row: int, file: str) -> Iterator[Item]:
    try:
        rows = batch.to_pylist(maps_as_pydicts="lossy")
    except TypeError:  # older pyarrow: maps come as lists of (key, value) pairs
        rows = batch.to_pylist()
    for n, row in enumerate(rows, first_row):
        try:
            yield n, _plain(row)
        except _BadValue as exc:
            yield n, parse_error(file, n, "unreadable Parquet value", exc.why, field=exc.field,
                                 hint="store the column as a string, number, list or struct")


def split_row_groups(path: str | Path, size: int) -> list[tuple[int, int, int, float]]:
    """Runs of whole row groups of about `size` bytes (uncompressed) covering a Parquet file:
    (first group, end group, first row, share of the rows) each — how a big export is read by several
    processes. Like the line-aligned pieces of JSONL, the split depends on the file and `size` only."""
    pq = _pyarrow_parquet()
    import pyarrow as pa

    try:
        with pq.ParquetFile(str(path)) as pf:
            meta = pf.metadata
    except (OSError, pa.ArrowException) as exc:
        raise AdviseError(f"not a readable Parquet file ({exc})", file=str(path),
                          hint="re-export it, or export JSON Lines instead") from None
    total = max(1, meta.num_rows)
    out: list[tuple[int, int, int, float]] = []
    start, first_row, row, acc = 0, 1, 1, 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        acc += group.total_byte_size
        row += group.num_rows
        if acc >= size:
            out.append((start, g + 1, first_row, (row - first_row) / total))
            start, first_row, acc = g + 1, row, 0
    if start < meta.num_row_groups or not out:
        out.append((start, meta.num_row_groups, first_row, (row - first_row) / total))
    return out


def iter_parquet(path: str | Path, groups: tuple[int, int] | None = None, first_row: int = 1) -> Iterator[Item]:
    """(row, object) for every row of a Parquet file (or of row groups [start, end), numbered from
    `first_row`), batch by batch; a damaged row group ends the file with an error item at the first row it
    held (the rows before it are kept)."""
    pq = _pyarrow_parquet()
    import pyarrow as pa

    file = str(path)
    try:
        pf = pq.ParquetFile(file)
    except FileNotFoundError:
        raise AdviseError("no such file", file=file, hint="check the path") from None
    except PermissionError:
        raise AdviseError("permission denied", file=file, hint="check the file's read permission") from None
    except (OSError, pa.ArrowException) as exc:
        raise AdviseError(f"not a readable Parquet file ({exc})", file=file,
                          hint="re-export it, or export JSON Lines instead") from None
    row = first_row
    chosen = None if groups is None else list(range(*groups))
    try:
        with pf:
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, row_groups=chosen):
                yield from _row_items(batch, row, file)
                row += batch.num_rows
    except (OSError, pa.ArrowException) as exc:
        yield row, parse_error(file, row, "damaged Parquet data", str(exc),
                               hint="the rest of this file was not read; re-export it")
