"""Per-day aggregates: the unit the decision engine bootstraps over (days, not requests, are independent)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from advisor.kernel.record import Record
from advisor.metrics.merging import merge_keyed, plus
from advisor.metrics.volume import day_range


class DayAggregate(BaseModel):
    """One UTC day of logged traffic (not scaled by the sample rate)."""

    date: str
    requests: int
    input_tokens: int
    static_tokens: float = Field(description="static-prefix tokens sent that day (see prompt_families)")
    output_tokens: int
    cost: float | None = Field(description="list-price cost of the day's priced calls; None if none priced")
    errors: int


class _Day:
    __slots__ = ("requests", "input", "output", "cost", "errors")

    def __init__(self) -> None:
        self.requests = 0
        self.input = 0
        self.output = 0
        self.cost: float | None = None
        self.errors = 0

    def merge(self, later: _Day) -> None:
        self.requests += later.requests
        self.input += later.input
        self.output += later.output
        self.cost = plus(self.cost, later.cost)
        self.errors += later.errors


class DailyAccumulator:
    def __init__(self) -> None:
        self._days: dict[date, _Day] = {}

    def add(self, record: Record, cost: float | None) -> None:
        d = record.timestamp.date()
        day = self._days.get(d)
        if day is None:
            day = self._days[d] = _Day()
        day.requests += 1
        if record.usage is not None:
            day.input += record.usage.input_tokens
            day.output += record.usage.output_tokens
        if cost is not None:
            day.cost = (day.cost or 0.0) + cost
        if record.status == "error":
            day.errors += 1

    def merge(self, later: DailyAccumulator) -> None:
        merge_keyed(self._days, later._days)

    def result(self, static_tokens_per_day: dict[str, float] | None = None) -> list[DayAggregate]:
        """Every day of the window in order, quiet days included as zeros."""
        if not self._days:
            return []
        static = static_tokens_per_day or {}
        out = []
        for d in day_range(min(self._days), max(self._days)):
            day = self._days.get(d) or _Day()
            out.append(DayAggregate(date=d.isoformat(), requests=day.requests, input_tokens=day.input,
                                    static_tokens=static.get(d.isoformat(), 0.0), output_tokens=day.output,
                                    cost=day.cost, errors=day.errors))
        return out
