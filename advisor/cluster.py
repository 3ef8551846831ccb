"""The units of one analysis as tasks on a Dask cluster (`advise analyze --engine dask --address tcp://…`).

The analysis is already planned as independent units that merge deterministically in input order
(:mod:`advisor.scan`), so any engine that runs a function on a unit and hands back its result can spread
it over many machines. Dask distributed is that engine here: pure Python, light (no separate runtime
to deploy), a scheduler and workers start with one command each (`dask scheduler`, `dask worker ADDR`)
or on Kubernetes/SLURM/YARN, and a LocalCluster starts in a test in seconds; Ray would do the same job
with a much heavier runtime. The local process pool stays the default.

The parent plans the units (it reads each file's first lines and counts the newlines of big ones), ships
the empty measurement pass once to every worker (price table, configuration and labels included), and
submits one task per unit, a bounded number ahead. Each task reads its byte range from the path the
parent gave, so the inputs must be on storage every worker sees at the same path (NFS, a shared volume).
What comes back is what a local worker process sends: counts and bounded samples, pickled. The pieces
are merged here in unit order, so the analysis equals the local one byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from advisor.kernel.errors import AdviseError, MissingExtraError

ENGINES = ("local", "dask")
AHEAD_PER_WORKER = 4  # tasks in flight per worker thread: keeps workers busy, bounds results held anywhere


def _dask() -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingExtraError("cluster", "dask.distributed") from None
    return distributed


def ship(proto: Any) -> bytes:
    """`proto` (an empty :class:`advisor.scan.Pass`) as bytes a worker turns back into the same pass."""
    import io

    from advisor.scan import WholePickler

    buf = io.BytesIO()
    WholePickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(proto)
    return buf.getvalue()


_PROTOS: dict[str, Any] = {}  # per worker process: the shipped pass, unpickled once, by its digest


def measure_task(digest: str, shipped: bytes, unit: Any, strict: bool, assumed: Any = None) -> bytes:
    """Runs on a worker: one unit measured by a fresh piece of the shipped pass, sent back pickled.

    `assumed` is the client's --assume-time: a worker is not forked from the client, so it travels here."""
    from advisor.ingest.common import ASSUMED
    from advisor.scan import _measure, pack

    for f in unit.files:
        if not os.path.exists(f):
            import socket

            raise AdviseError(f"the Dask worker on {socket.gethostname()} cannot see this input", file=f,
                              hint="put the logs on storage every worker mounts at the same path (NFS, a "
                                   "shared volume), give absolute paths, or run without --engine")
    proto = _PROTOS.get(digest)
    if proto is None:
        _PROTOS.clear()  # one analysis at a time per worker: drop an earlier one's pass
        proto = _PROTOS[digest] = pickle.loads(shipped)
    previous, ASSUMED.value = ASSUMED.value, assumed
    try:
        return pack(_measure(unit, proto, strict))
    finally:
        ASSUMED.value = previous


class DaskEngine:
    """Runs units on the Dask cluster at `address` (a scheduler such as tcp://host:8786); without an address,
    on a local cluster of `workers` processes started for this run."""

    def __init__(self, address: str | None = None, workers: int | None = None,
                 connect_timeout: str = "20s") -> None:
        self.address, self.workers, self.connect_timeout = address, workers, connect_timeout
        self._stack: ExitStack | None = None  # set while entered: the client (and local cluster) stay up
        self._held: Any = None

    def __enter__(self) -> DaskEngine:
        """Keep one client, and the local cluster it may have started, for every pass of one analysis (the
        second reading of repeated ids would otherwise start a new local cluster)."""
        self._stack = ExitStack()
        return self

    def __exit__(self, *exc: object) -> None:
        stack, self._stack, self._held = self._stack, None, None
        if stack is not None:
            stack.close()

    @contextmanager
    def _session(self) -> Iterator[Any]:
        """The held client while entered (started at first use), else one for this call only."""
        if self._stack is None:
            with self._client() as client:
                yield client
            return
        if self._held is None:
            self._held = self._stack.enter_context(self._client())
        yield self._held

    @contextmanager
    def _client(self) -> Iterator[Any]:
        distributed = _dask()
        if self.address is None:
            from advisor.scan import available_cpus

            with distributed.LocalCluster(n_workers=self.workers or available_cpus(), threads_per_worker=1,
                                          processes=True, dashboard_address=None) as cluster, \
                    distributed.Client(cluster) as client:
                yield client
            return
        try:
            client = distributed.Client(self.address, timeout=self.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise AdviseError(f"cannot reach the Dask scheduler at {self.address} ({exc})", field="--address",
                              hint="start one with `dask scheduler` and workers with `dask worker ADDRESS`, "
                                   "or run without --engine") from None
        with client:
            yield client

    @contextmanager
    def measure(self, units: list[Any], proto: Any, strict: bool) -> Iterator[Iterator[tuple[Any, Any]]]:
        """The pieces of `units`, in order (a context: leaving it cancels what is still running)."""
        warm = getattr(proto.settings.book, "warm", None)
        if warm is not None:
            warm()  # the price data travels loaded, instead of each worker loading it
        from advisor.ingest.common import ASSUMED
        from advisor.scan import unpack

        assumed = ASSUMED.value  # --assume-time of this analysis
        with self._session() as client:
            shipped = ship(proto.spawn())  # empty, whatever `proto` has merged so far (see Checkpoint)
            digest = hashlib.sha256(shipped).hexdigest()
            [shipped_f] = client.scatter([shipped], broadcast=True, hash=False)
            ahead = max(1, AHEAD_PER_WORKER * max(1, sum(client.nthreads().values())))
            futures: list[Any] = []

            def pieces() -> Iterator[tuple[Any, Any]]:
                todo = iter(units)
                for unit in todo:
                    futures.append(client.submit(measure_task, digest, shipped_f, unit, strict, assumed, pure=False))
                    if len(futures) >= ahead:
                        break
                while futures:
                    got = futures.pop(0).result()
                    nxt = next(todo, None)
                    if nxt is not None:
                        futures.append(client.submit(measure_task, digest, shipped_f, nxt, strict, assumed, pure=False))
                    yield unpack(got)

            try:
                yield pieces()
            finally:
                if futures:
                    client.cancel(futures)
