"""Rows moved out of memory into temporary files, partitioned so that they come back a part at a time.

What an analysis must keep per record (the id hash that finds repeated records, the arrival second that
simulates prompt caching) is a few bytes, but at 30M records a few bytes is 100+ MB. Past a threshold such
rows go to :class:`PartitionedSpill`: `parts` files in one temporary directory (gone with the object or the
process), each row in the file its partition number says, and a part is read back whole, so the reader holds
about 1/`parts` of them at a time. Where nothing can be written (read-only or full temporary directory) the
append reports it and the files stay as they were, so the caller keeps its rows in memory: correct, only bigger.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any


def grouped_rows(groups: list[tuple[int, Any]], dtype: Any, *, key: str, value: str) -> Any:
    """One structured array of `dtype` from (key, values) groups (`values` an array.array of the field's type):
    a row per value, beside its group's key."""
    import numpy as np

    rows = np.empty(sum(len(values) for _, values in groups), dtype=dtype)
    at = 0
    for k, values in groups:
        n = len(values)
        if n:
            rows[value][at:at + n] = np.frombuffer(values, dtype=rows.dtype[value])
            rows[key][at:at + n] = k
            at += n
    return rows


class PartitionedSpill:
    """`parts` temporary files of `dtype` rows (a numpy structured dtype or its description)."""

    __slots__ = ("dtype", "parts", "prefix", "_dir", "_cleanup", "__weakref__")

    def __init__(self, dtype: Any, parts: int = 16, prefix: str = "advise-spill-") -> None:
        self.dtype, self.parts, self.prefix = dtype, parts, prefix
        self._dir: str | None = None  # created at the first append
        self._cleanup: Any = None

    @property
    def used(self) -> bool:
        """Whether any row went to a file."""
        return self._dir is not None

    def append(self, rows: Any, part: Any) -> bool:
        """Append `rows[part == p]` to file p for every p; False, with the files as they were, when they cannot
        be written."""
        sizes: list[int] = []
        try:
            if self._dir is None:
                import shutil
                import tempfile
                import weakref

                self._dir = tempfile.mkdtemp(prefix=self.prefix)
                self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
            for p in range(self.parts):
                with open(self._path(p), "ab") as fh:
                    sizes.append(fh.tell())
                    rows[part == p].tofile(fh)
        except OSError:
            for p, size in enumerate(sizes):  # undo this append: the files hold the earlier ones only
                with contextlib.suppress(OSError):
                    os.truncate(self._path(p), size)
            return False
        return True

    def sizes(self) -> list[int]:
        """Bytes in each part file now (0 where none): a mark that :meth:`truncate` goes back to."""
        return [os.path.getsize(self._path(p)) if self._dir is not None and os.path.exists(self._path(p)) else 0
                for p in range(self.parts)]

    def truncate(self, sizes: list[int]) -> None:
        """Drop the rows appended since :meth:`sizes` gave `sizes`."""
        if self._dir is None:
            return
        for p, size in enumerate(sizes):
            if os.path.exists(self._path(p)):
                os.truncate(self._path(p), size)

    def read(self, p: int) -> Any:
        """The rows of part `p`, in the order they were appended."""
        import numpy as np

        path = self._path(p) if self._dir is not None else None
        if path is None or not os.path.exists(path):
            return np.empty(0, dtype=self.dtype)
        return np.fromfile(path, dtype=self.dtype)

    def close(self) -> None:
        """Delete the files now."""
        if self._cleanup is not None:
            self._cleanup()
        self._dir = self._cleanup = None

    def _path(self, p: int) -> str:
        return os.path.join(self._dir or "", f"{p:02d}")

    def __getstate__(self) -> dict[str, Any]:  # the files stay with the process that wrote them
        if self._dir is not None:
            raise TypeError("spilled rows live in this process's temporary files and cannot travel")
        return {"dtype": self.dtype, "parts": self.parts, "prefix": self.prefix}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.dtype, self.parts, self.prefix = state["dtype"], state["parts"], state["prefix"]
        self._dir = self._cleanup = None
