"""Where `advise analyze` spends its CPU, stage by stage, in µs per record (issue 20).

    python bench/bench_stages.py                       # 100k varied records (bench/gen_logs.py), 5 trials
    python bench/bench_stages.py --records 20000 --trials 3

bench_scale.py measures the whole command against the parse floor; this script splits the same work so the
README can say where the time goes. Each trial, in this one process, on the same files:

* floor: every line of every log file read and `orjson.loads`'d (what bench_scale.py calls the floor);
* the stream's stages: the records are read and parsed (`read_unit`: reading, JSON, the format's parser and
  the pydantic Record) in batches of 64, and each later stage of `Pass.consume` is timed over each batch on
  its own: usage estimates (`fill_usage`), the id hash, volume, token mix, cost, latency/finish reasons, per-day
  sums, static-prompt tracking and the failure checks;
* stream: the real `Pass.consume(read_unit(...))`, all stages interleaved per record as `advise analyze` runs
  them (the sum of the stages should come close to it; batching changes cache behaviour a little);
* command: `advise analyze DIR --jobs 1` in a fresh process (getrusage of the child): stream + fixed costs
  (start-up, imports, the final clustering, the decision and writing the JSON). fixed = command − stream.

And the budget the issue's goal leaves (one process ≤3× the floor), from two more timings on the same files:

* decode only: every line decoded by its format's typed msgspec decoder (the fast path's structs), with no
  Record built: the least a per-record core in Python pays to see a line's fields;
* inputs' sha256: the digest of every input file that the analysis reports (provenance), per record;
* budget_left_us_per_record = 3 × floor − (read + parse + Record) − sha256: what the goal leaves for every
  later stage (volume, cost, static prompt, failure checks, ...) together while records are Python objects.

A warm-up stream runs first, untimed, so one-time loads (imports, the tokenizer, price tables) count in `fixed`,
not in a stage. CPU seconds (process time) are reported, since the machine may be shared; median of the trials
with min and max.
Results go to bench/results/stages.json with the machine description.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from _machine import describe

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "stages.json"
BATCH = 64  # small: a batch stays in the CPU caches, as one record does in the real stream
STAGES = ("read + parse + Record", "fill_usage", "id hash", "volume", "token mix", "cost", "latency + finish",
          "per-day sums", "static prompt", "failure checks")


def _cpu() -> float:
    return time.process_time()


def floor(files: list[Path]) -> tuple[float, int]:
    import orjson

    n, t = 0, _cpu()
    for path in files:
        with open(path, "rb") as fh:
            for line in fh:
                if line.strip():
                    orjson.loads(line)
                    n += 1
    return _cpu() - t, n


def decode_only(files: list[Path]) -> float:
    """CPU seconds to decode every line into its format's typed structs (no Record built, no checks)."""
    import msgspec

    from advisor.ingest import anthropic, canonical, openai_chat

    structs = {"openai_chat.jsonl": openai_chat._Line, "anthropic.jsonl": anthropic._Line,
               "canonical.jsonl": canonical._Line}
    t = _cpu()
    for path in files:
        decode = msgspec.json.Decoder(structs[path.name]).decode
        with open(path, "rb") as fh:
            for line in fh:
                try:
                    decode(line)
                except msgspec.ValidationError:  # a line of another shape (the general path's): cost counted
                    pass
    return _cpu() - t


def inputs_sha256(files: list[Path]) -> float:
    """CPU seconds of the inputs' sha256, as the analysis computes it for its provenance."""
    from advisor.kernel.io import sha256_file

    t = _cpu()
    for path in files:
        sha256_file(path)
    return _cpu() - t


def _setup(logs: Path):  # noqa: ANN202 - (units, a fresh Pass factory)
    from advisor.analyze import find_labels, resolve_config
    from advisor.failures import make_collector
    from advisor.ingest import IngestReport, plan_units
    from advisor.pricing import PriceBook
    from advisor.scan import Pass, PassSettings

    cfg = resolve_config([logs], None)
    book = PriceBook(None)
    units = plan_units([logs], report=IngestReport())
    labels = find_labels([logs])

    def fresh() -> Pass:
        settings = PassSettings(book=book, allow_unpriced=False, scale=1.0 / cfg.traffic.sample_rate,
                                sample_rate=cfg.traffic.sample_rate, start=None, stop=None)
        return Pass(settings, {"failures": make_collector(cfg, labels=labels)})

    return units, fresh


def stages(logs: Path) -> tuple[dict[str, float], int]:
    """CPU seconds per stage over every record (each stage timed over batches of records on its own)."""
    from advisor.ingest import IngestReport, read_unit
    from advisor.ingest.duplicates import id_hash
    from advisor.scan import fewer_gc_passes
    from advisor.tokens import fill_usage

    units, fresh = _setup(logs)
    p = fresh()
    fc = p.extra["failures"]
    spent = dict.fromkeys(STAGES, 0.0)
    n = 0

    def timed(name: str, fn, batch) -> None:  # noqa: ANN001
        t = _cpu()
        for r in batch:
            fn(r)
        spent[name] += _cpu() - t

    with fewer_gc_passes():
        for unit in units:
            records = read_unit(unit, IngestReport())
            while True:
                t = _cpu()
                batch = []
                for r in records:
                    batch.append(r)
                    if len(batch) == BATCH:
                        break
                spent["read + parse + Record"] += _cpu() - t
                if not batch:
                    break
                n += len(batch)
                t = _cpu()
                batch = [fill_usage(r) if r.usage is None else r for r in batch]
                spent["fill_usage"] += _cpu() - t
                timed("id hash", lambda r: id_hash(r.id), batch)
                timed("volume", p.volume.add, batch)
                timed("token mix", p.mix.add, batch)
                timed("cost", p.money.add, batch)
                timed("latency + finish", p.ops.add, batch)
                timed("per-day sums", lambda r: p.days.add(r, 0.001), batch)
                timed("static prompt", p.static.add, batch)
                timed("failure checks", fc.add, batch)
    return spent, n


def stream(logs: Path) -> float:
    """CPU seconds of the real interleaved stream, as `advise analyze --jobs 1` runs it."""
    from advisor.ingest import IngestReport, read_unit

    units, fresh = _setup(logs)
    p = fresh()
    t = _cpu()
    for unit in units:
        p.start_unit(unit.index)
        p.consume(read_unit(unit, IngestReport()))
    return _cpu() - t


def command(logs: Path, out: Path) -> float:
    """CPU seconds (user + system) of `advise analyze DIR --jobs 1` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "advisor.cli", "analyze", str(logs), "--jobs", "1", "-q", "--json",
                    str(out), "--force"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "trials": len(values)}


def _budget(per: dict[str, list[float]]) -> dict[str, float | str]:
    """What the goal (one process ≤3× the floor) leaves for the stages after the Record, in µs per record."""
    med = {k: statistics.median(v) for k, v in per.items()}
    goal = 3 * med["floor"]
    return {"goal_us_per_record": round(goal, 2),
            "budget_left_us_per_record": round(goal - med["read + parse + Record"] - med["inputs' sha256"], 2),
            "stream_after_the_record_us_per_record": round(med["stream"] - med["read + parse + Record"], 2),
            "note": "budget_left = 3 × floor − (read + parse + Record) − inputs' sha256: what every later stage "
                    "(volume, cost, static prompt, failure checks, ...), the merges and the end of the run may "
                    "spend together at the goal; stream_after_the_record = stream − (read + parse + Record): what "
                    "the per-record stages spend today, before any fixed cost."}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/advise-stages"))
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--note", default="")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(ROOT / "bench"))
    from gen_logs import write_logs

    logs = args.workdir / f"logs-{args.records}"
    if not logs.is_dir():
        write_logs(logs, args.records, seed=args.seed)
    files = sorted(p for p in logs.glob("*.jsonl") if p.name != "labels.jsonl")
    machine = describe(("advise", "orjson", "pydantic"))
    per: dict[str, list[float]] = {k: [] for k in ("floor", *STAGES, "sum of stages", "stream", "command", "fixed",
                                                    "decode only", "inputs' sha256")}
    n = 0
    stream(logs)  # warm-up, untimed: imports, the tokenizer and price tables load once, not inside a stage
    for trial in range(args.trials):
        floor_s, lines = floor(files)
        spent, n = stages(logs)
        stream_s = stream(logs)
        command_s = command(logs, args.workdir / "analysis.json")
        decode_s, sha_s = decode_only(files), inputs_sha256(files)
        for name, s in spent.items():
            per[name].append(s / n * 1e6)
        per["floor"].append(floor_s / lines * 1e6)
        per["sum of stages"].append(sum(spent.values()) / n * 1e6)
        per["stream"].append(stream_s / n * 1e6)
        per["command"].append(command_s / n * 1e6)
        per["fixed"].append((command_s - stream_s) / n * 1e6)
        per["decode only"].append(decode_s / n * 1e6)
        per["inputs' sha256"].append(sha_s / n * 1e6)
        print(f"trial {trial + 1}/{args.trials}: floor {per['floor'][-1]:.1f}, stream {per['stream'][-1]:.1f}, "
              f"command {per['command'][-1]:.1f} µs/record", file=sys.stderr)
    result = {
        "benchmark": "advise analyze, CPU µs per record stage by stage (issue 20); see bench/bench_stages.py",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "records": n,
        "log_mb": round(sum(p.stat().st_size for p in files) / 1e6, 1),
        "note": args.note,
        "us_per_record": {k: _summary(v) for k, v in per.items()},
        "ratio_to_floor": {k: round(statistics.median(v) / statistics.median(per["floor"]), 2)
                           for k, v in per.items() if k != "floor"},
        "goal_budget": _budget(per),
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.results.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, args.results)
    for name, v in result["us_per_record"].items():
        print(f"{name:24s} {v['median']:8.2f} µs/record  ({v['min']:.2f}-{v['max']:.2f})")
    b = result["goal_budget"]
    print(f"goal 3× floor: {b['goal_us_per_record']:.2f} µs/record; left after the Record and the sha256: "
          f"{b['budget_left_us_per_record']:.2f}; the stages after the Record spend "
          f"{b['stream_after_the_record_us_per_record']:.2f} in the stream today")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
