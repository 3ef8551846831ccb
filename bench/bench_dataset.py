"""Benchmark `advise dataset`: records/s and peak memory at two log sizes (memory should stay flat).

    python bench/bench_dataset.py                    # 10k and 100k records of the ecommerce example
    python bench/bench_dataset.py --sizes 20000 200000 --workdir /tmp/advise-bench

Logs are generated under --workdir (never committed) with examples.generate; each `advise dataset`
run is a fresh subprocess so its peak RSS (os.wait4 → ru_maxrss) is its own. Writes
bench/results/dataset.json with the machine description.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from _machine import describe, run_measured

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "dataset.json"


def generate(n: int, workdir: Path, scenario: str, seed: int) -> Path:
    """Write about n records of `scenario` (full traffic, one day per 10k)."""
    sys.path.insert(0, str(ROOT))
    from examples.generate import write_scenario

    out = workdir / f"{scenario}-{n}"
    if not (out / "truth.json").is_file():
        days = max(1, n // 10_000)
        write_scenario(scenario, out, seed=seed, days=days, per_day=n / days, sample_rate=1.0, force=True)
    return out


def run_dataset(log_dir: Path, workdir: Path) -> dict:
    """One `advise dataset` in a fresh process: wall time and its own peak RSS."""
    out = workdir / f"dataset-{log_dir.name}"
    cmd = [sys.executable, "-m", "advisor.cli", "dataset", str(log_dir), "-o", str(out), "--force", "-q"]
    wall, rss_mb = run_measured(cmd, ROOT)
    counts = json.loads((out / "dataset.json").read_text())["counts"]
    return {"records": counts["records_read"], "examples_written": counts["written"],
            "log_bytes": sum(p.stat().st_size for p in log_dir.rglob("*") if p.is_file()),
            "wall_s": round(wall, 2), "records_per_s": round(counts["records_read"] / wall, 1),
            "peak_rss_mb": round(rss_mb, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs=2, default=[10_000, 100_000], metavar=("SMALL", "LARGE"))
    ap.add_argument("--scenario", default="ecommerce")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/advise-bench"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in args.sizes:
        r = run_dataset(generate(n, args.workdir, args.scenario, args.seed), args.workdir)
        runs.append(r)
        print(f"{r['records']:>9,} records → {r['examples_written']:>8,} examples  {r['wall_s']:7.1f} s  "
              f"{r['records_per_s']:>8,.0f} records/s  peak RSS {r['peak_rss_mb']:.0f} MB")
    small, large = runs
    growth = large["peak_rss_mb"] / small["peak_rss_mb"]
    ratio = large["records"] / small["records"]
    print(f"records ×{ratio:.1f} → peak memory ×{growth:.2f}")
    result = {
        "benchmark": "advise dataset",
        "scenario": args.scenario,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "runs": runs,
        "records_ratio": round(ratio, 2),
        "peak_rss_ratio": round(growth, 3),
    }
    from advisor.kernel.io import atomic_write_text

    atomic_write_text(args.results, json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
