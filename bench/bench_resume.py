"""Overlapping exports past the repeated-id filter's reach (issue 20): where the second reading starts, and what it costs.

    python bench/bench_resume.py --logs /tmp/p2m --trials 3      # an existing bench/gen_logs.py directory
    python bench/bench_resume.py --records 2000000 --trials 3    # or write one under --workdir

An export of the first quarter of the OpenAI chat log is put beside the logs, read after them (overlapping
exports). Each repeated id is counted once, which takes a second reading (advisor.scan.Checkpoint). The
Bloom filter that flags units which may repeat an id (advisor.ingest.duplicates.RepeatWatch, 8 MiB) starts
crying wolf past ~1.5M ids, so on big logs the first flagged unit is a false alarm. Three variants of the
same `advise analyze DIR` (default jobs), each in a fresh process, on the same files:

* everything: the second reading reads all the logs again (RESUME_SECOND_READING off);
* first_flag: the second reading starts at the first flagged unit, as before this version (Checkpoint.SURE = 1:
  every flag taken as a real repeat, one checkpoint);
* spaced: this version: spaced checkpoints while the flags are in doubt, the latest one before the ledger's
  first repeat kept.

Reported for each: CPU and wall seconds and peak tree RSS of the whole command (bench/_measure.py), and of
each reading on its own (its units, its wall seconds, the CPU seconds of the process and its workers while it
ran): the first readings do the same work in every variant, so the second readings are what to compare on a
machine whose speed drifts. Also the units checkpointed, each checkpoint's CPU seconds and file size, and the
first unit that really holds a repeat.
--trials rounds, each running every variant in turn; median, min, max. The three analysis.json must be
identical (apart from generated_at). Results: bench/results/resume.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from _machine import describe
from _measure import NOTE, stats, timed

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "resume.json"
EXPORT = "openai_chat_again.jsonl"  # sorts after every log: read last

# `advise analyze ARGS` as the console script runs it, with the variant set and the readings recorded into
# $RESUME_STATS: per reading, its units and its own wall and CPU seconds (this process and its live worker
# processes, which last through both readings: advisor.scan.WorkerPool); the checkpoints' units; the ledger's
# first repeat.
ANALYZE = """
import atexit, json, os, runpy, sys, time
import psutil
from advisor import analysis, scan
variant, stats = os.environ["RESUME_VARIANT"], {"readings": [], "taken": [], "checkpoints": [], "first_repeat": None}
if variant == "everything":
    analysis.RESUME_SECOND_READING = False
elif variant == "first_flag":
    scan.Checkpoint.SURE = 1.0
run_units, take, select = analysis.run_units, scan.Checkpoint._take, scan.Checkpoint.select
me = psutil.Process()
def cpu():
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return total
def counted(units, *a, **kw):
    c, t = cpu(), time.perf_counter()
    try:
        return run_units(units, *a, **kw)
    finally:
        stats["readings"].append({"units": len(units), "wall_s": time.perf_counter() - t, "cpu_s": cpu() - c})
def taken(self, proto, unit, offset):
    c = time.process_time()
    ok = take(self, proto, unit, offset)
    stats["taken"].append(unit)
    stats["checkpoints"].append({"unit": unit, "cpu_s": time.process_time() - c,
                                 "mb": os.path.getsize(self._taken[-1].path) / 1e6 if ok else None})
    return ok
def selected(self, first_repeat):
    stats["first_repeat"] = first_repeat
    return select(self, first_repeat)
analysis.run_units, scan.Checkpoint._take, scan.Checkpoint.select = counted, taken, selected
atexit.register(lambda: open(os.environ["RESUME_STATS"], "w").write(json.dumps(stats)))
sys.argv = ["advise"] + sys.argv[1:]
runpy.run_module("advisor.cli", run_name="__main__", alter_sys=True)
"""
VARIANTS = ("everything", "first_flag", "spaced")


def _analysis_text(path: Path) -> str:
    return "\n".join(x for x in path.read_text().splitlines() if '"generated_at"' not in x)


def run(logs: Path, workdir: Path, trials: int) -> dict:
    """Each trial runs every variant once, in turn, so that a machine that drifts during the run weighs on all."""
    sys.path.insert(0, str(ROOT))
    from bench.gen_logs import export_again

    again = export_again(logs, EXPORT)
    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    texts = {}
    try:
        for _ in range(trials):
            for variant in VARIANTS:
                out, seen = workdir / f"resume.{variant}.analysis.json", workdir / f"resume.{variant}.stats.json"
                os.environ.update(RESUME_VARIANT=variant, RESUME_STATS=str(seen))
                cmd = [sys.executable, "-c", ANALYZE, "analyze", str(logs), "-o", str(out), "--force", "-q",
                       "--allow-unpriced"]
                run = timed(cmd)
                run["seen"] = json.loads(seen.read_text())
                run["data_quality"] = json.loads(out.read_text())["data_quality"]
                runs[variant].append(run)
                texts[variant] = _analysis_text(out)
                out.unlink()
                seen.unlink()
    finally:
        again.unlink(missing_ok=True)
        for key in ("RESUME_VARIANT", "RESUME_STATS"):
            os.environ.pop(key, None)
    def reading(got: list[dict], i: int, key: str) -> dict:
        return stats([r["seen"]["readings"][i][key] for r in got])

    rows = {}
    for variant, got in runs.items():
        seen, dq = got[-1]["seen"], got[-1]["data_quality"]
        first, second = seen["readings"][0]["units"], (seen["readings"][1]["units"] if len(seen["readings"]) > 1
                                                        else 0)
        rows[variant] = {
            "wall_s": stats([r["wall"] for r in got]), "cpu_s": stats([r["cpu"] for r in got]),
            "peak_rss_tree_mb": stats([r["rss"] for r in got]), "peak_pss_tree_mb": stats([r["pss"] for r in got]),
            "first_reading": {"units": first, "wall_s": reading(got, 0, "wall_s"), "cpu_s": reading(got, 0, "cpu_s")},
            "second_reading": {"units": second, **({"wall_s": reading(got, 1, "wall_s"),
                                                      "cpu_s": reading(got, 1, "cpu_s")}
                                                   if second else {})},
            "units_reread_for_nothing": (second - (first - seen["first_repeat"])
                                         if seen["first_repeat"] is not None and second else None),
            "checkpoint_units": seen["taken"], "first_repeat_unit": seen["first_repeat"],
            "checkpoint_cpu_s": stats([c["cpu_s"] for r in got for c in r["seen"]["checkpoints"]])
            if seen["taken"] else None,
            "checkpoint_file_mb": stats([c["mb"] for r in got for c in r["seen"]["checkpoints"] if c["mb"]])
            if seen["taken"] else None,
            "records": dq["records"], "repeated_records_left_out": dq["duplicates"]["records"]}
    first_text = texts[VARIANTS[0]]
    return {**rows, "identical_analysis_json": all(t == first_text for t in texts.values())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logs", type=Path, help="an existing bench/gen_logs.py directory (left as it was found)")
    ap.add_argument("--records", type=int, default=2_000_000, help="without --logs: records to generate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/advise-resume"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--note", default="")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    made = None
    if args.logs is None:
        sys.path.insert(0, str(ROOT))
        from bench.gen_logs import write_logs

        made = args.logs = args.workdir / f"logs-{args.records}"
        shutil.rmtree(made, ignore_errors=True)
        write_logs(made, args.records, seed=args.seed)
    try:
        measured = run(args.logs, args.workdir, args.trials)
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
    log_mb = sum(p.stat().st_size for p in args.logs.glob("*.jsonl")) / 1e6 if made is None else None
    result = {"benchmark": "advise analyze: where the second reading starts on overlapping exports past the "
                           "repeated-id filter's reach (issue 20); see bench/bench_resume.py",
              "date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": describe(),
              "logs": str(args.logs) if made is None else f"bench/gen_logs.py --records {args.records}",
              "log_mb_before_export": round(log_mb, 1) if log_mb else None,
              "note": NOTE + "units_reread_for_nothing = units of the second reading before the first unit that "
                             "holds a repeat (a checkpoint there would have spared them). " + args.note,
              "runs": measured}
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=1) + "\n")
    for variant in VARIANTS:
        row = measured[variant]
        second = row["second_reading"]
        print(f"{variant:<11} cpu {row['cpu_s']['median']:7.1f} s  wall {row['wall_s']['median']:6.1f} s  "
              f"second reading: {second['units']:4d} of {row['first_reading']['units']} units, "
              f"{second['cpu_s']['median']:6.1f} s cpu, {second['wall_s']['median']:6.1f} s wall  "
              f"checkpoints {row['checkpoint_units']}  first repeat {row['first_repeat_unit']}")
    print("identical analysis.json:", measured["identical_analysis_json"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
