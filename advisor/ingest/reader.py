"""Stream JSON items with their 1-based line numbers from `.jsonl`, `.json` and their `.gz` forms.

JSONL is read one line at a time, so a file of any size costs one line of memory. A
`.json` file is one document (an array, or an object wrapping a list such as an OTLP or
Langfuse export) and is loaded whole; its items are numbered by position (index + 1).
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
