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

Reported for each: CPU and wall seconds and peak tree RSS (bench/_measure.py: --trials runs, median, min,
max), the units of each reading, the units checkpointed and the first unit that really holds a repeat. The
three analysis.json must be identical (apart from generated_at). Results: bench/results/resume.json.
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
from _measure import NOTE, run_trials

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "resume.json"
EXPORT = "openai_chat_again.jsonl"  # sorts after every log: read last

# `advise analyze ARGS` as the console script runs it, with the variant set and the readings recorded
# (the units each reading reads, the checkpoints' units, the ledger's first repeat) into $RESUME_STATS.
ANALYZE = """
import atexit, json, os, runpy, sys
from advisor import analysis, scan
variant, stats = os.environ["RESUME_VARIANT"], {"reads": [], "taken": [], "first_repeat": None}
if variant == "everything":
    analysis.RESUME_SECOND_READING = False
elif variant == "first_flag":
    scan.Checkpoint.SURE = 1.0
run_units, take, select = analysis.run_units, scan.Checkpoint._take, scan.Checkpoint.select
def counted(units, *a, **kw):
    stats["reads"].append(len(units))
    return run_units(units, *a, **kw)
def taken(self, proto, unit, offset):
    stats["taken"].append(unit)
    return take(self, proto, unit, offset)
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
    sys.path.insert(0, str(ROOT))
    from bench.gen_logs import export_again

    again = export_again(logs, EXPORT)
    rows, texts = {}, {}
    try:
        for variant in VARIANTS:
            out, stats = workdir / f"resume.{variant}.analysis.json", workdir / f"resume.{variant}.stats.json"
            os.environ.update(RESUME_VARIANT=variant, RESUME_STATS=str(stats))
            cmd = [sys.executable, "-c", ANALYZE, "analyze", str(logs), "-o", str(out), "--force", "-q",
                   "--allow-unpriced"]
            summary, _ = run_trials(cmd, trials)
            seen = json.loads(stats.read_text())
            dq = json.loads(out.read_text())["data_quality"]
            first = seen["reads"][0]
            second = seen["reads"][1] if len(seen["reads"]) > 1 else 0
            rows[variant] = {**summary, "units_first_reading": first, "units_second_reading": second,
                             "units_reread_for_nothing": (second - (first - seen["first_repeat"])
                                                          if seen["first_repeat"] is not None and second else None),
                             "checkpoint_units": seen["taken"], "first_repeat_unit": seen["first_repeat"],
                             "records": dq["records"], "repeated_records_left_out": dq["duplicates"]["records"]}
            texts[variant] = _analysis_text(out)
            out.unlink()
            stats.unlink()
    finally:
        again.unlink(missing_ok=True)
        for key in ("RESUME_VARIANT", "RESUME_STATS"):
            os.environ.pop(key, None)
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
        print(f"{variant:<11} cpu {row['cpu_s']['median']:7.1f} s  wall {row['wall_s']['median']:6.1f} s  "
              f"second reading {row['units_second_reading']:4d} of {row['units_first_reading']} units  "
              f"checkpoints {row['checkpoint_units']}  first repeat {row['first_repeat_unit']}")
    print("identical analysis.json:", measured["identical_analysis_json"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
