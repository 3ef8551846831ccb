"""Benchmark `advise analyze`: records/s and peak memory at two log sizes (memory should stay flat).

    python bench/bench_analyze.py                  # 25k and 100k records of the ecommerce example
    python bench/bench_analyze.py --sizes 100000 400000 --workdir /tmp/advise-bench

Logs are generated under --workdir (default /tmp, never committed) with examples.generate; each
run of `advise analyze` is a fresh subprocess so its peak RSS (os.wait4 → ru_maxrss) is its own.
Writes bench/results/analyze.json with the machine description.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from _machine import describe, run_measured

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "analyze.json"


def generate(n: int, workdir: Path, scenario: str, seed: int) -> tuple[Path, int]:
    """Write about n records of `scenario` (full traffic, one day per 10k) and return (dir, records)."""
    sys.path.insert(0, str(ROOT))
    from examples.generate import write_scenario

    out = workdir / f"{scenario}-{n}"
    days = max(1, n // 10_000)
    truth = write_scenario(scenario, out, seed=seed, days=days, per_day=n / days, sample_rate=1.0, force=True)
    # advise.toml stays: its [[failures.checks]] are part of the work; sample_rate is 1 here
    return out, int(truth["records"])


def run_analyze(log_dir: Path, workdir: Path) -> dict:
    """One `advise analyze` in a fresh process: wall time and its own peak RSS."""
    out = workdir / f"analysis-{log_dir.name}.json"
    cmd = [sys.executable, "-m", "advisor.cli", "analyze", str(log_dir), "-o", str(out), "--force", "-q",
           "--allow-unpriced"]
    wall, rss_mb = run_measured(cmd, ROOT)
    records = json.loads(out.read_text())["data_quality"]["records"]
    return {"records": records, "log_bytes": sum(p.stat().st_size for p in log_dir.rglob("*") if p.is_file()),
            "wall_s": round(wall, 2), "records_per_s": round(records / wall, 1), "peak_rss_mb": round(rss_mb, 1)}


METRICS_ONLY = ("from advisor.analysis import build_analysis; import sys; "
                "build_analysis([sys.argv[1]], allow_unpriced=True)")
FULL = ("from advisor.analyze import analyze_logs; import sys; "
        "analyze_logs([sys.argv[1]], allow_unpriced=True)")


def failure_overhead(log_dir: Path) -> dict:
    """Issue 4's budget: the failure analysis (+ decision) may add at most 2x to the metrics-only pass."""
    times = {}
    for name, code in (("metrics_only_s", METRICS_ONLY), ("with_failures_and_decision_s", FULL)):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, str(log_dir)], cwd=ROOT, check=True)
        times[name] = round(time.perf_counter() - t0, 2)
    times["ratio"] = round(times["with_failures_and_decision_s"] / times["metrics_only_s"], 2)
    times["goal_max_ratio"] = 2.0
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs=2, default=[25_000, 100_000], metavar=("SMALL", "LARGE"))
    ap.add_argument("--scenario", default="ecommerce")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/advise-bench"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in args.sizes:
        log_dir, generated = generate(n, args.workdir, args.scenario, args.seed)
        r = run_analyze(log_dir, args.workdir)
        runs.append(r)
        print(f"{r['records']:>9,} records  {r['log_bytes'] / 1e6:8.1f} MB  {r['wall_s']:7.1f} s  "
              f"{r['records_per_s']:>9,.0f} records/s  peak RSS {r['peak_rss_mb']:.0f} MB")
    small, large = runs
    growth = large["peak_rss_mb"] / small["peak_rss_mb"]
    size_ratio = large["log_bytes"] / small["log_bytes"]
    print(f"log size ×{size_ratio:.1f} → peak memory ×{growth:.2f}")
    overhead = failure_overhead(args.workdir / f"{args.scenario}-{args.sizes[1]}")
    print(f"failure analysis + decision: ×{overhead['ratio']:.2f} the metrics-only time (goal ≤ 2)")
    result = {
        "benchmark": "advise analyze",
        "scenario": args.scenario,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "runs": runs,
        "size_ratio": round(size_ratio, 2),
        "peak_rss_ratio": round(growth, 3),
        "failure_analysis_overhead": overhead,
    }
    from advisor.kernel.io import atomic_write_text

    atomic_write_text(args.results, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
