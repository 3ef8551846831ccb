"""Scale benchmark (issue 10): `advise analyze` on 100k and 1M records against the JSON-parse floor.

    python bench/bench_scale.py                       # 100k and 1M records (minutes on 2 cores)
    python bench/bench_scale.py --sizes 20000 100000  # quicker

For each size a realistic OpenAI-chat log (bench/gen_logs.py: prompt families with long static system
prompts, usage reported) is written under --workdir (default /tmp, never the repo). Then, in the same
run: (a) the floor — read the lines and orjson.loads each one, in a fresh process; (b) the full
`advise analyze FILE -o OUT --force -q --allow-unpriced` in a fresh process. Wall time, records/s,
the ratio to the floor (wall and CPU seconds: the CPU ratio is the one to trust on a shared machine) and
each process's own peak RSS (VmHWM, reported by the process itself) are written to bench/results/scale.json
with the machine description. Goal: ratio ≤ 3, peak RSS < 500 MB and flat.

    python bench/bench_scale.py --sizes 100000 1000000 --baseline 5cce20d

also times the code of another commit (`git archive REF advisor` into the workdir, run with PYTHONPATH)
on the same file in the same run, for sizes up to --baseline-max, so before/after numbers are comparable.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from _machine import describe

from advisor.scan import available_cpus

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "scale.json"
# Each measured process reports its own peak RSS (VmHWM of its own address space) on stderr when it exits.
# ru_maxrss from wait4 is not used: Linux carries the parent's high-water mark over fork+exec, so every child
# of this (log-writing) process would look as big as the parent.
_HWM = ("import atexit, sys\n"
        "def _report_hwm():\n"
        "    for row in open('/proc/self/status'):\n"
        "        if row.startswith('VmHWM:'):\n"
        "            sys.stderr.write('PEAK_RSS_KB ' + row.split()[1] + '\\n')\n"
        "atexit.register(_report_hwm)\n")
FLOOR = (_HWM +
         "import orjson\n"
         "n = 0\n"
         "with open(sys.argv[1], 'rb') as fh:\n"
         "    for line in fh:\n"
         "        if line.strip():\n"
         "            orjson.loads(line); n += 1\n"
         "print(n)\n")
# A stricter floor, reported beside the first: the file memory-mapped and each line parsed in place (no copy
# at all; advise itself reads through one reused buffer, since a map dies with SIGBUS on a truncated file).
FLOOR_MMAP = (_HWM +
              "import mmap, orjson\n"
              "n = 0\n"
              "with open(sys.argv[1], 'rb') as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:\n"
              "    view, pos, end = memoryview(mm), 0, len(mm)\n"
              "    while pos < end:\n"
              "        j = mm.find(b'\\n', pos)\n"
              "        j = end if j < 0 else j\n"
              "        if j > pos:\n"
              "            orjson.loads(view[pos:j]); n += 1\n"
              "        pos = j + 1\n"
              "    view.release()\n"
              "print(n)\n")
# `advise analyze ARGS`, exactly as the console script runs it (advisor.cli as __main__), plus the RSS report.
ANALYZE = (_HWM +
           "import runpy, advisor\n"
           "sys.stderr.write('ADVISOR_FROM ' + advisor.__file__ + '\\n')\n"
           "sys.argv = ['advise'] + sys.argv[1:]\n"
           "runpy.run_module('advisor.cli', run_name='__main__', alter_sys=True)\n")


def timed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> dict:
    """Run a command in a fresh process: wall and CPU seconds, its own peak RSS in MB, its stdout."""
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - t0
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    peaks = [int(row.split()[1]) for row in proc.stderr.splitlines() if row.startswith("PEAK_RSS_KB ")]
    if not peaks:
        raise SystemExit(f"no peak RSS reported by: {' '.join(cmd)}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    origin = [row.split(" ", 1)[1] for row in proc.stderr.splitlines() if row.startswith("ADVISOR_FROM ")]
    return {"wall": wall, "cpu": cpu, "rss": peaks[-1] / 1024, "stdout": proc.stdout,
            "advisor_from": origin[-1] if origin else ""}


def _same_but_rounding(a: object, b: object) -> bool:
    """Equal, except floats that differ only by summation order (pieces merged vs one running sum)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_but_rounding(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_but_rounding(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def baseline_tree(ref: str, workdir: Path) -> Path:
    """The `advisor` package of commit `ref`, extracted (read-only git) for a before/after comparison."""
    target = workdir / f"baseline-{ref}"
    if not (target / "advisor").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", ref, "advisor"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def run_size(n: int, workdir: Path, seed: int, baseline: Path | None = None) -> dict:
    sys.path.insert(0, str(ROOT))
    from bench.gen_logs import write_logs

    log = workdir / f"scale-{n}.jsonl"
    size = write_logs(log, n, seed=seed)
    floor = timed([sys.executable, "-c", FLOOR, str(log)])
    floor_mmap = timed([sys.executable, "-c", FLOOR_MMAP, str(log)])
    if floor_mmap["stdout"] != floor["stdout"]:
        raise SystemExit("the two floors parsed different numbers of lines")
    out = workdir / f"scale-{n}.analysis.json"
    args = ["analyze", str(log), "-o", str(out), "--force", "-q", "--allow-unpriced"]  # -o: nothing lands in the cwd
    run = timed([sys.executable, "-c", ANALYZE, *args])
    analysed = json.loads(out.read_text())["data_quality"]["records"]
    row = {"records": analysed, "lines": int(floor["stdout"]), "log_mb": round(size / 1e6, 1),
           "floor_orjson_s": round(floor["wall"], 2), "floor_cpu_s": round(floor["cpu"], 2),
           "floor_peak_rss_mb": round(floor["rss"], 1),
           "floor_mmap_s": round(floor_mmap["wall"], 2), "floor_mmap_cpu_s": round(floor_mmap["cpu"], 2),
           "analyze_s": round(run["wall"], 2), "analyze_cpu_s": round(run["cpu"], 2),
           "analyze_records_per_s": round(analysed / run["wall"], 1),
           "ratio_to_floor": round(run["wall"] / floor["wall"], 2),
           "cpu_ratio_to_floor": round(run["cpu"] / floor["cpu"], 2),
           "ratio_to_mmap_floor": round(run["wall"] / floor_mmap["wall"], 2),
           "jobs": available_cpus(),  # what `advise analyze` starts by default over 64 MB
           "analyze_peak_rss_mb": round(run["rss"], 1)}
    if baseline is not None:
        mine = json.loads(out.read_text())
        env = {**os.environ, "PYTHONPATH": str(baseline)}
        # cwd = the baseline tree: `python -c` puts the cwd first on sys.path, ahead of PYTHONPATH
        before = timed([sys.executable, "-c", ANALYZE, *args], env=env, cwd=baseline)
        if str(baseline) not in before["advisor_from"]:
            raise SystemExit(f"baseline run imported advisor from {before['advisor_from']}, not {baseline}")
        theirs = json.loads(out.read_text())
        mine.pop("generated_at", None)
        theirs.pop("generated_at", None)
        same = mine == theirs
        close = _same_but_rounding(mine, theirs)
        row["baseline"] = {"analyze_s": round(before["wall"], 2), "analyze_cpu_s": round(before["cpu"], 2),
                           "ratio_to_floor": round(before["wall"] / floor["wall"], 2),
                           "cpu_ratio_to_floor": round(before["cpu"] / floor["cpu"], 2),
                           "analyze_peak_rss_mb": round(before["rss"], 1),
                           "speedup_cpu": round(before["cpu"] / run["cpu"], 2),
                           "advisor_from": before["advisor_from"],
                           "identical_analysis_json": same,
                           "same_up_to_float_rounding": close}
    log.unlink(missing_ok=True)
    out.unlink(missing_ok=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/advise-scale"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--baseline", metavar="REF", help="also time the advisor package of this git commit")
    ap.add_argument("--baseline-max", type=int, default=100_000, help="largest size the baseline is timed at")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    info = describe(("advise", "orjson", "pydantic", "tiktoken", "genai-prices"))
    runs = []
    for n in args.sizes:
        base = baseline_tree(args.baseline, args.workdir) if args.baseline and n <= args.baseline_max else None
        r = run_size(n, args.workdir, args.seed, base)
        runs.append(r)
        print(f"{r['records']:>9,} records {r['log_mb']:8.1f} MB  floor {r['floor_orjson_s']:7.1f} s "
              f"(mmap {r['floor_mmap_s']:.1f} s)  "
              f"analyze {r['analyze_s']:7.1f} s ({r['analyze_records_per_s']:,.0f}/s)  ×{r['ratio_to_floor']:.2f} "
              f"(CPU ×{r['cpu_ratio_to_floor']:.2f}, mmap floor ×{r['ratio_to_mmap_floor']:.2f})  peak RSS {r['analyze_peak_rss_mb']:.0f} MB", flush=True)
        if "baseline" in r:
            b = r["baseline"]
            print(f"{'':>9} baseline {args.baseline}: analyze {b['analyze_s']:7.1f} s  ×{b['ratio_to_floor']:.2f} "
                  f"(CPU ×{b['cpu_ratio_to_floor']:.2f})  peak RSS {b['analyze_peak_rss_mb']:.0f} MB  "
                  f"identical output: {b['identical_analysis_json']} "
                  f"(up to float rounding: {b['same_up_to_float_rounding']})", flush=True)
    result = {
        "benchmark": "advise analyze vs orjson parse floor (issue 10)",
        "goal": {"ratio_to_floor_max": 3.0, "peak_rss_mb_max": 500},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "baseline": args.baseline,
        "note": "floor = read lines + orjson.loads in one process; analyze = the CLI as users run it (default "
                "--jobs: one worker process per CPU for inputs over 64 MB, so the wall ratio is what a user waits "
                "and the CPU ratio counts every process). Both on the same file in the same run. "
                "cpu_* = user+system seconds of the process (robust to other load on a shared machine); "
                "peak RSS = the process's own VmHWM",
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
