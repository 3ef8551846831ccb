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

