"""Stream JSON items with their 1-based line numbers from `.jsonl`, `.json` and their `.gz` forms.

JSONL is read one line at a time, so a file of any size costs one line of memory. A
`.json` file is one document (an array, or an object wrapping a list such as an OTLP or
Langfuse export) and is loaded whole; its items are numbered by position (index + 1).
Bad lines never raise: they come out as a :class:`ParseError` item so the caller can
report ``file:line: reason``, count it and carry on.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
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


def _lines(fh: Any, file: str) -> Iterator[Item]:
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


def iter_items(path: str | Path) -> Iterator[tuple[int, object]]:
    """Yield (line, item) for every non-blank line or document item; malformed ones as ParseError items."""
    file = str(path)
    with open_log(path) as fh:
        if not is_document(path):
            yield from _lines(fh, file)
            return
        try:
            data = fh.read()
        except (EOFError, zlib.error, OSError) as exc:
            yield 1, _read_failure(exc, file, 1)
            return
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
