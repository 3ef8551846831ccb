"""How every benchmark times a command: fresh processes, several trials, wall and CPU seconds, memory of the
whole process tree, median with min and max.

A single run's wall time on a shared machine says little, and the child's own ru_maxrss misses the worker
processes `advise analyze` forks (one per CPU by default), so each command runs --trials times in a fresh
process; CPU seconds come from getrusage of the waited-for children (os.times deltas) and memory from psutil,
summed over the process and all its descendants, sampled every 50 ms.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NOTE = ("Each figure is --trials runs, each in a fresh process: median with min and max. wall_s = wall-clock "
        "seconds; cpu_s = user+system seconds of the process tree (getrusage of waited-for children), the figure "
        "to trust on a shared machine; cpu_s_sampled = the same seen by sampling (a cross-check); "
        "peak_rss_tree_mb = max over time of the RSS summed over the whole process tree (parent and forked "
        "workers), sampled every 50 ms (conservative: shared pages count once per process); peak_pss_tree_mb = "
        "the same with proportional set sizes (a page shared by k processes counts 1/k in each: the memory the "
        "run really takes); processes = the most processes seen at once. ")


class TreeMemory:
    """Peak over time of the RSS summed over a process and all its descendants (sampled every `every` s),
    and the CPU seconds last seen per process (a cross-check of getrusage for children not waited for)."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        import psutil

        self._psutil, self.pid, self.every = psutil, pid, every
        self.peak_mb = 0.0
        self.peak_pss_mb = 0.0  # the same with each shared page split between the processes that share it
        self.peak_processes = 0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        ps = self._psutil
        try:
            root = ps.Process(self.pid)
        except ps.Error:
            return
        while not self._stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except ps.Error:
                break
            total = shared_fair = 0
            for p in procs:
                try:
                    with p.oneshot():
                        mem = p.memory_full_info()  # rss, and pss from /proc/PID/smaps_rollup
                        total += mem.rss
                        shared_fair += getattr(mem, "pss", mem.rss)
                        t = p.cpu_times()
                        self._cpu[p.pid] = t.user + t.system
                except ps.Error:
                    continue
            self.peak_mb = max(self.peak_mb, total / 1e6)
            self.peak_pss_mb = max(self.peak_pss_mb, shared_fair / 1e6)
            self.peak_processes = max(self.peak_processes, len(procs))
            self._stop.wait(self.every)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def cpu_seen(self) -> float:
        return sum(self._cpu.values())


def timed(cmd: list[str], cwd: Path = ROOT) -> dict:
    """Run a command in a fresh process: wall and CPU seconds of its tree, the tree's peak RSS sum, its stdout."""
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeMemory(proc.pid) as mem:
        out, err = proc.communicate()
    wall = time.perf_counter() - t0
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err[-3000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"wall": wall, "cpu": cpu, "cpu_sampled": mem.cpu_seen, "rss": mem.peak_mb, "pss": mem.peak_pss_mb,
            "processes": mem.peak_processes, "stdout": out}


def stats(values: list[float]) -> dict:
    """Median, min and max (and how many trials) of one figure."""
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "trials": len(values)}


def run_trials(cmd: list[str], n: int, cwd: Path = ROOT) -> tuple[dict, list[dict]]:
    """`cmd` run n times, each in a fresh process: the summary of every figure, and the raw runs."""
    runs = [timed(cmd, cwd) for _ in range(n)]
    summary = {"wall_s": stats([r["wall"] for r in runs]), "cpu_s": stats([r["cpu"] for r in runs]),
               "peak_rss_tree_mb": stats([r["rss"] for r in runs]),
               "peak_pss_tree_mb": stats([r["pss"] for r in runs]),
               "cpu_s_sampled": stats([r["cpu_sampled"] for r in runs]),
               "processes": max(r["processes"] for r in runs)}
    return summary, runs
