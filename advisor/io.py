"""File helpers: atomic writes, no silent overwrite, transparent gzip, content hashes."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from advisor.errors import OutputExistsError


def check_writable(path: str | Path, force: bool = False) -> Path:
    """Refuse to clobber an existing output unless the user said --force."""
    p = Path(path)
    if p.exists() and not force and str(p) != "-":
        raise OutputExistsError(f"{p} already exists", hint="pass --force to overwrite it, or choose another path")
    return p


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write to a temp file beside `path`, fsync, then os.replace: readers never see half a file."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(text)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a log file for reading bytes, gunzipping `.gz` (sniffed by magic, not only suffix)."""
    p = Path(path)
    fh = open(p, "rb")
    magic = fh.read(2)
    fh.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    return io.BufferedReader(fh) if not isinstance(fh, io.BufferedReader) else fh


def sha256_file(path: str | Path, chunk: int = 8 << 20) -> str:
    """sha256 of a file, read in large blocks into one reused buffer (the reads and hashlib drop the GIL)."""
    h, buf = hashlib.sha256(), bytearray(chunk)
    with open(path, "rb", buffering=0) as fh, memoryview(buf) as mv:
        while n := fh.readinto(buf):
            h.update(mv[:n])
    return h.hexdigest()
