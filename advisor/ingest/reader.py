"""Stream JSON items with their 1-based line numbers from `.jsonl`, `.json`, their `.gz` forms and Parquet.

JSONL is read in large blocks into one reused buffer and each line is parsed in place, so a file of
any size costs one buffer of memory and no copy per line (:func:`iter_span` reads one line-aligned
byte range of a plain file, which is how big files are split across processes). A
`.json` file is one document (an array, or an object wrapping a list such as an OTLP or
Langfuse export) and is loaded whole; its items are numbered by position (index + 1).
A `.parquet` file's rows are numbered like lines (:mod:`advisor.ingest.columnar`).
Bad lines never raise: they come out as a :class:`ParseError` item so the caller can
report ``file:line: reason``, count it and carry on.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import orjson

from advisor.ingest.columnar import is_parquet, iter_parquet
from advisor.ingest.common import Item, parse_error
from advisor.ingest.fastpath import Decode
from advisor.kernel.errors import AdviseError
from advisor.kernel.io import open_binary

# Keys under which single-document exports keep their list of items (first match wins).
WRAPPER_KEYS = ("data", "items", "records", "observations", "generations", "runs", "requests", "logs",
                "spans", "resourceSpans")
_BOM = b"\xef\xbb\xbf"


def is_document(path: str | Path) -> bool:
    """`.json`/`.json.gz` hold one JSON document; everything else is read as JSON Lines."""
    name = Path(path).name.lower()
    return name.endswith(".json") or name.endswith(".json.gz")


def open_log(path: str | Path):  # noqa: ANN201 - a binary file object
    """Open for reading, turning OS failures into an error that names the file and what to do."""
    p = Path(path)
    try:
        return open_binary(p)
    except FileNotFoundError:
        raise AdviseError("no such file", file=str(p), hint="check the path") from None
    except IsADirectoryError:
        raise AdviseError("is a directory, not a log file", file=str(p),
                          hint="pass the directory itself to read every log inside it") from None
    except PermissionError:
        raise AdviseError("permission denied", file=str(p), hint="check the file's read permission") from None
    except OSError as exc:
        raise AdviseError(f"cannot read file ({exc.strerror or exc})", file=str(p)) from None


def _decode(raw: bytes, file: str, line: int) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        text = str(exc)
        if "utf-8" in text.lower() or "surrogate" in text.lower():
            return parse_error(file, line, "invalid UTF-8", text, hint="the file must be UTF-8 encoded")
        return parse_error(file, line, "invalid JSON", text, hint="each line must be one complete JSON object")


def document_items(doc: Any) -> Iterator[Item]:
    """Items of a single JSON document: an array's elements, a wrapper's list, or the object itself."""
    if isinstance(doc, list):
        yield from enumerate(doc, 1)
        return
    if isinstance(doc, dict):
        for key in WRAPPER_KEYS:
            if isinstance(doc.get(key), list):
                yield from enumerate(doc[key], 1)
                return
    yield 1, doc


def _read_failure(exc: BaseException, file: str, line: int) -> object:
    gz = isinstance(exc, EOFError | zlib.error | gzip.BadGzipFile)
    return parse_error(file, line, "corrupt or truncated gzip" if gz else "read error", str(exc) or type(exc).__name__,
                       hint="the rest of this file was not read; re-export or re-download it")


def _stream_lines(fh: Any, file: str, fast: Decode | None = None) -> Iterator[Item]:
    """Line by line (gzip: a truncated stream still gives every line before the cut)."""
    line = 0
    try:
        for raw in fh:
            line += 1
            if line == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            raw = raw.strip()
            if raw:
                got = fast(raw, line) if fast is not None else None
                yield line, (got if got is not None else _decode(raw, file, line))
    except (EOFError, zlib.error, OSError) as exc:
        yield line + 1, _read_failure(exc, file, line + 1)


class FileDigest:
    """sha256 of a file's bytes computed while it is read, so hashing needs no second pass over the file.

    `hexdigest()` is None unless the whole (uncompressed-on-disk) file went through the reader.
    """

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.complete = False
        self.usable = True  # False for gzip: the reader sees decompressed bytes, the digest is of the file

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def hexdigest(self) -> str | None:
        return self._hash.hexdigest() if self.complete and self.usable else None


BUFFER = 8 << 20  # bytes read at a time into one reused buffer (grown only for a longer line)


def _buffered_lines(fh: Any, file: str, start: int = 0, end: int | None = None, first_line: int = 1,
                    digest: Any = None, fast: Decode | None = None) -> Generator[Item, None, bool]:
    """JSONL items of bytes [start, end) of a plain file (`end` None: to its end), numbered from `first_line`.

    The bytes go into one reused buffer and each line is parsed in place (orjson reads a memoryview of
    the buffer), so there is one copy per block and none per line, and memory stays one buffer whatever
    the file size. A file that shrinks while it is read simply ends (no crash, unlike a memory map).
    Each block also feeds `digest`. With `fast` (a format's typed decoder, :mod:`advisor.ingest.fastpath`), a
    line it recognises comes out as its Record, any other line as parsed JSON. Returns True when the range was
    read to its end.
    """
    loads, buf = orjson.loads, bytearray(BUFFER)
    filled, pos, line = 0, start, first_line - 1
    skip = -1 if start == 0 else 0  # -1: the byte-order mark at the start of the file is not checked yet
    try:
        fh.seek(start)
        while True:
            want = len(buf) - filled if end is None else min(len(buf) - filled, end - pos)
            got = 0
            if want > 0:
                with memoryview(buf) as mv:
                    got = fh.readinto(mv[filled:filled + want]) or 0
                    if digest is not None and got:
                        digest.update(mv[filled:filled + got])
            filled += got
            pos += got
            done = got == 0
            if skip < 0 and (filled >= len(_BOM) or done):
                skip = len(_BOM) if buf.startswith(_BOM) else 0
            i = max(skip, 0)
            skip = 0 if skip >= 0 else skip
            view = memoryview(buf)
            try:
                while (j := buf.find(b"\n", i, filled)) >= 0 or (done and i < filled):
                    if j < 0:
                        j = filled  # the last line has no newline
                    line += 1
                    if j > i:
                        if fast is not None and (got := fast(view[i:j], line)) is not None:
                            yield line, got
                            i = j + 1
                            continue
                        try:
                            obj = loads(view[i:j])
                        except orjson.JSONDecodeError:
                            raw = bytes(view[i:j]).strip()
                            if raw:  # a blank (whitespace-only) line is skipped, anything else is reported
                                yield line, _decode(raw, file, line)
                        else:
                            yield line, obj
                    i = j + 1
            finally:
                view.release()
            if done:
                return True
            rest = filled - i
            if rest == len(buf):  # one line longer than the buffer: make room for the rest of it
                buf.extend(bytes(len(buf)))
            elif i:
                buf[:rest] = buf[i:filled]
            filled = rest
    except (OSError, ValueError) as exc:
        yield line + 1, _read_failure(exc, file, line + 1)
        return False


def iter_span(path: str | Path, start: int = 0, end: int | None = None, first_line: int = 1,
              fast: Decode | None = None) -> Iterator[Item]:
    """Items of the JSONL lines in bytes [start, end) of a plain file, numbered from `first_line`.

    `start` must be 0 or just after a newline (see :func:`split_lines`); `fast` as in :func:`_buffered_lines`.
    """
    with open(path, "rb", buffering=0) as fh:
        yield from _buffered_lines(fh, str(path), start, end, first_line, fast=fast)


def split_lines(path: str | Path, size: int) -> list[tuple[int, int, int]]:
    """Line-aligned byte ranges of about `size` bytes covering a plain file: (start, end, first_line) each.

    Each range ends just after the first newline at or past `size` bytes from its start. The line numbers
    need every newline counted: the file goes through one reused buffer and `find` (memchr) jumps from
    newline to newline, far below the cost of parsing those lines. Memory stays one buffer, and a file that
    shrinks meanwhile just ends sooner (a memory map would die with SIGBUS).
    """
    out: list[tuple[int, int, int]] = []
    buf = bytearray(BUFFER)
    start, line, newlines, pos = 0, 1, 0, 0  # newlines since `start`; pos: file offset of buf[0]
    with open(path, "rb", buffering=0) as fh:
        while got := fh.readinto(buf):
            j = 0
            while (j := buf.find(b"\n", j, got)) >= 0:
                newlines += 1
                j += 1
                if pos + j >= start + size:
                    out.append((start, pos + j, line))
                    start, line, newlines = pos + j, line + newlines, 0
            pos += got
    if pos > start or not out:
        out.append((start, pos, line))
    return out


def iter_items(path: str | Path, digest: FileDigest | None = None,
               fast: Decode | None = None) -> Iterator[tuple[int, object]]:
    """Yield (line, item) for every non-blank line or document item; malformed ones as ParseError items.

    With `digest`, the file's sha256 is computed from the same reads (see :class:`FileDigest`). With `fast`,
    JSON Lines the format's typed decoder recognises come out as Records (see :func:`_buffered_lines`).
    """
    file = str(path)
    if is_parquet(path):  # columnar export: rows stand for lines (the digest is left to sha256_file)
        yield from iter_parquet(path)
        return
    with open_log(path) as fh:
        gz = isinstance(fh, gzip.GzipFile)
        if digest is not None and gz:
            digest.usable = False
        sink = digest if digest is not None and digest.usable else None
        if not is_document(path):
            if gz:
                yield from _stream_lines(fh, file, fast)
                return
            complete = yield from _buffered_lines(fh, file, digest=sink, fast=fast)
            if digest is not None:
                digest.complete = complete
            return
        try:
            data = fh.read()
        except (EOFError, zlib.error, OSError) as exc:
            yield 1, _read_failure(exc, file, 1)
            return
        if sink is not None:
            sink.update(data)
            digest.complete = True  # type: ignore[union-attr]
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if not data.strip():
        return
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        # Not one document: many `.json` exports are really JSON Lines.
        for line, raw in enumerate(data.split(b"\n"), 1):
            raw = raw.strip()
            if raw:
                yield line, _decode(raw, file, line)
        return
    yield from document_items(doc)
