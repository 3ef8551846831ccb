"""The machine description every benchmark result carries (results mean little without it)."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path


def _proc(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def describe(packages: tuple[str, ...] = ("advise",)) -> dict:
    """CPU model, cores, RAM, Python, platform, package versions and the load average at start."""
    mem = _proc("/proc/meminfo", "MemTotal")
    versions = {}
    for pkg in packages:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": _proc("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "ram_gb": round(int(mem.split()[0]) / 1024 / 1024, 1) if mem else None,
            "python": platform.python_version(), "platform": platform.platform(), "versions": versions,
            "load_avg_at_start": [round(x, 2) for x in load] if load else None}


def run_measured(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Run `cmd` in a fresh process; (wall seconds, its own peak RSS in MB). Fails loudly on a non-zero exit.

    os.wait4 reports the child's own ru_maxrss, unlike RUSAGE_CHILDREN which mixes in earlier children.
    """
    import subprocess
    import sys
    import time

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[2:5])} failed:\n{err}")
    rss_kb = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss // 1024
    return wall, rss_kb / 1024
