"""One streaming pass over the logs: every measurement, over units of input, in one process or several.

The input is planned as units (:func:`advisor.ingest.plan_units`): whole files, or line-aligned
32 MiB pieces of big plain JSONL files. Each unit is measured by a fresh :class:`Pass` and the
passes are merged in input order. The split depends only on the files, never on the number of
processes, and every accumulator's `merge` is deterministic, so ``jobs=1`` and ``jobs=8`` give
the same analysis, byte for byte. A log smaller than one piece is one unit: one plain pass.

Worker processes are forked (Linux): they inherit the loaded price table, configuration and
labels instead of receiving them, and send back only counts and bounded samples. When the logs are
read a second time, the same workers read again (:class:`WorkerPool`). Where fork is not available
the units run one after another in this process, with the same result.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from advisor.ingest.duplicates import IdLedger, RepeatedIds, RepeatFilter, RepeatWatch, id_hash
from advisor.kernel.errors import AdviseError
from advisor.kernel.record import Origin, Record
from advisor.metrics import (
    CostAccumulator,
    DailyAccumulator,
    ReliabilityAccumulator,
    StaticPromptAccumulator,
    TokenMixAccumulator,
    VolumeAccumulator,
)
from advisor.metrics.window import WindowGuard
from advisor.spill import PartitionedSpill

PARALLEL_MIN_BYTES = 64 << 20  # below this, starting processes costs more than it saves
ProgressFn = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass(frozen=True)
class PassSettings:
    book: Any
    allow_unpriced: bool
    scale: float
    sample_rate: float
    start: datetime | None  # --since / --until: records outside are `filtered`
    stop: datetime | None
    # The window actually kept (advisor.metrics.window): records outside [lo, hi) that --since/--until did
    # not filter are excluded as out of window: before `floor`, from `ceiling` on, or else isolated.
    lo: datetime | None = None
    hi: datetime | None = None
    floor: datetime | None = None
    ceiling: datetime | None = None
    # Second pass only: hash of a repeated record id → unit of its first occurrence (advisor.ingest.duplicates)
    repeats: RepeatedIds | None = None


class Pass:
    """Every streaming measurement over one piece of the logs. Pieces merge in input order."""

    def __init__(self, settings: PassSettings, collectors: Mapping[str, Any],
                 price_cache: dict | None = None) -> None:
        self.settings = settings
        self.volume = VolumeAccumulator(scale=settings.scale)
        self.mix = TokenMixAccumulator()
        self.money = CostAccumulator(settings.book, allow_unpriced=settings.allow_unpriced, scale=settings.scale,
                                     price_cache=price_cache)
        self.ops = ReliabilityAccumulator()
        self.days = DailyAccumulator()
        self.static = StaticPromptAccumulator(sample_rate=settings.sample_rate)
        self.extra = dict(collectors)
        self.filtered = self.reported = self.estimated = 0
        self.window = WindowGuard()
        self.ids = IdLedger()
        self.repeats = RepeatFilter(settings.repeats) if settings.repeats else None

    def spawn(self) -> Pass:
        """An empty pass with the same settings, for another piece of the logs."""
        return Pass(self.settings, {name: c.spawn() for name, c in self.extra.items()},
                    price_cache=self.money._price_cache)  # one price lookup per (model, day) per process

    @staticmethod
    def can_spawn(collectors: Mapping[str, Any]) -> bool:
        return all(hasattr(c, "spawn") and hasattr(c, "merge") for c in collectors.values())

    def start_unit(self, index: int) -> None:
        """The records consumed from now on are those of unit `index` (input order; for duplicate ids)."""
        self.ids.start(index)
        if self.repeats is not None:
            self.repeats.start(index)

    def consume(self, records: Iterable[Record]) -> None:
        from advisor.tokens import fill_usage

        settings = self.settings
        start = settings.lo if settings.lo is not None else settings.start
        stop = settings.hi if settings.hi is not None else settings.stop
        estimated_origin = Origin.estimated
        # Bound methods, looked up once: this loop runs once per record (a million times at scale).
        add_volume, add_mix, add_money, add_ops, add_day, add_static = (
            self.volume.add, self.mix.add, self.money.add, self.ops.add, self.days.add, self.static.add)
        add_extra = [c.add for c in self.extra.values()]  # hook: failure analysis and any later streaming stage
        filtered = reported = estimated = 0
        ids = self.ids.current if self.ids.current is not None else self.ids.start(0)
        add_id, keep = ids.append, (self.repeats.keep if self.repeats is not None else None)
        with fewer_gc_passes():
            for record in records:
                if (start and record.timestamp < start) or (stop and record.timestamp >= stop):
                    filtered += self._outside(record)
                    continue
                h = id_hash(record.id)
                if keep is not None and not keep(record, h):
                    continue
                add_id(h)
                if record.usage is None:
                    record = fill_usage(record)
                if record.usage.origin == estimated_origin:  # type: ignore[union-attr]
                    estimated += 1
                else:
                    reported += 1
                add_volume(record)
                add_mix(record)
                cost = add_money(record)
                add_ops(record)
                add_day(record, cost)
                add_static(record)
                for add in add_extra:
                    add(record)
        self.filtered += filtered
        self.reported += reported
        self.estimated += estimated

    def _outside(self, record: Record) -> int:
        """1 when --since/--until filtered the record out, else 0 after counting it as out of window."""
        s, ts = self.settings, record.timestamp
        if (s.start and ts < s.start) or (s.stop and ts >= s.stop):
            return 1
        self.window.exclude(record, "before floor" if s.floor and ts < s.floor else
                            "future" if s.ceiling and ts >= s.ceiling else "isolated")
        return 0

    def merge(self, later: Pass) -> None:
        """Add a later piece's measurements to this one."""
        self.volume.merge(later.volume)
        self.mix.merge(later.mix)
        self.money.merge(later.money)
        self.ops.merge(later.ops)
        self.days.merge(later.days)
        self.static.merge(later.static)
        for name, c in self.extra.items():
            c.merge(later.extra[name])
        self.window.merge(later.window)
        self.ids.merge(later.ids)
        if self.repeats is not None and later.repeats is not None:
            self.repeats.merge(later.repeats)
        self.filtered += later.filtered
        self.reported += later.reported
        self.estimated += later.estimated

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "settings": None}  # the price table stays where it is


@contextmanager
def fewer_gc_passes(threshold: int = 50_000) -> Iterator[None]:
    """Run the cyclic GC every `threshold` allocations instead of 700 while streaming: each record allocates
    hundreds of short-lived, acyclic objects (parsed JSON, the Record), so the default young-generation passes
    cost time and collect nothing. Memory is unaffected: those objects are freed by reference counting."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], threshold), old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def pack(piece: Any) -> bytes:
    """A measured piece as bytes, for the process that merges it."""
    return pickle.dumps(piece, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(data: bytes) -> Any:
    """The piece :func:`pack` made, unpickled without the cyclic GC: a piece is ~20,000 containers that are
    freed (by reference counting) as soon as they are merged, and with the GC on, loading them set off
    collections of the older generations that walked the merging process's whole heap again and again."""
    was = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)
    finally:
        if was:
            gc.enable()


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def choose_jobs(jobs: int | None, units: list[Any]) -> int:
    """`jobs` as asked (capped by the units), or automatic: one process per CPU for big inputs, else one."""
    if jobs is not None:
        return max(1, min(jobs, len(units)))
    if len(units) < 2 or sum(u.size for u in units) < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(available_cpus(), len(units)))


def can_fork() -> bool:
    import multiprocessing

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


# ----------------------------------------------------------------------------- whole state, and a checkpoint


def _rebuild(cls: type, state: dict[str, Any]) -> Any:
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


class WholePickler(pickle.Pickler):
    """Pickles advise's accumulators with everything they hold: their own `__getstate__` leaves out the price
    table, configuration and labels (a piece sent back needs none of them), but a pass shipped out needs all."""

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        if cls.__module__.startswith("advisor.") and "__getstate__" in vars(cls) and hasattr(obj, "__dict__"):
            return _rebuild, (cls, obj.__dict__)
        return NotImplemented


class _KeepShared(WholePickler):
    """A whole pass, less what it shares with the rest of the analysis (the price table, the labels, spilled
    rows' files): those are kept by reference in `shared` and put back as the same objects."""

    def __init__(self, fh: Any, shared: list[Any]) -> None:
        super().__init__(fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.shared, self.types = shared, _shared_types()

    def persistent_id(self, obj: Any) -> int | None:  # asked for every object of the pass
        if isinstance(obj, self.types):
            self.shared.append(obj)
            return len(self.shared) - 1
        return None


class _PutShared(pickle.Unpickler):
    def __init__(self, fh: Any, shared: list[Any]) -> None:
        super().__init__(fh)
        self.shared = shared

    def persistent_load(self, pid: Any) -> Any:
        return self.shared[pid]


def _shared_types() -> tuple[type, ...]:
    from advisor.failures.labels import LabelIndex
    from advisor.pricing import PriceBook

    return PriceBook, LabelIndex, PartitionedSpill


class Checkpoint:
    """The first reading's merged measurements as they stood before a unit that may hold a repeated id.

    Repeated ids (overlapping exports, a line written twice) make the logs be read a second time, keeping only
    each id's first occurrence. A unit none of whose ids occurred before it is measured the same way both
    times, so the second reading can start at the first unit that holds a repeat, from the first reading's
    merge of the units before it: the same left-to-right merge, hence the same analysis byte for byte, for a
    fraction of the reading when the repeats come late (an export of an overlapping range, read after the first).

    While the first reading merges its pieces in input order, a :class:`RepeatWatch` (a Bloom filter: it never
    misses) flags the units whose ids may have occurred earlier, and the pass as merged so far goes to a
    temporary file (measurements only: the id ledger stays out, and what the pass shares with the analysis, the
    price table, labels and spilled rows' files, is kept by reference, the files' lengths marked):

    * at the first flagged unit;
    * at a flagged unit beyond doubt (many of its ids hit: RepeatWatch.check), and then the watch ends;
    * while the flags are in doubt (a filter grown full past a few million ids cries wolf), at flagged units
      at least 1/SPACING of the input after the last checkpoint, so at most SPACING + 2 files.

    Once the first reading is over, the id ledger knows the first unit that really holds a repeat, and
    :meth:`select` keeps the latest checkpoint at or before it: the second reading re-reads at most 1/SPACING
    of the input it did not need to, however full the filter. Where a file cannot be written there is no
    further checkpoint, and without any the second reading reads everything, as before.
    """

    SPACING = 8  # while in doubt, checkpoints at least 1/SPACING of the input's bytes apart
    SURE = 1e-4  # a flag whose doubt is at most this is taken as a real repeat: no later checkpoint can help

    def __init__(self) -> None:
        self._watch: RepeatWatch | None = RepeatWatch()
        self._taken: list[_Snapshot] = []
        self._chosen: _Snapshot | None = None

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def before_merge(self, proto: Pass, piece: Pass, unit: int, offset: int, total: int) -> None:
        """Called with each piece of the first reading, in input order, before it joins `proto`; `offset` is the
        input's bytes before this unit, `total` all of them (they space the checkpoints taken in doubt)."""
        if self._watch is None:
            return
        doubts = [d for _, hashes in piece.ids.units if (d := self._watch.check(hashes)) is not None]
        if not doubts:
            return
        sure = min(doubts) <= self.SURE
        if sure or not self._taken or offset - self._taken[-1].offset >= total / self.SPACING:
            if not self._take(proto, unit, offset):
                self._watch = None  # no room (or an unpicklable collector): no later file would do better
        if sure:
            self._watch = None  # a real repeat: the first unit holding one is here or before

    def _take(self, proto: Pass, unit: int, offset: int) -> bool:
        import tempfile

        ids, proto.ids = proto.ids, IdLedger()
        path, shared = None, []
        try:
            fd, path = tempfile.mkstemp(prefix="advise-checkpoint-", suffix=".pickle")
            with os.fdopen(fd, "wb") as fh:
                _KeepShared(fh, shared).dump(proto)
        except Exception:  # noqa: BLE001 - no room, or a caller's collector that cannot be pickled: no checkpoint
            if path is not None:
                with suppress(OSError):
                    os.remove(path)
            return False
        finally:
            proto.ids = ids
        marks = [(s, s.sizes()) for s in shared if isinstance(s, PartitionedSpill)]  # unused: zeros
        self._taken.append(_Snapshot(unit, offset, path, shared, marks))
        return True

    def select(self, first_repeat: int | None) -> int | None:
        """Keep the latest checkpoint at or before `first_repeat` (the first unit that holds a repeated id, from
        the id ledger), drop the others; the unit the second reading starts at, or None (read everything)."""
        keep = [s for s in self._taken if s.unit <= first_repeat] if first_repeat is not None else []
        self._chosen = keep[-1] if keep else None
        for s in self._taken:
            if s is not self._chosen:
                with suppress(OSError):
                    os.remove(s.path)
        self._taken = [self._chosen] if self._chosen is not None else []
        return self._chosen.unit if self._chosen is not None else None

    def restore(self) -> Pass:
        """The selected pass as it stood (spilled rows appended since are dropped: the first reading is over)."""
        chosen = self._chosen
        assert chosen is not None
        for spill, sizes in chosen.marks:
            spill.truncate(sizes)
        with open(chosen.path, "rb") as fh:
            return _PutShared(fh, chosen.shared).load()

    def close(self) -> None:
        taken, self._taken, self._chosen, self._watch = self._taken, [], None, None
        for s in taken:
            with suppress(OSError):
                os.remove(s.path)


@dataclass
class _Snapshot:
    """One checkpoint file: the pass merged before `unit` (`offset` bytes of input), what it shares, spill marks."""

    unit: int
    offset: int
    path: str
    shared: list[Any]
    marks: list[tuple[PartitionedSpill, list[int]]]


# ----------------------------------------------------------------------------- the worker side

_WORKER: dict[str, Any] = {}


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the pool
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's `terminate()` ends a worker (see advisor.cli)


def _measure_unit(unit: Any, again: str | None = None) -> bytes:
    """Runs in a worker: the unit's piece, packed (:func:`unpack` in the parent); `again` names the settings file
    of a later pass (see :class:`WorkerPool`)."""
    if again != _WORKER["again"]:
        with open(again, "rb") as fh:  # type: ignore[arg-type]  # None only on the first pass
            settings = pickle.load(fh)
        first = _WORKER["first"]
        _WORKER.update({"again": again, "pass": Pass(replace(settings, book=first.settings.book),
                                                     restarted(first.extra))})
    return pack(_measure(unit, _WORKER["pass"], _WORKER["strict"]))


# ----------------------------------------------------------------------------- the driver


def run_units(units: list[Any], proto: Pass, report: Any, *, jobs: int, strict: bool,
              on_error: Callable[[Exception], None] | None, progress: ProgressFn | None,
              hash_files: list[Any], engine: Any = None, pool: WorkerPool | None = None,
              checkpoint: Checkpoint | None = None) -> Pass:
    """Measure every unit (here, in `jobs` worker processes, or as tasks of `engine`, see advisor.cluster)
    and merge the pieces in order into `proto`.

    Malformed lines reach `on_error` unit by unit (the first ones of each, then `on_error.dropped(n)` if it
    has one); progress advances per unit, in bytes. `hash_files` are FileStats of split files: their sha256
    is computed on a thread meanwhile (hashlib releases the GIL), since no single unit sees the whole file.
    `pool` keeps the worker processes for a later pass (see :class:`WorkerPool`); without one they end here.
    `checkpoint` sees every piece before it is merged (see :class:`Checkpoint`).
    """
    total, done = sum(u.size for u in units), 0
    hasher = _Hasher(hash_files)
    parallel = engine is None and jobs > 1 and can_fork()
    if engine is not None:  # another engine (a Dask cluster) runs the same units and hands back the pieces
        runner = engine.measure(units, proto, strict)
    elif parallel:
        if pool is None:
            with WorkerPool() as own:
                return run_units(units, proto, report, jobs=jobs, strict=strict, on_error=on_error,
                                 progress=progress, hash_files=hash_files, pool=own, checkpoint=checkpoint)
        runner = pool.measure(units, proto, strict, jobs)
    else:
        runner = nullcontext(_measure(unit, proto, strict) for unit in units)
    with runner as pieces:
        hasher.start()  # after the fork: a child must not inherit a running thread
        for unit, (piece, part) in zip(units, pieces, strict=True):
            report.merge(part)
            if on_error is not None:
                for err in part.errors:
                    on_error(err)
                dropped = getattr(on_error, "dropped", None)
                if dropped is not None and part.error_count > len(part.errors):
                    dropped(part.error_count - len(part.errors))
            if checkpoint is not None:
                checkpoint.before_merge(proto, piece, unit.index, done, total)
            proto.merge(piece)
            done += unit.size
            if progress is not None:
                progress(done, total)
    hasher.join()
    return proto


def _measure(unit: Any, proto: Pass, strict: bool) -> tuple[Pass, Any]:
    """One unit measured by a fresh piece of `proto`: its measurements and its ingest report."""
    from advisor.ingest import IngestReport, read_unit

    part = IngestReport()
    piece = proto.spawn()
    piece.start_unit(unit.index)
    piece.consume(read_unit(unit, part, strict=strict))
    trim_heap()
    return piece, part


_MALLOC_TRIM: list[Any] = []  # glibc's malloc_trim, looked up once; empty list: not looked up yet


def trim_heap() -> None:
    """Give the heap pages freed by a unit back to the OS. Each record allocates its text as C heap blocks
    (strings over 512 bytes bypass Python's small-object allocator); glibc keeps freed blocks for reuse, and the
    few that stay alive between them pin whole pages, so a process's RSS crept up by ~40 MB over a 100k-record
    run without holding more data. malloc_trim(0) returns those pages (a few ms per 32 MiB unit). A no-op where
    the C library has no malloc_trim (macOS, musl)."""
    if not _MALLOC_TRIM:
        trim = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                trim = ctypes.CDLL(None).malloc_trim
                trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
            except (OSError, AttributeError):
                trim = None
        _MALLOC_TRIM.append(trim)
    if _MALLOC_TRIM[0] is not None:
        _MALLOC_TRIM[0](0)


def restarted(collectors: Mapping[str, Any]) -> dict[str, Any]:
    """Collectors for reading the logs again from the start (`restart` where a collector has one, else `spawn`).
    The second pass of an analysis is built this way in the parent, and a reused worker rebuilds it the same way
    from the collectors it inherited (:class:`WorkerPool`)."""
    return {name: c.restart() if hasattr(c, "restart") else c.spawn() for name, c in collectors.items()}


class WorkerPool:
    """Forked worker processes for one analysis, kept for its second reading of the logs.

    The first :meth:`measure` forks the workers while this process is still lean: they inherit the loaded price
    table, configuration and labels. When the logs are read again (repeated ids, isolated timestamps; see
    advisor.analysis), forking anew would copy a parent that now holds the first pass's merged results and
    heap (~170 MB at 1M records) into every worker's resident memory; the same workers read again instead.
    A later pass must be the first one restarted: the same collectors (:func:`restarted`) with new settings.
    Only the settings travel, once per pass, as a file each worker reads before its first unit of that pass.
    """

    def __init__(self) -> None:
        self._pool: Any = None
        self._shape: tuple[int, bool, tuple[str, ...]] | None = None  # (jobs, strict, collector names)
        self._passes = 0
        self._dir: str | None = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def measure(self, units: list[Any], proto: Pass, strict: bool, jobs: int) -> Iterator[Iterator[tuple[Pass, Any]]]:
        """The pieces of `units` measured by the workers, in order; any failure in the caller stops them at once."""
        shape = (jobs, strict, tuple(proto.extra))
        if self._pool is not None and shape != self._shape:
            self.close()  # not the same pass read again: fresh workers
        again = None
        if self._pool is not None:
            try:
                again = self._settings_file(proto.settings)
            except OSError:  # no temporary file can be written: fresh workers, forked from this process
                self.close()
        if self._pool is None:
            self._start(jobs, proto, strict)
            self._shape = shape
        pool = self._pool
        try:
            # submit, not map: map's iterator cancels the pending futures when an error leaves it, and on Python
            # 3.11 the pool's manager thread then fails (InvalidStateError) marking those cancelled futures broken
            futures = [pool.submit(_measure_unit, unit, again) for unit in units]  # run in input order
            if len(getattr(pool, "_processes", None) or ()) >= jobs:
                _WORKER.clear()  # every worker forked (with fork, all at the first submit): drop this one's reference
            futures.reverse()

            def pieces() -> Iterator[tuple[Pass, Any]]:
                while futures:
                    yield unpack(futures.pop().result())  # popped: a merged piece is not kept here

            yield pieces()
        except BaseException as exc:  # Ctrl-C, a dead worker, a strict-mode error: stop the workers now
            from concurrent.futures.process import BrokenProcessPool

            self._stop()
            if isinstance(exc, BrokenProcessPool):
                raise AdviseError("a worker process reading the logs died (killed, or out of memory)",
                                  hint="run again with --jobs 1 (one process, less memory)") from exc
            raise

    def _start(self, jobs: int, proto: Pass, strict: bool) -> None:
        import multiprocessing  # imported here: `advise analyze` on small logs never starts a process
        from concurrent.futures import ProcessPoolExecutor

        _WORKER.update({"first": proto, "pass": proto, "strict": strict, "again": None})
        warm = getattr(proto.settings.book, "warm", None)
        if warm is not None:
            warm()  # workers inherit the loaded price data instead of each loading it
        self._pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                         initializer=_init_worker)

    def _settings_file(self, settings: PassSettings) -> str:
        """The later pass's settings (without the price table, which the workers hold) in a file of its own."""
        import tempfile

        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="advise-pass-")
        self._passes += 1
        path = os.path.join(self._dir, f"pass-{self._passes}.pickle")
        with open(path, "wb") as fh:
            pickle.dump(replace(settings, book=None), fh, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    def _stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):  # no public terminate()
                proc.terminate()
            pool.shutdown(wait=False)  # the pending futures fail as the pool breaks; nothing more runs
        self._cleanup()

    def close(self) -> None:
        """Let the workers finish and exit, and remove the settings files."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        self._cleanup()

    def _cleanup(self) -> None:
        _WORKER.clear()
        self._shape = None
        if self._dir is not None:
            import shutil

            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


class _Hasher:
    """sha256 of split files on a background thread (the digest needs the whole file in order)."""

    def __init__(self, stats: list[Any]) -> None:
        self.stats = stats
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        from advisor.kernel.io import sha256_file

        for st in self.stats:
            try:
                st.sha256 = sha256_file(st.path)
            except OSError:
                st.sha256 = None

    def start(self) -> None:
        if self.stats:
            self._thread = threading.Thread(target=self._run, name="advise-sha256", daemon=True)
            self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
