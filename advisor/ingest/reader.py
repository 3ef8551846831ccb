"""Stream JSON items with their 1-based line numbers from `.jsonl`, `.json` and their `.gz` forms.

JSONL is read one line at a time, so a file of any size costs one line of memory (plain files are
memory-mapped and each line is parsed in place, without a copy; :func:`iter_span` reads one
line-aligned byte range of such a file, which is how big files are split across processes). A
`.json` file is one document (an array, or an object wrapping a list such as an OTLP or
Langfuse export) and is loaded whole; its items are numbered by position (index + 1).
Bad lines never raise: they come out as a :class:`ParseError` item so the caller can
report ``file:line: reason``, count it and carry on.
"""

from __future__ import annotations

import gzip
import hashlib
import mmap
import os
import zlib
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import orjson

from advisor.errors import AdviseError
from advisor.ingest.common import Item, parse_error
from advisor.io import open_binary

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


BLOCK = 1 << 20  # bytes read at a time: fewer, larger reads than line iteration, and one hash update each


def _stream_lines(fh: Any, file: str) -> Iterator[Item]:
    """Line by line (gzip: a truncated stream still gives every line before the cut)."""
    line = 0
    try:
        for raw in fh:
            line += 1
            if line == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            raw = raw.strip()
            if raw:
                yield line, _decode(raw, file, line)
    except (EOFError, zlib.error, OSError) as exc:
        yield line + 1, _read_failure(exc, file, line + 1)


def _lines(fh: Any, file: str, digest: Any = None) -> Generator[Item, None, bool]:
    """Plain files in 1 MB blocks split on b"\n" (as iterating the file would); each block also feeds `digest`.

    Returns True when the file was read to its end.
    """
    line = 0
    rest = b""
    pending: list[bytes] = []  # blocks of one line longer than a block (joined once, not re-copied per block)
    try:
        while block := fh.read(BLOCK):
            if digest is not None:
                digest.update(block)
            if b"\n" not in block:
                pending.append(block)
                continue
            if pending:
                rest, pending = rest + b"".join(pending), []
            parts = (rest + block if rest else block).split(b"\n")
            rest = parts.pop()
            for raw in parts:
                line += 1
                if line == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM):]
                raw = raw.strip()
                if raw:
                    yield line, _decode(raw, file, line)
        if pending:
            rest += b"".join(pending)
        if rest:
            line += 1
            if line == 1 and rest.startswith(_BOM):
                rest = rest[len(_BOM):]
            rest = rest.strip()
            if rest:
                yield line, _decode(rest, file, line)
    except (EOFError, zlib.error, OSError) as exc:
        yield line + 1, _read_failure(exc, file, line + 1)
        return False
    return True


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


RELEASE_BYTES = 16 << 20  # mapped pages already read are handed back every this many bytes


class _Releaser:
    """Hands pages of a read-only map back once read (MADV_DONTNEED): they stay in the page cache, but the
    process's resident size stays flat however big the file is."""

    def __init__(self, mm: Any, start: int) -> None:
        self.mm = mm
        self.done = start - start % mmap.PAGESIZE
        self.next = self.done + RELEASE_BYTES

    def __call__(self, pos: int) -> None:
        if pos < self.next:
            return
        upto = pos - pos % mmap.PAGESIZE
        if upto > self.done and hasattr(mmap, "MADV_DONTNEED"):
            try:
                self.mm.madvise(mmap.MADV_DONTNEED, self.done, upto - self.done)
            except (OSError, ValueError):  # pragma: no cover - advice only
                pass
        self.done, self.next = upto, upto + RELEASE_BYTES


def _span_items(mm: Any, start: int, end: int, first_line: int, file: str) -> Iterator[Item]:
    """Lines of bytes [start, end) of a memory map, parsed in place (orjson reads the memoryview: no copy)."""
    view = memoryview(mm)
    release = _Releaser(mm, start)
    try:
        find, loads = mm.find, orjson.loads
        pos, line = start, first_line - 1
        if start == 0 and mm[:3] == _BOM:
            pos = len(_BOM)
        while pos < end:
            j = find(b"\n", pos, end)
            if j < 0:
                j = end
            if j >= release.next:
                release(j)
            line += 1
            if j > pos:
                try:
                    obj = loads(view[pos:j])
                except orjson.JSONDecodeError:
                    raw = view[pos:j].tobytes().strip()
                    if raw:  # a blank (whitespace-only) line is skipped, anything else is reported
                        yield line, _decode(raw, file, line)
                else:
                    yield line, obj
            pos = j + 1
    finally:
        view.release()


def _mapped(fh: Any) -> Any:
    """A read-only memory map of a plain file, or None (empty, not a regular file, or mmap unsupported)."""
    try:
        if os.fstat(fh.fileno()).st_size == 0:
            return None
        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, AttributeError):
        return None


def iter_span(path: str | Path, start: int = 0, end: int | None = None, first_line: int = 1) -> Iterator[Item]:
    """Items of the JSONL lines in bytes [start, end) of a plain file, numbered from `first_line`.

    `start` must be 0 or just after a newline (see :func:`split_lines`). The file is memory-mapped, so
    the pages are shared with every process reading another span of it and no line is copied.
    """
    file = str(path)
    with open(path, "rb") as fh:
        mm = _mapped(fh)
        if mm is None:
            if start == 0 and end is None:
                yield from _lines(fh, file)
            return
        with mm:
            stop = len(mm) if end is None else min(end, len(mm))
            try:
                yield from _span_items(mm, start, stop, first_line, file)
            except (OSError, ValueError) as exc:  # the file shrank under the map, or it went away
                yield first_line, _read_failure(exc, file, first_line)


def split_lines(path: str | Path, size: int) -> list[tuple[int, int, int]]:
    """Line-aligned byte ranges of about `size` bytes covering a plain file: (start, end, first_line) each.

    The line numbers need the newlines before each range counted: one `find` per line over the
    memory map (several GB/s), far below the cost of parsing those lines.
    """
    out: list[tuple[int, int, int]] = []
    with open(path, "rb") as fh:
        mm = _mapped(fh)
        if mm is None:
            return [(0, 0, 1)]
        with mm:
            total, start, line = len(mm), 0, 1
            while start < total:
                cut = mm.find(b"\n", min(start + size, total) - 1)
                end = total if cut < 0 else cut + 1
                out.append((start, end, line))
                line += count_newlines(mm, start, end)
                start = end
    return out


def count_newlines(mm: Any, start: int, end: int) -> int:
    n, find, pos = 0, mm.find, start
    release = _Releaser(mm, start)
    while (pos := find(b"\n", pos, end)) >= 0:
        n += 1
        pos += 1
        if pos >= release.next:
            release(pos)
    return n


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, hashed from a memory map in one call (hashlib drops the GIL meanwhile)."""
    with open(path, "rb") as fh:
        mm = _mapped(fh)
        if mm is None:
            from advisor.io import sha256_file

            return sha256_file(path)
        with mm:
            h = hashlib.sha256()
            _hash_map(h, mm)
            return h.hexdigest()


def _hash_map(h: Any, mm: Any) -> None:
    """Feed a whole map to a hash in windows, handing each window's pages back after it."""
    view, release = memoryview(mm), _Releaser(mm, 0)
    try:
        for pos in range(0, len(mm), RELEASE_BYTES):
            h.update(view[pos:pos + RELEASE_BYTES])
            release(pos + RELEASE_BYTES)
    finally:
        view.release()


def iter_items(path: str | Path, digest: FileDigest | None = None) -> Iterator[tuple[int, object]]:
    """Yield (line, item) for every non-blank line or document item; malformed ones as ParseError items.

    With `digest`, the file's sha256 is computed from the same reads (see :class:`FileDigest`).
    """
    file = str(path)
    with open_log(path) as fh:
        gz = isinstance(fh, gzip.GzipFile)
        if digest is not None and gz:
            digest.usable = False
        sink = digest if digest is not None and digest.usable else None
        if not is_document(path):
            if gz:
                yield from _stream_lines(fh, file)
                return
            mm = _mapped(fh)
            if mm is not None:
                with mm:
                    yield from _span_items(mm, 0, len(mm), 1, file)
                    if sink is not None:
                        _hash_map(sink, mm)
                        digest.complete = True  # type: ignore[union-attr]
                return
            complete = yield from _lines(fh, file, sink)
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
