"""Scale benchmark (issues 10, 20): `advise analyze` on 100k, 1M and 2M varied records against the JSON-parse floor.

    python bench/bench_scale.py                          # 100k, 1M and 2M records (2M: is memory flat past 1M?)
    python bench/bench_scale.py --sizes 100000 300000    # when 1M takes too long (say so in the results)

For each size, a realistic log directory (bench/gen_logs.py: 150 prompt families of 7 models, three
formats side by side, tool calls, JSON outputs checked, labels.jsonl, errors) is written under --workdir
(never the repo). Then, on the same files in the same run, each in a fresh process:

* the floor: read every line of every log file and orjson.loads it, in one process;
* `advise analyze DIR --jobs 1` — one process: the CPU ratio to the floor is the per-record cost;
* `advise analyze DIR` — the default, one worker process per CPU: the wall ratio is what a user waits;
* `advise analyze DIR --engine dask --jobs 2` — the same units on a local Dask cluster of 2 worker processes.
* at --repeats-at records (1M), `advise analyze DIR` again with a quarter of the OpenAI chat log exported a
  second time beside it: overlapping exports, each repeated id counted once, which takes a second pass.

Each is timed for wall and CPU seconds (user+system of the process and every descendant it waited for,
from getrusage) and its memory is the peak over time of the RSS summed over the whole process tree (parent,
forked workers, Dask nanny and workers), sampled every 50 ms with psutil — a conservative figure, since pages
shared between a parent and its forked workers count once per process (the PSS sum, where a shared page
counts once, is reported beside it). The three analyses must be identical
byte for byte (apart from `generated_at`). Trials: --trials for sizes up to 100k records, --big-trials above;
the median is reported with the min and max. Results go to bench/results/scale.json with the machine
description; the machine may be shared with other work, so CPU seconds are the figures to compare.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from _machine import describe
from _measure import run_trials

from advisor.scan import available_cpus

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "scale.json"
FLOOR = ("import orjson, sys\n"
         "n = 0\n"
         "for path in sys.argv[1:]:\n"
         "    with open(path, 'rb') as fh:\n"
         "        for line in fh:\n"
         "            if line.strip():\n"
         "                orjson.loads(line); n += 1\n"
         "print(n)\n")
# `advise analyze ARGS`, exactly as the console script runs it (advisor.cli as __main__).
ANALYZE = ("import runpy, sys\n"
           "sys.argv = ['advise'] + sys.argv[1:]\n"
           "runpy.run_module('advisor.cli', run_name='__main__', alter_sys=True)\n")


def _analysis_text(path: Path) -> str:
    return "\n".join(x for x in path.read_text().splitlines() if '"generated_at"' not in x)


def _repeats_run(logs: Path, n: int, trials: int, name: str = "openai_chat_again.jsonl") -> dict:
    """Overlapping exports: the first quarter of the OpenAI chat log exported again beside it as `name`. advise
    counts each repeated id once, which takes a second reading from the first unit holding a repeat
    (advisor.scan.Checkpoint): just the export when it is read after the log (the default name), the log from
    its start when the export is read first ("0_..." sorts before every log); default --jobs."""
    sys.path.insert(0, str(ROOT))
    from bench.gen_logs import export_again

    again = export_again(logs, name)
    out = logs.parent / f"scale-{n}.repeats.analysis.json"
    cmd = [sys.executable, "-c", ANALYZE, "analyze", str(logs), "-o", str(out), "--force", "-q", "--allow-unpriced"]
    summary, _ = run_trials(cmd, trials)
    dq = json.loads(out.read_text())["data_quality"]
    out.unlink(missing_ok=True)
    again.unlink()
    return {**summary, "records": dq["records"], "repeated_records_left_out": dq["duplicates"]["records"],
            "cpu_us_per_record": round(summary["cpu_s"]["median"] / (dq["records"] + dq["duplicates"]["records"])
                                       * 1e6, 1)}


def run_size(n: int, workdir: Path, seed: int, trials: int, engine: bool, repeats: bool = False) -> dict:
    sys.path.insert(0, str(ROOT))
    from bench.gen_logs import write_logs

    logs = workdir / f"scale-{n}"
    shutil.rmtree(logs, ignore_errors=True)
    size = write_logs(logs, n, seed=seed)
    files = sorted(str(p) for p in logs.glob("*.jsonl"))
    floor, floor_runs = run_trials([sys.executable, "-c", FLOOR, *files], trials)
    lines = int(floor_runs[0]["stdout"])
    outputs, rows = {}, {}
    variants = [("single_process", ["--jobs", "1"]), ("default_jobs", [])]
    if engine:
        variants.append(("dask_local_cluster_2_workers", ["--engine", "dask", "--jobs", "2"]))
    for name, extra in variants:
        out = workdir / f"scale-{n}.{name}.analysis.json"
        cmd = [sys.executable, "-c", ANALYZE, "analyze", str(logs), "-o", str(out), "--force", "-q",
               "--allow-unpriced", *extra]
        summary, _ = run_trials(cmd, trials if name != "dask_local_cluster_2_workers" else max(1, min(trials, 3)))
        outputs[name] = _analysis_text(out)
        records = json.loads(out.read_text())["data_quality"]["records"]
        wall, cpu = summary["wall_s"]["median"], summary["cpu_s"]["median"]
        rows[name] = {**summary, "records": records, "records_per_s": round(records / wall, 1),
                      "mb_per_s": round(size / 1e6 / wall, 1), "cpu_us_per_record": round(cpu / records * 1e6, 1),
                      "wall_ratio_to_floor": round(wall / floor["wall_s"]["median"], 2),
                      "cpu_ratio_to_floor": round(cpu / floor["cpu_s"]["median"], 2)}
        out.unlink(missing_ok=True)
    first = next(iter(outputs.values()))
    if repeats:
        rows["default_jobs_with_repeated_ids"] = _repeats_run(logs, n, trials)
        rows["default_jobs_with_repeated_ids_export_read_first"] = _repeats_run(logs, n, trials,
                                                                                "0_openai_chat_again.jsonl")
    shutil.rmtree(logs, ignore_errors=True)
    return {"records": n, "lines": lines, "log_mb": round(size / 1e6, 1), "files": [Path(f).name for f in files],
            "processes_by_default": available_cpus(), "floor_orjson": floor, **rows,
            "identical_analysis_json": all(text == first for text in outputs.values())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 2_000_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trials", type=int, default=5, help="trials per measurement for sizes up to 100k records")
    ap.add_argument("--big-trials", type=int, default=1, help="trials per measurement above 100k records")
    ap.add_argument("--engine-max", type=int, default=100_000,
                    help="largest size also run on a local Dask cluster (0: never)")
    ap.add_argument("--repeats-at", type=int, default=1_000_000,
                    help="size also run with a quarter of one log exported again (repeated ids; 0: never)")
    ap.add_argument("--note", default="", help="why sizes were left out, or anything else about this run")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/advise-scale"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    info = describe(("advise", "orjson", "pydantic", "msgspec", "pyarrow", "distributed", "genai-prices"))
    runs = []
    for n in args.sizes:
        r = run_size(n, args.workdir, args.seed, args.trials if n <= 100_000 else args.big_trials,
                     engine=n <= args.engine_max, repeats=n == args.repeats_at)
        runs.append(r)
        s, d = r["single_process"], r["default_jobs"]
        line = (f"{n:>9,} records {r['log_mb']:8.1f} MB  floor CPU {r['floor_orjson']['cpu_s']['median']:6.1f} s | "
                f"--jobs 1: CPU {s['cpu_s']['median']:6.1f} s (×{s['cpu_ratio_to_floor']:.2f}, "
                f"{s['cpu_us_per_record']:.0f} µs/record), RSS {s['peak_rss_tree_mb']['median']:.0f} MB | "
                f"--jobs {r['processes_by_default']}: wall ×{d['wall_ratio_to_floor']:.2f}, {d['records_per_s']:,.0f}/s, "
                f"tree RSS {d['peak_rss_tree_mb']['median']:.0f} MB (PSS {d['peak_pss_tree_mb']['median']:.0f} MB)")
        if "dask_local_cluster_2_workers" in r:
            e = r["dask_local_cluster_2_workers"]
            line += f" | dask: wall {e['wall_s']['median']:.1f} s, tree RSS {e['peak_rss_tree_mb']['median']:.0f} MB"
        if "default_jobs_with_repeated_ids" in r:
            e = r["default_jobs_with_repeated_ids"]
            line += (f" | with {e['repeated_records_left_out']:,} repeated ids (read again from the first repeat): "
                     f"tree RSS {e['peak_rss_tree_mb']['median']:.0f} MB")
        print(line + f" | identical: {r['identical_analysis_json']}", flush=True)
    result = {
        "benchmark": "advise analyze vs orjson parse floor on varied logs (issues 10, 20)",
        "goal": {"single_process_cpu_ratio_max": 3.0, "peak_rss_tree_mb_max": 500},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "note": "floor = every line of the log files read and orjson.loads'd in one process. single_process = "
                "`advise analyze DIR --jobs 1`; default_jobs = `advise analyze DIR` (one worker process per CPU); "
                "dask = `--engine dask --jobs 2` (a local Dask cluster of 2 worker processes started by advise, "
                "startup included). cpu_s = user+system seconds of the process tree (getrusage of waited-for "
                "children), the figure to trust on a shared machine; peak_rss_tree_mb = max over time of the RSS "
                "summed over the whole process tree, sampled every 50 ms (conservative: shared pages count per "
                "process); peak_pss_tree_mb = the same with proportional set sizes (a page shared by k processes "
                "counts 1/k in each: the memory the run really takes). Median of the trials with min and max. " + args.note,
        "runs": runs,
        "peak_rss_tree_mb_by_records": {str(r["records"]): {name: r[name]["peak_rss_tree_mb"]["median"]
                                                            for name in ("single_process", "default_jobs")}
                                        for r in runs},
        "rss_growth_single_process": round(runs[-1]["single_process"]["peak_rss_tree_mb"]["median"]
                                           / runs[0]["single_process"]["peak_rss_tree_mb"]["median"], 3)
        if len(runs) > 1 else None,
    }
    from advisor.kernel.io import atomic_write_text

    atomic_write_text(args.results, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
