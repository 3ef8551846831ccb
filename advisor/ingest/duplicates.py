"""The same call logged twice is counted once: identical input files, and repeated record ids.

Two levels, both cheap when there is nothing to find (the usual case):

1. Identical files (``calls.jsonl`` beside ``calls.jsonl.gz`` of the same content): while the
   inputs are planned, files whose uncompressed sizes match (a plain file's size, the gzip
   trailer's ISIZE) are compared by the sha256 of their decompressed bytes; a file identical to
   an earlier one is skipped and named in the report. Different sizes are never read twice.
2. Repeated record ids (overlapping exports, a line written twice): every unit of input keeps
   an 8-byte hash of each record id it measured; past ~500k ids the ledger moves them to temporary
   files (12 bytes an id), so memory stays flat however long the logs. After the pass the
   hashes are merged in input order; when an id occurs more than once, the logs are read a
   second time and only its first occurrence in input order is measured. The first occurrence
   depends on the input alone, so the result is the same for every ``--jobs``.

The id hash is the first 8 bytes of its BLAKE2b digest: collision odds for a million ids ~3e-8, and
the same in every process and run (Python's own ``hash`` of a string is seeded per interpreter, so it
would break with worker processes that are not forked).
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from advisor.kernel.record import Record
from advisor.spill import PartitionedSpill, grouped_rows

MAX_EXAMPLES = 5


def id_hash(record_id: str, _blake2b=hashlib.blake2b, _from_bytes=int.from_bytes) -> int:
    """8-byte hash of a record id, as a signed 64-bit integer, stable across processes and runs."""
    return _from_bytes(_blake2b(record_id.encode(), digest_size=8).digest(), "little", signed=True)


class Duplicates(BaseModel):
    """Input that repeats other input, left out so that each call is counted once."""

    identical_files: list[tuple[str, str]] = Field(
        default_factory=list, description="(skipped file, the earlier input with the same decompressed content)")
    records: int = Field(0, description="records left out because an earlier record had the same id")
    ids: int = Field(0, description="distinct ids that occur more than once")
    by_file: dict[str, int] = Field(default_factory=dict, description="file → records left out as repeats")
    examples: list[str] = Field(default_factory=list, description="first repeats as file:line id")


def _uncompressed_size(path: Path) -> int | None:
    """Uncompressed size mod 2**32 (all gzip's ISIZE trailer keeps), from a plain file's size or the trailer;
    None when unreadable. Equal content always gives equal values; equal values are then compared in full."""
    try:
        with open(path, "rb") as fh:
            if fh.read(2) != b"\x1f\x8b":
                return os.fstat(fh.fileno()).st_size & 0xFFFFFFFF
            fh.seek(-4, os.SEEK_END)
            return struct.unpack("<I", fh.read(4))[0]
    except OSError:
        return None


def content_sha256(path: Path) -> str | None:
    """sha256 of a file's decompressed bytes (gzip or plain); None when it cannot be read whole."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    return h.hexdigest()


def identical_files(paths: Sequence[Path]) -> dict[Path, Path]:
    """Later file → earlier file with the same decompressed content, comparing only files of equal size."""
    by_size: dict[int, list[Path]] = {}
    for p in paths:
        size = _uncompressed_size(p)
        if size:  # an empty file is reported as such elsewhere (and 4 GiB multiples are not worth it)
            by_size.setdefault(size, []).append(p)
    out: dict[Path, Path] = {}
    for group in by_size.values():
        if len(group) < 2:
            continue
        first: dict[str, Path] = {}
        for p in group:
            digest = content_sha256(p)
            if digest is None:
                continue
            if digest in first:
                out[p] = first[digest]
            else:
                first[digest] = p
    return out


SPILL_AT = 1 << 19  # ids held in memory (4 MiB of hashes) before the ledger moves them to temporary files
_ROW = [("hash", "<i8"), ("unit", "<i4")]  # one spilled id: its hash and the unit it was measured in


class IdLedger:
    """8-byte hashes of the record ids the logs measured, per unit, in input order.

    Memory stays bounded whatever the size of the logs: past `spill_at` ids the held hashes go to 16 temporary
    files partitioned by the hash's top 4 bits (12 bytes an id on disk: hash and unit), and :meth:`repeated`
    then reads one partition at a time — about 1/16 of the ids (30M ids: ~25 MB) instead of all of them.
    A ledger that never reaches `spill_at` (~500k records) writes nothing. Same answer either way.
    """

    __slots__ = ("units", "current", "spill_at", "_held", "_files")

    def __init__(self, spill_at: int = SPILL_AT) -> None:
        self.units: list[tuple[int, array]] = []  # (unit index, hashes) still in memory
        self.current: array | None = None
        self.spill_at = spill_at
        self._held = 0  # ids in `units`
        self._files = PartitionedSpill(_ROW, prefix="advise-ids-")

    def start(self, unit: int) -> array:
        self.current = array("q")
        self.units.append((unit, self.current))
        return self.current

    def merge(self, later: IdLedger) -> None:
        self.units.extend(later.units)
        self._held += sum(len(a) for _, a in later.units)
        if self._held >= self.spill_at:
            self._spill()

    def clear(self) -> None:
        """Forget the hashes (once :meth:`repeated` has been asked): the memory and files go before the results."""
        self.units, self.current, self._held = [], None, 0
        self._files.close()

    def _spill(self) -> None:
        """Append the held hashes (but the unit still being filled) to the partition files and let them go.
        Where no file can be written they stay in memory, the files as they were: correct, only bigger."""
        spill = [(u, a) for u, a in self.units if a is not self.current]
        rows = _rows(spill)
        if not self._files.append(rows, (rows["hash"] >> 60) + 8):  # the top 4 bits, in signed order: 0..15
            self.spill_at = 1 << 62  # keep everything in memory from now on
            return
        self.units = [(u, a) for u, a in self.units if a is self.current]
        self._held = sum(len(a) for _, a in self.units)

    def repeated(self) -> tuple[RepeatedIds, int]:
        """Hashes occurring more than once → the unit of their first occurrence (in ascending hash order), and
        the repeats' count.

        Partition by partition (the hash's top 4 bits, in ascending order): the spilled ids from their file, the
        held ones from memory, so about 1/16 of the ids is sorted at a time, spilled or not."""
        import numpy as np

        held = _rows(self.units)  # the ids not spilled: under `spill_at`, unless spilling failed
        held_part = held["hash"] >> 60  # arithmetic shift: -8..7, in the order of the signed hashes
        first_hashes, first_units = array("q"), array("i")
        n_repeats, first_repeat = 0, None
        for p in range(16):
            on_disk = self._files.read(p)
            rows = np.concatenate((on_disk, held[held_part == p - 8]))
            del on_disk
            if len(rows) < 2:
                continue
            rows = rows[np.lexsort((rows["unit"], rows["hash"]))]  # by hash, then unit: each id's first unit leads
            hashes = rows["hash"]
            same = hashes[1:] == hashes[:-1]
            n_repeats += int(same.sum())
            if same.any():  # the units of the later occurrences: the earliest is where a second reading differs
                earliest = int(rows["unit"][1:][same].min())
                first_repeat = earliest if first_repeat is None else min(first_repeat, earliest)
            leads = np.flatnonzero(np.concatenate(([True], ~same)) & np.concatenate((same, [False])))
            first_hashes.frombytes(hashes[leads].astype("<i8").tobytes())
            first_units.frombytes(rows["unit"][leads].astype("<i4").tobytes())
        return RepeatedIds(first_hashes, first_units, first_repeat), n_repeats


class RepeatedIds:
    """The repeated ids' hashes (ascending) and the unit of each one's first occurrence: 12 bytes a repeated id.

    The second pass asks every record whether its id repeats. A dict of Python ints took ~100 bytes an id, and
    worker processes touching it copied its pages: two overlapping exports of 30M records would have needed
    gigabytes. Here a bitmap of the hashes' low bits (16+ bits per repeated id, so most other ids miss) answers
    "no" without a search, and a hit is a binary search of the sorted hashes.
    """

    __slots__ = ("hashes", "units", "first_repeat", "_bits", "_mask")

    def __init__(self, hashes: array | None = None, units: array | None = None,
                 first_repeat: int | None = None) -> None:
        self.hashes = hashes if hashes is not None else array("q")  # ascending
        self.units = units if units is not None else array("i")
        # the first unit holding a later occurrence of an id (or an id twice): a second reading measures every
        # unit before it as the first reading did (advisor.scan.Checkpoint)
        self.first_repeat = first_repeat
        size = 1 << max(16, min(28, (16 * len(self.hashes)).bit_length()))  # bits: ≥ 16 an id, 32 MB at most
        self._mask = size - 1
        if self.hashes:
            import numpy as np

            low = np.frombuffer(self.hashes, dtype=np.int64) & self._mask
            bits = np.zeros(size >> 3, dtype=np.uint8)
            np.bitwise_or.at(bits, low >> 3, (1 << (low & 7)).astype(np.uint8))
            self._bits = bits.tobytes()
        else:
            self._bits = bytes(size >> 3)

    def __len__(self) -> int:
        return len(self.hashes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RepeatedIds) and self.hashes == other.hashes and self.units == other.units

    __hash__ = None  # type: ignore[assignment]

    def items(self) -> Iterator[tuple[int, int]]:
        """(hash, first unit) pairs in ascending hash order."""
        return zip(self.hashes, self.units, strict=True)

    def first_unit(self, h: int) -> int | None:
        """The unit where the id of hash `h` first occurs, or None when it does not repeat."""
        i = h & self._mask
        if not self._bits[i >> 3] >> (i & 7) & 1:
            return None
        hashes = self.hashes
        j = bisect_left(hashes, h)
        return self.units[j] if j < len(hashes) and hashes[j] == h else None

    def __reduce__(self) -> tuple[Any, ...]:  # the bitmap is rebuilt where it lands (a Dask worker)
        return RepeatedIds, (self.hashes, self.units, self.first_repeat)


class RepeatWatch:
    """Which unit of the first reading may be the first to hold a repeated id: a Bloom filter of the id hashes of
    the units merged so far (in input order), asked before each unit joins.

    It never misses: a unit holding an id of an earlier unit, or the same id twice, is always flagged. It can
    cry wolf, the more so the fuller it is: 2**26 bits (8 MiB) and 7 probes give ~1e-7 false alarms an id at
    1M ids; summed over the ids as they come, a false alarm is expected 0.01 times in the first 1M ids, 0.27
    times in 1.5M and 2.3 times in 2M, and past ~5M ids almost every unit is flagged. So :meth:`check` also says
    how much to doubt a flag: the chance that its hits are all false alarms, from how many of the unit's ids hit
    against how many a filter this full would hit by chance. A unit of an overlapping export (every id hits)
    is beyond doubt even in a saturated filter; one stray hit in a full filter is not. (See
    :class:`advisor.scan.Checkpoint`, which takes spaced checkpoints while the flags are in doubt.)
    """

    PROBES = 7

    def __init__(self, bits: int = 1 << 26) -> None:
        import numpy as np

        self._bits = np.zeros(bits >> 3, dtype=np.uint8)
        self._size = bits
        self._mask = np.uint64(bits - 1)
        self.ids = 0  # ids remembered so far (repeats counted again: the fill is overestimated, never under)

    def _positions(self, hashes: array) -> Any:
        import numpy as np

        h = np.frombuffer(hashes, dtype=np.uint64)
        step = (h >> np.uint64(32)) | np.uint64(1)  # double hashing: h + i·step (odd), i < PROBES
        return (h[None, :] + np.arange(self.PROBES, dtype=np.uint64)[:, None] * step[None, :]) & self._mask

    def false_hit_rate(self) -> float:
        """The chance that an id never seen hits all its probes, at the expected fill for the ids so far."""
        return (1.0 - math.exp(-self.PROBES * self.ids / self._size)) ** self.PROBES

    def check(self, hashes: array) -> float | None:
        """None when none of this unit's ids can repeat an earlier unit's or each other; else the doubt of the
        flag, an upper bound on the chance that no id repeats (0.0: the unit holds an id twice). Then the
        unit's ids are remembered."""
        import numpy as np

        if not len(hashes):
            return None
        rate = self.false_hit_rate()
        pos = self._positions(hashes)
        byte, bit = pos >> np.uint64(3), (np.uint8(1) << (pos & np.uint64(7)).astype(np.uint8))
        hits = int(((self._bits[byte] & bit) != 0).all(axis=0).sum())
        np.bitwise_or.at(self._bits, byte.ravel(), bit.ravel())
        self.ids += len(hashes)
        ordered = np.sort(np.frombuffer(hashes, dtype=np.int64))
        if (ordered[1:] == ordered[:-1]).any():
            return 0.0
        return None if hits == 0 else chance_of_at_least(hits, len(hashes), rate)


def chance_of_at_least(k: int, n: int, p: float) -> float:
    """An upper bound on P(X ≥ k) for X ~ Binomial(n, p): the Chernoff bound exp(−n·KL(k/n ‖ p)), 1 when k/n ≤ p.

    Why a bound and not the exact tail: it is closed-form for any n, and overstating a doubt only costs a spare
    checkpoint (see RepeatWatch.check)."""
    a = k / n
    if a <= p:
        return 1.0
    if p <= 0.0:
        return 0.0
    kl = a * math.log(a / p) + ((1 - a) * math.log((1 - a) / (1 - p)) if a < 1 else 0.0)
    return min(1.0, math.exp(-n * kl))


def _rows(units: list[tuple[int, array]]) -> Any:
    """(hash, unit) rows of the given units' ids, as one numpy structured array."""
    return grouped_rows(units, _ROW, key="unit", value="hash")


class RepeatFilter:
    """Second pass: lets only the first occurrence (in input order) of a repeated id through."""

    __slots__ = ("repeated", "unit", "seen", "counts", "examples")

    def __init__(self, repeated: RepeatedIds) -> None:
        self.repeated = repeated
        self.unit = 0
        self.seen: set[int] = set()
        self.counts: dict[str, int] = {}
        self.examples: list[str] = []

    def start(self, unit: int) -> None:
        self.unit, self.seen = unit, set()

    def keep(self, record: Record, h: int) -> bool:
        first = self.repeated.first_unit(h)
        if first is None:
            return True
        if first == self.unit and h not in self.seen:
            self.seen.add(h)
            return True
        file = record.source.file
        self.counts[file] = self.counts.get(file, 0) + 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{file}:{record.source.line} {record.id}")
        return False

    def __getstate__(self) -> dict:  # a worker sends back its counts, not the shared table of repeats
        return {"counts": self.counts, "examples": self.examples}

    def __setstate__(self, state: dict) -> None:
        self.repeated, self.unit, self.seen = RepeatedIds(), 0, set()
        self.counts, self.examples = state["counts"], state["examples"]

    def merge(self, later: RepeatFilter) -> None:
        for file, n in later.counts.items():
            self.counts[file] = self.counts.get(file, 0) + n
        self.examples.extend(later.examples[:max(0, MAX_EXAMPLES - len(self.examples))])
