"""Streaming failure analysis: `add(record)` per record, `finish()` once → FailureAnalysis.

Per record: decide pass/fail with precedence **label > feedback > checks** (the deciding
source is recorded), give each failure a primary signature (plus secondary ones), count per
signature and per day, and keep bounded examples and a bounded text sample for clustering.
State is O(signatures + days + examples + text sample), never O(records).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.failures import consistency as C
from advisor.failures.checks import Failure, check_record
from advisor.failures.cluster import DISTANCE_THRESHOLD, TextItem, TextReservoir, cluster_texts
from advisor.failures.config import FailureConfig, from_advise_config
from advisor.failures.labels import MAX_REPORTED_UNKNOWN, Label, LabelIndex
from advisor.failures.result import (
    THRESHOLDS,
    Clustering,
    ClusterRow,
    ConsistencyReport,
    DayRate,
    Example,
    FailureAnalysis,
    FamilyFailures,
    ProviderErrors,
    Shares,
    SignatureRow,
    Sources,
    TrendReport,
    UnknownLabels,
    VolatilityReport,
)
from advisor.failures.signatures import KNOWLEDGE, STRUCTURAL, bucket_of, normalise_detail
from advisor.failures.volatility import SIGNALS, volatility_signals
from advisor.kernel.memo import BoundedMemo
from advisor.kernel.record import Feedback, FinishReason, Record, replace

_ERROR = FinishReason.error  # an enum attribute lookup costs ~0.1 µs: once, not per record

MAX_EXAMPLES = 5
MAX_SIGNATURES = 10_000  # beyond this, new one-off signatures fold into "<source>:<category>:other"
MAX_LISTED_SIGNATURES = 50
EXCERPT_CHARS = 160
AUTOMATIC_CHECKS = ["provider-error", "content-filter", "refusal", "truncation", "empty-output", "no-answer",
                    "json-validity", "json-schema"]


def _short(text: str | None, n: int = EXCERPT_CHARS) -> str:
    t = " ".join((text or "").split())
    return t if len(t) <= n else t[: n - 1] + "…"


@dataclass
class _SigStats:
    category: str
    count: int = 0
    primary: int = 0
    days: set[str] = field(default_factory=set)
    primary_by_day: Counter[str] = field(default_factory=Counter)
    examples: list[Example] = field(default_factory=list)

    def merge(self, later: _SigStats) -> None:
        self.count += later.count
        self.primary += later.primary
        self.days |= later.days
        self.primary_by_day.update(later.primary_by_day)
        self.examples.extend(later.examples[:max(0, MAX_EXAMPLES - len(self.examples))])


def feedback_verdict(feedback: list[Feedback], min_score: float | None) -> Feedback | None:
    """The feedback that decides a record: any negative verdict wins over positives; scores need min_score."""
    if not feedback:
        return None
    decided = [f for f in feedback if f.ok is not None]
    if not decided and min_score is not None:
        decided = [replace(f, ok=f.score >= min_score) for f in feedback if f.score is not None]
    for f in decided:
        if f.ok is False:
            return f
    return decided[0] if decided else None


# Per-family failure counts are kept for the first this many prompt families seen, in every piece and in the
# merge: as many as the static-prompt table keeps (advisor.metrics.static_prompt.MAX_FAMILIES), so each listed
# family can have its row, and bounded, so the table does not grow with the number of pieces.
MAX_FAMILY_ROWS = 2000
KNOWN_PROMPTS = 4096  # (model, system prompt) → family row pairs `_family` remembers (bounded memory)
_UNSEEN: Any = object()
_NO_DAY = 10**9  # "no day seen yet" as a date ordinal


def _day(ordinal: int) -> str | None:
    from datetime import date

    return date.fromordinal(ordinal).isoformat() if 0 < ordinal < _NO_DAY else None


class FailureCollector:
    """Feed every analysed record to `add`; `finish` returns the `failures` section of analysis.json."""

    def __init__(self, config: FailureConfig | None = None, labels: LabelIndex | None = None, *,
                 text_capacity: int = 4000, seed: int = 0) -> None:
        self.config = config or FailureConfig()
        self.labels = labels
        self.label_hits: list[str] = []  # ids whose label this piece took (what a worker reports as matched)
        self.requests = 0
        self.failures = 0
        self.errors: Counter[str] = Counter()
        self.sigs: dict[str, _SigStats] = {}
        self.daily: dict[str, list[int]] = {}
        self.decided_by: Counter[str] = Counter()
        self.label_overrides = 0
        self.labelled = 0
        self.feedback_records = 0
        self.bucket_failures: Counter[str] = Counter()
        self.volatile_requests = 0
        self.volatile_failures = 0
        self.rag_failures = 0
        self.signal_counts: Counter[str] = Counter()
        self.texts = TextReservoir(capacity=text_capacity, seed=seed)
        self._days: dict[int, tuple[str, list[int]]] = {}  # date ordinal → (ISO day, its `daily` row): a memo
        # prompt family → [requests, structural, knowledge, other, first day, last day (date ordinals)]
        self.by_family: dict[str, list[int]] = {}
        self._rows = BoundedMemo(KNOWN_PROMPTS)  # (model, system) → by_family row (None: no row): a memo

    # -- streaming -------------------------------------------------------------------------
    def add(self, record: Record) -> None:
        label = self.labels.take(record.id) if self.labels is not None else None
        if label is not None:
            self.label_hits.append(record.id)
        if record.finish_reason == _ERROR or record.status == "error":
            self.errors[check_record(record, self.config)[0].signature] += 1
            return
        self.requests += 1
        fam = self._family(record)
        ts = record.timestamp
        ordinal = ts.toordinal()
        got = self._days.get(ordinal)
        if got is None:
            got = self._day_slot(ts)
        day, per_day = got
        if fam is not None:
            if ordinal < fam[4]:
                fam[4] = ordinal
            if ordinal > fam[5]:
                fam[5] = ordinal
        per_day[0] += 1
        signals = volatility_signals(record)
        if signals:
            self.volatile_requests += 1
            self.signal_counts.update(signals)
        checks = check_record(record, self.config)
        fb = feedback_verdict(record.feedback, self.config.min_score) if record.feedback else None
        if fb is not None:
            self.feedback_records += 1
        human: Label | Feedback | None
        if label is not None:
            self.labelled += 1
            human, source, failed = label, "label", not label.ok
            if label.ok and checks:
                self.label_overrides += 1
        elif fb is not None:
            human, source, failed = fb, "feedback", not fb.ok
        else:
            human, source, failed = None, "checks", bool(checks)
        if not failed:
            return
        self.failures += 1
        per_day[1] += 1
        self.decided_by[source] += 1
        primary, category = self._primary(human, checks)
        bucket = bucket_of(category)
        self.bucket_failures[bucket] += 1
        if fam is not None:
            fam[{"structural": 1, "knowledge": 2}.get(bucket, 3)] += 1
        if signals:
            self.volatile_failures += 1
        if bucket == "knowledge" or (signals and bucket != "structural"):
            self.rag_failures += 1
        note = getattr(human, "note", None) if human is not None else None

        def primary_excerpt() -> str:  # excerpts are made only for the few examples kept per signature
            if human is not None:
                return _short(note) if note else _short(record.output) or "(no output)"
            return _short(next((f.detail for f in checks if f.signature == primary), record.output))

        self._count(primary, category, day, record.id, primary_excerpt, is_primary=True)
        for f in checks:
            if f.signature != primary:
                self._count(f.signature, f.category, day, record.id, lambda f=f: _short(f.detail), is_primary=False)
        if human is not None:
            text = note or record.output or ""
            if text.strip():
                excerpt = _short(note) if note else "output: " + _short(record.output)
                self.texts.add(TextItem(record.id, text, excerpt, category))

    def _primary(self, human: Label | Feedback | None, checks: list[Failure]) -> tuple[str, str]:
        """Main signature: a check agreeing with the human category, else the human's own, else the first check."""
        if human is None:
            return checks[0].signature, checks[0].category
        cat = human.category if human.category in (*STRUCTURAL, *KNOWLEDGE, "refusal", "other") else None
        if checks:
            agree = [f for f in checks if f.category == cat] if cat else checks
            if agree:
                return agree[0].signature, agree[0].category
        prefix = "label" if isinstance(human, Label) else f"feedback:{normalise_detail(human.source, 3)}"
        sig = f"{prefix}:{cat or 'unspecified'}"
        if human.note:
            sig += ":" + normalise_detail(human.note)
        return sig, cat or "other"

    def _slot(self, sig: str, category: str) -> tuple[str, _SigStats | None]:
        """Where a signature is counted: itself, or its "<source>:<category>:other" fold once the table is full.
        The stats are None when that slot is new."""
        st = self.sigs.get(sig)
        if st is None and len(self.sigs) >= MAX_SIGNATURES:
            sig = sig.split(":")[0] + f":{category}:other"
            st = self.sigs.get(sig)
        return sig, st

    def _count(self, sig: str, category: str, day: str, rid: str, excerpt: Callable[[], str], *,
               is_primary: bool) -> None:
        sig, st = self._slot(sig, category)
        if st is None:
            st = self.sigs[sig] = _SigStats(category)
        st.count += 1
        st.primary += int(is_primary)
        st.days.add(day)
        if is_primary:
            st.primary_by_day[day] += 1
        if len(st.examples) < MAX_EXAMPLES:
            st.examples.append(Example(id=rid, excerpt=excerpt()))

    # -- pieces of the stream (other processes) --------------------------------------------
    def spawn(self) -> FailureCollector:
        """An empty collector with the same configuration and labels, for another piece of the logs."""
        return FailureCollector(self.config, self.labels, text_capacity=self.texts.capacity, seed=self.texts.seed)

    def restart(self) -> FailureCollector:
        """An empty collector for reading the logs again from the start: labels count as unmatched again."""
        if self.labels is not None:
            self.labels.clear_matches()
        return self.spawn()

    def __getstate__(self) -> dict[str, Any]:
        # what comes back from a worker: counts and samples, not the configuration or the labels file
        return {**self.__dict__, "config": None, "labels": None, "_days": {}, "_rows": BoundedMemo(KNOWN_PROMPTS)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def _day_slot(self, ts: Any) -> tuple[str, list[int]]:
        """The ISO day of a timestamp and its [requests, failures] row in `daily`, remembered per date ordinal
        (one isoformat per day, not per record)."""
        day = ts.date().isoformat()
        got = self._days[ts.toordinal()] = (day, self.daily.setdefault(day, [0, 0]))
        return got

    def _family(self, record: Record) -> list[int] | None:
        """Count the request in its prompt family (for per-family routing); None past MAX_FAMILY_ROWS.

        The row is remembered per (model, system prompt), so the family's SHA-1 is computed once per prompt, not
        per record: rows are never dropped and a family without one never gets one (the table only grows), so the
        memo stays right; it starts over past KNOWN_PROMPTS prompts or KNOWN_CHARS characters of them (bounded
        memory) and on merge."""
        key = (record.model, record.system)
        row = self._rows.get(key, _UNSEEN)
        if row is _UNSEEN:
            from advisor.metrics.static_prompt import family_key

            model, digest = family_key(record)
            name = f"{model}#{digest}"
            row = self.by_family.get(name)
            if row is None and len(self.by_family) < MAX_FAMILY_ROWS:
                row = self.by_family[name] = [0, 0, 0, 0, _NO_DAY, 0]
            self._rows.put(key, row, len(record.system or ""))
        if row is not None:
            row[0] += 1
        return row

    def merge(self, later: FailureCollector) -> None:
        """Add the counts and samples of a later piece of the logs, as if its records had come to `add`."""
        self._rows.clear()  # merged rows may be new: the memo of who has a row starts over
        if self.labels is not None and later.labels is not self.labels:  # a worker's piece came back pickled
            self.labels.mark_matched(later.label_hits)
        self.requests += later.requests
        self.failures += later.failures
        self.errors.update(later.errors)
        for day, (n, k) in later.daily.items():
            per_day = self.daily.setdefault(day, [0, 0])
            per_day[0] += n
            per_day[1] += k
        for name in ("decided_by", "bucket_failures", "signal_counts"):
            getattr(self, name).update(getattr(later, name))
        for fam, theirs in later.__dict__.get("by_family", {}).items():
            row = self.by_family.get(fam)
            if row is None:
                if len(self.by_family) >= MAX_FAMILY_ROWS:
                    continue  # past the cap, as in `_family`: the family gets no row
                row = self.by_family[fam] = [0, 0, 0, 0, _NO_DAY, 0]
            for i in range(4):
                row[i] += theirs[i]
            row[4], row[5] = min(row[4], theirs[4]), max(row[5], theirs[5])
        for name in ("label_overrides", "labelled", "feedback_records", "volatile_requests", "volatile_failures",
                     "rag_failures"):
            setattr(self, name, getattr(self, name) + getattr(later, name))
        for sig, theirs in later.sigs.items():
            sig, st = self._slot(sig, theirs.category)
            if st is None:
                self.sigs[sig] = theirs
            else:
                st.merge(theirs)
        self.texts.merge(later.texts)

    # -- result ----------------------------------------------------------------------------
    def finish(self) -> FailureAnalysis:
        n, f = self.requests, self.failures
        days_observed = len(self.daily)
        cfg = self.config
        conc = C.concentration(
            (C.SignatureCount(s, st.category, st.primary, len(st.days)) for s, st in self.sigs.items()),
            min_count=cfg.recurring_min_count, min_days=cfg.recurring_min_days, days_observed=days_observed)
        rows = []  # only the listed ones are built: past 1M records the table holds thousands of signatures
        ranked = sorted(self.sigs.items(), key=lambda kv: (-kv[1].primary, -kv[1].count, kv[0]))
        for sig, st in ranked[:MAX_LISTED_SIGNATURES]:
            rows.append(SignatureRow(
                signature=sig, category=st.category, bucket=bucket_of(st.category), count=st.count,
                primary=st.primary, share_of_requests=round(st.count / n, 4) if n else 0.0,
                share_of_failures=round(st.primary / f, 4) if f else 0.0, days_seen=len(st.days),
                recurring=C.is_recurring(st.primary, len(st.days), conc.min_count, conc.min_days),
                examples=st.examples, per_day=dict(sorted(st.primary_by_day.items()))))
        daily = [(d, v[0], v[1]) for d, v in sorted(self.daily.items())]
        trend = C.daily_trend(daily)
        total_calls = n + sum(self.errors.values())
        return FailureAnalysis(
            requests=n, failures=f, failure_rate=round(f / n, 4) if n else 0.0,
            failure_rate_range=C.wilson_interval(f, n),
            provider_errors=ProviderErrors(count=sum(self.errors.values()),
                                           share_of_all_calls=round(sum(self.errors.values()) / total_calls, 4)
                                           if total_calls else 0.0, by_kind=dict(self.errors.most_common())),
            sources=self._sources(),
            unknown_label_ids=self._unknown(),
            signatures=rows, more_signatures=max(0, len(ranked) - MAX_LISTED_SIGNATURES),
            clustering=self._clusters(n, f),
            consistency=ConsistencyReport(
                consistency=conc.consistency, recurrence=conc.recurrence, concentration=conc.concentration,
                verdict=conc.verdict, recurring_min_count=conc.min_count, recurring_min_days=conc.min_days,
                thresholds=THRESHOLDS,
                definition="share of failures whose main signature is structural (format/schema/style) and recurs "
                           f"on ≥{conc.min_count} records over ≥{conc.min_days} days; see advisor.failures.consistency"),
            shares=Shares(structural=conc.structural_share, knowledge=conc.knowledge_share, other=conc.other_share),
            trend=TrendReport(
                verdict=trend.verdict, slope_per_day=trend.slope_per_day, slope_p=trend.slope_p,
                relative_change=trend.relative_change, dispersion_index=trend.dispersion_index,
                dispersion_p=trend.dispersion_p, burst_days=trend.burst_days,
                method="weighted LS slope z-test (p<0.01, ≥25% change) → drifting; Pearson dispersion around the "
                       "line ≥2 with χ² p<0.001 → bursty; else stable",
                daily=[DayRate(day=d, requests=r, failures=k, rate=round(k / r, 4)) for d, r, k in daily]),
            volatility=VolatilityReport(
                volatile_requests=self.volatile_requests,
                volatile_request_share=round(self.volatile_requests / n, 4) if n else 0.0,
                volatile_failure_share=round(self.volatile_failures / f, 4) if f else 0.0,
                knowledge_failure_share=conc.knowledge_share,
                rag_share=round(self.rag_failures / f, 4) if f else 0.0,
                signals={k: self.signal_counts.get(k, 0) for k in SIGNALS},
                method="volatile = last user turn is a question naming a price/fee, date, 'as of'/'still', "
                       "'latest'/'current', or a policy/plan/hours"),
            by_family={name: FamilyFailures(requests=r, failures=s + k + o, structural=s, knowledge=k, other=o,
                                            first_day=_day(first), last_day=_day(last))
                       for name, (r, s, k, o, first, last) in sorted(self.by_family.items(),
                                                                      key=lambda kv: -kv[1][0])},
        )

    def _sources(self) -> Sources:
        return Sources(
            labels_file=self.labels.path if self.labels is not None else None,
            labels=len(self.labels) if self.labels is not None else 0,
            labelled_records=self.labelled, feedback_records=self.feedback_records,
            checks=AUTOMATIC_CHECKS + [c.signature for c in self.config.checks],
            decided_by={k: self.decided_by.get(k, 0) for k in ("label", "feedback", "checks")},
            label_overrides=self.label_overrides,
            label_duplicates=self.labels.duplicates if self.labels is not None else 0,
            label_lines_skipped=len(self.labels.bad_lines) if self.labels is not None else 0)

    def _unknown(self) -> UnknownLabels:
        ids = self.labels.unknown_ids() if self.labels is not None else []
        return UnknownLabels(count=len(ids), examples=ids[:MAX_REPORTED_UNKNOWN],
                             note="label ids that matched no analysed record (typo, another export, or outside "
                                  "--since/--until); they were not used")

    def _clusters(self, n: int, f: int) -> Clustering:
        found = cluster_texts(self.texts.items, scale=self.texts.scale)
        rows = []
        for c in found:
            if len(c.members) < 2:
                continue
            size = round(c.size)
            rows.append(ClusterRow(id=len(rows) + 1, label=c.label, size=size,
                                   share_of_requests=round(size / n, 4) if n else 0.0,
                                   share_of_failures=round(size / f, 4) if f else 0.0, category=c.category,
                                   examples=[Example(id=m.record_id, excerpt=m.excerpt)
                                             for m in c.members[:MAX_EXAMPLES]]))
        return Clustering(method="TF-IDF (words + word pairs, numbers dropped) → agglomerative, average linkage, "
                                 f"cosine distance threshold {DISTANCE_THRESHOLD}; sample of ≤{self.texts.capacity} texts",
                          texts=self.texts.seen, sampled=len(self.texts.items),
                          one_offs=sum(len(c.members) for c in found if len(c.members) == 1),
                          clusters=rows)


def make_collector(advise_config: Any = None, *, labels: str | Path | None = None, schema: str | Path | None = None,
                   json_output: bool | None = None, strict: bool = True) -> FailureCollector:
    """What `advise analyze` calls: config from advise.toml + CLI --labels/--schema/--json-output."""
    if advise_config is None:
        from advisor.kernel.config import AdviseConfig

        advise_config = AdviseConfig()
    cfg = from_advise_config(advise_config, schema_override=schema, json_override=json_output)
    index = LabelIndex.load(labels, strict=strict) if labels is not None else None
    return FailureCollector(cfg, index)
