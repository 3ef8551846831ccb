"""Read LLM call logs of any supported format into :class:`advisor.kernel.record.Record`, streaming.

``read_records(paths)`` expands directories, sniffs each file's format (or takes
``format=``), and yields Records one at a time. Malformed lines are reported through
``on_error`` as ``file:line: reason``, counted per reason in the :class:`IngestReport` and
skipped (``strict=True`` raises the first one instead). Whole-input problems (no such path,
an empty or unreadable file, a FIFO or device named as input, an unknown format) raise
:class:`AdviseError` naming the file. In a directory, what is not read is listed in
``IngestReport.ignored`` with why (unreadable subdirectories, non-regular files, advise's own
outputs recognised by their manifests, labels), and an input whose content repeats an earlier one
(``calls.jsonl`` + ``calls.jsonl.gz``) is skipped (see :mod:`advisor.ingest.duplicates`).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import orjson

from advisor.ingest.columnar import is_parquet, iter_parquet, split_row_groups
from advisor.ingest.common import ASSUMED, Item, Skipped, reason_of
from advisor.ingest.detect import SNIFF_ITEMS, detect_format, non_log_kind
from advisor.ingest.duplicates import identical_files
from advisor.ingest.reader import FileDigest, is_document, iter_items, iter_span, split_lines
from advisor.ingest.registry import FORMATS, format_names
from advisor.kernel.errors import AdviseError, ParseError
from advisor.kernel.io import open_binary, sha256_file
from advisor.kernel.record import Record

__all__ = ["CHUNK_BYTES", "FORMATS", "FileStats", "IngestReport", "Unit", "expand_paths", "format_names", "plan_units",
           "read_records", "read_unit"]

LOG_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz", ".parquet", ".parq")
MAX_KEPT_ERRORS = 100


@dataclass
class FileStats:
    """What one input file gave: its format, content hash, items read, Records made, lines skipped by reason."""

    path: str
    format: str | None = None
    sha256: str | None = None
    lines: int = 0  # non-blank lines (JSONL) or items (single JSON document) read
    records: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    assumed_time: int = 0  # records that carried no time and got an assumed one (see common.assumed_time)


@dataclass
class IngestReport:
    """Filled while `read_records` streams: per-file stats, the first errors, notes for the user."""

    files: list[FileStats] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)  # the first MAX_KEPT_ERRORS
    error_count: int = 0
    notes: list[str] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (path, why) found in a directory, not read
    duplicate_files: list[tuple[str, str]] = field(default_factory=list)  # (skipped, identical earlier input)

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    def merge(self, part: IngestReport) -> None:
        """Add what one unit read (see :func:`read_unit`) to this report; units must be merged in order."""
        by_path = {f.path: f for f in self.files}
        for f in part.files:
            mine = by_path.get(f.path)
            if mine is None:
                mine = by_path[f.path] = FileStats(path=f.path, format=f.format)
                self.files.append(mine)
            mine.format = mine.format or f.format
            mine.lines += f.lines
            mine.records += f.records
            mine.assumed_time += f.assumed_time
            mine.sha256 = f.sha256 or mine.sha256
            for reason, n in f.skipped.items():
                mine.skipped[reason] = mine.skipped.get(reason, 0) + n
        self.errors.extend(part.errors[:max(0, MAX_KEPT_ERRORS - len(self.errors))])
        self.error_count += part.error_count
        self.notes.extend(n for n in part.notes if n not in self.notes)
        self.ignored.extend(part.ignored)
        self.duplicate_files.extend(part.duplicate_files)

    @property
    def skipped(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for f in self.files:
            for reason, n in f.skipped.items():
                total[reason] = total.get(reason, 0) + n
        return total


def _is_log_name(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(LOG_SUFFIXES) and not name.startswith(".")


MANIFESTS = (("dataset.json", "advise dataset"), ("run.json", "advise training run"))
MAX_MANIFEST_BYTES = 16 << 20


def _is_advise_manifest(path: Path) -> bool:
    """A JSON object that advise wrote: it carries both `schema_version` and `advise_version`."""
    try:
        if not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
            return False
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return False
    return isinstance(doc, dict) and "schema_version" in doc and "advise_version" in doc


def advise_output_dir(d: Path) -> str | None:
    """What advise output a directory is (a dataset, a training run, an `advise run` output), or None.

    Recognised by its manifest's content, not its name: such a directory beside the logs would otherwise be
    read as logs (train.jsonl is chat data, not calls) and double count or stop the analysis."""
    for name, kind in MANIFESTS:
        if _is_advise_manifest(d / name):
            return f"{kind} ({name})"
    if (d / "stages.json").is_file() and _is_advise_manifest(d / "analysis.json"):
        return "advise run output (stages.json)"
    return None


def _walk(root: Path, skipped: list[tuple[str, str]]) -> list[Path]:
    """Log files under `root`, sorted; hidden entries left out; unreadable directories, advise's own outputs
    and non-regular files (FIFOs, sockets) named in `skipped` instead of being passed over silently."""
    found: list[Path] = []

    def unreadable(exc: OSError) -> None:
        skipped.append((str(exc.filename or root), f"unreadable directory ({exc.strerror or exc})"))

    for here, dirs, files in os.walk(root, onerror=unreadable):
        d = Path(here)
        kind = advise_output_dir(d)
        if kind is not None:
            skipped.append((str(d), f"{kind}: advise's own output, not logs"))
            dirs.clear()
            continue
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for name in files:
            f = d / name
            if not _is_log_name(f):
                continue
            if f.is_file():
                found.append(f)
            elif f.exists():
                skipped.append((str(f), "not a regular file (FIFO, socket or device)"))
    return sorted(found)


def _regular(p: Path) -> None:
    """Refuse a named input that is not a regular file: reading a FIFO blocks forever, a device never ends."""
    if not p.is_file():
        raise AdviseError("not a regular file (a FIFO, socket or device)", file=str(p),
                          hint="save the log to a file first, then pass that file")


def expand_paths(paths: Sequence[str | Path],
                 skipped: list[tuple[str, str]] | None = None) -> list[tuple[Path, bool]]:
    """Files to read, as (path, found_in_directory); directories are searched recursively, sorted.

    What a directory holds but is not read (see :func:`_walk`) is appended to `skipped` as (path, why)."""
    skipped = skipped if skipped is not None else []
    out: list[tuple[Path, bool]] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            before = len(skipped)
            found = _walk(p, skipped)
            if not found:
                why = "; ".join(f"{path}: {reason}" for path, reason in skipped[before:before + 3])
                raise AdviseError("no log files in directory" + (f" ({why})" if why else ""), file=str(p),
                                  hint="advise reads *.jsonl, *.json (and their .gz) and *.parquet files")
            items = [(f, True) for f in found]
        elif p.exists():
            _regular(p)
            items = [(p, False)]
        else:
            raise AdviseError("no such file or directory", file=str(p), hint="check the path")
        for f, in_dir in items:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append((f, in_dir))
    if not out:
        raise AdviseError("no input files given", hint="pass log files or directories")
    return out


class _Opened:
    """A file opened to sniff its format from its first items (read again in full by its unit)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = str(path)
        self._items = iter_items(path)
        self.head: list[Item] = []
        dicts = 0
        for item in self._items:
            self.head.append(item)
            dicts += isinstance(item[1], dict)
            if dicts >= SNIFF_ITEMS or len(self.head) >= 10 * SNIFF_ITEMS:
                break

    @property
    def first(self) -> object:
        return next((obj for _, obj in self.head if isinstance(obj, dict)), None)

    def close(self) -> None:
        self._items.close()  # type: ignore[attr-defined]


class _Ingest:
    """The state of one `read_records` call: report, error policy and the files still to read."""

    def __init__(self, report: IngestReport, strict: bool, on_error: Callable[[ParseError], None] | None,
                 forced: str | None) -> None:
        self.report, self.strict, self.on_error, self.forced = report, strict, on_error, forced
        self.stats: dict[str, FileStats] = {}

    def open(self, path: Path, in_dir: bool) -> tuple[_Opened, str] | None:
        """Open and classify one file; None when a directory's file turns out not to be a log."""
        opened = _Opened(path)
        if in_dir:
            why = non_log_kind(path, opened.first)
            if why:
                opened.close()
                self.report.ignored.append((str(path), why))
                return None
        if not opened.head:
            opened.close()
            raise AdviseError("file is empty", file=str(path), hint="remove it or point advise at the right file")
        try:
            fmt = self.forced or detect_format(opened.head, str(path))
        except AdviseError:
            opened.close()
            raise
        return opened, fmt

    def start(self, file: str, fmt: str) -> FileStats:
        """Count a file in the report from now on."""
        stats = FileStats(path=file, format=fmt)
        self.stats[file] = stats
        self.report.files.append(stats)
        return stats

    def emit(self, results: Iterable[object]) -> Iterator[Record]:
        """Count each parser result against its file; errors go to on_error (or raise when strict)."""
        file, stats = None, None  # the current file's stats, looked up once per file, not per record
        for got in results:
            if isinstance(got, Record):
                if got.source.file != file or stats is None:
                    file, stats = got.source.file, self._stats_for(got.source.file)
                stats.records += 1
                yield got
            elif isinstance(got, ParseError):
                self._error(got)
            elif isinstance(got, Skipped):
                if got.count and got.reason:
                    skipped = self._stats_for(got.file).skipped
                    skipped[got.reason] = skipped.get(got.reason, 0) + got.count
                if got.note:
                    self.report.notes.append(got.note)

    def _stats_for(self, file: str | None) -> FileStats:
        if file not in self.stats:  # a parser named a file we did not open: keep the count anyway
            self.stats[str(file)] = FileStats(path=str(file))
            self.report.files.append(self.stats[str(file)])
        return self.stats[str(file)]

    def _error(self, err: ParseError) -> None:
        skipped = self._stats_for(err.file).skipped
        reason = reason_of(err)
        skipped[reason] = skipped.get(reason, 0) + 1
        self.report.error_count += 1
        if len(self.report.errors) < MAX_KEPT_ERRORS:
            self.report.errors.append(err)
        if self.strict:
            raise err
        if self.on_error is not None:
            self.on_error(err)


def _module(fmt: str) -> ModuleType:
    if fmt not in FORMATS:
        raise AdviseError(f"unknown format {fmt!r}", field="--format", hint="one of: " + ", ".join(FORMATS))
    return FORMATS[fmt]


CHUNK_BYTES = 32 << 20  # big plain JSONL files are read as line-aligned pieces of this size


@dataclass(frozen=True)
class Unit:
    """One piece of reading work: a whole file (or a multi-file group such as batch input + output), a
    line-aligned byte range of a big plain JSONL file, or a run of row groups of a big Parquet file (then
    `start`/`end` are row-group indices and `first_line` the first row). Units are independent, so they can
    run in other processes; their order is the input order, and results are merged in that order."""

    index: int
    files: tuple[str, ...]
    fmt: str
    start: int = 0
    end: int | None = None  # None: the whole file; else the byte range [start, end)
    first_line: int = 1
    size: int = 0  # bytes of input this unit covers (for progress)

    @property
    def whole(self) -> bool:
        return self.end is None


def _splittable(path: Path, module: ModuleType) -> bool:
    """Plain (not gzip) JSON Lines of a one-file format can be split at newlines."""
    if is_document(path) or is_parquet(path) or hasattr(module, "parse_group"):
        return False
    try:
        with open_binary(path) as fh:
            return not isinstance(fh, gzip.GzipFile)
    except OSError:
        return False


def plan_units(paths: Sequence[str | Path], *, format: str | None = None,  # noqa: A002
               report: IngestReport | None = None, chunk_bytes: int | None = CHUNK_BYTES) -> list[Unit]:
    """Expand, classify and sniff the inputs once; split plain JSONL files bigger than `chunk_bytes`.

    Fills `report.files` (one FileStats per file, in input order, with its format) and `report.ignored`.
    `chunk_bytes=None` never splits. The split depends on the file and `chunk_bytes` only, never on how
    many processes read it, so every reader of the same plan gets the same records in the same units.
    """
    if format is not None:
        _module(format)
    report = report if report is not None else IngestReport()
    state = _Ingest(report, False, None, format)
    skipped: list[tuple[str, str]] = []
    files = expand_paths(paths, skipped)
    for path, why in skipped:
        report.ignored.append((path, why))
        report.notes.append(f"{path}: skipped, {why}")
    done: set[Path] = set()
    for path, same in identical_files([p for p, _ in files]).items():  # e.g. calls.jsonl + calls.jsonl.gz
        done.add(path)
        report.duplicate_files.append((str(path), str(same)))
        report.notes.append(f"{path}: skipped, same content as {same} (each call is counted once)")
    units: list[Unit] = []
    for index, (path, in_dir) in enumerate(files):
        if path in done:
            continue
        done.add(path)
        got = state.open(path, in_dir)
        if got is None:
            continue
        opened, fmt = got
        opened.close()
        module = _module(fmt)
        group = [opened]
        if hasattr(module, "parse_group"):
            group += _partners(state, files[index + 1:], done, path.parent, fmt)
            for o in group[1:]:
                o.close()
        for o in group:
            state.start(o.file, fmt)
        size = sum(_size(o.path) for o in group)
        if chunk_bytes and size > chunk_bytes and len(group) == 1 and is_parquet(path) \
                and not hasattr(module, "parse_group"):  # row groups: start/end index groups, not bytes
            for start, end, row, share in split_row_groups(path, chunk_bytes):
                units.append(Unit(len(units), (str(path),), fmt, start, end, row, int(size * share)))
        elif chunk_bytes and size > chunk_bytes and len(group) == 1 and _splittable(path, module):
            for start, end, line in split_lines(path, chunk_bytes):
                units.append(Unit(len(units), (str(path),), fmt, start, end, line, end - start))
        else:
            units.append(Unit(len(units), tuple(o.file for o in group), fmt, size=size))
    return units


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_unit(unit: Unit, report: IngestReport, *, strict: bool = False,
              on_error: Callable[[ParseError], None] | None = None) -> Iterator[Record]:
    """Stream the Records of one unit; its lines, records, skipped lines and errors are counted in `report`
    (per file; a whole file's sha256 too). Merge such reports in unit order with :meth:`IngestReport.merge`."""
    state = _Ingest(report, strict, on_error, unit.fmt)
    module = _module(unit.fmt)
    stats = [state.start(f, unit.fmt) for f in unit.files]
    digests = [FileDigest() for _ in unit.files]
    fast = getattr(module, "fast_reader", None)  # the format's typed decoder of its usual lines (fastpath.py)
    if unit.whole:
        streams = [(st.path, _counted(iter_items(st.path, d, fast(st.path) if fast else None), st))
                   for st, d in zip(stats, digests, strict=True)]
    else:
        span = (iter_parquet(stats[0].path, (unit.start, unit.end), unit.first_line) if is_parquet(stats[0].path)
                else iter_span(stats[0].path, unit.start, unit.end, unit.first_line,
                               fast(stats[0].path) if fast else None))
        streams = [(stats[0].path, _counted(span,
                                            stats[0]))]
    try:
        if len(streams) > 1 or hasattr(module, "parse_group"):
            yield from state.emit(module.parse_group(streams))
        else:
            yield from state.emit(module.parse(streams[0][1], streams[0][0]))
    finally:
        for _, items in streams:
            items.close()  # type: ignore[attr-defined]
        for st in stats:
            st.assumed_time += ASSUMED.take(st.path)
    if unit.whole:
        for st, d in zip(stats, digests, strict=True):
            try:
                st.sha256 = d.hexdigest() or sha256_file(st.path)
            except OSError:
                st.sha256 = None


def _counted(items: Iterator[Item], stats: FileStats) -> Iterator[Item]:
    try:
        for item in items:
            stats.lines += 1
            yield item
    finally:
        items.close()  # type: ignore[attr-defined]


def read_records(paths: Sequence[str | Path], *, format: str | None = None, strict: bool = False,  # noqa: A002
                 report: IngestReport | None = None,
                 on_error: Callable[[ParseError], None] | None = None) -> Iterator[Record]:
    """Stream Records from log files and directories (see module docstring); lazy: nothing is read until iterated."""
    report = report if report is not None else IngestReport()
    units = plan_units(paths, format=format, report=report, chunk_bytes=None)
    for unit in units:
        part = IngestReport()
        try:
            yield from read_unit(unit, part, strict=strict, on_error=on_error)
        finally:
            report.merge(part)


def _partners(state: _Ingest, rest: list[tuple[Path, bool]], done: set[Path], parent: Path,
              fmt: str) -> list[_Opened]:
    """The other files of the same multi-file format in the same directory (e.g. batch input + output)."""
    out: list[_Opened] = []
    for path, in_dir in rest:
        if path in done or path.parent != parent:
            continue
        try:
            got = state.open(path, in_dir)
        except AdviseError:
            continue  # read (and reported) in its own turn
        if got is None:
            done.add(path)
            continue
        opened, other = got
        if other == fmt:
            done.add(path)
            out.append(opened)
        else:
            opened.close()
    return out
