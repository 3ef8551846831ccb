"""Benchmark `advise dataset`: records/s, CPU and memory at two log sizes (memory should stay flat).

    python bench/bench_dataset.py                    # 10k and 100k records of the ecommerce example, 5 trials
    python bench/bench_dataset.py --sizes 20000 200000 --trials 7 --workdir /tmp/advise-bench

Logs are generated under --workdir (never committed) with examples.generate. Each size is --trials
`advise dataset` runs, each in a fresh process (bench/_measure.py): median, min and max of wall and CPU
seconds (the whole process tree) and of the peak RSS and PSS summed over the process tree. Writes
bench/results/dataset.json with the machine description; the machine may be shared with other work,
so CPU seconds are the figures to compare.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from _machine import describe
from _measure import NOTE, run_trials

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


def run_dataset(log_dir: Path, workdir: Path, trials: int) -> dict:
    """`advise dataset` `trials` times, each in a fresh process: time, CPU and tree memory."""
    out = workdir / f"dataset-{log_dir.name}"
    cmd = [sys.executable, "-m", "advisor.cli", "dataset", str(log_dir), "-o", str(out), "--force", "-q"]
    summary, _ = run_trials(cmd, trials)
    counts = json.loads((out / "dataset.json").read_text())["counts"]
    records = counts["records_read"]
    wall, cpu = summary["wall_s"]["median"], summary["cpu_s"]["median"]
    return {"records": records, "examples_written": counts["written"],
            "log_bytes": sum(p.stat().st_size for p in log_dir.rglob("*") if p.is_file()),
            **summary, "records_per_s": round(records / wall, 1),
            "cpu_us_per_record": round(cpu / records * 1e6, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs=2, default=[10_000, 100_000], metavar=("SMALL", "LARGE"))
    ap.add_argument("--scenario", default="ecommerce")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/advise-bench"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--trials", type=int, default=5, help="fresh-process runs per size (default 5)")
    args = ap.parse_args(argv)
    if args.trials < 1:
        ap.error("--trials must be at least 1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in args.sizes:
        r = run_dataset(generate(n, args.workdir, args.scenario, args.seed), args.workdir, args.trials)
        runs.append(r)
        print(f"{r['records']:>9,} records → {r['examples_written']:>8,} examples  "
              f"wall {r['wall_s']['median']:6.1f} s [{r['wall_s']['min']:.1f}–{r['wall_s']['max']:.1f}]  "
              f"CPU {r['cpu_s']['median']:6.1f} s "
              f"({r['cpu_us_per_record']:.0f} µs/record)  {r['records_per_s']:>8,.0f} records/s  "
              f"tree RSS {r['peak_rss_tree_mb']['median']:.0f} MB (PSS {r['peak_pss_tree_mb']['median']:.0f} MB, "
              f"{r['processes']} processes)", flush=True)
    small, large = runs
    growth = large["peak_rss_tree_mb"]["median"] / small["peak_rss_tree_mb"]["median"]
    ratio = large["records"] / small["records"]
    print(f"records ×{ratio:.1f} → peak tree memory ×{growth:.2f}")
    result = {
        "benchmark": "advise dataset",
        "scenario": args.scenario,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "note": "runs = `advise dataset DIR -o OUT --force -q` on the generated example logs at each size. "
                "records_per_s = records read / median wall; cpu_us_per_record = median CPU / records read; "
                "peak_rss_ratio = larger / smaller median peak_rss_tree_mb. " + NOTE,
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
