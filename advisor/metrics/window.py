"""Which records fall inside the analysed time window, and a report of those that do not.

One stray timestamp must never stretch the window: a record dated 1970 turns volume into
0/day (the window becomes 55 years long, and a daily series of 20,000 zero rows), one dated
2200 overflowed the cache simulation. Three rules, applied in this order:

1. ``--since`` / ``--until`` when given: the user's window, nothing else on that side
   (records outside are *filtered*, as asked).
2. Hard bounds otherwise: nothing before ``FLOOR`` (2020-01-01: no hosted LLM API that these
   formats log existed before OpenAI's API opened in June 2020) and nothing later than one day
   after the analysis started (clock skew between hosts is minutes, not days).
3. Isolated outliers: the days that hold records are grouped into clusters separated by at
   least ``GAP_DAYS`` days without any record. Clusters holding more than ``MIN_SHARE`` of the
   records (and always the biggest one) set the window; records in small clusters outside it
   (a test call from last year, a clock reset) are excluded. This needs the whole distribution,
   so it is decided after the pass from the per-day counts and, only when it excludes anything,
   the logs are read a second time with the narrowed window (the rare, broken case pays for it).

Rules 2 and 3 exclude records as *out of window*: counted, with the first few ``file:line``
examples, in analysis.json ``data_quality`` and on the terminal. Every decision depends only
on the records and the start time of the run, never on how the input was split across
processes, so the result is the same for every ``--jobs``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, Field

from advisor.kernel.record import Record

FLOOR = datetime(2020, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
GAP_DAYS = 30
MIN_SHARE = 0.05
MAX_EXAMPLES = 5


class OutOfWindow(BaseModel):
    """Records excluded because their timestamp is outside the plausible window (not --since/--until)."""

    records: int = Field(0, description="records excluded as out of window")
    before_floor: int = Field(0, description="dated before the floor (FLOOR or --since not given)")
    future: int = Field(0, description="dated more than a day after the analysis ran")
    isolated: int = Field(0, description="in small clusters of days far from the bulk of the data")
    bounds: tuple[datetime, datetime] | None = Field(
        None, description="[start, stop) the records were kept in; None when nothing was excluded")
    examples: list[str] = Field(default_factory=list, description="first excluded records as file:line timestamp")


class WindowGuard:
    """Counts excluded records per reason and keeps the first examples; mergeable in input order."""

    __slots__ = ("counts", "examples")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.examples: list[str] = []

    def exclude(self, record: Record, reason: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        if len(self.examples) < MAX_EXAMPLES:
            src = record.source
            self.examples.append(f"{src.file}:{src.line} {record.timestamp.isoformat()} ({reason})")

    def merge(self, later: WindowGuard) -> None:
        for reason, n in later.counts.items():
            self.counts[reason] = self.counts.get(reason, 0) + n
        self.examples.extend(later.examples[:max(0, MAX_EXAMPLES - len(self.examples))])

    def result(self, bounds: tuple[datetime, datetime] | None) -> OutOfWindow:
        n = sum(self.counts.values())
        return OutOfWindow(records=n, before_floor=self.counts.get("before floor", 0),
                           future=self.counts.get("future", 0), isolated=self.counts.get("isolated", 0),
                           bounds=bounds if n else None, examples=list(self.examples))


def hard_bounds(since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """[start, stop): the user's --since/--until, else the floor and one day past `now`, side by side."""
    return (since if since is not None else FLOOR, until if until is not None else now + FUTURE_SLACK)


def isolated_bounds(per_day: dict[date, int]) -> tuple[date, date] | None:
    """First and last day of the bulk of the data (rule 3), or None when no day lies outside it."""
    if not per_day:
        return None
    days = sorted(per_day)
    total = sum(per_day.values())
    clusters: list[list[date]] = [[days[0]]]
    for d in days[1:]:
        if (d - clusters[-1][-1]).days >= GAP_DAYS:
            clusters.append([d])
        else:
            clusters[-1].append(d)
    if len(clusters) == 1:
        return None
    sizes = [sum(per_day[d] for d in c) for c in clusters]
    biggest = max(range(len(clusters)), key=lambda i: (sizes[i], -i))
    kept = [i for i, n in enumerate(sizes) if n > MIN_SHARE * total or i == biggest]
    first, last = clusters[kept[0]][0], clusters[kept[-1]][-1]
    if first == days[0] and last == days[-1]:
        return None
    return first, last


def day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)
