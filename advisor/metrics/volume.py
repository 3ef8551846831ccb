"""Request volume: per UTC day, mean per day over the observed window, weekly trend, peak hour."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, Field

from advisor.kernel.record import Record
from advisor.metrics.merging import add_counts


class VolumeMetrics(BaseModel):
    """How much traffic the logs show. Counts are scaled by `scale` (1/sample_rate) where noted."""

    requests: int = Field(description="records in the logs (not scaled)")
    requests_scaled: float = Field(description="requests × scale: the estimate for full traffic")
    scale: float = Field(description="1 / sample_rate; 1.0 when the logs hold all traffic")
    first: datetime | None
    last: datetime | None
    days: int = Field(description="calendar days in the observed window (UTC, inclusive)")
    mean_per_day: float | None = Field(description="requests/day over the window, scaled")
    per_day: dict[str, int] = Field(description="UTC date → requests (not scaled; zero days included)")
    trend_pct_per_week: float | None = Field(
        description="least-squares slope of daily counts, as % of the mean per week; None with < 3 days")
    peak_hour_utc: int | None = Field(description="hour of day (UTC) with the most requests")
    peak_hour_share: float | None = Field(description="share of requests in that hour of day")
    busiest_hour: str | None = Field(description="the single busiest clock hour (UTC, ISO)")
    busiest_hour_requests: float | None = Field(description="requests in that hour, scaled")
    by_hour_of_day: list[int] = Field(description="24 counts, hour 0..23 UTC (not scaled)")


_HOUR = timedelta(hours=1)


def trend_pct_per_week(counts: list[float]) -> float | None:
    """Slope of an ordinary least-squares line through daily counts, as % of the mean per 7 days."""
    n = len(counts)
    if n < 3:
        return None
    mean_y = sum(counts) / n
    if mean_y == 0:
        return None
    mean_x = (n - 1) / 2
    sxx = sum((i - mean_x) ** 2 for i in range(n))
    sxy = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(counts))
    slope = sxy / sxx
    return 100.0 * slope * 7 / mean_y


def day_range(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


class VolumeAccumulator:
    """Counts per day and per clock hour; memory grows with the window length, not the record count."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self.count = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self._per_hour: dict[datetime, int] = {}  # truncated to the hour, UTC
        self._hour: datetime | None = None  # the clock hour being counted (added to _per_hour when it changes)
        self._hour_end: datetime | None = None
        self._hour_count = 0

    def add(self, record: Record) -> None:
        ts = record.timestamp
        hour = self._hour
        if hour is not None and hour <= ts < self._hour_end and ts.tzinfo is UTC:
            self._hour_count += 1  # same clock hour as the previous record (logs are mostly in time order)
        else:
            ts = ts.astimezone(UTC)
            self._flush_hour()
            hour = self._hour = ts.replace(minute=0, second=0, microsecond=0)
            self._hour_end = hour + _HOUR
            self._hour_count = 1
        self.count += 1
        if self.first is None or ts < self.first:
            self.first = ts.astimezone(UTC)
        if self.last is None or ts > self.last:
            self.last = ts.astimezone(UTC)

    def merge(self, other: VolumeAccumulator) -> None:
        """Add the counts of another accumulator (e.g. of a later piece of the logs)."""
        self._flush_hour()
        other._flush_hour()
        self.count += other.count
        add_counts(self._per_hour, other._per_hour)
        if other.first is not None and (self.first is None or other.first < self.first):
            self.first = other.first
        if other.last is not None and (self.last is None or other.last > self.last):
            self.last = other.last
        self._hour = self._hour_end = None

    def _flush_hour(self) -> None:
        if self._hour is not None and self._hour_count:
            self._per_hour[self._hour] = self._per_hour.get(self._hour, 0) + self._hour_count
            self._hour_count = 0

    def per_day(self) -> dict[date, int]:
        self._flush_hour()
        out: dict[date, int] = {}
        if self.first is None or self.last is None:
            return out
        for d in day_range(self.first.date(), self.last.date()):
            out[d] = 0
        for hour, n in self._per_hour.items():
            out[hour.date()] += n
        return out

    def result(self) -> VolumeMetrics:
        self._flush_hour()
        per_day = self.per_day()
        by_hod = [0] * 24
        for hour, n in self._per_hour.items():
            by_hod[hour.hour] += n
        days = len(per_day)
        peak_hod = max(range(24), key=lambda h: by_hod[h]) if self.count else None
        busiest = max(self._per_hour.items(), key=lambda kv: kv[1]) if self._per_hour else None
        return VolumeMetrics(
            requests=self.count,
            requests_scaled=self.count * self.scale,
            scale=self.scale,
            first=self.first,
            last=self.last,
            days=days,
            mean_per_day=(self.count * self.scale / days) if days else None,
            per_day={d.isoformat(): n for d, n in per_day.items()},
            trend_pct_per_week=trend_pct_per_week(list(per_day.values())),
            peak_hour_utc=peak_hod,
            peak_hour_share=(by_hod[peak_hod] / self.count) if peak_hod is not None else None,
            busiest_hour=busiest[0].isoformat() if busiest else None,
            busiest_hour_requests=busiest[1] * self.scale if busiest else None,
            by_hour_of_day=by_hod,
        )
