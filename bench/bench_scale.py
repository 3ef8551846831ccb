"""Scale benchmark (issue 10): `advise analyze` on 100k and 1M records against the JSON-parse floor.

    python bench/bench_scale.py                       # 100k and 1M records (minutes on 2 cores)
    python bench/bench_scale.py --sizes 20000 100000  # quicker

For each size a realistic OpenAI-chat log (bench/gen_logs.py: prompt families with long static system
prompts, usage reported) is written under --workdir (default /tmp, never the repo). Then, in the same
run: (a) the floor — read the lines and orjson.loads each one, in a fresh process; (b) the full
`advise analyze FILE --json OUT --force -q --allow-unpriced` in a fresh process. Wall time, records/s,
the ratio to the floor and each process's own peak RSS (os.wait4 → ru_maxrss) are written to
bench/results/scale.json with the machine description. Goal: ratio ≤ 3, peak RSS < 500 MB and flat.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "scale.json"
FLOOR = ("import sys, orjson\n"
         "n = 0\n"
         "with open(sys.argv[1], 'rb') as fh:\n"
         "    for line in fh:\n"
         "        if line.strip():\n"
         "            orjson.loads(line); n += 1\n"
         "print(n)\n")


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    mem_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions = {}
    for pkg in ("advise", "orjson", "pydantic", "tiktoken", "genai-prices"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": mem_gb, "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions,
            "load_avg_at_start": [round(x, 2) for x in load] if load else None}


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Run a command in a fresh process: (wall seconds, its peak RSS in MB, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{err[-2000:]}")
    rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return wall, rss, out


def run_size(n: int, workdir: Path, seed: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from bench.gen_logs import write_logs

    log = workdir / f"scale-{n}.jsonl"
    size = write_logs(log, n, seed=seed)
    floor_s, floor_rss, counted = timed([sys.executable, "-c", FLOOR, str(log)])
    out = workdir / f"scale-{n}.analysis.json"
    wall, rss, _ = timed([sys.executable, "-m", "advisor.cli", "analyze", str(log), "--json", str(out), "--force",
                          "-q", "--allow-unpriced"])
    analysed = json.loads(out.read_text())["data_quality"]["records"]
    log.unlink(missing_ok=True)
    return {"records": analysed, "lines": int(counted), "log_mb": round(size / 1e6, 1),
            "floor_orjson_s": round(floor_s, 2), "floor_peak_rss_mb": round(floor_rss, 1),
            "analyze_s": round(wall, 2), "analyze_records_per_s": round(analysed / wall, 1),
            "ratio_to_floor": round(wall / floor_s, 2), "analyze_peak_rss_mb": round(rss, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/advise-scale"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    info = machine()
    runs = []
    for n in args.sizes:
        r = run_size(n, args.workdir, args.seed)
        runs.append(r)
        print(f"{r['records']:>9,} records {r['log_mb']:8.1f} MB  floor {r['floor_orjson_s']:7.1f} s  "
              f"analyze {r['analyze_s']:7.1f} s ({r['analyze_records_per_s']:,.0f}/s)  ×{r['ratio_to_floor']:.2f}  "
              f"peak RSS {r['analyze_peak_rss_mb']:.0f} MB", flush=True)
    result = {
        "benchmark": "advise analyze vs orjson parse floor (issue 10)",
        "goal": {"ratio_to_floor_max": 3.0, "peak_rss_mb_max": 500},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "note": "floor = read lines + orjson.loads, fresh process; both on the same file in the same run",
        "runs": runs,
        "rss_growth": round(runs[-1]["analyze_peak_rss_mb"] / runs[0]["analyze_peak_rss_mb"], 3) if len(runs) > 1
        else None,
    }
    from advisor.io import atomic_write_text

    atomic_write_text(args.results, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
