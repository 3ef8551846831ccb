"""`analysis.json`: the contract between `advise analyze` and every later step, and the one pass that builds it.

`build_analysis` streams every record once through small accumulators (each `add(record)` then
`result()`), so memory stays flat however big the logs are. Later parts plug in the same way:
see `Collector` and the `collectors=` / `post_process=` hooks (failures, decision, ROI).
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advisor import __version__
from advisor.decision.assumptions import AssumptionRow
from advisor.decision.decide import RecommendationRecord, StrategyResult
from advisor.failures.result import FailureAnalysis
from advisor.ingest.duplicates import Duplicates, RepeatFilter
from advisor.kernel.config import AdviseConfig, find_config, load_config
from advisor.kernel.errors import AdviseError
from advisor.kernel.record import Record
from advisor.metrics import (
    CostSummary,
    DayAggregate,
    PromptFamily,
    Reliability,
    TokenMix,
    VolumeMetrics,
)
from advisor.metrics.cost import ModelCost
from advisor.metrics.window import OutOfWindow, day_start, hard_bounds, isolated_bounds
from advisor.scan import (
    Checkpoint,
    Pass,
    PassSettings,
    ProgressFn,
    WorkerPool,
    choose_jobs,
    restarted,
    run_units,
    trim_heap,
)

RESUME_SECOND_READING = True  # repeated ids: read again only from a checkpoint before the first repeat (scan.Checkpoint)
SCHEMA_VERSION = 2  # 2: strategies/recommendation/assumptions validated against advisor.decision.decide's models


class InputFile(BaseModel):
    path: str
    format: str | None
    sha256: str | None
    bytes: int | None = None
    lines: int
    records: int = Field(description="records parsed from the file (before the --since/--until filter)")
    skipped: dict[str, int] = Field(default_factory=dict, description="reason → malformed lines skipped")
    assumed_time: int = Field(0, description="records without a timestamp dated by --assume-time or the file's "
                                             "modification time")


class Window(BaseModel):
    first: datetime | None = Field(description="earliest record analysed (UTC)")
    last: datetime | None
    days: int = Field(description="calendar days from first to last, inclusive")
    since: datetime | None = Field(description="--since filter, if any")
    until: datetime | None = Field(description="--until filter (exclusive), if any")


class PriceInfo(BaseModel):
    source: str = Field(description="price table used (name and date)")
    user_file: str | None
    dates: list[str] = Field(default_factory=list, description="dates of the price entries used")


class Sampling(BaseModel):
    sample_rate: float = Field(description="share of real traffic the logs hold ([traffic] sample_rate)")
    scale: float = Field(description="1 / sample_rate: factor applied to volumes and money")
    label: str | None = Field(description="e.g. 'scaled from a 10% sample'; None when not sampled")


class Tokenizer(BaseModel):
    exact: bool = Field(description="advise counts this model's tokens with its own tokenizer")
    relative_error: float = Field(description="± relative error of offline counts for this model")


class ModelSummary(BaseModel):
    tokens: TokenMix
    cost: ModelCost
    reliability: Reliability
    tokenizer: Tokenizer


class AssumedTime(BaseModel):
    records: int = Field(0, description="records that carried no timestamp and were given an assumed one")
    source: str | None = Field(None, description="'--assume-time <ISO>' or 'file modification time'")
    note: str | None = None


class DataQuality(BaseModel):
    records: int = Field(description="records analysed")
    reported: int = Field(description="records with provider-reported token counts")
    estimated: int = Field(description="records whose tokens advise estimated offline")
    estimated_share: float
    unpriced_models: list[str]
    skipped_lines: dict[str, int] = Field(description="reason → malformed lines skipped")
    filtered_out: int = Field(description="records outside --since/--until")
    overflow_family_requests: int = Field(description="requests in prompt families beyond the tracked maximum")
    out_of_window: OutOfWindow = Field(default_factory=OutOfWindow,
                                       description="records excluded for implausible timestamps "
                                                   "(advisor.metrics.window)")
    duplicates: Duplicates = Field(default_factory=Duplicates,
                                   description="repeated input left out (advisor.ingest.duplicates)")
    not_read: list[tuple[str, str]] = Field(default_factory=list,
                                            description="(path, why) found in a directory and not read")
    assumed_time: AssumedTime = Field(default_factory=lambda: AssumedTime(),
                                      description="records whose time advise assumed (they carried none)")
    notes: list[str] = Field(default_factory=list,
                             description="what reading the input left out or assumed, one sentence each")


class NoRecommendation(BaseModel):
    """The recommendation slot when the strategies could not be costed (e.g. an unpriced model)."""

    winner: None = None
    headline: str


class AssumptionTable(BaseModel):
    """The `assumptions` section: one row per assumption the decision used."""

    rows: list[AssumptionRow] = Field(default_factory=list)


class Analysis(BaseModel):
    """Everything `advise analyze` measured. Money is in `cost.currency`; scaled fields say so.

    Every section is typed; a dict assigned to a section (tests, older callers) is validated into its model."""

    model_config = ConfigDict(validate_assignment=True)

    schema_version: int = SCHEMA_VERSION
    advise_version: str = __version__
    generated_at: datetime
    inputs: list[InputFile]
    window: Window
    sampling: Sampling
    prices: PriceInfo
    volume: VolumeMetrics
    cost: CostSummary
    models: dict[str, ModelSummary]
    prompt_families: list[PromptFamily]
    daily: list[DayAggregate]
    data_quality: DataQuality
    # Filled by later stages (the lead plugs them in through build_analysis' hooks):
    failures: FailureAnalysis | None = Field(default=None, description="advisor.failures result")
    strategies: list[StrategyResult] = Field(default_factory=list, description="costed options")
    recommendation: RecommendationRecord | NoRecommendation | None = Field(
        default=None, description="the winning option and why; only a headline when nothing could be costed")
    assumptions: AssumptionTable | None = Field(default=None, description="every assumption used, with its source")


class Collector(Protocol):
    """A streaming stage: sees every record once, then returns a pydantic model or dict."""

    def add(self, record: Record) -> None: ...
    def finish(self) -> Any: ...


def parse_when(value: str | date | datetime | None, *, end: bool = False) -> datetime | None:
    """An ISO date or datetime → aware UTC datetime. A bare date used as --until covers the whole day."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        d = value
    else:
        text = value.strip()
        try:
            if len(text) == 10:
                d = date.fromisoformat(text)
            else:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
                return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
        except ValueError as exc:
            raise AdviseError(f"not an ISO date or datetime: {value!r}", field="--until" if end else "--since",
                              hint="use e.g. 2025-03-01 or 2025-03-01T12:00:00Z") from exc
    dt = datetime.combine(d, time(0), tzinfo=UTC)
    return dt + timedelta(days=1) if end else dt


def _price_book(prices: Any) -> Any:
    if prices is not None and hasattr(prices, "lookup"):
        return prices
    from advisor.pricing import PriceBook

    return PriceBook(prices)


def _config(config: AdviseConfig | str | Path | None, paths: list[Path]) -> AdviseConfig:
    if isinstance(config, AdviseConfig):
        return config
    return load_config(config if config is not None else find_config(paths))


def _tokenizer_info(model: str) -> Tokenizer:
    from advisor.tokens import is_exact_tokenizer, relative_error

    exact = bool(is_exact_tokenizer(model))
    return Tokenizer(exact=exact, relative_error=0.0 if exact else float(relative_error(model)))


def _file_stats(report: Any) -> list[InputFile]:
    from advisor.kernel.io import sha256_file

    out = []
    for fs in getattr(report, "files", []) or []:
        path = str(fs.path)
        sha = getattr(fs, "sha256", None) or (sha256_file(path) if os.path.isfile(path) else None)
        out.append(InputFile(path=path, format=getattr(fs, "format", None), sha256=sha,
                             bytes=os.path.getsize(path) if os.path.isfile(path) else None,
                             lines=int(getattr(fs, "lines", 0) or 0), records=int(getattr(fs, "records", 0) or 0),
                             skipped=dict(getattr(fs, "skipped", {}) or {}),
                             assumed_time=int(getattr(fs, "assumed_time", 0) or 0)))
    return out


class _Replayable:
    """An iterable of Records that can be read twice (rule 3 of the window re-reads), kept as it is read."""

    def __init__(self, records: Iterable[Record]) -> None:
        self._source: Iterable[Record] | None = records
        self._seen: list[Record] = []

    def __iter__(self) -> Iterator[Record]:
        if self._source is None:
            yield from self._seen
            return
        for r in self._source:
            self._seen.append(r)
            yield r
        self._source = None


def _isolated_window(measured: Pass, settings: PassSettings) -> tuple[datetime, datetime] | None:
    """The narrower [lo, hi) of the bulk of the data (window rule 3), None when it excludes nothing.

    A side set by --since/--until stays as the user set it."""
    got = isolated_bounds({d: day.requests for d, day in measured.days._days.items()})
    if got is None:
        return None
    lo = day_start(got[0]) if settings.start is None else settings.lo
    hi = day_start(got[1]) + timedelta(days=1) if settings.stop is None else settings.hi
    if (lo, hi) == (settings.lo, settings.hi) or lo is None or hi is None:
        return None
    return max(lo, settings.lo) if settings.lo else lo, min(hi, settings.hi) if settings.hi else hi


def _engine(name: str, address: str | None, jobs: int | None) -> Any:
    """None for the embedded process pool, else the engine that runs the units elsewhere."""
    if name == "local":
        if address is not None:
            raise AdviseError("--address needs --engine dask", field="--address", hint="add --engine dask")
        return None
    if name == "dask":
        from advisor.cluster import DaskEngine

        return DaskEngine(address, workers=jobs)
    raise AdviseError(f"unknown engine {name!r}", field="--engine", hint="one of: local, dask")


def build_analysis(
    paths: Iterable[str | Path],
    *,
    format: str | None = None,
    prices: Any = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    strict: bool = False,
    allow_unpriced: bool = False,
    config: AdviseConfig | str | Path | None = None,
    on_error: Callable[[Exception], None] | None = None,
    progress: ProgressFn | None = None,
    collectors: Mapping[str, Collector] | None = None,
    post_process: Callable[[Analysis], Analysis] | None = None,
    records: Iterable[Record] | None = None,
    jobs: int | None = None,
    chunk_bytes: int | None = None,
    assume_time: str | date | datetime | None = None,
    engine: str = "local",
    address: str | None = None,
) -> Analysis:
    """Read the logs once and measure volume, tokens, cost, latency, errors and static prompt structure.

    `prices` is a user price file (or a ready PriceBook); `config` an advise.toml path or object
    (default: one found beside the logs). `collectors` are extra streaming stages whose `finish()`
    results land in the Analysis slot of the same name (e.g. {"failures": FailureCollector(cfg)});
    `post_process` runs last (the decision engine fills strategies/recommendation there).
    `records` replaces reading `paths` (tests, and callers that already hold Records).
    `jobs` processes read the input (default: one per CPU when it is big, see advisor.scan); the result does
    not depend on it. `chunk_bytes` is the size big JSONL files are split at (advisor.ingest.CHUNK_BYTES).
    `assume_time` dates records that carry no time (else: the file's modification time where a format's
    exports never carry one, such as a bare Anthropic Messages response); they are labelled as assumed.
    `engine="dask"` runs the same units on the Dask cluster at `address` (a local one of `jobs` processes
    without it; see advisor.cluster), with the same result.
    """
    from advisor.ingest.common import ASSUMED

    try:
        assumed_at = parse_when(assume_time)
    except AdviseError as exc:
        exc.field = "--assume-time"
        raise
    previous, ASSUMED.value = ASSUMED.value, assumed_at
    try:
        return _build_analysis(paths, format=format, prices=prices, since=since, until=until, strict=strict,
                               allow_unpriced=allow_unpriced, config=config, on_error=on_error, progress=progress,
                               collectors=collectors, post_process=post_process, records=records, jobs=jobs,
                               chunk_bytes=chunk_bytes, assumed_at=assumed_at, engine=engine, address=address)
    finally:
        ASSUMED.value = previous


def _build_analysis(paths: Iterable[str | Path], *, format: str | None, prices: Any,  # noqa: A002
                    since: str | date | datetime | None, until: str | date | datetime | None, strict: bool,
                    allow_unpriced: bool, config: AdviseConfig | str | Path | None,
                    on_error: Callable[[Exception], None] | None, progress: ProgressFn | None,
                    collectors: Mapping[str, Collector] | None, post_process: Callable[[Analysis], Analysis] | None,
                    records: Iterable[Record] | None, jobs: int | None, chunk_bytes: int | None,
                    assumed_at: datetime | None, engine: str = "local", address: str | None = None) -> Analysis:
    path_list = [Path(p) for p in paths]
    cfg = _config(config, path_list)
    sample_rate = cfg.traffic.sample_rate
    book = _price_book(prices)
    start, stop = parse_when(since), parse_when(until, end=True)
    if start and stop and stop <= start:
        raise AdviseError("--until is before --since", hint="swap the dates")
    extra = dict(collectors or {})
    floor, ceiling = hard_bounds(start, stop, datetime.now(UTC))
    settings = PassSettings(book=book, allow_unpriced=allow_unpriced, scale=1.0 / sample_rate,
                            sample_rate=sample_rate, start=start, stop=stop, lo=floor, hi=ceiling,
                            floor=floor, ceiling=ceiling)
    if records is not None and not isinstance(records, list | tuple):
        records = _Replayable(records)

    def measure(settings: PassSettings, extra: dict[str, Any], pool: WorkerPool,
                quiet: bool = False, hashed: Mapping[str, str | None] | None = None,
                checkpoint: Checkpoint | None = None, resume: tuple[Pass, int] | None = None) -> tuple[Pass, Any]:
        """One pass over the logs; `hashed`: the split files' sha256 from an earlier pass (not computed again);
        `checkpoint` watches the first reading for repeated ids; `resume` (a pass, a unit index): read only the
        units from that index on, merging them into that pass (see advisor.scan.Checkpoint)."""
        measured = Pass(settings, extra) if resume is None else resume[0]
        if records is not None:
            measured.consume(records)
            return measured, None
        from advisor.ingest import CHUNK_BYTES, IngestReport, plan_units

        for p in path_list:
            if not p.exists():
                raise AdviseError(f"no such file or directory: {p}", file=str(p), hint="check the path")
        report = IngestReport()
        splittable = Pass.can_spawn(extra)  # a collector that cannot be split gets one plain pass
        units = plan_units(path_list, format=format, report=report,
                           chunk_bytes=(chunk_bytes or CHUNK_BYTES) if splittable else None)
        n_jobs = choose_jobs(jobs, units) if splittable else 1  # of every unit: the first reading's workers
        if resume is not None:
            units = [u for u in units if u.index >= resume[1]]
        split = {u.files[0] for u in units if not u.whole}
        to_hash = [f for f in report.files if f.path in split]
        if hashed is not None:
            for f in to_hash:
                f.sha256 = hashed.get(f.path)
            to_hash = []
        run_units(units, measured, report, jobs=n_jobs, strict=strict, on_error=None if quiet else on_error,
                  progress=progress, hash_files=to_hash, engine=other_engine if splittable else None, pool=pool,
                  checkpoint=checkpoint if splittable else None)
        return measured, report

    other_engine = _engine(engine, address, jobs) if records is None else None
    # the worker processes (or the Dask client) of both passes, gone before the results are built
    with WorkerPool() as pool, (other_engine if other_engine is not None else nullcontext()), \
            Checkpoint() as checkpoint:
        measured, report = measure(settings, extra, pool, checkpoint=checkpoint if RESUME_SECOND_READING else None)
        narrowed = _isolated_window(measured, settings)
        repeats, n_repeats = measured.ids.repeated()
        measured.ids.clear()  # 8 bytes per record, not needed past this point
        kept_all = ""
        if (narrowed is not None or repeats) and not Pass.can_spawn(extra):  # a collector that cannot start over
            kept_all = (f"{n_repeats:,} records repeat an earlier id and " if repeats else "") + \
                ("isolated timestamps far from the bulk" if narrowed else "") + \
                " were kept: a collector of this analysis cannot read the logs a second time"
        elif repeats and narrowed is None and (start_at := checkpoint.select(repeats.first_repeat)) is not None:
            # Read again from the latest checkpoint at or before the first unit holding a repeated id, keeping
            # only the first occurrence of each (advisor.ingest.duplicates), onto the first reading's merge of the
            # units before it (Checkpoint): those units hold no repeat, so a second reading would measure them the
            # same. The first reading's ingest report stands (the same lines are read); malformed lines were
            # reported already.
            hashed = {f.path: f.sha256 for f in report.files}
            del measured
            gc.collect()
            trim_heap()
            resumed = checkpoint.restore()
            resumed.settings, resumed.repeats = replace(settings, repeats=repeats), RepeatFilter(repeats)
            extra = resumed.extra  # the checkpoint's collectors: they go on from there
            measured, _ = measure(resumed.settings, extra, pool, quiet=True, hashed=hashed,
                                  resume=(resumed, start_at))
            measured.ids.clear()
        elif narrowed is not None or repeats:
            # Read again, keeping only the bulk of the data (rule 3 of advisor.metrics.window) and the first
            # occurrence of each repeated id (advisor.ingest.duplicates). Malformed lines were reported already.
            lo, hi = narrowed or (settings.lo, settings.hi)
            extra = restarted(extra)
            # The split files' hashes are kept (no second hashing); the rest of the first pass goes before the
            # second starts. Its workers are those of the first pass (WorkerPool), forked before this one grew.
            hashed = {f.path: f.sha256 for f in report.files} if report is not None else None
            del measured, report
            gc.collect()
            trim_heap()
            measured, report = measure(replace(settings, lo=lo, hi=hi, repeats=repeats or None), extra, pool,
                                       quiet=True, hashed=hashed)
            measured.ids.clear()
    out_of_window = measured.window.result((measured.settings.lo, measured.settings.hi))
    dropped = measured.repeats
    duplicates = Duplicates(identical_files=list(getattr(report, "duplicate_files", [])),
                            records=sum(dropped.counts.values()) if dropped else 0,
                            ids=len(dropped.repeated) if dropped else 0,
                            by_file=dict(dropped.counts) if dropped else {},
                            examples=list(dropped.examples) if dropped else [])
    volume, mix, money, ops, days, static = (measured.volume, measured.mix, measured.money, measured.ops,
                                             measured.days, measured.static)
    filtered, reported, estimated = measured.filtered, measured.reported, measured.estimated

    inputs = _file_stats(report) if report is not None else []
    n_assumed = sum(f.assumed_time for f in inputs)
    assumed = AssumedTime(records=n_assumed)
    if n_assumed:
        assumed.source = f"--assume-time {assumed_at.isoformat()}" if assumed_at else "file modification time"
        assumed.note = (f"{n_assumed:,} records carry no timestamp (e.g. bare Anthropic Messages responses); "
                        f"their time is assumed ({assumed.source}), so per-day volume and the window are not "
                        "measured for them")
    n = reported + estimated
    if n == 0:
        where = ", ".join(str(p) for p in path_list) or "input"
        skipped = sum(sum(f.skipped.values()) for f in inputs)
        why = (f"all {filtered} records are outside --since/--until" if filtered
               else f"all {out_of_window.records} records have implausible timestamps (e.g. "
                    f"{out_of_window.examples[0]})" if out_of_window.records
               else f"{skipped} malformed lines were skipped" if skipped else "the input is empty")
        raise AdviseError(f"no records to analyse in {where}: {why}",
                          hint="check the path, the --format and the date filters")

    vol = volume.result()
    cost_summary = money.result(window_days=vol.days)
    static_result = static.result(price_of=money.latest_price)
    tokens = mix.result()
    reliability = ops.result()
    models = {m: ModelSummary(tokens=tokens[m], cost=cost_summary.models[m], reliability=reliability[m],
                              tokenizer=_tokenizer_info(m)) for m in tokens}
    skipped_total: dict[str, int] = {}
    for f in inputs:
        for reason, k in f.skipped.items():
            skipped_total[reason] = skipped_total.get(reason, 0) + k
    price_dates = sorted({c.price_date for c in cost_summary.models.values() if c.price_date})
    describe = book.describe() if hasattr(book, "describe") else type(book).__name__
    user_file = str(prices) if isinstance(prices, str | Path) else getattr(book, "user_file", None)

    analysis = Analysis(
        generated_at=datetime.now(UTC),
        inputs=inputs,
        window=Window(first=vol.first, last=vol.last, days=vol.days, since=start, until=stop),
        sampling=Sampling(sample_rate=sample_rate, scale=settings.scale,
                          label=None if sample_rate == 1 else f"scaled from a {sample_rate * 100:g}% sample"),
        prices=PriceInfo(source=describe, user_file=str(user_file) if user_file else None, dates=price_dates),
        volume=vol,
        cost=cost_summary,
        models=models,
        prompt_families=static_result.families,
        daily=days.result(static_result.static_tokens_per_day),
        data_quality=DataQuality(records=n, reported=reported, estimated=estimated, estimated_share=estimated / n,
                                 unpriced_models=cost_summary.unpriced_models, skipped_lines=skipped_total,
                                 filtered_out=filtered, overflow_family_requests=static_result.overflow_requests,
                                 out_of_window=out_of_window, duplicates=duplicates,
                                 not_read=list(getattr(report, "ignored", [])), assumed_time=assumed,
                                 notes=list(getattr(report, "notes", [])) + ([kept_all] if kept_all else [])),
    )
    # hook: results of extra collectors go into the slot of the same name (e.g. "failures")
    for name, c in extra.items():
        result = c.finish()
        if name not in Analysis.model_fields:
            raise ValueError(f"no Analysis slot named {name!r} for a collector")
        setattr(analysis, name, result)
    # hook: the decision engine (strategies, recommendation, assumptions) runs on the finished analysis
    if post_process is not None:
        analysis = post_process(analysis)
    return analysis


def analysis_json(analysis: Analysis) -> str:
    return analysis.model_dump_json(indent=2) + "\n"


def read_analysis_json(path: str | Path) -> Any:
    """The parsed JSON of an analysis.json path; a missing or unreadable file is a clear error."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AdviseError(f"no such file: {p}", file=str(p), hint="run `advise analyze LOGS -o analysis.json`") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AdviseError(f"not a readable JSON file: {exc}", file=str(p),
                          hint="pass the analysis.json written by `advise analyze`") from exc


def load_analysis(path: str | Path) -> Analysis:
    """Read analysis.json back; a file from another schema version is refused with a clear hint."""
    p = Path(path)
    raw = read_analysis_json(p)
    if not isinstance(raw, dict) or "schema_version" not in raw:
        raise AdviseError("not an analysis.json (no schema_version)", file=str(p), field="schema_version",
                          hint="pass the analysis.json written by `advise analyze`")
    if raw["schema_version"] != SCHEMA_VERSION:
        raise AdviseError(f"analysis.json has schema_version {raw['schema_version']!r}; this advise "
                          f"({__version__}) reads version {SCHEMA_VERSION}", file=str(p), field="schema_version",
                          hint="re-run `advise analyze` on the logs with this version")
    try:
        return Analysis.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise AdviseError(f"invalid analysis.json: {err['msg']}", file=str(p),
                          field=".".join(str(x) for x in err["loc"]),
                          hint="re-run `advise analyze`; do not edit the file by hand") from exc
