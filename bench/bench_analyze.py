"""Benchmark `advise analyze`: records/s, CPU and memory at two log sizes (memory should stay flat), and
issue 4's budget (failure analysis + decision at most 2x the metrics-only pass).

    python bench/bench_analyze.py                  # 25k and 100k records of the ecommerce example, 5 trials
    python bench/bench_analyze.py --sizes 100000 400000 --trials 7 --workdir /tmp/advise-bench

Logs are generated under --workdir (default /tmp, never committed) with examples.generate. Every timed
figure is --trials runs, each in a fresh process (bench/_measure.py): median, min and max of wall and
CPU seconds (the whole process tree, forked workers included) and of the peak RSS and PSS summed over
the process tree. Writes bench/results/analyze.json with the machine description; the machine may be
shared with other work, so CPU seconds are the figures to compare.
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


def run_analyze(log_dir: Path, workdir: Path, trials: int) -> dict:
    """`advise analyze` (default jobs) `trials` times, each in a fresh process: time, CPU and tree memory."""
    out = workdir / f"analysis-{log_dir.name}.json"
    cmd = [sys.executable, "-m", "advisor.cli", "analyze", str(log_dir), "-o", str(out), "--force", "-q",
           "--allow-unpriced"]
    summary, _ = run_trials(cmd, trials)
    records = json.loads(out.read_text())["data_quality"]["records"]
    wall, cpu = summary["wall_s"]["median"], summary["cpu_s"]["median"]
    return {"records": records, "log_bytes": sum(p.stat().st_size for p in log_dir.rglob("*") if p.is_file()),
            **summary, "records_per_s": round(records / wall, 1),
            "cpu_us_per_record": round(cpu / records * 1e6, 1)}


METRICS_ONLY = ("from advisor.analysis import build_analysis; import sys; "
                "build_analysis([sys.argv[1]], allow_unpriced=True)")
FULL = ("from advisor.analyze import analyze_logs; import sys; "
        "analyze_logs([sys.argv[1]], allow_unpriced=True)")


def failure_overhead(log_dir: Path, trials: int) -> dict:
    """Issue 4's budget: the failure analysis (+ decision) may add at most 2x to the metrics-only pass.

    Both are `trials` fresh processes; the ratios are of the medians, on CPU seconds (the figure to trust
    on a shared machine) and on wall time.
    """
    arms = {name: run_trials([sys.executable, "-c", code, str(log_dir)], trials)[0]
            for name, code in (("metrics_only", METRICS_ONLY), ("with_failures_and_decision", FULL))}
    base, full = arms["metrics_only"], arms["with_failures_and_decision"]
    return {**arms,
            "cpu_ratio": round(full["cpu_s"]["median"] / base["cpu_s"]["median"], 2),
            "wall_ratio": round(full["wall_s"]["median"] / base["wall_s"]["median"], 2),
            "goal_max_ratio": 2.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs=2, default=[25_000, 100_000], metavar=("SMALL", "LARGE"))
    ap.add_argument("--scenario", default="ecommerce")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/advise-bench"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--trials", type=int, default=5, help="fresh-process runs per timed figure (default 5)")
    args = ap.parse_args(argv)
    if args.trials < 1:
        ap.error("--trials must be at least 1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    for n in args.sizes:
        log_dir, generated = generate(n, args.workdir, args.scenario, args.seed)
        r = run_analyze(log_dir, args.workdir, args.trials)
        runs.append(r)
        print(f"{r['records']:>9,} records  {r['log_bytes'] / 1e6:8.1f} MB  wall {r['wall_s']['median']:6.1f} s "
              f"[{r['wall_s']['min']:.1f}–{r['wall_s']['max']:.1f}]  CPU {r['cpu_s']['median']:6.1f} s "
              f"({r['cpu_us_per_record']:.0f} µs/record)  {r['records_per_s']:>9,.0f} records/s  "
              f"tree RSS {r['peak_rss_tree_mb']['median']:.0f} MB (PSS {r['peak_pss_tree_mb']['median']:.0f} MB, "
              f"{r['processes']} processes)", flush=True)
    small, large = runs
    growth = large["peak_rss_tree_mb"]["median"] / small["peak_rss_tree_mb"]["median"]
    size_ratio = large["log_bytes"] / small["log_bytes"]
    print(f"log size ×{size_ratio:.1f} → peak tree memory ×{growth:.2f}")
    overhead = failure_overhead(args.workdir / f"{args.scenario}-{args.sizes[1]}", args.trials)
    print(f"failure analysis + decision: ×{overhead['cpu_ratio']:.2f} the metrics-only CPU time, "
          f"×{overhead['wall_ratio']:.2f} its wall time (medians; goal ≤ 2)")
    result = {
        "benchmark": "advise analyze",
        "scenario": args.scenario,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "note": "runs = `advise analyze DIR -o FILE --force -q --allow-unpriced` (default --jobs: one worker "
                "process per CPU once the logs pass 64 MiB, advisor.scan) on the generated example logs at each "
                "size; failure_analysis_overhead = the metrics-only pass (advisor.analysis.build_analysis) against "
                "the full analysis with failures and the decision (advisor.analyze.analyze_logs) on the larger "
                "size, each in its own fresh process, ratios of the medians. records_per_s = records / median "
                "wall; cpu_us_per_record = median CPU / records; peak_rss_ratio = larger / smaller median "
                "peak_rss_tree_mb. " + NOTE,
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
